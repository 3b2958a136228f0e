//! Settings of the PostgreSQL sink: the DSN and the destination table, validated into the
//! connection config, the password-free description of the target, and the table name.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use tokio_postgres::config::Host;

use super::PostgresError;
use super::connect::{ConnectConfig, RootCerts, SslMode, Tls};

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
    /// How rows are written: mode, writers, dialect, what may be created.
    #[serde(default)]
    pub write: super::options::WriteOptions,
}

/// The DSN holds the password: print everything else.
impl fmt::Debug for PostgresSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = parse_dsn(&self.dsn, None)
            .map(|(_, target)| target)
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
    pub(crate) fn build(&self) -> Result<(ConnectConfig, String, TableName), PostgresError> {
        self.build_with(std::env::var_os("PGPASSWORD"))
    }

    /// [`Self::build`] with `PGPASSWORD` passed in, so tests need not touch the environment.
    fn build_with(
        &self,
        env_password: Option<std::ffi::OsString>,
    ) -> Result<(ConnectConfig, String, TableName), PostgresError> {
        let (pg, target) = parse_dsn(&self.dsn, env_password)?;
        let table = TableName::parse(&self.table)?;
        Ok((pg, target, table))
    }
}

/// Parses a DSN as libpq would, TLS settings included (tokio-postgres knows only
/// `sslmode=disable|prefer|require`); adds `env_password` (`PGPASSWORD`) when the DSN has
/// no password and a connect timeout when it has none. Returns the settings and the
/// password-free description of the target.
pub fn parse_dsn(
    dsn: &str,
    env_password: Option<std::ffi::OsString>,
) -> Result<(ConnectConfig, String), PostgresError> {
    let split = split_tls_options(dsn);
    let mut pg = tokio_postgres::Config::from_str(&split.rest)
        .map_err(|source| PostgresError::Dsn { source })?;
    if pg.get_password().is_none()
        && let Some(password) = env_password
    {
        pg.password(password.as_encoded_bytes());
    }
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    let requested = match split.verify {
        Some(mode) => mode,
        None => match pg.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => SslMode::Disable,
            tokio_postgres::config::SslMode::Require => SslMode::Require,
            _ => SslMode::Prefer,
        },
    };
    let root_certs = split.root_cert.map(|v| match v.as_str() {
        "system" => RootCerts::System,
        _ => RootCerts::File(v.into()),
    });
    let mode = match (requested, &root_certs) {
        // As libpq 16: the system's CAs are meant for verify-full.
        (_, Some(RootCerts::System)) if !split.mode_given => SslMode::VerifyFull,
        // As libpq: with a CA given, the weak modes verify the chain.
        (SslMode::Prefer | SslMode::Require, Some(_)) => SslMode::VerifyCa,
        (mode, _) => mode,
    };
    let target = describe_target(&pg);
    let tls = Tls {
        mode,
        root_certs,
        requested,
    };
    Ok((ConnectConfig { pg, tls }, target))
}

/// A DSN without the TLS options tokio-postgres cannot parse, and those options.
#[derive(Debug, Default, PartialEq)]
struct TlsOptions {
    rest: String,
    /// `sslmode=verify-ca|verify-full` (the last `sslmode` given).
    verify: Option<SslMode>,
    /// Whether any `sslmode` was given.
    mode_given: bool,
    root_cert: Option<String>,
}

