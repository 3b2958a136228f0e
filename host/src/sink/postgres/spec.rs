//! The transform output bound to the table, and how it is written: which columns are the
//! key, which picks the partition, the conflict clause of the write mode, COPY or INSERT.

use super::catalog::PartitionKey;
use super::error::PostgresError;
use super::options::WriteMode;
use super::partition;
use super::sql::Conflict;
use super::staging::{Merge, RowSpec};
use super::types::{ColumnCodec, PgType};
use super::writer::Shapes;
use super::{Dialect, PostgresSink};
use crate::record::Column;

/// The output bound to the table, and how it is written.
#[derive(Debug, Clone)]
pub(super) struct WriteSpec {
    pub row: RowSpec,
    pub columns: Vec<(String, PgType)>,
    pub key: Vec<(String, PgType)>,
    pub conflict: Conflict,
    pub copy: bool,
    pub shapes: Shapes,
    /// Table columns the output leaves to the server.
    pub left_out: Vec<String>,
}

impl PostgresSink {
    /// How `output`, whose columns encode as `codecs`, is written to the table.
    pub(super) fn write_spec(
        &self,
        mut codecs: Vec<ColumnCodec>,
        output: &[Column],
    ) -> Result<WriteSpec, PostgresError> {
        for c in codecs.iter_mut().filter(|c| c.ty == PgType::Timestamptz) {
            c.zone = self.zone;
        }
        let table = &self.table;
        let mode = self.options.mode;
        let key = self.key_columns(output)?;
        let partition = self.partition_column(&codecs, output)?;
        let merge = match mode {
            WriteMode::Insert => Merge::None,
            WriteMode::InsertOrIgnore => Merge::KeepFirst,
            WriteMode::InsertOrReplace | WriteMode::InsertOrUpdate => Merge::KeepLast,
        };
        let columns: Vec<(String, PgType)> =
            codecs.iter().map(|t| (t.name.clone(), t.ty)).collect();
        let key_cols: Vec<(String, PgType)> = key.iter().map(|&i| columns[i].clone()).collect();
        let left_out: Vec<String> = (table.columns.iter())
            .filter(|c| !output.iter().any(|o| o.name == c.name))
            .map(|c| c.name.clone())
            .collect();
        let conflict = self.conflict(&columns, &key_cols, &left_out);
        let copy = conflict == Conflict::Fail && self.dialect == Dialect::Postgres;
        let shapes = Shapes {
            columns: columns.iter().map(|(_, t)| *t).collect(),
            key: key_cols.iter().map(|(_, t)| *t).collect(),
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
            copy,
            shapes,
            left_out,
        })
    }

    /// Indexes of the primary key's columns in `output`; none when the mode needs no key
    /// and the output lacks one (deletes will then be refused).
    fn key_columns(&self, output: &[Column]) -> Result<Vec<usize>, PostgresError> {
        let table = &self.table;
        let mode = self.options.mode;
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
        &self,
        codecs: &[ColumnCodec],
        output: &[Column],
    ) -> Result<Option<(usize, PgType)>, PostgresError> {
        let table = &self.table;
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

    /// The conflict clause of the write mode.
    fn conflict(
        &self,
        columns: &[(String, PgType)],
        key: &[(String, PgType)],
        left_out: &[String],
    ) -> Conflict {
        let key: Vec<String> = key.iter().map(|(n, _)| n.clone()).collect();
        let set = || -> Vec<String> {
            (columns.iter())
                .map(|(n, _)| n.clone())
                .filter(|n| !key.contains(n))
                .collect()
        };
        match self.options.mode {
            WriteMode::Insert if self.autocommit && !key.is_empty() => Conflict::Nothing { key },
            WriteMode::Insert => Conflict::Fail,
            WriteMode::InsertOrIgnore => Conflict::Nothing { key },
            WriteMode::InsertOrUpdate => Conflict::Update {
                set: set(),
                key,
                reset: vec![],
            },
            WriteMode::InsertOrReplace => {
                let reset = (self.table.columns.iter())
                    .filter(|c| {
                        left_out.contains(&c.name)
                            && !c.generated
                            && !c.identity
                            && !key.contains(&c.name)
                    })
                    .map(|c| c.name.clone())
                    .collect();
                Conflict::Update {
                    set: set(),
                    key,
                    reset,
                }
            }
        }
    }
}
