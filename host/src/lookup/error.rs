//! What can go wrong loading or querying a lookup table.

use std::path::PathBuf;

use crate::db::DbError;
use crate::input::csv::HeaderError;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(
        "lookup `{spec}` is not NAME=csv:PATH or NAME=postgres:TABLE (optionally followed by ?option=value, joined with &)"
    )]
    Syntax { spec: String },
    #[error("lookup name `{name}` may hold only letters, digits, `_`, `-` and `.`")]
    Name { name: String },
    #[error("lookup `{name}`: unknown scheme `{scheme}:`; use csv:PATH or postgres:TABLE")]
    UnknownScheme { name: String, scheme: String },
    #[error(
        "lookup `{name}`: give a table after `{scheme}:`, and the database as dsn=... (the last option)"
    )]
    DsnAsTable { name: String, scheme: String },
    #[error("lookup `{name}`: unknown option `{option}` (options: {options})")]
    UnknownOption {
        name: String,
        option: String,
        options: &'static str,
    },
    #[error("lookup `{name}`: option `{option}` {problem}")]
    BadOption {
        name: String,
        option: String,
        problem: String,
    },
    #[error("cannot open lookup file `{}` of table `{name}`", path.display())]
    Open {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read lookup file `{}`", path.display())]
    Read { path: PathBuf, source: ::csv::Error },
    #[error(
        "lookup file `{}` is empty: give it a header row naming the columns, or name them with ?columns=a,b", path.display()
    )]
    NoHeader { path: PathBuf },
    #[error("invalid header row in lookup file `{}`", path.display())]
    Header { path: PathBuf, source: HeaderError },
    #[error(
        "lookup file `{}` line {line} has {found} fields but {expected} columns are named ({columns}): fix the line", path.display()
    )]
    FieldCount {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
        columns: String,
    },
    #[error("lookup file `{}` line {line}: {reason}: fix the line", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error(
        "lookup file `{}` line {line}: column `{column}` is not valid UTF-8 (at byte {at} of the field): save the file as UTF-8", path.display()
    )]
    Utf8 {
        path: PathBuf,
        line: u64,
        column: String,
        at: usize,
    },
    #[error("lookup `{name}`: key column `{key}` is not one of its columns ({columns})")]
    UnknownKey {
        name: String,
        key: String,
        columns: String,
    },
    #[error("lookup table `{name}` is given twice: give each table its own name")]
    DuplicateName { name: String },
    #[error(
        "lookup `{name}` names no database: add dsn=... (as its last option) or write to a PostgreSQL sink, whose database it then reads"
    )]
    NoDsn { name: String },
    #[error("cannot open lookup `{name}`")]
    Database { name: String, source: Box<DbError> },
    #[error(
        "lookup `{name}`: table `{table}` does not exist on `{target}`: create it or fix the name"
    )]
    TableNotFound {
        name: String,
        table: String,
        target: String,
    },
    #[error("lookup `{name}`: table `{table}` has no column `{column}` (columns: {columns})")]
    NoColumn {
        name: String,
        table: String,
        column: String,
        columns: String,
    },
    #[error("lookup `{name}`: cannot {what} of table `{table}` on `{target}`")]
    Query {
        name: String,
        table: String,
        target: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
    #[error("lookup `{name}`: its database thread stopped; see the log for why")]
    Stopped { name: String },
    #[error("lookup `{name}`: cannot start its database thread")]
    Thread {
        name: String,
        source: std::io::Error,
    },
}

/// A lookup's database call fails for a passing reason when its statement or its
/// connection does (see [`crate::db::is_retriable`]).
impl crate::db::Retriable for LookupError {
    fn is_retriable(&self) -> bool {
        match self {
            LookupError::Query { source, .. } => crate::db::is_retriable(source),
            LookupError::Database { source, .. } => source.is_retriable(),
            _ => false,
        }
    }

    fn reason(&self) -> String {
        match self {
            LookupError::Query { source, .. } => crate::db::reason(source),
            LookupError::Database { .. } => "connect".to_owned(),
            _ => "lookup".to_owned(),
        }
    }
}
