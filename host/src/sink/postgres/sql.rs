//! The SQL the sink sends, generated from the bound columns: the writes in the shapes of
//! holo-client's builders (`INSERT … SELECT unnest($1::type[]), … ON CONFLICT …`, multi-row
//! `VALUES`, Fixed Copy), deletes by key, binary COPY, and the DDL of `--create-table` and
//! `--create-partitions`. Pure text: no I/O here.

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
        /// Columns taken from the new row: every written column, the key included, as
        /// holo-client writes them.
        set: Vec<String>,
        /// Columns reset to their default (left out of the row, and having one).
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

fn names(columns: &[(String, PgType)]) -> String {
    ident_list(columns.iter().map(|(n, _)| n.as_str()))
}

/// ` ON CONFLICT …` of `conflict`, or nothing.
fn conflict_clause(conflict: &Conflict) -> String {
    match conflict {
        Conflict::Fail => String::new(),
        Conflict::Nothing { key } => format!(
            " ON CONFLICT ({}) DO NOTHING",
            ident_list(key.iter().map(String::as_str))
        ),
        Conflict::Update { key, set, reset } => {
            let key = ident_list(key.iter().map(String::as_str));
            if set.is_empty() && reset.is_empty() {
                return format!(" ON CONFLICT ({key}) DO NOTHING");
            }
            let assignments: Vec<String> = (set.iter())
                .map(|c| format!("{q} = excluded.{q}", q = quote_ident(c)))
                .chain(
                    reset
                        .iter()
                        .map(|c| format!("{} = DEFAULT", quote_ident(c))),
                )
                .collect();
            format!(
                " ON CONFLICT ({key}) DO UPDATE SET {}",
                assignments.join(", ")
            )
        }
    }
}

/// One statement for a whole batch, every column one array parameter, in the Fixed Plan
/// shape of holo-client's `UnnestUpsertStatementBuilder`: `INSERT INTO t (a, b) SELECT
/// unnest($1::int8[]), unnest($2::text[]) ON CONFLICT …`.
pub fn insert_sql(table: &str, columns: &[(String, PgType)], conflict: &Conflict) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) SELECT ", names(columns));
    for (i, (_, t)) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        write!(sql, "unnest(${}::{}[])", i + 1, t.name()).expect("writing to a String cannot fail");
    }
    sql.push_str(&conflict_clause(conflict));
    sql
}

/// `rows` rows of scalar parameters, as holo-client's `UpsertStatementBuilder` writes
/// before Hologres 1.1.38: `INSERT INTO t (a, b) VALUES ($1::int8, $2::text), (…) …`.
pub fn values_sql(
    table: &str,
    columns: &[(String, PgType)],
    conflict: &Conflict,
    rows: usize,
) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", names(columns));
    push_rows(&mut sql, columns, rows, (", ", ", "), |n, _, t| {
        format!("${n}::{}", t.name())
    });
    sql.push_str(&conflict_clause(conflict));
    sql
}

/// Rows per statement of [`values_sql`] and [`delete_each_sql`]: the largest power of two
/// that keeps the parameters within 32767 (holo-client's `maxLevel`).
pub fn max_rows_per_statement(params_per_row: usize) -> usize {
    let fit = (i16::MAX as usize / params_per_row.max(1)).max(1);
    1 << fit.ilog2()
}

/// Deletes by a one-column key, the Fixed Plan shape: `DELETE FROM t WHERE "k" =
/// ANY($1::int8[])`.
pub fn delete_any_sql(table: &str, key: &(String, PgType)) -> String {
    format!(
        "DELETE FROM {table} WHERE {} = ANY($1::{}[])",
        quote_ident(&key.0),
        key.1.name()
    )
}

/// Deletes by a key of several columns on Hologres, as holo-client's
/// `UpsertStatementBuilder.buildDeleteSqlTemplate`: every key column with `=`, rows joined
/// by `OR`: `DELETE FROM t WHERE ("a" = $1::int8 AND "b" = $2::text) OR (…)`.
pub fn delete_each_sql(table: &str, key: &[(String, PgType)], rows: usize) -> String {
    let mut sql = format!("DELETE FROM {table} WHERE ");
    push_rows(&mut sql, key, rows, (" AND ", " OR "), |n, name, t| {
        format!("{} = ${n}::{}", quote_ident(name), t.name())
    });
    sql
}

/// `rows` parenthesized groups of one item per column, numbering parameters from `$1`:
/// `($1, $2), ($3, $4)` for VALUES, `(a = $1 AND b = $2) OR (…)` for deletes: `sep` joins the
/// items of a row, `between` the rows.
fn push_rows(
    sql: &mut String,
    columns: &[(String, PgType)],
    rows: usize,
    (sep, between): (&str, &str),
    item: impl Fn(usize, &str, PgType) -> String,
) {
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(between);
        }
        sql.push('(');
        for (i, (name, t)) in columns.iter().enumerate() {
            n += 1;
            if i > 0 {
                sql.push_str(sep);
            }
            sql.push_str(&item(n, name, *t));
        }
        sql.push(')');
    }
}

