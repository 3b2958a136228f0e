//! The sink loop: takes each transformed batch in order, stages its rows in the sink,
//! dead-letters what is rejected, and commits the rows with the batch's position; then
//! tells the source its batch is committed. With several writers on PostgreSQL, up to one
//! batch per writer is written at once, each committing in order. It also answers a new
//! transform version's check against the destination, and a shutdown request.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use holo_batch::{Entry, OutputReader};
use tokio::sync::mpsc;

use super::error_rate::ErrorWindow;
use super::progress::Progress;
use super::reload::CheckRequest;
use super::{PipelineError, Summary, Transformed};
use crate::dead_letter::DeadLetters;
use crate::errors::BoxError;
use crate::metrics::Metrics;
use crate::position::Positions;
use crate::record::{Batch, DeadLetter, PipelineStage, Schema};
use crate::sink::{InFlight, Rejected, Sink};
use crate::source::{Ack, Stopper};
use crate::transform::stage::Processed;

/// Where a batch's results go: the sink (with the positions it keeps), the dead-letter
/// output, the error rate, the summary.
pub struct Outputs {
    pub sink: Sink,
    /// The transform output the sink is bound to.
    pub bound: Schema,
    pub positions: Positions,
    pub dead_letters: DeadLetters,
    pub error_rate: Option<ErrorWindow>,
    pub summary: Summary,
    pub metrics: Arc<Metrics>,
}

/// The source's side of the loop: told of commits, asked to stop.
pub struct SourceControl<'a> {
    pub acks: Option<&'a mpsc::UnboundedSender<Ack>>,
    pub stop: &'a Stopper,
    pub bytes_done: &'a std::sync::atomic::AtomicU64,
}

/// A batch staged in the sink, until its commit: written one at a time, or with
/// `--writers N` on PostgreSQL in flight on a writer of its own.
struct Pending {
    batch: Batch,
    processed: Processed,
    taken: Instant,
    /// Dead-lettered before the commit: (at the transform, at the sink's staging).
    rejected: (u64, u64),
    in_flight: Option<InFlight>,
}

/// Runs until the transform stage's output ends; on `shutdown` the source is stopped and
/// the batches already read are still written.
pub async fn run(
    out: &mut Outputs,
    processed: &mut mpsc::Receiver<Result<Transformed, PipelineError>>,
    checks: &mut mpsc::Receiver<CheckRequest>,
    source: SourceControl<'_>,
    input_schema: &Schema,
    progress: &Progress,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shutting_down = false;
    let lanes = out.sink.lanes();
    // Batches in flight, oldest first: they commit in this order.
    let mut in_flight: VecDeque<Pending> = VecDeque::new();
    let ctx = Context {
        source: &source,
        input_schema,
        progress,
    };
    loop {
        // In this order: a stop request, a check, the next batch (started beside those in
        // flight); else, once the oldest batch in flight is written, it commits, rather than
        // hold its rows (and a stream's progress) until more input comes.
        let item = tokio::select! {
            biased;
            () = &mut shutdown, if !shutting_down => {
                tracing::info!("stopping: writing the batches already read");
                shutting_down = true;
                out.summary.interrupted = true;
                source.stop.stop();
                continue;
            }
            Some((output, reply)) = checks.recv() => {
                let _ = reply.send(out.sink.check(&output).map_err(|e| e.to_string()));
                continue;
            }
            item = processed.recv() => item,
            () = oldest_written(&mut in_flight), if !in_flight.is_empty() => {
                let oldest = in_flight.pop_front().expect("a batch in flight");
                commit(out, oldest, &ctx).await?;
                continue;
            }
        };
        let Some(item) = item else {
            return drain(out, &mut in_flight, &ctx).await;
        };
        let staged = item.and_then(|(batch, processed, taken)| {
            stage(out, batch, processed, taken, input_schema)
        });
        let pending = match staged {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            // An error before this batch's commit: the batches in flight were fine.
            Err(e) => {
                drain(out, &mut in_flight, &ctx).await?;
                return Err(e);
            }
        };
        start(out, pending, &mut in_flight, &ctx, lanes).await?;
    }
}

