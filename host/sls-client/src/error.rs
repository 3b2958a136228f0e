//! Errors of the Log Service client: each names the call and its subject (project, logstore,
//! shard, consumer group) and, when the service refused, its HTTP status, error code and
//! request id. Secrets never appear: the access key secret, the security token and the
//! signature are not part of any variant.

use std::fmt;

pub use holo_common::errors::BoxError;

/// What a call was about: its project and, when relevant, logstore, shard and consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    pub project: String,
    pub logstore: Option<String>,
    pub shard: Option<u32>,
    pub consumer_group: Option<String>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "project `{}`", self.project)?;
        if let Some(logstore) = &self.logstore {
            write!(f, ", logstore `{logstore}`")?;
        }
        if let Some(shard) = self.shard {
            write!(f, ", shard {shard}")?;
        }
        if let Some(group) = &self.consumer_group {
            write!(f, ", consumer group `{group}`")?;
        }
        Ok(())
    }
}

/// A failed Log Service call.
#[derive(Debug, thiserror::Error)]
pub enum SlsError {
    #[error("log service endpoint `{endpoint}` is not valid: {reason}")]
    Endpoint { endpoint: String, reason: String },

    #[error(
        "log service project name `{project}` is not valid: use 1 to 63 of a-z, 0-9 and `-`, not starting or ending with `-`"
    )]
    ProjectName { project: String },

    #[error(
        "the {what} contains characters that cannot go in an HTTP header: check {variable} for stray spaces, quotes or line breaks"
    )]
    Credentials {
        what: &'static str,
        variable: &'static str,
    },

    #[error("cannot set up the HTTP client for the log service")]
    HttpClient { source: reqwest::Error },

    #[error("{op} on {target} was not sent: there are no credentials to sign it with")]
    CredentialsUnavailable {
        op: &'static str,
        target: Box<Target>,
        source: crate::credentials::CredentialsError,
    },

    #[error(
        "{op} on {target} could not reach the log service at {endpoint}: check the endpoint and the network"
    )]
    Transport {
        op: &'static str,
        target: Box<Target>,
        endpoint: String,
        source: reqwest::Error,
    },

    #[error(
        "{op} on {target} was refused by the log service with {status} {}: {message} (request id {request_id}){}",
        shown_code(.code),
        hint(.code)
    )]
    Service {
        op: &'static str,
        target: Box<Target>,
        status: u16,
        /// The service's `errorCode`, as sent (empty when the answer had none).
        code: String,
        message: String,
        request_id: String,
    },

    #[error(
        "{op} on {target}: the log service's answer is not valid: {detail} (request id {request_id})"
    )]
    Response {
        op: &'static str,
        target: Box<Target>,
        detail: String,
        request_id: String,
        source: Option<BoxError>,
    },

    #[error(
        "PullLogs on {target} at cursor `{cursor}` returned a corrupt body: {detail} (request id {request_id}); the data at this cursor cannot be read"
    )]
    Corrupt {
        target: Box<Target>,
        cursor: String,
        detail: String,
        request_id: String,
        source: Option<BoxError>,
    },
}

fn shown_code(code: &str) -> &str {
    if code.is_empty() {
        "no error code"
    } else {
        code
    }
}

/// What to do about a refusal, for the codes where the answer is known.
fn hint(code: &str) -> &'static str {
    match normalize(code).as_str() {
        "SignatureNotMatch"
        | "InvalidAccessKeyId"
        | "AccessKeyIdNotFound"
        | "AccessKeyNotFound" => {
            ": check the access key id and secret (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET)"
        }
        "Unauthorized" | "AccessDenied" | "Forbidden" => {
            ": check that the access key's RAM policy allows this call (e.g. log:ListShards, log:GetCursorOrData, log:*ConsumerGroup*) on this project and logstore"
        }
        "SecurityTokenExpired"
        | "SecurityToken.Expired"
        | "InvalidSecurityToken"
        | "SecurityTokenNotMatch" => {
            ": renew the STS security token (ALIBABA_CLOUD_SECURITY_TOKEN)"
        }
        "RequestTimeExpired" => {
            ": check this machine's clock (the service allows 15 minutes of skew)"
        }
        "ProjectNotExist" => {
            ": check the project name and that the endpoint is in the project's region"
        }
        "LogStoreNotExist" => ": check the logstore name",
        "ShardNotExist" => ": list the logstore's shards again",
        "ConsumerGroupNotExist" => ": create the consumer group first",
        "InvalidCursor" => {
            ": the cursor is outside the shard's data (expired by the logstore's TTL?); start again from a checkpoint, `begin`, `end` or a time"
        }
        _ => "",
    }
}

/// A code with the spellings some SDKs and server versions use made canonical
/// (`ShardNotExsit` → `ShardNotExist`).
pub fn normalize(code: &str) -> String {
    match code.strip_suffix("NotExsit") {
        Some(stem) => format!("{stem}NotExist"),
        None => code.to_owned(),
    }
}

