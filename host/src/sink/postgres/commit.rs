//! Writing a staged batch with its position: one transaction on PostgreSQL, or autocommit
//! statements on Hologres (spread over its writers). Several writers on PostgreSQL keep
//! batches in flight ([`super::in_flight`]), built on the pieces here. Every database call
//! here is retried through the one session loop ([`crate::db::Session::run`]).

use std::fmt;

use tracing::{debug, info};

use super::error::PostgresError;
use super::positions::ProgressTable;
use super::sessions::{Connector, Sessions};
use super::staging::Staged;
use super::writer::{self, OnDataError, Outcome, ParamTypes, Step, StepKind, Writer};
use crate::db::session::on_session;
use crate::db::{self, Retriable, Session};
use crate::errors::BoxError;
use crate::position::JobKey;
use crate::record::Position;
use crate::sink::Rejected;

/// Why a write attempt failed, and at what.
#[derive(Debug)]
pub(super) enum WriteFailure {
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
    KeepRefused(String),
}

impl Retriable for WriteFailure {
    /// Why, for the retries metric (see [`db::reason`]).
    fn reason(&self) -> String {
        match self {
            WriteFailure::Step { source, .. }
            | WriteFailure::SavePosition(source)
            | WriteFailure::LoadPosition(source)
            | WriteFailure::Commit(source)
            | WriteFailure::Partitions(source) => db::reason(source),
            WriteFailure::Connect(_) => "connect".to_owned(),
            WriteFailure::Fenced => "fenced".to_owned(),
            WriteFailure::KeepRefused(_) => "dead letter".to_owned(),
        }
    }

    fn is_retriable(&self) -> bool {
        match self {
            WriteFailure::Step { source, .. }
            | WriteFailure::SavePosition(source)
            | WriteFailure::LoadPosition(source)
            | WriteFailure::Commit(source)
            | WriteFailure::Partitions(source) => db::is_retriable(source),
            WriteFailure::Connect(e) => e.is_retriable(),
            WriteFailure::Fenced | WriteFailure::KeepRefused(_) => false,
        }
    }
}

impl WriteFailure {
    fn step(step: &Step) -> impl FnOnce(tokio_postgres::Error) -> WriteFailure + '_ {
        move |source| WriteFailure::Step {
            kind: step.kind,
            table: step.table.clone(),
            rows: step.items.len(),
            source,
        }
    }

    pub(super) fn into_error(self, job: &str, table: &str) -> PostgresError {
        let job = job.to_owned();
        match self {
            WriteFailure::Step {
                kind: StepKind::Delete,
                table,
                rows,
                source,
            } => PostgresError::Delete {
                table,
                rows,
                source,
            },
            WriteFailure::Step {
                table,
                rows,
                source,
                ..
            } => PostgresError::Copy {
                table,
                rows,
                source,
            },
            WriteFailure::SavePosition(source) => PostgresError::SavePosition { job, source },
            WriteFailure::LoadPosition(source) => PostgresError::LoadPosition { job, source },
            WriteFailure::Commit(source) => PostgresError::Commit {
                job,
                table: table.to_owned(),
                source,
            },
            WriteFailure::Partitions(source) => PostgresError::Partitions {
                table: table.to_owned(),
                source,
            },
            WriteFailure::Connect(e) => e,
            WriteFailure::Fenced => PostgresError::Fenced { job },
            WriteFailure::KeepRefused(reason) => PostgresError::KeepRefused { job, reason },
        }
    }
}

impl From<PostgresError> for WriteFailure {
    fn from(e: PostgresError) -> WriteFailure {
        WriteFailure::Connect(e)
    }
}

impl fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteFailure::Step { source, .. }
            | WriteFailure::SavePosition(source)
            | WriteFailure::LoadPosition(source)
            | WriteFailure::Commit(source)
            | WriteFailure::Partitions(source) => write!(f, "{source}"),
            WriteFailure::Connect(e) => write!(f, "{e}"),
            WriteFailure::Fenced => f.write_str("the saved position was moved by another writer"),
            WriteFailure::KeepRefused(reason) => f.write_str(reason),
        }
    }
}

