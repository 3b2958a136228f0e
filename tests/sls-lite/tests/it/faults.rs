//! Fault injection: quota errors and 5xx per shard, latency, from the admin API and the config.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use sls_lite::proto::LogGroup;
use sls_lite::testing::{Client, Compression, log};
use sls_lite::{Config, FaultRule, LogstoreSpec, Op};

use crate::support::{self, LOGSTORE, PROJECT};

/// The status of the answer to `POST /_admin/faults` with `body`.
async fn post_rules(client: &Client, body: &'static [u8]) -> u16 {
    let r = client.request(
        Method::POST,
        "/_admin/faults",
        &[],
        &[],
        Bytes::from_static(body),
    );
    r.await.unwrap().status
}

fn one() -> LogGroup {
    LogGroup {
        logs: vec![log([("k", "v")])],
        ..Default::default()
    }
}

#[tokio::test]
async fn write_quota_error_on_one_shard_for_a_limited_number_of_requests() {
    let (_server, client) = support::start(2).await;
    let shards = client.list_shards(LOGSTORE).await.unwrap();
    client
        .add_fault(
            &FaultRule::error(Op::Put, "WriteQuotaExceed")
                .on_shard(LOGSTORE, 1)
                .times(2),
        )
        .await
        .unwrap();
    // Shard 0 is unaffected.
    client
        .put_log_group_with_key(LOGSTORE, &shards[0].begin_key, &one(), Compression::Lz4)
        .await
        .unwrap();
    for _ in 0..2 {
        let err = client
            .put_log_group_with_key(LOGSTORE, &shards[1].begin_key, &one(), Compression::Lz4)
            .await
            .unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (Some(403), Some("WriteQuotaExceed"))
        );
    }
    client
        .put_log_group_with_key(LOGSTORE, &shards[1].begin_key, &one(), Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(
        client.stored_logs(LOGSTORE).await.unwrap(),
        2,
        "refused puts store nothing"
    );
}

#[tokio::test]
async fn server_errors_and_latency_until_cleared() {
    let (_server, client) = support::start(1).await;
    client
        .put_log_group(LOGSTORE, &one(), Compression::Lz4)
        .await
        .unwrap();
    let begin = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    client
        .add_fault(&FaultRule::error(Op::Pull, "InternalServerError"))
        .await
        .unwrap();
    let err = client
        .pull_logs(LOGSTORE, 0, &begin, 10, None, Compression::Lz4)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(500), Some("InternalServerError"))
    );
    // Cursors still work: the fault is for pulls only.
    client.get_cursor(LOGSTORE, 0, "end").await.unwrap();
    client.clear_faults().await.unwrap();

    client
        .add_fault(&FaultRule::latency(Op::Pull, Duration::from_millis(300)))
        .await
        .unwrap();
    let started = Instant::now();
    let pulled = client
        .pull_logs(LOGSTORE, 0, &begin, 10, None, Compression::Lz4)
        .await
        .unwrap();
    assert_eq!(pulled.count, 1);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    client.get_cursor(LOGSTORE, 0, "end").await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));

    let listed = client.stats().await.unwrap();
    assert_eq!(listed["logstores"][0]["logs"], 1);
}

#[tokio::test]
async fn faults_from_the_configuration_and_bad_rules() {
    let mut config = Config::new([LogstoreSpec::new(PROJECT, LOGSTORE, 1)]).anonymous();
    config
        .faults
        .push(FaultRule::error(Op::ListShards, "ReadQuotaExceed").times(1));
    let (_server, client) = support::start_with(config).await;
    let err = client.list_shards(LOGSTORE).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(403), Some("ReadQuotaExceed"))
    );
    assert_eq!(client.list_shards(LOGSTORE).await.unwrap().len(), 1);

    assert_eq!(post_rules(&client, br#"{"op":"put"}"#).await, 400);
    let rules = br#"[{"op":"heartbeat","error":"ServerBusy"}]"#;
    assert_eq!(post_rules(&client, rules).await, 200);
    client
        .create_consumer_group(LOGSTORE, "cg", 10, false)
        .await
        .unwrap();
    let err = client
        .heartbeat(LOGSTORE, "cg", "a", &[])
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(503), Some("ServerBusy")));
}
