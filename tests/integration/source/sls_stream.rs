//! A Log Service stream against a service that behaves as the real one does: caught-up
//! pulls that say end-of-cursor on read-write shards, empty answers, minutes of errors and
//! throttling, a sink slower than the group timeout, and a member that loses its heartbeats.
//! Every record lands exactly once, and the stream never stops by itself.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sls_lite::faults::{FaultRule, Op};

use crate::source::sls_source::{
    assert_exactly, member, member_named, owners, put_ids, server, wait_rows,
};
use crate::support::{pg::TestPg, query_i64, table};

const IDS: &str = "(id int8 NOT NULL, payload text NOT NULL)";

/// A holo-host process whose log is read as it comes, so that a chatty spell never fills
/// the pipe and stalls it.
struct Running {
    child: Child,
    log: Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

fn spawn(mut cmd: std::process::Command) -> Running {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start holo-host");
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut stderr = child.stderr.take().expect("stderr piped");
    let reader = std::thread::spawn({
        let log = log.clone();
        move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = std::io::Read::read(&mut stderr, &mut buf) {
                if n == 0 {
                    break;
                }
                log.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
    });
    Running { child, log, reader }
}

impl Running {
    fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits up to `secs` for `t` to hold `rows` rows; else stops the process and fails with
    /// what it logged.
    async fn wait_rows(&mut self, t: &str, rows: i64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let n = query_i64(&format!("SELECT count(*) FROM {t}")).await;
            if n >= rows {
                return;
            }
            if Instant::now() > deadline || !self.is_running() {
                let _ = self.child.kill();
                panic!("{t} has {n} of {rows} rows after {secs} s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to `secs` for the process to end by itself; asserts it succeeded and returns
    /// its log.
    async fn finish(mut self, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.is_running() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("holo-host did not stop within {secs} s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status = self.child.wait().unwrap();
        let log = self.log.clone();
        let _ = self.reader.join();
        let log = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
        assert!(status.success(), "holo-host failed ({status}):\n{log}");
        log
    }
}

/// Caught up, the service says end-of-cursor on every pull of a read-write shard: the
/// stream polls on, and records sent after an idle spell arrive.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_idles_then_receives_more() {
    let (server, client) = server("idle", 2).await;
    put_ids(&client, "idle", 1..=3000).await;
    let t = table("sls_idle", IDS).await;
    let port = crate::operations::observability::free_port();
    let mut cmd = member(&server, "idle", &t, "12s");
    cmd.args(["--metrics-addr", &format!("127.0.0.1:{port}")]);
    let mut child = spawn(cmd);
    child.wait_rows(&t, 3000, 60).await;
    // Caught up for a while: every pull now answers end-of-cursor, most with empty bodies.
    tokio::time::sleep(Duration::from_secs(6)).await;
    // The member holds both shards, each caught up with no lag.
    let metrics = crate::operations::observability::get(port, "/metrics")
        .expect("metrics")
        .1;
    for want in [
        "holo_host_sls_shards_held 2",
        "holo_host_sls_shard_caught_up{shard=\"sls://holo-demo/idle/0\"} 1",
        "holo_host_sls_shard_lag_seconds{shard=\"sls://holo-demo/idle/1\"} 0.0",
        "holo_host_records_written_total 3000",
    ] {
        assert!(metrics.contains(want), "missing {want:?} in\n{metrics}");
    }
    put_ids(&client, "idle", 3001..=6000).await;
    child.wait_rows(&t, 6000, 60).await;
    let log = child.finish(60).await;
    assert!(!log.contains("read-only shard finished"), "{log}");
    assert_exactly(&t, 6000).await;
    server.shutdown().await;
}

/// With several writers, batches in flight commit as soon as no more input is waiting, not
/// only when a writer is needed: a stream that goes quiet has its last records written, and
/// `--exit-when-idle` sees it caught up (it once waited for input that never came).
#[tokio::test(flavor = "multi_thread")]
async fn batches_in_flight_commit_when_a_stream_goes_quiet() {
    let (server, client) = server("quiet", 4).await;
    put_ids(&client, "quiet", 1..=2000).await;
    let t = table("sls_quiet", IDS).await;
    let mut cmd = member(&server, "quiet", &t, "2s");
    cmd.args(["--writers", "3"]);
    let log = spawn(cmd).finish(60).await;
    assert!(log.contains("wrote 2000"), "{log}");
    assert_exactly(&t, 2000).await;
    server.shutdown().await;
}

/// Half a minute of `503 ServerBusy` on every call but PutLogs (heartbeats included, so the
/// member loses its shards and gets them back), then half a minute more of `403
/// ReadQuotaExceed` on pulls: the stream waits it out and delivers every record once.
#[tokio::test(flavor = "multi_thread")]
async fn a_minute_of_503_and_403_is_waited_out() {
    let (server, client) = server("storm", 2).await;
    put_ids(&client, "storm", 1..=1000).await;
    let t = table("sls_storm", IDS).await;
    let mut child = spawn(member(&server, "storm", &t, "20s"));
    child.wait_rows(&t, 1000, 60).await;
    for op in [
        Op::Pull,
        Op::Cursor,
        Op::ListShards,
        Op::Heartbeat,
        Op::Checkpoint,
        Op::ConsumerGroup,
    ] {
        let busy = FaultRule::error(op, "ServerBusy").lasting(Duration::from_secs(30));
        client.add_fault(&busy).await.unwrap();
    }
    let quota = FaultRule::error(Op::Pull, "ReadQuotaExceed").lasting(Duration::from_secs(60));
    client.add_fault(&quota).await.unwrap();
    put_ids(&client, "storm", 1001..=2000).await;
    let storm = Instant::now();
    while storm.elapsed() < Duration::from_secs(60) {
        assert!(
            child.is_running(),
            "the stream stopped during the faults:\n{}",
            child.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(query_i64(&format!("SELECT count(*) FROM {t}")).await <= 2000);
    child.wait_rows(&t, 2000, 60).await;
    let log = child.finish(90).await;
    // Each kind of failure is logged at most once a minute.
    let busy = log.matches("kind=ServerBusy").count();
    assert!(busy <= 8, "{busy} ServerBusy lines:\n{log}");
    assert_exactly(&t, 2000).await;
    server.shutdown().await;
}

/// The sink stalls for three group timeouts (the table locked): heartbeats go on from their
/// own task, so the member keeps its shards, and nothing is written twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_sink_slower_than_the_group_timeout_keeps_its_shards() {
    let (server, client) = server("stall", 2).await;
    put_ids(&client, "stall", 1..=500).await;
    let t = table("sls_stall", IDS).await;
    let mut child = spawn(member(&server, "stall", &t, "6s"));
    child.wait_rows(&t, 500, 60).await;
    let before = owners(&client).await;
    let blocker = TestPg::shared().client().await;
    blocker
        .batch_execute(&format!("BEGIN; LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE"))
        .await
        .unwrap();
    put_ids(&client, "stall", 501..=1500).await;
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(owners(&client).await, before, "the member kept its shards");
    blocker.batch_execute("COMMIT").await.unwrap();
    child.wait_rows(&t, 1500, 60).await;
    let log = child.finish(60).await;
    assert!(!log.contains("dropped this member"), "{log}");
    assert_exactly(&t, 1500).await;
    server.shutdown().await;
}

/// Two members; one's heartbeats fail for 10 s (more than three group timeouts): it stops
/// writing its shards, the group gives them to the other, which resumes from the committed
/// positions; when its heartbeats come back the shards are shared again. Every record once.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_that_loses_its_heartbeats_hands_over_its_shards() {
    let (server, client) = server("handover", 4).await;
    put_ids(&client, "handover", 1..=2000).await;
    let t = table("sls_handover", IDS).await;
    let named = |name: &str| spawn(member_named(&server, "handover", &t, "10s", Some(name)));
    let a = named("member-a");
    let b = named("member-b");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let members: std::collections::BTreeSet<String> =
            owners(&client).await.into_values().collect();
        let rows = query_i64(&format!("SELECT count(*) FROM {t}")).await;
        if members.len() == 2 && rows == 2000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the group never settled: {members:?}, {rows} rows"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both have taken their shards (the owners above may not have heard it yet) and read
    // from them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    put_ids(&client, "handover", 2001..=2500).await;
    wait_rows(&t, 2500).await;
    let cut_off = FaultRule::error(Op::Heartbeat, "InternalServerError")
        .for_consumer("member-a")
        .lasting(Duration::from_secs(10));
    client.add_fault(&cut_off).await.unwrap();
    put_ids(&client, "handover", 2501..=4000).await;
    // While a is cut off, b holds every shard.
    let deadline = Instant::now() + Duration::from_secs(9);
    loop {
        let owners = owners(&client).await;
        if !owners.is_empty() && owners.values().all(|m| m == "member-b") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "b never took over: {owners:?}\n--- a:\n{}\n--- b:\n{}",
            a.log(),
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    put_ids(&client, "handover", 4001..=5000).await;
    let log_a = a.finish(120).await;
    b.finish(120).await;
    assert!(log_a.contains("no heartbeat succeeded"), "{log_a}");
    assert_exactly(&t, 5000).await;
    server.shutdown().await;
}

/// A stream started while the service answers 503 to listing shards and to the consumer
/// group waits for it, as a running one does, instead of failing at start.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_started_during_an_outage_waits_for_it() {
    let (server, client) = server("late", 2).await;
    put_ids(&client, "late", 1..=500).await;
    for op in [Op::ListShards, Op::ConsumerGroup] {
        let busy = FaultRule::error(op, "ServerBusy").lasting(Duration::from_secs(8));
        client.add_fault(&busy).await.unwrap();
    }
    let t = table("sls_late", IDS).await;
    let child = spawn(member(&server, "late", &t, "3s"));
    let log = child.finish(90).await;
    assert!(log.contains("opening the stream failed"), "{log}");
    assert_exactly(&t, 500).await;
    server.shutdown().await;
}
