//! Partitioned targets, --create-table and the plan command.

use std::collections::BTreeMap;

use holo_batch::ValueRef;
use holo_host::record::Column;
use holo_host::sink::postgres::{PostgresSink, PostgresSinkConfig, WriteMode, WriteOptions};
use serde_json::json;

use crate::support::pg::{TestPg, chain};
use crate::support::{self, assert_success, dead_letters, guest, holo_host, run, scratch, write};

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

/// Rows per book id in the ratings file.
fn ratings_per_id(csv: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for line in csv.lines().skip(1) {
        *counts
            .entry(line.split(',').next().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn enrich_args(ratings: &str) -> Vec<String> {
    vec![
        "--source".into(),
        format!("csv:{ratings}"),
        "--transform".into(),
        guest("enrich").to_str().unwrap().into(),
        "--set".into(),
        "lookup=books".into(),
        "--set".into(),
        "key=id".into(),
        "--set".into(),
        "columns=name".into(),
        "--lookup".into(),
        format!(
            "books=csv:{}?columns=id,name",
            support::data("books.csv").display()
        ),
    ]
}

/// S4: ratings joined with the books file land in a `PARTITION BY LIST (id)` table whose
/// nine children are created on demand, each holding its own rows.
#[tokio::test]
async fn s4_creates_the_nine_children_on_demand() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("s4_partitions").await;
    let client = pg.client().await;
    let parent = format!("{schema}.ratings");
    client
        .batch_execute(&format!(
            "CREATE TABLE {parent} (id int8 NOT NULL, user_id text NOT NULL, name text NOT NULL, \
             rating int2 NOT NULL) PARTITION BY LIST (id)"
        ))
        .await
        .unwrap();
    let dir = scratch();
    let csv = holo_seed::ratings_csv(900, 21);
    let ratings = write(dir.path(), "ratings.csv", &csv);
    let mut args = enrich_args(&ratings);
    let dsn = pg.dsn();
    args.extend(
        [
            "--sink",
            &dsn,
            "--table",
            &parent,
            "--create-partitions",
            "--batch-rows",
            "64",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 900, dead-lettered 0"), "{stderr}");
    let got = children(&client, &parent).await;
    let want: BTreeMap<String, (i64, String)> = ratings_per_id(&csv)
        .into_iter()
        .map(|(id, n)| {
            (
                format!("ratings_{id}"),
                (n, format!("FOR VALUES IN ('{id}')")),
            )
        })
        .collect();
    assert_eq!(got.len(), 9);
    assert_eq!(got, want);
    // Each child holds its book's name only.
    let names = holo_seed::BOOK_NAMES.map(|b| format!("'{b}'")).join(",");
    let wrong: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM {parent} r WHERE r.name <> (ARRAY[{names}])[r.id]"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0);
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
    let dsn = pg.dsn();
    for _ in 0..2 {
        let mut args = enrich_args(&ratings);
        args.extend(
            [
                "--sink",
                &dsn,
                "--table",
                &parent,
                "--create-table",
                "--primary-key",
                "id,user_id",
                "--partition-by",
                "id",
                "--table-property",
                "orientation=column",
                "--createparttable",
                "--mutatetype",
                "insertorupdate",
                "--dialect",
                "hologres",
                "--writers",
                "2",
                "--batch-rows",
                "100",
                "--from-scratch",
            ]
            .map(String::from),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = assert_success(&run(&args));
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
    let got = children(&client, &parent).await;
    let want: BTreeMap<String, (i64, String)> = ratings_per_id(&csv)
        .into_iter()
        .map(|(id, n)| {
            (
                format!("ratings_{id}"),
                (n, format!("FOR VALUES IN ('{id}')")),
            )
        })
        .collect();
    assert_eq!(got, want);
}

/// A flood of junk partition values: at most --max-new-partitions children are created,
/// the rows of the others go to the dead-letter output saying why.
#[tokio::test]
async fn junk_partition_values_stop_at_the_cap() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("part_junk").await;
    let client = pg.client().await;
    let parent = format!("{schema}.events");
    client
        .batch_execute(&format!(
            "CREATE TABLE {parent} (k text, v text) PARTITION BY LIST (k)"
        ))
        .await
        .unwrap();
    let dir = scratch();
    let mut csv = String::from("k,v\n");
    for i in 0..200 {
        csv.push_str(&format!("junk-{i},x\n"));
    }
    let input = write(dir.path(), "events.csv", &csv);
    let dl = dir.path().join("dl.jsonl");
    let dsn = pg.dsn();
    let base = [
        "--source",
        &format!("csv:{input}"),
        "--sink",
        &dsn,
        "--table",
        &parent,
        "--dead-letter",
        dl.to_str().unwrap(),
        "--batch-rows",
        "50",
    ]
    .map(String::from);
    // Without the flag, nothing is created.
    let args: Vec<&str> = base.iter().map(String::as_str).collect();
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 0, dead-lettered 200"), "{stderr}");
    let letters = dead_letters(&dl);
    assert_eq!(
        letters[0]["reason"],
        "no partition of table `part_junk.events` holds `k` = `junk-0`: create it, or pass \
         --create-partitions"
    );
    assert_eq!(letters[0]["stage"], "sink");
    std::fs::remove_file(&dl).unwrap();

    let mut args = args.clone();
    args.extend([
        "--create-partitions",
        "--max-new-partitions",
        "10",
        "--from-scratch",
    ]);
    let stderr = assert_success(&run(&args));
    assert!(stderr.contains("wrote 10, dead-lettered 190"), "{stderr}");
    assert_eq!(children(&client, &parent).await.len(), 10);
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

/// Stages rows of text values (input index = position) and commits them.
async fn load(sink: &mut PostgresSink, rows: &[Vec<Option<&str>>]) -> (u64, Vec<String>) {
    for (i, r) in rows.iter().enumerate() {
        let mut buf = Vec::new();
        for v in r {
            v.map_or(ValueRef::Null, ValueRef::Text).encode(&mut buf);
        }
        sink.push_row(i as u32, holo_batch::row_at(&buf, 0, r.len()).unwrap())
            .unwrap_or_else(|e| panic!("row {i}: {e}"));
    }
    let (written, rejected) = sink
        .commit(&crate::support::job("load"), &json!(rows.len()))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    (written, rejected.into_iter().map(|r| r.reason).collect())
}

/// Values that are awkward as SQL literals or table names: each gets a child whose bound
/// is exactly that value (PostgreSQL checks every row against its child's bound).
#[tokio::test]
async fn awkward_partition_values_get_safe_children() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("part_awkward").await;
    let client = pg.client().await;
    let parent = format!("{schema}.notes");
    client
        .batch_execute(&format!(
            "CREATE TABLE {parent} (k text, v text) PARTITION BY LIST (k)"
        ))
        .await
        .unwrap();
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
    let mut sink = PostgresSink::connect(&config(pg, &parent, WriteMode::Insert))
        .await
        .unwrap();
    sink.bind(&[Column::text("k"), Column::text("v")]).unwrap();
    let mut rows: Vec<Vec<Option<&str>>> =
        values.iter().map(|v| vec![Some(*v), Some("1")]).collect();
    rows.push(vec![None, Some("null key")]);
    let (written, rejected) = load(&mut sink, &rows).await;
    assert_eq!(rejected, Vec::<String>::new());
    assert_eq!(written, rows.len() as u64);
    let got = children(&client, &parent).await;
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
    let mut sink = PostgresSink::connect(&config(pg, &parent, WriteMode::Insert))
        .await
        .unwrap();
    sink.bind(&[Column::text("k"), Column::text("v")]).unwrap();
    let (written, _) = load(&mut sink, &rows).await;
    assert_eq!(written, rows.len() as u64);
    assert_eq!(children(&client, &parent).await.len(), rows.len());
}

/// Integer and date keys match existing children whatever their spelling, and a child
/// another session creates meanwhile (under another name) is found and used.
#[tokio::test]
async fn integer_and_date_keys_and_a_creation_race() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("part_typed").await;
    let client = pg.client().await;
    client
        .batch_execute(&format!(
            "CREATE TABLE {schema}.by_day (day date, n int8, PRIMARY KEY (day, n)) \
               PARTITION BY LIST (day); \
             CREATE TABLE {schema}.feb1 PARTITION OF {schema}.by_day FOR VALUES IN ('2024-02-01'); \
             CREATE TABLE {schema}.by_num (id int4, v text) PARTITION BY LIST (id); \
             CREATE TABLE {schema}.seven PARTITION OF {schema}.by_num FOR VALUES IN (7, 8)"
        ))
        .await
        .unwrap();
    // Dates, upserted with a delete in the batch.
    let mut sink = PostgresSink::connect(&config(
        pg,
        &format!("{schema}.by_day"),
        WriteMode::InsertOrReplace,
    ))
    .await
    .unwrap();
    sink.bind(&[Column::text("day"), Column::text("n")])
        .unwrap();
    let (written, rejected) = load(
        &mut sink,
        &[
            vec![Some("2024-02-01"), Some("1")],
            vec![Some("2024-02-01"), Some("2")],
            vec![Some("2024-01-31 "), Some("3")],
        ],
    )
    .await;
    assert_eq!((written, rejected.len()), (3, 0));
    let buf = {
        let mut b = Vec::new();
        ValueRef::Text("2024-02-01").encode(&mut b);
        ValueRef::Text("2").encode(&mut b);
        b
    };
    sink.push_delete(0, holo_batch::row_at(&buf, 0, 2).unwrap())
        .unwrap();
    sink.commit(&crate::support::job("load"), &json!("del"))
        .await
        .unwrap();
    let got = children(&client, &format!("{schema}.by_day")).await;
    assert_eq!(got["feb1"].0, 1, "{got:?}");
    assert_eq!(
        got["by_day_2024-01-31"],
        (1, "FOR VALUES IN ('2024-01-31')".to_owned())
    );

    // Integers: `007` is 7. Meanwhile another session creates the child for 9 under a
    // name of its own: creating ours fails as overlapping, and the sink uses theirs.
    let mut sink =
        PostgresSink::connect(&config(pg, &format!("{schema}.by_num"), WriteMode::Insert))
            .await
            .unwrap();
    sink.bind(&[Column::text("id"), Column::text("v")]).unwrap();
    client
        .batch_execute(&format!(
            "CREATE TABLE {schema}.theirs PARTITION OF {schema}.by_num FOR VALUES IN (9)"
        ))
        .await
        .unwrap();
    let (written, rejected) = load(
        &mut sink,
        &[
            vec![Some("007"), Some("a")],
            vec![Some("8"), Some("b")],
            vec![Some("9"), Some("c")],
            vec![Some("-4"), Some("d")],
        ],
    )
    .await;
    assert_eq!((written, rejected.len()), (4, 0));
    let got = children(&client, &format!("{schema}.by_num")).await;
    assert_eq!(got["seven"].0, 2);
    assert_eq!(got["theirs"].0, 1);
    assert_eq!(got["by_num_-4"], (1, "FOR VALUES IN ('-4')".to_owned()));

    // The name `by_num_10` is taken by a plain table: the child gets another name.
    client
        .batch_execute(&format!("CREATE TABLE {schema}.by_num_10 (x int)"))
        .await
        .unwrap();
    let (written, _) = load(&mut sink, &[vec![Some("10"), Some("e")]]).await;
    assert_eq!(written, 1);
    let got = children(&client, &format!("{schema}.by_num")).await;
    let (name, _) = got
        .iter()
        .find(|(_, (_, bound))| bound.contains("10"))
        .expect("a child for 10");
    assert!(
        name.starts_with("by_num_10_") && name.len() == "by_num_10_".len() + 8,
        "{name}"
    );

    // Two sinks create the child for 11 at the same moment: one wins, the other finds it.
    let connect = || async {
        let mut s =
            PostgresSink::connect(&config(pg, &format!("{schema}.by_num"), WriteMode::Insert))
                .await
                .unwrap();
        s.bind(&[Column::text("id"), Column::text("v")]).unwrap();
        s
    };
    let (mut a, mut b) = (connect().await, connect().await);
    let rows = [vec![Some("11"), Some("f")]];
    let ((wa, ra), (wb, rb)) = tokio::join!(load(&mut a, &rows), load(&mut b, &rows));
    assert_eq!((wa, wb), (1, 1), "{ra:?} {rb:?}");
    let got = children(&client, &format!("{schema}.by_num")).await;
    assert_eq!(got["by_num_11"].0, 2, "{got:?}");
}

/// `plan` prints the mapping, the mode and the SQL for a partitioned target, and writes
/// nothing (not even a missing table it would create).
#[tokio::test]
async fn plan_shows_the_sql_for_a_partitioned_target() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("part_plan").await;
    let client = pg.client().await;
    let parent = format!("{schema}.ratings");
    client
        .batch_execute(&format!(
            "CREATE TABLE {parent} (id int8, user_id text, name text, rating int2, \
               note text DEFAULT 'none', PRIMARY KEY (id, user_id)) PARTITION BY LIST (id); \
             CREATE TABLE {schema}.ratings_1 PARTITION OF {parent} FOR VALUES IN (1)"
        ))
        .await
        .unwrap();
    let dir = scratch();
    let ratings = write(dir.path(), "ratings.csv", holo_seed::ratings_csv(20, 3));
    let dsn = pg.dsn();
    let mut args = vec!["plan".to_owned()];
    args.extend(enrich_args(&ratings));
    args.extend(
        [
            "--sink",
            &dsn,
            "--table",
            &parent,
            "--mode",
            "insert-or-replace",
            "--create-partitions",
        ]
        .map(String::from),
    );
    let out = holo_host().args(&args).output().unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
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
        "ON CONFLICT (\"id\", \"user_id\") DO UPDATE SET \"rating\" = excluded.\"rating\", \
         \"name\" = excluded.\"name\", \"note\" = DEFAULT;",
        "INSERT INTO holo_host.progress",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let rows: i64 = client
        .query_one(&format!("SELECT count(*) FROM {parent}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    assert_eq!(children(&client, &parent).await.len(), 1);

    // A missing table: the DDL is shown (Hologres properties with the hologres dialect),
    // and the table is still missing afterwards.
    let missing = format!("{schema}.fresh");
    let mut args = vec!["plan".to_owned()];
    args.extend(enrich_args(&ratings));
    args.extend(
        [
            "--sink",
            &dsn,
            "--table",
            &missing,
            "--create-table",
            "--primary-key",
            "id,user_id",
            "--partition-by",
            "id",
            "--table-property",
            "orientation=column",
            "--dialect",
            "hologres",
        ]
        .map(String::from),
    );
    let out = holo_host().args(&args).output().unwrap();
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
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
