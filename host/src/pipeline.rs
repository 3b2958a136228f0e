//! The pipeline: wires a source, a transform and a sink together and runs them concurrently.
//!
//! ```text
//!  source thread ──Batch──▶ transform thread ──(Batch, output)──▶ sink task ──▶ commit
//!        ▲   bounded channel            bounded channel                      │
//!        └──────────────── position committed with the rows it covers ◀─────┘
//! ```
//!
//! Bounded channels give backpressure: a slow sink stops the reader after a few batches.
//! Each batch's rows commit with the source position after them, so a run killed at any
//! moment and started again resumes exactly where the last commit left it.

use std::future::Future;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use holo_batch::{BatchReader, Entry, OutputReader, OutputWriter};
use tokio::sync::mpsc;

use crate::dead_letter::{DeadLetter, DeadLetterError, DeadLetters, Stage};
use crate::lookup::{LookupError, LookupSpec, LookupTable, Lookups};
use crate::record::{Batch, Schema};
use crate::sink::postgres::{PostgresSink, PostgresSinkConfig};
use crate::sink::stdout::StdoutSink;
use crate::sink::{Sink, SinkError};
use crate::source::csv::{CsvError, CsvSource, CsvSourceConfig};
use crate::transform::{Instance, Transform, TransformConfig, TransformError};

/// Batches in flight between two stages: enough to keep every stage busy, few enough to
/// bound memory.
const CHANNEL_DEPTH: usize = 2;

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub source: CsvSourceConfig,
    /// `None`: rows pass through unchanged.
    pub transform: Option<TransformConfig>,
    pub lookups: Vec<LookupSpec>,
    pub sink: SinkConfig,
    /// JSON-lines file for rejected records; `None` logs them only.
    pub dead_letter: Option<PathBuf>,
    /// Forget the saved position and read the input from its beginning.
    pub from_scratch: bool,
    /// Draw a progress bar on a terminal.
    pub progress: bool,
}

