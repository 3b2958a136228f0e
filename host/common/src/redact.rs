//! Secrets kept out of error text and logs: what a user wrote may hold a password.

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
