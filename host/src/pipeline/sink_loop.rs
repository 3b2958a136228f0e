//! The sink loop: takes each transformed batch in order, stages its rows in the sink,
//! dead-letters what is rejected, and commits the rows with the batch's position; then
//! tells the source its batch is committed. It also answers a new transform version's
//! check against the destination, and a shutdown request.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

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
use crate::sink::{Rejected, Sink};
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
    loop {
        let item = tokio::select! {
            item = processed.recv() => item,
            Some((output, reply)) = checks.recv() => {
                let _ = reply.send(out.sink.check(&output).map_err(|e| e.to_string()));
                continue;
            }
            () = &mut shutdown, if !shutting_down => {
                tracing::info!("stopping: writing the batches already read");
                shutting_down = true;
                out.summary.interrupted = true;
                source.stop.stop();
                continue;
            }
        };
        let Some(item) = item else { return Ok(()) };
        let (batch, processed, taken) = item?;
        if batch.lease.as_ref().is_some_and(|l| !l.is_held()) {
            // The source lost the stream: whoever holds it now reads these records again
            // from the saved position.
            tracing::warn!(stream = %batch.stream, rows = batch.rows(),
                           "not committing a batch of a stream this process no longer holds");
            continue;
        }
        // A new version may declare other columns: it was checked against the
        // destination before it took over.
        let output = &processed.version.output;
        if !Arc::ptr_eq(&out.bound, output) {
            out.sink.bind(output)?;
            out.bound = output.clone();
        }
        write_batch(out, &batch, &processed, input_schema).await?;
        out.metrics
            .batch_latency
            .observe(taken.elapsed().as_secs_f64());
        if let Some(acks) = source.acks {
            // The source may be gone already; its positions are committed anyway.
            let _ = acks.send(Ack {
                stream: batch.stream.clone(),
                position: batch.position.clone(),
            });
        }
        progress.update(source.bytes_done.load(Ordering::Relaxed), &out.summary);
    }
}

/// Stages one transformed batch in the sink, sends its rejects to the dead-letter output,
/// and commits the rows with the batch's position.
async fn write_batch(
    out: &mut Outputs,
    batch: &Batch,
    processed: &Processed,
    input_schema: &Schema,
) -> Result<(), PipelineError> {
    let Outputs {
        sink,
        positions,
        dead_letters,
        error_rate,
        summary,
        metrics: out_metrics,
        ..
    } = out;
    let version = &processed.version;
    let (output, output_schema) = (&processed.output, &version.output);
    let letter = |i: u32, stage, reason: String| DeadLetter {
        origin: batch.origins[i as usize].clone(),
        stage,
        record: batch.record_json(input_schema, i as usize),
        reason,
        transform: version.hash.as_deref().map(str::to_owned),
    };
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
        match entry {
            Entry::Row { input, row } => {
                if let Err(reason) = sink.push_row(input, row) {
                    rejects.push(letter(input, PipelineStage::Sink, reason));
                }
            }
            Entry::Error { input, message } => {
                transform_errors += 1;
                rejects.push(letter(input, PipelineStage::Transform, message.to_owned()));
            }
            Entry::Delete { input, row } => {
                if let Err(reason) = sink.push_delete(input, row) {
                    rejects.push(letter(input, PipelineStage::Sink, reason));
                }
            }
        }
    }
    if let Some(window) = error_rate.as_mut() {
        window.check(batch, version, transform_errors)?;
    }
    for l in batch.rejected.iter().chain(&rejects) {
        dead_letters.push(l)?;
    }
    // Rejected records are durable before the batch that skips them commits.
    dead_letters.flush()?;
    let key = positions.key(&batch.stream);
    // Refused rows are durable before the commit that skips them; a repeated try hands
    // them over again, so each is written once.
    let mut kept = std::collections::HashSet::new();
    let mut keep = |refused: &[Rejected]| -> Result<(), BoxError> {
        for r in refused.iter().filter(|r| kept.insert(r.input)) {
            dead_letters.push(&letter(r.input, PipelineStage::Sink, r.reason.clone()))?;
        }
        Ok(dead_letters.flush()?)
    };
    let written = sink.commit(&key, &batch.position, &mut keep).await?;
    let metrics = &out_metrics;
    metrics.records_read.inc_by(batch.records_read);
    metrics.records_written.inc_by(written);
    metrics.batches.inc();
    metrics.dead_lettered("source", batch.rejected.len() as u64);
    for (stage, name) in [
        (PipelineStage::Transform, "transform"),
        (PipelineStage::Sink, "sink"),
    ] {
        let n = rejects.iter().filter(|r| r.stage == stage).count() as u64;
        metrics.dead_lettered(name, n);
    }
    // Rows the server refused, kept before the commit.
    metrics.dead_lettered("sink", kept.len() as u64);
    summary.read += batch.records_read;
    summary.written += written;
    summary.batches += 1;
    summary.dead_lettered = dead_letters.count();
    Ok(())
}
