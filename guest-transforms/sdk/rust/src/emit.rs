//! Where a transform writes its output rows for the current input row; checks each row's
//! width and turns a failed record into one error entry.

use holo_batch::{OutputWriter, ValueRef, encode_text};

use crate::{Error, Row};

/// Collects the output rows of one input row.
///
/// Start each output row with [`Emit::row`], then push exactly one value per output
/// column. Every method returns `&mut Self` so calls chain:
/// `out.row().copy_row(row).text(name);`. A row of the wrong width, or a value pushed
/// before `row()`, rejects the input record with a message naming the problem.
///
/// [`Emit::delete`] starts a delete instead: the sink removes the row of the target table
/// whose primary key the values hold (only the key columns matter; push null for the
/// others). A row and a delete of one key in the same batch apply in order.
#[derive(Debug)]
pub struct Emit<'a> {
    writer: OutputWriter<'a>,
    /// The open row's values; copied to `writer` once its width is checked.
    row: &'a mut Vec<u8>,
    width: usize,
    input: u32,
    /// Output length when the current input row started, to drop its rows on error.
    mark: usize,
    count: usize,
    open: bool,
    /// The open entry is a delete rather than a row.
    delete: bool,
    fault: Option<Fault>,
}

/// A misuse of [`Emit`] found while the transform wrote a record.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Width { emitted: usize },
    NoRow,
}

impl<'a> Emit<'a> {
    /// `width` is the output schema's width; `row` a reusable scratch buffer.
    pub(crate) fn new(writer: OutputWriter<'a>, row: &'a mut Vec<u8>, width: usize) -> Self {
        Emit {
            writer,
            row,
            width,
            input: 0,
            mark: 0,
            count: 0,
            open: false,
            delete: false,
            fault: None,
        }
    }

    /// Starts collecting the output of input row `input`.
    #[inline]
    pub(crate) fn begin(&mut self, input: u32) {
        self.input = input;
        self.mark = self.writer.len();
        self.open = false;
        self.fault = None;
    }

    /// Ends input row `input`: keeps its rows, or replaces them with one error entry if
    /// the transform failed or misused `Emit`.
    #[inline]
    pub(crate) fn end(&mut self, result: Result<(), Error>) {
        let result = result.and_then(|()| {
            self.close();
            match self.fault.take() {
                None => Ok(()),
                Some(Fault::Width { emitted }) => Err(Error::msg(format!(
                    "the transform emitted a row of {emitted} values but its output schema has {} columns",
                    self.width
                ))),
                Some(Fault::NoRow) => Err(Error::msg(
                    "the transform emitted a value before starting a row with `Emit::row` \
                     (or `Emit::delete`)",
                )),
            }
        });
        self.open = false;
        if let Err(e) = result {
            self.writer.truncate(self.mark);
            self.writer.error(self.input, e.message());
        }
    }

    /// Writes the open row out if its width is right.
    #[inline]
    fn close(&mut self) {
        if !self.open {
            return;
        }
        self.open = false;
        if self.count == self.width {
            let buf = if self.delete {
                self.writer.delete(self.input)
            } else {
                self.writer.row(self.input)
            };
            buf.extend_from_slice(self.row);
        } else if self.fault.is_none() {
            self.fault = Some(Fault::Width {
                emitted: self.count,
            });
        }
    }

    /// The open row's buffer, counting `n` more values; `None` (and a fault) if no row is open.
    #[inline]
    fn slot(&mut self, n: usize) -> Option<&mut Vec<u8>> {
        if self.open {
            self.count += n;
            Some(self.row)
        } else {
            self.fault.get_or_insert(Fault::NoRow);
            None
        }
    }

    /// Starts a new output row (the previous one, if any, is complete).
    #[inline]
    pub fn row(&mut self) -> &mut Self {
        self.start(false)
    }

    /// Starts a delete: push one value per output column as for a row; the sink deletes
    /// the table row whose primary key these values hold. Values of non-key columns are
    /// ignored (push null). The table needs a primary key, and the output its columns.
    #[inline]
    pub fn delete(&mut self) -> &mut Self {
        self.start(true)
    }

    #[inline]
    fn start(&mut self, delete: bool) -> &mut Self {
        self.close();
        self.row.clear();
        self.count = 0;
        self.open = true;
        self.delete = delete;
        self
    }

    /// Pushes a value: a [`ValueRef`] or a `&Value` from a lookup.
    #[inline]
    pub fn value<'v>(&mut self, v: impl Into<ValueRef<'v>>) -> &mut Self {
        if let Some(buf) = self.slot(1) {
            v.into().encode(buf);
        }
        self
    }

    #[inline]
    pub fn text(&mut self, s: &str) -> &mut Self {
        if let Some(buf) = self.slot(1) {
            encode_text(buf, s);
        }
        self
    }

    #[inline]
    pub fn int(&mut self, i: i64) -> &mut Self {
        self.value(ValueRef::Int(i))
    }

    #[inline]
    pub fn float(&mut self, f: f64) -> &mut Self {
        self.value(ValueRef::Float(f))
    }

    #[inline]
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.value(ValueRef::Bool(b))
    }

    #[inline]
    pub fn null(&mut self) -> &mut Self {
        self.value(ValueRef::Null)
    }

    /// Pushes every value of `row` unchanged, copying its encoded bytes.
    #[inline]
    pub fn copy_row(&mut self, row: &Row<'_>) -> &mut Self {
        if let Some(buf) = self.slot(row.len()) {
            buf.extend_from_slice(row.raw());
        }
        self
    }

    /// Pushes value `i` of `row` unchanged, copying its encoded bytes.
    ///
    /// # Panics
    ///
    /// If `i` is not below `row.len()`.
    #[inline]
    pub fn copy_value(&mut self, row: &Row<'_>, i: usize) -> &mut Self {
        let raw = row.raw_value(i);
        if let Some(buf) = self.slot(1) {
            buf.extend_from_slice(raw);
        }
        self
    }
}
