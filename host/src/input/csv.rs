//! CSV records with the line each starts on and its raw text, for the CSV source and lookups.
//!
//! `csv::ByteRecord::position()` is where the reader stopped after the previous record,
//! which lies before any blank lines and, in a CRLF file, before the `\n` of the previous
//! line end: it is one or more lines early. The reader here keeps the bytes it has read
//! since the current record began, so it can skip those line ends itself and count
//! the lines exactly, and quote a malformed record as it was written. Files named `.gz` or
//! `.zst` are read decompressed, their offsets counting decompressed bytes; objects in a
//! bucket are streamed ([`super::objects`]).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use csv::ByteRecord;
use holo_batch::BatchWriter;

use super::objects::{Bucket, ObjectInfo, ObjectReader};

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Read-ahead of the CSV parser: larger than csv's 8 KiB default to cut system calls.
const BUFFER: usize = 64 << 10;

/// Bytes before the current record are dropped once this many have piled up.
const DISCARD_AT: usize = 256 << 10;

/// Most bytes one record may take unless told otherwise (`--max-record-bytes`).
pub(crate) const DEFAULT_RECORD_LIMIT: u64 = 16 << 20;

/// A rejected record is quoted up to this many bytes, so one runaway quote cannot put
/// the rest of a file into a single dead-letter line.
const RAW_QUOTE_LIMIT: usize = 64 << 10;

/// Why a header row cannot name the columns.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("column {column} has a name that is not valid UTF-8")]
    Utf8 { column: usize },
    #[error("column {column} has an empty name: name every column")]
    Empty { column: usize },
    #[error("column `{name}` appears twice: column names must be unique")]
    Duplicate { name: String },
}

/// The column names of a header row, checked: UTF-8, non-empty, unique.
pub(crate) fn header_names(record: &ByteRecord) -> Result<Vec<String>, HeaderError> {
    let mut seen = HashSet::with_capacity(record.len());
    let mut names = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let column = i + 1;
        let name = std::str::from_utf8(field).map_err(|_| HeaderError::Utf8 { column })?;
        if name.is_empty() {
            return Err(HeaderError::Empty { column });
        }
        if !seen.insert(name) {
            return Err(HeaderError::Duplicate { name: name.into() });
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// How a file is compressed, by its name: `.gz` (gzip) or `.zst` (zstd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Zstd,
}

impl Codec {
    pub(crate) fn of(path: &Path) -> Option<Codec> {
        match path.extension()?.to_str()? {
            "gz" | "gzip" => Some(Codec::Gzip),
            "zst" | "zstd" => Some(Codec::Zstd),
            _ => None,
        }
    }
}

/// Where an input's bytes are: a local file or an object in a bucket ([`remote`]).
#[derive(Debug, Clone)]
pub(crate) enum Location {
    File(PathBuf),
    Object(Arc<Bucket>, ObjectInfo),
}

impl Location {
    /// How the input is compressed, by its name.
    pub(crate) fn codec(&self) -> Option<Codec> {
        match self {
            Location::File(path) => Codec::of(path),
            Location::Object(_, object) => Codec::of(Path::new(&object.key)),
        }
    }

    /// The input's bytes as stored, from the start.
    fn open_raw(&self) -> io::Result<Input> {
        Ok(match self {
            Location::File(path) => Input::File(File::open(path)?),
            Location::Object(bucket, object) => {
                Input::Object(ObjectReader::new(bucket.clone(), object.clone()))
            }
        })
    }
}

/// A compressed input, read as its decompressed bytes. It cannot seek: going to an offset
/// decompresses up to it (from the start when the offset is behind).
struct Decompressed {
    location: Location,
    codec: Codec,
    reader: Box<dyn Read + Send>,
    /// Decompressed bytes read so far.
    pos: u64,
    /// Compressed bytes taken from the input so far, for progress.
    raw: Arc<AtomicU64>,
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl std::fmt::Debug for Decompressed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressed")
            .field("location", &self.location)
            .field("codec", &self.codec)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl Decompressed {
    fn open(location: &Location, codec: Codec) -> io::Result<Self> {
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: location.open_raw()?,
            count: count.clone(),
        };
        let raw = io::BufReader::with_capacity(BUFFER, counted);
        let reader: Box<dyn Read + Send> = match codec {
            // Concatenated members, as `cat a.gz b.gz` and pigz write them.
            Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(raw)?),
        };
        Ok(Decompressed {
            location: location.clone(),
            codec,
            reader,
            pos: 0,
            raw: count,
        })
    }

    fn seek_to(&mut self, at: u64) -> io::Result<u64> {
        if at < self.pos {
            *self = Decompressed::open(&self.location, self.codec)?;
        }
        let skipped = io::copy(&mut (&mut self.reader).take(at - self.pos), &mut io::sink())?;
        self.pos += skipped;
        if self.pos != at {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the decompressed input ends at byte {}, before byte {at}",
                    self.pos
                ),
            ));
        }
        Ok(at)
    }
}

