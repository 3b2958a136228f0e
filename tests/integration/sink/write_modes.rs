//! Hologres-style write modes, deletes, retries and restarts of the PostgreSQL sink, on
//! every write path: one transaction per batch (PostgreSQL), several writers on PostgreSQL
//! (batches in flight, each committed with its position in order), and autocommit
//! statements: the Hologres dialect forced on PostgreSQL, and Hologres 1.1, 1.3 and 3.0 as
//! hologres-lite imitates them (see `support::servers`).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use holo_batch::ValueRef;
use holo_host::record::{Column, ColumnType};
use holo_host::sink::Rejected;
use holo_host::sink::postgres::{
    DialectChoice, Method, PostgresSink, PostgresSinkConfig, WriteMode, WriteOptions,
};
use serde_json::json;

use crate::support::pg::{TestPg, chain};
use crate::support::servers::{self, HOLOGRES_1_1, HOLOGRES_1_3, HOLOGRES_3_0, Server};
use crate::support::{Args, assert_success, dead_letters, scratch, write};

/// How a sink writes, for the tests that try every path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Path {
    dialect: DialectChoice,
    writers: usize,
    pub(crate) server: Server,
}

const fn path(dialect: DialectChoice, writers: usize, server: Server) -> Path {
    Path {
        dialect,
        writers,
        server,
    }
}

/// PostgreSQL (one transaction per batch), the Hologres dialect forced on it, several
/// writers; and Hologres by version ([`servers::SERVERS`]): multi-row VALUES before
/// 1.1.38, unnest, and Fixed Copy from 1.3.25 once the server took a COPY of no rows.
pub(crate) const PATHS: [Path; 6] = [
    path(DialectChoice::Postgres, 1, Server::Postgres),
    path(DialectChoice::Hologres, 1, Server::Postgres),
    path(DialectChoice::Postgres, 3, Server::Postgres),
    path(DialectChoice::Auto, 1, Server::Hologres(HOLOGRES_1_1)),
    path(DialectChoice::Auto, 2, Server::Hologres(HOLOGRES_1_3)),
    path(DialectChoice::Auto, 2, Server::Hologres(HOLOGRES_3_0)),
];

impl Path {
    pub(crate) fn autocommit(&self) -> bool {
        self.dialect == DialectChoice::Hologres || self.server.is_hologres()
    }

    /// The DSN of the server this path writes to, and a session on it.
    pub(crate) async fn server(&self, _pg: &TestPg) -> (String, tokio_postgres::Client) {
        let dsn = self.server.dsn();
        let client = servers::connect(&dsn).await;
        (dsn, client)
    }
}

fn config(dsn: &str, table: &str, mode: WriteMode, path: Path) -> PostgresSinkConfig {
    PostgresSinkConfig {
        dsn: dsn.into(),
        table: table.into(),
        write: WriteOptions {
            mode,
            dialect: path.dialect,
            writers: path.writers,
            retry_delay_ms: Some(50),
            ..WriteOptions::default()
        },
    }
}

/// A sink into `table` in `mode`, writing by `path`.
pub(crate) async fn connect(dsn: &str, table: &str, mode: WriteMode, path: Path) -> PostgresSink {
    PostgresSink::connect(&config(dsn, table, mode, path))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)))
}

fn encode(values: &[ValueRef<'_>]) -> Vec<u8> {
    let mut buf = Vec::new();
    for v in values {
        v.encode(&mut buf);
    }
    buf
}

/// One change of a batch: `Row(id, name, qty)` or `Delete(id)`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Row(i64, &'static str, i64),
    Delete(i64),
}

/// Stages `ops` (input index = position) and commits them.
pub(crate) async fn apply(sink: &mut PostgresSink, job: &str, ops: &[Op]) -> (u64, Vec<Rejected>) {
    stage(sink, ops);
    sink.commit(&crate::support::job(job), &json!({"ops": ops.len()}))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)))
}

