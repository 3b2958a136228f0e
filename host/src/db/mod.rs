//! The one PostgreSQL layer: every session the sink, the database lookups and the position
//! store open is made here, with one retry policy for all of them.
//!
//! - [`dsn`]: libpq DSNs, `PGPASSWORD`, TLS options, the password-free server name;
//! - [`names`]: table names and quoted identifiers;
//! - [`connect`]: opening a session (the transport, and TLS when asked);
//! - [`retry`]: which errors are worth another try, and how long to wait;
//! - [`session`]: a session that reconnects, and the one loop that retries a call on it.

mod connect;
mod dsn;
mod names;
pub(crate) mod retry;
pub(crate) mod session;

pub use connect::{ConnectConfig, TlsError, connect};
pub use dsn::{DEFAULT_CONNECT_TIMEOUT, parse_dsn};
pub use names::{TableName, quote_ident};
pub use retry::{is_retriable, reason};
pub use session::{Retriable, Session};

/// Why a session could not be opened, or its settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `detail` is the parser's complaint, or a note that it was withheld: it may quote the
    /// DSN, password included.
    #[error(
        "invalid PostgreSQL DSN: use a URL (postgres://user@host:5432/db) or key=value pairs: {detail}"
    )]
    Dsn { detail: String },
    #[error("invalid table name `{table}`: {reason}")]
    TableName { table: String, reason: &'static str },
    #[error("cannot connect to PostgreSQL at `{server}`")]
    Connect {
        server: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot connect to PostgreSQL at `{server}` over TLS")]
    Tls { server: String, source: TlsError },
}

impl DbError {
    /// Whether connecting again may succeed: the server was unreachable or refused.
    pub fn is_retriable(&self) -> bool {
        match self {
            DbError::Connect { source, .. } => is_retriable(source),
            DbError::Dsn { .. } | DbError::TableName { .. } | DbError::Tls { .. } => false,
        }
    }
}
