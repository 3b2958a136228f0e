//! CSV files (or stdin) as a source: header-named text columns, read in batches that
//! carry the exact point to resume from.
//!
//! A batch never spans two files, and its position is the point after its last record,
//! so a sink that commits rows and position together makes a killed load resume at
//! the first record it had not committed.

mod config;
mod fingerprint;
mod inputs;
mod ledger;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use csv::ByteRecord;
use holo_batch::BatchWriter;
use tokio::sync::mpsc;

pub use self::config::{CsvSourceConfig, Partition};
use self::inputs::{InputFile, Inputs, expand};
pub use self::ledger::Ledger;
use self::ledger::{FileStart, file_start};
pub use crate::input::csv::HeaderError;
use crate::input::csv::{Location, RecordReader, encode_row, header_names};
use crate::position::{Positions, Start};
use crate::record::{Batch, Column, Origin, Position, Schema};
use crate::record::{DeadLetter, PipelineStage};
use crate::source::{CHANNEL_DEPTH, RunningSource, SourceError, SourceTask, Stopper};

/// The input name that means stdin.
pub(crate) const STDIN: &str = "-";

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("no CSV input given: name a file, a glob such as `data/*.csv`, or `-` for stdin")]
    NoInputs,
    #[error("`-` (stdin) cannot be combined with other inputs: read stdin alone, or files only")]
    StdinNotAlone,
    #[error("`{pattern}` is not a valid glob pattern")]
    GlobPattern {
        pattern: String,
        source: glob::PatternError,
    },
    #[error("no file matches `{pattern}`: check the pattern and the current directory")]
    GlobNoMatch { pattern: String },
    #[error("cannot list the files matching `{pattern}`")]
    Glob {
        pattern: String,
        source: glob::GlobError,
    },
    #[error("cannot open CSV file `{path}`")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("{message}")]
    Remote { message: String },
    #[error("CSV input `{path}` is not a file")]
    NotAFile { path: String },
    #[error("CSV file `{path}` is given twice (as `{first}` and `{second}`): list each file once")]
    Duplicate {
        path: String,
        first: String,
        second: String,
    },
    #[error("cannot read CSV file `{path}`")]
    Read { path: String, source: csv::Error },
    #[error("CSV file `{path}` is empty: every file needs a header row naming its columns")]
    NoHeader { path: String },
    #[error("the header row of CSV file `{path}` is unreadable: {reason}")]
    MalformedHeader { path: String, reason: String },
    #[error("invalid header row in CSV file `{path}`")]
    Header { path: String, source: HeaderError },
    #[error(
        "CSV file `{path}` has the header `{found}` but `{first}` has `{expected}`: all inputs must have the same columns in the same order"
    )]
    HeaderMismatch {
        path: String,
        found: String,
        first: String,
        expected: String,
    },
    #[error(
        "a saved position exists for this load, but stdin cannot resume: start over with --from-scratch"
    )]
    ResumeStdin,
    #[error(
        "the saved position of CSV file `{path}`, `{position}`, is not a CSV position: start over with --from-scratch"
    )]
    BadPosition { path: String, position: String },
    #[error(
        "a position saved by an older holo-host covers these {count} inputs together ({saved}); this release keeps one per file and cannot tell which files it covers: finish the load with the older release, or start over with --from-scratch"
    )]
    SharedPosition { count: usize, saved: String },
    #[error(
        "the saved position (byte {offset}) lies inside the header of CSV file `{path}`: start over with --from-scratch"
    )]
    PositionInHeader { path: String, offset: u64 },
    #[error("cannot read CSV file `{path}` to check it against its saved position")]
    Fingerprint {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot seek CSV file `{path}` to byte {offset}")]
    Seek {
        path: String,
        offset: u64,
        source: csv::Error,
    },
}

