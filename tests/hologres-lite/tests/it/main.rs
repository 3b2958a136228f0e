//! hologres-lite against a real PostgreSQL, with tokio-postgres as the client: simple
//! queries (`batch_execute`) and the extended protocol (`execute`, `copy_in`).

mod basics;
mod copy;
mod ddl;
mod faults;
mod jdbc;
mod pg;
mod transactions;

use hologres_lite::{Config, RunningServer, Server};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_postgres::{Client, NoTls};

/// A server imitating `version`, on a database of its own.
pub fn server(version: &str) -> RunningServer {
    server_with(version, |_| {})
}

pub fn server_with(version: &str, tweak: impl FnOnce(&mut Config)) -> RunningServer {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut config = Config::new(
        pg::backend(),
        format!("hl_test_{}_{n}", std::process::id()),
        version,
    );
    tweak(&mut config);
    Server::start(config).unwrap_or_else(|e| panic!("cannot start hologres-lite: {e:#}"))
}

pub async fn connect(dsn: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(dsn, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {dsn}: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The SQLSTATE and message of a failed statement.
pub fn db_error(e: &tokio_postgres::Error) -> (String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e:?}"));
    (db.code().code().to_owned(), db.message().to_owned())
}

pub async fn count(c: &Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}
