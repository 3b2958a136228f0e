//! Binary COPY encoding: each transform value becomes the wire form of its table column,
//! or a [`Problem`] that rejects its row (never the whole COPY).
//!
//! Text is parsed into the column's type here rather than by the server, so a bad value
//! costs one row. The common paths (text into text, text or int into int8) allocate nothing.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use chrono::Datelike;
use holo_batch::ValueRef;
use postgres_protocol::types;

use super::types::{ColumnCodec, NAME_MAX_BYTES, PgType, Problem, Scratch};
use super::{arrays, numeric};

/// `NaiveDate::num_days_from_ce` of 2000-01-01, PostgreSQL's epoch.
const DAYS_CE_TO_PG_EPOCH: i32 = 730_120;
const USECS_PER_DAY: i64 = 86_400_000_000;
/// Largest field the server accepts (1 GB).
const MAX_FIELD_BYTES: usize = 0x3fff_ffff;

/// Appends `v` as one COPY field (length, then bytes) for column `t`. On error the field
/// may be partly written: the caller drops the whole row.
#[inline]
pub fn encode_field(
    buf: &mut BytesMut,
    t: &ColumnCodec,
    v: ValueRef<'_>,
    scratch: &mut Scratch,
) -> Result<(), Problem> {
    let (v, empty) = match v {
        // CSV files write a missing number as an empty field: that is null, not an error.
        ValueRef::Text(s) if !t.ty.is_text_like() => {
            let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
            if s.is_empty() {
                (None, true)
            } else {
                (Some(ValueRef::Text(s)), false)
            }
        }
        ValueRef::Null => (None, false),
        v => (Some(v), false),
    };
    let Some(v) = v else {
        if t.not_null {
            return Err(Problem::Null { empty });
        }
        buf.put_i32(-1);
        return Ok(());
    };
    let at = buf.len();
    buf.put_i32(0);
    encode_body(buf, t, v, scratch)?;
    let len = buf.len() - at - 4;
    if len > MAX_FIELD_BYTES {
        return Err(Problem::TooBig);
    }
    buf[at..at + 4].copy_from_slice(&(len as i32).to_be_bytes());
    Ok(())
}

/// Appends the bytes of a non-null value.
fn encode_body(
    buf: &mut BytesMut,
    t: &ColumnCodec,
    v: ValueRef<'_>,
    scratch: &mut Scratch,
) -> Result<(), Problem> {
    use PgType::*;
    match v {
        ValueRef::Text(s) => encode_text(buf, t, s, scratch)?,
        ValueRef::Int(i) => match t.ty {
            Int2 => types::int2_to_sql(i16::try_from(i).map_err(|_| Problem::OutOfRange)?, buf),
            Int4 => types::int4_to_sql(i32::try_from(i).map_err(|_| Problem::OutOfRange)?, buf),
            Int8 => types::int8_to_sql(i, buf),
            Float4 => types::float4_to_sql(i as f32, buf),
            Float8 => types::float8_to_sql(i as f64, buf),
            Numeric => numeric::encode_int(buf, i, t.numeric, &mut scratch.digits)?,
            ty if ty.is_text_like() => {
                let start = buf.len();
                write!(buf, "{i}").expect("writing to a BytesMut cannot fail");
                check_written_len(t, buf.len() - start)?;
            }
            _ => return Err(Problem::Incompatible("an integer")),
        },
        ValueRef::Float(x) => match t.ty {
            Float4 => {
                let y = x as f32;
                if x.is_finite() && y.is_infinite() {
                    return Err(Problem::OutOfRange);
                }
                types::float4_to_sql(y, buf)
            }
            Float8 => types::float8_to_sql(x, buf),
            Numeric => numeric::encode_float(buf, x, t.numeric, scratch)?,
            ty if ty.is_text_like() => {
                let start = buf.len();
                // The spellings of PostgreSQL's float output.
                if x.is_nan() {
                    buf.put_slice(b"NaN");
                } else if x.is_infinite() {
                    buf.put_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
                } else {
                    write!(buf, "{x}").expect("writing to a BytesMut cannot fail");
                }
                check_written_len(t, buf.len() - start)?;
            }
            _ => return Err(Problem::Incompatible("a float")),
        },
        ValueRef::Bool(b) => match t.ty {
            Bool => types::bool_to_sql(b, buf),
            ty if ty.is_text_like() => {
                let s: &[u8] = if b { b"true" } else { b"false" };
                check_written_len(t, s.len())?;
                buf.put_slice(s);
            }
            _ => return Err(Problem::Incompatible("a boolean")),
        },
        // `encode_field` writes nulls itself; a null here has no bytes to give.
        ValueRef::Null => return Err(Problem::Null { empty: false }),
    }
    Ok(())
}

