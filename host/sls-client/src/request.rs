//! One request to the service: where it goes (the project in the host name, or in a `Host`
//! header for IP endpoints), its URL, and its headers, signed v1 or v4.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::SystemTime;

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use crate::credentials::CredentialsProvider;
use crate::error::{SlsError, Target};
use crate::sign::{self, Credentials, Signature};

/// The API version every SDK sends.
const API_VERSION: &str = "0.6.0";

/// Whether and how requests are signed.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Unsigned, for a local server that does not authenticate.
    Anonymous,
    /// Signed with the provider's current credentials.
    Signed {
        provider: CredentialsProvider,
        signature: Signature,
    },
}

/// A successful answer.
pub(super) struct Answer {
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) request_id: String,
}

impl Answer {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Characters kept as they are in query values and path segments (RFC 3986 unreserved).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where requests go and which `Host` they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route {
    /// `scheme://host[:port]` to connect to.
    pub(super) base: String,
    /// The `Host` header, when it differs from the connected host (IP endpoints).
    pub(super) host_header: Option<String>,
    /// The endpoint as configured, for messages.
    pub(super) endpoint: String,
}

impl Route {
    pub(super) fn new(endpoint: &str, project: &str) -> Result<Route, SlsError> {
        let bad = |reason: &str| SlsError::Endpoint {
            endpoint: holo_common::redact::hide_userinfo(endpoint),
            reason: reason.to_owned(),
        };
        let trimmed = endpoint.trim();
        if trimmed.is_empty() {
            return Err(bad(
                "it is empty; give e.g. `https://ap-northeast-1.log.aliyuncs.com`",
            ));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| {
            bad("it is not a URL; give e.g. `https://ap-northeast-1.log.aliyuncs.com`")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme must be `http` or `https`"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "give only scheme, host and port, without a path or query",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials do not belong in the endpoint: use ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            ));
        }
        let mut host = url
            .host_str()
            .ok_or_else(|| bad("it names no host"))?
            .to_ascii_lowercase();
        // The project's own host given as the endpoint (as the console shows it): the
        // project goes in front again below, so it comes off here. Only for a service
        // host, `{project}.{region}.log.aliyuncs.com`: elsewhere a first label that equals
        // the project may be the endpoint's own.
        if let Some(rest) = host.strip_prefix(&format!("{}.", project.to_ascii_lowercase()))
            && rest.ends_with(".log.aliyuncs.com")
            && rest.split('.').count() >= 4
        {
            host = rest.to_owned();
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let scheme = url.scheme();
        let by_address = host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok();
        let shown = format!("{scheme}://{host}{port}");
        Ok(if by_address {
            Route {
                base: shown.clone(),
                host_header: Some(format!("{project}.{host}{port}")),
                endpoint: shown,
            }
        } else {
            Route {
                base: format!("{scheme}://{project}.{host}{port}"),
                host_header: None,
                endpoint: shown,
            }
        })
    }
}

impl Route {
    /// The `Host` header the requests carry: `{project}.{host}[:port]`.
    pub(super) fn host(&self) -> String {
        match &self.host_header {
            Some(host) => host.clone(),
            None => self
                .base
                .split_once("://")
                .map_or(self.base.as_str(), |(_, host)| host)
                .to_owned(),
        }
    }
}

/// The id and the token travel in headers: refuse what would make an invalid one, rather
/// than send a request the service can only refuse.
pub(super) fn check_header_value(
    value: &str,
    what: &'static str,
    variable: &'static str,
) -> Result<(), SlsError> {
    let visible = !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic());
    if visible {
        Ok(())
    } else {
        Err(SlsError::Credentials { what, variable })
    }
}

/// A project name must be one DNS label: it becomes the first label of the host.
pub(super) fn valid_project(project: &str) -> bool {
    (1..=63).contains(&project.len())
        && project
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !project.starts_with('-')
        && !project.ends_with('-')
}

/// One call to make (and perhaps retry).
pub(super) struct Call<'a> {
    pub(super) op: &'static str,
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(&'static str, &'a str)>,
    /// JSON body.
    pub(super) body: Option<Bytes>,
    /// Ask for a protobuf body, compressed with LZ4.
    pub(super) protobuf: bool,
    pub(super) target: Target,
}

impl Call<'_> {
    /// A call of a JSON API: `body` (if any) sent as JSON, no query, a JSON answer.
    pub(super) fn json(
        op: &'static str,
        method: Method,
        path: String,
        body: Option<serde_json::Value>,
        target: Target,
    ) -> Call<'static> {
        Call {
            op,
            method,
            path,
            query: Vec::new(),
            body: body.map(|b| Bytes::from(b.to_string())),
            protobuf: false,
            target,
        }
    }
}

