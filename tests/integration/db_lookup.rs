//! Lookups from database tables, and TLS connections.
