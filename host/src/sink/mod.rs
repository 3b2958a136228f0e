//! Sinks: where transformed records leave the pipeline.
//!
//! A sink stages rows one by one ([`Sink::push_row`], where a value that does not fit
//! rejects only its row) and makes them durable together with the source position they
//! reach ([`Sink::submit`]): batches commit in the order submitted, and a sink that writes
//! several at once keeps them in flight itself ([`Sink::next_written`],
//! [`Sink::commit_next`]). Rows the destination itself refuses at commit (a constraint,
//! a partition that may not be created) come back as [`Rejected`], by input index. The
//! sink owns the positions it saves: [`Sink::positions`] reads them back for the source.
//!
//! - [`postgres`]: PostgreSQL and Hologres tables;
//! - [`stdout`]: JSON lines, to try a transform without a database.

pub mod postgres;
pub mod stdout;

use std::sync::Arc;

use crate::errors::BoxError;
use crate::position::{JobKey, Positions};
use crate::record::{Column, Position};
use crate::transform::reload::OutputCheck;

pub use postgres::commit::OnRefused;
pub use postgres::options::{AUTO_WRITERS, default_statement_timeout_ms, default_writers};
pub use postgres::options::{TABLE_PROPERTIES, default_max_new_partitions};
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

/// A submitted batch, committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The batch's ticket: how many batches were submitted before it.
    pub ticket: u64,
    /// Rows written.
    pub written: u64,
}

/// Receives the rows the destination refused of the batch with this ticket, before the
/// commit that moves the position past them.
pub type OnRefusedOf<'a> = dyn FnMut(u64, &[Rejected]) -> Result<(), BoxError> + Send + 'a;

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

    /// [`Sink::open`] that changes nothing at the destination (for `holo-host plan`).
    pub async fn open_read_only(config: &SinkConfig) -> Result<Sink, SinkError> {
        Ok(match config {
            SinkConfig::Postgres(pc) => {
                Sink::Postgres(Box::new(PostgresSink::connect_read_only(pc).await?))
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

    /// Whether [`Sink::bind`] would accept an output, asked of the destination as it
    /// stands now from another thread: a new transform version is checked with it before it
    /// takes over.
    pub fn output_check(&self) -> OutputCheck {
        match self {
            Sink::Postgres(s) => {
                let destination = Arc::new(s.target().clone());
                Arc::new(move |output| destination.check(output).map_err(|e| e.to_string()))
            }
            Sink::Stdout(_) => Arc::new(|_| Ok(())),
        }
    }

    /// Makes the destination ready after [`Sink::bind`]: creates the table `--create-table`
    /// asked for, so a DDL failure shows before any data flows. Optional: the first commit
    /// does it otherwise.
    pub async fn prepare(&mut self) -> Result<(), SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.prepare().await?),
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

    /// Hands the staged rows over to be written with `position` under `key`; batches
    /// commit in the order submitted, each first handing the rows the destination refused
    /// to `on_refused` with its ticket (it may see the same rows again if a try is repeated).
    /// Returns the batches committed during the call, oldest first: the sink may keep this
    /// one in flight, and commit older ones to make room.
    pub async fn submit(
        &mut self,
        key: &JobKey,
        position: &Position,
        on_refused: &mut OnRefusedOf<'_>,
    ) -> Result<Vec<Committed>, SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.submit(key, position, on_refused).await?),
            Sink::Stdout(s) => s.submit().map(|c| vec![c]).map_err(SinkError::Stdout),
        }
    }

    /// Batches submitted and not committed yet.
    pub fn in_flight(&self) -> usize {
        match self {
            Sink::Postgres(s) => s.in_flight(),
            Sink::Stdout(_) => 0,
        }
    }

    /// Resolves once the oldest batch in flight may commit (never, with none in flight),
    /// so that its rows (and a stream's progress) are not held until more input comes.
    /// Cancel-safe.
    pub async fn next_written(&mut self) {
        match self {
            Sink::Postgres(s) => s.next_written().await,
            Sink::Stdout(_) => std::future::pending().await,
        }
    }

    /// Commits the oldest batch in flight, if any.
    pub async fn commit_next(
        &mut self,
        on_refused: &mut OnRefusedOf<'_>,
    ) -> Result<Option<Committed>, SinkError> {
        match self {
            Sink::Postgres(s) => Ok(s.commit_next(on_refused).await?),
            Sink::Stdout(_) => Ok(None),
        }
    }

    /// What a run would write, and how, as text (for `holo-host plan`).
    pub fn explain(&self) -> String {
        match self {
            Sink::Postgres(s) => s.explain(),
            Sink::Stdout(_) => "sink:      stdout, one JSON object per row\n".to_owned(),
        }
    }
}