/// Deletes by a key of several columns on PostgreSQL, one statement for the batch: the
/// key columns as array parameters.
pub fn delete_in_sql(table: &str, key: &[(String, PgType)]) -> String {
    let mut arrays = String::new();
    for (i, (_, t)) in key.iter().enumerate() {
        if i > 0 {
            arrays.push_str(", ");
        }
        write!(arrays, "${}::{}[]", i + 1, t.name()).expect("writing to a String cannot fail");
    }
    format!(
        "DELETE FROM {table} WHERE ({}) IN (SELECT * FROM unnest({arrays}))",
        names(key)
    )
}

/// Which of the keys `$1…` (one array per key column, row by row) `table` holds already:
/// the ordinal of each (from 1), the server's detail for the duplicate (`Key (id)=(7)
/// already exists.`) and the name of the primary key constraint a plain insert of that
/// row violates. A failed insert uses it to refuse every such row at once instead of
/// finding them one by one.
pub fn existing_keys_sql(table: &str, key: &[(String, PgType)]) -> String {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let (mut arrays, mut names, mut values, mut matches) =
        (String::new(), String::new(), String::new(), String::new());
    for (i, (name, t)) in key.iter().enumerate() {
        let (sep, and) = if i > 0 { (", ", " AND ") } else { ("", "") };
        let quoted = quote_ident(name);
        write!(arrays, "{sep}${}::{}[]", i + 1, t.name()).expect("writing to a String");
        write!(names, "{sep}quote_ident({})", literal(name)).expect("writing to a String");
        write!(values, "{sep}u.{quoted}::text").expect("writing to a String");
        write!(matches, "{and}t.{quoted} = u.{quoted}").expect("writing to a String");
    }
    format!(
        "SELECT u.holo_ordinal, \
         format('Key (%s)=(%s) already exists.', concat_ws(', ', {names}), concat_ws(', ', {values})), \
         (SELECT conname::text FROM pg_catalog.pg_constraint \
          WHERE conrelid = {}::regclass AND contype = 'p') \
         FROM unnest({arrays}) WITH ORDINALITY AS u({}, holo_ordinal) \
         WHERE EXISTS (SELECT 1 FROM {table} t WHERE {matches})",
        literal(table),
        self::names(key)
    )
}

/// Binary COPY of the columns, in output order.
pub fn copy_sql(table: &str, columns: &[(String, PgType)]) -> String {
    format!(
        "COPY {table} ({}) FROM STDIN (FORMAT binary)",
        names(columns)
    )
}

