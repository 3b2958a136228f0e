//! The consumer group's checkpoints, written on a task of their own: at most one call per
//! shard every few seconds (the official consumers save every 60 s), each with a short
//! timeout, so that a slow service never holds up the coordinator, and with it the fence.
//!
//! A checkpoint only reports progress (the console's lag, a fallback for `start=checkpoint`):
//! the real position is committed with the rows, so a checkpoint that is late or lost costs
//! nothing but a stale report, and the next one supersedes it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sls_client::{RetryPolicy, SlsClient};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::config::SlsSourceConfig;
use super::transient::Transient;

/// Shortest time between two checkpoints of one shard.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
/// One UpdateCheckPoint call, retries included, is given up after this long.
const CALL_PATIENCE: Duration = Duration::from_secs(10);

enum Message {
    /// The shard's committed cursor; `true`: write it now.
    Cursor(u32, String, bool),
    /// Write everything now (a shard released, the stream ending); answered when done.
    Flush(oneshot::Sender<()>),
}

/// The checkpoint task of a stream read in a consumer group.
pub(super) struct Checkpoints {
    tx: mpsc::UnboundedSender<Message>,
    task: JoinHandle<()>,
}

impl Checkpoints {
    pub(super) fn spawn(
        client: SlsClient,
        config: Arc<SlsSourceConfig>,
        group: String,
        failures: Arc<AtomicU64>,
    ) -> Checkpoints {
        // Few and quick tries: the next checkpoint comes soon anyway.
        let client = client.with_retry(RetryPolicy {
            tries: 2,
            first: Duration::from_millis(200),
            max: Duration::from_secs(1),
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut writer = Writer {
                client,
                transient: Transient::new(config.describe().into(), failures),
                config,
                group,
                due: BTreeMap::new(),
            };
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    message = rx.recv() => match message {
                        Some(Message::Cursor(shard, cursor, now)) => {
                            writer.due.insert(shard, cursor);
                            if now {
                                writer.write_due().await;
                            }
                        }
                        Some(Message::Flush(done)) => {
                            writer.write_due().await;
                            let _ = done.send(());
                        }
                        None => {
                            writer.write_due().await;
                            return;
                        }
                    },
                    _ = tick.tick() => writer.write_due().await,
                }
            }
        });
        Checkpoints { tx, task }
    }

    /// `cursor` of `shard` is committed: its checkpoint may say so.
    pub(super) fn committed(&self, shard: u32, cursor: String) {
        let _ = self.tx.send(Message::Cursor(shard, cursor, false));
    }

    /// A read-only shard is read to its end: its checkpoint is written at once, since the
    /// group hands out its children (in order) only once the checkpoint says so, as the
    /// official consumers save one when a shard ends.
    pub(super) fn finished(&self, shard: u32, cursor: String) {
        let _ = self.tx.send(Message::Cursor(shard, cursor, true));
    }

    /// Writes what is due now, and waits for it.
    pub(super) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Writes what is due, then ends the task.
    pub(super) async fn finish(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}

struct Writer {
    client: SlsClient,
    config: Arc<SlsSourceConfig>,
    group: String,
    /// The newest committed cursor of each shard not yet written.
    due: BTreeMap<u32, String>,
    /// Checkpoints that could not be written for a passing reason.
    transient: Transient,
}

impl Writer {
    async fn write_due(&mut self) {
        let cfg = &self.config;
        for (shard, cursor) in std::mem::take(&mut self.due) {
            let call = self.client.update_checkpoint(
                &cfg.logstore,
                &self.group,
                &cfg.consumer,
                shard,
                &cursor,
            );
            let error = match tokio::time::timeout(CALL_PATIENCE, call).await {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error,
                Err(_) => {
                    let late = format!("no answer within {} s", CALL_PATIENCE.as_secs());
                    self.transient
                        .failed_as("ConsumerGroupUpdateCheckPoint", "timeout", &late);
                    continue;
                }
            };
            // A shard just handed to another member, or removed, refuses it: expected.
            if error.is_code("ConsumerNotMatch") || error.is_code("ShardNotExist") {
                debug!(shard, %error, "checkpoint of a shard handed over or removed");
            } else if error.is_retriable() {
                self.transient
                    .failed("ConsumerGroupUpdateCheckPoint", &error);
            } else {
                warn!(shard, %error, "cannot write the consumer group checkpoint");
            }
        }
    }
}
