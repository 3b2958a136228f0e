//! The Log Service source: pulls every shard this process holds, concurrently, and turns
//! logs into batches of rows.
//!
//! ```text
//!  coordinator ── heartbeat (consumer group) ──▶ which shards are ours
//!      │  start / stop                              ▲ release once committed
//!      ▼                                            │
//!  shard task ×N ── PullLogs ──▶ rows ──Batch──▶ pipeline ──▶ sink commit ──ack──┘
//!                                                                 └──▶ checkpoint
//! ```
//!
//! A shard's position is `{"version": "1", "cursor": C, "skip": K}` (see
//! [`super::shard::ShardPosition`]): the next log is the K-th after cursor
//! C (batches may end inside one PullLogs response, whose logs share a cursor). It is
//! committed with the rows by the sink, and read back from the sink when a shard is taken
//! (by this process after a restart, or by another member of the group); the group's
//! checkpoint is written after the commit and is only a fallback.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sls_client::{CursorFrom, Shard, SlsClient, SlsError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::config::{ClientForSource, SlsSourceConfig, StartFrom};
use super::error::SlsSourceError;
use super::heartbeat::{Heartbeat, News};
use super::layout::Layout;
use super::shard::{ShardReader, parse_position};
use super::transient::Transient;
use crate::position::Positions;
use crate::record::{Batch, Lease, Schema};
use crate::source::Ack;

/// Heartbeats per group timeout: a member misses a few before it is dropped.
const HEARTBEATS_PER_TIMEOUT: u32 = 4;

/// The source, opened: shards listed, columns known.
pub struct SlsSource {
    client: SlsClient,
    /// The shards listed when the source was opened.
    shard_ids: Vec<u32>,
    config: Arc<SlsSourceConfig>,
    layout: Arc<Layout>,
    positions: Positions,
    /// Transient failures retried so far, by every shard and the heartbeat.
    failures: Arc<AtomicU64>,
}

