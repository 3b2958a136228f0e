//! Shared helpers: an in-process server per test, and the built binary for restart tests.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use hyper::Method;
use sls_lite::testing::{Client, Response};
use sls_lite::{Config, LogstoreSpec, RunningServer, Server};

pub const PROJECT: &str = "demo";
pub const LOGSTORE: &str = "orders";

/// A server with `demo/orders` of `shards` shards, plus a client of `demo`.
pub async fn start(shards: u32) -> (RunningServer, Client) {
    start_with(Config::new([LogstoreSpec::new(PROJECT, LOGSTORE, shards)]).anonymous()).await
}

pub async fn start_with(config: Config) -> (RunningServer, Client) {
    let server = Server::start(config).await.expect("sls-lite starts");
    let client = Client::new(server.addr(), PROJECT);
    (server, client)
}

/// The answer, whatever its status, to a GET of `path` (query included) by `client`.
pub async fn get(client: &Client, path: &str) -> Response {
    client
        .request(Method::GET, path, &[], &[], Bytes::new())
        .await
        .expect("the server answers")
}

/// The workspace target directory (for the Python venv): `CARGO_TARGET_DIR` when absolute,
/// else the directory the binary under test was built into.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
        && dir.is_absolute()
    {
        return dir;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sls-lite"));
    // target/<profile>/sls-lite, or target/<triple>/<profile>/sls-lite when cross-building.
    let profile_dir = bin.parent().expect("binary has a directory");
    let up = profile_dir
        .parent()
        .expect("profile directory has a parent");
    let is_triple = up
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.matches('-').count() >= 2);
    if is_triple {
        up.parent().unwrap_or(up).to_path_buf()
    } else {
        up.to_path_buf()
    }
}

/// The `sls-lite` binary running as a child process; killed on drop.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Process {
    pub fn spawn(args: &[&str]) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sls-lite"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sls-lite binary starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first stdout line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line is `listening on ADDR`, got {line:?}"))
            .parse()
            .expect("address parses");
        Process { child, addr }
    }

    /// Stops the process the hard way (SIGKILL): nothing is flushed at exit, so what survives
    /// was on disk already.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
