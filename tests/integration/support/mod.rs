//! Helpers shared by the integration tests: the built example transforms, the
//! `holo-host` binary, fixtures and scratch files.

pub mod pg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The directory of the repository's `tests/data` fixtures.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

/// The build's target directory: `CARGO_TARGET_DIR`, else the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// A built example transform (`passthrough`, `alias`, `enrich`), from `HOLO_GUEST_DIR` or
/// the workspace's `target/wasm32-wasip2/guest`.
pub fn guest(name: &str) -> PathBuf {
    let dir = std::env::var_os("HOLO_GUEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wasm32-wasip2/guest"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the example transforms first (scripts/test.sh does, or \
         `cargo build --profile guest --target wasm32-wasip2 -p holo-{name}`)",
        path.display()
    );
    path
}

/// The `holo-host` binary with a cache directory of its own and quiet logs.
pub fn holo_host() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_holo-host"));
    cmd.env(
        "HOLO_HOST_CACHE_DIR",
        target_dir().join("test-component-cache"),
    )
    .env("RUST_LOG", "warn")
    .env_remove("PGPASSWORD");
    cmd
}

/// Runs `holo-host run ARGS…`, returning its output.
pub fn run(args: &[&str]) -> Output {
    let mut cmd = holo_host();
    cmd.arg("run").args(args);
    cmd.output().expect("run holo-host")
}

/// Panics with the process's stderr unless it succeeded.
pub fn assert_success(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "holo-host failed ({}):\n{stderr}",
        out.status
    );
    stderr
}

/// A scratch directory removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("holo-it-")
        .tempdir()
        .expect("create scratch dir")
}

/// The dead-letter file's entries.
pub fn dead_letters(path: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(s) => s
            .lines()
            .map(|l| serde_json::from_str(l).expect("dead letter is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Writes a fixture file into `dir`; returns its path as text for the command line.
pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write fixture");
    path.to_str().expect("utf-8 path").to_owned()
}

/// Creates `public.<name>` with `columns` on the shared test server (dropping an older
/// one) and returns its name.
pub async fn table(name: &str, columns: &str) -> String {
    let client = pg::TestPg::shared().client().await;
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS public.{name}; CREATE TABLE public.{name} {columns};"
        ))
        .await
        .expect("create table");
    format!("public.{name}")
}

/// The single integer a query on the shared test server returns.
pub async fn query_i64(sql: &str) -> i64 {
    let client = pg::TestPg::shared().client().await;
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

/// The key a test's positions are saved under: the job's name into the test destination.
pub fn job(name: &str) -> holo_host::position::JobKey {
    holo_host::position::JobKey::new(name, "test")
}
