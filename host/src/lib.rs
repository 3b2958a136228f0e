//! holo-host moves records from CSV files and Alibaba Cloud Log Service into Hologres
//! (or PostgreSQL), running every per-record mapping, join and enrichment as a sandboxed
//! WebAssembly component.
//!
//! # Layout
//!
//! A record enters in [`source`], changes in [`transform`] and leaves through [`sink`]:
//!
//! - [`source`]: readers that turn input into encoded [`record::Batch`]es (`source::csv`,
//!   `source::sls` for Log Service shards, on the `sls-client` crate), started by
//!   `source::open`;
//! - [`input`]: what sources and lookups both read: CSV records, objects in a bucket;
//! - [`transform`]: the wasmtime host that runs a component on each batch, with limits,
//!   poison-record isolation and hot reload;
//! - [`sink`]: writers of transformed batches (`sink/postgres`, `sink/stdout.rs`), each
//!   keeping its own batches in flight and committing them, with their positions, in order;
//! - [`pipeline`]: the three stages wired together: batches in, commits out;
//! - [`position`]: where each job stands, keyed by stable identities; the sink saves it;
//! - [`db`]: the one PostgreSQL layer (DSN, TLS, sessions and the one loop that retries a
//!   call on them, which errors to retry);
//!   [`retry`]: backoff with jitter for every remote system (crate `holo-common`);
//! - [`lookup`]: dimension tables that transforms query by key;
//! - [`dead_letter`]: where rejected records go, with the reason;
//! - [`metrics`]: what a run exposes for Prometheus, and its health and readiness;
//! - [`config`]: a run's validated settings, built by [`cli`] from the command line;
//! - [`plan`]: what a run would write, and how, without writing;
//! - [`author`]: tools for transform authors (`test`, `inspect`, `new`), no database needed;
//! - [`record`]: schemas, batches, positions and rejected records shared by every stage;
//! - [`errors`]: error text shared by the stages.

pub mod author;
pub mod cli;
pub mod config;
pub mod db;
pub mod dead_letter;
pub mod errors;
pub mod input;
pub mod lookup;
pub mod metrics;
pub mod pipeline;
pub mod plan;
pub mod position;
pub mod record;
pub mod retry;
pub mod sink;
pub mod source;
pub mod transform;

#[cfg(test)]
mod fuzz_tests;
