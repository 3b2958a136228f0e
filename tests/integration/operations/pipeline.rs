//! End-to-end runs of the `holo-host` binary: CSV → transform → PostgreSQL or stdout.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    Args, assert_failure, assert_success, books_csv, dead_letters, guest, holo_host, pg::TestPg,
    query_i64, run, s4_enrich, scratch, table, write,
};

const BOOK_ORDER: &str = "(order_id text NOT NULL, user_id int8 NOT NULL, book_id int8 NOT NULL,
    book_name text NOT NULL, order_cnt int8 NOT NULL, order_amt int8 NOT NULL, PRIMARY KEY (order_id))";

/// The orders table without a key, so that duplicates would show.
const PLAIN_ORDERS: &str =
    "(order_id text, user_id int8, book_id int8, book_name text, order_cnt int8, order_amt int8)";

/// S1: 10,000 generated orders land once each, typed.
#[tokio::test]
async fn s1_batch_load_of_generated_orders() {
    let pg = TestPg::shared();
    let dir = scratch();
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(10_000, 1));
    let t = table("s1_orders", BOOK_ORDER).await;
    let out = Args::csv(&orders)
        .transform(&guest("passthrough"))
        .sink(&pg.dsn(), &t)
        .run();
    let stderr = assert_success(&out);
    assert!(
        stderr.contains("read 10000 rows, wrote 10000, dead-lettered 0"),
        "{stderr}"
    );
    let expected_amount: i64 = holo_seed::orders(10_000, 1).map(|o| o.order_amt).sum();
    assert_eq!(
        query_i64(&format!("SELECT count(*) FROM {t}")).await,
        10_000
    );
    assert_eq!(
        query_i64(&format!("SELECT sum(order_amt)::int8 FROM {t}")).await,
        expected_amount
    );
    let first = holo_seed::orders(1, 1).next().unwrap();
    let client = pg.client().await;
    let row = client
        .query_one(
            &format!("SELECT user_id, book_name, order_cnt FROM {t} WHERE order_id = $1"),
            &[&first.order_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), first.user_id);
    assert_eq!(row.get::<_, String>(1), first.book_name);
    assert_eq!(row.get::<_, i64>(2), first.order_cnt);
}

/// S4 on CSV: each rating joined with the headerless books file; an unknown id is
/// dead-lettered with the transform's message and hash.
#[tokio::test]
async fn s4_enrich_join_with_headerless_books() {
    // The written rows and the dead letter's record are checked by `s4_enrich`.
    let (_, l) = s4_enrich("s4_ratings", &books_csv(), "warn").await;
    assert_eq!(l["line"], 502);
    assert_eq!(l["stage"], "transform");
    assert!(
        l["reason"].as_str().unwrap().contains("12"),
        "reason names the key: {l}"
    );
    assert!(l["transform"].as_str().unwrap().starts_with("sha256:"));
}