/// Parses text into the column's type (text-like columns take it as it is).
fn encode_text(
    buf: &mut BytesMut,
    t: &ColumnCodec,
    s: &str,
    scratch: &mut Scratch,
) -> Result<(), Problem> {
    use PgType::*;
    match t.ty {
        Text | Varchar | Bpchar | Name => {
            // PostgreSQL cannot store NUL in text: it is dropped, as holo-client does by
            // default (`removeU0000InTextColumnValue`).
            if s.contains('\0') {
                scratch.text.clear();
                scratch.text.extend(s.chars().filter(|&c| c != '\0'));
                check_text_len(t, &scratch.text)?;
                buf.put_slice(scratch.text.as_bytes());
            } else {
                check_text_len(t, s)?;
                buf.put_slice(s.as_bytes());
            }
        }
        Int2 => {
            let i = parse_int(s)?;
            types::int2_to_sql(i16::try_from(i).map_err(|_| Problem::OutOfRange)?, buf)
        }
        Int4 => {
            let i = parse_int(s)?;
            types::int4_to_sql(i32::try_from(i).map_err(|_| Problem::OutOfRange)?, buf)
        }
        Int8 => types::int8_to_sql(parse_int(s)?, buf),
        Float4 => {
            let x: f32 = s.parse().map_err(|_| Problem::NotNumber)?;
            if x.is_infinite() && !is_infinity_word(s) {
                return Err(Problem::OutOfRange);
            }
            types::float4_to_sql(x, buf)
        }
        Float8 => {
            let x: f64 = s.parse().map_err(|_| Problem::NotNumber)?;
            if x.is_infinite() && !is_infinity_word(s) {
                return Err(Problem::OutOfRange);
            }
            types::float8_to_sql(x, buf)
        }
        Numeric => numeric::encode_text(buf, s, t.numeric, &mut scratch.digits)?,
        Bool => types::bool_to_sql(parse_bool(s).ok_or(Problem::NotBoolean)?, buf),
        Date => types::date_to_sql(parse_date(s).ok_or(Problem::NotDate)?, buf),
        Timestamp => {
            types::timestamp_to_sql(parse_timestamp(s, false).ok_or(Problem::NotTimestamp)?, buf)
        }
        Timestamptz => types::timestamp_to_sql(
            parse_timestamptz(s, t.zone).ok_or(Problem::NotTimestamptz)?,
            buf,
        ),
        Json => {
            check_json(s)?;
            buf.put_slice(s.as_bytes());
        }
        Jsonb => {
            check_json(s)?;
            if has_nul_escape(s) {
                return Err(Problem::JsonbNul);
            }
            // jsonb's binary form is a version byte, then the text.
            buf.put_u8(1);
            buf.put_slice(s.as_bytes());
        }
        Uuid => types::uuid_to_sql(parse_uuid(s).ok_or(Problem::NotUuid)?, buf),
        Bytea => parse_bytea(s, buf)?,
        Time => {
            let (micros, _) = parse_time(s, &mut scratch.text).ok_or(Problem::NotTime)?;
            types::time_to_sql(micros, buf)
        }
        Timetz => {
            let (micros, offset) = parse_time(s, &mut scratch.text).ok_or(Problem::NotTimetz)?;
            // Without an offset, the zone's offset today, as the server's input reads it.
            let offset = offset.unwrap_or_else(|| t.zone.map_or(0, zone_offset_now));
            buf.put_i64(micros);
            // The wire form counts seconds west of UTC.
            buf.put_i32(-(offset as i32));
        }
        Int4Array | Int8Array | Float4Array | Float8Array | BoolArray | TextArray => {
            arrays::encode_text(buf, t, s, scratch)?
        }
    }
    Ok(())
}

