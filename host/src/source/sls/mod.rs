//! Alibaba Cloud Log Service (SLS): a client for the read path and consumer groups.
//!
//! - [`client`]: the HTTP calls (ListShards, GetCursor, PullLogs, consumer groups), retried;
//! - [`sign`]: request signing (v1) and [`Credentials`];
//! - [`proto`]: the protobuf messages (crate `sls-proto`) decoded to [`LogGroup`] / [`Log`];
//! - [`error`]: [`SlsError`], naming project, logstore and shard;
//! - [`config`] and [`source`]: the source built on the client: shards pulled
//!   concurrently, consumer groups, positions committed with the rows;
//! - [`shard`]: one shard's reader; [`start`]: the source started for the pipeline.

pub mod client;
pub mod config;
pub mod error;
pub mod proto;
pub mod pull;
pub mod shard;
pub mod sign;
pub mod source;
pub mod start;

pub use self::client::{
    Checkpoint, CursorFrom, MAX_PULL_COUNT, PullLogs, RetryPolicy, Shard, SlsClient,
};
pub use self::config::{SlsSourceConfig, StartFrom};
pub use self::error::{SlsError, Target};
pub use self::proto::{Log, LogGroup};
pub use self::sign::Credentials;
pub use self::source::{SlsSource, SlsSourceError};
pub use self::start::start;
