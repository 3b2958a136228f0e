//! `--create-table`: the table the transform output describes, its DDL (with Hologres
//! table properties), and creating it before the first write.

use tokio_postgres::error::SqlState;
use tracing::{info, warn};

use super::catalog::{self, PartitionKey, TableColumn, TableInfo};
use super::commit::Connector;
use super::error::PostgresError;
use super::sql;
use super::types::PgType;
use super::writer::Writer;
use super::{Dialect, PostgresSink};
use crate::db::TableName;
use crate::record::{Column, ColumnType};

impl PostgresSink {
    /// The table `--create-table` would create for `output`.
    pub(super) fn planned_table(&self, output: &[Column]) -> Result<TableInfo, PostgresError> {
        let spec = self
            .options
            .create_table
            .as_ref()
            .expect("a pending table has a spec");
        let bad = |reason: String| PostgresError::CreateSpec {
            table: self.table.name.clone(),
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
            if self.dialect == Dialect::Hologres
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
        if self.options.mode.is_upsert() && spec.primary_key.is_empty() {
            return Err(bad(format!(
                "--mode {} needs a key: give --primary-key",
                self.options.mode
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
            ..missing_table(&TableName {
                schema: self.table.schema.clone(),
                table: self.table.table.clone(),
            })
        })
    }

    /// The DDL `--create-table` runs: `CREATE TABLE`, then on Hologres the table
    /// properties (`CALL set_table_property`), in one transaction.
    pub fn create_table_sql(&self) -> Vec<String> {
        let Some(spec) = &self.options.create_table else {
            return Vec::new();
        };
        let columns: Vec<_> = self.output.iter().map(|c| (c.name.clone(), c.ty)).collect();
        let mut ddl = vec![sql::create_table_sql(
            &self.table.quoted(),
            &columns,
            &spec.primary_key,
            spec.partition_by.as_deref(),
        )];
        if self.dialect == Dialect::Hologres {
            for (k, v) in &spec.properties {
                ddl.push(sql::set_table_property_sql(
                    &self.table.schema,
                    &self.table.table,
                    k,
                    v,
                ));
            }
        }
        ddl
    }

    /// A connected writer 0, reconnecting if its connection was lost.
    async fn first_writer(&mut self) -> Result<&mut Writer, PostgresError> {
        let connector = Connector::new(
            &self.pg,
            &self.server,
            &self.hologres_version,
            self.options.statement_timeout_ms,
        );
        connector.ensure(&mut self.writers[0]).await
    }

    /// Creates the table `--create-table` asked for, if still missing (another process may
    /// have created it meanwhile: then that table is used).
    pub async fn create_pending_table(&mut self) -> Result<(), PostgresError> {
        if !self.create_pending {
            return Ok(());
        }
        if self.spec.is_none() {
            return Err(PostgresError::CreateSpec {
                table: self.table.name.clone(),
                reason: "the transform output is not known yet: bind first".into(),
            });
        }
        let ddl = self.create_table_sql();
        let in_transaction = self.hologres_version.is_some() && ddl.len() > 1;
        let script = if in_transaction {
            format!("BEGIN; {}; COMMIT", ddl.join("; "))
        } else {
            ddl[0].clone()
        };
        let table = self.table.name.clone();
        let hologres_dialect_on_postgres =
            self.dialect == Dialect::Hologres && self.hologres_version.is_none();
        if hologres_dialect_on_postgres && ddl.len() > 1 {
            warn!(table = %table, "table properties apply to Hologres only: not set on PostgreSQL");
        } else if self.dialect == Dialect::Postgres
            && self
                .options
                .create_table
                .as_ref()
                .is_some_and(|s| !s.properties.is_empty())
        {
            warn!(table = %table, "table properties apply to Hologres only: not set on PostgreSQL");
        }
        let w = self.first_writer().await?;
        match w.client.batch_execute(&script).await {
            Ok(()) => info!(table = %table, "created the table"),
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_TABLE) => {
                if in_transaction {
                    let _ = w.client.batch_execute("ROLLBACK").await;
                }
                info!(table = %table, "the table was created by someone else meanwhile");
            }
            Err(source) => {
                if in_transaction {
                    let _ = w.client.batch_execute("ROLLBACK").await;
                }
                return Err(PostgresError::CreateTable { table, source });
            }
        }
        let name = TableName {
            schema: self.table.schema.clone(),
            table: self.table.table.clone(),
        };
        let client = &self.writers[0].as_ref().expect("connected").client;
        let info = catalog::load_table(client, &name)
            .await
            .map_err(|source| PostgresError::Query {
                server: self.server.clone(),
                what: "read the table's columns from the catalog",
                source,
            })?
            .ok_or_else(|| PostgresError::TableNotFound {
                table: table.clone(),
                server: self.server.clone(),
            })?;
        self.table = info;
        self.create_pending = false;
        self.load_partitions().await?;
        let output = std::mem::take(&mut self.output);
        let staged = std::mem::take(&mut self.staged);
        let result = self.bind(&output);
        self.staged = staged;
        result
    }
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