/// `HH:MM[:SS[.ffffff]]` and an optional offset, as microseconds since midnight and
/// seconds east of UTC; `24:00:00` is the end of the day, as in PostgreSQL.
pub fn parse_time(s: &str, scratch: &mut String) -> Option<(i64, Option<i64>)> {
    // The clock part of a timestamp on PostgreSQL's epoch day is the time itself.
    scratch.clear();
    scratch.push_str("2000-01-01 ");
    scratch.push_str(s.trim_matches(|c: char| c.is_ascii_whitespace()));
    let (micros, offset) = timestamp_parts(scratch)?;
    (0..=USECS_PER_DAY)
        .contains(&micros)
        .then_some((micros, offset))
}

/// `zone`'s UTC offset now, in seconds east.
fn zone_offset_now(zone: chrono_tz::Tz) -> i64 {
    use chrono::{Offset, TimeZone};
    let now = chrono::Utc::now().naive_utc();
    i64::from(zone.offset_from_utc_datetime(&now).fix().local_minus_utc())
}

/// bytea input as PostgreSQL's `byteain` reads it: `\x` and hex digit pairs (spaces
/// between pairs allowed), or the escape form (`\\` a backslash, `\ooo` an octal byte,
/// any other byte as it is).
pub fn parse_bytea(s: &str, buf: &mut BytesMut) -> Result<(), Problem> {
    let b = s.as_bytes();
    if let Some(hex) = b.strip_prefix(b"\\x") {
        let mut digits = hex.iter().filter(|c| !c.is_ascii_whitespace());
        while let Some(&hi) = digits.next() {
            let lo = *digits
                .next()
                .ok_or(Problem::NotBytea("odd number of hex digits"))?;
            let v = |c: u8| {
                (c as char)
                    .to_digit(16)
                    .ok_or(Problem::NotBytea("not a hex digit"))
            };
            buf.put_u8((v(hi)? << 4 | v(lo)?) as u8);
        }
        return Ok(());
    }
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1) == Some(&b'\\') => {
                buf.put_u8(b'\\');
                i += 2;
            }
            b'\\' => {
                let octal = b.get(i + 1..i + 4).filter(|d| {
                    (b'0'..=b'3').contains(&d[0])
                        && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
                });
                let d = octal.ok_or(Problem::NotBytea(
                    "a backslash not followed by \\ or 3 octal digits",
                ))?;
                buf.put_u8((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            c => {
                buf.put_u8(c);
                i += 1;
            }
        }
    }
    Ok(())
}

/// The length limits of varchar(n), char(n) and name, for text as given.
fn check_text_len(t: &ColumnCodec, s: &str) -> Result<(), Problem> {
    if t.ty == PgType::Name && s.len() > NAME_MAX_BYTES {
        return Err(Problem::NameTooLong);
    }
    if let Some(max) = t.max_chars
        // Bytes bound characters from above: count only when it can matter.
        && s.len() > max
        && s.chars().count() > max
        // The server cuts trailing spaces beyond the limit instead of failing.
        && s.trim_end_matches(' ').chars().count() > max
    {
        return Err(Problem::TooLong(max));
    }
    Ok(())
}

