//! The SQL the sink sends, generated from the bound columns: the keyed write (`INSERT …
//! SELECT * FROM unnest($1::type[], …) ON CONFLICT …`), the delete by key, COPY, and the
//! DDL of `--create-table` and `--create-partitions`. Pure text: no I/O here.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::types::PgType;
use crate::db::quote_ident;
use crate::record::ColumnType;

/// Longest identifier in bytes (NAMEDATALEN - 1).
pub const MAX_IDENT_BYTES: usize = 63;

/// What an insert does when the key is already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Nothing: a duplicate key fails the statement (plain `insert`).
    Fail,
    /// `ON CONFLICT (key) DO NOTHING`.
    Nothing { key: Vec<String> },
    /// `ON CONFLICT (key) DO UPDATE SET c = excluded.c …, d = DEFAULT …`.
    Update {
        key: Vec<String>,
        /// Columns taken from the new row.
        set: Vec<String>,
        /// Columns reset to their default (NULL without one).
        reset: Vec<String>,
    },
}

/// `"a", "b"`.
fn ident_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, n) in names.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&quote_ident(n));
    }
    out
}

/// `unnest($1::int8[], $2::text[])`: one binary array parameter per column.
fn unnest_params(types: impl IntoIterator<Item = PgType>) -> String {
    let mut out = String::from("unnest(");
    for (i, t) in types.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write!(out, "${}::{}[]", i + 1, t.name()).expect("writing to a String cannot fail");
    }
    out.push(')');
    out
}

/// One statement for a whole batch: every column travels as one array parameter.
pub fn insert_sql(table: &str, columns: &[(String, PgType)], conflict: &Conflict) -> String {
    let names = ident_list(columns.iter().map(|(n, _)| n.as_str()));
    let mut sql = format!(
        "INSERT INTO {table} ({names}) SELECT * FROM {} AS d({names})",
        unnest_params(columns.iter().map(|(_, t)| *t))
    );
    match conflict {
        Conflict::Fail => {}
        Conflict::Nothing { key } => {
            write!(
                sql,
                " ON CONFLICT ({}) DO NOTHING",
                ident_list(key.iter().map(String::as_str))
            )
            .expect("writing to a String cannot fail");
        }
        Conflict::Update { key, set, reset } => {
            let key = ident_list(key.iter().map(String::as_str));
            if set.is_empty() && reset.is_empty() {
                write!(sql, " ON CONFLICT ({key}) DO NOTHING")
            } else {
                let assignments: Vec<String> = set
                    .iter()
                    .map(|c| format!("{q} = excluded.{q}", q = quote_ident(c)))
                    .chain(
                        reset
                            .iter()
                            .map(|c| format!("{} = DEFAULT", quote_ident(c))),
                    )
                    .collect();
                write!(
                    sql,
                    " ON CONFLICT ({key}) DO UPDATE SET {}",
                    assignments.join(", ")
                )
            }
            .expect("writing to a String cannot fail");
        }
    }
    sql
}

/// Deletes the rows whose key is in the array parameters.
pub fn delete_sql(table: &str, key: &[(String, PgType)]) -> String {
    format!(
        "DELETE FROM {table} WHERE ({}) IN (SELECT * FROM {})",
        ident_list(key.iter().map(|(n, _)| n.as_str())),
        unnest_params(key.iter().map(|(_, t)| *t))
    )
}

/// Binary COPY of the columns, in output order.
pub fn copy_sql(table: &str, columns: &[(String, PgType)]) -> String {
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT binary)",
        ident_list(columns.iter().map(|(n, _)| n.as_str()))
    )
}

/// The column type `--create-table` gives a transform column type.
pub fn ddl_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "text",
        ColumnType::Int => "int8",
        ColumnType::Float => "float8",
        ColumnType::Boolean => "boolean",
        ColumnType::Json => "jsonb",
    }
}

/// `CREATE TABLE` for the transform's output columns; key columns are NOT NULL.
pub fn create_table_sql(
    table: &str,
    columns: &[(String, ColumnType)],
    primary_key: &[String],
    partition_by: Option<&str>,
) -> String {
    let mut sql = format!("CREATE TABLE {table} (");
    for (i, (name, ty)) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&quote_ident(name));
        sql.push(' ');
        sql.push_str(ddl_type(*ty));
        if primary_key.contains(name) {
            sql.push_str(" NOT NULL");
        }
    }
    if !primary_key.is_empty() {
        write!(
            sql,
            ", PRIMARY KEY ({})",
            ident_list(primary_key.iter().map(String::as_str))
        )
        .expect("writing to a String cannot fail");
    }
    sql.push(')');
    if let Some(col) = partition_by {
        write!(sql, " PARTITION BY LIST ({})", quote_ident(col))
            .expect("writing to a String cannot fail");
    }
    sql
}

