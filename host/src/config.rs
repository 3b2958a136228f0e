//! What a run is made of, validated: the source, the transform, the lookups and the sink,
//! and how the pipeline runs them. The command line builds a [`PipelineConfig`]
//! (`cli`); each component keeps its own settings beside it (`source::csv::config`,
//! `sink/postgres/config.rs`, …) and this module gathers them.

use std::path::PathBuf;

use crate::lookup::LookupSpec;
use crate::transform::TransformConfig;

pub use crate::position::Start;
pub use crate::sink::SinkConfig;
pub use crate::source::SourceConfig;

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub source: SourceConfig,
    /// `None`: rows pass through unchanged.
    pub transform: Option<TransformConfig>,
    pub lookups: Vec<LookupSpec>,
    pub sink: SinkConfig,
    /// JSON-lines file for rejected records; `None` logs them only.
    pub dead_letter: Option<PathBuf>,
    /// How the saved position is used.
    pub start: Start,
    /// Draw a progress bar on a terminal.
    pub progress: bool,
    /// How a new version of the transform is taken up.
    pub reload: Reload,
    /// Stop when the transform fails too many records.
    pub max_error_rate: Option<ErrorRate>,
    /// Serve `/metrics`, `/healthz` and `/readyz` here (`--metrics-addr`).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Whether the transform is reloaded while the run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reload {
    /// The version loaded at start runs to the end.
    #[default]
    Never,
    /// Reload when the file changes, and on SIGHUP (`--watch`); a new version first runs
    /// beside the current one on `canary_batches` batches (0: it takes over at once).
    Watch { canary_batches: u32 },
}

/// The share of records a transform may fail, over a window of recent records, before the
/// run stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRate {
    /// Fraction of records, in `(0, 1]`.
    pub limit: f64,
    /// Records the fraction is measured over.
    pub window: u64,
}

impl ErrorRate {
    pub fn default_window() -> u64 {
        1000
    }
}
