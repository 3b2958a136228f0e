//! Hot reload and canary runs of transforms.
//!
//! Records are fed through stdin in chunks, so each test decides exactly when a new version
//! appears relative to the data: the run blocks on stdin between chunks, the new version is
//! dropped in, and the next chunk is fed once the run says the version is ready (or
//! refused). Versions of the `stamp` test transform are made by patching its marker.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::support::{Args, guest, id_logs, pg::TestPg, query_i64, scratch, table};

/// Rows per batch in these runs.
const BATCH: u32 = 500;

/// `stamp.wasm` with its marker changed to `version` (2 chars) and `mode` (4 chars).
pub fn stamp_bytes(version: &str, mode: &str) -> Vec<u8> {
    let bytes = std::fs::read(guest("stamp")).unwrap();
    let from = b"holo-stamp:v1:ok__";
    let to = format!("holo-stamp:{version}:{mode}");
    assert_eq!(to.len(), from.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the marker is in stamp.wasm");
    let mut out = bytes;
    out[at..at + from.len()].copy_from_slice(to.as_bytes());
    out
}

/// Replaces `path` the way `cp` to a temporary name and `mv` do: atomically.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A `holo-host run --watch` reading CSV from stdin into a table.
struct Run {
    child: Child,
    stdin: Option<ChildStdin>,
    log: Receiver<String>,
    seen: Vec<String>,
}

impl Run {
    /// Starts `args` (a `--watch` run) logging at info, its log lines read as they come.
    fn spawn(args: Args, stdin: Stdio) -> Run {
        let mut child = args
            .command()
            .env("RUST_LOG", "info")
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Run {
            stdin: child.stdin.take(),
            child,
            log,
            seen: Vec::new(),
        }
    }

    /// A run of `transform` from CSV on stdin into `table`.
    fn start(transform: &Path, table: &str, extra: &[&str]) -> Run {
        let args = Args::source("csv:-")
            .transform(transform)
            .with(["--watch", "--batch-rows", &BATCH.to_string()])
            .sink(&TestPg::shared().dsn(), table)
            .with(extra);
        let mut run = Run::spawn(args, Stdio::piped());
        let stdin = run.stdin.as_mut().unwrap();
        stdin.write_all(b"id,name\n").unwrap();
        run
    }

    /// Feeds rows `ids` (whole batches, so none waits half-full across a swap).
    fn feed(&mut self, ids: std::ops::Range<u32>) {
        assert_eq!(ids.len() as u32 % BATCH, 0);
        let mut text = String::new();
        for i in ids {
            text.push_str(&format!("{i},本{i}\n"));
        }
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a log line containing `what` (after the lines already seen).
    fn wait_for(&mut self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with `{what}`:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Waits until the table holds `rows` rows: the batches fed so far are committed.
    async fn wait_rows(&mut self, table: &str, rows: i64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while query_i64(&format!("SELECT count(*) FROM {table}")).await < rows {
            assert!(
                Instant::now() < deadline,
                "{table} never reached {rows} rows:\n{}",
                self.seen.join("\n")
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Closes stdin and waits for the run to end; returns its summary line.
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        self.seen.extend(self.log.iter());
        let all = self.seen.join("\n");
        assert!(status.success(), "holo-host failed ({status}):\n{all}");
        all
    }
}

/// `version` of each id range `[from, to)`, checked to be a single version.
async fn version_of(table: &str, from: u32, to: u32) -> String {
    let client = TestPg::shared().client().await;
    let rows = client
        .query(
            &format!(
                "SELECT version, count(*) FROM {table} WHERE id >= $1 AND id < $2 GROUP BY version"
            ),
            &[&(from as i64), &(to as i64)],
        )
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "ids {from}..{to} were stamped by several versions"
    );
    let count: i64 = rows[0].get(1);
    assert_eq!(count, (to - from) as i64, "ids {from}..{to}");
    rows[0].get(0)
}

/// Checks that each id range `[from, to)` was stamped by `version` alone.
async fn assert_versions(table: &str, ranges: &[(u32, u32, &str)]) {
    for &(from, to, version) in ranges {
        assert_eq!(version_of(table, from, to).await, version);
    }
}

/// Every batch was processed by exactly one version.
async fn assert_one_version_per_batch(t: &str, rows: u32) {
    let client = TestPg::shared().client().await;
    let mixed: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM (SELECT (id - 1) / {BATCH} AS b FROM {t} GROUP BY b \
                 HAVING count(DISTINCT version) > 1) m"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(mixed, 0, "a batch mixes versions");
    assert_eq!(
        query_i64(&format!("SELECT count(DISTINCT id) FROM {t}")).await,
        rows as i64
    );
}

const STAMPED: &str = "(id int8 PRIMARY KEY, name text NOT NULL, version text NOT NULL)";

/// A fresh table `name` for the stamp transform's output, and a scratch directory holding
/// `stamp.wasm` at v1: the table, the directory and the transform's path.
async fn stamped(name: &str) -> (String, tempfile::TempDir, PathBuf) {
    let t = table(name, STAMPED).await;
    let dir = scratch();
    let stamp = dir.path().join("stamp.wasm");
    std::fs::write(&stamp, stamp_bytes("v1", "ok__")).unwrap();
    (t, dir, stamp)
}

/// v1 → v2 during a load, then a broken v3 and one whose output does not fit: both are
/// refused and v2 keeps running. Each row is written once, by one version per batch.
#[tokio::test]
async fn swap_between_batches_and_refuse_broken_versions() {
    let (t, _dir, stamp) = stamped("reload_swap").await;
    let mut run = Run::start(&stamp, &t, &[]);

    run.feed(1..3001);
    run.wait_rows(&t, 3000).await;
    replace(&stamp, &stamp_bytes("v2", "ok__"));
    run.wait_for("ready: it takes over at the next batch");
    run.feed(3001..6001);
    run.wait_rows(&t, 6000).await;
    run.wait_for("new transform version takes over");

    // Not a component at all.
    replace(&stamp, b"\0asm garbage");
    run.wait_for("refused");
    // A component whose output lacks the NOT NULL `version` column.
    replace(&stamp, &std::fs::read(guest("passthrough")).unwrap());
    let refused = run.wait_for("refused");
    assert!(
        refused.contains("`version`") && refused.contains("NOT NULL"),
        "{refused}"
    );
    run.feed(6001..7001);
    let summary = run.finish();

    assert!(summary.contains("wrote 7000"), "{summary}");
    assert!(summary.contains("1 reloads, 0 rolled back"), "{summary}");
    assert_versions(&t, &[(1, 3001, "v1"), (3001, 7001, "v2")]).await;
    assert_one_version_per_batch(&t, 7000).await;
}

/// A canary that fails every record is rolled back with a report; one that does as well as
/// the running version takes over after its trial batches, whose written output is the
/// running version's.
#[tokio::test]
async fn canary_rolls_back_then_passes() {
    let (t, dir, stamp) = stamped("reload_canary").await;
    let dead = dir.path().join("dead.jsonl");
    let mut run = Run::start(
        &stamp,
        &t,
        &["--canary", "2", "--dead-letter", dead.to_str().unwrap()],
    );

    run.feed(1..1001);
    run.wait_rows(&t, 1000).await;
    replace(&stamp, &stamp_bytes("v2", "fail"));
    run.wait_for("ready: it takes over at the next batch");
    run.feed(1001..2001);
    let report = run.wait_for("rolled back");
    assert!(
        report.contains("0 failed with the running version, 1000 with the canary"),
        "{report}"
    );
    assert!(report.contains("1000 records differ"), "{report}");
    assert!(report.contains("stamp v2 fails every record"), "{report}");

    replace(&stamp, &stamp_bytes("v3", "ok__"));
    run.wait_for("ready: it takes over at the next batch");
    run.feed(2001..3001);
    run.wait_for("canary passed");
    run.feed(3001..4001);
    let summary = run.finish();

    assert!(summary.contains("wrote 4000, dead-lettered 0"), "{summary}");
    assert!(summary.contains("1 reloads, 1 rolled back"), "{summary}");
    assert_versions(&t, &[(1, 3001, "v1"), (3001, 4001, "v3")]).await;
    assert!(!dead.exists() || std::fs::read(&dead).unwrap().is_empty());
}

/// SIGHUP checks the file at once and does not kill the run.
#[tokio::test]
async fn sighup_checks_the_file() {
    let (t, _dir, stamp) = stamped("reload_sighup").await;
    let mut run = Run::start(&stamp, &t, &[]);
    run.feed(1..501);
    run.wait_rows(&t, 500).await;
    let pid = run.child.id().to_string();
    let kill = |pid: &str| {
        let status = Command::new("kill").args(["-HUP", pid]).status().unwrap();
        assert!(status.success());
    };
    kill(&pid);
    run.wait_for("transform file unchanged");
    std::fs::write(&stamp, stamp_bytes("v2", "ok__")).unwrap();
    kill(&pid);
    run.wait_for("ready: it takes over at the next batch");
    run.feed(501..1001);
    let summary = run.finish();
    assert!(summary.contains("wrote 1000"), "{summary}");
    assert_versions(&t, &[(501, 1001, "v2")]).await;
}

/// v1 → v2 during a stream from the SLS-compatible test server: the logs put before the
/// swap are stamped v1, those after it v2, each exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn swap_during_a_log_service_stream() {
    use sls_lite::config::{Config, LogstoreSpec};
    use sls_lite::testing::{Client, Compression};

    // A server that checks no signature, read with `anonymous=true`.
    let server = sls_lite::server::Server::start(
        Config::new([LogstoreSpec::new("holo-demo", "stamped", 2)]).anonymous(),
    )
    .await
    .unwrap();
    let client = Client::new(server.addr(), "holo-demo");
    let put = |ids: std::ops::Range<u32>| {
        let client = client.clone();
        async move {
            let group = id_logs(ids, "name", |i| format!("本{i}"));
            client
                .put_log_group("stamped", &group, Compression::Lz4)
                .await
                .unwrap();
        }
    };
    let (t, _dir, stamp) = stamped("reload_stream").await;
    let source = format!(
        "sls://holo-demo/stamped?endpoint=http://{}&start=begin&columns=id,name&meta=none&anonymous=true",
        server.addr()
    );
    let args = Args::source(source)
        .transform(&stamp)
        .with(["--watch"])
        .sink(&TestPg::shared().dsn(), &t)
        .with(["--batch-interval", "100ms", "--exit-when-idle", "3s"]);
    let mut run = Run::spawn(args, Stdio::inherit());
    put(1..301).await;
    run.wait_rows(&t, 300).await;
    replace(&stamp, &stamp_bytes("v2", "ok__"));
    run.wait_for("ready: it takes over at the next batch");
    put(301..601).await;
    let summary = run.finish();
    assert!(summary.contains("wrote 600"), "{summary}");
    assert_versions(&t, &[(1, 301, "v1"), (301, 601, "v2")]).await;
    server.shutdown().await;
}