/// Malformed lines go to the dead-letter output with their line numbers; the rest loads.
#[tokio::test]
async fn malformed_lines_are_dead_lettered_with_line_numbers() {
    let pg = TestPg::shared();
    let dir = scratch();
    let mut csv = Vec::new();
    csv.extend_from_slice(b"order_id,user_id,book_id,book_name,order_cnt,order_amt\n");
    csv.extend_from_slice("a1,1,3,海辺のカフカ,1,700\n".as_bytes()); // line 2
    csv.extend_from_slice(b"a2,1,3,x,1\n"); // line 3: 5 fields
    csv.extend_from_slice(b"a3,one,3,x,1,700\n"); // line 4: not an integer
    csv.extend_from_slice(b"a4,1,3,\xff\xfe,1,700\n"); // line 5: invalid UTF-8
    csv.extend_from_slice("\"a5\",2,1,\"嫌われる, \"\"勇気\"\"\",2,1000\r\n".as_bytes()); // line 6
    let path = write(dir.path(), "orders.csv", &csv);
    let dl = dir.path().join("rejected.jsonl");
    let t = table("malformed_orders", BOOK_ORDER).await;
    let out = Args::csv(&path).sink(&pg.dsn(), &t).dead_letter(&dl).run();
    let stderr = assert_success(&out);
    assert!(
        stderr.contains("read 5 rows, wrote 2, dead-lettered 3"),
        "{stderr}"
    );
    let mut letters = dead_letters(&dl);
    letters.sort_by_key(|l| l["line"].as_u64());
    let lines: Vec<_> = letters
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(
        letters
            .iter()
            .all(|l| l["source"].as_str().unwrap().ends_with("orders.csv"))
    );
    assert!(
        letters[0]["reason"].as_str().unwrap().contains("found 5"),
        "{}",
        letters[0]
    );
    let reason = letters[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("user_id") && reason.contains("one"),
        "{reason}"
    );
    assert!(
        letters[2]["reason"].as_str().unwrap().contains("UTF-8"),
        "{}",
        letters[2]
    );
    let client = pg.client().await;
    let name: String = client
        .query_one(
            &format!("SELECT book_name FROM {t} WHERE order_id = 'a5'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "嫌われる, \"勇気\"");
}

/// S3's failure in Flink: a renamed column the table does not have. holo-host names the
/// column, the table and its columns before any row is written.
#[tokio::test]
async fn column_mismatch_is_reported_before_data_flows() {
    let pg = TestPg::shared();
    let dir = scratch();
    let path = write(
        dir.path(),
        "demo.csv",
        "id,name,rating,__topic__\n1,a,5,t\n",
    );
    let t = table(
        "book_demo",
        "(id text, name text, rating text, sls_source text)",
    )
    .await;
    let out = Args::csv(&path)
        .transform(&guest("alias"))
        .set(&["rename=__topic__:sls_topic"])
        .sink(&pg.dsn(), &t)
        .run();
    let stderr = assert_failure(&out);
    assert!(
        stderr.contains(
            "column `sls_topic` of the transform output has no match in table `public.book_demo` (table columns: id, name, rating, sls_source)"
        ),
        "{stderr}"
    );
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 0);
}

/// Without --sink, transformed rows are printed as JSON lines.
#[test]
fn stdout_preview_prints_json_lines() {
    let dir = scratch();
    let path = write(
        dir.path(),
        "orders.csv",
        "order_id,user_id,book_name\no1,7,こころ\no2,8,人間失格\n",
    );
    let out = Args::csv(&path)
        .transform(&guest("alias"))
        .set(&[
            "rename=book_name:title",
            "select=title,user_id",
            "cast=user_id:int",
        ])
        .run();
    assert_success(&out);
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows,
        [
            serde_json::json!({"title": "こころ", "user_id": 7}),
            serde_json::json!({"title": "人間失格", "user_id": 8}),
        ]
    );
}

/// A load killed with SIGKILL mid-way and started again with the same command ends with
/// exactly the input rows: none lost, none written twice (the table has no key to hide
/// duplicates).
#[tokio::test]
async fn load_killed_mid_way_resumes_exactly_once() {
    let pg = TestPg::shared();
    let dir = scratch();
    const N: usize = 200_000;
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(N, 9));
    let t = table("killed_orders", PLAIN_ORDERS).await;
    let args = Args::csv(&orders)
        .transform(&guest("passthrough"))
        .sink(&pg.dsn(), &t)
        .with(["--batch-rows", "500"]);
    let mut child = args.command().stderr(Stdio::null()).spawn().unwrap();
    // Kill it once some, but not all, batches have committed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    while Instant::now() < deadline {
        seen = query_i64(&format!("SELECT count(*) FROM {t}")).await;
        if seen >= 5_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = query_i64(&format!("SELECT count(*) FROM {t}")).await;
    assert!(
        (5_000..N as i64).contains(&at_kill),
        "kill landed mid-way ({seen} seen, {at_kill} at kill)"
    );

    assert_success(&args.run());
    assert_eq!(
        query_i64(&format!("SELECT count(*) FROM {t}")).await,
        N as i64
    );
    assert_eq!(
        query_i64(&format!("SELECT count(DISTINCT order_id) FROM {t}")).await,
        N as i64
    );
    // A third run finds the load complete and writes nothing.
    let stderr = assert_success(&args.run());
    assert!(stderr.contains("wrote 0"), "{stderr}");
    assert_eq!(
        query_i64(&format!("SELECT count(*) FROM {t}")).await,
        N as i64
    );
}

