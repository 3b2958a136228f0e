//! A logstore's life against `sls-lite`: a new table on an old consumer group, shards split
//! and merged while the job is down, tags that appear mid-stream, a shard the service
//! removes, a cursor it refuses, data its TTL removes, a logstore deleted and created
//! again, and an endpoint that cannot be reached.

use std::time::{Duration, Instant};

use sls_lite::faults::{FaultRule, Op};
use sls_lite::proto::LogTag;
use sls_lite::testing::{Client, Compression};

use crate::source::sls_source::{PROJECT, put_ids, run_until_idle, server, server_of, source_args};
use crate::support::{
    Args, assert_failure, assert_success, dead_letters, id_logs, pg::TestPg, query_i64, scratch,
    table,
};

const IDS: &str = "(id int8 PRIMARY KEY, payload text NOT NULL)";

/// `id`/`payload` logs of `logstore` into table `t` (only those columns), logging at info.
fn ids_into(
    server: &sls_lite::server::RunningServer,
    logstore: &str,
    extra: &str,
    t: &str,
) -> Args {
    source_args(
        server,
        logstore,
        &format!("&columns=id,payload&meta=none{extra}"),
    )
    .sink(&TestPg::shared().dsn(), t)
    .env("RUST_LOG", "holo_host=info")
}

async fn count(t: &str) -> i64 {
    query_i64(&format!("SELECT count(*) FROM {t}")).await
}

/// A table dropped and created again (or a new table) on a consumer group that has read the
/// logstore: the group's checkpoint is another table's progress, so the new table starts
/// from `start=`, and only `start=checkpoint` takes the checkpoint.
#[tokio::test(flavor = "multi_thread")]
async fn a_new_table_on_an_old_group_does_not_take_its_checkpoint() {
    let (server, client) = server("old-group", 2).await;
    put_ids(&client, "old-group", 1..=300).await;
    let group = "&consumer_group=holo&timeout=5";
    // The last reads nothing: where the group's checkpoints are, every shard is read.
    for (name, extra, rows, said) in [
        ("sls_old_group_a", "", 300, "start=begin"),
        ("sls_old_group_b", "", 300, "start=begin"),
        ("sls_old_group_c", "&start=checkpoint", 0, ""),
    ] {
        let t = table(name, IDS).await;
        let args = ids_into(&server, "old-group", &format!("{group}{extra}"), &t);
        let log = assert_success(&run_until_idle(args).await);
        assert_eq!(count(&t).await, rows, "{name}:\n{log}");
        assert!(log.contains(said), "{name}: {log}");
    }
    server.shutdown().await;
}

/// With `start=end`, a shard split while the job was down: the parent is read on from its
/// committed position, and the children (created after the job first started) from their
/// beginning, so nothing written to them meanwhile is lost.
#[tokio::test(flavor = "multi_thread")]
async fn children_of_a_split_lose_nothing_with_start_end() {
    let (server, client) = server("split-end", 1).await;
    reshaped_while_down(&server, &client, "split-end", async |c: &Client| {
        c.split_shard("split-end", 0, None).await.expect("split");
    })
    .await;
    server.shutdown().await;
}

/// The same for two shards merged while the job was down.
#[tokio::test(flavor = "multi_thread")]
async fn the_child_of_a_merge_loses_nothing_with_start_end() {
    let (server, client) = server("merge-end", 2).await;
    reshaped_while_down(&server, &client, "merge-end", async |c: &Client| {
        let shards = c.merge_shards("merge-end", 0).await.expect("merge");
        assert_eq!(shards.len(), 3, "{shards:?}");
    })
    .await;
    server.shutdown().await;
}

