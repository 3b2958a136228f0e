//! One shard's reader: pulls its logs from the cursor it starts at, cuts them into
//! batches of rows in the source's column layout, and keeps the shard's position exact
//! across batches that end inside one PullLogs response.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use holo_batch::BatchWriter;
use sls_client::{CursorFrom, Log, LogGroup, MAX_PULL_COUNT, PullLogs, SlsClient, SlsError};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::config::{OnInvalidCursor, SlsSourceConfig};
use super::error::SlsSourceError;
use super::layout::Layout;
use super::transient::Transient;
use crate::record::{Batch, DeadLetter, Lease, Origin, PipelineStage, Position};

/// Log groups the first PullLogs call of a shard asks for, before their size is known.
const FIRST_PULL_GROUPS: u32 = 10;
/// Pause after a caught-up pull that followed one with data: the Java consumer library's
/// fetch interval (aliyun-log-consumer-java `LogHubConfig.DEFAULT_FETCH_INTERVAL_MS`),
/// which bounds how long a record put on a live shard waits.
const ACTIVE_PAUSE: Duration = Duration::from_millis(200);
/// Pause between the pulls of an idle shard (caught up twice in a row): the official
/// consumers' idle fetch interval (500 ms in aliyun-log-go-sdk `consumer/shard_worker.go`,
/// 400 ms in aliyun-log-consumer-java `ShardConsumer.java`), which bounds the requests an
/// idle shard costs.
const IDLE_PAUSE: Duration = Duration::from_millis(500);
/// A shard that stays behind at a distance grows its pulls up to this many times
/// `--prefetch-bytes`, so that one round trip brings enough to keep up with a shard
/// written at full speed.
const BEHIND_GROWTH: usize = 8;
/// A full pull that took longer than this is bound by the round trip (a distant region),
/// not by reading: only then do pulls grow (near the service they would only take memory).
const DISTANT: Duration = Duration::from_millis(50);
/// How often a shard that is behind checks that the TTL has not removed what it reads next.
const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(60);

/// Pulls one shard and cuts its logs into batches.
pub(super) struct ShardReader<E> {
    pub(super) client: SlsClient,
    pub(super) config: Arc<SlsSourceConfig>,
    pub(super) layout: Arc<Layout>,
    pub(super) shard: u32,
    pub(super) stream: Arc<str>,
    /// Where the next pull starts, and how many of its logs are already taken.
    pub(super) cursor: String,
    pub(super) skip: u64,
    /// The job's first start, carried in every position (see [`super::resume`]).
    pub(super) since: i64,
    /// The cursor was saved earlier: check first that the TTL left what it points at.
    pub(super) saved: bool,
    /// Commit the start position at once (see [`super::resume::StartAt::first`]).
    pub(super) first: bool,
    pub(super) seq: Arc<AtomicU64>,
    pub(super) in_flight: Arc<AtomicU64>,
    pub(super) idle_since: Arc<std::sync::Mutex<Option<Instant>>>,
    /// The cursor up to which everything was sent, while caught up.
    pub(super) settled: Arc<std::sync::Mutex<Option<String>>>,
    pub(super) batches: mpsc::Sender<Result<Batch, E>>,
    /// ListShards said the shard is read-only (split or merged): read to its end, it is
    /// finished. A read-write shard is polled for ever. Set by the coordinator, which lists
    /// the shards once for all of them.
    pub(super) readonly: Arc<AtomicBool>,
    /// Set when the service no longer has the shard (`ShardNotExist`): the reader ended and
    /// the shard is released.
    pub(super) removed: Arc<AtomicBool>,
    /// This process's claim on the shard, carried by its batches.
    pub(super) lease: Lease,
    /// Transient failures of the whole source.
    pub(super) failures: Arc<AtomicU64>,
}

/// What became of a pull that failed.
enum Failed {
    /// Try again after this pause.
    Retry(Duration),
    /// Read on from the cursor the reader moved to.
    Moved,
    /// The reader is done: stopped, or the shard was removed.
    End,
    /// The stream stops with this error.
    Fatal(SlsSourceError),
}

