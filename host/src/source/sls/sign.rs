//! Request signing, version 1: `Authorization: LOG <access key id>:<signature>`.
//!
//! The signature is `base64(HMAC-SHA1(secret, StringToSign))` where StringToSign is
//!
//! ```text
//! VERB \n Content-MD5 \n Content-Type \n Date \n
//! <sorted lowercase x-log-* / x-acs-* headers as `name:value\n`>
//! path [? <decoded query parameters sorted by name, `k=v` joined by `&`>]
//! ```
//!
//! as the official SDKs compute it (Python, Go, Java, and the `aliyun-log-sdk-sign` crate whose
//! known-answer vectors the tests below reproduce).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// The access key that signs requests, with an optional STS security token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    /// STS token, sent as `x-acs-security-token`.
    pub security_token: Option<String>,
}

impl Credentials {
    /// A long-lived access key pair (no STS token).
    pub fn new(access_key_id: impl Into<String>, access_key_secret: impl Into<String>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: None,
        }
    }

    /// The key from `ALIBABA_CLOUD_ACCESS_KEY_ID` and `ALIBABA_CLOUD_ACCESS_KEY_SECRET` (both
    /// set and non-empty), with `ALIBABA_CLOUD_SECURITY_TOKEN` when that is set too.
    pub fn from_env() -> Option<Credentials> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<Credentials> {
        let present = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        // A value pasted with a trailing newline would sign wrongly; keys have no spaces.
        let present = |name: &str| present(name).map(|v| v.trim().to_owned());
        Some(Credentials {
            access_key_id: present("ALIBABA_CLOUD_ACCESS_KEY_ID")?,
            access_key_secret: present("ALIBABA_CLOUD_ACCESS_KEY_SECRET")?,
            security_token: present("ALIBABA_CLOUD_SECURITY_TOKEN"),
        })
    }
}

// The secret and the token never reach a log line or an error message.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// What a signature covers besides the `x-log-*`/`x-acs-*` headers and the query.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Uppercase hex MD5 of the body; empty without a body.
    pub content_md5: &'a str,
    /// Empty when the request has no `Content-Type`.
    pub content_type: &'a str,
    /// The `Date` header, RFC 1123 in GMT.
    pub date: &'a str,
    /// The path as sent, without the query (`/logstores/orders/shards/0`).
    pub path: &'a str,
}

/// The `x-log-*` and `x-acs-*` headers, names lowercased and values trimmed, sorted by name,
/// each as `name:value\n`. `x-log-date` and `x-log-meta-*` are left out as the SDKs do
/// (Python adds `x-log-date` after signing).
pub fn canonical_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut picked: Vec<(String, &str)> = headers
        .into_iter()
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim()))
        .filter(|(name, _)| {
            (name.starts_with("x-log-") || name.starts_with("x-acs-"))
                && name != "x-log-date"
                && !name.starts_with("x-log-meta-")
        })
        .collect();
    picked.sort_by(|a, b| a.0.cmp(&b.0));
    picked
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect()
}

/// The path plus the decoded query parameters sorted by name (stable for equal names).
pub fn canonical_resource(path: &str, query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut sorted = query.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let pairs: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{path}?{}", pairs.join("&"))
}

/// The complete string to sign.
pub fn string_to_sign<'a>(
    request: &Request<'_>,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    query: &[(&str, &str)],
) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}{}",
        request.method,
        request.content_md5,
        request.content_type,
        request.date,
        canonical_headers(headers),
        canonical_resource(request.path, query)
    )
}

/// `base64(HMAC-SHA1(secret, string_to_sign))`.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts a key of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The `Authorization` header value: `LOG <access key id>:<signature>`.
pub fn authorization(credentials: &Credentials, string_to_sign: &str) -> String {
    format!(
        "LOG {}:{}",
        credentials.access_key_id,
        signature(&credentials.access_key_secret, string_to_sign)
    )
}

