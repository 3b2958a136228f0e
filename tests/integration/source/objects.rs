//! CSV inputs and lookups in object storage (`s3://`, `oss://`), against a local moto server:
//! globs over keys, compressed objects, exactly-once resume by object, ETag and offset, and
//! seed 002's pipeline (Log Service + the books CSV in a bucket → a partitioned table) from
//! one pipeline file.

use std::io::Write as _;

use holo_host::input::objects::{ObjectReader, open_object};
use holo_host::source::csv::{CsvSource, CsvSourceConfig, Ledger};
use sls_lite::proto::{Log, LogGroup};
use sls_lite::testing::Compression;

use crate::source::sls_source;
use crate::support::moto::{KEY_ID, KEY_SECRET, Moto};
use crate::support::{
    Args, assert_failure, assert_success, book_name_mismatches, holo_host, pg::TestPg, query_i64,
    scratch, table, write,
};

const PLAIN_ORDERS: &str =
    "(order_id text, user_id int8, book_id int8, book_name text, order_cnt int8, order_amt int8)";

fn gzip(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// `run` with the test access key in the environment, off the test's runtime.
async fn run_signed(args: Args) -> std::process::Output {
    let args = args
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
        .with(["--no-progress"]);
    tokio::task::spawn_blocking(move || args.run())
        .await
        .unwrap()
}

/// A daily glob over a bucket: plain, gzip and zstd objects load once; a second run writes
/// nothing; an object replaced by a new version (new ETag) is read again as new.
#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_glob_loads_once_and_rereads_a_new_version() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("exports").await;
    moto.put("exports", "orders/day1.csv", holo_seed::orders_csv(300, 31))
        .await;
    moto.put(
        "exports",
        "orders/day2.csv.gz",
        gzip(&holo_seed::orders_csv(200, 32)),
    )
    .await;
    let zst = zstd::encode_all(holo_seed::orders_csv(100, 33).as_bytes(), 3).unwrap();
    moto.put("exports", "orders/day3.csv.zst", zst).await;
    // Not matched: another extension, and a deeper folder.
    moto.put("exports", "orders/notes.txt", "not,a,csv").await;
    moto.put("exports", "orders/old/day0.csv", "x\n1\n").await;

    let t = table("bucket_orders", PLAIN_ORDERS).await;
    let source = format!("csv:{}", moto.url("exports", "orders/*.csv*"));
    let args = Args::source(&source).sink(&TestPg::shared().dsn(), &t);
    let stderr = assert_success(&run_signed(args.clone()).await);
    assert!(stderr.contains("read 600 rows, wrote 600"), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 600);
    let stderr = assert_success(&run_signed(args.clone()).await);
    assert!(stderr.contains("wrote 0"), "{stderr}");

    // A new version of day 1 under the same key: its ETag differs, so it is read again.
    moto.put("exports", "orders/day1.csv", holo_seed::orders_csv(50, 34))
        .await;
    let stderr = assert_success(&run_signed(args).await);
    assert!(stderr.contains("read 50 rows, wrote 50"), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 650);

    // Errors name the object and the endpoint's trouble.
    let missing = format!("csv:{}", moto.url("exports", "orders/day9.csv"));
    let out = run_signed(Args::source(&missing).sink(&TestPg::shared().dsn(), &t)).await;
    let stderr = assert_failure(&out);
    assert!(
        stderr.contains("object `s3://exports/orders/day9.csv` does not exist"),
        "{stderr}"
    );
    let none = format!("csv:{}", moto.url("exports", "orders/*.parquet"));
    let out = run_signed(Args::source(&none).sink(&TestPg::shared().dsn(), &t)).await;
    assert!(
        assert_failure(&out).contains("no object matches `s3://exports/orders/*.parquet`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every row of the batches as (object, line).
fn lines(batches: &[holo_host::record::Batch]) -> Vec<(String, u64)> {
    (batches.iter())
        .flat_map(|b| b.origins.iter())
        .map(|o| (o.source.to_string(), o.line))
        .collect()
}

/// A load stopped after any batch resumes at its saved position (object, ETag, offset):
/// exactly the rows after it follow, in plain and compressed objects alike.
#[tokio::test(flavor = "multi_thread")]
async fn an_object_resumes_at_its_saved_offset() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("resume").await;
    moto.put("resume", "a.csv", holo_seed::orders_csv(230, 41))
        .await;
    moto.put("resume", "b.csv.gz", gzip(&holo_seed::orders_csv(170, 42)))
        .await;
    let url = format!("{}&anonymous=true", moto.url("resume", "*.csv*"));
    let config = CsvSourceConfig {
        inputs: vec![url],
        batch_rows: 64,
        batch_bytes: CsvSourceConfig::default_batch_bytes(),
        partition: None,
        max_record_bytes: CsvSourceConfig::default_max_record_bytes(),
    };
    let drain = |ledger: Ledger| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            let mut source = CsvSource::open(&config, &ledger).unwrap();
            let mut batches = Vec::new();
            while let Some(b) = source.next_batch().unwrap() {
                batches.push(b);
            }
            batches
        })
    };
    let all = drain(Ledger::new()).await.unwrap();
    let every = lines(&all);
    assert_eq!(every.len(), 400);
    assert_eq!(every[0], ("s3://resume/a.csv".to_owned(), 2));
    assert!(all[0].position["etag"].is_string(), "{}", all[0].position);
    for k in 0..all.len() {
        let mut ledger = Ledger::new();
        for b in &all[..=k] {
            ledger.insert(b.stream.to_string(), b.position.clone());
        }
        let rest = drain(ledger).await.unwrap();
        assert_eq!(lines(&rest), lines(&all[k + 1..]), "after batch {k}");
    }
}