/// Receives the rows the destination refused, before the commit that skips them.
pub type OnRefused<'a> = dyn FnMut(&[Rejected]) -> Result<(), BoxError> + Send + 'a;

/// Where a batch's refused rows go: those no partition takes, and those the server refused.
pub(super) struct Refusals<'a> {
    pub(super) unrouted: &'a [Rejected],
    pub(super) on_refused: &'a mut OnRefused<'a>,
}

impl Refusals<'_> {
    /// Hands every refused row, in input order, to the callback.
    fn refused(&mut self, by_server: &[Rejected]) -> Result<(), WriteFailure> {
        let mut all: Vec<Rejected> = self.unrouted.iter().chain(by_server).cloned().collect();
        all.sort_by_key(|r| r.input);
        (self.on_refused)(&all).map_err(|e| WriteFailure::KeepRefused(crate::errors::chain(&*e)))
    }
}

/// The read-only parts of a batch's write, shared by its tries.
pub(super) struct BatchWrite<'a> {
    pub(super) staged: &'a Staged,
    pub(super) shapes: &'a ParamTypes,
    pub(super) steps: &'a [Step],
    pub(super) job: &'a str,
    pub(super) position: &'a str,
    /// The position the save must move from (compare-and-set).
    pub(super) expected: Expected<'a>,
    pub(super) progress: &'a ProgressTable,
}

/// The saved position a save must find, to move it: what this process read or saved last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expected<'a> {
    /// This process never read the job's position: no check.
    Unchecked,
    /// None was saved.
    Nothing,
    /// This position's text.
    Position(&'a str),
}

impl<'a> Expected<'a> {
    /// From what [`super::positions::SavedPositions`] holds for the job.
    pub(super) fn of(known: &'a Option<Option<String>>) -> Expected<'a> {
        match known {
            None => Expected::Unchecked,
            Some(None) => Expected::Nothing,
            Some(Some(text)) => Expected::Position(text),
        }
    }
}

impl BatchWrite<'_> {
    /// One try of the transaction path: deletes, rows, position, COMMIT. `sent_commit`
    /// holds the outcome once COMMIT is sent, until its reply comes.
    async fn transaction(
        &self,
        w: &mut Writer,
        on_data_error: OnDataError,
        sent_commit: &mut Option<Outcome>,
        keep: &mut Refusals<'_>,
    ) -> Result<Outcome, WriteFailure> {
        w.client
            .batch_execute("BEGIN")
            .await
            .map_err(WriteFailure::Commit)?;
        let total = self.run_steps(w, on_data_error).await?;
        self.close(w, total, sent_commit, keep).await
    }