/// A batch being filled.
struct Pending {
    data: Vec<u8>,
    rows: u32,
    row_offsets: Vec<u32>,
    origins: Vec<Origin>,
    rejected: Vec<DeadLetter>,
    records: u64,
    started: Instant,
}

impl Pending {
    fn new() -> Pending {
        let mut data = Vec::new();
        BatchWriter::new(&mut data);
        Pending {
            data,
            rows: 0,
            row_offsets: Vec::new(),
            origins: Vec::new(),
            rejected: Vec::new(),
            records: 0,
            started: Instant::now(),
        }
    }
}

impl<E: From<SlsSourceError> + Send + 'static> ShardReader<E> {
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        if self.first {
            // A batch of no rows: only its position is committed.
            let at = self.position(&self.cursor, 0);
            if !self.send(Pending::new(), at).await {
                return;
            }
        }
        let mut pending = Pending::new();
        let mut transient = Transient::new(self.stream.clone(), self.failures.clone());
        let mut groups = FIRST_PULL_GROUPS;
        let mut budget = self.config.prefetch_bytes;
        // A saved cursor is checked against the TTL before its first pull.
        let mut expiry_checked = (!self.saved).then(Instant::now);
        // Log groups the TTL removed before the cursor: reported once a pull from it succeeds.
        let mut expired = None;
        // The last pull brought data: a caught-up pull now is a pause in a live stream.
        let mut active = false;
        loop {
            if *stop.borrow() {
                break;
            }
            if expiry_checked.is_none_or(|t| t.elapsed() >= EXPIRY_CHECK_EVERY) {
                expiry_checked = Some(Instant::now());
                expired = self.expired_before_cursor().await;
            }
            let sent = Instant::now();
            let pull = tokio::select! {
                pull = self.client.pull_logs(&self.config.logstore, self.shard, &self.cursor, groups, None) => pull,
                _ = stop.changed() => break,
            };
            let pull = match pull {
                Ok(p) => p,
                Err(e) => match self.failed(e, &mut transient).await {
                    Failed::Retry(pause) => {
                        if !pause_unless_stopped(pause, &mut stop).await {
                            break;
                        }
                        continue;
                    }
                    Failed::Moved => {
                        expired = None;
                        continue;
                    }
                    Failed::End => break,
                    Failed::Fatal(e) => {
                        let _ = self.batches.send(Err(e.into())).await;
                        return;
                    }
                },
            };
            transient.succeeded();
            if let Some(groups) = expired.take() {
                // The service read this pull from the shard's oldest data.
                // The cursor is still the one pulled from: `take` moves it.
                super::resume::report_expired(&self.stream, &self.cursor, groups, self.skip);
                self.skip = 0;
            }
            let caught_up = pull.next_cursor == self.cursor || pull.groups.is_empty();
            // Behind (the pull came back full) and far: ask for more at once, up to a bound.
            budget = if caught_up || pull.count < groups || sent.elapsed() < DISTANT {
                self.config.prefetch_bytes
            } else {
                (budget * 2).min(self.config.prefetch_bytes * BEHIND_GROWTH)
            };
            groups = pull_groups(budget, &pull).unwrap_or(groups);
            self.set_idle(caught_up);
            let newest = (pull.groups.iter())
                .flat_map(|g| g.logs.iter().map(|l| l.time))
                .max();
            crate::metrics::global().shard_pulled(&self.stream, caught_up, newest);
            if !self.take(&pull, &mut pending).await {
                return;
            }
            if caught_up && pull.end_of_cursor && self.readonly.load(Ordering::Acquire) {
                // A read-only (split or merged) shard read to its end: its children carry on.
                info!(stream = %self.stream, "read-only shard finished");
                break;
            }
            if caught_up {
                // The expiry check is only for a shard that is behind.
                expiry_checked = Some(Instant::now());
                let pause = if active { ACTIVE_PAUSE } else { IDLE_PAUSE };
                if !pause_unless_stopped(pause, &mut stop).await {
                    break;
                }
            }
            active = !caught_up;
        }
        // Stopping: what was read goes out with its position.
        if pending.records > 0 {
            let position = self.position(&self.cursor, self.skip);
            self.send(pending, position).await;
        }
        debug!(stream = %self.stream, "shard reader stopped");
    }

    /// What to do about a failed pull: wait out what passes, release a shard the service
    /// removed, apply `on_invalid_cursor=` to a cursor it refuses, stop on the rest.
    async fn failed(&mut self, e: SlsError, transient: &mut Transient) -> Failed {
        if e.is_retriable() {
            return Failed::Retry(transient.failed("PullLogs", &e));
        }
        if e.is_code("ShardNotExist") {
            // A read-only shard is removed once the TTL has expired all its data
            // (aliyun-log-consumer-java `DefaultLogHubCheckPointTracker` drops such a shard
            // too): nothing is left to read.
            warn!(stream = %self.stream, "the service no longer has this shard (removed after \
                  its data expired): releasing it");
            crate::metrics::global().shard_event(&self.stream, "removed");
            self.removed.store(true, Ordering::Release);
            return Failed::End;
        }
        if !e.is_code("InvalidCursor") {
            return Failed::Fatal(e.into());
        }
        let to = match self.config.on_invalid_cursor {
            OnInvalidCursor::Fail => {
                return Failed::Fatal(SlsSourceError::InvalidCursor {
                    stream: self.stream.to_string(),
                    cursor: self.cursor.clone(),
                    source: Box::new(e),
                });
            }
            OnInvalidCursor::Begin => CursorFrom::Begin,
            OnInvalidCursor::End => CursorFrom::End,
        };
        let cursor = loop {
            match self
                .client
                .get_cursor(&self.config.logstore, self.shard, to)
                .await
            {
                Ok(c) => break c,
                Err(e) if e.is_retriable() => {
                    tokio::time::sleep(transient.failed("GetCursor", &e)).await;
                }
                Err(e) => return Failed::Fatal(e.into()),
            }
        };
        warn!(stream = %self.stream, cursor = %self.cursor, new_cursor = %cursor,
              "the service refused the shard's cursor (InvalidCursor: was the logstore \
               deleted and created again?): reading the shard again from its {} as \
               on_invalid_cursor says", if to == CursorFrom::Begin { "beginning" } else { "end" });
        crate::metrics::global().shard_event(&self.stream, "invalid_cursor");
        self.cursor = cursor;
        self.skip = 0;
        Failed::Moved
    }

    /// The log groups the TTL removed before the cursor, when it did: the service then reads
    /// from the shard's oldest data without an error (PullData reference), so the gap is
    /// only seen by comparing the cursor with the begin cursor.
    async fn expired_before_cursor(&self) -> Option<u64> {
        let begin = self
            .client
            .get_cursor(&self.config.logstore, self.shard, CursorFrom::Begin)
            .await;
        match begin {
            Ok(begin) => super::resume::expired_groups(&self.cursor, &begin),
            Err(error) => {
                debug!(stream = %self.stream, %error, "cannot get the begin cursor to check for expired data");
                None
            }
        }
    }

    /// A position of this shard, carrying the job's first start.
    fn position(&self, cursor: &str, skip: u64) -> Position {
        position(cursor, skip, Some(self.since))
    }

    /// Cuts the logs of one pull into batches and moves the cursor past them; `false` when
    /// the pipeline is gone.
    async fn take(&mut self, pull: &PullLogs, pending: &mut Pending) -> bool {
        let caught_up = pull.next_cursor == self.cursor || pull.groups.is_empty();
        // Dead letters name the pull's cursor and the log's place after it.
        let origin_source: Arc<str> = format!("{}@{}", self.stream, self.cursor).into();
        let total: u64 = pull.groups.iter().map(|g| g.logs.len() as u64).sum();
        let mut index = 0u64;
        for group in &pull.groups {
            for log in &group.logs {
                index += 1;
                if index <= self.skip {
                    continue;
                }
                let origin = Origin {
                    source: origin_source.clone(),
                    line: index,
                };
                self.push_log(pending, group, log, origin);
                if pending.rows as usize >= self.config.batch_rows
                    || pending.data.len() >= self.config.batch_bytes
                {
                    let full = std::mem::replace(pending, Pending::new());
                    // A batch that ends with the pull's last log reaches the next cursor.
                    let at = if index == total {
                        self.position(&pull.next_cursor, 0)
                    } else {
                        self.position(&self.cursor, index)
                    };
                    if !self.send(full, at).await {
                        return false;
                    }
                }
            }
        }
        self.cursor = pull.next_cursor.clone();
        // A position counts logs from its cursor, whatever size the pull that made it had:
        // a pull that returns fewer (a smaller count asked on restart, or the service
        // cutting its answer short) leaves the rest of the skip for the next one.
        self.skip = self.skip.saturating_sub(total);
        if pending.records > 0
            && (caught_up || pending.started.elapsed() >= self.config.batch_interval)
        {
            let ready = std::mem::replace(pending, Pending::new());
            if !self.send(ready, self.position(&self.cursor, 0)).await {
                return false;
            }
        }
        // Everything before the cursor is sent: once committed, the group's checkpoint
        // may say so even when no new batch brings it there.
        *self.settled.lock().expect("settled lock") =
            (caught_up && pending.records == 0).then(|| self.cursor.clone());
        true
    }

    fn set_idle(&self, caught_up: bool) {
        let mut idle = self.idle_since.lock().expect("idle lock");
        if caught_up {
            idle.get_or_insert_with(Instant::now);
        } else {
            *idle = None;
        }
    }

    /// Appends one log as a row; a log with content keys outside the columns, or with a
    /// tag that has no column, is kept whole in the dead-letter output instead.
    fn push_log(&self, pending: &mut Pending, group: &LogGroup, log: &Log, origin: Origin) {
        let layout = &self.layout;
        pending.records += 1;
        let mut values: Vec<Option<&str>> = vec![None; layout.schema.len()];
        let mut unknown = Vec::new();
        for (k, v) in &log.contents {
            match layout.content.get(k) {
                Some(&i) => values[i] = Some(v),
                None => unknown.push(k.as_str()),
            }
        }
        let reason = if !unknown.is_empty() {
            Some(format!(
                "content keys {} are not among the source's columns; list every column \
                 with columns= in the source",
                quoted(&unknown)
            ))
        } else {
            self.unplaced_tags(group).map(|tags| {
                format!(
                    "tags {} appeared after the stream opened, and the columns were fixed \
                     from the first logs of each shard; declare them with tags= in the \
                     source, or keep every tag in one JSON column with meta=…,__tags__",
                    quoted(&tags)
                )
            })
        };
        if let Some(reason) = reason {
            let mut record: serde_json::Map<String, serde_json::Value> = (log.contents.iter())
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            for (k, v) in &group.tags {
                record.insert(format!("__tag__:{k}"), serde_json::Value::String(v.clone()));
            }
            pending.rejected.push(DeadLetter {
                origin,
                stage: PipelineStage::Source,
                record: serde_json::Value::Object(record),
                reason,
                transform: None,
            });
            return;
        }
        let timestamp = log.time.to_string();
        let time_ns = log.time_ns.map(|t| t.to_string());
        let shard = self.shard.to_string();
        if let Some(i) = layout.topic {
            values[i] = group.topic.as_deref();
        }
        if let Some(i) = layout.source {
            values[i] = group.source.as_deref();
        }
        if let Some(i) = layout.timestamp {
            values[i] = Some(&timestamp);
        }
        if let Some(i) = layout.time_ns {
            values[i] = time_ns.as_deref();
        }
        if let Some(i) = layout.shard {
            values[i] = Some(&shard);
        }
        for (k, v) in &group.tags {
            if let Some(&i) = layout.tags.get(k) {
                values[i] = Some(v);
            }
        }
        let all_tags = layout.all_tags.map(|_| {
            let tags: serde_json::Map<String, serde_json::Value> = (group.tags.iter())
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::Value::Object(tags).to_string()
        });
        if let Some(i) = layout.all_tags {
            values[i] = all_tags.as_deref();
        }
        let mut w = BatchWriter::resume(&mut pending.data, pending.rows);
        pending.row_offsets.push(w.offset());
        for v in values {
            match v {
                Some(s) => w.push_text(s),
                None => w.push_value(holo_batch::ValueRef::Null),
            }
        }
        w.end_row();
        pending.rows = w.rows();
        pending.origins.push(origin);
    }

    /// The tags of `group` that the source wants as columns but has none for (they were
    /// not in the first logs read at open); none when `__tags__` keeps them all.
    fn unplaced_tags<'g>(&self, group: &'g LogGroup) -> Option<Vec<&'g str>> {
        if self.layout.all_tags.is_some() {
            return None;
        }
        let tags: Vec<&str> = (group.tags.iter())
            .map(|(k, _)| k.as_str())
            .filter(|k| {
                !self.layout.tags.contains_key(*k)
                    && self.config.wants_meta(&format!("__tag__:{k}"))
            })
            .collect();
        (!tags.is_empty()).then_some(tags)
    }

    /// Sends a batch; `false` when the pipeline is gone.
    async fn send(&self, p: Pending, position: Position) -> bool {
        let mut data = p.data;
        BatchWriter::resume(&mut data, p.rows).finish();
        let batch = Batch {
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            stream: self.stream.clone(),
            data,
            row_offsets: p.row_offsets,
            origins: p.origins,
            rejected: p.rejected,
            records_read: p.records,
            position,
            lease: Some(self.lease.clone()),
        };
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if self.batches.send(Ok(batch)).await.is_err() {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }
}

