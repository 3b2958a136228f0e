//! Lookup tables from CSV files (`NAME=csv:PATH`, or `csv:oss://BUCKET/KEY?endpoint=…` in
//! object storage), read whole at start.

use std::collections::HashMap;
use std::path::PathBuf;

use csv::ByteRecord;

use super::error::LookupError;
use super::row::Row;
use crate::input::csv::{Location, RecordReader, header_names};
use crate::input::objects;

/// Where a `csv:` table comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvLookup {
    /// A local path, or an object URL with its options (`oss://B/K?endpoint=…`).
    pub path: PathBuf,
    /// Column names for a file without a header row; `None`: the first row names them.
    pub columns: Option<Vec<String>>,
    /// The column looked up by; `None`: the first column.
    pub key: Option<String>,
}

/// Column names, the key's index among them, and the rows by key.
type Loaded = (Vec<String>, usize, HashMap<String, Row>);

/// The file's column names, the key's index among them and the rows by key; a malformed
/// line is an error naming it, a repeated key keeps its first row.
pub(super) fn load(name: &str, spec: &CsvLookup) -> Result<Loaded, LookupError> {
    let path = &spec.path;
    let opened = match path.to_str().filter(|p| objects::is_remote(p)) {
        Some(url) => objects::open_object(url)
            .map(|(bucket, object)| Location::Object(bucket, object))
            .map_err(std::io::Error::other),
        None => Ok(Location::File(path.clone())),
    };
    let mut reader = opened
        .and_then(|l| RecordReader::open_at(&l))
        .map_err(|source| LookupError::Open {
            name: name.to_owned(),
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
        Some(k) => names
            .iter()
            .position(|n| n == k)
            .ok_or_else(|| LookupError::UnknownKey {
                name: name.to_owned(),
                key: k.clone(),
                columns: names.join(", "),
            })?,
    };

    let mut rows = HashMap::new();
    while let Some(line) = reader.read(&mut record).map_err(read_error)? {
        if let Some(why) = reader.malformed() {
            return Err(LookupError::Malformed {
                path: path.clone(),
                line,
                reason: why.to_owned(),
            });
        }
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
            .collect::<Result<Row, _>>()?;
        let k = values[key]
            .clone()
            .expect("values read from a file are set");
        match rows.entry(k) {
            std::collections::hash_map::Entry::Occupied(e) => {
                tracing::warn!(
                    table = %name,
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
    tracing::debug!(table = %name, file = %path.display(), rows = rows.len(), "lookup table loaded");
    Ok((names, key, rows))
}
