//! One-dimensional arrays (`int4[]`, `int8[]`, `float4[]`, `float8[]`, `bool[]`, `text[]`:
//! the array types holo-client writes, `ArrayUtil`): read from PostgreSQL's array text
//! (`{1,2,NULL}`, `{"a b","c\"d"}`) or a JSON array (`[1, 2, null]`), and written in the
//! binary array format, each element encoded as its own column type would be.

use std::borrow::Cow;

use bytes::{BufMut, BytesMut};
use holo_batch::ValueRef;

use super::encode::encode_field;
use super::types::{ColumnCodec, Problem, Scratch};

/// Appends the binary form of the array that `s` spells, for array column `t`.
pub fn encode_text(
    buf: &mut BytesMut,
    t: &ColumnCodec,
    s: &str,
    scratch: &mut Scratch,
) -> Result<(), Problem> {
    let elem_ty = t.ty.element().expect("an array type");
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let items = if s.starts_with('[') {
        json_elements(s)?
    } else {
        literal_elements(s)?
    };
    let elem = ColumnCodec {
        name: t.name.clone(),
        ty: elem_ty,
        not_null: false,
        max_chars: None,
        numeric: None,
        zone: t.zone,
    };
    let has_null = items.iter().any(Option::is_none);
    buf.put_i32(i32::from(!items.is_empty())); // dimensions: 0 for an empty array
    buf.put_i32(i32::from(has_null));
    buf.put_u32(elem_ty.oid());
    if !items.is_empty() {
        buf.put_i32(items.len() as i32);
        buf.put_i32(1); // lower bound
    }
    for item in &items {
        let value = match item {
            None => ValueRef::Null,
            Some(text) if text.is_empty() && !elem_ty.is_text_like() => {
                return Err(bad("an empty element"));
            }
            Some(text) => ValueRef::Text(text),
        };
        encode_field(buf, &elem, value, scratch).map_err(|p| {
            let mut why = String::new();
            // The element's own problem, in the element type's words.
            let _ = std::fmt::Write::write_fmt(
                &mut why,
                format_args!(
                    "element {:?} {}",
                    item.as_deref().unwrap_or(""),
                    Describe(&p, elem_ty)
                ),
            );
            Problem::NotArray(why)
        })?;
    }
    Ok(())
}

fn bad(why: &str) -> Problem {
    Problem::NotArray(why.to_owned())
}

/// Formats a [`Problem`] with [`Problem::describe`].
struct Describe<'a>(&'a Problem, super::PgType);

impl std::fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.describe(self.1, f)
    }
}

/// The elements of a JSON array of scalars, as text (`None` for null).
fn json_elements(s: &str) -> Result<Vec<Option<Cow<'_, str>>>, Problem> {
    use serde_json::Value;
    let items: Vec<Value> =
        serde_json::from_str(s).map_err(|e| Problem::NotArray(format!("not a JSON array: {e}")))?;
    items
        .into_iter()
        .map(|v| match v {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(Cow::Borrowed(if b { "true" } else { "false" }))),
            Value::Number(n) => Ok(Some(Cow::Owned(n.to_string()))),
            Value::String(s) => Ok(Some(Cow::Owned(s))),
            Value::Array(_) | Value::Object(_) => Err(bad(
                "a nested array or object: only one-dimensional arrays of scalars",
            )),
        })
        .collect()
}

