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

/// SQLSTATE classes 08 (connection), 53 (resources), 57P0x (shutdown), 40001
/// (serialization) and 40P01 (deadlock), Hologres' "resource busy" and "too many
/// clients" by message, and any failure below the protocol.
pub fn is_retriable(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let c = db.code().code();
        let message = db.message().to_ascii_lowercase();
        return c.starts_with("08")
            || c.starts_with("53")
            || c.starts_with("57P0")
            || c == "40001"
            || c == "40P01"
            || message.contains("resource busy")
            || message.contains("too many clients");
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
