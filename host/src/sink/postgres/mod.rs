//! PostgreSQL / Hologres sink: checks the transform output against the table before data
//! flows, stages rows, and writes them with the source position so that a resumed load
//! writes every row exactly once.
//!
//! On PostgreSQL a batch is one transaction: its deletes, its rows (binary COPY for plain
//! appends, one `INSERT … SELECT * FROM unnest(…) ON CONFLICT …` for keyed modes) and the
//! position. On Hologres, or with several writer connections, statements autocommit:
//! keyed writes are idempotent, and the position is written after the rows.
//!
//! - [`config`]: the DSN and the table name; [`options`]: how to write;
//! - [`connect`]: opening a session (the transport, and TLS when asked);
//! - [`dialect`]: PostgreSQL or Hologres, and each session's settings;
//! - [`catalog`]: the table's columns and the binding of output columns to them;
//! - [`encode`] and [`numeric`]: values to the binary wire format, one row error at a time;
//! - [`stage`]: the staged rows of a batch, same-key rows merged;
//! - [`sql`]: the statements; [`writer`]: one connection sending them;
//! - [`partition`]: routing rows to the children of a LIST-partitioned table;
//! - [`progress`]: the `holo_host.progress` table that makes a resumed load exactly once.

pub mod catalog;
pub mod config;
pub mod connect;
pub mod dialect;
pub mod encode;
pub mod numeric;
pub mod options;
pub mod partition;
pub mod progress;
pub mod sql;
pub mod stage;
pub mod writer;

use std::error::Error as _;
use std::fmt::{self, Write as _};
use std::time::Duration;

use holo_batch::{RowRef, ValueRef};
use tokio_postgres::error::SqlState;
use tracing::{debug, info, warn};

pub use catalog::{BindProblem, PgType, TableColumn, TableInfo};
pub use config::PostgresSinkConfig;
pub use dialect::Dialect;
pub use encode::Problem;
pub use options::{CreateTable, DialectChoice, WriteMode, WriteOptions};

use crate::record::{Column, Position};
use crate::sink::Rejected;
use catalog::PartitionKey;
use config::{TableName, quote_ident};
use connect::ConnectConfig;
use encode::Scratch;
use partition::{Partitions, Route};
use sql::Conflict;
use stage::{Merge, RowPlan, Stage};
use writer::{Outcome, Shapes, Step, StepKind, Writer};

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
    #[error("cannot connect to PostgreSQL at `{target}` over TLS")]
    Tls {
        target: String,
        source: connect::TlsError,
    },
    #[error("cannot {what} on `{target}`")]
    Query {
        target: String,
        what: &'static str,
        source: tokio_postgres::Error,
    },
    #[error(
        "table `{table}` does not exist on `{target}`: create it first, or pass --create-table"
    )]
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
    #[error(
        "table `{table}` has no primary key, which --mode {mode} needs: add one, or use \
         --mode insert"
    )]
    NoPrimaryKey { table: String, mode: WriteMode },
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
            | PostgresError::CreateTable { source, .. }
            | PostgresError::Partitions { source, .. }
            | PostgresError::Copy { source, .. }
            | PostgresError::Delete { source, .. }
            | PostgresError::SavePosition { source, .. }
            | PostgresError::Commit { source, .. }
            | PostgresError::LoadPosition { source, .. }
            | PostgresError::ClearPosition { source, .. } => is_retriable(source),
            PostgresError::Dsn { .. }
            | PostgresError::Tls { .. }
            | PostgresError::TableName { .. }
            | PostgresError::TableNotFound { .. }
            | PostgresError::Bind { .. }
            | PostgresError::NoPrimaryKey { .. }
            | PostgresError::KeyNotInOutput { .. }
            | PostgresError::Partitioning { .. }
            | PostgresError::CreateSpec { .. }
            | PostgresError::Rebind { .. }
            | PostgresError::BadPosition { .. } => false,
        }
    }
}

/// SQLSTATE classes 08 (connection), 53 (resources), 57P0x (shutdown), 40001
/// (serialization) and 40P01 (deadlock), Hologres' "resource busy" and "too many
/// clients" by message, and any failure below the protocol.
pub fn is_retriable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let c = db.code().code();
        let message = db.message().to_ascii_lowercase();
        return c.starts_with("08")
            || c.starts_with("53")
            || c.starts_with("57P0")
            || c == "40001"
            || c == "40P01"
            || message.contains("resource busy")
            || message.contains("too many clients");
    }
    if e.code().is_some() {
        return false;
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
    /// A delete, for a table without a primary key in the output.
    NoKey {
        table: String,
    },
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
            RowError::NoKey { table } => write!(
                f,
                "cannot delete: table `{table}` has no primary key in the transform output to \
                 find the row by"
            ),
        }
    }
}

impl std::error::Error for RowError {}

/// The output bound to the table, and how it is written.
#[derive(Debug, Clone)]
struct WritePlan {
    row: RowPlan,
    columns: Vec<(String, PgType)>,
    key: Vec<(String, PgType)>,
    conflict: Conflict,
    copy: bool,
    shapes: Shapes,
    /// Table columns the output leaves to the server.
    left_out: Vec<String>,
}

/// Why a write attempt failed, and at what.
#[derive(Debug)]
enum Failed {
    Step {
        kind: StepKind,
        table: String,
        rows: usize,
        source: tokio_postgres::Error,
    },
    Position(tokio_postgres::Error),
    Commit(tokio_postgres::Error),
    Partitions(tokio_postgres::Error),
    Connect(PostgresError),
}

impl Failed {
    fn retriable(&self) -> bool {
        match self {
            Failed::Step { source, .. }
            | Failed::Position(source)
            | Failed::Commit(source)
            | Failed::Partitions(source) => is_retriable(source),
            Failed::Connect(e) => e.is_retriable(),
        }
    }