/// Hologres Fixed Copy, as holo-client's `CopyUtil.buildCopyInSql` writes it in stream
/// mode: `COPY t (a, b) FROM STDIN WITH (stream_mode true, format binary, on_conflict
/// update)`; without a key, no `on_conflict`.
pub fn fixed_copy_sql(table: &str, columns: &[(String, PgType)], conflict: &Conflict) -> String {
    let on_conflict = match conflict {
        Conflict::Fail => "",
        Conflict::Nothing { .. } => ", on_conflict ignore",
        Conflict::Update { .. } => ", on_conflict update",
    };
    format!(
        "COPY {table} ({}) FROM STDIN WITH (stream_mode true, format binary{on_conflict})",
        names(columns)
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

    /// holo-client's text and ours, compared without what does not change the statement:
    /// case, identifier quotes, spaces, and the placeholders (`?` there, `$n::type` here).
    fn same_as_holo_client(ours: &str, theirs: &str) {
        let normal = |s: &str| -> String {
            let mut out = String::new();
            let mut chars = s.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '$' => {
                        // `$1::int8[]` → `?::int8[]`, `$1::int8` → `?`.
                        while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                            chars.next();
                        }
                        out.push('?');
                    }
                    '"' | ' ' => {}
                    c => out.extend(c.to_lowercase()),
                }
            }
            out
        };
        let ours_normal = normal(ours);
        // holo-client's VALUES and deletes bind plain `?`: our scalar casts are extra there.
        let mut plain = ours_normal.clone();
        for t in ["int8", "text", "int4"] {
            plain = plain
                .replace(&format!("::{t}[]"), &format!("\u{1}{t}"))
                .replace(&format!("::{t}"), "")
                .replace(&format!("\u{1}{t}"), &format!("::{t}[]"));
        }
        let theirs = normal(theirs);
        assert!(
            theirs == ours_normal || theirs == plain,
            "ours:   {ours}\ntheirs: {theirs}"
        );
    }

    /// The table of the holo-client examples: `(id int8 PRIMARY KEY, name text, n int4)`.
    fn example() -> Vec<(String, PgType)> {
        cols(&[
            ("id", PgType::Int8),
            ("name", PgType::Text),
            ("n", PgType::Int4),
        ])
    }

    /// Pinned against the statements holo-client builds for the same table, traced from
    /// `holo-client/src/main/java/com/alibaba/hologres/client/impl/UnnestUpsertStatementBuilder.java`
    /// (`buildInsertSql`), `UpsertStatementBuilder.java` (`buildInsertSql`,
    /// `buildDeleteSqlTemplate`) and `copy/CopyUtil.java` (`buildCopyInSql`) in
    /// aliyun/alibabacloud-hologres-connectors.
    #[test]
    fn writes_in_holo_clients_shapes() {
        let c = example();
        let t = r#""public"."t""#;
        let update = Conflict::Update {
            key: names(&["id"]),
            set: names(&["id", "name", "n"]),
            reset: vec![],
        };
        let ignore = Conflict::Nothing {
            key: names(&["id"]),
        };
        assert_eq!(
            insert_sql(t, &c, &update),
            r#"INSERT INTO "public"."t" ("id", "name", "n") SELECT unnest($1::int8[]), unnest($2::text[]), unnest($3::int4[]) ON CONFLICT ("id") DO UPDATE SET "id" = excluded."id", "name" = excluded."name", "n" = excluded."n""#
        );
        same_as_holo_client(
            &insert_sql(t, &c, &update),
            r#"insert into "public"."t"(id,name,n) select unnest(?::int8[]),unnest(?::text[]),unnest(?::int4[]) on conflict (id) do update set id=excluded.id,name=excluded.name,n=excluded.n"#,
        );
        same_as_holo_client(
            &insert_sql(t, &c, &ignore),
            r#"insert into "public"."t"(id,name,n) select unnest(?::int8[]),unnest(?::text[]),unnest(?::int4[]) on conflict (id) do nothing"#,
        );
        same_as_holo_client(
            &insert_sql(t, &c, &Conflict::Fail),
            r#"insert into "public"."t"(id,name,n) select unnest(?::int8[]),unnest(?::text[]),unnest(?::int4[])"#,
        );
        assert_eq!(
            values_sql(t, &c, &update, 2),
            r#"INSERT INTO "public"."t" ("id", "name", "n") VALUES ($1::int8, $2::text, $3::int4), ($4::int8, $5::text, $6::int4) ON CONFLICT ("id") DO UPDATE SET "id" = excluded."id", "name" = excluded."name", "n" = excluded."n""#
        );
        same_as_holo_client(
            &values_sql(t, &c, &update, 2),
            r#"insert into "public"."t"(id,name,n) values (?,?,?), (?,?,?) on conflict (id) do update set id=excluded.id,name=excluded.name,n=excluded.n"#,
        );
        // Deletes: holo-client ORs one `(k=?)` per row; one key column here is `= ANY`.
        let k2 = cols(&[("k1", PgType::Int8), ("k2", PgType::Text)]);
        same_as_holo_client(
            &delete_each_sql(t, &k2, 2),
            r#"delete from "public"."t" where (k1=? and k2=?) OR (k1=? and k2=?)"#,
        );
        assert_eq!(
            delete_any_sql(t, &c[0]),
            r#"DELETE FROM "public"."t" WHERE "id" = ANY($1::int8[])"#
        );
        assert_eq!(
            delete_in_sql(t, &k2),
            r#"DELETE FROM "public"."t" WHERE ("k1", "k2") IN (SELECT * FROM unnest($1::int8[], $2::text[]))"#
        );
        same_as_holo_client(
            &fixed_copy_sql(t, &c, &update),
            r#"copy "public"."t"(id,name,n) from stdin with(stream_mode true, format binary, on_conflict update)"#,
        );
        same_as_holo_client(
            &fixed_copy_sql(t, &c, &ignore),
            r#"copy "public"."t"(id,name,n) from stdin with(stream_mode true, format binary, on_conflict ignore)"#,
        );
        same_as_holo_client(
            &fixed_copy_sql(t, &c, &Conflict::Fail),
            r#"copy "public"."t"(id,name,n) from stdin with(stream_mode true, format binary)"#,
        );
        assert_eq!(
            copy_sql(t, &c[..2]),
            r#"COPY "public"."t" ("id", "name") FROM STDIN (FORMAT binary)"#
        );
        // Columns reset to their default leave the Fixed Plan, but still say so.
        let replace = Conflict::Update {
            key: names(&["id"]),
            set: names(&["id", "name"]),
            reset: names(&["note"]),
        };
        assert!(insert_sql(t, &c[..2], &replace).ends_with(
            r#"DO UPDATE SET "id" = excluded."id", "name" = excluded."name", "note" = DEFAULT"#
        ));
        let keys_only = Conflict::Update {
            key: names(&["id"]),
            set: vec![],
            reset: vec![],
        };
        assert!(insert_sql(t, &c, &keys_only).ends_with("DO NOTHING"));
    }

    #[test]
    fn rows_per_statement_as_holo_client_counts() {
        // `maxLevel = 32 - numberOfLeadingZeros(Short.MAX_VALUE / n) - 1`: 2^level rows.
        assert_eq!(max_rows_per_statement(1), 16384);
        assert_eq!(max_rows_per_statement(2), 8192);
        assert_eq!(max_rows_per_statement(3), 8192);
        assert_eq!(max_rows_per_statement(6), 4096);
        assert_eq!(max_rows_per_statement(40_000), 1);
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
