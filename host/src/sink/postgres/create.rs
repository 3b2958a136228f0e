//! `--create-table`: the table the transform output describes, and its DDL (with Hologres
//! table properties). The sink runs the DDL before its first write.

use super::Dialect;
use super::catalog::{PartitionKey, TableColumn, TableInfo};
use super::destination::Destination;
use super::error::PostgresError;
use super::sql;
use super::types::PgType;
use crate::db::TableName;
use crate::record::{Column, ColumnType};

/// The table `--create-table` would create for `output`.
pub(super) fn planned_table(
    dest: &Destination,
    output: &[Column],
) -> Result<TableInfo, PostgresError> {
    let spec = (dest.options().create_table)
        .as_ref()
        .expect("a pending table has a spec");
    let bad = |reason: String| PostgresError::CreateSpec {
        table: dest.table().name.clone(),
        reason,
    };
    let names: Vec<&str> = output.iter().map(|c| c.name.as_str()).collect();
    for k in &spec.primary_key {
        let Some(col) = output.iter().find(|c| &c.name == k) else {
            return Err(bad(format!(
                "--primary-key column `{k}` is not in the transform output (columns: {})",
                names.join(", ")
            )));
        };
        if dest.dialect() == Dialect::Hologres
            && matches!(col.ty, ColumnType::Float | ColumnType::Json)
        {
            return Err(bad(format!(
                "--primary-key column `{k}` is {}, which Hologres does not allow in a key",
                col.ty
            )));
        }
    }
    if let Some(p) = &spec.partition_by {
        if !names.contains(&p.as_str()) {
            return Err(bad(format!(
                "--partition-by column `{p}` is not in the transform output (columns: {})",
                names.join(", ")
            )));
        }
        if !spec.primary_key.is_empty() && !spec.primary_key.contains(p) {
            return Err(bad(format!(
                "--partition-by column `{p}` must be part of the --primary-key"
            )));
        }
    }
    if dest.options().mode.is_upsert() && spec.primary_key.is_empty() {
        return Err(bad(format!(
            "--mode {} needs a key: give --primary-key",
            dest.options().mode
        )));
    }
    let columns = output
        .iter()
        .map(|c| {
            let ty = sql::ddl_type(c.ty);
            let oid = match c.ty {
                ColumnType::Text => PgType::Text,
                ColumnType::Int => PgType::Int8,
                ColumnType::Float => PgType::Float8,
                ColumnType::Boolean => PgType::Bool,
                ColumnType::Json => PgType::Jsonb,
            }
            .oid();
            TableColumn {
                name: c.name.clone(),
                type_name: ty.to_owned(),
                oid,
                typmod: -1,
                not_null: spec.primary_key.contains(&c.name),
                has_default: false,
                identity: false,
                generated: false,
            }
        })
        .collect();
    Ok(TableInfo {
        columns,
        primary_key: spec.primary_key.clone(),
        partition: spec.partition_by.as_ref().map(|c| PartitionKey {
            strategy: 'l',
            column: Some(c.clone()),
        }),
        ..missing_table(dest.name())
    })
}

/// The DDL `--create-table` runs for `output`: `CREATE TABLE`, then on Hologres the
/// table properties (`CALL set_table_property`), in one transaction.
pub fn create_table_sql(dest: &Destination, output: &[Column]) -> Vec<String> {
    let Some(spec) = &dest.options().create_table else {
        return Vec::new();
    };
    let columns: Vec<_> = output.iter().map(|c| (c.name.clone(), c.ty)).collect();
    let mut ddl = vec![sql::create_table_sql(
        &dest.table().quoted(),
        &columns,
        &spec.primary_key,
        spec.partition_by.as_deref(),
    )];
    if dest.dialect() == Dialect::Hologres {
        for (k, v) in &spec.properties {
            ddl.push(sql::set_table_property_sql(
                &dest.table().schema,
                &dest.table().table,
                k,
                v,
            ));
        }
    }
    ddl
}

/// A table not created yet, known by name only.
pub(super) fn missing_table(name: &TableName) -> TableInfo {
    TableInfo {
        name: name.to_string(),
        schema: name.schema.clone(),
        table: name.table.clone(),
        oid: 0,
        columns: Vec::new(),
        primary_key: Vec::new(),
        partition: None,
    }
}
