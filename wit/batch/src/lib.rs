//! The batch encoding of `holo:transform` (`wit/ENCODING.md`), shared by the host and the
//! guest SDK so that both sides agree byte for byte.
//!
//! Writers append to a caller-owned `Vec<u8>` so buffers are reused across batches;
//! readers borrow the bytes and hand out `&str` without copying. The schema types
//! ([`Column`], [`ColumnType`]) live here too, so both sides share one definition.

use std::fmt;

mod schema;

pub use schema::{Column, ColumnType, UnknownColumnType};

/// Tag bytes of the value encoding.
pub mod tag {
    pub const NULL: u8 = 0x00;
    pub const FALSE: u8 = 0x01;
    pub const TRUE: u8 = 0x02;
    pub const INT: u8 = 0x03;
    pub const FLOAT: u8 = 0x04;
    pub const TEXT: u8 = 0x05;
}

/// Entry kinds of an output batch.
pub mod kind {
    pub const ROW: u8 = 0x00;
    pub const ERROR: u8 = 0x01;
    pub const DELETE: u8 = 0x02;
}

/// A value borrowed from an encoded batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(&'a str),
}

impl ValueRef<'_> {
    /// The value as text, the way a CSV file would hold it (`None` for null).
    pub fn to_text(&self) -> Option<String> {
        match *self {
            ValueRef::Null => None,
            ValueRef::Bool(b) => Some(b.to_string()),
            ValueRef::Int(i) => Some(i.to_string()),
            ValueRef::Float(f) => Some(f.to_string()),
            ValueRef::Text(s) => Some(s.to_owned()),
        }
    }

    /// Appends this value's encoding to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) {
        match *self {
            ValueRef::Null => buf.push(tag::NULL),
            ValueRef::Bool(false) => buf.push(tag::FALSE),
            ValueRef::Bool(true) => buf.push(tag::TRUE),
            ValueRef::Int(i) => {
                buf.push(tag::INT);
                buf.extend_from_slice(&i.to_le_bytes());
            }
            ValueRef::Float(f) => {
                buf.push(tag::FLOAT);
                buf.extend_from_slice(&f.to_le_bytes());
            }
            ValueRef::Text(s) => encode_text(buf, s),
        }
    }
}

/// Appends a text value (tag, length, bytes) to `buf`.
#[inline]
pub fn encode_text(buf: &mut Vec<u8>, s: &str) {
    buf.push(tag::TEXT);
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Why a batch could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the batch where decoding failed.
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed batch at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for DecodeError {}

/// Reads the value that starts at `*pos` and advances `*pos` past it.
#[inline]
pub fn decode_value<'a>(buf: &'a [u8], pos: &mut usize) -> Result<ValueRef<'a>, DecodeError> {
    let start = *pos;
    let err = |reason| DecodeError {
        offset: start,
        reason,
    };
    let t = *buf.get(start).ok_or(err("truncated value"))?;
    let body = start + 1;
    let v = match t {
        tag::NULL => {
            *pos = body;
            ValueRef::Null
        }
        tag::FALSE | tag::TRUE => {
            *pos = body;
            ValueRef::Bool(t == tag::TRUE)
        }
        tag::INT | tag::FLOAT => {
            let bytes: [u8; 8] = buf
                .get(body..body + 8)
                .ok_or(err("truncated number"))?
                .try_into()
                .expect("slice of 8");
            *pos = body + 8;
            if t == tag::INT {
                ValueRef::Int(i64::from_le_bytes(bytes))
            } else {
                ValueRef::Float(f64::from_le_bytes(bytes))
            }
        }
        tag::TEXT => {
            let (s, end) = read_str(buf, body).map_err(|_| err("truncated or non-UTF-8 text"))?;
            *pos = end;
            ValueRef::Text(s)
        }
        _ => return Err(err("unknown value tag")),
    };
    Ok(v)
}

/// The kind, input row and end of the output entry at `start`, from its structure alone
/// (kinds, indexes, value lengths); `rows` bounds the input row.
fn entry_span(
    out: &[u8],
    start: usize,
    ncols: usize,
    rows: u32,
) -> Result<(u8, u32, usize), DecodeError> {
    let err = |reason| DecodeError {
        offset: start,
        reason,
    };
    let k = out[start];
    let input = read_u32(out, start + 1).ok_or(err("truncated entry header"))?;
    if input >= rows {
        return Err(err(
            "entry refers to an input row past the end of the batch",
        ));
    }
    let mut end = start + 5;
    match k {
        kind::ROW | kind::DELETE => {
            for _ in 0..ncols {
                skip_value(out, &mut end)?;
            }
        }
        kind::ERROR => {
            let len = read_u32(out, end).ok_or(err("truncated error message"))?;
            end = (end + 4)
                .checked_add(len as usize)
                .filter(|&e| e <= out.len())
                .ok_or(err("truncated error message"))?;
        }
        _ => return Err(err("unknown entry kind")),
    }
    Ok((k, input, end))
}

