//! Error text shared by every stage: an error with its causes on one line, and the boxed
//! error a cause is kept as when its type does not matter.

/// `text` with every `user:password@` part hidden (what precedes an `@` back to a `/`, `?`,
/// `&`, `=` or space), for messages that quote what a user wrote: an endpoint, an option,
/// a URL inside another (`oss://postgres://u:pw@h`, found by the fuzz tests).
pub fn hide_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let start = rest[..at]
            .rfind(['/', '?', '&', '=', ' '])
            .map_or(0, |i| i + 1);
        out.push_str(&rest[..start]);
        if start < at {
            out.push_str("<hidden>");
        }
        out.push('@');
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_hidden_wherever_it_is() {
        assert_eq!(
            hide_userinfo("postgres://u:pw@h/db"),
            "postgres://<hidden>@h/db"
        );
        assert_eq!(
            hide_userinfo("oss://postgres://u:pw@h/db"),
            "oss://postgres://<hidden>@h/db"
        );
        assert_eq!(hide_userinfo("u:pw@h?x=a:b@c"), "<hidden>@h?x=<hidden>@c");
        assert_eq!(hide_userinfo("http://h:80/p"), "http://h:80/p");
        assert_eq!(hide_userinfo("@"), "@");
    }
}
