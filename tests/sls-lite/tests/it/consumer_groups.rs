//! Consumer groups over HTTP: create/list/delete, balancing 4 shards over 3 consumers,
//! timeout, checkpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use sls_lite::RunningServer;
use sls_lite::testing::{Client, ClientError, Response};

use crate::support::{self, LOGSTORE};

/// A server with `shards` shards and the consumer group `group` of `orders`.
async fn start_with_group(
    shards: u32,
    group: &str,
    timeout: u32,
    in_order: bool,
) -> (RunningServer, Client) {
    let (server, client) = support::start(shards).await;
    client
        .create_consumer_group(LOGSTORE, group, timeout, in_order)
        .await
        .unwrap();
    (server, client)
}

/// `what`: a request to `path` with `query` and an empty body, which must succeed.
async fn send(
    client: &Client,
    what: &str,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Response, ClientError> {
    let r = client.request(method, path, query, &[], Bytes::new());
    r.await?.success(what)
}

/// The consumer groups of `orders`, as the service lists them.
async fn list(client: &Client) -> serde_json::Value {
    let path = "/logstores/orders/consumergroups";
    send(client, "list", Method::GET, path, &[])
        .await
        .unwrap()
        .json()
}

/// Heartbeats every consumer, listing what it was given, until assignments stop changing.
async fn settle(client: &Client, group: &str, held: &mut BTreeMap<&'static str, Vec<u32>>) {
    for _ in 0..4 {
        let names: Vec<&'static str> = held.keys().copied().collect();
        for name in names {
            let mine = held[name].clone();
            let got = client
                .heartbeat(LOGSTORE, group, name, &mine)
                .await
                .unwrap();
            held.insert(name, got);
        }
    }
}

fn assert_partition(held: &BTreeMap<&'static str, Vec<u32>>, shards: u32) {
    let mut seen = BTreeSet::new();
    for (name, list) in held {
        for s in list {
            assert!(
                seen.insert(*s),
                "shard {s} given twice (again to {name}): {held:?}"
            );
        }
    }
    assert_eq!(seen, (0..shards).collect(), "{held:?}");
    let counts: Vec<usize> = held.values().map(Vec::len).collect();
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(max - min <= 1, "unbalanced {held:?}");
}

#[tokio::test]
async fn three_consumers_on_four_shards_then_one_times_out() {
    let (_server, client) = start_with_group(4, "cg", 1, false).await;
    let mut held: BTreeMap<&'static str, Vec<u32>> =
        [("a", vec![]), ("b", vec![]), ("c", vec![])].into();
    settle(&client, "cg", &mut held).await;
    assert_partition(&held, 4);

    // c falls silent; after the 1 s timeout a and b share its shards.
    held.remove("c");
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1600);
    while tokio::time::Instant::now() < deadline {
        settle(&client, "cg", &mut held).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    settle(&client, "cg", &mut held).await;
    assert_partition(&held, 4);
    assert_eq!(held["a"].len(), 2);

    // c comes back as a new member and gets a share again.
    held.insert("c", vec![]);
    settle(&client, "cg", &mut held).await;
    assert_partition(&held, 4);
}

#[tokio::test]
async fn create_list_update_delete_and_errors() {
    let (_server, client) = start_with_group(2, "cg1", 30, true).await;
    client
        .create_consumer_group(LOGSTORE, "cg2", 60, false)
        .await
        .unwrap();
    let err = client
        .create_consumer_group(LOGSTORE, "cg1", 30, true)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some("ConsumerGroupAlreadyExist"))
    );

    assert_eq!(
        list(&client).await,
        serde_json::json!([
            {"name": "cg1", "timeout": 30, "order": true},
            {"name": "cg2", "timeout": 60, "order": false},
        ])
    );
    client
        .request(
            Method::PUT,
            "/logstores/orders/consumergroups/cg2",
            &[],
            &[("content-type", "application/json")],
            Bytes::from_static(br#"{"timeout":90}"#),
        )
        .await
        .and_then(|r| r.success("update"))
        .unwrap();
    let cg1 = "/logstores/orders/consumergroups/cg1";
    send(&client, "delete", Method::DELETE, cg1, &[])
        .await
        .unwrap();
    assert_eq!(
        list(&client).await,
        serde_json::json!([{"name": "cg2", "timeout": 90, "order": false}])
    );

    let err = client
        .heartbeat(LOGSTORE, "cg1", "a", &[])
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some("ConsumerGroupNotExist"))
    );
    let err = send(&client, "delete", Method::DELETE, cg1, &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConsumerGroupNotExist"));
}

#[tokio::test]
async fn checkpoints_are_kept_per_shard_and_owner_checked_unless_forced() {
    let (_server, client) = start_with_group(2, "cg", 60, false).await;
    let owned = client.heartbeat(LOGSTORE, "cg", "a", &[]).await.unwrap();
    assert_eq!(owned, [0, 1]);
    let end1 = client.get_cursor(LOGSTORE, 1, "end").await.unwrap();
    client
        .update_checkpoint(LOGSTORE, "cg", "a", 1, &end1, false)
        .await
        .unwrap();
    let err = client
        .update_checkpoint(LOGSTORE, "cg", "b", 1, &end1, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ConsumerNotMatch"));
    // A cursor of shard 1 is no checkpoint for shard 0.
    let err = client
        .update_checkpoint(LOGSTORE, "cg", "b", 0, &end1, true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCursor"));
    let cps = client.get_checkpoints(LOGSTORE, "cg").await.unwrap();
    assert_eq!(cps[0].checkpoint, "", "shard 0 has no checkpoint yet");
    let c0 = client.get_cursor(LOGSTORE, 0, "begin").await.unwrap();
    client
        .update_checkpoint(LOGSTORE, "cg", "b", 0, &c0, true)
        .await
        .unwrap();

    let cps = client.get_checkpoints(LOGSTORE, "cg").await.unwrap();
    assert_eq!(cps.len(), 2);
    assert_eq!(
        (
            cps[0].shard,
            cps[0].checkpoint.as_str(),
            cps[0].consumer.as_str()
        ),
        (0, c0.as_str(), "b")
    );
    assert_eq!(
        (
            cps[1].shard,
            cps[1].checkpoint.as_str(),
            cps[1].consumer.as_str()
        ),
        (1, end1.as_str(), "a")
    );
    assert!(cps[1].update_time > 1_600_000_000_000_000, "microseconds");

    let cg = "/logstores/orders/consumergroups/cg";
    let one = send(&client, "get", Method::GET, cg, &[("shard", "1")])
        .await
        .unwrap()
        .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["checkpoint"], end1.as_str());
}
