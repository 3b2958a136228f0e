//! Positions: where each stream of a job stands, so that a job stopped at any moment
//! resumes after its last committed batch.
//!
//! A job is one stream (the CSV inputs, or one Log Service shard) written into one
//! destination. Its [`JobKey`] is built here, and only here, from stable identities: the
//! stream's name and the destination's (`"schema"."table"`), never from display text, so
//! rewording a message cannot orphan a saved position. The sink saves a position in the
//! same commit as the rows it covers; a [`PositionStore`] reads it back and clears it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::errors::BoxError;
use crate::record::Position;

/// What a [`PositionStore`] call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PositionError>> + Send + 'a>>;

/// Where a run starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Start {
    /// After the position saved by the last run, if any.
    #[default]
    Resume,
    /// From the beginning: the saved position is forgotten first (`--from-scratch`).
    FromScratch,
}

/// The key of a job's saved position: a stream written into a destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobKey {
    stream: Arc<str>,
    text: Arc<str>,
}

impl JobKey {
    /// `stream` names the input (`csv:/abs/orders.csv`, `sls://project/logstore/3`);
    /// `destination` is the sink's stable identity (`"public"."book_order"`).
    pub fn new(stream: &str, destination: &str) -> JobKey {
        JobKey {
            stream: stream.into(),
            text: format!("{stream} -> {destination}").into(),
        }
    }

    /// The stream part of the key.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a saved position could not be read or cleared.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    #[error("cannot read the position of job `{job}` from {store}")]
    Load {
        job: String,
        store: String,
        source: BoxError,
    },
    #[error("the position of job `{job}` in {store} is not valid JSON: clear it to start over")]
    Bad {
        job: String,
        store: String,
        source: serde_json::Error,
    },
    #[error("cannot clear the position of job `{job}` in {store}")]
    Clear {
        job: String,
        store: String,
        source: BoxError,
    },
}

/// Reads and clears saved positions. The sink owns the store, and saves positions itself,
/// in the commit of the rows they cover; sources read them through [`Positions`].
pub trait PositionStore: Send + Sync {
    /// The position committed last for `key`, if any.
    fn load<'a>(&'a self, key: &'a JobKey) -> StoreFuture<'a, Option<Position>>;

    /// The positions of `keys`, in their order: one round trip where the store can (a glob
    /// of many files reads its whole ledger at once).
    fn load_many<'a>(&'a self, keys: &'a [JobKey]) -> StoreFuture<'a, Vec<Option<Position>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.load(key).await?);
            }
            Ok(out)
        })
    }

    /// Forgets the position of `key`, so the next run starts from the beginning.
    fn clear<'a>(&'a self, key: &'a JobKey) -> StoreFuture<'a, ()>;
}

/// A destination that keeps no positions (stdout): every run starts from the beginning.
#[derive(Debug, Default)]
pub struct NoPositions;

impl PositionStore for NoPositions {
    fn load<'a>(&'a self, _: &'a JobKey) -> StoreFuture<'a, Option<Position>> {
        Box::pin(async { Ok(None) })
    }

    fn clear<'a>(&'a self, _: &'a JobKey) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// The positions of one run's jobs: a store and the destination every key names.
#[derive(Clone)]
pub struct Positions {
    store: Arc<dyn PositionStore>,
    destination: Arc<str>,
    /// The destination keeps positions (an interrupted run can resume).
    durable: bool,
}

impl fmt::Debug for Positions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Positions")
            .field("destination", &self.destination)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

impl Positions {
    pub fn new(store: Arc<dyn PositionStore>, destination: &str, durable: bool) -> Positions {
        Positions {
            store,
            destination: destination.into(),
            durable,
        }
    }

    /// Positions that are never saved (stdout).
    pub fn none(destination: &str) -> Positions {
        Positions::new(Arc::new(NoPositions), destination, false)
    }

    /// The key of `stream` written into this run's destination.
    pub fn key(&self, stream: &str) -> JobKey {
        JobKey::new(stream, &self.destination)
    }

    /// Whether positions survive the run.
    pub fn durable(&self) -> bool {
        self.durable
    }

    pub async fn load(&self, stream: &str) -> Result<Option<Position>, PositionError> {
        self.store.load(&self.key(stream)).await
    }

    /// The positions of `streams`, in their order.
    pub async fn load_many(
        &self,
        streams: &[String],
    ) -> Result<Vec<Option<Position>>, PositionError> {
        let keys: Vec<JobKey> = streams.iter().map(|s| self.key(s)).collect();
        self.store.load_many(&keys).await
    }

    pub async fn clear(&self, stream: &str) -> Result<(), PositionError> {
        self.store.clear(&self.key(stream)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_the_stream_and_the_destination() {
        let k = JobKey::new("csv:/data/orders.csv", r#""public"."book_order""#);
        assert_eq!(
            k.as_str(),
            r#"csv:/data/orders.csv -> "public"."book_order""#
        );
        assert_eq!(k.stream(), "csv:/data/orders.csv");
        let p = Positions::none("stdout");
        assert_eq!(p.key("sls://p/l/3").as_str(), "sls://p/l/3 -> stdout");
        assert!(!p.durable());
    }
}
