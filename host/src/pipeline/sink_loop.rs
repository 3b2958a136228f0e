//! The sink loop: takes each transformed batch in order, stages its rows in the sink,
//! dead-letters what is rejected, and submits the rows with the batch's position; as the
//! sink commits batches (in order: it may keep some in flight), tells the source and
//! counts them. On a shutdown request it stops the source and writes what was read.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use holo_batch::{Entry, OutputReader};
use tokio::sync::mpsc;

use super::error_rate::ErrorWindow;
use super::progress::Progress;
use super::{PipelineError, Summary, Transformed};
use crate::dead_letter::DeadLetters;
use crate::errors::BoxError;
use crate::metrics::Metrics;
use crate::position::Positions;
use crate::record::{Batch, DeadLetter, PipelineStage, Schema};
use crate::sink::{Committed, Rejected, Sink};
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

/// A batch submitted to the sink, until it commits.
struct Pending {
    /// The sink's ticket of the batch: how many were submitted before it.
    ticket: u64,
    batch: Batch,
    processed: Processed,
    taken: Instant,
    /// Dead-lettered before the commit: (at the transform, at the sink's staging).
    rejected: (u64, u64),
    /// Input records the destination refused, kept as dead letters already.
    kept: HashSet<u32>,
}

/// Runs until the transform stage's output ends; on `shutdown` the source is stopped and
/// the batches already read are still written.
pub async fn run(
    out: &mut Outputs,
    processed: &mut mpsc::Receiver<Result<Transformed, PipelineError>>,
    source: SourceControl<'_>,
    input_schema: &Schema,
    progress: &Progress,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PipelineError> {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shutting_down = false;
    // Batches submitted and not committed yet, oldest first: they commit in this order.
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut submitted = 0;
    let ctx = Context {
        source: &source,
        input_schema,
        progress,
    };
    loop {
        // In this order: a stop request, the next batch; else, once the oldest
        // batch in flight is written, it commits, rather than hold its rows (and a
        // stream's progress) until more input comes.
        let item = tokio::select! {
            biased;
            () = &mut shutdown, if !shutting_down => {
                tracing::info!("stopping: writing the batches already read");
                shutting_down = true;
                out.summary.interrupted = true;
                source.stop.stop();
                continue;
            }
            item = processed.recv() => item,
            () = out.sink.next_written(), if out.sink.in_flight() > 0 => {
                commit_next(out, &mut pending, &ctx).await?;
                continue;
            }
        };
        let Some(item) = item else {
            return drain(out, &mut pending, &ctx).await;
        };
        let staged = item.and_then(|(batch, processed, taken)| {
            stage(out, batch, processed, taken, input_schema)
        });
        let batch = match staged {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            // An error before this batch's commit: the batches in flight were fine.
            Err(e) => {
                drain(out, &mut pending, &ctx).await?;
                return Err(e);
            }
        };
        let (key, position) = (
            out.positions.key(&batch.batch.stream),
            batch.batch.position.clone(),
        );
        pending.push_back(Pending {
            ticket: submitted,
            ..batch
        });
        submitted += 1;
        let committed = {
            let mut keep = keeper(&mut pending, &mut out.dead_letters, input_schema);
            out.sink.submit(&key, &position, &mut keep).await?
        };
        for c in committed {
            account(out, &mut pending, c, &ctx);
        }
    }
}

/// Keeps the rows the destination refused, of the pending batch with the sink's ticket, as
/// dead letters: durable before the commit that skips them; a repeated try hands them over
/// again, so each is written once.
fn keeper<'a>(
    pending: &'a mut VecDeque<Pending>,
    dead_letters: &'a mut DeadLetters,
    input_schema: &'a Schema,
) -> impl FnMut(u64, &[Rejected]) -> Result<(), BoxError> + Send + 'a {
    move |ticket, refused| {
        let first = pending.front().map_or(ticket, |p| p.ticket);
        let p = (pending.get_mut((ticket - first) as usize)).expect("a pending batch per ticket");
        for r in refused.iter().filter(|r| p.kept.insert(r.input)) {
            let reason = r.reason.clone();
            let l = letter(
                &p.batch,
                &p.processed,
                input_schema,
                r.input,
                PipelineStage::Sink,
                reason,
            );
            dead_letters.push(&l)?;
        }
        Ok(dead_letters.flush()?)
    }
}

/// Commits the oldest batch in flight.
async fn commit_next(
    out: &mut Outputs,
    pending: &mut VecDeque<Pending>,
    ctx: &Context<'_, '_>,
) -> Result<bool, PipelineError> {
    let committed = {
        let mut keep = keeper(pending, &mut out.dead_letters, ctx.input_schema);
        out.sink.commit_next(&mut keep).await?
    };
    match committed {
        Some(c) => {
            account(out, pending, c, ctx);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Commits the batches in flight, oldest first.
async fn drain(
    out: &mut Outputs,
    pending: &mut VecDeque<Pending>,
    ctx: &Context<'_, '_>,
) -> Result<(), PipelineError> {
    while commit_next(out, pending, ctx).await? {}
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
        ticket: 0,
        batch,
        processed,
        taken,
        rejected: (transform_errors, at_sink),
        kept: HashSet::new(),
    }))
}

/// Accounts for a committed batch, the oldest pending: metrics, summary, the source told,
/// progress.
fn account(
    out: &mut Outputs,
    pending: &mut VecDeque<Pending>,
    c: Committed,
    ctx: &Context<'_, '_>,
) {
    let p = pending.pop_front().expect("a pending batch per commit");
    debug_assert_eq!(p.ticket, c.ticket, "batches commit in the order submitted");
    let Pending {
        batch,
        taken,
        rejected: (at_transform, at_sink),
        kept,
        ..
    } = p;
    let Outputs {
        dead_letters,
        summary,
        metrics,
        ..
    } = out;
    let written = c.written;
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
}
