//! Batches in flight: with `--writers N` on PostgreSQL, each batch is written on a writer
//! of its own in a transaction left open, and the transactions commit in order, each with
//! its position (see [`InFlight`]). The single-writer and Hologres paths are in
//! [`super::commit`], whose pieces (tries, bisecting, the transaction's end) this shares.

use std::fmt;

use tracing::{debug, warn};

use super::PostgresSink;
use super::commit::{Connector, Failed, Keep, OnRefused, Work, reconnect, run_transaction};
use super::error::PostgresError;
use super::positions;
use super::staging::{KeyHashes, Staged};
use super::writer::{Outcome, Shapes, Step, Writer};
use crate::position::JobKey;
use crate::record::Position;
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
    Running(tokio::task::JoinHandle<Opened>),
    Written(Box<Opened>),
}

impl Task {
    /// Waits for the writer task (a panic in it goes on here); cancel-safe.
    async fn wait(&mut self) {
        if let Task::Running(handle) = self {
            let opened = match handle.await {
                Ok(o) => o,
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
            *self = Task::Written(Box::new(opened));
        }
    }

    async fn opened(mut self) -> Opened {
        self.wait().await;
        match self {
            Task::Written(opened) => *opened,
            Task::Running(_) => unreachable!("waited for"),
        }
    }
}

impl fmt::Debug for InFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlight")
            .field("lane", &self.lane)
            .field("job", &self.key.as_str())
            .finish_non_exhaustive()
    }
}

impl InFlight {
    pub fn lane(&self) -> usize {
        self.lane
    }

    /// Whether a batch whose keys hash to `keys` ([`PostgresSink::key_hashes`]) touches a
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
struct Opened {
    writer: Option<Writer>,
    staged: Staged,
    shapes: Shapes,
    steps: Vec<Step>,
    written: Result<Outcome, Failed>,
}

impl PostgresSink {
    /// How many batches may be in flight at once, each on a writer of its own
    /// ([`Self::start`]); 0 when batches are written one at a time ([`Self::commit_with`]):
    /// one writer, or Hologres, whose statements autocommit.
    pub fn lanes(&self) -> usize {
        if self.autocommit || self.writers.len() < 2 {
            0
        } else {
            self.writers.len()
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
        let position = positions::envelope(self.table.oid, position).to_string();
        let steps = if self.staged.is_empty() {
            Vec::new()
        } else {
            self.steps_for(&routes, 1).remove(0)
        };
        let staged = std::mem::take(&mut self.staged);
        let shapes = self.shapes();
        let writer = self.writers[lane].take();
        let (pg, server) = (self.pg.clone(), self.server.clone());
        let (hologres_version, timeout) = (
            self.hologres_version.clone(),
            self.options.statement_timeout_ms,
        );
        let (backoff, table) = (self.backoff(), self.table.name.clone());
        let (job, at) = (key.as_str().to_owned(), position.clone());
        let task = tokio::spawn(async move {
            let connector = Connector::new(&pg, &server, &hologres_version, timeout);
            let mut slot = writer;
            let work = Work {
                staged: &staged,
                shapes: &shapes,
                steps: &steps,
                job: &job,
                position: &at,
                expected: None,
            };
            let what = format!("write to table `{table}`");
            let mut attempts = backoff.attempts(&what);
            let written = loop {
                let result = match connector.ensure(&mut slot).await {
                    Ok(w) => work.open_once(w, &table).await,
                    Err(e) => Err(Failed::from(e)),
                };
                match result {
                    Ok(out) => break Ok(out),
                    Err(e) => {
                        let (again, reason) = (reconnect(&mut slot, &e), e.reason());
                        if let Err(e) = attempts.next(e, again, &reason).await {
                            break Err(e);
                        }
                    }
                }
            };
            Opened {
                writer: slot,
                staged,
                shapes,
                steps,
                written,
            }
        });
        Ok(InFlight {
            lane,
            key: key.clone(),
            position,
            unrouted,
            keys,
            task: Task::Running(task),
        })
    }

    /// Commits a batch [`Self::start`]ed, after those started before it (call in order):
    /// its refused rows go to `on_refused`, its position is saved compare-and-set, COMMIT.
    /// A failure after the rows were written writes the batch again in a new transaction.
    pub async fn finish(
        &mut self,
        batch: InFlight,
        on_refused: &mut OnRefused<'_>,
    ) -> Result<u64, PostgresError> {
        let InFlight {
            lane,
            key,
            position,
            unrouted,
            task,
            ..
        } = batch;
        let Opened {
            writer,
            staged,
            shapes,
            steps,
            written,
        } = task.opened().await;
        self.writers[lane] = writer;
        let table = self.table.name.clone();
        let expected = self.expected(&key);
        let work = Work {
            staged: &staged,
            shapes: &shapes,
            steps: &steps,
            job: key.as_str(),
            position: &position,
            expected: expected.as_ref(),
        };
        let mut keep = Keep {
            unrouted: &unrouted,
            on_refused,
        };
        let mut sent_commit = None;
        let slot = &mut self.writers[lane];
        let closed = match (written, slot.as_mut()) {
            (Ok(total), Some(w)) => work.close(w, total, &mut sent_commit, &mut keep).await,
            (Ok(_), None) => Err(Failed::Fenced),
            (Err(e), _) => Err(e),
        };
        let outcome = match closed {
            Ok(out) => out,
            Err(e) if sent_commit.is_some() || e.retriable() => {
                *slot = None;
                warn!(table = %table, job = %key, error = %e,
                      "committing a batch written ahead failed: writing it again");
                let connector = Connector::new(
                    &self.pg,
                    &self.server,
                    &self.hologres_version,
                    self.options.statement_timeout_ms,
                );
                let backoff = self.backoff();
                let slot = &mut self.writers[lane];
                (run_transaction(
                    connector,
                    slot,
                    &work,
                    &key,
                    &table,
                    &backoff,
                    &mut keep,
                    sent_commit,
                ))
                .await?
            }
            Err(e) => {
                *slot = None;
                return Err(e.into_error(key.as_str(), &table));
            }
        };
        (self.known.lock().unwrap_or_else(|e| e.into_inner()))
            .insert(key.as_str().to_owned(), Some(position));
        debug!(table = %table, job = %key, rows = outcome.written, lane,
               rejected = unrouted.len() + outcome.rejected.len(), "committed");
        Ok(outcome.written)
    }
}
