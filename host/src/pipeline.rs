//! The pipeline: wires a source, a transform and a sink together and runs them concurrently.
//!
//! ```text
//!  source ──Batch──▶ transform thread ──(Batch, output)──▶ sink task ──▶ commit
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
//! batches; the sink task also answers a new version's check against the destination.

use std::future::Future;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use holo_batch::{Entry, OutputReader};
use tokio::sync::mpsc;

use crate::dead_letter::{DeadLetter, DeadLetterError, DeadLetters, Stage};
use crate::lookup::{LookupError, LookupSpec, Lookups};
use crate::record::{Batch, Schema};
use crate::sink::postgres::{PostgresSink, PostgresSinkConfig};
use crate::sink::stdout::StdoutSink;
use crate::sink::{Sink, SinkError};
use crate::source::Ack;
use crate::source::csv::{CsvError, CsvSource, CsvSourceConfig};
use crate::source::sls::{SlsSource, SlsSourceConfig, SlsSourceError};
use crate::transform::stage::{Candidate, Processed, TransformStage, Version};
use crate::transform::watch::Watcher;
use crate::transform::{Transform, TransformConfig, TransformError};

/// Batches in flight between two stages: enough to keep every stage busy, few enough to
/// bound memory.
const CHANNEL_DEPTH: usize = 2;

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub source: SourceConfig,
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
    /// Reload the transform when its file changes (and on SIGHUP).
    pub watch: bool,
    /// Batches a new version runs beside the current one before it takes over (0: none).
    pub canary_batches: u32,
    /// Stop when the transform fails too many records.
    pub max_error_rate: Option<ErrorRate>,
}

/// The share of records a transform may fail, over a window of recent records, before the
/// run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRate {
    /// Fraction of records, in `(0, 1]`.
    pub limit: f64,
    /// Records the fraction is measured over.
    pub window: u64,
}

impl ErrorRate {
    pub fn default_window() -> u64 {
        1000
    }
}

