//! sls-lite: an Alibaba Cloud Log Service (SLS) compatible server for tests and demos,
//! faithful enough that the official SDKs work against it unchanged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sls_lite::{Config, LogstoreSpec, Server};
//! let server = Server::start(Config::new([LogstoreSpec::new("demo", "orders", 2)])).await?;
//! println!("endpoint {}", server.endpoint());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`server`]: connections, project from `Host`, authentication, routing; its child modules
//!   hold the handlers by API area (logstores, shards, put, cursors, pull, consumer groups,
//!   webtracking, admin).
//! - [`store`]: projects, logstores, shards and log groups; splits, merges, expiry; the
//!   optional data directory.
//! - [`consumer`]: consumer groups, heartbeats, balanced shard assignment, checkpoints.
//! - [`proto`]: the `LogGroup` protobuf messages (crate `sls-proto`) as text; [`cursor`]: cursors.
//! - [`sign`]: signatures v1 and v4, STS tokens; [`faults`]: injected errors and latency;
//!   [`error`]: error answers.
//! - [`config`]: what to serve; [`testing`]: a small client for tests; [`python`]: the
//!   official Python SDK in a venv, for fidelity tests.

pub mod config;
pub mod consumer;
pub mod cursor;
pub mod error;
pub mod faults;
pub mod proto;
pub mod python;
pub mod server;
pub mod sign;
pub mod store;
pub mod testing;

pub use config::{AccessKey, AutoSplit, Config, LogstoreSpec};
pub use error::SlsError;
pub use faults::{FaultRule, Op};
pub use server::{RunningServer, Server, StartError};