/// A file, an object, either of them compressed, or stdin.
#[derive(Debug)]
enum Input {
    File(File),
    Object(ObjectReader),
    Compressed(Box<Decompressed>),
    Stdin(io::Stdin),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(f) => f.read(buf),
            Input::Object(o) => o.read(buf),
            Input::Compressed(d) => {
                let n = d.reader.read(buf)?;
                d.pos += n as u64;
                Ok(n)
            }
            Input::Stdin(s) => s.read(buf),
        }
    }
}

/// Passes reads through and keeps what it read, from `base` on.
#[derive(Debug)]
struct Tee {
    input: Input,
    kept: Vec<u8>,
    /// Input offset of `kept[0]`.
    base: u64,
    /// Input offset where the record being parsed starts.
    record_start: u64,
    /// Most bytes one record may take ([`RecordReader::with_limit`]).
    limit: u64,
}

/// The error [`Tee`] stops the parser with once a record outgrows the limit.
#[derive(Debug)]
struct RecordTooLarge;

impl std::fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the record is larger than the limit")
    }
}

impl std::error::Error for RecordTooLarge {}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Read ahead counts too, so the bound is the limit plus one buffer at most.
        if self.base + self.kept.len() as u64 - self.record_start > self.limit {
            return Err(io::Error::other(RecordTooLarge));
        }
        let n = self.input.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Seek for Tee {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = match &mut self.input {
            Input::File(f) => f.seek(pos)?,
            Input::Object(o) => match pos {
                SeekFrom::Start(at) => {
                    o.seek_to(at);
                    at
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "an object seeks to absolute offsets only",
                    ));
                }
            },
            Input::Compressed(d) => match pos {
                SeekFrom::Start(at) => d.seek_to(at)?,
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "a compressed input seeks to absolute offsets only",
                    ));
                }
            },
            Input::Stdin(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "stdin cannot seek",
                ));
            }
        };
        self.kept.clear();
        self.base = at;
        Ok(at)
    }
}

impl Tee {
    /// Forgets the bytes before input offset `at` once enough have piled up.
    fn discard_before(&mut self, at: u64) {
        let n = (at - self.base) as usize;
        if n >= DISCARD_AT {
            self.kept.drain(..n);
            self.base = at;
        }
    }

    fn slice(&self, from: u64, to: u64) -> &[u8] {
        &self.kept[(from - self.base) as usize..(to - self.base) as usize]
    }
}

/// Reads records one at a time, knowing where each starts.
#[derive(Debug)]
pub(crate) struct RecordReader {
    rdr: csv::Reader<Tee>,
    /// Input offsets of the last record read, line ends excluded.
    start: u64,
    end: u64,
    /// Why the last record is malformed (see [`quoting_fault`]); its text is then its first
    /// line only, and reading went on at the next line.
    malformed: Option<String>,
    /// The first line of a malformed record that spans several (the input was read again
    /// from the next line, so the bytes kept no longer hold it).
    malformed_raw: Option<Vec<u8>>,
    /// The line [`RecordReader::offset`] is on. Counted here rather than by the csv crate,
    /// which counts `\n` only: a lone `\r` (old Mac files) ends a line too.
    next_line: u64,
    /// The bytes read so far end with a `\r` not yet known to start a `\r\n`.
    cr_pending: bool,
}