/// Where records come from.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    Csv(CsvSourceConfig),
    Sls(SlsSourceConfig),
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
    Sls(#[from] SlsSourceError),
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
        "transform `{name}` ({hash}) failed {errors} of the last {records} records, over the \
         --max-error-rate of {limit}: stopped before the batch starting at {origin}; what was \
         written before stays, fix the transform and run again to resume"
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
    /// The transform's name, hash and limits; `None` without one.
    pub transform: Option<String>,
    /// Transform calls that trapped.
    pub traps: u64,
    /// Records isolated as the cause of a trap or a failed batch.
    pub isolated: u64,
    /// New transform versions that took over.
    pub reloads: u64,
    /// Canaries rolled back.
    pub rollbacks: u64,
    /// The source was a stream: stopping on request is how it ends.
    pub streaming: bool,
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
        if let Some(t) = &self.transform {
            write!(f, "; transform {t}")?;
            if self.traps > 0 {
                write!(
                    f,
                    ", {} traps, {} records isolated",
                    self.traps, self.isolated
                )?;
            } else if self.isolated > 0 {
                write!(f, ", {} records isolated", self.isolated)?;
            }
            if self.reloads > 0 || self.rollbacks > 0 {
                write!(
                    f,
                    ", {} reloads, {} rolled back",
                    self.reloads, self.rollbacks
                )?;
            }
        }
        if self.already_complete {
            f.write_str("; the saved position was already at the end of the input")?;
        }
        if self.interrupted && self.streaming {
            // A stream ends this way; its positions are committed.
            f.write_str("; stopped on request")?;
        } else if self.interrupted {
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

    // Database lookups read the sink's database unless their spec names another.
    let lookups = {
        let sink_dsn = match &config.sink {
            SinkConfig::Postgres(pc) => Some(pc.dsn.as_str()),
            _ => None,
        };
        Lookups::load(&config.lookups, sink_dsn).await?
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

    let source = match &config.source {
        SourceConfig::Csv(csv) => start_csv(csv, &mut sink, config.from_scratch).await?,
        SourceConfig::Sls(sls) => {
            start_sls(sls, &mut sink, &config.sink, config.from_scratch).await?
        }
    };
    let input_schema = source.schema.clone();

    // Everything is checked before the first record is read: the transform's settings, its
    // output against the destination's columns.
    let transform_label = transform.as_ref().map(|t| {
        format!(
            "`{}` {} ({})",
            t.name(),
            t.hash(),
            t.config().describe_limits()
        )
    });
    let mut watcher = None;
    // A new version's output is checked by the sink task itself, between two batches.
    let (check_tx, mut check_rx) = mpsc::channel::<CheckRequest>(1);
    let mut stage = match transform {
        Some(t) => {
            let (instance, output) = t.start(&input_schema)?;
            sink.bind(&output)?;
            let candidates = if config.watch {
                let (tx, rx) = std::sync::mpsc::channel();
                let prepare = prepare_versions(
                    config.transform.clone().expect("a transform is configured"),
                    lookups.clone(),
                    input_schema.clone(),
                    output_check(check_tx),
                );
                let path = t.config().path.clone();
                watcher = Some(Watcher::spawn(path, t.hash().to_owned(), prepare, tx));
                Some(rx)
            } else {
                None
            };
            TransformStage::wasm(
                t,
                instance,
                input_schema.clone(),
                output,
                candidates,
                config.canary_batches,
            )
        }
        None => {
            sink.bind(&input_schema)?;
            TransformStage::passthrough(input_schema.clone())
        }
    };
    // A table to create (`--create-table`) is created now, before any data flows.
    sink.prepare().await?;
    let mut bound = stage.version().output.clone();
    // SIGHUP checks the transform file at once.
    let hangup = watcher.as_ref().map(|w| {
        let poke = w.poker();
        tokio::spawn(async move {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: checking the transform file");
                if poke.send(()).is_err() {
                    return;
                }
            }
        })
    });
    let mut error_rate = config.max_error_rate.map(ErrorWindow::new);

    let mut dead_letters = DeadLetters::open(config.dead_letter.as_deref())?;
    let progress = Progress::new(config.progress, source.total_bytes);
    let RunningSource {
        batches: mut batch_rx,
        acks,
        stop,
        task: source_task,
        bytes_done,
        resumed,
        streaming,
        ..
    } = source;

    // Transform thread: one instance, one batch at a time, one version per batch.
    // A failure of either stage travels in order, behind the batches that came before it.
    let (out_tx, mut out_rx) =
        mpsc::channel::<Result<(Batch, Processed), PipelineError>>(CHANNEL_DEPTH);
    let transform_thread = std::thread::Builder::new()
        .name("holo-transform".into())
        .spawn(move || {
            while let Some(item) = batch_rx.blocking_recv() {
                let result = item.and_then(|batch| {
                    let processed = stage.process(&batch)?;
                    Ok((batch, processed))
                });
                let failed = result.is_err();
                if out_tx.blocking_send(result).is_err() || failed {
                    break;
                }
            }
            stage.stats()
        })
        .expect("spawn transform thread");

    let mut summary = Summary {
        resumable: matches!(config.sink, SinkConfig::Postgres(_)),
        transform: transform_label,
        ..Summary::default()
    };
    let mut shutdown = std::pin::pin!(shutdown);
    let mut shutting_down = false;
    let result: Result<(), PipelineError> = async {
        loop {
            let item = tokio::select! {
                item = out_rx.recv() => item,
                Some((output, reply)) = check_rx.recv() => {
                    let _ = reply.send(sink.check(&output).map_err(|e| e.to_string()));
                    continue;
                }
                () = &mut shutdown, if !shutting_down => {
                    tracing::info!("stopping: writing the batches already read");
                    shutting_down = true;
                    summary.interrupted = true;
                    stop.stop();
                    continue;
                }
            };
            let Some(item) = item else { break };
            let (batch, processed) = item?;
            // A new version may declare other columns: it was checked against the
            // destination before it took over.
            if !Arc::ptr_eq(&bound, &processed.version.output) {
                sink.bind(&processed.version.output)?;
                bound = processed.version.output.clone();
            }
            let job = format!("{} -> {}", batch.stream, sink.describe());
            write_batch(
                &mut sink,
                &job,
                &batch,
                &processed,
                &input_schema,
                error_rate.as_mut(),
                &mut dead_letters,
                &mut summary,
            )
            .await?;
            if let Some(acks) = &acks {
                // The source may be gone already; its positions are committed anyway.
                let _ = acks.send(Ack {
                    stream: batch.stream.clone(),
                    position: batch.position.clone(),
                });
            }
            progress.update(bytes_done.load(Ordering::Relaxed), &summary);
        }
        Ok(())
    }
    .await;

    stop.stop();
    drop(out_rx);
    drop(acks);
    source_task.join().await;
    let stats = transform_thread.join().unwrap_or_default();
    // The watcher may wait on a check: close the channel before joining it.
    drop(check_rx);
    drop(watcher);
    if let Some(h) = hangup {
        h.abort();
    }
    progress.finish();
    result?;
    summary.traps = stats.traps;
    summary.isolated = stats.isolated;
    summary.reloads = stats.reloads;
    summary.rollbacks = stats.rollbacks;
    summary.dead_lettered = dead_letters.count();
    summary.seconds = started.elapsed().as_secs_f64();
    summary.already_complete = resumed && summary.read == 0 && !summary.interrupted;
    summary.streaming = streaming;
    Ok(summary)
}

/// A source at work: its batches arrive on `batches` until it ends or is stopped.
struct RunningSource {
    schema: Schema,
    batches: mpsc::Receiver<Result<Batch, PipelineError>>,
    /// Committed batches are told back here (sources that checkpoint elsewhere too).
    acks: Option<mpsc::UnboundedSender<Ack>>,
    stop: Stopper,
    task: SourceTask,
    /// For a progress bar: input size and bytes read so far.
    total_bytes: Option<u64>,
    bytes_done: Arc<AtomicU64>,
    /// It started from a saved position.
    resumed: bool,
    /// It runs until stopped: a stop on request is its normal end.
    streaming: bool,
}

/// Asks a source to stop reading.
enum Stopper {
    Flag(Arc<AtomicBool>),
    Watch(tokio::sync::watch::Sender<bool>),
}

impl Stopper {
    fn stop(&self) {
        match self {
            Stopper::Flag(f) => f.store(true, Ordering::Relaxed),
            Stopper::Watch(w) => {
                let _ = w.send(true);
            }
        }
    }
}

enum SourceTask {
    Thread(std::thread::JoinHandle<()>),
    Task(tokio::task::JoinHandle<()>),
}

impl SourceTask {
    async fn join(self) {
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

/// Opens the logstore and reads its shards as tasks; each shard resumes from the position
/// the sink committed for it, read on a connection of its own (shards are taken as the
/// consumer group assigns them, while the sink writes).
async fn start_sls(
    config: &SlsSourceConfig,
    sink: &mut Sink,
    sink_config: &SinkConfig,
    from_scratch: bool,
) -> Result<RunningSource, PipelineError> {
    let destination = sink.describe();
    let loader: crate::source::sls::source::PositionLoader = match sink_config {
        SinkConfig::Postgres(pc) => {
            let (pg, target, _) = pc.build().map_err(SinkError::from)?;
            let client = Arc::new(
                crate::sink::postgres::connect::connect(&pg, &target)
                    .await
                    .map_err(SinkError::from)?,
            );
            Arc::new(move |stream: String| {
                let client = client.clone();
                let job = format!("{stream} -> {destination}");
                Box::pin(async move {
                    let text = crate::sink::postgres::progress::load(&client, &job).await?;
                    Ok(match text {
                        Some(t) => Some(serde_json::from_str(&t)?),
                        None => None,
                    })
                })
            })
        }
        SinkConfig::Stdout => Arc::new(|_| Box::pin(async { Ok(None) })),
    };
    let config = SlsSourceConfig {
        ignore_checkpoints: from_scratch,
        ..config.clone()
    };
    let source = SlsSource::open(config, loader).await?;
    if from_scratch {
        for stream in source.streams() {
            let job = format!("{stream} -> {}", sink.describe());
            sink.clear_position(&job).await?;
        }
    }
    let schema = source.schema();
    let (batch_tx, batches) = mpsc::channel(CHANNEL_DEPTH);
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = source.spawn::<PipelineError>(batch_tx, ack_rx, stop_rx);
    Ok(RunningSource {
        schema,
        batches,
        acks: Some(ack_tx),
        stop: Stopper::Watch(stop_tx),
        task: SourceTask::Task(task),
        total_bytes: None,
        bytes_done: Arc::new(AtomicU64::new(0)),
        resumed: false,
        streaming: true,
    })
}

/// Opens the CSV inputs at the position saved for them (the job is these inputs into this
/// destination) and reads them on a thread of their own.
async fn start_csv(
    config: &CsvSourceConfig,
    sink: &mut Sink,
    from_scratch: bool,
) -> Result<RunningSource, PipelineError> {
    let job = format!("{} -> {}", CsvSource::job_key_of(config)?, sink.describe());
    if from_scratch {
        sink.clear_position(&job).await?;
    }
    let resume = sink.load_position(&job).await?;
    if let Some(p) = &resume {
        tracing::info!(job = %job, position = %p, "resuming from the saved position");
    }
    let resumed = resume.is_some();
    let source_config = config.clone();
    let mut source =
        tokio::task::spawn_blocking(move || CsvSource::open(&source_config, resume.as_ref()))
            .await
            .map_err(|_| PipelineError::StageLost("source"))??;
    let schema = source.schema();
    let total_bytes = source.total_bytes();
    let bytes_done = Arc::new(AtomicU64::new(source.bytes_done()));
    let stop = Arc::new(AtomicBool::new(false));
    let (batch_tx, batches) = mpsc::channel(CHANNEL_DEPTH);
    let thread = {
        let (stop, bytes_done) = (stop.clone(), bytes_done.clone());
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
                        Err(e) => Err(PipelineError::from(e)),
                    };
                    if batch_tx.blocking_send(item).is_err() || done {
                        break;
                    }
                }
            })
            .expect("spawn source thread")
    };
    Ok(RunningSource {
        schema,
        batches,
        acks: None,
        stop: Stopper::Flag(stop),
        task: SourceTask::Thread(thread),
        total_bytes,
        bytes_done,
        resumed,
        streaming: false,
    })
}