/// Stages `ops` (input index = position).
fn stage(sink: &mut PostgresSink, ops: &[Op]) {
    for (i, op) in ops.iter().enumerate() {
        let i = i as u32;
        match *op {
            Op::Row(id, name, qty) => {
                let buf = encode(&[ValueRef::Int(id), ValueRef::Text(name), ValueRef::Int(qty)]);
                sink.push_row(i, holo_batch::row_at(&buf, 0, 3).unwrap())
                    .unwrap();
            }
            Op::Delete(id) => {
                // Only the key matters: the other values may be null.
                let buf = encode(&[ValueRef::Int(id), ValueRef::Null, ValueRef::Null]);
                sink.push_delete(i, holo_batch::row_at(&buf, 0, 3).unwrap())
                    .unwrap();
            }
        }
    }
}

/// Several writers on PostgreSQL: batches in flight on writers of their own, each in an open
/// transaction, commit in order with their positions; a batch sharing a key with one in
/// flight is told to wait; a duplicate key in a batch in flight is refused alone; a batch
/// that never commits leaves nothing behind.
#[tokio::test]
async fn batches_in_flight_commit_in_order_with_their_positions() {
    let pg = TestPg::shared();
    let table = crate::support::table(
        "write_modes_in_flight",
        "(id int8 PRIMARY KEY, name text NOT NULL, qty int4, note text NOT NULL DEFAULT 'n/a')",
    )
    .await;
    let output = [
        Column::new("id", ColumnType::Int),
        Column::text("name"),
        Column::new("qty", ColumnType::Int),
    ];
    let path = path(DialectChoice::Postgres, 3, Server::Postgres);
    let mut sink = connect(&pg.dsn(), &table, WriteMode::Insert, path).await;
    sink.bind(&output).unwrap();
    assert_eq!(sink.lanes(), 3);
    let key = crate::support::job("in-flight");
    let refused = std::sync::Mutex::new(Vec::new());
    let mut keep = |r: &[Rejected]| -> Result<(), holo_host::errors::BoxError> {
        *refused.lock().unwrap() = r.iter().map(|r| r.input).collect::<Vec<u32>>();
        Ok(())
    };
    stage(&mut sink, &[Op::Row(1, "a", 1), Op::Row(2, "b", 2)]);
    let first = sink
        .start(0, &key, &json!({"batch": 1}), sink.key_hashes())
        .await
        .unwrap();
    stage(&mut sink, &[Op::Row(3, "c", 3), Op::Row(3, "c", 4)]);
    assert!(!first.shares_a_key(&sink.key_hashes()));
    let second = sink
        .start(1, &key, &json!({"batch": 2}), sink.key_hashes())
        .await
        .unwrap();
    // Key 1 is in the first batch, still open: this one has to wait for it.
    stage(&mut sink, &[Op::Row(1, "dup", 9), Op::Row(4, "d", 4)]);
    let keys = sink.key_hashes();
    assert!(first.shares_a_key(&keys) && !second.shares_a_key(&keys));
    // Nothing is visible before the commits.
    let client = pg.client().await;
    assert!(rows(&client, &table).await.is_empty());
    assert_eq!(sink.finish(first, &mut keep).await.unwrap(), 2);
    assert_eq!(
        sink.load_position(&key).await.unwrap(),
        Some(json!({"batch": 1}))
    );
    // Key 3 twice in one batch (insert does not merge): the server refuses the second
    // alone, found by splitting the open transaction's statement.
    assert_eq!(sink.finish(second, &mut keep).await.unwrap(), 1);
    assert_eq!(*refused.lock().unwrap(), [1]);
    assert_eq!(
        sink.load_position(&key).await.unwrap(),
        Some(json!({"batch": 2}))
    );
    // Key 1 is present by now: that row alone is refused.
    let third = sink
        .start(2, &key, &json!({"batch": 3}), sink.key_hashes())
        .await
        .unwrap();
    assert_eq!(sink.finish(third, &mut keep).await.unwrap(), 1);
    assert_eq!(*refused.lock().unwrap(), [0]);
    let got: Vec<(i64, String)> = (rows(&client, &table).await.into_iter())
        .map(|(id, (name, _, _))| (id, name))
        .collect();
    let want = [(1, "a"), (2, "b"), (3, "c"), (4, "d")].map(|(i, n)| (i, n.to_owned()));
    assert_eq!(got, want);
    // Started, never finished (the process died): neither its rows nor its position land.
    stage(&mut sink, &[Op::Row(5, "e", 5)]);
    let lost = sink
        .start(0, &key, &json!({"batch": 4}), sink.key_hashes())
        .await
        .unwrap();
    drop(lost);
    drop(sink);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rows(&client, &table).await.len(), 4);
    let sink = connect(&pg.dsn(), &table, WriteMode::Insert, path).await;
    assert_eq!(
        sink.load_position(&key).await.unwrap(),
        Some(json!({"batch": 3}))
    );
}