/// The line ends in `bytes` (`\n`, `\r\n`, or a lone `\r`), given whether a `\r` came just
/// before them; a `\r` at the end stays pending.
fn line_ends(bytes: &[u8], pending: &mut bool) -> u64 {
    // Most input has no `\r`: then it is a count of `\n`, which the compiler vectorizes.
    if !*pending && !bytes.contains(&b'\r') {
        return bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let mut n = 0;
    for &b in bytes {
        match b {
            b'\n' => {
                n += 1;
                *pending = false;
            }
            b'\r' => {
                n += u64::from(*pending);
                *pending = true;
            }
            _ if *pending => {
                n += 1;
                *pending = false;
            }
            _ => {}
        }
    }
    n
}

/// Whether the parser stopped because a record outgrew the limit ([`Tee`]).
fn is_too_large(e: &csv::Error) -> bool {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.get_ref().is_some_and(|e| e.is::<RecordTooLarge>()),
        _ => false,
    }
}

/// Where a record's quoting breaks RFC 4180 in a way that makes the csv parser swallow
/// what follows: a quoted field never closed (the rest of the input becomes one field), or
/// text after a closing quote (`"a"b`, where the quote that closed was meant as text and
/// the lines up to the next quote were taken into the field). `None` for a sound record;
/// a quote inside an unquoted field (`ab"c`) is taken as text, as Python's csv module and
/// the csv crate do. Returns the fault, the byte in `raw` where the quote opened and the
/// byte where the fault is.
fn quoting_fault(raw: &[u8]) -> Option<(Fault, usize, usize)> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut opened = 0;
    for (i, &b) in raw.iter().enumerate() {
        state = match (state, b) {
            (State::FieldStart, b'"') => {
                opened = i;
                State::Quoted
            }
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => State::FieldStart,
            (State::FieldStart | State::Unquoted, _) => State::Unquoted,
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') => State::Quoted,
            (State::QuoteInQuoted, _) => return Some((Fault::TextAfterQuote, opened, i)),
        };
    }
    (state == State::Quoted).then_some((Fault::NeverClosed, opened, raw.len()))
}

/// How a record's quoting breaks (see [`quoting_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    NeverClosed,
    TextAfterQuote,
}

impl Fault {
    /// What went wrong, with the lines the quote opened and the fault is on.
    fn describe(self, opened: u64, at: u64) -> String {
        match self {
            Fault::NeverClosed => {
                format!("a quoted field opened on line {opened} is never closed")
            }
            Fault::TextAfterQuote if opened == at => {
                format!("text follows the closing quote of a field on line {at}")
            }
            Fault::TextAfterQuote => format!(
                "a quoted field opened on line {opened} closes on line {at} with text after the closing quote"
            ),
        }
    }
}

