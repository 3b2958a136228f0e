//! Transactions by version and setting, DDL transactions, SAVEPOINT.

use crate::{connect, count, db_error, server};

#[tokio::test]
async fn rollback_undoes_nothing_before_2_0() {
    let s = server("1.3.30");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1, 'a')")
        .await
        .unwrap();
    c.execute("INSERT INTO t VALUES (2, 'b')", &[])
        .await
        .unwrap();
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&c, "t").await, 2);
    // The client saw a transaction: tokio-postgres's own BEGIN/ROLLBACK work.
    let mut c = c;
    let tx = c.transaction().await.unwrap();
    tx.execute("INSERT INTO t VALUES (3, 'c')", &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(count(&c, "t").await, 3);
}

#[tokio::test]
async fn real_dml_transactions_from_2_0_with_the_setting() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY)")
        .await
        .unwrap();
    c.batch_execute("BEGIN; INSERT INTO t VALUES (1); ROLLBACK")
        .await
        .unwrap();
    assert_eq!(
        count(&c, "t").await,
        1,
        "off by default: each statement commits"
    );
    c.batch_execute("SET hg_experimental_enable_transaction = on")
        .await
        .unwrap();
    c.batch_execute("BEGIN; INSERT INTO t VALUES (2)")
        .await
        .unwrap();
    c.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(count(&c, "t").await, 1);
    c.batch_execute("BEGIN; INSERT INTO t VALUES (2)")
        .await
        .unwrap();
    let e = c.batch_execute("CREATE TABLE u (a int)").await.unwrap_err();
    assert_eq!(
        db_error(&e),
        (
            "0A000".into(),
            "CREATE in dml transaction is not supported now".into()
        )
    );
    // A failed statement aborts the transaction ("SQL transaction capabilities").
    c.batch_execute("COMMIT").await.unwrap();
    assert_eq!(count(&c, "t").await, 1);
}

#[tokio::test]
async fn ddl_transactions_refuse_dml() {
    let s = server("1.3.30");
    let c = connect(&s.dsn()).await;
    let e = c
        .batch_execute("BEGIN; CREATE TABLE t (id int); INSERT INTO t VALUES (1); COMMIT")
        .await
        .unwrap_err();
    assert_eq!(
        db_error(&e),
        (
            "0A000".into(),
            "INSERT in ddl transaction is not supported now".into()
        )
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    // Across queries and through the extended protocol too.
    c.batch_execute("BEGIN").await.unwrap();
    c.execute("CREATE TABLE t2 (id int)", &[]).await.unwrap();
    let e = c.execute("DELETE FROM t2", &[]).await.unwrap_err();
    assert_eq!(
        db_error(&e).1,
        "DELETE in ddl transaction is not supported now"
    );
    c.batch_execute("ROLLBACK").await.unwrap();
    assert!(
        c.query_opt("SELECT to_regclass('t2')::text", &[])
            .await
            .unwrap()
            .unwrap()
            .get::<_, Option<String>>(0)
            .is_none()
    );
}

#[tokio::test]
async fn create_table_with_properties_as_holo_host_does() {
    let s = server("1.1.10");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE SCHEMA s").await.unwrap();
    c.batch_execute(
        "BEGIN;\nCREATE TABLE s.t (id bigint NOT NULL, at timestamptz, PRIMARY KEY (id));\n\
         CALL set_table_property('s.t', 'orientation', 'column');\n\
         CALL set_table_property('s.t', 'distribution_key', 'id');\nCOMMIT;",
    )
    .await
    .unwrap();
    let v: String = c
        .query_one(
            "SELECT value FROM hologres_lite.table_properties WHERE table_name = 's.t' AND property = 'orientation'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "column");
    c.execute("INSERT INTO s.t VALUES (1, now())", &[])
        .await
        .unwrap();
}

#[tokio::test]
async fn savepoints_and_returning_are_refused() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
        .await
        .unwrap();
    for sql in [
        "SAVEPOINT a",
        "RELEASE SAVEPOINT a",
        "ROLLBACK TO SAVEPOINT a",
    ] {
        let e = c.batch_execute(sql).await.unwrap_err();
        assert_eq!(db_error(&e).0, "0A000", "{sql}");
    }
    let e = c
        .execute("UPDATE t SET v = 1 RETURNING id", &[])
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
    let e = c
        .batch_execute("DELETE FROM t RETURNING *")
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
    // The connection goes on.
    c.batch_execute("INSERT INTO t VALUES (1, 1)")
        .await
        .unwrap();
}
