//! Alibaba Cloud Log Service (SLS): a client for the read path and consumer groups, and the
//! source built on it.
//!
//! The client:
//! - [`client`]: the read-path calls (ListShards, GetCursor, PullLogs), retried;
//!   [`consumer_group`]: the consumer group calls;
//! - [`request`]: where a request goes and its headers; [`sign`]: signatures v1 and v4, and
//!   [`Credentials`]; [`credentials`]: where the access key comes from (environment,
//!   profiles, ECS RAM role, OIDC role), refreshed before it expires;
//! - [`pull`]: a PullLogs answer decompressed and decoded; [`proto`]: the protobuf messages
//!   (crate `sls-proto`) as [`LogGroup`] / [`Log`]; [`error`]: [`SlsError`], naming project,
//!   logstore and shard.
//!
//! The source:
//! - [`config`]: the `sls://` spec; [`start`]: the source started for the pipeline;
//! - [`source`]: the coordinator (which shards are ours, checkpoints, positions);
//!   [`heartbeat`]: the consumer group heartbeat, on its own task;
//! - [`shard`]: one shard's reader; [`layout`]: which column holds what;
//! - [`transient`]: failures a stream retries without end, logged once a minute.

pub mod client;
pub mod config;
pub mod consumer_group;
pub mod credentials;
pub mod error;
pub mod heartbeat;
pub mod layout;
pub mod proto;
pub mod pull;
pub mod request;
pub mod shard;
pub mod sign;
pub mod source;
pub mod start;
pub mod transient;

pub use self::client::{
    Checkpoint, ConsumerGroup, CursorFrom, MAX_PULL_COUNT, PullLogs, RetryPolicy, Shard, SlsClient,
};
pub use self::config::{SlsSourceConfig, StartFrom};
pub use self::credentials::{CredentialsError, CredentialsProvider};
pub use self::error::{SlsError, SlsSourceError, Target};
pub use self::proto::{Log, LogGroup};
pub use self::sign::{Credentials, Signature};
pub use self::source::SlsSource;
pub use self::start::start;
