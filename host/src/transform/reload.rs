//! Hot reload: with `--watch` a watcher thread compiles each new version of the file,
//! checks its output against the destination ([`OutputCheck`]), and the stage swaps
//! versions between two batches.

use std::sync::Arc;

use super::stage::{Candidate, TransformStage};
use super::watch::Watcher;
use super::{Instance, Transform, TransformConfig};
use crate::config::Reload;
use crate::lookup::Lookups;
use crate::record::Schema;

/// Whether a new version's output fits the destination (the table, the write mode's key,
/// partitions): an error says why not.
pub type OutputCheck = Arc<dyn Fn(&Schema) -> Result<(), String> + Send + Sync>;

/// A transform started on the run's input: its first instance and its output columns.
pub struct Started {
    pub transform: Transform,
    pub instance: Instance,
    pub output: Schema,
}

/// The stage that runs `started` (or passes `input` through); with [`Reload::Watch`], the
/// watcher whose new versions it takes up once `check` accepts their output.
pub fn start_stage(
    started: Option<Started>,
    reload: Reload,
    lookups: &Arc<Lookups>,
    input: &Schema,
    check: OutputCheck,
) -> (TransformStage, Option<Watcher>) {
    let Some(Started {
        transform: t,
        instance,
        output,
    }) = started
    else {
        return (TransformStage::passthrough(input.clone()), None);
    };
    let (candidates, watcher, canary_batches) = match reload {
        Reload::Never => (None, None, 0),
        Reload::Watch { canary_batches } => {
            let (tx, rx) = std::sync::mpsc::channel();
            let prepare =
                prepare_versions(t.config().clone(), lookups.clone(), input.clone(), check);
            let path = t.config().path.clone();
            let watcher = Watcher::spawn(path, t.hash().to_owned(), prepare, tx);
            (Some(rx), Some(watcher), canary_batches)
        }
    };
    let stage = TransformStage::wasm(
        t,
        instance,
        input.clone(),
        output,
        candidates,
        canary_batches,
    );
    (stage, watcher)
}

/// Forwards SIGHUP to the watcher: the transform file is checked at once.
pub fn forward_sighup(watcher: &Watcher) -> tokio::task::JoinHandle<()> {
    let poke = watcher.poker();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: checking the transform file");
            if poke.send(()).is_err() {
                return;
            }
        }
    })
}

/// Makes a new version ready to take over: compiled, configured, and its output checked
/// against the destination.
fn prepare_versions(
    config: TransformConfig,
    lookups: Arc<Lookups>,
    input: Schema,
    check: OutputCheck,
) -> impl Fn(&[u8]) -> Result<Candidate, String> + Send + 'static {
    move |bytes| {
        let transform = Transform::from_bytes(config.clone(), bytes, lookups.clone())
            .map_err(|e| crate::errors::chain(&e))?;
        let (instance, output) = transform
            .start(&input)
            .map_err(|e| crate::errors::chain(&e))?;
        check(&output).map_err(|problems| {
            format!(
                "its output ({}) does not fit the destination: {problems}",
                crate::transform::describe(&output)
            )
        })?;
        Ok(Candidate {
            transform,
            instance,
            output,
        })
    }
}