    fn into_error(self, job: &str, table: &str) -> PostgresError {
        match self {
            Failed::Step {
                kind: StepKind::Delete,
                table,
                rows,
                source,
            } => PostgresError::Delete {
                table,
                rows,
                source,
            },
            Failed::Step {
                table,
                rows,
                source,
                ..
            } => PostgresError::Copy {
                table,
                rows,
                source,
            },
            Failed::Position(source) => PostgresError::SavePosition {
                job: job.to_owned(),
                source,
            },
            Failed::Commit(source) => PostgresError::Commit {
                job: job.to_owned(),
                table: table.to_owned(),
                source,
            },
            Failed::Partitions(source) => PostgresError::Partitions {
                table: table.to_owned(),
                source,
            },
            Failed::Connect(e) => e,
        }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failed::Step { source, .. }
            | Failed::Position(source)
            | Failed::Commit(source)
            | Failed::Partitions(source) => write!(f, "{source}"),
            Failed::Connect(e) => write!(f, "{e}"),
        }
    }
}

/// Waits and tries again, `tries` times in all, the wait doubling from `first`.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    tries: u32,
    first: Duration,
}

impl Backoff {
    fn delay(&self, attempt: u32) -> Duration {
        self.first.saturating_mul(1 << attempt.min(10))
    }
}

/// A new session for writing: connected, set up for the dialect.
async fn open_writer(
    pg: &ConnectConfig,
    target: &str,
    hologres_server: bool,
) -> Result<Writer, PostgresError> {
    let client = connect::connect(pg, target).await?;
    dialect::setup(&client, hologres_server)
        .await
        .map_err(|source| PostgresError::Query {
            target: target.to_owned(),
            what: "set up the session",
            source,
        })?;
    Ok(Writer::new(client))
}

/// The writer in `slot`, connecting first if its connection was lost.
async fn ensure<'w>(
    slot: &'w mut Option<Writer>,
    pg: &ConnectConfig,
    target: &str,
    hologres_server: bool,
) -> Result<&'w mut Writer, PostgresError> {
    if slot.is_none() {
        *slot = Some(open_writer(pg, target, hologres_server).await?);
    }
    Ok(slot.as_mut().expect("connected above"))
}

