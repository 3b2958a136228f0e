//! PostgreSQL's binary `numeric`: base-10000 digit groups with a weight, a sign and a
//! display scale, built from decimal text exactly (never through a float).
//!
//! Wire form: `ndigits:u16 weight:i16 sign:u16 dscale:u16` then `ndigits` groups (`i16`,
//! 0..=9999), most significant first; the value is `Σ group[i] × 10000^(weight - i)`.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use super::types::{Problem, Scratch, Typmod};

const SIGN_POS: u16 = 0x0000;
const SIGN_NEG: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PINF: u16 = 0xD000;
const SIGN_NINF: u16 = 0xF000;

/// The server's limits: digits before the point and the display scale.
const MAX_INT_DIGITS: i64 = 131_072;
const MAX_DSCALE: i64 = 16_383;
/// Exponents beyond this cannot make a value within the limits above.
const MAX_EXPONENT: i64 = 1_000_000;

const POW10: [i16; 4] = [1, 10, 100, 1000];

/// Appends decimal text (`-12.50`, `1.5e3`, `NaN`, `Infinity`) as a binary numeric,
/// rounded to the column's scale as the server would.
pub fn encode_text(
    buf: &mut BytesMut,
    text: &str,
    typmod: Option<Typmod>,
    digits: &mut Vec<u8>,
) -> Result<(), Problem> {
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case("nan") && body.len() == text.len() {
        put_special(buf, SIGN_NAN);
        return Ok(());
    }
    if body.eq_ignore_ascii_case("infinity") || body.eq_ignore_ascii_case("inf") {
        return put_infinity(buf, neg, typmod);
    }

    // The digits without leading zeros, and how many of them follow the point.
    digits.clear();
    let b = body.as_bytes();
    let (mut frac, mut seen_dot, mut any) = (0i64, false, false);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                any = true;
                frac += i64::from(seen_dot);
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c - b'0');
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' => break,
            _ => return Err(Problem::NotNumber),
        }
        i += 1;
    }
    if !any {
        return Err(Problem::NotNumber);
    }
    let mut exp = 0i64;
    if i < b.len() {
        i += 1;
        let exp_neg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i == b.len() {
            return Err(Problem::NotNumber);
        }
        for &c in &b[i..] {
            if !c.is_ascii_digit() {
                return Err(Problem::NotNumber);
            }
            exp = exp * 10 + i64::from(c - b'0');
            if exp > MAX_EXPONENT {
                return Err(Problem::OutOfRange);
            }
        }
        if exp_neg {
            exp = -exp;
        }
    }
    encode_digits(buf, neg, digits, exp - frac, typmod)
}

/// Appends an integer as a binary numeric.
pub fn encode_int(
    buf: &mut BytesMut,
    value: i64,
    typmod: Option<Typmod>,
    digits: &mut Vec<u8>,
) -> Result<(), Problem> {
    digits.clear();
    let mut n = value.unsigned_abs();
    while n > 0 {
        digits.push((n % 10) as u8);
        n /= 10;
    }
    digits.reverse();
    encode_digits(buf, value < 0, digits, 0, typmod)
}

/// Appends a float as a binary numeric, by its shortest decimal form (`0.1` stays 0.1).
pub fn encode_float(
    buf: &mut BytesMut,
    value: f64,
    typmod: Option<Typmod>,
    scratch: &mut Scratch,
) -> Result<(), Problem> {
    if value.is_nan() {
        put_special(buf, SIGN_NAN);
        return Ok(());
    }
    if value.is_infinite() {
        return put_infinity(buf, value < 0.0, typmod);
    }
    scratch.text.clear();
    write!(scratch.text, "{value}").expect("writing to a String cannot fail");
    encode_text(buf, &scratch.text, typmod, &mut scratch.digits)
}

fn put_special(buf: &mut BytesMut, sign: u16) {
    buf.put_u16(0);
    buf.put_i16(0);
    buf.put_u16(sign);
    buf.put_u16(0);
}

fn put_infinity(buf: &mut BytesMut, neg: bool, typmod: Option<Typmod>) -> Result<(), Problem> {
    // A numeric(p,s) column cannot hold infinity.
    if let Some(t) = typmod {
        return Err(Problem::NumericOverflow(t));
    }
    put_special(buf, if neg { SIGN_NINF } else { SIGN_PINF });
    Ok(())
}

