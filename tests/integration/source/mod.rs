//! Where records come from: the Log Service client, its credentials and streams against
//! `sls-lite`, CSV inputs and lookups in object storage, and the malformed-input corpus.

mod malformed;
mod objects;
mod sls_client;
mod sls_credentials;
mod sls_lifecycle;
pub(crate) mod sls_source;
mod sls_stream;
