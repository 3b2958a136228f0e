//! Partitioned targets, --create-table and the plan command.

use std::collections::BTreeMap;

use holo_batch::ValueRef;
use holo_host::record::Column;
use holo_host::sink::postgres::{PostgresSink, PostgresSinkConfig, WriteMode, WriteOptions};
use serde_json::json;

use crate::support::pg::{TestPg, chain};
use crate::support::{
    Args, RATINGS, assert_success, book_name_mismatches, books_csv, dead_letters, scratch, write,
};

/// `(child table, rows)` of each child of `parent`, and the values its bound lists.
async fn children(
    client: &tokio_postgres::Client,
    parent: &str,
) -> BTreeMap<String, (i64, String)> {
    let rows = client
        .query(
            "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) \
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = $1::text::regclass",
            &[&parent],
        )
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for r in rows {
        let name: String = r.get(0);
        let schema = parent.split('.').next().unwrap();
        let n: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM {schema}.\"{}\"",
                    name.replace('"', "\"\"")
                ),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        out.insert(name, (n, r.get(1)));
    }
    out
}

/// The children (as [`children`] lists them) that the ratings file gives a ratings table
/// partitioned by book id: one per id, holding its rows.
fn children_per_book(csv: &str) -> BTreeMap<String, (i64, String)> {
    let mut counts = BTreeMap::new();
    for line in csv.lines().skip(1) {
        *counts
            .entry(line.split(',').next().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
        .into_iter()
        .map(|(id, n)| {
            (
                format!("ratings_{id}"),
                (n, format!("FOR VALUES IN ('{id}')")),
            )
        })
        .collect()
}

/// The ratings file `ratings` joined with the books file by the `enrich` example.
fn enrich(ratings: &str) -> Args {
    Args::csv(ratings).enrich("id", "name", &books_csv())
}

/// `--create-table` for the enriched ratings: keyed by rating, partitioned by book, stored
/// by column on Hologres.
const CREATE_RATINGS: [&str; 7] = [
    "--create-table",
    "--primary-key",
    "id,user_id",
    "--partition-by",
    "id",
    "--table-property",
    "orientation=column",
];

/// Columns of a table partitioned by its text key `k`.
const BY_K: &str = "(k text, v text) PARTITION BY LIST (k)";

/// S4: ratings joined with the books file land in a `PARTITION BY LIST (id)` table whose
/// nine children are created on demand, each holding its own rows.
#[tokio::test]
async fn s4_creates_the_nine_children_on_demand() {
    let pg = TestPg::shared();
    let parent = "s4_partitions.ratings";
    let client = pg
        .schema_with(
            "s4_partitions",
            &format!("CREATE TABLE {parent} {RATINGS} PARTITION BY LIST (id)"),
        )
        .await;
    let dir = scratch();
    let csv = holo_seed::ratings_csv(900, 21);
    let ratings = write(dir.path(), "ratings.csv", &csv);
    let args = enrich(&ratings).sink(&pg.dsn(), parent).with([
        "--create-partitions",
        "--batch-rows",
        "64",
    ]);
    let stderr = assert_success(&args.run());
    assert!(stderr.contains("wrote 900, dead-lettered 0"), "{stderr}");
    let got = children(&client, parent).await;
    assert_eq!(got.len(), 9);
    assert_eq!(got, children_per_book(&csv));
    // Each child holds its book's name only.
    assert_eq!(book_name_mismatches(parent).await, 0);
}

/// S4 with nothing prepared: --create-table makes the partitioned table from the
/// transform's output, keyed upserts go through the Hologres (autocommit) path on two
/// writers, and a second run of the same file changes nothing.
#[tokio::test]
async fn s4_creates_the_table_and_upserts_through_the_hologres_path() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("s4_create").await;
    let client = pg.client().await;
    let parent = format!("{schema}.ratings");
    let dir = scratch();
    let csv = holo_seed::ratings_csv(500, 22);
    let ratings = write(dir.path(), "ratings.csv", &csv);
    let args = enrich(&ratings)
        .sink(&pg.dsn(), &parent)
        .with(CREATE_RATINGS)
        .with(["--createparttable", "--mutatetype", "insertorupdate"])
        .with([
            "--dialect",
            "hologres",
            "--writers",
            "2",
            "--batch-rows",
            "100",
        ])
        .with(["--from-scratch"]);
    for _ in 0..2 {
        let stderr = assert_success(&args.run());
        assert!(stderr.contains("wrote 500, dead-lettered 0"), "{stderr}");
    }
    let columns: Vec<(String, String, bool)> = client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute \
             WHERE attrelid = $1::text::regclass AND attnum > 0 ORDER BY attnum",
            &[&parent],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let col = |n: &str, t: &str, nn| (n.to_owned(), t.to_owned(), nn);
    assert_eq!(
        columns,
        [
            col("id", "text", true),
            col("user_id", "text", true),
            col("rating", "text", false),
            col("name", "text", false),
        ]
    );
    assert_eq!(children(&client, &parent).await, children_per_book(&csv));
}

/// A flood of junk partition values: at most --max-new-partitions children are created,
/// the rows of the others go to the dead-letter output saying why.
#[tokio::test]
async fn junk_partition_values_stop_at_the_cap() {
    let pg = TestPg::shared();
    let parent = "part_junk.events";
    let client = pg
        .schema_with("part_junk", &format!("CREATE TABLE {parent} {BY_K}"))
        .await;
    let dir = scratch();
    let mut csv = String::from("k,v\n");
    for i in 0..200 {
        csv.push_str(&format!("junk-{i},x\n"));
    }
    let input = write(dir.path(), "events.csv", &csv);
    let dl = dir.path().join("dl.jsonl");
    let args = Args::csv(&input)
        .sink(&pg.dsn(), parent)
        .dead_letter(&dl)
        .with(["--batch-rows", "50"]);
    // Without the flag, nothing is created.
    let stderr = assert_success(&args.run());
    assert!(stderr.contains("wrote 0, dead-lettered 200"), "{stderr}");
    let letters = dead_letters(&dl);
    assert_eq!(
        letters[0]["reason"],
        "no partition of table `part_junk.events` holds `k` = `junk-0`: create it, or pass \
         --create-partitions"
    );
    assert_eq!(letters[0]["stage"], "sink");
    std::fs::remove_file(&dl).unwrap();

    let args = args.with([
        "--create-partitions",
        "--max-new-partitions",
        "10",
        "--from-scratch",
    ]);
    let stderr = assert_success(&args.run());
    assert!(stderr.contains("wrote 10, dead-lettered 190"), "{stderr}");
    assert_eq!(children(&client, parent).await.len(), 10);
    let letters = dead_letters(&dl);
    assert_eq!(letters.len(), 190);
    assert_eq!(letters[0]["record"]["k"], "junk-10");
    assert!(
        letters[0]["reason"]
            .as_str()
            .unwrap()
            .contains("this run already created 10 partitions (--max-new-partitions 10)"),
        "{}",
        letters[0]
    );
}

fn config(pg: &TestPg, table: &str, mode: WriteMode) -> PostgresSinkConfig {
    PostgresSinkConfig {
        dsn: pg.dsn(),
        table: table.into(),
        write: WriteOptions {
            mode,
            create_partitions: true,
            ..WriteOptions::default()
        },
    }
}

/// A sink into `table` in `mode`, creating partitions, bound to the text columns `columns`.
async fn open_sink(pg: &TestPg, table: &str, mode: WriteMode, columns: [&str; 2]) -> PostgresSink {
    let mut sink = PostgresSink::connect(&config(pg, table, mode))
        .await
        .unwrap();
    sink.bind(&columns.map(Column::text)).unwrap();
    sink
}

/// Rows of text values, none null.
fn texts<'a>(rows: &[[&'a str; 2]]) -> Vec<[Option<&'a str>; 2]> {
    rows.iter().map(|r| r.map(Some)).collect()
}

