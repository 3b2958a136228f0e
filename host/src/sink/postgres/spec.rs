//! The transform output bound to the table, and how it is written: which columns are the
//! key, which picks the partition, the conflict clause of the write mode, and the method
//! (see [`super::method`]).

use super::catalog::{PartitionKey, TableInfo};
use super::destination::Destination;
use super::error::PostgresError;
use super::method::{self, HoloVersion, Method, MethodNeeds, WriteMethod};
use super::options::WriteMode;
use super::partition::{self, Route};
use super::sql::Conflict;
use super::staging::{Merge, RowSpec, Staged};
use super::types::{ColumnCodec, PgType};
use super::writer::{ParamTypes, Step, StepKind, StepSql};
use super::{Dialect, sql};
use crate::record::Column;

/// The output bound to the table, and how it is written.
#[derive(Debug, Clone)]
pub(super) struct WriteSpec {
    pub row: RowSpec,
    pub columns: Vec<(String, PgType)>,
    pub key: Vec<(String, PgType)>,
    pub conflict: Conflict,
    pub method: Method,
    pub shapes: ParamTypes,
    /// Table columns the output leaves to the server.
    pub left_out: Vec<String>,
    /// `--mode insert` into a keyed table on the autocommit path: the statement skips keys
    /// already present (`ON CONFLICT DO NOTHING`, so a retried statement writes nothing
    /// twice), and those rows are first looked up so they are refused, not counted.
    pub probe_present: bool,
    /// `auto` on Hologres may switch to Fixed Copy once a probe shows the server takes it
    /// ([`method::fixed_copy_candidate`]).
    pub fixed_copy_candidate: bool,
    /// Rows one INSERT or DELETE statement carries at most: holo-client's 512
    /// (`HoloConfig.writeBatchSize`) on Hologres, which keeps statements on Fixed Plan's
    /// scale; the parameter limit alone on PostgreSQL.
    pub rows_per_statement: usize,
    /// Whether a batch's rows go in key order ([`super::staging::Staged::sort_by_key`]):
    /// binary COPY into a keyed PostgreSQL table that fills no column itself (a sequence
    /// would number the rows in that order instead of the input's).
    pub key_order: bool,
}

impl WriteSpec {
    /// The statement that deletes by key from `table` (quoted): on Hologres, holo-client's
    /// `OR` of key matches (`UpsertStatementBuilder.buildDeleteSqlTemplate`); on
    /// PostgreSQL, `= ANY` of an array for a key of one column, else one statement of
    /// array parameters.
    pub fn delete_sql(&self, table: &str, dialect: Dialect) -> StepSql {
        let arrays = self.key.iter().any(|(_, t)| t.element().is_some());
        match (&self.key[..], dialect) {
            ([one], Dialect::Postgres) if !arrays => StepSql::One(sql::delete_any_sql(table, one)),
            (key, Dialect::Postgres) if !arrays => StepSql::One(sql::delete_in_sql(table, key)),
            (key, _) => StepSql::PerRows {
                columns: key.to_vec(),
                conflict: Conflict::Fail,
            },
        }
    }

    /// The query that finds the rows whose keys `table` (quoted) holds already, for a
    /// plain insert into a keyed table: see [`sql::existing_keys_sql`].
    pub fn existing_keys_sql(&self, table: &str) -> Option<String> {
        let arrays = self.key.iter().any(|(_, t)| t.element().is_some());
        ((self.conflict == Conflict::Fail || self.probe_present) && !self.key.is_empty() && !arrays)
            .then(|| sql::existing_keys_sql(table, &self.key))
    }

    /// What writes the rows into `table` (quoted), by the method.
    pub fn rows_sql(&self, table: &str) -> (StepKind, StepSql) {
        match self.method {
            Method::Copy => (
                StepKind::Copy,
                StepSql::One(sql::copy_sql(table, &self.columns)),
            ),
            Method::FixedCopy => (
                StepKind::Copy,
                StepSql::One(sql::fixed_copy_sql(table, &self.columns, &self.conflict)),
            ),
            Method::Unnest => (
                StepKind::Insert,
                StepSql::One(sql::insert_sql(table, &self.columns, &self.conflict)),
            ),
            Method::Values => (
                StepKind::Insert,
                StepSql::PerRows {
                    columns: self.columns.clone(),
                    conflict: self.conflict.clone(),
                },
            ),
        }
    }
}

