//! What a run shows to operators: Prometheus metrics, health and readiness on
//! `--metrics-addr`, and JSON log lines with `--log-format json`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::pg::TestPg;
use crate::support::{holo_host, table};

/// A loopback port nothing listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on `port`: the status code and the body.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Some((status, body))
}

/// Waits until `GET path` answers as `done` says, or panics after 30 s.
fn wait_for(port: u16, path: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((status, body)) = get(port, path)
            && done(status, &body)
        {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never answered as expected"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A load from stdin kept open: while it waits for more input, `/readyz` is 200 and
/// `/metrics` counts the rows read, written and dead-lettered; every log line is JSON.
#[tokio::test]
async fn metrics_health_and_json_logs_of_a_running_load() {
    let t = table("observed_orders", "(order_id text, n int8)").await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = holo_host()
        .env("RUST_LOG", "info")
        .args([
            "--log-format",
            "json",
            "run",
            "--source",
            "csv:-",
            "--batch-rows",
            "2",
        ])
        .args([
            "--sink",
            &TestPg::shared().dsn(),
            "--table",
            &t,
            "--metrics-addr",
            &addr,
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Two batches of two records; the last record has one field too many.
    stdin
        .write_all(b"order_id,n\na1,1\na2,2\na3,3\na4,4,extra\n")
        .unwrap();
    stdin.flush().unwrap();

    let ready = wait_for(port, "/readyz", |s, _| s == 200);
    assert_eq!(ready, "ready\n");
    let metrics = wait_for(port, "/metrics", |_, b| {
        b.contains("holo_host_records_written_total 3")
    });
    for want in [
        "holo_host_records_read_total 4",
        "holo_host_batches_total 2",
        "holo_host_records_dead_lettered_total{stage=\"source\"} 1",
        "holo_host_batch_latency_seconds_count 2",
        "# TYPE holo_host_batch_latency_seconds histogram",
    ] {
        assert!(metrics.contains(want), "missing {want:?} in\n{metrics}");
    }
    assert_eq!(get(port, "/healthz").map(|r| r.0), Some(200));
    assert_eq!(get(port, "/nope").map(|r| r.0), Some(404));

    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let mut lines = 0;
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["level"].is_string() && v["fields"].is_object(), "{line}");
        lines += 1;
    }
    assert!(lines >= 2, "JSON log lines expected in\n{stderr}");
    assert!(
        stderr.contains("\"serving /metrics, /healthz and /readyz\""),
        "{stderr}"
    );
}
