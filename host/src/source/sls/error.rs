//! Why a Log Service source stopped: a failed call of the client, or what the source made
//! of the logstore and the saved positions.

use sls_client::SlsError;

use crate::position::PositionError;

/// Why a Log Service source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SlsSourceError {
    #[error(transparent)]
    Client(#[from] SlsError),
    #[error(
        "logstore `{project}/{logstore}` has no logs to learn its columns from: give them \
         with columns=a,b,c in the source"
    )]
    NoColumns { project: String, logstore: String },
    #[error("the saved position of `{stream}` is not valid: {position}")]
    BadPosition { stream: String, position: String },
    #[error(transparent)]
    Position(#[from] PositionError),
    #[error(
        "shard `{stream}`: the log service refused its cursor `{cursor}` (InvalidCursor: was \
         the logstore deleted and created again?); to read that shard again from its oldest \
         or newest data, add on_invalid_cursor=begin or on_invalid_cursor=end to the source"
    )]
    InvalidCursor {
        stream: String,
        cursor: String,
        source: Box<SlsError>,
    },
    #[error(
        "cannot reach the log service for `{source_name}` within {waited_secs} s: {source} \
         (is the endpoint right? a longer wait: open_timeout=SECONDS in the source)"
    )]
    Unreachable {
        source_name: String,
        waited_secs: u64,
        source: Box<SlsError>,
    },
}

impl SlsSourceError {
    /// A passing failure of the service: the stream tries again later.
    pub fn is_transient(&self) -> bool {
        matches!(self, SlsSourceError::Client(e) if e.is_retriable())
    }
}
