//! Dimension tables that transforms query by key (`--lookup NAME=csv:PATH` or
//! `--lookup NAME=postgres:TABLE`).
//!
//! A CSV table is read whole at start: it is configuration, so any flaw in it stops the
//! run before a record is read. A database table is read whole when it is small, and
//! otherwise fetched by key and cached ([`postgres`]).
//!
//! - [`csv`]: tables from files; [`row`]: the rows and modes they share; [`error`]: what
//!   can go wrong;
//! - [`postgres`]: tables from PostgreSQL/Hologres.

pub mod csv;
pub mod error;
pub mod postgres;
pub mod row;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::errors::chain;
use crate::record::Column;

pub use self::csv::CsvLookup;
pub use self::error::LookupError;
pub use self::postgres::{CacheStats, PgLookup};
pub use self::row::{LookupMode, Row};

/// The options a `csv:` lookup accepts after `?`.
const CSV_OPTIONS: &str = "columns, key";
/// The options a `csv:` lookup in object storage accepts besides [`CSV_OPTIONS`].
const OBJECT_OPTIONS: &str = "columns, key, endpoint, region, style, anonymous";
/// The options a `postgres:` lookup accepts after `?`.
const PG_OPTIONS: &str = "key, columns, preload, cache, refresh, dsn (last)";

/// Where a lookup table comes from: `NAME=csv:PATH[?columns=a,b][&key=COLUMN]` or
/// `NAME=postgres:[SCHEMA.]TABLE[?key=COLUMN][&columns=a,b][&preload=N][&cache=N]
/// [&refresh=SECONDS][&dsn=DSN]` (`postgresql:` and `hologres:` are the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupSpec {
    /// The name transforms query the table by.
    pub name: String,
    pub source: LookupSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupSource {
    Csv(CsvLookup),
    Postgres(PgLookup),
}

/// Splits `a,b,c`, refusing empty and repeated names.
fn column_list(v: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = v.split(',').map(str::to_owned).collect();
    if names.iter().any(String::is_empty) {
        return Err("has an empty column name: name every column".into());
    }
    if let Some(dup) = names
        .iter()
        .enumerate()
        .find_map(|(i, n)| names[..i].contains(n).then_some(n))
    {
        return Err(format!("names column `{dup}` twice"));
    }
    Ok(names)
}

/// The spec (or a part of it) as it may be shown: a `dsn=` option, which may hold a
/// password, is cut, and so is a URL's `user:password@` (an option that is a DSN by
/// mistake, found by the fuzz tests).
fn redacted(spec: &str) -> String {
    match spec.find("dsn=") {
        Some(i) => format!("{}dsn=…", holo_common::redact::hide_userinfo(&spec[..i])),
        None => holo_common::redact::hide_userinfo(spec),
    }
}

impl FromStr for LookupSpec {
    type Err = LookupError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let syntax = || LookupError::Syntax {
            spec: redacted(spec),
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
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        if path.is_empty() {
            return Err(syntax());
        }
        let is_pg = match scheme {
            "csv" => false,
            "postgres" | "postgresql" | "hologres" => true,
            _ => {
                return Err(LookupError::UnknownScheme {
                    name: name.into(),
                    // A scheme swallowing a `dsn=` (found by the fuzz tests) is cut there.
                    scheme: redacted(scheme),
                });
            }
        };
        // A URL where the table belongs holds a password, maybe: do not echo it.
        if is_pg && path.starts_with("//") {
            return Err(LookupError::DsnAsTable {
                name: name.into(),
                scheme: scheme.into(),
            });
        }
        // `k=v` pairs; a `dsn=` takes the rest of the text, `&` and `?` included.
        let mut options = Vec::new();
        let mut rest = query;
        while let Some(q) = rest {
            if is_pg && let Some(dsn) = q.strip_prefix("dsn=") {
                options.push(("dsn", dsn));
                break;
            }
            let (option, after) = match q.split_once('&') {
                Some((o, a)) => (o, Some(a)),
                None => (q, None),
            };
            rest = after;
            let bad = LookupError::BadOption {
                name: name.into(),
                option: redacted(option),
                problem: "needs a value (`option=value`)".into(),
            };
            options.push(option.split_once('=').ok_or(bad)?);
        }
        let (csv, pg) = settings(name, path, is_pg, options)?;
        Ok(LookupSpec {
            name: name.into(),
            source: if is_pg {
                LookupSource::Postgres(pg)
            } else {
                LookupSource::Csv(csv)
            },
        })
    }
}