/// `--from-scratch` forgets the saved position: the input is read again.
#[tokio::test]
async fn from_scratch_reads_the_input_again() {
    let pg = TestPg::shared();
    let dir = scratch();
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(100, 3));
    let t = table("scratch_orders", PLAIN_ORDERS).await;
    let source = format!("csv:{orders}");
    let dsn = pg.dsn();
    let base = ["--source", &source, "--sink", &dsn, "--table", &t];
    assert_success(&run(&base));
    assert_success(&run(&base));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 100);
    let mut again = base.to_vec();
    again.push("--from-scratch");
    assert_success(&run(&again));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 200);
}

/// `csv:exports/*.csv` run daily: each file keeps its own position, so files already
/// loaded are skipped wherever they sort, new ones are loaded, and an export replaced
/// under the same name (same size, other rows) is loaded as the new file it is.
#[tokio::test]
async fn a_daily_glob_loads_what_is_new_exactly_once() {
    let dir = scratch();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let day = |name: &str, seed: u64| {
        write(&exports, name, holo_seed::orders_csv(50, seed));
    };
    day("2024-01-02.csv", 2);
    let t = table("daily_glob_orders", PLAIN_ORDERS).await;
    let source = format!("csv:{}/*.csv", exports.display());
    let dsn = TestPg::shared().dsn();
    let args = ["--source", &source, "--sink", &dsn, "--table", &t];
    let counting = format!("SELECT count(*) FROM {t}");
    let count = || query_i64(&counting);
    assert_success(&run(&args));
    assert_eq!(count().await, 50);

    // An older day shows up late (it sorts first) and a new day arrives.
    day("2024-01-01.csv", 1);
    day("2024-01-03.csv", 3);
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 100"), "{stderr}");
    assert_eq!(count().await, 150);
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 0"), "{stderr}");

    // The same name and size, other orders: loaded again, as a new file.
    let before = std::fs::metadata(exports.join("2024-01-03.csv"))
        .unwrap()
        .len();
    let original = holo_seed::orders_csv(50, 3);
    let mut lines: Vec<&str> = original.lines().collect();
    lines[1..].reverse();
    let replaced = lines.join("\n") + "\n";
    assert_eq!(replaced.len() as u64, before);
    write(&exports, "2024-01-03.csv", replaced);
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 50"), "{stderr}");
    assert_eq!(count().await, 200);
}

/// `--partition INDEX/COUNT`: three processes (as the pods of an Indexed Job) load three
/// disjoint shares of one glob, together every file exactly once; run again, each finds its
/// share loaded. `--summary-json` reports each run.
#[tokio::test]
async fn partitions_share_a_glob_exactly_once() {
    let dir = scratch();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    for day in 1..=9u64 {
        write(
            &exports,
            &format!("day{day}.csv"),
            holo_seed::orders_csv(20, day),
        );
    }
    let t = table("partitioned_orders", PLAIN_ORDERS).await;
    let source = format!("csv:{}/*.csv", exports.display());
    let dsn = TestPg::shared().dsn();
    let mut total = 0;
    for round in 0..2 {
        for index in 0..3 {
            let partition = format!("{index}/3");
            let summary = dir.path().join(format!("summary-{round}-{index}.json"));
            let summary_arg = summary.to_string_lossy().into_owned();
            let args = [
                "--source",
                &source,
                "--sink",
                &dsn,
                "--table",
                &t,
                "--partition",
                &partition,
                "--summary-json",
                &summary_arg,
            ];
            assert_success(&run(&args));
            let s: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
            let written = s["written"].as_u64().unwrap();
            assert_eq!(s["read"], s["written"], "{s}");
            if round == 0 {
                assert!(written.is_multiple_of(20) && written < 180, "{index}: {s}");
                total += written;
            } else {
                assert_eq!(written, 0, "{index} again: {s}");
            }
        }
    }
    assert_eq!(total, 180);
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 180);
    // A share without its index, and none on a stream, are clear errors.
    let stderr = assert_failure(&run(&["--source", &source, "--partition", "3"]));
    assert!(stderr.contains("JOB_COMPLETION_INDEX"), "{stderr}");
}

