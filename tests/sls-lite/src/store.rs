//! Projects, logstores, shards and their log groups in memory, optionally mirrored to a data
//! directory so they survive a restart.
//!
//! Layout of the data directory: `state.json` (shards, consumer groups, checkpoints; rewritten
//! whole on every change) and `{project}/{logstore}/shard-{id}.bin`, an append-only file of
//! records `receive_time: u32 LE, length: u32 LE, LogGroup bytes`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::config::LogstoreSpec;
use crate::consumer::{Checkpoint, ConsumerGroup};
use crate::cursor;
use crate::error::SlsError;
use crate::proto;

/// A failure to read or write the data directory.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory `{}`: check the path and its permissions", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot read `{}`: check the file or start with an empty data directory", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("`{}` is not a valid sls-lite state file: fix or remove it", path.display())]
    State {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write `{}`: check free space and permissions", path.display())]
    Write { path: PathBuf, source: io::Error },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardStatus {
    Readwrite,
    Readonly,
}

impl ShardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardStatus::Readwrite => "readwrite",
            ShardStatus::Readonly => "readonly",
        }
    }
}

/// A shard's description, as ListShards shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMeta {
    pub id: u32,
    pub status: ShardStatus,
    /// 32 lowercase hex digits, inclusive.
    pub begin_key: String,
    /// 32 lowercase hex digits, exclusive (`ff…ff` for the last shard).
    pub end_key: String,
    /// Unix seconds.
    pub create_time: u32,
    /// The shard this one was split from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
}

impl ShardMeta {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "shardID": self.id,
            "status": self.status.as_str(),
            "inclusiveBeginKey": self.begin_key,
            "exclusiveEndKey": self.end_key,
            "createTime": self.create_time,
        })
    }

    fn range(&self) -> (u128, u128) {
        (parse_key(&self.begin_key), parse_key(&self.end_key))
    }

    fn contains(&self, key: u128) -> bool {
        let (begin, end) = self.range();
        begin <= key && (key < end || (end == u128::MAX && key == u128::MAX))
    }
}

/// One stored log group: the client's bytes plus the server's tags.
#[derive(Debug, Clone)]
pub struct StoredGroup {
    /// Unix seconds when the server received it.
    pub receive_time: u32,
    /// Number of logs in it.
    pub logs: u32,
    pub bytes: Bytes,
}

#[derive(Debug)]
pub struct Shard {
    pub meta: ShardMeta,
    pub groups: Vec<StoredGroup>,
    file: Option<File>,
}

impl Shard {
    /// Offset one past the last log group.
    pub fn end(&self) -> u64 {
        self.groups.len() as u64
    }

    /// Offset of the first log group received at or after `time`, or the end.
    pub fn offset_at(&self, time: u32) -> u64 {
        self.groups.partition_point(|g| g.receive_time < time) as u64
    }

    /// Receive time of the group at `offset`; the last group's (or creation time) at the end.
    pub fn time_at(&self, offset: u64) -> u32 {
        match self.groups.get(offset as usize) {
            Some(g) => g.receive_time,
            None => self
                .groups
                .last()
                .map_or(self.meta.create_time, |g| g.receive_time),
        }
    }

    /// The offset of a cursor for this shard, or InvalidCursor.
    pub fn offset_of(&self, logstore: &str, cursor_text: &str) -> Result<u64, SlsError> {
        match cursor::decode(cursor_text) {
            Some((shard, offset)) if shard == self.meta.id && offset <= self.end() => Ok(offset),
            Some((shard, _)) if shard == self.meta.id => Err(SlsError::invalid_cursor(
                cursor_text,
                &format!(
                    "is past the end of shard {shard} of logstore `{logstore}` ({} log groups)",
                    self.end()
                ),
            )),
            Some(_) => Err(SlsError::invalid_cursor(
                cursor_text,
                &format!(
                    "does not belong to shard {} of logstore `{logstore}`",
                    self.meta.id
                ),
            )),
            // A malformed cursor is a bad parameter, not a cursor out of range (aliyun-log-
            // java-sdk AbnormalOperationTest.testPullLogsByErrorParameter; PullLogs docs).
            None => Err(SlsError::parameter(format!(
                "Invalid cursor `{cursor_text}`: it is not a cursor this server issued; get one \
                 with GetCursor"
            ))),
        }
    }
}

#[derive(Debug)]
pub struct Logstore {
    pub project: String,
    pub name: String,
    /// Sorted by id.
    pub shards: Vec<Shard>,
    pub consumer_groups: BTreeMap<String, ConsumerGroup>,
    lb_next: usize,
}

