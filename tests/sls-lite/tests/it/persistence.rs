//! The binary with `--data-dir`: logs, splits, merges, expiry, logstore generations, consumer
//! groups and checkpoints survive a restart (even a SIGKILL); without it nothing does. Also
//! the command line's `--ttl-secs` and `--auto-split`.

use sls_lite::proto::LogGroup;
use sls_lite::testing::{Client, Compression, log};

use crate::support::{LOGSTORE, PROJECT, Process};

fn named(name: &str) -> LogGroup {
    LogGroup {
        logs: vec![log([("name", name), ("title", "海辺のカフカ")])],
        topic: Some(name.into()),
        ..Default::default()
    }
}

/// The arguments of an anonymous server of `demo/orders:2` keeping its data in `data`.
fn orders_in(data: &str) -> [&str; 5] {
    [
        "--logstore",
        "demo/orders:2",
        "--data-dir",
        data,
        "--anonymous",
    ]
}

#[tokio::test]
async fn data_dir_survives_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let args = orders_in(dir.path().to_str().unwrap());

    let first = Process::spawn(&args);
    let client = Client::new(first.addr, PROJECT);
    for i in 0..4 {
        client
            .put_log_group(LOGSTORE, &named(&format!("g{i}")), Compression::Lz4)
            .await
            .unwrap();
    }
    client
        .create_consumer_group(LOGSTORE, "cg", 30, true)
        .await
        .unwrap();
    let cursor = client.get_cursor(LOGSTORE, 0, "end").await.unwrap();
    client
        .update_checkpoint(LOGSTORE, "cg", "a", 0, &cursor, true)
        .await
        .unwrap();
    client.split_shard(LOGSTORE, 1, None).await.unwrap();
    client
        .put_log_group(LOGSTORE, &named("after-split"), Compression::Lz4)
        .await
        .unwrap();
    let before = client.pull_all(LOGSTORE).await.unwrap();
    first.kill();

    let second = Process::spawn(&args);
    let client = Client::new(second.addr, PROJECT);
    let after = client.pull_all(LOGSTORE).await.unwrap();
    assert_eq!(after.len(), 5);
    assert_eq!(after, before, "same groups, tags and receive times");
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    let status: Vec<_> = shards
        .iter()
        .map(|s| (s.shard_id, s.status.as_str()))
        .collect();
    assert_eq!(
        status,
        [
            (0, "readwrite"),
            (1, "readonly"),
            (2, "readwrite"),
            (3, "readwrite")
        ]
    );
    let cps = client.get_checkpoints(LOGSTORE, "cg").await.unwrap();
    assert_eq!(cps[0].checkpoint, cursor);
    // The old cursor still points at the same place.
    let pulled = client
        .pull_logs(LOGSTORE, 0, &cursor, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(pulled.count, 0);
    // Writing goes on after the restart.
    client
        .put_log_group(LOGSTORE, &named("later"), Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(client.stored_logs(LOGSTORE).await.unwrap(), 6);
}

#[tokio::test]
async fn without_data_dir_a_restart_starts_empty() {
    let args = ["--logstore", "demo/orders:1", "--anonymous"];
    let first = Process::spawn(&args);
    sls_lite::testing::put_logs(first.addr, PROJECT, LOGSTORE, [log([("k", "v")])])
        .await
        .unwrap();
    assert_eq!(
        Client::new(first.addr, PROJECT)
            .stored_logs(LOGSTORE)
            .await
            .unwrap(),
        1
    );
    first.kill();
    let second = Process::spawn(&args);
    assert_eq!(
        Client::new(second.addr, PROJECT)
            .stored_logs(LOGSTORE)
            .await
            .unwrap(),
        0
    );
}

/// `demo/orders` as `/_admin/stats` shows it.
async fn orders_stats(client: &Client) -> serde_json::Value {
    let stats = client.stats().await.unwrap();
    stats["logstores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["logstore"] == LOGSTORE)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn expiry_merges_and_generations_survive_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let args = orders_in(dir.path().to_str().unwrap());

    let first = Process::spawn(&args);
    let client = Client::new(first.addr, PROJECT);
    let before_delete = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    client.delete_logstore(LOGSTORE).await.unwrap();
    client.create_logstore(LOGSTORE, 2).await.unwrap();
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    for i in 0..3 {
        client
            .put_log_group_with_key(
                LOGSTORE,
                &shards[0].begin_key,
                &named(&format!("g{i}")),
                Compression::Lz4,
            )
            .await
            .unwrap();
    }
    let old_begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    client.expire(LOGSTORE, Some(0), 2).await.unwrap();
    client.merge_shards(LOGSTORE, 0).await.unwrap();
    let stats = orders_stats(&client).await;
    first.kill();

    let second = Process::spawn(&args);
    let client = Client::new(second.addr, PROJECT);
    assert_eq!(
        orders_stats(&client).await,
        stats,
        "same shards, first, parents, generation"
    );
    assert_eq!(stats["generation"], 1);
    assert_eq!(stats["shards"][0]["first"], 2);
    assert_eq!(stats["shards"][2]["parents"], serde_json::json!([0, 1]));
    let pulled = client
        .pull_logs(LOGSTORE, 0, &old_begin, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(pulled.groups.len(), 1, "the expired groups stay skipped");
    let err = client
        .pull_logs(LOGSTORE, 0, &before_delete, 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCursor"));
    // Deleted again, the next one is generation 2.
    client.delete_logstore(LOGSTORE).await.unwrap();
    second.kill();
    let third = Process::spawn(&args);
    let client = Client::new(third.addr, PROJECT);
    assert_eq!(orders_stats(&client).await["generation"], 2);
    let err = client
        .pull_logs(LOGSTORE, 0, &old_begin, 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCursor"));
}

#[tokio::test]
async fn ttl_and_auto_split_from_the_command_line() {
    let args = [
        "--logstore",
        "demo/orders:1",
        "--ttl-secs",
        "90000",
        "--auto-split",
        "2:3",
        "--anonymous",
    ];
    let process = Process::spawn(&args);
    let client = Client::new(process.addr, PROJECT);
    let info = client.get_logstore(LOGSTORE).await.unwrap();
    assert_eq!(info["ttl"], 2, "90000 s is two days, rounded up");
    assert_eq!(
        (info["autoSplit"].as_bool(), info["maxSplitShard"].as_u64()),
        (Some(true), Some(2))
    );
    for i in 0..3 {
        client
            .put_log_group(LOGSTORE, &named(&format!("g{i}")), Compression::Lz4)
            .await
            .unwrap();
    }
    assert_eq!(client.list_shards(LOGSTORE).await.unwrap().len(), 3);
}
