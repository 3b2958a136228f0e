//! Starting a Log Service stream: the logstore opened, and each shard read by a task that
//! resumes from the position the sink committed for it (shards are taken as the consumer
//! group assigns them, while the sink writes).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use tokio::sync::mpsc;

use super::config::SlsSourceConfig;
use super::coordinator::SlsSource;
use crate::position::Positions;
use crate::position::Start;
use crate::source::{CHANNEL_DEPTH, RunningSource, SourceError, SourceTask, Stopper};

pub async fn start(
    config: &SlsSourceConfig,
    positions: Positions,
    start: Start,
) -> Result<RunningSource, SourceError> {
    let from_scratch = start == Start::FromScratch;
    let config = SlsSourceConfig {
        ignore_checkpoints: from_scratch,
        ..config.clone()
    };
    let source = SlsSource::open(config, positions.clone()).await?;
    if from_scratch {
        for stream in source.streams() {
            positions.clear(&stream).await?;
        }
    }
    let schema = source.schema();
    let (batch_tx, batches) = mpsc::channel(CHANNEL_DEPTH);
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = source.spawn::<SourceError>(batch_tx, ack_rx, stop_rx);
    Ok(RunningSource {
        schema,
        batches,
        acks: Some(ack_tx),
        stop: Stopper::Watch(stop_tx),
        task: SourceTask::Task(task),
        total_bytes: None,
        bytes_done: Arc::new(AtomicU64::new(0)),
        resumed: false,
        streaming: true,
    })
}