impl SlsSource {
    /// Checks access (ListShards), creates the consumer group if one is named, and learns
    /// the columns (given, or from the first logs of each shard).
    pub async fn open(
        config: SlsSourceConfig,
        positions: Positions,
    ) -> Result<SlsSource, SlsSourceError> {
        let client = SlsClient::for_source(&config)?;
        let failures = Arc::new(AtomicU64::new(0));
        // A stream that starts while the service throttles or fails waits for it, as one
        // that is running does.
        let mut transient = Transient::new(config.describe().into(), failures.clone());
        let (shards, layout) = loop {
            match connect(&client, &config).await {
                Ok(found) => break found,
                Err(SlsSourceError::Client(e)) if e.is_retriable() => {
                    let pause = transient.failed("opening the stream", &e);
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        };
        Ok(SlsSource {
            client,
            shard_ids: shards.iter().map(|s| s.id).collect(),
            config: Arc::new(config),
            layout: Arc::new(layout),
            positions,
            failures,
        })
    }

    pub fn schema(&self) -> Schema {
        self.layout.schema.clone()
    }

    /// The streams (one per shard) whose positions the sink keeps.
    pub fn streams(&self) -> Vec<String> {
        self.shard_ids
            .iter()
            .map(|&id| stream_name(&self.config, id))
            .collect()
    }

    /// Starts reading: batches go to `batches` until `stop` turns true or (with
    /// `exit_when_idle`) every shard has been idle long enough; commits arrive on `acks`.
    /// The task ends after the last ack, having written checkpoints and left the group.
    pub fn spawn<E: From<SlsSourceError> + Send + 'static>(
        self,
        batches: mpsc::Sender<Result<Batch, E>>,
        acks: mpsc::UnboundedReceiver<Ack>,
        stop: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let checkpoint_failures =
            Transient::new(self.config.describe().into(), self.failures.clone());
        tokio::spawn(async move {
            let mut c = Coordinator {
                source: self,
                batches: Some(batches),
                shards: BTreeMap::new(),
                seq: Arc::new(AtomicU64::new(0)),
                pending_checkpoints: BTreeMap::new(),
                waiting: 0,
                heartbeat: None,
                checkpoint_failures,
            };
            c.run(acks, stop).await;
        })
    }
}

/// A shard this process reads.
struct ShardState {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// Batches sent and not yet acknowledged.
    in_flight: Arc<AtomicU64>,
    /// When the shard was last seen caught up (`None`: it is not).
    idle_since: Arc<std::sync::Mutex<Option<Instant>>>,
    /// The group took it away: release once its batches are committed.
    releasing: bool,
    /// See [`ShardReader::settled`].
    settled: Arc<std::sync::Mutex<Option<String>>>,
    /// The last checkpoint written for it.
    checkpointed: Option<String>,
    /// Carried by its batches; revoked when this member loses the group.
    lease: Lease,
}

struct Coordinator<E> {
    source: SlsSource,
    /// Dropped when reading ends, so the pipeline sees the end of the stream.
    batches: Option<mpsc::Sender<Result<Batch, E>>>,
    shards: BTreeMap<u32, ShardState>,
    seq: Arc<AtomicU64>,
    /// Cursors committed but not yet checkpointed, by shard.
    pending_checkpoints: BTreeMap<u32, String>,
    /// Shards held back until the shard they were split from is finished.
    waiting: usize,
    /// The consumer group's heartbeat task, when reading in a group.
    heartbeat: Option<Heartbeat>,
    /// Checkpoints that could not be written for a passing reason (they are only progress
    /// reports: the next one supersedes them).
    checkpoint_failures: Transient,
}

impl<E: From<SlsSourceError> + Send + 'static> Coordinator<E> {
    async fn run(
        &mut self,
        mut acks: mpsc::UnboundedReceiver<Ack>,
        mut stop: watch::Receiver<bool>,
    ) {
        let cfg = self.source.config.clone();
        let group_timeout = Duration::from_secs(u64::from(cfg.group_timeout));
        let interval = group_timeout
            .div_f64(f64::from(HEARTBEATS_PER_TIMEOUT))
            .max(Duration::from_millis(250));
        // The group drops a member `timeout` after the last heartbeat it received; stopping
        // one interval sooner keeps two members from writing one shard at once.
        let cut_off = group_timeout.saturating_sub(interval);
        if let Some(group) = &cfg.consumer_group {
            self.heartbeat = Some(Heartbeat::spawn(
                self.source.client.clone(),
                cfg.clone(),
                group.clone(),
                interval,
                self.source.failures.clone(),
            ));
        }
        // Without a group the shard list is polled: new shards after a split.
        let mut list_ticker = tokio::time::interval(Duration::from_secs(2));
        let mut idle_check = tokio::time::interval(Duration::from_millis(100));
        let mut stopping = false;
        let mut last_group_check: Option<Instant> = None;
        loop {
            tokio::select! {
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() || *stop.borrow() {
                        stopping = true;
                        self.stop_all();
                    }
                }
                news = next_beat(&mut self.heartbeat), if !stopping => {
                    let result = match news {
                        Ok(News::Assigned(assigned)) => self.rebalance(assigned).await,
                        Ok(News::Dropped) => {
                            self.drop_shards("the group no longer knows this member");
                            Ok(())
                        }
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = result {
                        self.fail(e).await;
                        stopping = true;
                        self.stop_all();
                    }
                }
                _ = list_ticker.tick(), if !stopping && self.heartbeat.is_none() => {
                    if let Err(e) = self.poll_shards().await {
                        self.fail(e).await;
                        stopping = true;
                        self.stop_all();
                    }
                }
                _ = idle_check.tick() => {
                    if !stopping && self.idle_long_enough() && self.others_done(&mut last_group_check).await {
                        info!(source = %cfg.describe(), "every shard caught up: stopping");
                        stopping = true;
                        self.stop_all();
                    }
                    if !stopping {
                        self.check_membership(cut_off);
                    }
                    self.checkpoint_settled();
                    self.release_finished().await;
                    if stopping && self.shards.values().all(|s| s.task.is_finished()) {
                        // Nothing more will be sent: let the pipeline drain.
                        self.batches = None;
                    }
                    self.flush_checkpoints().await;
                }
                ack = acks.recv() => match ack {
                    Some(ack) => self.acked(ack),
                    None => break,
                },
            }
        }
        self.finish().await;
    }

