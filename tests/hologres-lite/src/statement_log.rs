//! Every statement clients sent, kept for tests and written to the debug log.

use crate::kind::Kind;
use crate::logged::{Executed, Logged, Protocol};
use std::sync::Mutex;

/// The statements received, in order, shared by the connections.
#[derive(Debug, Default)]
pub struct StatementLog {
    entries: Mutex<Vec<Logged>>,
    executions: Mutex<Vec<Executed>>,
}

impl StatementLog {
    pub fn record(&self, sql: &str, protocol: Protocol, kind: Kind) {
        tracing::debug!(?protocol, ?kind, sql, "statement");
        let sql: String = sql.chars().take(500).collect();
        self.entries.lock().expect("statement log").push(Logged {
            sql,
            protocol,
            kind,
        });
    }

    /// A `Bind` of a prepared statement `sql` with `parameters` values.
    pub fn executed(&self, sql: &str, parameters: usize) {
        let sql: String = sql.chars().take(500).collect();
        (self.executions.lock().expect("statement log")).push(Executed { sql, parameters });
    }

    pub fn executions(&self) -> Vec<Executed> {
        self.executions.lock().expect("statement log").clone()
    }

    pub fn snapshot(&self) -> Vec<Logged> {
        self.entries.lock().expect("statement log").clone()
    }

    pub fn clear(&self) {
        self.entries.lock().expect("statement log").clear();
        self.executions.lock().expect("statement log").clear();
    }
}
