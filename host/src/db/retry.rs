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

/// Tries of a write on PostgreSQL unless `--write-tries` says: 5, about 4–8 s of pauses.
pub const POSTGRES_TRIES: u32 = 5;
/// Tries of a write on Hologres unless `--write-tries` says: 12, pauses of 1 s doubling up
/// to 16 s, so 64–127 s in all (the jitter halves a pause at most). A Hologres failover or
/// upgrade takes tens of seconds; the Flink connector rides it out with 10 retries, each
/// pause 5 s longer than the last (`retry-count`, `retry-sleep-step-ms`), and a load that
/// gives up sooner stops a stream for nothing.
pub const HOLOGRES_TRIES: u32 = 12;

/// The backoff of writes: `tries` and the first pause `first` when given, else the
/// server's defaults ([`POSTGRES_TRIES`], [`HOLOGRES_TRIES`]).
pub fn write_backoff(hologres: bool, tries: Option<u32>, first: Option<Duration>) -> Backoff {
    let (default_tries, default_first, max) = if hologres {
        (
            HOLOGRES_TRIES,
            Duration::from_secs(1),
            Duration::from_secs(16),
        )
    } else {
        (POSTGRES_TRIES, Duration::from_millis(500), MAX_PAUSE)
    };
    Backoff {
        tries: tries.unwrap_or(default_tries).max(1),
        first: first.unwrap_or(default_first),
        max,
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
/// holo-client retries them), 28P01 `Invalid expire_time` (an STS token that ran out:
/// holo-client counts it a connection error, and a new session may carry a fresh one),
/// and Hologres' transient messages whatever the code.
pub fn is_transient(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    (code == "28P01" && message.contains("invalid expire_time"))
        || code.starts_with("08")
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
            // An STS token that ran out: holo-client's CONNECTION_ERROR.
            ("28P01", "Invalid expire_time: token expired"),
        ] {
            assert!(is_transient(code, message), "{code} {message}");
        }
        for (code, message) in [
            ("23505", "duplicate key value violates unique constraint"),
            ("22P02", "invalid input syntax for type bigint"),
            ("42P01", "relation \"t\" does not exist"),
            ("28P01", "password authentication failed for user \"u\""),
            // A lock not had: holo-client leaves it unclassified, so not retried.
            ("55P03", "could not obtain lock on relation \"t\""),
            (
                "XX000",
                "null value in column \"id\" violates not-null constraint",
            ),
        ] {
            assert!(!is_transient(code, message), "{code} {message}");
        }
    }

    /// On Hologres the pauses add up to more than a 60 s failover even at their shortest
    /// (the jitter halves each); on PostgreSQL they stay short. Flags override both.
    #[test]
    fn hologres_writes_ride_out_a_minute_of_failover() {
        let total = |b: Backoff| -> (Duration, Duration) {
            (0..b.tries - 1)
                .map(|i| b.cap(i))
                .fold((Duration::ZERO, Duration::ZERO), |(lo, hi), cap| {
                    (lo + cap / 2, hi + cap)
                })
        };
        let (shortest, longest) = total(write_backoff(true, None, None));
        assert!(shortest >= Duration::from_secs(60), "{shortest:?}");
        assert!(longest <= Duration::from_secs(180), "{longest:?}");
        let (_, longest) = total(write_backoff(false, None, None));
        assert!(longest <= Duration::from_secs(16), "{longest:?}");
        let asked = write_backoff(true, Some(3), Some(Duration::from_millis(50)));
        assert_eq!((asked.tries, asked.first), (3, Duration::from_millis(50)));
    }
}