#[derive(Debug, Clone)]
pub enum SinkConfig {
    Postgres(PostgresSinkConfig),
    Stdout,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Source(#[from] CsvError),
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
    #[error("the {0} stage stopped unexpectedly")]
    StageLost(&'static str),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub read: u64,
    pub written: u64,
    pub dead_lettered: u64,
    pub batches: u64,
    pub seconds: f64,
    /// The run stopped on request before the input was exhausted.
    pub interrupted: bool,
    /// The saved position was already at the end: nothing was left to load.
    pub already_complete: bool,
    /// The sink keeps positions, so an interrupted run can be resumed.
    pub resumable: bool,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = if self.seconds > 0.0 {
            self.read as f64 / self.seconds
        } else {
            0.0
        };
        write!(
            f,
            "read {} rows, wrote {}, dead-lettered {} in {:.2} s ({:.0} rows/s)",
            self.read, self.written, self.dead_lettered, self.seconds, rate
        )?;
        if self.already_complete {
            f.write_str("; the saved position was already at the end of the input")?;
        }
        if self.interrupted {
            f.write_str(if self.resumable {
                "; interrupted: run the same command again to resume"
            } else {
                "; interrupted"
            })?;
        }
        Ok(())
    }
}

/// Runs the pipeline until the input is exhausted or `shutdown` completes; on shutdown
/// the batches already read are written and committed before returning.
pub async fn run(
    config: PipelineConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, PipelineError> {
    let started = Instant::now();

    let lookups = {
        let specs = config.lookups.clone();
        tokio::task::spawn_blocking(move || {
            let tables = specs
                .iter()
                .map(LookupTable::load)
                .collect::<Result<Vec<_>, _>>()?;
            Lookups::new(tables)
        })
        .await
        .map_err(|_| PipelineError::StageLost("lookup loading"))??
    };
    let lookups = Arc::new(lookups);

    let transform = match config.transform.clone() {
        Some(tc) => {
            let lookups = lookups.clone();
            Some(
                tokio::task::spawn_blocking(move || Transform::load(tc, lookups))
                    .await
                    .map_err(|_| PipelineError::StageLost("transform loading"))??,
            )
        }
        None => None,
    };

    let mut sink = match &config.sink {
        SinkConfig::Postgres(pc) => Sink::Postgres(Box::new(
            PostgresSink::connect(pc).await.map_err(SinkError::from)?,
        )),
        SinkConfig::Stdout => Sink::Stdout(StdoutSink::new()),
    };

    // The job is this input into this destination: its saved position says where to resume.
    let job = format!(
        "{} -> {}",
        CsvSource::job_key_of(&config.source)?,
        sink.describe()
    );
    if config.from_scratch {
        sink.clear_position(&job).await?;
    }
    let resume = sink.load_position(&job).await?;
    let resumed = resume.is_some();
    if let Some(p) = &resume {
        tracing::info!(job = %job, position = %p, "resuming from the saved position");
    }
    let source_config = config.source.clone();
    let source =
        tokio::task::spawn_blocking(move || CsvSource::open(&source_config, resume.as_ref()))
            .await
            .map_err(|_| PipelineError::StageLost("source"))??;
    let input_schema = source.schema();

    // Everything is checked before the first record is read: the transform's settings, its
    // output against the destination's columns.
    let (mut stage, output_schema) = match &transform {
        Some(t) => {
            let (instance, output) = t.start(&input_schema)?;
            (TransformStage::Wasm(Box::new(instance)), output)
        }
        None => (TransformStage::Passthrough, input_schema.clone()),
    };
    sink.bind(&output_schema)?;
    let transform_name = transform.as_ref().map(|t| t.name().to_owned());
    let transform_hash = transform.as_ref().map(|t| t.hash().to_owned());

    let mut dead_letters = DeadLetters::open(config.dead_letter.as_deref())?;
    let progress = Progress::new(config.progress, source.total_bytes());
    let bytes_done = Arc::new(AtomicU64::new(source.bytes_done()));
    let stop = Arc::new(AtomicBool::new(false));

    // Source thread: reads batches until the input ends or `stop` is set.
    let (batch_tx, mut batch_rx) = mpsc::channel::<Result<Batch, CsvError>>(CHANNEL_DEPTH);
    let source_thread = {
        let (stop, bytes_done) = (stop.clone(), bytes_done.clone());
        let mut source = source;
        std::thread::Builder::new()
            .name("holo-source".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let next = source.next_batch();
                    bytes_done.store(source.bytes_done(), Ordering::Relaxed);
                    let done = !matches!(next, Ok(Some(_)));
                    let item = match next {
                        Ok(Some(b)) => Ok(b),
                        Ok(None) => break,
                        Err(e) => Err(e),
                    };
                    if batch_tx.blocking_send(item).is_err() || done {
                        break;
                    }
                }
            })
            .expect("spawn source thread")
    };

    // Transform thread: one instance, one batch at a time.
    // A failure of either stage travels in order, behind the batches that came before it.
    let (out_tx, mut out_rx) =
        mpsc::channel::<Result<(Batch, Vec<u8>), PipelineError>>(CHANNEL_DEPTH);
    let input_width = input_schema.len();
    let transform_thread = std::thread::Builder::new()
        .name("holo-transform".into())
        .spawn(move || {
            while let Some(item) = batch_rx.blocking_recv() {
                let result = item.map_err(PipelineError::from).and_then(|batch| {
                    let mut out = Vec::new();
                    stage.process(&batch, input_width, &mut out)?;
                    Ok((batch, out))
                });
                let failed = result.is_err();
                if out_tx.blocking_send(result).is_err() || failed {
                    break;
                }
            }
        })
        .expect("spawn transform thread");

