//! Hologres-style write modes, deletes, retries and restarts of the PostgreSQL sink.