impl RecordReader {
    /// Opens `path`, decompressing it when its name says it is compressed ([`Codec`]).
    #[cfg(test)]
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        Self::open_at(&Location::File(path.to_owned()))
    }

    /// Opens a file or an object, decompressing it when its name says it is compressed.
    pub(crate) fn open_at(location: &Location) -> io::Result<Self> {
        Ok(Self::new(match location.codec() {
            Some(codec) => Input::Compressed(Box::new(Decompressed::open(location, codec)?)),
            None => location.open_raw()?,
        }))
    }

    pub(crate) fn stdin() -> Self {
        Self::new(Input::Stdin(io::stdin()))
    }

    fn new(input: Input) -> Self {
        let tee = Tee {
            input,
            kept: Vec::new(),
            base: 0,
            record_start: 0,
            limit: DEFAULT_RECORD_LIMIT,
        };
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(BUFFER)
            .from_reader(tee);
        RecordReader {
            rdr,
            start: 0,
            end: 0,
            malformed: None,
            malformed_raw: None,
            next_line: 1,
            cr_pending: false,
        }
    }

    /// Reads the next record into `record`; returns the line it starts on, or `None` at
    /// the end of the input.
    pub(crate) fn read(&mut self, record: &mut ByteRecord) -> csv::Result<Option<u64>> {
        let before = self.rdr.position().byte();
        let mut line = self.next_line;
        let mut pending = self.cr_pending;
        self.rdr.get_mut().discard_before(before);
        self.rdr.get_mut().record_start = before;
        self.malformed = None;
        self.malformed_raw = None;
        match self.rdr.read_byte_record(record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) if is_too_large(&e) => {
                record.clear();
                return self.skip_oversized(before).map(Some);
            }
            Err(e) => return Err(e),
        }
        let after = self.rdr.position().byte();
        let raw = self.rdr.get_ref().slice(before, after);
        // What the parser skipped before the record: the BOM, the rest of the previous
        // line end and blank lines.
        let mut skip = if before == 0 && raw.starts_with(BOM) {
            BOM.len()
        } else {
            0
        };
        while raw.get(skip).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            skip += 1;
        }
        line += line_ends(&raw[..skip], &mut pending);
        // A `\r` just before the record is a line end of its own.
        line += u64::from(std::mem::take(&mut pending));
        self.next_line = line + line_ends(&raw[skip..], &mut pending);
        self.cr_pending = pending;
        let trailing = raw[skip..]
            .iter()
            .rev()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        self.start = before + skip as u64;
        self.end = after - trailing as u64;
        let raw = &raw[skip..raw.len() - trailing];
        if raw.contains(&b'"')
            && let Some((fault, opened, at)) = quoting_fault(raw)
        {
            self.recover(line, fault, opened, at)?;
        }
        Ok(Some(line))
    }

    /// Bounds one record: past `bytes`, it is dead-lettered by its size and line (see
    /// [`RecordReader::skip_oversized`]) instead of being held whole.
    pub(crate) fn with_limit(mut self, bytes: u64) -> Self {
        self.rdr.get_mut().limit = bytes.max(1);
        self
    }

    /// After a record that outgrew the limit, starting at input offset `start`: keeps its
    /// beginning for the dead letter, reads past it to the next line end without keeping
    /// what it reads, and goes on from there. Returns the line the record starts on.
    fn skip_oversized(&mut self, start: u64) -> csv::Result<u64> {
        let line = self.next_line;
        let tee = self.rdr.get_mut();
        if matches!(tee.input, Input::Stdin(_)) {
            return Err(csv::Error::from(io::Error::other(format!(
                "the record starting on line {line} is larger than --max-record-bytes ({} bytes), and stdin cannot skip it",
                tee.limit
            ))));
        }
        let held = &tee.kept[(start - tee.base) as usize..];
        let mut pending = false;
        let mut lines = line_ends(held, &mut pending);
        let head = held[..held.len().min(RAW_QUOTE_LIMIT)].to_vec();
        let mut at = tee.base + tee.kept.len() as u64;
        tee.kept.clear();
        tee.base = at;
        // To the next line end, in pieces, keeping nothing.
        let mut buf = vec![0u8; BUFFER];
        let resume = 'scan: loop {
            let n = tee.input.read(&mut buf)?;
            if n == 0 {
                break at;
            }
            for (i, &b) in buf[..n].iter().enumerate() {
                if b == b'\n' {
                    lines += 1;
                    break 'scan at + i as u64 + 1;
                }
            }
            at += n as u64;
        };
        let size = resume - start;
        self.malformed = Some(format!(
            "record of {size} bytes or more starting on line {line}, larger than --max-record-bytes ({} bytes): skipped, reading goes on at line {}",
            self.rdr.get_ref().limit,
            line + lines
        ));
        self.malformed_raw = Some(head);
        (self.start, self.end) = (start, start);
        self.seek(resume, line + lines)?;
        Ok(line)
    }

    /// After a record whose quoting is broken: keeps its first line as its text, says
    /// where the fault is, and goes on reading at the line after, so the records the
    /// parser swallowed are read again (stdin, which cannot go back, keeps the whole record).
    fn recover(&mut self, line: u64, fault: Fault, opened: usize, at: usize) -> csv::Result<()> {
        let raw = self.rdr.get_ref().slice(self.start, self.end);
        let first_line = raw.iter().position(|&b| b == b'\n' || b == b'\r');
        let line_of = |i: usize| line + raw[..i].iter().filter(|&&b| b == b'\n').count() as u64;
        let fault = fault.describe(line_of(opened), line_of(at.min(raw.len())));
        let Some(first) = first_line else {
            // One line: nothing was swallowed.
            self.malformed = Some(format!("malformed CSV: {fault}"));
            return Ok(());
        };
        if matches!(self.rdr.get_ref().input, Input::Stdin(_)) {
            self.malformed = Some(format!(
                "malformed CSV: {fault}; the record runs over {} lines, which stdin cannot read again",
                raw.iter().filter(|&&b| b == b'\n').count() + 1
            ));
            return Ok(());
        }
        let mut next = self.start + first as u64;
        let rest = &raw[first..];
        next += if rest.starts_with(b"\r\n") { 2 } else { 1 };
        self.malformed = Some(format!(
            "malformed CSV: {fault}; only the record's first line is kept here, and reading goes on at line {}",
            line + 1
        ));
        // Seeking drops the bytes kept: the first line is kept here for `raw()`.
        self.malformed_raw = Some(raw[..first].to_vec());
        self.seek(next, line + 1)
    }

    /// Why the last record read is malformed, if it is (its fields are then not to be used).
    pub(crate) fn malformed(&self) -> Option<&str> {
        self.malformed.as_deref()
    }

    /// The last record as written in the input, line end excluded (of a malformed record
    /// that spans several lines, the first).
    pub(crate) fn raw(&self) -> &[u8] {
        match &self.malformed_raw {
            Some(first) => first,
            None => self.rdr.get_ref().slice(self.start, self.end),
        }
    }

    /// The last record as a JSON string for a dead letter: lossy UTF-8, cut at
    /// [`RAW_QUOTE_LIMIT`] bytes.
    pub(crate) fn raw_json(&self) -> serde_json::Value {
        let raw = self.raw();
        let text = if raw.len() > RAW_QUOTE_LIMIT {
            let mut s = String::from_utf8_lossy(&raw[..RAW_QUOTE_LIMIT]).into_owned();
            s.push_str("… (cut)");
            s
        } else {
            String::from_utf8_lossy(raw).into_owned()
        };
        serde_json::Value::String(text)
    }

    /// Input offset where the next record's parsing starts.
    pub(crate) fn offset(&self) -> u64 {
        self.rdr.position().byte()
    }

    /// How far through the input as stored the reader is: [`RecordReader::offset`], or for
    /// a compressed input the compressed bytes taken so far (read ahead of the parser by
    /// up to a buffer), which is what its size on disk is measured in.
    pub(crate) fn progress(&self) -> u64 {
        match &self.rdr.get_ref().input {
            Input::Compressed(d) => d.raw.load(Ordering::Relaxed),
            _ => self.offset(),
        }
    }

    /// Line number at [`RecordReader::offset`].
    pub(crate) fn line(&self) -> u64 {
        self.next_line
    }

    /// Continues at `offset`, a value [`RecordReader::offset`] returned, with the line
    /// number it had there.
    pub(crate) fn seek(&mut self, offset: u64, line: u64) -> csv::Result<()> {
        let mut pos = csv::Position::new();
        pos.set_byte(offset).set_line(line);
        self.next_line = line;
        self.cr_pending = false;
        self.rdr.seek(pos)
    }
}

