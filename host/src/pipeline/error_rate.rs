//! `--max-error-rate`: transform failures over a window of recent records, checked before
//! each batch is written.

use std::collections::VecDeque;

use super::PipelineError;
use crate::config::ErrorRate;
use crate::record::Batch;
use crate::transform::stage::Version;

/// Transform failures over the most recent records, against `--max-error-rate`.
pub struct ErrorWindow {
    rate: ErrorRate,
    /// (records, failures) of recent batches, oldest first.
    batches: VecDeque<(u64, u64)>,
    records: u64,
    errors: u64,
}

impl ErrorWindow {
    pub fn new(rate: ErrorRate) -> Self {
        ErrorWindow {
            rate,
            batches: Default::default(),
            records: 0,
            errors: 0,
        }
    }

    /// Counts the batch's `errors` (transform failures); errs, before the batch is written,
    /// once the window is full and over the limit.
    pub fn check(&mut self, batch: &Batch, v: &Version, errors: u64) -> Result<(), PipelineError> {
        let records = batch.rows() as u64;
        self.batches.push_back((records, errors));
        self.records += records;
        self.errors += errors;
        // Keep the smallest run of recent batches that still covers the window.
        while let Some(&(r, e)) = self.batches.front() {
            if self.records - r < self.rate.window {
                break;
            }
            self.batches.pop_front();
            self.records -= r;
            self.errors -= e;
        }
        if self.records >= self.rate.window
            && self.errors as f64 > self.rate.limit * self.records as f64
        {
            return Err(PipelineError::ErrorRate {
                name: v.name().to_owned(),
                hash: v.hash.as_deref().unwrap_or("-").to_owned(),
                errors: self.errors,
                records: self.records,
                limit: self.rate.limit,
                origin: batch
                    .origins
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            });
        }
        Ok(())
    }
}