/// Runs `steps` on one autocommit connection, reconnecting and resuming at the failed
/// step when the failure is transient.
#[allow(clippy::too_many_arguments)] // the shared, read-only parts of the sink
async fn run_autocommit(
    slot: &mut Option<Writer>,
    steps: &[Step],
    stage: &Stage,
    shapes: &Shapes,
    pg: &ConnectConfig,
    target: &str,
    hologres_server: bool,
    backoff: Backoff,
) -> Result<Outcome, Failed> {
    let mut total = Outcome::default();
    let mut done = 0;
    let mut attempt = 0;
    loop {
        let result: Result<(), Failed> = async {
            let w = ensure(slot, pg, target, hologres_server)
                .await
                .map_err(Failed::Connect)?;
            while done < steps.len() {
                let step = &steps[done];
                let out = w
                    .run_step(stage, shapes, step, true, false)
                    .await
                    .map_err(|source| Failed::Step {
                        kind: step.kind,
                        table: step.table.clone(),
                        rows: step.items.len(),
                        source,
                    })?;
                total.written += out.written;
                total.rejected.extend(out.rejected);
                done += 1;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => return Ok(total),
            Err(e) if e.retriable() && attempt + 1 < backoff.tries => {
                warn!(server = %target, attempt = attempt + 1, error = %e, "write failed, reconnecting and retrying");
                *slot = None;
                tokio::time::sleep(backoff.delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes rows to one table (or the children of a partitioned one), with the source
/// position.
pub struct PostgresSink {
    pg: ConnectConfig,
    /// `host:port/db as user`, for logs and errors.
    target: String,
    options: WriteOptions,
    /// `hg_version()` when the server is Hologres.
    hologres_version: Option<String>,
    dialect: Dialect,
    /// Statements autocommit: the Hologres dialect, or several writers.
    autocommit: bool,
    table: TableInfo,
    /// The table is missing and `--create-table` will create it before the first write.
    create_pending: bool,
    /// The output the sink is bound to.
    output: Vec<Column>,
    /// One connection per writer; `None` after a failure, until reconnected.
    writers: Vec<Option<Writer>>,
    partitions: Option<Partitions>,
    plan: Option<WritePlan>,
    stage: Stage,
    scratch: Scratch,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("target", &self.target)
            .field("table", &self.table.name)
            .field("dialect", &self.dialect)
            .field("staged_rows", &self.stage.live_rows())
            .finish_non_exhaustive()
    }
}

impl PostgresSink {
    /// Connects, checks the connection (`SELECT 1`), detects Hologres, reads the table and
    /// creates `holo_host.progress` if missing.
    pub async fn connect(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        Self::open(cfg, false).await
    }

    /// [`Self::connect`] that changes nothing on the server (for `holo-host plan`): no
    /// progress table, one connection.
    pub async fn connect_read_only(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        Self::open(cfg, true).await
    }

    async fn open(cfg: &PostgresSinkConfig, read_only: bool) -> Result<Self, PostgresError> {
        let (pg, target, name) = cfg.build()?;
        let options = cfg.write.clone();
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
        let hologres_version = dialect::detect(&client)
            .await
            .map_err(query_err("detect Hologres"))?;
        dialect::setup(&client, hologres_version.is_some())
            .await
            .map_err(query_err("set up the session"))?;
        let dialect = match (options.dialect, &hologres_version) {
            (DialectChoice::Postgres, _) => Dialect::Postgres,
            (DialectChoice::Hologres, _) | (DialectChoice::Auto, Some(_)) => Dialect::Hologres,
            (DialectChoice::Auto, None) => Dialect::Postgres,
        };
        match &hologres_version {
            Some(v) => {
                info!(server = %target, version = %v, dialect = dialect.name(), "connected to Hologres")
            }
            None => debug!(server = %target, dialect = dialect.name(), "connected to PostgreSQL"),
        }
        let (table, create_pending) = match catalog::load_table(&client, &name)
            .await
            .map_err(query_err("read the table's columns from the catalog"))?
        {
            Some(t) => (t, false),
            None if options.create_table.is_some() => (missing_table(&name), true),
            None => {
                return Err(PostgresError::TableNotFound {
                    table: name.to_string(),
                    target: target.clone(),
                });
            }
        };
        if !read_only {
            progress::ensure_table(&client).await.map_err(|source| {
                PostgresError::ProgressTable {
                    target: target.clone(),
                    source,
                }
            })?;
        }
        let mut writers = vec![Some(Writer::new(client))];
        if !read_only {
            for _ in 1..options.writers.max(1) {
                writers.push(Some(
                    open_writer(&pg, &target, hologres_version.is_some()).await?,
                ));
            }
        }
        let autocommit = dialect == Dialect::Hologres || options.writers > 1;
        let mut sink = PostgresSink {
            pg,
            target,
            options,
            hologres_version,
            dialect,
            autocommit,
            table,
            create_pending,
            output: Vec::new(),
            writers,
            partitions: None,
            plan: None,
            stage: Stage::default(),
            scratch: Scratch::default(),
        };
        if !create_pending {
            sink.load_partitions().await?;
        }
        debug!(server = %sink.target, table = %sink.table.name, columns = sink.table.columns.len(), "connected");
        Ok(sink)
    }

    /// Reads the children of a LIST-partitioned table.
    async fn load_partitions(&mut self) -> Result<(), PostgresError> {
        let Some(PartitionKey {
            strategy: 'l',
            column: Some(column),
        }) = &self.table.partition
        else {
            return Ok(());
        };
        let ty = self
            .table
            .column(column)
            .and_then(TableColumn::pg_type)
            .filter(|t| partition::supports(*t))
            .ok_or_else(|| PostgresError::Partitioning {
                table: self.table.name.clone(),
                reason: format!(
                    "its partition column `{column}` is not text, an integer or a date"
                ),
            })?;
        let client = &self.writers[0].as_ref().expect("connected").client;
        let partitions = Partitions::load(
            client,
            &self.table,
            column,
            ty,
            self.hologres_version.is_some(),
            self.options.create_partitions,
            self.options.max_new_partitions,
        )
        .await
        .map_err(|source| PostgresError::Partitions {
            table: self.table.name.clone(),
            source,
        })?;
        if partitions.auto() && self.options.create_partitions {
            warn!(table = %self.table.name, "the table is auto-partitioned: --create-partitions does not apply");
        }
        self.partitions = Some(partitions);
        Ok(())
    }

    /// The destination table as the catalog describes it (as it will be created, for a
    /// table `--create-table` has yet to create).
    pub fn table(&self) -> &TableInfo {
        &self.table
    }

    /// `host:port/db as user` of the server.
    pub fn target(&self) -> &str {
        &self.target
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `hg_version()` of a Hologres server.
    pub fn hologres_version(&self) -> Option<&str> {
        self.hologres_version.as_deref()
    }

    /// Checks the transform's output columns against the table; every problem is listed.
    /// A table `--create-table` has yet to create is described from the output.
    pub fn bind(&mut self, output: &[Column]) -> Result<(), PostgresError> {
        if !self.stage.is_empty() {
            return Err(PostgresError::Rebind {
                table: self.table.name.clone(),
                rows: self.stage.live_rows() + self.stage.deletes.len(),
            });
        }
        if self.create_pending {
            self.table = self.planned_table(output)?;
        }
        let binding =
            catalog::bind(&self.table, output).map_err(|problems| PostgresError::Bind {
                table: self.table.name.clone(),
                problems,
            })?;
        let plan = self.write_plan(binding.targets, output)?;
        if self.autocommit && self.options.mode == WriteMode::Insert {
            if plan.key.is_empty() {
                warn!(table = %self.table.name,
                      "--mode insert into a table without a primary key on the autocommit path \
                       (Hologres, or --writers > 1) is at-least-once: a batch retried after a \
                       failure may be written twice");
            } else {
                info!(table = %self.table.name,
                      "--mode insert on the autocommit path skips keys already present \
                       (ON CONFLICT DO NOTHING), so a retried batch writes nothing twice");
            }
        }
        self.plan = Some(plan);
        self.output = output.to_vec();
        Ok(())
    }

    /// Whether [`PostgresSink::bind`] would accept `output`, without binding it: a new
    /// transform version is checked this way before it takes over.
    pub fn check(&self, output: &[Column]) -> Result<(), PostgresError> {
        let table = if self.create_pending {
            self.planned_table(output)?
        } else {
            self.table.clone()
        };
        let binding = catalog::bind(&table, output).map_err(|problems| PostgresError::Bind {
            table: table.name.clone(),
            problems,
        })?;
        self.write_plan(binding.targets, output).map(|_| ())
    }

    /// The table `--create-table` would create for `output`.
    fn planned_table(&self, output: &[Column]) -> Result<TableInfo, PostgresError> {
        let spec = self
            .options
            .create_table
            .as_ref()
            .expect("a pending table has a spec");
        let bad = |reason: String| PostgresError::CreateSpec {
            table: self.table.name.clone(),
            reason,
        };
        let names: Vec<&str> = output.iter().map(|c| c.name.as_str()).collect();
        for k in &spec.primary_key {
            let Some(col) = output.iter().find(|c| &c.name == k) else {
                return Err(bad(format!(
                    "--primary-key column `{k}` is not in the transform output (columns: {})",
                    names.join(", ")
                )));
            };
            if self.dialect == Dialect::Hologres
                && matches!(
                    col.ty,
                    crate::record::ColumnType::Float | crate::record::ColumnType::Json
                )
            {
                return Err(bad(format!(
                    "--primary-key column `{k}` is {}, which Hologres does not allow in a key",
                    col.ty
                )));
            }
        }
        if let Some(p) = &spec.partition_by {
            if !names.contains(&p.as_str()) {
                return Err(bad(format!(
                    "--partition-by column `{p}` is not in the transform output (columns: {})",
                    names.join(", ")
                )));
            }
            if !spec.primary_key.is_empty() && !spec.primary_key.contains(p) {
                return Err(bad(format!(
                    "--partition-by column `{p}` must be part of the --primary-key"
                )));
            }
        }
        if self.options.mode.is_upsert() && spec.primary_key.is_empty() {
            return Err(bad(format!(
                "--mode {} needs a key: give --primary-key",
                self.options.mode
            )));
        }
        let columns = output
            .iter()
            .map(|c| {
                let ty = sql::ddl_type(c.ty);
                let oid = match c.ty {
                    crate::record::ColumnType::Text => PgType::Text,
                    crate::record::ColumnType::Int => PgType::Int8,
                    crate::record::ColumnType::Float => PgType::Float8,
                    crate::record::ColumnType::Boolean => PgType::Bool,
                    crate::record::ColumnType::Json => PgType::Jsonb,
                }
                .oid();
                TableColumn {
                    name: c.name.clone(),
                    type_name: ty.to_owned(),
                    oid,
                    typmod: -1,
                    not_null: spec.primary_key.contains(&c.name),
                    has_default: false,
                    identity: false,
                    generated: false,
                }
            })
            .collect();
        Ok(TableInfo {
            columns,
            primary_key: spec.primary_key.clone(),
            partition: spec.partition_by.as_ref().map(|c| PartitionKey {
                strategy: 'l',
                column: Some(c.clone()),
            }),
            ..missing_table(&TableName {
                schema: self.table.schema.clone(),
                table: self.table.table.clone(),
            })
        })
    }

    /// The DDL `--create-table` runs: `CREATE TABLE`, then on Hologres the table
    /// properties (`CALL set_table_property`), in one transaction.
    pub fn create_table_sql(&self) -> Vec<String> {
        let Some(spec) = &self.options.create_table else {
            return Vec::new();
        };
        let columns: Vec<_> = self.output.iter().map(|c| (c.name.clone(), c.ty)).collect();
        let mut ddl = vec![sql::create_table_sql(
            &self.table.quoted(),
            &columns,
            &spec.primary_key,
            spec.partition_by.as_deref(),
        )];
        if self.dialect == Dialect::Hologres {
            for (k, v) in &spec.properties {
                ddl.push(sql::set_table_property_sql(
                    &self.table.schema,
                    &self.table.table,
                    k,
                    v,
                ));
            }
        }
        ddl
    }

    fn write_plan(
        &self,
        targets: Vec<encode::Target>,
        output: &[Column],
    ) -> Result<WritePlan, PostgresError> {
        let table = &self.table;
        let mode = self.options.mode;
        if mode.is_upsert() && table.primary_key.is_empty() {
            return Err(PostgresError::NoPrimaryKey {
                table: table.name.clone(),
                mode,
            });
        }
        let mut key = Vec::new();
        for k in &table.primary_key {
            match output.iter().position(|c| &c.name == k) {
                Some(i) => key.push(i),
                None if mode.is_upsert() => {
                    return Err(PostgresError::KeyNotInOutput {
                        table: table.name.clone(),
                        column: k.clone(),
                        mode,
                    });
                }
                // Plain appends need no key; deletes will be refused.
                None => {
                    key.clear();
                    break;
                }
            }
        }
        let partition = match &self.partitions {
            _ if !matches!(
                table.partition,
                Some(PartitionKey {
                    strategy: 'l',
                    column: Some(_)
                })
            ) =>
            {
                None
            }
            _ => {
                let column = table
                    .partition
                    .as_ref()
                    .and_then(|p| p.column.as_deref())
                    .expect("matched above");
                let i = output
                    .iter()
                    .position(|c| c.name == column)
                    .ok_or_else(|| PostgresError::Partitioning {
                        table: table.name.clone(),
                        reason: format!(
                            "the transform output has no column `{column}`, which picks the \
                             partition of each row: output it"
                        ),
                    })?;
                let ty = targets[i].ty;
                if !partition::supports(ty) {
                    return Err(PostgresError::Partitioning {
                        table: table.name.clone(),
                        reason: format!(
                            "its partition column `{column}` is {ty}, not text, an integer or \
                             a date"
                        ),
                    });
                }
                Some((i, ty))
            }
        };
        let merge = match mode {
            WriteMode::Insert => Merge::None,
            WriteMode::InsertOrIgnore => Merge::KeepFirst,
            WriteMode::InsertOrReplace | WriteMode::InsertOrUpdate => Merge::KeepLast,
        };
        let columns: Vec<(String, PgType)> =
            targets.iter().map(|t| (t.name.clone(), t.ty)).collect();
        let key_cols: Vec<(String, PgType)> = key.iter().map(|&i| columns[i].clone()).collect();
        let key_names: Vec<String> = key_cols.iter().map(|(n, _)| n.clone()).collect();
        let set: Vec<String> = columns
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| !key_names.contains(n))
            .collect();
        let left_out: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !output.iter().any(|o| o.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        let conflict = match mode {
            WriteMode::Insert if self.autocommit && !key.is_empty() => Conflict::Nothing {
                key: key_names.clone(),
            },
            WriteMode::Insert => Conflict::Fail,
            WriteMode::InsertOrIgnore => Conflict::Nothing {
                key: key_names.clone(),
            },
            WriteMode::InsertOrUpdate => Conflict::Update {
                key: key_names.clone(),
                set,
                reset: vec![],
            },
            WriteMode::InsertOrReplace => Conflict::Update {
                key: key_names.clone(),
                set,
                reset: table
                    .columns
                    .iter()
                    .filter(|c| {
                        left_out.contains(&c.name)
                            && !c.generated
                            && !c.identity
                            && !key_names.contains(&c.name)
                    })
                    .map(|c| c.name.clone())
                    .collect(),
            },
        };
        let copy = conflict == Conflict::Fail && self.dialect == Dialect::Postgres;
        let shapes = Shapes {
            columns: columns.iter().map(|(_, t)| *t).collect(),
            key: key_cols.iter().map(|(_, t)| *t).collect(),
        };
        Ok(WritePlan {
            row: RowPlan {
                targets,
                key,
                partition,
                merge,
                table: table.name.clone(),
            },
            columns,
            key: key_cols,
            conflict,
            copy,
            shapes,
            left_out,
        })
    }

    /// Stages one output row (values in output-column order) of input record `input`. On
    /// error nothing of the row stays staged.
    #[inline]
    pub fn push_row(&mut self, input: u32, row: RowRef<'_>) -> Result<(), RowError> {
        let Some(plan) = &self.plan else {
            return Err(RowError::NotBound);
        };
        self.stage
            .push_row(&plan.row, input, row, &mut self.scratch)
    }

    /// Stages the delete of the row whose primary key `key` holds (an output row; only
    /// its key columns are used, the others may be null).
    pub fn push_delete(&mut self, input: u32, key: RowRef<'_>) -> Result<(), RowError> {
        let Some(plan) = &self.plan else {
            return Err(RowError::NotBound);
        };
        self.stage
            .push_delete(&plan.row, input, key, &mut self.scratch)
    }

    /// Rows staged to be written (rows merged by key counted once).
    pub fn staged_rows(&self) -> usize {
        self.stage.live_rows()
    }

    pub fn staged_bytes(&self) -> usize {
        self.stage.bytes()
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            tries: self.options.tries.max(1),
            first: Duration::from_millis(self.options.retry_delay_ms),
        }
    }

    /// A connected writer 0, reconnecting if its connection was lost.
    async fn first_writer(&mut self) -> Result<&mut Writer, PostgresError> {
        ensure(
            &mut self.writers[0],
            &self.pg,
            &self.target,
            self.hologres_version.is_some(),
        )
        .await
    }

    /// Creates the table `--create-table` asked for, if still missing (another process may
    /// have created it meanwhile: then that table is used).
    pub async fn create_pending_table(&mut self) -> Result<(), PostgresError> {
        if !self.create_pending {
            return Ok(());
        }
        if self.plan.is_none() {
            return Err(PostgresError::CreateSpec {
                table: self.table.name.clone(),
                reason: "the transform output is not known yet: bind first".into(),
            });
        }
        let ddl = self.create_table_sql();
        let in_transaction = self.hologres_version.is_some() && ddl.len() > 1;
        let script = if in_transaction {
            format!("BEGIN; {}; COMMIT", ddl.join("; "))
        } else {
            ddl[0].clone()
        };
        let table = self.table.name.clone();
        let hologres_dialect_on_postgres =
            self.dialect == Dialect::Hologres && self.hologres_version.is_none();
        if hologres_dialect_on_postgres && ddl.len() > 1 {
            warn!(table = %table, "table properties apply to Hologres only: not set on PostgreSQL");
        } else if self.dialect == Dialect::Postgres
            && self
                .options
                .create_table
                .as_ref()
                .is_some_and(|s| !s.properties.is_empty())
        {
            warn!(table = %table, "table properties apply to Hologres only: not set on PostgreSQL");
        }
        let w = self.first_writer().await?;
        match w.client.batch_execute(&script).await {
            Ok(()) => info!(table = %table, "created the table"),
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_TABLE) => {
                if in_transaction {
                    let _ = w.client.batch_execute("ROLLBACK").await;
                }
                info!(table = %table, "the table was created by someone else meanwhile");
            }
            Err(source) => {
                if in_transaction {
                    let _ = w.client.batch_execute("ROLLBACK").await;
                }
                return Err(PostgresError::CreateTable { table, source });
            }
        }
        let name = TableName {
            schema: self.table.schema.clone(),
            table: self.table.table.clone(),
        };
        let client = &self.writers[0].as_ref().expect("connected").client;
        let info = catalog::load_table(client, &name)
            .await
            .map_err(|source| PostgresError::Query {
                target: self.target.clone(),
                what: "read the table's columns from the catalog",
                source,
            })?
            .ok_or_else(|| PostgresError::TableNotFound {
                table: table.clone(),
                target: self.target.clone(),
            })?;
        self.table = info;
        self.create_pending = false;
        self.load_partitions().await?;
        let output = std::mem::take(&mut self.output);
        let staged = std::mem::take(&mut self.stage);
        let result = self.bind(&output);
        self.stage = staged;
        result
    }

    /// Where each staged partition value goes, creating children when allowed.
    async fn resolve_partitions(&mut self) -> Result<Vec<Route>, PostgresError> {
        let values = self.stage.parts.clone();
        let backoff = self.backoff();
        let mut attempt = 0;
        loop {
            let result = async {
                let w = ensure(
                    &mut self.writers[0],
                    &self.pg,
                    &self.target,
                    self.hologres_version.is_some(),
                )
                .await
                .map_err(Failed::Connect)?;
                let partitions = self.partitions.as_mut().expect("partitioned");
                partitions
                    .resolve(&w.client, &values)
                    .await
                    .map_err(Failed::Partitions)
            }
            .await;
            match result {
                Ok(routes) => return Ok(routes),
                Err(e) if e.retriable() && attempt + 1 < backoff.tries => {
                    warn!(table = %self.table.name, attempt = attempt + 1, error = %e, "partition lookup failed, retrying");
                    self.writers[0] = None;
                    tokio::time::sleep(backoff.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into_error("", &self.table.name)),
            }
        }
    }

    /// The steps of each writer: per table, its deletes, then its rows.
    fn steps(&self, routes: &[Route]) -> Vec<Vec<Step>> {
        let plan = self.plan.as_ref().expect("staged rows imply a plan");
        let n = self.writers.len();
        // Per writer: (table, deletes, rows), tables in order of first use.
        let mut work: Vec<Vec<TableWork>> = vec![Vec::new(); n];
        let parent = self.table.quoted();
        let table_of = |part: u32| -> Option<&str> {
            if plan.row.partition.is_none() {
                return Some(parent.as_str());
            }
            match &routes[part as usize] {
                Route::Child(c) => Some(c.as_str()),
                Route::Reject(_) => None,
            }
        };
        let mut add = |w: usize, table: &str, item: u32, delete: bool| {
            let list = &mut work[w];
            let i = match list.iter().position(|(t, _, _)| t == table) {
                Some(i) => i,
                None => {
                    list.push((table.to_owned(), Vec::new(), Vec::new()));
                    list.len() - 1
                }
            };
            if delete {
                list[i].1.push(item);
            } else {
                list[i].2.push(item);
            }
        };
        for (i, d) in self.stage.deletes.iter().enumerate() {
            if let Some(t) = table_of(d.part) {
                add(self.stage.writer_of(&d.key, i, n), t, i as u32, true);
            }
        }
        for (i, r) in self.stage.rows.iter().enumerate() {
            if !r.live {
                continue;
            }
            if let Some(t) = table_of(r.part) {
                add(self.stage.writer_of(&r.key, i, n), t, i as u32, false);
            }
        }
        work.into_iter()
            .map(|tables| {
                let mut steps = Vec::new();
                for (table, deletes, rows) in tables {
                    if !deletes.is_empty() {
                        steps.push(Step {
                            kind: StepKind::Delete,
                            sql: sql::delete_sql(&table, &plan.key),
                            table: table.clone(),
                            items: deletes,
                        });
                    }
                    if !rows.is_empty() {
                        let (kind, sql) = if plan.copy {
                            (StepKind::Copy, sql::copy_sql(&table, &plan.columns))
                        } else {
                            (
                                StepKind::Insert,
                                sql::insert_sql(&table, &plan.columns, &plan.conflict),
                            )
                        };
                        steps.push(Step {
                            kind,
                            sql,
                            table,
                            items: rows,
                        });
                    }
                }
                steps
            })
            .collect()
    }

    /// Writes the staged rows and `position` for `job`; returns the rows written and the
    /// rows the server refused (or no partition takes), for the dead-letter output.
    ///
    /// Transient failures are retried with backoff on a new connection; a commit whose
    /// reply was lost is checked against the saved position, so nothing is written twice.
    /// On error the rows stay staged, so the commit can be tried again.
    pub async fn commit(
        &mut self,
        job: &str,
        position: &Position,
    ) -> Result<(u64, Vec<Rejected>), PostgresError> {
        self.create_pending_table().await?;
        let mut rejected = Vec::new();
        let routes = if self.partitions.is_some()
            && self
                .plan
                .as_ref()
                .is_some_and(|p| p.row.partition.is_some())
            && !self.stage.parts.is_empty()
        {
            let routes = self.resolve_partitions().await?;
            for d in &self.stage.deletes {
                if let Route::Reject(reason) = &routes[d.part as usize] {
                    rejected.push(Rejected {
                        input: d.input,
                        reason: reason.clone(),
                    });
                }
            }
            for r in self.stage.rows.iter().filter(|r| r.live) {
                if let Route::Reject(reason) = &routes[r.part as usize] {
                    rejected.push(Rejected {
                        input: r.input,
                        reason: reason.clone(),
                    });
                }
            }
            routes
        } else {
            Vec::new()
        };
        let steps = if self.stage.is_empty() {
            vec![Vec::new(); self.writers.len()]
        } else {
            self.steps(&routes)
        };
        let outcome = if self.autocommit {
            self.write_autocommit(job, position, &steps).await?
        } else {
            self.write_transaction(job, position, &steps[0]).await?
        };
        rejected.extend(outcome.rejected);
        rejected.sort_by_key(|r| r.input);
        self.stage.clear();
        debug!(table = %self.table.name, job, rows = outcome.written, rejected = rejected.len(), "committed");
        Ok((outcome.written, rejected))
    }

    /// One transaction: deletes, rows, position. A data error rolls it back and runs it
    /// again with each statement split until the bad rows are found.
    async fn write_transaction(
        &mut self,
        job: &str,
        position: &Position,
        steps: &[Step],
    ) -> Result<Outcome, PostgresError> {
        let backoff = self.backoff();
        let shapes = self
            .plan
            .as_ref()
            .map(|p| p.shapes.clone())
            .unwrap_or_default();
        let position_text = position.to_string();
        let mut attempt = 0;
        let mut split = false;
        // The outcome of an attempt whose COMMIT was sent: if its reply is lost, the saved
        // position tells whether it took effect.
        let mut sent_commit: Option<Outcome> = None;
        loop {
            if attempt > 0
                && let Some(out) = sent_commit.take()
            {
                match self.load_position(job).await {
                    Ok(Some(p)) if &p == position => {
                        info!(job, "the commit whose reply was lost took effect");
                        return Ok(out);
                    }
                    Ok(_) => {}
                    Err(e) if e.is_retriable() && attempt + 1 < backoff.tries => {
                        sent_commit = Some(out);
                        self.writers[0] = None;
                        tokio::time::sleep(backoff.delay(attempt)).await;
                        attempt += 1;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let stage = &self.stage;
            let pg = &self.pg;
            let target = &self.target;
            let hologres = self.hologres_version.is_some();
            let slot = &mut self.writers[0];
            let result: Result<Outcome, Failed> = async {
                let w = ensure(slot, pg, target, hologres)
                    .await
                    .map_err(Failed::Connect)?;
                w.client
                    .batch_execute("BEGIN")
                    .await
                    .map_err(Failed::Commit)?;
                let mut total = Outcome::default();
                for step in steps {
                    let out = w
                        .run_step(stage, &shapes, step, split, split)
                        .await
                        .map_err(|source| Failed::Step {
                            kind: step.kind,
                            table: step.table.clone(),
                            rows: step.items.len(),
                            source,
                        })?;
                    total.written += out.written;
                    total.rejected.extend(out.rejected);
                }
                let save = w
                    .statement(progress::UPSERT)
                    .await
                    .map_err(Failed::Position)?;
                w.client
                    .execute(&save, &[&job, &position_text, &(total.written as i64)])
                    .await
                    .map_err(Failed::Position)?;
                sent_commit = Some(Outcome {
                    written: total.written,
                    rejected: total.rejected.clone(),
                });
                w.client
                    .batch_execute("COMMIT")
                    .await
                    .map_err(Failed::Commit)?;
                sent_commit = None;
                Ok(total)
            }
            .await;
            match result {
                Ok(out) => return Ok(out),
                Err(e) => {
                    if let Some(w) = self.writers[0].as_ref()
                        && !w.client.is_closed()
                    {
                        let _ = w.client.batch_execute("ROLLBACK").await;
                    }
                    match e {
                        Failed::Step { ref source, .. }
                            if !split && writer::is_data_error(source) =>
                        {
                            debug!(table = %self.table.name, error = %source, "data error: splitting the batch to find the rows at fault");
                            split = true;
                        }
                        e if e.retriable() && attempt + 1 < backoff.tries => {
                            warn!(table = %self.table.name, attempt = attempt + 1, error = %e, "commit failed, reconnecting and retrying");
                            self.writers[0] = None;
                            tokio::time::sleep(backoff.delay(attempt)).await;
                            attempt += 1;
                        }
                        e => return Err(e.into_error(job, &self.table.name)),
                    }
                }
            }
        }
    }

    /// Every writer's steps in parallel, each statement autocommitted; then the position.
    async fn write_autocommit(
        &mut self,
        job: &str,
        position: &Position,
        steps: &[Vec<Step>],
    ) -> Result<Outcome, PostgresError> {
        let backoff = self.backoff();
        let shapes = self
            .plan
            .as_ref()
            .map(|p| p.shapes.clone())
            .unwrap_or_default();
        let stage = &self.stage;
        let pg = &self.pg;
        let target = &self.target;
        let hologres = self.hologres_version.is_some();
        let results = futures_util::future::join_all(self.writers.iter_mut().zip(steps).map(
            |(slot, steps)| {
                run_autocommit(slot, steps, stage, &shapes, pg, target, hologres, backoff)
            },
        ))
        .await;
        let mut total = Outcome::default();
        for r in results {
            let out = r.map_err(|e| e.into_error(job, &self.table.name))?;
            total.written += out.written;
            total.rejected.extend(out.rejected);
        }
        let position_text = position.to_string();
        let mut attempt = 0;
        loop {
            let result = async {
                let w = self.first_writer().await.map_err(Failed::Connect)?;
                let save = w
                    .statement(progress::UPSERT)
                    .await
                    .map_err(Failed::Position)?;
                w.client
                    .execute(&save, &[&job, &position_text, &(total.written as i64)])
                    .await
                    .map_err(Failed::Position)
            }
            .await;
            match result {
                Ok(_) => return Ok(total),
                Err(e) if e.retriable() && attempt + 1 < backoff.tries => {
                    warn!(job, attempt = attempt + 1, error = %e, "saving the position failed, retrying");
                    self.writers[0] = None;
                    tokio::time::sleep(backoff.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e.into_error(job, &self.table.name)),
            }
        }
    }

    /// The position committed last for `job`, if any.
    pub async fn load_position(&mut self, job: &str) -> Result<Option<Position>, PostgresError> {
        let w = self.first_writer().await?;
        let text =
            progress::load(&w.client, job)
                .await
                .map_err(|source| PostgresError::LoadPosition {
                    job: job.to_owned(),
                    source,
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
    pub async fn clear_position(&mut self, job: &str) -> Result<(), PostgresError> {
        let w = self.first_writer().await?;
        progress::clear(&w.client, job)
            .await
            .map_err(|source| PostgresError::ClearPosition {
                job: job.to_owned(),
                source,
            })
    }

    /// What a run would do, as text: the target, the mode, the column mapping and the SQL
    /// (for `holo-host plan`). Needs [`Self::bind`] first.
    pub fn describe_plan(&self) -> String {
        let mut out = String::new();
        self.write_description(&mut out)
            .expect("writing to a String cannot fail");
        out
    }

    fn write_description(&self, out: &mut String) -> fmt::Result {
        let Some(plan) = &self.plan else {
            return writeln!(out, "(not bound to a transform output)");
        };
        let o = &self.options;
        writeln!(
            out,
            "target:   table `{}` on {}",
            self.table.name, self.target
        )?;
        match &self.hologres_version {
            Some(v) => writeln!(out, "server:   Hologres ({v})")?,
            None => writeln!(out, "server:   PostgreSQL")?,
        }
        let how = if self.autocommit {
            "autocommit statements; the position is written after the rows"
        } else {
            "one transaction per batch holds its rows and its position"
        };
        writeln!(out, "dialect:  {} ({how})", self.dialect.name())?;
        let key = if plan.key.is_empty() {
            "no key".to_owned()
        } else {
            format!(
                "key ({})",
                plan.key
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        writeln!(
            out,
            "mode:     {} ({key}); {} writer{}",
            o.mode,
            o.writers,
            if o.writers == 1 { "" } else { "s" }
        )?;
        if let Some(PartitionKey { strategy, column }) = &self.table.partition {
            let column = column.as_deref().unwrap_or("(expression)");
            match &self.partitions {
                Some(p) if *strategy == 'l' => {
                    let mut children: Vec<String> = p
                        .children()
                        .map(|(v, c)| format!("{c} ({})", v.as_deref().unwrap_or("NULL")))
                        .collect();
                    children.sort();
                    writeln!(
                        out,
                        "partitions: LIST ({column}), rows routed to the child holding their \
                         value; {} existing: {}",
                        children.len(),
                        if children.is_empty() {
                            "none".to_owned()
                        } else {
                            children.join(", ")
                        }
                    )?;
                    if p.auto() {
                        writeln!(
                            out,
                            "  missing children: created by Hologres (auto-partitioning)"
                        )?;
                    } else if o.create_partitions {
                        writeln!(
                            out,
                            "  missing children: created on demand, at most {} per run",
                            o.max_new_partitions
                        )?;
                    } else {
                        writeln!(
                            out,
                            "  missing children: rows dead-lettered (pass --create-partitions to \
                             create them)"
                        )?;
                    }
                }
                _ if *strategy == 'l' => writeln!(
                    out,
                    "partitions: LIST ({column}), created with the table; children created on \
                     demand: {}",
                    if o.create_partitions { "yes" } else { "no" }
                )?,
                _ => writeln!(out, "partitions: the server routes rows ({column})")?,
            }
        }
        writeln!(out, "\ncolumns (transform output -> table):")?;
        for (c, (name, ty)) in self.output.iter().zip(&plan.columns) {
            let declared = self
                .table
                .column(name)
                .map_or(ty.name(), |tc| tc.type_name.as_str());
            let mark = if plan.key.iter().any(|(k, _)| k == name) {
                "  [key]"
            } else {
                ""
            };
            writeln!(
                out,
                "  {} ({}) -> {} ({declared}){mark}",
                c.name,
                c.ty,
                quote_ident(name)
            )?;
        }
        for name in &plan.left_out {
            let fill = match &plan.conflict {
                Conflict::Update { reset, .. } if reset.contains(name) => {
                    "default on insert, reset to its default on conflict"
                }
                _ => "filled by the server (default or NULL)",
            };
            writeln!(
                out,
                "  (not in the output) -> {} : {fill}",
                quote_ident(name)
            )?;
        }
        writeln!(out, "\nSQL:")?;
        if self.create_pending {
            writeln!(out, "-- the table is missing: --create-table creates it")?;
            let ddl = self.create_table_sql();
            if ddl.len() > 1 {
                writeln!(out, "BEGIN;")?;
            }
            for s in &ddl {
                writeln!(out, "{s};")?;
            }
            if ddl.len() > 1 {
                writeln!(out, "COMMIT;")?;
            }
        }
        let partitioned = plan.row.partition.is_some();
        let table = if partitioned {
            format!(
                "{}.{}",
                quote_ident(&self.table.schema),
                quote_ident(&format!("{}_<value>", self.table.table))
            )
        } else {
            self.table.quoted()
        };
        if partitioned && o.create_partitions {
            writeln!(out, "-- a missing child, for each new value")?;
            writeln!(
                out,
                "CREATE TABLE {table} PARTITION OF {} FOR VALUES IN ('<value>');",
                self.table.quoted()
            )?;
        }
        if !self.autocommit {
            writeln!(out, "BEGIN;")?;
        }
        let to = if partitioned { " (to each child)" } else { "" };
        if !plan.key.is_empty() {
            writeln!(out, "-- deletes, by key, before the rows of the batch{to}")?;
            writeln!(out, "{};", sql::delete_sql(&table, &plan.key))?;
        }
        writeln!(out, "-- the rows of the batch{to}")?;
        if plan.copy {
            writeln!(out, "{};", sql::copy_sql(&table, &plan.columns))?;
        } else {
            writeln!(
                out,
                "{};",
                sql::insert_sql(&table, &plan.columns, &plan.conflict)
            )?;
        }
        writeln!(out, "-- the source position, after the rows")?;
        writeln!(out, "{};", progress::UPSERT)?;
        if !self.autocommit {
            writeln!(out, "COMMIT;")?;
        }
        Ok(())
    }
}

/// One table's work for one writer: the table, its deletes, its rows.
type TableWork = (String, Vec<u32>, Vec<u32>);

/// A table not created yet, known by name only.
fn missing_table(name: &TableName) -> TableInfo {
    TableInfo {
        name: name.to_string(),
        schema: name.schema.clone(),
        table: name.table.clone(),
        oid: 0,
        columns: Vec::new(),
        primary_key: Vec::new(),
        partition: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn backoff_doubles() {
        let b = Backoff {
            tries: 5,
            first: Duration::from_millis(500),
        };
        assert_eq!(b.delay(0), Duration::from_millis(500));
        assert_eq!(b.delay(2), Duration::from_secs(2));
    }
}