/// Appends the record's fields as text values; on invalid UTF-8 returns the field index
/// and the byte within it where the encoding breaks.
pub(crate) fn encode_row(
    writer: &mut BatchWriter<'_>,
    record: &ByteRecord,
) -> Result<(), (usize, usize)> {
    // One check of the record's bytes (its fields end to end): a field is valid when the
    // whole is and it ends on a character boundary; else its own check names the fault.
    let whole = simdutf8::basic::from_utf8(record.as_slice()).ok();
    let mut from = 0;
    for (i, field) in record.iter().enumerate() {
        let to = from + field.len();
        let text = match whole.and_then(|w| w.get(from..to)) {
            Some(text) => text,
            None => std::str::from_utf8(field).map_err(|e| (i, e.valid_up_to()))?,
        };
        writer.push_text(text);
        from = to;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn reader(content: &[u8]) -> (tempfile::NamedTempFile, RecordReader) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        let r = RecordReader::open(f.path()).unwrap();
        (f, r)
    }

    fn all(r: &mut RecordReader) -> Vec<(u64, Vec<String>, String)> {
        let mut rec = ByteRecord::new();
        let mut out = Vec::new();
        while let Some(line) = r.read(&mut rec).unwrap() {
            let fields = rec
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((line, fields, String::from_utf8_lossy(r.raw()).into_owned()));
        }
        out
    }

    #[test]
    fn lines_and_raw_text_across_line_ends() {
        let (_f, mut r) = reader(b"\xef\xbb\xbfa,b\r\n1,\"x\r\ny\"\r\n\r\n\n2,\"q\"\"\"\n\r\n3,z");
        let got = all(&mut r);
        assert_eq!(
            got,
            vec![
                (1, vec!["a".into(), "b".into()], "a,b".into()),
                (2, vec!["1".into(), "x\r\ny".into()], "1,\"x\r\ny\"".into()),
                (6, vec!["2".into(), "q\"".into()], "2,\"q\"\"\"".into()),
                (8, vec!["3".into(), "z".into()], "3,z".into()),
            ]
        );
    }

    /// A record past the limit is skipped to the next line end without being held whole:
    /// its beginning and size are told, and the records after it are read.
    #[test]
    fn a_record_past_the_limit_is_skipped_not_held() {
        let mut content = b"id,text\n1,a\n2,".to_vec();
        content.extend(std::iter::repeat_n(b'x', 600_000));
        content.extend_from_slice(b"\n3,c\n4,\"q\n");
        content.extend(std::iter::repeat_n(b'y', 300_000));
        content.extend_from_slice(b"\"\n5,e\n");
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&content).unwrap();
        let mut r = RecordReader::open(f.path()).unwrap().with_limit(100_000);
        let mut rec = ByteRecord::new();
        let mut got = Vec::new();
        while let Some(line) = r.read(&mut rec).unwrap() {
            got.push((line, r.malformed().map(str::to_owned), r.raw().len()));
            // Nothing near the record's size is kept.
            assert!(
                r.rdr.get_ref().kept.len() < 400_000,
                "{}",
                r.rdr.get_ref().kept.len()
            );
        }
        let lines: Vec<u64> = got.iter().map(|g| g.0).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 7]);
        let why = got[2].1.as_deref().unwrap();
        assert!(
            why.contains("starting on line 3") && why.contains("--max-record-bytes"),
            "{why}"
        );
        assert!(got[2].2 <= RAW_QUOTE_LIMIT);
        // The quoted field with a newline inside is too large too: skipped to the next
        // line end (inside it), and what follows is read again.
        assert!(
            got[4].1.as_deref().unwrap().contains("starting on line 5"),
            "{got:?}"
        );
        assert!(got[1].1.is_none() && got[3].1.is_none());
    }

    /// Found by the fuzz test: lone `\r` line ends (old Mac files) count as lines.
    #[test]
    fn lone_carriage_returns_end_lines() {
        let (_f, mut r) = reader(b"h\ra\r\rb\r\nc\r");
        let got: Vec<u64> = all(&mut r).into_iter().map(|x| x.0).collect();
        assert_eq!(got, [1, 2, 4, 5]);
    }

    #[test]
    fn seek_continues_with_the_same_lines() {
        let content = b"h\r\n\r\na\r\nb\r\n\r\nc\r\n";
        let (_f, mut r) = reader(content);
        let mut rec = ByteRecord::new();
        let mut marks = Vec::new();
        while let Some(line) = r.read(&mut rec).unwrap() {
            marks.push((line, r.offset(), r.line()));
        }
        assert_eq!(
            marks.iter().map(|m| m.0).collect::<Vec<_>>(),
            vec![1, 3, 4, 6]
        );
        for (i, &(_, offset, line)) in marks.iter().enumerate() {
            let (_g, mut again) = reader(content);
            again.read(&mut rec).unwrap();
            again.seek(offset, line).unwrap();
            let rest: Vec<u64> = all(&mut again).into_iter().map(|x| x.0).collect();
            let want: Vec<u64> = marks[i + 1..].iter().map(|m| m.0).collect();
            assert_eq!(rest, want, "after record {i}");
        }
    }

    #[test]
    fn long_inputs_keep_raw_text_after_discarding() {
        let mut content = b"id,text\n".to_vec();
        for i in 0..20_000 {
            content.extend_from_slice(format!("{i},\"line {i}\nnext\"\n").as_bytes());
        }
        let (_f, mut r) = reader(&content);
        let got = all(&mut r);
        assert_eq!(got.len(), 20_001);
        assert_eq!(got[20_000].0, 2 + 2 * 19_999);
        assert_eq!(got[20_000].2, "19999,\"line 19999\nnext\"");
    }

    #[test]
    fn header_names_are_checked() {
        let ok = ByteRecord::from(vec!["id", "名前"]);
        assert_eq!(header_names(&ok).unwrap(), vec!["id", "名前"]);
        let empty = ByteRecord::from(vec!["id", ""]);
        assert!(matches!(
            header_names(&empty),
            Err(HeaderError::Empty { column: 2 })
        ));
        let dup = ByteRecord::from(vec!["id", "x", "id"]);
        let e = header_names(&dup).unwrap_err();
        assert_eq!(
            e.to_string(),
            "column `id` appears twice: column names must be unique"
        );
        let mut bad = ByteRecord::new();
        bad.push_field(b"id");
        bad.push_field(b"\xff");
        assert!(matches!(
            header_names(&bad),
            Err(HeaderError::Utf8 { column: 2 })
        ));
    }
}

