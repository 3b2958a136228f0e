//! holo-host moves records from CSV files and Alibaba Cloud Log Service into Hologres
//! (or PostgreSQL), running every per-record mapping, join and enrichment as a sandboxed
//! WebAssembly component.
//!
//! # Layout
//!
//! A record enters in [`source`], changes in [`transform`] and leaves through [`sink`]:
//!
//! - [`source`]: readers that turn input into encoded [`record::Batch`]es (`source::csv`,
//!   `source::sls` for Log Service shards);
//! - [`transform`]: the wasmtime host that runs a component on each batch, with limits,
//!   poison-record isolation and hot reload;
//! - [`sink`]: writers of transformed batches (`sink::postgres`, `sink::stdout`);
//! - [`pipeline`]: the three stages wired together, positions committed with the rows;
//! - [`lookup`]: dimension tables that transforms query by key;
//! - [`dead_letter`]: where rejected records go, with the reason;
//! - [`plan`]: what a run would write, and how, without writing;
//! - [`record`]: schemas, batches and positions shared by every stage;
//! - [`errors`]: error text shared by the stages; [`cli`]: the command line.

pub mod cli;
pub mod dead_letter;
pub mod errors;
pub mod lookup;
pub mod pipeline;
pub mod plan;
pub mod record;
pub mod sink;
pub mod source;
pub mod transform;
