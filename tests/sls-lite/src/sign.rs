//! Signature v1: the string to sign, the `LOG <id>:<signature>` value, and the body MD5.
//!
//! StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//!                (sorted lowercase `x-log-*`/`x-acs-*` headers as `k:v\n`)
//!                path [? sorted decoded `k=v` joined by `&`]
//! Clients differ on `x-log-date` (Python adds it after signing, so it is left out here; see
//! [`canonical_headers`]) and all leave out `x-log-meta-*`.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// The parts of a request that the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignParts<'a> {
    pub method: &'a str,
    pub content_md5: &'a str,
    pub content_type: &'a str,
    pub date: &'a str,
    /// Path only, as sent (e.g. `/logstores/orders/shards/lb`).
    pub path: &'a str,
}

/// Which optional headers join the canonical headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateHeader {
    /// Leave `x-log-date` out (Python SDK, Rust SDK).
    Exclude,
    /// Sign `x-log-date` like any other `x-log-*` header.
    Include,
}

/// The lowercase, trimmed `x-log-*`/`x-acs-*` headers, sorted, as `k:v\n` lines.
pub fn canonical_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    date: DateHeader,
) -> String {
    let mut picked: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
        .filter(|(k, _)| {
            (k.starts_with("x-log-") || k.starts_with("x-acs-"))
                && !k.starts_with("x-log-meta-")
                && (date == DateHeader::Include || k != "x-log-date")
        })
        .collect();
    picked.sort_by(|a, b| a.0.cmp(&b.0));
    picked.iter().map(|(k, v)| format!("{k}:{v}\n")).collect()
}

/// The path plus the decoded query parameters sorted by name.
pub fn canonical_resource(path: &str, query: &[(String, String)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut sorted: Vec<&(String, String)> = query.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", pairs.join("&"))
}

/// The complete string to sign.
pub fn string_to_sign(
    parts: &SignParts<'_>,
    canonical_headers: &str,
    query: &[(String, String)],
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}{}",
        parts.method,
        parts.content_md5,
        parts.content_type,
        parts.date,
        canonical_headers,
        canonical_resource(parts.path, query)
    )
}

/// base64(HMAC-SHA1(secret, string_to_sign)).
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts a key of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value.
pub fn authorization(access_key_id: &str, secret: &str, string_to_sign: &str) -> String {
    format!("LOG {access_key_id}:{}", signature(secret, string_to_sign))
}

/// Uppercase hex MD5 of a body, as sent in `Content-MD5`.
pub fn content_md5(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// Constant-time comparison, so a wrong signature does not leak how much of it was right.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    //! Known-answer vectors from the `aliyun-log-sdk-sign` crate's tests (its clock is fixed at
    //! the epoch; it adds `x-log-apiversion: 0.6.0` and `x-log-signaturemethod: hmac-sha1`).
    use super::*;

    const DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";
    const BODY: &str = "\n            {\"key\": \"value\"}\n        ";

    // One argument per column of the crate's vector table.
    #[allow(clippy::too_many_arguments)]
    fn sign(
        id: &str,
        secret: &str,
        token: Option<&str>,
        method: &str,
        path: &str,
        content_type: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> String {
        let md5 = body.map(|b| content_md5(b.as_bytes())).unwrap_or_default();
        let mut headers = vec![
            ("x-log-apiversion", "0.6.0"),
            ("x-log-signaturemethod", "hmac-sha1"),
            ("content-length", "0"),
        ];
        if let Some(token) = token {
            headers.push(("x-acs-security-token", token));
        }
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let parts = SignParts {
            method,
            content_md5: &md5,
            content_type,
            date: DATE,
            path,
        };
        let text = string_to_sign(
            &parts,
            &canonical_headers(headers, DateHeader::Exclude),
            &query,
        );
        authorization(id, secret, &text)
    }

    #[test]
    fn body_md5_matches_vector() {
        assert_eq!(
            content_md5(BODY.as_bytes()),
            "CE688F8D1AC3ED309BA9BE0A5ABAFCE5"
        );
    }

    #[test]
    fn vector_case1_empty_get() {
        assert_eq!(
            sign("", "", None, "GET", "/", "", &[], None),
            "LOG :SApFTtfTFKHmzdEdaMe5TjNn+RQ="
        );
    }

    #[test]
    fn vector_case2_post_with_body_and_query() {
        assert_eq!(
            sign(
                "test-access-key-id",
                "test-access-key",
                None,
                "POST",
                "/logstores/test-logstore",
                "application/json",
                &[("type", "log"), ("offset", "0"), ("line", "100")],
                Some(BODY),
            ),
            "LOG test-access-key-id:4pL2xZJERC3tPKtRiHh9+nMG3tI="
        );
    }

    #[test]
    fn vector_case3_security_token() {
        assert_eq!(
            sign(
                "test-access-key-id",
                "test-access-key",
                Some("test-security-token"),
                "POST",
                "/logstores/test-logstore",
                "application/json",
                &[("type", "log"), ("offset", "0"), ("line", "100")],
                Some(BODY),
            ),
            "LOG test-access-key-id:ZQt+0wIvpd+O9yIJKeKxZTJ2hv0="
        );
    }

    #[test]
    fn vector_case4_cursor_query() {
        assert_eq!(
            sign(
                "test-access-key-id",
                "test-access-key",
                Some("test-security-token"),
                "POST",
                "/logstores/test/shards/2",
                "application/json",
                &[
                    ("type", "log"),
                    ("count", "1000"),
                    ("cursor", "MTczNzY2OTAzNjAxNzIxODQ1NA=="),
                ],
                Some(BODY),
            ),
            "LOG test-access-key-id:K3rw5WXRe77aZ/meSyEa8NNUYFc="
        );
    }

    #[test]
    fn date_and_meta_headers_are_left_out_unless_asked() {
        let headers = [
            ("X-Log-Date", "d"),
            ("x-log-meta-a", "m"),
            ("x-log-b", " v "),
            ("x-acs-a", "t"),
            ("host", "h"),
        ];
        assert_eq!(
            canonical_headers(headers, DateHeader::Exclude),
            "x-acs-a:t\nx-log-b:v\n"
        );
        assert_eq!(
            canonical_headers(headers, DateHeader::Include),
            "x-acs-a:t\nx-log-b:v\nx-log-date:d\n"
        );
    }

    #[test]
    fn constant_time_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
