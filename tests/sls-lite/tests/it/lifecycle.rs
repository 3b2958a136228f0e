//! A logstore's life cycle over HTTP: merging shards, expiry (on demand and by TTL) with old
//! cursors read from the begin, read-only shards removed once empty, a logstore deleted and
//! created again, automatic splits, and tags that appear in later log groups.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sls_lite::proto::{LogGroup, LogGroupText, LogTag};
use sls_lite::testing::{Client, Compression, log};
use sls_lite::{Config, LogstoreSpec};

use crate::support::{self, LOGSTORE, PROJECT};

fn named(topic: &str) -> LogGroup {
    LogGroup {
        logs: vec![log([("order_id", topic), ("book_name", "ノルウェイの森")])],
        topic: Some(topic.into()),
        ..Default::default()
    }
}

/// Puts groups with topics `{prefix}0`, `{prefix}1`… to the shard owning `key` (any shard
/// when `None`).
async fn put(client: &Client, prefix: &str, n: usize, key: Option<&str>) {
    for i in 0..n {
        let group = named(&format!("{prefix}{i}"));
        let put = match key {
            Some(key) => {
                let put = client.put_log_group_with_key(LOGSTORE, key, &group, Compression::Lz4);
                put.await
            }
            None => {
                client
                    .put_log_group(LOGSTORE, &group, Compression::Lz4)
                    .await
            }
        };
        put.unwrap();
    }
}

fn topics(groups: &[LogGroup]) -> Vec<&str> {
    groups.iter().map(|g| g.topic_str().unwrap()).collect()
}

