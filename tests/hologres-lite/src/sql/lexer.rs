//! SQL tokens, just enough to split a query string into statements and to recognise the
//! statements Hologres treats differently: words, quoted names, literals, punctuation.

/// One token: its class and its byte range in the statement text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub class: Class,
    pub start: usize,
    pub end: usize,
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A keyword or unquoted name.
    Word,
    /// A `"quoted"` name.
    Quoted,
    /// A string literal: `'…'`, `E'…'`, `$tag$…$tag$`.
    Str,
    /// A number or a `$1` parameter.
    Number,
    /// Any other character: `(`, `)`, `,`, `;`, `=`, operators.
    Punct(u8),
}

/// The tokens of `sql`, comments and white space left out.
pub fn lex(sql: &str) -> Vec<Token> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let class = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'\'' => {
                i = end_of_string(b, i + 1, false);
                Class::Str
            }
            b'E' | b'e' if b.get(i + 1) == Some(&b'\'') => {
                i = end_of_string(b, i + 2, true);
                Class::Str
            }
            b'"' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'"' {
                        if b.get(i + 1) == Some(&b'"') {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                Class::Quoted
            }
            b'$' => match dollar_tag(b, i) {
                Some(tag_end) => {
                    let tag = &b[i..tag_end];
                    i = tag_end;
                    while i < b.len() && !b[i..].starts_with(tag) {
                        i += 1;
                    }
                    i = (i + tag.len()).min(b.len());
                    Class::Str
                }
                None => {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    Class::Number
                }
            },
            _ if c.is_ascii_digit() => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                Class::Number
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric()
                        || b[i] == b'_'
                        || b[i] == b'$'
                        || b[i] >= 0x80)
                {
                    i += 1;
                }
                Class::Word
            }
            _ => {
                i += 1;
                Class::Punct(c)
            }
        };
        out.push(Token {
            class,
            start,
            end: i,
        });
    }
    out
}

/// The end of a `'…'` literal whose body starts at `i`.
fn end_of_string(b: &[u8], mut i: usize, backslash: bool) -> usize {
    while i < b.len() {
        match b[i] {
            b'\\' if backslash => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// The end of the opening `$tag$` at `i`, if there is one there (and not a `$1` parameter).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

/// The statements of a query string, without their `;` and without empty ones, as the
/// server would run them one after the other.
pub fn split(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut begin: Option<usize> = None;
    let mut last_end = 0;
    for t in lex(sql) {
        if t.class == Class::Punct(b';') {
            if let Some(b) = begin.take() {
                out.push(&sql[b..last_end]);
            }
            continue;
        }
        begin.get_or_insert(t.start);
        last_end = t.end;
    }
    if let Some(b) = begin {
        out.push(&sql[b..last_end]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let sql = "BEGIN; CREATE FUNCTION f() RETURNS int AS $x$ SELECT 1; $x$ LANGUAGE sql;\
                   -- a; comment\n INSERT INTO t VALUES ('a;b', E'\\';') ; /* x; */ ; COMMIT";
        assert_eq!(
            split(sql),
            vec![
                "BEGIN",
                "CREATE FUNCTION f() RETURNS int AS $x$ SELECT 1; $x$ LANGUAGE sql",
                "INSERT INTO t VALUES ('a;b', E'\\';')",
                "COMMIT"
            ]
        );
        assert!(split(" ; -- nothing\n").is_empty());
    }

    #[test]
    fn parameters_are_not_dollar_quotes() {
        let t = lex("SELECT $1, $2");
        assert_eq!(t.iter().filter(|t| t.class == Class::Number).count(), 2);
    }
}
