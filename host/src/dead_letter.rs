//! The dead-letter output: every record a stage rejects, with the reason, as JSON lines.
//!
//! Rejected records never stop a run; they are kept here so nothing is lost.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::record::DeadLetter;

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("cannot open dead-letter file `{}`", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write dead-letter file `{}`", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where rejected records go: a JSON-lines file, or only the log when none was given.
#[derive(Debug)]
pub struct DeadLetters {
    out: Option<(PathBuf, BufWriter<File>)>,
    count: u64,
}

impl DeadLetters {
    /// Appends to `path` (created if missing) so a resumed run keeps earlier entries.
    pub fn open(path: Option<&Path>) -> Result<Self, DeadLetterError> {
        let out = match path {
            Some(p) => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| DeadLetterError::Open {
                        path: p.to_owned(),
                        source,
                    })?;
                Some((p.to_owned(), BufWriter::new(f)))
            }
            None => None,
        };
        Ok(DeadLetters { out, count: 0 })
    }

    pub fn push(&mut self, letter: &DeadLetter) -> Result<(), DeadLetterError> {
        self.count += 1;
        match &mut self.out {
            Some((path, w)) => {
                let mut line = serde_json::to_vec(letter).expect("dead letter serialises");
                line.push(b'\n');
                w.write_all(&line).map_err(|source| DeadLetterError::Write {
                    path: path.clone(),
                    source,
                })
            }
            None => {
                tracing::warn!(
                    origin = %letter.origin,
                    stage = ?letter.stage,
                    reason = %letter.reason,
                    "record rejected (no --dead-letter file given)"
                );
                Ok(())
            }
        }
    }

    /// Makes the entries so far durable: called before the batch they belong to commits.
    pub fn flush(&mut self) -> Result<(), DeadLetterError> {
        if let Some((path, w)) = &mut self.out {
            w.flush()
                .and_then(|_| w.get_ref().sync_data())
                .map_err(|source| DeadLetterError::Write {
                    path: path.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Records rejected so far in this run.
    pub fn count(&self) -> u64 {
        self.count
    }
}
