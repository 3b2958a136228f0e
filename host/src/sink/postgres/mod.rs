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
//! A row goes through, in order:
//! - [`config`] and [`options`]: where and how to write; [`dialect`]: PostgreSQL or
//!   Hologres, and each session's settings; [`method`]: COPY or INSERT, by version;
//! - [`catalog`]: the table's columns, and the check that binds output columns to them;
//!   [`spec`]: the bound output and the statements it is written with;
//!   [`create`]: the table `--create-table` makes;
//! - [`types`], [`encode`], [`numeric`] and [`arrays`]: values to the binary wire format,
//!   one row error at a time; [`staging`]: the staged rows of a batch, same-key rows merged;
//! - [`partition`]: routing rows to the children of a LIST-partitioned table;
//! - [`commit`]: the transaction and autocommit paths, retried through [`crate::db`];
//!   [`writer`]: one connection sending [`sql`] statements;
//! - [`positions`]: the `holo_host.progress` table that makes a resumed load exactly once;
//! - [`explain`]: the same, as text for `holo-host plan`; [`error`]: what can go wrong.

pub mod arrays;
pub mod catalog;
pub mod commit;
pub mod config;
pub mod create;
pub mod dialect;
pub mod encode;
pub mod error;
pub mod explain;
pub mod in_flight;
pub mod method;
pub mod numeric;
pub mod options;
pub mod partition;
pub mod positions;
pub mod spec;
pub mod sql;
pub mod staging;
pub mod types;
pub mod writer;

use std::fmt;
use std::time::Duration;

use holo_batch::RowRef;
use tracing::{debug, info, warn};

pub use catalog::{BindProblem, TableColumn, TableInfo};
pub use config::PostgresSinkConfig;
pub use dialect::Dialect;
pub use error::{PostgresError, RowError};
pub use method::{Method, WriteMethod};
pub use options::{CreateTable, DialectChoice, WriteMode, WriteOptions};
pub use positions::PostgresPositions;
pub use types::{PgType, Problem};

use crate::db::{self, ConnectConfig, TableName};
use crate::position::{JobKey, PositionError, PositionStore};
use crate::record::{Column, Position};
use crate::retry::Backoff;
use catalog::PartitionKey;
use partition::Partitions;
use spec::WriteSpec;
use staging::Staged;
use types::Scratch;
use writer::Writer;

/// Tries of the first connection: pauses of about 0.5, 1, 2, 4 and 8 s between them.
const STARTUP_TRIES: u32 = 6;

/// Writes rows to one table (or the children of a partitioned one), with the source
/// position.
pub struct PostgresSink {
    pg: ConnectConfig,
    /// `host:port/db as user`, for logs and errors.
    server: String,
    /// The table as named on the command line, resolved to schema and table.
    name: TableName,
    options: WriteOptions,
    /// `hg_version()` when the server is Hologres.
    hologres_version: Option<String>,
    dialect: Dialect,
    /// Statements autocommit: the Hologres dialect.
    autocommit: bool,
    /// The zone `timestamptz` text without an offset is read in; `None` for UTC.
    zone: Option<chrono_tz::Tz>,
    /// The positions this process read or saved: each save is compare-and-set against them.
    known: positions::Known,
    table: TableInfo,
    /// The table is missing and `--create-table` will create it before the first write.
    create_pending: bool,
    /// The output the sink is bound to.
    output: Vec<Column>,
    /// One connection per writer; `None` after a failure, until reconnected.
    writers: Vec<Option<Writer>>,
    partitions: Option<Partitions>,
    /// The bound output and how it is written; `None` until [`Self::bind`].
    spec: Option<WriteSpec>,
    staged: Staged,
    scratch: Scratch,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("server", &self.server)
            .field("table", &self.table.name)
            .field("dialect", &self.dialect)
            .field("staged_rows", &self.staged.live_rows())
            .finish_non_exhaustive()
    }
}

impl PostgresSink {
    /// Connects, checks the connection (`SELECT 1`), detects Hologres, reads the table and
    /// creates `holo_host.progress` if missing.
    pub async fn connect(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        Self::open(cfg, false).await
    }

