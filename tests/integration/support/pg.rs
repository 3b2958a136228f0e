//! A throwaway PostgreSQL server for tests: `initdb` and `postgres` on a free port under
//! the cargo target dir, gone when the test process exits. `HOLO_TEST_PG_DSN` points the
//! tests at an existing server instead.
//!
//! One server is shared by the whole test binary ([`TestPg::shared`]); each test uses its
//! own schema ([`TestPg::fresh_schema`]). A test that restarts the server starts a private
//! one ([`TestPg::start`]) so it does not break the others' connections.

use std::fs::{self, OpenOptions};
use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// An error and its causes, `a: b: c`: the host's own, for the tests' messages.
pub use holo_host::errors::chain;

/// How long a server may take to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A PostgreSQL server for tests: started here, or given by `HOLO_TEST_PG_DSN`.
pub struct TestPg {
    dsn: String,
    /// `None` when the server was given by `HOLO_TEST_PG_DSN`.
    server: Option<Server>,
}

/// A server this process started.
struct Server {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Mutex<Child>,
    /// `-c name=value` settings beyond the usual ones.
    settings: Vec<(String, String)>,
}

/// What a private server ([`TestPg::start_with`]) gets beyond the usual.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Files written into the data directory before the server starts, readable by the
    /// server only (as a TLS key must be): name and content.
    pub files: Vec<(String, Vec<u8>)>,
    /// `-c name=value` settings; `{data}` in a value is the data directory's path.
    pub settings: Vec<(String, String)>,
}

