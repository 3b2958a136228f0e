//! PutLogs → PullLogs with every body compression, routing by key, end cursors, splits.

use sls_lite::proto::{Log, LogGroup, LogGroupText, LogTag};
use sls_lite::testing::{Client, Compression};

use crate::support::{self, LOGSTORE};

fn group(topic: &str, n: usize) -> LogGroup {
    LogGroup {
        logs: (0..n)
            .map(|i| {
                Log::new(
                    1_700_000_000 + i as u32,
                    [
                        ("order_id", format!("{topic}-{i}")),
                        (
                            "book_name",
                            "色彩を持たない多崎つくると彼の巡礼の年".to_owned(),
                        ),
                    ],
                )
            })
            .collect(),
        topic: Some(topic.into()),
        source: Some("192.0.2.7".into()),
        log_tags: vec![LogTag {
            key: "env".into(),
            value: "test".into(),
        }],
        ..Default::default()
    }
}

/// Puts `n` groups of one log each, with topics `{prefix}0`, `{prefix}1`…, to load-balanced
/// shards of `orders`.
async fn put_groups(client: &Client, prefix: &str, n: usize, compression: Compression) {
    for i in 0..n {
        client
            .put_log_group(LOGSTORE, &group(&format!("{prefix}{i}"), 1), compression)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn put_and_pull_with_lz4_zstd_and_none() {
    let (server, client) = support::start(1).await;
    let sent = [
        (Compression::Lz4, group("lz4", 3)),
        (Compression::Zstd, group("zstd", 2)),
        (Compression::None, group("none", 1)),
    ];
    for (compression, g) in &sent {
        client
            .put_log_group(LOGSTORE, g, *compression)
            .await
            .unwrap();
    }
    for accept in [Compression::Lz4, Compression::Zstd, Compression::None] {
        let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
        let pulled = client
            .pull_logs(LOGSTORE, 0, &begin, 100, None, accept)
            .await
            .unwrap();
        assert_eq!(pulled.count, 3);
        assert_eq!(
            pulled.compression.as_deref(),
            match accept {
                Compression::Lz4 => Some("lz4"),
                Compression::Zstd => Some("zstd"),
                Compression::None => None,
            }
        );
        for ((_, want), got) in sent.iter().zip(&pulled.groups) {
            assert_eq!(got.logs, want.logs);
            assert_eq!(got.topic, want.topic);
            assert_eq!(got.source, want.source);
            assert_eq!(got.tag("env"), Some("test"));
            let received: u64 = got.tag("__receive_time__").unwrap().parse().unwrap();
            assert!(received > 1_700_000_000);
            assert_eq!(got.tag("__client_ip__"), Some("127.0.0.1"));
        }
        // Caught up: the next cursor comes back unchanged with nothing in it.
        let again = client
            .pull_logs(LOGSTORE, 0, &pulled.next_cursor, 100, None, accept)
            .await
            .unwrap();
        assert_eq!(again.count, 0);
        assert!(again.groups.is_empty());
        assert_eq!(again.next_cursor, pulled.next_cursor);
    }
    assert_eq!(client.stored_logs(LOGSTORE).await.unwrap(), 6);
    server.shutdown().await;
}

#[tokio::test]
async fn count_and_end_cursor_bound_a_pull() {
    let (_server, client) = support::start(1).await;
    put_groups(&client, "g", 5, Compression::Lz4).await;
    let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    let first = client
        .pull_logs(LOGSTORE, 0, &begin, 2, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(first.count, 2);
    assert_eq!(first.groups[1].topic_str(), Some("g1"));
    let end_at_4 = sls_lite::cursor::encode(0, 4);
    let rest = client
        .pull_logs(
            LOGSTORE,
            0,
            &first.next_cursor,
            100,
            Some(&end_at_4),
            Compression::Lz4,
        )
        .await
        .unwrap();
    let topics: Vec<_> = rest.groups.iter().map(|g| g.topic_str().unwrap()).collect();
    assert_eq!(topics, ["g2", "g3"]);
    assert_eq!(rest.next_cursor, end_at_4);
}

#[tokio::test]
async fn route_key_picks_the_shard_owning_the_hash() {
    let (_server, client) = support::start(4).await;
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    assert_eq!(shards.len(), 4);
    let target = &shards[2];
    client
        .put_log_group_with_key(
            LOGSTORE,
            &target.begin_key,
            &group("keyed", 1),
            Compression::Lz4,
        )
        .await
        .unwrap();
    for shard in &shards {
        let begin = client
            .get_cursor(LOGSTORE, shard.shard_id, "begin")
            .await
            .unwrap();
        let pulled = client
            .pull_logs(LOGSTORE, shard.shard_id, &begin, 10, None, Compression::Lz4)
            .await
            .unwrap();
        assert_eq!(
            pulled.count,
            usize::from(shard.shard_id == 2),
            "shard {}",
            shard.shard_id
        );
    }
}

#[tokio::test]
async fn load_balanced_puts_spread_over_shards() {
    let (_server, client) = support::start(3).await;
    put_groups(&client, "g", 6, Compression::None).await;
    let stats = client.stats().await.unwrap();
    let per_shard: Vec<u64> = stats["logstores"][0]["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["log_groups"].as_u64().unwrap())
        .collect();
    assert_eq!(per_shard, [2, 2, 2]);
    assert_eq!(client.pull_all(LOGSTORE).await.unwrap().len(), 6);
}

#[tokio::test]
async fn split_shard_leaves_a_readonly_parent_read_to_its_end() {
    let (_server, client) = support::start(1).await;
    client
        .put_log_group(LOGSTORE, &group("before", 1), Compression::Lz4)
        .await
        .unwrap();
    let shards = client.split_shard(LOGSTORE, 0, None).await.unwrap();
    let ids: Vec<(u32, &str)> = shards
        .iter()
        .map(|s| (s.shard_id, s.status.as_str()))
        .collect();
    assert_eq!(ids, [(0, "readonly"), (1, "readwrite"), (2, "readwrite")]);
    assert_eq!(shards[1].end_key, "80000000000000000000000000000000");
    put_groups(&client, "after", 2, Compression::Lz4).await;
    let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    let parent = client
        .pull_logs(LOGSTORE, 0, &begin, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(parent.count, 1);
    assert!(parent.end_of_cursor);
    let listed = client.list_shards(LOGSTORE).await.unwrap();
    assert_eq!(listed.len(), 3);
    let all = client.pull_all(LOGSTORE).await.unwrap();
    let topics: Vec<_> = all.iter().map(|g| g.topic_str().unwrap()).collect();
    assert_eq!(topics[0], "before", "the parent shard comes first");
    let mut children = topics[1..].to_vec();
    children.sort();
    assert_eq!(children, ["after0", "after1"]);
}
