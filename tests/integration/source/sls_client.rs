//! The Log Service client against `sls-lite`: reading shards, cursors, consumer groups,
//! authentication failures and retries of injected faults.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sls_client::{Credentials, CursorFrom, LogGroup, PullLogs, RetryPolicy, SlsClient, SlsError};
use sls_lite::proto::{Log as LiteLog, LogGroup as LiteGroup, LogTag};
use sls_lite::testing::{Client as Feeder, Compression};
use sls_lite::{Config, FaultRule, LogstoreSpec, Op, RunningServer, Server};

const KEY_ID: &str = "LTAI-holo-test";
const SECRET: &str = "holo-test-secret-8f3a";

/// Hash keys that route a PutLogs to shard 0 and to the last shard.
const FIRST_SHARD_KEY: &str = "00000000000000000000000000000000";
const LAST_SHARD_KEY: &str = "ffffffffffffffffffffffffffffffff";

async fn server(logstores: impl IntoIterator<Item = LogstoreSpec>) -> RunningServer {
    Server::start(Config::new(logstores).with_access_key(KEY_ID, SECRET))
        .await
        .expect("sls-lite starts")
}

fn feeder(server: &RunningServer, project: &str) -> Feeder {
    Feeder::new(server.addr(), project).with_access_key(KEY_ID, SECRET)
}

fn fast_retry(tries: u32) -> RetryPolicy {
    RetryPolicy {
        tries,
        first: Duration::from_millis(20),
        max: Duration::from_millis(50),
    }
}

fn client(server: &RunningServer, project: &str) -> SlsClient {
    SlsClient::new(
        &server.endpoint(),
        project,
        Some(Credentials::new(KEY_ID, SECRET)),
    )
    .unwrap()
    .with_retry(fast_retry(5))
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// An order log as WebTracking would store it: every value a string.
fn order(i: usize) -> LiteLog {
    let (book_id, book_name, _) = holo_seed::BOOKS[i % holo_seed::BOOKS.len()];
    LiteLog::new(
        now_secs(),
        [
            ("order_id", format!("order-{i:04}")),
            ("user_id", (i % 50 + 1).to_string()),
            ("book_id", book_id.to_string()),
            ("book_name", book_name.to_owned()),
            ("order_cnt", "1".to_owned()),
        ],
    )
}

fn group(logs: Vec<LiteLog>, topic: &str, source: &str) -> LiteGroup {
    LiteGroup {
        logs,
        topic: Some(topic.into()),
        source: Some(source.into()),
        log_tags: vec![LogTag {
            key: "env".into(),
            value: "テスト".into(),
        }],
        ..Default::default()
    }
}

/// A server with one log group in shard 0 of `demo/orders`: the server, a feeder, a client
/// and the shard's begin cursor.
async fn one_order() -> (RunningServer, Feeder, SlsClient, String) {
    let server = server([LogstoreSpec::new("demo", "orders", 1)]).await;
    let feed = feeder(&server, "demo");
    feed.put_log_group("orders", &group(vec![order(1)], "t", "s"), Compression::Lz4)
        .await
        .unwrap();
    let client = client(&server, "demo");
    let begin = cursor(&client, CursorFrom::Begin).await;
    (server, feed, client, begin)
}

/// A cursor of shard 0 of `orders`.
async fn cursor(client: &SlsClient, from: CursorFrom) -> String {
    client.get_cursor("orders", 0, from).await.unwrap()
}

/// PullLogs of up to `count` groups from `cursor` of shard 0 of `orders`.
async fn pull(client: &SlsClient, cursor: &str, count: u32) -> Result<PullLogs, SlsError> {
    client.pull_logs("orders", 0, cursor, count, None).await
}

/// Every group of one shard from `cursor` until caught up, `count` groups per call.
async fn pull_all(
    client: &SlsClient,
    logstore: &str,
    shard: u32,
    mut cursor: String,
    count: u32,
) -> Vec<LogGroup> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let pulled = client
            .pull_logs(logstore, shard, &cursor, count, None)
            .await
            .unwrap();
        assert!(pulled.count <= count);
        assert_eq!(pulled.count as usize, pulled.groups.len());
        out.extend(pulled.groups);
        if pulled.next_cursor == cursor {
            return out;
        }
        cursor = pulled.next_cursor;
    }
    panic!("shard {shard} never caught up");
}

