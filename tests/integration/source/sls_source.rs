//! Streaming pipelines from the SLS-compatible test server (`sls-lite`) into PostgreSQL:
//! scenarios S2 (WebTracking orders), S3 (metadata aliasing) and S4 (join with books).

use std::process::Output;

use sls_lite::config::{Config, LogstoreSpec};
use sls_lite::proto::{Log, LogGroup, LogTag};
use sls_lite::server::{RunningServer, Server};
use sls_lite::testing::{Client, Compression};

use crate::support::{
    Args, assert_failure, assert_success, books_csv, guest, id_logs, pg::TestPg, query_i64, table,
};

pub const PROJECT: &str = "holo-demo";
/// The access key the test servers take, and the streams sign with.
pub const KEY_ID: &str = "LTAI-stream-test";
pub const KEY_SECRET: &str = "stream-test-secret";

/// A server of one logstore that wants signed requests, and a client that signs them.
pub async fn server(logstore: &str, shards: u32) -> (RunningServer, Client) {
    server_of(LogstoreSpec::new(PROJECT, logstore, shards)).await
}

/// [`server`] of a logstore described in full.
pub async fn server_of(spec: LogstoreSpec) -> (RunningServer, Client) {
    let config = Config::new([spec]).with_access_key(KEY_ID, KEY_SECRET);
    let server = Server::start(config).await.expect("start sls-lite");
    let client = Client::new(server.addr(), PROJECT).with_access_key(KEY_ID, KEY_SECRET);
    (server, client)
}

fn source(server: &RunningServer, logstore: &str, extra: &str) -> String {
    format!(
        "sls://{PROJECT}/{logstore}?endpoint=http://{}&start=begin{extra}",
        server.addr()
    )
}

/// `--source` of `logstore`, signed with the servers' key.
pub fn source_args(server: &RunningServer, logstore: &str, extra: &str) -> Args {
    Args::source(source(server, logstore, extra))
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
}

/// Runs `holo-host run ARGS… --exit-when-idle 1s` off the test's runtime.
pub async fn run_until_idle(args: Args) -> Output {
    let args = args.with(["--exit-when-idle", "1s", "--batch-interval", "100ms"]);
    tokio::task::spawn_blocking(move || args.run())
        .await
        .unwrap()
}

