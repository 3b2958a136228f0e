//! Writing a staged batch with its position: one transaction on PostgreSQL, or autocommit
//! statements on Hologres (spread over its writers). Several writers on PostgreSQL keep
//! batches in flight ([`super::in_flight`]), built on the pieces here. Every database call here goes through
//! the one retry helper ([`crate::retry`]) with the database's backoff ([`crate::db`]).

use std::fmt;

use tracing::{debug, info};

use super::error::PostgresError;
use super::partition::Route;
use super::positions;
use super::staging::Staged;
use super::writer::{self, OnDataError, Outcome, Shapes, Step, StepKind, Writer};
use super::{PostgresSink, dialect};
use crate::db::{self, ConnectConfig};
use crate::errors::BoxError;
use crate::position::JobKey;
use crate::record::Position;
use crate::retry::Backoff;
use crate::sink::Rejected;

/// Why a write attempt failed, and at what.
#[derive(Debug)]
pub(super) enum Failed {
    Step {
        kind: StepKind,
        table: String,
        rows: usize,
        source: tokio_postgres::Error,
    },
    SavePosition(tokio_postgres::Error),
    LoadPosition(tokio_postgres::Error),
    Commit(tokio_postgres::Error),
    Partitions(tokio_postgres::Error),
    Connect(PostgresError),
    /// The saved position is not the one this writer read: another writer moved it.
    Fenced,
    /// The refused rows could not be kept (the dead-letter output failed).
    Keep(String),
}

impl Failed {
    /// Why, for the retries metric (see [`db::reason`]).
    pub(super) fn reason(&self) -> String {
        match self {
            Failed::Step { source, .. }
            | Failed::SavePosition(source)
            | Failed::LoadPosition(source)
            | Failed::Commit(source)
            | Failed::Partitions(source) => db::reason(source),
            Failed::Connect(_) => "connect".to_owned(),
            Failed::Fenced => "fenced".to_owned(),
            Failed::Keep(_) => "dead letter".to_owned(),
        }
    }

    pub(super) fn retriable(&self) -> bool {
        match self {
            Failed::Step { source, .. }
            | Failed::SavePosition(source)
            | Failed::LoadPosition(source)
            | Failed::Commit(source)
            | Failed::Partitions(source) => db::is_retriable(source),
            Failed::Connect(e) => e.is_retriable(),
            Failed::Fenced | Failed::Keep(_) => false,
        }
    }

    fn step(step: &Step) -> impl FnOnce(tokio_postgres::Error) -> Failed + '_ {
        move |source| Failed::Step {
            kind: step.kind,
            table: step.table.clone(),
            rows: step.items.len(),
            source,
        }
    }

    pub(super) fn into_error(self, job: &str, table: &str) -> PostgresError {
        let job = job.to_owned();
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
            Failed::SavePosition(source) => PostgresError::SavePosition { job, source },
            Failed::LoadPosition(source) => PostgresError::LoadPosition { job, source },
            Failed::Commit(source) => PostgresError::Commit {
                job,
                table: table.to_owned(),
                source,
            },
            Failed::Partitions(source) => PostgresError::Partitions {
                table: table.to_owned(),
                source,
            },
            Failed::Connect(e) => e,
            Failed::Fenced => PostgresError::Fenced { job },
            Failed::Keep(reason) => PostgresError::KeepRefused { job, reason },
        }
    }
}

impl From<PostgresError> for Failed {
    fn from(e: PostgresError) -> Failed {
        Failed::Connect(e)
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failed::Step { source, .. }
            | Failed::SavePosition(source)
            | Failed::LoadPosition(source)
            | Failed::Commit(source)
            | Failed::Partitions(source) => write!(f, "{source}"),
            Failed::Connect(e) => write!(f, "{e}"),
            Failed::Fenced => f.write_str("the saved position was moved by another writer"),
            Failed::Keep(reason) => f.write_str(reason),
        }
    }
}