/// The file being read.
#[derive(Debug)]
struct Current {
    given: Arc<str>,
    canonical: String,
    /// This input's job stream, shared by its batches.
    stream: Arc<str>,
    /// A second handle for the checksums; `None` for stdin, objects and compressed files.
    file: Option<std::fs::File>,
    /// The version of an object.
    etag: Option<String>,
    /// Bytes and checksum of the file's start (see [`fingerprint`]).
    head: Option<(u64, String)>,
    reader: RecordReader,
}

/// Reads CSV inputs in order, as batches of text rows.
pub struct CsvSource {
    inputs: Inputs,
    /// Where each input starts.
    starts: Vec<FileStart>,
    schema: Schema,
    /// The header every input must have, and the input it was first read from.
    header: Vec<String>,
    header_from: Arc<str>,
    batch_rows: usize,
    batch_bytes: usize,
    max_record_bytes: u64,
    current: Option<Current>,
    /// The input to open once `current` is done.
    next: usize,
    /// Bytes of the inputs done before `current`, and of the inputs skipped as loaded.
    bytes_before: u64,
    seq: u64,
    record: ByteRecord,
}

impl fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvSource")
            .field("inputs", &self.inputs.count())
            .field("header", &self.header)
            .field("next", &self.next)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl CsvSource {
    /// Lists the inputs, decides from `ledger` where each starts (a file whose fingerprint
    /// no longer matches its position is read as new), checks the header of every file
    /// left to read, and opens the first of them.
    pub fn open(config: &CsvSourceConfig, ledger: &Ledger) -> Result<Self, CsvError> {
        let inputs = expand(&config.inputs)?;
        let starts = match &inputs {
            Inputs::Stdin if ledger.is_empty() => vec![FileStart::Beginning],
            Inputs::Stdin => return Err(CsvError::ResumeStdin),
            Inputs::Files(files) => (files.iter())
                .map(|f| match ledger.get(&f.stream()) {
                    _ if config.partition.is_some_and(|p| !p.takes(&f.given)) => {
                        Ok(FileStart::NotOurs)
                    }
                    None => Ok(FileStart::Beginning),
                    Some(saved) => file_start(f, saved),
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        if let Some(p) = config.partition {
            let ours = starts.iter().filter(|s| **s != FileStart::NotOurs).count();
            tracing::info!(partition = %format!("{}/{}", p.index, p.count), files = ours,
                           of = inputs.count(), "loading this partition's share of the files");
        }
        // The header of the first input names the columns even when it is skipped.
        let (first, header) = open_input(&inputs, 0, config.max_record_bytes)?;
        let header_from = first.given.clone();
        // Every file left to read is checked now rather than when its turn comes, so a
        // stray file stops the load before anything is written.
        if let Inputs::Files(files) = &inputs {
            for (file, _) in (files.iter().zip(&starts))
                .skip(1)
                .filter(|(_, s)| !matches!(s, FileStart::Done | FileStart::NotOurs))
            {
                let mut reader = file_reader(file, config.max_record_bytes)?;
                check_header(
                    &file.given,
                    &read_header(&mut reader, &file.given)?,
                    &header,
                    &header_from,
                )?;
            }
        }
        let bytes_before = match &inputs {
            Inputs::Stdin => 0,
            Inputs::Files(files) => (files.iter().zip(&starts))
                .filter(|(_, s)| **s == FileStart::Done)
                .map(|(f, _)| f.len)
                .sum(),
        };
        let schema: Schema = header.iter().map(Column::text).collect();
        let mut source = CsvSource {
            inputs,
            starts,
            schema,
            header,
            header_from,
            batch_rows: config.batch_rows.max(1),
            batch_bytes: config.batch_bytes,
            max_record_bytes: config.max_record_bytes,
            current: None,
            next: 0,
            bytes_before,
            seq: 0,
            record: ByteRecord::new(),
        };
        source.open_next(Some(first))?;
        Ok(source)
    }

    /// Makes the next input not yet loaded `current`, positioned where it starts
    /// (`opened`: input `next`, already open with its header read).
    fn open_next(&mut self, mut opened: Option<Current>) -> Result<(), CsvError> {
        while self.next < self.inputs.count() {
            let index = self.next;
            self.next += 1;
            let start = self.starts[index];
            if matches!(start, FileStart::Done | FileStart::NotOurs) {
                opened = None;
                continue;
            }
            let mut current = match opened.take() {
                Some(c) => c,
                None => {
                    let (c, header) = open_input(&self.inputs, index, self.max_record_bytes)?;
                    check_header(&c.given, &header, &self.header, &self.header_from)?;
                    c
                }
            };
            if let FileStart::At { offset, line } = start {
                if offset < current.reader.offset() {
                    return Err(CsvError::PositionInHeader {
                        path: current.given.to_string(),
                        offset,
                    });
                }
                (current.reader.seek(offset, line)).map_err(|source| CsvError::Seek {
                    path: current.given.to_string(),
                    offset,
                    source,
                })?;
                tracing::debug!(file = %current.given, offset, line, "resuming CSV input");
            }
            self.current = Some(current);
            return Ok(());
        }
        Ok(())
    }

    /// The columns, named by the first file's header; all text.
    pub fn schema(&self) -> Schema {
        self.schema.clone()
    }

    /// The job stream of each input (`csv:` and its canonical path; `csv:-` for stdin):
    /// each keeps its own position, so files already loaded are skipped wherever they sort.
    pub fn streams_of(config: &CsvSourceConfig) -> Result<Vec<String>, CsvError> {
        Ok(expand(&config.inputs)?.streams())
    }

    /// The size of the inputs this process loads, for a progress bar; `None` for stdin.
    pub fn total_bytes(&self) -> Option<u64> {
        match &self.inputs {
            Inputs::Stdin => None,
            Inputs::Files(files) => Some(
                (files.iter().zip(&self.starts))
                    .filter(|(_, s)| **s != FileStart::NotOurs)
                    .map(|(f, _)| f.len)
                    .sum(),
            ),
        }
    }

    /// Bytes of input read so far, counting the files and parts skipped on resume.
    pub fn bytes_done(&self) -> u64 {
        self.bytes_before + self.current.as_ref().map_or(0, |c| c.reader.progress())
    }

    /// Reads the next batch; `None` once every input is done. Blocks on I/O.
    pub fn next_batch(&mut self) -> Result<Option<Batch>, CsvError> {
        loop {
            if self.current.is_none() {
                self.open_next(None)?;
                if self.current.is_none() {
                    return Ok(None);
                }
            }
            let (batch, at_end) = self.read_batch()?;
            if at_end {
                let done = self.current.take().expect("a current input");
                self.bytes_before += done.reader.progress();
            }
            if let Some(batch) = batch {
                return Ok(Some(batch));
            }
        }
    }

    /// Reads up to a batch from the current input; says whether the input ended.
    fn read_batch(&mut self) -> Result<(Option<Batch>, bool), CsvError> {
        let current = self.current.as_mut().expect("a current input");
        let mut data = Vec::new();
        let mut writer = BatchWriter::new(&mut data);
        let mut rows = Rows::default();
        let mut at_end = false;
        while (rows.records as usize) < self.batch_rows
            && writer.len() + rows.rejected_bytes < self.batch_bytes
        {
            let line = current
                .reader
                .read(&mut self.record)
                .map_err(|source| CsvError::Read {
                    path: current.given.to_string(),
                    source,
                })?;
            let Some(line) = line else {
                at_end = true;
                break;
            };
            let origin = Origin {
                source: current.given.clone(),
                line,
            };
            rows.records += 1;
            match encode_record(&mut writer, &self.record, current, &self.header) {
                Ok(offset) => {
                    rows.row_offsets.push(offset);
                    rows.origins.push(origin);
                }
                Err(reason) => rows.reject(&current.reader, origin, reason),
            }
        }
        writer.finish();

        if rows.records == 0 {
            return Ok((None, at_end));
        }
        let batch = Batch {
            seq: self.seq,
            stream: current.stream.clone(),
            data,
            row_offsets: rows.row_offsets,
            origins: rows.origins,
            rejected: rows.rejected,
            records_read: rows.records,
            position: position_after(current)?,
            lease: None,
        };
        self.seq += 1;
        Ok((Some(batch), at_end))
    }
}

/// The records of a batch being read, besides their encoding.
#[derive(Default)]
struct Rows {
    row_offsets: Vec<u32>,
    origins: Vec<Origin>,
    rejected: Vec<DeadLetter>,
    /// The raw size of the rejected records: they count towards the batch's bytes.
    rejected_bytes: usize,
    /// Records read, rejected ones included.
    records: u64,
}

impl Rows {
    /// Dead-letters the record `reader` just read.
    fn reject(&mut self, reader: &RecordReader, origin: Origin, reason: String) {
        self.rejected_bytes += reader.raw().len();
        self.rejected.push(DeadLetter {
            origin,
            stage: PipelineStage::Source,
            record: reader.raw_json(),
            reason,
            transform: None,
        });
    }
}

/// Encodes `record`, just read from `current`, as the next row of `writer`; returns where
/// the row starts, or why the record is no row (malformed, the wrong number of fields,
/// invalid UTF-8), leaving `writer` as it was.
fn encode_record(
    writer: &mut BatchWriter<'_>,
    record: &ByteRecord,
    current: &Current,
    header: &[String],
) -> Result<u32, String> {
    if let Some(why) = current.reader.malformed() {
        return Err(why.to_owned());
    }
    if record.len() != header.len() {
        return Err(format!(
            "expected {} fields (header of `{}`), found {}",
            header.len(),
            current.given,
            record.len()
        ));
    }
    let row_start = writer.len();
    match encode_row(writer, record) {
        Ok(()) => {
            writer.end_row();
            Ok(u32::try_from(row_start).expect("batch under 4 GiB"))
        }
        Err((field, at)) => {
            writer.buf().truncate(row_start);
            Err(format!(
                "invalid UTF-8 in column `{}` (field {}) at byte {at} of the field",
                header[field],
                field + 1
            ))
        }
    }
}

/// The position after the last record read from `current`, with what the file looked
/// like up to there.
fn position_after(current: &Current) -> Result<Position, CsvError> {
    let offset = current.reader.offset();
    let before_sha256 = (current.file.as_ref())
        .map(|file| fingerprint::before(file, offset))
        .transpose()
        .map_err(|source| CsvError::Fingerprint {
            path: current.given.to_string(),
            source,
        })?;
    let (head_bytes, head_sha256) = current.head.clone().unzip();
    Ok(ledger::CsvPosition {
        file: current.canonical.clone(),
        offset,
        line: current.reader.line(),
        etag: current.etag.clone(),
        head_bytes,
        head_sha256,
        before_sha256,
    }
    .into_json())
}

fn file_reader(file: &InputFile, limit: u64) -> Result<RecordReader, CsvError> {
    (RecordReader::open_at(&file.location).map(|r| r.with_limit(limit))).map_err(|source| {
        CsvError::Open {
            path: file.given.to_string(),
            source,
        }
    })
}

/// Opens input `index` and reads its header row.
fn open_input(
    inputs: &Inputs,
    index: usize,
    limit: u64,
) -> Result<(Current, Vec<String>), CsvError> {
    let current = match inputs {
        Inputs::Stdin => Current {
            given: STDIN.into(),
            canonical: STDIN.to_owned(),
            stream: format!("csv:{STDIN}").into(),
            file: None,
            etag: None,
            head: None,
            reader: RecordReader::stdin().with_limit(limit),
        },
        Inputs::Files(files) => {
            let file = &files[index];
            tracing::debug!(file = %file.given, bytes = file.len, "opening CSV input");
            // A local file is fingerprinted by checksums, an object by its ETag.
            let (handle, head) = match &file.location {
                Location::File(path) => {
                    let handle = std::fs::File::open(path).map_err(|source| CsvError::Open {
                        path: file.given.to_string(),
                        source,
                    })?;
                    let head = fingerprint::head(&handle, file.len).map_err(|source| {
                        CsvError::Fingerprint {
                            path: file.given.to_string(),
                            source,
                        }
                    })?;
                    (Some(handle), Some(head))
                }
                Location::Object(..) => (None, None),
            };
            // Offsets in a compressed file count decompressed bytes: the bytes before one
            // cannot be read back from the file as it is.
            let compressed = file.location.codec().is_some();
            Current {
                given: file.given.clone(),
                canonical: file.canonical.clone(),
                stream: file.stream().into(),
                file: handle.filter(|_| !compressed),
                etag: file.etag.clone(),
                head,
                reader: file_reader(file, limit)?,
            }
        }
    };
    let mut current = current;
    let header = read_header(&mut current.reader, &current.given)?;
    Ok((current, header))
}

fn read_header(reader: &mut RecordReader, given: &str) -> Result<Vec<String>, CsvError> {
    let mut record = ByteRecord::new();
    let found = reader.read(&mut record).map_err(|source| CsvError::Read {
        path: given.to_owned(),
        source,
    })?;
    if found.is_none() {
        return Err(CsvError::NoHeader {
            path: given.to_owned(),
        });
    }
    if let Some(why) = reader.malformed() {
        return Err(CsvError::MalformedHeader {
            path: given.to_owned(),
            reason: why.to_owned(),
        });
    }
    header_names(&record).map_err(|source| CsvError::Header {
        path: given.to_owned(),
        source,
    })
}

fn check_header(
    given: &str,
    header: &[String],
    expected: &[String],
    first: &str,
) -> Result<(), CsvError> {
    if header == expected {
        return Ok(());
    }
    Err(CsvError::HeaderMismatch {
        path: given.to_owned(),
        found: header.join(","),
        first: first.to_owned(),
        expected: expected.join(","),
    })
}

/// Opens the CSV inputs at the positions saved for them (each file into this
/// destination is a job of its own) and reads them on a thread.
pub async fn start(
    config: &CsvSourceConfig,
    positions: Positions,
    start: Start,
) -> Result<RunningSource, SourceError> {
    let inputs = expand(&config.inputs)?;
    let shared = inputs.shared_stream();
    if start == Start::FromScratch {
        for stream in inputs.streams().iter().chain(&shared) {
            positions.clear(stream).await?;
        }
    }
    if let Some(stream) = &shared
        && let Some(saved) = positions.load(stream).await?
    {
        return Err(CsvError::SharedPosition {
            count: inputs.count(),
            saved: saved.to_string(),
        }
        .into());
    }
    let streams = inputs.streams();
    let mut ledger = Ledger::new();
    for (stream, saved) in streams.iter().zip(positions.load_many(&streams).await?) {
        if let Some(p) = saved {
            tracing::info!(job = %positions.key(stream), position = %p, "resuming from the saved position");
            ledger.insert(stream.clone(), p);
        }
    }
    let resumed = !ledger.is_empty();
    let source_config = config.clone();
    let mut source = tokio::task::spawn_blocking(move || CsvSource::open(&source_config, &ledger))
        .await
        .map_err(|_| SourceError::Lost)??;
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
                    let item = match next {
                        Ok(Some(b)) => Ok(b),
                        Ok(None) => break,
                        Err(e) => Err(SourceError::from(e)),
                    };
                    let failed = item.is_err();
                    if batch_tx.blocking_send(item).is_err() || failed {
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

#[cfg(test)]
mod tests;
