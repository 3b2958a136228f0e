//! Readers of bytes and records shared by sources and lookups.
//!
//! - `csv`: CSV records from a file, an object or stdin (compressed or not), each with the
//!   line it starts on, its offset and its raw text;
//! - [`objects`]: objects in OSS or any S3-compatible store (`oss://`, `s3://`), listed and
//!   streamed, signed with the Alibaba Cloud credentials of the `sls-client` crate.

pub(crate) mod csv;
pub mod objects;