/// Opens writer sessions: connected, and set up for the dialect.
#[derive(Clone, Copy)]
pub(super) struct Connector<'a> {
    pub pg: &'a ConnectConfig,
    pub server: &'a str,
    /// The server is Hologres (its session settings apply).
    pub hologres: bool,
    /// `statement_timeout` of each session, in milliseconds (0: none).
    pub statement_timeout_ms: u64,
}

impl<'a> Connector<'a> {
    /// Sessions to `server` (Hologres when `hologres_version` is known).
    pub fn new(
        pg: &'a ConnectConfig,
        server: &'a str,
        hologres_version: &Option<String>,
        statement_timeout_ms: u64,
    ) -> Connector<'a> {
        Connector {
            pg,
            server,
            hologres: hologres_version.is_some(),
            statement_timeout_ms,
        }
    }

    pub async fn open(&self) -> Result<Writer, PostgresError> {
        let client = db::connect(self.pg, self.server).await?;
        dialect::setup(&client, self.hologres, self.statement_timeout_ms)
            .await
            .map_err(|source| PostgresError::Query {
                server: self.server.to_owned(),
                what: "set up the session",
                source,
            })?;
        Ok(Writer::new(client))
    }

    /// The writer in `slot`, connecting first if its connection was lost.
    pub async fn ensure<'w>(
        &self,
        slot: &'w mut Option<Writer>,
    ) -> Result<&'w mut Writer, PostgresError> {
        if slot.is_none() {
            *slot = Some(self.open().await?);
        }
        Ok(slot.as_mut().expect("connected above"))
    }
}

/// After a failure: drop the session, and say whether another try may succeed.
pub(super) fn reconnect(slot: &mut Option<Writer>, e: &Failed) -> bool {
    *slot = None;
    e.retriable()
}

/// Receives the rows the destination refused, before the commit that skips them.
pub type OnRefused<'a> = dyn FnMut(&[Rejected]) -> Result<(), BoxError> + Send + 'a;

/// Where a batch's refused rows go: those no partition takes, and those the server refused.
pub(super) struct Keep<'a> {
    pub(super) unrouted: &'a [Rejected],
    pub(super) on_refused: &'a mut OnRefused<'a>,
}

impl Keep<'_> {
    /// Hands every refused row, in input order, to the callback.
    fn refused(&mut self, by_server: &[Rejected]) -> Result<(), Failed> {
        let mut all: Vec<Rejected> = self.unrouted.iter().chain(by_server).cloned().collect();
        all.sort_by_key(|r| r.input);
        (self.on_refused)(&all).map_err(|e| Failed::Keep(crate::errors::chain(&*e)))
    }
}

/// The read-only parts of a batch's write, shared by its tries.
pub(super) struct Work<'a> {
    pub(super) staged: &'a Staged,
    pub(super) shapes: &'a Shapes,
    pub(super) steps: &'a [Step],
    pub(super) job: &'a str,
    pub(super) position: &'a str,
    /// The position this writer read or saved last (`Some(None)`: none was saved), which
    /// the save must move from; `None` when it never read one (no check).
    pub(super) expected: Option<&'a Option<String>>,
}

