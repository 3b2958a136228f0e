//! The shard files of the data directory: `{project}/{logstore}/shard-{id}.bin`, append-only
//! records `receive_time: u32 LE, length: u32 LE, LogGroup bytes`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{StoreError, StoredGroup};
use crate::proto;

pub(super) fn shard_file(dir: &Path, project: &str, logstore: &str, shard: u32) -> PathBuf {
    logstore_dir(dir, project, logstore).join(format!("shard-{shard}.bin"))
}

fn logstore_dir(dir: &Path, project: &str, logstore: &str) -> PathBuf {
    dir.join(project).join(logstore)
}

/// Removes a logstore's shard files (nothing to do when there are none).
pub(super) fn remove_logstore(dir: &Path, project: &str, logstore: &str) -> Result<(), StoreError> {
    let path = logstore_dir(dir, project, logstore);
    match fs::remove_dir_all(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Write { path, source: e }),
        _ => Ok(()),
    }
}

/// Removes the file of a shard that is gone; a failure only leaves a file nothing reads.
pub(super) fn remove_shard(dir: &Path, project: &str, logstore: &str, shard: u32) {
    let path = shard_file(dir, project, logstore, shard);
    if let Err(error) = fs::remove_file(&path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "cannot remove the file of a removed shard");
    }
}

pub(super) fn write_group(
    file: &mut Option<File>,
    path: &Path,
    group: &StoredGroup,
) -> io::Result<()> {
    if file.is_none() {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        *file = Some(OpenOptions::new().create(true).append(true).open(path)?);
    }
    let file = file.as_mut().expect("opened above");
    let mut record = Vec::with_capacity(8 + group.bytes.len());
    record.extend_from_slice(&group.receive_time.to_le_bytes());
    record.extend_from_slice(&(group.bytes.len() as u32).to_le_bytes());
    record.extend_from_slice(&group.bytes);
    // One write per record, so a crash leaves at most one torn record at the end.
    file.write_all(&record)
}

/// The log groups of a shard file, but its first `skip` (expired ones stay in the file).
pub(super) fn read_groups(path: &Path, skip: u64) -> Result<Vec<StoredGroup>, StoreError> {
    let mut data = Vec::new();
    match File::open(path) {
        Ok(mut f) => f
            .read_to_end(&mut data)
            .map_err(|source| StoreError::Read {
                path: path.to_path_buf(),
                source,
            })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let data = Bytes::from(data);
    let mut groups = Vec::new();
    let mut at = 0;
    let mut index = 0u64;
    while at + 8 <= data.len() {
        let time = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let Some(bytes) = data.get(at + 8..at + 8 + len) else {
            tracing::warn!(path = %path.display(), offset = at, "torn record at the end of a shard file ignored");
            break;
        };
        if index >= skip {
            let logs = proto::decode_group(bytes).map_or(0, |g| g.logs.len() as u32);
            groups.push(StoredGroup {
                receive_time: time,
                logs,
                bytes: data.slice(at + 8..at + 8 + len),
            });
        }
        index += 1;
        at += 8 + len;
    }
    Ok(groups)
}
