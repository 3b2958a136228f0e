//! The transform stage of a pipeline: runs each batch through the current version of the
//! transform, isolates the records that make it trap, and swaps versions between batches.
//!
//! - A batch goes to the guest in calls of at most [`CALL_ROWS`] rows. A trap discards the
//!   instance; a fresh one comes from the pre-instantiated component and the call's rows
//!   are bisected until the records that trap are alone. Those become error entries (dead
//!   letters with the trap message and the version's hash); the rest of the batch is
//!   processed normally.
//! - A new version ([`Candidate`], from the file watcher) takes over at a batch boundary, so
//!   every batch is processed entirely by one version. With a canary, it first runs beside
//!   the current version on a number of batches, whose output alone is written, and takes
//!   over only if it fails no more records.

use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use holo_batch::{BatchReader, Entry, OutputReader, OutputWriter};
use tracing::{info, warn};

use super::{Failure, Instance, Transform, TransformError};
use crate::record::{Batch, Schema, row_json};

/// Which code produced a batch's output, for dead letters, logs and the sink's binding.
#[derive(Debug)]
pub struct Version {
    /// `None` when rows pass through without a transform.
    pub name: Option<Arc<str>>,
    pub hash: Option<Arc<str>>,
    pub output: Schema,
}

impl Version {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("passthrough")
    }
}

/// A batch's output, and the version that made it.
#[derive(Debug)]
pub struct Processed {
    /// Output entries (`wit/ENCODING.md`), isolated records included as error entries.
    pub output: Vec<u8>,
    pub version: Arc<Version>,
}

/// A new version, compiled, instantiated and checked against the destination.
pub struct Candidate {
    pub transform: Transform,
    pub instance: Instance,
    pub output: Schema,
}

/// What the stage did besides processing: reported in the run summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageStats {
    /// Calls that trapped (each cost an instance).
    pub traps: u64,
    /// Records isolated as the cause of a trap or a failed batch.
    pub isolated: u64,
    /// New versions that took over.
    pub reloads: u64,
    /// Canaries rolled back.
    pub rollbacks: u64,
}

/// The transform stage: a WebAssembly transform, or a copy when there is none.
pub enum TransformStage {
    Passthrough { width: usize, version: Arc<Version> },
    Wasm(Box<WasmStage>),
}

/// A running transform, with the versions waiting to replace it.
pub struct WasmStage {
    current: Live,
    input: Schema,
    candidates: Option<Receiver<Candidate>>,
    /// Batches a new version runs beside the current one before it takes over.
    canary_batches: u32,
    canary: Option<Canary>,
    stats: StageStats,
}

/// One version with its instance.
struct Live {
    transform: Transform,
    instance: Instance,
    version: Arc<Version>,
}

impl Live {
    fn new(transform: Transform, instance: Instance, output: Schema) -> Live {
        let version = Arc::new(Version {
            name: Some(transform.name.clone()),
            hash: Some(transform.hash.clone()),
            output,
        });
        Live {
            transform,
            instance,
            version,
        }
    }

    /// Runs `batch`, in calls of at most [`CALL_ROWS`] rows; on failure, bisects the call's
    /// rows and turns the records that fail alone into error entries.
    fn process(
        &mut self,
        input: &Schema,
        batch: &Batch,
        out: &mut Vec<u8>,
        stats: &mut StageStats,
    ) -> Result<(), TransformError> {
        let all = 0..batch.rows();
        if batch.rows() <= CALL_ROWS {
            match self.instance.call(&batch.data, out) {
                Ok(()) => return Ok(()),
                Err(failure) => {
                    let mut merged = Vec::with_capacity(batch.data.len());
                    let mut w = OutputWriter::new(&mut merged);
                    self.failed(input, batch, all, failure, &mut w, stats)?;
                    *out = merged;
                    return Ok(());
                }
            }
        }
        let mut w = OutputWriter::new(out);
        for start in all.step_by(CALL_ROWS) {
            let rows = start..(start + CALL_ROWS).min(batch.rows());
            if let Err(failure) = self.call_rows(batch, rows.clone(), &mut w) {
                self.failed(input, batch, rows, failure, &mut w, stats)?;
            }
        }
        Ok(())
    }

