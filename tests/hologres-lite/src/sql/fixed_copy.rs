//! Hologres's Fixed Copy: `COPY t [(cols)] FROM STDIN WITH (STREAM_MODE TRUE, ON_CONFLICT
//! UPDATE|IGNORE|NONE, FORMAT BINARY|TEXT|CSV)`, as holo-client's `CopyUtil.buildCopyInSql`
//! writes it, and the plain COPY options Hologres takes.

use super::lexer::Class;
use super::statement::Statement;

/// A `COPY … FROM STDIN` and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedCopy {
    /// The target table's name as written.
    pub table: String,
    /// The target's name parts, folded.
    pub table_parts: Vec<String>,
    /// The listed columns, folded; `None` for all.
    pub columns: Option<Vec<String>>,
    pub stream_mode: bool,
    pub on_conflict: OnConflict,
    /// `binary`, `text` or `csv`.
    pub format: String,
    /// Whether `stream_mode` or `on_conflict` was given at all.
    pub hologres_options: bool,
    /// The other options, `NAME value` as written, kept for the rewritten COPY.
    pub other_options: Vec<String>,
}

/// What a Fixed Copy row does to a row with the same primary key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnConflict {
    /// A plain insert: a duplicate key fails.
    None,
    /// The existing row is kept.
    Ignore,
    /// The listed columns of the existing row are replaced.
    Update,
}

impl OnConflict {
    pub fn name(self) -> &'static str {
        match self {
            OnConflict::None => "none",
            OnConflict::Ignore => "ignore",
            OnConflict::Update => "update",
        }
    }
}

impl FixedCopy {
    /// The COPY when `s` is a `COPY … FROM STDIN` whose options this module understands.
    pub fn parse(s: &Statement) -> Option<FixedCopy> {
        if !s.is_word(0, "COPY") {
            return None;
        }
        let (table_parts, mut i) = s.name_at(1)?;
        let (ts, _) = s.span(1)?;
        let (_, te) = s.span(i - 1)?;
        let table = s.text()[ts..te].to_owned();
        let mut columns = None;
        if s.class(i) == Some(Class::Punct(b'(')) {
            let mut cols = Vec::new();
            i += 1;
            loop {
                let (name, next) = s.name_at(i)?;
                cols.push(name.join("."));
                i = next;
                match s.class(i)? {
                    Class::Punct(b',') => i += 1,
                    Class::Punct(b')') => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
            columns = Some(cols);
        }
        if !(s.is_word(i, "FROM") && s.is_word(i + 1, "STDIN")) {
            return None;
        }
        i += 2;
        if s.is_word(i, "WITH") {
            i += 1;
        }
        let options = if s.class(i) == Some(Class::Punct(b'(')) {
            parenthesized(s, i + 1)?
        } else {
            old_style(s, i)?
        };
        let mut copy = FixedCopy {
            table,
            table_parts,
            columns,
            stream_mode: false,
            on_conflict: OnConflict::None,
            format: "text".into(),
            hologres_options: false,
            other_options: Vec::new(),
        };
        for (name, value) in options {
            let v = value.trim_matches('\'').to_ascii_lowercase();
            match name.as_str() {
                "stream_mode" => {
                    copy.hologres_options = true;
                    copy.stream_mode = matches!(v.as_str(), "" | "true" | "on" | "1" | "yes");
                }
                "on_conflict" => {
                    copy.hologres_options = true;
                    copy.on_conflict = match v.as_str() {
                        "update" => OnConflict::Update,
                        "ignore" => OnConflict::Ignore,
                        "none" => OnConflict::None,
                        _ => return None,
                    };
                }
                "format" => copy.format = v,
                _ => copy
                    .other_options
                    .push(format!("{name} {value}").trim().to_owned()),
            }
        }
        Some(copy)
    }

    /// The COPY into `target` (a staging table) with PostgreSQL's own options.
    pub fn rewritten(&self, target: &str, columns: &[String]) -> String {
        let cols = columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let mut options = vec![format!("FORMAT {}", self.format)];
        options.extend(self.other_options.iter().cloned());
        format!(
            "COPY {target} ({cols}) FROM STDIN WITH ({})",
            options.join(", ")
        )
    }
}

/// `name value, name value)`: the modern option list, from after its `(`.
fn parenthesized(s: &Statement, mut i: usize) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    loop {
        let name = s.word(i)?.to_ascii_lowercase();
        i += 1;
        let start = i;
        let mut depth = 0;
        while let Some(c) = s.class(i) {
            match c {
                Class::Punct(b'(') => depth += 1,
                Class::Punct(b')') if depth > 0 => depth -= 1,
                Class::Punct(b')') | Class::Punct(b',') if depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        let value = if i > start {
            let (a, _) = s.span(start)?;
            let (_, b) = s.span(i - 1)?;
            s.text()[a..b].to_owned()
        } else {
            String::new()
        };
        out.push((name, value));
        match s.class(i)? {
            Class::Punct(b',') => i += 1,
            _ => return Some(out),
        }
    }
}

/// `BINARY`, `CSV HEADER`, `DELIMITER [AS] ','`, …: the option list before PostgreSQL 9.0,
/// with Hologres's options in the same form.
fn old_style(s: &Statement, mut i: usize) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    while i < s.len() {
        let word = s.word(i)?.to_ascii_lowercase();
        i += 1;
        match word.as_str() {
            "binary" | "csv" | "text" => out.push(("format".into(), word)),
            "header" => out.push((word, String::new())),
            _ => {
                if s.is_word(i, "AS") {
                    i += 1;
                }
                out.push((word, s.token(i)?.to_owned()));
                i += 1;
            }
        }
    }
    Some(out)
}

/// `name` as a quoted identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_holo_client_copy() {
        let s = Statement::new(
            "copy \"public\".\"t\"(\"id\",\"Name\") from stdin with(stream_mode true, format binary, on_conflict update)",
        );
        let c = FixedCopy::parse(&s).unwrap();
        assert_eq!(c.table_parts, vec!["public", "t"]);
        assert_eq!(c.columns, Some(vec!["id".into(), "Name".into()]));
        assert!(c.stream_mode && c.hologres_options);
        assert_eq!(c.on_conflict, OnConflict::Update);
        assert_eq!(c.format, "binary");
        let s = Statement::new(
            "COPY t FROM STDIN WITH STREAM_MODE TRUE ON_CONFLICT IGNORE CSV DELIMITER AS ','",
        );
        let c = FixedCopy::parse(&s).unwrap();
        assert_eq!(c.on_conflict, OnConflict::Ignore);
        assert_eq!(c.format, "csv");
        assert_eq!(
            c.rewritten("x", &["a".into()]),
            "COPY x (\"a\") FROM STDIN WITH (FORMAT csv, delimiter ',')"
        );
    }
}