/// Takes `sslrootcert` and `sslmode=verify-*` out of a URL or `key=value` DSN, leaving
/// every other byte (the password above all) as it was. A DSN that does not scan is
/// returned whole, for tokio-postgres to report.
fn split_tls_options(dsn: &str) -> TlsOptions {
    let mut out = TlsOptions::default();
    let mut take = |key: &str, value: String| -> bool {
        match key {
            "sslmode" => {
                out.mode_given = true;
                out.verify = match value.as_str() {
                    "verify-ca" => Some(SslMode::VerifyCa),
                    "verify-full" => Some(SslMode::VerifyFull),
                    _ => None,
                };
                out.verify.is_some()
            }
            "sslrootcert" => {
                out.root_cert = Some(value);
                true
            }
            _ => false,
        }
    };
    let rest = match ["postgres://", "postgresql://"]
        .iter()
        .find(|p| dsn.starts_with(*p))
    {
        Some(_) => split_url(dsn, &mut take),
        None => split_key_values(dsn, &mut take),
    };
    TlsOptions {
        rest: rest.unwrap_or_else(|| dsn.to_owned()),
        ..out
    }
}

/// The URL without the query parameters `take` claims.
fn split_url(dsn: &str, take: &mut impl FnMut(&str, String) -> bool) -> Option<String> {
    // Like tokio-postgres: the credentials end at the first `@`; the query starts at the
    // first `?` after them.
    let after_creds = dsn.find('@').map_or(0, |i| i + 1);
    let Some(q) = dsn[after_creds..].find('?').map(|i| after_creds + i) else {
        return Some(dsn.to_owned());
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .ok()
    };
    let mut kept = Vec::new();
    for param in dsn[q + 1..].split('&') {
        let claimed = match param.split_once('=') {
            Some((k, v)) => match (decode(k), decode(v)) {
                (Some(k), Some(v)) => take(&k, v),
                _ => false,
            },
            None => false,
        };
        if !claimed {
            kept.push(param);
        }
    }
    let mut rest = dsn[..q].to_owned();
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Some(rest)
}