/// Fuzzing by property (`proptest`; `scripts/fuzz.sh` runs it long): any bytes read as CSV
/// give records or named errors, never a panic or an endless loop; every record starts on a
/// later line than the one before; and where the input has no quote at all, the records
/// are exactly the csv crate's.
#[cfg(test)]
mod fuzz {
    use std::io::Write;

    use proptest::prelude::*;

    use super::*;

    fn csvish() -> impl Strategy<Value = Vec<u8>> {
        let pieces = prop::sample::select(vec![
            &b"a"[..],
            b"bc",
            b",",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r\n",
            b"\r",
            b"\xef\xbb\xbf",
            b"\xff",
            b"x\"y",
            b" ",
        ]);
        prop::collection::vec(pieces, 0..200).prop_map(|p| p.concat())
    }

    fn read_all(content: &[u8]) -> Vec<(u64, Vec<Vec<u8>>, Option<String>)> {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        let mut r = RecordReader::open(f.path()).unwrap();
        let mut rec = ByteRecord::new();
        let mut out = Vec::new();
        while let Some(line) = r.read(&mut rec).unwrap() {
            let _ = r.raw_json();
            out.push((
                line,
                rec.iter().map(<[u8]>::to_vec).collect(),
                r.malformed().map(str::to_owned),
            ));
            assert!(out.len() <= content.len() + 1, "more records than bytes");
        }
        out
    }

    proptest! {
        #[test]
        fn any_bytes_read_as_csv_without_panic(content in csvish()) {
            let records = read_all(&content);
            for pair in records.windows(2) {
                prop_assert!(pair[1].0 > pair[0].0, "lines go forward: {:?}", pair);
            }
            if !content.contains(&b'"') {
                let mut plain = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(&content[..]);
                let want: Vec<Vec<Vec<u8>>> = plain
                    .byte_records()
                    .map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect())
                    .collect();
                let got: Vec<Vec<Vec<u8>>> = records.into_iter().map(|r| r.1).collect();
                // The BOM is skipped by both.
                prop_assert_eq!(got, want);
            }
        }

        #[test]
        fn quoting_faults_point_inside_the_record(raw in csvish()) {
            if let Some((_, opened, at)) = quoting_fault(&raw) {
                prop_assert!(opened <= at && at <= raw.len());
                prop_assert_eq!(raw[opened], b'"');
            }
        }
    }
}
