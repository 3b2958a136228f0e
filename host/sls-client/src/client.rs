//! The HTTP calls of the read path and of consumer groups, signed (v1 or v4) and retried.
//!
//! Every call goes to `Host: {project}.{endpoint}`. With a host name endpoint the client
//! connects to that name; with an IP or `localhost` endpoint it connects to the address and
//! sends the project only in the `Host` header, as the SDKs do for IP endpoints.
//! Retriable failures (see [`SlsError::is_retriable`]) are tried again with exponential
//! backoff, each new try signed afresh. A call the service refuses as unauthenticated
//! ([`SlsError::is_auth_error`]) is tried once more with refreshed temporary credentials.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::credentials::{CredentialsProvider, Issued};
use crate::error::{SlsError, Target, service_error};
use crate::pull::PullLogs;
use crate::pull::decode_pull;
use crate::request::Auth;
use crate::request::{
    self, Answer, Call, Route, check_header_value, request_url, segment, shard_path, valid_project,
};
use crate::sign::{Credentials, Signature};
use holo_common::retry::Backoff;

/// The most log groups one PullLogs may ask for.
pub const MAX_PULL_COUNT: u32 = 1000;

/// How failed calls are retried: 5 tries, pauses from 200 ms doubling up to 5 s.
pub type RetryPolicy = Backoff;

fn default_retry() -> Backoff {
    Backoff {
        tries: 5,
        first: Duration::from_millis(200),
        max: Duration::from_secs(5),
    }
}

/// Where a shard starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorFrom {
    /// The oldest data still kept.
    Begin,
    /// Just after the newest data: only what arrives from now on.
    End,
    /// The first data the service received at or after these unix seconds.
    Time(i64),
}

/// One shard of a logstore, as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    pub id: u32,
    /// A read-only shard was split or merged: it gets no new data; read it to its end.
    pub readonly: bool,
    /// Hash range the shard covers (MD5 hex, 32 digits), begin inclusive.
    pub inclusive_begin_key: String,
    /// Hash range end, exclusive.
    pub exclusive_end_key: String,
    /// Unix seconds.
    pub create_time: i64,
}

/// A consumer group as ListConsumerGroup describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConsumerGroup {
    pub name: String,
    /// Seconds without a heartbeat after which a member is dropped.
    pub timeout: u32,
    /// Whether a split shard's children wait until it is read to its end.
    #[serde(default)]
    pub order: bool,
}

/// A consumer group's saved position in one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub shard: u32,
    /// A cursor; empty when none was saved.
    pub checkpoint: String,
    /// When it was saved, as the service reports it (microseconds since the epoch).
    pub update_time: i64,
    /// The consumer that saved it.
    pub consumer: String,
}

/// A client of one Log Service project. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SlsClient {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
pub(super) struct Inner {
    http: reqwest::Client,
    pub(super) route: Route,
    project: String,
    pub(super) auth: Auth,
    retry: RetryPolicy,
}

impl SlsClient {
    /// A client of `project` at `endpoint` (`https://ap-northeast-1.log.aliyuncs.com`, or
    /// `http://127.0.0.1:PORT` for a local server; `https://` is assumed without a scheme).
    /// Requests are signed (v1) with these credentials, or not signed without any.
    pub fn new(
        endpoint: &str,
        project: &str,
        credentials: Option<Credentials>,
    ) -> Result<SlsClient, SlsError> {
        if let Some(c) = &credentials {
            check_header_value(
                &c.access_key_id,
                "access key id",
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
            )?;
            if let Some(token) = &c.security_token {
                check_header_value(token, "security token", "ALIBABA_CLOUD_SECURITY_TOKEN")?;
            }
        }
        let auth = match credentials {
            Some(c) => Auth::Signed {
                provider: CredentialsProvider::fixed(c),
                signature: Signature::V1,
            },
            None => Auth::Anonymous,
        };
        Self::with_auth(endpoint, project, auth)
    }