    /// Every step, in the transaction open on `w`.
    async fn run_steps(
        &self,
        w: &mut Writer,
        on_data_error: OnDataError,
    ) -> Result<Outcome, WriteFailure> {
        let mut total = Outcome::default();
        for step in self.steps {
            let out = w
                .run_step(self.staged, self.shapes, step, on_data_error)
                .await
                .map_err(WriteFailure::step(step))?;
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
        keep: &mut Refusals<'_>,
    ) -> Result<Outcome, WriteFailure> {
        keep.refused(&total.rejected)?;
        self.save_position(w, total.written).await?;
        *sent_commit = Some(total.clone());
        w.client
            .batch_execute("COMMIT")
            .await
            .map_err(WriteFailure::Commit)?;
        *sent_commit = None;
        Ok(total)
    }

    /// One try of the steps of a pipelined batch, in a transaction left open for
    /// [`BatchWrite::close`]: run again bisecting on a data error, as [`BatchWrite::transaction_once`].
    pub(super) async fn open_once(
        &self,
        w: &mut Writer,
        table: &str,
    ) -> Result<Outcome, WriteFailure> {
        let mut on_data_error = OnDataError::Fail;
        loop {
            // A wait on a row another open transaction holds would never end (that one
            // commits after this one): past this it fails, naming the table.
            (w.client
                .batch_execute("SET lock_timeout = '60s'; BEGIN")
                .await)
                .map_err(WriteFailure::Commit)?;
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
        connector: &Connector,
        session: &mut Session<Writer>,
        what: &str,
    ) -> Result<Outcome, WriteFailure> {
        let mut total = Outcome::default();
        let mut done = 0;
        on_session!(
            session,
            connector.backoff(),
            what,
            connector.open(),
            |w, _failed| { self.steps_from(w, &mut done, &mut total) }
        )?;
        Ok(total)
    }

    /// Steps `done..`, each autocommitted; `done` counts the steps that went through.
    async fn steps_from(
        &self,
        w: &mut Writer,
        done: &mut usize,
        total: &mut Outcome,
    ) -> Result<(), WriteFailure> {
        while let Some(step) = self.steps.get(*done) {
            let out = w
                .run_step(self.staged, self.shapes, step, OnDataError::Bisect)
                .await
                .map_err(WriteFailure::step(step))?;
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
        keep: &mut Refusals<'_>,
    ) -> Result<Outcome, WriteFailure> {
        if sent_commit.is_some() {
            if self.landed(w).await? {
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

    /// Saves the position with the rows written, moving it only from the one this writer
    /// expects. Whether the save took is read back from the table: an affected-row count
    /// is not reliable on Hologres (holo-client turns it off for the fixed dispatcher).
    /// Finding this batch's position already saved (a try whose reply was lost) is success.
    async fn save_position(&self, w: &mut Writer, written: u64) -> Result<(), WriteFailure> {
        let written = written as i64;
        let p = self.progress;
        let (sql, expected) = match self.expected {
            Expected::Unchecked => (p.upsert(), None),
            Expected::Nothing => (p.insert_new(), None),
            Expected::Position(text) => (p.update_from(), Some(text)),
        };
        let save = (w.statement(&sql).await).map_err(WriteFailure::SavePosition)?;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            vec![&self.job, &self.position, &written];
        if let Some(expected) = &expected {
            params.push(expected);
        }
        (w.client.execute(&save, &params).await).map_err(WriteFailure::SavePosition)?;
        match self.saved(w).await? {
            Some(saved) if same_position(&saved, self.position) => Ok(()),
            _ => Err(WriteFailure::Fenced),
        }
    }

    /// The job's saved position as JSON text, if any.
    async fn saved(&self, w: &mut Writer) -> Result<Option<String>, WriteFailure> {
        let select =
            (w.statement(&self.progress.select()).await).map_err(WriteFailure::LoadPosition)?;
        let row = (w.client.query_opt(&select, &[&self.job]).await)
            .map_err(WriteFailure::LoadPosition)?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Before any row of the batch is sent on the autocommit path: the saved position is
    /// still the one this writer expects (or already this batch's, saved by a try whose
    /// reply was lost). Otherwise another process moved the job on, and the stale rows
    /// must not overwrite its newer ones.
    async fn still_owned(&self, w: &mut Writer) -> Result<(), WriteFailure> {
        let saved = self.saved(w).await?;
        let owned = match (self.expected, saved.as_deref()) {
            (Expected::Unchecked, _) => true,
            (_, Some(saved)) if same_position(saved, self.position) => true,
            (Expected::Nothing, saved) => saved.is_none(),
            (Expected::Position(text), Some(saved)) => same_position(saved, text),
            (Expected::Position(_), None) => false,
        };
        if owned {
            Ok(())
        } else {
            Err(WriteFailure::Fenced)
        }
    }

    /// Whether the saved position is this batch's: a COMMIT whose reply was lost landed.
    async fn landed(&self, w: &mut Writer) -> Result<bool, WriteFailure> {
        let saved = self.saved(w).await?;
        Ok(saved.is_some_and(|s| same_position(&s, self.position)))
    }
}

/// Whether two positions' JSON texts are the same value (the server's `jsonb` text orders
/// keys and spaces them its own way).
fn same_position(a: &str, b: &str) -> bool {
    let parse = |t: &str| serde_json::from_str::<Position>(t).ok();
    parse(a).is_some_and(|a| Some(a) == parse(b))
}

/// After a failed try of a transaction on `w`: rolls it back, and when a data error is to
/// blame (and the statements were not split yet) says to try again with each statement
/// split until the rows at fault are alone; otherwise gives the error back.
async fn split_after(
    w: &mut Writer,
    table: &str,
    e: WriteFailure,
    on_data_error: OnDataError,
) -> Result<OnDataError, WriteFailure> {
    if !w.client.is_closed() {
        let _ = w.client.batch_execute("ROLLBACK").await;
    }
    match &e {
        WriteFailure::Step { source, .. }
            if on_data_error == OnDataError::Fail && writer::is_data_error(source) =>
        {
            debug!(table, error = %source, "data error: splitting the batch to find the rows at fault");
            Ok(OnDataError::BisectInTransaction)
        }
        _ => Err(e),
    }
}

/// The transaction path with its retries on `session`: each try on a new session after a
/// transient failure. `sent_commit` is the outcome of an earlier try whose COMMIT was
/// sent but not answered: if its reply is lost, the saved position tells whether it took
/// effect.
pub(super) async fn run_transaction(
    connector: &Connector,
    session: &mut Session<Writer>,
    work: &BatchWrite<'_>,
    key: &JobKey,
    table: &str,
    keep: &mut Refusals<'_>,
    mut sent_commit: Option<Outcome>,
) -> Result<Outcome, PostgresError> {
    let what = format!("commit to table `{table}`");
    let backoff = connector.backoff();
    (on_session!(session, backoff, &what, connector.open(), |w, _failed| {
        work.transaction_once(w, key, table, &mut sent_commit, keep)
    }))
    .map_err(|e| e.into_error(key.as_str(), table))
}

/// One transaction on writer 0: deletes, rows, position. A data error rolls it back and
/// runs it again with each statement split until the bad rows are found.
pub(super) async fn write_transaction(
    sessions: &mut Sessions,
    work: &BatchWrite<'_>,
    key: &JobKey,
    table: &str,
    keep: &mut Refusals<'_>,
) -> Result<Outcome, PostgresError> {
    let (connector, writers) = sessions.all();
    run_transaction(connector, &mut writers[0], work, key, table, keep, None).await
}

/// Every writer's steps in parallel (`works`, one per writer), each statement
/// autocommitted; then the position, on writer 0.
pub(super) async fn write_autocommit(
    sessions: &mut Sessions,
    works: &[BatchWrite<'_>],
    key: &JobKey,
    table: &str,
    keep: &mut Refusals<'_>,
) -> Result<Outcome, PostgresError> {
    let failed = |e: WriteFailure| e.into_error(key.as_str(), table);
    let (connector, writers) = sessions.all();
    let what = format!("checking that job `{key}` is still this process's");
    (on_session!(
        &mut writers[0],
        connector.backoff(),
        &what,
        connector.open(),
        |w, _tries| { works[0].still_owned(w) }
    ))
    .map_err(failed)?;
    let what = format!("write to table `{table}`");
    let writes =
        (writers.iter_mut().zip(works)).map(|(s, work)| work.autocommit(connector, s, &what));
    let mut total = Outcome::default();
    for result in futures_util::future::join_all(writes).await {
        total.add(result.map_err(failed)?);
    }
    keep.refused(&total.rejected).map_err(failed)?;
    let what = format!("saving the position of job `{key}`");
    let (backoff, written) = (connector.backoff(), total.written);
    (on_session!(
        &mut writers[0],
        backoff,
        &what,
        connector.open(),
        |w, _tries| { works[0].save_position(w, written) }
    ))
    .map_err(failed)?;
    Ok(total)
}
