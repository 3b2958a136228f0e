//! What the proxy does with the completion of one statement it sent: the tag the client
//! sees, the state the statement leaves, and whether the client gets the reply at all.

use crate::txn::Txn;

/// The treatment of one statement's `CommandComplete` (or error).
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// The tag the client sees instead of the backend's.
    pub tag: Option<String>,
    /// The transaction state once the statement completes.
    pub txn: Option<Txn>,
    /// A setting the statement changes: name and value, `None` for a reset.
    pub setting: Option<(String, Option<String>)>,
    /// `RESET ALL` / `DISCARD ALL`: every setting back to its default.
    pub reset_all: bool,
    /// Close the client's connection once the backend has applied the statement.
    pub lose: bool,
    /// A substituted refusal: strip the PL/pgSQL context from its error.
    pub refused: bool,
    /// A statement the proxy added: the client never sees its completion.
    pub swallow: bool,
}
