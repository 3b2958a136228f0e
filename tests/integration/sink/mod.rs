//! The database side against a real PostgreSQL and Hologres as hologres-lite imitates it:
//! the sink's types, write modes, partitions,
//! refused rows, key order and time zones, and the lookups and TLS connections it shares.

mod db_lookup;
mod hologres;
mod key_order;
mod partitions;
mod postgres_sink;
mod refused_rows;
mod timezones;
pub(crate) mod write_modes;