/// The settings of a lookup spec's `k=v` options, for a CSV file and for a table (only the
/// one `is_pg` says is used).
fn settings(
    name: &str,
    path: &str,
    is_pg: bool,
    options: Vec<(&str, &str)>,
) -> Result<(CsvLookup, PgLookup), LookupError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut csv = CsvLookup {
        path: PathBuf::from(path),
        columns: None,
        key: None,
    };
    let mut pg = PgLookup::new(path);
    for (k, v) in options {
        let bad = |problem: &str| LookupError::BadOption {
            name: name.into(),
            option: redacted(k),
            problem: problem.into(),
        };
        let remote = !is_pg && crate::input::objects::is_remote(path);
        if remote && matches!(k, "endpoint" | "region" | "style" | "anonymous") {
            // The object's own options: kept on its URL for the client to read.
            if seen.contains(&k) {
                return Err(bad("is given twice"));
            }
            seen.push(k);
            let mut url = csv.path.to_string_lossy().into_owned();
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{k}={v}"));
            csv.path = PathBuf::from(url);
            continue;
        }
        let known = if is_pg {
            matches!(
                k,
                "key" | "columns" | "preload" | "cache" | "refresh" | "dsn"
            )
        } else {
            matches!(k, "key" | "columns")
        };
        if !known {
            return Err(LookupError::UnknownOption {
                name: name.into(),
                option: redacted(k),
                options: match (is_pg, remote) {
                    (true, _) => PG_OPTIONS,
                    (false, true) => OBJECT_OPTIONS,
                    (false, false) => CSV_OPTIONS,
                },
            });
        }
        if seen.contains(&k) {
            return Err(bad("is given twice"));
        }
        seen.push(k);
        let count = |what: &str| {
            v.parse::<u64>()
                .map_err(|_| bad(&format!("must be a whole number of {what}")))
        };
        match k {
            "columns" => {
                let names = column_list(v).map_err(|p| bad(&p))?;
                csv.columns = Some(names.clone());
                pg.columns = Some(names);
            }
            "key" => {
                if v.is_empty() {
                    return Err(bad("needs a column name"));
                }
                csv.key = Some(v.to_owned());
                pg.key = Some(v.to_owned());
            }
            "preload" => pg.preload = count("rows")?,
            "cache" => pg.cache = usize::try_from(count("rows")?).unwrap_or(usize::MAX),
            "refresh" => {
                let seconds = count("seconds")?;
                pg.refresh = (seconds > 0).then(|| Duration::from_secs(seconds));
            }
            "dsn" => {
                if v.is_empty() {
                    return Err(bad("needs a DSN"));
                }
                pg.dsn = Some(v.to_owned());
            }
            _ => unreachable!("options were checked above"),
        }
    }
    Ok((csv, pg))
}

/// A table keyed by one column: held in memory, or fetched from a database and cached.
pub struct LookupTable {
    name: String,
    columns: Vec<Column>,
    key: usize,
    rows: Rows,
}

enum Rows {
    Memory(HashMap<String, Row>),
    Postgres(postgres::PgRows),
}

impl fmt::Debug for LookupTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupTable")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .field("key", &self.key)
            .field("mode", &self.mode())
            .field("rows", &self.len())
            .finish()
    }
}