/// Codes worth retrying: quotas and transient server trouble.
const RETRIABLE_CODES: &[&str] = &[
    "WriteQuotaExceed",
    "ReadQuotaExceed",
    "ShardWriteQuotaExceed",
    "ShardReadQuotaExceed",
    "ServerBusy",
    "InternalServerError",
    "RequestTimeout",
];

impl SlsError {
    /// Whether trying the same call again may succeed: connection errors and timeouts, 5xx,
    /// 429, quota and busy codes. Authentication, missing resources, bad cursors and corrupt
    /// bodies are not retriable.
    pub fn is_retriable(&self) -> bool {
        match self {
            SlsError::Transport { source, .. } => !source.is_builder(),
            SlsError::CredentialsUnavailable { source, .. } => source.is_retriable(),
            SlsError::Service { status, code, .. } => {
                *status >= 500 || *status == 429 || RETRIABLE_CODES.contains(&code.as_str())
            }
            _ => false,
        }
    }

    /// The service's error code as sent, for a refused call.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlsError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the service refused with `code`, either spelling of `…NotExist` accepted.
    pub fn is_code(&self, code: &str) -> bool {
        self.code()
            .is_some_and(|c| c == code || normalize(c) == normalize(code))
    }

    /// The HTTP status of a refused call.
    pub fn status(&self) -> Option<u16> {
        match self {
            SlsError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service's request id, when an answer arrived.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            SlsError::Service { request_id, .. }
            | SlsError::Response { request_id, .. }
            | SlsError::Corrupt { request_id, .. } => Some(request_id),
            _ => None,
        }
    }

    /// The call's subject, for errors of a call.
    pub fn target(&self) -> Option<&Target> {
        match self {
            SlsError::Transport { target, .. }
            | SlsError::CredentialsUnavailable { target, .. }
            | SlsError::Service { target, .. }
            | SlsError::Response { target, .. }
            | SlsError::Corrupt { target, .. } => Some(target),
            _ => None,
        }
    }

    /// A project, logstore, shard, consumer group or consumer the call named does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code()
            .is_some_and(|c| normalize(c).ends_with("NotExist"))
    }

    /// The access key is wrong or not allowed to make the call.
    pub fn is_denied(&self) -> bool {
        self.code().is_some_and(|c| {
            matches!(
                normalize(c).as_str(),
                "Unauthorized"
                    | "AccessDenied"
                    | "Forbidden"
                    | "SignatureNotMatch"
                    | "InvalidAccessKeyId"
                    | "AccessKeyIdNotFound"
                    | "AccessKeyNotFound"
                    | "SecurityTokenExpired"
                    | "SecurityToken.Expired"
                    | "InvalidSecurityToken"
                    | "SecurityTokenNotMatch"
            )
        }) || self.status() == Some(401)
    }
}

impl SlsError {
    /// The service refused the credentials themselves, so fresh ones may pass: the codes
    /// aliyun-log-python-sdk `logclient.py` `_is_auth_err` answers with a credentials refresh
    /// (`Unauthorized`, `InvalidAccessKeyId[.NotFound]`, `SecurityToken.Expired`,
    /// `SecurityTokenExpired`, or a code or message naming `Unauthorized`, `InvalidAccessKeyId`
    /// or `SecurityToken`), and any 401 (aliyun-log-go-sdk `client.go` `IsTokenError`).
    pub fn is_auth_error(&self) -> bool {
        match self {
            SlsError::Service {
                status,
                code,
                message,
                ..
            } => {
                *status == 401
                    || ["Unauthorized", "InvalidAccessKeyId", "SecurityToken"]
                        .iter()
                        .any(|m| code.contains(m) || message.contains(m))
            }
            _ => false,
        }
    }
}

