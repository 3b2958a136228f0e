//! Errors as the service returns them: HTTP status, `errorCode`, `errorMessage`.

use std::borrow::Cow;

/// One error response. The server adds `requestId` and the `x-log-requestid` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SlsError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub message: String,
}

impl SlsError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        SlsError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The status the service answers with for `code`, for errors injected by code only.
    pub fn default_status(code: &str) -> u16 {
        match code {
            "InternalServerError" => 500,
            "ServerBusy" | "ServiceUnavailable" => 503,
            // The help center error-code table: `500 RequestTimeout`.
            "RequestTimeout" => 500,
            c if c.ends_with("QuotaExceed") || c.ends_with("QuotaExceeded") => 403,
            "Unauthorized" | "SignatureNotMatch" => 401,
            c if c.ends_with("NotExist") => 404,
            _ => 400,
        }
    }

    pub fn project_not_exist(project: &str) -> Self {
        Self::new(
            404,
            "ProjectNotExist",
            format!("project `{project}` does not exist"),
        )
    }

    pub fn no_project() -> Self {
        Self::new(
            404,
            "ProjectNotExist",
            "the Host header names no project: send `Host: {project}.{endpoint}`",
        )
    }

    pub fn logstore_not_exist(project: &str, logstore: &str) -> Self {
        Self::new(
            404,
            "LogStoreNotExist",
            format!("logstore `{logstore}` does not exist in project `{project}`"),
        )
    }

    pub fn shard_not_exist(logstore: &str, shard: impl std::fmt::Display) -> Self {
        Self::new(
            404,
            "ShardNotExist",
            format!("shard `{shard}` does not exist in logstore `{logstore}`"),
        )
    }

    pub fn invalid_cursor(cursor: &str, why: &str) -> Self {
        Self::new(400, "InvalidCursor", format!("cursor `{cursor}` {why}"))
    }

    pub fn consumer_group_not_exist(logstore: &str, group: &str) -> Self {
        Self::new(
            404,
            "ConsumerGroupNotExist",
            format!("consumer group `{group}` does not exist in logstore `{logstore}`"),
        )
    }

    pub fn parameter(message: impl Into<String>) -> Self {
        Self::new(400, "ParameterInvalid", message)
    }

    pub fn body(message: impl Into<String>) -> Self {
        Self::new(400, "PostBodyInvalid", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "Unauthorized", message)
    }

    /// JSON body of the response.
    pub fn to_json(&self, request_id: &str) -> serde_json::Value {
        serde_json::json!({
            "errorCode": self.code,
            "errorMessage": self.message,
            "requestId": request_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_statuses_follow_the_service() {
        assert_eq!(SlsError::default_status("WriteQuotaExceed"), 403);
        assert_eq!(SlsError::default_status("ShardReadQuotaExceed"), 403);
        assert_eq!(SlsError::default_status("InternalServerError"), 500);
        assert_eq!(SlsError::default_status("ServerBusy"), 503);
        assert_eq!(SlsError::default_status("LogStoreNotExist"), 404);
        assert_eq!(SlsError::default_status("InvalidCursor"), 400);
    }

    #[test]
    fn json_body_has_the_three_fields() {
        let e = SlsError::shard_not_exist("orders", 9);
        let json = e.to_json("R1");
        assert_eq!(json["errorCode"], "ShardNotExist");
        assert_eq!(json["requestId"], "R1");
        assert!(json["errorMessage"].as_str().unwrap().contains("orders"));
    }
}
