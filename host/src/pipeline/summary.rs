//! The run summary: what was read, written and dead-lettered, how the transform fared, and
//! how the run ended, as one line for people.

use crate::transform::stage::StageStats;

/// What a run did (`--summary-json` writes it as JSON, with these names).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub read: u64,
    pub written: u64,
    pub dead_lettered: u64,
    pub batches: u64,
    pub seconds: f64,
    /// The run stopped on request before the input was exhausted.
    pub interrupted: bool,
    /// The saved position was already at the end: nothing was left to load.
    pub already_complete: bool,
    /// The sink keeps positions, so an interrupted run can be resumed.
    pub resumable: bool,
    /// The transform's name, hash and limits; `None` without one.
    pub transform: Option<String>,
    /// Transform calls that trapped.
    pub traps: u64,
    /// Records isolated as the cause of a trap or a failed batch.
    pub isolated: u64,
    /// New transform versions that took over.
    pub reloads: u64,
    /// Canaries rolled back.
    pub rollbacks: u64,
    /// The source was a stream: stopping on request is how it ends.
    pub streaming: bool,
}

impl Summary {
    /// Takes the transform stage's counts.
    pub fn add_stats(&mut self, stats: &StageStats) {
        self.traps = stats.traps;
        self.isolated = stats.isolated;
        self.reloads = stats.reloads;
        self.rollbacks = stats.rollbacks;
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = if self.seconds > 0.0 {
            self.read as f64 / self.seconds
        } else {
            0.0
        };
        write!(
            f,
            "read {} rows, wrote {}, dead-lettered {} in {:.2} s ({:.0} rows/s)",
            self.read, self.written, self.dead_lettered, self.seconds, rate
        )?;
        if let Some(t) = &self.transform {
            write!(f, "; transform {t}")?;
            if self.traps > 0 {
                write!(
                    f,
                    ", {} traps, {} records isolated",
                    self.traps, self.isolated
                )?;
            } else if self.isolated > 0 {
                write!(f, ", {} records isolated", self.isolated)?;
            }
            if self.reloads > 0 || self.rollbacks > 0 {
                write!(
                    f,
                    ", {} reloads, {} rolled back",
                    self.reloads, self.rollbacks
                )?;
            }
        }
        if self.already_complete {
            f.write_str("; the saved position was already at the end of the input")?;
        }
        if self.interrupted && self.streaming {
            // A stream ends this way; its positions are committed.
            f.write_str("; stopped on request")?;
        } else if self.interrupted {
            f.write_str(if self.resumable {
                "; interrupted: run the same command again to resume"
            } else {
                "; interrupted"
            })?;
        }
        Ok(())
    }
}