/// Names quoted for a message: `` `a`, `b` ``.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A shard's position: the next log is the `skip`-th after `cursor`. Saved as JSON with a
/// version tag, `"version": "1"`; positions saved before the tag, `{"cursor", "skip"}`,
/// are read as version 1.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardPosition {
    pub cursor: String,
    #[serde(default)]
    pub skip: u64,
    /// When the job first read the logstore (unix seconds): a shard created after it is
    /// read from its beginning. Absent from positions saved before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
}

/// [`ShardPosition`] as saved, by version.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "version")]
enum Versioned {
    #[serde(rename = "1")]
    V1(ShardPosition),
}

impl ShardPosition {
    /// The position as saved: tagged with its version.
    pub fn into_json(self) -> Position {
        serde_json::to_value(Versioned::V1(self)).expect("a shard position is plain JSON")
    }

    /// Reads a saved position, tagged or from before the tag; `None` if it is none.
    pub fn read(p: &Position) -> Option<ShardPosition> {
        let read = match p.get("version") {
            None => <ShardPosition as serde::Deserialize>::deserialize(p),
            Some(_) => <Versioned as serde::Deserialize>::deserialize(p).map(|Versioned::V1(p)| p),
        };
        read.ok()
    }
}

/// A shard's position, as saved.
pub(super) fn position(cursor: &str, skip: u64, since: Option<i64>) -> Position {
    ShardPosition {
        cursor: cursor.to_owned(),
        skip,
        since,
    }
    .into_json()
}

