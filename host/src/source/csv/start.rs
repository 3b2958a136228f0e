//! Starting a CSV load: the inputs opened at their saved position and read on a thread of
//! their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::{CsvSource, CsvSourceConfig};
use crate::config::Start;
use crate::position::Positions;
use crate::source::{CHANNEL_DEPTH, RunningSource, SourceError, SourceTask, Stopper};

/// Opens the CSV inputs at the position saved for them (the job is these inputs into this
/// destination) and reads them on a thread.
pub async fn start(
    config: &CsvSourceConfig,
    positions: Positions,
    start: Start,
) -> Result<RunningSource, SourceError> {
    let stream = CsvSource::job_key_of(config)?;
    if start == Start::FromScratch {
        positions.clear(&stream).await?;
    }
    let resume = positions.load(&stream).await?;
    if let Some(p) = &resume {
        tracing::info!(job = %positions.key(&stream), position = %p, "resuming from the saved position");
    }
    let resumed = resume.is_some();
    let source_config = config.clone();
    let mut source =
        tokio::task::spawn_blocking(move || CsvSource::open(&source_config, resume.as_ref()))
            .await
            .map_err(|_| SourceError::Lost)??;
    let schema = source.schema();
    let total_bytes = source.total_bytes();
    let bytes_done = Arc::new(AtomicU64::new(source.bytes_done()));
    let stop = Arc::new(AtomicBool::new(false));
    let (batch_tx, batches) = mpsc::channel(CHANNEL_DEPTH);
    let thread = {
        let (stop, bytes_done) = (stop.clone(), bytes_done.clone());
        std::thread::Builder::new()
            .name("holo-source".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let next = source.next_batch();
                    bytes_done.store(source.bytes_done(), Ordering::Relaxed);
                    let item = match next {
                        Ok(Some(b)) => Ok(b),
                        Ok(None) => break,
                        Err(e) => Err(SourceError::from(e)),
                    };
                    let failed = item.is_err();
                    if batch_tx.blocking_send(item).is_err() || failed {
                        break;
                    }
                }
            })
            .expect("spawn source thread")
    };
    Ok(RunningSource {
        schema,
        batches,
        acks: None,
        stop: Stopper::Flag(stop),
        task: SourceTask::Thread(thread),
        total_bytes,
        bytes_done,
        resumed,
        streaming: false,
    })
}
