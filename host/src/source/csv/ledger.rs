//! The ledger of a CSV load: each input file's saved position ([`CsvPosition`], written
//! and read here), read back and checked against the file as it is now (see
//! [`super::fingerprint`]), deciding where reading it starts.

use std::collections::HashMap;

use super::{CsvError, InputFile, fingerprint};
use crate::input::csv::Location;
use crate::record::Position;

/// The saved positions of a load's inputs, by job stream (`csv:/abs/path`).
pub type Ledger = HashMap<String, Position>;

/// Where reading an input starts, decided from its saved position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileStart {
    /// No position, or one taken from another file: the whole file.
    Beginning,
    /// After the record ending at byte `offset`, line `line`.
    At { offset: u64, line: u64 },
    /// Loaded to its end: skipped.
    Done,
    /// In another process's share (`--partition`): skipped, not counted.
    NotOurs,
}

/// Where a CSV input stands: after the record ending at byte `offset` (line `line`), with
/// what the file looked like up to there, so a resumed load tells the same file (grown or
/// not) from another under its name. Saved as JSON with a version tag, `"version": "1"`;
/// positions saved before the tag have the same keys without it and are read as version 1,
/// those of releases before the checksums without them (and with an unused `index`): such
/// a position is trusted as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct CsvPosition {
    /// The file's canonical path, or `oss://BUCKET/KEY`.
    pub file: String,
    pub offset: u64,
    pub line: u64,
    /// An object's ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Bytes the head checksum covers, and the checksum: both or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha256: Option<String>,
    /// Checksum of the bytes before `offset` (see [`fingerprint::before`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_sha256: Option<String>,
}

/// [`CsvPosition`] as saved, by version.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "version")]
enum Versioned {
    #[serde(rename = "1")]
    V1(CsvPosition),
}

impl CsvPosition {
    /// The position as saved: tagged with its version.
    pub fn into_json(self) -> Position {
        serde_json::to_value(Versioned::V1(self)).expect("a CSV position is plain JSON")
    }

    /// Reads a saved position of the input `path`, tagged or from before the tag.
    pub fn read(path: &str, position: &Position) -> Result<CsvPosition, CsvError> {
        let bad = || CsvError::BadPosition {
            path: path.to_owned(),
            position: position.to_string(),
        };
        let read = match position.get("version") {
            None => <CsvPosition as serde::Deserialize>::deserialize(position),
            Some(_) => {
                <Versioned as serde::Deserialize>::deserialize(position).map(|Versioned::V1(p)| p)
            }
        };
        let read = read.map_err(|_| bad())?;
        if read.head_bytes.is_some() != read.head_sha256.is_some() {
            return Err(bad());
        }
        Ok(read)
    }

    /// The bytes the head checksum covers, and the checksum.
    fn head(&self) -> Option<(u64, &str)> {
        Some((self.head_bytes?, self.head_sha256.as_deref()?))
    }
}

/// Where `file` starts given its saved position: after it when the file is the one the
/// position was taken from (its first bytes and the bytes before the position unchanged:
/// grown files resume), from its beginning when it is another file under the same name.
pub(super) fn file_start(file: &InputFile, saved: &Position) -> Result<FileStart, CsvError> {
    let saved = CsvPosition::read(&file.given, saved)?;
    let unreadable = |source| CsvError::Fingerprint {
        path: file.given.to_string(),
        source,
    };
    let new_file = |why: String| {
        tracing::info!(file = %file.given, "{why}: reading it from its start as a new file");
        Ok(FileStart::Beginning)
    };
    let compressed = file.location.codec().is_some();
    if file.len < saved.offset && !compressed {
        return new_file(format!(
            "the file has {} bytes, fewer than its saved position (byte {})",
            file.len, saved.offset
        ));
    }
    if let Some(saved_etag) = &saved.etag
        && file.etag.as_ref() != Some(saved_etag)
    {
        return new_file(format!(
            "the object's ETag is {}, not {saved_etag} as when its position was saved",
            file.etag.as_deref().unwrap_or("missing")
        ));
    }
    if let Some((head_bytes, head)) = saved.head()
        && let Location::File(path) = &file.location
    {
        let handle = std::fs::File::open(path).map_err(unreadable)?;
        if file.len < head_bytes
            || fingerprint::checksum(&handle, 0, head_bytes).map_err(unreadable)? != head
        {
            return new_file("the file's first bytes changed since its position was saved".into());
        }
        if let Some(before) = &saved.before_sha256
            && fingerprint::before(&handle, saved.offset).map_err(unreadable)? != *before
        {
            return new_file(format!(
                "the bytes before the saved position (byte {}) changed",
                saved.offset
            ));
        }
    }
    // A compressed file's decompressed length is unknown without reading it: resuming at
    // the offset finds its end.
    Ok(if saved.offset == file.len && !compressed {
        FileStart::Done
    } else {
        FileStart::At {
            offset: saved.offset,
            line: saved.line,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A position as releases before the version tag saved it still reads, and is saved
    /// back tagged.
    #[test]
    fn positions_without_a_version_still_read() {
        let legacy = serde_json::json!({
            "file": "/data/orders.csv",
            "offset": 1234,
            "line": 41,
            "head_bytes": 1024,
            "head_sha256": "00112233445566778899aabbccddeeff",
            "before_sha256": "ffeeddccbbaa99887766554433221100",
        });
        let p = CsvPosition::read("orders.csv", &legacy).unwrap();
        assert_eq!((p.offset, p.line), (1234, 41));
        assert_eq!(p.head(), Some((1024, "00112233445566778899aabbccddeeff")));
        let mut tagged = legacy.clone();
        tagged["version"] = "1".into();
        assert_eq!(p.clone().into_json(), tagged);
        assert_eq!(CsvPosition::read("orders.csv", &tagged).unwrap(), p);

        // Before the checksums: an object's ETag, and an index no longer used.
        let older = serde_json::json!({"file": "oss://b/k.csv", "offset": 9, "line": 2,
                                       "etag": "\"e1\"", "index": 0});
        let p = CsvPosition::read("oss://b/k.csv", &older).unwrap();
        assert_eq!((p.etag.as_deref(), p.head()), (Some("\"e1\""), None));

        for bad in [
            serde_json::json!({"file": "/a.csv"}),
            serde_json::json!({"version": "9", "file": "/a.csv", "offset": 1, "line": 1}),
            serde_json::json!({"file": "/a.csv", "offset": 1, "line": 1, "head_bytes": 3}),
        ] {
            let err = CsvPosition::read("a.csv", &bad).unwrap_err();
            assert!(matches!(err, CsvError::BadPosition { .. }), "{bad}: {err}");
        }
    }
}
