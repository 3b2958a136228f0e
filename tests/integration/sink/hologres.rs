//! The sink on Hologres as hologres-lite imitates it (`tests/hologres-lite`): fenced before
//! it writes, exact on keyed tables and refused on keyless ones unless asked for
//! at-least-once, counts of its own, Fixed Copy only once the server took it, holo-client's
//! statement shapes, failovers ridden out, positions for a user who may not create schemas,
//! and a load killed mid-way on every server.

use std::process::Stdio;
use std::time::{Duration, Instant};

use holo_batch::ValueRef;
use holo_host::record::{Column, ColumnType};
use holo_host::sink::postgres::{
    Method, PostgresError, PostgresSink, PostgresSinkConfig, WriteMethod, WriteMode, WriteOptions,
};
use serde_json::json;

use crate::support::pg::chain;
use crate::support::servers::{self, HOLOGRES_1_1, HOLOGRES_1_3, HOLOGRES_3_0, SERVERS, Server};
use crate::support::{Args, assert_success, scratch, write};

fn options(mode: WriteMode) -> WriteOptions {
    WriteOptions {
        mode,
        retry_delay_ms: Some(50),
        ..WriteOptions::default()
    }
}

async fn connect(dsn: &str, table: &str, write: WriteOptions) -> PostgresSink {
    try_connect(dsn, table, write)
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)))
}

async fn try_connect(
    dsn: &str,
    table: &str,
    write: WriteOptions,
) -> Result<PostgresSink, PostgresError> {
    PostgresSink::connect(&PostgresSinkConfig {
        dsn: dsn.into(),
        table: table.into(),
        write,
    })
    .await
}