type Rows = BTreeMap<i64, (String, i64, String)>;

async fn rows(client: &tokio_postgres::Client, table: &str) -> Rows {
    client
        .query(&format!("SELECT id, name, qty, note FROM {table}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<_, i64>(0),
                (r.get(1), r.get::<_, i32>(2) as i64, r.get(3)),
            )
        })
        .collect()
}

/// The table after [`BATCH`]: row 1 as `one` (name, qty, note) and row 4 as `four` (name,
/// qty; a new row, so its note is the default), which the modes treat differently; row 3
/// deleted and written anew as `e`, and rows 2 and 5 gone, in every mode.
fn after_batch(one: (&str, i64, &str), four: (&str, i64)) -> Rows {
    let row = |name: &str, qty, note: &str| (name.to_owned(), qty, note.to_owned());
    BTreeMap::from([
        (1, row(one.0, one.1, one.2)),
        (3, row("e", 30, "n/a")),
        (4, row(four.0, four.1, "n/a")),
    ])
}

/// The cases of one batch against rows 1, 2 and 3 already in the table.
const BATCH: [Op; 9] = [
    Op::Row(1, "a", 10), // key present
    Op::Row(4, "b", 40), // new key…
    Op::Row(4, "c", 41), // …twice in the batch
    Op::Delete(2),       // delete of a present key
    Op::Row(5, "d", 50), // insert…
    Op::Delete(5),       // …then delete: the insert is dropped
    Op::Delete(3),       // delete…
    Op::Row(3, "e", 30), // …then insert: deleted, then written anew
    Op::Delete(99),      // delete of a missing key
];

