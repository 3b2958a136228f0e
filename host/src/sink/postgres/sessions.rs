//! The sink's writer connections: one [`Session`] per writer, opened and set up for the
//! dialect by a [`Connector`], and every call on them retried through [`Session::run`].

use super::dialect;
use super::error::PostgresError;
use super::writer::Writer;
use crate::db::{self, ConnectConfig, Session};
use crate::retry::Backoff;

/// Opens writer sessions: connected, and set up for the dialect. Owned, so a batch written
/// on a task of its own can reconnect.
#[derive(Debug, Clone)]
pub struct Connector {
    pg: ConnectConfig,
    /// `host:port/db as user`, for logs and errors.
    server: String,
    /// The server is Hologres (its session settings apply).
    hologres: bool,
    /// `statement_timeout` of each session, in milliseconds (0: none).
    statement_timeout_ms: u64,
    /// How failed calls are tried again.
    backoff: Backoff,
}

impl Connector {
    pub fn new(
        pg: ConnectConfig,
        server: String,
        hologres: bool,
        statement_timeout_ms: u64,
        backoff: Backoff,
    ) -> Connector {
        Connector {
            pg,
            server,
            hologres,
            statement_timeout_ms,
            backoff,
        }
    }

    pub fn pg(&self) -> &ConnectConfig {
        &self.pg
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// A new session, set up for the dialect.
    pub async fn open(&self) -> Result<Writer, PostgresError> {
        let client = db::connect(&self.pg, &self.server).await?;
        dialect::setup(&client, self.hologres, self.statement_timeout_ms)
            .await
            .map_err(|source| PostgresError::Query {
                server: self.server.clone(),
                what: "set up the session",
                source,
            })?;
        Ok(Writer::new(client))
    }
}

/// One session per writer; writer 0 also creates tables and partitions.
pub struct Sessions {
    connector: Connector,
    writers: Vec<Session<Writer>>,
}

impl Sessions {
    /// `first`, already connected, and `more` sessions opened now.
    pub async fn open(
        connector: Connector,
        first: Writer,
        more: usize,
    ) -> Result<Sessions, PostgresError> {
        let mut writers = vec![Session::new(Some(first))];
        for _ in 0..more {
            writers.push(Session::new(Some(connector.open().await?)));
        }
        Ok(Sessions { connector, writers })
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// How many writers: at least one.
    pub fn count(&self) -> usize {
        self.writers.len()
    }

    /// Writer `lane`'s session with the connector, for a call retried on it
    /// ([`crate::db::session::on_session!`]).
    pub fn lane(&mut self, lane: usize) -> (&Connector, &mut Session<Writer>) {
        (&self.connector, &mut self.writers[lane])
    }

    /// Writer `lane`, connected first if its session was lost (one try).
    pub async fn connected(&mut self, lane: usize) -> Result<&mut Writer, PostgresError> {
        let session = &mut self.writers[lane];
        if session.get_mut().is_none() {
            session.put(Some(self.connector.open().await?));
        }
        Ok(session.get_mut().expect("connected above"))
    }

    /// Writer `lane`, if its session is connected.
    pub fn get_mut(&mut self, lane: usize) -> Option<&mut Writer> {
        self.writers[lane].get_mut()
    }

    /// Every writer's session with the connector, to run them side by side.
    pub fn all(&mut self) -> (&Connector, &mut [Session<Writer>]) {
        (&self.connector, &mut self.writers)
    }

    /// Writer `lane`'s session, taken for a batch written on a task of its own.
    pub fn take(&mut self, lane: usize) -> Session<Writer> {
        std::mem::take(&mut self.writers[lane])
    }

    /// Gives back a session [`Self::take`]n.
    pub fn put(&mut self, lane: usize, session: Session<Writer>) {
        self.writers[lane] = session;
    }
}
