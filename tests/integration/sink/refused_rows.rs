//! Rows the server refuses on a plain insert into a keyed table: those whose keys the
//! table holds already are found by one lookup, not by halving the batch row by row.

use holo_host::record::{Column, ColumnType};
use holo_host::sink::postgres::WriteMode;

use crate::sink::write_modes::{Op, PATHS, apply, connect};
use crate::support::pg::TestPg;

/// A plain insert of rows whose keys the table holds already (a reload): every such row is
/// refused with the message the server gives for it, the others are written, and a
/// duplicate inside the batch and a bad value are still found alone.
#[tokio::test]
async fn rows_already_in_the_table_are_refused_at_once() {
    let pg = TestPg::shared();
    let schema = pg.fresh_schema("write_reload").await;
    for (p, path) in PATHS.iter().enumerate().filter(|(_, p)| !p.autocommit()) {
        let (dsn, client) = path.server(pg).await;
        let table = format!("{schema}.t_{p}");
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; \
                 CREATE TABLE {table} (id int8 PRIMARY KEY, name text, \
                 qty int4 CHECK (qty > 0), note text); \
                 INSERT INTO {table} SELECT i, 'old', 1 FROM generate_series(0, 48, 2) i"
            ))
            .await
            .unwrap();
        let mut sink = connect(&dsn, &table, WriteMode::Insert, *path).await;
        sink.bind(&[
            Column::new("id", ColumnType::Int),
            Column::text("name"),
            Column::new("qty", ColumnType::Int),
        ])
        .unwrap();
        let mut ops: Vec<Op> = (0..100).map(|i| Op::Row(i, "new", 1)).collect();
        ops.push(Op::Row(99, "again", 1));
        ops.push(Op::Row(200, "bad", -1));
        let quoted = format!("\"{schema}\".\"t_{p}\"");
        let before = holo_host::metrics::global().split_statements(&quoted);
        let (written, rejected) = apply(&mut sink, "reload", &ops).await;
        let ctx = format!("{path:?}");
        // One lookup finds the 25 present keys; halving alone would need two tries each.
        let tries = holo_host::metrics::global().split_statements(&quoted) - before;
        assert!((1..25).contains(&tries), "{ctx}: {tries} tries");
        let inputs: Vec<u32> = rejected.iter().map(|r| r.input).collect();
        let expected: Vec<u32> = (0..50).step_by(2).chain([100, 101]).collect();
        assert_eq!(inputs, expected, "{ctx}");
        assert_eq!(written, 75, "{ctx}");
        let reason = |input: u32| &rejected.iter().find(|r| r.input == input).unwrap().reason;
        // Found by the lookup, and by the server itself: the same words.
        assert_eq!(
            *reason(0),
            reason(100).replace("=(99)", "=(0)"),
            "{ctx}: {rejected:?}"
        );
        assert!(
            reason(0).contains("duplicate key value violates unique constraint \"t_"),
            "{ctx}: {}",
            reason(0)
        );
        assert!(
            reason(101).contains("check constraint"),
            "{ctx}: {}",
            reason(101)
        );
        let count: i64 = client
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE name = 'new'"),
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 75, "{ctx}");

        // A key of two columns, one of them text that needs quoting in the message.
        let pair = format!("{schema}.t_{p}_pair");
        client
            .batch_execute(&format!(
                "CREATE TABLE {pair} (id int8, \"Name\" text, qty int4, PRIMARY KEY (id, \"Name\")); \
                 INSERT INTO {pair} VALUES (1, 'o''k', 1), (2, 'x', 1)"
            ))
            .await
            .unwrap();
        let mut sink = connect(&dsn, &pair, WriteMode::Insert, *path).await;
        sink.bind(&[
            Column::new("id", ColumnType::Int),
            Column::text("Name"),
            Column::new("qty", ColumnType::Int),
        ])
        .unwrap();
        let ops = [Op::Row(1, "o'k", 1), Op::Row(2, "y", 1), Op::Row(3, "x", 1)];
        let (written, rejected) = apply(&mut sink, "reload-pair", &ops).await;
        assert_eq!(written, 2, "{ctx}");
        assert_eq!(rejected.len(), 1, "{ctx}: {rejected:?}");
        assert_eq!(
            rejected[0].reason,
            "rejected by the server: duplicate key value violates unique constraint \
             \"t_0_pair_pkey\" (Key (id, \"Name\")=(1, o'k) already exists.)"
                .replace("t_0_", &format!("t_{p}_")),
            "{ctx}"
        );
    }
}