#[tokio::test]
async fn every_write_mode_on_every_path() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("write_modes").await;
    let output = [
        Column::new("id", ColumnType::Int),
        Column::text("name"),
        Column::new("qty", ColumnType::Int),
    ];
    for (p, path) in PATHS.iter().enumerate() {
        let (dsn, client) = path.server(pg).await;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .unwrap();
        for mode in WriteMode::ALL {
            let table = format!("{schema}.t_{p}_{}", mode.name().replace('-', "_"));
            client
                .batch_execute(&format!(
                    "CREATE TABLE {table} (id int8 PRIMARY KEY, name text NOT NULL, qty int4, \
                     note text NOT NULL DEFAULT 'n/a')"
                ))
                .await
                .unwrap();
            client
                .batch_execute(&format!(
                    "INSERT INTO {table} VALUES (1, 'old1', 1, 'keep'), (2, 'old2', 2, 'keep'), \
                     (3, 'old3', 3, 'keep')"
                ))
                .await
                .unwrap();
            let mut sink = connect(&dsn, &table, mode, *path).await;
            sink.bind(&output).unwrap();
            let ctx = format!("{mode} on {path:?}");
            // `note` has a default: replace resets it with `= DEFAULT`, which only INSERT says.
            let copy_can = mode != WriteMode::InsertOrReplace;
            // Fixed Copy from 1.3.25, once the server took a COPY of no rows (at the first
            // commit here).
            let (chosen, used) = match path.server {
                Server::Hologres(HOLOGRES_1_1) => (Method::Values, Method::Values),
                Server::Hologres(_) if copy_can => (Method::Unnest, Method::FixedCopy),
                _ if !path.autocommit() && mode == WriteMode::Insert => {
                    (Method::Copy, Method::Copy)
                }
                _ => (Method::Unnest, Method::Unnest),
            };
            assert_eq!(sink.method(), Some(chosen), "{ctx}");
            let (written, rejected) = apply(&mut sink, "modes", &BATCH).await;
            assert_eq!(sink.method(), Some(used), "{ctx}");
            let got = rows(&client, &table).await;
            let expected = match mode {
                WriteMode::Insert => {
                    // Duplicates are refused: rows 0 (key 1, in the table: the server's
                    // message) and 2 (key 4 again). On the autocommit path the keys are
                    // looked up first and the statement skips present keys, so a retried
                    // statement writes nothing twice.
                    let inputs: Vec<u32> = rejected.iter().map(|r| r.input).collect();
                    assert_eq!(inputs, [0, 2], "{ctx}: {rejected:?}");
                    assert!(
                        rejected[0].reason.contains("duplicate key value"),
                        "{ctx}: {}",
                        rejected[0].reason
                    );
                    assert_eq!(written, 2, "{ctx}");
                    after_batch(("old1", 1, "keep"), ("b", 40))
                }
                WriteMode::InsertOrIgnore => {
                    assert_eq!(rejected, [], "{ctx}");
                    after_batch(("old1", 1, "keep"), ("b", 40))
                }
                WriteMode::InsertOrReplace => {
                    assert_eq!(rejected, [], "{ctx}");
                    assert_eq!(written, 3, "{ctx}: rows 1, 4 (merged) and 3");
                    after_batch(("a", 10, "n/a"), ("c", 41))
                }
                WriteMode::InsertOrUpdate => {
                    assert_eq!(rejected, [], "{ctx}");
                    assert_eq!(written, 3, "{ctx}");
                    after_batch(("a", 10, "keep"), ("c", 41))
                }
            };
            assert_eq!(got, expected, "{ctx}");
            assert_eq!(
                sink.load_position(&crate::support::job("modes"))
                    .await
                    .unwrap(),
                Some(json!({"ops": BATCH.len()})),
                "{ctx}"
            );
            // The same batch again (a replay after a crash) changes nothing in keyed modes.
            if mode.is_upsert() {
                apply(&mut sink, "modes", &BATCH).await;
                assert_eq!(rows(&client, &table).await, expected, "{ctx}, replayed");
            }
        }
    }
}

#[tokio::test]
async fn upsert_modes_need_a_primary_key_in_the_table_and_the_output() {
    let pg = TestPg::shared();
    pg.schema_with(
        "write_keys",
        "CREATE TABLE {s}.nokey (id int8, name text); \
         CREATE TABLE {s}.keyed (id int8, k2 text DEFAULT 'x', name text, PRIMARY KEY (id, k2))",
    )
    .await;
    let (nokey, keyed, path) = ("write_keys.nokey", "write_keys.keyed", PATHS[0]);
    let mut sink = connect(&pg.dsn(), nokey, WriteMode::InsertOrUpdate, path).await;
    let err = sink
        .bind(&[Column::new("id", ColumnType::Int), Column::text("name")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `write_keys.nokey` has no primary key, which --mode insert-or-update needs: add \
         one, or use --mode insert"
    );
    let mut sink = connect(&pg.dsn(), keyed, WriteMode::InsertOrReplace, path).await;
    let err = sink
        .bind(&[Column::new("id", ColumnType::Int), Column::text("name")])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("column `k2` of the primary key of table `write_keys.keyed` is not in"),
        "{err}"
    );
    // Plain appends need no key; a delete then has nothing to find the row by.
    let mut sink = connect(&pg.dsn(), nokey, WriteMode::Insert, path).await;
    sink.bind(&[Column::new("id", ColumnType::Int), Column::text("name")])
        .unwrap();
    let buf = encode(&[ValueRef::Int(1), ValueRef::Null]);
    let err = sink
        .push_delete(0, holo_batch::row_at(&buf, 0, 2).unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("no primary key"), "{err}");
}