impl Work<'_> {
    /// One try of the transaction path: deletes, rows, position, COMMIT. `sent_commit`
    /// holds the outcome once COMMIT is sent, until its reply comes.
    async fn transaction(
        &self,
        w: &mut Writer,
        on_data_error: OnDataError,
        sent_commit: &mut Option<Outcome>,
        keep: &mut Keep<'_>,
    ) -> Result<Outcome, Failed> {
        w.client
            .batch_execute("BEGIN")
            .await
            .map_err(Failed::Commit)?;
        let total = self.run_steps(w, on_data_error).await?;
        self.close(w, total, sent_commit, keep).await
    }

    /// Every step, in the transaction open on `w`.
    async fn run_steps(
        &self,
        w: &mut Writer,
        on_data_error: OnDataError,
    ) -> Result<Outcome, Failed> {
        let mut total = Outcome::default();
        for step in self.steps {
            let out = w
                .run_step(self.staged, self.shapes, step, on_data_error)
                .await
                .map_err(Failed::step(step))?;
            total.add(out);
        }
        Ok(total)
    }

    /// Ends the transaction open on `w` whose steps did `total`: the refused rows kept,
    /// the position saved, COMMIT.
    pub(super) async fn close(
        &self,
        w: &mut Writer,
        total: Outcome,
        sent_commit: &mut Option<Outcome>,
        keep: &mut Keep<'_>,
    ) -> Result<Outcome, Failed> {
        keep.refused(&total.rejected)?;
        self.save_position(w, total.written, false).await?;
        *sent_commit = Some(total.clone());
        w.client
            .batch_execute("COMMIT")
            .await
            .map_err(Failed::Commit)?;
        *sent_commit = None;
        Ok(total)
    }

    /// One try of the steps of a pipelined batch, in a transaction left open for
    /// [`Work::close`]: run again bisecting on a data error, as [`Work::transaction_once`].
    pub(super) async fn open_once(&self, w: &mut Writer, table: &str) -> Result<Outcome, Failed> {
        let mut on_data_error = OnDataError::Fail;
        loop {
            // A wait on a row another open transaction holds would never end (that one
            // commits after this one): past this it fails, naming the table.
            (w.client
                .batch_execute("SET lock_timeout = '60s'; BEGIN")
                .await)
                .map_err(Failed::Commit)?;
            match self.run_steps(w, on_data_error).await {
                Ok(out) => return Ok(out),
                Err(e) => on_data_error = split_after(w, table, e, on_data_error).await?,
            }
        }
    }

    /// This writer's steps on the autocommit path, retried on a new session after a
    /// transient failure: a retry resumes at the failed step.
    async fn autocommit(
        &self,
        connector: Connector<'_>,
        slot: &mut Option<Writer>,
        backoff: &Backoff,
        what: &str,
    ) -> Result<Outcome, Failed> {
        let mut total = Outcome::default();
        let mut done = 0;
        let mut attempts = backoff.attempts(what);
        loop {
            let result = match connector.ensure(slot).await {
                Ok(w) => self.steps_from(w, &mut done, &mut total).await,
                Err(e) => Err(Failed::from(e)),
            };
            match result {
                Ok(()) => return Ok(total),
                Err(e) => {
                    let (again, reason) = (reconnect(slot, &e), e.reason());
                    attempts.next(e, again, &reason).await?;
                }
            }
        }
    }

    /// Steps `done..`, each autocommitted; `done` counts the steps that went through.
    async fn steps_from(
        &self,
        w: &mut Writer,
        done: &mut usize,
        total: &mut Outcome,
    ) -> Result<(), Failed> {
        while let Some(step) = self.steps.get(*done) {
            let out = w
                .run_step(self.staged, self.shapes, step, OnDataError::Bisect)
                .await
                .map_err(Failed::step(step))?;
            total.add(out);
            *done += 1;
        }
        Ok(())
    }

    /// One try of the transaction path on `w`: first, if the previous try's COMMIT lost its
    /// reply, whether it landed; then the transaction, run again bisecting on a data error.
    async fn transaction_once(
        &self,
        w: &mut Writer,
        key: &JobKey,
        table: &str,
        sent_commit: &mut Option<Outcome>,
        keep: &mut Keep<'_>,
    ) -> Result<Outcome, Failed> {
        if sent_commit.is_some() {
            if self.landed(w, key).await? {
                info!(job = %key, "the commit whose reply was lost took effect");
                return Ok(sent_commit.take().expect("checked above"));
            }
            *sent_commit = None;
        }
        let mut on_data_error = OnDataError::Fail;
        loop {
            match self.transaction(w, on_data_error, sent_commit, keep).await {
                Ok(out) => return Ok(out),
                Err(e) => on_data_error = split_after(w, table, e, on_data_error).await?,
            }
        }
    }

    /// Saves the position with the rows written; `retry` after a try whose reply may have
    /// been lost (then finding the position already saved is success).
    async fn save_position(&self, w: &mut Writer, written: u64, retry: bool) -> Result<(), Failed> {
        let written = written as i64;
        let Some(expected) = self.expected else {
            let save = (w.statement(positions::UPSERT).await).map_err(Failed::SavePosition)?;
            (w.client
                .execute(&save, &[&self.job, &self.position, &written])
                .await)
                .map_err(Failed::SavePosition)?;
            return Ok(());
        };
        let save = (w.statement(positions::UPSERT_FROM).await).map_err(Failed::SavePosition)?;
        let changed = (w.client)
            .execute(&save, &[&self.job, &self.position, &written, expected])
            .await
            .map_err(Failed::SavePosition)?;
        // No row changed: another writer moved it, unless this very save landed on an
        // earlier try whose reply was lost.
        if changed == 0 && !(retry && self.saved_is_ours(w).await?) {
            return Err(Failed::Fenced);
        }
        Ok(())
    }

    async fn saved_is_ours(&self, w: &mut Writer) -> Result<bool, Failed> {
        let row = (w.client)
            .query_opt(
                "SELECT position = $2::text::jsonb FROM holo_host.progress WHERE job = $1",
                &[&self.job, &self.position],
            )
            .await
            .map_err(Failed::LoadPosition)?;
        Ok(row.is_some_and(|r| r.get::<_, bool>(0)))
    }

    /// Whether the saved position is this batch's: a COMMIT whose reply was lost landed.
    async fn landed(&self, w: &mut Writer, key: &JobKey) -> Result<bool, Failed> {
        let saved = positions::load(&w.client, key)
            .await
            .map_err(Failed::LoadPosition)?;
        let parse = |t: &str| serde_json::from_str::<Position>(t).ok();
        Ok((saved.as_deref().and_then(parse)).is_some_and(|p| Some(p) == parse(self.position)))
    }
}