impl Logstore {
    fn new(project: &str, name: &str, shard_count: u32, now: u32) -> Self {
        let n = u128::from(shard_count);
        let q = u128::MAX / n;
        let r = u128::MAX % n;
        // floor(i * 2^128 / n) without overflow: 2^128 = n*q + r + 1.
        let begin = |i: u128| i * q + (i * (r + 1)) / n;
        let shards = (0..shard_count)
            .map(|i| {
                let i = u128::from(i);
                let end = if i + 1 == n { u128::MAX } else { begin(i + 1) };
                Shard {
                    meta: ShardMeta {
                        id: i as u32,
                        status: ShardStatus::Readwrite,
                        begin_key: format_key(begin(i)),
                        end_key: format_key(end),
                        create_time: now,
                        parent: None,
                    },
                    groups: Vec::new(),
                    file: None,
                }
            })
            .collect();
        Logstore {
            project: project.to_owned(),
            name: name.to_owned(),
            shards,
            consumer_groups: BTreeMap::new(),
            lb_next: 0,
        }
    }

    pub fn shard(&self, id: u32) -> Result<&Shard, SlsError> {
        self.shards
            .iter()
            .find(|s| s.meta.id == id)
            .ok_or_else(|| SlsError::shard_not_exist(&self.name, id))
    }

    fn shard_mut(&mut self, id: u32) -> Result<&mut Shard, SlsError> {
        let name = self.name.clone();
        self.shards
            .iter_mut()
            .find(|s| s.meta.id == id)
            .ok_or_else(|| SlsError::shard_not_exist(&name, id))
    }

    fn writable(&self) -> impl Iterator<Item = &Shard> {
        self.shards
            .iter()
            .filter(|s| s.meta.status == ShardStatus::Readwrite)
    }

    /// The next writable shard in turn (load-balanced PutLogs).
    pub fn pick_lb(&mut self) -> u32 {
        let ids: Vec<u32> = self.writable().map(|s| s.meta.id).collect();
        let id = ids[self.lb_next % ids.len()];
        self.lb_next = self.lb_next.wrapping_add(1);
        id
    }

    /// The writable shard whose key range holds `key` (PutLogs with a hash key).
    pub fn pick_key(&self, key: &str) -> u32 {
        let key = route_key(key);
        self.writable()
            .find(|s| s.meta.contains(key))
            .or_else(|| self.writable().last())
            .map(|s| s.meta.id)
            .expect("a logstore always has a writable shard")
    }

    /// Whether a read-only shard has been read to its end by `group`.
    fn finished(&self, shard: &Shard, group: &ConsumerGroup) -> bool {
        shard.meta.status == ShardStatus::Readonly
            && (shard.groups.is_empty()
                || group
                    .checkpoints
                    .get(&shard.meta.id)
                    .and_then(|c| cursor::decode(&c.checkpoint))
                    .is_some_and(|(_, offset)| offset >= shard.end()))
    }

    /// Shards `group` may be given: not finished, and (in order) whose parent is finished.
    pub fn assignable(&self, group: &ConsumerGroup) -> BTreeSet<u32> {
        self.shards
            .iter()
            .filter(|s| !self.finished(s, group))
            .filter(|s| {
                !group.in_order
                    || s.meta.parent.is_none_or(|p| {
                        self.shard(p)
                            .is_ok_and(|parent| self.finished(parent, group))
                    })
            })
            .map(|s| s.meta.id)
            .collect()
    }

