//! What a client sees on connecting: the version, time zone, settings, admin statements.

use crate::{connect, db_error, server};

#[tokio::test]
async fn version_time_zone_and_server_version() {
    let s = server("1.3.30");
    let c = connect(&s.dsn()).await;
    let v: String = c
        .query_one("SELECT hg_version()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        v.starts_with("Hologres 1.3.30 (tag: release-1.3.30 build: Release,Skylake,clang)"),
        "{v}"
    );
    let tz: String = c.query_one("SHOW TimeZone", &[]).await.unwrap().get(0);
    assert_eq!(tz, "Asia/Shanghai");
    let rows = c
        .simple_query("SELECT current_setting('server_version')")
        .await
        .unwrap();
    assert!(!rows.is_empty());
    // Any database name reaches the owned one.
    let other = connect(&format!("{}/whatever", s.dsn().rsplit_once('/').unwrap().0)).await;
    let v: String = other
        .query_one("SELECT hg_version()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(v.starts_with("Hologres 1.3.30"));
}

#[tokio::test]
async fn hg_settings_are_kept_per_session() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute(
        "SET hg_experimental_enable_fixed_dispatcher_for_multi_values = on; SET hg_foo TO 'bar'",
    )
    .await
    .unwrap();
    c.execute(
        "set hg_experimental_enable_fixed_dispatcher_affected_rows = off",
        &[],
    )
    .await
    .unwrap();
    let show = |sql: &'static str| {
        let c = &c;
        async move {
            let rows = c.simple_query(sql).await.unwrap();
            match rows
                .iter()
                .find(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            {
                Some(tokio_postgres::SimpleQueryMessage::Row(r)) => r.get(0).unwrap().to_owned(),
                _ => panic!("{sql}: no row in {rows:?}"),
            }
        }
    };
    assert_eq!(show("SHOW hg_foo").await, "bar");
    assert_eq!(
        show("SHOW hg_experimental_enable_fixed_dispatcher_affected_rows").await,
        "off"
    );
    assert_eq!(show("SHOW hg_experimental_enable_transaction").await, "off");
    c.batch_execute("RESET hg_foo").await.unwrap();
    let other = connect(&s.dsn()).await;
    let rows = other
        .simple_query("SHOW hg_experimental_enable_fixed_dispatcher_affected_rows")
        .await
        .unwrap();
    assert!(rows.iter().any(
        |m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("on"))
    ));
}

#[tokio::test]
async fn admin_statements_and_the_developer_role() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("HOLOGRES_LITE FAIL NEXT 1 MATCHING 'select 42'")
        .await
        .unwrap();
    let e = c.batch_execute("SELECT 42").await.unwrap_err();
    assert_eq!(db_error(&e).0, "53000");
    c.batch_execute("SELECT 42").await.unwrap();
    c.batch_execute("HOLOGRES_LITE FAIL NEXT 5 MATCHING 'select 43'")
        .await
        .unwrap();
    c.batch_execute("HOLOGRES_LITE CLEAR").await.unwrap();
    c.batch_execute("SELECT 43").await.unwrap();
    let e = c.batch_execute("HOLOGRES_LITE JUMP").await.unwrap_err();
    assert_eq!(db_error(&e).0, "42601");
    assert!(s.statements().iter().any(|l| l.sql == "SELECT 43"));

    let dev = connect(&s.dsn_as("holo_developer")).await;
    dev.batch_execute("CREATE TABLE public.dev_t (a int)")
        .await
        .unwrap();
    let e = dev.batch_execute("CREATE SCHEMA dev_s").await.unwrap_err();
    assert_eq!(db_error(&e).0, "42501");
}
