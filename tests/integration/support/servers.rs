//! The servers the sink's tests write to: PostgreSQL, and Hologres at three versions as
//! hologres-lite imitates it (`tests/hologres-lite`, a proxy in front of the shared test
//! PostgreSQL). One list, [`SERVERS`], so a test that loops over it runs on each.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use hologres_lite::{Config, RunningServer, Server as Lite};

use super::pg::{TestPg, chain};

/// A server a sink test writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The shared test PostgreSQL.
    Postgres,
    /// hologres-lite imitating this Hologres version.
    Hologres(&'static str),
}

/// Every server the sink's suite runs on: PostgreSQL; Hologres 1.1 (multi-row `VALUES`
/// before 1.1.38), 1.3 (unnest, and Fixed Copy from 1.3.25) and 3.0 (partition parents,
/// DML transactions that exist but are off).
pub const SERVERS: [Server; 4] = [
    Server::Postgres,
    Server::Hologres(HOLOGRES_1_1),
    Server::Hologres(HOLOGRES_1_3),
    Server::Hologres(HOLOGRES_3_0),
];

pub const HOLOGRES_1_1: &str = "1.1.10";
pub const HOLOGRES_1_3: &str = "1.3.60";
pub const HOLOGRES_3_0: &str = "3.0.30";

impl Server {
    /// `postgres` or `hologres-1.3.60`, for messages.
    pub fn name(&self) -> String {
        match self {
            Server::Postgres => "postgres".to_owned(),
            Server::Hologres(v) => format!("hologres-{v}"),
        }
    }

    pub fn is_hologres(&self) -> bool {
        matches!(self, Server::Hologres(_))
    }

    /// A libpq URL of the server.
    pub fn dsn(&self) -> String {
        match self {
            Server::Postgres => TestPg::shared().dsn(),
            Server::Hologres(version) => lite(version).dsn(),
        }
    }

    /// The hologres-lite behind a Hologres server (for its faults and statement log).
    pub fn lite(&self) -> Option<&'static RunningServer> {
        match self {
            Server::Postgres => None,
            Server::Hologres(version) => Some(lite(version)),
        }
    }

    /// Drops and creates schema `name` and runs `ddl` in it (`{s}` standing for the schema);
    /// returns a connection.
    pub async fn schema_with(&self, name: &str, ddl: &str) -> tokio_postgres::Client {
        schema_with(&self.dsn(), name, ddl).await
    }
}

/// [`Server::schema_with`] on the server at `dsn` (a hologres-lite of a test's own).
pub async fn schema_with(dsn: &str, name: &str, ddl: &str) -> tokio_postgres::Client {
    let client = connect(dsn).await;
    // One statement at a time: Hologres refuses DDL mixed into other transactions.
    for sql in [
        format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"),
        format!("CREATE SCHEMA \"{name}\""),
    ] {
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{dsn}: cannot run {sql}: {}", chain(&e)));
    }
    if !ddl.trim().is_empty() {
        client
            .batch_execute(&ddl.replace("{s}", name))
            .await
            .unwrap_or_else(|e| panic!("{dsn}: cannot create the tables of {name}: {}", chain(&e)));
    }
    client
}

/// A connection to `dsn`, driven on the current tokio runtime.
pub async fn connect(dsn: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {dsn}: {}", chain(&e)));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The hologres-lite of `version` shared by this test binary, started on first use in
/// front of the shared PostgreSQL, in a database of its own.
pub fn lite(version: &'static str) -> &'static RunningServer {
    static SERVERS: OnceLock<Mutex<HashMap<&'static str, &'static RunningServer>>> =
        OnceLock::new();
    let mut servers = SERVERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    servers.entry(version).or_insert_with(|| {
        let database = format!("hologres_lite_{}", version.replace('.', "_"));
        Box::leak(Box::new(start_lite(Config::new(
            TestPg::shared().dsn(),
            database,
            version,
        ))))
    })
}

/// A hologres-lite of its own, for a test that changes how it behaves (the protocol paths
/// COPY may take, faults for everyone); stopped when dropped.
pub fn private_lite(version: &str, tag: &str, copy_on_extended_protocol: bool) -> RunningServer {
    let database = format!("hologres_lite_{}_{tag}", version.replace('.', "_"));
    let mut config = Config::new(TestPg::shared().dsn(), database, version);
    config.copy_on_extended_protocol = copy_on_extended_protocol;
    start_lite(config)
}

fn start_lite(config: Config) -> RunningServer {
    let version = config.version.clone();
    Lite::start(config)
        .unwrap_or_else(|e| panic!("cannot start hologres-lite {version}: {}", chain(&e)))
}
