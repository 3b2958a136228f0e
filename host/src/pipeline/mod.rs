//! The pipeline: wires a source, a transform and a sink together and runs them concurrently.
//!
//! ```text
//!  source ──Batch──▶ transform thread ──(Batch, output)──▶ sink loop ──▶ commit
//!  (CSV thread, or      bounded channel      bounded channel            │
//!   a task per shard)                                                   │
//!        ▲                                                              │
//!        └──── ack (Log Service checkpoints) ◀── position committed with the rows
//! ```
//!
//! Bounded channels give backpressure: a slow sink stops the reader after a few batches.
//! Each batch's rows commit with the position of its stream (the CSV inputs, or one
//! shard) after them, so a run killed at any moment and started again resumes exactly
//! where the last commit left it. The transform stage swaps versions only between
//! batches (see [`crate::transform::reload`]).
//!
//! - [`sink_loop`]: writing each transformed batch, dead letters, acks;
//! - [`error_rate`]: what `--max-error-rate` counts;
//! - [`summary`]: what a run did; [`progress`]: the progress bar.

mod error_rate;
mod progress;
mod sink_loop;
mod summary;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

pub use summary::Summary;

use crate::config::{PipelineConfig, SinkConfig};
use crate::dead_letter::{DeadLetterError, DeadLetters};
use crate::lookup::{LookupError, Lookups};
use crate::metrics::{self, Metrics, ServeError};
use crate::record::Batch;
use crate::sink::{Sink, SinkError};
use crate::source::{self, SourceError};
use crate::transform::reload::{self, Started};
use crate::transform::stage::{Processed, StageStats, TransformStage};
use crate::transform::{Transform, TransformError};
use error_rate::ErrorWindow;
use progress::Progress;
use sink_loop::{Outputs, SourceControl};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error(
        "transform `{name}` returned a malformed output batch for the batch starting at {origin}"
    )]
    Output {
        name: String,
        origin: String,
        source: holo_batch::DecodeError,
    },
    #[error(
        "transform `{name}` ({}) failed {errors} of the last {records} records, over the \
         --max-error-rate of {limit}: stopped before the batch starting at {origin}; what was \
         written before stays, fix the transform and run again to resume",
        crate::transform::short_hash(.hash)
    )]
    ErrorRate {
        name: String,
        hash: String,
        errors: u64,
        records: u64,
        limit: f64,
        origin: String,
    },
    #[error("the {0} stage stopped unexpectedly")]
    StageLost(&'static str),
    #[error(transparent)]
    Metrics(#[from] ServeError),
}

/// Runs the pipeline until the input is exhausted or `shutdown` completes; on shutdown
/// the batches already read are written and committed before returning.
pub async fn run(
    config: PipelineConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, PipelineError> {
    let started = Instant::now();
    let metrics = metrics::global().clone();
    if let Some(addr) = config.metrics_addr {
        metrics::serve(addr, metrics.clone()).await?;
    }
    let lookups = Arc::new(load_lookups(&config).await?);
    let transform = load_transform(&config, &lookups).await?;
    let transform_version =
        (transform.as_ref()).map(|t| (t.name().to_owned(), t.hash().to_owned()));
    let transform_label = transform.as_ref().map(|t| {
        let limits = t.config().describe_limits();
        let hash = crate::transform::short_hash(t.hash());
        format!("`{}` {hash} ({limits})", t.name())
    });
    let mut sink = Sink::open(&config.sink).await?;
    let positions = sink.positions();
    let source = source::open(&config.source, positions.clone(), config.start).await?;
    let input = source.schema.clone();
    // Everything is checked before the first record is read: the transform's settings, its
    // output against the destination's columns.
    let started_transform = match transform {
        Some(transform) => {
            let (instance, output) = transform.start(&input)?;
            Some(Started {
                transform,
                instance,
                output,
            })
        }
        None => None,
    };
    sink.bind(started_transform.as_ref().map_or(&input, |s| &s.output))?;
    // A table to create (`--create-table`) is created now, before any data flows.
    sink.prepare().await?;
    let check = sink.output_check();
    let (stage, watcher) =
        reload::start_stage(started_transform, config.reload, &lookups, &input, check);
    if let Some(t) = &transform_version {
        metrics.set_version(&t.0, &t.1);
    }
    // Source and sink connected, transform loaded and checked against the destination.
    metrics.set_ready(true);
    let hangup = watcher.as_ref().map(reload::forward_sighup);
    let mut out = Outputs {
        sink,
        bound: stage.version().output.clone(),
        dead_letters: DeadLetters::open(config.dead_letter.as_deref())?,
        error_rate: config.max_error_rate.map(ErrorWindow::new),
        summary: Summary {
            resumable: positions.durable(),
            transform: transform_label,
            streaming: source.streaming,
            ..Summary::default()
        },
        positions,
        metrics: metrics.clone(),
    };
    let progress = Progress::new(config.progress, source.total_bytes);
    let (mut processed, transform_thread) =
        spawn_transform(stage, source.batches, out.metrics.clone());
    let control = SourceControl {
        acks: source.acks.as_ref(),
        stop: &source.stop,
        bytes_done: &source.bytes_done,
    };
    let result = sink_loop::run(
        &mut out,
        &mut processed,
        control,
        &input,
        &progress,
        shutdown,
    )
    .await;

    source.stop.stop();
    drop(processed);
    drop(source.acks);
    source.task.join().await;
    let stats = transform_thread.join().unwrap_or_default();
    drop(watcher);
    if let Some(h) = hangup {
        h.abort();
    }
    progress.finish();
    result?;
    let mut summary = out.summary;
    summary.add_stats(&stats);
    summary.dead_lettered = out.dead_letters.count();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.already_complete = source.resumed && summary.read == 0 && !summary.interrupted;
    Ok(summary)
}

/// Database lookups read the sink's database unless their spec names another (`run` and
/// `plan` alike).
pub(crate) async fn load_lookups(config: &PipelineConfig) -> Result<Lookups, LookupError> {
    let sink_dsn = match &config.sink {
        SinkConfig::Postgres(pc) => Some(pc.dsn.as_str()),
        SinkConfig::Stdout => None,
    };
    Lookups::load(&config.lookups, sink_dsn).await
}

/// Compiles (or loads from the cache) and configures the transform, off the runtime.
async fn load_transform(
    config: &PipelineConfig,
    lookups: &Arc<Lookups>,
) -> Result<Option<Transform>, PipelineError> {
    let Some(tc) = config.transform.clone() else {
        return Ok(None);
    };
    let lookups = lookups.clone();
    let transform = tokio::task::spawn_blocking(move || Transform::load(tc, lookups))
        .await
        .map_err(|_| PipelineError::StageLost("transform loading"))??;
    Ok(Some(transform))
}

/// Transformed batches, in order; a failure of either stage travels behind the batches
/// that came before it.
type ProcessedRx = mpsc::Receiver<Result<Transformed, PipelineError>>;

/// A batch, its transform's output, and when the transform stage took it.
pub type Transformed = (Batch, Processed, Instant);

/// The transform thread: one instance, one batch at a time, one version per batch.
fn spawn_transform(
    mut stage: TransformStage,
    mut batches: mpsc::Receiver<Result<Batch, SourceError>>,
    metrics: Arc<Metrics>,
) -> (ProcessedRx, std::thread::JoinHandle<StageStats>) {
    let (tx, rx) = mpsc::channel(source::CHANNEL_DEPTH);
    let thread = std::thread::Builder::new()
        .name("holo-transform".into())
        .spawn(move || {
            let mut seen = StageStats::default();
            while let Some(item) = batches.blocking_recv() {
                let result = item.map_err(PipelineError::from).and_then(|batch| {
                    let taken = Instant::now();
                    let processed = stage.process(&batch)?;
                    metrics
                        .transform_seconds
                        .observe(taken.elapsed().as_secs_f64());
                    let stats = stage.stats();
                    // A new version took over: it is the one in use now.
                    if stats.reloads > seen.reloads
                        && let (Some(name), Some(hash)) = (
                            processed.version.name.as_deref(),
                            processed.version.hash.as_deref(),
                        )
                    {
                        metrics.set_version(name, hash);
                    }
                    metrics.reloads.inc_by(stats.reloads - seen.reloads);
                    metrics.rollbacks.inc_by(stats.rollbacks - seen.rollbacks);
                    seen = stats;
                    Ok((batch, processed, taken))
                });
                let failed = result.is_err();
                if tx.blocking_send(result).is_err() || failed {
                    break;
                }
            }
            stage.stats()
        })
        .expect("spawn transform thread");
    (rx, thread)
}
