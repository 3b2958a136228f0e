//! The stdout sink: transformed rows as JSON lines, to try a transform with no database.

use std::io::Write;

use super::Committed;
use crate::record::{Column, row_json};

/// Prints each committed batch as JSON lines (`{"column": value, …}`).
#[derive(Debug, Default)]
pub struct StdoutSink {
    schema: Vec<Column>,
    staged: Vec<u8>,
    rows: u64,
    /// Batches committed so far: the next one's ticket.
    committed: u64,
}

impl StdoutSink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn bind(&mut self, output: &[Column]) {
        self.schema = output.to_vec();
    }

    pub fn push_row(&mut self, row: holo_batch::RowRef<'_>) {
        serde_json::to_writer(&mut self.staged, &row_json(&self.schema, row))
            .expect("writing to a Vec cannot fail");
        self.staged.push(b'\n');
        self.rows += 1;
    }

    /// A delete prints as the key's row with `"__delete__": true`.
    pub fn push_delete(&mut self, key: holo_batch::RowRef<'_>) {
        let mut json = row_json(&self.schema, key);
        if let serde_json::Value::Object(map) = &mut json {
            map.insert("__delete__".into(), serde_json::Value::Bool(true));
        }
        serde_json::to_writer(&mut self.staged, &json).expect("writing to a Vec cannot fail");
        self.staged.push(b'\n');
    }

    /// Prints the staged rows: a batch commits as it is submitted.
    pub fn submit(&mut self) -> std::io::Result<Committed> {
        let mut out = std::io::stdout().lock();
        out.write_all(&self.staged)?;
        out.flush()?;
        self.staged.clear();
        let ticket = self.committed;
        self.committed += 1;
        Ok(Committed {
            ticket,
            written: std::mem::take(&mut self.rows),
        })
    }
}
