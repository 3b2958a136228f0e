//! Why a server did not start.

/// A server that could not start: its settings, its address, or its backend.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("version `{0}` is not X.Y.Z")]
    Version(String),
    #[error("backend URL `{url}` is not usable: {reason}")]
    Backend { url: String, reason: String },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot install the kit in backend database `{database}`")]
    Kit {
        database: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("cannot start the server's runtime")]
    Runtime(#[source] std::io::Error),
}
