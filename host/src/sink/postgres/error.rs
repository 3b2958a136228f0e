//! What can go wrong in the PostgreSQL sink: errors that stop the run
//! ([`PostgresError`], with the table or server they concern) and errors that reject one
//! row ([`RowError`], which sends it to the dead-letter output).

use std::fmt;

use holo_batch::ValueRef;

use super::catalog::{self, BindProblem};
use super::options::WriteMode;
use super::types::{ColumnCodec, PgType, Problem};
use crate::db::{self, DbError};

/// Longest value quoted in a row error.
const QUOTE_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot {what} on `{server}`")]
    Query {
        server: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
    #[error(
        "the session TimeZone `{zone}` of `{server}` is not an IANA time zone holo-host knows: \
         pass --timezone NAME (such as Asia/Shanghai) to say how to read timestamps without an \
         offset"
    )]
    TimeZone { zone: String, server: String },
    #[error(
        "table `{table}` does not exist on `{server}`: create it first, or pass --create-table"
    )]
    TableNotFound { table: String, server: String },
    #[error(
        "cannot create the positions table {table} on `{server}`: create it, grant CREATE \
         on the database, or name a schema you may create tables in with --positions-schema"
    )]
    ProgressTable {
        server: String,
        table: String,
        source: tokio_postgres::Error,
    },
    /// The transform output does not fit the table; one line per problem.
    #[error("{}", catalog::problem_lines(problems))]
    Bind {
        table: String,
        problems: Vec<BindProblem>,
    },
    #[error(
        "table `{table}` has no primary key, which --mode {mode} needs: add one, or use \
         --mode insert"
    )]
    NoPrimaryKey { table: String, mode: WriteMode },
    #[error(
        "table `{table}` has no primary key: on Hologres each statement commits on its own, \
         apart from the saved position, so a statement retried after a lost reply, or a batch \
         written again after a crash, would add its rows twice. Give the table a primary key \
         (then a row written again replaces itself), or pass --at-least-once to accept \
         duplicates"
    )]
    KeylessAutocommit { table: String },
    #[error("cannot write table `{table}` with the method asked for: {reason}")]
    WriteMethod { table: String, reason: String },
    #[error(
        "--dialect postgres was given, but `{server}` is Hologres ({version}), which refuses \
         PostgreSQL's write transactions: leave --dialect at auto"
    )]
    DialectMismatch { server: String, version: String },
    #[error(
        "column `{column}` of the primary key of table `{table}` is not in the transform \
         output, which --mode {mode} needs to find existing rows: output it"
    )]
    KeyNotInOutput {
        table: String,
        column: String,
        mode: WriteMode,
    },
    #[error("cannot route rows to the partitions of table `{table}`: {reason}")]
    Partitioning { table: String, reason: String },
    #[error("cannot create table `{table}`: {reason}")]
    CreateSpec { table: String, reason: String },
    #[error("cannot create table `{table}`")]
    CreateTable {
        table: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot read or create the partitions of table `{table}`")]
    Partitions {
        table: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot bind table `{table}` again while {rows} rows are staged: commit them first")]
    Rebind { table: String, rows: usize },
    #[error("cannot write {rows} rows to table `{table}`")]
    Copy {
        table: String,
        rows: usize,
        source: tokio_postgres::Error,
    },
    #[error("cannot delete {rows} keys from table `{table}`")]
    Delete {
        table: String,
        rows: usize,
        source: tokio_postgres::Error,
    },
    #[error("cannot save the position of job `{job}` in the positions table")]
    SavePosition {
        job: String,
        source: tokio_postgres::Error,
    },
    #[error(
        "the saved position of job `{job}` was moved by another writer since this one read \
         it: another holo-host is loading the same input into this table, or took this shard \
         over; nothing more of it is committed here"
    )]
    Fenced { job: String },
    #[error(
        "cannot keep the rows refused in a batch of job `{job}` before committing it: {reason}"
    )]
    KeepRefused { job: String, reason: String },
    #[error("cannot commit rows of job `{job}` to table `{table}`")]
    Commit {
        job: String,
        table: String,
        source: tokio_postgres::Error,
    },
    #[error("cannot read the position of job `{job}` from the positions table")]
    LoadPosition {
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
            PostgresError::Db(e) => e.is_retriable(),
            other => other.database_error().is_some_and(db::is_retriable),
        }
    }

    /// Why it happened, for the retries metric: see [`db::reason`].
    pub fn reason(&self) -> String {
        match self {
            PostgresError::Db(DbError::Connect { source, .. }) => db::reason(source),
            other => other
                .database_error()
                .map_or_else(|| "connection".to_owned(), db::reason),
        }
    }

    /// The database's own error under this one, if a statement failed.
    fn database_error(&self) -> Option<&tokio_postgres::Error> {
        match self {
            PostgresError::Query { source, .. }
            | PostgresError::ProgressTable { source, .. }
            | PostgresError::CreateTable { source, .. }
            | PostgresError::Partitions { source, .. }
            | PostgresError::Copy { source, .. }
            | PostgresError::Delete { source, .. }
            | PostgresError::SavePosition { source, .. }
            | PostgresError::Commit { source, .. }
            | PostgresError::LoadPosition { source, .. } => Some(source),
            PostgresError::Db(_)
            | PostgresError::TimeZone { .. }
            | PostgresError::Fenced { .. }
            | PostgresError::KeepRefused { .. }
            | PostgresError::TableNotFound { .. }
            | PostgresError::Bind { .. }
            | PostgresError::NoPrimaryKey { .. }
            | PostgresError::KeylessAutocommit { .. }
            | PostgresError::WriteMethod { .. }
            | PostgresError::DialectMismatch { .. }
            | PostgresError::KeyNotInOutput { .. }
            | PostgresError::Partitioning { .. }
            | PostgresError::CreateSpec { .. }
            | PostgresError::Rebind { .. } => None,
        }
    }
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
    /// A delete, for a table without a primary key in the output.
    NoKey {
        table: String,
    },
}

impl RowError {
    pub(super) fn value(target: &ColumnCodec, v: ValueRef<'_>, problem: Problem) -> RowError {
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
            RowError::NoKey { table } => write!(
                f,
                "cannot delete: table `{table}` has no primary key in the transform output to \
                 find the row by"
            ),
        }
    }
}

impl std::error::Error for RowError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_error_text() {
        let t = ColumnCodec::new("order_cnt".into(), PgType::Int8, -1, true);
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