impl LookupTable {
    /// A database table, as [`postgres`] opened it.
    fn opened(name: &str, opened: postgres::Opened) -> LookupTable {
        LookupTable {
            name: name.into(),
            columns: opened.columns.into_iter().map(Column::text).collect(),
            key: opened.key,
            rows: match opened.rows {
                postgres::OpenedRows::Whole(rows) => Rows::Memory(rows),
                postgres::OpenedRows::Live(rows) => Rows::Postgres(rows),
            },
        }
    }

    /// Loads a table; a database table reads the DSN of its spec. Blocks: call it outside
    /// an async runtime, or from `spawn_blocking`.
    pub fn load(spec: &LookupSpec) -> Result<Self, LookupError> {
        Self::load_with(spec, None)
    }

    /// [`Self::load`] with the DSN database tables use when their spec gives none.
    pub fn load_with(spec: &LookupSpec, default_dsn: Option<&str>) -> Result<Self, LookupError> {
        match &spec.source {
            LookupSource::Csv(c) => Self::load_csv(&spec.name, c),
            LookupSource::Postgres(p) => postgres::open_blocking(&spec.name, p, default_dsn)
                .map(|o| Self::opened(&spec.name, o)),
        }
    }

    /// Loads a table from async code: files are read on the blocking pool, database tables
    /// load on their own thread.
    pub async fn open(spec: &LookupSpec, default_dsn: Option<&str>) -> Result<Self, LookupError> {
        match &spec.source {
            LookupSource::Csv(c) => {
                let (name, c) = (spec.name.clone(), c.clone());
                tokio::task::spawn_blocking(move || Self::load_csv(&name, &c))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            }
            LookupSource::Postgres(p) => (postgres::open(&spec.name, p, default_dsn).await)
                .map(|o| Self::opened(&spec.name, o)),
        }
    }

