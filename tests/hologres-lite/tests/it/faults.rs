//! Faults: failover, transient errors, lost replies.

use crate::{connect, count, db_error, server};
use std::time::Duration;

#[tokio::test]
async fn failover_closes_connections_and_refuses_for_its_spell() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    s.faults().failover(Duration::from_millis(1500));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(c.batch_execute("SELECT 1").await.is_err());
    assert!(c.is_closed());
    let e = tokio_postgres::connect(&s.dsn(), tokio_postgres::NoTls)
        .await
        .err()
        .expect("refused during failover");
    assert_eq!(db_error(&e).0, "08006");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let c = connect(&s.dsn()).await;
    c.batch_execute("INSERT INTO t VALUES (1)").await.unwrap();
}

#[tokio::test]
async fn failover_from_a_client() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("HOLOGRES_LITE FAILOVER 0.5").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(c.batch_execute("SELECT 1").await.is_err());
    tokio::time::sleep(Duration::from_millis(600)).await;
    connect(&s.dsn())
        .await
        .batch_execute("SELECT 1")
        .await
        .unwrap();
}

#[tokio::test]
async fn fail_next_is_transient_and_applies_nothing() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    s.faults().fail_next(2, "insert into t");
    for _ in 0..2 {
        let e = c
            .execute("INSERT INTO t VALUES (1)", &[])
            .await
            .unwrap_err();
        assert_eq!(db_error(&e), ("53000".into(), "Resource busy".into()));
    }
    c.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    assert_eq!(count(&c, "t").await, 1);
}

#[tokio::test]
async fn lose_reply_applies_the_statement_then_closes() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int)").await.unwrap();
    s.faults().lose_reply_next(1, "INSERT INTO");
    let e = c
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .unwrap_err();
    assert!(e.as_db_error().is_none(), "{e:?}");
    assert!(c.is_closed());
    let c = connect(&s.dsn()).await;
    assert_eq!(count(&c, "t").await, 1);
    s.faults().lose_reply_next(1, "INSERT INTO");
    assert!(c.batch_execute("INSERT INTO t VALUES (2)").await.is_err());
    let c = connect(&s.dsn()).await;
    assert_eq!(count(&c, "t").await, 2);
}
