//! The records that flow source → transform → sink: schemas, batches and positions.
//!
//! Records travel in the batch encoding of `wit/ENCODING.md` from the moment a source
//! reads them, so the transform stage hands the bytes to the guest without re-encoding.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// Columns and their types, defined once in `holo-batch` for the host and the guests.
pub use holo_batch::{Column, ColumnType};

/// The columns of the records in a batch, shared by every batch of a stream.
pub type Schema = Arc<[Column]>;

/// Where a source stands: opaque to every stage but the source that made it.
///
/// The sink stores it with the rows it covers (see the position layer) and hands
/// it back to the source on restart, so it must be plain JSON.
pub type Position = serde_json::Value;

/// A batch of records from a source, in the input encoding of `wit/ENCODING.md`.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Sequence number within the run, from 0.
    pub seq: u64,
    /// The stream whose position this batch advances: the CSV inputs, or one Log Service
    /// shard (`sls://project/logstore/shard`). The sink saves positions per stream.
    pub stream: Arc<str>,
    /// The encoded batch (`row-count`, then rows); `schema` gives the columns.
    pub data: Vec<u8>,
    /// Byte offset in `data` where each row starts, to quote a record when it is rejected.
    pub row_offsets: Vec<u32>,
    /// Where each row came from (same length as `row_offsets`).
    pub origins: Vec<Origin>,
    /// Records the source itself could not read, already explained.
    pub rejected: Vec<DeadLetter>,
    /// Records read by the source for this batch, rejected ones included.
    pub records_read: u64,
    /// The source's position once this batch is written: committed together with it.
    pub position: Position,
    /// Whether the source still owns the stream when the batch is about to commit; `None`
    /// for sources that always do.
    pub lease: Option<Lease>,
}

/// A source's claim on a stream, revoked when it loses it (a Log Service member whose
/// heartbeats failed for the group's timeout): batches read under a revoked lease are not
/// committed, so the member the stream moved to reads them again from the saved position.
#[derive(Debug, Clone, Default)]
pub struct Lease(Arc<std::sync::atomic::AtomicBool>);

impl Lease {
    /// A claim that holds until [`Lease::revoke`].
    pub fn new() -> Lease {
        Lease(Arc::new(std::sync::atomic::AtomicBool::new(true)))
    }

    pub fn revoke(&self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }

    pub fn is_held(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.row_offsets.len()
    }

    /// Input row `i` as a JSON object `{column: value}`, for dead-letter output.
    pub fn record_json(&self, schema: &[Column], i: usize) -> serde_json::Value {
        match holo_batch::row_at(&self.data, self.row_offsets[i] as usize, schema.len()) {
            Ok(row) => row_json(schema, row),
            Err(e) => serde_json::Value::String(format!("<undecodable: {e}>")),
        }
    }
}

/// Where one record came from: a file and line, or a Log Service shard and cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// `orders.csv`, `-` for stdin, `sls://project/logstore/shard`.
    pub source: Arc<str>,
    /// Line number in a file (from 1), or sequence within a shard.
    pub line: u64,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// An encoded row as a JSON object, in `schema` order.
pub fn row_json(schema: &[Column], row: holo_batch::RowRef<'_>) -> serde_json::Value {
    let mut map = serde_json::Map::with_capacity(schema.len());
    for (col, v) in schema.iter().zip(row.values()) {
        map.insert(col.name.clone(), value_json(v));
    }
    serde_json::Value::Object(map)
}

/// One encoded value as JSON (null, bool, number or string).
pub fn value_json(v: holo_batch::ValueRef<'_>) -> serde_json::Value {
    use holo_batch::ValueRef;
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Bool(b) => b.into(),
        ValueRef::Int(i) => i.into(),
        ValueRef::Float(x) => serde_json::Number::from_f64(x)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| x.to_string().into()),
        ValueRef::Text(s) => s.into(),
    }
}

/// A stage of the pipeline: the one that rejected a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PipelineStage {
    Source,
    Transform,
    Sink,
}

/// One rejected record, for the dead-letter output (`dead_letter`).
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    #[serde(flatten)]
    pub origin: Origin,
    pub stage: PipelineStage,
    /// The record as read: `{column: value}` when it was parsed, else its raw text.
    pub record: serde_json::Value,
    pub reason: String,
    /// Content hash of the transform that saw the record (`sha256:…`), if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
}