impl TestPg {
    /// The server shared by the tests of this binary, started on first use.
    pub fn shared() -> &'static TestPg {
        static SHARED: OnceLock<TestPg> = OnceLock::new();
        SHARED.get_or_init(|| match std::env::var("HOLO_TEST_PG_DSN") {
            Ok(dsn) if !dsn.trim().is_empty() => TestPg { dsn, server: None },
            _ => TestPg::launch(std::process::id().to_string(), &ServerOptions::default()),
        })
    }

    /// A private server, stopped and removed when dropped: for tests that restart it.
    pub fn start() -> TestPg {
        TestPg::start_with(&ServerOptions::default())
    }

    /// A private server with extra files and settings (TLS, for one), stopped and removed
    /// when dropped.
    pub fn start_with(options: &ServerOptions) -> TestPg {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        TestPg::launch(format!("{}-{n}", std::process::id()), options)
    }

    /// A libpq URL of the server (user `postgres`, database `postgres`, no password).
    pub fn dsn(&self) -> String {
        self.dsn.clone()
    }

    /// The TCP port, when this process started the server.
    pub fn port(&self) -> Option<u16> {
        self.server.as_ref().map(|s| s.port)
    }

    /// A new connection, driven on the current tokio runtime.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.dsn, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {}", chain(&e)));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// Drops and creates schema `name`, so a test starts from nothing; returns `name`.
    pub async fn fresh_schema(&self, name: &str) -> String {
        let client = self.client().await;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{name}\" CASCADE; CREATE SCHEMA \"{name}\""
            ))
            .await
            .unwrap_or_else(|e| panic!("cannot create schema {name}: {}", chain(&e)));
        name.to_owned()
    }

    /// A fresh schema `name` (see [`TestPg::fresh_schema`]) holding what `ddl` creates, `{s}`
    /// standing for the schema in it; returns a connection.
    pub async fn schema_with(&self, name: &str, ddl: &str) -> tokio_postgres::Client {
        self.fresh_schema(name).await;
        let client = self.client().await;
        client
            .batch_execute(&ddl.replace("{s}", name))
            .await
            .unwrap_or_else(|e| panic!("cannot create the tables of {name}: {}", chain(&e)));
        client
    }

    /// A new database on this server that looks like Hologres where holo-host looks:
    /// `hg_version()` answering `Hologres VERSION (…)` in the form holo-client parses, and
    /// the TimeZone Hologres sessions default to (Asia/Shanghai). Returns its DSN.
    pub async fn fake_hologres(&self, version: &str) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let db = format!(
            "fake_hologres_{}_{}_{n}",
            version.replace('.', "_"),
            std::process::id()
        );
        let client = self.client().await;
        // One statement at a time: several would make one implicit transaction.
        for sql in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
            format!("ALTER DATABASE {db} SET TimeZone = 'Asia/Shanghai'"),
        ] {
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("cannot create database {db}: {}", chain(&e)));
        }
        let dsn = with_database(&self.dsn, &db);
        let (fake, connection) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {db}: {}", chain(&e)));
        tokio::spawn(async move {
            let _ = connection.await;
        });
        fake.batch_execute(&format!(
            "CREATE FUNCTION public.hg_version() RETURNS text LANGUAGE sql AS \
             $$ SELECT 'Hologres {version} (tag: release-{version} build: Release,Skylake,clang)' $$"
        ))
        .await
        .unwrap_or_else(|e| panic!("cannot create hg_version() in {db}: {}", chain(&e)));
        dsn
    }

    /// A private server for a test that restarts it; `None`, saying so, when the tests were
    /// given a server by `HOLO_TEST_PG_DSN`, which they must not restart.
    pub fn restartable() -> Option<TestPg> {
        if std::env::var("HOLO_TEST_PG_DSN").is_ok_and(|d| !d.trim().is_empty()) {
            eprintln!("skipped: restarts need a server started by the tests");
            return None;
        }
        Some(TestPg::start())
    }

    /// Restarts the server (fast shutdown, then start on the same port), as
    /// `pg_ctl restart` would: every open connection is closed.
    pub fn restart(&self) {
        self.restart_around(Duration::ZERO, || ());
    }

    /// Stops the server, runs `while_down`, waits `pause` and starts the server again on
    /// the same port.
    pub fn restart_around<T>(&self, pause: Duration, while_down: impl FnOnce() -> T) -> T {
        let server = self
            .server
            .as_ref()
            .expect("cannot restart the server given by HOLO_TEST_PG_DSN");
        let mut child = server.child.lock().unwrap();
        stop(&mut child);
        let out = while_down();
        std::thread::sleep(pause);
        *child = server.spawn();
        drop(child);
        server.wait_ready();
        out
    }

    fn launch(tag: String, options: &ServerOptions) -> TestPg {
        let bin = pg_bin_dir();
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-pg");
        fs::create_dir_all(&root)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
        remove_stale(&root);
        let dir = root.join(tag);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        if let Some((uid, gid)) = run_as() {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", dir.display()));
        }
        initdb(&bin, &dir);
        let data = dir.join("data");
        for (name, content) in &options.files {
            let path = data.join(name);
            fs::write(&path, content)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap_or_else(|e| panic!("cannot restrict {}: {e}", path.display()));
            if let Some((uid, gid)) = run_as() {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("cannot give {} to postgres: {e}", path.display()));
            }
        }
        let settings: Vec<(String, String)> = options
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{data}", &data.display().to_string())))
            .collect();
        let port = free_port();
        let child = Mutex::new(spawn_postgres(&bin, &dir, port, &settings));
        let server = Server {
            bin,
            dir,
            port,
            child,
            settings,
        };
        server.wait_ready();
        TestPg {
            dsn: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            server: Some(server),
        }
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            if let Ok(mut child) = server.child.lock() {
                stop(&mut child);
            }
            let _ = fs::remove_dir_all(&server.dir);
        }
    }
}

