//! Shard cursors: base64 of a decimal number, like the service's, encoding (generation, shard,
//! offset).
//!
//! Clients treat a cursor as `base64(decimal)` and do arithmetic on it (the Python SDK's
//! `get_previous_cursor_time` subtracts one), so the number keeps offsets of one shard
//! contiguous: `generation * GENERATION_SPAN + (shard + 1) * SPAN + offset`. Generation 0 (a
//! logstore never deleted and created again) is the plain `(shard + 1) * SPAN + offset`; a
//! recreated logstore's cursors carry its generation, so the old logstore's are told apart.

use base64::Engine as _;

/// Offsets per shard; far more log groups than a test server will ever hold.
pub const SPAN: u64 = 1_000_000_000_000;
/// Numbers per generation: room for `SPAN - 1` shard ids of `SPAN` offsets each.
const GENERATION_SPAN: u128 = SPAN as u128 * SPAN as u128;

/// Where a cursor points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The logstore's generation (0 until it is deleted and created again).
    pub generation: u32,
    /// The shard, or `None` for a number below every shard's (what one less than shard 0's
    /// first cursor gives): a cursor, but of no shard.
    pub shard: Option<u32>,
    /// 0-based log group offset in the shard.
    pub offset: u64,
}

/// The cursor of log group `offset` (0-based) in `shard`, generation 0.
pub fn encode(shard: u32, offset: u64) -> String {
    encode_in(0, shard, offset)
}

/// The cursor of log group `offset` in `shard` of a logstore of `generation`.
pub fn encode_in(generation: u32, shard: u32, offset: u64) -> String {
    let n = u128::from(generation) * GENERATION_SPAN
        + u128::from(u64::from(shard) + 1) * u128::from(SPAN)
        + u128::from(offset);
    base64::engine::general_purpose::STANDARD.encode(n.to_string())
}

/// Where a cursor points, or `None` when it is not one of ours (not base64 of a number).
pub fn decode(cursor: &str) -> Option<Position> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(cursor.trim())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cursor.trim()))
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u128 = text.parse().ok()?;
    let generation = u32::try_from(n / GENERATION_SPAN).ok()?;
    let within = n % GENERATION_SPAN;
    let slot = u64::try_from(within / u128::from(SPAN)).ok()?;
    let shard = match slot.checked_sub(1) {
        Some(s) => Some(u32::try_from(s).ok()?),
        None => None,
    };
    Some(Position {
        generation,
        shard,
        offset: u64::try_from(within % u128::from(SPAN)).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(generation: u32, shard: u32, offset: u64) -> Option<Position> {
        Some(Position {
            generation,
            shard: Some(shard),
            offset,
        })
    }

    fn number(cursor: &str) -> u128 {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(cursor)
            .unwrap();
        std::str::from_utf8(&raw).unwrap().parse().unwrap()
    }

    #[test]
    fn round_trips_and_is_base64_of_a_number() {
        for (generation, shard, offset) in
            [(0, 0, 0), (0, 0, 7), (0, 3, 123_456), (4, 255, SPAN - 1)]
        {
            let c = encode_in(generation, shard, offset);
            assert_eq!(decode(&c), at(generation, shard, offset));
            let raw = base64::engine::general_purpose::STANDARD
                .decode(&c)
                .unwrap();
            assert!(raw.iter().all(u8::is_ascii_digit));
        }
    }

    #[test]
    fn generation_zero_keeps_the_plain_encoding() {
        assert_eq!(number(&encode(2, 5)), 3 * u128::from(SPAN) + 5);
        assert_eq!(encode(2, 5), encode_in(0, 2, 5));
        assert_ne!(encode_in(1, 2, 5), encode(2, 5));
        assert_eq!(
            number(&encode_in(1, 0, 0)) - number(&encode(0, 0)),
            GENERATION_SPAN
        );
    }

    #[test]
    fn previous_cursor_arithmetic_stays_in_the_shard_or_fails() {
        // What the Python SDK does for get_previous_cursor_time.
        let prev =
            |c: &str| base64::engine::general_purpose::STANDARD.encode((number(c) - 1).to_string());
        assert_eq!(decode(&prev(&encode(2, 5))), at(0, 2, 4));
        assert_eq!(decode(&prev(&encode_in(3, 2, 5))), at(3, 2, 4));
        // Before offset 0 lands on an offset no shard has, which the server calls InvalidCursor.
        assert_eq!(decode(&prev(&encode(2, 0))), at(0, 1, SPAN - 1));
        let before_all = decode(&prev(&encode_in(3, 0, 0))).unwrap();
        assert_eq!((before_all.generation, before_all.shard), (3, None));
        assert_eq!(decode(&prev(&encode(0, 0))).unwrap().shard, None);
    }

    #[test]
    fn rejects_foreign_cursors() {
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(""), None);
        let text = base64::engine::general_purpose::STANDARD.encode("12ab");
        assert_eq!(decode(&text), None);
        let huge = base64::engine::general_purpose::STANDARD.encode("9".repeat(60));
        assert_eq!(decode(&huge), None);
    }
}
