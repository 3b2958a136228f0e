//! Sources: where records enter the pipeline.
//!
//! - [`csv`]: files, objects and stdin, read through [`crate::input`] (shared with lookups);
//! - [`sls`]: Alibaba Cloud Log Service logstores, read with the `sls-client` crate.
//!
//! [`open`] starts the configured source at the positions the sink saved for it, reading on
//! a thread or tasks of its own; the pipeline takes its batches from the [`RunningSource`].
//! A new source is a folder here, a [`SourceConfig`] variant and one arm in [`open`].

pub mod csv;
pub mod sls;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::position::{PositionError, Positions, Start};
use crate::record::{Batch, Position, Schema};

/// Batches in flight between the source and the transform: enough to keep both busy, few
/// enough to bound memory.
pub const CHANNEL_DEPTH: usize = 2;

/// Where records come from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    Csv(csv::CsvSourceConfig),
    Sls(Box<sls::SlsSourceConfig>),
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    #[error(transparent)]
    Sls(#[from] sls::SlsSourceError),
    #[error(transparent)]
    Position(#[from] PositionError),
    #[error("the source stopped unexpectedly")]
    Lost,
}

/// A committed batch, told back to its source: the stream and the position its rows reach.
/// A Log Service source writes its consumer-group checkpoints from these.
#[derive(Debug, Clone)]
pub struct Ack {
    pub stream: Arc<str>,
    pub position: Position,
}

/// Starts the source of `config`; each of its streams resumes from the position saved in
/// `positions`, or from the beginning with [`Start::FromScratch`].
pub async fn open(
    config: &SourceConfig,
    positions: Positions,
    start: Start,
) -> Result<RunningSource, SourceError> {
    match config {
        SourceConfig::Csv(c) => csv::start(c, positions, start).await,
        SourceConfig::Sls(c) => sls::start(c, positions, start).await,
    }
}

/// A source at work: its batches arrive on `batches` until it ends or is stopped.
pub struct RunningSource {
    pub schema: Schema,
    pub batches: mpsc::Receiver<Result<Batch, SourceError>>,
    /// Committed batches are told back here (sources that checkpoint elsewhere too).
    pub acks: Option<mpsc::UnboundedSender<Ack>>,
    pub stop: Stopper,
    pub task: SourceTask,
    /// For a progress bar: input size and bytes read so far.
    pub total_bytes: Option<u64>,
    pub bytes_done: Arc<AtomicU64>,
    /// It started from a saved position.
    pub resumed: bool,
    /// It runs until stopped: a stop on request is its normal end.
    pub streaming: bool,
}

/// Asks a source to stop reading.
pub enum Stopper {
    Flag(Arc<AtomicBool>),
    Watch(tokio::sync::watch::Sender<bool>),
}

impl Stopper {
    pub fn stop(&self) {
        match self {
            Stopper::Flag(f) => f.store(true, Ordering::Relaxed),
            Stopper::Watch(w) => {
                let _ = w.send(true);
            }
        }
    }
}

/// What reads a source: a thread (blocking file I/O) or a task.
pub enum SourceTask {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

impl SourceTask {
    /// Waits for the reader to finish.
    pub async fn join(self) {
        match self {
            SourceTask::Thread(t) => {
                let _ = tokio::task::spawn_blocking(move || t.join()).await;
            }
            SourceTask::Task(t) => {
                let _ = t.await;
            }
        }
    }
}
