//! Settings of the PostgreSQL sink: the DSN and the destination table, validated into the
//! connection config, the password-free description of the target, and the table name.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tokio_postgres::config::Host;

use super::PostgresError;

/// How long a connection attempt may take when the DSN does not say (`connect_timeout`):
/// without a bound, an unreachable host hangs until the kernel gives up minutes later.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the sink writes.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSinkConfig {
    /// The database: a libpq URL (`postgres://user@host:5432/db`) or a `key=value` string.
    /// Without a password in it, `PGPASSWORD` from the environment is used.
    pub dsn: String,
    /// The destination table, `schema.table` or `table` (in `public`). Unquoted names fold
    /// to lower case as in SQL; quote them (`"Sales"."Orders"`) to keep their case.
    pub table: String,
}

/// The DSN holds the password: print everything else.
impl fmt::Debug for PostgresSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = tokio_postgres::Config::from_str(&self.dsn)
            .map(|c| describe_target(&c))
            .unwrap_or_else(|_| "<invalid dsn>".into());
        f.debug_struct("PostgresSinkConfig")
            .field("dsn", &target)
            .field("table", &self.table)
            .finish()
    }
}

impl PostgresSinkConfig {
    /// Parses the DSN (adding `PGPASSWORD` and a connect timeout when it has none) and the
    /// table name; returns them with the target description used in logs and errors.
    pub(crate) fn build(
        &self,
    ) -> Result<(tokio_postgres::Config, String, TableName), PostgresError> {
        self.build_with(std::env::var_os("PGPASSWORD"))
    }

    /// [`Self::build`] with `PGPASSWORD` passed in, so tests need not touch the environment.
    fn build_with(
        &self,
        env_password: Option<std::ffi::OsString>,
    ) -> Result<(tokio_postgres::Config, String, TableName), PostgresError> {
        let mut pg = tokio_postgres::Config::from_str(&self.dsn)
            .map_err(|source| PostgresError::Dsn { source })?;
        if pg.get_password().is_none()
            && let Some(password) = env_password
        {
            pg.password(password.as_encoded_bytes());
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        let table = TableName::parse(&self.table)?;
        let target = describe_target(&pg);
        Ok((pg, target, table))
    }
}

/// `host:port/db as user`, never the password.
pub fn describe_target(pg: &tokio_postgres::Config) -> String {
    let host = match pg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => match pg.get_hostaddrs().first() {
            Some(addr) => addr.to_string(),
            None => "<no host>".into(),
        },
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let user = pg.get_user().unwrap_or("<default user>");
    let db = pg.get_dbname().unwrap_or(user);
    format!("{host}:{port}/{db} as {user}")
}

/// A table name split into schema and table, as stored in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    pub schema: String,
    pub table: String,
}

impl TableName {
    /// Parses `schema.table`, `table` (schema `public`), with optional double-quoted parts.
    pub fn parse(text: &str) -> Result<TableName, PostgresError> {
        let bad = |reason: &'static str| PostgresError::TableName {
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

    #[test]
    fn target_description_has_no_password() {
        let cfg = PostgresSinkConfig {
            dsn: "postgres://loader:s3cret@db.example:6432/warehouse".into(),
            table: "t".into(),
        };
        let (pg, target, _) = cfg.build().unwrap();
        assert_eq!(target, "db.example:6432/warehouse as loader");
        assert_eq!(pg.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
        assert!(!format!("{cfg:?}").contains("s3cret"));

        let kv = PostgresSinkConfig {
            dsn: "host=h user=u password=s3cret".into(),
            table: "t".into(),
        };
        let (_, target, _) = kv.build().unwrap();
        assert_eq!(target, "h:5432/u as u");
    }

    #[test]
    fn password_from_the_environment_only_when_the_dsn_has_none() {
        let cfg = |dsn: &str| PostgresSinkConfig {
            dsn: dsn.into(),
            table: "t".into(),
        };
        let env = Some("from-env".into());
        let (pg, ..) = cfg("postgres://u@h/db").build_with(env.clone()).unwrap();
        assert_eq!(pg.get_password(), Some(&b"from-env"[..]));
        let (pg, ..) = cfg("postgres://u:given@h/db").build_with(env).unwrap();
        assert_eq!(pg.get_password(), Some(&b"given"[..]));
        let (pg, ..) = cfg("postgres://u@h/db").build_with(None).unwrap();
        assert_eq!(pg.get_password(), None);
    }

    #[test]
    fn invalid_dsn_does_not_echo_it() {
        let cfg = PostgresSinkConfig {
            dsn: "postgres://u:s3cret@h:notaport/db".into(),
            table: "t".into(),
        };
        let err = cfg.build().unwrap_err();
        assert!(!format!("{err:?} {err}").contains("s3cret"));
    }
}
