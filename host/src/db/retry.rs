//! Which database errors are worth another try, and the backoff every caller of the
//! database uses between tries.

use std::error::Error as _;
use std::time::Duration;

use crate::retry::Backoff;

/// The longest pause between two tries of a database call.
const MAX_PAUSE: Duration = Duration::from_secs(10);

/// The database's backoff: `tries` in all, the first pause `first`, doubling up to 10 s.
pub fn backoff(tries: u32, first: Duration) -> Backoff {
    Backoff {
        tries: tries.max(1),
        first,
        max: MAX_PAUSE,
    }
}

/// What Hologres reports, mostly as `XX000` with a message, when a connection, a worker or
/// the table's metadata is briefly unavailable: a failover, an upgrade, a scale-out, another
/// process's DDL. A new session and another try get through. From holo-client
/// (alibabacloud-hologres-connectors `holo-client/.../HoloClientException.fromSqlException`:
/// CONNECTION_ERROR, READ_ONLY, BUSY, TOO_MANY_CONNECTIONS and META_NOT_MATCH).
const TRANSIENT_MESSAGES: [&str; 21] = [
    "this connection has been closed",
    "kconnecterror",
    "connection refused",
    "erpc_error_connection_closed",
    "not allowed in readonly mode",
    "resource busy",
    "fail to fetch table group meta",
    "get rundown is not allowed in recovering state",
    "the workers or shards are unhealthy",
    "too many clients",
    "remaining connection slots are reserved",
    "invalid table id",
    "refresh meta timeout",
    "mismatches the version of the table",
    "could not open relation with oid",
    "replay not finished yet",
    "table version mismatch",
    "fail to execute query table not found",
    "table not found, table id",
    "schema version changed during gettableschema",
    "cached plan must not change result type",
];

/// Whether a server error with SQLSTATE `code` and `message` passes with another try on a
/// new session: classes 08 (connection), 53 (resources), 57P0x (shutdown), 40001
/// (serialization), 40P01 (deadlock), 57014 for a statement timeout, HG000 and 42703 (Hologres metadata behind a DDL, as
/// holo-client retries them), and Hologres' transient messages whatever the code.
pub fn is_transient(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P0")
        || ["40001", "40P01", "HG000", "42703"].contains(&code)
        || (code == "57014" && message.contains("statement timeout"))
        || TRANSIENT_MESSAGES.iter().any(|m| message.contains(m))
}

/// Why `e` happened, for the retries metric: the SQLSTATE of a server error, else
/// `connection`.
pub fn reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.code().code().to_owned(),
        None => "connection".to_owned(),
    }
}

/// [`is_transient`] for a server error; any failure below the protocol (refused, reset,
/// timed out, closed) is retriable too.
pub fn is_retriable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        return is_transient(db.code().code(), db.message());
    }
    if e.code().is_some() {
        return false;
    }
    // No SQLSTATE: refused, reset or timed out before or outside the protocol.
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hologres_transient_errors_are_retried_and_data_errors_are_not() {
        for (code, message) in [
            ("XX000", "ERPC_ERROR_CONNECTION_CLOSED: peer closed"),
            ("XX000", "internal error: Invalid table id 42"),
            ("XX000", "Get rundown is not allowed in recovering state"),
            ("XX000", "WriteLogRecord is not allowed in readonly mode"),
            ("XX000", "the workers or shards are unhealthy"),
            ("XX000", "table mismatches the version of the table"),
            ("42703", "column \"x\" does not exist"),
            ("HG000", "need retry"),
            ("08006", "connection failure"),
            ("53300", "sorry, too many clients already"),
            (
                "57P01",
                "terminating connection due to administrator command",
            ),
        ] {
            assert!(is_transient(code, message), "{code} {message}");
        }
        for (code, message) in [
            ("23505", "duplicate key value violates unique constraint"),
            ("22P02", "invalid input syntax for type bigint"),
            ("42P01", "relation \"t\" does not exist"),
            (
                "XX000",
                "null value in column \"id\" violates not-null constraint",
            ),
        ] {
            assert!(!is_transient(code, message), "{code} {message}");
        }
    }
}
