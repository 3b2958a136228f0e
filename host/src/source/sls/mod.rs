//! Alibaba Cloud Log Service (SLS): a client for the read path and consumer groups.
//!
//! - [`client`]: the HTTP calls (ListShards, GetCursor, PullLogs, consumer groups), retried;
//! - [`sign`]: request signing (v1, v4) and [`Credentials`];
//! - [`credentials`]: where the access key comes from (environment, profiles, ECS RAM role,
//!   OIDC role), refreshed before it expires;
//! - [`proto`]: the protobuf messages (crate `sls-proto`) decoded to [`LogGroup`] / [`Log`];
//! - [`error`]: [`SlsError`], naming project, logstore and shard;
//! - [`config`] and [`source`]: the source built on the client: shards pulled
//!   concurrently, consumer groups, positions committed with the rows;
//! - [`heartbeat`]: the consumer group heartbeat, on its own task;
//! - [`shard`]: one shard's reader; [`start`]: the source started for the pipeline;
//! - [`transient`]: failures a stream retries without end, logged once a minute.

pub mod client;
pub mod config;
pub mod credentials;
pub mod error;
pub mod heartbeat;
pub mod proto;
pub mod pull;
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
pub use self::error::{SlsError, Target};
pub use self::proto::{Log, LogGroup};
pub use self::sign::{Credentials, Signature};
pub use self::source::{SlsSource, SlsSourceError};
pub use self::start::start;
