//! Sources: where records enter the pipeline.

pub mod csv;
