//! How the sink writes: the write mode, the writer connections, the SQL dialect, and what
//! it may create (the table, child partitions).

use std::fmt;
use std::str::FromStr;

pub use super::method::WriteMethod;

/// What a row does to a row of the same primary key already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Append (a key already present is an error for that row). Binary COPY on PostgreSQL.
    #[default]
    Insert,
    /// Keep the row already there.
    InsertOrIgnore,
    /// Replace the row: the columns the transform does not produce become NULL/default.
    InsertOrReplace,
    /// Update only the columns the transform produces.
    InsertOrUpdate,
}

impl WriteMode {
    pub const ALL: [WriteMode; 4] = [
        WriteMode::Insert,
        WriteMode::InsertOrIgnore,
        WriteMode::InsertOrReplace,
        WriteMode::InsertOrUpdate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WriteMode::Insert => "insert",
            WriteMode::InsertOrIgnore => "insert-or-ignore",
            WriteMode::InsertOrReplace => "insert-or-replace",
            WriteMode::InsertOrUpdate => "insert-or-update",
        }
    }

    /// Modes that resolve key conflicts, and so need a primary key.
    pub fn is_upsert(self) -> bool {
        self != WriteMode::Insert
    }
}

impl fmt::Display for WriteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for WriteMode {
    type Err = String;

    /// Our names, and the Flink connector's (`insertorignore`, `INSERT_OR_UPDATE`, …).
    fn from_str(s: &str) -> Result<Self, String> {
        let folded: String = s
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        match folded.as_str() {
            "insert" => Ok(WriteMode::Insert),
            "insertorignore" => Ok(WriteMode::InsertOrIgnore),
            "insertorreplace" => Ok(WriteMode::InsertOrReplace),
            "insertorupdate" => Ok(WriteMode::InsertOrUpdate),
            _ => Err(format!(
                "unknown write mode `{s}`: use insert, insert-or-ignore, insert-or-replace or \
                 insert-or-update"
            )),
        }
    }
}

/// Which SQL the sink speaks. `Auto` asks the server (`hg_version()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialectChoice {
    #[default]
    Auto,
    Postgres,
    /// Autocommit writes and the Hologres DDL, even on PostgreSQL (for tests).
    Hologres,
}

impl FromStr for DialectChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DialectChoice::Auto),
            "postgres" | "postgresql" => Ok(DialectChoice::Postgres),
            "hologres" => Ok(DialectChoice::Hologres),
            _ => Err(format!(
                "unknown dialect `{s}`: use auto, postgres or hologres"
            )),
        }
    }
}

/// Hologres table properties `--table-property` accepts (`CALL set_table_property`).
pub const TABLE_PROPERTIES: [&str; 9] = [
    "orientation",
    "distribution_key",
    "clustering_key",
    "event_time_column",
    "segment_key",
    "bitmap_columns",
    "dictionary_encoding_columns",
    "time_to_live_in_seconds",
    "storage_format",
];

/// How to create the table when it is missing (`--create-table`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateTable {
    /// Primary key columns, in order.
    pub primary_key: Vec<String>,
    /// Hologres table properties, `(name, value)`, in command-line order.
    pub properties: Vec<(String, String)>,
    /// Makes the table `PARTITION BY LIST (column)`.
    pub partition_by: Option<String>,
}

/// The write options of the PostgreSQL/Hologres sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// What a row does to an existing row of the same key.
    pub mode: WriteMode,
    /// Connections writing in parallel ([`AUTO_WRITERS`]: decided on connecting).
    pub writers: usize,
    pub dialect: DialectChoice,
    /// COPY or INSERT; `Auto` chooses by server and version.
    pub method: WriteMethod,
    /// Longest a statement may run on the server (`statement_timeout`), in milliseconds;
    /// 0 for no limit. A write past it fails and is retried like a lost connection.
    pub statement_timeout_ms: u64,
    /// Create the table from the transform's output columns if it is missing.
    pub create_table: Option<CreateTable>,
    /// Create missing child partitions of a `PARTITION BY LIST` table.
    pub create_partitions: bool,
    /// Child partitions one run may create at most.
    pub max_new_partitions: usize,
    /// Tries of a statement that fails for a transient reason (connection lost, server
    /// busy, a failover), the first included; `None`: the dialect's default
    /// ([`crate::db::retry::write_backoff`]).
    pub tries: Option<u32>,
    /// Wait before the second try, in milliseconds; doubles each time. `None`: the
    /// dialect's default.
    pub retry_delay_ms: Option<u64>,
    /// The zone `timestamptz` text without an offset is read in; the session's TimeZone
    /// when `None`.
    pub timezone: Option<chrono_tz::Tz>,
    /// The schema of the positions table (`SCHEMA.progress`), created if missing.
    pub positions_schema: String,
    /// Accept that a table without a primary key may get a row twice on the autocommit
    /// path (Hologres), where rows and position cannot commit together.
    pub at_least_once: bool,
}

pub fn default_writers() -> usize {
    1
}

/// `--writers auto`, decided when the sink connects ([`auto_writers`]).
pub const AUTO_WRITERS: usize = 0;

/// How many writers `--writers auto` opens. A PostgreSQL on this machine shares its cores
/// with holo-host: one writer per core (measured with scripts/bench.sh on 2 cores: 2
/// writers load 1.6× faster than 1, 3 no faster than 2). A remote PostgreSQL or a Hologres
/// instance has cores of its own, unknown from here: 4, a guess that keeps the connections
/// few (holo-host's CPU, not the server's, bounds it beyond).
pub fn auto_writers(dialect: super::Dialect, pg: &crate::db::ConnectConfig) -> usize {
    let local = pg.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(name) => {
            name == "localhost"
                || name
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        tokio_postgres::config::Host::Unix(_) => true,
    });
    match dialect {
        super::Dialect::Postgres if local => std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8),
        _ => 4,
    }
}

/// Ten minutes: far above any one batch's statement, well below "hung forever".
pub fn default_statement_timeout_ms() -> u64 {
    600_000
}

pub fn default_max_new_partitions() -> usize {
    64
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            mode: WriteMode::default(),
            writers: default_writers(),
            dialect: DialectChoice::default(),
            method: WriteMethod::default(),
            statement_timeout_ms: default_statement_timeout_ms(),
            create_table: None,
            create_partitions: false,
            max_new_partitions: default_max_new_partitions(),
            tries: None,
            retry_delay_ms: None,
            timezone: None,
            positions_schema: super::positions::DEFAULT_SCHEMA.to_owned(),
            at_least_once: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_ours_and_flinks() {
        for m in WriteMode::ALL {
            assert_eq!(m.name().parse::<WriteMode>(), Ok(m));
        }
        assert_eq!("insertorignore".parse(), Ok(WriteMode::InsertOrIgnore));
        assert_eq!("InsertOrReplace".parse(), Ok(WriteMode::InsertOrReplace));
        assert_eq!("INSERT_OR_UPDATE".parse(), Ok(WriteMode::InsertOrUpdate));
        let err = "upsert".parse::<WriteMode>().unwrap_err();
        assert!(err.contains("`upsert`"), "{err}");
    }

    #[test]
    fn dialects() {
        assert_eq!("Hologres".parse(), Ok(DialectChoice::Hologres));
        assert_eq!("postgresql".parse(), Ok(DialectChoice::Postgres));
        assert!("mysql".parse::<DialectChoice>().is_err());
    }
}