/// The length limits for the ASCII text form of a typed value.
fn check_written_len(t: &ColumnCodec, len: usize) -> Result<(), Problem> {
    match t.max_chars {
        Some(max) if len > max => Err(Problem::TooLong(max)),
        _ if t.ty == PgType::Name && len > NAME_MAX_BYTES => Err(Problem::NameTooLong),
        _ => Ok(()),
    }
}

/// A decimal integer (`42`, `-7`, `+3`) within i64.
pub fn parse_int(s: &str) -> Result<i64, Problem> {
    use std::num::IntErrorKind;
    s.parse::<i64>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => Problem::OutOfRange,
        _ => Problem::NotInteger,
    })
}

fn is_infinity_word(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("infinity")
}

/// The spellings PostgreSQL's `boolin` accepts (whole words only).
pub fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 6] = ["t", "true", "y", "yes", "on", "1"];
    const FALSE: [&str; 6] = ["f", "false", "n", "no", "off", "0"];
    if TRUE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(true)
    } else if FALSE.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        Some(false)
    } else {
        None
    }
}

/// `YYYY-MM-DD` (or `infinity`) as days since 2000-01-01.
pub fn parse_date(s: &str) -> Option<i32> {
    match infinity(s) {
        Some(true) => return Some(i32::MAX),
        Some(false) => return Some(i32::MIN),
        None => {}
    }
    match date_prefix(s.as_bytes())? {
        (days, []) => Some(days),
        _ => None,
    }
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.fff…]]][ ][Z|±HH[:MM]]` (or `infinity`) as microseconds
/// since 2000-01-01. With `tz` the offset converts to UTC (none means UTC); without it
/// the offset is ignored, as PostgreSQL does for `timestamp`.
pub fn parse_timestamp(s: &str, tz: bool) -> Option<i64> {
    let (micros, offset) = timestamp_parts(s)?;
    Some(match offset {
        Some(offset) if tz => micros - offset * 1_000_000,
        _ => micros,
    })
}

/// A `timestamptz` value as microseconds since 2000-01-01 UTC: text with an offset is at
/// that offset; text without one is local time in `zone` (UTC when `None`), resolved as the
/// server resolves it (see [`local_to_utc`]).
pub fn parse_timestamptz(s: &str, zone: Option<chrono_tz::Tz>) -> Option<i64> {
    let (micros, offset) = timestamp_parts(s)?;
    if micros == i64::MAX || micros == i64::MIN {
        return Some(micros);
    }
    match (offset, zone) {
        (Some(offset), _) => Some(micros - offset * 1_000_000),
        (None, None) => Some(micros),
        (None, Some(zone)) => local_to_utc(micros, zone),
    }
}

/// Local time `micros` (since 2000-01-01) in `zone`, as UTC microseconds. A local time that
/// a spring-forward transition skips is read at the offset before the transition, one that
/// a fall-back transition repeats at the offset after it: PostgreSQL's rule
/// (`DetermineTimeZoneOffset` in `datetime.c`), so the result matches the server's input.
pub fn local_to_utc(micros: i64, zone: chrono_tz::Tz) -> Option<i64> {
    use chrono::{LocalResult, Offset, TimeZone};
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let local = epoch.checked_add_signed(chrono::Duration::microseconds(micros))?;
    let offset_secs = match zone.offset_from_local_datetime(&local) {
        LocalResult::Single(o) => o.fix().local_minus_utc(),
        // Repeated: the later instant, at the offset after the transition.
        LocalResult::Ambiguous(a, b) => a.fix().local_minus_utc().min(b.fix().local_minus_utc()),
        // Skipped: the offset in effect a day before.
        LocalResult::None => {
            let before = local.checked_sub_signed(chrono::Duration::days(1))?;
            zone.offset_from_local_datetime(&before)
                .earliest()?
                .fix()
                .local_minus_utc()
        }
    };
    Some(micros - i64::from(offset_secs) * 1_000_000)
}

/// Microseconds since 2000-01-01 of the text as written, and its UTC offset in seconds if
/// it has one; ±infinity as `i64::MAX`/`i64::MIN`.
fn timestamp_parts(s: &str) -> Option<(i64, Option<i64>)> {
    match infinity(s) {
        Some(true) => return Some((i64::MAX, None)),
        Some(false) => return Some((i64::MIN, None)),
        None => {}
    }
    let (days, mut rest) = date_prefix(s.as_bytes())?;
    let mut micros = i64::from(days) * USECS_PER_DAY;
    if rest.is_empty() {
        return Some((micros, None));
    }
    match rest[0] {
        b' ' | b'T' | b't' => rest = &rest[1..],
        _ => return None,
    }
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let (hour, min) = (two_digits(&rest[0..2])?, two_digits(&rest[3..5])?);
    rest = &rest[5..];
    let (mut sec, mut frac) = (0, 0);
    if let [b':', a, b, tail @ ..] = rest {
        sec = two_digits(&[*a, *b])?;
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            frac = fraction_micros(&tail[..n]);
            rest = &tail[n..];
        }
    }
    // 24:00:00 and a leap second 23:59:60 are valid, as in PostgreSQL.
    if min > 59 || sec > 60 || hour > 24 || (hour == 24 && (min, sec, frac) != (0, 0, 0)) {
        return None;
    }
    micros += i64::from((hour * 60 + min) * 60 + sec) * 1_000_000 + frac;
    let rest = rest.trim_ascii_start();
    if rest.is_empty() {
        return Some((micros, None));
    }
    Some((micros, Some(parse_offset(rest)?)))
}

/// `Some(true)` for `infinity`, `Some(false)` for `-infinity`.
fn infinity(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("infinity") || s.eq_ignore_ascii_case("+infinity") {
        Some(true)
    } else if s.eq_ignore_ascii_case("-infinity") {
        Some(false)
    } else {
        None
    }
}

/// Reads `YYYY-MM-DD` at the start; returns days since 2000-01-01 and the rest.
fn date_prefix(b: &[u8]) -> Option<(i32, &[u8])> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?;
    let (month, day) = (two_digits(&b[5..7])?, two_digits(&b[8..10])?);
    // There is no year 0 (1 BC comes before 1 AD).
    if year == 0 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    Some((date.num_days_from_ce() - DAYS_CE_TO_PG_EPOCH, &b[10..]))
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// Fraction digits (after the point) as microseconds, rounded half up past six digits.
fn fraction_micros(digits: &[u8]) -> i64 {
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    if digits.get(6).is_some_and(|&d| d >= b'5') {
        micros += 1;
    }
    micros
}

/// `Z`, `UTC`, `±HH`, `±HHMM`, `±HH:MM` or `±HH:MM:SS` as seconds east of UTC.
fn parse_offset(b: &[u8]) -> Option<i64> {
    if b.eq_ignore_ascii_case(b"z") || b.eq_ignore_ascii_case(b"utc") {
        return Some(0);
    }
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m, s) = match &b[1..] {
        [h1, h2] => (two_digits(&[*h1, *h2])?, 0, 0),
        [h1, h2, m1, m2] => (two_digits(&[*h1, *h2])?, two_digits(&[*m1, *m2])?, 0),
        [h1, h2, b':', m1, m2] => (two_digits(&[*h1, *h2])?, two_digits(&[*m1, *m2])?, 0),
        [h1, h2, b':', m1, m2, b':', s1, s2] => (
            two_digits(&[*h1, *h2])?,
            two_digits(&[*m1, *m2])?,
            two_digits(&[*s1, *s2])?,
        ),
        _ => return None,
    };
    if h > 15 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * i64::from(h * 3600 + m * 60 + s))
}

/// 32 hex digits, with hyphens after any group of four (as PostgreSQL accepts) and
/// optional braces: `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`, `{A0EEBC99…}`.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    let b = match b {
        [b'{', inner @ .., b'}'] => inner,
        b => b,
    };
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut after_hyphen = false;
    for (i, &c) in b.iter().enumerate() {
        if c == b'-' {
            if n == 0 || n % 4 != 0 || after_hyphen || i + 1 == b.len() {
                return None;
            }
            after_hyphen = true;
            continue;
        }
        let v = (c as char).to_digit(16)? as u8;
        if n == 32 {
            return None;
        }
        out[n / 2] |= if n % 2 == 0 { v << 4 } else { v };
        n += 1;
        after_hyphen = false;
    }
    (n == 32).then_some(out)
}

fn check_json(s: &str) -> Result<(), Problem> {
    serde_json::from_str::<serde::de::IgnoredAny>(s)
        .map(drop)
        .map_err(|e| Problem::InvalidJson(e.to_string()))
}

/// Whether valid JSON text holds the escape `\u0000` (not `\\u0000`).
fn has_nul_escape(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'\\') {
        let j = i + off;
        if b[j + 1..].starts_with(b"u0000") {
            return true;
        }
        // Skip the escaped character, which may itself be a backslash.
        i = j + 2;
        if i >= b.len() {
            break;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(ty: PgType, typmod: i32, not_null: bool) -> ColumnCodec {
        ColumnCodec::new("c".into(), ty, typmod, not_null)
    }

    /// The field bytes (after the length) of `v` for a column of type `ty`.
    fn field(ty: PgType, v: ValueRef<'_>) -> Result<Option<Vec<u8>>, Problem> {
        field_in(&target(ty, -1, false), v)
    }

    fn field_in(t: &ColumnCodec, v: ValueRef<'_>) -> Result<Option<Vec<u8>>, Problem> {
        let mut buf = BytesMut::new();
        encode_field(&mut buf, t, v, &mut Scratch::default())?;
        let len = i32::from_be_bytes(buf[..4].try_into().unwrap());
        if len < 0 {
            assert_eq!(buf.len(), 4);
            return Ok(None);
        }
        assert_eq!(buf.len(), 4 + len as usize);
        Ok(Some(buf[4..].to_vec()))
    }

    fn text(ty: PgType, s: &str) -> Result<Option<Vec<u8>>, Problem> {
        field(ty, ValueRef::Text(s))
    }

    #[test]
    fn integers_from_text() {
        assert_eq!(
            text(PgType::Int8, "42"),
            Ok(Some(42i64.to_be_bytes().to_vec()))
        );
        assert_eq!(
            text(PgType::Int8, " -7 "),
            Ok(Some((-7i64).to_be_bytes().to_vec()))
        );
        assert_eq!(
            text(PgType::Int4, "+3"),
            Ok(Some(3i32.to_be_bytes().to_vec()))
        );
        assert_eq!(
            text(PgType::Int2, "32767"),
            Ok(Some(i16::MAX.to_be_bytes().to_vec()))
        );
        assert_eq!(text(PgType::Int2, "32768"), Err(Problem::OutOfRange));
        assert_eq!(text(PgType::Int4, "-2147483649"), Err(Problem::OutOfRange));
        assert_eq!(
            text(PgType::Int8, "9223372036854775808"),
            Err(Problem::OutOfRange)
        );
        for bad in ["abc", "1.0", "1e3", "12a", "--1", "0x1f"] {
            assert_eq!(text(PgType::Int8, bad), Err(Problem::NotInteger), "{bad}");
        }
    }

    #[test]
    fn empty_text_is_null_except_in_text_columns() {
        assert_eq!(text(PgType::Int8, ""), Ok(None));
        assert_eq!(text(PgType::Date, "  "), Ok(None));
        assert_eq!(text(PgType::Text, ""), Ok(Some(vec![])));
        let nn = target(PgType::Int8, -1, true);
        assert_eq!(
            field_in(&nn, ValueRef::Text("")),
            Err(Problem::Null { empty: true })
        );
        assert_eq!(
            field_in(&nn, ValueRef::Null),
            Err(Problem::Null { empty: false })
        );
    }

    #[test]
    fn floats() {
        assert_eq!(
            text(PgType::Float8, "1.5e3"),
            Ok(Some(1500f64.to_be_bytes().to_vec()))
        );
        assert_eq!(
            text(PgType::Float4, "0.1"),
            Ok(Some(0.1f32.to_be_bytes().to_vec()))
        );
        assert_eq!(
            text(PgType::Float8, "-Infinity"),
            Ok(Some(f64::NEG_INFINITY.to_be_bytes().to_vec()))
        );
        assert_eq!(text(PgType::Float4, "1e40"), Err(Problem::OutOfRange));
        assert_eq!(text(PgType::Float8, "1e400"), Err(Problem::OutOfRange));
        assert_eq!(text(PgType::Float8, "x1"), Err(Problem::NotNumber));
        assert_eq!(
            field(PgType::Float4, ValueRef::Float(1e300)),
            Err(Problem::OutOfRange)
        );
    }

    #[test]
    fn booleans() {
        for (s, b) in [
            ("true", true),
            ("T", true),
            ("yes", true),
            ("1", true),
            ("on", true),
        ] {
            assert_eq!(parse_bool(s), Some(b), "{s}");
        }
        for (s, b) in [("false", false), ("f", false), ("NO", false), ("0", false)] {
            assert_eq!(parse_bool(s), Some(b), "{s}");
        }
        for bad in ["tr", "2", "yess", "nope"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
        assert_eq!(
            field(PgType::Bool, ValueRef::Int(1)),
            Err(Problem::Incompatible("an integer"))
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2000-01-01"), Some(0));
        assert_eq!(parse_date("1999-12-31"), Some(-1));
        assert_eq!(parse_date("2024-02-29"), Some(8825));
        assert_eq!(parse_date("infinity"), Some(i32::MAX));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-1",
            "0000-01-01",
            "2024/01/01",
            "x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        const H: i64 = 3_600_000_000;
        assert_eq!(parse_timestamp("2000-01-01 00:00:00", false), Some(0));
        assert_eq!(parse_timestamp("2000-01-01", false), Some(0));
        assert_eq!(parse_timestamp("2000-01-01T01:00", false), Some(H));
        assert_eq!(
            parse_timestamp("2000-01-01 00:00:01.5", false),
            Some(1_500_000)
        );
        assert_eq!(
            parse_timestamp("2000-01-01 00:00:00.0000015", false),
            Some(2)
        );
        assert_eq!(parse_timestamp("2000-01-02 00:00:00", false), Some(24 * H));
        assert_eq!(parse_timestamp("2000-01-01 24:00:00", false), Some(24 * H));
        // With a zone: converted to UTC; a plain timestamp ignores it, like PostgreSQL.
        assert_eq!(parse_timestamp("2000-01-01 09:00:00+09:00", true), Some(0));
        assert_eq!(parse_timestamp("2000-01-01T09:00:00+0900", true), Some(0));
        assert_eq!(
            parse_timestamp("2000-01-01 00:00:00 -05", true),
            Some(5 * H)
        );
        assert_eq!(parse_timestamp("2000-01-01 00:00:00Z", true), Some(0));
        assert_eq!(
            parse_timestamp("2000-01-01 09:00:00+09:00", false),
            Some(9 * H)
        );
        assert_eq!(parse_timestamp("-infinity", true), Some(i64::MIN));
        // Without an offset, timestamptz text is local time in the zone given.
        let ny = chrono_tz::Tz::America__New_York;
        let at = |s| parse_timestamptz(s, Some(ny));
        assert_eq!(at("2000-01-01 00:00:00"), Some(5 * H));
        assert_eq!(at("2000-07-01 00:00:00"), at("2000-07-01 04:00:00Z"));
        // Skipped (02:30 on 2024-03-10): the offset before; repeated (01:30 on 2024-11-03):
        // the offset after, as the server reads them.
        assert_eq!(at("2024-03-10 02:30:00"), at("2024-03-10 07:30:00Z"));
        assert_eq!(at("2024-11-03 01:30:00"), at("2024-11-03 06:30:00Z"));
        assert_eq!(at("2000-01-01 09:00:00+09:00"), Some(0));
        assert_eq!(at("infinity"), Some(i64::MAX));
        assert_eq!(parse_timestamptz("2000-01-01", None), Some(0));
        for bad in [
            "2000-01-01 25:00:00",
            "2000-01-01 24:00:01",
            "2000-01-01 10:60:00",
            "2000-01-01 10:00:61",
            "2000-01-01 10",
            "2000-01-01 10:00:00.",
            "2000-01-01x10:00:00",
            "2000-01-01 10:00:00+9",
            "2000-01-01 10:00:00 nowhere",
            "2000-01-01 10:00:00+16:00",
        ] {
            assert_eq!(parse_timestamp(bad, true), None, "{bad}");
        }
    }

    #[test]
    fn uuids() {
        let want = [
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ];
        for ok in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(parse_uuid(ok), Some(want), "{ok}");
        }
        for bad in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn json() {
        assert_eq!(
            text(PgType::Json, r#"{"a":[1,2]}"#),
            Ok(Some(br#"{"a":[1,2]}"#.to_vec()))
        );
        assert_eq!(text(PgType::Jsonb, "[1]"), Ok(Some(b"\x01[1]".to_vec())));
        assert!(matches!(
            text(PgType::Jsonb, "{x"),
            Err(Problem::InvalidJson(_))
        ));
        assert_eq!(text(PgType::Jsonb, r#""a\u0000""#), Err(Problem::JsonbNul));
        assert!(text(PgType::Jsonb, r#""a\\u0000""#).is_ok());
        assert!(text(PgType::Json, r#""a\u0000""#).is_ok());
    }

    #[test]
    fn text_limits() {
        let v5 = target(PgType::Varchar, 5 + 4, false);
        assert!(field_in(&v5, ValueRef::Text("日本語です")).is_ok());
        assert!(field_in(&v5, ValueRef::Text("abc    ")).is_ok());
        assert_eq!(
            field_in(&v5, ValueRef::Text("abcdef")),
            Err(Problem::TooLong(5))
        );
        assert_eq!(
            field_in(&v5, ValueRef::Int(123456)),
            Err(Problem::TooLong(5))
        );
        // NUL is dropped, as holo-client drops it.
        assert_eq!(text(PgType::Text, "a\0b\0"), Ok(Some(b"ab".to_vec())));
        assert_eq!(
            text(PgType::Name, &"x".repeat(64)),
            Err(Problem::NameTooLong)
        );
    }

    #[test]
    fn typed_values_into_text_and_numbers() {
        assert_eq!(
            field(PgType::Text, ValueRef::Int(-12)),
            Ok(Some(b"-12".to_vec()))
        );
        assert_eq!(
            field(PgType::Text, ValueRef::Float(0.25)),
            Ok(Some(b"0.25".to_vec()))
        );
        assert_eq!(
            field(PgType::Varchar, ValueRef::Float(f64::NAN)),
            Ok(Some(b"NaN".to_vec()))
        );
        assert_eq!(
            field(PgType::Text, ValueRef::Bool(true)),
            Ok(Some(b"true".to_vec()))
        );
        assert_eq!(
            field(PgType::Int2, ValueRef::Int(70000)),
            Err(Problem::OutOfRange)
        );
        assert_eq!(
            field(PgType::Float8, ValueRef::Int(3)),
            Ok(Some(3f64.to_be_bytes().to_vec()))
        );
        assert_eq!(
            field(PgType::Int8, ValueRef::Float(1.0)),
            Err(Problem::Incompatible("a float"))
        );
        assert_eq!(
            field(PgType::Date, ValueRef::Bool(true)),
            Err(Problem::Incompatible("a boolean"))
        );
    }
}
