//! Projects, logstores, shards and their log groups in memory, optionally mirrored to a data
//! directory so they survive a restart.
//!
//! Layout of the data directory: `state.json` (logstores with their generation and settings,
//! shards with the count of expired log groups, consumer groups, checkpoints, the generations
//! of deleted logstores; rewritten whole on every change) and the shard files (see `disk`).
//! Child modules: `reshard` (split, merge, automatic split), `expiry` (TTL and expiry),
//! `disk` (shard files).

mod disk;
mod expiry;
mod reshard;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize};

pub use self::expiry::{Expired, Expiry};
use crate::config::LogstoreSpec;
use crate::consumer::{Checkpoint, ConsumerGroup};
use crate::cursor;
use crate::error::SlsError;

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
    /// The shards this one was split (one) or merged (two) from. State files written before
    /// merges existed name a single `parent`.
    #[serde(
        default,
        alias = "parent",
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub parents: Vec<u32>,
}

/// `null`, one id or a list of ids, as a list.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        One(u32),
        Many(Vec<u32>),
    }
    Ok(match Option::<Ids>::deserialize(d)? {
        None => Vec::new(),
        Some(Ids::One(id)) => vec![id],
        Some(Ids::Many(ids)) => ids,
    })
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
    /// Log groups removed from the front by expiry: `groups[0]` is at offset `first`.
    pub first: u64,
    /// The log groups still kept.
    pub groups: Vec<StoredGroup>,
    /// The logstore's generation, which its cursors carry.
    generation: u32,
    file: Option<File>,
}

impl Shard {
    fn new(meta: ShardMeta, generation: u32) -> Self {
        Shard {
            meta,
            first: 0,
            groups: Vec::new(),
            generation,
            file: None,
        }
    }

    /// Offset of the first log group kept (the begin cursor's).
    pub fn begin(&self) -> u64 {
        self.first
    }

    /// Offset one past the last log group.
    pub fn end(&self) -> u64 {
        self.first + self.groups.len() as u64
    }

    /// The log groups at offsets `from..upto`, both between [`Self::begin`] and [`Self::end`].
    pub fn groups_between(&self, from: u64, upto: u64) -> &[StoredGroup] {
        &self.groups[(from - self.first) as usize..(upto - self.first) as usize]
    }

    /// Offset of the first log group received at or after `time`, or the end.
    pub fn offset_at(&self, time: u32) -> u64 {
        self.first + self.groups.partition_point(|g| g.receive_time < time) as u64
    }

    /// Receive time of the group at `offset` (the first kept one's before the begin); the last
    /// group's (or the creation time) at the end.
    pub fn time_at(&self, offset: u64) -> u32 {
        let index = offset.saturating_sub(self.first) as usize;
        match self.groups.get(index) {
            Some(g) => g.receive_time,
            None => self
                .groups
                .last()
                .map_or(self.meta.create_time, |g| g.receive_time),
        }
    }

    /// The cursor of `offset` in this shard.
    pub fn cursor(&self, offset: u64) -> String {
        cursor::encode_in(self.generation, self.meta.id, offset)
    }

    /// The offset of a cursor for this shard, or InvalidCursor. A cursor before the first log
    /// group kept reads from it (PullData reference: a cursor below the begin cursor starts
    /// from the begin cursor).
    pub fn offset_of(&self, logstore: &str, cursor_text: &str) -> Result<u64, SlsError> {
        let id = self.meta.id;
        // A malformed cursor is a bad parameter, not a cursor out of range (aliyun-log-
        // java-sdk AbnormalOperationTest.testPullLogsByErrorParameter; PullLogs docs).
        let position = cursor::decode(cursor_text).ok_or_else(|| {
            SlsError::parameter(format!(
                "Invalid cursor `{cursor_text}`: it is not a cursor this server issued; get one \
                 with GetCursor"
            ))
        })?;
        if position.generation != self.generation {
            return Err(SlsError::invalid_cursor(
                cursor_text,
                &format!(
                    "is of an earlier logstore `{logstore}` (generation {}), deleted since; \
                     this one is generation {}: get a new cursor with GetCursor",
                    position.generation, self.generation
                ),
            ));
        }
        if position.shard != Some(id) {
            return Err(SlsError::invalid_cursor(
                cursor_text,
                &format!("does not belong to shard {id} of logstore `{logstore}`"),
            ));
        }
        if position.offset > self.end() {
            return Err(SlsError::invalid_cursor(
                cursor_text,
                &format!(
                    "is past the end of shard {id} of logstore `{logstore}` ({} log groups)",
                    self.end()
                ),
            ));
        }
        Ok(position.offset.max(self.first))
    }
}