/// The cursor and skip of a saved position.
pub(super) fn parse_position(p: &Position) -> Option<(String, u64)> {
    ShardPosition::read(p).map(|p| (p.cursor, p.skip))
}

/// Log groups the next pull asks for, so that it holds about `budget` bytes uncompressed
/// by the size of `last`'s groups: what a shard reads ahead is bounded in bytes, small
/// groups or large (a Logtail group may be megabytes). At least one, at most the service's
/// limit; `None` when `last` brought nothing to measure.
fn pull_groups(budget: usize, last: &PullLogs) -> Option<u32> {
    let per_group = last.raw_size.checked_div(last.count as usize)?.max(1);
    Some((budget / per_group).clamp(1, MAX_PULL_COUNT as usize) as u32)
}

/// Sleeps for `pause` unless a stop comes first; `false` when it did.
async fn pause_unless_stopped(pause: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pulled(count: u32, raw_size: usize) -> PullLogs {
        PullLogs {
            groups: Vec::new(),
            next_cursor: String::new(),
            count,
            raw_size,
            end_of_cursor: false,
        }
    }

    fn reader(
        cursor: &str,
        skip: u64,
    ) -> (
        ShardReader<SlsSourceError>,
        mpsc::Receiver<Result<Batch, SlsSourceError>>,
    ) {
        let spec = "sls://demo/orders?endpoint=http://127.0.0.1:1&columns=id";
        let config = SlsSourceConfig {
            batch_rows: 3,
            ..SlsSourceConfig::parse(spec).expect("config")
        };
        let config = Arc::new(config);
        let layout = Layout::new(vec!["id".into()], Default::default(), false, false, |_| {
            false
        });
        let (tx, rx) = mpsc::channel(100);
        let reader = ShardReader {
            client: SlsClient::new("http://127.0.0.1:1", "demo", None).expect("client"),
            config,
            layout: Arc::new(layout),
            shard: 0,
            stream: "sls://demo/orders/0".into(),
            cursor: cursor.to_owned(),
            skip,
            since: 7,
            saved: false,
            first: false,
            seq: Arc::default(),
            in_flight: Arc::default(),
            idle_since: Arc::default(),
            settled: Arc::default(),
            batches: tx,
            readonly: Arc::default(),
            removed: Arc::default(),
            lease: Lease::new(),
            failures: Arc::default(),
        };
        (reader, rx)
    }

    /// `groups` groups of 2 logs, ids counted on from `first`, ending at `next`.
    fn pull_of(first: u32, groups: u32, next: &str) -> PullLogs {
        let group = |g: u32| LogGroup {
            logs: (0..2)
                .map(|i| Log {
                    time: 0,
                    time_ns: None,
                    contents: vec![("id".into(), (first + 2 * g + i).to_string())],
                })
                .collect(),
            topic: None,
            source: None,
            tags: Vec::new(),
        };
        PullLogs {
            groups: (0..groups).map(group).collect(),
            next_cursor: next.into(),
            count: groups,
            raw_size: 100,
            end_of_cursor: false,
        }
    }

    /// A position made inside a large pull, resumed with pulls of fewer groups: the skip
    /// carries over, so no log is read twice (a restart asks for fewer groups at first).
    #[tokio::test]
    async fn a_skip_longer_than_a_pull_carries_over_to_the_next() {
        // Logs 1..=7 of a 10-log pull from "c0" were committed.
        let (mut r, mut rx) = reader("c0", 7);
        let mut pending = Pending::new();
        // On restart the first pull from c0 brings only 2 groups (logs 1..=4).
        assert!(r.take(&pull_of(1, 2, "c2"), &mut pending).await);
        assert_eq!((r.cursor.as_str(), r.skip, pending.records), ("c2", 3, 0));
        // The next brings logs 5..=10 from c2: 5..=7 are skipped.
        assert!(r.take(&pull_of(5, 3, "c5"), &mut pending).await);
        let schema = r.layout.schema.clone();
        drop(r);
        let (mut ids, mut positions) = (Vec::new(), Vec::new());
        while let Some(batch) = rx.recv().await {
            let batch = batch.expect("a batch");
            for i in 0..batch.rows() {
                ids.push(batch.record_json(&schema, i)["id"].clone());
            }
            positions.push(batch.position);
        }
        assert_eq!(ids, ["8", "9", "10"]);
        assert_eq!(positions, [position("c5", 0, Some(7))]);
    }

    #[test]
    fn a_pull_asks_for_as_many_groups_as_fit_the_prefetch_bytes() {
        let budget = 1 << 20;
        // 20 KiB groups: 51 of them fill 1 MiB.
        assert_eq!(pull_groups(budget, &pulled(10, 10 * 20 * 1024)), Some(51));
        // Groups larger than the budget: one at a time, never none.
        assert_eq!(pull_groups(budget, &pulled(2, 8 << 20)), Some(1));
        // Tiny groups: no more than the service gives in one pull.
        assert_eq!(
            pull_groups(budget, &pulled(1000, 1000)),
            Some(MAX_PULL_COUNT)
        );
        // Nothing pulled, or an empty body: nothing learned.
        assert_eq!(pull_groups(budget, &pulled(0, 0)), None);
        assert_eq!(pull_groups(budget, &pulled(3, 0)), Some(MAX_PULL_COUNT));
    }
}