    let mut summary = Summary {
        resumable: matches!(config.sink, SinkConfig::Postgres(_)),
        ..Summary::default()
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shutting_down = false;
    let result: Result<(), PipelineError> = async {
        loop {
            let item = tokio::select! {
                item = out_rx.recv() => item,
                () = &mut shutdown, if !shutting_down => {
                    tracing::info!("stopping: writing the batches already read");
                    shutting_down = true;
                    summary.interrupted = true;
                    stop.store(true, Ordering::Relaxed);
                    continue;
                }
            };
            let Some(item) = item else { break };
            let (batch, output) = item?;
            write_batch(
                &mut sink,
                &job,
                &batch,
                &output,
                &input_schema,
                &output_schema,
                transform_name.as_deref(),
                transform_hash.as_deref(),
                &mut dead_letters,
                &mut summary,
            )
            .await?;
            progress.update(bytes_done.load(Ordering::Relaxed), &summary);
        }
        Ok(())
    }
    .await;

    stop.store(true, Ordering::Relaxed);
    drop(out_rx);
    let _ = source_thread.join();
    let _ = transform_thread.join();
    progress.finish();
    result?;
    summary.dead_lettered = dead_letters.count();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.already_complete = resumed && summary.read == 0 && !summary.interrupted;
    Ok(summary)
}

/// The transform stage of a run: a WebAssembly instance, or a copy when there is none.
enum TransformStage {
    Wasm(Box<Instance>),
    Passthrough,
}

impl TransformStage {
    fn process(
        &mut self,
        batch: &Batch,
        input_width: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), TransformError> {
        match self {
            TransformStage::Wasm(instance) => instance.process(batch, out),
            TransformStage::Passthrough => {
                let mut w = OutputWriter::new(out);
                let rows = BatchReader::new(&batch.data, input_width)
                    .expect("sources write well-formed batches");
                for (i, row) in rows.enumerate() {
                    let row = row.expect("sources write well-formed batches");
                    w.row(i as u32).extend_from_slice(row.as_bytes());
                }
                Ok(())
            }
        }
    }
}

/// Stages one transformed batch in the sink, sends its rejects to the dead-letter output,
/// and commits the rows with the batch's position.
#[allow(clippy::too_many_arguments)]
async fn write_batch(
    sink: &mut Sink,
    job: &str,
    batch: &Batch,
    output: &[u8],
    input_schema: &Schema,
    output_schema: &Schema,
    transform_name: Option<&str>,
    transform_hash: Option<&str>,
    dead_letters: &mut DeadLetters,
    summary: &mut Summary,
) -> Result<(), PipelineError> {
    for letter in &batch.rejected {
        dead_letters.push(letter)?;
    }
    let reject = |dl: &mut DeadLetters, i: u32, stage, reason: String| {
        dl.push(&DeadLetter {
            origin: batch.origins[i as usize].clone(),
            stage,
            record: batch.record_json(input_schema, i as usize),
            reason,
            transform: transform_hash.map(str::to_owned),
        })
    };
    let entries = OutputReader::new(output, output_schema.len(), batch.rows() as u32);
    for entry in entries {
        let entry = entry.map_err(|source| PipelineError::Output {
            name: transform_name.unwrap_or("passthrough").to_owned(),
            origin: batch
                .origins
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            source,
        })?;
        match entry {
            Entry::Row { input, row } => {
                if let Err(reason) = sink.push_row(row) {
                    reject(dead_letters, input, Stage::Sink, reason)?;
                }
            }
            Entry::Error { input, message } => {
                reject(dead_letters, input, Stage::Transform, message.to_owned())?;
            }
            Entry::Delete { input, row } => {
                if let Err(reason) = sink.push_delete(row) {
                    reject(dead_letters, input, Stage::Sink, reason)?;
                }
            }
        }
    }
    // Rejected records are durable before the batch that skips them commits.
    dead_letters.flush()?;
    let written = sink.commit(job, &batch.position).await?;
    summary.read += batch.records_read;
    summary.written += written;
    summary.batches += 1;
    summary.dead_lettered = dead_letters.count();
    Ok(())
}

/// A progress bar on stderr for sources of known size, drawn only on a terminal.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(enabled: bool, total: Option<u64>) -> Self {
        let bar = match total {
            Some(t) if enabled && std::io::stderr().is_terminal() => {
                let bar = indicatif::ProgressBar::new(t);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
                    )
                    .expect("valid template"),
                );
                bar.enable_steady_tick(Duration::from_millis(200));
                Some(bar)
            }
            _ => None,
        };
        Progress { bar }
    }

    fn update(&self, bytes: u64, summary: &Summary) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(format!(
                "{} written, {} dead-lettered",
                summary.written, summary.dead_lettered
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
