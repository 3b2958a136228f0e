//! The destination table as the catalog describes it, and the check that binds the
//! transform's output columns to it before any data flows.

use std::fmt;

use crate::record::{Column, ColumnType};

use super::types::{ColumnCodec, PgType};
use crate::db::TableName;

/// One column of the destination table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    pub name: String,
    /// The declared type (`format_type`), e.g. `character varying(20)` or `text[]`.
    pub type_name: String,
    pub oid: u32,
    /// `atttypmod`: length of varchar(n), precision and scale of numeric(p,s); -1 if none.
    pub typmod: i32,
    pub not_null: bool,
    pub has_default: bool,
    /// `GENERATED … AS IDENTITY`.
    pub identity: bool,
    /// `GENERATED ALWAYS AS (…) STORED`: the server computes it, nobody may write it.
    pub generated: bool,
}

impl TableColumn {
    pub fn pg_type(&self) -> Option<PgType> {
        PgType::from_oid(self.oid)
    }

    /// The short type name when supported (`int8`), else the declared one (`text[]`).
    pub fn short_type(&self) -> &str {
        match self.pg_type() {
            Some(t) => t.name(),
            None => &self.type_name,
        }
    }

    /// Whether the server fills the column when a row leaves it out.
    pub fn server_fills(&self) -> bool {
        self.has_default || self.identity || self.generated
    }
}

/// How a partitioned table splits its rows (`pg_partitioned_table`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionKey {
    /// `l` (list), `r` (range) or `h` (hash).
    pub strategy: char,
    /// The key column when the key is one plain column; `None` for expressions and
    /// multi-column keys.
    pub column: Option<String>,
}

/// The destination table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// `schema.table`, as shown to people.
    pub name: String,
    pub schema: String,
    pub table: String,
    /// `pg_class.oid`; 0 for a table not created yet.
    pub oid: u32,
    /// In table order, dropped columns left out.
    pub columns: Vec<TableColumn>,
    /// Primary key columns in key order; empty without one.
    pub primary_key: Vec<String>,
    /// Set for a partitioned parent (`PARTITION BY …`).
    pub partition: Option<PartitionKey>,
}

impl TableInfo {
    /// `"schema"."table"`, safe to splice into SQL.
    pub fn quoted(&self) -> String {
        TableName {
            schema: self.schema.clone(),
            table: self.table.clone(),
        }
        .quoted()
    }

