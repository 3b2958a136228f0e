//! Integration tests of holo-host: one test binary, shared helpers in `support/`,
//! fixtures in `tests/data/`.

mod support;

mod authoring;
mod db_lookup;
mod deploy;
mod key_order;
mod malformed;
mod objects;
mod observability;
mod partitions;
mod pipeline;
mod ports;
mod postgres_sink;
mod refused_rows;
mod reload;
mod sandbox;
mod sls_client;
mod sls_credentials;
mod sls_source;
mod sls_stream;
mod timezones;
mod transforms;
mod write_modes;
