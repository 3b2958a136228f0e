//! DSNs as libpq reads them: the connection settings, TLS options tokio-postgres does not
//! parse, `PGPASSWORD`, a default connect timeout, and the password-free name of the server
//! that logs and errors use.

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;

use super::DbError;
use super::connect::{ConnectConfig, RootCerts, SslMode, Tls};

/// How long a connection attempt may take when the DSN does not say (`connect_timeout`):
/// without a bound, an unreachable host hangs until the kernel gives up minutes later.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle time before TCP keepalive probes start, when the DSN does not say
/// (`keepalives_idle`): the kernel's two hours would let a dead path (a failed-over
/// Hologres frontend, a dropped NAT entry) hang a write for that long.
pub const DEFAULT_KEEPALIVES_IDLE: Duration = Duration::from_secs(30);

/// Parses a DSN as libpq would, TLS settings included (tokio-postgres knows only
/// `sslmode=disable|prefer|require`); adds `env_password` (`PGPASSWORD`) when the DSN has
/// no password and a connect timeout when it has none. Returns the settings and the
/// password-free description of the target.
/// The parser's complaint about `dsn`, unless it quotes a part of the DSN that may be a
/// password (found by the fuzz tests: `csv:postgres://u:pw@h/db` was echoed whole as an
/// unknown option).
fn withheld_secrets(message: &str, dsn: &str) -> String {
    let secret_like = (dsn.split(['@', ' ', '&', '?']))
        .flat_map(|part| part.rsplit_once(['=', ':']).map(|(_, v)| v))
        .any(|v| v.len() >= 3 && message.contains(v));
    if secret_like || message.contains('@') {
        "the parser's message is withheld, as it quotes the DSN, which may hold a password".into()
    } else {
        message.to_owned()
    }
}

pub fn parse_dsn(
    dsn: &str,
    env_password: Option<std::ffi::OsString>,
) -> Result<(ConnectConfig, String), DbError> {
    let split = split_tls_options(dsn);
    let mut pg = tokio_postgres::Config::from_str(&split.rest).map_err(|source| DbError::Dsn {
        detail: withheld_secrets(&source.to_string(), dsn),
    })?;
    if pg.get_password().is_none()
        && let Some(password) = env_password
    {
        pg.password(password.as_encoded_bytes());
    }
    if pg.get_connect_timeout().is_none() {
        pg.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if !split.rest.contains("keepalives_idle") {
        pg.keepalives(true).keepalives_idle(DEFAULT_KEEPALIVES_IDLE);
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(pg.get_keepalives_idle(), DEFAULT_KEEPALIVES_IDLE);

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
            assert!(matches!(err, DbError::Dsn { .. }), "{dsn}: {err}");
            assert!(!format!("{err:?} {err}").contains("s3cret"), "{dsn}");
        }
    }
}
