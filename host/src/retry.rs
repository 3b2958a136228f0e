//! Backoff with jitter for every remote system. The policy and the loop of tries live in
//! `holo-common`, shared with the Log Service client; [`crate::metrics::global`] counts the
//! retries of both.

pub use holo_common::retry::{Attempts, Backoff};