/// Makes a new version ready to take over: compiled, configured, and its output checked
/// against the destination.
fn prepare_versions(
    config: TransformConfig,
    lookups: Arc<Lookups>,
    input: Schema,
    check: OutputCheck,
) -> impl Fn(&[u8]) -> Result<Candidate, String> + Send + 'static {
    move |bytes| {
        let transform = Transform::from_bytes(config.clone(), bytes, lookups.clone())
            .map_err(|e| crate::errors::chain(&e))?;
        let (instance, output) = transform
            .start(&input)
            .map_err(|e| crate::errors::chain(&e))?;
        check(&output).map_err(|problems| {
            format!(
                "its output ({}) does not fit the destination: {problems}",
                crate::transform::describe(&output)
            )
        })?;
        Ok(Candidate {
            transform,
            instance,
            output,
        })
    }
}

/// Whether an output schema fits the destination: asked of the sink task, answered as
/// [`Sink::check`] says (the table, the write mode's key, partitions).
type OutputCheck = Arc<dyn Fn(&Schema) -> Result<(), String> + Send + Sync>;

type CheckRequest = (Schema, tokio::sync::oneshot::Sender<Result<(), String>>);

/// Called on the watcher thread: blocks until the sink task has answered.
fn output_check(requests: mpsc::Sender<CheckRequest>) -> OutputCheck {
    Arc::new(move |output: &Schema| {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let ending = |_| "the run is ending".to_owned();
        requests
            .blocking_send((output.clone(), reply))
            .map_err(ending)?;
        answer
            .blocking_recv()
            .map_err(|_| "the run is ending".to_owned())?
    })
}