/// `orders` as `/_admin/stats` shows it.
async fn stats_of(client: &Client, logstore: &str) -> serde_json::Value {
    let stats = client.stats().await.unwrap();
    stats["logstores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["logstore"] == logstore)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

#[tokio::test]
async fn merge_answers_the_new_shard_then_both_parents() {
    let (_server, client) = support::start(4).await;
    let before = client.list_shards(LOGSTORE).await.unwrap();
    let merged = client.merge_shards(LOGSTORE, 1).await.unwrap();
    let ids: Vec<(u32, &str)> = merged
        .iter()
        .map(|s| (s.shard_id, s.status.as_str()))
        .collect();
    assert_eq!(ids, [(4, "readwrite"), (1, "readonly"), (2, "readonly")]);
    assert_eq!(merged[0].begin_key, before[1].begin_key);
    assert_eq!(merged[0].end_key, before[2].end_key);
    assert!(merged[0].create_time >= before[1].create_time);

    let listed = client.list_shards(LOGSTORE).await.unwrap();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[4], merged[0]);
    // Keys of both parents' ranges now go to the merged shard.
    put(&client, "left", 1, Some(&before[1].begin_key)).await;
    put(&client, "right", 1, Some(&before[2].begin_key)).await;
    let begin = client.get_cursor(LOGSTORE, 4, "begin").await.unwrap();
    let pulled = client
        .pull_logs(LOGSTORE, 4, &begin, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(topics(&pulled.groups), ["left0", "right0"]);

    for (shard, why) in [(3, "last shard"), (1, "read-only")] {
        let err = client.merge_shards(LOGSTORE, shard).await.unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (Some(400), Some("ParameterInvalid"))
        );
        assert!(err.to_string().contains(why), "{err}");
    }
    let err = client.merge_shards(LOGSTORE, 9).await.unwrap_err();
    assert_eq!(err.code(), Some("ShardNotExist"));
}

#[tokio::test]
async fn in_order_group_reads_a_merged_shard_after_both_parents() {
    let (_server, client) = support::start(2).await;
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    put(&client, "a", 1, Some(&shards[0].begin_key)).await;
    put(&client, "b", 1, Some(&shards[1].begin_key)).await;
    client.merge_shards(LOGSTORE, 0).await.unwrap();
    client
        .create_consumer_group(LOGSTORE, "cg", 60, true)
        .await
        .unwrap();
    let held = client.heartbeat(LOGSTORE, "cg", "c1", &[]).await.unwrap();
    assert_eq!(held, [0, 1], "the child waits for its parents");
    for shard in [0, 1] {
        let end = client.get_cursor(LOGSTORE, shard, "end").await.unwrap();
        client
            .update_checkpoint(LOGSTORE, "cg", "c1", shard, &end, false)
            .await
            .unwrap();
        let held = client.heartbeat(LOGSTORE, "cg", "c1", &held).await.unwrap();
        let want: &[u32] = if shard == 0 { &[1] } else { &[2] };
        assert_eq!(held, want, "after shard {shard} is read to its end");
    }
}

#[tokio::test]
async fn an_expired_cursor_reads_from_the_begin_without_error() {
    let (_server, client) = support::start(1).await;
    put(&client, "g", 3, None).await;
    let old_begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    let expired = client.expire(LOGSTORE, None, 2).await.unwrap();
    assert_eq!(
        expired,
        serde_json::json!({"expired": {"0": 2}, "removed_shards": []})
    );
    let pulled = client
        .pull_logs(LOGSTORE, 0, &old_begin, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(topics(&pulled.groups), ["g2"]);
    let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    assert_ne!(
        begin, old_begin,
        "the begin cursor moved past the expired groups"
    );
    assert_eq!(
        begin,
        sls_lite::cursor::encode(0, 2),
        "offsets stay absolute"
    );
    assert_eq!(
        client.get_cursor(LOGSTORE, 0, "0").await.unwrap(),
        begin,
        "a time before every group is the begin"
    );
    let t_old = client
        .get_cursor_time(LOGSTORE, 0, &old_begin)
        .await
        .unwrap();
    assert_eq!(
        t_old,
        client.get_cursor_time(LOGSTORE, 0, &begin).await.unwrap()
    );
    let shard = &stats_of(&client, LOGSTORE).await["shards"][0];
    assert_eq!(
        (shard["first"].as_u64(), shard["log_groups"].as_u64()),
        (Some(2), Some(1))
    );
    // An end cursor before the begin reads nothing.
    let nothing = client
        .pull_logs(
            LOGSTORE,
            0,
            &old_begin,
            10,
            Some(&old_begin),
            Compression::Lz4,
        )
        .await
        .unwrap();
    assert_eq!(nothing.count, 0);
}

#[tokio::test]
async fn a_readonly_shard_without_data_is_removed_and_answers_shard_not_exist() {
    let (_server, client) = support::start(1).await;
    put(&client, "old", 2, None).await;
    client
        .create_consumer_group(LOGSTORE, "cg", 60, true)
        .await
        .unwrap();
    let cursor = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    client
        .update_checkpoint(LOGSTORE, "cg", "c1", 0, &cursor, true)
        .await
        .unwrap();
    client.split_shard(LOGSTORE, 0, None).await.unwrap();
    put(&client, "new", 2, None).await;
    // One group per shard: shard 0 keeps one, so it stays.
    let once = client.expire(LOGSTORE, None, 1).await.unwrap();
    assert_eq!(once["removed_shards"], serde_json::json!([]));
    let twice = client.expire(LOGSTORE, Some(0), 1).await.unwrap();
    assert_eq!(
        twice,
        serde_json::json!({"expired": {"0": 1}, "removed_shards": [0]})
    );

    let ids: Vec<u32> = client
        .list_shards(LOGSTORE)
        .await
        .unwrap()
        .iter()
        .map(|s| s.shard_id)
        .collect();
    assert_eq!(ids, [1, 2]);
    let err = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("ShardNotExist"))
    );
    let err = client
        .pull_logs(LOGSTORE, 0, &cursor, 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ShardNotExist"));
    let err = client
        .update_checkpoint(LOGSTORE, "cg", "c1", 0, &cursor, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ShardNotExist"));
    let cps = client.get_checkpoints(LOGSTORE, "cg").await.unwrap();
    assert_eq!(cps.iter().map(|c| c.shard).collect::<Vec<_>>(), [1, 2]);
    // The children of the removed parent are no longer held back.
    let held = client.heartbeat(LOGSTORE, "cg", "c1", &[]).await.unwrap();
    assert_eq!(held, [1, 2]);
    let err = client.expire(LOGSTORE, Some(0), 1).await.unwrap_err();
    assert_eq!(err.code(), Some("ShardNotExist"));
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_ttl_removes_log_groups_by_receive_time_as_requests_come() {
    let spec = LogstoreSpec::new(PROJECT, LOGSTORE, 1).with_ttl_secs(1);
    let (_server, client) = support::start_with(Config::new([spec]).anonymous()).await;
    let info = client.get_logstore(LOGSTORE).await.unwrap();
    assert_eq!(info["ttl"], 1, "one second shows as a day, rounded up");
    put(&client, "early", 2, None).await;
    let old_begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    // Received at second T, a group is gone once T < now - 1.
    let put_at = now();
    while now() < put_at + 2 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    put(&client, "late", 1, None).await;
    let pulled = client
        .pull_logs(LOGSTORE, 0, &old_begin, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(topics(&pulled.groups), ["late0"]);
    let shard = &stats_of(&client, LOGSTORE).await["shards"][0];
    assert_eq!(shard["first"], 2);
}

#[tokio::test]
async fn a_logstore_created_again_refuses_the_old_ones_cursors() {
    let (_server, client) = support::start(2).await;
    put(&client, "old", 2, None).await;
    client
        .create_consumer_group(LOGSTORE, "cg", 60, false)
        .await
        .unwrap();
    let old = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    client.delete_logstore(LOGSTORE).await.unwrap();
    let err = client.get_logstore(LOGSTORE).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("LogStoreNotExist"))
    );
    let err = client.delete_logstore(LOGSTORE).await.unwrap_err();
    assert_eq!(err.code(), Some("LogStoreNotExist"));

    client.create_logstore(LOGSTORE, 3).await.unwrap();
    let err = client.create_logstore(LOGSTORE, 3).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("LogStoreAlreadyExist"))
    );
    let info = client.get_logstore(LOGSTORE).await.unwrap();
    assert_eq!(
        (info["shardCount"].as_u64(), info["ttl"].as_u64()),
        (Some(3), Some(30))
    );
    assert_eq!(client.list_shards(LOGSTORE).await.unwrap().len(), 3);
    assert!(
        client.pull_all(LOGSTORE).await.unwrap().is_empty(),
        "no old data"
    );
    let err = client
        .pull_logs(LOGSTORE, 0, &old, 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("InvalidCursor"))
    );
    let new = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    assert_ne!(new, old);
    assert_eq!(new, sls_lite::cursor::encode_in(1, 0, 0));
    let err = client
        .heartbeat(LOGSTORE, "cg", "c1", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some("ConsumerGroupNotExist"),
        "consumer groups went too"
    );
    assert_eq!(stats_of(&client, LOGSTORE).await["generation"], 1);
    // A name the service refuses.
    let err = client.create_logstore("Bad/Name", 1).await.unwrap_err();
    assert_eq!(err.code(), Some("LogStoreInfoInvalid"));
}

