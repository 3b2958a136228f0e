//! PostgreSQL / Hologres sink: checks the transform output against the table before data
//! flows, stages rows, and writes them with the source position so that a resumed load
//! writes every row exactly once.
//!
//! On PostgreSQL a batch is one transaction: its deletes, its rows (binary COPY for plain
//! appends, one `INSERT … SELECT unnest(…) ON CONFLICT …` for keyed modes) and the
//! position. On Hologres, or with several writer connections, statements autocommit:
//! keyed writes are idempotent, and the position is written after the rows. On Hologres
//! the statements and the method follow holo-client, by version ([`method`]).
//!
//! [`PostgresSink`] ([`sink`]) composes three things, each in a file of its own: the
//! [`Destination`] (where and how to write, read from the server once), the writer
//! [`sessions`], and the [`staging`] area of the batch being built. A row goes through:
//! - [`config`] and [`options`]: where and how to write; [`dialect`]: PostgreSQL or
//!   Hologres, and each session's settings; [`method`]: COPY or INSERT, by version;
//! - [`catalog`]: the table's columns, and the check that binds output columns to them;
//!   [`destination`]: the server and the table; [`spec`]: the bound output and the
//!   statements it is written with; [`create`]: the table `--create-table` makes;
//! - [`types`], [`encode`], [`numeric`] and [`arrays`]: values to the binary wire format,
//!   one row error at a time; [`staging`]: the staged rows of a batch, same-key rows merged;
//! - [`partition`]: routing rows to the children of a LIST-partitioned table;
//! - [`commit`]: the transaction and autocommit paths; [`in_flight`]: batches written
//!   ahead on writers of their own; [`sessions`]: the writer connections, every call
//!   retried through [`crate::db::Session`]; [`writer`]: one connection sending [`sql`];
//! - [`positions`]: the `holo_host.progress` table that makes a resumed load exactly once;
//! - [`explain`]: the same, as text for `holo-host plan`; [`error`]: what can go wrong.

mod arrays;
mod catalog;
pub(crate) mod commit;
mod config;
mod create;
mod destination;
mod dialect;
mod encode;
mod error;
mod explain;
mod in_flight;
mod method;
mod numeric;
pub(crate) mod options;
mod partition;
mod positions;
mod sessions;
mod sink;
mod spec;
mod sql;
mod staging;
mod types;
mod writer;

pub use catalog::{BindProblem, TableColumn, TableInfo};
pub use config::PostgresSinkConfig;
pub use destination::Destination;
pub use dialect::Dialect;
pub use error::{PostgresError, RowError};
pub use method::{Method, WriteMethod};
pub use options::{CreateTable, DialectChoice, WriteMode, WriteOptions};
pub use positions::PostgresPositions;
pub use sink::PostgresSink;
pub use types::{PgType, Problem};

/// An IANA zone by name (`UTC`, `Asia/Shanghai`, `PRC`).
pub fn zone_named(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok()
}
