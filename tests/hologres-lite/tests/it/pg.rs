//! A throwaway PostgreSQL 15 for the tests: `initdb` and `postgres` on a free port under the
//! cargo target dir, started once per test binary and gone when it exits.
//! `HOLOGRES_LITE_TEST_PG` names an existing server instead.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The backend URL (a superuser, database `postgres`).
pub fn backend() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("HOLOGRES_LITE_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => launch(),
    })
}

fn launch() -> String {
    let bin = [
        "/usr/lib/postgresql/15/bin",
        "/usr/lib/postgresql/16/bin",
        "/usr/lib/postgresql/14/bin",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|d| d.join("initdb").is_file())
    .expect("PostgreSQL not found under /usr/lib/postgresql: apt-get install -y postgresql");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hologres-lite-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test pg dir");
    if let Some((uid, gid)) = run_as() {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown test pg dir");
    }
    let data = dir.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .current_dir(&dir);
    as_postgres(&mut initdb, &dir);
    let out = initdb.output().expect("run initdb");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("server.log")).expect("server log");
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(&data)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
        ])
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "max_connections=300",
        ])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    as_postgres(&mut cmd, &dir);
    // SAFETY: prctl is async-signal-safe; the server dies with the test process.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
            Ok(())
        });
    }
    // The death signal follows the forking thread: fork from one that never ends.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.spawn().map(|c| c.id()));
        loop {
            std::thread::park();
        }
    });
    rx.recv().unwrap().expect("start postgres");
    let deadline = Instant::now() + Duration::from_secs(60);
    let isready = bin.join("pg_isready");
    while !Command::new(&isready)
        .args([
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
        ])
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            Instant::now() < deadline,
            "postgres did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

fn as_postgres(cmd: &mut Command, home: &Path) {
    if let Some((uid, gid)) = run_as() {
        cmd.uid(uid).gid(gid).env("HOME", home);
    }
}

/// The `postgres` user's ids when running as root, which PostgreSQL refuses.
fn run_as() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail; getpwnam's result is read at once.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"postgres".as_ptr());
        assert!(!pw.is_null(), "running as root needs a `postgres` user");
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}
