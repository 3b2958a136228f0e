//! Sources: where records enter the pipeline.
//!
//! - [`csv`]: files and stdin;
//! - [`sls`]: Alibaba Cloud Log Service logstores (client, and the source built on it).

pub mod csv;
pub mod sls;

use std::sync::Arc;

use crate::record::Position;

/// A committed batch, told back to its source: the stream and the position its rows reach.
/// A Log Service source writes its consumer-group checkpoints from these.
#[derive(Debug, Clone)]
pub struct Ack {
    pub stream: Arc<str>,
    pub position: Position,
}
