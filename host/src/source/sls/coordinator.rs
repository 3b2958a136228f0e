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
//! A shard's position is `{"version": "1", "cursor": C, "skip": K, "since": T}` (see
//! [`super::shard::ShardPosition`]): the next log is the K-th after cursor
//! C (batches may end inside one PullLogs response, whose logs share a cursor). It is
//! committed with the rows by the sink, and read back from the sink when a shard is taken
//! (by this process after a restart, or by another member of the group); the group's
//! checkpoint is written after the commit, only read with `start=checkpoint` (see
//! [`super::resume`]).
//!
//! The shard list is read once for the whole logstore every few seconds: it tells each
//! reader whether its shard became read-only, and (without a group) which shards to read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sls_client::{CursorFrom, Shard, SlsClient, SlsError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::checkpoints::Checkpoints;
use super::config::{ClientForSource, SlsSourceConfig};
use super::error::SlsSourceError;
use super::heartbeat::{Heartbeat, News};
use super::layout::Layout;
use super::resume::{Resume, stream_name};
use super::shard::{ShardReader, parse_position};
use super::transient::Transient;
use crate::position::Positions;
use crate::record::{Batch, Lease, Schema};
use crate::source::Ack;

/// Heartbeats per group timeout: a member misses a few before it is dropped.
const HEARTBEATS_PER_TIMEOUT: u32 = 4;
/// How often the shard list is read (one ListShards call for every shard of the logstore):
/// how soon a split is seen.
const LIST_EVERY: Duration = Duration::from_secs(5);

