//! Helpers shared by the integration tests: the built example transforms, the
//! `holo-host` binary and its command lines, fixtures, scratch files, and the runs and log
//! groups several tests share.

pub mod moto;
pub mod pg;
pub mod servers;

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
    .env_remove("PGPASSWORD")
    // Tests never reach for an instance metadata service: only loopback is a target here.
    .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    .env_remove("ALIBABA_CLOUD_ROLE_ARN")
    .env_remove("ALIBABA_CLOUD_CREDENTIALS_URI");
    cmd
}

/// Runs `holo-host run ARGS…`, returning its output.
pub fn run(args: &[&str]) -> Output {
    let mut cmd = holo_host();
    cmd.arg("run").args(args);
    cmd.output().expect("run holo-host")
}

/// The arguments of a `holo-host run` (or `plan`), built flag by flag in the order a
/// record travels: source, transform, sink.
#[derive(Debug, Clone)]
pub struct Args {
    words: Vec<String>,
    /// Environment variables of the run (access keys).
    env: Vec<(String, String)>,
}

impl Args {
    /// `--source SPEC`.
    pub fn source(spec: impl Into<String>) -> Args {
        Args {
            words: vec!["--source".into(), spec.into()],
            env: Vec::new(),
        }
    }

    /// `--source csv:PATH`.
    pub fn csv(path: &str) -> Args {
        Args::source(format!("csv:{path}"))
    }

    /// `--transform WASM`.
    pub fn transform(self, wasm: &Path) -> Args {
        self.with(["--transform", wasm.to_str().expect("utf-8 path")])
    }

    /// `--set SETTING` for each of `settings`.
    pub fn set(self, settings: &[&str]) -> Args {
        self.with(settings.iter().flat_map(|s| ["--set", *s]))
    }

    /// The `enrich` example: each record's `key` looked up in the lookup table `books`
    /// (`lookup`, a `--lookup` spec), adding its `columns`.
    pub fn enrich(self, key: &str, columns: &str, lookup: &str) -> Args {
        self.transform(&guest("enrich"))
            .set(&[
                "lookup=books",
                &format!("key={key}"),
                &format!("columns={columns}"),
            ])
            .with(["--lookup", lookup])
    }

    /// `--sink DSN --table TABLE`.
    pub fn sink(self, dsn: &str, table: &str) -> Args {
        self.with(["--sink", dsn, "--table", table])
    }

    /// `--dead-letter PATH`.
    pub fn dead_letter(self, path: &Path) -> Args {
        self.with(["--dead-letter", path.to_str().expect("utf-8 path")])
    }

    /// More words, as they are.
    pub fn with<S: AsRef<str>>(mut self, words: impl IntoIterator<Item = S>) -> Args {
        self.words
            .extend(words.into_iter().map(|w| w.as_ref().to_owned()));
        self
    }

    /// An environment variable of the run.
    pub fn env(mut self, name: &str, value: &str) -> Args {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `holo-host run` with these arguments, for the caller to finish (environment, pipes).
    pub fn command(&self) -> Command {
        let mut cmd = holo_host();
        cmd.arg("run")
            .args(&self.words)
            .envs(self.env.iter().cloned());
        cmd
    }

    /// Runs `holo-host run` with these arguments, returning its output.
    pub fn run(&self) -> Output {
        self.command().output().expect("run holo-host")
    }

    /// Runs `holo-host plan` with these arguments; panics unless it succeeded and returns
    /// what it printed.
    pub fn plan(&self) -> String {
        let out = holo_host()
            .arg("plan")
            .args(&self.words)
            .envs(self.env.iter().cloned())
            .output()
            .expect("run holo-host plan");
        assert_success(&out);
        String::from_utf8(out.stdout).expect("plan prints UTF-8")
    }
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

/// Panics unless the process failed; returns its stderr.
pub fn assert_failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "holo-host succeeded, but should not have"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
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

/// The `--lookup` of the books fixture: `books.csv`, headerless `id,name`.
pub fn books_csv() -> String {
    format!("books=csv:{}?columns=id,name", data("books.csv").display())
}

/// The table of scenario S4: each rating with the name of its book.
pub const RATINGS: &str =
    "(id int8 NOT NULL, user_id text NOT NULL, name text NOT NULL, rating int2 NOT NULL)";

/// Rows of `table` (an S4 ratings table) whose `name` is not the name of book `id`.
pub async fn book_name_mismatches(table: &str) -> i64 {
    let names = holo_seed::BOOK_NAMES.map(|b| format!("'{b}'")).join(",");
    query_i64(&format!(
        "SELECT count(*) FROM {table} r WHERE r.name <> (ARRAY[{names}])[r.id]"
    ))
    .await
}

/// Scenario S4 from CSV: 500 ratings and one of book 12, which no books table holds, joined
/// with the books of `lookup` (a `--lookup` spec) by the `enrich` example into a fresh
/// [`RATINGS`] table `name`, with `RUST_LOG=log`. Checks what every such run gives: 500
/// rows written, each with its book's name, all nine books among them, and the rating of
/// book 12 dead-lettered. Returns holo-host's stderr and that dead letter.
pub async fn s4_enrich(name: &str, lookup: &str, log: &str) -> (String, serde_json::Value) {
    let dir = scratch();
    let mut ratings = holo_seed::ratings_csv(500, 4);
    ratings.push_str("12,00000000-0000-4000-8000-000000000000,5\n");
    let ratings = write(dir.path(), "ratings.csv", ratings);
    let dl = dir.path().join("rejected.jsonl");
    let t = table(name, RATINGS).await;
    let out = Args::csv(&ratings)
        .enrich("id", "name", lookup)
        .sink(&pg::TestPg::shared().dsn(), &t)
        .dead_letter(&dl)
        .command()
        .env("RUST_LOG", log)
        .output()
        .expect("run holo-host");
    let stderr = assert_success(&out);
    assert!(stderr.contains("wrote 500, dead-lettered 1"), "{stderr}");
    assert_eq!(book_name_mismatches(&t).await, 0);
    assert_eq!(
        query_i64(&format!("SELECT count(DISTINCT name) FROM {t}")).await,
        9
    );
    let letters = dead_letters(&dl);
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["record"]["id"], "12");
    (stderr, letters[0].clone())
}

/// A log group of one log per id, all of the same second: `id`, and `field` = `value(id)`.
pub fn id_logs(
    ids: impl IntoIterator<Item = u32>,
    field: &str,
    value: impl Fn(u32) -> String,
) -> sls_lite::proto::LogGroup {
    let log = |i: u32| {
        sls_lite::proto::Log::new(1_700_000_000, [("id", i.to_string()), (field, value(i))])
    };
    sls_lite::proto::LogGroup {
        logs: ids.into_iter().map(log).collect(),
        ..Default::default()
    }
}
