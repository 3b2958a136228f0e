//! Every statement clients sent, kept for tests and written to the debug log.

use crate::kind::Kind;
use crate::logged::{Logged, Protocol};
use std::sync::Mutex;

/// The statements received, in order, shared by the connections.
#[derive(Debug, Default)]
pub struct StatementLog {
    entries: Mutex<Vec<Logged>>,
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

    pub fn snapshot(&self) -> Vec<Logged> {
        self.entries.lock().expect("statement log").clone()
    }

    pub fn clear(&self) {
        self.entries.lock().expect("statement log").clear();
    }
}
