//! The PostgreSQL / Hologres sink: a [`Destination`], the writer [`Sessions`], the
//! [`Staged`] rows of the batch being built, and the batches in flight. It binds the
//! transform output, stages rows, and commits them with their position.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use holo_batch::RowRef;
use tokio_postgres::error::SqlState;
use tracing::{debug, info, warn};

use super::catalog::{self, PartitionKey, TableColumn, TableInfo};
use super::commit::{self, BatchWrite, Expected, OnRefused, Refusals, WriteFailure};
use super::create;
use super::destination::Destination;
use super::error::{PostgresError, RowError};
use super::explain::Explain;
use super::in_flight::{self, InFlight};
use super::method::Method;
use super::partition::{self, Partitions, Route};
use super::positions::{self, PostgresPositions};
use super::sessions::{Connector, Sessions};
use super::spec::WriteSpec;
use super::sql;
use super::staging::{KeyHashes, Staged};
use super::types::Scratch;
use super::writer::{ParamTypes, Step, Writer};
use super::{Dialect, PostgresSinkConfig};
use crate::db::session::on_session;
use crate::db::{self, Retriable, Session};
use crate::position::{JobKey, PositionError, PositionStore};
use crate::record::{Column, Position};
use crate::sink::{Committed, OnRefusedOf};

/// Tries of the first connection: pauses of about 0.5, 1, 2, 4 and 8 s between them.
const STARTUP_TRIES: u32 = 6;

/// Writes rows to one table (or the children of a partitioned one), with the source
/// position.
pub struct PostgresSink {
    destination: Destination,
    sessions: Sessions,
    /// The positions this process read or saved: each save is compare-and-set against them.
    known: positions::SavedPositions,
    /// The output the sink is bound to.
    output: Vec<Column>,
    partitions: Option<Partitions>,
    /// The bound output and how it is written; `None` until [`Self::bind`].
    spec: Option<WriteSpec>,
    staged: Staged,
    scratch: Scratch,
    /// Batches [`Self::submit`]ted and not committed yet, oldest first, with their tickets.
    in_flight: VecDeque<(u64, InFlight)>,
    /// Batches submitted so far: the next one's ticket.
    submitted: u64,
    /// Drawn at connect: tells this sink's position saves from any other's.
    writer: String,
    /// Whether this server took Fixed Copy into the table when asked at start-up
    /// ([`Self::probe_fixed_copy`]); `None` until asked.
    fixed_copy: Option<bool>,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSink")
            .field("server", &self.destination.server())
            .field("table", &self.destination.table().name)
            .field("dialect", &self.destination.dialect())
            .field("staged_rows", &self.staged.live_rows())
            .finish_non_exhaustive()
    }
}

/// A failed start-up: tried again while the server may be coming back.
impl Retriable for PostgresError {
    fn is_retriable(&self) -> bool {
        PostgresError::is_retriable(self)
    }

    fn reason(&self) -> String {
        PostgresError::reason(self)
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
        // Nothing to reconnect: each try opens the sink anew.
        let mut none = Session::<()>::default();
        let connect = || async { Ok::<(), PostgresError>(()) };
        on_session!(
            &mut none,
            backoff,
            "connecting to the sink",
            connect(),
            |_s, _failed| { Self::open(cfg, false) }
        )
    }

    /// [`Self::connect`] that changes nothing on the server (for `holo-host plan`): no
    /// progress table, one connection.
    pub async fn connect_read_only(cfg: &PostgresSinkConfig) -> Result<Self, PostgresError> {
        Self::open(cfg, true).await
    }

