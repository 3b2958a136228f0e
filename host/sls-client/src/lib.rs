//! A client of Alibaba Cloud Log Service (SLS): the read path (ListShards, GetCursor,
//! PullLogs) and consumer groups, signed v1 or v4 with an access key from the Alibaba Cloud
//! credentials chain, failed calls retried with backoff.
//!
//! # Layout
//!
//! - [`SlsClient`] (`client`): the read-path calls, retried, and a credentials refresh after
//!   a refusal as unauthenticated; `consumer_group`: the consumer group calls on the same
//!   client (create, list, update, heartbeat, checkpoints);
//! - `request`: where a request goes (the project in the host name, or in a `Host` header
//!   for IP endpoints) and its headers; `sign`: signatures v1 and v4, and [`Credentials`];
//! - [`credentials`]: where the access key comes from (environment, OIDC role, profiles,
//!   ECS RAM role), refreshed before it expires;
//! - `pull`: a PullLogs answer decompressed and decoded; `proto`: the protobuf messages
//!   (crate `sls-proto`) as [`LogGroup`] / [`Log`];
//! - `error`: [`SlsError`], naming the call and its [`Target`] (project, logstore, shard,
//!   consumer group), and which failures are worth retrying.

mod client;
mod consumer_group;
pub mod credentials;
mod error;
mod proto;
mod pull;
mod request;
mod sign;

pub use self::client::{
    Checkpoint, ConsumerGroup, CursorFrom, MAX_PULL_COUNT, RetryPolicy, Shard, SlsClient,
};
pub use self::credentials::{CredentialsError, CredentialsProvider};
pub use self::error::{SlsError, Target};
pub use self::proto::{Log, LogGroup};
pub use self::pull::PullLogs;
pub use self::request::Auth;
pub use self::sign::{Credentials, Signature};
