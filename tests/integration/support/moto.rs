//! A local S3-compatible server for the object-storage tests: moto's server (`moto[server]`
//! from PyPI) in a venv under `target/py-moto`, installed on first use, started on a free
//! loopback port per test. Without PyPI a test skips loudly, or fails under `CI=true`.
//!
//! moto is a double of Amazon S3, not of OSS: it checks what both serve alike (listing,
//! ranged GETs, `If-Match` on ETags, SigV4-signed requests), not OSS's virtual-hosted
//! addressing, which the unit tests of `source/csv/remote.rs` pin instead.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::target_dir;

/// The release the tests were written against.
const MOTO: &str = "moto[server]==5.2.5";

/// The access key the tests sign with (moto accepts any).
pub const KEY_ID: &str = "moto-test-id";
pub const KEY_SECRET: &str = "moto-test-secret";

/// `moto_server` in the venv, installing it where missing (once per test process).
fn moto_server() -> Result<PathBuf, String> {
    static SERVER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("HOLO_MOTO_SERVER") {
                return Ok(PathBuf::from(p));
            }
            let venv = target_dir().join("py-moto");
            let server = venv.join("bin/moto_server");
            if server.exists() {
                return Ok(server);
            }
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .is_ok_and(|s| s.success());
            if !made {
                return Err(format!("cannot create a venv at {}", venv.display()));
            }
            let pip = Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--timeout",
                    "30",
                    MOTO,
                ])
                .status()
                .map_err(|e| format!("cannot run pip: {e}"))?;
            if !pip.success() || !server.exists() {
                return Err(format!("`pip install {MOTO}` failed (is PyPI reachable?)"));
            }
            Ok(server)
        })
        .clone()
}

/// A running moto server, stopped when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts a server, or says why not (the caller then skips, see
    /// [`sls_lite::python::unavailable`]).
    pub fn start() -> Option<Moto> {
        let server = match moto_server() {
            Ok(s) => s,
            Err(why) => {
                sls_lite::python::unavailable(&format!("moto cannot run: {why}"));
                return None;
            }
        };
        let port = crate::operations::observability::free_port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Moto {
            child,
            port,
            http: reqwest::Client::new(),
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://BUCKET/KEY?endpoint=…` of this server.
    pub fn url(&self, bucket: &str, key: &str) -> String {
        format!("s3://{bucket}/{key}?endpoint={}", self.endpoint())
    }

    /// Creates a bucket anyone may read (moto refuses unsigned reads of private ones).
    pub async fn create_bucket(&self, bucket: &str) {
        let r = (self.http)
            .put(format!("{}/{bucket}", self.endpoint()))
            .header("x-amz-acl", "public-read")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create bucket: {}", r.status());
    }

    /// Puts an object, signed with the test key; returns its ETag.
    pub async fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> String {
        use object_store::ObjectStore as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id(KEY_ID)
            .with_secret_access_key(KEY_SECRET)
            .build()
            .unwrap();
        let put = (store.put(&key.into(), body.into().into()).await).unwrap();
        put.e_tag.expect("an ETag")
    }
}