/// The elements of PostgreSQL's array text `{a,"b c",NULL}` (`None` for an unquoted NULL),
/// with its quoting: `"` around an element, `\` before any character.
fn literal_elements(s: &str) -> Result<Vec<Option<Cow<'_, str>>>, Problem> {
    let inner = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| bad("expected {…} or […]"))?;
    let mut items = Vec::new();
    if inner
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .is_empty()
    {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut text = String::new();
        let mut quoted = false;
        let mut escaped = false;
        match chars.peek() {
            Some('{') => return Err(bad("nested braces: only one-dimensional arrays")),
            Some('"') => {
                chars.next();
                quoted = true;
                loop {
                    match chars.next() {
                        None => return Err(bad("an unterminated quoted element")),
                        Some('"') => break,
                        Some('\\') => text.push(chars.next().ok_or_else(|| bad("a trailing \\"))?),
                        Some(c) => text.push(c),
                    }
                }
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    match c {
                        ',' => break,
                        '"' | '{' | '}' => {
                            return Err(bad("a quote or brace inside an unquoted element"));
                        }
                        '\\' => {
                            chars.next();
                            escaped = true;
                            text.push(chars.next().ok_or_else(|| bad("a trailing \\"))?);
                            continue;
                        }
                        c => text.push(c),
                    }
                    chars.next();
                }
                let trimmed = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
                text.truncate(trimmed.len());
            }
        }
        if !quoted && !escaped && text.eq_ignore_ascii_case("null") {
            items.push(None);
        } else if !quoted && text.is_empty() {
            return Err(bad("an empty element"));
        } else {
            items.push(Some(Cow::Owned(text)));
        }
        match chars.next() {
            None => return Ok(items),
            Some(',') => {}
            Some(_) => return Err(bad("expected a comma between elements")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::postgres::PgType;

    fn elems(s: &str) -> Result<Vec<Option<String>>, Problem> {
        literal_elements(s).map(|v| v.into_iter().map(|e| e.map(Cow::into_owned)).collect())
    }

    fn some(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn literals_read_as_postgres_reads_them() {
        assert_eq!(elems("{1,2,3}"), Ok(some(&["1", "2", "3"])));
        assert_eq!(elems("{ 1 , 2 }"), Ok(some(&["1", "2"])));
        assert_eq!(elems("{}"), Ok(vec![]));
        assert_eq!(elems("{ }"), Ok(vec![]));
        assert_eq!(
            elems(r#"{"a b","c\"d",NULL,"NULL",e\,f}"#),
            Ok(vec![
                Some("a b".into()),
                Some("c\"d".into()),
                None,
                Some("NULL".into()),
                Some("e,f".into())
            ])
        );
        assert_eq!(elems(r#"{"",x}"#), Ok(some(&["", "x"])));
        for bad in [
            "1,2",
            "{1,,2}",
            "{{1},{2}}",
            r#"{"a}"#,
            "{a b\"c}",
            "{1,}",
            "{\"a\" b}",
        ] {
            assert!(matches!(elems(bad), Err(Problem::NotArray(_))), "{bad}");
        }
    }

    fn encoded(ty: PgType, s: &str) -> Result<Vec<u8>, Problem> {
        let t = ColumnCodec::new("a".into(), ty, -1, false);
        let mut buf = BytesMut::new();
        encode_text(&mut buf, &t, s, &mut Scratch::default())?;
        Ok(buf.to_vec())
    }

    #[test]
    fn binary_arrays_and_element_errors() {
        let want = |oid: u32, fields: &[Option<&[u8]>]| {
            let mut b = BytesMut::new();
            b.put_i32(i32::from(!fields.is_empty()));
            b.put_i32(i32::from(fields.iter().any(Option::is_none)));
            b.put_u32(oid);
            if !fields.is_empty() {
                b.put_i32(fields.len() as i32);
                b.put_i32(1);
            }
            for f in fields {
                match f {
                    None => b.put_i32(-1),
                    Some(f) => {
                        b.put_i32(f.len() as i32);
                        b.put_slice(f);
                    }
                }
            }
            b.to_vec()
        };
        assert_eq!(
            encoded(PgType::Int4Array, "{7,NULL}"),
            Ok(want(23, &[Some(&7i32.to_be_bytes()), None]))
        );
        assert_eq!(
            encoded(PgType::Int8Array, "[7, null]"),
            encoded(PgType::Int8Array, "{7,NULL}")
        );
        assert_eq!(encoded(PgType::TextArray, "{}"), Ok(want(25, &[])));
        assert_eq!(
            encoded(PgType::TextArray, r#"["日本", ""]"#),
            Ok(want(25, &[Some("日本".as_bytes()), Some(b"")]))
        );
        assert_eq!(
            encoded(PgType::BoolArray, "{t,false}"),
            Ok(want(16, &[Some(&[1]), Some(&[0])]))
        );
        let err = encoded(PgType::Int4Array, "{1,x}").unwrap_err();
        assert_eq!(
            err,
            Problem::NotArray("element \"x\" is not an integer".into())
        );
        assert!(matches!(
            encoded(PgType::Float8Array, "[[1]]"),
            Err(Problem::NotArray(_))
        ));
        assert!(matches!(
            encoded(PgType::Float4Array, r#"{1,""}"#),
            Err(Problem::NotArray(_))
        ));
    }
}
