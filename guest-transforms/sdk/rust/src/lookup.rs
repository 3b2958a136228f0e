//! Dimension-table lookups through the host, cached for the length of one batch.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;

use crate::{Column, Error, Value};

/// Source of batch ids: unique across runners and threads, so a cache never mistakes
/// one batch for another.
static NEXT_BATCH: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The batch being processed on this thread (0 outside `process`).
    static CURRENT_BATCH: Cell<u64> = const { Cell::new(0) };
}

/// Marks the start of a batch: every [`Lookup`] cache is stale from now on.
pub(crate) fn begin_batch() {
    let id = NEXT_BATCH.fetch_add(1, Ordering::Relaxed);
    CURRENT_BATCH.with(|c| c.set(id));
}

fn current_batch() -> u64 {
    CURRENT_BATCH.with(Cell::get)
}

/// A dimension table the host serves (`--lookup NAME=...`), opened once (in
/// [`Transform::new`](crate::Transform::new) or `output_schema`) and queried per record.
///
/// Answers are cached until the next batch starts, so a batch that refers to 9 distinct
/// keys makes 9 host calls however many rows it has, and a cache hit allocates nothing.
#[derive(Debug)]
pub struct Lookup {
    table: String,
    columns: Vec<Column>,
    /// Keyed by the text of the key; `None` caches a miss. Keys are trusted batch data
    /// and the map is emptied every batch, so a fast non-keyed hash is enough.
    cache: FxHashMap<String, Option<Box<[Value]>>>,
    batch: u64,
}

impl Lookup {
    /// Opens table `table`; the host's error (no such table) is returned as is.
    pub fn open(table: &str) -> Result<Self, Error> {
        let columns = crate::sys::host_lookup_columns(table)?;
        Ok(Lookup {
            table: table.to_owned(),
            columns,
            cache: FxHashMap::default(),
            batch: 0,
        })
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table's columns, in the order of the values [`Lookup::get`] returns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The row whose key column equals `key`, values in [`Lookup::columns`] order;
    /// `None` if there is none.
    pub fn get(&mut self, key: &str) -> Result<Option<&[Value]>, Error> {
        let batch = current_batch();
        if self.batch != batch {
            self.cache.clear();
            self.batch = batch;
        }
        // Two probes on a hit: returning the first probe's borrow early does not pass
        // the borrow checker, and an Fx hash of a short key costs a few nanoseconds.
        if !self.cache.contains_key(key) {
            let row = crate::sys::host_lookup(&self.table, key)?;
            if let Some(values) = &row
                && values.len() != self.columns.len()
            {
                return Err(Error::msg(format!(
                    "lookup `{}` answered key `{key}` with {} values but has {} columns",
                    self.table,
                    values.len(),
                    self.columns.len()
                )));
            }
            self.cache
                .insert(key.to_owned(), row.map(Vec::into_boxed_slice));
        }
        Ok(self.cache.get(key).and_then(|row| row.as_deref()))
    }
}