/// A CHECK constraint refuses one row in the middle of a batch: that row is returned with
/// the server's message, the others are written, on every path.
#[tokio::test]
async fn a_data_error_rejects_only_the_row_at_fault() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("write_split").await;
    for (p, path) in PATHS.iter().enumerate() {
        let (dsn, client) = path.server(pg).await;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .unwrap();
        for mode in [WriteMode::Insert, WriteMode::InsertOrUpdate] {
            let table = format!("{schema}.t_{p}_{}", mode.name().replace('-', "_"));
            client
                .batch_execute(&format!(
                    "CREATE TABLE {table} (id int8 PRIMARY KEY, name text, \
                     qty int4 CONSTRAINT qty_positive CHECK (qty > 0), note text)"
                ))
                .await
                .unwrap();
            let mut sink = connect(&dsn, &table, mode, *path).await;
            sink.bind(&[
                Column::new("id", ColumnType::Int),
                Column::text("name"),
                Column::new("qty", ColumnType::Int),
            ])
            .unwrap();
            let ops: Vec<Op> = (0..100)
                .map(|i| Op::Row(i, "x", if i == 37 || i == 80 { -1 } else { i + 1 }))
                .collect();
            let (written, rejected) = apply(&mut sink, "split", &ops).await;
            let ctx = format!("{mode} on {path:?}");
            assert_eq!(written, 98, "{ctx}");
            let inputs: Vec<u32> = rejected.iter().map(|r| r.input).collect();
            assert_eq!(inputs, [37, 80], "{ctx}");
            assert!(
                rejected[0]
                    .reason
                    .starts_with("rejected by the server: new row for relation \"t_")
                    && rejected[0]
                        .reason
                        .contains("violates check constraint \"qty_positive\""),
                "{ctx}: {}",
                rejected[0].reason
            );
            let count: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(count, 98, "{ctx}");
            assert_eq!(
                sink.load_position(&crate::support::job("split"))
                    .await
                    .unwrap(),
                Some(json!({"ops": 100}))
            );
        }
    }
}

/// Through the binary: the refused row lands in the dead-letter file with the server's
/// message and the sink stage; the others load.
#[tokio::test]
async fn a_refused_row_is_dead_lettered_by_the_pipeline() {
    let pg = TestPg::shared();
    pg.schema_with(
        "write_dead_letter",
        "CREATE TABLE {s}.t (id int8 PRIMARY KEY, qty int4 CHECK (qty > 0))",
    )
    .await;
    let dir = scratch();
    let mut csv = String::from("id,qty\n");
    for i in 1..=50 {
        csv.push_str(&format!("{i},{}\n", if i == 20 { 0 } else { i }));
    }
    let input = write(dir.path(), "in.csv", csv);
    let dl = dir.path().join("dl.jsonl");
    for dialect in ["postgres", "hologres"] {
        let out = Args::csv(&input)
            .sink(&pg.dsn(), "write_dead_letter.t")
            .with(["--mode", "insertorreplace", "--dialect", dialect])
            .dead_letter(&dl)
            .with(["--from-scratch"])
            .run();
        let stderr = assert_success(&out);
        assert!(
            stderr.contains("wrote 49, dead-lettered 1"),
            "{dialect}: {stderr}"
        );
    }
    let letters = dead_letters(&dl);
    assert_eq!(letters.len(), 2, "{letters:?}");
    for l in &letters {
        assert_eq!(l["stage"], "sink");
        assert_eq!(l["record"]["id"], "20");
        assert!(
            l["reason"]
                .as_str()
                .unwrap()
                .contains("violates check constraint \"t_qty_check\""),
            "{l}"
        );
    }
}