/// Stages one row of `values` (in output-column order).
fn push(sink: &mut PostgresSink, values: &[ValueRef<'_>]) {
    let mut buf = Vec::new();
    for v in values {
        v.encode(&mut buf);
    }
    let row = holo_batch::row_at(&buf, 0, values.len()).expect("row encodes");
    let input = sink.staged_rows() as u32;
    sink.push_row(input, row).unwrap();
}

fn id_v() -> [Column; 2] {
    [Column::new("id", ColumnType::Int), Column::text("v")]
}

async fn query_i64(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// A process whose job another moved on meanwhile (the same input loaded twice, a shard
/// taken over) writes none of its stale rows: on Hologres each statement commits at once,
/// so the position is checked before the rows are sent, not only when it is saved.
#[tokio::test]
async fn a_fenced_off_process_writes_no_stale_row() {
    for server in SERVERS {
        let client = server
            .schema_with(
                "hg_fence",
                "CREATE TABLE {s}.t (id int8 PRIMARY KEY, v text)",
            )
            .await;
        let dsn = server.dsn();
        let mode = WriteMode::InsertOrReplace;
        let mut a = connect(&dsn, "hg_fence.t", options(mode)).await;
        let mut b = connect(&dsn, "hg_fence.t", options(mode)).await;
        let key = crate::support::job("hg-fence");
        for sink in [&mut a, &mut b] {
            use holo_host::position::PositionStore;
            sink.positions().clear(&key).await.unwrap();
            assert_eq!(sink.positions().load(&key).await.unwrap(), None);
            sink.bind(&id_v()).unwrap();
        }
        push(&mut b, &[ValueRef::Int(1), ValueRef::Text("new")]);
        b.commit(&key, &json!({"offset": 20})).await.unwrap();
        push(&mut a, &[ValueRef::Int(1), ValueRef::Text("stale")]);
        let err = a.commit(&key, &json!({"offset": 10})).await.unwrap_err();
        let ctx = server.name();
        assert!(
            matches!(err, PostgresError::Fenced { .. }),
            "{ctx}: {}",
            chain(&err)
        );
        let v: String = client
            .query_one("SELECT v FROM hg_fence.t WHERE id = 1", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, "new", "{ctx}: the fenced process overwrote a newer row");
    }
}

/// A table without a primary key is refused on Hologres (rows and position cannot commit
/// together there, so a retried statement would add its rows twice) unless the user asks
/// for at-least-once; then a reply lost after the rows landed shows why.
#[tokio::test]
async fn a_keyless_table_needs_at_least_once_on_hologres() {
    let server = Server::Hologres(HOLOGRES_1_3);
    let lite = servers::private_lite(HOLOGRES_1_3, "keyless", true);
    let table = "CREATE TABLE {s}.t (id int8, v text)";
    let client = servers::schema_with(&lite.dsn(), "hg_keyless", table).await;
    let mut sink = connect(&lite.dsn(), "hg_keyless.t", options(WriteMode::Insert)).await;
    let err = sink.bind(&id_v()).unwrap_err();
    assert!(
        matches!(err, PostgresError::KeylessAutocommit { .. }),
        "{}: {}",
        server.name(),
        chain(&err)
    );
    assert!(err.to_string().contains("--at-least-once"), "{err}");
    let write = WriteOptions {
        at_least_once: true,
        ..options(WriteMode::Insert)
    };
    let mut sink = connect(&lite.dsn(), "hg_keyless.t", write).await;
    sink.bind(&id_v()).unwrap();
    // The Fixed Copy probe first, so the fault below meets the rows.
    sink.prepare().await.unwrap();
    for id in 0..3 {
        push(&mut sink, &[ValueRef::Int(id), ValueRef::Text("x")]);
    }
    // The rows land, the reply is lost, the statement goes again: twice the rows.
    lite.faults().lose_reply_next(1, "hg_keyless");
    let (written, _) = sink
        .commit(&crate::support::job("hg-keyless"), &json!(1))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(written, 3);
    assert_eq!(
        query_i64(&client, "SELECT count(*) FROM hg_keyless.t").await,
        6,
        "at-least-once: the retried statement wrote its rows again"
    );
}

/// Counts are the client's: with holo-client's `…_affected_rows = off` the server's row
/// counts are not to be trusted (hologres-lite reports 0), yet the rows written and every
/// position save come out right.
#[tokio::test]
async fn counts_and_position_saves_do_not_rest_on_affected_rows() {
    for version in [HOLOGRES_1_1, HOLOGRES_1_3, HOLOGRES_3_0] {
        let server = Server::Hologres(version);
        let client = server
            .schema_with(
                "hg_counts",
                "CREATE TABLE {s}.t (id int8 PRIMARY KEY, v text)",
            )
            .await;
        let mut sink = connect(
            &server.dsn(),
            "hg_counts.t",
            options(WriteMode::InsertOrUpdate),
        )
        .await;
        sink.bind(&id_v()).unwrap();
        let key = crate::support::job("hg-counts");
        for round in 0..3i64 {
            for id in 0..10 {
                push(
                    &mut sink,
                    &[ValueRef::Int(id + round * 5), ValueRef::Text("x")],
                );
            }
            let (written, rejected) = sink
                .commit(&key, &json!({"round": round}))
                .await
                .unwrap_or_else(|e| panic!("{}, round {round}: {}", server.name(), chain(&e)));
            assert_eq!((written, rejected), (10, vec![]), "{}", server.name());
        }
        assert_eq!(
            sink.load_position(&key).await.unwrap(),
            Some(json!({"round": 2}))
        );
        assert_eq!(
            query_i64(&client, "SELECT count(*) FROM hg_counts.t").await,
            20
        );
    }
}

/// `--write-method auto` on Hologres starts with INSERT (the Flink connector's default)
/// and takes Fixed Copy only once the server took a COPY of no rows: a server that refuses
/// COPY on the extended protocol (as tokio-postgres sends it) is written by INSERT, with
/// no batch lost to the refusal; `--write-method copy` is then refused with the server's
/// reason.
#[tokio::test]
async fn fixed_copy_only_once_the_server_took_it() {
    let lite = servers::private_lite(HOLOGRES_3_0, "nocopy", false);
    let table = "CREATE TABLE {s}.t (id int8 PRIMARY KEY, v text)";
    servers::schema_with(&lite.dsn(), "hg_probe", table).await;
    let mode = WriteMode::InsertOrUpdate;
    let mut sink = connect(&lite.dsn(), "hg_probe.t", options(mode)).await;
    sink.bind(&id_v()).unwrap();
    assert_eq!(sink.method(), Some(Method::Unnest));
    for id in 0..5 {
        push(&mut sink, &[ValueRef::Int(id), ValueRef::Text("x")]);
    }
    let (written, _) = sink
        .commit(&crate::support::job("hg-probe"), &json!(1))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(written, 5);
    assert_eq!(sink.method(), Some(Method::Unnest), "the probe was refused");
    let forced = WriteOptions {
        method: WriteMethod::Copy,
        ..options(mode)
    };
    let mut sink = connect(&lite.dsn(), "hg_probe.t", forced).await;
    sink.bind(&id_v()).unwrap();
    assert_eq!(sink.method(), Some(Method::FixedCopy));
    push(&mut sink, &[ValueRef::Int(9), ValueRef::Text("y")]);
    let err = sink
        .commit(&crate::support::job("hg-probe-forced"), &json!(1))
        .await
        .unwrap_err();
    assert!(chain(&err).contains("COPY"), "{}", chain(&err));
}

/// holo-client's statement shapes: `time` and `uuid` columns go by multi-row VALUES (not
/// unnest, `isTypeSupportForUnnest`) and never by Fixed Copy (its binary COPY has no
/// uuid), deletes by the `OR` of key matches, and no statement carries more than 512 rows.
#[tokio::test]
async fn statements_take_the_shapes_holo_client_sends() {
    let server = Server::Hologres(HOLOGRES_3_0);
    let client = server
        .schema_with(
            "hg_shapes",
            "CREATE TABLE {s}.t (id int8 PRIMARY KEY, at time, u uuid, v text)",
        )
        .await;
    let mut sink = connect(
        &server.dsn(),
        "hg_shapes.t",
        options(WriteMode::InsertOrUpdate),
    )
    .await;
    sink.bind(&[
        Column::new("id", ColumnType::Int),
        Column::text("at"),
        Column::text("u"),
        Column::text("v"),
    ])
    .unwrap();
    assert_eq!(sink.method(), Some(Method::Values));
    let plan = sink.explain();
    assert!(
        plan.contains(r#"DELETE FROM "hg_shapes"."t" WHERE ("id" = $1::int8) OR"#),
        "{plan}"
    );
    for id in 0..2000 {
        push(
            &mut sink,
            &[
                ValueRef::Int(id),
                ValueRef::Text("12:34:56"),
                ValueRef::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                ValueRef::Text("x"),
            ],
        );
    }
    let (written, _) = sink
        .commit(&crate::support::job("hg-shapes"), &json!(1))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(written, 2000);
    assert_eq!(
        sink.method(),
        Some(Method::Values),
        "no Fixed Copy for uuid"
    );
    assert_eq!(
        query_i64(&client, "SELECT count(*) FROM hg_shapes.t").await,
        2000
    );
    // Four parameters a row; 512 rows a statement at most.
    let inserts: Vec<usize> = (server.lite().unwrap().executions().iter())
        .filter(|e| e.sql.starts_with("INSERT INTO \"hg_shapes\""))
        .map(|e| e.parameters)
        .collect();
    assert_eq!(inserts.iter().sum::<usize>(), 2000 * 4, "{inserts:?}");
    assert!(inserts.iter().all(|&n| n <= 512 * 4), "{inserts:?}");
}

/// A failover: every connection is closed and, for a spell, every statement fails as
/// Hologres fails. The load rides it out with its retries (the metric counts them) and
/// writes each row once.
#[tokio::test]
async fn a_failover_is_ridden_out() {
    let lite = servers::private_lite(HOLOGRES_1_3, "failover", true);
    let table = "CREATE TABLE {s}.t (id int8 PRIMARY KEY, v text)";
    servers::schema_with(&lite.dsn(), "hg_failover", table).await;
    let write = WriteOptions {
        retry_delay_ms: Some(200),
        ..options(WriteMode::InsertOrReplace)
    };
    let mut sink = connect(&lite.dsn(), "hg_failover.t", write).await;
    sink.bind(&id_v()).unwrap();
    let key = crate::support::job("hg-failover");
    let retries = || retries_counted(&holo_host::metrics::global().render());
    let before = retries();
    for batch in 0..4i64 {
        if batch == 2 {
            lite.faults().failover(Duration::from_secs(3));
        }
        for id in 0..50 {
            push(
                &mut sink,
                &[ValueRef::Int(batch * 50 + id), ValueRef::Text("x")],
            );
        }
        let started = Instant::now();
        sink.commit(&key, &json!({"batch": batch}))
            .await
            .unwrap_or_else(|e| panic!("batch {batch}: {}", chain(&e)));
        if batch == 2 {
            assert!(
                started.elapsed() >= Duration::from_secs(2),
                "the spell held"
            );
        }
    }
    assert!(retries() > before, "the retries metric shows the failover");
    let client = servers::connect(&lite.dsn()).await;
    assert_eq!(
        query_i64(&client, "SELECT count(*) FROM hg_failover.t").await,
        200
    );
}

/// The sum of the `retries` counters in a metrics text.
fn retries_counted(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("holo_host_retries_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A developer who may create tables in a schema but not schemas (Hologres's SPM and
/// SLPM developer roles): the positions table cannot go in `holo_host`, and the error
/// says what to do; with `--positions-schema` it goes where they may create it.
#[tokio::test]
async fn positions_for_a_user_who_cannot_create_schemas() {
    // A server of its own: no other test's positions table in `holo_host`.
    let lite = servers::private_lite(HOLOGRES_1_3, "developer", true);
    let admin = servers::schema_with(
        &lite.dsn(),
        "hg_dev",
        "CREATE TABLE {s}.t (id int8 PRIMARY KEY, v text); \
         GRANT USAGE ON SCHEMA {s} TO holo_developer; \
         GRANT ALL ON {s}.t TO holo_developer",
    )
    .await;
    let dsn = lite.dsn_as("holo_developer");
    let err = try_connect(&dsn, "hg_dev.t", options(WriteMode::InsertOrUpdate))
        .await
        .expect_err("holo_developer may not create schema holo_host");
    assert!(
        chain(&err).contains("--positions-schema"),
        "{}",
        chain(&err)
    );
    let write = WriteOptions {
        positions_schema: "public".into(),
        ..options(WriteMode::InsertOrUpdate)
    };
    let mut sink = connect(&dsn, "hg_dev.t", write).await;
    sink.bind(&id_v()).unwrap();
    push(&mut sink, &[ValueRef::Int(1), ValueRef::Text("x")]);
    let key = crate::support::job("hg-dev");
    sink.commit(&key, &json!({"n": 1})).await.unwrap();
    assert_eq!(
        sink.load_position(&key).await.unwrap(),
        Some(json!({"n": 1}))
    );
    let saved = query_i64(
        &admin,
        "SELECT count(*) FROM public.progress WHERE position->'source' = '{\"n\": 1}'",
    )
    .await;
    assert_eq!(saved, 1);
}

/// A child partition dropped while the load runs (by its time to live): its rows are
/// dead-lettered, as holo-client counts them dirty data, and the others are written.
#[tokio::test]
async fn rows_for_a_dropped_child_partition_are_dead_lettered() {
    let server = Server::Hologres(HOLOGRES_1_3);
    let client = server
        .schema_with(
            "hg_ttl",
            "CREATE TABLE {s}.t (id int8, region text, PRIMARY KEY (id, region)) \
             PARTITION BY LIST (region); \
             CREATE TABLE {s}.t_a PARTITION OF {s}.t FOR VALUES IN ('a'); \
             CREATE TABLE {s}.t_b PARTITION OF {s}.t FOR VALUES IN ('b')",
        )
        .await;
    let mut sink = connect(
        &server.dsn(),
        "hg_ttl.t",
        options(WriteMode::InsertOrUpdate),
    )
    .await;
    let output = [Column::new("id", ColumnType::Int), Column::text("region")];
    sink.bind(&output).unwrap();
    let key = crate::support::job("hg-ttl");
    for (id, region) in [(1, "a"), (2, "b")] {
        push(&mut sink, &[ValueRef::Int(id), ValueRef::Text(region)]);
    }
    sink.commit(&key, &json!(1)).await.unwrap();
    client.batch_execute("DROP TABLE hg_ttl.t_b").await.unwrap();
    for (id, region) in [(3, "a"), (4, "b"), (5, "a")] {
        push(&mut sink, &[ValueRef::Int(id), ValueRef::Text(region)]);
    }
    let (written, rejected) = sink
        .commit(&key, &json!(2))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(written, 2);
    let inputs: Vec<u32> = rejected.iter().map(|r| r.input).collect();
    assert_eq!(inputs, [1], "{rejected:?}");
    assert!(
        rejected[0].reason.contains("no longer exists"),
        "{}",
        rejected[0].reason
    );
    assert_eq!(query_i64(&client, "SELECT count(*) FROM hg_ttl.t").await, 3);
}

/// Hologres keeps `timestamptz` to the millisecond: what the sink sends with microseconds
/// reads back with milliseconds.
#[tokio::test]
async fn timestamptz_is_kept_to_the_millisecond() {
    let server = Server::Hologres(HOLOGRES_3_0);
    let client = server
        .schema_with(
            "hg_ms",
            "CREATE TABLE {s}.t (id int8 PRIMARY KEY, at timestamptz)",
        )
        .await;
    let mut sink = connect(&server.dsn(), "hg_ms.t", options(WriteMode::InsertOrUpdate)).await;
    sink.bind(&[Column::new("id", ColumnType::Int), Column::text("at")])
        .unwrap();
    push(
        &mut sink,
        &[
            ValueRef::Int(1),
            ValueRef::Text("2024-05-01 12:00:00.123456+00"),
        ],
    );
    sink.commit(&crate::support::job("hg-ms"), &json!(1))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    client.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    let at: String = client
        .query_one("SELECT at::text FROM hg_ms.t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(at, "2024-05-01 12:00:00.123+00");
}

/// On every server, through the binary: a keyed load on two writers killed with SIGKILL
/// mid-way and run again ends with every row once and the position at the end; a third
/// run writes nothing.
#[tokio::test]
async fn a_killed_load_resumes_exactly_once_on_every_server() {
    const N: usize = 40_000;
    let dir = scratch();
    let orders = write(dir.path(), "orders.csv", holo_seed::orders_csv(N, 5));
    for server in SERVERS {
        let client = server
            .schema_with(
                "hg_killed",
                "CREATE TABLE {s}.orders (order_id text PRIMARY KEY, user_id int8, \
                 book_id int8, book_name text, order_cnt int8, order_amt int8)",
            )
            .await;
        let args = Args::csv(&orders)
            .sink(&server.dsn(), "hg_killed.orders")
            .with(["--mode", "insert-or-update", "--writers", "2"])
            .with(["--batch-rows", "500", "--from-scratch"]);
        let mut child = args
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if query_i64(&client, "SELECT count(*) FROM hg_killed.orders").await >= 2_000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let at_kill = query_i64(&client, "SELECT count(*) FROM hg_killed.orders").await;
        let ctx = server.name();
        assert!(
            (2_000..N as i64).contains(&at_kill),
            "{ctx}: {at_kill} at kill"
        );
        let resume = Args::csv(&orders)
            .sink(&server.dsn(), "hg_killed.orders")
            .with(["--mode", "insert-or-update", "--writers", "2"])
            .with(["--batch-rows", "500"]);
        assert_success(&resume.run());
        assert_eq!(
            query_i64(&client, "SELECT count(*) FROM hg_killed.orders").await,
            N as i64,
            "{ctx}"
        );
        let stderr = assert_success(&resume.run());
        assert!(stderr.contains("wrote 0"), "{ctx}: {stderr}");
    }
}

/// On every server, through the binary: a LIST-partitioned table whose children are
/// created on demand (`--create-partitions`), rows of a value no child may take
/// dead-lettered past `--max-new-partitions`, and a second run that writes nothing.
#[tokio::test]
async fn partitions_are_created_and_written_on_every_server() {
    let dir = scratch();
    let mut csv = String::from("id,region,v\n");
    for i in 0..300 {
        csv.push_str(&format!("{i},{},x{i}\n", ["east", "west", "north"][i % 3]));
    }
    let input = write(dir.path(), "regions.csv", csv);
    let dead = dir.path().join("dead.jsonl");
    for server in SERVERS {
        let client = server
            .schema_with(
                "hg_parts",
                "CREATE TABLE {s}.t (id int8 NOT NULL, region text NOT NULL, v text, \
                 PRIMARY KEY (id, region)) PARTITION BY LIST (region)",
            )
            .await;
        let args = Args::csv(&input)
            .sink(&server.dsn(), "hg_parts.t")
            .with(["--mode", "insert-or-update", "--writers", "2"])
            .with(["--create-partitions", "--max-new-partitions", "2"])
            .dead_letter(&dead)
            .with(["--from-scratch"]);
        let stderr = assert_success(&args.run());
        let ctx = server.name();
        assert!(
            stderr.contains("wrote 200, dead-lettered 100"),
            "{ctx}: {stderr}"
        );
        let children = query_i64(
            &client,
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'hg_parts.t'::regclass",
        )
        .await;
        assert_eq!(children, 2, "{ctx}");
        assert_eq!(
            query_i64(&client, "SELECT count(*) FROM hg_parts.t").await,
            200,
            "{ctx}"
        );
        let again = Args::csv(&input)
            .sink(&server.dsn(), "hg_parts.t")
            .with(["--mode", "insert-or-update", "--writers", "2"])
            .with(["--create-partitions", "--max-new-partitions", "2"])
            .dead_letter(&dead);
        let stderr = assert_success(&again.run());
        assert!(stderr.contains("wrote 0"), "{ctx}: {stderr}");
    }
}