#[tokio::test]
async fn reads_every_log_of_every_shard_with_metadata() {
    let server = server([LogstoreSpec::new("demo", "orders", 2)]).await;
    let feed = feeder(&server, "demo");
    for (i, compression) in [Compression::Lz4, Compression::None, Compression::Zstd]
        .into_iter()
        .enumerate()
    {
        let logs = (i * 10..i * 10 + 10).map(order).collect();
        feed.put_log_group(
            "orders",
            &group(logs, "book_order", "10.0.0.7"),
            compression,
        )
        .await
        .unwrap();
    }
    // One group on each end of the hash range, so both shards have data.
    for key in [FIRST_SHARD_KEY, LAST_SHARD_KEY] {
        feed.put_log_group_with_key(
            "orders",
            key,
            &group(vec![order(100)], "edge", key),
            Compression::Lz4,
        )
        .await
        .unwrap();
    }

    let client = client(&server, "demo");
    assert_eq!(client.project(), "demo");
    let shards = client.list_shards("orders").await.unwrap();
    assert_eq!(shards.iter().map(|s| s.id).collect::<Vec<_>>(), [0, 1]);
    assert!(shards.iter().all(|s| !s.readonly));
    assert_eq!(shards[0].inclusive_begin_key, FIRST_SHARD_KEY);
    assert!(shards[0].create_time > 0);

    let mut groups = Vec::new();
    for shard in &shards {
        let begin = client
            .get_cursor("orders", shard.id, CursorFrom::Begin)
            .await
            .unwrap();
        let read = pull_all(&client, "orders", shard.id, begin, 2).await;
        assert!(!read.is_empty(), "shard {} has data", shard.id);
        groups.extend(read);
    }
    assert_eq!(groups.len(), 5);
    let orders: BTreeSet<&str> = groups
        .iter()
        .filter(|g| g.topic.as_deref() == Some("book_order"))
        .flat_map(|g| &g.logs)
        .map(|l| l.get("order_id").unwrap())
        .collect();
    assert_eq!(orders.len(), 30);
    let first = groups
        .iter()
        .flat_map(|g| &g.logs)
        .find(|l| l.get("order_id") == Some("order-0003"))
        .unwrap();
    assert_eq!(
        first.get("book_name"),
        Some("色彩を持たない多崎つくると彼の巡礼の年")
    );
    assert_eq!(first.get("user_id"), Some("4"));
    assert!(first.time >= now_secs() - 600);
    for g in &groups {
        assert_eq!(g.tag("env"), Some("テスト"));
        assert!(g.tag("__receive_time__").is_some(), "the server adds it");
        assert!(g.source.is_some());
    }
    let edge_sources: BTreeSet<&str> = groups
        .iter()
        .filter(|g| g.topic.as_deref() == Some("edge"))
        .map(|g| g.source.as_deref().unwrap())
        .collect();
    assert_eq!(
        edge_sources,
        BTreeSet::from([FIRST_SHARD_KEY, LAST_SHARD_KEY])
    );
}

#[tokio::test]
async fn cursors_from_begin_end_and_time() {
    let server = server([LogstoreSpec::new("demo", "orders", 1)]).await;
    let client = client(&server, "demo");
    let empty_begin = cursor(&client, CursorFrom::Begin).await;
    let empty_end = cursor(&client, CursorFrom::End).await;
    assert_eq!(
        empty_begin, empty_end,
        "an empty shard begins where it ends"
    );
    let pulled = pull(&client, &empty_end, 100).await.unwrap();
    assert!(pulled.groups.is_empty());
    assert_eq!(pulled.next_cursor, empty_end, "caught up");

    let feed = feeder(&server, "demo");
    for i in 0..3 {
        feed.put_log_group("orders", &group(vec![order(i)], "t", "s"), Compression::Lz4)
            .await
            .unwrap();
    }
    let begin = cursor(&client, CursorFrom::Begin).await;
    let end = cursor(&client, CursorFrom::End).await;
    assert_eq!(begin, empty_begin);
    assert_ne!(begin, end);
    let now = i64::from(now_secs());
    let past = cursor(&client, CursorFrom::Time(now - 3600)).await;
    assert_eq!(past, begin, "all data arrived after an hour ago");
    let future = cursor(&client, CursorFrom::Time(now + 3600)).await;
    assert_eq!(future, end);
    let received = client.get_cursor_time("orders", 0, &begin).await.unwrap();
    assert!((received - now).abs() < 120, "{received} vs {now}");

    // From the end: nothing until something new arrives.
    let pulled = pull(&client, &end, 100).await.unwrap();
    assert!(pulled.groups.is_empty());
    assert_eq!(pulled.next_cursor, end);
    feed.put_log_group("orders", &group(vec![order(7)], "t", "s"), Compression::Lz4)
        .await
        .unwrap();
    let pulled = pull(&client, &end, 100).await.unwrap();
    assert_eq!(pulled.groups.len(), 1);
    let log = &pulled.groups[0].logs[0];
    assert_eq!(log.get("order_id"), Some("order-0007"));
    assert_eq!(log.get("book_name"), Some("天声人语"));
    assert!(pulled.raw_size > 0);

    // An end cursor bounds a pull.
    let one = pull(&client, &begin, 1).await.unwrap();
    assert_eq!(one.groups.len(), 1);
    let bounded = client
        .pull_logs("orders", 0, &begin, 1000, Some(&one.next_cursor))
        .await
        .unwrap();
    assert_eq!(bounded.groups, one.groups);
    assert_eq!(bounded.next_cursor, one.next_cursor);
}

