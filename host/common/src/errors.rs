//! Error text shared by holo-host and its Log Service client: secrets hidden from what a
//! user wrote, and the boxed error a cause is kept as when its type does not matter.

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
