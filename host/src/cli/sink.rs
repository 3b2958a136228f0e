//! Arguments of the destination: the database and table, or stdout when none is given.

use clap::Args;

use crate::pipeline::SinkConfig;
use crate::sink::postgres::PostgresSinkConfig;

#[derive(Debug, Args)]
pub struct SinkArgs {
    /// The database: a libpq-style URL (`postgres://user@host:5432/db`) or `key=value`
    /// string; the password may come from `PGPASSWORD`. Without it, rows are printed to
    /// stdout as JSON lines.
    #[arg(long, value_name = "DSN")]
    pub sink: Option<String>,

    /// The target table, `SCHEMA.TABLE` (or `TABLE` in `public`).
    #[arg(long, value_name = "SCHEMA.TABLE", requires = "sink")]
    pub table: Option<String>,
}

/// Why the destination arguments do not make a sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkArgsError {
    #[error("--sink needs --table SCHEMA.TABLE")]
    MissingTable,
}

impl SinkArgs {
    /// Validates the destination arguments.
    pub fn build(self) -> Result<SinkConfig, SinkArgsError> {
        Ok(match (self.sink, self.table) {
            (Some(dsn), Some(table)) => SinkConfig::Postgres(PostgresSinkConfig { dsn, table }),
            (Some(_), None) => return Err(SinkArgsError::MissingTable),
            (None, _) => SinkConfig::Stdout,
        })
    }
}