#[tokio::test]
async fn consumer_group_heartbeats_and_checkpoints() {
    let server = server([LogstoreSpec::new("demo", "orders", 2)]).await;
    let client = client(&server, "demo");
    client
        .create_consumer_group("orders", "holo", 60, true)
        .await
        .unwrap();
    // Creating it again is refused; ensuring it updates another timeout or order, as the
    // Java and Go consumers do.
    let again = client
        .create_consumer_group("orders", "holo", 60, true)
        .await;
    assert!(again.unwrap_err().is_code("ConsumerGroupAlreadyExist"));
    let found = client
        .ensure_consumer_group("orders", "holo", 45, false)
        .await
        .unwrap()
        .expect("the group exists");
    assert_eq!((found.timeout, found.order), (60, true));
    let groups = client.consumer_groups("orders").await.unwrap();
    assert_eq!((groups[0].timeout, groups[0].order), (45, false));
    client
        .ensure_consumer_group("orders", "holo", 60, true)
        .await
        .unwrap();

    let mut held = Vec::new();
    for _ in 0..10 {
        held = client
            .heartbeat("orders", "holo", "c1", &held)
            .await
            .unwrap();
        if held.len() == 2 {
            break;
        }
    }
    assert_eq!(held, [0, 1], "a lone consumer gets every shard");

    let cursor = client
        .get_cursor("orders", 1, CursorFrom::End)
        .await
        .unwrap();
    client
        .update_checkpoint("orders", "holo", "c1", 1, &cursor)
        .await
        .unwrap();
    let checkpoints = client.checkpoints("orders", "holo").await.unwrap();
    let saved = checkpoints.iter().find(|c| c.shard == 1).unwrap();
    assert_eq!(saved.checkpoint, cursor);
    assert_eq!(saved.consumer, "c1");
    assert!(saved.update_time > 0);
    assert!(
        checkpoints
            .iter()
            .all(|c| c.shard == 1 || c.checkpoint.is_empty()),
        "{checkpoints:?}"
    );

    // A consumer that does not hold the shard cannot move its checkpoint.
    let e = client
        .update_checkpoint("orders", "holo", "c2", 1, &cursor)
        .await
        .unwrap_err();
    assert!(e.is_code("ConsumerNotMatch"), "{e}");
    assert!(!e.is_retriable());
    let shown = e.to_string();
    assert!(shown.contains("consumer group `holo`"), "{shown}");
    assert!(shown.contains("shard 1"), "{shown}");

    let e = client
        .heartbeat("orders", "missing", "c1", &[])
        .await
        .unwrap_err();
    assert!(e.is_code("ConsumerGroupNotExist"), "{e}");
    assert!(e.is_not_found());
}

