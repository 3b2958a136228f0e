//! Opening a session with the server: every connection of the sink (and of database
//! lookups) is made here, so the transport and its security are decided in one place.

use tokio_postgres::{Client, NoTls};
use tracing::warn;

use super::PostgresError;

/// Connects to `pg` and drives the connection on the runtime; `target` names the server
/// in errors and logs (never the password).
pub async fn connect(pg: &tokio_postgres::Config, target: &str) -> Result<Client, PostgresError> {
    let (client, connection) =
        pg.connect(NoTls)
            .await
            .map_err(|source| PostgresError::Connect {
                target: target.to_owned(),
                source,
            })?;
    let server = target.to_owned();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            warn!(%server, %error, "PostgreSQL connection lost");
        }
    });
    Ok(client)
}
