//! Signatures as the service checks them: v1 (the string to sign, the `LOG <id>:<signature>`
//! value, the body MD5), v4 ([`v4::verify`], `SLS4-HMAC-SHA256`), and the STS token of
//! temporary keys ([`check_token`]).
//!
//! StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//!                (sorted lowercase `x-log-*`/`x-acs-*` headers as `k:v\n`)
//!                path [? sorted decoded `k=v` joined by `&`]
//! Clients differ on `x-log-date` (Python adds it after signing, so it is left out here; see
//! [`canonical_headers`]) and all leave out `x-log-meta-*`.

use std::time::SystemTime;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

use crate::config::AccessKey;
use crate::error::SlsError;

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

/// The STS side of a key: a key configured with a token needs that token in
/// `x-acs-security-token` and is refused once expired. The service answers both a wrong and
/// an expired token with `401 Unauthorized` ("The security token you provided is invalid." /
/// "… has expired."), per the help center's error-code table; the clients refresh on it
/// (aliyun-log-go-sdk `client.go` `IsTokenError`: any 401; aliyun-log-python-sdk
/// `logclient.py` `_is_auth_err`). Keys without a token accept any (the tests send one with a
/// long-lived key).
pub fn check_token(key: &AccessKey, sent: Option<&str>, now: SystemTime) -> Result<(), SlsError> {
    let Some(expected) = &key.security_token else {
        return Ok(());
    };
    match sent {
        None => {
            return Err(SlsError::unauthorized(format!(
                "access key `{}` is temporary: send its security token in x-acs-security-token",
                key.id
            )));
        }
        Some(token) if !same(token.trim(), expected) => {
            return Err(SlsError::unauthorized(format!(
                "The security token you provided is invalid (access key `{}`)",
                key.id
            )));
        }
        Some(_) => {}
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(SlsError::unauthorized(format!(
            "The security token you provided has expired (access key `{}`)",
            key.id
        )));
    }
    Ok(())
}