/// After a failed try of a transaction on `w`: rolls it back, and when a data error is to
/// blame (and the statements were not split yet) says to try again with each statement
/// split until the rows at fault are alone; otherwise gives the error back.
async fn split_after(
    w: &mut Writer,
    table: &str,
    e: Failed,
    on_data_error: OnDataError,
) -> Result<OnDataError, Failed> {
    if !w.client.is_closed() {
        let _ = w.client.batch_execute("ROLLBACK").await;
    }
    match &e {
        Failed::Step { source, .. }
            if on_data_error == OnDataError::Fail && writer::is_data_error(source) =>
        {
            debug!(table, error = %source, "data error: splitting the batch to find the rows at fault");
            Ok(OnDataError::BisectInTransaction)
        }
        _ => Err(e),
    }
}

/// The transaction path with its retries on `slot`: each try on a new session after a
/// transient failure. `sent_commit` is the outcome of an earlier try whose COMMIT was
/// sent but not answered: if its reply is lost, the saved position tells whether it took
/// effect.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_transaction(
    connector: Connector<'_>,
    slot: &mut Option<Writer>,
    work: &Work<'_>,
    key: &JobKey,
    table: &str,
    backoff: &Backoff,
    keep: &mut Keep<'_>,
    mut sent_commit: Option<Outcome>,
) -> Result<Outcome, PostgresError> {
    let what = format!("commit to table `{table}`");
    let mut attempts = backoff.attempts(&what);
    loop {
        let result = match connector.ensure(slot).await {
            Ok(w) => (work.transaction_once(w, key, table, &mut sent_commit, keep)).await,
            Err(e) => Err(Failed::from(e)),
        };
        match result {
            Ok(out) => return Ok(out),
            Err(e) => {
                let (again, reason) = (reconnect(slot, &e), e.reason());
                (attempts.next(e, again, &reason).await)
                    .map_err(|e| e.into_error(key.as_str(), table))?;
            }
        }
    }
}