/// Moves `*pos` past the value that starts there, checking its tag and length only.
fn skip_value(buf: &[u8], pos: &mut usize) -> Result<(), DecodeError> {
    let start = *pos;
    let err = |reason| DecodeError {
        offset: start,
        reason,
    };
    let end = match *buf.get(start).ok_or(err("truncated value"))? {
        tag::NULL | tag::FALSE | tag::TRUE => start + 1,
        tag::INT | tag::FLOAT => start + 9,
        tag::TEXT => {
            let len = read_u32(buf, start + 1).ok_or(err("truncated text"))?;
            (start + 5)
                .checked_add(len as usize)
                .ok_or(err("truncated text"))?
        }
        _ => return Err(err("unknown value tag")),
    };
    if end > buf.len() {
        return Err(err("truncated value"));
    }
    *pos = end;
    Ok(())
}

/// Reads a `u32`-length-prefixed UTF-8 string at `pos`; returns it and the end offset.
fn read_str(buf: &[u8], pos: usize) -> Result<(&str, usize), ()> {
    let len = read_u32(buf, pos).ok_or(())? as usize;
    let start = pos + 4;
    let end = start.checked_add(len).ok_or(())?;
    let bytes = buf.get(start..end).ok_or(())?;
    let s = std::str::from_utf8(bytes).map_err(|_| ())?;
    Ok((s, end))
}

#[inline]
fn read_u32(buf: &[u8], pos: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(pos..pos + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// One encoded row: `ncols` consecutive values.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    bytes: &'a [u8],
    ncols: usize,
}

impl<'a> RowRef<'a> {
    /// The row's encoding, ready to be copied into another batch unchanged.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.ncols
    }

    pub fn is_empty(&self) -> bool {
        self.ncols == 0
    }

    /// The row's values in column order. The row was validated when it was read.
    pub fn values(&self) -> impl Iterator<Item = ValueRef<'a>> + 'a {
        let bytes = self.bytes;
        let mut pos = 0;
        (0..self.ncols).map(move |_| decode_value(bytes, &mut pos).expect("row validated"))
    }

    /// Decodes every value into `out` (cleared first), for indexed access.
    pub fn decode_into(&self, out: &mut Vec<ValueRef<'a>>) {
        out.clear();
        out.extend(self.values());
    }
}

/// Walks `ncols` values from `*pos`, validating them; returns the row.
fn read_row<'a>(buf: &'a [u8], pos: &mut usize, ncols: usize) -> Result<RowRef<'a>, DecodeError> {
    let start = *pos;
    for _ in 0..ncols {
        decode_value(buf, pos)?;
    }
    Ok(RowRef {
        bytes: &buf[start..*pos],
        ncols,
    })
}

/// Writes an input batch: the row count, then rows of values.
#[derive(Debug)]
pub struct BatchWriter<'b> {
    buf: &'b mut Vec<u8>,
    rows: u32,
}

impl<'b> BatchWriter<'b> {
    /// Clears `buf` and starts a batch in it.
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&0u32.to_le_bytes());
        BatchWriter { buf, rows: 0 }
    }

    /// Continues a batch [`BatchWriter::new`] started in `buf`, which holds `rows` rows: for
    /// a batch built across several calls (a Log Service shard adds logs as pulls arrive).
    pub fn resume(buf: &'b mut Vec<u8>, rows: u32) -> Self {
        debug_assert!(buf.len() >= 4, "a batch starts with its row count");
        BatchWriter { buf, rows }
    }

    /// Where the next row starts in the buffer.
    pub fn offset(&self) -> u32 {
        self.buf.len() as u32
    }

    /// The buffer to append the next row's values to; call [`BatchWriter::end_row`] after.
    pub fn buf(&mut self) -> &mut Vec<u8> {
        self.buf
    }

    /// Counts one more row (its values must already be in the buffer).
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    pub fn push_value(&mut self, v: ValueRef<'_>) {
        v.encode(self.buf);
    }

    pub fn push_text(&mut self, s: &str) {
        encode_text(self.buf, s);
    }

    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Byte length of the batch so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Writes the row count into the header.
    pub fn finish(self) -> u32 {
        self.buf[..4].copy_from_slice(&self.rows.to_le_bytes());
        self.rows
    }
}