    /// Calls the transform on `rows` of `batch` and appends the output to that batch's.
    fn call_rows(
        &mut self,
        batch: &Batch,
        rows: Range<usize>,
        w: &mut OutputWriter<'_>,
    ) -> Result<(), Failure> {
        let mut out = Vec::new();
        self.instance
            .call(&sub_batch(batch, rows.clone()), &mut out)?;
        let width = self.version.output.len();
        (w.append_shifted(&out, width, rows.len() as u32, rows.start as u32))
            .map_err(|e| Failure::Error(format!("malformed output: {e}")))
    }

    /// A call on `rows` of `batch` failed: isolates the records that cause it.
    fn failed(
        &mut self,
        input: &Schema,
        batch: &Batch,
        rows: Range<usize>,
        failure: Failure,
        w: &mut OutputWriter<'_>,
        stats: &mut StageStats,
    ) -> Result<(), TransformError> {
        warn!(
            transform = %self.transform.name,
            hash = %self.transform.hash,
            batch = batch.seq,
            rows = rows.len(),
            first_row = rows.start,
            error = failure.message(),
            "transform failed on a batch: isolating the records that cause it"
        );
        self.recover(input, &failure, stats)?;
        self.isolate(input, batch, rows, Some(failure), w, stats)
    }

    /// After a trap the instance is replaced by a fresh one.
    fn recover(
        &mut self,
        input: &Schema,
        failure: &Failure,
        stats: &mut StageStats,
    ) -> Result<(), TransformError> {
        if let Failure::Trap(_) = failure {
            stats.traps += 1;
            self.instance = self.transform.start(input)?.0;
        }
        Ok(())
    }

    fn isolate(
        &mut self,
        input: &Schema,
        batch: &Batch,
        rows: Range<usize>,
        known: Option<Failure>,
        w: &mut OutputWriter<'_>,
        stats: &mut StageStats,
    ) -> Result<(), TransformError> {
        if rows.is_empty() {
            return Ok(());
        }
        let failure = match known {
            Some(f) => f,
            None => match self.call_rows(batch, rows.clone(), w) {
                Ok(()) => return Ok(()),
                Err(f) => {
                    self.recover(input, &f, stats)?;
                    f
                }
            },
        };
        if rows.len() == 1 {
            stats.isolated += 1;
            let what = match failure {
                Failure::Trap(_) => "trapped",
                Failure::Error(_) => "failed",
            };
            w.error(
                rows.start as u32,
                &format!("transform {what} on this record: {}", failure.message()),
            );
            return Ok(());
        }
        let mid = rows.start + rows.len() / 2;
        self.isolate(input, batch, rows.start..mid, None, w, stats)?;
        self.isolate(input, batch, mid..rows.end, None, w, stats)
    }
}

/// Rows per call into the guest at most: a larger batch (a file's, by default) is
/// transformed in calls of this many, so a call's guest memory and CPU deadline are those
/// of a stream's batch whatever `--batch-rows` is.
pub const CALL_ROWS: usize = 4096;

/// A new version on trial beside the current one.
struct Canary {
    live: Live,
    remaining: u32,
    batches: u32,
    rows: u64,
    current_errors: u64,
    canary_errors: u64,
    differing: u64,
    /// A few differing records, described, for the report.
    samples: Vec<String>,
}

/// Differences quoted in a canary report.
const CANARY_SAMPLES: usize = 3;

impl TransformStage {
    pub fn passthrough(input: Schema) -> TransformStage {
        TransformStage::Passthrough {
            width: input.len(),
            version: Arc::new(Version {
                name: None,
                hash: None,
                output: input,
            }),
        }
    }

