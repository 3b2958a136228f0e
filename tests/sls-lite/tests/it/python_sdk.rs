//! Fidelity shown with the official Python SDK (aliyun-log-python-sdk from PyPI), run unchanged
//! against an in-process server with signature checking on: the client calls (`roundtrip.py`),
//! a logstore's life cycle (`lifecycle.py`: create, split, merge, expiry, delete) and the
//! consumer library's workers (`consume.py`).
//!
//! The SDK lives in a venv under the target directory (`py-venv`, reused when present). Without
//! PyPI the test skips with a loud message, unless `CI=true`, where it fails instead.

use std::path::PathBuf;
use std::process::Output;

use sls_lite::proto::{LogGroupText, LogText};
use sls_lite::python::{self, unavailable};
use sls_lite::testing::Client;
use sls_lite::{Config, LogstoreSpec, RunningServer};

use crate::support::{self, LOGSTORE, PROJECT};

fn python_with_sdk() -> Result<PathBuf, String> {
    python::with_sdk(&support::target_dir().join("py-venv"))
}

/// Python with the SDK, and a server of `orders` on 4 shards checking signatures by the test
/// key; `None`, said loudly, when the SDK cannot be had.
async fn python_and_server() -> Option<(PathBuf, RunningServer)> {
    let python = match tokio::task::spawn_blocking(python_with_sdk).await.unwrap() {
        Ok(python) => python,
        Err(why) => {
            unavailable(&why);
            return None;
        }
    };
    let config = Config::new([LogstoreSpec::new(PROJECT, LOGSTORE, 4)])
        .with_access_key("LTAI-test", "test-secret");
    let (server, _) = support::start_with(config).await;
    Some((python, server))
}

/// `python SCRIPT --endpoint E --project P`, signing with the test key, printing UTF-8.
fn signed_script(python: &PathBuf, script: &str, endpoint: &str) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(python);
    command
        .arg(python::script(script))
        .args(["--endpoint", endpoint, "--project", PROJECT])
        .args([
            "--access-key-id",
            "LTAI-test",
            "--access-key-secret",
            "test-secret",
        ])
        .env("PYTHONIOENCODING", "utf-8");
    command
}

/// The JSON report a script (`what`) printed, once it succeeded.
fn report(output: &Output, what: &str) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_round_trip() {
    let Some((python, server)) = python_and_server().await else {
        return;
    };
    let output = signed_script(&python, "roundtrip.py", &server.endpoint())
        .args(["--logstore", LOGSTORE, "--shards", "4"])
        .output()
        .await
        .unwrap();
    let report = report(&output, "python script");

    // What the SDK put, read back by the Rust client.
    let wanted = report["logs"].as_array().unwrap();
    let client = Client::new(server.addr(), PROJECT).with_access_key("LTAI-test", "test-secret");
    let groups = client.pull_all(LOGSTORE).await.unwrap();
    let logs: Vec<_> = groups.iter().flat_map(|g| &g.logs).collect();
    assert_eq!(logs.len(), wanted.len());
    for want in wanted {
        let id = want["order_id"].as_str().unwrap();
        let got = logs
            .iter()
            .find(|l| l.get("order_id") == Some(id))
            .unwrap_or_else(|| panic!("log {id} stored"));
        assert_eq!(got.get("book_name"), want["book_name"].as_str());
        assert_eq!(u64::from(got.time), report["started"].as_u64().unwrap());
    }
    assert!(groups.iter().all(|g| g.topic_str() == Some("orders")));
    assert!(groups.iter().all(|g| g.tag("env") == Some("test")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_consumer_library_shares_shards_and_checkpoints() {
    let Some((python, server)) = python_and_server().await else {
        return;
    };
    let endpoint = server.endpoint();
    // The library builds its own LogClient from the endpoint; through HTTP_PROXY its requests
    // reach the server as proxy-style absolute URLs with the project in the host.
    let output = signed_script(&python, "consume.py", &endpoint)
        .args([
            "--admin",
            &endpoint,
            "--logstore",
            LOGSTORE,
            "--shards",
            "4",
        ])
        .env("HTTP_PROXY", &endpoint)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), output)
        .await
        .expect("consumer script finishes within two minutes")
        .unwrap();
    let report = report(&output, "python consumer script");
    assert_eq!(report["consumed"], 40);
    assert_eq!(report["consumers"], serde_json::json!(["c1", "c2"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_creates_reshards_expires_and_deletes_a_logstore() {
    let Some((python, server)) = python_and_server().await else {
        return;
    };
    let output = signed_script(&python, "lifecycle.py", &server.endpoint())
        .args(["--logstore", "py_life"])
        .output()
        .await
        .unwrap();
    let report = report(&output, "python lifecycle script");
    assert_eq!(report["merged"][0]["shardID"], 6);

    // What the SDK left, seen by the Rust client: the recreated logstore, generation 1.
    let client = Client::new(server.addr(), PROJECT).with_access_key("LTAI-test", "test-secret");
    assert_eq!(client.list_shards("py_life").await.unwrap().len(), 8);
    let stats = client.stats().await.unwrap();
    let life = stats["logstores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["logstore"] == "py_life")
        .unwrap();
    assert_eq!(
        (life["generation"].as_u64(), life["log_groups"].as_u64()),
        (Some(1), Some(0))
    );
    let old = report["old_cursor"].as_str().unwrap();
    let err = client
        .pull_logs(
            "py_life",
            6,
            old,
            10,
            None,
            sls_lite::testing::Compression::Lz4,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCursor"));
}