impl PostgresSink {
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
    ) -> Result<(u64, Vec<Rejected>), PostgresError> {
        let mut kept = Vec::new();
        let mut collect = |refused: &[Rejected]| -> Result<(), BoxError> {
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
        let mut keep = Keep {
            unrouted: &unrouted,
            on_refused,
        };
        let position = positions::envelope(self.table.oid, position).to_string();
        let outcome = loop {
            // Autocommitted statements spread over the writers; a transaction is one writer's.
            let n = if self.autocommit {
                self.writers.len()
            } else {
                1
            };
            let steps = if self.staged.is_empty() {
                vec![Vec::new(); n]
            } else {
                self.steps_for(&routes, n)
            };
            let result = if self.autocommit {
                self.write_autocommit(key, &position, &steps, &mut keep)
                    .await
            } else {
                (self.write_transaction(key, &position, &steps[0], &mut keep)).await
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
        (self.known.lock().unwrap_or_else(|e| e.into_inner()))
            .insert(key.as_str().to_owned(), Some(position));
        debug!(table = %self.table.name, job = %key, rows = outcome.written,
               rejected = unrouted.len() + outcome.rejected.len(), "committed");
        Ok(outcome.written)
    }

    /// Before the staged rows are written on writer `lane`: the table created if pending,
    /// and for a partitioned one each row's child (created where allowed), with the rows
    /// that have none.
    pub(super) async fn routes(
        &mut self,
        lane: usize,
    ) -> Result<(Vec<Route>, Vec<crate::sink::Rejected>), PostgresError> {
        self.create_pending_table().await?;
        let partitioned = self.partitions.is_some()
            && (self.spec.as_ref()).is_some_and(|s| s.row.partition.is_some())
            && !self.staged.parts.is_empty();
        let routes = if partitioned {
            self.resolve_partitions(lane).await?
        } else {
            Vec::new()
        };
        let unrouted = self.unrouted(&routes);
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
        let backoff = self.backoff();
        let connector = Connector::new(
            &self.pg,
            &self.server,
            &self.hologres_version,
            self.options.statement_timeout_ms,
        );
        let partitions = self.partitions.as_mut().expect("partitioned");
        let slot = &mut self.writers[lane];
        let what = format!("partition lookup for table `{}`", self.table.name);
        let mut attempts = backoff.attempts(&what);
        loop {
            let result = match connector.ensure(slot).await {
                Ok(w) => (partitions.resolve(&w.client, &values, &for_rows).await)
                    .map_err(Failed::Partitions),
                Err(e) => Err(Failed::from(e)),
            };
            match result {
                Ok(routes) => return Ok(routes),
                Err(e) => {
                    let (again, reason) = (reconnect(slot, &e), e.reason());
                    (attempts.next(e, again, &reason).await)
                        .map_err(|e| e.into_error("", &self.table.name))?;
                }
            }
        }
    }

    /// The steps of each of `n` writers: per table, its deletes, then its rows.
    pub(super) fn steps_for(&self, routes: &[Route], n: usize) -> Vec<Vec<Step>> {
        let spec = self
            .spec
            .as_ref()
            .expect("staged rows imply a bound output");
        // Per writer: (table, deletes, rows), tables in order of first use.
        let mut work: Vec<Vec<TableWork>> = vec![Vec::new(); n];
        let parent = self.table.quoted();
        let table_of = |part: u32| -> Option<&str> {
            if spec.row.partition.is_none() {
                return Some(parent.as_str());
            }
            match &routes[part as usize] {
                Route::Child(c) => Some(c.as_str()),
                Route::Reject(_) | Route::Missing => None,
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
        for (i, d) in self.staged.deletes.iter().enumerate() {
            if let Some(t) = table_of(d.part) {
                add(self.staged.writer_of(&d.key, i, n), t, i as u32, true);
            }
        }
        for (i, r) in self.staged.rows.iter().enumerate() {
            if !r.live {
                continue;
            }
            if let Some(t) = table_of(r.part) {
                add(self.staged.writer_of(&r.key, i, n), t, i as u32, false);
            }
        }
        work.into_iter()
            .map(|tables| {
                let mut steps = Vec::new();
                for (table, deletes, mut rows) in tables {
                    if !deletes.is_empty() {
                        steps.push(Step {
                            kind: StepKind::Delete,
                            sql: spec.delete_sql(&table, self.dialect),
                            table: table.clone(),
                            items: deletes,
                            existing: None,
                        });
                    }
                    if !rows.is_empty() {
                        if spec.key_order {
                            self.staged.sort_by_key(&mut rows);
                        }
                        let (kind, sql) = spec.rows_sql(&table);
                        steps.push(Step {
                            kind,
                            sql,
                            existing: spec.existing_keys_sql(&table),
                            table,
                            items: rows,
                        });
                    }
                }
                steps
            })
            .collect()
    }

    /// One transaction: deletes, rows, position. A data error rolls it back and runs it
    /// again with each statement split until the bad rows are found.
    async fn write_transaction(
        &mut self,
        key: &JobKey,
        position: &str,
        steps: &[Step],
        keep: &mut Keep<'_>,
    ) -> Result<Outcome, PostgresError> {
        let backoff = self.backoff();
        let shapes = self.shapes();
        let expected = self.expected(key);
        let work = Work {
            staged: &self.staged,
            shapes: &shapes,
            steps,
            job: key.as_str(),
            position,
            expected: expected.as_ref(),
        };
        let connector = Connector::new(
            &self.pg,
            &self.server,
            &self.hologres_version,
            self.options.statement_timeout_ms,
        );
        let table = &self.table.name;
        let slot = &mut self.writers[0];
        run_transaction(connector, slot, &work, key, table, &backoff, keep, None).await
    }

    /// Every writer's steps in parallel, each statement autocommitted; then the position.
    async fn write_autocommit(
        &mut self,
        key: &JobKey,
        position: &str,
        steps: &[Vec<Step>],
        keep: &mut Keep<'_>,
    ) -> Result<Outcome, PostgresError> {
        let backoff = self.backoff();
        let shapes = self.shapes();
        let expected = self.expected(key);
        let connector = Connector::new(
            &self.pg,
            &self.server,
            &self.hologres_version,
            self.options.statement_timeout_ms,
        );
        let table = &self.table.name;
        let what = format!("write to table `{table}`");
        let works: Vec<Work<'_>> = (steps.iter())
            .map(|steps| Work {
                staged: &self.staged,
                shapes: &shapes,
                steps,
                job: key.as_str(),
                position,
                expected: expected.as_ref(),
            })
            .collect();
        let writers = (self.writers.iter_mut().zip(&works))
            .map(|(slot, work)| work.autocommit(connector, slot, &backoff, &what));
        let mut total = Outcome::default();
        for result in futures_util::future::join_all(writers).await {
            total.add(result.map_err(|e| e.into_error(key.as_str(), table))?);
        }
        (keep.refused(&total.rejected)).map_err(|e| e.into_error(key.as_str(), table))?;
        let what = format!("saving the position of job `{key}`");
        let slot = &mut self.writers[0];
        let mut attempts = backoff.attempts(&what);
        loop {
            let retry = attempts.failed() > 0;
            let result = match connector.ensure(slot).await {
                Ok(w) => works[0].save_position(w, total.written, retry).await,
                Err(e) => Err(Failed::from(e)),
            };
            match result {
                Ok(()) => return Ok(total),
                Err(e) => {
                    let (again, reason) = (reconnect(slot, &e), e.reason());
                    (attempts.next(e, again, &reason).await)
                        .map_err(|e| e.into_error(key.as_str(), table))?;
                }
            }
        }
    }

    /// The position `key` is known to have (see [`super::positions::Known`]).
    pub(super) fn expected(&self, key: &JobKey) -> Option<Option<String>> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known.get(key.as_str()).cloned()
    }

    /// The array parameter types of the bound output.
    pub(super) fn shapes(&self) -> Shapes {
        self.spec
            .as_ref()
            .map(|s| s.shapes.clone())
            .unwrap_or_default()
    }
}

/// One table's work for one writer: the table, its deletes, its rows.
type TableWork = (String, Vec<u32>, Vec<u32>);
