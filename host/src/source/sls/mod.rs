//! Alibaba Cloud Log Service (SLS): a client for the read path and consumer groups.
//!
//! - [`client`]: the HTTP calls (ListShards, GetCursor, PullLogs, consumer groups), retried;
//! - [`sign`]: request signing (v1) and [`Credentials`];
//! - [`proto`]: the protobuf messages and the [`LogGroup`] / [`Log`] they decode to;
//! - [`error`]: [`SlsError`], naming project, logstore and shard;
//! - [`config`] and [`source`]: the source built on the client: shards pulled
//!   concurrently, consumer groups, positions committed with the rows.

pub mod client;
pub mod config;
pub mod error;
pub mod proto;
pub mod sign;
pub mod source;

pub use self::client::{
    Checkpoint, CursorFrom, MAX_PULL_COUNT, PullLogs, RetryPolicy, Shard, SlsClient,
};
pub use self::config::{SlsSourceConfig, StartFrom};
pub use self::error::{SlsError, Target};
pub use self::proto::{Log, LogGroup};
pub use self::sign::Credentials;
pub use self::source::{SlsSource, SlsSourceError};