    /// The pipeline is done: every batch sent was committed or the run failed. Writes the
    /// last checkpoints and leaves the group.
    async fn finish(&mut self) {
        let cfg = self.source.config.clone();
        self.stop_all();
        for (_, s) in std::mem::take(&mut self.shards) {
            let _ = s.task.await;
        }
        self.flush_checkpoints().await;
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop().await;
        }
        let failures = self.source.failures.load(Ordering::Relaxed);
        if failures > 0 {
            info!(source = %cfg.describe(), failures, "transient Log Service failures were retried");
        }
        if let Some(group) = &cfg.consumer_group {
            match self
                .source
                .client
                .heartbeat(&cfg.logstore, group, &cfg.consumer, &[])
                .await
            {
                Ok(_) => info!(group = %group, consumer = %cfg.consumer, "left the consumer group"),
                Err(error) => warn!(group = %group, %error, "cannot leave the consumer group"),
            }
        }
    }

    /// After `cut_off` without a successful heartbeat the group is about to drop this member
    /// and hand its shards to others: stop reading them, and commit nothing more of them.
    /// They come back only through the group, from the committed positions.
    fn check_membership(&mut self, cut_off: Duration) {
        let Some(heartbeat) = &self.heartbeat else {
            return;
        };
        let silent = heartbeat.last_success().elapsed();
        if silent >= cut_off {
            self.drop_shards("no successful heartbeat for about the group's timeout");
        }
    }

    /// The group has dropped this member and handed its shards to others: they stop here
    /// and their uncommitted batches are dropped (the new owners read them again).
    fn drop_shards(&mut self, why: &str) {
        if self.shards.is_empty() {
            return;
        }
        let lost: Vec<u32> = self.shards.keys().copied().collect();
        warn!(shards = ?lost, "{why}: the group has dropped this member, so its shards stop \
              here and their uncommitted batches are dropped");
        for (id, s) in std::mem::take(&mut self.shards) {
            s.lease.revoke();
            let _ = s.stop.send(true);
            s.task.abort();
            self.pending_checkpoints.remove(&id);
        }
        if let Some(h) = &self.heartbeat {
            h.hold([]);
        }
    }

    async fn fail(&mut self, e: SlsSourceError) {
        if let Some(tx) = &self.batches {
            let _ = tx.send(Err(e.into())).await;
        }
    }

    fn stop_all(&mut self) {
        for s in self.shards.values() {
            let _ = s.stop.send(true);
        }
    }

    fn idle_long_enough(&self) -> bool {
        let Some(wait) = self.source.config.exit_when_idle else {
            return false;
        };
        // In a group, holding nothing is fine once the others are done (see `others_done`).
        (self.source.config.consumer_group.is_some() || !self.shards.is_empty())
            && self.waiting == 0
            && self.shards.values().all(|s| {
                s.in_flight.load(Ordering::Acquire) == 0
                    && s.idle_since
                        .lock()
                        .expect("idle lock")
                        .is_some_and(|t| t.elapsed() >= wait)
            })
    }

    /// In a group, whether every shard this process does not hold has been read to its end
    /// by someone (its checkpoint is at the end cursor): a member that exits while a dead
    /// member's shards wait for the group timeout would leave them unread. Asked at most
    /// once a second.
    async fn others_done(&mut self, last: &mut Option<Instant>) -> bool {
        let cfg = self.source.config.clone();
        let Some(group) = &cfg.consumer_group else {
            return true;
        };
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return false;
        }
        *last = Some(Instant::now());
        let client = &self.source.client;
        let check = async {
            let shards = client.list_shards(&cfg.logstore).await?;
            let checkpoints = client.checkpoints(&cfg.logstore, group).await?;
            for shard in shards.iter().filter(|s| !self.shards.contains_key(&s.id)) {
                let end = client
                    .get_cursor(&cfg.logstore, shard.id, CursorFrom::End)
                    .await?;
                let at = checkpoints
                    .iter()
                    .find(|c| c.shard == shard.id)
                    .map_or("", |c| c.checkpoint.as_str());
                if at != end {
                    debug!(
                        shard = shard.id,
                        "not idle: a shard held by no one here is not read to its end"
                    );
                    return Ok(false);
                }
            }
            Ok::<_, SlsError>(true)
        };
        match check.await {
            Ok(done) => done,
            Err(error) => {
                debug!(%error, "cannot check the group's other shards");
                false
            }
        }
    }

    /// Without a group: reads the shard list and takes every shard whose turn it is.
    async fn poll_shards(&mut self) -> Result<(), SlsSourceError> {
        let cfg = self.source.config.clone();
        let shards = match self.source.client.list_shards(&cfg.logstore).await {
            Ok(shards) => shards,
            Err(e) if e.is_retriable() => {
                debug!(error = %e, "cannot list shards: trying again later");
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let (ready, waiting) = self.in_order(&shards);
        self.waiting = waiting;
        self.take_shards(ready, &shards).await
    }

    /// In a group: the shards the last heartbeat assigned are ours.
    async fn rebalance(&mut self, assigned: BTreeSet<u32>) -> Result<(), SlsSourceError> {
        let new = assigned.iter().any(|id| !self.shards.contains_key(id));
        let shards = if new {
            match self
                .source
                .client
                .list_shards(&self.source.config.logstore)
                .await
            {
                Ok(shards) => shards,
                Err(e) if e.is_retriable() => {
                    debug!(error = %e, "cannot list shards: taking new ones at the next heartbeat");
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            Vec::new()
        };
        self.take_shards(assigned, &shards).await
    }

    /// Stops the shards not in `assigned` (once their batches are committed) and starts the
    /// new ones; a shard that cannot start for a passing reason is tried again next time.
    async fn take_shards(
        &mut self,
        assigned: BTreeSet<u32>,
        shards: &[Shard],
    ) -> Result<(), SlsSourceError> {
        for (&id, s) in &mut self.shards {
            if !assigned.contains(&id) && !s.releasing {
                info!(
                    shard = id,
                    "shard taken away: finishing its batches, then releasing it"
                );
                s.releasing = true;
                let _ = s.stop.send(true);
            }
        }
        for id in assigned {
            if self.shards.contains_key(&id) {
                continue;
            }
            let readonly = shards.iter().any(|s| s.id == id && s.readonly);
            match self.start_shard(id, readonly).await {
                Ok(state) => {
                    self.shards.insert(id, state);
                }
                Err(e) if e.is_transient() => {
                    warn!(shard = id, error = %e, "cannot start reading the shard: trying again later");
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(h) = &self.heartbeat {
            h.hold(self.shards.keys().copied());
        }
        crate::metrics::global()
            .shards_held
            .set(self.shards.len() as i64);
        Ok(())
    }

    /// The shards to read now, and how many wait: a split shard's children only once it is
    /// read to its end (the group does this itself with `in_order`), so that each key's
    /// records reach the sink in the order they were written.
    fn in_order(&self, shards: &[Shard]) -> (BTreeSet<u32>, usize) {
        let unfinished: Vec<&Shard> = shards
            .iter()
            .filter(|s| {
                s.readonly
                    && !self
                        .shards
                        .get(&s.id)
                        .is_some_and(|st| st.task.is_finished())
            })
            .collect();
        let (ready, waiting) = in_order(shards, &unfinished);
        (ready, waiting)
    }

    /// Drops shards whose task ended and whose batches are all committed.
    async fn release_finished(&mut self) {
        let done: Vec<u32> = self
            .shards
            .iter()
            .filter(|(_, s)| {
                s.releasing && s.task.is_finished() && s.in_flight.load(Ordering::Acquire) == 0
            })
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            self.flush_checkpoints().await;
            self.shards.remove(&id);
            crate::metrics::global()
                .shards_held
                .set(self.shards.len() as i64);
            info!(shard = id, "shard released");
        }
    }

    async fn start_shard(
        &mut self,
        shard: u32,
        readonly: bool,
    ) -> Result<ShardState, SlsSourceError> {
        let cfg = self.source.config.clone();
        let stream = stream_name(&cfg, shard);
        let saved = self.source.positions.load(&stream).await?;
        let client = &self.source.client;
        let (cursor, skip, from) = match saved {
            Some(p) => {
                let (cursor, skip) =
                    parse_position(&p).ok_or_else(|| SlsSourceError::BadPosition {
                        stream: stream.clone(),
                        position: p.to_string(),
                    })?;
                (cursor, skip, "the committed position".to_owned())
            }
            None => {
                let checkpoint = match &cfg.consumer_group {
                    Some(_) if cfg.ignore_checkpoints => None,
                    Some(group) => client
                        .checkpoints(&cfg.logstore, group)
                        .await?
                        .into_iter()
                        .find(|c| c.shard == shard && !c.checkpoint.is_empty())
                        .map(|c| c.checkpoint),
                    None => None,
                };
                match checkpoint {
                    Some(c) => (c, 0, "the group's checkpoint".to_owned()),
                    None => {
                        let from = match cfg.start {
                            StartFrom::Begin => CursorFrom::Begin,
                            StartFrom::End => CursorFrom::End,
                            StartFrom::Time(t) => CursorFrom::Time(t),
                        };
                        (
                            client.get_cursor(&cfg.logstore, shard, from).await?,
                            0,
                            format!("start={}", cfg.start),
                        )
                    }
                }
            }
        };
        info!(stream = %stream, cursor = %cursor, skip, from, "reading shard");
        let (stop_tx, stop_rx) = watch::channel(false);
        let in_flight = Arc::new(AtomicU64::new(0));
        let idle_since = Arc::new(std::sync::Mutex::new(None));
        let settled = Arc::new(std::sync::Mutex::new(None));
        let lease = Lease::new();
        let reader = ShardReader {
            client: client.clone(),
            config: cfg.clone(),
            layout: self.source.layout.clone(),
            shard,
            stream: stream.into(),
            cursor,
            skip,
            seq: self.seq.clone(),
            in_flight: in_flight.clone(),
            idle_since: idle_since.clone(),
            settled: settled.clone(),
            batches: self.batches.clone().expect("reading"),
            readonly,
            lease: lease.clone(),
            failures: self.source.failures.clone(),
        };
        let task = tokio::spawn(reader.run(stop_rx));
        Ok(ShardState {
            stop: stop_tx,
            task,
            in_flight,
            idle_since,
            releasing: false,
            settled,
            checkpointed: None,
            lease,
        })
    }

    /// A caught-up shard whose batches are all committed gets its checkpoint at the
    /// reader's cursor, even if no batch brought it there (a shard taken over already read).
    fn checkpoint_settled(&mut self) {
        for (&id, s) in &mut self.shards {
            if s.in_flight.load(Ordering::Acquire) != 0 {
                continue;
            }
            let settled = s.settled.lock().expect("settled lock").clone();
            if let Some(cursor) = settled
                && s.checkpointed.as_ref() != Some(&cursor)
            {
                s.checkpointed = Some(cursor.clone());
                self.pending_checkpoints.insert(id, cursor);
            }
        }
    }

    fn acked(&mut self, ack: Ack) {
        let Some(shard) = shard_of(&ack.stream) else {
            return;
        };
        if let Some(s) = self.shards.get(&shard) {
            s.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some((cursor, _)) = parse_position(&ack.position) {
            if let Some(s) = self.shards.get_mut(&shard) {
                s.checkpointed = Some(cursor.clone());
            }
            self.pending_checkpoints.insert(shard, cursor);
        }
    }

    /// Writes the group checkpoints of committed cursors (after the sink's commit, never
    /// before).
    async fn flush_checkpoints(&mut self) {
        let cfg = self.source.config.clone();
        let Some(group) = &cfg.consumer_group else {
            self.pending_checkpoints.clear();
            return;
        };
        for (shard, cursor) in std::mem::take(&mut self.pending_checkpoints) {
            if let Err(error) = self
                .source
                .client
                .update_checkpoint(&cfg.logstore, group, &cfg.consumer, shard, &cursor)
                .await
            {
                // The sink holds the real position; the checkpoint only reports progress. A
                // shard just handed to another member refuses it: that is expected.
                if error.is_code("ConsumerNotMatch") {
                    debug!(shard, %error, "checkpoint of a shard handed over");
                } else if error.is_retriable() {
                    self.checkpoint_failures
                        .failed("ConsumerGroupUpdateCheckPoint", &error);
                } else {
                    warn!(shard, %error, "cannot write the consumer group checkpoint");
                }
            }
        }
    }
}

/// Lists the shards, makes sure of the consumer group, and learns the columns (given, or
/// from the first logs of each shard).
async fn connect(
    client: &SlsClient,
    config: &SlsSourceConfig,
) -> Result<(Vec<Shard>, Layout), SlsSourceError> {
    let shards = client.list_shards(&config.logstore).await?;
    info!(
        source = %config.describe(),
        shards = shards.len(),
        group = config.consumer_group.as_deref().unwrap_or("-"),
        consumer = %config.consumer,
        "connected to Log Service"
    );
    if let Some(group) = &config.consumer_group {
        let found = client
            .ensure_consumer_group(&config.logstore, group, config.group_timeout, true)
            .await?;
        if let Some(g) = found.filter(|g| g.timeout != config.group_timeout || !g.order) {
            info!(group = %group, timeout = g.timeout, order = g.order,
                      new_timeout = config.group_timeout,
                      "the consumer group had another timeout or order: updated it");
        }
    }
    // The first logs of each shard tell which tags and content keys exist.
    let mut keys: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut tags = BTreeSet::from(["__receive_time__".to_owned()]);
    let mut time_ns = false;
    for shard in &shards {
        let cursor = client
            .get_cursor(&config.logstore, shard.id, CursorFrom::Begin)
            .await?;
        let pull = client
            .pull_logs(&config.logstore, shard.id, &cursor, 10, None)
            .await?;
        for group in &pull.groups {
            tags.extend(group.tags.iter().map(|(k, _)| k.clone()));
            for log in &group.logs {
                time_ns |= log.time_ns.is_some();
                for (k, _) in &log.contents {
                    if seen.insert(k.clone()) {
                        keys.push(k.clone());
                    }
                }
            }
        }
    }
    let content = match &config.columns {
        Some(c) => c.clone(),
        None if keys.is_empty() => {
            return Err(SlsSourceError::NoColumns {
                project: config.project.clone(),
                logstore: config.logstore.clone(),
            });
        }
        None => keys,
    };
    let layout = Layout::new(content, tags, time_ns, |c| config.wants_meta(c));
    Ok((shards, layout))
}

/// The next heartbeat's assignment; never, without a group.
async fn next_beat(heartbeat: &mut Option<Heartbeat>) -> Result<News, SlsError> {
    match heartbeat {
        Some(h) => h.next().await,
        None => std::future::pending().await,
    }
}

/// The shards to read now, and how many wait: a shard waits while an older read-only shard
/// whose hash range overlaps its own is `unfinished`, so that each key's records reach the
/// sink in the order they were written across any number of splits and merges (shard ids
/// grow with each generation).
fn in_order(shards: &[Shard], unfinished: &[&Shard]) -> (BTreeSet<u32>, usize) {
    let mut waiting = 0;
    let ready = shards
        .iter()
        .filter(|s| {
            let held_back = unfinished.iter().any(|p| {
                p.id < s.id
                    && p.inclusive_begin_key < s.exclusive_end_key
                    && s.inclusive_begin_key < p.exclusive_end_key
            });
            waiting += usize::from(held_back);
            !held_back
        })
        .map(|s| s.id)
        .collect();
    (ready, waiting)
}

/// `sls://project/logstore/shard`: the stream a shard's positions are saved under.
fn stream_name(cfg: &SlsSourceConfig, shard: u32) -> String {
    format!("{}/{shard}", cfg.describe())
}

fn shard_of(stream: &str) -> Option<u32> {
    stream.rsplit('/').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::sls::shard::position;

    #[test]
    fn layout_puts_metadata_after_content() {
        let l = Layout::new(
            vec!["book_id".into(), "order_amt".into()],
            BTreeSet::from(["__receive_time__".into(), "__client_ip__".into()]),
            false,
            |_| true,
        );
        let names: Vec<&str> = l.schema.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "book_id",
                "order_amt",
                "__topic__",
                "__source__",
                "__timestamp__",
                "__shard__",
                "__tag__:__client_ip__",
                "__tag__:__receive_time__"
            ]
        );
        assert_eq!(l.tags["__receive_time__"], 7);
        let bare = Layout::new(vec!["a".into()], BTreeSet::new(), true, |c| {
            c == "__shard__"
        });
        assert_eq!(bare.schema.len(), 2);
        assert_eq!(bare.shard, Some(1));
        assert_eq!(bare.topic, None);
    }

    #[test]
    fn positions_round_trip() {
        let p = position("MTIzNDU=", 17);
        assert_eq!(parse_position(&p), Some(("MTIzNDU=".into(), 17)));
        assert_eq!(p["version"], "1");
        // As saved before the version tag.
        let legacy = serde_json::json!({"cursor": "MTIzNDU=", "skip": 17});
        assert_eq!(parse_position(&legacy), Some(("MTIzNDU=".into(), 17)));
        let legacy = serde_json::json!({"cursor": "MTIzNDU="});
        assert_eq!(parse_position(&legacy), Some(("MTIzNDU=".into(), 0)));
        assert_eq!(
            parse_position(&serde_json::json!({"version": "2", "cursor": "x"})),
            None
        );
        assert_eq!(parse_position(&serde_json::json!({"skip": 1})), None);
        assert_eq!(shard_of("sls://p/l/3"), Some(3));
    }

    fn shard(id: u32, readonly: bool, begin: &str, end: &str) -> Shard {
        Shard {
            id,
            readonly,
            inclusive_begin_key: begin.into(),
            exclusive_end_key: end.into(),
            create_time: 0,
        }
    }

    /// Shard 0 split into 1 and 2, then 1 into 3 and 4: a grandchild waits for its
    /// grandparent and its parent, each read-only, in turn.
    #[test]
    fn shards_wait_for_every_older_generation_over_their_keys() {
        let shards = [
            shard(0, true, "00", "ff"),
            shard(1, true, "00", "80"),
            shard(2, false, "80", "ff"),
            shard(3, false, "00", "40"),
            shard(4, false, "40", "80"),
        ];
        let unfinished = |ids: &[u32]| -> Vec<&Shard> {
            shards.iter().filter(|s| ids.contains(&s.id)).collect()
        };
        assert_eq!(
            in_order(&shards, &unfinished(&[0, 1])),
            (BTreeSet::from([0]), 4)
        );
        assert_eq!(
            in_order(&shards, &unfinished(&[1])),
            (BTreeSet::from([0, 1, 2]), 2)
        );
        assert_eq!(
            in_order(&shards, &unfinished(&[])),
            (BTreeSet::from([0, 1, 2, 3, 4]), 0)
        );
        // A merge: 3 and 4 (read-only now) into 5, which waits for both.
        let merged = [
            shard(3, true, "00", "40"),
            shard(4, true, "40", "80"),
            shard(5, false, "00", "80"),
        ];
        let both: Vec<&Shard> = merged[..2].iter().collect();
        assert_eq!(in_order(&merged, &both), (BTreeSet::from([3, 4]), 1));
    }
}