    /// [`Self::connect`] that waits for a server that is down or restarting (about 15 s), as
    /// a connection lost during the run is: a process started again beside a database that
    /// is itself coming back must not give up at once.
    pub async fn connect_patiently(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        let backoff = db::retry::backoff(STARTUP_TRIES, Duration::from_millis(500));
        let mut attempts = backoff.attempts("connecting to the sink");
        loop {
            match Self::open(cfg, false).await {
                Ok(sink) => return Ok(sink),
                Err(e) => {
                    let (retriable, reason) = (e.is_retriable(), e.reason());
                    attempts.next(e, retriable, &reason).await?
                }
            }
        }
    }

    /// [`Self::connect`] that changes nothing on the server (for `holo-host plan`): no
    /// progress table, one connection.
    pub async fn connect_read_only(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        Self::open(cfg, true).await
    }

    async fn open(cfg: &PostgresSinkConfig, read_only: bool) -> Result<Self, PostgresError> {
        let (pg, server, name) = cfg.build()?;
        let mut options = cfg.write.clone();
        let client = db::connect(&pg, &server).await?;
        let query_err = |what| {
            let server = server.clone();
            move |source| PostgresError::Query {
                server,
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
        dialect::setup(
            &client,
            hologres_version.is_some(),
            options.statement_timeout_ms,
        )
        .await
        .map_err(query_err("set up the session"))?;
        let zone = match options.timezone {
            Some(zone) => zone,
            None => session_zone(&client, &server).await?,
        };
        let zone = (zone != chrono_tz::Tz::UTC).then_some(zone);
        let dialect = match (options.dialect, &hologres_version) {
            (DialectChoice::Postgres, Some(version)) => {
                return Err(PostgresError::DialectMismatch {
                    server,
                    version: version.clone(),
                });
            }
            (DialectChoice::Postgres, None) => Dialect::Postgres,
            (DialectChoice::Hologres, _) | (DialectChoice::Auto, Some(_)) => Dialect::Hologres,
            (DialectChoice::Auto, None) => Dialect::Postgres,
        };
        if options.writers == options::AUTO_WRITERS {
            options.writers = options::auto_writers(dialect, &pg);
            info!(server = %server, writers = options.writers, "--writers auto");
        }
        match &hologres_version {
            Some(v) => {
                info!(server = %server, version = %v, dialect = dialect.name(), "connected to Hologres")
            }
            None => debug!(server = %server, dialect = dialect.name(), "connected to PostgreSQL"),
        }
        let (table, create_pending) = match catalog::load_table(&client, &name)
            .await
            .map_err(query_err("read the table's columns from the catalog"))?
        {
            Some(t) => (t, false),
            None if options.create_table.is_some() => (create::missing_table(&name), true),
            None => {
                return Err(PostgresError::TableNotFound {
                    table: name.to_string(),
                    server: server.clone(),
                });
            }
        };
        if !read_only {
            positions::ensure_table(&client).await.map_err(|source| {
                PostgresError::ProgressTable {
                    server: server.clone(),
                    source,
                }
            })?;
        }
        let mut writers = vec![Some(Writer::new(client))];
        if !read_only {
            let connector = commit::Connector::new(
                &pg,
                &server,
                &hologres_version,
                options.statement_timeout_ms,
            );
            for _ in 1..options.writers.max(1) {
                writers.push(Some(connector.open().await?));
            }
        }
        // Several writers on PostgreSQL each take whole batches in transactions of their own
        // ([`commit::InFlight`]); Hologres writes with autocommitted statements.
        let autocommit = dialect == Dialect::Hologres;
        let mut sink = PostgresSink {
            pg,
            server,
            name,
            options,
            hologres_version,
            dialect,
            autocommit,
            zone,
            known: Default::default(),
            table,
            create_pending,
            output: Vec::new(),
            writers,
            partitions: None,
            spec: None,
            staged: Staged::default(),
            scratch: Scratch::default(),
        };
        if !create_pending {
            sink.load_partitions().await?;
        }
        debug!(server = %sink.server, table = %sink.table.name, columns = sink.table.columns.len(), "connected");
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
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The destination's stable identity, `"schema"."table"`: saved positions are keyed by
    /// it (see [`crate::position::JobKey`]).
    pub fn destination(&self) -> String {
        self.name.quoted()
    }

    /// A store of this table's positions, on a session of its own so that sources can
    /// read positions while the sink writes.
    pub fn positions(&self) -> PostgresPositions {
        PostgresPositions::new(
            self.pg.clone(),
            self.server.clone(),
            self.name.clone(),
            self.backoff(),
            self.known.clone(),
        )
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// How rows are sent, once bound (it may change once: see [`method`]).
    pub fn method(&self) -> Option<Method> {
        self.spec.as_ref().map(|s| s.method)
    }

    /// `hg_version()` of a Hologres server.
    pub fn hologres_version(&self) -> Option<&str> {
        self.hologres_version.as_deref()
    }

    /// The position committed last for `key`, if any (read on a session of its own).
    pub async fn load_position(&self, key: &JobKey) -> Result<Option<Position>, PositionError> {
        self.positions().load(key).await
    }

    /// Forgets the position of `key`, so its next run starts from the beginning.
    pub async fn clear_position(&self, key: &JobKey) -> Result<(), PositionError> {
        self.positions().clear(key).await
    }

    /// Checks the transform's output columns against the table; every problem is listed.
    /// A table `--create-table` has yet to create is described from the output.
    pub fn bind(&mut self, output: &[Column]) -> Result<(), PostgresError> {
        if !self.staged.is_empty() {
            return Err(PostgresError::Rebind {
                table: self.table.name.clone(),
                rows: self.staged.live_rows() + self.staged.deletes.len(),
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
        let spec = self.write_spec(binding.targets, output)?;
        if self.autocommit && self.options.mode == WriteMode::Insert {
            if spec.key.is_empty() {
                warn!(table = %self.table.name,
                      "--mode insert into a table without a primary key on the autocommit path \
                       (Hologres) is at-least-once: a batch retried after a \
                       failure may be written twice");
            } else {
                info!(table = %self.table.name,
                      "--mode insert on the autocommit path skips keys already present \
                       (ON CONFLICT DO NOTHING), so a retried batch writes nothing twice");
            }
        }
        self.spec = Some(spec);
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
        self.write_spec(binding.targets, output).map(|_| ())
    }

    /// Stages one output row (values in output-column order) of input record `input`. On
    /// error nothing of the row stays staged.
    #[inline]
    pub fn push_row(&mut self, input: u32, row: RowRef<'_>) -> Result<(), RowError> {
        let Some(spec) = &self.spec else {
            return Err(RowError::NotBound);
        };
        self.staged
            .push_row(&spec.row, input, row, &mut self.scratch)
    }

    /// Stages the delete of the row whose primary key `key` holds (an output row; only
    /// its key columns are used, the others may be null).
    pub fn push_delete(&mut self, input: u32, key: RowRef<'_>) -> Result<(), RowError> {
        let Some(spec) = &self.spec else {
            return Err(RowError::NotBound);
        };
        self.staged
            .push_delete(&spec.row, input, key, &mut self.scratch)
    }

    /// Rows staged to be written (rows merged by key counted once).
    pub fn staged_rows(&self) -> usize {
        self.staged.live_rows()
    }

    pub fn staged_bytes(&self) -> usize {
        self.staged.bytes()
    }

    /// How failed statements are tried again.
    fn backoff(&self) -> Backoff {
        db::retry::backoff(
            self.options.tries,
            Duration::from_millis(self.options.retry_delay_ms),
        )
    }
}

/// The session's TimeZone, which the server reads timestamps without an offset in (on
/// Hologres, Asia/Shanghai unless set otherwise).
async fn session_zone(
    client: &tokio_postgres::Client,
    server: &str,
) -> Result<chrono_tz::Tz, PostgresError> {
    let rows =
        (client.simple_query("SHOW TimeZone").await).map_err(|source| PostgresError::Query {
            server: server.to_owned(),
            what: "read the session's TimeZone",
            source,
        })?;
    let name = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| "UTC".to_owned());
    zone_named(&name).ok_or(PostgresError::TimeZone {
        zone: name,
        server: server.to_owned(),
    })
}

/// An IANA zone by name (`UTC`, `Asia/Shanghai`, `PRC`).
pub fn zone_named(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok()
}