/// Appends `±digits × 10^exp` (`digits` without leading zeros, empty for zero).
fn encode_digits(
    buf: &mut BytesMut,
    neg: bool,
    digits: &mut Vec<u8>,
    mut exp: i64,
    typmod: Option<Typmod>,
) -> Result<(), Problem> {
    let mut dscale = (-exp).max(0);
    if let Some(t) = typmod {
        let scale = i64::from(t.scale);
        if -exp > scale {
            round(digits, -exp - scale);
            exp = -scale;
        }
        dscale = scale.max(0);
        // The value must stay below 10^(precision - scale).
        if !digits.is_empty() && digits.len() as i64 + exp > i64::from(t.precision) - scale {
            return Err(Problem::NumericOverflow(t));
        }
    }
    if (!digits.is_empty() && digits.len() as i64 + exp > MAX_INT_DIGITS) || dscale > MAX_DSCALE {
        return Err(Problem::OutOfRange);
    }
    let Some(last) = digits.iter().rposition(|&d| d != 0) else {
        // Zero, `-0` included, is positive.
        buf.put_u16(0);
        buf.put_i16(0);
        buf.put_u16(SIGN_POS);
        buf.put_u16(dscale as u16);
        return Ok(());
    };
    // Power of ten of the first digit; groups are aligned on the decimal point.
    let top = digits.len() as i64 - 1 + exp;
    let weight = top.div_euclid(4);
    let bottom = (top - last as i64).div_euclid(4);
    buf.put_u16((weight - bottom + 1) as u16);
    buf.put_i16(weight as i16);
    buf.put_u16(if neg { SIGN_NEG } else { SIGN_POS });
    buf.put_u16(dscale as u16);
    let (mut group, mut acc) = (weight, 0i16);
    for (i, &d) in digits[..=last].iter().enumerate() {
        let power = top - i as i64;
        while power.div_euclid(4) < group {
            buf.put_i16(acc);
            acc = 0;
            group -= 1;
        }
        acc += i16::from(d) * POW10[power.rem_euclid(4) as usize];
    }
    buf.put_i16(acc);
    Ok(())
}

