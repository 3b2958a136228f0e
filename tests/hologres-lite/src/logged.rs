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

/// How a statement came: a `Query` message or a `Parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Simple,
    Extended,
}