/// Runs a `start=end` job that reads 50 records put after it started, reshapes the shards
/// while it is down and puts 250 more, then runs it again: all 300 land.
async fn reshaped_while_down(
    server: &sls_lite::server::RunningServer,
    client: &Client,
    logstore: &str,
    reshape: impl AsyncFnOnce(&Client),
) {
    put_ids(client, logstore, 1..=100).await;
    let t = table(&format!("sls_{}", logstore.replace('-', "_")), IDS).await;
    let run = || ids_into(server, logstore, "&start=end", &t);
    // The first run starts at the end: the first 100 are before the job.
    let mut first = tokio::task::spawn_blocking({
        let args = run().with(["--exit-when-idle", "4s", "--batch-interval", "100ms"]);
        move || args.run()
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    put_ids(client, logstore, 101..=150).await;
    let out = (&mut first).await.unwrap();
    let log = assert_success(&out);
    assert_eq!(count(&t).await, 50, "{log}");
    // Down: a little time passes so that the new shards are created after the job's first
    // start; the shards are reshaped, and more goes to the new ones.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    reshape(client).await;
    put_ids(client, logstore, 151..=400).await;
    let log = assert_success(&run_until_idle(run()).await);
    assert_eq!(count(&t).await, 300, "{log}");
    assert_eq!(
        query_i64(&format!("SELECT count(*) FROM {t} WHERE id <= 100")).await,
        0
    );
    assert!(log.contains("since the job first started"), "{log}");
}

/// The TTL removed log groups the job had not read yet (the service then reads from the
/// shard's oldest data without an error): the gap is reported, and the rest lands.
#[tokio::test(flavor = "multi_thread")]
async fn data_removed_by_the_ttl_before_it_was_read_is_reported() {
    let (server, client) = server("ttl", 1).await;
    // 5 log groups of 20.
    put_ids(&client, "ttl", 1..=100).await;
    let t = table("sls_ttl", IDS).await;
    let run = || ids_into(&server, "ttl", "", &t);
    assert_success(&run_until_idle(run()).await);
    assert_eq!(count(&t).await, 100);
    // 5 more groups; the TTL takes the first 7, so 2 unread ones (ids 101..=140) are gone.
    put_ids(&client, "ttl", 101..=200).await;
    let expired = client.expire("ttl", None, 7).await.expect("expire");
    assert_eq!(expired["expired"]["0"], 7, "{expired}");
    let log = assert_success(&run_until_idle(run()).await);
    assert!(log.contains("TTL removed 2 log groups"), "{log}");
    assert_eq!(count(&t).await, 160, "{log}");
    let lost = format!("SELECT count(*) FROM {t} WHERE id BETWEEN 101 AND 140");
    assert_eq!(query_i64(&lost).await, 0);
    server.shutdown().await;
}

/// A logstore deleted and created again: its old cursors are refused, so the job stops with
/// the shard named, and with `on_invalid_cursor=begin` reads the new logstore from its start.
#[tokio::test(flavor = "multi_thread")]
async fn a_recreated_logstore_stops_the_job_unless_told_where_to_start() {
    let (server, client) = server("recreated", 1).await;
    put_ids(&client, "recreated", 1..=100).await;
    let t = table("sls_recreated", IDS).await;
    let run = |extra: &str| ids_into(&server, "recreated", extra, &t);
    assert_success(&run_until_idle(run("")).await);
    client.delete_logstore("recreated").await.expect("delete");
    client
        .create_logstore("recreated", 1)
        .await
        .expect("create");
    put_ids(&client, "recreated", 101..=150).await;
    let err = assert_failure(&run_until_idle(run("")).await);
    assert!(
        err.contains("recreated/0") && err.contains("on_invalid_cursor="),
        "{err}"
    );
    let log = assert_success(&run_until_idle(run("&on_invalid_cursor=begin")).await);
    assert_eq!(count(&t).await, 150, "{log}");
    server.shutdown().await;
}

/// A read-only shard whose data the TTL removed entirely disappears from the service while
/// it is being read: it is released and its children are read.
#[tokio::test(flavor = "multi_thread")]
async fn a_parent_removed_by_the_ttl_is_released() {
    let (server, client) = server("gone-parent", 1).await;
    put_ids(&client, "gone-parent", 1..=100).await;
    client
        .split_shard("gone-parent", 0, None)
        .await
        .expect("split");
    put_ids(&client, "gone-parent", 101..=200).await;
    // The parent's pulls are slow, so that it is removed while it is read.
    let slow = FaultRule::latency(Op::Pull, Duration::from_secs(3)).on_shard("gone-parent", 0);
    client.add_fault(&slow).await.expect("fault");
    let t = table("sls_gone_parent", IDS).await;
    let args = ids_into(&server, "gone-parent", "", &t);
    let running = tokio::spawn(run_until_idle(args));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expired = client
        .expire("gone-parent", Some(0), 5)
        .await
        .expect("expire");
    assert_eq!(
        expired["removed_shards"],
        serde_json::json!([0]),
        "{expired}"
    );
    let log = assert_success(&running.await.unwrap());
    assert!(log.contains("no longer has"), "{log}");
    // The children's 100, and whatever of the parent was read before it went.
    let children = format!("SELECT count(*) FROM {t} WHERE id > 100");
    assert_eq!(query_i64(&children).await, 100, "{log}");
    server.shutdown().await;
}

/// A stream read while the service splits its shards by itself under load (automatic
/// splitting), with `start=end`: every record put after the start lands once.
#[tokio::test(flavor = "multi_thread")]
async fn automatic_splits_during_a_stream_lose_nothing() {
    let spec = sls_lite::config::LogstoreSpec::new(PROJECT, "auto-split", 1).with_auto_split(4, 15);
    let (server, client) = server_of(spec).await;
    let t = table(
        "sls_auto_split",
        "(seq bigserial, id int8 PRIMARY KEY, payload text NOT NULL)",
    )
    .await;
    let args = ids_into(
        &server,
        "auto-split",
        "&start=end&consumer_group=holo&timeout=5",
        &t,
    )
    .with(["--batch-rows", "50"]);
    let running = tokio::task::spawn_blocking(move || {
        args.with(["--exit-when-idle", "4s", "--batch-interval", "100ms"])
            .run()
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    // 100 log groups of 20, in bursts: the shards split while the stream reads them.
    for burst in 0..10u32 {
        put_ids(&client, "auto-split", burst * 200 + 1..=burst * 200 + 200).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = assert_success(&running.await.unwrap());
    let shards = client.list_shards("auto-split").await.expect("shards");
    assert!(shards.len() > 3, "no automatic split: {shards:?}");
    assert_eq!(count(&t).await, 2000, "{log}");
    server.shutdown().await;
}

/// With `start=end`, a job killed before it read any record starts again from the end it
/// had when it first opened, not from a new end: what arrived while it was down is read.
#[tokio::test(flavor = "multi_thread")]
async fn a_first_start_at_the_end_holds_across_a_kill_before_any_record() {
    let (server, client) = server("first-end", 2).await;
    put_ids(&client, "first-end", 1..=100).await;
    let t = table("sls_first_end", IDS).await;
    let run = || ids_into(&server, "first-end", "&start=end", &t);
    let mut first = run()
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Opened, its start committed; killed before any record arrives.
    let progress =
        "SELECT count(*) FROM holo_host.progress WHERE job LIKE 'sls://holo-demo/first-end/%'";
    let deadline = Instant::now() + Duration::from_secs(30);
    let made =
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'holo_host' AND tablename = 'progress'";
    while query_i64(made).await == 0 || query_i64(progress).await < 2 {
        assert!(
            Instant::now() < deadline,
            "the start positions were never committed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    put_ids(&client, "first-end", 101..=160).await;
    let log = assert_success(&run_until_idle(run()).await);
    assert_eq!(count(&t).await, 60, "{log}");
    let before = format!("SELECT count(*) FROM {t} WHERE id <= 100");
    assert_eq!(query_i64(&before).await, 0);
    server.shutdown().await;
}

/// A log group with `tags`.
fn tagged(ids: std::ops::RangeInclusive<u32>, tags: &[(&str, &str)]) -> sls_lite::proto::LogGroup {
    let mut group = id_logs(ids, "payload", |i| format!("p{i}"));
    group.log_tags = tags
        .iter()
        .map(|(k, v)| LogTag {
            key: (*k).into(),
            value: (*v).into(),
        })
        .collect();
    group
}

/// Tags first seen after the stream opened: dead-lettered with the reason by default, in
/// their own column when declared with `tags=`, or in the `__tags__` JSON column.
#[tokio::test(flavor = "multi_thread")]
async fn tags_that_appear_mid_stream_are_never_dropped_silently() {
    let (server, client) = server("late-tags", 1).await;
    let put = |ids, tags: &'static [(&'static str, &'static str)]| {
        let client = client.clone();
        async move {
            let group = tagged(ids, tags);
            (client.put_log_group("late-tags", &group, Compression::Lz4))
                .await
                .expect("put");
        }
    };
    put(1..=10, &[("host", "a")]).await;
    // Past the first 10 log groups that the columns are learned from.
    for i in 0..10u32 {
        put(11 + i * 10..=20 + i * 10, &[("host", "a")]).await;
    }
    put(111..=120, &[("host", "b"), ("zone", "z1")]).await;
    let dir = scratch();
    let cases = [
        ("sls_tags_default", "", 110, 10),
        ("sls_tags_declared", "&tags=zone", 120, 0),
        ("sls_tags_json", "&meta=__tag__:host,__tags__", 120, 0),
    ];
    for (name, extra, rows, dead) in cases {
        let t = table(
            name,
            "(id int8 PRIMARY KEY, payload text, __topic__ text, __source__ text, \
             __timestamp__ text, __shard__ text, \"__tag__:__receive_time__\" text, \
             \"__tag__:__client_ip__\" text, \"__tag__:host\" text, \"__tag__:zone\" text, \
             \"__tags__\" text)",
        )
        .await;
        let dl = dir.path().join(format!("{name}.jsonl"));
        let args = source_args(&server, "late-tags", &format!("&columns=id,payload{extra}"))
            .sink(&TestPg::shared().dsn(), &t)
            .dead_letter(&dl);
        let log = assert_success(&run_until_idle(args).await);
        assert_eq!(count(&t).await, rows, "{name}: {log}");
        let letters = if dl.exists() {
            dead_letters(&dl)
        } else {
            Vec::new()
        };
        assert_eq!(letters.len(), dead, "{name}: {letters:?}");
        if dead > 0 {
            let reason = letters[0]["reason"].as_str().unwrap();
            assert!(
                reason.contains("`zone`") && reason.contains("tags="),
                "{reason}"
            );
            assert_eq!(letters[0]["record"]["__tag__:zone"], "z1");
        }
        if extra.contains("tags=zone") {
            let zone = format!("SELECT count(*) FROM {t} WHERE \"__tag__:zone\" = 'z1'");
            assert_eq!(query_i64(&zone).await, 10);
        }
        if extra.contains("__tags__") {
            let json =
                format!("SELECT count(*) FROM {t} WHERE \"__tags__\"::jsonb->>'zone' = 'z1'");
            assert_eq!(query_i64(&json).await, 10);
        }
    }
    server.shutdown().await;
}

/// A shard the service no longer has (`ShardNotExist`: a read-only shard removed after its
/// data expired) is released; the others read on and the job does not stop.
#[tokio::test(flavor = "multi_thread")]
async fn a_removed_shard_is_released_and_the_rest_read_on() {
    let (server, client) = server("removed", 2).await;
    put_ids(&client, "removed", 1..=400).await;
    let rule = FaultRule::error(Op::Pull, "ShardNotExist").on_shard("removed", 0);
    client.add_fault(&rule).await.expect("fault");
    let t = table("sls_removed", IDS).await;
    let args = ids_into(&server, "removed", "", &t);
    let log = assert_success(&run_until_idle(args).await);
    assert_eq!(count(&t).await, 200, "the other shard's half:\n{log}");
    assert!(log.contains("no longer has this shard"), "{log}");
    server.shutdown().await;
}

/// A cursor the service refuses (`InvalidCursor`) stops the job with the shard named by
/// default; with `on_invalid_cursor=begin` that shard alone is read again from its beginning.
#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_cursor_fails_with_the_shard_named_or_restarts_that_shard() {
    let (server, client) = server("refused", 2).await;
    put_ids(&client, "refused", 1..=400).await;
    let rule = FaultRule::error(Op::Pull, "InvalidCursor")
        .on_shard("refused", 1)
        .times(1);
    client.add_fault(&rule).await.expect("fault");
    let t = table("sls_refused", IDS).await;
    let args = ids_into(&server, "refused", "", &t);
    let err = assert_failure(&run_until_idle(args).await);
    assert!(
        err.contains("/refused/1") && err.contains("on_invalid_cursor=begin"),
        "{err}"
    );
    client.add_fault(&rule).await.expect("fault");
    let args = ids_into(&server, "refused", "&on_invalid_cursor=begin", &t);
    let log = assert_success(&run_until_idle(args).await);
    assert_eq!(count(&t).await, 400, "{log}");
    assert!(log.contains("refused the shard's cursor"), "{log}");
    server.shutdown().await;
}

/// An endpoint nothing answers on fails the open after `open_timeout`, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_fails_the_open_in_bounded_time() {
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spec = format!(
        "sls://holo-demo/orders?endpoint=http://127.0.0.1:{port}&anonymous=true&open_timeout=2"
    );
    let started = Instant::now();
    let mut child = Args::source(spec)
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("holo-host still waits for an endpoint nothing answers on after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = child.wait_with_output().unwrap();
    let err = assert_failure(&out);
    assert!(err.contains("cannot reach the log service"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}
