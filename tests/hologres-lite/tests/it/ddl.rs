//! DDL rules: timestamptz to the millisecond, LIST partitions of one value per child, no
//! writes into a partition parent.

use crate::{connect, db_error, server};

#[tokio::test]
async fn timestamptz_keeps_milliseconds() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute(
        "CREATE TABLE t (at timestamptz, at2 timestamp with time zone, plain timestamp)",
    )
    .await
    .unwrap();
    c.batch_execute("INSERT INTO t VALUES ('2024-01-01 00:00:00.123456+00', '2024-01-01 00:00:00.1234+00', '2024-01-01 00:00:00.123456')")
        .await
        .unwrap();
    let row = c
        .query_one("SELECT extract(microseconds FROM at)::int, extract(microseconds FROM at2)::int, extract(microseconds FROM plain)::int FROM t", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 123_000);
    assert_eq!(row.get::<_, i32>(1), 123_000);
    assert_eq!(
        row.get::<_, i32>(2),
        123_456,
        "timestamp keeps microseconds"
    );
}

#[tokio::test]
async fn partition_rules() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    let e = c
        .batch_execute("CREATE TABLE r (a int, d date) PARTITION BY RANGE (d)")
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
    // PostgreSQL itself refuses a LIST partition key of two columns.
    assert!(
        c.batch_execute("CREATE TABLE m (a int, b text) PARTITION BY LIST (a, b)")
            .await
            .is_err()
    );
    let e = c
        .batch_execute("CREATE TABLE k (a bigint) PARTITION BY LIST (a)")
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
    c.batch_execute(
        "CREATE TABLE p (id int, ds text NOT NULL, PRIMARY KEY (id, ds)) PARTITION BY LIST (ds)",
    )
    .await
    .unwrap();
    let e = c
        .batch_execute("CREATE TABLE p_x PARTITION OF p FOR VALUES IN ('a', 'b')")
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
    c.batch_execute("CREATE TABLE p_a PARTITION OF p FOR VALUES IN ('a,b')")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO p_a VALUES (1, 'a,b')")
        .await
        .unwrap();
    let e = c
        .execute("INSERT INTO p VALUES (2, 'a,b')", &[])
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
}
