//! An error the proxy makes the backend raise in Hologres's words: a statement Hologres
//! refuses, or an injected fault. Each constructor cites where its text comes from.

use crate::wire::{Frame, messages};

/// A SQLSTATE and message, raised instead of running a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// A DML statement in a DDL transaction. Message: "SQL transaction capabilities"
    /// (`begin; drop table…; create table…; insert …` fails with "ERROR: INSERT in ddl
    /// transaction is not supported now"); the SQLSTATE is a guess.
    pub fn dml_in_ddl_transaction(verb: &str) -> Refusal {
        Refusal::new(
            "0A000",
            format!("{verb} in ddl transaction is not supported now"),
        )
    }

    /// A DDL statement in a DML transaction: "DDL and DML cannot be mixed" is documented,
    /// the text is a guess mirroring the documented one.
    pub fn ddl_in_dml_transaction(verb: &str) -> Refusal {
        Refusal::new(
            "0A000",
            format!("{verb} in dml transaction is not supported now"),
        )
    }

    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`: documented nowhere (guess).
    pub fn savepoint() -> Refusal {
        Refusal::new("0A000", "SAVEPOINT is not supported")
    }

    /// `… RETURNING`: absent from the UPDATE and INSERT grammars (guess for the error).
    pub fn returning(verb: &str) -> Refusal {
        Refusal::new(
            "0A000",
            format!("RETURNING clause in {verb} is not supported"),
        )
    }

    /// A Fixed Copy option before 1.3.25: what PostgreSQL 11 says of an unknown COPY option.
    pub fn copy_option(option: &str) -> Refusal {
        Refusal::new("42601", format!("option \"{option}\" not recognized"))
    }

    /// Binary COPY without `STREAM_MODE TRUE` (holo-client `CopyUtil` l.112: plain COPY
    /// takes csv only; the text is a guess).
    pub fn binary_without_stream_mode() -> Refusal {
        Refusal::new(
            "0A000",
            "COPY with FORMAT BINARY is only supported with STREAM_MODE TRUE",
        )
    }

    /// COPY through Parse/Bind/Execute when the server is told to refuse it (guess).
    pub fn copy_on_extended_protocol() -> Refusal {
        Refusal::new("0A000", "COPY is not supported in extended query protocol")
    }

    /// A transient error holo-client retries: SQLSTATE 53000 and "Resource busy" are both
    /// BUSY in `HoloClientException.fromSqlException` (l.48-58); the exact text is a guess.
    pub fn busy() -> Refusal {
        Refusal::new("53000", "Resource busy")
    }

    /// A statement during a failover: "Get rundown is not allowed in recovering state" is
    /// BUSY in `HoloClientException.fromSqlException` (l.48-58); the SQLSTATE is a guess.
    pub fn recovering() -> Refusal {
        Refusal::new("XX000", "Get rundown is not allowed in recovering state")
    }

    /// A connection during a failover: SQLSTATE 08006 and "ERPC_ERROR_CONNECTION_CLOSED"
    /// are both CONNECTION_ERROR in `HoloClientException.fromSqlException` (l.36-44).
    pub fn failover_connect() -> Refusal {
        Refusal::new(
            "08006",
            "ERPC_ERROR_CONNECTION_CLOSED: the instance is failing over",
        )
    }

    /// A `HOLOGRES_LITE` statement that cannot run here.
    pub fn admin(message: impl Into<String>) -> Refusal {
        Refusal::new("42601", message)
    }

    /// A `DO` block raising this error: a substitute for a statement in a simple query,
    /// which fails where the statement stood, after the ones before it ran.
    pub fn raising_sql(&self) -> String {
        let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
        format!(
            "DO $hologres_lite$ BEGIN RAISE EXCEPTION USING ERRCODE = {}, MESSAGE = {}; END $hologres_lite$",
            lit(self.code),
            lit(&self.message)
        )
    }

    /// The `ErrorResponse`.
    pub fn frame(&self, severity: &str) -> Frame {
        messages::error(severity, self.code, &self.message)
    }
}
