//! Signature v4 and STS tokens checked by sls-lite against the official Python SDK
//! (aliyun-log-python-sdk, `auth_version='v4'`, `securityToken=`), run unchanged by
//! `tests/python/sign_v4.py`. Without PyPI the test skips loudly, unless `CI=true`.

use std::time::{Duration, SystemTime};

use sls_lite::python::{self, unavailable};
use sls_lite::{Config, LogstoreSpec};

use crate::support::{self, LOGSTORE, PROJECT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_signs_v4_with_sts_tokens() {
    let venv = support::target_dir().join("py-venv");
    let python = match tokio::task::spawn_blocking(move || python::with_sdk(&venv))
        .await
        .unwrap()
    {
        Ok(python) => python,
        Err(why) => {
            unavailable(&why);
            return;
        }
    };
    let now = SystemTime::now();
    let config = Config::new([LogstoreSpec::new(PROJECT, LOGSTORE, 2)])
        .with_sts_key(
            "STS.live",
            "live-secret",
            "live-token",
            now + Duration::from_secs(3600),
        )
        .with_sts_key(
            "STS.old",
            "old-secret",
            "old-token",
            now - Duration::from_secs(1),
        );
    let (server, _) = support::start_with(config).await;
    let output = tokio::process::Command::new(&python)
        .arg(python::script("sign_v4.py"))
        .args(["--endpoint", &server.endpoint(), "--project", PROJECT])
        .args(["--logstore", LOGSTORE, "--region", "cn-hangzhou"])
        .args(["--key", "STS.live:live-secret:live-token"])
        .args(["--expired-key", "STS.old:old-secret:old-token"])
        .env("PYTHONIOENCODING", "utf-8")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sign_v4.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["pulled"], 5);
    assert_eq!(
        report["codes"],
        serde_json::json!({
            "wrong_secret": "SignatureNotMatch",
            "wrong_token": "Unauthorized",
            "expired_v4": "Unauthorized",
            "expired_v1": "Unauthorized",
        })
    );
}
