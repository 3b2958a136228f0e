//! The consumer group heartbeat, on a task of its own at the group's interval, so that
//! pulls, the sink and checkpoints never delay it: a member that still reads its shards is
//! never dropped from the group for being busy.
//!
//! Each successful heartbeat tells the coordinator which shards the group assigns to this
//! member now. A failed one is retried at the next interval (the Java consumer's
//! `LogHubHeartBeat` swallows failures too); only auth and not-found errors end the stream.
//! The fence is kept here too: the group drops a member `timeout` after the last heartbeat
//! it *received*, which may be any time after it was *sent*; so once `cut_off` has passed
//! since the last successful heartbeat was sent, this task revokes the leases of the shards
//! it holds (their batches are then never committed) before the group can hand them over.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sls_client::{SlsClient, SlsError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::SlsSourceConfig;
use super::transient::Transient;
use crate::record::Lease;

/// What a heartbeat tells the coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The shards the group assigns to this member now.
    Assigned(BTreeSet<u32>),
    /// The group no longer knows this member (it timed out): it holds nothing, and joins
    /// again with the next, empty, heartbeat.
    Dropped,
    /// No heartbeat succeeded for the cut-off: the leases are revoked already, the shards
    /// must stop; the next successful heartbeat rejoins with none.
    Fenced,
}

/// The shards this member holds and their leases.
#[derive(Default)]
struct Held {
    shards: Vec<u32>,
    leases: Vec<Lease>,
}

impl Held {
    /// Revokes every lease and forgets the shards; `true` if there were any.
    fn revoke(&mut self) -> bool {
        for lease in &self.leases {
            lease.revoke();
        }
        self.leases.clear();
        !std::mem::take(&mut self.shards).is_empty()
    }
}

/// The heartbeat task, and what the coordinator learns from it.
pub struct Heartbeat {
    held: Arc<Mutex<Held>>,
    beats: watch::Receiver<Option<News>>,
    fatal: mpsc::Receiver<SlsError>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// Starts heartbeating for `group` every `interval`, fencing this member once
    /// `cut_off` passes without a success; transient failures are counted in `failures`.
    pub fn spawn(
        client: SlsClient,
        config: Arc<SlsSourceConfig>,
        group: String,
        timing: (Duration, Duration),
        failures: Arc<AtomicU64>,
    ) -> Heartbeat {
        let held = Arc::new(Mutex::new(Held::default()));
        let (beat_tx, beats) = watch::channel(None);
        let (fatal_tx, fatal) = mpsc::channel(1);
        let (stop, stopped) = watch::channel(false);
        let subject: Arc<str> = format!("{} group `{group}`", config.describe()).into();
        let beater = Beater {
            client,
            config,
            group,
            held: held.clone(),
            beat_tx,
            fatal_tx,
            transient: Transient::new(subject, failures),
            interval: timing.0,
            cut_off: timing.1,
        };
        let task = tokio::spawn(beater.run(stopped));
        Heartbeat {
            held,
            beats,
            fatal,
            stop,
            task,
        }
    }

    /// The shards this member holds, sent with the next heartbeats, and their leases,
    /// revoked here if the member has to fence itself.
    pub fn hold(&self, shards: impl IntoIterator<Item = (u32, Lease)>) {
        let mut held = self.held.lock().expect("held lock");
        (held.shards, held.leases) = shards.into_iter().unzip();
    }

    /// What the next heartbeat says, or the error that ends the stream.
    pub async fn next(&mut self) -> Result<News, SlsError> {
        if self.beats.changed().await.is_ok() {
            let news = self.beats.borrow_and_update().clone();
            return Ok(news.unwrap_or(News::Assigned(BTreeSet::new())));
        }
        // The task ended: with its error, or on stop (then nothing more comes).
        match self.fatal.recv().await {
            Some(e) => Err(e),
            None => std::future::pending().await,
        }
    }

    /// Stops the task (the caller leaves the group itself).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The heartbeat task's state.
struct Beater {
    client: SlsClient,
    config: Arc<SlsSourceConfig>,
    group: String,
    held: Arc<Mutex<Held>>,
    beat_tx: watch::Sender<Option<News>>,
    fatal_tx: mpsc::Sender<SlsError>,
    transient: Transient,
    interval: Duration,
    cut_off: Duration,
}

impl Beater {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        // A call still unanswered after half the group's timeout is given up: the next
        // interval tries again in time.
        let patience = Duration::from_secs(u64::from(self.config.group_timeout)) / 2;
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Sent time of the last heartbeat that succeeded: the group heard it no earlier.
        let mut last_ok = Instant::now();
        loop {
            let fence_at = tokio::time::Instant::from_std(last_ok + self.cut_off);
            tokio::select! {
                _ = ticker.tick() => {}
                _ = tokio::time::sleep_until(fence_at) => {
                    self.fence();
                    // Nothing to fence again until a heartbeat succeeds.
                    last_ok = Instant::now();
                    continue;
                }
                _ = stopped.changed() => return,
            }
            let sent = Instant::now();
            let shards = self.held.lock().expect("held lock").shards.clone();
            let call = (self.client).heartbeat(
                &self.config.logstore,
                &self.group,
                &self.config.consumer,
                &shards,
            );
            let deadline = (sent + patience).min(last_ok + self.cut_off).max(sent);
            match tokio::time::timeout_at(deadline.into(), call).await {
                Ok(Ok(assigned)) => {
                    self.transient.succeeded();
                    last_ok = sent;
                    if !self.send(News::Assigned(assigned.into_iter().collect())) {
                        return;
                    }
                }
                // Heartbeat docs: a member the group dropped may rejoin only with an empty
                // heartbeat.
                Ok(Err(e)) if e.is_code("NotExistConsumerWithBody") => {
                    tracing::warn!(group = %self.group, "the group dropped this member: rejoining");
                    self.held.lock().expect("held lock").revoke();
                    if !self.send(News::Dropped) {
                        return;
                    }
                }
                Ok(Err(e)) if e.is_retriable() => {
                    self.transient.failed("ConsumerGroupHeartBeat", &e);
                }
                Ok(Err(e)) => {
                    let _ = self.fatal_tx.send(e).await;
                    return;
                }
                Err(_) => {
                    let late = format!("no answer within {} ms", (deadline - sent).as_millis());
                    self.transient
                        .failed_as("ConsumerGroupHeartBeat", "timeout", &late);
                }
            }
        }
    }

    /// Revokes the leases of every shard held, and tells the coordinator.
    fn fence(&mut self) {
        if self.held.lock().expect("held lock").revoke() {
            tracing::warn!(group = %self.group, "no heartbeat succeeded for about the group's \
                           timeout: the shards' uncommitted batches are revoked before the \
                           group hands the shards to another member");
            self.send(News::Fenced);
        }
    }

    /// Passes news on; `false` when the coordinator is gone.
    fn send(&self, news: News) -> bool {
        self.beat_tx.send(Some(news)).is_ok()
    }
}