/// The headers of one try, signed when there are credentials: v1 with `Date` and
/// `Content-MD5`, or v4 with `x-log-date`, `x-log-content-sha256` and `Host` (see
/// [`sign::v4`]).
pub(super) fn headers(
    route: &Route,
    auth: &Auth,
    call: &Call<'_>,
    body: &[u8],
    now: SystemTime,
    credentials: Option<&Credentials>,
) -> HeaderMap {
    let v4_region = match auth {
        Auth::Signed {
            signature: Signature::V4 { region },
            ..
        } if credentials.is_some() => Some(region.as_str()),
        _ => None,
    };
    let date = httpdate::fmt_http_date(now);
    let mut headers: Vec<(&'static str, String)> = vec![
        ("x-log-apiversion", API_VERSION.to_owned()),
        ("x-log-bodyrawsize", body.len().to_string()),
    ];
    if v4_region.is_none() {
        headers.push(("date", date.clone()));
    }
    let content_type = if call.body.is_some() {
        "application/json"
    } else {
        ""
    };
    let md5 = if body.is_empty() || v4_region.is_some() {
        String::new()
    } else {
        sign::content_md5(body)
    };
    if !content_type.is_empty() {
        headers.push(("content-type", content_type.to_owned()));
    }
    if !md5.is_empty() {
        headers.push(("content-md5", md5.clone()));
    }
    if call.protobuf {
        headers.push(("accept", "application/x-protobuf".to_owned()));
        headers.push(("accept-encoding", "lz4".to_owned()));
    }
    if v4_region.is_some() {
        // v4 signs the Host header: send exactly the one signed.
        headers.push(("host", route.host()));
    } else if let Some(host) = &route.host_header {
        headers.push(("host", host.clone()));
    }
    let authorization = credentials.map(|credentials| {
        let signed = Signed {
            call,
            body,
            now,
            date: &date,
            md5: &md5,
            content_type,
        };
        match v4_region {
            Some(region) => signed.v4(credentials, region, &mut headers),
            None => signed.v1(credentials, &mut headers),
        }
    });
    let mut map = HeaderMap::with_capacity(headers.len() + 1);
    let secret_headers = ["x-acs-security-token"];
    for (name, value) in headers {
        // Values are ASCII we built ourselves, or the id and token checked by `new`.
        if let Ok(mut value) = HeaderValue::from_str(&value) {
            value.set_sensitive(secret_headers.contains(&name));
            map.insert(HeaderName::from_static(name), value);
        }
    }
    if let Some(Ok(mut value)) = authorization.map(|a| HeaderValue::from_str(&a)) {
        // Keeps the signature out of any Debug print of the request.
        value.set_sensitive(true);
        map.insert(reqwest::header::AUTHORIZATION, value);
    }
    map
}

/// What a signature covers of one try.
struct Signed<'a> {
    call: &'a Call<'a>,
    body: &'a [u8],
    now: SystemTime,
    date: &'a str,
    md5: &'a str,
    content_type: &'a str,
}

impl Signed<'_> {
    /// Signature v4: adds `x-log-date` and `x-log-content-sha256`; returns `Authorization`.
    fn v4(
        &self,
        credentials: &Credentials,
        region: &str,
        headers: &mut Vec<(&'static str, String)>,
    ) -> String {
        if let Some(token) = &credentials.security_token {
            headers.push(("x-acs-security-token", token.clone()));
        }
        let date_time = sign::v4::date_time(self.now);
        let sha = if self.body.is_empty() {
            sign::v4::EMPTY_SHA256.to_owned()
        } else {
            sign::v4::content_sha256(self.body)
        };
        headers.push(("x-log-date", date_time.clone()));
        headers.push(("x-log-content-sha256", sha.clone()));
        let request = sign::v4::Request {
            method: self.call.method.as_str(),
            path: &self.call.path,
            query: &self.call.query,
            date_time: &date_time,
            content_sha256: &sha,
        };
        sign::v4::authorization(
            credentials,
            region,
            &request,
            headers.iter().map(|(k, v)| (*k, v.as_str())),
        )
    }

    /// Signature v1: adds `x-log-signaturemethod`; returns `Authorization`.
    fn v1(&self, credentials: &Credentials, headers: &mut Vec<(&'static str, String)>) -> String {
        headers.push(("x-log-signaturemethod", "hmac-sha1".to_owned()));
        if let Some(token) = &credentials.security_token {
            headers.push(("x-acs-security-token", token.clone()));
        }
        let text = sign::string_to_sign(
            &sign::Request {
                method: self.call.method.as_str(),
                content_md5: self.md5,
                content_type: self.content_type,
                date: self.date,
                path: &self.call.path,
            },
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            &self.call.query,
        );
        sign::authorization(credentials, &text)
    }
}

pub(super) fn segment(name: &str) -> String {
    utf8_percent_encode(name, ENCODE).to_string()
}

pub(super) fn shard_path(logstore: &str, shard: u32) -> String {
    format!("/logstores/{}/shards/{shard}", segment(logstore))
}

pub(super) fn group_path(logstore: &str, group: &str) -> String {
    format!(
        "/logstores/{}/consumergroups/{}",
        segment(logstore),
        segment(group)
    )
}

/// `base` + `path` + the percent-encoded query (cursors are base64: `+`, `/`, `=` escaped).
pub(super) fn request_url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = format!("{base}{path}");
    for (i, (k, v)) in query.iter().enumerate() {
        let sep = if i == 0 { '?' } else { '&' };
        let _ = write!(
            url,
            "{sep}{}={}",
            utf8_percent_encode(k, ENCODE),
            utf8_percent_encode(v, ENCODE)
        );
    }
    url
}