/// The source, opened: shards listed, columns known.
pub struct SlsSource {
    client: SlsClient,
    /// The shards listed when the source was opened.
    shard_ids: Vec<u32>,
    config: Arc<SlsSourceConfig>,
    layout: Arc<Layout>,
    resume: Resume,
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
        let started = Instant::now();
        let (shards, layout) = loop {
            match connect(&client, &config).await {
                Ok(found) => break found,
                // An endpoint that cannot be reached at all is most likely mistyped: say so
                // rather than wait for ever (an answer, even an error, is waited out).
                Err(SlsSourceError::Client(e))
                    if matches!(e, SlsError::Transport { .. })
                        && started.elapsed() >= config.open_timeout =>
                {
                    return Err(SlsSourceError::Unreachable {
                        source_name: config.describe(),
                        waited_secs: started.elapsed().as_secs(),
                        source: Box::new(e),
                    });
                }
                Err(SlsSourceError::Client(e)) if e.is_retriable() => {
                    let pause = transient.failed("opening the stream", &e);
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(e),
            }
        };
        let config = Arc::new(config);
        let resume = Resume::open(&client, config.clone(), positions, &shards).await?;
        Ok(SlsSource {
            client,
            shard_ids: shards.iter().map(|s| s.id).collect(),
            config,
            layout: Arc::new(layout),
            resume,
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
        let checkpoints = self.config.consumer_group.as_ref().map(|group| {
            Checkpoints::spawn(
                self.client.clone(),
                self.config.clone(),
                group.clone(),
                self.failures.clone(),
            )
        });
        tokio::spawn(async move {
            let mut c = Coordinator {
                source: self,
                batches: Some(batches),
                shards: BTreeMap::new(),
                removed: BTreeSet::new(),
                seq: Arc::new(AtomicU64::new(0)),
                waiting: 0,
                heartbeat: None,
                checkpoints,
                assigned: false,
                empty_since: None,
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
    /// Whether the shard list says it is read-only; shared with its reader.
    readonly: Arc<AtomicBool>,
    /// Its reader found that the service removed it.
    removed: Arc<AtomicBool>,
}

struct Coordinator<E> {
    source: SlsSource,
    /// Dropped when reading ends, so the pipeline sees the end of the stream.
    batches: Option<mpsc::Sender<Result<Batch, E>>>,
    shards: BTreeMap<u32, ShardState>,
    /// Shards the service removed (their data expired): never started again.
    removed: BTreeSet<u32>,
    seq: Arc<AtomicU64>,
    /// Shards held back until the shard they were split from is finished.
    waiting: usize,
    /// The consumer group's heartbeat task, when reading in a group.
    heartbeat: Option<Heartbeat>,
    /// The group checkpoints' task, when reading in a group.
    checkpoints: Option<Checkpoints>,
    /// In a group: a heartbeat has said which shards are ours (before it, holding nothing
    /// is no sign of being done).
    assigned: bool,
    /// Since when this member holds no shard.
    empty_since: Option<Instant>,
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
                (interval, cut_off),
                self.source.failures.clone(),
            ));
        }
        let mut list_ticker = tokio::time::interval(LIST_EVERY);
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
                    // The heartbeat task may have revoked leases (news of it can be overtaken
                    // by the next assignment): such shards stop and are taken again.
                    self.drop_revoked();
                    let result = match news {
                        Ok(News::Assigned(assigned)) => {
                            self.assigned = true;
                            self.rebalance(assigned).await
                        }
                        Ok(News::Dropped) => {
                            self.drop_shards("the group no longer knows this member");
                            Ok(())
                        }
                        Ok(News::Fenced) => Ok(()),
                        Err(e) => Err(e.into()),
                    };
                    if let Err(e) = result {
                        self.fail(e).await;
                        stopping = true;
                        self.stop_all();
                    }
                }
                _ = list_ticker.tick(), if !stopping => {
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
                    self.checkpoint_settled();
                    self.release_finished().await;
                    if stopping && self.shards.values().all(|s| s.task.is_finished()) {
                        // Nothing more will be sent: let the pipeline drain.
                        self.batches = None;
                    }
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
        if let Some(checkpoints) = self.checkpoints.take() {
            checkpoints.finish().await;
        }
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

    /// Stops the shards whose lease the heartbeat task revoked (it fenced this member):
    /// their batches can no longer be committed.
    fn drop_revoked(&mut self) {
        if self.shards.values().any(|s| !s.lease.is_held()) {
            self.drop_shards("no heartbeat succeeded for about the group's timeout");
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
        for s in std::mem::take(&mut self.shards).into_values() {
            s.lease.revoke();
            let _ = s.stop.send(true);
            s.task.abort();
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

    fn idle_long_enough(&mut self) -> bool {
        let Some(wait) = self.source.config.exit_when_idle else {
            return false;
        };
        // In a group, holding nothing for as long is fine once the others are done (see
        // `others_done`): shards may still be on their way from another member.
        if self.shards.is_empty() {
            let since = self.empty_since.get_or_insert_with(Instant::now);
            return self.assigned && self.waiting == 0 && since.elapsed() >= wait;
        }
        self.empty_since = None;
        self.waiting == 0
            && self.shards.values().all(|s| {
                s.in_flight.load(Ordering::Acquire) == 0
                    && s.idle_since
                        .lock()
                        .expect("idle lock")
                        .is_some_and(|t| t.elapsed() >= wait)
            })
    }

    /// In a group, whether every shard this process does not hold has been read to its end
    /// for this table (where this job would start it is its end cursor: its committed
    /// position, or `start=` when none): a member that exits while a dead member's shards
    /// wait for the group timeout would leave them unread. The group's checkpoints are not
    /// asked: they may be another table's progress. Asked at most once a second.
    async fn others_done(&mut self, last: &mut Option<Instant>) -> bool {
        let cfg = self.source.config.clone();
        if cfg.consumer_group.is_none() {
            return true;
        }
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return false;
        }
        *last = Some(Instant::now());
        let client = &self.source.client;
        let check = async {
            let shards = client.list_shards(&cfg.logstore).await?;
            for shard in shards.iter().filter(|s| !self.shards.contains_key(&s.id)) {
                let end = client
                    .get_cursor(&cfg.logstore, shard.id, CursorFrom::End)
                    .await?;
                let at = self.source.resume.start_at(shard.id).await?;
                if at.cursor != end || at.skip != 0 {
                    debug!(
                        shard = shard.id,
                        "not idle: a shard held by no one here is not read to its end"
                    );
                    return Ok(false);
                }
            }
            Ok::<_, SlsSourceError>(true)
        };
        match check.await {
            Ok(done) => done,
            Err(error) => {
                debug!(%error, "cannot check the group's other shards");
                false
            }
        }
    }

    /// Reads the shard list: tells each reader whether its shard became read-only, and
    /// without a group takes every shard whose turn it is.
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
        self.mark_readonly(&shards);
        if self.heartbeat.is_some() {
            return Ok(());
        }
        let (ready, waiting) = self.in_order(&shards);
        self.waiting = waiting;
        self.take_shards(ready, &shards).await
    }

    /// Tells the readers of shards that became read-only (split or merged) to finish at
    /// their end.
    fn mark_readonly(&self, shards: &[Shard]) {
        for shard in shards.iter().filter(|s| s.readonly) {
            if let Some(s) = self.shards.get(&shard.id)
                && !s.readonly.swap(true, Ordering::AcqRel)
            {
                info!(
                    shard = shard.id,
                    "the shard became read-only: reading it to its end"
                );
            }
        }
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
            if self.shards.contains_key(&id) || self.removed.contains(&id) {
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
                // Removed between the listing and now (its data expired).
                Err(SlsSourceError::Client(e)) if e.is_code("ShardNotExist") => {
                    info!(
                        shard = id,
                        "the service no longer has the shard: skipping it"
                    );
                    self.removed.insert(id);
                }
                Err(e) => return Err(e),
            }
        }
        self.hold();
        Ok(())
    }

    /// Tells the heartbeat and the metrics which shards this member holds.
    fn hold(&self) {
        if let Some(h) = &self.heartbeat {
            h.hold(self.shards.iter().map(|(&id, s)| (id, s.lease.clone())));
        }
        crate::metrics::global()
            .shards_held
            .set(self.shards.len() as i64);
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

    /// Drops shards whose task ended and whose batches are all committed: those taken away,
    /// and those the service removed.
    async fn release_finished(&mut self) {
        let done: Vec<u32> = self
            .shards
            .iter()
            .filter(|(_, s)| {
                (s.releasing || s.removed.load(Ordering::Acquire))
                    && s.task.is_finished()
                    && s.in_flight.load(Ordering::Acquire) == 0
            })
            .map(|(&id, _)| id)
            .collect();
        if done.is_empty() {
            return;
        }
        if let Some(checkpoints) = &self.checkpoints {
            checkpoints.flush().await;
        }
        for id in done {
            if let Some(s) = self.shards.remove(&id)
                && s.removed.load(Ordering::Acquire)
            {
                self.removed.insert(id);
            }
            info!(shard = id, "shard released");
        }
        self.hold();
    }

    async fn start_shard(
        &mut self,
        shard: u32,
        readonly: bool,
    ) -> Result<ShardState, SlsSourceError> {
        let cfg = self.source.config.clone();
        let stream = stream_name(&cfg, shard);
        let at = self.source.resume.start_at(shard).await?;
        info!(stream = %stream, cursor = %at.cursor, skip = at.skip, from = ?at.from, "reading shard");
        let client = &self.source.client;
        let (stop_tx, stop_rx) = watch::channel(false);
        let in_flight = Arc::new(AtomicU64::new(0));
        let idle_since = Arc::new(std::sync::Mutex::new(None));
        let settled = Arc::new(std::sync::Mutex::new(None));
        let lease = Lease::new();
        let readonly = Arc::new(AtomicBool::new(readonly));
        let removed = Arc::new(AtomicBool::new(false));
        let reader = ShardReader {
            client: client.clone(),
            config: cfg.clone(),
            layout: self.source.layout.clone(),
            shard,
            stream: stream.into(),
            cursor: at.cursor,
            skip: at.skip,
            since: self.source.resume.since,
            saved: at.saved,
            first: at.first,
            seq: self.seq.clone(),
            in_flight: in_flight.clone(),
            idle_since: idle_since.clone(),
            settled: settled.clone(),
            batches: self.batches.clone().expect("reading"),
            readonly: readonly.clone(),
            removed: removed.clone(),
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
            readonly,
            removed,
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
                if let Some(checkpoints) = &self.checkpoints {
                    if s.readonly.load(Ordering::Acquire) {
                        checkpoints.finished(id, cursor);
                    } else {
                        checkpoints.committed(id, cursor);
                    }
                }
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
            let mut readonly = false;
            if let Some(s) = self.shards.get_mut(&shard) {
                s.checkpointed = Some(cursor.clone());
                readonly = s.readonly.load(Ordering::Acquire);
            }
            match &self.checkpoints {
                // Draining a read-only shard: its children wait for its checkpoint.
                Some(checkpoints) if readonly => checkpoints.finished(shard, cursor),
                Some(checkpoints) => checkpoints.committed(shard, cursor),
                None => {}
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
    let layout = Layout::learn(client, config, &shards).await?;
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
        let bare = Layout::new(vec!["a".into()], BTreeSet::new(), true, false, |c| {
            c == "__shard__"
        });
        assert_eq!(bare.schema.len(), 2);
        assert_eq!(bare.shard, Some(1));
        assert_eq!(bare.topic, None);
    }

    #[test]
    fn positions_round_trip() {
        let p = position("MTIzNDU=", 17, None);
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