/// Reads an input batch row by row.
#[derive(Debug, Clone)]
pub struct BatchReader<'a> {
    buf: &'a [u8],
    pos: usize,
    ncols: usize,
    remaining: u32,
}

impl<'a> BatchReader<'a> {
    pub fn new(buf: &'a [u8], ncols: usize) -> Result<Self, DecodeError> {
        let remaining = read_u32(buf, 0).ok_or(DecodeError {
            offset: 0,
            reason: "batch shorter than its row count",
        })?;
        Ok(BatchReader {
            buf,
            pos: 4,
            ncols,
            remaining,
        })
    }

    /// Number of rows the header announces.
    pub fn row_count(buf: &[u8]) -> Option<u32> {
        read_u32(buf, 0)
    }

    /// Byte offset of the next row: lets a writer of the batch remember where rows start.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for BatchReader<'a> {
    type Item = Result<RowRef<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return (self.pos != self.buf.len()).then_some(Err(DecodeError {
                offset: self.pos,
                reason: "bytes after the last row",
            }));
        }
        self.remaining -= 1;
        let row = read_row(self.buf, &mut self.pos, self.ncols);
        if row.is_err() {
            self.remaining = 0;
            self.pos = self.buf.len();
        }
        Some(row)
    }
}

/// Reads the row at byte offset `offset` of an input batch (offsets from [`BatchReader::position`]).
pub fn row_at(buf: &[u8], offset: usize, ncols: usize) -> Result<RowRef<'_>, DecodeError> {
    let mut pos = offset;
    read_row(buf, &mut pos, ncols)
}

/// Writes an output batch.
#[derive(Debug)]
pub struct OutputWriter<'b> {
    buf: &'b mut Vec<u8>,
}

impl<'b> OutputWriter<'b> {
    /// Clears `buf` and starts an output batch in it.
    pub fn new(buf: &'b mut Vec<u8>) -> Self {
        buf.clear();
        OutputWriter { buf }
    }

    /// Starts a row entry for input row `input`; append its values to the returned buffer.
    #[inline]
    pub fn row(&mut self, input: u32) -> &mut Vec<u8> {
        self.header(kind::ROW, input);
        self.buf
    }

    /// Starts a delete entry for input row `input`; append its values to the returned buffer.
    pub fn delete(&mut self, input: u32) -> &mut Vec<u8> {
        self.header(kind::DELETE, input);
        self.buf
    }

