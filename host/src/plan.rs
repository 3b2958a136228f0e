//! `holo-host plan`: what `run` with the same arguments would do, touching nothing. It
//! reads the input's columns, asks the transform for its output columns, reads the
//! destination from the catalog, and prints the column mapping, the write mode and the
//! SQL a run would send (DDL included when it would create the table).

use std::fmt::Write as _;
use std::sync::Arc;

use crate::config::{PipelineConfig, SourceConfig};
use crate::lookup::LookupError;
use crate::record::Schema;
use crate::sink::{Sink, SinkError};
use crate::source::csv::{CsvError, CsvSource};
use crate::transform::{Transform, TransformError, describe};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Source(#[from] CsvError),
    #[error(
        "plan reads the input columns from CSV sources only: a Log Service source learns them \
         when it connects, so use `run`"
    )]
    SlsSource,
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("the {0} stage stopped unexpectedly")]
    StageLost(&'static str),
}

/// The plan of a run of `config`, as text for people.
pub async fn plan(config: PipelineConfig) -> Result<String, PlanError> {
    let SourceConfig::Csv(csv) = &config.source else {
        return Err(PlanError::SlsSource);
    };
    let lookups = Arc::new(crate::pipeline::load_lookups(&config).await?);
    let (input, transform) = {
        let csv = csv.clone();
        let transform = config.transform.clone();
        tokio::task::spawn_blocking(move || -> Result<_, PlanError> {
            let input = CsvSource::open(&csv, &Default::default())?.schema();
            let transform = match transform {
                Some(tc) => {
                    let t = Transform::load(tc, lookups)?;
                    let (_, output) = t.start(&input)?;
                    Some((t.name().to_owned(), t.hash().to_owned(), output))
                }
                None => None,
            };
            Ok((input, transform))
        })
        .await
        .map_err(|_| PlanError::StageLost("transform loading"))??
    };
    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "source:    {} ({})",
        csv.inputs.join(", "),
        describe(&input)
    )
    .expect("writing to a String cannot fail");
    let output: Schema = match &transform {
        Some((name, hash, output)) => {
            let hash = crate::transform::short_hash(hash);
            writeln!(w, "transform: `{name}` {hash} -> {}", describe(output))
                .expect("writing to a String cannot fail");
            output.clone()
        }
        None => {
            writeln!(w, "transform: none (rows pass through)")
                .expect("writing to a String cannot fail");
            input
        }
    };
    let mut sink = Sink::open_read_only(&config.sink).await?;
    sink.bind(&output)?;
    out.push_str(&sink.explain());
    Ok(out)
}
