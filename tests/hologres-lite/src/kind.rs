//! What a statement does, as far as Hologres treats it differently: the class logged for
//! each statement and the one the transaction rules go by.

/// The class of a statement, from its first words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `SELECT`, `VALUES`, `TABLE`, a `WITH` that writes nothing.
    Select,
    Insert,
    Update,
    Delete,
    /// `COPY … FROM STDIN` (plain or Fixed Copy).
    CopyIn,
    /// `COPY … TO`.
    CopyOut,
    /// `CREATE`, `ALTER`, `DROP`, `TRUNCATE`, `COMMENT`, `GRANT`, `REVOKE`.
    Ddl,
    /// `CALL`, e.g. `set_table_property`.
    Call,
    /// `BEGIN`, `START TRANSACTION`.
    Begin,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT`.
    Rollback,
    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`.
    Savepoint,
    Set,
    Show,
    Reset,
    /// A `HOLOGRES_LITE …` statement, answered by the proxy itself.
    Admin,
    Other,
}

impl Kind {
    /// A statement that writes rows: Hologres runs each in its own transaction unless mixed
    /// DML transactions are on, and refuses it in a DDL transaction.
    pub fn is_dml(self) -> bool {
        matches!(
            self,
            Kind::Insert | Kind::Update | Kind::Delete | Kind::CopyIn
        )
    }

    /// A statement that belongs in a DDL transaction.
    pub fn is_ddl(self) -> bool {
        matches!(self, Kind::Ddl | Kind::Call)
    }
}
