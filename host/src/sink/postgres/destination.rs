//! The destination: the server (PostgreSQL or Hologres, its version and time zone), the
//! table as the catalog describes it, and the write options. It decides how an output
//! binds to the table ([`Destination::bind`]) without touching the server.

use tracing::{debug, info};

use super::catalog::{self, TableInfo};
use super::create;
use super::dialect;
use super::error::PostgresError;
use super::options::{self, DialectChoice, WriteOptions};
use super::positions::ProgressTable;
use super::spec::WriteSpec;
use super::{Dialect, zone_named};
use crate::db::{ConnectConfig, TableName};
use crate::record::Column;

/// Where and how a sink writes: read from the server once, on connecting.
#[derive(Debug, Clone)]
pub struct Destination {
    /// `host:port/db as user`, for logs and errors.
    server: String,
    /// The table as named on the command line, resolved to schema and table.
    name: TableName,
    options: WriteOptions,
    /// `hg_version()` when the server is Hologres.
    hologres_version: Option<String>,
    dialect: Dialect,
    /// The zone `timestamptz` text without an offset is read in; `None` for UTC.
    zone: Option<chrono_tz::Tz>,
    table: TableInfo,
    /// The table is missing and `--create-table` will create it before the first write.
    create_pending: bool,
}

impl Destination {
    /// Reads the destination on `client`: checks the connection (`SELECT 1`), detects
    /// Hologres, sets the session up, and reads the session's zone and the table.
    pub async fn read(
        client: &tokio_postgres::Client,
        pg: &ConnectConfig,
        server: String,
        name: TableName,
        mut options: WriteOptions,
    ) -> Result<Destination, PostgresError> {
        let query_err = |what| {
            let server = server.clone();
            move |source| PostgresError::Query {
                server,
                what,
                source,
            }
        };
        (client.simple_query("SELECT 1").await).map_err(query_err("run `SELECT 1`"))?;
        let hologres_version =
            (dialect::detect(client).await).map_err(query_err("detect Hologres"))?;
        let hologres = hologres_version.is_some();
        (dialect::setup(client, hologres, options.statement_timeout_ms).await)
            .map_err(query_err("set up the session"))?;
        let zone = match options.timezone {
            Some(zone) => zone,
            None => session_zone(client, &server).await?,
        };
        let dialect = choose_dialect(options.dialect, &hologres_version, &server)?;
        if options.writers == options::AUTO_WRITERS {
            options.writers = options::auto_writers(dialect, pg);
            info!(server = %server, writers = options.writers, "--writers auto");
        }
        match &hologres_version {
            Some(v) => {
                info!(server = %server, version = %v, dialect = dialect.name(), "connected to Hologres")
            }
            None => debug!(server = %server, dialect = dialect.name(), "connected to PostgreSQL"),
        }
        let table = (catalog::load_table(client, &name).await)
            .map_err(query_err("read the table's columns from the catalog"))?;
        let (table, create_pending) = match table {
            Some(t) => (t, false),
            None if options.create_table.is_some() => (create::missing_table(&name), true),
            None => {
                return Err(PostgresError::TableNotFound {
                    table: name.to_string(),
                    server,
                });
            }
        };
        Ok(Destination {
            server,
            name,
            options,
            hologres_version,
            dialect,
            zone: (zone != chrono_tz::Tz::UTC).then_some(zone),
            table,
            create_pending,
        })
    }

    /// `host:port/db as user` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The table as named on the command line.
    pub fn name(&self) -> &TableName {
        &self.name
    }

    /// The table as the catalog describes it (as it will be created, while pending).
    pub fn table(&self) -> &TableInfo {
        &self.table
    }

    pub fn options(&self) -> &WriteOptions {
        &self.options
    }

    /// `hg_version()` of a Hologres server.
    pub fn hologres_version(&self) -> Option<&str> {
        self.hologres_version.as_deref()
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The table positions are saved in.
    pub fn progress(&self) -> ProgressTable {
        ProgressTable::in_schema(&self.options().positions_schema)
    }

    /// Statements autocommit (the Hologres dialect); else a batch is one transaction.
    pub fn autocommit(&self) -> bool {
        self.dialect == Dialect::Hologres
    }

    /// The zone `timestamptz` text without an offset is read in; `None` for UTC.
    pub fn zone(&self) -> Option<chrono_tz::Tz> {
        self.zone
    }

    /// The table is missing and `--create-table` will create it before the first write.
    pub fn create_pending(&self) -> bool {
        self.create_pending
    }

    /// How `output` is written: checked against the table (the one `--create-table` would
    /// make, while pending), every problem listed. Binding takes the planned table as the
    /// destination's until it is created.
    pub(super) fn bind(&mut self, output: &[Column]) -> Result<WriteSpec, PostgresError> {
        if self.create_pending {
            self.table = create::planned_table(self, output)?;
        }
        self.spec_for(&self.table, output)
    }

    /// Whether [`Self::bind`] would accept `output`, changing nothing: a new transform
    /// version is checked this way before it takes over.
    pub fn check(&self, output: &[Column]) -> Result<(), PostgresError> {
        if self.create_pending {
            let planned = create::planned_table(self, output)?;
            self.spec_for(&planned, output).map(drop)
        } else {
            self.spec_for(&self.table, output).map(drop)
        }
    }

    /// The table created by `--create-table`, as the catalog now describes it.
    pub fn created(&mut self, table: TableInfo) {
        self.table = table;
        self.create_pending = false;
    }

    fn spec_for(&self, table: &TableInfo, output: &[Column]) -> Result<WriteSpec, PostgresError> {
        let binding = catalog::bind(table, output).map_err(|problems| PostgresError::Bind {
            table: table.name.clone(),
            problems,
        })?;
        WriteSpec::new(self, table, binding.targets, output)
    }
}

/// The dialect asked for, against what the server is.
fn choose_dialect(
    choice: DialectChoice,
    hologres_version: &Option<String>,
    server: &str,
) -> Result<Dialect, PostgresError> {
    Ok(match (choice, hologres_version) {
        (DialectChoice::Postgres, Some(version)) => {
            return Err(PostgresError::DialectMismatch {
                server: server.to_owned(),
                version: version.clone(),
            });
        }
        (DialectChoice::Postgres, None) => Dialect::Postgres,
        (DialectChoice::Hologres, _) | (DialectChoice::Auto, Some(_)) => Dialect::Hologres,
        (DialectChoice::Auto, None) => Dialect::Postgres,
    })
}

/// The session's TimeZone, which the server reads timestamps without an offset in (on
/// Hologres, Asia/Shanghai unless set otherwise).
async fn session_zone(
    client: &tokio_postgres::Client,
    server: &str,
) -> Result<chrono_tz::Tz, PostgresError> {
    let rows =
        (client.simple_query("SHOW TimeZone").await).map_err(|source| PostgresError::Query {
            server: server.to_owned(),
            what: "read the session's TimeZone",
            source,
        })?;
    let name = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| "UTC".to_owned());
    zone_named(&name).ok_or(PostgresError::TimeZone {
        zone: name,
        server: server.to_owned(),
    })
}