/// Transform failures over the most recent records, against `--max-error-rate`.
struct ErrorWindow {
    rate: ErrorRate,
    /// (records, failures) of recent batches, oldest first.
    batches: std::collections::VecDeque<(u64, u64)>,
    records: u64,
    errors: u64,
}

impl ErrorWindow {
    fn new(rate: ErrorRate) -> Self {
        ErrorWindow {
            rate,
            batches: Default::default(),
            records: 0,
            errors: 0,
        }
    }

    /// Counts the batch's `errors` (transform failures); errs, before the batch is written,
    /// once the window is full and over the limit.
    fn check(&mut self, batch: &Batch, v: &Version, errors: u64) -> Result<(), PipelineError> {
        let records = batch.rows() as u64;
        self.batches.push_back((records, errors));
        self.records += records;
        self.errors += errors;
        // Keep the smallest run of recent batches that still covers the window.
        while let Some(&(r, e)) = self.batches.front() {
            if self.records - r < self.rate.window {
                break;
            }
            self.batches.pop_front();
            self.records -= r;
            self.errors -= e;
        }
        if self.records >= self.rate.window
            && self.errors as f64 > self.rate.limit * self.records as f64
        {
            return Err(PipelineError::ErrorRate {
                name: v.name().to_owned(),
                hash: v.hash.as_deref().unwrap_or("-").to_owned(),
                errors: self.errors,
                records: self.records,
                limit: self.rate.limit,
                origin: batch
                    .origins
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}

/// Stages one transformed batch in the sink, sends its rejects to the dead-letter output,
/// and commits the rows with the batch's position.
#[allow(clippy::too_many_arguments)]
async fn write_batch(
    sink: &mut Sink,
    job: &str,
    batch: &Batch,
    processed: &Processed,
    input_schema: &Schema,
    error_rate: Option<&mut ErrorWindow>,
    dead_letters: &mut DeadLetters,
    summary: &mut Summary,
) -> Result<(), PipelineError> {
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
                    rejects.push(letter(input, Stage::Sink, reason));
                }
            }
            Entry::Error { input, message } => {
                transform_errors += 1;
                rejects.push(letter(input, Stage::Transform, message.to_owned()));
            }
            Entry::Delete { input, row } => {
                if let Err(reason) = sink.push_delete(input, row) {
                    rejects.push(letter(input, Stage::Sink, reason));
                }
            }
        }
    }
    if let Some(window) = error_rate {
        window.check(batch, version, transform_errors)?;
    }
    for l in batch.rejected.iter().chain(&rejects) {
        dead_letters.push(l)?;
    }
    // Rejected records are durable before the batch that skips them commits.
    dead_letters.flush()?;
    let (written, refused) = sink.commit(job, &batch.position).await?;
    for r in refused {
        dead_letters.push(&letter(r.input, Stage::Sink, r.reason))?;
    }
    dead_letters.flush()?;
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
