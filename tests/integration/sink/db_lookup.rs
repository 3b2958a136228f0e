//! Lookups from database tables, and TLS connections.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use holo_host::db::{DbError, TlsError, connect, parse_dsn};
use holo_host::lookup::{LookupError, LookupMode, LookupSpec, LookupTable};
use holo_seed::BOOK_NAMES;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use crate::support::pg::{ServerOptions, TestPg, chain};
use crate::support::{Args, RATINGS, assert_failure, assert_success, s4_enrich, scratch, write};

/// Inserts the seed's books as `(id, name)` into `table`.
async fn insert_books(client: &tokio_postgres::Client, table: &str) {
    for (i, name) in BOOK_NAMES.iter().enumerate() {
        client
            .execute(
                &format!("INSERT INTO {table} (id, name) VALUES ($1, $2)"),
                &[&(i as i32 + 1), name],
            )
            .await
            .unwrap();
    }
}

/// Creates `schema.books (id int PRIMARY KEY, name text, note text)` holding the seed's
/// books on `pg`; returns `schema.books`.
async fn books_table(pg: &TestPg, schema: &str) -> String {
    pg.fresh_schema(schema).await;
    let client = pg.client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {schema}.books (note text, id int PRIMARY KEY, name text NOT NULL)"
        ))
        .await
        .unwrap();
    insert_books(&client, &format!("{schema}.books")).await;
    format!("{schema}.books")
}

