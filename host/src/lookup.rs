//! Dimension tables that transforms query by key (`--lookup NAME=csv:PATH`).
//!
//! A table is loaded whole at start: it is configuration, so any flaw in it stops the
//! run before a record is read.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use csv::ByteRecord;

use crate::record::Column;
use crate::source::csv::HeaderError;
use crate::source::csv::reader::{RecordReader, header_names};

/// The options a `csv:` lookup accepts after `?`.
const OPTIONS: &str = "columns, key";

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(
        "lookup `{spec}` is not NAME=csv:PATH (optionally followed by ?columns=a,b and/or key=COLUMN, joined with &)"
    )]
    Syntax { spec: String },
    #[error("lookup name `{name}` may hold only letters, digits, `_`, `-` and `.`")]
    Name { name: String },
    #[error("lookup `{name}`: the `{scheme}:` scheme is not supported yet; use csv:PATH")]
    SchemeNotYet { name: String, scheme: String },
    #[error("lookup `{name}`: unknown scheme `{scheme}:`; use csv:PATH")]
    UnknownScheme { name: String, scheme: String },
    #[error("lookup `{name}`: unknown option `{option}` (options: {OPTIONS})")]
    UnknownOption { name: String, option: String },
    #[error("lookup `{name}`: option `{option}` {problem}")]
    BadOption {
        name: String,
        option: String,
        problem: String,
    },
    #[error("cannot open lookup file `{}` of table `{name}`", path.display())]
    Open {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read lookup file `{}`", path.display())]
    Read { path: PathBuf, source: csv::Error },
    #[error(
        "lookup file `{}` is empty: give it a header row naming the columns, or name them with ?columns=a,b", path.display()
    )]
    NoHeader { path: PathBuf },
    #[error("invalid header row in lookup file `{}`", path.display())]
    Header { path: PathBuf, source: HeaderError },
    #[error(
        "lookup file `{}` line {line} has {found} fields but {expected} columns are named ({columns}): fix the line", path.display()
    )]
    FieldCount {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
        columns: String,
    },
    #[error(
        "lookup file `{}` line {line}: column `{column}` is not valid UTF-8 (at byte {at} of the field): save the file as UTF-8", path.display()
    )]
    Utf8 {
        path: PathBuf,
        line: u64,
        column: String,
        at: usize,
    },
    #[error("lookup `{name}`: key column `{key}` is not one of its columns ({columns})")]
    UnknownKey {
        name: String,
        key: String,
        columns: String,
    },
    #[error("lookup table `{name}` is given twice: give each table its own name")]
    DuplicateName { name: String },
}

/// Where a lookup table comes from: `NAME=csv:PATH[?columns=a,b][&key=COLUMN]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupSpec {
    /// The name transforms query the table by.
    pub name: String,
    pub path: PathBuf,
    /// Column names for a file without a header row; `None`: the first row names them.
    pub columns: Option<Vec<String>>,
    /// The column looked up by; `None`: the first column.
    pub key: Option<String>,
}

impl FromStr for LookupSpec {
    type Err = LookupError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let syntax = || LookupError::Syntax {
            spec: spec.to_owned(),
        };
        let (name, source) = spec.split_once('=').ok_or_else(syntax)?;
        if name.is_empty() {
            return Err(syntax());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(LookupError::Name { name: name.into() });
        }
        let (scheme, target) = source.split_once(':').ok_or_else(syntax)?;
        match scheme {
            "csv" => {}
            "postgres" | "postgresql" | "hologres" => {
                return Err(LookupError::SchemeNotYet {
                    name: name.into(),
                    scheme: scheme.into(),
                });
            }
            _ => {
                return Err(LookupError::UnknownScheme {
                    name: name.into(),
                    scheme: scheme.into(),
                });
            }
        }
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        if path.is_empty() {
            return Err(syntax());
        }
        let mut parsed = LookupSpec {
            name: name.into(),
            path: PathBuf::from(path),
            columns: None,
            key: None,
        };
        for option in query.into_iter().flat_map(|q| q.split('&')) {
            let bad = |problem: &str| LookupError::BadOption {
                name: name.into(),
                option: option.split('=').next().unwrap_or_default().into(),
                problem: problem.into(),
            };
            let (k, v) = option
                .split_once('=')
                .ok_or_else(|| bad("needs a value (`option=value`)"))?;
            match k {
                "columns" => {
                    if parsed.columns.is_some() {
                        return Err(bad("is given twice"));
                    }
                    let names: Vec<String> = v.split(',').map(str::to_owned).collect();
                    if names.iter().any(String::is_empty) {
                        return Err(bad("has an empty column name: name every column"));
                    }
                    if let Some(dup) = names
                        .iter()
                        .enumerate()
                        .find_map(|(i, n)| names[..i].contains(n).then_some(n))
                    {
                        return Err(bad(&format!("names column `{dup}` twice")));
                    }
                    parsed.columns = Some(names);
                }
                "key" => {
                    if parsed.key.is_some() {
                        return Err(bad("is given twice"));
                    }
                    if v.is_empty() {
                        return Err(bad("needs a column name"));
                    }
                    parsed.key = Some(v.to_owned());
                }
                _ => {
                    return Err(LookupError::UnknownOption {
                        name: name.into(),
                        option: k.into(),
                    });
                }
            }
        }
        Ok(parsed)
    }
}

