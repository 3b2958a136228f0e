//! The transform stage made ready for a run, and hot reload: with `--watch` a watcher
//! thread compiles each new version of the file, the sink task checks its output against
//! the destination, and the stage swaps versions between two batches.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::PipelineError;
use crate::config::Reload;
use crate::lookup::Lookups;
use crate::record::Schema;
use crate::sink::Sink;
use crate::transform::stage::{Candidate, TransformStage};
use crate::transform::watch::Watcher;
use crate::transform::{Transform, TransformConfig};

/// A new version's output, and where the sink task sends its verdict.
pub type CheckRequest = (Schema, tokio::sync::oneshot::Sender<Result<(), String>>);

/// The stage that runs `transform` (or passes rows through), bound to the sink; with
/// [`Reload::Watch`], the watcher whose new versions it takes up, checked by the sink task
/// through `checks`.
pub fn start_stage(
    transform: Option<Transform>,
    reload: Reload,
    lookups: &Arc<Lookups>,
    input: &Schema,
    sink: &mut Sink,
    checks: mpsc::Sender<CheckRequest>,
) -> Result<(TransformStage, Option<Watcher>), PipelineError> {
    let Some(t) = transform else {
        sink.bind(input)?;
        return Ok((TransformStage::passthrough(input.clone()), None));
    };
    let (instance, output) = t.start(input)?;
    sink.bind(&output)?;
    let (candidates, watcher, canary_batches) = match reload {
        Reload::Never => (None, None, 0),
        Reload::Watch { canary_batches } => {
            let (tx, rx) = std::sync::mpsc::channel();
            let prepare = prepare_versions(
                t.config().clone(),
                lookups.clone(),
                input.clone(),
                output_check(checks),
            );
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
    Ok((stage, watcher))
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

/// Whether an output schema fits the destination: asked of the sink task, answered as
/// [`Sink::check`] says (the table, the write mode's key, partitions).
type OutputCheck = Arc<dyn Fn(&Schema) -> Result<(), String> + Send + Sync>;

/// Called on the watcher thread: blocks until the sink task has answered.
fn output_check(requests: mpsc::Sender<CheckRequest>) -> OutputCheck {
    Arc::new(move |output: &Schema| {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let ending = |_| "the run is ending".to_owned();
        requests
            .blocking_send((output.clone(), reply))
            .map_err(ending)?;
        answer
            .blocking_recv()
            .map_err(|_| "the run is ending".to_owned())?
    })
}