    /// A transform stage whose first version is `transform`, already started.
    ///
    /// New versions arrive on `candidates`; with `canary_batches > 0` each first runs beside
    /// the current version on that many batches.
    pub fn wasm(
        transform: Transform,
        instance: Instance,
        input: Schema,
        output: Schema,
        candidates: Option<Receiver<Candidate>>,
        canary_batches: u32,
    ) -> TransformStage {
        TransformStage::Wasm(Box::new(WasmStage {
            current: Live::new(transform, instance, output),
            input,
            candidates,
            canary_batches,
            canary: None,
            stats: StageStats::default(),
        }))
    }

    /// The version that will process the next batch.
    pub fn version(&self) -> &Arc<Version> {
        match self {
            TransformStage::Passthrough { version, .. } => version,
            TransformStage::Wasm(w) => &w.current.version,
        }
    }

    pub fn stats(&self) -> StageStats {
        match self {
            TransformStage::Passthrough { .. } => StageStats::default(),
            TransformStage::Wasm(w) => w.stats.clone(),
        }
    }

    /// Processes one batch with one version; a version waiting to take over does so first.
    pub fn process(&mut self, batch: &Batch) -> Result<Processed, TransformError> {
        match self {
            TransformStage::Passthrough { width, version } => {
                let mut out = Vec::with_capacity(batch.data.len() + 5 * batch.rows());
                let mut w = OutputWriter::new(&mut out);
                let rows = BatchReader::new(&batch.data, *width)
                    .expect("sources write well-formed batches");
                for (i, row) in rows.enumerate() {
                    let row = row.expect("sources write well-formed batches");
                    w.row(i as u32).extend_from_slice(row.as_bytes());
                }
                Ok(Processed {
                    output: out,
                    version: version.clone(),
                })
            }
            TransformStage::Wasm(w) => w.process(batch),
        }
    }
}

impl WasmStage {
    fn process(&mut self, batch: &Batch) -> Result<Processed, TransformError> {
        self.take_candidate(batch.seq);
        let mut out = Vec::new();
        self.current
            .process(&self.input, batch, &mut out, &mut self.stats)?;
        let version = self.current.version.clone();
        if self.canary.is_some() {
            self.run_canary(batch, &out);
        }
        Ok(Processed {
            output: out,
            version,
        })
    }

    /// At a batch boundary: the newest waiting version takes over, or starts its canary.
    fn take_candidate(&mut self, seq: u64) {
        let Some(rx) = &self.candidates else { return };
        let Some(c) = rx.try_iter().last() else {
            return;
        };
        let live = Live::new(c.transform, c.instance, c.output);
        if self.canary_batches == 0 {
            info!(
                transform = %live.transform.name,
                hash = %live.transform.hash,
                replaces = %self.current.transform.hash,
                batch = seq,
                "new transform version takes over"
            );
            self.current = live;
            self.stats.reloads += 1;
            return;
        }
        info!(
            transform = %live.transform.name,
            hash = %live.transform.hash,
            batches = self.canary_batches,
            batch = seq,
            "new transform version starts as a canary"
        );
        self.canary = Some(Canary {
            live,
            remaining: self.canary_batches,
            batches: 0,
            rows: 0,
            current_errors: 0,
            canary_errors: 0,
            differing: 0,
            samples: Vec::new(),
        });
    }