    async fn open(cfg: &PostgresSinkConfig, read_only: bool) -> Result<Self, PostgresError> {
        let (pg, server, name) = cfg.build()?;
        let client = db::connect(&pg, &server).await?;
        let destination = Destination::read(&client, &pg, server, name, cfg.write.clone()).await?;
        let server = destination.server().to_owned();
        if !read_only {
            let progress = destination.progress();
            positions::ensure_table(&client, &progress)
                .await
                .map_err(|source| PostgresError::ProgressTable {
                    server: server.clone(),
                    table: progress.display(),
                    source,
                })?;
        }
        let options = destination.options();
        let backoff = db::retry::write_backoff(
            destination.autocommit(),
            options.tries,
            options.retry_delay_ms.map(Duration::from_millis),
        );
        let hologres = destination.hologres_version().is_some();
        let connector = Connector::new(pg, server, hologres, options.statement_timeout_ms, backoff);
        // Several writers on PostgreSQL each take whole batches in transactions of their own
        // ([`InFlight`]); Hologres writes with autocommitted statements.
        let more = if read_only {
            0
        } else {
            options.writers.max(1) - 1
        };
        let sessions = Sessions::open(connector, Writer::new(client), more).await?;
        let mut sink = PostgresSink {
            destination,
            sessions,
            known: Default::default(),
            output: Vec::new(),
            partitions: None,
            spec: None,
            staged: Staged::default(),
            scratch: Scratch::default(),
            in_flight: VecDeque::new(),
            submitted: 0,
            fixed_copy: None,
            writer: positions::writer_token(),
        };
        if !sink.destination.create_pending() {
            sink.load_partitions().await?;
        }
        debug!(server = %sink.destination.server(), table = %sink.destination.table().name,
               columns = sink.destination.table().columns.len(), "connected");
        Ok(sink)
    }

    /// Reads the children of a LIST-partitioned table.
    async fn load_partitions(&mut self) -> Result<(), PostgresError> {
        let table = self.destination.table();
        let Some(PartitionKey {
            strategy: 'l',
            column: Some(column),
        }) = &table.partition
        else {
            return Ok(());
        };
        let ty = (table.column(column).and_then(TableColumn::pg_type))
            .filter(|t| partition::supports(*t))
            .ok_or_else(|| PostgresError::Partitioning {
                table: table.name.clone(),
                reason: format!(
                    "its partition column `{column}` is not text, an integer or a date"
                ),
            })?;
        let options = self.destination.options();
        let hologres = self.destination.hologres_version().is_some();
        let client = &self.sessions.connected(0).await?.client;
        let partitions = Partitions::load(
            client,
            table,
            column,
            ty,
            hologres,
            options.create_partitions,
            options.max_new_partitions,
        )
        .await
        .map_err(|source| PostgresError::Partitions {
            table: table.name.clone(),
            source,
        })?;
        if partitions.auto() && options.create_partitions {
            warn!(table = %table.name, "the table is auto-partitioned: --create-partitions does not apply");
        }
        self.partitions = Some(partitions);
        Ok(())
    }

    /// The destination table as the catalog describes it (as it will be created, for a
    /// table `--create-table` has yet to create).
    pub fn table(&self) -> &TableInfo {
        self.destination.table()
    }

    /// `host:port/db as user` of the server.
    pub fn server(&self) -> &str {
        self.destination.server()
    }

    /// The destination's stable identity, `"schema"."table"`: saved positions are keyed by
    /// it (see [`crate::position::JobKey`]).
    pub fn destination(&self) -> String {
        self.destination.name().quoted()
    }

    /// Where and how this sink writes.
    pub fn target(&self) -> &Destination {
        &self.destination
    }

    /// A store of this table's positions, on a session of its own so that sources can
    /// read positions while the sink writes.
    pub fn positions(&self) -> PostgresPositions {
        let connector = self.sessions.connector();
        PostgresPositions::new(
            connector.pg().clone(),
            connector.server().to_owned(),
            self.destination.name().clone(),
            self.destination.progress(),
            connector.backoff(),
            self.known.clone(),
        )
    }

    pub fn dialect(&self) -> Dialect {
        self.destination.dialect()
    }

    /// How rows are sent, once bound (it may change once: see [`super::method`]).
    pub fn method(&self) -> Option<Method> {
        self.spec.as_ref().map(|s| s.method)
    }

