//! Shard cursors: base64 of a decimal number, like the service's, encoding (shard, offset).
//!
//! Clients treat a cursor as `base64(decimal)` and do arithmetic on it (the Python SDK's
//! `get_previous_cursor_time` subtracts one), so the number keeps offsets of one shard
//! contiguous: `(shard + 1) * SPAN + offset`.

use base64::Engine as _;

/// Offsets per shard; far more log groups than a test server will ever hold.
const SPAN: u64 = 1_000_000_000_000;

/// The cursor of log group `offset` (0-based) in `shard`.
pub fn encode(shard: u32, offset: u64) -> String {
    let n = (u64::from(shard) + 1) * SPAN + offset;
    base64::engine::general_purpose::STANDARD.encode(n.to_string())
}

/// The (shard, offset) of a cursor, or `None` when it is not one of ours.
pub fn decode(cursor: &str) -> Option<(u32, u64)> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(cursor.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cursor.trim()))
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = text.parse().ok()?;
    let shard = (n / SPAN).checked_sub(1)?;
    Some((u32::try_from(shard).ok()?, n % SPAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_base64_of_a_number() {
        for (shard, offset) in [(0, 0), (0, 7), (3, 123_456), (255, SPAN - 1)] {
            let c = encode(shard, offset);
            assert_eq!(decode(&c), Some((shard, offset)));
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&c)
                .unwrap();
            assert!(raw.iter().all(u8::is_ascii_digit));
        }
    }

    #[test]
    fn previous_cursor_arithmetic_stays_in_the_shard_or_fails() {
        // What the Python SDK does for get_previous_cursor_time.
        let prev = |c: &str| {
            let raw = base64::engine::general_purpose::STANDARD.decode(c).unwrap();
            let n: u64 = std::str::from_utf8(&raw).unwrap().parse().unwrap();
            base64::engine::general_purpose::STANDARD.encode((n - 1).to_string())
        };
        assert_eq!(decode(&prev(&encode(2, 5))), Some((2, 4)));
        // Before offset 0 lands on an offset no shard has, which the server calls InvalidCursor.
        assert_eq!(decode(&prev(&encode(2, 0))), Some((1, SPAN - 1)));
    }

    #[test]
    fn rejects_foreign_cursors() {
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(""), None);
        let text = base64::engine::general_purpose::STANDARD.encode("12ab");
        assert_eq!(decode(&text), None);
        let small = base64::engine::general_purpose::STANDARD.encode("42");
        assert_eq!(decode(&small), None);
    }
}
