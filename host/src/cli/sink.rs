//! Arguments of the destination: the database and table and how rows are written to it,
//! or stdout when no database is given.

use clap::Args;

use crate::sink::{
    AUTO_WRITERS, CreateTable, DialectChoice, PostgresSinkConfig, SinkConfig, TABLE_PROPERTIES,
    WriteMethod, WriteMode, WriteOptions, default_max_new_partitions, default_statement_timeout_ms,
    default_writers, zone_named,
};

#[derive(Debug, Args)]
pub struct SinkArgs {
    /// The database: a libpq-style URL (`postgres://user@host:5432/db`) or `key=value`
    /// string; the password may come from `PGPASSWORD`. Without it, rows are printed to
    /// stdout as JSON lines.
    #[arg(long, value_name = "DSN")]
    pub sink: Option<String>,

    /// The target table, `SCHEMA.TABLE` (or `TABLE` in `public`).
    #[arg(long, value_name = "SCHEMA.TABLE", requires = "sink")]
    pub table: Option<String>,

    /// What a row does to a row of the same primary key: `insert` appends (a duplicate key
    /// is dead-lettered), `insert-or-ignore` keeps the existing row, `insert-or-replace`
    /// replaces it (columns the transform does not produce become NULL/default),
    /// `insert-or-update` updates only the columns the transform produces. The Flink
    /// connector's names (`insertorignore`, …) and `--mutatetype` work too. Rows of one key
    /// inside a batch are merged first.
    #[arg(long, visible_alias = "mutatetype", value_name = "MODE", default_value = "insert",
          value_parser = parse_mode, requires = "sink")]
    pub mode: WriteMode,

    /// Connections writing in parallel, or `auto` (one per core for a PostgreSQL on this
    /// machine, else 4). On PostgreSQL each takes whole batches, up to N written at once and
    /// committed in order with their positions; on Hologres a batch's rows are spread over
    /// them by a hash of the key, statements autocommitted.
    #[arg(long, value_name = "N|auto", default_value_t = default_writers(),
          value_parser = parse_writers, requires = "sink")]
    pub writers: usize,

    /// SQL dialect: `auto` asks the server (`hg_version()`); `hologres` forces the
    /// autocommit write path (for tests against PostgreSQL).
    #[arg(long, value_name = "auto|postgres|hologres", default_value = "auto",
          value_parser = parse_dialect, hide = true)]
    pub dialect: DialectChoice,

    /// How rows are sent: `auto` picks as holo-client and the Flink connector do (binary
    /// COPY for plain appends on PostgreSQL; on Hologres, Fixed Copy from 1.3.25, INSERT
    /// with unnest arrays from 1.1.38, multi-row VALUES before); `copy` or `insert` force
    /// one.
    #[arg(long, value_name = "auto|copy|insert", default_value = "auto",
          value_parser = parse_method, requires = "sink")]
    pub write_method: WriteMethod,

    /// Longest one statement may run on the server, in seconds (`statement_timeout`); a
    /// statement past it fails and is retried. 0 for no limit.
    #[arg(long, value_name = "SECONDS", default_value_t = default_statement_timeout_ms() / 1000,
          requires = "sink")]
    pub statement_timeout: u64,

    /// Create the table from the transform's output columns if it does not exist (text,
    /// int8, float8, boolean, jsonb), before the first rows are written.
    #[arg(long, requires = "sink")]
    pub create_table: bool,

    /// Primary key of the table --create-table creates: `COL[,COL…]`.
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        requires = "create_table"
    )]
    pub primary_key: Vec<String>,

    /// A Hologres property of the table --create-table creates, `NAME=VALUE` (repeatable):
    /// orientation, distribution_key, clustering_key, event_time_column, segment_key,
    /// bitmap_columns, dictionary_encoding_columns, time_to_live_in_seconds,
    /// storage_format. Ignored on PostgreSQL.
    #[arg(long = "table-property", value_name = "NAME=VALUE", value_parser = parse_property,
          requires = "create_table")]
    pub table_properties: Vec<(String, String)>,

    /// Make the table --create-table creates `PARTITION BY LIST (COL)`.
    #[arg(long, value_name = "COL", requires = "create_table")]
    pub partition_by: Option<String>,

    /// Create a missing child partition of a `PARTITION BY LIST` table, named
    /// `<table>_<value>`, when a row needs it (Flink's `createparttable`). Without it, rows
    /// with no partition are dead-lettered.
    #[arg(long, visible_alias = "createparttable", requires = "sink")]
    pub create_partitions: bool,

    /// Child partitions one run may create at most; rows for more are dead-lettered
    /// (a guard against junk values).
    #[arg(long, value_name = "N", default_value_t = default_max_new_partitions())]
    pub max_new_partitions: usize,

    /// Tries of a write that fails for a transient reason (connection lost, server busy, a
    /// failover), the first included. Default: 5 on PostgreSQL; 12 on Hologres, about
    /// 64–127 s of pauses, enough to ride out a failover or an upgrade as the Flink
    /// connector does.
    #[arg(long, value_name = "N", requires = "sink")]
    pub write_tries: Option<u32>,

    /// First wait before retrying a write, in milliseconds, doubling each try (up to 10 s
    /// on PostgreSQL, 16 s on Hologres). Default: 500 on PostgreSQL, 1000 on Hologres.
    #[arg(long, value_name = "MS", requires = "sink")]
    pub write_retry_delay_ms: Option<u64>,

    /// The schema of the table that holds each job's position (`SCHEMA.progress`). It is
    /// created if missing, which needs the CREATE privilege on the database; name a schema
    /// you may create tables in (such as `public`) if you have not.
    #[arg(
        long,
        value_name = "SCHEMA",
        default_value = "holo_host",
        requires = "sink"
    )]
    pub positions_schema: String,

    /// Write a table without a primary key on Hologres although a row may then be written
    /// twice: each statement commits on its own there, apart from the saved position, so a
    /// statement retried after a lost reply, or a batch written again after a crash, adds
    /// its rows again. Without it such a table is refused on Hologres.
    #[arg(long, requires = "sink")]
    pub at_least_once: bool,

    /// The time zone `timestamptz` text without an offset is read in (an IANA name such
    /// as Asia/Shanghai). By default the session's TimeZone, as the server itself reads it.
    #[arg(long, value_name = "ZONE", value_parser = parse_zone, requires = "sink")]
    pub timezone: Option<chrono_tz::Tz>,
}

