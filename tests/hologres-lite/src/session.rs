//! One client session's state: its transaction as Hologres has it, its `hg_*` settings,
//! its prepared statements and portals, and the refusals awaiting their error.

use crate::refusal::Refusal;
use crate::reply::Reply;
use crate::settings::{self, Settings};
use crate::sql::Statement;
use crate::txn::Txn;
use std::collections::HashMap;

/// A marker in a failing `Parse` text; the backend's syntax error quotes it back.
const MARKER: &str = "hologres_lite_refusal_";

#[derive(Debug)]
pub struct Session {
    txn: Txn,
    settings: Settings,
    /// Prepared statements by name, as the client wrote them.
    prepared: HashMap<String, Statement>,
    /// Portals by name: the statement each was bound from.
    portals: HashMap<String, String>,
    /// Errors to raise in place of the backend's syntax error on a marker.
    refusals: HashMap<u64, Refusal>,
    next_refusal: u64,
    /// The last `ReadyForQuery` status the client saw.
    status: u8,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            txn: Txn::Idle,
            settings: Settings::default(),
            prepared: HashMap::new(),
            portals: HashMap::new(),
            refusals: HashMap::new(),
            next_refusal: 0,
            status: b'I',
        }
    }
}

impl Session {
    pub fn txn(&self) -> Txn {
        self.txn
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether CommandComplete counts are to read 0 (holo-client's setting; the value 0
    /// is a guess: holo-client only says the count is not reliable when off).
    pub fn hides_affected_rows(&self) -> bool {
        !self.settings.flag(settings::AFFECTED_ROWS, true)
    }

    /// Applies what a completed statement changed.
    pub fn complete(&mut self, reply: &Reply) {
        if let Some(t) = reply.txn {
            self.txn = t;
        }
        if reply.reset_all {
            self.settings.clear();
        }
        if let Some((name, value)) = &reply.setting {
            self.settings.set(name, value.clone());
        }
    }

    /// The status the client sees for the backend's `ReadyForQuery` status.
    pub fn ready(&mut self, backend: u8) -> u8 {
        self.txn = self.txn.reconcile(backend);
        self.status = self.txn.client_status(backend);
        self.status
    }

    pub fn status(&self) -> u8 {
        self.status
    }

    pub fn prepare(&mut self, name: &str, statement: Statement) {
        self.prepared.insert(name.to_owned(), statement);
    }

    pub fn bind(&mut self, portal: &str, statement: &str) {
        self.portals.insert(portal.to_owned(), statement.to_owned());
    }

    /// The statement a portal runs.
    pub fn portal_statement(&self, portal: &str) -> Option<&Statement> {
        self.prepared.get(self.portals.get(portal)?)
    }

    /// `Close` of a statement (`S`) or portal (`P`).
    pub fn close(&mut self, which: u8, name: &str) {
        if which == b'S' {
            self.prepared.remove(name);
        } else {
            self.portals.remove(name);
        }
    }

    /// A `Parse` text that fails at once, whose error becomes `refusal`.
    pub fn refusal_marker(&mut self, refusal: Refusal) -> String {
        self.next_refusal += 1;
        self.refusals.insert(self.next_refusal, refusal);
        format!("{MARKER}{}", self.next_refusal)
    }

    /// The refusal whose marker the backend's error `message` quotes.
    pub fn take_refusal(&mut self, message: &str) -> Option<Refusal> {
        let at = message.find(MARKER)? + MARKER.len();
        let digits: String = message[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        self.refusals.remove(&digits.parse().ok()?)
    }
}