/// The `key=value` DSN without the pairs `take` claims; `None` if it does not scan.
fn split_key_values(dsn: &str, take: &mut impl FnMut(&str, String) -> bool) -> Option<String> {
    let bytes = dsn.as_bytes();
    let mut rest = String::with_capacity(dsn.len());
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        let start = skip_ws(i);
        if start == bytes.len() {
            rest.push_str(&dsn[i..]);
            return Some(rest);
        }
        let mut j = start;
        while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'=' {
            j += 1;
        }
        let key = &dsn[start..j];
        j = skip_ws(j);
        if key.is_empty() || bytes.get(j) != Some(&b'=') {
            return None;
        }
        j = skip_ws(j + 1);
        // Quoted (`'a b'`) or bare; `\` escapes the next character in both.
        let mut value = String::new();
        let quoted = bytes.get(j) == Some(&b'\'');
        if quoted {
            j += 1;
        }
        let mut chars = dsn[j..].char_indices();
        let mut end = None;
        while let Some((k, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, c2)) = chars.next() {
                        value.push(c2);
                    }
                }
                '\'' if quoted => {
                    end = Some(j + k + 1);
                    break;
                }
                c if !quoted && c.is_whitespace() => {
                    end = Some(j + k);
                    break;
                }
                c => value.push(c),
            }
        }
        let end = match end {
            Some(e) => e,
            None if quoted => return None,
            None => dsn.len(),
        };
        if !take(key, value) {
            rest.push_str(&dsn[i..end]);
        }
        i = end;
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
            write: Default::default(),
        };
        let (pg, target, _) = cfg.build().unwrap();
        assert_eq!(target, "db.example:6432/warehouse as loader");
        assert_eq!(pg.get_connect_timeout(), Some(&DEFAULT_CONNECT_TIMEOUT));
        assert!(!format!("{cfg:?}").contains("s3cret"));

        let kv = PostgresSinkConfig {
            dsn: "host=h user=u password=s3cret".into(),
            table: "t".into(),
            write: Default::default(),
        };
        let (_, target, _) = kv.build().unwrap();
        assert_eq!(target, "h:5432/u as u");
    }

    #[test]
    fn password_from_the_environment_only_when_the_dsn_has_none() {
        let cfg = |dsn: &str| PostgresSinkConfig {
            dsn: dsn.into(),
            table: "t".into(),
            write: Default::default(),
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
            write: Default::default(),
        };
        let err = cfg.build().unwrap_err();
        assert!(!format!("{err:?} {err}").contains("s3cret"));
    }

    fn tls_of(dsn: &str) -> (SslMode, Option<RootCerts>, SslMode) {
        let (pg, _) = parse_dsn(dsn, None).unwrap_or_else(|e| panic!("{dsn}: {e}"));
        (pg.tls.mode, pg.tls.root_certs.clone(), pg.tls.requested)
    }

    #[test]
    fn ssl_modes_as_libpq() {
        let file = |p: &str| Some(RootCerts::File(p.into()));
        use SslMode::*;
        for (dsn, want) in [
            ("postgres://u@h/db", (Prefer, None, Prefer)),
            (
                "postgres://u@h/db?sslmode=disable",
                (Disable, None, Disable),
            ),
            (
                "postgres://u@h/db?sslmode=require",
                (Require, None, Require),
            ),
            ("host=h sslmode=verify-ca", (VerifyCa, None, VerifyCa)),
            (
                "postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem",
                (VerifyFull, file("/tmp/ca.pem"), VerifyFull),
            ),
            (
                "postgres://u@h/db?sslmode=require&sslrootcert=/ca.pem",
                (VerifyCa, file("/ca.pem"), Require),
            ),
            (
                "host=h sslrootcert='/a b/ca.pem' sslmode = prefer",
                (VerifyCa, file("/a b/ca.pem"), Prefer),
            ),
            (
                "postgres://u@h/db?sslrootcert=system",
                (VerifyFull, Some(RootCerts::System), Prefer),
            ),
            (
                "host=h sslmode=disable sslrootcert=/ca.pem",
                (Disable, file("/ca.pem"), Disable),
            ),
            // The last sslmode wins, as in libpq.
            (
                "host=h sslmode=verify-full sslmode=require",
                (Require, None, Require),
            ),
        ] {
            assert_eq!(tls_of(dsn), want, "{dsn}");
        }
    }

    #[test]
    fn tls_options_leave_the_rest_of_the_dsn_alone() {
        let (pg, target) = parse_dsn(
            "postgres://lo%40der:p%3Fss@db.example:6432/wh?application_name=x&sslmode=verify-full&sslrootcert=/c.pem&connect_timeout=3",
            None,
        )
        .unwrap();
        assert_eq!(target, "db.example:6432/wh as lo@der");
        assert_eq!(pg.get_password(), Some(&b"p?ss"[..]));
        assert_eq!(pg.get_application_name(), Some("x"));
        assert_eq!(pg.get_connect_timeout(), Some(&Duration::from_secs(3)));

        let (pg, _) = parse_dsn(
            r"host=h password='it\'s sslmode=disable' sslmode=verify-ca user=u sslrootcert=/c.pem",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pg.get_user(), Some("u"));
        assert_eq!(pg.get_password(), Some(&b"it's sslmode=disable"[..]));
        assert_eq!(pg.tls.mode, SslMode::VerifyCa);

        let (pg, _) = parse_dsn(r"host=h password='a \' b' sslmode=verify-full", None).unwrap();
        assert_eq!(pg.get_password(), Some(&b"a ' b"[..]));
        assert_eq!(pg.tls.mode, SslMode::VerifyFull);
    }

    #[test]
    fn bad_ssl_modes_are_dsn_errors_without_the_password() {
        for dsn in [
            "postgres://u:s3cret@h/db?sslmode=verify-fool",
            "host=h password=s3cret sslmode=allow",
            "host=h password='s3cret sslmode=verify-full",
        ] {
            let err = parse_dsn(dsn, None).unwrap_err();
            assert!(matches!(err, PostgresError::Dsn { .. }), "{dsn}: {err}");
            assert!(!format!("{err:?} {err}").contains("s3cret"), "{dsn}");
        }
    }
}
