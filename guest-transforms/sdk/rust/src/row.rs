//! The input row a transform's `process` sees: decoded values plus the raw bytes, so
//! unchanged values can be copied to the output without re-encoding.

use holo_batch::ValueRef;

/// One input row. Values borrow from the batch; nothing is allocated per row.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    index: u32,
    batch: &'a [u8],
    values: &'a [ValueRef<'a>],
    /// Byte offset of each value in `batch`, plus the end of the row.
    offsets: &'a [usize],
}

impl<'a> Row<'a> {
    /// `offsets` has one more entry than `values`: the row's end.
    pub(crate) fn new(
        index: u32,
        batch: &'a [u8],
        values: &'a [ValueRef<'a>],
        offsets: &'a [usize],
    ) -> Self {
        debug_assert_eq!(offsets.len(), values.len() + 1);
        Row {
            index,
            batch,
            values,
            offsets,
        }
    }

    /// The row's number in its input batch, from 0.
    #[inline]
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Number of values (the input schema's width).
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of column `i`.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Row::len`]: resolve column indexes in `output_schema`.
    #[inline]
    pub fn get(&self, i: usize) -> ValueRef<'a> {
        self.values[i]
    }

    /// The value of column `i`, or `None` past the end.
    #[inline]
    pub fn try_get(&self, i: usize) -> Option<ValueRef<'a>> {
        self.values.get(i).copied()
    }

    /// Every value, in column order.
    #[inline]
    pub fn values(&self) -> &'a [ValueRef<'a>] {
        self.values
    }

    /// The encoded row, for [`Emit::copy_row`](crate::Emit::copy_row).
    #[inline]
    pub fn raw(&self) -> &'a [u8] {
        &self.batch[self.offsets[0]..self.offsets[self.values.len()]]
    }

    /// The encoded value of column `i`, for [`Emit::copy_value`](crate::Emit::copy_value).
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Row::len`].
    #[inline]
    pub fn raw_value(&self, i: usize) -> &'a [u8] {
        &self.batch[self.offsets[i]..self.offsets[i + 1]]
    }
}