/// The table as `set_table_property` takes it: `schema.table`, quoted only when needed.
fn property_table_name(schema: &str, table: &str) -> String {
    let plain = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if plain(schema) && plain(table) {
        format!("{schema}.{table}")
    } else {
        format!("{}.{}", quote_ident(schema), quote_ident(table))
    }
}

/// `CALL set_table_property('schema.table', 'name', 'value')` (Hologres).
pub fn set_table_property_sql(schema: &str, table: &str, name: &str, value: &str) -> String {
    format!(
        "CALL set_table_property({}, {}, {})",
        quote_literal(&property_table_name(schema, table)),
        quote_literal(name),
        quote_literal(value)
    )
}

/// A child of a LIST-partitioned table for one value; `None` is the NULL partition.
pub fn create_partition_sql(child: &str, parent: &str, value: Option<&str>) -> String {
    let value = value.map_or_else(|| "NULL".to_owned(), quote_literal);
    format!("CREATE TABLE {child} PARTITION OF {parent} FOR VALUES IN ({value})")
}

/// A string literal that means `s` whatever `standard_conforming_strings` says:
/// `'it''s'`, and `E'a\\b'` when `s` holds a backslash.
pub fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The name of the child partition of `parent` for `value`: `parent_value` when the value
/// is made of letters (any script), digits, `_` and `-` and fits; otherwise the other
/// characters become `_`, the name is cut to fit 63 bytes, and a hash of the value makes
/// it unique (`parent_a_b_1f2e3d4c`). `salt` > 0 picks another name after a collision.
pub fn child_name(parent: &str, value: Option<&str>, salt: u32) -> String {
    let (text, exact) = match value {
        None => ("null".to_owned(), false),
        Some(v) => {
            let safe: String = v
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let exact = safe == v && !v.is_empty();
            (safe, exact)
        }
    };
    let plain = format!("{parent}_{text}");
    if exact && salt == 0 && plain.len() <= MAX_IDENT_BYTES {
        return plain;
    }
    let mut hasher = Sha256::new();
    match value {
        None => hasher.update([0u8]),
        Some(v) => {
            hasher.update([1u8]);
            hasher.update(v.as_bytes());
        }
    }
    if salt > 0 {
        hasher.update(salt.to_le_bytes());
    }
    let digest = hasher.finalize();
    let mut suffix = String::from("_");
    for b in &digest[..4] {
        write!(suffix, "{b:02x}").expect("writing to a String cannot fail");
    }
    let room = MAX_IDENT_BYTES - suffix.len();
    let mut name = truncate_bytes(&plain, room).to_owned();
    name.push_str(&suffix);
    name
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(list: &[(&str, PgType)]) -> Vec<(String, PgType)> {
        list.iter().map(|(n, t)| (n.to_string(), *t)).collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keyed_writes() {
        let c = cols(&[
            ("id", PgType::Int8),
            ("name", PgType::Text),
            ("n", PgType::Int4),
        ]);
        let t = r#""s"."t""#;
        assert_eq!(
            insert_sql(t, &c, &Conflict::Fail),
            r#"INSERT INTO "s"."t" ("id", "name", "n") SELECT * FROM unnest($1::int8[], $2::text[], $3::int4[]) AS d("id", "name", "n")"#
        );
        assert!(
            insert_sql(
                t,
                &c,
                &Conflict::Nothing {
                    key: names(&["id"])
                }
            )
            .ends_with(r#"AS d("id", "name", "n") ON CONFLICT ("id") DO NOTHING"#)
        );
        let update = Conflict::Update {
            key: names(&["id"]),
            set: names(&["name", "n"]),
            reset: vec![],
        };
        assert!(insert_sql(t, &c, &update).ends_with(
            r#"ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "n" = excluded."n""#
        ));
        let replace = Conflict::Update {
            key: names(&["id"]),
            set: names(&["name"]),
            reset: names(&["note"]),
        };
        assert!(
            insert_sql(t, &c, &replace)
                .ends_with(r#"DO UPDATE SET "name" = excluded."name", "note" = DEFAULT"#)
        );
        // Only key columns: nothing to update.
        let keys_only = Conflict::Update {
            key: names(&["id"]),
            set: vec![],
            reset: vec![],
        };
        assert!(insert_sql(t, &c, &keys_only).ends_with("DO NOTHING"));
    }

    #[test]
    fn deletes_and_copy() {
        let k = cols(&[("id", PgType::Int8), ("day", PgType::Date)]);
        assert_eq!(
            delete_sql(r#""s"."t""#, &k),
            r#"DELETE FROM "s"."t" WHERE ("id", "day") IN (SELECT * FROM unnest($1::int8[], $2::date[]))"#
        );
        assert_eq!(
            copy_sql(r#""s"."t""#, &k),
            r#"COPY "s"."t" ("id", "day") FROM STDIN (FORMAT binary)"#
        );
    }

    #[test]
    fn table_ddl() {
        let c = vec![
            ("id".to_string(), ColumnType::Text),
            ("n".to_string(), ColumnType::Int),
            ("doc".to_string(), ColumnType::Json),
        ];
        assert_eq!(
            create_table_sql(r#""public"."r""#, &c, &names(&["id"]), Some("id")),
            r#"CREATE TABLE "public"."r" ("id" text NOT NULL, "n" int8, "doc" jsonb, PRIMARY KEY ("id")) PARTITION BY LIST ("id")"#
        );
        assert_eq!(
            create_table_sql(r#""public"."r""#, &c[..1], &[], None),
            r#"CREATE TABLE "public"."r" ("id" text)"#
        );
        assert_eq!(
            set_table_property_sql("public", "book_order", "orientation", "column"),
            "CALL set_table_property('public.book_order', 'orientation', 'column')"
        );
        assert_eq!(
            set_table_property_sql("Sales", "o'k", "bitmap_columns", "a,b"),
            r#"CALL set_table_property('"Sales"."o''k"', 'bitmap_columns', 'a,b')"#
        );
    }

    #[test]
    fn literals_are_quoted_safely() {
        assert_eq!(quote_literal("嫌われる勇気"), "'嫌われる勇気'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\b"), r"E'a\\b'");
        assert_eq!(
            quote_literal(r"'; DROP TABLE t; --\"),
            r"E'''; DROP TABLE t; --\\'"
        );
        assert_eq!(
            create_partition_sql(r#""s"."p_1""#, r#""s"."p""#, Some("1")),
            r#"CREATE TABLE "s"."p_1" PARTITION OF "s"."p" FOR VALUES IN ('1')"#
        );
        assert_eq!(
            create_partition_sql(r#""s"."p_null""#, r#""s"."p""#, None),
            r#"CREATE TABLE "s"."p_null" PARTITION OF "s"."p" FOR VALUES IN (NULL)"#
        );
    }

    #[test]
    fn child_names() {
        assert_eq!(child_name("ratings", Some("7"), 0), "ratings_7");
        assert_eq!(
            child_name("ratings", Some("嫌われる勇気"), 0),
            "ratings_嫌われる勇気"
        );
        assert_eq!(child_name("d", Some("2024-01-31"), 0), "d_2024-01-31");
        // Spaces, quotes and slashes become `_`, and a hash keeps distinct values apart.
        let a = child_name("p", Some("a b"), 0);
        let b = child_name("p", Some("a/b"), 0);
        assert!(
            a.starts_with("p_a_b_") && a.len() == "p_a_b_".len() + 8,
            "{a}"
        );
        assert_ne!(a, b);
        assert_ne!(child_name("p", Some("a_b"), 0), a);
        let q = child_name("p", Some(r#"x"; DROP TABLE p; --"#), 0);
        assert!(
            q.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-'),
            "{q}"
        );
        assert!(child_name("p", None, 0).starts_with("p_null_"));
        assert_ne!(child_name("p", None, 0), child_name("p", Some("null"), 0));
        // Long values are cut on a character boundary to 63 bytes.
        let long = "長".repeat(40);
        let n = child_name("ratings", Some(&long), 0);
        assert!(n.len() <= MAX_IDENT_BYTES, "{n} is {} bytes", n.len());
        assert!(n.starts_with("ratings_長長"));
        assert_ne!(n, child_name("ratings", Some(&"長".repeat(41)), 0));
        // Another salt, another name.
        assert_ne!(child_name("p", Some("7"), 1), "p_7");
        assert_ne!(child_name("p", Some("7"), 1), child_name("p", Some("7"), 2));
        assert_eq!(child_name("p", Some(""), 0).len(), "p__".len() + 8);
    }
}