/// Writes a staged batch: committed at once with one writer, else put in flight on a free
/// lane (after committing the oldest ones while none is free).
async fn start(
    out: &mut Outputs,
    pending: Pending,
    in_flight: &mut VecDeque<Pending>,
    ctx: &Context<'_, '_>,
    lanes: usize,
) -> Result<(), PipelineError> {
    if lanes == 0 {
        return commit(out, pending, ctx).await;
    }
    // A lane frees up when the oldest batch commits; a batch sharing a key with one in
    // flight waits for it, so open transactions never wait on each other.
    let keys = out.sink.key_hashes();
    while in_flight.len() == lanes
        || (in_flight.iter()).any(|p| p.in_flight.as_ref().is_some_and(|f| f.shares_a_key(&keys)))
    {
        let oldest = in_flight.pop_front().expect("a batch in flight");
        commit(out, oldest, ctx).await?;
    }
    let lane = (0..lanes)
        .find(|l| !(in_flight.iter()).any(|p| p.in_flight.as_ref().is_some_and(|f| f.lane() == *l)))
        .expect("a free lane");
    let key = out.positions.key(&pending.batch.stream);
    let started = (out.sink)
        .start(lane, &key, &pending.batch.position, keys)
        .await?;
    in_flight.push_back(Pending {
        in_flight: Some(started),
        ..pending
    });
    Ok(())
}

/// Resolves once the oldest batch in flight is written (its transaction open).
async fn oldest_written(in_flight: &mut VecDeque<Pending>) {
    if let Some(f) = in_flight.front_mut().and_then(|p| p.in_flight.as_mut()) {
        f.written().await;
    }
}

/// Commits the batches in flight, oldest first.
async fn drain(
    out: &mut Outputs,
    in_flight: &mut VecDeque<Pending>,
    ctx: &Context<'_, '_>,
) -> Result<(), PipelineError> {
    while let Some(p) = in_flight.pop_front() {
        commit(out, p, ctx).await?;
    }
    Ok(())
}

/// What committing a batch tells besides the sink.
struct Context<'a, 'b> {
    source: &'a SourceControl<'b>,
    input_schema: &'a Schema,
    progress: &'a Progress,
}

/// The dead letter of input record `i` of `batch`, rejected at `stage`.
fn letter(
    batch: &Batch,
    processed: &Processed,
    input_schema: &Schema,
    i: u32,
    stage: PipelineStage,
    reason: String,
) -> DeadLetter {
    DeadLetter {
        origin: batch.origins[i as usize].clone(),
        stage,
        record: batch.record_json(input_schema, i as usize),
        reason,
        transform: processed.version.hash.as_deref().map(str::to_owned),
    }
}

