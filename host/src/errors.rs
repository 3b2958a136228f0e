//! Error text shared by every stage: an error with its causes on one line, and the boxed
//! error a cause is kept as when its type does not matter.

/// A cause of any type, kept for `source()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
