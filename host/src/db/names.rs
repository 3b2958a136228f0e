//! Table names as SQL reads them (`schema.table`, quoted parts keep their case) and
//! identifiers quoted for splicing into statements.

use std::fmt;

use super::DbError;

/// A table name split into schema and table, as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl TableName {
    /// Parses `schema.table`, `table` (schema `public`), with optional double-quoted parts.
    pub fn parse(text: &str) -> Result<TableName, DbError> {
        let bad = |reason: &'static str| DbError::TableName {
            table: text.to_owned(),
            reason,
        };
        let mut parts = Vec::with_capacity(2);
        let mut rest = text.trim();
        loop {
            let (part, after) = identifier(rest).map_err(bad)?;
            parts.push(part);
            match after.strip_prefix('.') {
                Some(next) => rest = next,
                None if after.is_empty() => break,
                None => return Err(bad("unexpected text after the name")),
            }
        }
        let mut parts = parts.into_iter();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(table), None, None) => Ok(TableName {
                schema: "public".into(),
                table,
            }),
            (Some(schema), Some(table), None) => Ok(TableName { schema, table }),
            _ => Err(bad("expected `schema.table` or `table`")),
        }
    }

    /// `"schema"."table"`, safe to splice into SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

/// Reads one identifier from the start of `s`; returns it and the rest.
fn identifier(s: &str) -> Result<(String, &str), &'static str> {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '"' {
                out.push(c);
                continue;
            }
            // `""` inside quotes is one `"`.
            if body[i + 1..].starts_with('"') {
                out.push('"');
                chars.next();
                continue;
            }
            if out.is_empty() {
                return Err("empty quoted name");
            }
            return Ok((out, &body[i + 1..]));
        }
        return Err("unterminated quoted name");
    }
    let end = s.find(['.', '"']).unwrap_or(s.len());
    let name = s[..end].trim();
    if name.is_empty() {
        return Err("empty name");
    }
    if name.contains(char::is_whitespace) {
        return Err("unquoted names cannot contain spaces: quote them");
    }
    // Like the server, fold only ASCII letters.
    Ok((name.to_ascii_lowercase(), &s[end..]))
}

/// Quotes an identifier for SQL (`a"b` → `"a""b"`).
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> (String, String) {
        let t = TableName::parse(s).unwrap();
        (t.schema, t.table)
    }

    #[test]
    fn table_names() {
        assert_eq!(name("books"), ("public".into(), "books".into()));
        assert_eq!(name("Sales.Orders"), ("sales".into(), "orders".into()));
        assert_eq!(
            name(r#""Sales"."Or.ders""#),
            ("Sales".into(), "Or.ders".into())
        );
        assert_eq!(name(r#"s."a""b""#), ("s".into(), r#"a"b"#.into()));
        for bad in ["", "a.b.c", "a.", ".b", r#""a"#, r#""""#, "a b", r#""a"x"#] {
            let err = TableName::parse(bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid table name `{bad}`")),
                "{err}"
            );
        }
    }

    #[test]
    fn quoting_round_trips() {
        let t = TableName {
            schema: "My Schema".into(),
            table: r#"t"1"#.into(),
        };
        assert_eq!(t.quoted(), r#""My Schema"."t""1""#);
        assert_eq!(TableName::parse(&t.quoted()).unwrap(), t);
    }
}
