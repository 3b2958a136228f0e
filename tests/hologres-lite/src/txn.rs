//! A session's transaction as Hologres has it: none, opened but not yet typed, a real DDL
//! transaction, or a DML one that is real only from 2.0 with
//! `hg_experimental_enable_transaction = on` ("SQL transaction capabilities").

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Txn {
    Idle,
    /// After `BEGIN`, before a DDL or DML statement decides the kind. `real`: the backend
    /// has a transaction open.
    Open {
        real: bool,
    },
    /// A DDL transaction, real on the backend.
    Ddl,
    /// A DML transaction; when not `real` each statement commits on its own.
    Dml {
        real: bool,
    },
}

impl Txn {
    /// The backend runs no transaction while the client believes one is open.
    pub fn is_virtual(self) -> bool {
        matches!(self, Txn::Open { real: false } | Txn::Dml { real: false })
    }

    /// The `ReadyForQuery` status the client sees for the backend's `status`.
    pub fn client_status(self, status: u8) -> u8 {
        if self.is_virtual() && status == b'I' {
            b'T'
        } else {
            status
        }
    }

    /// The state once the backend reports `status`: a real transaction the backend closed
    /// (an error in an implicit block, a COMMIT) is over.
    pub fn reconcile(self, status: u8) -> Txn {
        match (self, status) {
            (t, b'I') if !t.is_virtual() => Txn::Idle,
            (t, _) => t,
        }
    }
}