/// How a logstore keeps and splits its data: what CreateLogStore or a [`LogstoreSpec`] said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Seconds a log group is kept after it is received; forever when `None`.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// Splits automatically (CreateLogStore's `autoSplit`, shown by GetLogStore).
    #[serde(default)]
    pub auto_split: bool,
    /// No automatic split beyond this many writable shards (`maxSplitShard`).
    #[serde(default)]
    pub max_split_shard: u32,
    /// Log groups a writable shard receives before it is split automatically; never when
    /// `None`.
    #[serde(default)]
    pub split_after: Option<u64>,
}

impl Settings {
    /// The settings a spec asks for.
    pub fn of(spec: &LogstoreSpec) -> Self {
        Settings {
            ttl_secs: spec.ttl_secs,
            auto_split: spec.auto_split.is_some(),
            max_split_shard: spec.auto_split.map_or(0, |a| a.max_shards),
            split_after: spec.auto_split.map(|a| a.log_groups),
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
    /// 0, or one more than the last deleted logstore of this name had: its cursors say so.
    pub generation: u32,
    pub settings: Settings,
    lb_next: usize,
}

impl Logstore {
    fn new(
        project: &str,
        name: &str,
        shard_count: u32,
        now: u32,
        generation: u32,
        settings: Settings,
    ) -> Self {
        let n = u128::from(shard_count);
        let q = u128::MAX / n;
        let r = u128::MAX % n;
        // floor(i * 2^128 / n) without overflow: 2^128 = n*q + r + 1.
        let begin = |i: u128| i * q + (i * (r + 1)) / n;
        let shards = (0..shard_count)
            .map(|i| {
                let i = u128::from(i);
                let end = if i + 1 == n { u128::MAX } else { begin(i + 1) };
                let meta = ShardMeta {
                    id: i as u32,
                    status: ShardStatus::Readwrite,
                    begin_key: format_key(begin(i)),
                    end_key: format_key(end),
                    create_time: now,
                    parents: Vec::new(),
                };
                Shard::new(meta, generation)
            })
            .collect();
        Logstore {
            project: project.to_owned(),
            name: name.to_owned(),
            shards,
            consumer_groups: BTreeMap::new(),
            generation,
            settings,
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

    pub fn writable(&self) -> impl Iterator<Item = &Shard> {
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

    /// Whether a read-only shard has been read to its end by `group` (or has nothing left).
    fn finished(&self, shard: &Shard, group: &ConsumerGroup) -> bool {
        shard.meta.status == ShardStatus::Readonly
            && (shard.groups.is_empty()
                || group
                    .checkpoints
                    .get(&shard.meta.id)
                    .and_then(|c| shard.offset_of(&self.name, &c.checkpoint).ok())
                    .is_some_and(|offset| offset >= shard.end()))
    }

    /// Shards `group` may be given: not finished, and (in order) whose ancestors are all
    /// finished (aliyun-log-consumer-java README: a shard waits until its ancestors' data is
    /// consumed).
    pub fn assignable(&self, group: &ConsumerGroup) -> BTreeSet<u32> {
        self.shards
            .iter()
            .filter(|s| !self.finished(s, group))
            .filter(|s| !group.in_order || self.ancestors_finished(s, group))
            .map(|s| s.meta.id)
            .collect()
    }

    /// Whether the split and merge parents of `shard`, and theirs, are finished. A parent
    /// removed by expiry had nothing left to read.
    fn ancestors_finished(&self, shard: &Shard, group: &ConsumerGroup) -> bool {
        shard.meta.parents.iter().all(|p| {
            self.shard(*p).map_or(true, |parent| {
                self.finished(parent, group) && self.ancestors_finished(parent, group)
            })
        })
    }

    fn state(&self) -> LogstoreState {
        LogstoreState {
            project: self.project.clone(),
            logstore: self.name.clone(),
            generation: self.generation,
            settings: self.settings.clone(),
            shards: self
                .shards
                .iter()
                .map(|s| ShardState {
                    meta: s.meta.clone(),
                    first: s.first,
                })
                .collect(),
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
    /// The generation each deleted logstore last had.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired: Vec<Retired>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Retired {
    project: String,
    logstore: String,
    generation: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct LogstoreState {
    project: String,
    logstore: String,
    #[serde(default)]
    generation: u32,
    #[serde(default)]
    settings: Settings,
    shards: Vec<ShardState>,
    consumer_groups: Vec<GroupState>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ShardState {
    #[serde(flatten)]
    meta: ShardMeta,
    /// Log groups expired (still in the file, skipped on load).
    #[serde(default, skip_serializing_if = "is_zero")]
    first: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
    /// The generation each deleted logstore last had, so one created again gets the next.
    retired: BTreeMap<(String, String), u32>,
}

impl Store {
    /// Loads the data directory (if any), then adds the logstores of `specs` it lacks. A
    /// spec's TTL and automatic split apply to the logstore it names, stored or new; a spec
    /// asking for neither leaves a stored logstore's settings as they are.
    pub fn open(
        data_dir: Option<&Path>,
        specs: &[LogstoreSpec],
        now: u32,
    ) -> Result<Store, StoreError> {
        let mut store = Store {
            projects: BTreeMap::new(),
            data_dir: data_dir.map(Path::to_path_buf),
            retired: BTreeMap::new(),
        };
        if let Some(dir) = data_dir {
            fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
            store.load(dir)?;
        }
        for spec in specs {
            let generation = store.next_generation(&spec.project, &spec.logstore);
            let project = store.projects.entry(spec.project.clone()).or_default();
            if let Some(existing) = project.get_mut(&spec.logstore) {
                let writable = existing.writable().count();
                if writable != spec.shards as usize {
                    tracing::info!(
                        project = %spec.project,
                        logstore = %spec.logstore,
                        writable,
                        asked = spec.shards,
                        "logstore kept as stored in the data directory"
                    );
                }
                // Settings a spec asks for win; without any, the stored ones (a logstore
                // created again through the API keeps its own) stay.
                if spec.ttl_secs.is_some() || spec.auto_split.is_some() {
                    existing.settings = Settings::of(spec);
                }
                continue;
            }
            let ls = Logstore::new(
                &spec.project,
                &spec.logstore,
                spec.shards,
                now,
                generation,
                Settings::of(spec),
            );
            project.insert(spec.logstore.clone(), ls);
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
        for r in state.retired {
            self.retired.insert((r.project, r.logstore), r.generation);
        }
        for ls in state.logstores {
            let mut shards = Vec::new();
            for ShardState { meta, first } in ls.shards {
                let file = disk::shard_file(dir, &ls.project, &ls.logstore, meta.id);
                let mut shard = Shard::new(meta, ls.generation);
                shard.groups = disk::read_groups(&file, first)?;
                shard.first = first;
                shards.push(shard);
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
                    generation: ls.generation,
                    settings: ls.settings,
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
            retired: self
                .retired
                .iter()
                .map(|((project, logstore), generation)| Retired {
                    project: project.clone(),
                    logstore: logstore.clone(),
                    generation: *generation,
                })
                .collect(),
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

    fn next_generation(&self, project: &str, logstore: &str) -> u32 {
        self.retired
            .get(&(project.to_owned(), logstore.to_owned()))
            .map_or(0, |g| g + 1)
    }

    /// CreateLogStore: a new logstore of `shards` writable shards in an existing project.
    pub fn create(
        &mut self,
        project: &str,
        logstore: &str,
        shards: u32,
        settings: Settings,
        now: u32,
    ) -> Result<(), ChangeError> {
        let generation = self.next_generation(project, logstore);
        let existing = self
            .projects
            .get(project)
            .ok_or_else(|| SlsError::project_not_exist(project))?;
        if existing.contains_key(logstore) {
            return Err(SlsError::new(
                400,
                "LogStoreAlreadyExist",
                format!("logstore `{logstore}` already exists in project `{project}`"),
            )
            .into());
        }
        // Files a deletion could not remove must not come back as the new logstore's data.
        if let Some(dir) = &self.data_dir {
            disk::remove_logstore(dir, project, logstore)?;
        }
        let ls = Logstore::new(project, logstore, shards, now, generation, settings);
        self.projects
            .get_mut(project)
            .expect("checked above")
            .insert(logstore.to_owned(), ls);
        Ok(())
    }

    /// DeleteLogStore: the logstore, its shards, consumer groups and files. A logstore created
    /// again under the name gets the next generation, so old cursors are refused.
    pub fn delete(&mut self, project: &str, logstore: &str) -> Result<(), ChangeError> {
        let ls = self
            .projects
            .get_mut(project)
            .ok_or_else(|| SlsError::project_not_exist(project))?
            .remove(logstore)
            .ok_or_else(|| SlsError::logstore_not_exist(project, logstore))?;
        self.retired
            .insert((project.to_owned(), logstore.to_owned()), ls.generation);
        // The shard files are closed before they are removed.
        drop(ls);
        if let Some(dir) = &self.data_dir {
            disk::remove_logstore(dir, project, logstore)?;
        }
        Ok(())
    }

    /// Appends a log group (already carrying the server's tags) to a shard; returns its offset.
    pub fn append(
        &mut self,
        project: &str,
        logstore: &str,
        shard: u32,
        group: StoredGroup,
    ) -> Result<u64, ChangeError> {
        let dir = self.data_dir.clone();
        let ls = self.logstore_mut(project, logstore)?;
        let shard = ls.shard_mut(shard)?;
        if let Some(dir) = dir {
            let path = disk::shard_file(&dir, project, logstore, shard.meta.id);
            disk::write_group(&mut shard.file, &path, &group)
                .map_err(|source| StoreError::Write { path, source })?;
        }
        shard.groups.push(group);
        Ok(shard.end() - 1)
    }
}

/// A failed change: the request's fault or the disk's.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Sls(#[from] SlsError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
    use std::fs::OpenOptions;
    use std::io::Write;

    use prost::Message;

    use super::*;
    use crate::proto::LogGroup;

    pub(super) fn spec(shards: u32) -> LogstoreSpec {
        LogstoreSpec::new("demo", "orders", shards)
    }

    pub(super) fn group(time: u32) -> StoredGroup {
        StoredGroup {
            receive_time: time,
            logs: 1,
            bytes: Bytes::from_static(b""),
        }
    }

    fn encoded(time: u32) -> StoredGroup {
        StoredGroup {
            receive_time: time,
            logs: 0,
            bytes: Bytes::from(LogGroup::default().encode_to_vec()),
        }
    }

    fn new_logstore(shards: u32) -> Logstore {
        Logstore::new("p", "l", shards, 0, 0, Settings::default())
    }

    #[test]
    fn shard_ranges_cover_the_key_space() {
        let ls = new_logstore(2);
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
        let ls = new_logstore(3);
        assert_eq!(ls.pick_key("00000000000000000000000000000000"), 0);
        assert_eq!(ls.pick_key("ffffffffffffffffffffffffffffffff"), 2);
        assert_eq!(ls.pick_key("55555555555555555555555555555556"), 1);
    }

    #[test]
    fn offsets_by_time() {
        let mut ls = Logstore::new("p", "l", 1, 5, 0, Settings::default());
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
                store.append("demo", "orders", 1, encoded(t)).unwrap();
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
    fn expiry_merges_and_generations_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open(Some(dir.path()), &[spec(2)], 100).unwrap();
            for t in [100, 101, 102] {
                store.append("demo", "orders", 0, encoded(t)).unwrap();
            }
            let rule = Expiry {
                count: Some(2),
                before: None,
            };
            store.expire("demo", "orders", Some(0), rule).unwrap();
            store.merge("demo", "orders", 0, 103).unwrap();
            store.delete("demo", "orders").unwrap();
            store
                .create("demo", "orders", 2, Settings::default(), 104)
                .unwrap();
            store.merge("demo", "orders", 0, 105).unwrap();
            store.append("demo", "orders", 2, encoded(106)).unwrap();
            store.save_state().unwrap();
        }
        let store = Store::open(Some(dir.path()), &[spec(2)], 300).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        assert_eq!(ls.generation, 1);
        assert_eq!(ls.shard(2).unwrap().meta.parents, [0, 1]);
        assert_eq!(ls.shard(2).unwrap().end(), 1);
        assert_eq!(
            ls.shard(0).unwrap().end(),
            0,
            "the old logstore's data is gone"
        );
        let old = cursor::encode(2, 0);
        let err = ls.shard(2).unwrap().offset_of("orders", &old).unwrap_err();
        assert_eq!(err.code, "InvalidCursor");
    }

    #[test]
    fn first_offset_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open(Some(dir.path()), &[spec(1)], 100).unwrap();
            for t in [100, 101, 102] {
                store.append("demo", "orders", 0, encoded(t)).unwrap();
            }
            let rule = Expiry {
                count: Some(2),
                before: None,
            };
            store.expire("demo", "orders", None, rule).unwrap();
            store.save_state().unwrap();
        }
        let store = Store::open(Some(dir.path()), &[spec(1)], 300).unwrap();
        let shard = store.logstore("demo", "orders").unwrap().shard(0).unwrap();
        assert_eq!((shard.begin(), shard.end()), (2, 3));
        assert_eq!(shard.groups[0].receive_time, 102);
    }

    #[test]
    fn old_state_files_with_a_single_parent_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let old = r#"{"logstores":[{"project":"demo","logstore":"orders","shards":[
            {"id":0,"status":"readonly","begin_key":"00000000000000000000000000000000",
             "end_key":"ffffffffffffffffffffffffffffffff","create_time":1},
            {"id":1,"status":"readwrite","begin_key":"00000000000000000000000000000000",
             "end_key":"80000000000000000000000000000000","create_time":2,"parent":0},
            {"id":2,"status":"readwrite","begin_key":"80000000000000000000000000000000",
             "end_key":"ffffffffffffffffffffffffffffffff","create_time":2,"parent":0}],
            "consumer_groups":[]}]}"#;
        fs::write(dir.path().join("state.json"), old).unwrap();
        let store = Store::open(Some(dir.path()), &[], 300).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        assert_eq!(ls.generation, 0);
        assert!(ls.shard(0).unwrap().meta.parents.is_empty());
        assert_eq!(ls.shard(2).unwrap().meta.parents, [0]);
        let text = fs::read_to_string(dir.path().join("state.json")).unwrap();
        assert!(text.contains("\"parents\""), "{text}");
    }

    #[test]
    fn create_and_delete() {
        let mut store = Store::open(None, &[spec(1)], 100).unwrap();
        let err = store
            .create("demo", "orders", 1, Settings::default(), 100)
            .unwrap_err();
        let ChangeError::Sls(err) = err else {
            panic!("{err}")
        };
        assert_eq!(
            (err.status, err.code.as_ref()),
            (400, "LogStoreAlreadyExist")
        );
        store.delete("demo", "orders").unwrap();
        assert_eq!(
            store.logstore("demo", "orders").unwrap_err().code,
            "LogStoreNotExist"
        );
        assert!(store.has_project("demo"), "the project stays");
        store
            .create("demo", "orders", 3, Settings::default(), 100)
            .unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        assert_eq!((ls.generation, ls.shards.len()), (1, 3));
        let s0 = ls.shard(0).unwrap();
        assert_eq!(s0.cursor(0), cursor::encode_in(1, 0, 0));
        assert!(matches!(
            store.create("nope", "orders", 1, Settings::default(), 100),
            Err(ChangeError::Sls(e)) if e.code == "ProjectNotExist"
        ));
    }

    #[test]
    fn cursors_are_checked_against_the_shard() {
        let mut store = Store::open(None, &[spec(2)], 100).unwrap();
        store.append("demo", "orders", 0, group(100)).unwrap();
        let ls = store.logstore("demo", "orders").unwrap();
        let shard = ls.shard(0).unwrap();
        assert_eq!(shard.offset_of("orders", &cursor::encode(0, 1)), Ok(1));
        for bad in [
            cursor::encode(0, 2),
            cursor::encode(1, 0),
            cursor::encode_in(1, 0, 0),
        ] {
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
