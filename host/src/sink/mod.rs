//! Sinks: where transformed records leave the pipeline.
//!
//! A sink stages rows one by one ([`Sink::push_row`], where a value that does not fit
//! rejects only its row) and makes them durable together with the source position they
//! reach ([`Sink::commit`]). Rows the destination itself refuses at commit (a constraint,
//! a partition that may not be created) come back as [`Rejected`], by input index. The
//! sink owns the positions it saves: [`Sink::positions`] reads them back for the source.
//!
//! - [`postgres`]: PostgreSQL and Hologres tables;
//! - [`stdout`]: JSON lines, to try a transform without a database.

pub mod postgres;
pub mod stdout;

use std::sync::Arc;

use crate::position::{JobKey, Positions};
use crate::record::{Column, Position};

pub use postgres::commit::OnRefused;
pub use postgres::in_flight::InFlight;
pub use postgres::options::{
    AUTO_WRITERS, default_retry_delay_ms, default_statement_timeout_ms, default_writers,
};
pub use postgres::options::{TABLE_PROPERTIES, default_max_new_partitions, default_tries};
pub use postgres::staging::KeyHashes;
pub use postgres::{
    CreateTable, DialectChoice, PostgresError, PostgresSink, PostgresSinkConfig, WriteMethod,
    WriteMode, WriteOptions, zone_named,
};

/// Where records leave the pipeline.
#[derive(Debug, Clone)]
pub enum SinkConfig {
    Postgres(PostgresSinkConfig),
    Stdout,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Postgres(#[from] postgres::PostgresError),
    #[error("cannot write to stdout")]
    Stdout(#[source] std::io::Error),
}

/// A staged row the destination refused at commit; the others were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Index of the input record in its batch.
    pub input: u32,
    /// Why, for the dead-letter output.
    pub reason: String,
}

/// Where the run writes: a PostgreSQL/Hologres table, or JSON lines on stdout.
pub enum Sink {
    Postgres(Box<postgres::PostgresSink>),
    Stdout(stdout::StdoutSink),
}

impl Sink {
    /// Opens the destination `config` names: connected and checked, before data flows.
    pub async fn open(config: &SinkConfig) -> Result<Sink, SinkError> {
        Ok(match config {
            SinkConfig::Postgres(pc) => {
                Sink::Postgres(Box::new(PostgresSink::connect_patiently(pc).await?))
            }
            SinkConfig::Stdout => Sink::Stdout(stdout::StdoutSink::new()),
        })
    }

    /// The positions this sink saves, keyed by its destination: read back by the source.
    pub fn positions(&self) -> Positions {
        match self {
            Sink::Postgres(s) => Positions::new(Arc::new(s.positions()), &s.destination(), true),
            Sink::Stdout(_) => Positions::none("stdout"),
        }
    }

    /// Checks the transform's output columns against the destination before data flows.
    pub fn bind(&mut self, output: &[Column]) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.bind(output)?),
            Sink::Stdout(s) => {
                s.bind(output);
                Ok(())
            }
        }
    }

    /// Whether [`Sink::bind`] would accept these output columns, without binding them.
    pub fn check(&self, output: &[Column]) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.check(output)?),
            Sink::Stdout(_) => Ok(()),
        }
    }

    /// Makes the destination ready after [`Sink::bind`]: creates the table `--create-table`
    /// asked for, so a DDL failure shows before any data flows. Optional: the first commit
    /// does it otherwise.
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.create_pending_table().await?),
            Sink::Stdout(_) => Ok(()),
        }
    }

    /// Stages one output row of input record `input`; `Err` explains why this row cannot
    /// be written.
    #[inline]
    pub fn push_row(&mut self, input: u32, row: holo_batch::RowRef<'_>) -> Result<(), String> {
        match self {
            Sink::Postgres(s) => s.push_row(input, row).map_err(|e| e.to_string()),
            Sink::Stdout(s) => {
                s.push_row(row);
                Ok(())
            }
        }
    }

    /// Stages the deletion of the row with this key (the output columns, of which the sink
    /// uses the primary key); `Err` explains why it cannot be applied.
    #[inline]
    pub fn push_delete(&mut self, input: u32, key: holo_batch::RowRef<'_>) -> Result<(), String> {
        match self {
            Sink::Postgres(s) => s.push_delete(input, key).map_err(|e| e.to_string()),
            Sink::Stdout(s) => {
                s.push_delete(key);
                Ok(())
            }
        }
    }

    /// How many batches may be written at once ([`Sink::start`]); 0: one at a time through
    /// [`Sink::commit`].
    pub fn lanes(&self) -> usize {
        match self {
            Sink::Postgres(s) => s.lanes(),
            Sink::Stdout(_) => 0,
        }
    }

    /// The hashes of the staged batch's keys ([`PostgresSink::key_hashes`]): a batch in
    /// flight that shares one ([`InFlight::shares_a_key`]) must commit first.
    pub fn key_hashes(&self) -> KeyHashes {
        match self {
            Sink::Postgres(s) => s.key_hashes(),
            Sink::Stdout(_) => KeyHashes::default(),
        }
    }

    /// Starts writing the staged rows on writer `lane` ([`PostgresSink::start`]).
    pub async fn start(
        &mut self,
        lane: usize,
        key: &JobKey,
        position: &Position,
        keys: KeyHashes,
    ) -> Result<InFlight, SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.start(lane, key, position, keys).await?),
            Sink::Stdout(_) => unreachable!("stdout has no lanes"),
        }
    }

    /// Commits a started batch, in the order they were started ([`PostgresSink::finish`]).
    pub async fn finish(
        &mut self,
        batch: InFlight,
        on_refused: &mut OnRefused<'_>,
    ) -> Result<u64, SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.finish(batch, on_refused).await?),
            Sink::Stdout(_) => unreachable!("stdout has no lanes"),
        }
    }

    /// Writes the staged rows and records `position` under `key`; returns the rows written.
    /// Rows the destination refuses go to `on_refused` before the commit that moves the
    /// position past them (it may see the same rows again if a try is repeated).
    pub async fn commit(
        &mut self,
        key: &JobKey,
        position: &Position,
        on_refused: &mut OnRefused<'_>,
    ) -> Result<u64, SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.commit_with(key, position, on_refused).await?),
            Sink::Stdout(s) => s.commit().map_err(SinkError::Stdout),
        }
    }
}