/// Signature v4 as the service checks it, written from the SDKs' signers
/// (aliyun-log-go-sdk `signature_v4.go`, aliyun-log-python-sdk `auth.py` `AuthV4`,
/// aliyun-log-java-sdk `SlsV4Signer.java`), independently of the host's signer.
///
/// `Authorization: SLS4-HMAC-SHA256 Credential=<id>/<yyyymmdd>/<region>/sls/aliyun_v4_request,
/// Signature=<hex>`. The header names no signed-header list, so every received `host`,
/// `content-type`, `x-acs-*` and `x-log-*` (but `x-log-meta-*`) header is taken as signed.
pub mod v4 {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};

    use super::{check_token, same};
    use crate::config::AccessKey;
    use crate::error::SlsError;

    /// Allowed distance between `x-log-date` and the server's clock.
    const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

    /// A received request, as the signature sees it.
    #[derive(Debug, Clone, Copy)]
    pub struct Received<'a> {
        pub method: &'a str,
        /// The path as received (still percent-encoded).
        pub path: &'a str,
        /// Decoded query parameters.
        pub query: &'a [(String, String)],
        /// Every header, names in any case.
        pub headers: &'a [(&'a str, &'a str)],
        pub body: &'a [u8],
    }

    impl Received<'_> {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    /// The parts of `Credential=…` and the signature.
    struct Claim<'a> {
        id: &'a str,
        date: &'a str,
        region: &'a str,
        signature: &'a str,
    }

    fn claim(authorization: &str) -> Option<Claim<'_>> {
        let rest = authorization.strip_prefix("SLS4-HMAC-SHA256")?.trim_start();
        let mut credential = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("Credential=") {
                credential = Some(v);
            } else if let Some(v) = part.strip_prefix("Signature=") {
                signature = Some(v);
            }
        }
        let fields: Vec<&str> = credential?.split('/').collect();
        match fields.as_slice() {
            [id, date, region, "sls", "aliyun_v4_request"]
                if !id.is_empty() && date.len() == 8 && !region.is_empty() =>
            {
                Some(Claim {
                    id,
                    date,
                    region,
                    signature: signature?,
                })
            }
            _ => None,
        }
    }

    /// `yyyymmddThhmmssZ` as a time.
    fn parse_date_time(text: &str) -> Option<SystemTime> {
        let b = text.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
        let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
        let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        // Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
        let y = if mo <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let secs = days * 86_400 + h * 3600 + mi * 60 + s;
        u64::try_from(secs)
            .ok()
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Percent-encoding of a query value: RFC 3986 unreserved bytes kept, the rest `%XX`.
    fn encode_value(value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    fn lower_hex(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        out
    }

    fn mac(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
        m.update(message);
        m.finalize().into_bytes().to_vec()
    }

    /// The canonical request the client should have signed.
    fn canonical(request: &Received<'_>, payload_hash: &str) -> String {
        let mut params: Vec<(&str, &str)> = request
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.sort();
        let query = params
            .iter()
            .map(|&(k, v)| match v {
                "" => k.to_owned(),
                v => format!("{k}={}", encode_value(v)),
            })
            .collect::<Vec<_>>()
            .join("&");
        let mut signed: Vec<(String, &str)> = Vec::new();
        for &(name, value) in request.headers {
            let name = name.to_ascii_lowercase();
            let wanted = matches!(name.as_str(), "host" | "content-type")
                || name.starts_with("x-acs-")
                || (name.starts_with("x-log-") && !name.starts_with("x-log-meta-"));
            if wanted {
                signed.push((name, value.trim()));
            }
        }
        signed.sort();
        let mut text = format!("{}\n{}\n{query}\n", request.method, request.path);
        for (name, value) in &signed {
            text.push_str(name);
            text.push(':');
            text.push_str(value);
            text.push('\n');
        }
        text.push('\n');
        let names: Vec<&str> = signed.iter().map(|(n, _)| n.as_str()).collect();
        text.push_str(&names.join(";"));
        text.push('\n');
        text.push_str(payload_hash);
        text
    }

    /// Checks a v4-signed request against the known keys (`key_of`), at `now`.
    pub fn verify<'k>(
        key_of: impl Fn(&str) -> Option<&'k AccessKey>,
        request: &Received<'_>,
        now: SystemTime,
    ) -> Result<(), SlsError> {
        let authorization = request.header("authorization").unwrap_or_default();
        let claim = claim(authorization).ok_or_else(|| {
            SlsError::unauthorized(
                "Authorization header is not `SLS4-HMAC-SHA256 Credential=<id>/<date>/<region>/sls/aliyun_v4_request,Signature=<hex>`",
            )
        })?;
        let key = key_of(claim.id).ok_or_else(|| {
            SlsError::unauthorized(format!(
                "access key id `{}` is not known to this server",
                claim.id
            ))
        })?;
        check_token(key, request.header("x-acs-security-token"), now)?;
        let date_time = request.header("x-log-date").ok_or_else(|| {
            SlsError::new(400, "MissingDate", "a v4-signed request needs x-log-date")
        })?;
        let sent = parse_date_time(date_time).ok_or_else(|| {
            SlsError::new(
                400,
                "InvalidDateFormat",
                format!("x-log-date `{date_time}` is not yyyymmddThhmmssZ"),
            )
        })?;
        // Either way round: a clock behind or ahead.
        let skew = now.duration_since(sent).unwrap_or_else(|e| e.duration());
        if skew > MAX_SKEW {
            return Err(SlsError::new(
                400,
                "RequestTimeExpired",
                format!("x-log-date `{date_time}` is more than 15 minutes from the server's clock"),
            ));
        }
        if !date_time.starts_with(claim.date) {
            return Err(SlsError::new(
                401,
                "SignatureNotMatch",
                format!(
                    "the credential scope's date {} is not the date of x-log-date `{date_time}`",
                    claim.date
                ),
            ));
        }
        let body_hash = lower_hex(&Sha256::digest(request.body));
        let empty_hash = lower_hex(&Sha256::digest(b""));
        let payload_hash = request.header("x-log-content-sha256").unwrap_or(&body_hash);
        // The empty-body hash stands for "payload not hashed" (the Go SDK's
        // `SignWithOption(computeContentHash=false)`).
        if payload_hash != body_hash && payload_hash != empty_hash {
            return Err(SlsError::new(
                401,
                "SignatureNotMatch",
                "x-log-content-sha256 is not the SHA-256 of the body",
            ));
        }
        let canonical = canonical(request, payload_hash);
        let scope = format!("{}/{}/sls/aliyun_v4_request", claim.date, claim.region);
        let string_to_sign = format!(
            "SLS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
            lower_hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut signing_key = mac(
            format!("aliyun_v4{}", key.secret).as_bytes(),
            claim.date.as_bytes(),
        );
        for step in [claim.region, "sls", "aliyun_v4_request"] {
            signing_key = mac(&signing_key, step.as_bytes());
        }
        let expected = lower_hex(&mac(&signing_key, string_to_sign.as_bytes()));
        if same(&expected, claim.signature) {
            Ok(())
        } else {
            Err(SlsError::new(
                401,
                "SignatureNotMatch",
                format!(
                    "v4 signature of access key `{}` does not match: the server signed {canonical:?}",
                    claim.id
                ),
            ))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn key(id: &str, secret: &str) -> AccessKey {
            AccessKey {
                id: id.into(),
                secret: secret.into(),
                security_token: None,
                expires_at: None,
            }
        }

        #[test]
        fn dates_parse() {
            assert_eq!(
                parse_date_time("20220808T032330Z"),
                Some(UNIX_EPOCH + Duration::from_secs(1_659_929_010))
            );
            assert_eq!(parse_date_time("19700101T000000Z"), Some(UNIX_EPOCH));
            assert_eq!(parse_date_time("2022-08-08T03:23Z"), None);
            assert_eq!(parse_date_time("20221308T032330Z"), None);
        }

        /// The first vector of aliyun-log-go-sdk `signature_v4_test.go` `TestSignV4Case1`
        /// (also aliyun-log-python-sdk `test_auth.py` `test_sign_post_logstores` and
        /// aliyun-log-java-sdk `SignerV4Test`), checked from the server's side.
        #[test]
        fn accepts_the_sdk_vector_and_refuses_changes() {
            let body = b"adasd= -asd zcas";
            let sha = lower_hex(&Sha256::digest(body));
            let authorization = "SLS4-HMAC-SHA256 Credential=acsddda21dsd/20220808/cn-hangzhou/sls/aliyun_v4_request,Signature=a98f5632e93836e63839cd836a54055f480020a9364ca944e2d34f2eb9bf1bed";
            let headers = [
                ("hello", "world"),
                ("hello-Text", "a12X- "),
                ("x-log-test", "het123"),
                ("x-acs-ppp", "dds"),
                ("x-log-date", "20220808T032330Z"),
                ("x-log-content-sha256", sha.as_str()),
                ("Content-Length", "16"),
                ("authorization", authorization),
            ];
            let query: Vec<(String, String)> =
                [(" abc", "efg"), (" agc ", ""), ("", "efg"), ("A-bc", "eFg")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
            let request = Received {
                method: "POST",
                path: "/logstores",
                query: &query,
                headers: &headers,
                body,
            };
            let keys = [key("acsddda21dsd", "zxasdasdasw2")];
            let lookup = |id: &str| keys.iter().find(|k| k.id == id);
            let signed_at = UNIX_EPOCH + Duration::from_secs(1_659_929_010);
            assert_eq!(
                verify(lookup, &request, signed_at + Duration::from_secs(60)),
                Ok(())
            );

            let late = verify(lookup, &request, signed_at + Duration::from_secs(3600)).unwrap_err();
            assert_eq!(late.code, "RequestTimeExpired");
            let wrong_key = [key("acsddda21dsd", "other")];
            let e = verify(
                |id: &str| wrong_key.iter().find(|k| k.id == id),
                &request,
                signed_at,
            )
            .unwrap_err();
            assert_eq!((e.status, e.code.as_ref()), (401, "SignatureNotMatch"));
            assert!(!e.message.contains("zxasdasdasw2"), "{}", e.message);
            let tampered = Received {
                method: "GET",
                ..request
            };
            assert_eq!(
                verify(lookup, &tampered, signed_at).unwrap_err().code,
                "SignatureNotMatch"
            );
            let other_body = Received {
                body: b"x",
                ..request
            };
            assert_eq!(
                verify(lookup, &other_body, signed_at).unwrap_err().code,
                "SignatureNotMatch"
            );
            let e = verify(|_: &str| None, &request, signed_at).unwrap_err();
            assert_eq!(e.code, "Unauthorized");
        }

        #[test]
        fn malformed_authorization_is_unauthorized() {
            for value in [
                "SLS4-HMAC-SHA256 Credential=id/20220808/cn-hangzhou/sls,Signature=ab",
                "SLS4-HMAC-SHA256 Signature=ab",
                "SLS4-HMAC-SHA256 Credential=id/2022/cn-hangzhou/sls/aliyun_v4_request,Signature=ab",
            ] {
                assert!(claim(value).is_none(), "{value}");
            }
            let c = claim("SLS4-HMAC-SHA256 Credential=id/20220808/cn-hangzhou/sls/aliyun_v4_request, Signature=ab").unwrap();
            assert_eq!(
                (c.id, c.date, c.region, c.signature),
                ("id", "20220808", "cn-hangzhou", "ab")
            );
        }
    }
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
    fn sts_tokens_must_match_and_not_expire() {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let sts = AccessKey {
            id: "STS.1".into(),
            secret: "s".into(),
            security_token: Some("tok-1".into()),
            expires_at: Some(now),
        };
        let earlier = now - std::time::Duration::from_secs(1);
        assert_eq!(check_token(&sts, Some("tok-1"), earlier), Ok(()));
        let e = check_token(&sts, Some("tok-1"), now).unwrap_err();
        assert_eq!((e.status, e.code.as_ref()), (401, "Unauthorized"));
        assert!(e.message.contains("has expired"), "{}", e.message);
        let e = check_token(&sts, Some("tok-2"), earlier).unwrap_err();
        assert_eq!((e.status, e.code.as_ref()), (401, "Unauthorized"));
        assert!(e.message.contains("is invalid"), "{}", e.message);
        assert_eq!(
            check_token(&sts, None, earlier).unwrap_err().code,
            "Unauthorized"
        );
        let plain = AccessKey {
            security_token: None,
            expires_at: None,
            ..sts
        };
        assert_eq!(check_token(&plain, Some("anything"), now), Ok(()));
    }

    #[test]
    fn constant_time_compare() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