impl Server {
    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn spawn(&self) -> Child {
        spawn_postgres(&self.bin, &self.dir, self.port, &self.settings)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let isready = self.bin.join("pg_isready");
        loop {
            if let Some(status) = self.child.lock().unwrap().try_wait().unwrap() {
                panic!(
                    "PostgreSQL exited ({status}) while starting; server log:\n{}",
                    fs::read_to_string(self.log()).unwrap_or_default()
                );
            }
            let ready = if isready.exists() {
                Command::new(&isready)
                    .args(["-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
                    .args(["-t", "1", "-p", &self.port.to_string()])
                    .status()
                    .is_ok_and(|s| s.success())
            } else {
                TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            };
            if ready {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "PostgreSQL did not accept connections on 127.0.0.1:{} within {:?}; \
                     server log:\n{}",
                    self.port,
                    START_TIMEOUT,
                    fs::read_to_string(self.log()).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Starts `postgres` in the foreground on `port`, tied to this process.
fn spawn_postgres(bin: &Path, dir: &Path, port: u16, settings: &[(String, String)]) -> Child {
    let log_path = dir.join("server.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", log_path.display()));
    let stderr = log.try_clone().expect("log file handle clones");
    // A socket path longer than sun_path (108 bytes) would stop the server: use TCP only then.
    let sockets = if dir.as_os_str().len() < 80 {
        dir.display().to_string()
    } else {
        String::new()
    };
    let mut cmd = Command::new(bin.join("postgres"));
    cmd.arg("-D")
        .arg(dir.join("data"))
        .arg("-p")
        .arg(port.to_string())
        .args(["-c", "listen_addresses=127.0.0.1"])
        .arg("-c")
        .arg(format!("unix_socket_directories={sockets}"))
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
        .args(
            settings
                .iter()
                .flat_map(|(k, v)| ["-c".to_owned(), format!("{k}={v}")]),
        )
        .env("LC_ALL", "C")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr);
    as_postgres(&mut cmd, dir);
    spawn_tied(cmd)
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.join("postgres").display()))
}

/// Fast shutdown (SIGINT), then SIGKILL if the server takes too long.
fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    // SAFETY: kill(2) with a pid we spawned and have not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Spawns `cmd` so that it gets SIGQUIT (immediate shutdown for `postgres`) when this
/// process dies, however it dies.
fn spawn_tied(mut cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SUPERVISOR: OnceLock<Mutex<mpsc::Sender<Request>>> = OnceLock::new();
    // PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so children
    // are forked by one thread that lives as long as the process.
    let supervisor = SUPERVISOR.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("test-pg-supervisor".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("cannot start the test-pg supervisor thread");
        Mutex::new(tx)
    });
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec. They run
    // after the uid/gid change, which would otherwise clear the death signal.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The test process may have died before the prctl took effect.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::other("the test process is gone"));
            }
            Ok(())
        });
    }
    let (reply_tx, reply_rx) = mpsc::channel();
    supervisor
        .lock()
        .unwrap()
        .send((cmd, reply_tx))
        .expect("the supervisor thread never ends");
    reply_rx.recv().expect("the supervisor thread replies")
}

fn initdb(bin: &Path, dir: &Path) {
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D")
        .arg(dir.join("data"))
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        .arg("--locale=C")
        .env("LC_ALL", "C")
        .current_dir(dir);
    as_postgres(&mut cmd, dir);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.join("initdb").display()));
    assert!(
        out.status.success(),
        "initdb failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PostgreSQL refuses to run as root: run it as the `postgres` user then.
fn as_postgres(cmd: &mut Command, home: &Path) {
    if let Some((uid, gid)) = run_as() {
        cmd.uid(uid).gid(gid).env("HOME", home);
    }
}

/// The uid and gid of `postgres` when running as root.
fn run_as() -> Option<(u32, u32)> {
    static USER: OnceLock<Option<(u32, u32)>> = OnceLock::new();
    *USER.get_or_init(|| {
        // SAFETY: geteuid cannot fail; getpwnam's result is read before any other call.
        unsafe {
            if libc::geteuid() != 0 {
                return None;
            }
            let pw = libc::getpwnam(c"postgres".as_ptr());
            assert!(
                !pw.is_null(),
                "tests run as root and PostgreSQL refuses root: create the `postgres` system \
                 user (apt-get install -y postgresql does) or run the tests as another user"
            );
            Some(((*pw).pw_uid, (*pw).pw_gid))
        }
    })
}

/// The directory holding `initdb` and `postgres`: PostgreSQL 15's, another version's, or
/// the one `initdb` on PATH lives in.
fn pg_bin_dir() -> PathBuf {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    let mut candidates = vec![PathBuf::from("/usr/lib/postgresql/15/bin")];
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        let mut others: Vec<_> = entries.flatten().map(|e| e.path().join("bin")).collect();
        others.sort();
        candidates.extend(others.into_iter().rev());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if let Ok(initdb) = fs::canonicalize(dir.join("initdb"))
                && let Some(parent) = initdb.parent()
            {
                candidates.push(parent.to_path_buf());
            }
        }
    }
    candidates
        .into_iter()
        .find(|d| has_tools(d))
        .unwrap_or_else(|| {
            panic!(
                "initdb not found: install PostgreSQL 15 (apt-get install -y postgresql) or set \
             HOLO_TEST_PG_DSN to a server the tests may use"
            )
        })
}

/// Removes the directories of test servers whose process is gone.
fn remove_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("cannot find a free TCP port on 127.0.0.1")
        .port()
}

/// `dsn` (a libpq URL) naming database `db` instead of its own.
pub fn with_database(dsn: &str, db: &str) -> String {
    let (url, query) = match dsn.split_once('?') {
        Some((u, q)) => (u, format!("?{q}")),
        None => (dsn, String::new()),
    };
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let host_end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    format!("{}/{db}{query}", &url[..host_end])
}
