//! What holo-host and its Log Service client (`sls-client`) share, so that neither depends
//! on the other:
//!
//! - [`retry`]: how a failed call to a remote system is tried again (backoff with jitter),
//!   and where retries are counted;
//! - [`redact`]: secrets hidden from what a user wrote, before it is quoted in an error;
//! - [`errors`]: the boxed cause.

pub mod errors;
pub mod redact;
pub mod retry;
