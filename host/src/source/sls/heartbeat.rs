//! The consumer group heartbeat, on a task of its own at the group's interval, so that
//! pulls, the sink and checkpoints never delay it: a member that still reads its shards is
//! never dropped from the group for being busy.
//!
//! Each successful heartbeat tells the coordinator which shards the group assigns to this
//! member now. A failed one is retried at the next interval (the Java consumer's
//! `LogHubHeartBeat` swallows failures too); only auth and not-found errors end the stream.
//! The coordinator watches [`Heartbeat::last_success`]: after the group's timeout without
//! one, the group has dropped this member, so it stops writing the shards it held.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sls_client::{SlsClient, SlsError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::config::SlsSourceConfig;
use super::transient::Transient;

/// What the last heartbeat said.
#[derive(Debug, Clone)]
pub struct Beat {
    pub news: News,
    /// When the group last heard from this member.
    pub at: Instant,
}

/// What a heartbeat tells the coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The shards the group assigns to this member now.
    Assigned(BTreeSet<u32>),
    /// The group no longer knows this member (it timed out): it holds nothing, and joins
    /// again with the next, empty, heartbeat.
    Dropped,
}

/// The heartbeat task, and what the coordinator learns from it.
pub struct Heartbeat {
    held: Arc<Mutex<Vec<u32>>>,
    beats: watch::Receiver<Option<Beat>>,
    fatal: mpsc::Receiver<SlsError>,
    started: Instant,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Heartbeat {
    /// Starts heartbeating for `group` every `interval`; transient failures are counted in
    /// `failures`.
    pub fn spawn(
        client: SlsClient,
        config: Arc<SlsSourceConfig>,
        group: String,
        interval: Duration,
        failures: Arc<AtomicU64>,
    ) -> Heartbeat {
        let held = Arc::new(Mutex::new(Vec::new()));
        let (beat_tx, beats) = watch::channel(None);
        let (fatal_tx, fatal) = mpsc::channel(1);
        let (stop, mut stopped) = watch::channel(false);
        // A call still unanswered after half the group's timeout is given up: the next
        // interval tries again in time.
        let patience = Duration::from_secs(u64::from(config.group_timeout)) / 2;
        let subject: Arc<str> = format!("{} group `{group}`", config.describe()).into();
        let task = tokio::spawn({
            let held = held.clone();
            async move {
                let mut transient = Transient::new(subject, failures);
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stopped.changed() => return,
                    }
                    let shards = held.lock().expect("held lock").clone();
                    let call =
                        client.heartbeat(&config.logstore, &group, &config.consumer, &shards);
                    match tokio::time::timeout(patience, call).await {
                        Ok(Ok(assigned)) => {
                            transient.succeeded();
                            let beat = Beat {
                                news: News::Assigned(assigned.into_iter().collect()),
                                at: Instant::now(),
                            };
                            if beat_tx.send(Some(beat)).is_err() {
                                return;
                            }
                        }
                        // Heartbeat docs: a member the group dropped may rejoin only with an
                        // empty heartbeat.
                        Ok(Err(e)) if e.is_code("NotExistConsumerWithBody") => {
                            tracing::warn!(group = %group, "the group dropped this member: rejoining");
                            held.lock().expect("held lock").clear();
                            let at = beat_tx.borrow().as_ref().map(|b| b.at);
                            let beat = Beat {
                                news: News::Dropped,
                                at: at.unwrap_or_else(Instant::now),
                            };
                            if beat_tx.send(Some(beat)).is_err() {
                                return;
                            }
                        }
                        Ok(Err(e)) if e.is_retriable() => {
                            transient.failed("ConsumerGroupHeartBeat", &e);
                        }
                        Ok(Err(e)) => {
                            let _ = fatal_tx.send(e).await;
                            return;
                        }
                        Err(_) => {
                            let late = format!("no answer within {} ms", patience.as_millis());
                            transient.failed_as("ConsumerGroupHeartBeat", "timeout", &late);
                        }
                    }
                }
            }
        });
        Heartbeat {
            held,
            beats,
            fatal,
            started: Instant::now(),
            stop,
            task,
        }
    }

    /// The shards this member holds, sent with the next heartbeats.
    pub fn hold(&self, shards: impl IntoIterator<Item = u32>) {
        *self.held.lock().expect("held lock") = shards.into_iter().collect();
    }

    /// When the group last heard from this member (the start, before the first answer).
    pub fn last_success(&self) -> Instant {
        self.beats.borrow().as_ref().map_or(self.started, |b| b.at)
    }

    /// What the next heartbeat says, or the error that ends the stream.
    pub async fn next(&mut self) -> Result<News, SlsError> {
        if self.beats.changed().await.is_ok() {
            let beat = self.beats.borrow_and_update();
            let news = beat.as_ref().map(|b| b.news.clone());
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