    pub fn column(&self, name: &str) -> Option<&TableColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Reads the table's columns from the catalog; `Ok(None)` if there is no such table.
pub async fn load_table(
    client: &tokio_postgres::Client,
    name: &TableName,
) -> Result<Option<TableInfo>, tokio_postgres::Error> {
    let rel = client
        .query_opt(
            "SELECT c.oid, c.relkind = 'p' FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'f')",
            &[&name.schema, &name.table],
        )
        .await?;
    let Some(rel) = rel else {
        return Ok(None);
    };
    let oid: u32 = rel.get(0);
    let partitioned: bool = rel.get(1);
    // `attgenerated` appeared in PostgreSQL 12; Hologres and older servers lack it.
    let has_generated = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_attribute \
             WHERE attrelid = 'pg_catalog.pg_attribute'::regclass AND attname = 'attgenerated'",
            &[],
        )
        .await?
        .is_some();
    let generated = if has_generated {
        "a.attgenerated <> ''"
    } else {
        "false"
    };
    let sql = format!(
        "SELECT a.attname::text, a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod), \
         a.atttypmod, a.attnotnull, a.atthasdef, a.attidentity <> '', {generated} \
         FROM pg_catalog.pg_attribute a \
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    );
    let rows = client.query(&sql, &[&oid]).await?;
    let columns = rows
        .iter()
        .map(|r| TableColumn {
            name: r.get(0),
            oid: r.get(1),
            type_name: r.get(2),
            typmod: r.get(3),
            not_null: r.get(4),
            has_default: r.get(5),
            identity: r.get(6),
            generated: r.get(7),
        })
        .collect();
    let primary_key = client
        .query(
            "SELECT a.attname::text FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid \
               AND a.attnum = ANY (i.indkey::int2[]) \
             WHERE i.indrelid = $1 AND i.indisprimary \
             ORDER BY pg_catalog.array_position(i.indkey::int2[], a.attnum)",
            &[&oid],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let partition = if partitioned {
        let row = client
            .query_one(
                "SELECT p.partstrat::text, p.partnatts::int4, a.attname::text \
                 FROM pg_catalog.pg_partitioned_table p \
                 LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = p.partrelid \
                   AND a.attnum = p.partattrs[0] \
                 WHERE p.partrelid = $1",
                &[&oid],
            )
            .await?;
        let strategy: String = row.get(0);
        let columns: i32 = row.get(1);
        Some(PartitionKey {
            strategy: strategy.chars().next().unwrap_or('?'),
            column: if columns == 1 { row.get(2) } else { None },
        })
    } else {
        None
    };
    Ok(Some(TableInfo {
        name: name.to_string(),
        schema: name.schema.clone(),
        table: name.table.clone(),
        oid,
        columns,
        primary_key,
        partition,
    }))
}

/// Why the transform output cannot be written to the table; one per problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindProblem {
    NoMatch {
        column: String,
        table: String,
        table_columns: String,
    },
    Duplicate {
        column: String,
    },
    Unsupported {
        column: String,
        table: String,
        type_name: String,
    },
    Incompatible {
        column: String,
        output_type: ColumnType,
        table: String,
        pg_type: PgType,
    },
    Generated {
        column: String,
        table: String,
    },
    NotFilled {
        column: String,
        table: String,
    },
}

impl fmt::Display for BindProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindProblem::NoMatch {
                column,
                table,
                table_columns,
            } => write!(
                f,
                "column `{column}` of the transform output has no match in table `{table}` \
                 (table columns: {table_columns})"
            ),
            BindProblem::Duplicate { column } => write!(
                f,
                "column `{column}` appears more than once in the transform output: rename one"
            ),
            BindProblem::Unsupported {
                column,
                table,
                type_name,
            } => {
                write!(
                    f,
                    "column `{column}` of table `{table}` has type {type_name}, which holo-host \
                     cannot write (supported: "
                )?;
                for (i, t) in PgType::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(t.name())?;
                }
                f.write_str(")")
            }
            BindProblem::Incompatible {
                column,
                output_type,
                table,
                pg_type,
            } => write!(
                f,
                "column `{column}` of the transform output is {output_type}, which cannot be \
                 written to column `{column}` ({pg_type}) of table `{table}`: output text or a \
                 matching type"
            ),
            BindProblem::Generated { column, table } => write!(
                f,
                "column `{column}` of table `{table}` is generated by the server and cannot be \
                 written: drop it from the transform output"
            ),
            BindProblem::NotFilled { column, table } => write!(
                f,
                "column `{column}` of table `{table}` is NOT NULL without a default, but the \
                 transform output does not fill it"
            ),
        }
    }
}

/// The transform output bound to the table: how to encode each output column.
#[derive(Debug, Clone)]
pub struct Binding {
    pub targets: Vec<ColumnCodec>,
}

