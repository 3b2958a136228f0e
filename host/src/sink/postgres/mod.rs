//! PostgreSQL / Hologres sink: checks the transform output against the table before data
//! flows, stages rows in the binary COPY format, and commits them together with the
//! source position in one transaction.
//!
//! - [`config`]: the DSN and the table name;
//! - [`connect`]: opening a session (the transport, and TLS when asked);
//! - [`catalog`]: the table's columns and the binding of output columns to them;
//! - [`encode`] and [`numeric`]: values to the binary wire format, one row error at a time;
//! - [`progress`]: the `holo_host.progress` table that makes a resumed load exactly once.

pub mod catalog;
pub mod config;
pub mod connect;
pub mod encode;
pub mod numeric;
pub mod progress;

use std::error::Error as _;
use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use holo_batch::{RowRef, ValueRef};
use tokio_postgres::{Client, Statement};
use tracing::debug;

pub use catalog::{BindProblem, PgType, TableColumn, TableInfo};
pub use config::PostgresSinkConfig;
pub use encode::Problem;

use crate::record::{Column, Position};
use catalog::Binding;
use encode::Scratch;

/// Signature, flags and header extension length of a binary COPY stream.
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// A field count of -1 ends the stream.
const COPY_TRAILER: &[u8] = &[0xff, 0xff];
/// Staged rows go to the server in messages of this size.
const COPY_CHUNK: usize = 1 << 20;
/// Longest value quoted in a row error.
const QUOTE_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error("invalid PostgreSQL DSN: use a URL (postgres://user@host:5432/db) or key=value pairs")]
    Dsn { source: tokio_postgres::Error },
    #[error("invalid table name `{table}`: {reason}")]
    TableName { table: String, reason: &'static str },
    #[error("cannot connect to PostgreSQL at `{target}`")]
    Connect {
        target: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot {what} on `{target}`")]
    Query {
        target: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
    #[error("table `{table}` does not exist on `{target}`: create it first")]
    TableNotFound { table: String, target: String },
    #[error(
        "cannot create table holo_host.progress on `{target}`: create it, or grant CREATE on \
         the database"
    )]
    ProgressTable {
        target: String,
        source: tokio_postgres::Error,
    },
    /// The transform output does not fit the table; one line per problem.
    #[error("{}", catalog::problem_lines(problems))]
    Bind {
        table: String,
        problems: Vec<BindProblem>,
    },
    #[error("cannot bind table `{table}` again while {rows} rows are staged: commit them first")]
    Rebind { table: String, rows: usize },
    #[error("cannot write {rows} rows to table `{table}`")]
    Copy {
        table: String,
        rows: usize,
        source: tokio_postgres::Error,
    },
    #[error("cannot save the position of job `{job}` in holo_host.progress")]
    SavePosition {
        job: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot commit rows of job `{job}` to table `{table}`")]
    Commit {
        job: String,
        table: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot read the position of job `{job}` from holo_host.progress")]
    LoadPosition {
        job: String,
        source: tokio_postgres::Error,
    },
    #[error(
        "the position of job `{job}` in holo_host.progress is not valid JSON: clear it to start \
         over"
    )]
    BadPosition {
        job: String,
        source: serde_json::Error,
    },
    #[error("cannot clear the position of job `{job}` in holo_host.progress")]
    ClearPosition {
        job: String,
        source: tokio_postgres::Error,
    },
}

impl PostgresError {
    /// Whether trying again (after reconnecting) may succeed: the connection was lost or
    /// refused, the server is overloaded or shutting down, or a transaction lost a
    /// serialization or deadlock race.
    pub fn is_retriable(&self) -> bool {
        match self {
            PostgresError::Connect { source, .. }
            | PostgresError::Query { source, .. }
            | PostgresError::ProgressTable { source, .. }
            | PostgresError::Copy { source, .. }
            | PostgresError::SavePosition { source, .. }
            | PostgresError::Commit { source, .. }
            | PostgresError::LoadPosition { source, .. }
            | PostgresError::ClearPosition { source, .. } => is_retriable(source),
            PostgresError::Dsn { .. }
            | PostgresError::TableName { .. }
            | PostgresError::TableNotFound { .. }
            | PostgresError::Bind { .. }
            | PostgresError::Rebind { .. }
            | PostgresError::BadPosition { .. } => false,
        }
    }
}

/// SQLSTATE classes 08 (connection), 53 (resources), 57P0x (shutdown), 40001
/// (serialization) and 40P01 (deadlock), and any failure below the protocol.
pub fn is_retriable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let c = code.code();
        return c.starts_with("08")
            || c.starts_with("53")
            || c.starts_with("57P0")
            || c == "40001"
            || c == "40P01";
    }
    // No SQLSTATE: refused, reset or timed out before or outside the protocol.
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Why one row cannot be written; the row goes to the dead-letter output.
#[derive(Debug, Clone, PartialEq)]
pub enum RowError {
    Value {
        column: String,
        pg_type: PgType,
        /// The value as text, shortened if long; `None` for null.
        value: Option<String>,
        problem: Problem,
    },
    /// The row does not have one value per output column.
    Width {
        expected: usize,
        got: usize,
    },
    NotBound,
}

