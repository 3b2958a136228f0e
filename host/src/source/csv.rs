//! CSV files (or stdin) as a source.