#[tokio::test]
async fn automatic_split_after_k_log_groups_up_to_max_writable_shards() {
    let spec = LogstoreSpec::new(PROJECT, LOGSTORE, 1).with_auto_split(3, 2);
    let (_server, client) = support::start_with(Config::new([spec]).anonymous()).await;
    let info = client.get_logstore(LOGSTORE).await.unwrap();
    assert_eq!(
        (info["autoSplit"].as_bool(), info["maxSplitShard"].as_u64()),
        (Some(true), Some(3))
    );
    put(&client, "g", 1, None).await;
    assert_eq!(client.list_shards(LOGSTORE).await.unwrap().len(), 1);
    put(&client, "g", 1, None).await;
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    let status: Vec<(u32, &str)> = shards
        .iter()
        .map(|s| (s.shard_id, s.status.as_str()))
        .collect();
    assert_eq!(
        status,
        [(0, "readonly"), (1, "readwrite"), (2, "readwrite")]
    );
    assert_eq!(shards[1].end_key, shards[2].begin_key);
    put(&client, "h", 12, None).await;
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    let writable = shards.iter().filter(|s| s.status == "readwrite").count();
    assert_eq!((shards.len(), writable), (5, 3), "{shards:?}");
    assert_eq!(client.pull_all(LOGSTORE).await.unwrap().len(), 14);
}

fn tag(key: &str, value: &str) -> LogTag {
    LogTag {
        key: key.into(),
        value: value.into(),
    }
}

#[tokio::test]
async fn tags_that_appear_in_later_log_groups_come_back_per_group() {
    let (_server, client) = support::start(1).await;
    let tagged = [
        vec![],
        vec![tag("env", "test")],
        vec![tag("env", "prod"), tag("région", "東京")],
        vec![],
    ];
    for (i, tags) in tagged.iter().enumerate() {
        let group = LogGroup {
            log_tags: tags.clone(),
            ..named(&format!("t{i}"))
        };
        client
            .put_log_group(LOGSTORE, &group, Compression::Lz4)
            .await
            .unwrap();
    }
    let groups = client.pull_all(LOGSTORE).await.unwrap();
    let seen: Vec<(Option<&str>, Option<&str>)> = groups
        .iter()
        .map(|g| (g.tag("env"), g.tag("région")))
        .collect();
    assert_eq!(
        seen,
        [
            (None, None),
            (Some("test"), None),
            (Some("prod"), Some("東京")),
            (None, None)
        ]
    );
    // The server's own tags are on every group, after the client's.
    for g in &groups {
        assert!(g.tag("__receive_time__").is_some());
        assert_eq!(g.log_tags.last().unwrap().key, b"__client_ip__");
    }
}