/// Drops the last `drop` digits, rounding half away from zero like the server.
fn round(digits: &mut Vec<u8>, drop: i64) {
    let keep = digits.len() as i64 - drop;
    if keep < 0 {
        // Every digit is below the rounding position's first digit: rounds to zero.
        digits.clear();
        return;
    }
    let keep = keep as usize;
    let up = digits[keep] >= 5;
    digits.truncate(keep);
    if up {
        for j in (0..=keep).rev() {
            if j == 0 {
                digits.insert(0, 1);
                break;
            }
            if digits[j - 1] == 9 {
                digits[j - 1] = 0;
            } else {
                digits[j - 1] += 1;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `text` and splits the result into header and groups.
    fn enc(text: &str, typmod: Option<Typmod>) -> Result<(u16, i16, u16, u16, Vec<i16>), Problem> {
        let mut buf = BytesMut::new();
        encode_text(&mut buf, text, typmod, &mut Vec::new())?;
        let w = |i: usize| u16::from_be_bytes([buf[i], buf[i + 1]]);
        let n = w(0);
        let groups = (0..n as usize).map(|i| w(8 + 2 * i) as i16).collect();
        assert_eq!(buf.len(), 8 + 2 * n as usize);
        Ok((n, w(2) as i16, w(4), w(6), groups))
    }

    fn tm(precision: u16, scale: i16) -> Option<Typmod> {
        Some(Typmod { precision, scale })
    }

    #[test]
    fn encodes_like_the_server() {
        // Expected values from `numeric_send` of PostgreSQL 15.
        assert_eq!(enc("0", None), Ok((0, 0, SIGN_POS, 0, vec![])));
        assert_eq!(enc("-0.000", None), Ok((0, 0, SIGN_POS, 3, vec![])));
        assert_eq!(enc("1", None), Ok((1, 0, SIGN_POS, 0, vec![1])));
        assert_eq!(enc("10000", None), Ok((1, 1, SIGN_POS, 0, vec![1])));
        assert_eq!(
            enc("12345.678", None),
            Ok((3, 1, SIGN_POS, 3, vec![1, 2345, 6780]))
        );
        assert_eq!(enc("-1.50", None), Ok((2, 0, SIGN_NEG, 2, vec![1, 5000])));
        assert_eq!(enc("0.0001", None), Ok((1, -1, SIGN_POS, 4, vec![1])));
        assert_eq!(enc("0.00001", None), Ok((1, -2, SIGN_POS, 5, vec![1000])));
        assert_eq!(enc("+007.5e2", None), Ok((1, 0, SIGN_POS, 0, vec![750])));
        assert_eq!(enc("1.5e-3", None), Ok((1, -1, SIGN_POS, 4, vec![15])));
        assert_eq!(enc("1e8", None), Ok((1, 2, SIGN_POS, 0, vec![1])));
        assert_eq!(enc(".5", None), Ok((1, -1, SIGN_POS, 1, vec![5000])));
        assert_eq!(enc("5.", None), Ok((1, 0, SIGN_POS, 0, vec![5])));
        assert_eq!(
            enc("-9223372036854775808", None),
            Ok((5, 4, SIGN_NEG, 0, vec![922, 3372, 368, 5477, 5808]))
        );
        assert_eq!(enc("NaN", None), Ok((0, 0, SIGN_NAN, 0, vec![])));
        assert_eq!(enc("-Infinity", None), Ok((0, 0, SIGN_NINF, 0, vec![])));
        assert_eq!(enc("inf", None), Ok((0, 0, SIGN_PINF, 0, vec![])));
    }

    #[test]
    fn rounds_and_bounds_to_the_typmod() {
        assert_eq!(
            enc("1.005", tm(5, 2)),
            Ok((2, 0, SIGN_POS, 2, vec![1, 100]))
        );
        assert_eq!(enc("-1.004", tm(5, 2)), Ok((1, 0, SIGN_NEG, 2, vec![1])));
        assert_eq!(enc("9.995", tm(4, 2)), Ok((1, 0, SIGN_POS, 2, vec![10])));
        assert_eq!(enc("1.5", tm(5, 2)), Ok((2, 0, SIGN_POS, 2, vec![1, 5000])));
        assert_eq!(enc("0.004", tm(5, 2)), Ok((0, 0, SIGN_POS, 2, vec![])));
        assert_eq!(enc("0.005", tm(5, 2)), Ok((1, -1, SIGN_POS, 2, vec![100])));
        assert_eq!(enc("1234", tm(5, -2)), Ok((1, 0, SIGN_POS, 0, vec![1200])));
        assert_eq!(
            enc("99.5", tm(2, 0)),
            Err(Problem::NumericOverflow(tm(2, 0).unwrap()))
        );
        assert_eq!(
            enc("999.99", tm(5, 2)),
            Ok((2, 0, SIGN_POS, 2, vec![999, 9900]))
        );
        assert_eq!(
            enc("999.995", tm(5, 2)),
            Err(Problem::NumericOverflow(tm(5, 2).unwrap()))
        );
        assert_eq!(
            enc("Infinity", tm(5, 2)),
            Err(Problem::NumericOverflow(tm(5, 2).unwrap()))
        );
        assert_eq!(enc("NaN", tm(5, 2)), Ok((0, 0, SIGN_NAN, 0, vec![])));
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in [
            "", "-", ".", "1.2.3", "1e", "1e+", "abc", "1,5", "--1", "1 2", "-NaN", "0x10",
        ] {
            assert_eq!(enc(bad, None), Err(Problem::NotNumber), "{bad:?}");
        }
        assert_eq!(enc("1e9999999", None), Err(Problem::OutOfRange));
        assert_eq!(enc("1e200000", None), Err(Problem::OutOfRange));
        assert_eq!(enc("1e-20000", None), Err(Problem::OutOfRange));
    }

    #[test]
    fn typmod_decoding() {
        // numeric(10,2) and numeric(3,-2) as stored in atttypmod.
        assert_eq!(Typmod::from_atttypmod((10 << 16 | 2) + 4), tm(10, 2));
        assert_eq!(Typmod::from_atttypmod((3 << 16 | 0x7fe) + 4), tm(3, -2));
        assert_eq!(Typmod::from_atttypmod(-1), None);
    }

    #[test]
    fn integers_and_floats() {
        let mut buf = BytesMut::new();
        encode_int(&mut buf, -120, None, &mut Vec::new()).unwrap();
        assert_eq!(&buf[..], &[0, 1, 0, 0, 0x40, 0, 0, 0, 0, 120]);
        buf.clear();
        encode_int(&mut buf, 0, None, &mut Vec::new()).unwrap();
        assert_eq!(&buf[..], &[0, 0, 0, 0, 0, 0, 0, 0]);
        buf.clear();
        encode_float(&mut buf, 0.1, None, &mut Scratch::default()).unwrap();
        assert_eq!(&buf[..], &[0, 1, 0xff, 0xff, 0, 0, 0, 1, 0x03, 0xe8]);
    }
}