/// Checks `output` against `table`; every problem is reported, not only the first.
pub fn bind(table: &TableInfo, output: &[Column]) -> Result<Binding, Vec<BindProblem>> {
    let mut problems = Vec::new();
    let mut targets = Vec::with_capacity(output.len());
    for (i, col) in output.iter().enumerate() {
        if output[..i].iter().any(|c| c.name == col.name) {
            problems.push(BindProblem::Duplicate {
                column: col.name.clone(),
            });
            continue;
        }
        let Some(tc) = table.column(&col.name) else {
            problems.push(BindProblem::NoMatch {
                column: col.name.clone(),
                table: table.name.clone(),
                table_columns: table
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
            continue;
        };
        if tc.generated {
            problems.push(BindProblem::Generated {
                column: col.name.clone(),
                table: table.name.clone(),
            });
            continue;
        }
        let Some(pg) = tc.pg_type() else {
            problems.push(BindProblem::Unsupported {
                column: col.name.clone(),
                table: table.name.clone(),
                type_name: tc.type_name.clone(),
            });
            continue;
        };
        if !pg.accepts(col.ty) {
            problems.push(BindProblem::Incompatible {
                column: col.name.clone(),
                output_type: col.ty,
                table: table.name.clone(),
                pg_type: pg,
            });
            continue;
        }
        targets.push(ColumnCodec::new(
            tc.name.clone(),
            pg,
            tc.typmod,
            tc.not_null,
        ));
    }
    for tc in &table.columns {
        if tc.not_null && !tc.server_fills() && !output.iter().any(|c| c.name == tc.name) {
            problems.push(BindProblem::NotFilled {
                column: tc.name.clone(),
                table: table.name.clone(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Binding { targets })
}

/// Binding problems as one message, one problem a line.
pub(crate) fn problem_lines(problems: &[BindProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, oid: u32, not_null: bool) -> TableColumn {
        TableColumn {
            name: name.into(),
            type_name: PgType::from_oid(oid).map_or("point".into(), |t| t.name().into()),
            oid,
            typmod: -1,
            not_null,
            has_default: false,
            identity: false,
            generated: false,
        }
    }

    fn table(columns: Vec<TableColumn>) -> TableInfo {
        TableInfo {
            name: "public.book_demo".into(),
            schema: "public".into(),
            table: "book_demo".into(),
            oid: 0,
            columns,
            primary_key: vec![],
            partition: None,
        }
    }

    #[test]
    fn binds_in_output_order() {
        let t = table(vec![col("id", 20, true), col("name", 25, false)]);
        let b = bind(
            &t,
            &[Column::text("name"), Column::new("id", ColumnType::Int)],
        )
        .unwrap();
        assert_eq!(b.targets[0].name, "name");
        assert_eq!(b.targets[1].ty, PgType::Int8);
    }

    #[test]
    fn reports_every_problem() {
        let mut generated = col("total", 20, false);
        generated.generated = true;
        let mut with_default = col("created", 1184, true);
        with_default.has_default = true;
        let t = table(vec![
            col("id", 20, true),
            col("name", 25, false),
            col("tags", 600, false),
            col("at", 1082, false),
            generated,
            with_default,
        ]);
        let output = [
            Column::text("name"),
            Column::text("name"),
            Column::text("sls_topic"),
            Column::text("tags"),
            Column::new("at", ColumnType::Boolean),
            Column::new("total", ColumnType::Int),
        ];
        let problems = bind(&t, &output).unwrap_err();
        let text = problem_lines(&problems);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert!(lines[0].contains("`name` appears more than once"));
        assert_eq!(
            lines[1],
            "column `sls_topic` of the transform output has no match in table \
             `public.book_demo` (table columns: id, name, tags, at, total, created)"
        );
        assert!(lines[2].starts_with("column `tags` of table `public.book_demo` has type point"));
        assert!(lines[3].contains("is boolean, which cannot be written to column `at` (date)"));
        assert!(lines[4].contains("`total` of table `public.book_demo` is generated"));
        assert!(lines[5].contains("`id` of table `public.book_demo` is NOT NULL"));
    }

    #[test]
    fn type_compatibility() {
        use ColumnType::*;
        assert!(PgType::Date.accepts(Text));
        assert!(PgType::Text.accepts(Json));
        assert!(PgType::Numeric.accepts(Int));
        assert!(PgType::Float4.accepts(Int));
        assert!(!PgType::Int8.accepts(Float));
        assert!(!PgType::Int4.accepts(Boolean));
        assert!(PgType::Jsonb.accepts(Json));
        assert!(!PgType::Jsonb.accepts(Int));
        assert!(!PgType::Uuid.accepts(Int));
        for t in PgType::ALL {
            assert_eq!(PgType::from_oid(t.oid()), Some(t));
            assert_eq!(
                PgType::ALL.iter().filter(|u| u.name() == t.name()).count(),
                1
            );
        }
    }
}
