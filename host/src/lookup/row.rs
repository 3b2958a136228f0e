//! What every lookup table holds: rows of text values, answered whole or by key.

use std::sync::Arc;

/// One row of a lookup table, values in column order (`None`: NULL).
pub type Row = Arc<[Option<String>]>;

/// How a table answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupMode {
    /// Every row is in memory (a CSV file, or a small database table).
    Whole,
    /// Rows are fetched from the database by key and cached.
    ByKey,
}