/// A table held in memory, keyed by one column.
pub struct LookupTable {
    name: String,
    columns: Vec<Column>,
    key: usize,
    rows: HashMap<String, Box<[Option<String>]>>,
}

impl fmt::Debug for LookupTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupTable")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .field("key", &self.key)
            .field("rows", &self.rows.len())
            .finish()
    }
}

impl LookupTable {
    /// Reads the whole file; a malformed line is an error naming it.
    pub fn load(spec: &LookupSpec) -> Result<Self, LookupError> {
        let path = &spec.path;
        let mut reader = RecordReader::open(path).map_err(|source| LookupError::Open {
            name: spec.name.clone(),
            path: path.clone(),
            source,
        })?;
        let read_error = |source| LookupError::Read {
            path: path.clone(),
            source,
        };
        let mut record = ByteRecord::new();
        let names = match &spec.columns {
            Some(names) => names.clone(),
            None => {
                if reader.read(&mut record).map_err(read_error)?.is_none() {
                    return Err(LookupError::NoHeader { path: path.clone() });
                }
                header_names(&record).map_err(|source| LookupError::Header {
                    path: path.clone(),
                    source,
                })?
            }
        };
        let key = match &spec.key {
            None => 0,
            Some(k) => {
                names
                    .iter()
                    .position(|n| n == k)
                    .ok_or_else(|| LookupError::UnknownKey {
                        name: spec.name.clone(),
                        key: k.clone(),
                        columns: names.join(", "),
                    })?
            }
        };

        let mut rows = HashMap::new();
        while let Some(line) = reader.read(&mut record).map_err(read_error)? {
            if record.len() != names.len() {
                return Err(LookupError::FieldCount {
                    path: path.clone(),
                    line,
                    expected: names.len(),
                    found: record.len(),
                    columns: names.join(", "),
                });
            }
            let values = record
                .iter()
                .enumerate()
                .map(|(i, field)| match std::str::from_utf8(field) {
                    Ok(s) => Ok(Some(s.to_owned())),
                    Err(e) => Err(LookupError::Utf8 {
                        path: path.clone(),
                        line,
                        column: names[i].clone(),
                        at: e.valid_up_to(),
                    }),
                })
                .collect::<Result<Box<[_]>, _>>()?;
            let k = values[key]
                .clone()
                .expect("values read from a file are set");
            match rows.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    tracing::warn!(
                        table = %spec.name,
                        file = %path.display(),
                        line,
                        key = %e.key(),
                        "duplicate key in lookup file, keeping the first row"
                    );
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(values);
                }
            }
        }
        tracing::debug!(table = %spec.name, file = %path.display(), rows = rows.len(), "lookup table loaded");
        Ok(LookupTable {
            name: spec.name.clone(),
            columns: names.into_iter().map(Column::text).collect(),
            key,
            rows,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The columns in file order; all text.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Index in [`LookupTable::columns`] of the column looked up by.
    pub fn key_column(&self) -> usize {
        self.key
    }

    /// The row whose key column equals `key`, its values in column order (an empty field
    /// is `Some("")`).
    pub fn get(&self, key: &str) -> Option<&[Option<String>]> {
        self.rows.get(key).map(|row| &**row)
    }

    /// Rows held: one per distinct key.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The lookup tables of a run, by name.
#[derive(Debug, Default)]
pub struct Lookups {
    tables: Vec<LookupTable>,
}

impl Lookups {
    /// Takes the tables in the order given; two with one name are an error.
    pub fn new(tables: Vec<LookupTable>) -> Result<Self, LookupError> {
        for (i, t) in tables.iter().enumerate() {
            if tables[..i].iter().any(|u| u.name == t.name) {
                return Err(LookupError::DuplicateName {
                    name: t.name.clone(),
                });
            }
        }
        Ok(Lookups { tables })
    }

    // Few tables per run: a scan beats hashing the name.
    pub fn get(&self, name: &str) -> Option<&LookupTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The table names, in the order given.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|t| t.name.as_str())
    }

    pub fn len(&self) -> usize {
        self.tables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The seed's `tests/data/books.csv`: id and title, no header.
    fn seed_books() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/books.csv")
    }

    fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    fn spec(s: &str) -> LookupSpec {
        s.parse().unwrap()
    }

    fn row(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|v| Some(v.to_string())).collect()
    }

    #[test]
    fn parses_specs() {
        assert_eq!(
            spec("books=csv:books.csv?columns=id,name"),
            LookupSpec {
                name: "books".into(),
                path: "books.csv".into(),
                columns: Some(vec!["id".into(), "name".into()]),
                key: None,
            }
        );
        assert_eq!(
            spec("cities=csv:data/c.csv?key=code"),
            LookupSpec {
                name: "cities".into(),
                path: "data/c.csv".into(),
                columns: None,
                key: Some("code".into()),
            }
        );
        let both = spec("x=csv:/tmp/x.csv?columns=a,b,c&key=b");
        assert_eq!(both.columns.as_deref().map(<[_]>::len), Some(3));
        assert_eq!(both.key.as_deref(), Some("b"));
    }

    #[test]
    fn rejects_bad_specs() {
        let err = |s: &str| s.parse::<LookupSpec>().unwrap_err().to_string();
        assert!(err("books.csv").starts_with("lookup `books.csv` is not NAME=csv:PATH"));
        assert!(err("=csv:b.csv").starts_with("lookup `=csv:b.csv` is not"));
        assert!(err("b=csv:").starts_with("lookup `b=csv:` is not"));
        assert!(err("b=books.csv").starts_with("lookup `b=books.csv` is not"));
        assert_eq!(
            err("a b=csv:x.csv"),
            "lookup name `a b` may hold only letters, digits, `_`, `-` and `.`"
        );
        assert_eq!(
            err("b=postgres:public.books"),
            "lookup `b`: the `postgres:` scheme is not supported yet; use csv:PATH"
        );
        assert_eq!(
            err("b=json:b.json"),
            "lookup `b`: unknown scheme `json:`; use csv:PATH"
        );
        assert_eq!(
            err("b=csv:b.csv?sep=;"),
            "lookup `b`: unknown option `sep` (options: columns, key)"
        );
        assert_eq!(
            err("b=csv:b.csv?columns=a,,c"),
            "lookup `b`: option `columns` has an empty column name: name every column"
        );
        assert_eq!(
            err("b=csv:b.csv?columns=a,b,a"),
            "lookup `b`: option `columns` names column `a` twice"
        );
        assert_eq!(
            err("b=csv:b.csv?key=a&key=b"),
            "lookup `b`: option `key` is given twice"
        );
        assert_eq!(
            err("b=csv:b.csv?key"),
            "lookup `b`: option `key` needs a value (`option=value`)"
        );
    }

    #[test]
    fn loads_the_seed_books_without_header() {
        let path = seed_books();
        let table = LookupTable::load(&LookupSpec {
            name: "books".into(),
            path,
            columns: Some(vec!["id".into(), "name".into()]),
            key: None,
        })
        .unwrap();
        assert_eq!(table.name(), "books");
        assert_eq!(table.len(), 9);
        assert_eq!(table.key_column(), 0);
        assert_eq!(
            table.columns(),
            &[Column::text("id"), Column::text("name")][..]
        );
        assert_eq!(table.get("1"), Some(&row(&["1", "嫌われる勇気"])[..]));
        assert_eq!(table.get("9"), Some(&row(&["9", "幸せになる勇気"])[..]));
        assert_eq!(table.get("10"), None);
        assert_eq!(table.get(""), None);
    }

    #[test]
    fn loads_a_header_file_keyed_by_another_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "cities.csv",
            "\u{feff}name,code,note\r\n東京,TYO,\"capital, large\"\r\n大阪,OSA,\r\n\r\n札幌,SPK,\"snow\r\nnorth\"\r\n京都,TYO,second TYO"
                .as_bytes(),
        );
        let spec = LookupSpec {
            key: Some("code".into()),
            ..spec(&format!("cities=csv:{}", path.display()))
        };
        let table = LookupTable::load(&spec).unwrap();
        assert_eq!(table.key_column(), 1);
        assert_eq!(
            table
                .columns()
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            vec!["name", "code", "note"]
        );
        assert_eq!(table.len(), 3, "the duplicate TYO keeps the first row");
        assert_eq!(
            table.get("TYO"),
            Some(&row(&["東京", "TYO", "capital, large"])[..])
        );
        assert_eq!(table.get("OSA"), Some(&row(&["大阪", "OSA", ""])[..]));
        assert_eq!(
            table.get("SPK"),
            Some(&row(&["札幌", "SPK", "snow\r\nnorth"])[..])
        );
    }

    #[test]
    fn load_errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let ragged = write(dir.path(), "r.csv", b"id,name\r\n1,a\r\n\r\n2,b,c\r\n");
        let err = LookupTable::load(&spec(&format!("r=csv:{}", ragged.display()))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "lookup file `{}` line 4 has 3 fields but 2 columns are named (id, name): fix the line",
                ragged.display()
            )
        );

        let books = format!("b=csv:{}?columns=id,name,extra", seed_books().display());
        let err = LookupTable::load(&spec(&books)).unwrap_err();
        assert!(
            matches!(
                err,
                LookupError::FieldCount {
                    line: 1,
                    expected: 3,
                    found: 2,
                    ..
                }
            ),
            "{err}"
        );

        let header = write(dir.path(), "h.csv", b"id,name\n1,a\n");
        let err =
            LookupTable::load(&spec(&format!("h=csv:{}?key=title", header.display()))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lookup `h`: key column `title` is not one of its columns (id, name)"
        );

        let latin1 = write(dir.path(), "l.csv", b"id,name\n1,caf\xe9\n");
        let err = LookupTable::load(&spec(&format!("l=csv:{}", latin1.display()))).unwrap_err();
        assert!(
            matches!(&err, LookupError::Utf8 { line: 2, column, at: 3, .. } if column == "name"),
            "{err}"
        );

        let empty = write(dir.path(), "e.csv", b"");
        let err = LookupTable::load(&spec(&format!("e=csv:{}", empty.display()))).unwrap_err();
        assert!(matches!(err, LookupError::NoHeader { .. }), "{err}");
        // Without a header, an empty file is an empty table.
        let t = LookupTable::load(&spec(&format!("e=csv:{}?columns=a", empty.display()))).unwrap();
        assert!(t.is_empty());

        let dup = write(dir.path(), "d.csv", b"id,id\n");
        let err = LookupTable::load(&spec(&format!("d=csv:{}", dup.display()))).unwrap_err();
        assert!(
            matches!(
                err,
                LookupError::Header {
                    source: HeaderError::Duplicate { .. },
                    ..
                }
            ),
            "{err}"
        );

        let missing = dir.path().join("missing.csv");
        let err = LookupTable::load(&spec(&format!("m=csv:{}", missing.display()))).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot open lookup file `{}` of table `m`",
                missing.display()
            )
        );
    }

    #[test]
    fn lookups_by_name() {
        let books = format!("books=csv:{}?columns=id,name", seed_books().display());
        let a = LookupTable::load(&spec(&books)).unwrap();
        let b = LookupTable::load(&spec(&books.replacen("books", "titles", 1))).unwrap();
        let lookups = Lookups::new(vec![a, b]).unwrap();
        assert_eq!(lookups.names().collect::<Vec<_>>(), vec!["books", "titles"]);
        assert_eq!(lookups.get("titles").unwrap().len(), 9);
        assert!(lookups.get("authors").is_none());

        let a = LookupTable::load(&spec(&books)).unwrap();
        let b = LookupTable::load(&spec(&books)).unwrap();
        let err = Lookups::new(vec![a, b]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lookup table `books` is given twice: give each table its own name"
        );
    }
}