/// The server restarts in the middle of a load: the sink reconnects and retries, and the
/// table ends with every row exactly once (no key to hide duplicates).
#[tokio::test]
async fn a_server_restart_mid_load_loses_and_duplicates_nothing() {
    let Some(pg) = TestPg::restartable() else {
        return;
    };
    let client = pg.client().await;
    client
        .batch_execute(
            "CREATE TABLE plain (order_id text, user_id int8, book_id int8, book_name text, \
             order_cnt int8, order_amt int8); \
             CREATE TABLE piped (LIKE plain); \
             CREATE TABLE keyed (order_id text PRIMARY KEY, user_id int8, book_id int8, \
             book_name text, order_cnt int8, order_amt int8)",
        )
        .await
        .unwrap();
    drop(client);
    const ROWS: usize = 60_000;
    let dir = scratch();
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(ROWS, 7));
    let expected_amount: i64 = holo_seed::orders(ROWS, 7).map(|o| o.order_amt).sum();
    // Transactions on PostgreSQL, one writer and three (batches in flight); keyed
    // autocommit writes on two connections.
    let runs: [(&str, &[&str]); 3] = [
        ("plain", &[]),
        ("piped", &["--writers", "3"]),
        (
            "keyed",
            &[
                "--dialect",
                "hologres",
                "--mode",
                "insert-or-replace",
                "--writers",
                "2",
            ],
        ),
    ];
    for (table, extra) in runs {
        let child = Args::csv(&orders)
            .sink(&pg.dsn(), table)
            .with(["--batch-rows", "100", "--write-retry-delay-ms", "200"])
            .with(extra)
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Restart once some batches, but not all, are in.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let client = pg.client().await;
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                assert!(
                    (n as usize) < ROWS,
                    "{table}: the load finished before the restart; make it longer"
                );
                break;
            }
            assert!(Instant::now() < deadline, "{table}: no rows after 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pg.restart();
        let out = child.wait_with_output().unwrap();
        let stderr = assert_success(&out);
        assert!(
            stderr.contains(&format!("wrote {ROWS}, dead-lettered 0")),
            "{table}: {stderr}"
        );
        assert!(
            stderr.contains("retrying"),
            "{table}: no retry logged: {stderr}"
        );
        let client = pg.client().await;
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*), count(DISTINCT order_id), sum(order_amt)::int8 FROM {table}"
                ),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, i64>(0), ROWS as i64, "{table}: {stderr}");
        assert_eq!(row.get::<_, i64>(1), ROWS as i64, "{table}");
        assert_eq!(row.get::<_, i64>(2), expected_amount, "{table}");
    }

    // A run started while the server is down (restarted beside it, say) waits for it.
    let child = pg.restart_around(Duration::from_secs(2), || {
        Args::csv(&orders)
            .sink(&pg.dsn(), "plain")
            .with(["--from-scratch"])
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    });
    let out = child.wait_with_output().unwrap();
    let stderr = assert_success(&out);
    assert!(
        stderr.contains("connecting to the sink failed, retrying"),
        "{stderr}"
    );
    let n: i64 = pg
        .client()
        .await
        .query_one("SELECT count(*) FROM plain", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2 * ROWS as i64, "{stderr}");
}

