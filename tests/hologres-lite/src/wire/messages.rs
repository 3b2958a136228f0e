//! Building and reading the messages the proxy looks into: queries, `Parse`, `Bind`,
//! `Execute`, command tags, errors and `ReadyForQuery`.

use super::frame::Frame;
use bytes::{BufMut, Bytes, BytesMut};

/// The NUL-terminated string at `pos` in `body` and the position after it.
pub fn cstr(body: &[u8], pos: usize) -> Option<(String, usize)> {
    let rest = body.get(pos..)?;
    let n = rest.iter().position(|&b| b == 0)?;
    Some((
        String::from_utf8_lossy(&rest[..n]).into_owned(),
        pos + n + 1,
    ))
}

fn put_cstr(out: &mut BytesMut, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.put_u8(0);
}

/// `Query`.
pub fn query(sql: &str) -> Frame {
    let mut b = BytesMut::new();
    put_cstr(&mut b, sql);
    Frame::new(b'Q', b.freeze())
}

/// The statement name, SQL text and the rest (parameter types) of a `Parse`.
pub fn read_parse(body: &Bytes) -> Option<(String, String, Bytes)> {
    let (name, p) = cstr(body, 0)?;
    let (sql, p) = cstr(body, p)?;
    Some((name, sql, body.slice(p..)))
}

/// `Parse` of `sql` into `name` with the parameter types `rest` (as read by [`read_parse`]).
pub fn parse(name: &str, sql: &str, rest: &[u8]) -> Frame {
    let mut b = BytesMut::new();
    put_cstr(&mut b, name);
    put_cstr(&mut b, sql);
    if rest.is_empty() {
        b.put_i16(0);
    } else {
        b.extend_from_slice(rest);
    }
    Frame::new(b'P', b.freeze())
}

/// The portal and statement names of a `Bind`.
pub fn read_bind(body: &Bytes) -> Option<(String, String)> {
    let (portal, p) = cstr(body, 0)?;
    let (stmt, _) = cstr(body, p)?;
    Some((portal, stmt))
}

/// How many parameter values a `Bind` carries.
pub fn bind_parameters(body: &Bytes) -> Option<usize> {
    let (_, p) = cstr(body, 0)?;
    let (_, p) = cstr(body, p)?;
    let formats = i16::from_be_bytes(body.get(p..p + 2)?.try_into().ok()?);
    let at = p + 2 + 2 * usize::try_from(formats).ok()?;
    let n = i16::from_be_bytes(body.get(at..at + 2)?.try_into().ok()?);
    usize::try_from(n).ok()
}

/// The `S`/`P` byte and name of a `Describe` or `Close`.
pub fn read_target(body: &Bytes) -> Option<(u8, String)> {
    let which = *body.first()?;
    Some((which, cstr(body, 1)?.0))
}

/// `CommandComplete` with `tag`.
pub fn command_complete(tag: &str) -> Frame {
    let mut b = BytesMut::new();
    put_cstr(&mut b, tag);
    Frame::new(b'C', b.freeze())
}

pub fn ready(status: u8) -> Frame {
    Frame::new(b'Z', Bytes::copy_from_slice(&[status]))
}

/// The fields of an `ErrorResponse` or `NoticeResponse`.
pub fn read_fields(body: &[u8]) -> Vec<(u8, String)> {
    let mut out = Vec::new();
    let mut p = 0;
    while let Some(&code) = body.get(p) {
        if code == 0 {
            break;
        }
        match cstr(body, p + 1) {
            Some((v, next)) => {
                out.push((code, v));
                p = next;
            }
            None => break,
        }
    }
    out
}

/// An `ErrorResponse` (`tag` `E`) or `NoticeResponse` (`N`) of `fields`.
pub fn fields_frame(tag: u8, fields: &[(u8, String)]) -> Frame {
    let mut b = BytesMut::new();
    for (code, v) in fields {
        b.put_u8(*code);
        put_cstr(&mut b, v);
    }
    b.put_u8(0);
    Frame::new(tag, b.freeze())
}

/// An `ErrorResponse` as Hologres writes one: severity, SQLSTATE, message.
pub fn error(severity: &str, code: &str, message: &str) -> Frame {
    fields_frame(
        b'E',
        &[
            (b'S', severity.to_owned()),
            (b'V', severity.to_owned()),
            (b'C', code.to_owned()),
            (b'M', message.to_owned()),
        ],
    )
}

/// A `ParameterStatus`.
pub fn parameter_status(name: &str, value: &str) -> Frame {
    let mut b = BytesMut::new();
    put_cstr(&mut b, name);
    put_cstr(&mut b, value);
    Frame::new(b'S', b.freeze())
}
