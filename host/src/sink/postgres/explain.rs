//! `holo-host plan` for the PostgreSQL sink: the target, the mode, the column mapping and
//! the SQL a run would send, as text.

use std::fmt::{self, Write as _};

use super::catalog::PartitionKey;
use super::create;
use super::destination::Destination;
use super::method::Method;
use super::partition::Partitions;
use super::spec::WriteSpec;
use super::sql::{self, Conflict};
use super::writer::StepSql;
use crate::db::quote_ident;
use crate::record::Column;

/// What a run writing `output` to a destination would do, as text for `holo-host plan`.
pub(super) struct Explain<'a> {
    pub dest: &'a Destination,
    pub output: &'a [Column],
    pub partitions: Option<&'a Partitions>,
}

impl Explain<'_> {
    /// The target, the mode, the column mapping and the SQL; `spec` is how `output` binds.
    pub(super) fn text(&self, spec: Option<&WriteSpec>) -> String {
        let mut out = String::new();
        let Some(spec) = spec else {
            return "(not bound to a transform output)\n".into();
        };
        (self.explain_target(&mut out, spec))
            .and_then(|()| self.explain_partitions(&mut out))
            .and_then(|()| self.explain_columns(&mut out, spec))
            .and_then(|()| self.explain_sql(&mut out, spec))
            .expect("writing to a String cannot fail");
        out
    }

    /// The server, the dialect and the write mode.
    fn explain_target(&self, out: &mut String, spec: &WriteSpec) -> fmt::Result {
        let o = &self.dest.options();
        writeln!(
            out,
            "target:   table `{}` on {}",
            self.dest.table().name,
            self.dest.server()
        )?;
        match self.dest.hologres_version() {
            Some(v) => writeln!(out, "server:   Hologres ({v})")?,
            None => writeln!(out, "server:   PostgreSQL")?,
        }
        let how = if self.dest.autocommit() {
            "autocommit statements; the position is written after the rows"
        } else {
            "one transaction per batch holds its rows and its position"
        };
        writeln!(out, "dialect:  {} ({how})", self.dest.dialect().name())?;
        let key = if spec.key.is_empty() {
            "no key".to_owned()
        } else {
            format!(
                "key ({})",
                spec.key
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        writeln!(
            out,
            "mode:     {} ({key}); {} writer{}",
            o.mode,
            o.writers,
            if o.writers == 1 { "" } else { "s" }
        )?;
        let zone = self.dest.zone().map_or("UTC", |z| z.name());
        writeln!(
            out,
            "times:    timestamptz text without an offset is read in {zone}"
        )?;
        Ok(())
    }

    /// How rows find their partition, and what happens to a missing one.
    fn explain_partitions(&self, out: &mut String) -> fmt::Result {
        let o = &self.dest.options();
        if let Some(PartitionKey { strategy, column }) = &self.dest.table().partition {
            let column = column.as_deref().unwrap_or("(expression)");
            match self.partitions {
                Some(p) if *strategy == 'l' => {
                    let mut children: Vec<String> = p
                        .children()
                        .map(|(v, c)| format!("{c} ({})", v.as_deref().unwrap_or("NULL")))
                        .collect();
                    children.sort();
                    writeln!(
                        out,
                        "partitions: LIST ({column}), rows routed to the child holding their \
                         value; {} existing: {}",
                        children.len(),
                        if children.is_empty() {
                            "none".to_owned()
                        } else {
                            children.join(", ")
                        }
                    )?;
                    if p.auto() {
                        writeln!(
                            out,
                            "  missing children: created by Hologres (auto-partitioning)"
                        )?;
                    } else if o.create_partitions {
                        writeln!(
                            out,
                            "  missing children: created on demand, at most {} per run",
                            o.max_new_partitions
                        )?;
                    } else {
                        writeln!(
                            out,
                            "  missing children: rows dead-lettered (pass --create-partitions to \
                             create them)"
                        )?;
                    }
                }
                _ if *strategy == 'l' => writeln!(
                    out,
                    "partitions: LIST ({column}), created with the table; children created on \
                     demand: {}",
                    if o.create_partitions { "yes" } else { "no" }
                )?,
                _ => writeln!(out, "partitions: the server routes rows ({column})")?,
            }
        }
        Ok(())
    }

    /// Each output column with the table column it fills; the columns left to the server.
    fn explain_columns(&self, out: &mut String, spec: &WriteSpec) -> fmt::Result {
        writeln!(out, "\ncolumns (transform output -> table):")?;
        for (c, (name, ty)) in self.output.iter().zip(&spec.columns) {
            let declared = (self.dest.table())
                .column(name)
                .map_or(ty.name(), |tc| tc.type_name.as_str());
            let mark = if spec.key.iter().any(|(k, _)| k == name) {
                "  [key]"
            } else {
                ""
            };
            writeln!(
                out,
                "  {} ({}) -> {} ({declared}){mark}",
                c.name,
                c.ty,
                quote_ident(name)
            )?;
        }
        for name in &spec.left_out {
            let fill = match &spec.conflict {
                Conflict::Update { reset, .. } if reset.contains(name) => {
                    "default on insert, reset to its default on conflict"
                }
                _ if spec.columns.iter().any(|(c, _)| c == name) => {
                    "written as NULL (insert-or-replace clears it)"
                }
                _ => "filled by the server (default or NULL)",
            };
            writeln!(
                out,
                "  (not in the output) -> {} : {fill}",
                quote_ident(name)
            )?;
        }
        Ok(())
    }

    /// The statements of a run: the DDL when creating, the writes, the position.
    fn explain_sql(&self, out: &mut String, spec: &WriteSpec) -> fmt::Result {
        let o = &self.dest.options();
        writeln!(out, "\nSQL:")?;
        if self.dest.create_pending() {
            writeln!(out, "-- the table is missing: --create-table creates it")?;
            let ddl = create::create_table_sql(self.dest, self.output);
            if ddl.len() > 1 {
                writeln!(out, "BEGIN;")?;
            }
            for s in &ddl {
                writeln!(out, "{s};")?;
            }
            if ddl.len() > 1 {
                writeln!(out, "COMMIT;")?;
            }
        }
        let partitioned = spec.row.partition.is_some();
        let table = if partitioned {
            format!(
                "{}.{}",
                quote_ident(&self.dest.table().schema),
                quote_ident(&format!("{}_<value>", self.dest.table().table))
            )
        } else {
            self.dest.table().quoted()
        };
        if partitioned && o.create_partitions {
            writeln!(out, "-- a missing child, for each new value")?;
            writeln!(
                out,
                "CREATE TABLE {table} PARTITION OF {} FOR VALUES IN ('<value>');",
                self.dest.table().quoted()
            )?;
        }
        if !self.dest.autocommit() {
            writeln!(out, "BEGIN;")?;
        }
        let to = if partitioned { " (to each child)" } else { "" };
        if !spec.key.is_empty() {
            writeln!(out, "-- deletes, by key, before the rows of the batch{to}")?;
            write_step_sql(
                out,
                &spec.delete_sql(&table, self.dest.dialect()),
                true,
                &table,
            )?;
        }
        let order = if spec.key_order { ", in key order" } else { "" };
        let probe = if spec.fixed_copy_candidate && spec.method != Method::FixedCopy {
            " (Fixed Copy instead if the server takes a COPY of no rows at start-up)"
        } else {
            ""
        };
        writeln!(
            out,
            "-- the rows of the batch{to}: {}{order}{probe}",
            spec.method.name()
        )?;
        write_step_sql(out, &spec.rows_sql(&table).1, false, &table)?;
        writeln!(out, "-- the source position, after the rows")?;
        writeln!(out, "{};", self.dest.progress().upsert())?;
        if !self.dest.autocommit() {
            writeln!(out, "COMMIT;")?;
        }
        Ok(())
    }
}

/// A step's statement; for statements built per row count, the one for two rows, and how
/// many rows each carries at most.
fn write_step_sql(out: &mut String, step: &StepSql, delete: bool, table: &str) -> fmt::Result {
    match step {
        StepSql::One(text) => writeln!(out, "{text};"),
        StepSql::PerRows { columns, conflict } => {
            let text = if delete {
                sql::delete_each_sql(table, columns, 2)
            } else {
                sql::values_sql(table, columns, conflict, 2)
            };
            writeln!(
                out,
                "{text}; -- as many rows per statement as fit, up to {}",
                sql::max_rows_per_statement(columns.len())
            )
        }
    }
}