/// A transform that marks its output rows as deletes (the `stamp` test transform patched to
/// its `dele` mode): the rows with those keys leave the table, the others stay.
#[tokio::test]
async fn a_transform_can_delete_rows_by_key() {
    let pg = TestPg::shared();
    let t = crate::support::table(
        "write_modes_deletes",
        "(id int8 PRIMARY KEY, name text NOT NULL, version text NOT NULL)",
    )
    .await;
    let dir = scratch();
    let stamp = dir.path().join("stamp.wasm");
    let deleter = dir.path().join("deleter.wasm");
    std::fs::write(&stamp, crate::transform::reload::stamp_bytes("v1", "ok__")).unwrap();
    std::fs::write(
        &deleter,
        crate::transform::reload::stamp_bytes("v1", "dele"),
    )
    .unwrap();
    let ids = |range: std::ops::RangeInclusive<u32>| {
        let mut csv = String::from("id,name\n");
        for i in range {
            csv.push_str(&format!("{i},本{i}\n"));
        }
        csv
    };
    let all = write(dir.path(), "all.csv", ids(1..=10));
    let some = write(dir.path(), "some.csv", ids(3..=5));
    for (input, transform) in [(&all, &stamp), (&some, &deleter)] {
        let out = Args::csv(input)
            .transform(transform)
            .sink(&pg.dsn(), &t)
            .with(["--mode", "insert-or-update"])
            .run();
        assert_success(&out);
    }
    let client = pg.client().await;
    let left: Vec<i64> = client
        .query(&format!("SELECT id FROM {t} ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, [1, 2, 6, 7, 8, 9, 10]);
}

/// On each Hologres version (hologres-lite), a key of two columns: deletes go as
/// holo-client's `OR` of key matches, insert-or-replace writes the left-out column as NULL
/// (`extra = excluded.extra`), and `holo-host plan` names the method and its statements;
/// from 1.3.25 Fixed Copy takes over once the server took a COPY of no rows.
#[tokio::test]
async fn each_hologres_version_gets_its_statements() {
    for (version, method, used, rows_sql) in [
        (
            HOLOGRES_1_1,
            Method::Values,
            Method::Values,
            "VALUES ($1::int8, $2::text, $3::text, $4::int4)",
        ),
        (
            HOLOGRES_1_3,
            Method::Unnest,
            Method::FixedCopy,
            "SELECT unnest($1::int8[]), unnest($2::text[])",
        ),
        (
            HOLOGRES_3_0,
            Method::Unnest,
            Method::FixedCopy,
            "(Fixed Copy instead if the server takes a COPY of no rows at start-up)",
        ),
    ] {
        let server = Server::Hologres(version);
        let client = server
            .schema_with(
                "versions",
                "CREATE TABLE {s}.k2 (id int8, k2 text, name text, extra int4, \
                 PRIMARY KEY (id, k2))",
            )
            .await;
        client
            .batch_execute(
                "INSERT INTO versions.k2 VALUES (1, 'a', 'old', 5), (2, 'b', 'old', 6), \
                 (3, 'c', 'old', 7)",
            )
            .await
            .unwrap();
        let ctx = format!("Hologres {version}");
        let dsn = server.dsn();
        let cfg = PostgresSinkConfig {
            dsn: dsn.clone(),
            table: "versions.k2".into(),
            write: WriteOptions {
                mode: WriteMode::InsertOrReplace,
                retry_delay_ms: Some(50),
                ..WriteOptions::default()
            },
        };
        let mut sink = PostgresSink::connect(&cfg).await.unwrap();
        assert!(
            sink.hologres_version()
                .unwrap()
                .starts_with(&format!("Hologres {version}"))
        );
        sink.bind(&[
            Column::new("id", ColumnType::Int),
            Column::text("k2"),
            Column::text("name"),
        ])
        .unwrap();
        assert_eq!(sink.method(), Some(method), "{ctx}");
        let plan = sink.explain();
        for want in [
            method.name(),
            rows_sql,
            r#"DELETE FROM "versions"."k2" WHERE ("id" = $1::int8 AND "k2" = $2::text) OR ("id" = $3::int8 AND "k2" = $4::text)"#,
            r#""extra" : written as NULL (insert-or-replace clears it)"#,
        ] {
            assert!(plan.contains(want), "{ctx}: missing {want:?} in\n{plan}");
        }
        let row = |id: i64, k2: &'static str, name: &'static str| {
            encode(&[ValueRef::Int(id), ValueRef::Text(k2), ValueRef::Text(name)])
        };
        let mut i = 0;
        for (id, k2, name) in [(1, "a", "new"), (4, "d", "n4")] {
            sink.push_row(i, holo_batch::row_at(&row(id, k2, name), 0, 3).unwrap())
                .unwrap();
            i += 1;
        }
        for (id, k2) in [(2, "b"), (3, "zz")] {
            sink.push_delete(i, holo_batch::row_at(&row(id, k2, ""), 0, 3).unwrap())
                .unwrap();
            i += 1;
        }
        let written = sink
            .commit(&crate::support::job("versions"), &json!({"n": 1}))
            .await
            .unwrap_or_else(|e| panic!("{ctx}: {}", chain(&e)));
        assert_eq!(written, (2, vec![]), "{ctx}");
        assert_eq!(sink.method(), Some(used), "{ctx}");
        let got: Vec<(i64, String, String, Option<i32>)> = client
            .query(
                "SELECT id, k2, name, extra FROM versions.k2 ORDER BY id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let want = |id, k2: &str, name: &str, extra| (id, k2.to_owned(), name.to_owned(), extra);
        assert_eq!(
            got,
            [
                want(1, "a", "new", None),
                want(3, "c", "old", Some(7)),
                want(4, "d", "n4", None),
            ],
            "{ctx}"
        );
    }
}