impl RowError {
    fn value(target: &encode::Target, v: ValueRef<'_>, problem: Problem) -> RowError {
        let value = match v {
            ValueRef::Null => None,
            ValueRef::Text(s) => Some(match s.char_indices().nth(QUOTE_CHARS) {
                Some((end, _)) => format!("{}…", &s[..end]),
                None => s.to_owned(),
            }),
            v => v.to_text(),
        };
        RowError::Value {
            column: target.name.clone(),
            pg_type: target.ty,
            value,
            problem,
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowError::Value {
                column,
                pg_type,
                value,
                problem,
            } => {
                write!(f, "column `{column}` ({pg_type}): ")?;
                match (problem, value) {
                    (Problem::Null { .. }, _) | (_, None) => {}
                    (_, Some(v)) => write!(f, "`{v}` ")?,
                }
                problem.describe(*pg_type, f)
            }
            RowError::Width { expected, got } => write!(
                f,
                "the row has {got} values but the transform output declares {expected} columns"
            ),
            RowError::NotBound => {
                f.write_str("the sink is not bound to the transform output: call bind first")
            }
        }
    }
}

impl std::error::Error for RowError {}

/// Writes rows to one table, with the source position, in one transaction per commit.
pub struct PostgresSink {
    client: Client,
    /// `host:port/db as user`, for logs and errors.
    target: String,
    table: TableInfo,
    binding: Option<Binding>,
    copy_statement: Option<Statement>,
    upsert_statement: Option<Statement>,
    /// Rows in the binary COPY format, without header and trailer.
    staged: BytesMut,
    staged_rows: usize,
    scratch: Scratch,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("target", &self.target)
            .field("table", &self.table.name)
            .field("staged_rows", &self.staged_rows)
            .finish_non_exhaustive()
    }
}

impl PostgresSink {
    /// Connects, checks the connection (`SELECT 1`), reads the table's columns and creates
    /// `holo_host.progress` if missing.
    pub async fn connect(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        let (pg, target, name) = cfg.build()?;
        let client = connect::connect(&pg, &target).await?;
        let query_err = |what| {
            let target = target.clone();
            move |source| PostgresError::Query {
                target,
                what,
                source,
            }
        };
        client
            .simple_query("SELECT 1")
            .await
            .map_err(query_err("run `SELECT 1`"))?;
        let table = catalog::load_table(&client, &name)
            .await
            .map_err(query_err("read the table's columns from the catalog"))?
            .ok_or_else(|| PostgresError::TableNotFound {
                table: name.to_string(),
                target: target.clone(),
            })?;
        progress::ensure_table(&client)
            .await
            .map_err(|source| PostgresError::ProgressTable {
                target: target.clone(),
                source,
            })?;
        debug!(server = %target, table = %table.name, columns = table.columns.len(), "connected");
        Ok(PostgresSink {
            client,
            target,
            table,
            binding: None,
            copy_statement: None,
            upsert_statement: None,
            staged: BytesMut::new(),
            staged_rows: 0,
            scratch: Scratch::default(),
        })
    }

    /// The destination table as the catalog describes it.
    pub fn table(&self) -> &TableInfo {
        &self.table
    }

    /// `host:port/db as user` of the server.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Checks the transform's output columns against the table; every problem is listed.
    pub fn bind(&mut self, output: &[Column]) -> Result<(), PostgresError> {
        if self.staged_rows > 0 {
            return Err(PostgresError::Rebind {
                table: self.table.name.clone(),
                rows: self.staged_rows,
            });
        }
        let binding =
            catalog::bind(&self.table, output).map_err(|problems| PostgresError::Bind {
                table: self.table.name.clone(),
                problems,
            })?;
        self.binding = Some(binding);
        self.copy_statement = None;
        Ok(())
    }

    /// Stages one output row (values in output-column order). On error nothing of the row
    /// stays staged.
    #[inline]
    pub fn push_row(&mut self, row: RowRef<'_>) -> Result<(), RowError> {
        let Some(binding) = &self.binding else {
            return Err(RowError::NotBound);
        };
        let targets = &binding.targets;
        if row.len() != targets.len() {
            return Err(RowError::Width {
                expected: targets.len(),
                got: row.len(),
            });
        }
        let mark = self.staged.len();
        // A table has at most 1600 columns, so the count fits.
        self.staged.put_i16(targets.len() as i16);
        for (t, v) in targets.iter().zip(row.values()) {
            if let Err(problem) = encode::encode_field(&mut self.staged, t, v, &mut self.scratch) {
                self.staged.truncate(mark);
                return Err(RowError::value(t, v, problem));
            }
        }
        self.staged_rows += 1;
        Ok(())
    }

