//! The boxed error a cause is kept as when its type does not matter, shared by holo-host
//! and its Log Service client.

/// A cause of any type, kept for `source()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
