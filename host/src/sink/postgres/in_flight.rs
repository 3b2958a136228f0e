//! Batches in flight: with `--writers N` on PostgreSQL, each batch is written on a writer
//! of its own in a transaction left open, and the transactions commit in order, each with
//! its position (see [`InFlight`]). The single-writer and Hologres paths are in
//! [`super::commit`], whose pieces (tries, bisecting, the transaction's end) this shares.

use std::fmt;

use tracing::{debug, warn};

use super::commit::{BatchWrite, Expected, OnRefused, Refusals, WriteFailure, run_transaction};
use super::error::PostgresError;
use super::positions::ProgressTable;
use super::sessions::Sessions;
use super::staging::{KeyHashes, Staged};
use super::writer::{Outcome, ParamTypes, Step, Writer};
use crate::db::session::on_session;
use crate::db::{Retriable, Session};
use crate::position::JobKey;
use crate::sink::Rejected;

/// A batch being written on a writer of its own, in a transaction left open until the
/// batches before it have committed (`--writers N` on PostgreSQL): N batches are written at
/// once, and each still commits with its position, in order, so a crash loses or repeats
/// none. See [`PostgresSink::start`] and [`PostgresSink::finish`].
pub struct InFlight {
    lane: usize,
    key: JobKey,
    position: String,
    unrouted: Vec<Rejected>,
    /// The keys the batch writes or deletes, hashed: a later batch that touches one of them
    /// waits for this one to commit, so two open transactions never wait on each other's rows.
    keys: KeyHashes,
    task: Task,
}

/// The writer task of a batch in flight, then what it handed back.
enum Task {
    Running(tokio::task::JoinHandle<WrittenAhead>),
    Written(Box<WrittenAhead>),
}

impl Task {
    /// Waits for the writer task (a panic in it goes on here); cancel-safe.
    async fn wait(&mut self) {
        if let Task::Running(handle) = self {
            *self = Task::Written(Box::new(joined(handle.await)));
        }
    }

    /// What the writer task handed back, once it ends.
    async fn into_written(self) -> WrittenAhead {
        match self {
            Task::Written(written) => *written,
            Task::Running(handle) => joined(handle.await),
        }
    }
}

/// A writer task's result; its panic goes on in the caller.
fn joined(result: Result<WrittenAhead, tokio::task::JoinError>) -> WrittenAhead {
    result.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("lane", &self.lane)
            .field("job", &self.key.as_str())
            .finish_non_exhaustive()
    }
}

/// A batch to start: its rows, how they are written, and the position they reach.
pub(super) struct Batch {
    pub staged: Staged,
    pub shapes: ParamTypes,
    pub steps: Vec<Step>,
    /// The position's text, as saved.
    pub position: String,
    /// Rows no partition takes.
    pub unrouted: Vec<Rejected>,
    pub keys: KeyHashes,
    /// Where the position is saved.
    pub progress: ProgressTable,
}

impl InFlight {
    /// Starts writing `batch` on writer `lane` (one no batch in flight holds), in a
    /// transaction [`Self::finish`] commits; the write runs on a task of its own.
    pub(super) fn start(
        sessions: &mut Sessions,
        lane: usize,
        key: &JobKey,
        table: &str,
        batch: Batch,
    ) -> InFlight {
        let Batch {
            staged,
            shapes,
            steps,
            position,
            unrouted,
            keys,
            progress,
        } = batch;
        let connector = sessions.connector().clone();
        let mut writer = sessions.take(lane);
        let (table, job, at) = (table.to_owned(), key.as_str().to_owned(), position.clone());
        let task = tokio::spawn(async move {
            let work = BatchWrite {
                staged: &staged,
                shapes: &shapes,
                steps: &steps,
                job: &job,
                position: &at,
                expected: Expected::Unchecked,
                progress: &progress,
            };
            let what = format!("write to table `{table}`");
            let backoff = connector.backoff();
            let written = on_session!(
                &mut writer,
                backoff,
                &what,
                connector.open(),
                |w, _failed| { work.open_once(w, &table) }
            );
            WrittenAhead {
                writer,
                staged,
                shapes,
                steps,
                progress,
                written,
            }
        });
        InFlight {
            lane,
            key: key.clone(),
            position,
            unrouted,
            keys,
            task: Task::Running(task),
        }
    }