/// `run --config pipeline.toml`: the file stands for the flags (the DSN from `${ENV}`);
/// a flag after it still applies; a misspelt key stops the run naming the key and line.
#[tokio::test]
async fn a_pipeline_file_runs_the_same_load() {
    let dir = scratch();
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(120, 8));
    let t = table("config_file_orders", BOOK_ORDER).await;
    let file = format!(
        "[source]\ncsv = \"{orders}\"\nbatch-rows = 50\n\n\
         [transform]\npath = \"{}\"\n\n\
         [sink]\ndsn = \"${{HOLO_TEST_SINK}}\"\ntable = \"{t}\"\nmode = \"insert-or-update\"\n",
        guest("passthrough").display()
    );
    let pipeline = write(dir.path(), "pipeline.toml", &file);
    let out = holo_host()
        .env("HOLO_TEST_SINK", TestPg::shared().dsn())
        .args(["run", "--config", &pipeline, "--no-progress"])
        .output()
        .unwrap();
    let stderr = assert_success(&out);
    assert!(stderr.contains("read 120 rows, wrote 120"), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 120);

    let bad = write(dir.path(), "bad.toml", file.replace("mode =", "mdoe ="));
    let out = holo_host()
        .env("HOLO_TEST_SINK", TestPg::shared().dsn())
        .args(["run", "--config", &bad])
        .output()
        .unwrap();
    let stderr = assert_failure(&out);
    assert!(
        stderr.contains("bad.toml` line 11: unknown key `mdoe` in [sink]"),
        "{stderr}"
    );
}

/// Compressed exports (`.csv.gz`, `.csv.zst`) load like plain ones, exactly once.
#[tokio::test]
async fn compressed_exports_load_once() {
    use std::io::Write as _;
    let dir = scratch();
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(holo_seed::orders_csv(70, 21).as_bytes())
            .unwrap();
        e.finish().unwrap()
    };
    write(dir.path(), "day1.csv.gz", gz);
    let zst = zstd::encode_all(holo_seed::orders_csv(30, 22).as_bytes(), 3).unwrap();
    write(dir.path(), "day2.csv.zst", zst);
    let t = table("compressed_orders", PLAIN_ORDERS).await;
    let (gz, zst) = (
        format!("csv:{}/day1.csv.gz", dir.path().display()),
        format!("csv:{}/day2.csv.zst", dir.path().display()),
    );
    let dsn = TestPg::shared().dsn();
    let args = [
        "--source", &gz, "--source", &zst, "--sink", &dsn, "--table", &t,
    ];
    assert_success(&run(&args));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 100);
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 0"), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 100);
}

/// A position belongs to the table it was written into: after `DROP TABLE` and `CREATE
/// TABLE` of the target the load starts over instead of skipping every row.
#[tokio::test]
async fn a_recreated_table_is_loaded_from_the_start() {
    let dir = scratch();
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(80, 4));
    let t = table("recreated_orders", PLAIN_ORDERS).await;
    let source = format!("csv:{orders}");
    let dsn = TestPg::shared().dsn();
    let args = ["--source", &source, "--sink", &dsn, "--table", &t];
    assert_success(&run(&args));
    let client = TestPg::shared().client().await;
    client
        .batch_execute(&format!("DROP TABLE {t}; CREATE TABLE {t} {PLAIN_ORDERS}"))
        .await
        .unwrap();
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 80"), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 80);
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 0"), "{stderr}");
}

/// Before the per-file ledger one position covered all inputs together: a run finds it
/// and stops with an error that says what to do, rather than loading files again.
#[tokio::test]
async fn a_position_shared_by_several_inputs_is_refused_clearly() {
    let dir = scratch();
    let a = write(dir.path(), "a.csv", holo_seed::orders_csv(10, 5));
    let b = write(dir.path(), "b.csv", holo_seed::orders_csv(10, 6));
    let t = table("shared_position_orders", PLAIN_ORDERS).await;
    let ca = std::fs::canonicalize(&a).unwrap();
    let cb = std::fs::canonicalize(&b).unwrap();
    let job = format!(
        r#"csv:{},{} -> "public"."shared_position_orders""#,
        ca.display(),
        cb.display()
    );
    let client = TestPg::shared().client().await;
    client
        .execute(
            "INSERT INTO holo_host.progress (job, position, rows_written) \
             VALUES ($1, '{\"file\": \"x\", \"index\": 1, \"offset\": 9, \"line\": 2}', 11)",
            &[&job],
        )
        .await
        .unwrap();
    let (sa, sb) = (format!("csv:{a}"), format!("csv:{b}"));
    let dsn = TestPg::shared().dsn();
    let args = [
        "--source", &sa, "--source", &sb, "--sink", &dsn, "--table", &t,
    ];
    let stderr = assert_failure(&run(&args));
    assert!(
        stderr.contains("covers these 2 inputs together") && stderr.contains("--from-scratch"),
        "{stderr}"
    );
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 0);
    let mut again = args.to_vec();
    again.push("--from-scratch");
    assert_success(&run(&again));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 20);
}