/// The job of the loads into `sink`'s table: one per table, so tests running side by side
/// never move each other's positions (which are compare-and-set).
fn load_job(sink: &PostgresSink) -> holo_host::position::JobKey {
    holo_host::position::JobKey::new("load", &sink.destination())
}

/// Stages rows of text values (input index = position) and commits them.
async fn load(sink: &mut PostgresSink, rows: &[[Option<&str>; 2]]) -> (u64, Vec<String>) {
    for (i, r) in rows.iter().enumerate() {
        let mut buf = Vec::new();
        for v in r {
            v.map_or(ValueRef::Null, ValueRef::Text).encode(&mut buf);
        }
        sink.push_row(i as u32, holo_batch::row_at(&buf, 0, r.len()).unwrap())
            .unwrap_or_else(|e| panic!("row {i}: {e}"));
    }
    let (written, rejected) = sink
        .commit(&load_job(sink), &json!(rows.len()))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    (written, rejected.into_iter().map(|r| r.reason).collect())
}

/// Values that are awkward as SQL literals or table names: each gets a child whose bound
/// is exactly that value (PostgreSQL checks every row against its child's bound).
#[tokio::test]
async fn awkward_partition_values_get_safe_children() {
    let pg = TestPg::shared();
    let parent = "part_awkward.notes";
    let client = pg
        .schema_with("part_awkward", &format!("CREATE TABLE {parent} {BY_K}"))
        .await;
    let long = "色彩を持たない多崎つくると彼の巡礼の年".repeat(2);
    let values = [
        "嫌われる勇気",
        "a b",
        "it's",
        "x/y",
        r"back\slash",
        "\"; DROP TABLE notes; --",
        long.as_str(),
        "",
    ];
    let mut sink = open_sink(pg, parent, WriteMode::Insert, ["k", "v"]).await;
    let mut rows: Vec<[Option<&str>; 2]> = values.iter().map(|v| [Some(*v), Some("1")]).collect();
    rows.push([None, Some("null key")]);
    let (written, rejected) = load(&mut sink, &rows).await;
    assert_eq!(rejected, Vec::<String>::new());
    assert_eq!(written, rows.len() as u64);
    let got = children(&client, parent).await;
    assert_eq!(got.len(), rows.len(), "{got:?}");
    assert!(got.values().all(|(n, _)| *n == 1), "{got:?}");
    assert!(got.contains_key("notes_嫌われる勇気"), "{got:?}");
    assert!(got.keys().all(|n| n.len() <= 63), "{got:?}");
    for (v, count) in values.iter().zip(0..) {
        let found: i64 = client
            .query_one(&format!("SELECT count(*) FROM {parent} WHERE k = $1"), &[v])
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 1, "value {count}: {v:?}");
    }
    // A second sink knows the children from the catalog and creates none.
    let mut sink = open_sink(pg, parent, WriteMode::Insert, ["k", "v"]).await;
    let (written, _) = load(&mut sink, &rows).await;
    assert_eq!(written, rows.len() as u64);
    assert_eq!(children(&client, parent).await.len(), rows.len());
}