/// Parses an error answer: `{"errorCode","errorMessage","requestId"}`, or whatever the body
/// says when it is not that JSON (a proxy's page, say), cut short.
pub(crate) fn service_error(
    op: &'static str,
    target: Target,
    status: u16,
    header_request_id: Option<&str>,
    body: &[u8],
) -> SlsError {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "errorCode", default)]
        code: String,
        #[serde(rename = "errorMessage", default)]
        message: String,
        #[serde(rename = "requestId", default)]
        request_id: String,
    }
    let (code, message, body_request_id) = match serde_json::from_slice::<Answer>(body) {
        Ok(a) => (a.code, a.message, a.request_id),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let shown: String = text.chars().take(200).collect();
            let more = if shown.len() < text.len() { "…" } else { "" };
            let message = if shown.is_empty() {
                "the answer has no body".to_owned()
            } else {
                format!("{shown}{more}")
            };
            (String::new(), message, String::new())
        }
    };
    let request_id = header_request_id
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .unwrap_or(body_request_id);
    SlsError::Service {
        op,
        target: Box::new(target),
        status,
        code,
        message,
        request_id: if request_id.is_empty() {
            "unknown".to_owned()
        } else {
            request_id
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            project: "demo".into(),
            logstore: Some("orders".into()),
            shard: Some(1),
            consumer_group: None,
        }
    }

    fn refused(status: u16, code: &str) -> SlsError {
        let body = format!(r#"{{"errorCode":"{code}","errorMessage":"m","requestId":"R1"}}"#);
        service_error("PullLogs", target(), status, None, body.as_bytes())
    }

    #[test]
    fn parses_the_service_error_body() {
        let body = br#"{"errorCode":"LogStoreNotExist","errorMessage":"logstore orders does not exist","requestId":"5F3A"}"#;
        let e = service_error("ListShards", target(), 404, Some("HDR-ID"), body);
        assert_eq!(e.code(), Some("LogStoreNotExist"));
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.request_id(), Some("HDR-ID"));
        assert!(e.is_not_found());
        assert!(!e.is_retriable());
        let shown = e.to_string();
        assert_eq!(
            shown,
            "ListShards on project `demo`, logstore `orders`, shard 1 was refused by the log service with 404 LogStoreNotExist: logstore orders does not exist (request id HDR-ID): check the logstore name"
        );
        let e = service_error("ListShards", target(), 404, None, body);
        assert_eq!(e.request_id(), Some("5F3A"));
    }

    #[test]
    fn both_spellings_of_not_exist_match() {
        for code in ["ShardNotExsit", "ShardNotExist"] {
            let e = refused(404, code);
            assert!(e.is_code("ShardNotExist"), "{code}");
            assert!(e.is_code("ShardNotExsit"), "{code}");
            assert!(e.is_not_found(), "{code}");
            assert!(
                e.to_string().contains("list the logstore's shards again"),
                "{code}"
            );
        }
        let e = refused(400, "ConsumerNotExsit");
        assert!(e.is_code("ConsumerNotExist"));
        assert!(!e.is_code("ConsumerGroupNotExist"));
        assert_eq!(e.code(), Some("ConsumerNotExsit"));
    }

    #[test]
    fn retriable_codes_and_statuses() {
        for (status, code) in [
            (403, "WriteQuotaExceed"),
            (403, "ReadQuotaExceed"),
            (403, "ShardReadQuotaExceed"),
            (503, "ServerBusy"),
            (500, "InternalServerError"),
            (408, "RequestTimeout"),
            (502, ""),
            (429, "TooManyRequests"),
        ] {
            assert!(refused(status, code).is_retriable(), "{status} {code}");
        }
        for (status, code) in [
            (401, "Unauthorized"),
            (401, "SignatureNotMatch"),
            (404, "ProjectNotExist"),
            (400, "InvalidCursor"),
            (400, "ConsumerNotMatch"),
        ] {
            assert!(!refused(status, code).is_retriable(), "{status} {code}");
        }
    }

    #[test]
    fn denied_names_the_subject_the_code_and_what_to_do() {
        let e = refused(401, "Unauthorized");
        assert!(e.is_denied());
        let shown = e.to_string();
        assert!(shown.contains("project `demo`"), "{shown}");
        assert!(shown.contains("logstore `orders`"), "{shown}");
        assert!(shown.contains("Unauthorized"), "{shown}");
        assert!(shown.contains("RAM policy"), "{shown}");
        let shown = refused(401, "SignatureNotMatch").to_string();
        assert!(
            shown.contains("check the access key id and secret"),
            "{shown}"
        );
    }

    #[test]
    fn auth_errors_are_the_ones_a_fresh_key_may_pass() {
        for (status, code) in [
            (401, "SecurityToken.Expired"),
            (401, "SecurityTokenExpired"),
            (401, "Unauthorized"),
            (401, "InvalidAccessKeyId.NotFound"),
            (403, "InvalidAccessKeyId"),
            (401, "SignatureNotMatch"),
        ] {
            assert!(refused(status, code).is_auth_error(), "{status} {code}");
        }
        for (status, code) in [(403, "ReadQuotaExceed"), (404, "ProjectNotExist")] {
            assert!(!refused(status, code).is_auth_error(), "{status} {code}");
        }
        let e = refused(401, "SecurityToken.Expired");
        assert!(e.is_denied() && !e.is_retriable());
        assert!(
            e.to_string().contains("renew the STS security token"),
            "{e}"
        );
    }

    #[test]
    fn answer_that_is_not_json_is_kept_short() {
        let page = format!("<html>{}</html>", "x".repeat(1000));
        let e = service_error("GetCursor", target(), 502, None, page.as_bytes());
        assert_eq!(e.code(), Some(""));
        assert!(e.is_retriable());
        let shown = e.to_string();
        assert!(shown.contains("502 no error code: <html>xxx"), "{shown}");
        assert!(shown.len() < 400, "{shown}");
        assert!(shown.contains("request id unknown"), "{shown}");
        let e = service_error("GetCursor", target(), 500, None, b"");
        assert!(e.to_string().contains("the answer has no body"));
    }

    #[test]
    fn target_display_lists_what_is_known() {
        let t = Target {
            project: "p".into(),
            logstore: Some("l".into()),
            shard: None,
            consumer_group: Some("g".into()),
        };
        assert_eq!(
            t.to_string(),
            "project `p`, logstore `l`, consumer group `g`"
        );
        let t = Target {
            project: "p".into(),
            ..Default::default()
        };
        assert_eq!(t.to_string(), "project `p`");
    }
}