fn parse_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    zone_named(s).ok_or_else(|| {
        format!("unknown time zone `{s}`: give an IANA name such as Asia/Shanghai or UTC")
    })
}

fn parse_writers(s: &str) -> Result<usize, String> {
    match s {
        "auto" => Ok(AUTO_WRITERS),
        "0" => Err("--writers must be at least 1 (or `auto`)".into()),
        n => n
            .parse()
            .map_err(|_| format!("`{n}` is not a number of writers or `auto`")),
    }
}

fn parse_mode(s: &str) -> Result<WriteMode, String> {
    s.parse()
}

fn parse_method(s: &str) -> Result<WriteMethod, String> {
    s.parse()
}

fn parse_dialect(s: &str) -> Result<DialectChoice, String> {
    s.parse()
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not NAME=VALUE"))?;
    let k = k.trim().to_ascii_lowercase();
    if !TABLE_PROPERTIES.contains(&k.as_str()) {
        return Err(format!(
            "unknown table property `{k}` (known: {})",
            TABLE_PROPERTIES.join(", ")
        ));
    }
    Ok((k, v.trim().to_owned()))
}

/// Why the destination arguments do not make a sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkArgsError {
    #[error("--sink needs --table SCHEMA.TABLE")]
    MissingTable,
    #[error("--write-tries must be at least 1")]
    Tries,
}