/// Integer and date keys match existing children whatever their spelling, and a child
/// another session creates meanwhile (under another name) is found and used.
#[tokio::test]
async fn integer_and_date_keys_and_a_creation_race() {
    let pg = TestPg::shared();
    let schema = "part_typed";
    let client = pg
        .schema_with(
            schema,
            "CREATE TABLE {s}.by_day (day date, n int8, PRIMARY KEY (day, n)) \
               PARTITION BY LIST (day); \
             CREATE TABLE {s}.feb1 PARTITION OF {s}.by_day FOR VALUES IN ('2024-02-01'); \
             CREATE TABLE {s}.by_num (id int4, v text) PARTITION BY LIST (id); \
             CREATE TABLE {s}.seven PARTITION OF {s}.by_num FOR VALUES IN (7, 8)",
        )
        .await;
    let by_day = format!("{schema}.by_day");
    let by_num = format!("{schema}.by_num");
    // Dates, upserted with a delete in the batch.
    let mut sink = open_sink(pg, &by_day, WriteMode::InsertOrReplace, ["day", "n"]).await;
    let dates = [
        ["2024-02-01", "1"],
        ["2024-02-01", "2"],
        ["2024-01-31 ", "3"],
    ];
    let (written, rejected) = load(&mut sink, &texts(&dates)).await;
    assert_eq!((written, rejected.len()), (3, 0));
    let buf = {
        let mut b = Vec::new();
        ValueRef::Text("2024-02-01").encode(&mut b);
        ValueRef::Text("2").encode(&mut b);
        b
    };
    sink.push_delete(0, holo_batch::row_at(&buf, 0, 2).unwrap())
        .unwrap();
    sink.commit(&load_job(&sink), &json!("del")).await.unwrap();
    let got = children(&client, &by_day).await;
    assert_eq!(got["feb1"].0, 1, "{got:?}");
    assert_eq!(
        got["by_day_2024-01-31"],
        (1, "FOR VALUES IN ('2024-01-31')".to_owned())
    );
    // A delete for a value no child holds deletes nothing and creates no child, even with
    // --create-partitions (holo-client skips it the same way).
    let buf = {
        let mut b = Vec::new();
        ValueRef::Text("2031-12-31").encode(&mut b);
        ValueRef::Text("1").encode(&mut b);
        b
    };
    sink.push_delete(0, holo_batch::row_at(&buf, 0, 2).unwrap())
        .unwrap();
    let (written, rejected) = sink
        .commit(&load_job(&sink), &json!("del-missing"))
        .await
        .unwrap();
    assert_eq!((written, rejected), (0, vec![]));
    let after = children(&client, &by_day).await;
    assert_eq!(after, got, "no child was created for a delete");

    // Integers: `007` is 7. Meanwhile another session creates the child for 9 under a
    // name of its own: creating ours fails as overlapping, and the sink uses theirs.
    let mut sink = open_sink(pg, &by_num, WriteMode::Insert, ["id", "v"]).await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {schema}.theirs PARTITION OF {schema}.by_num FOR VALUES IN (9)"
        ))
        .await
        .unwrap();
    let numbers = [["007", "a"], ["8", "b"], ["9", "c"], ["-4", "d"]];
    let (written, rejected) = load(&mut sink, &texts(&numbers)).await;
    assert_eq!((written, rejected.len()), (4, 0));
    let got = children(&client, &by_num).await;
    assert_eq!(got["seven"].0, 2);
    assert_eq!(got["theirs"].0, 1);
    assert_eq!(got["by_num_-4"], (1, "FOR VALUES IN ('-4')".to_owned()));

    // The name `by_num_10` is taken by a plain table: the child gets another name.
    client
        .batch_execute(&format!("CREATE TABLE {schema}.by_num_10 (x int)"))
        .await
        .unwrap();
    let (written, _) = load(&mut sink, &texts(&[["10", "e"]])).await;
    assert_eq!(written, 1);
    let got = children(&client, &by_num).await;
    let (name, _) = got
        .iter()
        .find(|(_, (_, bound))| bound.contains("10"))
        .expect("a child for 10");
    assert!(
        name.starts_with("by_num_10_") && name.len() == "by_num_10_".len() + 8,
        "{name}"
    );

    // Two sinks create the child for 11 at the same moment: one wins, the other finds it.
    let connect = || open_sink(pg, &by_num, WriteMode::Insert, ["id", "v"]);
    let (mut a, mut b) = (connect().await, connect().await);
    let rows = texts(&[["11", "f"]]);
    let ((wa, ra), (wb, rb)) = tokio::join!(load(&mut a, &rows), load(&mut b, &rows));
    assert_eq!((wa, wb), (1, 1), "{ra:?} {rb:?}");
    let got = children(&client, &by_num).await;
    assert_eq!(got["by_num_11"].0, 2, "{got:?}");
}