#[tokio::test]
async fn wrong_secret_is_refused_clearly_and_never_shown() {
    let server = server([LogstoreSpec::new("demo", "orders", 1)]).await;
    let wrong = "not-the-secret-41c9";
    let client = SlsClient::new(
        &server.endpoint(),
        "demo",
        Some(Credentials::new(KEY_ID, wrong)),
    )
    .unwrap()
    .with_retry(fast_retry(5));
    let e = client.list_shards("orders").await.unwrap_err();
    assert!(e.is_denied(), "{e}");
    assert!(!e.is_retriable());
    let code = e.code().unwrap().to_owned();
    assert!(
        ["SignatureNotMatch", "Unauthorized"].contains(&code.as_str()),
        "{code}"
    );
    let shown = e.to_string();
    let debug = format!("{e:?}");
    for text in [&shown, &debug] {
        assert!(
            text.contains("project `demo`") || text.contains("\"demo\""),
            "{text}"
        );
        assert!(text.contains("orders"), "{text}");
        assert!(text.contains(&code), "{text}");
        assert!(!text.contains(wrong), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
    assert!(shown.contains("check the access key"), "{shown}");

    // An unknown key id, and no key at all.
    let stranger = SlsClient::new(
        &server.endpoint(),
        "demo",
        Some(Credentials::new("LTAI-unknown", SECRET)),
    )
    .unwrap();
    let e = stranger.list_shards("orders").await.unwrap_err();
    assert!(e.is_denied(), "{e}");
    let anonymous = SlsClient::new(&server.endpoint(), "demo", None).unwrap();
    let e = anonymous
        .get_cursor("orders", 0, CursorFrom::Begin)
        .await
        .unwrap_err();
    assert!(e.is_denied(), "{e}");
    assert!(e.to_string().contains("shard 0"), "{e}");
}

#[tokio::test]
async fn project_travels_in_the_host_header() {
    let server = server([
        LogstoreSpec::new("demo", "orders", 1),
        LogstoreSpec::new("other", "events", 1),
    ])
    .await;
    let localhost = format!("http://localhost:{}", server.addr().port());
    for endpoint in [server.endpoint(), localhost] {
        let other =
            SlsClient::new(&endpoint, "other", Some(Credentials::new(KEY_ID, SECRET))).unwrap();
        assert_eq!(other.list_shards("events").await.unwrap().len(), 1);
        let e = other.list_shards("orders").await.unwrap_err();
        assert!(e.is_code("LogStoreNotExist"), "{endpoint}: {e}");
        assert!(e.is_not_found());
        let shown = e.to_string();
        assert!(
            shown.contains("project `other`, logstore `orders`"),
            "{shown}"
        );
        assert!(shown.contains("check the logstore name"), "{shown}");
    }
    let missing = client(&server, "nowhere");
    let e = missing.list_shards("orders").await.unwrap_err();
    assert!(e.is_code("ProjectNotExist"), "{e}");
    assert!(e.to_string().contains("project `nowhere`"), "{e}");
}

/// A pull answered with no logs and an empty `x-log-cursor` is caught up at its own cursor,
/// as the official consumer library reads it; the next pull goes on from there.
#[tokio::test]
async fn an_empty_next_cursor_is_a_caught_up_pull() {
    let (_server, feed, client, begin) = one_order().await;
    feed.add_fault(&FaultRule::empty_cursor().times(1))
        .await
        .unwrap();
    let pulled = pull(&client, &begin, 10).await.unwrap();
    assert!(pulled.groups.is_empty());
    assert_eq!(pulled.next_cursor, begin, "caught up where it was");
    let pulled = pull(&client, &begin, 10).await.unwrap();
    assert_eq!(pulled.groups.len(), 1);
}

#[tokio::test]
async fn retries_injected_faults_then_gives_up() {
    let (_server, feed, client, begin) = one_order().await;

    // Two 5xx answers, then success: the caller sees only the success.
    feed.add_fault(&FaultRule::error(Op::Pull, "InternalServerError").times(2))
        .await
        .unwrap();
    let pulled = pull(&client, &begin, 10).await.unwrap();
    assert_eq!(pulled.groups.len(), 1);

    feed.add_fault(&FaultRule::error(Op::Heartbeat, "ServerBusy").times(1))
        .await
        .unwrap();
    feed.add_fault(&FaultRule::error(Op::ListShards, "ReadQuotaExceed").times(3))
        .await
        .unwrap();
    client
        .create_consumer_group("orders", "holo", 60, false)
        .await
        .unwrap();
    client.heartbeat("orders", "holo", "c1", &[]).await.unwrap();
    assert_eq!(client.list_shards("orders").await.unwrap().len(), 1);

    // A fault that outlasts the tries: the last error comes back, naming the shard.
    feed.add_fault(
        &FaultRule::error(Op::Pull, "InternalServerError")
            .on_shard("orders", 0)
            .times(10),
    )
    .await
    .unwrap();
    let impatient = client.clone().with_retry(fast_retry(3));
    let e = pull(&impatient, &begin, 10).await.unwrap_err();
    assert_eq!(e.code(), Some("InternalServerError"));
    assert_eq!(e.status(), Some(500));
    assert!(e.is_retriable());
    assert!(e.to_string().contains("shard 0"), "{e}");
    // Three tries used three of the ten faults.
    let left = feed.faults().await.unwrap();
    assert_eq!(left["faults"][0]["times"], 7, "{left}");

    // A refusal that is not retriable is not retried.
    feed.clear_faults().await.unwrap();
    feed.add_fault(&FaultRule::error(Op::Pull, "InvalidCursor").times(2))
        .await
        .unwrap();
    let e = pull(&client, &begin, 10).await.unwrap_err();
    assert!(e.is_code("InvalidCursor"), "{e}");
    let left = feed.faults().await.unwrap();
    assert_eq!(left["faults"][0]["times"], 1, "{left}");
}

#[tokio::test]
async fn invalid_cursor_is_a_clear_error() {
    let server = server([LogstoreSpec::new("demo", "orders", 1)]).await;
    let client = client(&server, "demo");
    // A malformed cursor is ParameterInvalid, as the service answers it.
    let e = pull(&client, "bm90LWEtY3Vyc29y", 10).await.unwrap_err();
    assert!(e.is_code("ParameterInvalid"), "{e}");
    assert!(matches!(e, SlsError::Service { .. }));
    let shown = e.to_string();
    assert!(shown.contains("shard 0"), "{shown}");
    let e = client
        .get_cursor("orders", 9, CursorFrom::Begin)
        .await
        .unwrap_err();
    assert!(e.is_code("ShardNotExist"), "{e}");
}