    /// `hg_version()` of a Hologres server.
    pub fn hologres_version(&self) -> Option<&str> {
        self.destination.hologres_version()
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
                table: self.destination.table().name.clone(),
                rows: self.staged.live_rows() + self.staged.deletes.len(),
            });
        }
        let mut spec = self.destination.bind(output)?;
        if spec.fixed_copy_candidate && self.fixed_copy == Some(true) {
            spec.method = Method::FixedCopy;
        }
        let table = &self.destination.table().name;
        if self.destination.autocommit() && spec.key.is_empty() {
            warn!(table = %table,
                  "--at-least-once: the table has no primary key, and on Hologres a batch \
                   retried after a failure may be written twice");
        }
        self.spec = Some(spec);
        self.output = output.to_vec();
        Ok(())
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

    /// What a run would do, as text: the target, the mode, the column mapping and the SQL
    /// (for `holo-host plan`). Needs [`Self::bind`] first.
    pub fn explain(&self) -> String {
        let explain = Explain {
            dest: &self.destination,
            output: &self.output,
            partitions: self.partitions.as_ref(),
        };
        explain.text(self.spec.as_ref())
    }

    /// Before the first batch, once bound: creates the table `--create-table` asked for, if
    /// still missing (another process may have created it meanwhile: then that table is
    /// used), and on Hologres asks whether Fixed Copy works ([`Self::probe_fixed_copy`]).
    pub async fn prepare(&mut self) -> Result<(), PostgresError> {
        self.create_table_if_pending().await?;
        self.probe_fixed_copy().await
    }

    /// On Hologres with `--write-method auto`, where the version has Fixed Copy: whether
    /// this server takes it into the table, asked once with a COPY of no rows (which
    /// changes nothing). Until then, and if it is refused, rows go by INSERT, the Flink
    /// connector's default; `--write-method copy` skips the question.
    async fn probe_fixed_copy(&mut self) -> Result<(), PostgresError> {
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        if !spec.fixed_copy_candidate || self.fixed_copy.is_some() {
            return Ok(());
        }
        let copy = sql::fixed_copy_sql(
            &self.destination.table().quoted(),
            &spec.columns,
            &spec.conflict,
        );
        let table = self.destination.table().name.clone();
        let w = self.sessions.connected(0).await?;
        let works = match w.copy_nothing(&copy).await {
            Ok(()) => {
                info!(table = %table, "the server takes Fixed Copy: rows go by COPY stream_mode");
                true
            }
            Err(e) => {
                info!(table = %table, reason = %crate::errors::chain(&e),
                      "the server refused a Fixed Copy of no rows: rows go by INSERT");
                false
            }
        };
        self.fixed_copy = Some(works);
        let spec = self.spec.as_mut().expect("checked above");
        if works {
            spec.method = Method::FixedCopy;
        }
        Ok(())
    }

    /// Creates the table `--create-table` left pending.
    async fn create_table_if_pending(&mut self) -> Result<(), PostgresError> {
        let dest = &self.destination;
        if !dest.create_pending() {
            return Ok(());
        }
        let table = dest.table().name.clone();
        if self.spec.is_none() {
            return Err(PostgresError::CreateSpec {
                table,
                reason: "the transform output is not known yet: bind first".into(),
            });
        }
        let ddl = create::create_table_sql(dest, &self.output);
        let hologres = dest.hologres_version().is_some();
        let in_transaction = hologres && ddl.len() > 1;
        let script = if in_transaction {
            format!("BEGIN; {}; COMMIT", ddl.join("; "))
        } else {
            ddl[0].clone()
        };
        let properties =
            (dest.options().create_table.as_ref()).is_some_and(|s| !s.properties.is_empty());
        if (dest.dialect() == Dialect::Hologres && !hologres && ddl.len() > 1)
            || (dest.dialect() == Dialect::Postgres && properties)
        {
            warn!(table = %table, "table properties apply to Hologres only: not set on PostgreSQL");
        }
        let w = self.sessions.connected(0).await?;
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
        let server = self.destination.server().to_owned();
        let info = (catalog::load_table(&w.client, self.destination.name()).await)
            .map_err(|source| PostgresError::Query {
                server: server.clone(),
                what: "read the table's columns from the catalog",
                source,
            })?
            .ok_or(PostgresError::TableNotFound { table, server })?;
        self.destination.created(info);
        self.load_partitions().await?;
        let output = std::mem::take(&mut self.output);
        let staged = std::mem::take(&mut self.staged);
        let result = self.bind(&output);
        self.staged = staged;
        result
    }

    /// Writes the staged rows and `position` for `key`; returns the rows written and the
    /// rows the server refused (or no partition takes), for the dead-letter output.
    ///
    /// Transient failures are retried with backoff on a new connection; a commit whose
    /// reply was lost is checked against the saved position, so nothing is written twice.
    /// On error the rows stay staged, so the commit can be tried again.
    pub async fn commit(
        &mut self,
        key: &JobKey,
        position: &Position,
    ) -> Result<(u64, Vec<crate::sink::Rejected>), PostgresError> {
        let mut kept = Vec::new();
        let mut collect =
            |refused: &[crate::sink::Rejected]| -> Result<(), crate::errors::BoxError> {
                kept = refused.to_vec();
                Ok(())
            };
        let written = self.commit_with(key, position, &mut collect).await?;
        Ok((written, kept))
    }

    /// [`Self::commit`] that hands the refused rows to `on_refused` before the commit that
    /// moves the position past them (so a crash in between loses none), instead of
    /// returning them. It may be called again for the same rows when a try is repeated.
    pub async fn commit_with(
        &mut self,
        key: &JobKey,
        position: &Position,
        on_refused: &mut OnRefused<'_>,
    ) -> Result<u64, PostgresError> {
        let (routes, unrouted) = self.routes(0).await?;
        let mut keep = Refusals {
            unrouted: &unrouted,
            on_refused,
        };
        let position =
            positions::envelope(self.destination.table().oid, position, &self.writer).to_string();
        let table = self.destination.table().name.clone();
        let progress = self.destination.progress();
        let outcome = loop {
            // Autocommitted statements spread over the writers; a transaction is one writer's.
            let autocommit = self.destination.autocommit();
            let n = if autocommit { self.sessions.count() } else { 1 };
            let steps = self.steps(&routes, n);
            let (shapes, expected) = (self.shapes(), self.expected(key));
            let works: Vec<BatchWrite<'_>> = (steps.iter())
                .map(|steps| BatchWrite {
                    staged: &self.staged,
                    shapes: &shapes,
                    steps,
                    job: key.as_str(),
                    position: &position,
                    expected: Expected::of(&expected),
                    progress: &progress,
                })
                .collect();
            let sessions = &mut self.sessions;
            let result = if autocommit {
                commit::write_autocommit(sessions, &works, key, &table, &mut keep).await
            } else {
                commit::write_transaction(sessions, &works[0], key, &table, &mut keep).await
            };
            match result {
                // Refused before any row was taken: the same batch goes again by INSERT.
                Err(PostgresError::Copy { source, .. }) if self.fixed_copy_refused(&source) => {
                    self.copy_refused(&source);
                }
                other => break other?,
            }
        };
        self.staged.clear();
        self.remember(key, position);
        debug!(table = %table, job = %key, rows = outcome.written,
               rejected = unrouted.len() + outcome.rejected.len(), "committed");
        Ok(outcome.written)
    }

    /// Whether the server refused Fixed Copy itself, when the method was chosen, not
    /// asked for: then INSERT takes over.
    fn fixed_copy_refused(&self, e: &tokio_postgres::Error) -> bool {
        let asked = self.destination.options().method;
        (self.spec.as_ref()).is_some_and(|s| s.fixed_copy_refused(asked, e))
    }

    /// Switches the run from Fixed Copy to the INSERT its version allows.
    fn copy_refused(&mut self, e: &tokio_postgres::Error) {
        let spec = self.spec.as_mut().expect("a bound output");
        spec.fall_back_to_insert(self.destination.hologres_version());
        warn!(table = %self.destination.table().name, error = %e, method = spec.method.name(),
              "the server refused Fixed Copy: writing with INSERT instead");
    }

    /// Before the staged rows are written on writer `lane`: the table created if pending,
    /// and for a partitioned one each row's child (created where allowed), with the rows
    /// that have none.
    async fn routes(
        &mut self,
        lane: usize,
    ) -> Result<(Vec<Route>, Vec<crate::sink::Rejected>), PostgresError> {
        self.prepare().await?;
        let partitioned = self.partitions.is_some()
            && (self.spec.as_ref()).is_some_and(|s| s.row.partition.is_some())
            && !self.staged.parts.is_empty();
        let routes = if partitioned {
            self.resolve_partitions(lane).await?
        } else {
            Vec::new()
        };
        let unrouted = partition::unrouted(&self.staged, &routes);
        Ok((routes, unrouted))
    }

    /// Where each staged partition value goes, creating children when allowed.
    async fn resolve_partitions(&mut self, lane: usize) -> Result<Vec<Route>, PostgresError> {
        let values = self.staged.parts.clone();
        // Deletes alone never create a partition.
        let mut for_rows = vec![false; values.len()];
        for r in self.staged.rows.iter().filter(|r| r.live) {
            for_rows[r.part as usize] = true;
        }
        let table = &self.destination.table().name;
        let partitions = self.partitions.as_mut().expect("partitioned");
        let what = format!("partition lookup for table `{table}`");
        let (connector, session) = self.sessions.lane(lane);
        let backoff = connector.backoff();
        (on_session!(
            session,
            backoff,
            &what,
            connector.open(),
            |w, _failed| async {
                (partitions.resolve(&w.client, &values, &for_rows).await)
                    .map_err(WriteFailure::Partitions)
            }
        ))
        .map_err(|e| e.into_error("", table))
    }

    /// The steps of each of `n` writers for the staged batch.
    fn steps(&self, routes: &[Route], n: usize) -> Vec<Vec<Step>> {
        if self.staged.is_empty() {
            return vec![Vec::new(); n];
        }
        let spec = (self.spec.as_ref()).expect("staged rows imply a bound output");
        let parent = self.destination.table().quoted();
        spec.steps(&self.staged, routes, &parent, self.destination.dialect(), n)
    }

    /// How many batches may be in flight at once, each on a writer of its own
    /// ([`Self::start`]); 0 when batches are written one at a time ([`Self::commit_with`]):
    /// one writer, or Hologres, whose statements autocommit.
    pub fn lanes(&self) -> usize {
        if self.destination.autocommit() || self.sessions.count() < 2 {
            0
        } else {
            self.sessions.count()
        }
    }

    /// The hashes of the keys the staged batch writes or deletes (none without a key),
    /// computed once a batch: see [`InFlight::shares_a_key`] and [`Self::start`].
    pub fn key_hashes(&self) -> KeyHashes {
        self.staged.key_hashes().collect()
    }

    /// Starts writing the staged rows on writer `lane` (one no batch in flight holds), in a
    /// transaction [`Self::finish`] commits with `position`; `keys` are the batch's
    /// [`Self::key_hashes`]. The rows leave the staging area.
    pub async fn start(
        &mut self,
        lane: usize,
        key: &JobKey,
        position: &Position,
        keys: KeyHashes,
    ) -> Result<InFlight, PostgresError> {
        let (routes, unrouted) = self.routes(lane).await?;
        let position =
            positions::envelope(self.destination.table().oid, position, &self.writer).to_string();
        let steps = self.steps(&routes, 1).remove(0);
        let batch = in_flight::Batch {
            staged: std::mem::take(&mut self.staged),
            shapes: self.shapes(),
            steps,
            position,
            unrouted,
            keys,
            progress: self.destination.progress(),
        };
        let table = &self.destination.table().name;
        Ok(InFlight::start(&mut self.sessions, lane, key, table, batch))
    }

    /// Commits a batch [`Self::start`]ed, after those started before it (call in order):
    /// its refused rows go to `on_refused`, its position is saved compare-and-set, COMMIT.
    /// A failure after the rows were written writes the batch again in a new transaction.
    pub async fn finish(
        &mut self,
        batch: InFlight,
        on_refused: &mut OnRefused<'_>,
    ) -> Result<u64, PostgresError> {
        let key = batch.job().clone();
        let expected = self.expected(&key);
        let table = self.destination.table().name.clone();
        let (written, position) =
            (batch.finish(&mut self.sessions, &table, expected, on_refused)).await?;
        self.remember(&key, position);
        Ok(written)
    }

    /// Hands the staged rows over to be written with `position` under `key`. Batches
    /// commit in the order they were submitted, each handing its refused rows to
    /// `on_refused` (with its ticket: the batches submitted before it) first. With several
    /// writers on PostgreSQL the batch is put in flight on a free writer, once the batches
    /// in flight that hold every writer, or share a key with it, have committed; else it
    /// commits now. Returns the batches committed during the call, oldest first.
    pub async fn submit(
        &mut self,
        key: &JobKey,
        position: &Position,
        on_refused: &mut OnRefusedOf<'_>,
    ) -> Result<Vec<Committed>, PostgresError> {
        let ticket = self.submitted;
        self.submitted += 1;
        let lanes = self.lanes();
        if lanes == 0 {
            let mut keep = |r: &[crate::sink::Rejected]| on_refused(ticket, r);
            let written = self.commit_with(key, position, &mut keep).await?;
            return Ok(vec![Committed { ticket, written }]);
        }
        // A lane frees up when the oldest batch commits; a batch sharing a key with one in
        // flight waits for it, so open transactions never wait on each other.
        let keys = self.key_hashes();
        let mut committed = Vec::new();
        while self.in_flight.len() == lanes
            || (self.in_flight.iter()).any(|(_, f)| f.shares_a_key(&keys))
        {
            committed.extend(self.commit_next(on_refused).await?);
        }
        let lane = (0..lanes)
            .find(|l| !(self.in_flight.iter()).any(|(_, f)| f.lane() == *l))
            .expect("a free lane");
        let started = self.start(lane, key, position, keys).await?;
        self.in_flight.push_back((ticket, started));
        Ok(committed)
    }

    /// Batches submitted and not committed yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Resolves once the oldest batch in flight is written, its transaction still open
    /// (never, with none in flight): it may commit then. Cancel-safe.
    pub async fn next_written(&mut self) {
        match self.in_flight.front_mut() {
            Some((_, f)) => f.written().await,
            None => std::future::pending().await,
        }
    }

    /// Commits the oldest batch in flight, if any.
    pub async fn commit_next(
        &mut self,
        on_refused: &mut OnRefusedOf<'_>,
    ) -> Result<Option<Committed>, PostgresError> {
        let Some((ticket, batch)) = self.in_flight.pop_front() else {
            return Ok(None);
        };
        let mut keep = |r: &[crate::sink::Rejected]| on_refused(ticket, r);
        let written = self.finish(batch, &mut keep).await?;
        Ok(Some(Committed { ticket, written }))
    }

    /// The position `key` is known to have (see [`super::positions::SavedPositions`]).
    fn expected(&self, key: &JobKey) -> Option<Option<String>> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.get(key.as_str()).cloned()
    }

    /// `position` saved for `key`: the next save is compare-and-set against it.
    fn remember(&self, key: &JobKey, position: String) {
        (self.known.lock().unwrap_or_else(|e| e.into_inner()))
            .insert(key.as_str().to_owned(), Some(position));
    }

    /// The array parameter types of the bound output.
    fn shapes(&self) -> ParamTypes {
        (self.spec.as_ref())
            .map(|s| s.shapes.clone())
            .unwrap_or_default()
    }
}