/// A position saved by an earlier release, under the key made from display text
/// (``csv:… -> table `public.t` ``), is found and resumed, and goes by the new key after.
#[tokio::test]
async fn a_position_saved_under_the_old_key_is_resumed() {
    let dir = scratch();
    let all = holo_seed::orders_csv(150, 5);
    let (head, tail) = split_after_lines(&all, 101);
    let orders = write(dir.path(), "orders.csv", head);
    let t = table("legacy_key_orders", PLAIN_ORDERS).await;
    let source = format!("csv:{orders}");
    let dsn = TestPg::shared().dsn();
    let args = ["--source", &source, "--sink", &dsn, "--table", &t];
    assert_success(&run(&args));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 100);

    // Put the position back under the key the previous release wrote.
    let canonical = std::fs::canonicalize(&orders).unwrap();
    let stream = format!("csv:{}", canonical.display());
    let new_key = format!(r#"{stream} -> "public"."legacy_key_orders""#);
    let old_key = format!("{stream} -> table `{t}`");
    let client = TestPg::shared().client().await;
    let moved = client
        .execute(
            "UPDATE holo_host.progress SET job = $2 WHERE job = $1",
            &[&new_key, &old_key],
        )
        .await
        .unwrap();
    assert_eq!(moved, 1, "the run saved its position under {new_key}");

    // New rows arrive; the run resumes after the first 100 instead of loading them again.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&orders)
        .and_then(|mut f| std::io::Write::write_all(&mut f, tail.as_bytes()))
        .unwrap();
    assert_success(&run(&args));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 150);
    let keys: Vec<String> = client
        .query(
            "SELECT job FROM holo_host.progress WHERE job IN ($1, $2)",
            &[&new_key, &old_key],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(keys, [new_key]);
}

/// `text` cut after its first `n` lines.
fn split_after_lines(text: &str, n: usize) -> (&str, &str) {
    let at = text
        .match_indices('\n')
        .nth(n - 1)
        .map_or(text.len(), |(i, _)| i + 1);
    text.split_at(at)
}

/// A database that cannot be reached: the error names host, port, database and user,
/// never the password.
#[test]
fn connection_error_names_the_target_not_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = scratch();
    let path = write(dir.path(), "a.csv", "a\n1\n");
    let out = Args::csv(&path)
        .sink(
            &format!("postgres://loader:s3cr3t-pw@127.0.0.1:{port}/warehouse"),
            "public.t",
        )
        .run();
    let stderr = assert_failure(&out);
    assert!(!stderr.contains("s3cr3t-pw"), "{stderr}");
    for part in ["127.0.0.1", &port.to_string(), "warehouse", "loader"] {
        assert!(stderr.contains(part), "missing {part}: {stderr}");
    }
}

/// A row the server refuses is kept in the dead-letter output before the commit that moves
/// the position past it: when that output cannot be written (a full disk), nothing of the
/// batch commits and the run stops, so a rerun finds the row again.
#[tokio::test]
async fn refused_rows_are_kept_before_their_batch_commits() {
    let dir = scratch();
    let csv = write(dir.path(), "checked.csv", "id,v\n1,ok\n2,bad\n3,ok\n");
    let t = table("dlq_before_commit", "(id int8, v text CHECK (v <> 'bad'))").await;
    let dsn = TestPg::shared().dsn();
    let source = format!("csv:{csv}");
    let base = ["--source", &source, "--sink", &dsn, "--table", &t];
    let mut full = base.to_vec();
    full.extend(["--dead-letter", "/dev/full"]);
    let out = run(&full);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("dead-letter"), "{stderr}");
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 0);
    // The position did not move: the same run with a writable output loads the batch.
    let rejected = dir.path().join("rejected.jsonl");
    let mut ok = base.to_vec();
    let rejected_arg = rejected.to_str().unwrap().to_owned();
    ok.extend(["--dead-letter", &rejected_arg]);
    assert_success(&run(&ok));
    assert_eq!(query_i64(&format!("SELECT count(*) FROM {t}")).await, 2);
    let letters = dead_letters(&rejected);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["line"], 3);
}