/// `plan` prints the mapping, the mode and the SQL for a partitioned target, and writes
/// nothing (not even a missing table it would create).
#[tokio::test]
async fn plan_shows_the_sql_for_a_partitioned_target() {
    let pg = TestPg::shared();
    let schema = "part_plan";
    let parent = "part_plan.ratings";
    let client = pg
        .schema_with(
            schema,
            "CREATE TABLE {s}.ratings (id int8, user_id text, name text, rating int2, \
               note text DEFAULT 'none', PRIMARY KEY (id, user_id)) PARTITION BY LIST (id); \
             CREATE TABLE {s}.ratings_1 PARTITION OF {s}.ratings FOR VALUES IN (1)",
        )
        .await;
    let dir = scratch();
    let ratings = write(dir.path(), "ratings.csv", holo_seed::ratings_csv(20, 3));
    let dsn = pg.dsn();
    let text = enrich(&ratings)
        .sink(&dsn, parent)
        .with(["--mode", "insert-or-replace", "--create-partitions"])
        .plan();
    for want in [
        "mode:     insert-or-replace (key (id, user_id)); 1 writer",
        "partitions: LIST (id), rows routed to the child holding their value; 1 existing: \
         \"part_plan\".\"ratings_1\" (1)",
        "missing children: created on demand, at most 64 per run",
        "  id (text) -> \"id\" (bigint)  [key]",
        "  name (text) -> \"name\" (text)",
        "  (not in the output) -> \"note\" : default on insert, reset to its default on conflict",
        "CREATE TABLE \"part_plan\".\"ratings_<value>\" PARTITION OF \"part_plan\".\"ratings\" \
         FOR VALUES IN ('<value>');",
        "DELETE FROM \"part_plan\".\"ratings_<value>\" WHERE (\"id\", \"user_id\") IN (SELECT * \
         FROM unnest($1::int8[], $2::text[]));",
        "-- the rows of the batch (to each child): INSERT with unnest array parameters (Fixed Plan)",
        "SELECT unnest($1::int8[]), unnest($2::text[]), unnest($3::int2[]), unnest($4::text[]) ",
        "ON CONFLICT (\"id\", \"user_id\") DO UPDATE SET \"id\" = excluded.\"id\", \
         \"user_id\" = excluded.\"user_id\", \"rating\" = excluded.\"rating\", \
         \"name\" = excluded.\"name\", \"note\" = DEFAULT;",
        "INSERT INTO \"holo_host\".progress",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let rows: i64 = client
        .query_one(&format!("SELECT count(*) FROM {parent}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    assert_eq!(children(&client, parent).await.len(), 1);

    // A missing table: the DDL is shown (Hologres properties with the hologres dialect),
    // and the table is still missing afterwards.
    let missing = format!("{schema}.fresh");
    let text = enrich(&ratings)
        .sink(&dsn, &missing)
        .with(CREATE_RATINGS)
        .with(["--dialect", "hologres"])
        .plan();
    for want in [
        "CREATE TABLE \"part_plan\".\"fresh\" (\"id\" text NOT NULL, \"user_id\" text NOT NULL, \
         \"rating\" text, \"name\" text, PRIMARY KEY (\"id\", \"user_id\")) PARTITION BY LIST \
         (\"id\");",
        "CALL set_table_property('part_plan.fresh', 'orientation', 'column');",
        "dialect:  hologres (autocommit statements; the position is written after the rows)",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&missing])
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "plan created the table");
}