/// Reads are pinned to the ETag the object had when listed (`If-Match`): an object replaced
/// after that is refused with a message saying so, never read as a mix of both versions.
#[tokio::test(flavor = "multi_thread")]
async fn an_object_replaced_after_listing_is_refused_not_mixed() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("pinned").await;
    moto.put("pinned", "a.csv", holo_seed::orders_csv(50, 1))
        .await;
    let url = format!("{}&anonymous=true", moto.url("pinned", "a.csv"));
    let (bucket, listed) = tokio::task::spawn_blocking(move || open_object(&url).unwrap())
        .await
        .unwrap();
    moto.put("pinned", "a.csv", holo_seed::orders_csv(60, 2))
        .await;
    let err = tokio::task::spawn_blocking(move || {
        let mut reader = ObjectReader::new(bucket, listed);
        reader.seek_to(10);
        std::io::Read::read_to_end(&mut reader, &mut Vec::new()).unwrap_err()
    })
    .await
    .unwrap();
    assert!(
        err.to_string()
            .contains("`s3://pinned/a.csv` changed while it was being read"),
        "{err}"
    );
}

/// Seed 002 (S4) from one pipeline file: ratings streamed from Log Service, joined with the
/// headerless books CSV kept in a bucket, into a table partitioned by book whose children
/// are created on demand (the Flink option names `tablename`, `createparttable`,
/// `mutatetype`, `accessId`, `accessKey`).
#[tokio::test(flavor = "multi_thread")]
async fn seed_002_pipeline_runs_from_a_file_with_books_in_a_bucket() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("dimensions").await;
    moto.put("dimensions", "books.csv", holo_seed::books_csv())
        .await;

    let (server, client) = sls_source::server("ratings", 2).await;
    let ratings = holo_seed::ratings_csv(450, 51);
    let logs: Vec<Log> = (ratings.lines().skip(1))
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Log::new(
                1_700_000_000,
                [("id", f[0]), ("user_id", f[1]), ("rating", f[2])],
            )
        })
        .collect();
    for chunk in logs.chunks(100) {
        let group = LogGroup {
            logs: chunk.to_vec(),
            ..LogGroup::default()
        };
        (client.put_log_group("ratings", &group, Compression::Lz4))
            .await
            .expect("put logs");
    }
    let pg = TestPg::shared();
    let parent = "seed002.book_rating";
    pg.schema_with(
        "seed002",
        &format!(
            "CREATE TABLE {parent} (id int8 NOT NULL, user_id text NOT NULL, name text NOT NULL, \
             rating int2 NOT NULL, PRIMARY KEY (id, user_id)) PARTITION BY LIST (id)"
        ),
    )
    .await;

    let dir = scratch();
    let enrich = crate::support::guest("enrich");
    let file = format!(
        r#"[source]
sls = "sls://{project}/ratings?endpoint=http://{sls}&start=begin&columns=id,user_id,rating&meta=none"
accessId = "${{SLS_AK}}"
accessKey = "${{SLS_SK}}"

[transform]
path = "{enrich}"
set = {{ lookup = "books", key = "id", columns = "name" }}

[lookups]
books = "csv:s3://dimensions/books.csv?columns=id,name&endpoint={s3}"

[sink]
dsn = "${{HOLO_TEST_SINK}}"
tablename = "{parent}"
mutatetype = "insertorupdate"
createparttable = "true"

[run]
exit-when-idle = "1s"
batch-interval = "100ms"
"#,
        project = sls_source::PROJECT,
        sls = server.addr(),
        enrich = enrich.display(),
        s3 = moto.endpoint(),
    );
    let pipeline = write(dir.path(), "pipeline.toml", &file);
    let (id, secret) = (sls_source::KEY_ID, sls_source::KEY_SECRET);
    let out = tokio::task::spawn_blocking(move || {
        holo_host()
            .env("SLS_AK", id)
            .env("SLS_SK", secret)
            .env("HOLO_TEST_SINK", TestPg::shared().dsn())
            .args(["run", "--config", &pipeline, "--no-progress"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = assert_success(&out);
    assert!(stderr.contains("wrote 450"), "{stderr}");
    assert_eq!(
        query_i64(&format!("SELECT count(*) FROM {parent}")).await,
        450
    );
    assert_eq!(book_name_mismatches(parent).await, 0);
    let children = query_i64(&format!(
        "SELECT count(*) FROM pg_inherits WHERE inhparent = '{parent}'::regclass"
    ))
    .await;
    assert_eq!(children, 9);
    server.shutdown().await;
}