impl WriteSpec {
    /// How `output`, whose columns encode as `codecs`, is written to `table` of `dest`.
    pub fn new(
        dest: &Destination,
        table: &TableInfo,
        mut codecs: Vec<ColumnCodec>,
        output: &[Column],
    ) -> Result<WriteSpec, PostgresError> {
        for c in
            (codecs.iter_mut()).filter(|c| matches!(c.ty, PgType::Timestamptz | PgType::Timetz))
        {
            c.zone = dest.zone();
        }
        let mode = dest.options().mode;
        let key = key_columns(table, mode, output)?;
        if key.is_empty() && dest.autocommit() && !dest.options().at_least_once {
            return Err(PostgresError::KeylessAutocommit {
                table: table.name.clone(),
            });
        }
        let partition = partition_column(table, &codecs, output)?;
        let merge = match mode {
            WriteMode::Insert => Merge::None,
            WriteMode::InsertOrIgnore => Merge::KeepFirst,
            WriteMode::InsertOrReplace | WriteMode::InsertOrUpdate => Merge::KeepLast,
        };
        let mut columns: Vec<(String, PgType)> =
            codecs.iter().map(|t| (t.name.clone(), t.ty)).collect();
        let key_cols: Vec<(String, PgType)> = key.iter().map(|&i| columns[i].clone()).collect();
        let left_out: Vec<String> = (table.columns.iter())
            .filter(|c| !output.iter().any(|o| o.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        let (null_fill, reset) = cleared(table, mode, &left_out, &key_cols);
        columns.extend(null_fill.iter().cloned());
        let conflict = conflict(mode, dest.autocommit(), &columns, &key_cols, reset);
        let version = dest.hologres_version().and_then(HoloVersion::parse);
        let hologres = dest.dialect() == Dialect::Hologres;
        let needs = MethodNeeds {
            keyed: conflict != Conflict::Fail,
            defaults: matches!(&conflict, Conflict::Update { reset, .. } if !reset.is_empty()),
            arrays: columns.iter().any(|(_, t)| {
                t.element().is_some() || (hologres && matches!(t, PgType::Time | PgType::Uuid))
            }),
            no_copy: hologres && columns.iter().any(|(_, t)| *t == PgType::Uuid),
        };
        let (forced, dialect) = (dest.options().method, dest.dialect());
        let method = method::choose(forced, dialect, version, needs).map_err(|reason| {
            PostgresError::WriteMethod {
                table: table.name.clone(),
                reason,
            }
        })?;
        let key_order = method == Method::Copy
            && !key.is_empty()
            && !table
                .columns
                .iter()
                .any(|c| c.server_fills() && left_out.contains(&c.name));
        let probe_present = mode == WriteMode::Insert && dest.autocommit() && !key.is_empty();
        let shapes = ParamTypes {
            columns: columns.iter().map(|(_, t)| *t).collect(),
            key: key_cols.iter().map(|(_, t)| *t).collect(),
            null_fill: null_fill.len(),
        };
        Ok(WriteSpec {
            row: RowSpec {
                targets: codecs,
                key,
                partition,
                merge,
                table: table.name.clone(),
            },
            columns,
            key: key_cols,
            conflict,
            method,
            shapes,
            left_out,
            key_order,
            probe_present,
            fixed_copy_candidate: method::fixed_copy_candidate(forced, dialect, version, needs),
            rows_per_statement: if hologres {
                HOLOGRES_ROWS_PER_STATEMENT
            } else {
                usize::MAX
            },
        })
    }

    /// The steps of each of `n` writers for the staged batch: per table (`parent`, quoted,
    /// or the children `routes` name), its deletes, then its rows.
    pub fn steps(
        &self,
        staged: &Staged,
        routes: &[Route],
        parent: &str,
        dialect: Dialect,
        n: usize,
    ) -> Vec<Vec<Step>> {
        // Per writer: (table, deletes, rows), tables in order of first use.
        let mut work: Vec<Vec<TableWork>> = vec![Vec::new(); n];
        let table_of = |part: u32| -> Option<&str> {
            if self.row.partition.is_none() {
                return Some(parent);
            }
            match &routes[part as usize] {
                Route::Child(c) => Some(c.as_str()),
                Route::Reject(_) | Route::Missing => None,
            }
        };
        let mut add = |w: usize, table: &str, item: u32, delete: bool| {
            let list = &mut work[w];
            let i = match list.iter().position(|(t, _, _)| t == table) {
                Some(i) => i,
                None => {
                    list.push((table.to_owned(), Vec::new(), Vec::new()));
                    list.len() - 1
                }
            };
            if delete {
                list[i].1.push(item);
            } else {
                list[i].2.push(item);
            }
        };
        for (i, d) in staged.deletes.iter().enumerate() {
            if let Some(t) = table_of(d.part) {
                add(staged.writer_of(&d.key, i, n), t, i as u32, true);
            }
        }
        for (i, r) in staged.rows.iter().enumerate() {
            if !r.live {
                continue;
            }
            if let Some(t) = table_of(r.part) {
                add(staged.writer_of(&r.key, i, n), t, i as u32, false);
            }
        }
        (work.into_iter())
            .map(|tables| self.table_steps(staged, tables, dialect))
            .collect()
    }

    /// One writer's steps: per table, its deletes, then its rows.
    fn table_steps(&self, staged: &Staged, tables: Vec<TableWork>, dialect: Dialect) -> Vec<Step> {
        let mut steps = Vec::new();
        for (table, deletes, mut rows) in tables {
            if !deletes.is_empty() {
                steps.push(Step {
                    kind: StepKind::Delete,
                    sql: self.delete_sql(&table, dialect),
                    table: table.clone(),
                    items: deletes,
                    existing: None,
                    probe_first: false,
                    rows_per_statement: self.rows_per_statement,
                    child: self.row.partition.is_some(),
                });
            }
            if !rows.is_empty() {
                if self.key_order {
                    staged.sort_by_key(&mut rows);
                }
                let (kind, sql) = self.rows_sql(&table);
                steps.push(Step {
                    kind,
                    sql,
                    existing: self.existing_keys_sql(&table),
                    probe_first: self.probe_present,
                    rows_per_statement: self.rows_per_statement,
                    child: self.row.partition.is_some(),
                    table,
                    items: rows,
                });
            }
        }
        steps
    }

    /// Whether the server refused Fixed Copy itself (its options unknown or turned off),
    /// when the method was chosen (`asked` is auto), not asked for: then INSERT takes over.
    pub fn fixed_copy_refused(&self, asked: WriteMethod, e: &tokio_postgres::Error) -> bool {
        let chosen = asked == WriteMethod::Auto && self.method == Method::FixedCopy;
        chosen
            && e.as_db_error().is_some_and(|db| {
                let code = db.code().code();
                let message = db.message().to_ascii_lowercase();
                ["42601", "0A000", "22023"].contains(&code)
                    && ["stream_mode", "on_conflict"]
                        .iter()
                        .any(|o| message.contains(o))
            })
    }

    /// Switches from Fixed Copy to the INSERT the server's `version` allows.
    pub fn fall_back_to_insert(&mut self, version: Option<&str>) {
        self.method = match version.and_then(HoloVersion::parse) {
            Some(v) if v < HoloVersion::UNNEST => Method::Values,
            _ => Method::Unnest,
        };
    }
}

/// holo-client's `writeBatchSize`: the rows it puts in one statement at most.
const HOLOGRES_ROWS_PER_STATEMENT: usize = 512;

/// One table's work for one writer: the table, its deletes, its rows.
type TableWork = (String, Vec<u32>, Vec<u32>);

/// Indexes of the primary key's columns in `output`; none when the mode needs no key
/// and the output lacks one (deletes will then be refused).
fn key_columns(
    table: &TableInfo,
    mode: WriteMode,
    output: &[Column],
) -> Result<Vec<usize>, PostgresError> {
    if mode.is_upsert() && table.primary_key.is_empty() {
        return Err(PostgresError::NoPrimaryKey {
            table: table.name.clone(),
            mode,
        });
    }
    let mut key = Vec::new();
    for k in &table.primary_key {
        match output.iter().position(|c| &c.name == k) {
            Some(i) => key.push(i),
            None if mode.is_upsert() => {
                return Err(PostgresError::KeyNotInOutput {
                    table: table.name.clone(),
                    column: k.clone(),
                    mode,
                });
            }
            None => return Ok(Vec::new()),
        }
    }
    Ok(key)
}

/// The output column that picks the child of a LIST-partitioned table, and its type.
fn partition_column(
    table: &TableInfo,
    codecs: &[ColumnCodec],
    output: &[Column],
) -> Result<Option<(usize, PgType)>, PostgresError> {
    let Some(PartitionKey {
        strategy: 'l',
        column: Some(column),
    }) = &table.partition
    else {
        return Ok(None);
    };
    let bad = |reason: String| PostgresError::Partitioning {
        table: table.name.clone(),
        reason,
    };
    let i = output
        .iter()
        .position(|c| &c.name == column)
        .ok_or_else(|| {
            bad(format!(
                "the transform output has no column `{column}`, which picks the partition of \
             each row: output it"
            ))
        })?;
    let ty = codecs[i].ty;
    if !partition::supports(ty) {
        return Err(bad(format!(
            "its partition column `{column}` is {ty}, not text, an integer or a date"
        )));
    }
    Ok(Some((i, ty)))
}

/// What insert-or-replace does with the columns the output leaves out, as holo-client
/// (`UpsertStatementBuilder.prepareRecord` fills them in the client): written as NULL
/// (the Fixed Plan shape, `c = excluded.c`), or, for a column with a default (or of a
/// type the sink cannot send), reset to it with `c = DEFAULT`. Other modes clear nothing.
fn cleared(
    table: &TableInfo,
    mode: WriteMode,
    left_out: &[String],
    key: &[(String, PgType)],
) -> (Vec<(String, PgType)>, Vec<String>) {
    let mut null_fill = Vec::new();
    let mut reset = Vec::new();
    if mode != WriteMode::InsertOrReplace {
        return (null_fill, reset);
    }
    for c in &table.columns {
        if !left_out.contains(&c.name)
            || c.generated
            || c.identity
            || key.iter().any(|(k, _)| *k == c.name)
        {
            continue;
        }
        match c.pg_type() {
            Some(ty) if !c.has_default => null_fill.push((c.name.clone(), ty)),
            _ => reset.push(c.name.clone()),
        }
    }
    (null_fill, reset)
}

/// The conflict clause of the write mode: every written column is set from the new
/// row, the key included (as holo-client's builders write it).
fn conflict(
    mode: WriteMode,
    autocommit: bool,
    columns: &[(String, PgType)],
    key: &[(String, PgType)],
    reset: Vec<String>,
) -> Conflict {
    let key: Vec<String> = key.iter().map(|(n, _)| n.clone()).collect();
    let set = || -> Vec<String> { columns.iter().map(|(n, _)| n.clone()).collect() };
    match mode {
        WriteMode::Insert if autocommit && !key.is_empty() => Conflict::Nothing { key },
        WriteMode::Insert => Conflict::Fail,
        WriteMode::InsertOrIgnore => Conflict::Nothing { key },
        WriteMode::InsertOrUpdate => Conflict::Update {
            set: set(),
            key,
            reset: vec![],
        },
        WriteMode::InsertOrReplace => Conflict::Update {
            set: set(),
            key,
            reset,
        },
    }
}
