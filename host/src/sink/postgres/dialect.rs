//! PostgreSQL or Hologres: detecting the server and setting up each session the way the
//! dialect needs (Hologres: the Fixed Plan settings holo-client uses).

use tokio_postgres::Client;
use tracing::warn;

/// The SQL dialect the sink writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// One transaction per batch holds the rows and the position; plain appends use COPY.
    Postgres,
    /// Autocommit statements only (Hologres refuses multi-statement write transactions):
    /// keyed writes are idempotent and the position is written after the rows.
    Hologres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Hologres => "hologres",
        }
    }
}

/// Session settings of holo-client for Fixed Plan writes (multi-row inserts, updates and
/// deletes served without the optimizer).
pub const HOLOGRES_SETTINGS: [&str; 6] = [
    "SET hg_experimental_enable_fixed_dispatcher = on",
    "SET hg_experimental_enable_fixed_dispatcher_for_multi_values = on",
    "SET hg_experimental_enable_fixed_dispatcher_for_update = on",
    "SET hg_experimental_enable_fixed_dispatcher_for_delete = on",
    "SET hg_experimental_enable_fixed_dispatcher_for_scan = on",
    "SET hg_experimental_enable_fixed_dispatcher_affected_rows = off",
];

/// The Hologres version (`hg_version()`), or `None` on any other server. `pg_proc` is
/// probed first, so PostgreSQL logs no error.
pub async fn detect(client: &Client) -> Result<Option<String>, tokio_postgres::Error> {
    let has: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proname = 'hg_version')",
            &[],
        )
        .await?
        .get(0);
    if !has {
        return Ok(None);
    }
    let version: String = client.query_one("SELECT hg_version()", &[]).await?.get(0);
    Ok(Some(version))
}

/// Prepares a new session: ISO dates (partition bounds are read back as text), the
/// statement timeout (a statement stuck on the server fails and is retried instead of
/// hanging the load), and on Hologres the Fixed Plan settings (holo-client's
/// `ConnectionHolder.buildConnection`). A setting an older Hologres does not know is
/// skipped with a warning.
pub async fn setup(
    client: &Client,
    hologres: bool,
    statement_timeout_ms: u64,
) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "SET DateStyle = 'ISO, YMD'; SET statement_timeout = {statement_timeout_ms}"
        ))
        .await?;
    if hologres {
        for s in HOLOGRES_SETTINGS {
            if let Err(e) = client.batch_execute(s).await {
                if e.as_db_error().is_none() {
                    return Err(e);
                }
                warn!(setting = s, error = %e, "Hologres refused a session setting; continuing without it");
            }
        }
    }
    Ok(())
}