    /// A client of `project` at `endpoint` that signs (or not) as `auth` says.
    pub fn with_auth(endpoint: &str, project: &str, auth: Auth) -> Result<SlsClient, SlsError> {
        if !valid_project(project) {
            return Err(SlsError::ProjectName {
                project: project.to_owned(),
            });
        }
        let route = Route::new(endpoint, project)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // PullLogs of 1000 large groups can take a while on a slow link.
            .timeout(Duration::from_secs(60))
            // The service closes idle connections after about a minute; leave before it does.
            .pool_idle_timeout(Duration::from_secs(55))
            .user_agent(concat!("holo-host/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| SlsError::HttpClient { source })?;
        Ok(SlsClient {
            inner: Arc::new(Inner {
                http,
                route,
                project: project.to_owned(),
                auth,
                retry: default_retry(),
            }),
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> SlsClient {
        Arc::make_mut(&mut self.inner).retry = retry;
        self
    }

    pub fn project(&self) -> &str {
        &self.inner.project
    }

    /// Whether and how requests are signed.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The endpoint as configured (scheme, host, port), for messages.
    pub fn endpoint(&self) -> &str {
        &self.inner.route.endpoint
    }

    pub(super) fn target(&self, logstore: &str, shard: Option<u32>, group: Option<&str>) -> Target {
        Target {
            project: self.inner.project.clone(),
            logstore: Some(logstore.to_owned()),
            shard,
            consumer_group: group.map(str::to_owned),
        }
    }

    /// ListShards: every shard of the logstore, read-write and read-only.
    pub async fn list_shards(&self, logstore: &str) -> Result<Vec<Shard>, SlsError> {
        #[derive(Deserialize)]
        struct Item {
            #[serde(rename = "shardID")]
            id: u32,
            #[serde(default)]
            status: String,
            #[serde(rename = "inclusiveBeginKey", default)]
            begin: String,
            #[serde(rename = "exclusiveEndKey", default)]
            end: String,
            #[serde(rename = "createTime", default)]
            create_time: i64,
        }
        let call = Call {
            op: "ListShards",
            method: Method::GET,
            path: format!("/logstores/{}/shards", segment(logstore)),
            query: Vec::new(),
            body: None,
            protobuf: false,
            target: self.target(logstore, None, None),
        };
        let items: Vec<Item> = self.call_json(&call).await?;
        Ok(items
            .into_iter()
            .map(|i| Shard {
                id: i.id,
                readonly: i.status.eq_ignore_ascii_case("readonly"),
                inclusive_begin_key: i.begin,
                exclusive_end_key: i.end,
                create_time: i.create_time,
            })
            .collect())
    }

    /// GetCursor: the cursor of a shard at its beginning, its end, or a time.
    pub async fn get_cursor(
        &self,
        logstore: &str,
        shard: u32,
        from: CursorFrom,
    ) -> Result<String, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            cursor: String,
        }
        let from = match from {
            CursorFrom::Begin => "begin".to_owned(),
            CursorFrom::End => "end".to_owned(),
            CursorFrom::Time(secs) => secs.to_string(),
        };
        let call = Call {
            op: "GetCursor",
            method: Method::GET,
            path: shard_path(logstore, shard),
            query: vec![("type", "cursor"), ("from", &from)],
            body: None,
            protobuf: false,
            target: self.target(logstore, Some(shard), None),
        };
        Ok(self.call_json::<Body>(&call).await?.cursor)
    }

    /// GetCursorTime: when the service received the data at `cursor` (unix seconds).
    pub async fn get_cursor_time(
        &self,
        logstore: &str,
        shard: u32,
        cursor: &str,
    ) -> Result<i64, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            cursor_time: i64,
        }
        let call = Call {
            op: "GetCursorTime",
            method: Method::GET,
            path: shard_path(logstore, shard),
            query: vec![("type", "cursor_time"), ("cursor", cursor)],
            body: None,
            protobuf: false,
            target: self.target(logstore, Some(shard), None),
        };
        Ok(self.call_json::<Body>(&call).await?.cursor_time)
    }

    /// PullLogs: up to `count` log groups (1 to [`MAX_PULL_COUNT`]) from `cursor`, stopping
    /// before `end_cursor` when given. Caught up when `next_cursor == cursor`.
    pub async fn pull_logs(
        &self,
        logstore: &str,
        shard: u32,
        cursor: &str,
        count: u32,
        end_cursor: Option<&str>,
    ) -> Result<PullLogs, SlsError> {
        let count_text = count.to_string();
        let mut query = vec![("type", "log"), ("cursor", cursor), ("count", &count_text)];
        if let Some(end) = end_cursor {
            query.push(("end_cursor", end));
        }
        let call = Call {
            op: "PullLogs",
            method: Method::GET,
            path: shard_path(logstore, shard),
            query,
            body: None,
            protobuf: true,
            target: self.target(logstore, Some(shard), None),
        };
        let answer = self.call(&call).await?;
        let pulled = decode_pull(&call.target, cursor, &answer)?;
        Ok(pulled)
    }

    pub(super) async fn call_json<T: DeserializeOwned>(
        &self,
        call: &Call<'_>,
    ) -> Result<T, SlsError> {
        let answer = self.call(call).await?;
        serde_json::from_slice(&answer.body).map_err(|e| SlsError::Response {
            op: call.op,
            target: Box::new(call.target.clone()),
            detail: "the body is not the JSON this call returns".to_owned(),
            request_id: answer.request_id.clone(),
            source: Some(Box::new(e)),
        })
    }

    /// Sends `call`, retrying retriable failures with backoff. A call refused as
    /// unauthenticated is sent once more with credentials fetched anew, as
    /// aliyun-log-python-sdk `logclient.py` `_send` does (`_is_auth_err`, then
    /// `_replace_credentials` and `continue`); long-lived keys get no second try.
    pub(super) async fn call(&self, call: &Call<'_>) -> Result<Answer, SlsError> {
        let retry = self.inner.retry;
        let what = format!("log service call {} on {}", call.op, call.target);
        let mut attempts = retry.quiet_attempts(&what);
        let mut renewed: Option<Issued> = None;
        let mut refusal_retried = false;
        loop {
            let issued = match renewed.take() {
                Some(fresh) => Ok(Some(fresh)),
                None => self.credentials(call).await,
            };
            let result = match issued {
                Ok(issued) => self
                    .send_once(call, issued.as_ref())
                    .await
                    .map_err(|e| (e, issued)),
                Err(e) => Err((e, None)),
            };
            let e = match result {
                Ok(answer) => return Ok(answer),
                Err((e, Some(used))) if !refusal_retried && e.is_auth_error() => {
                    refusal_retried = true;
                    if let Some(fresh) = self.renew(&used).await {
                        tracing::info!(op = call.op, target = %call.target, code = e.code().unwrap_or(""),
                            "refused as unauthenticated; retrying with refreshed credentials");
                        renewed = Some(fresh);
                        continue;
                    }
                    e
                }
                Err((e, _)) => e,
            };
            let again = e.is_retriable();
            let reason = e.code().unwrap_or("connection").to_owned();
            attempts.next(e, again, &reason).await?;
        }
    }

    /// The credentials to sign the next try with; `None` when requests are not signed.
    async fn credentials(&self, call: &Call<'_>) -> Result<Option<Issued>, SlsError> {
        match &self.inner.auth {
            Auth::Anonymous => Ok(None),
            Auth::Signed { provider, .. } => {
                provider
                    .get()
                    .await
                    .map(Some)
                    .map_err(|source| SlsError::CredentialsUnavailable {
                        op: call.op,
                        target: Box::new(call.target.clone()),
                        source,
                    })
            }
        }
    }

    /// Newer credentials than `used`, after a refusal.
    async fn renew(&self, used: &Issued) -> Option<Issued> {
        match &self.inner.auth {
            Auth::Anonymous => None,
            Auth::Signed { provider, .. } => provider.renew_after_refusal(used).await,
        }
    }

    /// The headers of one try (see [`request::headers`]).
    fn headers(
        &self,
        call: &Call<'_>,
        body: &[u8],
        now: SystemTime,
        credentials: Option<&Credentials>,
    ) -> HeaderMap {
        let inner = &*self.inner;
        request::headers(&inner.route, &inner.auth, call, body, now, credentials)
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        issued: Option<&Issued>,
    ) -> Result<Answer, SlsError> {
        let inner = &*self.inner;
        let url = request_url(&inner.route.base, &call.path, &call.query);
        let body = call.body.clone().unwrap_or_default();
        let credentials = issued.map(|i| &*i.credentials);
        let headers = self.headers(call, &body, SystemTime::now(), credentials);
        let transport = |source| SlsError::Transport {
            op: call.op,
            target: Box::new(call.target.clone()),
            endpoint: inner.route.endpoint.clone(),
            source,
        };
        let response = inner
            .http
            .request(call.method.clone(), url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        let request_id = headers
            .get("x-log-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !status.is_success() {
            return Err(service_error(
                call.op,
                call.target.clone(),
                status.as_u16(),
                request_id.as_deref(),
                &body,
            ));
        }
        Ok(Answer {
            headers,
            body,
            request_id: request_id.unwrap_or_else(|| "unknown".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;
    use crate::proto::Log;
    use crate::proto::LogGroup;
    use crate::sign;
    use bytes::Bytes;
    use reqwest::header::{HeaderName, HeaderValue};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn host_name_endpoint_puts_the_project_in_the_url() {
        let route = Route::new("https://ap-northeast-1.log.aliyuncs.com", "demo").unwrap();
        assert_eq!(route.base, "https://demo.ap-northeast-1.log.aliyuncs.com");
        assert_eq!(route.host_header, None);
        assert_eq!(route.endpoint, "https://ap-northeast-1.log.aliyuncs.com");
        let route = Route::new("ap-northeast-1.log.aliyuncs.com/", "demo").unwrap();
        assert_eq!(route.base, "https://demo.ap-northeast-1.log.aliyuncs.com");
        let route = Route::new("http://sls.local:8080", "demo").unwrap();
        assert_eq!(route.base, "http://demo.sls.local:8080");
        assert_eq!(route.host_header, None);
    }

    /// The project's host given as the endpoint (`demo.ap-northeast-1.log.aliyuncs.com`)
    /// does not become `demo.demo.…`; a project named like the region is left alone.
    #[test]
    fn a_project_host_as_endpoint_loses_its_project() {
        for endpoint in [
            "https://demo.ap-northeast-1.log.aliyuncs.com",
            "DEMO.ap-northeast-1.log.aliyuncs.com",
        ] {
            let route = Route::new(endpoint, "demo").unwrap();
            assert_eq!(route.base, "https://demo.ap-northeast-1.log.aliyuncs.com");
            assert_eq!(route.endpoint, "https://ap-northeast-1.log.aliyuncs.com");
        }
        let route = Route::new("cn-hangzhou.log.aliyuncs.com", "cn-hangzhou").unwrap();
        assert_eq!(
            route.base,
            "https://cn-hangzhou.cn-hangzhou.log.aliyuncs.com"
        );
        let route = Route::new("http://demo.sls.local:8080", "demo").unwrap();
        assert_eq!(route.base, "http://demo.demo.sls.local:8080");
    }

    #[test]
    fn ip_and_localhost_endpoints_send_the_project_in_the_host_header() {
        let route = Route::new("http://127.0.0.1:39001", "demo").unwrap();
        assert_eq!(route.base, "http://127.0.0.1:39001");
        assert_eq!(route.host_header.as_deref(), Some("demo.127.0.0.1:39001"));
        let route = Route::new("http://LOCALHOST:8080/", "demo").unwrap();
        assert_eq!(route.base, "http://localhost:8080");
        assert_eq!(route.host_header.as_deref(), Some("demo.localhost:8080"));
        let route = Route::new("http://[::1]:8080", "demo").unwrap();
        assert_eq!(route.base, "http://[::1]:8080");
        assert_eq!(route.host_header.as_deref(), Some("demo.[::1]:8080"));
        let route = Route::new("https://10.0.0.5", "demo").unwrap();
        assert_eq!(route.host_header.as_deref(), Some("demo.10.0.0.5"));
    }

    #[test]
    fn bad_endpoints_and_projects_are_refused() {
        for endpoint in [
            "",
            "ftp://x.example.com",
            "https://x.example.com/path",
            "https://id:secret@x.example.com",
            "http://",
        ] {
            let e = Route::new(endpoint, "demo").unwrap_err();
            assert!(matches!(e, SlsError::Endpoint { .. }), "{endpoint}: {e}");
        }
        let e = Route::new("https://id:s3cret@x.example.com", "demo").unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(
            e.to_string().contains("https://<hidden>@x.example.com"),
            "{e}"
        );
        for project in ["", "Demo", "de_mo", "-demo", "demo-", &"a".repeat(64)] {
            assert!(
                matches!(
                    SlsClient::new("http://127.0.0.1:1", project, None),
                    Err(SlsError::ProjectName { .. })
                ),
                "{project}"
            );
        }
        assert!(SlsClient::new("http://127.0.0.1:1", "demo-1", None).is_ok());
        let bad_id = Credentials::new("id with space", "s3cret");
        let e = SlsClient::new("http://127.0.0.1:1", "demo", Some(bad_id)).unwrap_err();
        assert!(matches!(e, SlsError::Credentials { .. }), "{e}");
        assert!(e.to_string().contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{e}");
        let bad_token = Credentials {
            security_token: Some("XyZ\nQ9".into()),
            ..Credentials::new("id", "s3cret")
        };
        let e = SlsClient::new("http://127.0.0.1:1", "demo", Some(bad_token)).unwrap_err();
        assert!(!e.to_string().contains("XyZ"), "{e}");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            request_url(
                "http://h",
                "/logstores/a/shards/0",
                &[("type", "log"), ("cursor", "MTA+/w=="), ("consumer", "c 1")]
            ),
            "http://h/logstores/a/shards/0?type=log&cursor=MTA%2B%2Fw%3D%3D&consumer=c%201"
        );
        assert_eq!(request_url("http://h", "/x", &[]), "http://h/x");
    }

    fn client(endpoint: &str, credentials: Option<Credentials>) -> SlsClient {
        SlsClient::new(endpoint, "demo", credentials)
            .unwrap()
            .with_retry(RetryPolicy {
                tries: 3,
                first: Duration::from_millis(10),
                max: Duration::from_millis(20),
            })
    }

    /// A heartbeat of `c1` holding shards 0 and 1: a POST with a body and a query.
    fn heartbeat_call() -> Call<'static> {
        Call {
            op: "ConsumerGroupHeartBeat",
            method: Method::POST,
            path: "/logstores/orders/consumergroups/g".into(),
            query: vec![("type", "heartbeat"), ("consumer", "c1")],
            body: Some(Bytes::from_static(b"[0,1]")),
            protobuf: false,
            target: Target::default(),
        }
    }

    #[test]
    fn signed_headers_carry_a_verifiable_signature() {
        let credentials = Credentials {
            access_key_id: "id1".into(),
            access_key_secret: "s3cret".into(),
            security_token: Some("tok".into()),
        };
        let c = client("http://127.0.0.1:1", Some(credentials.clone()));
        let call = heartbeat_call();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = c.headers(&call, b"[0,1]", now, Some(&credentials));
        let get = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
        assert_eq!(get("date"), "Tue, 14 Nov 2023 22:13:20 GMT");
        assert_eq!(get("host"), "demo.127.0.0.1:1");
        assert_eq!(get("x-log-bodyrawsize"), "5");
        assert_eq!(get("content-md5"), sign::content_md5(b"[0,1]"));
        assert_eq!(get("x-acs-security-token"), "tok");
        let expected_text = "POST\n".to_owned()
            + &sign::content_md5(b"[0,1]")
            + "\napplication/json\nTue, 14 Nov 2023 22:13:20 GMT\n"
            + "x-acs-security-token:tok\nx-log-apiversion:0.6.0\nx-log-bodyrawsize:5\n"
            + "x-log-signaturemethod:hmac-sha1\n"
            + "/logstores/orders/consumergroups/g?consumer=c1&type=heartbeat";
        assert_eq!(
            get("authorization"),
            format!("LOG id1:{}", sign::signature("s3cret", &expected_text))
        );
        // Debug prints of the headers hide the signature and the token.
        let shown = format!("{headers:?}");
        assert!(
            !shown.contains(&sign::signature("s3cret", &expected_text)),
            "{shown}"
        );
        assert!(!shown.contains("tok\""), "{shown}");
        // And the client's Debug hides the secret.
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn v4_headers_carry_the_date_hash_host_and_signature() {
        let credentials = Credentials {
            security_token: Some("tok".into()),
            ..Credentials::new("id1", "s3cret")
        };
        let auth = Auth::Signed {
            provider: CredentialsProvider::fixed(credentials.clone()),
            signature: Signature::V4 {
                region: "cn-hangzhou".into(),
            },
        };
        let c = SlsClient::with_auth("https://cn-hangzhou.log.aliyuncs.com", "demo", auth).unwrap();
        let call = heartbeat_call();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = c.headers(&call, b"[0,1]", now, Some(&credentials));
        let get = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(get("x-log-date").as_deref(), Some("20231114T221320Z"));
        assert_eq!(
            get("x-log-content-sha256"),
            Some(sign::v4::content_sha256(b"[0,1]"))
        );
        assert_eq!(
            get("host").as_deref(),
            Some("demo.cn-hangzhou.log.aliyuncs.com")
        );
        assert_eq!(get("date"), None, "v4 sends no Date");
        assert_eq!(get("content-md5"), None, "v4 sends no Content-MD5");
        assert_eq!(get("x-log-signaturemethod"), None);
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .filter(|(k, _)| k != "authorization")
            .collect();
        let expected = sign::v4::authorization(
            &credentials,
            "cn-hangzhou",
            &sign::v4::Request {
                method: "POST",
                path: "/logstores/orders/consumergroups/g",
                query: &[("type", "heartbeat"), ("consumer", "c1")],
                date_time: "20231114T221320Z",
                content_sha256: &sign::v4::content_sha256(b"[0,1]"),
            },
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        );
        assert_eq!(get("authorization"), Some(expected));
        assert!(get("authorization").unwrap().starts_with(
            "SLS4-HMAC-SHA256 Credential=id1/20231114/cn-hangzhou/sls/aliyun_v4_request,Signature="
        ));
    }

    #[tokio::test]
    async fn no_credentials_fails_before_sending() {
        let home = tempfile::tempdir().unwrap();
        let env = crate::credentials::Env::from_pairs([
            ("HOME", home.path().display().to_string()),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_owned()),
        ]);
        let auth = Auth::Signed {
            provider: CredentialsProvider::chain(&env),
            signature: Signature::V1,
        };
        // Nothing listens there: an attempt to send would be a transport error.
        let e = SlsClient::with_auth("http://127.0.0.1:1", "demo", auth)
            .unwrap()
            .list_shards("orders")
            .await
            .unwrap_err();
        assert!(matches!(e, SlsError::CredentialsUnavailable { .. }), "{e}");
        assert!(!e.is_retriable());
        let shown = format!("{:#}", anyhow::Error::new(e));
        assert!(
            shown.starts_with("ListShards on project `demo`, logstore `orders` was not sent"),
            "{shown}"
        );
        assert!(shown.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{shown}");
        assert!(shown.contains("anonymous=true"), "{shown}");
    }

    #[test]
    fn client_and_its_calls_can_move_across_tasks() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let c = client("http://127.0.0.1:1", None);
        send_sync(&c);
        send(&c.pull_logs("orders", 0, "c", 1, None));
        send(&c.heartbeat("orders", "g", "c1", &[]));
        send(&c.update_checkpoint("orders", "g", "c1", 0, "c"));
    }

    #[test]
    fn unsigned_client_sends_no_authorization() {
        let c = client("http://127.0.0.1:1", None);
        let call = Call {
            op: "ListShards",
            method: Method::GET,
            path: "/logstores/orders/shards".into(),
            query: vec![],
            body: None,
            protobuf: false,
            target: Target::default(),
        };
        let headers = c.headers(&call, b"", SystemTime::now(), None);
        assert!(headers.get("authorization").is_none());
        assert!(headers.get("content-md5").is_none());
        assert_eq!(headers.get("x-log-bodyrawsize").unwrap(), "0");
    }

    fn answer(headers: &[(&'static str, &str)], body: Vec<u8>) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Answer {
            headers: map,
            body: Bytes::from(body),
            request_id: "REQ-1".into(),
        }
    }

    fn groups() -> Vec<LogGroup> {
        vec![LogGroup {
            logs: vec![Log {
                time: 1_700_000_000,
                time_ns: None,
                contents: vec![
                    ("id".into(), "1".into()),
                    ("book_name".into(), "ノルウェイの森".into()),
                ],
            }],
            topic: Some("orders".into()),
            source: Some("app".into()),
            tags: vec![("env".into(), "test".into())],
        }]
    }

    fn shard_target() -> Target {
        Target {
            project: "demo".into(),
            logstore: Some("orders".into()),
            shard: Some(1),
            consumer_group: None,
        }
    }

    #[test]
    fn lz4_zstd_and_plain_bodies_decode() {
        let raw = proto::encode_log_group_list(&groups());
        let size = raw.len().to_string();
        let lz4 = lz4_flex::block::compress(&raw);
        let zstd = zstd::bulk::compress(&raw, 1).unwrap();
        for (compression, body) in [("lz4", lz4), ("zstd", zstd), ("", raw.clone())] {
            let a = answer(
                &[
                    ("x-log-cursor", "MTAwMQ=="),
                    ("x-log-count", "1"),
                    ("x-log-bodyrawsize", &size),
                    ("x-log-compresstype", compression),
                ],
                body,
            );
            let pulled = decode_pull(&shard_target(), "MTAwMA==", &a).unwrap();
            assert_eq!(pulled.groups, groups(), "{compression}");
            assert_eq!(pulled.next_cursor, "MTAwMQ==");
            assert_eq!(pulled.count, 1);
            assert_eq!(pulled.raw_size, raw.len());
            assert!(!pulled.end_of_cursor);
        }
    }

    #[test]
    fn known_lz4_block_decodes() {
        // LZ4 as the service (and Python's `lz4.block.compress(d)[4:]`) sends it: a raw
        // block, no size prefix, the size in `x-log-bodyrawsize`.
        let raw = proto::encode_log_group_list(&[LogGroup {
            logs: vec![Log {
                time: 1,
                time_ns: None,
                contents: vec![("a".into(), "a".repeat(20))],
            }],
            ..Default::default()
        }]);
        let block = lz4_flex::block::compress(&raw);
        assert!(block.len() < raw.len(), "the repeated value compresses");
        assert_eq!(lz4_flex::block::decompress(&block, raw.len()).unwrap(), raw);
        let hand_made: Vec<u8> = {
            // Literal-only block: token (len << 4), then the bytes. Valid LZ4 for any input
            // of fewer than 15 bytes.
            let data = [0x0a, 0x04, 0x0a, 0x02, 0x08, 0x05];
            let mut b = vec![(data.len() as u8) << 4];
            b.extend_from_slice(&data);
            b
        };
        let a = answer(
            &[
                ("x-log-cursor", "Mg=="),
                ("x-log-bodyrawsize", "6"),
                ("x-log-compresstype", "lz4"),
            ],
            hand_made,
        );
        let pulled = decode_pull(&shard_target(), "MQ==", &a).unwrap();
        assert_eq!(pulled.groups.len(), 1);
        assert_eq!(pulled.groups[0].logs[0].time, 5);
        assert_eq!(pulled.count, 1, "count falls back to the groups read");
    }

    #[test]
    fn corrupt_bodies_name_shard_and_cursor() {
        let raw = proto::encode_log_group_list(&groups());
        let size = raw.len().to_string();
        type Case = (Vec<(&'static str, String)>, Vec<u8>, &'static str);
        let cases: Vec<Case> = vec![
            (
                vec![
                    ("x-log-compresstype", "lz4".into()),
                    ("x-log-bodyrawsize", size.clone()),
                ],
                vec![0xff; 12],
                "LZ4 block",
            ),
            (
                vec![("x-log-compresstype", "lz4".into())],
                lz4_flex::block::compress(&raw),
                "x-log-bodyrawsize",
            ),
            (
                vec![
                    ("x-log-compresstype", "lz4".into()),
                    ("x-log-bodyrawsize", "999999999".into()),
                ],
                lz4_flex::block::compress(&raw),
                "more than LZ4 can expand",
            ),
            (
                vec![
                    ("x-log-compresstype", "zstd".into()),
                    ("x-log-bodyrawsize", size.clone()),
                ],
                b"not zstd".to_vec(),
                "zstd frame",
            ),
            (
                vec![("x-log-compresstype", "gzip".into())],
                raw.clone(),
                "`gzip`",
            ),
            (
                vec![("x-log-bodyrawsize", "3".into())],
                vec![0x0a, 0x05, 0x01],
                "not a protobuf LogGroupList",
            ),
            (
                vec![("x-log-bodyrawsize", "5".into())],
                raw.clone(),
                "says 5",
            ),
        ];
        for (headers, body, needle) in cases {
            let mut all: Vec<(&'static str, &str)> = vec![("x-log-cursor", "next")];
            all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
            let e = decode_pull(&shard_target(), "Y3Vyc29y", &answer(&all, body)).unwrap_err();
            assert!(matches!(e, SlsError::Corrupt { .. }), "{needle}: {e}");
            assert!(!e.is_retriable());
            let shown = e.to_string();
            assert!(shown.contains(needle), "{needle}: {shown}");
            assert!(shown.contains("shard 1"), "{shown}");
            assert!(shown.contains("logstore `orders`"), "{shown}");
            assert!(shown.contains("cursor `Y3Vyc29y`"), "{shown}");
            assert!(shown.contains("REQ-1"), "{shown}");
        }
        let e = decode_pull(&shard_target(), "c", &answer(&[], raw)).unwrap_err();
        assert!(e.to_string().contains("x-log-cursor"), "{e}");
    }

    /// An answer without logs and with an empty (or no) `x-log-cursor` is caught up at the
    /// request's cursor, as the official consumer library reads it.
    #[test]
    fn an_empty_next_cursor_without_logs_is_caught_up() {
        for headers in [
            vec![("x-log-cursor", ""), ("x-log-bodyrawsize", "0")],
            vec![("x-log-bodyrawsize", "0")],
        ] {
            let pulled = decode_pull(&shard_target(), "Y3Vy", &answer(&headers, Vec::new()))
                .unwrap_or_else(|e| panic!("{headers:?}: {e}"));
            assert_eq!(pulled.next_cursor, "Y3Vy");
            assert!(pulled.groups.is_empty());
        }
    }

    #[test]
    fn end_of_cursor_is_reported() {
        let a = answer(
            &[
                ("x-log-cursor", "same"),
                ("x-log-bodyrawsize", "0"),
                ("x-log-end-of-cursor", "1"),
            ],
            Vec::new(),
        );
        let pulled = decode_pull(&shard_target(), "same", &a).unwrap();
        assert!(pulled.end_of_cursor);
        assert!(pulled.groups.is_empty());
        assert_eq!(pulled.count, 0);
    }

    /// A one-connection-per-answer HTTP server that replies with `answers` in turn and
    /// records the requests it saw.
    async fn canned_server(
        answers: Vec<Vec<u8>>,
    ) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            for answer in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                seen.push(String::from_utf8_lossy(&request).into_owned());
                socket.write_all(&answer).await.unwrap();
                socket.shutdown().await.unwrap();
            }
            seen
        });
        (format!("http://{addr}"), task)
    }

    fn http_answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut text = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    #[tokio::test]
    async fn pull_retries_a_busy_server_then_decodes_lz4() {
        let raw = proto::encode_log_group_list(&groups());
        let size = raw.len().to_string();
        let busy = http_answer(
            "503 Service Unavailable",
            &[("x-log-requestid", "R-busy")],
            br#"{"errorCode":"ServerBusy","errorMessage":"busy"}"#,
        );
        let ok = http_answer(
            "200 OK",
            &[
                ("x-log-cursor", "MTAwMQ=="),
                ("x-log-count", "1"),
                ("x-log-bodyrawsize", &size),
                ("x-log-compresstype", "lz4"),
            ],
            &lz4_flex::block::compress(&raw),
        );
        let (endpoint, server) = canned_server(vec![busy, ok]).await;
        let c = client(&endpoint, Some(Credentials::new("id1", "s3cret")));
        let pulled = c
            .pull_logs("orders", 1, "MTAwMA==", 100, None)
            .await
            .unwrap();
        assert_eq!(pulled.groups, groups());
        let seen = server.await.unwrap();
        assert_eq!(seen.len(), 2);
        let first = seen[0].to_ascii_lowercase();
        assert!(
            first.starts_with(
                "get /logstores/orders/shards/1?type=log&cursor=mtawma%3d%3d&count=100 http/1.1"
            ),
            "{first}"
        );
        assert!(first.contains("host: demo.127.0.0.1:"), "{first}");
        assert!(first.contains("accept-encoding: lz4"), "{first}");
        assert!(first.contains("accept: application/x-protobuf"), "{first}");
        assert!(first.contains("authorization: log id1:"), "{first}");
        assert!(!first.contains("s3cret"), "{first}");
    }

    #[tokio::test]
    async fn corrupt_pull_body_from_the_network_is_not_retried() {
        let bad = http_answer(
            "200 OK",
            &[
                ("x-log-cursor", "next"),
                ("x-log-bodyrawsize", "100"),
                ("x-log-compresstype", "lz4"),
                ("x-log-requestid", "R-bad"),
            ],
            &[0xf0, 0xff, 0xff, 0xff],
        );
        let (endpoint, server) = canned_server(vec![bad]).await;
        let e = client(&endpoint, None)
            .pull_logs("orders", 3, "Y3Vy", 10, None)
            .await
            .unwrap_err();
        assert!(matches!(e, SlsError::Corrupt { .. }), "{e}");
        let shown = e.to_string();
        assert!(
            shown.contains("shard 3") && shown.contains("`Y3Vy`"),
            "{shown}"
        );
        assert!(shown.contains("R-bad"), "{shown}");
        assert_eq!(server.await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_try_with_the_last_error() {
        let quota = |id: &str| {
            http_answer(
                "403 Forbidden",
                &[("x-log-requestid", id)],
                br#"{"errorCode":"ReadQuotaExceed","errorMessage":"shard read quota exceed"}"#,
            )
        };
        let (endpoint, server) = canned_server(vec![quota("R1"), quota("R2"), quota("R3")]).await;
        let e = client(&endpoint, None)
            .get_cursor("orders", 0, CursorFrom::Begin)
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("ReadQuotaExceed"));
        assert_eq!(e.request_id(), Some("R3"));
        assert_eq!(server.await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn refusal_is_not_retried_and_names_the_subject() {
        let denied = http_answer(
            "401 Unauthorized",
            &[("x-log-requestid", "R-401")],
            br#"{"errorCode":"Unauthorized","errorMessage":"denied by sts or ram, action: log:ListShards"}"#,
        );
        let (endpoint, server) = canned_server(vec![denied]).await;
        let e = client(&endpoint, Some(Credentials::new("id1", "s3cret")))
            .list_shards("orders")
            .await
            .unwrap_err();
        assert!(e.is_denied());
        let shown = e.to_string();
        assert!(
            shown.starts_with("ListShards on project `demo`, logstore `orders`"),
            "{shown}"
        );
        assert!(shown.contains("401 Unauthorized"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(server.await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn connection_refused_is_retried_then_reported() {
        // Bind then drop: nothing listens on the port afterwards.
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = client(&format!("http://127.0.0.1:{port}"), None)
            .list_shards("orders")
            .await
            .unwrap_err();
        assert!(matches!(e, SlsError::Transport { .. }), "{e}");
        assert!(e.is_retriable());
        let shown = e.to_string();
        assert!(
            shown.contains(&format!("http://127.0.0.1:{port}")),
            "{shown}"
        );
        assert!(shown.contains("check the endpoint"), "{shown}");
    }
}