    fn load_csv(name: &str, spec: &CsvLookup) -> Result<Self, LookupError> {
        let (names, key, rows) = csv::load(name, spec)?;
        Ok(LookupTable {
            name: name.to_owned(),
            columns: names.into_iter().map(Column::text).collect(),
            key,
            rows: Rows::Memory(rows),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The columns in file or table order; all text.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Index in [`LookupTable::columns`] of the column looked up by.
    pub fn key_column(&self) -> usize {
        self.key
    }

    pub fn mode(&self) -> LookupMode {
        match &self.rows {
            Rows::Memory(_) => LookupMode::Whole,
            Rows::Postgres(p) => p.mode(),
        }
    }

    /// The row whose key column equals `key`, its values in column order (an empty CSV
    /// field is `Some("")`, a NULL `None`). A database fetch that fails is logged and
    /// answers `None`: use [`Self::try_get`] to see the error.
    pub fn get(&self, key: &str) -> Option<Row> {
        self.try_get(key).unwrap_or_else(|error| {
            tracing::error!(table = %self.name, key, error = %crate::lookup::chain(&error), "lookup failed");
            None
        })
    }

    /// [`Self::get`], failing when the database cannot be asked.
    pub fn try_get(&self, key: &str) -> Result<Option<Row>, LookupError> {
        match &self.rows {
            Rows::Memory(rows) => Ok(rows.get(key).cloned()),
            Rows::Postgres(p) => p.get(key),
        }
    }

    /// Fetches the rows of `keys` not cached yet in one query per 1000 keys, so that the
    /// [`Self::get`] calls that follow are answered from memory. Does nothing for tables
    /// held whole.
    pub fn prefetch<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<(), LookupError> {
        match &self.rows {
            Rows::Memory(_) => Ok(()),
            Rows::Postgres(p) => p.prefetch(keys),
        }
    }

    /// Hits, misses and queries of a table fetched by key; `None` for tables held whole.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        match &self.rows {
            Rows::Memory(_) => None,
            Rows::Postgres(p) => p.stats(),
        }
    }

    /// Rows held in memory: all of them for a table held whole, the cached ones (misses
    /// included) for one fetched by key.
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::Memory(rows) => rows.len(),
            Rows::Postgres(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        check_names(tables.iter().map(|t| t.name.as_str()))?;
        Ok(Lookups { tables })
    }

    /// Loads the tables of `specs` concurrently; database tables whose spec names no DSN
    /// read `default_dsn` (the sink's database).
    pub async fn load(
        specs: &[LookupSpec],
        default_dsn: Option<&str>,
    ) -> Result<Self, LookupError> {
        // Before any connection is opened.
        check_names(specs.iter().map(|s| s.name.as_str()))?;
        let tables = futures_util::future::try_join_all(
            specs.iter().map(|s| LookupTable::open(s, default_dsn)),
        )
        .await?;
        Lookups::new(tables)
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

fn check_names<'a>(names: impl Iterator<Item = &'a str>) -> Result<(), LookupError> {
    let mut seen = Vec::new();
    for name in names {
        if seen.contains(&name) {
            return Err(LookupError::DuplicateName { name: name.into() });
        }
        seen.push(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::csv::HeaderError;
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

    fn csv_spec(
        name: &str,
        path: PathBuf,
        columns: Option<&[&str]>,
        key: Option<&str>,
    ) -> LookupSpec {
        LookupSpec {
            name: name.into(),
            source: LookupSource::Csv(CsvLookup {
                path,
                columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
                key: key.map(str::to_owned),
            }),
        }
    }

    /// Found by the fuzz tests: a scheme that swallows a `dsn=` was echoed whole.
    #[test]
    fn an_unknown_scheme_never_shows_a_dsn() {
        let e = "b=pg?dsn=host=h password=pw:x"
            .parse::<LookupSpec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown scheme") && !e.contains("pw"), "{e}");
    }

    /// Found by the 30-minute fuzz runs: an option that is a DSN by mistake (no `=`), or a
    /// URL inside another, was echoed with its password.
    #[test]
    fn an_option_that_is_a_dsn_hides_its_password() {
        let e = "b=csv:books.csv?postgres://u:pw-secret@h/db"
            .parse::<LookupSpec>()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("option `postgres://<hidden>@h/db` needs a value")
                && !e.contains("pw-secret"),
            "{e}"
        );
        for spec in [
            "b=csv:books.csv?postgres://u:pw-secret@h/db=1",
            "b=csv:books.csv?oss://postgres://u:pw-secret@h/db",
        ] {
            let e = spec.parse::<LookupSpec>().unwrap_err().to_string();
            assert!(!e.contains("pw-secret"), "{e}");
        }
    }

    #[test]
    fn an_object_lookup_keeps_its_object_options_on_the_url() {
        let s = spec(
            "books=csv:oss://dim/books.csv?columns=id,name&endpoint=https://oss-cn-hangzhou.aliyuncs.com&key=id",
        );
        let LookupSource::Csv(c) = s.source else {
            panic!("a csv lookup")
        };
        assert_eq!(
            c.path,
            PathBuf::from("oss://dim/books.csv?endpoint=https://oss-cn-hangzhou.aliyuncs.com")
        );
        assert_eq!(c.columns, Some(vec!["id".into(), "name".into()]));
        assert_eq!(c.key.as_deref(), Some("id"));
        let e = "b=csv:s3://dim/b.csv?bogus=1"
            .parse::<LookupSpec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("endpoint, region, style, anonymous"), "{e}");
        let e = "b=csv:s3://dim/b.csv?region=a&region=b"
            .parse::<LookupSpec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("given twice"), "{e}");
        // Plain files do not take the object options.
        assert!("b=csv:books.csv?endpoint=x".parse::<LookupSpec>().is_err());
    }

    fn pg(s: &str) -> PgLookup {
        match spec(s).source {
            LookupSource::Postgres(p) => p,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn row(values: &[&str]) -> Option<Vec<Option<String>>> {
        Some(values.iter().map(|v| Some(v.to_string())).collect())
    }

    fn get(t: &LookupTable, key: &str) -> Option<Vec<Option<String>>> {
        t.get(key).map(|r| r.to_vec())
    }

    #[test]
    fn parses_csv_specs() {
        assert_eq!(
            spec("books=csv:books.csv?columns=id,name"),
            csv_spec("books", "books.csv".into(), Some(&["id", "name"]), None)
        );
        assert_eq!(
            spec("cities=csv:data/c.csv?key=code"),
            csv_spec("cities", "data/c.csv".into(), None, Some("code"))
        );
        assert_eq!(
            spec("x=csv:/tmp/x.csv?columns=a,b,c&key=b"),
            csv_spec("x", "/tmp/x.csv".into(), Some(&["a", "b", "c"]), Some("b"))
        );
    }

    #[test]
    fn parses_postgres_specs() {
        assert_eq!(
            pg("books=postgres:public.books"),
            PgLookup::new("public.books")
        );
        let p = pg("b=hologres:books?key=id&columns=id,name&preload=0&cache=500&refresh=60");
        assert_eq!(
            p,
            PgLookup {
                key: Some("id".into()),
                columns: Some(vec!["id".into(), "name".into()]),
                preload: 0,
                cache: 500,
                refresh: Some(Duration::from_secs(60)),
                ..PgLookup::new("books")
            }
        );
        assert_eq!(pg("b=postgresql:t?refresh=0").refresh, None);
        // The DSN takes the rest of the text, `?` and `&` included.
        let p = pg(
            "b=postgres:t?key=id&dsn=postgres://u:s3cret@h/db?sslmode=require&application_name=x",
        );
        assert_eq!(
            p.dsn.as_deref(),
            Some("postgres://u:s3cret@h/db?sslmode=require&application_name=x")
        );
        assert_eq!(p.key.as_deref(), Some("id"));
        let shown = format!("{:?}", spec("b=postgres:t?dsn=postgres://u:s3cret@h/db"));
        assert!(
            !shown.contains("s3cret") && shown.contains("h:5432/db as u"),
            "{shown}"
        );
    }

    #[test]
    fn rejects_bad_specs() {
        let err = |s: &str| s.parse::<LookupSpec>().unwrap_err().to_string();
        assert!(err("books.csv").starts_with("lookup `books.csv` is not NAME=csv:PATH"));
        assert!(err("=csv:b.csv").starts_with("lookup `=csv:b.csv` is not"));
        assert!(err("b=csv:").starts_with("lookup `b=csv:` is not"));
        assert!(err("b=postgres:?key=id").starts_with("lookup `b=postgres:?key=id` is not"));
        assert!(err("b=books.csv").starts_with("lookup `b=books.csv` is not"));
        assert_eq!(
            err("a b=csv:x.csv"),
            "lookup name `a b` may hold only letters, digits, `_`, `-` and `.`"
        );
        assert_eq!(
            err("b=json:b.json"),
            "lookup `b`: unknown scheme `json:`; use csv:PATH or postgres:TABLE"
        );
        assert_eq!(
            err("b=csv:b.csv?sep=;"),
            "lookup `b`: unknown option `sep` (options: columns, key)"
        );
        assert_eq!(
            err("b=csv:b.csv?cache=10"),
            "lookup `b`: unknown option `cache` (options: columns, key)"
        );
        assert_eq!(
            err("b=postgres:t?ttl=10"),
            "lookup `b`: unknown option `ttl` (options: key, columns, preload, cache, refresh, dsn (last))"
        );
        assert_eq!(
            err("b=csv:b.csv?columns=a,,c"),
            "lookup `b`: option `columns` has an empty column name: name every column"
        );
        assert_eq!(
            err("b=postgres:t?columns=a,b,a"),
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
        assert_eq!(
            err("b=postgres:t?cache=lots"),
            "lookup `b`: option `cache` must be a whole number of rows"
        );
        assert_eq!(
            err("b=postgres:t?refresh=1.5"),
            "lookup `b`: option `refresh` must be a whole number of seconds"
        );
        assert_eq!(
            err("b=postgres:t?dsn="),
            "lookup `b`: option `dsn` needs a DSN"
        );
        // A spec that does not parse is shown without its DSN.
        let e = err("=postgres:t?dsn=postgres://u:s3cret@h/db");
        assert!(!e.contains("s3cret") && e.contains("dsn=…"), "{e}");
        // So is a DSN given in place of the table.
        assert_eq!(
            err("b=postgres://u:s3cret@h/db"),
            "lookup `b`: give a table after `postgres:`, and the database as dsn=... (the last option)"
        );
    }

    #[test]
    fn database_lookups_need_a_dsn() {
        let err = LookupTable::load(&spec("b=postgres:books")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lookup `b` names no database: add dsn=... (as its last option) or write to a PostgreSQL sink, whose database it then reads"
        );
        let err = LookupTable::load_with(&spec("b=postgres:a.b.c"), Some("host=h")).unwrap_err();
        assert!(
            matches!(&err, LookupError::Database { name, .. } if name == "b"),
            "{err}"
        );
        assert_eq!(
            chain(&err),
            "cannot open lookup `b`: invalid table name `a.b.c`: expected `schema.table` or `table`"
        );
    }

    #[test]
    fn loads_the_seed_books_without_header() {
        let table = LookupTable::load(&csv_spec(
            "books",
            seed_books(),
            Some(&["id", "name"]),
            None,
        ))
        .unwrap();
        assert_eq!(table.name(), "books");
        assert_eq!(table.len(), 9);
        assert_eq!(table.key_column(), 0);
        assert_eq!(table.mode(), LookupMode::Whole);
        assert_eq!(table.cache_stats(), None);
        assert_eq!(
            table.columns(),
            &[Column::text("id"), Column::text("name")][..]
        );
        assert_eq!(get(&table, "1"), row(&["1", "嫌われる勇気"]));
        assert_eq!(get(&table, "9"), row(&["9", "幸せになる勇気"]));
        assert_eq!(get(&table, "10"), None);
        assert_eq!(get(&table, ""), None);
        table.prefetch(["1", "10"]).unwrap();
        assert_eq!(
            table.try_get("3").unwrap().as_deref(),
            row(&["3", "海辺のカフカ"]).as_deref()
        );
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
        let table = LookupTable::load(&csv_spec("cities", path, None, Some("code"))).unwrap();
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
        assert_eq!(get(&table, "TYO"), row(&["東京", "TYO", "capital, large"]));
        assert_eq!(get(&table, "OSA"), row(&["大阪", "OSA", ""]));
        assert_eq!(get(&table, "SPK"), row(&["札幌", "SPK", "snow\r\nnorth"]));
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

    #[tokio::test]
    async fn lookups_load_concurrently_and_refuse_twice_a_name_before_connecting() {
        let books = spec(&format!(
            "books=csv:{}?columns=id,name",
            seed_books().display()
        ));
        let titles = LookupSpec {
            name: "titles".into(),
            ..books.clone()
        };
        let lookups = Lookups::load(&[books.clone(), titles], None).await.unwrap();
        assert_eq!(lookups.names().collect::<Vec<_>>(), vec!["books", "titles"]);
        assert_eq!(lookups.get("titles").unwrap().len(), 9);

        // The database lookup would fail to connect: the names are checked first.
        let twice = spec("books=postgres:t?dsn=host=127.0.0.1 port=1");
        let err = Lookups::load(&[books, twice], None).await.unwrap_err();
        assert!(matches!(err, LookupError::DuplicateName { .. }), "{err}");
    }
}
