//! Error text shared by every stage: an error with its causes on one line; the boxed cause
//! comes from `holo-common`, which the Log Service client shares.

pub use holo_common::errors::BoxError;

/// An error and its causes, `a: b: c`, for messages that travel as text (a refused
/// transform version, a lookup that failed inside a guest call).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
