//! `holo-host test`: a transform run on a CSV file with no database. Each input record
//! gives one or more outcomes, in order: a row emitted, a record rejected (with the
//! reason, by the source or the transform), or a delete by key. They print as a table on a
//! terminal and as JSON lines otherwise; with `--expect` they are compared with a JSON
//! lines file and every difference is named.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use holo_batch::{Entry, OutputReader};
use serde_json::{Value, json};

use crate::lookup::{LookupError, LookupSpec, Lookups};
use crate::record::{Schema, row_json};
use crate::source::csv::{CsvError, CsvSource, CsvSourceConfig, Ledger};
use crate::transform::stage::TransformStage;
use crate::transform::{Transform, TransformConfig, TransformError};

/// What to test.
#[derive(Debug, Clone)]
pub struct TestConfig {
    pub transform: TransformConfig,
    pub input: PathBuf,
    pub lookups: Vec<LookupSpec>,
    /// JSON lines the outcomes must equal.
    pub expect: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error(transparent)]
    Source(#[from] CsvError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Transform(#[from] TransformError),
    #[error("transform `{name}` returned an output batch holo-host cannot read: {reason}")]
    Output { name: String, reason: String },
    #[error("cannot read the expected outcomes `{}`", path.display())]
    ReadExpected {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("line {line} of `{}` is not JSON: {source}", path.display())]
    BadExpected {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
}

/// The outcomes of a test run, in input order.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// One JSON object per outcome: `{"line", "emit"}`, `{"line", "reject", "stage"}` or
    /// `{"line", "delete"}`.
    pub entries: Vec<Value>,
    pub emitted: usize,
    pub rejected: usize,
    pub deleted: usize,
    /// The transform's output columns.
    pub output: Schema,
}

/// Runs the transform over every record of the input.
pub async fn run(config: &TestConfig) -> Result<Outcomes, TestError> {
    let lookups = Arc::new(Lookups::load(&config.lookups, None).await?);
    let config = config.clone();
    tokio::task::spawn_blocking(move || run_blocking(&config, lookups))
        .await
        .expect("the test thread does not panic")
}

fn run_blocking(config: &TestConfig, lookups: Arc<Lookups>) -> Result<Outcomes, TestError> {
    let csv = CsvSourceConfig {
        inputs: vec![config.input.to_string_lossy().into_owned()],
        batch_rows: CsvSourceConfig::default_batch_rows(),
        batch_bytes: CsvSourceConfig::default_batch_bytes(),
        partition: None,
        max_record_bytes: CsvSourceConfig::default_max_record_bytes(),
    };
    let mut source = CsvSource::open(&csv, &Ledger::new())?;
    let input = source.schema();
    let transform = Transform::load(config.transform.clone(), lookups)?;
    let name = transform.name().to_owned();
    let (instance, output) = transform.start(&input)?;
    let mut stage =
        TransformStage::wasm(transform, instance, input.clone(), output.clone(), None, 0);
    let mut out = Outcomes {
        output: output.clone(),
        ..Outcomes::default()
    };
    while let Some(batch) = source.next_batch()? {
        // Records the source could not read come first on their lines.
        let mut by_line: Vec<(u64, Value)> = (batch.rejected.iter())
            .map(|d| {
                out.rejected += 1;
                let entry = json!({"line": d.origin.line, "reject": d.reason, "stage": "source"});
                (d.origin.line, entry)
            })
            .collect();
        let processed = stage.process(&batch)?;
        let reader = OutputReader::new(&processed.output, output.len(), batch.rows() as u32);
        for entry in reader {
            let entry = entry.map_err(|e| TestError::Output {
                name: name.clone(),
                reason: e.to_string(),
            })?;
            let line = batch.origins[entry.input() as usize].line;
            let value = match entry {
                Entry::Row { row, .. } => {
                    out.emitted += 1;
                    json!({"line": line, "emit": row_json(&output, row)})
                }
                Entry::Delete { row, .. } => {
                    out.deleted += 1;
                    json!({"line": line, "delete": row_json(&output, row)})
                }
                Entry::Error { message, .. } => {
                    out.rejected += 1;
                    json!({"line": line, "reject": message, "stage": "transform"})
                }
            };
            by_line.push((line, value));
        }
        // A stable sort keeps each record's outcomes in the order the transform gave them.
        by_line.sort_by_key(|(line, _)| *line);
        out.entries.extend(by_line.into_iter().map(|(_, v)| v));
    }
    Ok(out)
}