impl SinkArgs {
    /// Validates the destination arguments.
    pub fn build(self) -> Result<SinkConfig, SinkArgsError> {
        if self.write_tries == Some(0) {
            return Err(SinkArgsError::Tries);
        }
        let write = WriteOptions {
            mode: self.mode,
            writers: self.writers,
            dialect: self.dialect,
            method: self.write_method,
            statement_timeout_ms: self.statement_timeout.saturating_mul(1000),
            create_table: self.create_table.then_some(CreateTable {
                primary_key: self.primary_key,
                properties: self.table_properties,
                partition_by: self.partition_by,
            }),
            create_partitions: self.create_partitions,
            max_new_partitions: self.max_new_partitions,
            tries: self.write_tries,
            retry_delay_ms: self.write_retry_delay_ms,
            timezone: self.timezone,
            positions_schema: self.positions_schema,
            at_least_once: self.at_least_once,
        };
        Ok(match (self.sink, self.table) {
            (Some(dsn), Some(table)) => {
                SinkConfig::Postgres(PostgresSinkConfig { dsn, table, write })
            }
            (Some(_), None) => return Err(SinkArgsError::MissingTable),
            (None, _) => SinkConfig::Stdout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sink: SinkArgs,
    }

    fn build(args: &[&str]) -> Result<WriteOptions, String> {
        let mut all = vec!["x", "--sink", "postgres://u@h/db", "--table", "t"];
        all.extend_from_slice(args);
        let cli = Cli::try_parse_from(all).map_err(|e| e.to_string())?;
        match cli.sink.build().map_err(|e| e.to_string())? {
            SinkConfig::Postgres(p) => Ok(p.write),
            SinkConfig::Stdout => Err("stdout".into()),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(build(&[]).unwrap(), WriteOptions::default());
    }

    #[test]
    fn write_flags() {
        let w = build(&[
            "--mode",
            "insert-or-update",
            "--writers",
            "4",
            "--create-table",
            "--primary-key",
            "id,day",
            "--table-property",
            "orientation=column",
            "--table-property",
            "Bitmap_Columns=a,b",
            "--partition-by",
            "day",
            "--createparttable",
            "--max-new-partitions",
            "9",
            "--dialect",
            "hologres",
        ])
        .unwrap();
        assert_eq!(w.mode, WriteMode::InsertOrUpdate);
        assert_eq!(w.writers, 4);
        assert_eq!(w.dialect, DialectChoice::Hologres);
        let c = w.create_table.unwrap();
        assert_eq!(c.primary_key, ["id", "day"]);
        assert_eq!(
            c.properties,
            [
                ("orientation".to_string(), "column".to_string()),
                ("bitmap_columns".to_string(), "a,b".to_string())
            ]
        );
        assert_eq!(c.partition_by.as_deref(), Some("day"));
        assert!(w.create_partitions);
        assert_eq!(w.max_new_partitions, 9);
        // The Flink connector's spelling.
        let w = build(&["--mutatetype", "insertorignore"]).unwrap();
        assert_eq!(w.mode, WriteMode::InsertOrIgnore);
    }

    #[test]
    fn bad_flags_are_named() {
        assert!(build(&["--mode", "upsert"]).unwrap_err().contains("upsert"));
        assert!(
            build(&["--writers", "0"])
                .unwrap_err()
                .contains("--writers")
        );
        assert_eq!(build(&["--writers", "auto"]).unwrap().writers, AUTO_WRITERS);
        assert!(
            build(&["--writers", "many"])
                .unwrap_err()
                .contains("`many`")
        );
        assert!(
            build(&["--create-table", "--table-property", "colour=red"])
                .unwrap_err()
                .contains("unknown table property `colour`")
        );
        assert!(
            build(&["--primary-key", "id"])
                .unwrap_err()
                .contains("--create-table")
        );
    }
}
