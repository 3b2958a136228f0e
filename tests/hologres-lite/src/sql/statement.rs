//! One SQL statement, its tokens and its [`Kind`]: the questions the Hologres rules ask of
//! a statement (which setting a `SET` names, whether an `UPDATE` has `RETURNING`).

use super::lexer::{Class, Token, lex};
use crate::kind::Kind;

/// A statement as the client sent it.
#[derive(Debug, Clone)]
pub struct Statement {
    text: String,
    tokens: Vec<Token>,
    kind: Kind,
}

impl Statement {
    pub fn new(text: &str) -> Statement {
        let tokens = lex(text);
        let mut s = Statement {
            text: text.to_owned(),
            tokens,
            kind: Kind::Other,
        };
        s.kind = s.classify();
        s
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Token `i`'s text.
    pub fn token(&self, i: usize) -> Option<&str> {
        self.tokens.get(i).map(|t| &self.text[t.start..t.end])
    }

    pub fn class(&self, i: usize) -> Option<Class> {
        self.tokens.get(i).map(|t| t.class)
    }

    /// Token `i` when it is a word, upper-cased.
    pub fn word(&self, i: usize) -> Option<String> {
        match self.tokens.get(i) {
            Some(t) if t.class == Class::Word => {
                Some(self.text[t.start..t.end].to_ascii_uppercase())
            }
            _ => None,
        }
    }

    /// Whether token `i` is the word `w` (upper case).
    pub fn is_word(&self, i: usize, w: &str) -> bool {
        self.word(i).is_some_and(|x| x == w)
    }

    /// The index of the first word `w` (upper case) outside parentheses, from token `from`.
    pub fn find_top_level(&self, from: usize, w: &str) -> Option<usize> {
        let mut depth = 0i32;
        for i in from..self.tokens.len() {
            match self.tokens[i].class {
                Class::Punct(b'(') => depth += 1,
                Class::Punct(b')') => depth -= 1,
                Class::Word if depth == 0 && self.is_word(i, w) => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// The text from token `i` to the end.
    pub fn rest(&self, i: usize) -> &str {
        self.tokens.get(i).map_or("", |t| &self.text[t.start..])
    }

    /// The byte range of token `i`.
    pub fn span(&self, i: usize) -> Option<(usize, usize)> {
        self.tokens.get(i).map(|t| (t.start, t.end))
    }

    /// A name at token `i` (`a`, `"A"`, `a.b`, `"s"."t"`), folded as PostgreSQL folds it,
    /// and the index after it.
    pub fn name_at(&self, mut i: usize) -> Option<(Vec<String>, usize)> {
        let mut parts = Vec::new();
        loop {
            let part = match self.class(i)? {
                Class::Word => self.token(i)?.to_ascii_lowercase(),
                Class::Quoted => {
                    let t = self.token(i)?;
                    t[1..t.len().saturating_sub(1)].replace("\"\"", "\"")
                }
                _ => return None,
            };
            parts.push(part);
            i += 1;
            if self.class(i) == Some(Class::Punct(b'.')) {
                i += 1;
            } else {
                return Some((parts, i));
            }
        }
    }

    /// For `SET`, `SHOW` and `RESET`: the setting named, lower case, and for `SET` the
    /// index of its first value token.
    pub fn setting(&self) -> Option<(String, Option<usize>)> {
        let mut i = 1;
        if self.kind == Kind::Set && (self.is_word(1, "SESSION") || self.is_word(1, "LOCAL")) {
            i = 2;
        }
        let (name, next) = self.name_at(i)?;
        let name = name.join(".");
        match self.kind {
            Kind::Set => {
                let value = match self.class(next) {
                    Some(Class::Punct(b'=')) => next + 1,
                    Some(Class::Word) if self.is_word(next, "TO") => next + 1,
                    _ => return None,
                };
                Some((name, Some(value)))
            }
            Kind::Show | Kind::Reset => Some((name, None)),
            _ => None,
        }
    }

    /// The value of a `SET` from token `i`: a literal's content or the words as written.
    pub fn value_at(&self, i: usize) -> String {
        match (self.class(i), self.token(i)) {
            (Some(Class::Str), Some(t)) if t.starts_with('\'') => {
                t[1..t.len().saturating_sub(1)].replace("''", "'")
            }
            _ => self.rest(i).trim().to_owned(),
        }
    }

    fn classify(&self) -> Kind {
        let Some(first) = self.word(0) else {
            return Kind::Other;
        };
        match first.as_str() {
            "SELECT" | "VALUES" | "TABLE" => Kind::Select,
            "WITH" => {
                let writes = (1..self.tokens.len())
                    .filter_map(|i| self.word(i))
                    .find(|w| matches!(w.as_str(), "INSERT" | "UPDATE" | "DELETE"));
                match writes.as_deref() {
                    Some("INSERT") => Kind::Insert,
                    Some("UPDATE") => Kind::Update,
                    Some("DELETE") => Kind::Delete,
                    _ => Kind::Select,
                }
            }
            "INSERT" => Kind::Insert,
            "UPDATE" => Kind::Update,
            "DELETE" => Kind::Delete,
            "COPY" => {
                if self.find_top_level(1, "FROM").is_some() {
                    Kind::CopyIn
                } else {
                    Kind::CopyOut
                }
            }
            "CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "COMMENT" | "GRANT" | "REVOKE" => Kind::Ddl,
            "CALL" => Kind::Call,
            "BEGIN" | "START" => Kind::Begin,
            "COMMIT" | "END" if !self.is_word(1, "PREPARED") => Kind::Commit,
            "ROLLBACK" | "ABORT" => {
                if self.is_word(1, "TO")
                    || (self.is_word(2, "TO")
                        && (self.is_word(1, "WORK") || self.is_word(1, "TRANSACTION")))
                {
                    Kind::Savepoint
                } else if self.is_word(1, "PREPARED") {
                    Kind::Other
                } else {
                    Kind::Rollback
                }
            }
            "SAVEPOINT" | "RELEASE" => Kind::Savepoint,
            "SET" => Kind::Set,
            "SHOW" => Kind::Show,
            "RESET" => Kind::Reset,
            "HOLOGRES_LITE" => Kind::Admin,
            _ => Kind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        for (sql, kind) in [
            ("select 1", Kind::Select),
            (
                "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                Kind::Insert,
            ),
            ("copy t (a) from stdin with (format binary)", Kind::CopyIn),
            ("COPY t TO STDOUT", Kind::CopyOut),
            ("rollback to savepoint a", Kind::Savepoint),
            ("ROLLBACK", Kind::Rollback),
            ("release a", Kind::Savepoint),
            (
                "call set_table_property('t', 'orientation', 'column')",
                Kind::Call,
            ),
            ("hologres_lite clear", Kind::Admin),
        ] {
            assert_eq!(Statement::new(sql).kind(), kind, "{sql}");
        }
    }

    #[test]
    fn names_settings() {
        let s = Statement::new("SET SESSION hg_experimental_enable_transaction TO 'on'");
        let (name, value) = s.setting().unwrap();
        assert_eq!(name, "hg_experimental_enable_transaction");
        assert_eq!(s.value_at(value.unwrap()), "on");
        let s = Statement::new("show Hologres_Lite.x");
        assert_eq!(s.setting().unwrap().0, "hologres_lite.x");
    }
}