    /// Commits this batch, after those started before it (call in order): its refused rows
    /// go to `on_refused`, its position is saved compare-and-set against `expected`, COMMIT.
    /// A failure after the rows were written writes the batch again in a new transaction.
    /// Returns the rows written, and the position saved.
    pub(super) async fn finish(
        self,
        sessions: &mut Sessions,
        table: &str,
        expected: Option<Option<String>>,
        on_refused: &mut OnRefused<'_>,
    ) -> Result<(u64, String), PostgresError> {
        let InFlight {
            lane,
            key,
            position,
            unrouted,
            task,
            ..
        } = self;
        let WrittenAhead {
            writer,
            staged,
            shapes,
            steps,
            progress,
            written,
        } = task.into_written().await;
        sessions.put(lane, writer);
        let work = BatchWrite {
            staged: &staged,
            shapes: &shapes,
            steps: &steps,
            job: key.as_str(),
            position: &position,
            expected: Expected::of(&expected),
            progress: &progress,
        };
        let mut keep = Refusals {
            unrouted: &unrouted,
            on_refused,
        };
        let mut sent_commit = None;
        let closed = match (written, sessions.get_mut(lane)) {
            (Ok(total), Some(w)) => work.close(w, total, &mut sent_commit, &mut keep).await,
            (Ok(_), None) => Err(WriteFailure::Fenced),
            (Err(e), _) => Err(e),
        };
        let outcome = match closed {
            Ok(out) => out,
            Err(e) if sent_commit.is_some() || e.is_retriable() => {
                sessions.put(lane, Session::default());
                warn!(table = %table, job = %key, error = %e,
                      "committing a batch written ahead failed: writing it again");
                let (connector, writers) = sessions.all();
                (run_transaction(
                    connector,
                    &mut writers[lane],
                    &work,
                    &key,
                    table,
                    &mut keep,
                    sent_commit,
                ))
                .await?
            }
            Err(e) => {
                sessions.put(lane, Session::default());
                return Err(e.into_error(key.as_str(), table));
            }
        };
        debug!(table = %table, job = %key, rows = outcome.written, lane,
               rejected = unrouted.len() + outcome.rejected.len(), "committed");
        Ok((outcome.written, position))
    }

    /// The job whose position the batch moves.
    pub fn job(&self) -> &JobKey {
        &self.key
    }

    pub fn lane(&self) -> usize {
        self.lane
    }

    /// Whether a batch whose keys hash to `keys` ([`Staged::key_hashes`]) touches a
    /// key this one writes: it must then wait for this one to commit.
    pub fn shares_a_key(&self, keys: &KeyHashes) -> bool {
        let (small, large) = if self.keys.len() < keys.len() {
            (&self.keys, keys)
        } else {
            (keys, &self.keys)
        };
        small.iter().any(|h| large.contains(h))
    }

    /// Resolves once the batch's rows are written, its transaction still open: the sink
    /// loop commits it then when nothing else is waiting. Cancel-safe: dropped before the
    /// end, the write goes on and this may be awaited again.
    pub async fn written(&mut self) {
        self.task.wait().await;
    }
}

/// What a pipelined batch's writer hands back: its session (the transaction open on it),
/// and what the batch needs should it have to be written again.
struct WrittenAhead {
    writer: Session<Writer>,
    staged: Staged,
    shapes: ParamTypes,
    steps: Vec<Step>,
    progress: ProgressTable,
    written: Result<Outcome, WriteFailure>,
}
