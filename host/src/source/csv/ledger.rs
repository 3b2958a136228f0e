//! The ledger of a CSV load: each input file's saved position, read back and checked
//! against the file as it is now (see [`super::fingerprint`]), deciding where reading it
//! starts.

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

/// A position as [`CsvSource`] writes it. Releases before the per-file ledger wrote no
/// checksums (and an `index`, now unused): such a position is trusted as it is.
struct SavedPosition {
    offset: u64,
    line: u64,
    /// Bytes the head checksum covers, and the checksums.
    head: Option<(u64, String)>,
    before: Option<String>,
    /// An object's ETag.
    etag: Option<String>,
}

impl SavedPosition {
    fn parse(path: &str, position: &Position) -> Result<Self, CsvError> {
        let bad = || CsvError::BadPosition {
            path: path.to_owned(),
            position: position.to_string(),
        };
        let number = |key: &str| position.get(key).and_then(|v| v.as_u64()).ok_or_else(bad);
        let text = |key: &str| {
            position
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        position
            .get("file")
            .and_then(|v| v.as_str())
            .ok_or_else(bad)?;
        let head = match (position.get("head_bytes"), text("head_sha256")) {
            (None, None) => None,
            (Some(n), Some(sum)) => Some((n.as_u64().ok_or_else(bad)?, sum)),
            _ => return Err(bad()),
        };
        Ok(SavedPosition {
            offset: number("offset")?,
            line: number("line")?,
            head,
            before: text("before_sha256"),
            etag: text("etag"),
        })
    }
}

/// Where `file` starts given its saved position: after it when the file is the one the
/// position was taken from (its first bytes and the bytes before the position unchanged:
/// grown files resume), from its beginning when it is another file under the same name.
pub(super) fn file_start(file: &InputFile, saved: &Position) -> Result<FileStart, CsvError> {
    let saved = SavedPosition::parse(&file.given, saved)?;
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
    if let Some((head_bytes, head)) = &saved.head
        && let Location::File(path) = &file.location
    {
        let handle = std::fs::File::open(path).map_err(unreadable)?;
        if file.len < *head_bytes
            || fingerprint::checksum(&handle, 0, *head_bytes).map_err(unreadable)? != *head
        {
            return new_file("the file's first bytes changed since its position was saved".into());
        }
        if let Some(before) = &saved.before
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
