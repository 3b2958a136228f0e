//! One statement a client sent, as [`crate::RunningServer::statements`] lists it.

use crate::kind::Kind;

/// A statement as received: for tests that check statement shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The statement's text, its first 500 characters.
    pub sql: String,
    pub protocol: Protocol,
    pub kind: Kind,
}

/// One run of a prepared statement: its text and how many parameter values its `Bind`
/// carried (rows × columns for a multi-row `VALUES`), for tests that check statement sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executed {
    /// The statement's text, its first 500 characters.
    pub sql: String,
    pub parameters: usize,
}

/// How a statement came: a `Query` message or a `Parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Simple,
    Extended,
}