/// `logstore` read to its end (idle for 1 s) and printed, signed with the access key
/// `id`/`secret`; runs off the test's runtime.
async fn read_signed(
    server: &RunningServer,
    logstore: &str,
    id: &'static str,
    secret: &'static str,
) -> Output {
    let args = Args::source(source(server, logstore, "")).with(["--exit-when-idle", "1s"]);
    tokio::task::spawn_blocking(move || {
        args.command()
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", id)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", secret)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The `book_name` of order `order_id` in `t`.
async fn book_name(t: &str, order_id: &str) -> String {
    let client = TestPg::shared().client().await;
    client
        .query_one(
            &format!("SELECT book_name FROM {t} WHERE order_id = $1"),
            &[&order_id],
        )
        .await
        .unwrap()
        .get(0)
}

const BOOK_ORDER: &str = "(order_id text PRIMARY KEY, user_id int8 NOT NULL, book_id int8 NOT NULL,
    book_name text NOT NULL, order_cnt int8 NOT NULL, order_amt int8 NOT NULL)";

/// S2: orders sent through WebTracking, with URL-encoded Japanese book names, land typed.
#[tokio::test(flavor = "multi_thread")]
async fn s2_webtracking_orders_land_typed() {
    let (server, client) = server("book-orders", 2).await;
    let orders: Vec<_> = holo_seed::orders(300, 7).collect();
    for o in &orders {
        let (user, book, cnt, amt) = (
            o.user_id.to_string(),
            o.book_id.to_string(),
            o.order_cnt.to_string(),
            o.order_amt.to_string(),
        );
        client
            .track(
                "book-orders",
                &[
                    ("__topic__", "orders"),
                    ("order_id", &o.order_id),
                    ("user_id", &user),
                    ("book_id", &book),
                    ("book_name", o.book_name),
                    ("order_cnt", &cnt),
                    ("order_amt", &amt),
                ],
            )
            .await
            .expect("track");
    }
    let t = table("sls_s2_book_order", BOOK_ORDER).await;
    let args = source_args(&server, "book-orders", "")
        .transform(&guest("alias"))
        .set(&["select=order_id,user_id,book_id,book_name,order_cnt,order_amt"])
        .sink(&TestPg::shared().dsn(), &t)
        .env("RUST_LOG", "holo_host=info");
    let out = run_until_idle(args.clone()).await;
    let stderr = assert_success(&out);
    assert!(stderr.contains("read 300 rows, wrote 300"), "{stderr}");
    // Each shard's start is logged as the `start=` option reads.
    assert!(stderr.contains("\"start=begin\""), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 300);
    let expected: i64 = orders.iter().map(|o| o.order_amt).sum();
    assert_eq!(
        query_i64(&format!("SELECT sum(order_amt)::int8 FROM {t}")).await,
        expected
    );
    let o = &orders[17];
    assert_eq!(book_name(&t, &o.order_id).await, o.book_name);

    // Run again: every shard resumes from its committed position, nothing is written twice.
    let again = run_until_idle(args).await;
    let stderr = assert_success(&again);
    assert!(stderr.contains("read 0 rows, wrote 0"), "{stderr}");
    assert!(stderr.contains("\"the committed position\""), "{stderr}");
    server.shutdown().await;
}

/// S3: Log Service metadata renamed to the table's columns.
#[tokio::test(flavor = "multi_thread")]
async fn s3_metadata_columns_are_aliased() {
    let (server, client) = server("demo", 1).await;
    let group = LogGroup {
        logs: (0..5)
            .map(|i| Log::new(1_700_000_000 + i, [("msg", format!("こんにちは {i}"))]))
            .collect(),
        topic: Some("greetings".into()),
        source: Some("10.0.0.7".into()),
        log_tags: vec![LogTag {
            key: "region".into(),
            value: "ap-northeast-1".into(),
        }],
        ..LogGroup::default()
    };
    client
        .put_log_group("demo", &group, Compression::Lz4)
        .await
        .expect("put logs");
    let t = table(
        "sls_s3_demo",
        "(msg text, sls_topic text, sls_source text, sls_timestamp int8, sls_region text)",
    )
    .await;
    let meta = "&meta=__topic__,__source__,__timestamp__,__tag__:region";
    let args = source_args(&server, "demo", meta)
        .transform(&guest("alias"))
        .set(&[
            "rename=__topic__:sls_topic,__source__:sls_source,__timestamp__:sls_timestamp,\
             __tag__:region:sls_region",
            "select=msg,sls_topic,sls_source,sls_timestamp,sls_region",
        ])
        .sink(&TestPg::shared().dsn(), &t);
    let out = run_until_idle(args).await;
    let stderr = assert_success(&out);
    assert!(stderr.contains("wrote 5"), "{stderr}");
    let client = TestPg::shared().client().await;
    let rows = client
        .query(
            &format!(
                "SELECT msg, sls_topic, sls_source, sls_timestamp, sls_region FROM {t} \
                 ORDER BY sls_timestamp"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    let msg: String = rows[2].get(0);
    let topic: String = rows[2].get(1);
    let src: String = rows[2].get(2);
    let ts: i64 = rows[2].get(3);
    let region: String = rows[2].get(4);
    assert_eq!(
        (
            msg.as_str(),
            topic.as_str(),
            src.as_str(),
            ts,
            region.as_str()
        ),
        (
            "こんにちは 2",
            "greetings",
            "10.0.0.7",
            1_700_000_002,
            "ap-northeast-1"
        )
    );
    server.shutdown().await;
}

/// S4: a stream of orders without book names, joined with the headerless books file.
#[tokio::test(flavor = "multi_thread")]
async fn s4_stream_joined_with_books() {
    let (server, client) = server("orders", 4).await;
    let orders: Vec<_> = holo_seed::orders(400, 11).collect();
    for chunk in orders.chunks(50) {
        let group = LogGroup {
            logs: chunk
                .iter()
                .map(|o| {
                    Log::new(
                        1_700_000_000,
                        [
                            ("order_id", o.order_id.clone()),
                            ("user_id", o.user_id.to_string()),
                            ("book_id", o.book_id.to_string()),
                            ("order_cnt", o.order_cnt.to_string()),
                            ("order_amt", o.order_amt.to_string()),
                        ],
                    )
                })
                .collect(),
            ..LogGroup::default()
        };
        client
            .put_log_group("orders", &group, Compression::Zstd)
            .await
            .expect("put logs");
    }
    let t = table("sls_s4_book_order", BOOK_ORDER).await;
    let alias_free_columns = "order_id,user_id,book_id,order_cnt,order_amt";
    let columns = format!("&columns={alias_free_columns}&meta=none");
    let args = source_args(&server, "orders", &columns)
        .enrich("book_id", "name:book_name", &books_csv())
        .sink(&TestPg::shared().dsn(), &t);
    let out = run_until_idle(args).await;
    let stderr = assert_success(&out);
    assert!(stderr.contains("wrote 400"), "{stderr}");
    let o = &orders[123];
    assert_eq!(book_name(&t, &o.order_id).await, o.book_name);
    server.shutdown().await;
}

/// Puts logs with these ids (content `id`, `payload`) in groups of 20.
pub async fn put_ids(client: &Client, logstore: &str, ids: std::ops::RangeInclusive<u32>) {
    let ids: Vec<u32> = ids.collect();
    for chunk in ids.chunks(20) {
        let group = id_logs(chunk.iter().copied(), "payload", |i| format!("記録{i}"));
        client
            .put_log_group(logstore, &group, Compression::Lz4)
            .await
            .expect("put logs");
    }
}

/// A consumer-group member writing `id`s into `t` (no key: duplicates would show).
pub fn member(
    server: &RunningServer,
    logstore: &str,
    t: &str,
    idle: &str,
) -> std::process::Command {
    member_named(server, logstore, t, idle, None)
}

/// [`member`] with a consumer name of its own choosing.
pub fn member_named(
    server: &RunningServer,
    logstore: &str,
    t: &str,
    idle: &str,
    consumer: Option<&str>,
) -> std::process::Command {
    let mut group = "&consumer_group=holo&timeout=3&columns=id,payload&meta=none".to_owned();
    if let Some(name) = consumer {
        group.push_str(&format!("&consumer={name}"));
    }
    source_args(server, logstore, &group)
        .sink(&TestPg::shared().dsn(), t)
        .with(["--batch-rows", "25", "--batch-interval", "100ms"])
        .with(["--exit-when-idle", idle])
        .env("RUST_LOG", "holo_host=info")
        .command()
}

/// Waits for `child` to exit by itself; kills it and fails after `secs`.
fn finish_within(mut child: std::process::Child, secs: u64) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "holo-host did not stop within {secs} s:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

pub async fn assert_exactly(t: &str, n: i64) {
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, n);
    assert_eq!(
        query_i64(&format!("SELECT count(DISTINCT id) FROM {t}")).await,
        n
    );
    assert_eq!(
        query_i64(&format!("SELECT max(id) FROM {t}")).await,
        n,
        "ids 1..={n}"
    );
}

pub async fn wait_rows(t: &str, at_least: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while query_i64(&format!("SELECT count(*) FROM {t}")).await < at_least {
        assert!(
            std::time::Instant::now() < deadline,
            "{t} never reached {at_least} rows"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Killed with SIGKILL mid-stream and started again: exactly the records sent.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_stream_then_restart_is_exactly_once() {
    let (server, client) = server("kill", 2).await;
    put_ids(&client, "kill", 1..=3000).await;
    let t = table("sls_kill", "(id int8 NOT NULL, payload text NOT NULL)").await;
    let mut first = member(&server, "kill", &t, "30s")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_rows(&t, 500).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let written = query_i64(&format!("SELECT count(*) FROM {t}")).await;
    assert!(
        written < 3000,
        "the kill came too late to test anything ({written})"
    );

    let again = member(&server, "kill", &t, "2s")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || finish_within(again, 120))
        .await
        .unwrap();
    assert_success(&out);
    assert_exactly(&t, 3000).await;
    server.shutdown().await;
}

/// Shard → consumer of the group `holo`, as the server sees it.
pub async fn owners(client: &Client) -> std::collections::BTreeMap<String, String> {
    let stats = client.stats().await.expect("stats");
    let group = &stats["logstores"][0]["consumer_groups"][0]["owners"];
    serde_json::from_value(group.clone()).unwrap_or_default()
}

/// Three members of one group on four shards, one killed while it holds shards with
/// records still to come: the others take them after the group timeout, and every
/// record lands exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn three_consumers_four_shards_one_killed() {
    let (server, client) = server("group", 4).await;
    put_ids(&client, "group", 1..=2000).await;
    let t = table("sls_group", "(id int8 NOT NULL, payload text NOT NULL)").await;
    let spawn = |idle: &str| {
        member(&server, "group", &t, idle)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut doomed = spawn("60s");
    let a = spawn("8s");
    let b = spawn("8s");
    let doomed_name = format!("-{}", doomed.id());
    // Wait until the three share the shards and the first records are in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let owners = owners(&client).await;
        let members: std::collections::BTreeSet<&String> = owners.values().collect();
        let rows = query_i64(&format!("SELECT count(*) FROM {t}")).await;
        if members.len() == 3 && owners.values().any(|m| m.ends_with(&doomed_name)) && rows == 2000
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the group never settled: {owners:?}, {rows} rows"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    // Records the dead member's shards get only if someone takes them over.
    put_ids(&client, "group", 2001..=4000).await;
    for survivor in [a, b] {
        let out = tokio::task::spawn_blocking(move || finish_within(survivor, 120))
            .await
            .unwrap();
        assert_success(&out);
    }
    assert_exactly(&t, 4000).await;
    let owners = owners(&client).await;
    assert!(
        !owners.values().any(|m| m.ends_with(&doomed_name)),
        "{owners:?}"
    );
    server.shutdown().await;
}

/// What the official Python SDK writes (signed PutLogs, lz4 and plain, tags, Japanese
/// values) is what holo-host reads, with its own signed requests.
#[tokio::test(flavor = "multi_thread")]
async fn consumes_what_the_python_sdk_wrote() {
    let venv = crate::support::target_dir().join("py-venv");
    let python = match tokio::task::spawn_blocking(move || sls_lite::python::with_sdk(&venv))
        .await
        .unwrap()
    {
        Ok(p) => p,
        Err(why) => return sls_lite::python::unavailable(&why),
    };
    let config = Config::new([LogstoreSpec::new(PROJECT, "py-orders", 2)])
        .with_access_key("LTAI-holo", "holo-secret");
    let server = Server::start(config).await.expect("start sls-lite");
    let out = tokio::process::Command::new(&python)
        .arg(sls_lite::python::script("roundtrip.py"))
        .args(["--endpoint", &server.endpoint(), "--project", PROJECT])
        .args(["--logstore", "py-orders", "--shards", "2"])
        .args([
            "--access-key-id",
            "LTAI-holo",
            "--access-key-secret",
            "holo-secret",
        ])
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let wanted = report["logs"].as_array().unwrap();

    let out = read_signed(&server, "py-orders", "LTAI-holo", "holo-secret").await;
    assert_success(&out);
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), wanted.len());
    for want in wanted {
        let row = rows
            .iter()
            .find(|r| r["order_id"] == want["order_id"])
            .unwrap_or_else(|| panic!("{} consumed", want["order_id"]));
        assert_eq!(row["book_name"], want["book_name"]);
        assert_eq!(row["__topic__"], "orders");
        assert_eq!(row["__tag__:env"], "test");
    }
    server.shutdown().await;
}

/// A wrong access key: a clear error naming project, logstore and the server's code, and
/// never the secret.
#[tokio::test(flavor = "multi_thread")]
async fn auth_failure_is_clear_and_secret_free() {
    let config =
        Config::new([LogstoreSpec::new(PROJECT, "locked", 1)]).with_access_key("LTAI-ok", "right");
    let server = Server::start(config).await.expect("start sls-lite");
    let out = read_signed(&server, "locked", "LTAI-ok", "wrong-secret-xyz").await;
    let stderr = assert_failure(&out);
    assert!(stderr.contains("SignatureNotMatch"), "{stderr}");
    assert!(
        stderr.contains(PROJECT) && stderr.contains("locked"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-secret-xyz"), "{stderr}");
    server.shutdown().await;
}

/// SIGINT ends a stream cleanly: the batches read are committed, the group is left, and
/// the exit code is 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigint_ends_a_stream_cleanly() {
    let (server, client) = server("live", 2).await;
    put_ids(&client, "live", 1..=500).await;
    let t = table("sls_live", "(id int8 NOT NULL, payload text NOT NULL)").await;
    let child = member(&server, "live", &t, "10m")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_rows(&t, 500).await;
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || finish_within(child, 60))
        .await
        .unwrap();
    let stderr = assert_success(&out);
    assert!(stderr.contains("left the consumer group"), "{stderr}");
    assert!(stderr.contains("; stopped on request"), "{stderr}");
    assert_exactly(&t, 500).await;
    server.shutdown().await;
}

/// A split shard is read to its end before its children, so the records of each key
/// land in the order they were written.
#[tokio::test(flavor = "multi_thread")]
async fn split_shard_is_finished_before_its_children() {
    let (server, client) = server("split", 1).await;
    put_ids(&client, "split", 1..=200).await;
    client.split_shard("split", 0, None).await.expect("split");
    put_ids(&client, "split", 201..=400).await;
    let t = table(
        "sls_split",
        "(seq bigserial, id int8 NOT NULL, payload text NOT NULL)",
    )
    .await;
    let args = source_args(&server, "split", "&columns=id,payload&meta=none")
        .with(["--batch-rows", "10"])
        .sink(&TestPg::shared().dsn(), &t);
    let out = run_until_idle(args).await;
    assert_success(&out);
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 400);
    let parent_last = query_i64(&format!("SELECT max(seq) FROM {t} WHERE id <= 200")).await;
    let children_first = query_i64(&format!("SELECT min(seq) FROM {t} WHERE id > 200")).await;
    assert!(
        parent_last < children_first,
        "the children were read before their parent was finished"
    );
    server.shutdown().await;
}