    /// Rejects input row `input` with `message`.
    pub fn error(&mut self, input: u32, message: &str) {
        self.header(kind::ERROR, input);
        self.buf
            .extend_from_slice(&(message.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(message.as_bytes());
    }

    /// Drops every entry written since byte `mark` (from [`OutputWriter::len`]).
    pub fn truncate(&mut self, mark: usize) {
        self.buf.truncate(mark);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends the entries of `out`, the output of a call on `rows` input rows of `ncols`
    /// output columns, each input index raised by `shift`: a call on rows `shift..` of a
    /// larger batch becomes part of that batch's output. Only the structure is walked
    /// (kinds, indexes, value lengths): the values are checked where the whole output is
    /// read ([`OutputReader`]). On error nothing of `out` is appended.
    pub fn append_shifted(
        &mut self,
        out: &[u8],
        ncols: usize,
        rows: u32,
        shift: u32,
    ) -> Result<(), DecodeError> {
        let mark = self.buf.len();
        let mut pos = 0;
        while pos < out.len() {
            match entry_span(out, pos, ncols, rows) {
                Ok((k, input, end)) => {
                    self.header(k, input + shift);
                    self.buf.extend_from_slice(&out[pos + 5..end]);
                    pos = end;
                }
                Err(e) => {
                    self.buf.truncate(mark);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn header(&mut self, kind: u8, input: u32) {
        self.buf.push(kind);
        self.buf.extend_from_slice(&input.to_le_bytes());
    }
}

/// One entry of an output batch.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    Row { input: u32, row: RowRef<'a> },
    Delete { input: u32, row: RowRef<'a> },
    Error { input: u32, message: &'a str },
}

impl Entry<'_> {
    /// The input row this entry belongs to.
    pub fn input(&self) -> u32 {
        match *self {
            Entry::Row { input, .. } | Entry::Delete { input, .. } | Entry::Error { input, .. } => {
                input
            }
        }
    }
}

/// Reads an output batch and checks the rules of `wit/ENCODING.md`.
#[derive(Debug, Clone)]
pub struct OutputReader<'a> {
    buf: &'a [u8],
    pos: usize,
    ncols: usize,
    input_rows: u32,
    /// Last input row seen and whether it was rejected, to enforce ordering and
    /// the "an error is alone" rule.
    last: Option<(u32, bool)>,
}

impl<'a> OutputReader<'a> {
    /// `ncols` is the output schema's width, `input_rows` the input batch's row count.
    pub fn new(buf: &'a [u8], ncols: usize, input_rows: u32) -> Self {
        OutputReader {
            buf,
            pos: 0,
            ncols,
            input_rows,
            last: None,
        }
    }

    fn read_entry(&mut self) -> Result<Entry<'a>, DecodeError> {
        let start = self.pos;
        let err = |reason| DecodeError {
            offset: start,
            reason,
        };
        let k = self.buf[start];
        let input = read_u32(self.buf, start + 1).ok_or(err("truncated entry header"))?;
        if input >= self.input_rows {
            return Err(err(
                "entry refers to an input row past the end of the batch",
            ));
        }
        let is_error = k == kind::ERROR;
        match self.last {
            Some((last, _)) if input < last => {
                return Err(err("entries out of input-row order"));
            }
            Some((last, was_error)) if input == last && (was_error || is_error) => {
                return Err(err(
                    "an error entry shares its input row with another entry",
                ));
            }
            _ => {}
        }
        self.last = Some((input, is_error));
        self.pos = start + 5;
        match k {
            kind::ROW | kind::DELETE => {
                let row = read_row(self.buf, &mut self.pos, self.ncols)?;
                Ok(if k == kind::ROW {
                    Entry::Row { input, row }
                } else {
                    Entry::Delete { input, row }
                })
            }
            kind::ERROR => {
                let (message, end) = read_str(self.buf, self.pos)
                    .map_err(|_| err("truncated or non-UTF-8 error message"))?;
                self.pos = end;
                Ok(Entry::Error { input, message })
            }
            _ => Err(err("unknown entry kind")),
        }
    }
}

impl<'a> Iterator for OutputReader<'a> {
    type Item = Result<Entry<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let entry = self.read_entry();
        if entry.is_err() {
            self.pos = self.buf.len();
        }
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_resumed_across_calls_is_the_batch_written_at_once() {
        let rows = [["a", "1"], ["b", "2"], ["c", "3"]];
        let mut at_once = Vec::new();
        let mut w = BatchWriter::new(&mut at_once);
        for row in rows {
            row.iter().for_each(|v| w.push_text(v));
            w.end_row();
        }
        w.finish();
        let mut resumed = Vec::new();
        BatchWriter::new(&mut resumed);
        let (mut count, mut offsets) = (0, Vec::new());
        for row in rows {
            let mut w = BatchWriter::resume(&mut resumed, count);
            offsets.push(w.offset());
            row.iter().for_each(|v| w.push_text(v));
            w.end_row();
            count = w.rows();
        }
        assert_eq!(BatchWriter::resume(&mut resumed, count).finish(), 3);
        assert_eq!(resumed, at_once);
        assert_eq!(offsets[0], 4, "the first row follows the row count");
    }

    #[test]
    fn entries_shift_into_a_larger_batch() {
        let mut part = Vec::new();
        let mut w = OutputWriter::new(&mut part);
        encode_text(w.row(0), "a");
        ValueRef::Int(1).encode(w.delete(1));
        w.error(2, "bad");
        let mut all = Vec::new();
        let mut w = OutputWriter::new(&mut all);
        w.error(0, "first");
        w.append_shifted(&part, 1, 3, 10).unwrap();
        let entries: Vec<(u32, String)> = OutputReader::new(&all, 1, 13)
            .map(|e| {
                let e = e.unwrap();
                let what = match e {
                    Entry::Row { row, .. } => format!("row {:?}", row.values().next()),
                    Entry::Delete { row, .. } => format!("delete {:?}", row.values().next()),
                    Entry::Error { message, .. } => format!("error {message}"),
                };
                (e.input(), what)
            })
            .collect();
        let want = [
            (0, "error first"),
            (10, "row Some(Text(\"a\"))"),
            (11, "delete Some(Int(1))"),
            (12, "error bad"),
        ];
        assert_eq!(entries, want.map(|(i, s)| (i, s.to_owned())));
        // An index past the call's rows, or a cut value: an error, and nothing appended.
        let mut w = OutputWriter::new(&mut all);
        assert!(w.append_shifted(&part, 1, 2, 10).is_err());
        assert!(w.append_shifted(&part[..part.len() - 1], 1, 3, 10).is_err());
        assert!(w.append_shifted(&part[..7], 1, 3, 10).is_err());
        assert!(w.is_empty());
    }

    /// The exact bytes of the example in `wit/ENCODING.md`.
    #[test]
    fn spec_example_bytes() {
        let mut buf = Vec::new();
        let mut w = BatchWriter::new(&mut buf);
        w.push_text("3");
        w.push_value(ValueRef::Int(7));
        w.end_row();
        w.push_value(ValueRef::Null);
        w.push_value(ValueRef::Int(-1));
        w.end_row();
        assert_eq!(w.finish(), 2);
        let expected: Vec<u8> = [
            &[2, 0, 0, 0][..],
            &[5, 1, 0, 0, 0, b'3'],
            &[3, 7, 0, 0, 0, 0, 0, 0, 0],
            &[0],
            &[3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ]
        .concat();
        assert_eq!(buf, expected);

        let mut out = Vec::new();
        let mut o = OutputWriter::new(&mut out);
        let b = o.row(0);
        encode_text(b, "3");
        encode_text(b, "海辺のカフカ");
        o.error(1, "no book for null");
        let mut expected = vec![0, 0, 0, 0, 0, 5, 1, 0, 0, 0, b'3', 5, 0x12, 0, 0, 0];
        expected.extend_from_slice("海辺のカフカ".as_bytes());
        expected.extend_from_slice(&[1, 1, 0, 0, 0, 0x10, 0, 0, 0]);
        expected.extend_from_slice(b"no book for null");
        assert_eq!(out, expected);
    }

    #[test]
    fn round_trip_all_values() {
        let values = [
            ValueRef::Null,
            ValueRef::Bool(true),
            ValueRef::Bool(false),
            ValueRef::Int(i64::MIN),
            ValueRef::Float(-0.5),
            ValueRef::Text(""),
            ValueRef::Text("嫌われる勇気, \"quoted\"\n"),
        ];
        let mut buf = Vec::new();
        let mut w = BatchWriter::new(&mut buf);
        for v in values {
            w.push_value(v);
        }
        w.end_row();
        w.finish();
        let rows: Vec<_> = BatchReader::new(&buf, values.len())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values().collect::<Vec<_>>(), values);
    }

    #[test]
    fn output_rules_are_enforced() {
        let mut buf = Vec::new();
        let mut o = OutputWriter::new(&mut buf);
        o.row(1).push(tag::NULL);
        o.row(0).push(tag::NULL);
        let err = OutputReader::new(&buf, 1, 2)
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert_eq!(err.reason, "entries out of input-row order");

        let mut o = OutputWriter::new(&mut buf);
        o.row(0).push(tag::NULL);
        o.error(0, "bad");
        assert!(
            OutputReader::new(&buf, 1, 1)
                .collect::<Result<Vec<_>, _>>()
                .is_err()
        );

        let mut o = OutputWriter::new(&mut buf);
        o.row(5).push(tag::NULL);
        assert!(OutputReader::new(&buf, 1, 2).next().unwrap().is_err());
    }

    #[test]
    fn several_rows_per_input_and_filtering() {
        let mut buf = Vec::new();
        let mut o = OutputWriter::new(&mut buf);
        ValueRef::Int(1).encode(o.row(0));
        ValueRef::Int(2).encode(o.row(0));
        o.error(2, "nope");
        let entries: Vec<_> = OutputReader::new(&buf, 1, 3)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(entries.len(), 3);
        assert!(matches!(
            entries[2],
            Entry::Error {
                input: 2,
                message: "nope"
            }
        ));
    }

    #[test]
    fn corrupt_input_is_reported_with_offset() {
        let buf = [1, 0, 0, 0, 9];
        let err = BatchReader::new(&buf, 1)
            .unwrap()
            .next()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.offset, 4);
        assert_eq!(err.reason, "unknown value tag");
        let buf = [1, 0, 0, 0, 5, 2, 0, 0, 0, 0xff, 0xfe];
        assert!(BatchReader::new(&buf, 1).unwrap().next().unwrap().is_err());
        let buf = [0, 0, 0, 0, 0];
        let mut r = BatchReader::new(&buf, 1).unwrap();
        assert!(r.next().unwrap().is_err());
    }
}