/// Stages one transformed batch in the sink and sends its rejects to the dead-letter
/// output (durable before the batch commits); `None` for a batch of a stream this process
/// no longer holds.
fn stage(
    out: &mut Outputs,
    batch: Batch,
    processed: Processed,
    taken: Instant,
    input_schema: &Schema,
) -> Result<Option<Pending>, PipelineError> {
    if batch.lease.as_ref().is_some_and(|l| !l.is_held()) {
        // The source lost the stream: whoever holds it now reads these records again
        // from the saved position.
        tracing::warn!(stream = %batch.stream, rows = batch.rows(),
                       "not committing a batch of a stream this process no longer holds");
        return Ok(None);
    }
    // A new version may declare other columns: it was checked against the
    // destination before it took over.
    let output = &processed.version.output;
    if !Arc::ptr_eq(&out.bound, output) {
        out.sink.bind(output)?;
        out.bound = output.clone();
    }
    let Outputs {
        sink,
        dead_letters,
        error_rate,
        ..
    } = out;
    let version = &processed.version;
    let (output, output_schema) = (&processed.output, &version.output);
    // Rejects are held until the error rate is known: a batch that stops the run leaves
    // no dead letters behind.
    let mut rejects = Vec::new();
    let mut transform_errors = 0;
    let entries = OutputReader::new(output, output_schema.len(), batch.rows() as u32);
    for entry in entries {
        let entry = entry.map_err(|source| PipelineError::Output {
            name: version.name().to_owned(),
            origin: batch
                .origins
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            source,
        })?;
        let mut reject = |input, stage, reason| {
            rejects.push(letter(
                &batch,
                &processed,
                input_schema,
                input,
                stage,
                reason,
            ))
        };
        match entry {
            Entry::Row { input, row } => {
                if let Err(reason) = sink.push_row(input, row) {
                    reject(input, PipelineStage::Sink, reason);
                }
            }
            Entry::Error { input, message } => {
                transform_errors += 1;
                reject(input, PipelineStage::Transform, message.to_owned());
            }
            Entry::Delete { input, row } => {
                if let Err(reason) = sink.push_delete(input, row) {
                    reject(input, PipelineStage::Sink, reason);
                }
            }
        }
    }
    if let Some(window) = error_rate.as_mut() {
        window.check(&batch, version, transform_errors)?;
    }
    for l in batch.rejected.iter().chain(&rejects) {
        dead_letters.push(l)?;
    }
    // Rejected records are durable before the batch that skips them commits.
    dead_letters.flush()?;
    let at_sink = rejects.len() as u64 - transform_errors;
    // The staged rows hold what the sink needs of the output: it need not wait for the
    // commit in memory.
    let processed = Processed {
        output: Vec::new(),
        ..processed
    };
    Ok(Some(Pending {
        batch,
        processed,
        taken,
        rejected: (transform_errors, at_sink),
        in_flight: None,
    }))
}

/// Commits a staged batch with its position (after the batches before it), and accounts
/// for it: metrics, summary, the source told, progress.
async fn commit(out: &mut Outputs, p: Pending, ctx: &Context<'_, '_>) -> Result<(), PipelineError> {
    let Pending {
        batch,
        processed,
        taken,
        rejected: (at_transform, at_sink),
        in_flight,
    } = p;
    let Outputs {
        sink,
        positions,
        dead_letters,
        summary,
        metrics,
        ..
    } = out;
    // Refused rows are durable before the commit that skips them; a repeated try hands
    // them over again, so each is written once.
    let mut kept = std::collections::HashSet::new();
    let mut keep = |refused: &[Rejected]| -> Result<(), BoxError> {
        for r in refused.iter().filter(|r| kept.insert(r.input)) {
            let reason = r.reason.clone();
            let l = letter(
                &batch,
                &processed,
                ctx.input_schema,
                r.input,
                PipelineStage::Sink,
                reason,
            );
            dead_letters.push(&l)?;
        }
        Ok(dead_letters.flush()?)
    };
    let written = match in_flight {
        Some(started) => sink.finish(started, &mut keep).await?,
        None => {
            let key = positions.key(&batch.stream);
            sink.commit(&key, &batch.position, &mut keep).await?
        }
    };
    metrics.records_read.inc_by(batch.records_read);
    metrics.records_written.inc_by(written);
    metrics.batches.inc();
    metrics.dead_lettered("source", batch.rejected.len() as u64);
    metrics.dead_lettered("transform", at_transform);
    // Rows refused at staging, and rows the server refused, kept before the commit.
    metrics.dead_lettered("sink", at_sink + kept.len() as u64);
    metrics.batch_latency.observe(taken.elapsed().as_secs_f64());
    summary.read += batch.records_read;
    summary.written += written;
    summary.batches += 1;
    summary.dead_lettered = dead_letters.count();
    if let Some(acks) = ctx.source.acks {
        // The source may be gone already; its positions are committed anyway.
        let _ = acks.send(Ack {
            stream: batch.stream.clone(),
            position: batch.position.clone(),
        });
    }
    (ctx.progress).update(ctx.source.bytes_done.load(Ordering::Relaxed), summary);
    Ok(())
}
