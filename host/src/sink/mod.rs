//! Sinks: where transformed records leave the pipeline.

pub mod postgres;
