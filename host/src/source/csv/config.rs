//! Settings of the CSV source: which inputs, and how large a batch may grow.

/// What the CSV source reads and how it cuts the input into batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvSourceConfig {
    /// Files, globs (`data/*.csv`, expanded and sorted) or `-` for stdin (only alone),
    /// read in the order given.
    pub inputs: Vec<String>,
    /// Most records in one batch.
    pub batch_rows: usize,
    /// A batch ends once its encoded rows reach this many bytes.
    pub batch_bytes: usize,
}

impl CsvSourceConfig {
    /// Large enough to amortise a transform call and a commit, small enough to keep
    /// the rows redone after a crash few.
    pub fn default_batch_rows() -> usize {
        4096
    }

    /// 4 MiB: bounds memory when rows are wide.
    pub fn default_batch_bytes() -> usize {
        4 << 20
    }
}