/// Uppercase hex MD5 of a body, as sent in `Content-MD5`.
pub fn content_md5(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer vectors from the tests of the `aliyun-log-sdk-sign` crate: its clock is
    // fixed at the epoch and it adds `x-log-apiversion` and `x-log-signaturemethod` (plus
    // `content-md5`, `content-length` and `x-acs-security-token`, of which only the last is
    // signed as a header).
    const DATE: &str = "Thu, 01 Jan 1970 00:00:00 GMT";
    const BODY: &str = "\n            {\"key\": \"value\"}\n        ";

    struct Vector {
        id: &'static str,
        secret: &'static str,
        token: Option<&'static str>,
        method: &'static str,
        path: &'static str,
        content_type: &'static str,
        query: &'static [(&'static str, &'static str)],
        body: Option<&'static str>,
        expected: &'static str,
    }

    fn sign(v: &Vector) -> String {
        let md5 = v
            .body
            .map(|b| content_md5(b.as_bytes()))
            .unwrap_or_default();
        let mut headers = vec![
            ("x-log-apiversion", "0.6.0"),
            ("x-log-signaturemethod", "hmac-sha1"),
            ("content-length", "0"),
        ];
        if let Some(token) = v.token {
            headers.push(("x-acs-security-token", token));
        }
        let text = string_to_sign(
            &Request {
                method: v.method,
                content_md5: &md5,
                content_type: v.content_type,
                date: DATE,
                path: v.path,
            },
            headers,
            v.query,
        );
        let credentials = Credentials {
            access_key_id: v.id.to_owned(),
            access_key_secret: v.secret.to_owned(),
            security_token: v.token.map(str::to_owned),
        };
        authorization(&credentials, &text)
    }

    #[test]
    fn reproduces_the_sdk_sign_crate_vectors() {
        let vectors = [
            Vector {
                id: "",
                secret: "",
                token: None,
                method: "GET",
                path: "/",
                content_type: "",
                query: &[],
                body: None,
                expected: "LOG :SApFTtfTFKHmzdEdaMe5TjNn+RQ=",
            },
            Vector {
                id: "test-access-key-id",
                secret: "test-access-key",
                token: None,
                method: "POST",
                path: "/logstores/test-logstore",
                content_type: "application/json",
                query: &[("type", "log"), ("offset", "0"), ("line", "100")],
                body: Some(BODY),
                expected: "LOG test-access-key-id:4pL2xZJERC3tPKtRiHh9+nMG3tI=",
            },
            Vector {
                id: "test-access-key-id",
                secret: "test-access-key",
                token: Some("test-security-token"),
                method: "POST",
                path: "/logstores/test-logstore",
                content_type: "application/json",
                query: &[("type", "log"), ("offset", "0"), ("line", "100")],
                body: Some(BODY),
                expected: "LOG test-access-key-id:ZQt+0wIvpd+O9yIJKeKxZTJ2hv0=",
            },
            Vector {
                id: "test-access-key-id",
                secret: "test-access-key",
                token: Some("test-security-token"),
                method: "POST",
                path: "/logstores/test/shards/2",
                content_type: "application/json",
                query: &[
                    ("type", "log"),
                    ("count", "1000"),
                    ("cursor", "MTczNzY2OTAzNjAxNzIxODQ1NA=="),
                ],
                body: Some(BODY),
                expected: "LOG test-access-key-id:K3rw5WXRe77aZ/meSyEa8NNUYFc=",
            },
        ];
        for v in &vectors {
            assert_eq!(sign(v), v.expected, "vector for {} {}", v.method, v.path);
        }
    }

    #[test]
    fn body_md5_is_uppercase_hex() {
        assert_eq!(
            content_md5(BODY.as_bytes()),
            "CE688F8D1AC3ED309BA9BE0A5ABAFCE5"
        );
    }

    #[test]
    fn canonical_headers_pick_sort_and_trim() {
        let headers = [
            ("X-Log-BodyRawSize", " 12 "),
            ("Content-Type", "application/json"),
            ("x-acs-security-token", "tok"),
            ("x-log-apiversion", "0.6.0"),
            ("x-log-date", "Thu, 01 Jan 1970 00:00:00 GMT"),
            ("x-log-meta-extra", "1"),
            ("host", "demo.example.com"),
        ];
        assert_eq!(
            canonical_headers(headers),
            "x-acs-security-token:tok\nx-log-apiversion:0.6.0\nx-log-bodyrawsize:12\n"
        );
    }

    #[test]
    fn canonical_resource_sorts_decoded_parameters() {
        assert_eq!(canonical_resource("/logstores/a", &[]), "/logstores/a");
        assert_eq!(
            canonical_resource(
                "/logstores/a/shards/0",
                &[("type", "log"), ("cursor", "MTA+/="), ("count", "10")]
            ),
            "/logstores/a/shards/0?count=10&cursor=MTA+/=&type=log"
        );
    }

    #[test]
    fn string_to_sign_layout() {
        let text = string_to_sign(
            &Request {
                method: "GET",
                content_md5: "",
                content_type: "",
                date: DATE,
                path: "/logstores/orders/shards",
            },
            [("x-log-bodyrawsize", "0"), ("x-log-apiversion", "0.6.0")],
            &[],
        );
        assert_eq!(
            text,
            "GET\n\n\nThu, 01 Jan 1970 00:00:00 GMT\nx-log-apiversion:0.6.0\nx-log-bodyrawsize:0\n/logstores/orders/shards"
        );
    }

    #[test]
    fn debug_redacts_secret_and_token() {
        let credentials = Credentials {
            access_key_id: "LTAI-id".into(),
            access_key_secret: "s3cr3t-value".into(),
            security_token: Some("sts-t0ken".into()),
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("LTAI-id"), "{shown}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(!shown.contains("sts-t0ken"), "{shown}");
    }

    #[test]
    fn credentials_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let full = Credentials::from_lookup(env(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret\n"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", "token"),
        ]))
        .unwrap();
        assert_eq!(full.access_key_id, "id");
        assert_eq!(full.access_key_secret, "secret");
        assert_eq!(full.security_token.as_deref(), Some("token"));
        let no_token = Credentials::from_lookup(env(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(no_token.security_token, None);
        assert!(Credentials::from_lookup(env(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "id")])).is_none());
        assert!(
            Credentials::from_lookup(env(&[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", " "),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret"),
            ]))
            .is_none()
        );
    }
}