/// Reads expected outcomes: one JSON value per non-blank line.
pub fn read_expected(path: &Path) -> Result<Vec<Value>, TestError> {
    let text = std::fs::read_to_string(path).map_err(|source| TestError::ReadExpected {
        path: path.to_owned(),
        source,
    })?;
    (text.lines().enumerate())
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|source| TestError::BadExpected {
                path: path.to_owned(),
                line: i + 1,
                source,
            })
        })
        .collect()
}

/// Every difference between the expected outcomes and those seen, one line each; empty
/// when they are equal.
pub fn differences(expected: &[Value], got: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..expected.len().max(got.len()) {
        match (expected.get(i), got.get(i)) {
            (Some(e), Some(g)) if e == g => {}
            (Some(e), Some(g)) => out.push(format!("outcome {}: expected {e}\n  got {g}", i + 1)),
            (Some(e), None) => out.push(format!("outcome {}: expected {e}\n  got nothing", i + 1)),
            (None, Some(g)) => out.push(format!("outcome {}: unexpected {g}", i + 1)),
            (None, None) => unreachable!("i is below one of the lengths"),
        }
    }
    out
}

/// The outcomes as JSON lines.
pub fn json_lines(outcomes: &Outcomes) -> String {
    let mut s = String::new();
    for e in &outcomes.entries {
        writeln!(s, "{e}").expect("writing to a String cannot fail");
    }
    s
}

/// The outcomes as a table for a terminal: line, outcome, and the values or the reason.
pub fn table(outcomes: &Outcomes) -> String {
    let mut s = String::from("LINE  OUTCOME  DETAIL\n");
    for e in &outcomes.entries {
        let line = e["line"].as_u64().unwrap_or(0);
        let (kind, detail) = if let Some(row) = e.get("emit") {
            ("emit", fields(row))
        } else if let Some(row) = e.get("delete") {
            ("delete", fields(row))
        } else {
            let stage = e["stage"].as_str().unwrap_or("");
            (
                "reject",
                format!("{} ({stage})", e["reject"].as_str().unwrap_or("")),
            )
        };
        writeln!(s, "{line:<5} {kind:<8} {detail}").expect("writing to a String cannot fail");
    }
    s
}

/// `a=1 b="x y"` for a row object.
fn fields(row: &Value) -> String {
    let Value::Object(map) = row else {
        return row.to_string();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) if !s.contains([' ', '"']) && !s.is_empty() => format!("{k}={s}"),
            v => format!("{k}={v}"),
        })
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_outcome() {
        let a = json!({"line": 2, "emit": {"x": "1"}});
        let b = json!({"line": 3, "reject": "bad", "stage": "transform"});
        assert!(differences(&[a.clone(), b.clone()], &[a.clone(), b.clone()]).is_empty());
        let d = differences(&[a.clone(), b.clone()], std::slice::from_ref(&a));
        assert_eq!(d.len(), 1);
        assert!(d[0].starts_with("outcome 2: expected") && d[0].ends_with("got nothing"));
        let d = differences(std::slice::from_ref(&a), &[b.clone(), a.clone()]);
        assert_eq!(d.len(), 2);
        assert!(d[1].starts_with("outcome 2: unexpected"));
        let t = table(&Outcomes {
            entries: vec![a, b],
            ..Outcomes::default()
        });
        assert_eq!(
            t,
            "LINE  OUTCOME  DETAIL\n2     emit     x=1\n3     reject   bad (transform)\n"
        );
    }
}
