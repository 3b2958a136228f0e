//! Alibaba Cloud Log Service (SLS) as a source, built on the `sls-client` crate (the calls,
//! signatures, credentials and errors of the service).
//!
//! - `config`: the `sls://` spec, and the client it reads with; `start`: the source started
//!   for the pipeline;
//! - `coordinator`: which shards are ours; `resume`: where each starts (positions, the
//!   job's first start); `heartbeat`: the consumer group heartbeat and the fence, on its own
//!   task; `checkpoints`: the group's checkpoints, on their own task;
//! - `shard`: one shard's reader; `layout`: which column holds what;
//! - `transient`: failures a stream retries without end, logged once a minute;
//! - `error`: [`SlsSourceError`], why the source stopped.

mod checkpoints;
mod config;
mod coordinator;
mod error;
mod heartbeat;
mod layout;
mod resume;
mod shard;
mod start;
mod transient;

pub use self::config::{ClientForSource, OnInvalidCursor, SlsSourceConfig, StartFrom};
pub use self::error::SlsSourceError;
pub use self::start::start;