    pub fn staged_rows(&self) -> usize {
        self.staged_rows
    }

    pub fn staged_bytes(&self) -> usize {
        self.staged.len()
    }

    /// Writes the staged rows and `position` for `job` in one transaction; returns the rows
    /// written. On error the rows stay staged, so the commit can be tried again.
    pub async fn commit(&mut self, job: &str, position: &Position) -> Result<u64, PostgresError> {
        let rows = self.staged_rows;
        let data = self.staged.split().freeze();
        match self.write(job, position, rows, data.clone()).await {
            Ok(written) => {
                self.staged_rows = 0;
                // Reuse the allocation once the connection has let go of the bytes.
                if let Ok(mut buf) = data.try_into_mut() {
                    buf.clear();
                    self.staged = buf;
                }
                debug!(table = %self.table.name, job, rows = written, "committed");
                Ok(written)
            }
            Err(e) => {
                self.staged = data
                    .try_into_mut()
                    .unwrap_or_else(|data| BytesMut::from(&data[..]));
                Err(e)
            }
        }
    }

    async fn write(
        &mut self,
        job: &str,
        position: &Position,
        rows: usize,
        data: Bytes,
    ) -> Result<u64, PostgresError> {
        let commit_err = |source| PostgresError::Commit {
            job: job.to_owned(),
            table: self.table.name.clone(),
            source,
        };
        let copy_err = |source| PostgresError::Copy {
            table: self.table.name.clone(),
            rows,
            source,
        };
        let save_err = |source| PostgresError::SavePosition {
            job: job.to_owned(),
            source,
        };
        if self.upsert_statement.is_none() {
            let s = self
                .client
                .prepare(progress::UPSERT)
                .await
                .map_err(save_err)?;
            self.upsert_statement = Some(s);
        }
        if rows > 0 && self.copy_statement.is_none() {
            let binding = self.binding.as_ref().expect("staged rows imply a binding");
            let s = self
                .client
                .prepare(&binding.copy_sql)
                .await
                .map_err(copy_err)?;
            self.copy_statement = Some(s);
        }
        let tx = self.client.transaction().await.map_err(commit_err)?;
        let mut written = 0;
        if let Some(statement) = self.copy_statement.as_ref().filter(|_| rows > 0) {
            let sink = tx.copy_in::<_, Bytes>(statement).await.map_err(copy_err)?;
            futures_util::pin_mut!(sink);
            sink.feed(Bytes::from_static(COPY_HEADER))
                .await
                .map_err(copy_err)?;
            let mut at = 0;
            while at < data.len() {
                let end = (at + COPY_CHUNK).min(data.len());
                sink.feed(data.slice(at..end)).await.map_err(copy_err)?;
                at = end;
            }
            sink.send(Bytes::from_static(COPY_TRAILER))
                .await
                .map_err(copy_err)?;
            written = sink.finish().await.map_err(copy_err)?;
        }
        let statement = self.upsert_statement.as_ref().expect("prepared above");
        tx.execute(statement, &[&job, &position.to_string(), &(written as i64)])
            .await
            .map_err(save_err)?;
        tx.commit().await.map_err(commit_err)?;
        Ok(written)
    }

    /// The position committed last for `job`, if any.
    pub async fn load_position(&self, job: &str) -> Result<Option<Position>, PostgresError> {
        let text = progress::load(&self.client, job).await.map_err(|source| {
            PostgresError::LoadPosition {
                job: job.to_owned(),
                source,
            }
        })?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|source| PostgresError::BadPosition {
                job: job.to_owned(),
                source,
            })
        })
        .transpose()
    }

    /// Forgets the position of `job`, so its next run starts from the beginning.
    pub async fn clear_position(&self, job: &str) -> Result<(), PostgresError> {
        progress::clear(&self.client, job)
            .await
            .map_err(|source| PostgresError::ClearPosition {
                job: job.to_owned(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_header_is_the_binary_signature() {
        assert_eq!(COPY_HEADER.len(), 11 + 4 + 4);
        assert_eq!(&COPY_HEADER[..11], b"PGCOPY\n\xff\r\n\0");
    }

    #[test]
    fn row_error_text() {
        let t = encode::Target::new("order_cnt".into(), PgType::Int8, -1, true);
        let e = RowError::value(&t, ValueRef::Text("abc"), Problem::NotInteger);
        assert_eq!(
            e.to_string(),
            "column `order_cnt` (int8): `abc` is not an integer"
        );
        let e = RowError::value(&t, ValueRef::Null, Problem::Null { empty: false });
        assert_eq!(
            e.to_string(),
            "column `order_cnt` (int8): null in a NOT NULL column"
        );
        let long = "x".repeat(100);
        let e = RowError::value(&t, ValueRef::Text(&long), Problem::NotInteger);
        assert!(
            e.to_string()
                .contains(&format!("`{}…`", "x".repeat(QUOTE_CHARS)))
        );
    }
}
