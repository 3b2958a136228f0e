//! Error text shared by every stage: an error with its causes on one line, and the boxed
//! error a cause is kept as when its type does not matter.

/// `text` with the `user:password@` part of the first URL in it hidden, for messages that
/// quote what a user wrote (an endpoint, an option).
pub fn hide_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else {
        return text.to_owned();
    };
    let start = scheme_end + 3;
    let authority_end = text[start..].find('/').map_or(text.len(), |i| start + i);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}<hidden>@{}", &text[..start], &text[start + at + 1..]),
        None => text.to_owned(),
    }
}

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
