//! The one code path between encoded batches and a [`Transform`]: decode each input row,
//! call `process`, encode the output. The component export and `native::Runner` both
//! drive it, so a native benchmark measures the same code the component runs.

use std::mem;

use holo_batch::{BatchReader, DecodeError, OutputWriter, ValueRef, decode_value};

use crate::{Column, Config, Emit, Row, Transform, lookup};

/// A configured transform plus the buffers reused across batches.
#[derive(Debug)]
pub struct Runtime<T> {
    transform: T,
    /// Input and output widths, known once `output_schema` has succeeded.
    widths: Option<(usize, usize)>,
    /// Decoded values of the current row; empty between batches (see [`recycle`]).
    values: Vec<ValueRef<'static>>,
    offsets: Vec<usize>,
    /// The output row being built.
    row: Vec<u8>,
    /// Length of the last output batch, to size the next one in one allocation.
    output_hint: usize,
}

impl<T: Transform> Runtime<T> {
    /// Builds the transform from its settings.
    pub fn configure(settings: Vec<(String, String)>) -> Result<Self, String> {
        let transform = T::new(&Config::new(settings))?;
        Ok(Runtime {
            transform,
            widths: None,
            values: Vec::new(),
            offsets: Vec::new(),
            row: Vec::new(),
            output_hint: 0,
        })
    }

    /// Asks the transform for its output columns given the input columns.
    pub fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, String> {
        let output = self.transform.output_schema(input)?;
        self.widths = Some((input.len(), output.len()));
        Ok(output)
    }

    /// The output schema's width, once known.
    pub fn output_width(&self) -> Option<usize> {
        self.widths.map(|(_, w)| w)
    }

    /// A good capacity for the next output buffer.
    pub fn output_hint(&self) -> usize {
        self.output_hint
    }

    pub fn transform(&self) -> &T {
        &self.transform
    }

    pub fn transform_mut(&mut self) -> &mut T {
        &mut self.transform
    }

    /// Processes one encoded input batch into `out` (cleared first). An `Err` is a batch
    /// that cannot be decoded or a call out of order; a record the transform rejects is an
    /// error entry in `out`.
    pub fn process(&mut self, batch: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
        let (input_width, output_width) = self
            .widths
            .ok_or("`process` was called before `output-schema` succeeded")?;
        lookup::begin_batch();
        let mut values = recycle(mem::take(&mut self.values));
        let result = process_batch(
            &mut self.transform,
            batch,
            input_width,
            output_width,
            &mut values,
            &mut self.offsets,
            &mut self.row,
            out,
        );
        self.values = recycle(values);
        self.output_hint = out.len();
        result.map_err(|e| e.to_string())
    }
}

#[allow(clippy::too_many_arguments)] // the reused buffers, borrowed separately from `Runtime`
#[inline]
fn process_batch<'b, T: Transform>(
    transform: &mut T,
    batch: &'b [u8],
    input_width: usize,
    output_width: usize,
    values: &mut Vec<ValueRef<'b>>,
    offsets: &mut Vec<usize>,
    row: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let rows = BatchReader::row_count(batch).ok_or(DecodeError {
        offset: 0,
        reason: "batch shorter than its row count",
    })?;
    let mut emit = Emit::new(OutputWriter::new(out), row, output_width);
    let mut pos = 4;
    for index in 0..rows {
        values.clear();
        offsets.clear();
        for _ in 0..input_width {
            offsets.push(pos);
            values.push(decode_value(batch, &mut pos)?);
        }
        offsets.push(pos);
        let row = Row::new(index, batch, values, offsets);
        emit.begin(index);
        let result = transform.process(&row, &mut emit);
        emit.end(result);
    }
    if pos != batch.len() {
        return Err(DecodeError {
            offset: pos,
            reason: "bytes after the last row",
        });
    }
    Ok(())
}

/// Empties `v` and gives its allocation a new lifetime, so decoded values can borrow each
/// batch in turn without a fresh vector per batch. The in-place `collect` of an empty
/// vector into an element type of the same layout keeps the allocation.
fn recycle<'from, 'to>(mut v: Vec<ValueRef<'from>>) -> Vec<ValueRef<'to>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("vector is empty"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_keeps_the_allocation() {
        let s = String::from("x");
        let mut v: Vec<ValueRef<'_>> = Vec::with_capacity(16);
        v.push(ValueRef::Text(&s));
        let ptr = v.as_ptr() as usize;
        let w: Vec<ValueRef<'static>> = recycle(v);
        assert!(w.is_empty());
        assert_eq!(w.capacity(), 16);
        assert_eq!(w.as_ptr() as usize, ptr);
    }
}
