//! What holo-host and its Log Service client (`sls-client`) share, so that neither depends
//! on the other:
//!
//! - [`retry`]: how a failed call to a remote system is tried again (backoff with jitter),
//!   and where retries are counted;
//! - [`errors`]: error text (secrets hidden from what a user wrote, the boxed cause).

pub mod errors;
pub mod retry;
