//! Fixed Copy: each ON_CONFLICT mode in binary through `copy_in`, text through a simple
//! query, the version threshold, and affected rows hidden by holo-client's setting.

use crate::{connect, count, db_error, server, server_with};
use futures_util::SinkExt;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

async fn copy_rows(
    c: &Client,
    sql: &str,
    rows: &[(i32, &str)],
) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in(sql).await?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::INT4, Type::TEXT]);
    let mut writer = std::pin::pin!(writer);
    for (id, v) in rows {
        writer.as_mut().write(&[id, v]).await?;
    }
    writer.finish().await
}

#[tokio::test]
async fn fixed_copy_binary_each_mode() {
    let s = server("1.3.30");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text, extra text DEFAULT 'x')")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO t VALUES (1, 'old', 'keep')")
        .await
        .unwrap();
    let sql = |mode: &str| {
        format!(
            "copy \"public\".\"t\"(\"id\",\"v\") from stdin with(stream_mode true, format binary, on_conflict {mode})"
        )
    };
    let n = copy_rows(
        &c,
        &sql("update"),
        &[(1, "new"), (2, "first"), (2, "second")],
    )
    .await
    .unwrap();
    assert_eq!(n, 3);
    let rows = c
        .query("SELECT id, v, extra FROM t ORDER BY id", &[])
        .await
        .unwrap();
    let got: Vec<(i32, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "new".into(), "keep".into()),
            (2, "second".into(), "x".into())
        ],
        "UPDATE replaces the listed columns only, last row wins"
    );
    copy_rows(
        &c,
        &sql("ignore"),
        &[(2, "ignored"), (3, "third"), (3, "dup")],
    )
    .await
    .unwrap();
    let v: String = c
        .query_one("SELECT v FROM t WHERE id = 2", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "second");
    let v: String = c
        .query_one("SELECT v FROM t WHERE id = 3", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(v, "third", "IGNORE keeps the first");
    let e = copy_rows(&c, &sql("none"), &[(3, "dup")])
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "23505");
    assert_eq!(count(&c, "t").await, 3);
}

#[tokio::test]
async fn fixed_copy_text_on_the_simple_protocol() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let sink = c
        .copy_in("COPY t FROM STDIN WITH (STREAM_MODE TRUE, ON_CONFLICT UPDATE, FORMAT CSV)")
        .await
        .unwrap();
    let mut sink = std::pin::pin!(sink);
    sink.send(bytes::Bytes::from_static(b"1,a\n1,b\n"))
        .await
        .unwrap();
    assert_eq!(sink.finish().await.unwrap(), 2);
    let v: String = c.query_one("SELECT v FROM t", &[]).await.unwrap().get(0);
    assert_eq!(v, "b");
}

#[tokio::test]
async fn fixed_copy_is_refused_below_1_3_25_and_binary_needs_stream_mode() {
    let s = server("1.3.24");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let e = copy_rows(
        &c,
        "COPY t FROM STDIN WITH (STREAM_MODE TRUE, FORMAT BINARY)",
        &[(1, "a")],
    )
    .await
    .unwrap_err();
    assert_eq!(
        db_error(&e),
        (
            "42601".into(),
            "option \"stream_mode\" not recognized".into()
        )
    );
    let e = copy_rows(&c, "COPY t FROM STDIN WITH (FORMAT BINARY)", &[(1, "a")])
        .await
        .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
    c.batch_execute("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn copy_on_the_extended_protocol_can_be_refused() {
    let s = server_with("2.1.5", |c| c.copy_on_extended_protocol = false);
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    let e = copy_rows(
        &c,
        "COPY t FROM STDIN WITH (STREAM_MODE TRUE, FORMAT BINARY)",
        &[(1, "a")],
    )
    .await
    .unwrap_err();
    assert_eq!(db_error(&e).0, "0A000");
}

#[tokio::test]
async fn affected_rows_read_zero_with_holo_clients_setting() {
    let s = server("2.1.5");
    let c = connect(&s.dsn()).await;
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        .await
        .unwrap();
    assert_eq!(
        c.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')", &[])
            .await
            .unwrap(),
        2
    );
    c.batch_execute("SET hg_experimental_enable_fixed_dispatcher_affected_rows = off")
        .await
        .unwrap();
    assert_eq!(
        c.execute("INSERT INTO t VALUES (3, 'c')", &[])
            .await
            .unwrap(),
        0
    );
    assert_eq!(c.execute("UPDATE t SET v = 'z'", &[]).await.unwrap(), 0);
    let n = copy_rows(
        &c,
        "COPY t (id, v) FROM STDIN WITH (STREAM_MODE TRUE, ON_CONFLICT IGNORE, FORMAT BINARY)",
        &[(9, "x")],
    )
    .await
    .unwrap();
    assert_eq!(n, 0);
    assert_eq!(count(&c, "t").await, 4);
}

#[tokio::test]
async fn fixed_copy_into_a_partition_parent_from_3_1() {
    for (version, ok) in [("3.0.10", false), ("3.1.2", true)] {
        let s = server(version);
        let c = connect(&s.dsn()).await;
        c.batch_execute(
            "CREATE TABLE p (id int, ds text NOT NULL, PRIMARY KEY (id, ds)) PARTITION BY LIST (ds);\
             CREATE TABLE p_a PARTITION OF p FOR VALUES IN ('a')",
        )
        .await
        .unwrap();
        let sink = c
            .copy_in("COPY p FROM STDIN WITH (STREAM_MODE TRUE, ON_CONFLICT UPDATE, FORMAT TEXT)")
            .await;
        let result = match sink {
            Ok(sink) => {
                let mut sink = std::pin::pin!(sink);
                sink.send(bytes::Bytes::from_static(b"1\ta\n"))
                    .await
                    .unwrap();
                sink.finish().await
            }
            Err(e) => Err(e),
        };
        assert_eq!(result.is_ok(), ok, "{version}: {result:?}");
        assert_eq!(count(&c, "p_a").await, i64::from(ok));
    }
}