fn spec(s: &str) -> LookupSpec {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn text(row: Option<holo_host::lookup::Row>) -> Option<Vec<Option<String>>> {
    row.map(|r| r.to_vec())
}

fn some(values: &[&str]) -> Option<Vec<Option<String>>> {
    Some(values.iter().map(|v| Some((*v).to_owned())).collect())
}

/// S4 with the books in the sink's database; `options` is appended to the lookup spec.
/// Returns holo-host's stderr.
async fn s4_from_database(tag: &str, options: &str) -> String {
    let books = books_table(TestPg::shared(), &format!("db_lookup_{tag}")).await;
    let (stderr, _) = s4_enrich(
        &format!("db_lookup_{tag}_ratings"),
        &format!("books=postgres:{books}?key=id{options}"),
        "warn,holo_host::lookup=debug",
    )
    .await;
    stderr
}

#[tokio::test]
async fn s4_enrich_from_a_database_table_read_whole() {
    let stderr = s4_from_database("whole", "").await;
    assert!(stderr.contains("lookup table loaded whole"), "{stderr}");
}

#[tokio::test]
async fn s4_enrich_from_a_database_table_fetched_by_key() {
    // A cache smaller than the 9 keys: rows are evicted and fetched again.
    let stderr = s4_from_database("bykey", "&preload=0&cache=4").await;
    assert!(stderr.contains("lookup table fetched by key"), "{stderr}");
}

#[tokio::test]
async fn by_key_lookups_cache_batch_and_refresh() {
    let pg = TestPg::shared();
    let books = books_table(pg, "db_lookup_cache").await;
    let s = spec(&format!(
        "books=postgres:{books}?key=id&columns=name&preload=0&refresh=1"
    ));
    let t = LookupTable::open(&s, Some(&pg.dsn())).await.unwrap();
    assert_eq!(t.mode(), LookupMode::ByKey);
    // The key is put first when `columns` leaves it out.
    let names: Vec<_> = t.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name"]);
    assert_eq!(t.key_column(), 0);

    assert_eq!(text(t.try_get("3").unwrap()), some(&["3", BOOK_NAMES[2]]));
    assert_eq!(text(t.try_get("3").unwrap()), some(&["3", BOOK_NAMES[2]]));
    let stats = t.cache_stats().unwrap();
    assert_eq!((stats.hits, stats.misses, stats.queries), (1, 1, 1));

    // Keys compare as the column's type; a key it cannot hold matches nothing.
    assert_eq!(text(t.try_get("007").unwrap()), some(&["7", BOOK_NAMES[6]]));
    assert_eq!(t.try_get("abc").unwrap(), None);
    assert_eq!(t.try_get("42").unwrap(), None);
    assert_eq!(t.try_get("42").unwrap(), None, "a miss is cached too");
    let before = t.cache_stats().unwrap().queries;

    // One query for the keys not cached yet, one bad key among them.
    t.prefetch(["1", "2", "3", "x", "9", "2"]).unwrap();
    let after = t.cache_stats().unwrap();
    assert_eq!(after.queries, before + 1);
    for (key, id) in [("1", 1), ("2", 2), ("9", 9)] {
        assert_eq!(
            text(t.try_get(key).unwrap()),
            some(&[key, BOOK_NAMES[id - 1]])
        );
    }
    assert_eq!(t.try_get("x").unwrap(), None);
    assert_eq!(t.cache_stats().unwrap().queries, before + 1);

    // A cached answer is asked again once older than `refresh`.
    pg.client()
        .await
        .execute(
            &format!("UPDATE {books} SET name = 'renamed' WHERE id = 3"),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(text(t.try_get("3").unwrap()), some(&["3", BOOK_NAMES[2]]));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(text(t.try_get("3").unwrap()), some(&["3", "renamed"]));
}

#[tokio::test]
async fn small_tables_are_read_whole_and_refreshed() {
    let pg = TestPg::shared();
    let books = books_table(pg, "db_lookup_refresh").await;
    let s = spec(&format!("books=postgres:{books}?key=id&refresh=1"));
    let t = LookupTable::open(&s, Some(&pg.dsn())).await.unwrap();
    assert_eq!(t.mode(), LookupMode::Whole);
    assert_eq!(t.len(), 9);
    let names: Vec<_> = t.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["note", "id", "name"]);
    assert_eq!(t.key_column(), 1);
    assert_eq!(
        text(t.get("5")),
        Some(vec![None, Some("5".into()), Some(BOOK_NAMES[4].into())])
    );
    pg.client()
        .await
        .batch_execute(&format!(
            "INSERT INTO {books} (id, name) VALUES (10, 'ten')"
        ))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while t.get("10").is_none() {
        assert!(std::time::Instant::now() < deadline, "never refreshed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(t.len(), 10);

    // Without refresh, the table is a plain in-memory one, like a CSV file.
    let s = spec(&format!("books=postgres:{books}?key=id&columns=id,name"));
    let t = LookupTable::open(&s, Some(&pg.dsn())).await.unwrap();
    assert_eq!(t.mode(), LookupMode::Whole);
    assert_eq!(text(t.get("10")), some(&["10", "ten"]));
}

#[tokio::test]
async fn database_lookup_errors_name_lookup_table_and_column() {
    let pg = TestPg::shared();
    let books = books_table(pg, "db_lookup_errors").await;
    let open = |s: String| async move {
        LookupTable::open(&spec(&s), Some(&pg.dsn()))
            .await
            .unwrap_err()
    };
    let err = open("b=postgres:db_lookup_errors.missing".into()).await;
    assert!(matches!(err, LookupError::TableNotFound { .. }), "{err}");
    assert!(
        err.to_string().starts_with(
            "lookup `b`: table `db_lookup_errors.missing` does not exist on `127.0.0.1:"
        ),
        "{err}"
    );
    let err = open(format!("b=postgres:{books}?key=isbn")).await;
    assert_eq!(
        err.to_string(),
        "lookup `b`: table `db_lookup_errors.books` has no column `isbn` (columns: note, id, name)"
    );
    let err = open(format!("b=postgres:{books}?key=id&columns=id,title")).await;
    assert_eq!(
        err.to_string(),
        "lookup `b`: table `db_lookup_errors.books` has no column `title` (columns: note, id, name)"
    );
    // A lookup's own DSN, and a connection refused.
    let err = open(format!(
        "b=postgres:{books}?dsn=postgres://u:s3cret@127.0.0.1:1/db?connect_timeout=2"
    ))
    .await;
    let text = chain(&err);
    assert!(
        text.starts_with(
            "cannot open lookup `b`: cannot connect to PostgreSQL at `127.0.0.1:1/db as u`"
        ),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
}

// ---- TLS ----

/// A private server that accepts TLS connections only, with its certificate (for
/// `localhost` and 127.0.0.1) signed by a test CA.
struct TlsServer {
    pg: TestPg,
    /// The CA that signed the server's certificate.
    ca: PathBuf,
    /// Another CA, which signed nothing the server shows.
    other_ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn get() -> &'static TlsServer {
        static SERVER: OnceLock<TlsServer> = OnceLock::new();
        SERVER.get_or_init(|| {
            let dir = scratch();
            let (ca_pem, issuer) = ca("holo-host test CA");
            let (other_pem, _) = ca("some other CA");
            let key = KeyPair::generate().unwrap();
            let mut params =
                CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                    .unwrap();
            params
                .distinguished_name
                .push(DnType::CommonName, "localhost");
            let cert = params.signed_by(&key, &issuer).unwrap();
            let ca = PathBuf::from(write(dir.path(), "ca.pem", &ca_pem));
            let other_ca = PathBuf::from(write(dir.path(), "other.pem", &other_pem));
            let pg = TestPg::start_with(&ServerOptions {
                files: vec![
                    ("server.crt".into(), cert.pem().into_bytes()),
                    ("server.key".into(), key.serialize_pem().into_bytes()),
                    (
                        "hba_tls.conf".into(),
                        b"hostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\nlocal all all trust\n"
                            .to_vec(),
                    ),
                ],
                settings: vec![
                    ("ssl".into(), "on".into()),
                    ("ssl_cert_file".into(), "{data}/server.crt".into()),
                    ("ssl_key_file".into(), "{data}/server.key".into()),
                    ("hba_file".into(), "{data}/hba_tls.conf".into()),
                ],
            });
            TlsServer {
                pg,
                ca,
                other_ca,
                _dir: dir,
            }
        })
    }

    fn port(&self) -> u16 {
        self.pg.port().expect("a private server")
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!(
            "postgres://postgres@{host}:{}/postgres?{query}",
            self.port()
        )
    }
}

/// A self-signed CA certificate (PEM) and its issuer.
fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// Connects with `dsn`; on success, whether the session is encrypted.
async fn try_connect(dsn: &str) -> Result<bool, DbError> {
    let (pg, target) = parse_dsn(dsn, None)?;
    let client = connect(&pg, &target).await?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    Ok(row.get(0))
}

fn path(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// The TLS failure behind `err`, when it is one.
fn tls_failure(err: &DbError) -> Option<&TlsError> {
    match err {
        DbError::Tls { source, .. } => Some(source),
        _ => None,
    }
}

#[tokio::test]
async fn tls_require_encrypts_without_checking() {
    let s = TlsServer::get();
    assert!(
        try_connect(&s.url("127.0.0.1", "sslmode=require"))
            .await
            .unwrap()
    );
    // The default (prefer) uses TLS when the server offers it.
    assert!(try_connect(&s.url("127.0.0.1", "")).await.unwrap());
}

#[tokio::test]
async fn tls_verify_full_with_the_ca_connects_to_localhost() {
    let s = TlsServer::get();
    let ca = path(&s.ca);
    for dsn in [
        s.url(
            "localhost",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        s.url(
            "127.0.0.1",
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        s.url("localhost", &format!("sslmode=verify-ca&sslrootcert={ca}")),
        // require with a CA checks the chain, as libpq does.
        s.url("localhost", &format!("sslmode=require&sslrootcert={ca}")),
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert='{ca}'",
            s.port()
        ),
    ] {
        let encrypted = try_connect(&dsn)
            .await
            .unwrap_or_else(|e| panic!("{dsn}: {}", chain(&e)));
        assert!(encrypted, "{dsn}");
    }
}

#[tokio::test]
async fn tls_verify_full_refuses_a_wrong_host_name() {
    let s = TlsServer::get();
    let ca = path(&s.ca);
    // The TCP connection goes to 127.0.0.1; the name checked is `wrong.example`.
    let dsn = |mode: &str| {
        format!(
            "host=wrong.example hostaddr=127.0.0.1 port={} user=postgres sslmode={mode} sslrootcert={ca}",
            s.port()
        )
    };
    let err = try_connect(&dsn("verify-full")).await.unwrap_err();
    assert!(
        matches!(tls_failure(&err), Some(TlsError::HostnameMismatch { host, .. }) if host == "wrong.example"),
        "{}",
        chain(&err)
    );
    assert!(
        chain(&err).starts_with(&format!(
            "cannot connect to PostgreSQL at `wrong.example:{}/postgres as postgres` over TLS: the server's certificate is not valid for host `wrong.example` (sslmode=verify-full): connect by a name the certificate lists, or use sslmode=verify-ca",
            s.port()
        )),
        "{}",
        chain(&err)
    );
    // verify-ca checks the chain only.
    assert!(try_connect(&dsn("verify-ca")).await.unwrap());
}

#[tokio::test]
async fn tls_refuses_a_certificate_from_an_untrusted_ca() {
    let s = TlsServer::get();
    let other = path(&s.other_ca);
    for mode in ["verify-full", "verify-ca", "require"] {
        let dsn = s.url("localhost", &format!("sslmode={mode}&sslrootcert={other}"));
        let err = try_connect(&dsn).await.unwrap_err();
        assert!(
            matches!(tls_failure(&err), Some(TlsError::Untrusted { .. })),
            "{mode}: {}",
            chain(&err)
        );
        assert!(
            chain(&err).contains(&format!(
                "over TLS: the server's certificate is not signed by a trusted CA (sslmode={mode}): give the CA that signed it with sslrootcert=PATH"
            )),
            "{}",
            chain(&err)
        );
        assert!(!err.is_retriable());
    }
    // A missing CA file is named.
    let dsn = s.url(
        "localhost",
        "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    );
    let err = try_connect(&dsn).await.unwrap_err();
    assert!(
        chain(&err)
            .contains("cannot read the CA certificates of sslrootcert=`/nonexistent/ca.pem`"),
        "{}",
        chain(&err)
    );
}

#[tokio::test]
async fn tls_require_against_a_server_without_ssl_fails_clearly() {
    let plain = TestPg::shared();
    let dsn = format!("{}?sslmode=require", plain.dsn());
    let err = try_connect(&dsn).await.unwrap_err();
    assert!(
        matches!(tls_failure(&err), Some(TlsError::NotSupported { .. })),
        "{}",
        chain(&err)
    );
    assert!(
        chain(&err).contains("over TLS: the server does not support SSL (sslmode=require): turn on `ssl` on the server, or use sslmode=prefer or disable"),
        "{}",
        chain(&err)
    );
    // prefer falls back to a plain session, disable never asks.
    assert!(
        !try_connect(&format!("{}?sslmode=prefer", plain.dsn()))
            .await
            .unwrap()
    );
    assert!(
        !try_connect(&format!("{}?sslmode=disable", plain.dsn()))
            .await
            .unwrap()
    );
}

/// A whole run over verify-full TLS: the sink, and a database lookup reading the sink's
/// database, on a server that refuses unencrypted sessions.
#[tokio::test]
async fn a_run_over_tls_writes_rows_and_reads_its_lookup() {
    let s = TlsServer::get();
    let ca = path(&s.ca);
    let dsn = s.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let (pg, target) = parse_dsn(&dsn, None).unwrap();
    let client = connect(&pg, &target).await.unwrap();
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS books, ratings; \
             CREATE TABLE books (id int PRIMARY KEY, name text NOT NULL); \
             CREATE TABLE ratings {RATINGS}"
        ))
        .await
        .unwrap();
    insert_books(&client, "books").await;
    let dir = scratch();
    let ratings = write(dir.path(), "ratings.csv", holo_seed::ratings_csv(200, 7));
    let out = Args::csv(&ratings)
        .enrich("id", "name", "books=postgres:books?key=id&preload=0")
        .sink(&dsn, "ratings")
        .run();
    let stderr = assert_success(&out);
    assert!(stderr.contains("wrote 200, dead-lettered 0"), "{stderr}");
    let written: i64 = client
        .query_one(
            "SELECT count(*) FROM ratings r JOIN books b USING (id) WHERE r.name = b.name",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(written, 200);

    // The same run refused when the CA is not trusted, naming what failed.
    let other = path(&s.other_ca);
    let bad = s.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={other}"),
    );
    let stderr = assert_failure(&Args::csv(&ratings).sink(&bad, "ratings").run());
    assert!(
        stderr.contains("the server's certificate is not signed by a trusted CA"),
        "{stderr}"
    );
}

#[test]
fn tls_server_is_really_tls_only() {
    // A plain session is refused by the test server's pg_hba: the runs above used TLS.
    let s = TlsServer::get();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(try_connect(&s.url("127.0.0.1", "sslmode=disable")))
        .unwrap_err();
    assert!(
        chain(&err).contains("no pg_hba.conf entry"),
        "{}",
        chain(&err)
    );
}