    /// Runs the canary on `batch` and compares with the current version's `out`.
    fn run_canary(&mut self, batch: &Batch, out: &[u8]) {
        let mut canary = self.canary.take().expect("a canary is running");
        let mut theirs = Vec::new();
        let mut stats = StageStats::default();
        if let Err(e) = canary
            .live
            .process(&self.input, batch, &mut theirs, &mut stats)
        {
            warn!(
                hash = %canary.live.transform.hash,
                error = %e,
                "canary cannot run: rolled back, the running version stays"
            );
            self.stats.rollbacks += 1;
            return;
        }
        let rows = batch.rows();
        let ours = entries_by_input(out, self.current.version.output.len(), rows);
        let new = entries_by_input(&theirs, canary.live.version.output.len(), rows);
        canary.batches += 1;
        canary.rows += rows as u64;
        canary.current_errors += ours.errors;
        canary.canary_errors += new.errors;
        for i in 0..rows {
            if ours.per_input[i] != new.per_input[i] {
                canary.differing += 1;
                if canary.samples.len() < CANARY_SAMPLES {
                    canary.samples.push(format!(
                        "{}: running {} / canary {}",
                        batch.origins[i],
                        describe_entries(out, &self.current.version.output, rows, i),
                        describe_entries(&theirs, &canary.live.version.output, rows, i),
                    ));
                }
            }
        }
        canary.remaining -= 1;
        if canary.remaining > 0 {
            self.canary = Some(canary);
            return;
        }
        let report = format!(
            "{} batches, {} records: {} failed with the running version, {} with the canary; \
             {} records differ{}",
            canary.batches,
            canary.rows,
            canary.current_errors,
            canary.canary_errors,
            canary.differing,
            if canary.samples.is_empty() {
                String::new()
            } else {
                format!(" (first: {})", canary.samples.join("; "))
            }
        );
        if canary.canary_errors <= canary.current_errors {
            info!(
                hash = %canary.live.transform.hash,
                replaces = %self.current.transform.hash,
                report = %report,
                "canary passed: the new transform version takes over"
            );
            self.current = canary.live;
            self.stats.reloads += 1;
        } else {
            warn!(
                hash = %canary.live.transform.hash,
                running = %self.current.transform.hash,
                report = %report,
                "canary failed more records than the running version: rolled back"
            );
            self.stats.rollbacks += 1;
        }
    }
}

/// Rows `rows` of `batch` as a batch of their own.
fn sub_batch(batch: &Batch, rows: Range<usize>) -> Vec<u8> {
    let start = batch.row_offsets[rows.start] as usize;
    let end = batch
        .row_offsets
        .get(rows.end)
        .map_or(batch.data.len(), |&o| o as usize);
    let mut data = Vec::with_capacity(4 + end - start);
    data.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    data.extend_from_slice(&batch.data[start..end]);
    data
}

/// Output entries grouped by input row, for comparing two versions.
struct ByInput {
    per_input: Vec<Vec<u8>>,
    errors: u64,
}

fn entries_by_input(out: &[u8], width: usize, rows: usize) -> ByInput {
    let mut by = ByInput {
        per_input: vec![Vec::new(); rows],
        errors: 0,
    };
    for entry in OutputReader::new(out, width, rows as u32) {
        // The sink stage reports malformed output; here it only counts as different.
        let Ok(entry) = entry else { break };
        let bucket = &mut by.per_input[entry.input() as usize];
        match entry {
            Entry::Row { row, .. } => {
                bucket.push(0);
                bucket.extend_from_slice(row.as_bytes());
            }
            Entry::Delete { row, .. } => {
                bucket.push(2);
                bucket.extend_from_slice(row.as_bytes());
            }
            Entry::Error { message, .. } => {
                by.errors += 1;
                bucket.push(1);
                bucket.extend_from_slice(message.as_bytes());
            }
        }
    }
    by
}

/// What a version made of input row `i`, in words: rows as JSON, errors as their message.
fn describe_entries(out: &[u8], schema: &Schema, rows: usize, i: usize) -> String {
    let mut parts = Vec::new();
    for entry in OutputReader::new(out, schema.len(), rows as u32).flatten() {
        if entry.input() as usize != i {
            continue;
        }
        parts.push(match entry {
            Entry::Row { row, .. } => row_json(schema, row).to_string(),
            Entry::Delete { row, .. } => format!("delete {}", row_json(schema, row)),
            Entry::Error { message, .. } => format!("error `{message}`"),
        });
    }
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}