    fn state(&self) -> LogstoreState {
        LogstoreState {
            project: self.project.clone(),
            logstore: self.name.clone(),
            shards: self.shards.iter().map(|s| s.meta.clone()).collect(),
            consumer_groups: self
                .consumer_groups
                .values()
                .map(|g| GroupState {
                    name: g.name.clone(),
                    timeout: g.timeout,
                    order: g.in_order,
                    checkpoints: g.checkpoints.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    logstores: Vec<LogstoreState>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LogstoreState {
    project: String,
    logstore: String,
    shards: Vec<ShardMeta>,
    consumer_groups: Vec<GroupState>,
}

#[derive(Debug, Serialize, Deserialize)]
struct GroupState {
    name: String,
    timeout: u32,
    order: bool,
    checkpoints: BTreeMap<u32, Checkpoint>,
}

/// Every project and logstore the server knows.
#[derive(Debug)]
pub struct Store {
    projects: BTreeMap<String, BTreeMap<String, Logstore>>,
    data_dir: Option<PathBuf>,
}

impl Store {
    /// Loads the data directory (if any), then adds the logstores of `specs` it lacks.
    pub fn open(
        data_dir: Option<&Path>,
        specs: &[LogstoreSpec],
        now: u32,
    ) -> Result<Store, StoreError> {
        let mut store = Store {
            projects: BTreeMap::new(),
            data_dir: data_dir.map(Path::to_path_buf),
        };
        if let Some(dir) = data_dir {
            fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
            store.load(dir)?;
        }
        for spec in specs {
            let project = store.projects.entry(spec.project.clone()).or_default();
            if let Some(existing) = project.get(&spec.logstore) {
                if existing.shards.len() != spec.shards as usize {
                    tracing::info!(
                        project = %spec.project,
                        logstore = %spec.logstore,
                        stored = existing.shards.len(),
                        asked = spec.shards,
                        "logstore kept as stored in the data directory"
                    );
                }
                continue;
            }
            project.insert(
                spec.logstore.clone(),
                Logstore::new(&spec.project, &spec.logstore, spec.shards, now),
            );
        }
        store.save_state()?;
        Ok(store)
    }

    fn load(&mut self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join("state.json");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        let state: StateFile =
            serde_json::from_str(&text).map_err(|source| StoreError::State { path, source })?;
        for ls in state.logstores {
            let mut shards = Vec::new();
            for meta in ls.shards {
                let file = shard_file(dir, &ls.project, &ls.logstore, meta.id);
                let groups = read_groups(&file)?;
                shards.push(Shard {
                    meta,
                    groups,
                    file: None,
                });
            }
            let consumer_groups = ls
                .consumer_groups
                .into_iter()
                .map(|g| {
                    let mut group = ConsumerGroup::new(&g.name, g.timeout, g.order);
                    group.checkpoints = g.checkpoints;
                    (g.name, group)
                })
                .collect();
            self.projects.entry(ls.project.clone()).or_default().insert(
                ls.logstore.clone(),
                Logstore {
                    project: ls.project,
                    name: ls.logstore,
                    shards,
                    consumer_groups,
                    lb_next: 0,
                },
            );
        }
        Ok(())
    }

    /// Writes `state.json` (atomically: a temporary file renamed over it).
    pub fn save_state(&self) -> Result<(), StoreError> {
        let Some(dir) = &self.data_dir else {
            return Ok(());
        };
        let state = StateFile {
            logstores: self.logstores().map(Logstore::state).collect(),
        };
        let path = dir.join("state.json");
        let tmp = dir.join("state.json.tmp");
        let text = serde_json::to_vec_pretty(&state).expect("state serializes");
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(|source| StoreError::Write { path, source })
    }

    pub fn projects(&self) -> impl Iterator<Item = &str> {
        self.projects.keys().map(String::as_str)
    }

    pub fn has_project(&self, project: &str) -> bool {
        self.projects.contains_key(project)
    }

    pub fn logstores(&self) -> impl Iterator<Item = &Logstore> {
        self.projects.values().flat_map(BTreeMap::values)
    }

    pub fn logstore(&self, project: &str, logstore: &str) -> Result<&Logstore, SlsError> {
        self.projects
            .get(project)
            .ok_or_else(|| SlsError::project_not_exist(project))?
            .get(logstore)
            .ok_or_else(|| SlsError::logstore_not_exist(project, logstore))
    }

    pub fn logstore_mut(
        &mut self,
        project: &str,
        logstore: &str,
    ) -> Result<&mut Logstore, SlsError> {
        self.projects
            .get_mut(project)
            .ok_or_else(|| SlsError::project_not_exist(project))?
            .get_mut(logstore)
            .ok_or_else(|| SlsError::logstore_not_exist(project, logstore))
    }

    /// Appends a log group (already carrying the server's tags) to a shard; returns its offset.
    pub fn append(
        &mut self,
        project: &str,
        logstore: &str,
        shard: u32,
        group: StoredGroup,
    ) -> Result<u64, AppendError> {
        let dir = self.data_dir.clone();
        let ls = self.logstore_mut(project, logstore)?;
        let shard = ls.shard_mut(shard)?;
        if let Some(dir) = dir {
            let path = shard_file(&dir, project, logstore, shard.meta.id);
            write_group(&mut shard.file, &path, &group)
                .map_err(|source| StoreError::Write { path, source })?;
        }
        shard.groups.push(group);
        Ok(shard.end() - 1)
    }

    /// Splits a writable shard at `key` (hex; the middle of its range when absent) into two
    /// writable children and makes it read-only. Returns the parent and the children.
    pub fn split(
        &mut self,
        project: &str,
        logstore: &str,
        shard: u32,
        key: Option<&str>,
        now: u32,
    ) -> Result<Vec<ShardMeta>, SlsError> {
        let ls = self.logstore_mut(project, logstore)?;
        let parent = ls.shard(shard)?.meta.clone();
        if parent.status != ShardStatus::Readwrite {
            return Err(SlsError::new(
                400,
                "ShardReadOnly",
                format!("shard {shard} of logstore `{logstore}` is read-only and cannot be split"),
            ));
        }
        let (begin, end) = parent.range();
        let at = match key {
            Some(k) => parse_hex_key(k).ok_or_else(|| {
                SlsError::parameter(format!("split key `{k}` is not 32 hex digits"))
            })?,
            // `ff…ff` as an end stands for 2^128, the end of the key space.
            None if end == u128::MAX => {
                let d = end - begin;
                begin + d.div_ceil(2)
            }
            None => begin + (end - begin) / 2,
        };
        if at <= begin || at >= end {
            return Err(SlsError::parameter(format!(
                "split key `{}` is outside shard {shard}'s range {}..{}",
                format_key(at),
                parent.begin_key,
                parent.end_key
            )));
        }
        let next = ls.shards.iter().map(|s| s.meta.id).max().unwrap_or(0) + 1;
        let child = |id: u32, begin: u128, end: u128| ShardMeta {
            id,
            status: ShardStatus::Readwrite,
            begin_key: format_key(begin),
            end_key: format_key(end),
            create_time: now,
            parent: Some(shard),
        };
        let children = [child(next, begin, at), child(next + 1, at, end)];
        ls.shard_mut(shard)?.meta.status = ShardStatus::Readonly;
        for meta in &children {
            ls.shards.push(Shard {
                meta: meta.clone(),
                groups: Vec::new(),
                file: None,
            });
        }
        let mut out = vec![ls.shard(shard)?.meta.clone()];
        out.extend(children);
        Ok(out)
    }
}

/// A failed append: the request's fault or the disk's.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error(transparent)]
    Sls(#[from] SlsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn shard_file(dir: &Path, project: &str, logstore: &str, shard: u32) -> PathBuf {
    dir.join(project)
        .join(logstore)
        .join(format!("shard-{shard}.bin"))
}

fn write_group(file: &mut Option<File>, path: &Path, group: &StoredGroup) -> io::Result<()> {
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

fn read_groups(path: &Path) -> Result<Vec<StoredGroup>, StoreError> {
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
    while at + 8 <= data.len() {
        let time = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let Some(bytes) = data.get(at + 8..at + 8 + len) else {
            tracing::warn!(path = %path.display(), offset = at, "torn record at the end of a shard file ignored");
            break;
        };
        let logs = proto::decode_group(bytes).map_or(0, |g| g.logs.len() as u32);
        groups.push(StoredGroup {
            receive_time: time,
            logs,
            bytes: data.slice(at + 8..at + 8 + len),
        });
        at += 8 + len;
    }
    Ok(groups)
}

fn format_key(key: u128) -> String {
    format!("{key:032x}")
}

fn parse_key(key: &str) -> u128 {
    parse_hex_key(key).unwrap_or(0)
}

fn parse_hex_key(key: &str) -> Option<u128> {
    (key.len() == 32)
        .then(|| u128::from_str_radix(key, 16).ok())
        .flatten()
}

/// A route key: 32 hex digits as they are (clients send an MD5), anything else hashed.
fn route_key(key: &str) -> u128 {
    parse_hex_key(key).unwrap_or_else(|| {
        u128::from_str_radix(&crate::sign::content_md5(key.as_bytes()), 16).expect("md5 is hex")
    })
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::proto::LogGroup;

    fn spec(shards: u32) -> LogstoreSpec {
        LogstoreSpec::new("demo", "orders", shards)
    }

    fn group(time: u32) -> StoredGroup {
        StoredGroup {
            receive_time: time,
            logs: 1,
            bytes: Bytes::from_static(b""),
        }
    }

    #[test]
    fn shard_ranges_cover_the_key_space() {
        let ls = Logstore::new("p", "l", 2, 0);
        let keys: Vec<(&str, &str)> = ls
            .shards
            .iter()
            .map(|s| (s.meta.begin_key.as_str(), s.meta.end_key.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (
                    "00000000000000000000000000000000",
                    "80000000000000000000000000000000"
                ),
                (
                    "80000000000000000000000000000000",
                    "ffffffffffffffffffffffffffffffff"
                ),
            ]
        );
        let ls = Logstore::new("p", "l", 3, 0);
        assert_eq!(ls.pick_key("00000000000000000000000000000000"), 0);
        assert_eq!(ls.pick_key("ffffffffffffffffffffffffffffffff"), 2);
        assert_eq!(ls.pick_key("55555555555555555555555555555556"), 1);
    }

    #[test]
    fn offsets_by_time() {
        let mut ls = Logstore::new("p", "l", 1, 5);
        let shard = &mut ls.shards[0];
        assert_eq!(shard.time_at(0), 5);
        shard.groups.extend([group(10), group(10), group(20)]);
        assert_eq!(shard.offset_at(0), 0);
        assert_eq!(shard.offset_at(10), 0);
        assert_eq!(shard.offset_at(11), 2);
        assert_eq!(shard.offset_at(21), 3);
        assert_eq!(shard.time_at(2), 20);
        assert_eq!(shard.time_at(3), 20);
    }

    #[test]
    fn split_makes_a_readonly_parent_and_two_children() {
        let mut store = Store::open(None, &[spec(2)], 100).unwrap();
        let out = store.split("demo", "orders", 0, None, 200).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].status, ShardStatus::Readonly);
        assert_eq!((out[1].id, out[2].id), (2, 3));
        assert_eq!(out[1].begin_key, out[0].begin_key);
        assert_eq!(out[1].end_key, out[2].begin_key);
        assert_eq!(out[2].end_key, out[0].end_key);
        assert_eq!(out[1].parent, Some(0));
        let err = store.split("demo", "orders", 0, None, 200).unwrap_err();
        assert_eq!(err.code, "ShardReadOnly");
        let ls = store.logstore_mut("demo", "orders").unwrap();
        let picked: BTreeSet<u32> = (0..6).map(|_| ls.pick_lb()).collect();
        assert_eq!(picked, [1, 2, 3].into());
    }

    #[test]
    fn in_order_children_wait_for_the_parent() {
        let mut store = Store::open(None, &[spec(1)], 100).unwrap();
        store.append("demo", "orders", 0, group(100)).unwrap();
        store.split("demo", "orders", 0, None, 200).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        let mut g = ConsumerGroup::new("cg", 60, true);
        assert_eq!(ls.assignable(&g), [0].into());
        g.in_order = false;
        assert_eq!(ls.assignable(&g), [0, 1, 2].into());
        g.in_order = true;
        g.checkpoints.insert(
            0,
            Checkpoint {
                checkpoint: cursor::encode(0, 1),
                update_time: 0,
                consumer: "a".into(),
            },
        );
        assert_eq!(ls.assignable(&g), [1, 2].into());
    }

    #[test]
    fn data_dir_survives_reopen_and_ignores_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open(Some(dir.path()), &[spec(2)], 100).unwrap();
            for t in [100, 101] {
                let g = StoredGroup {
                    receive_time: t,
                    logs: 0,
                    bytes: Bytes::from(LogGroup::default().encode_to_vec()),
                };
                store.append("demo", "orders", 1, g).unwrap();
            }
            store.split("demo", "orders", 0, None, 102).unwrap();
            store.save_state().unwrap();
        }
        let file = dir.path().join("demo/orders/shard-1.bin");
        let mut f = OpenOptions::new().append(true).open(&file).unwrap();
        f.write_all(&[1, 2, 3, 4, 200, 0, 0, 0, 9]).unwrap();
        let store = Store::open(Some(dir.path()), &[spec(2)], 300).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        assert_eq!(ls.shards.len(), 4);
        assert_eq!(ls.shard(1).unwrap().end(), 2);
        assert_eq!(ls.shard(1).unwrap().groups[1].receive_time, 101);
        assert_eq!(ls.shard(0).unwrap().meta.status, ShardStatus::Readonly);
    }

    #[test]
    fn cursors_are_checked_against_the_shard() {
        let mut store = Store::open(None, &[spec(2)], 100).unwrap();
        store.append("demo", "orders", 0, group(100)).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        let shard = ls.shard(0).unwrap();
        assert_eq!(shard.offset_of("orders", &cursor::encode(0, 1)), Ok(1));
        for bad in [cursor::encode(0, 2), cursor::encode(1, 0)] {
            assert_eq!(
                shard.offset_of("orders", &bad).unwrap_err().code,
                "InvalidCursor"
            );
        }
        assert_eq!(
            shard.offset_of("orders", "xyz").unwrap_err().code,
            "ParameterInvalid"
        );
        assert_eq!(ls.shard(7).unwrap_err().code, "ShardNotExist");
    }
}
