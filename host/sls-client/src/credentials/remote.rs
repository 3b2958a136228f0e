//! Temporary credentials asked of a service: the ECS instance metadata service, STS
//! (`AssumeRoleWithOIDC`), or a credentials URI. Bodies of successful answers hold secrets and
//! never reach a message.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use super::files::OidcSettings;
use super::{CredentialsError, Env, Fetched};
use crate::sign::Credentials;

/// The metadata service of every ECS instance.
const DEFAULT_IMDS: &str = "http://100.100.100.200";
/// Lifetime asked for the IMDSv2 token: 6 hours (credentials-go `defaultMetadataTokenDuration`).
const IMDS_TOKEN_TTL: &str = "21600";
/// Role session lifetime asked of STS (credentials-go and credentials-python: 3600 s).
const DEFAULT_DURATION: u64 = 3600;

/// Form and query encoding: RFC 3986 unreserved kept.
const FORM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An HTTP client with these timeouts, not going through `HTTP_PROXY` when `direct` (the
/// metadata service is link-local: credentials-go uses a proxy only when told to).
fn http(
    origin: &str,
    connect: Duration,
    read: Duration,
    direct: bool,
) -> Result<reqwest::Client, CredentialsError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(connect + read)
        .user_agent(concat!("holo-host/", env!("CARGO_PKG_VERSION")));
    if direct {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| CredentialsError::Fetch {
        origin: origin.to_owned(),
        detail: "cannot set up an HTTP client".to_owned(),
        retriable: false,
        source: Some(Box::new(e)),
    })
}

/// The client for STS and a credentials URI: 5 s to connect, 10 s to answer (credentials-go
/// `oidc.go`, `uri.go`).
fn service_http(origin: &str) -> Result<reqwest::Client, CredentialsError> {
    http(
        origin,
        Duration::from_secs(5),
        Duration::from_secs(10),
        false,
    )
}

fn fetch_error(origin: &str, detail: impl Into<String>, retriable: bool) -> CredentialsError {
    CredentialsError::Fetch {
        origin: origin.to_owned(),
        detail: detail.into(),
        retriable,
        source: None,
    }
}

fn transport_error(origin: &str, what: &str, e: reqwest::Error) -> CredentialsError {
    CredentialsError::Fetch {
        origin: origin.to_owned(),
        detail: format!("{what} failed"),
        retriable: true,
        source: Some(Box::new(e)),
    }
}

/// Sends `request` and reads the whole answer; `what` names the step in messages.
async fn exchange(
    origin: &str,
    what: &str,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, bytes::Bytes), CredentialsError> {
    let answer = request
        .send()
        .await
        .map_err(|e| transport_error(origin, what, e))?;
    let status = answer.status();
    let body = answer
        .bytes()
        .await
        .map_err(|e| transport_error(origin, what, e))?;
    Ok((status, body))
}

/// A refusal's body, cut short (error answers hold no secrets).
fn shown(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// `2006-01-02T15:04:05Z`, the expiration format of all three services.
fn parse_expiration(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(SystemTime::from)
}

/// The fields all three answers share (Go: `ecsRAMRoleResponse`, `credentials`, `urlResponse`).
#[derive(Deserialize)]
struct KeyFields {
    #[serde(rename = "AccessKeyId")]
    id: Option<String>,
    #[serde(rename = "AccessKeySecret")]
    secret: Option<String>,
    #[serde(rename = "SecurityToken")]
    token: Option<String>,
    #[serde(rename = "Expiration")]
    expiration: Option<String>,
}

impl KeyFields {
    /// Checked credentials; `what` names the answer in messages (never its values).
    fn into_fetched(self, what: &str) -> Result<Fetched, String> {
        let (Some(id), Some(secret), Some(token)) = (self.id, self.secret, self.token) else {
            return Err(format!(
                "{what} lacks AccessKeyId, AccessKeySecret or SecurityToken"
            ));
        };
        let expires_at = self
            .expiration
            .as_deref()
            .and_then(parse_expiration)
            .ok_or_else(|| format!("{what} has no valid Expiration (`2006-01-02T15:04:05Z`)"))?;
        let header_safe = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic());
        if !header_safe(&id) || !header_safe(&token) || secret.is_empty() {
            return Err(format!(
                "{what} has an empty key, or an id or token that cannot go in an HTTP header"
            ));
        }
        Ok(Fetched {
            credentials: Credentials {
                access_key_id: id,
                access_key_secret: secret,
                security_token: Some(token),
            },
            expires_at: Some(expires_at),
        })
    }
}

/// The ECS answer: the key fields plus `Code: Success`.
fn parse_ecs(body: &[u8]) -> Result<Fetched, String> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Code")]
        code: Option<String>,
        #[serde(flatten)]
        key: KeyFields,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|_| "the metadata service's answer is not JSON".to_owned())?;
    if answer.code.as_deref() != Some("Success") {
        return Err(format!(
            "the metadata service answered Code `{}`, not `Success`",
            answer.code.unwrap_or_default()
        ));
    }
    answer.key.into_fetched("the metadata service's answer")
}

/// The STS answer: `{"RequestId", "AssumedRoleUser", "Credentials": {…}}`.
fn parse_sts(body: &[u8]) -> Result<Fetched, String> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Credentials")]
        credentials: Option<KeyFields>,
    }
    let answer: Answer =
        serde_json::from_slice(body).map_err(|_| "the STS answer is not JSON".to_owned())?;
    answer
        .credentials
        .ok_or_else(|| "the STS answer has no Credentials".to_owned())?
        .into_fetched("the STS answer")
}

/// An STS refusal: `{"RequestId","HostId","Code","Message"}`.
fn sts_refusal(status: u16, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Refusal {
        #[serde(rename = "Code", default)]
        code: String,
        #[serde(rename = "Message", default)]
        message: String,
        #[serde(rename = "RequestId", default)]
        request_id: String,
    }
    match serde_json::from_slice::<Refusal>(body) {
        Ok(r) if !r.code.is_empty() => format!(
            "STS refused AssumeRoleWithOIDC with {status} {}: {} (request id {})",
            r.code, r.message, r.request_id
        ),
        _ => format!(
            "STS refused AssumeRoleWithOIDC with {status}: {}",
            shown(body)
        ),
    }
}

/// The instance's RAM role through the metadata service, as credentials-go
/// `providers/ecs_ram_role.go` asks it: an IMDSv2 token (`PUT /latest/api/token`), the role
/// name when not given (`GET /latest/meta-data/ram/security-credentials/`), then the role's
/// credentials, each with 1 s to connect and 1 s to answer.
#[derive(Debug, Clone)]
pub(super) struct EcsRamRole {
    endpoint: String,
    role: Option<String>,
    /// `ALIBABA_CLOUD_IMDSV1_DISABLED=true`: without an IMDSv2 token, fail rather than ask
    /// without one.
    imdsv1_disabled: bool,
}

impl EcsRamRole {
    pub fn new(env: &Env, role: Option<String>) -> EcsRamRole {
        EcsRamRole {
            endpoint: env
                .var("ALIBABA_CLOUD_IMDS_ENDPOINT")
                .map(|e| e.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| DEFAULT_IMDS.to_owned()),
            role: role.filter(|r| !r.is_empty()),
            imdsv1_disabled: env.flag("ALIBABA_CLOUD_IMDSV1_DISABLED"),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub async fn fetch(&self, origin: &str) -> Result<Fetched, CredentialsError> {
        let http = http(origin, Duration::from_secs(1), Duration::from_secs(1), true)?;
        let token = self.metadata_token(&http, origin).await?;
        let base = format!(
            "{}/latest/meta-data/ram/security-credentials/",
            self.endpoint
        );
        let get = |url: String| {
            let request = http.get(url);
            match &token {
                Some(t) => request.header("X-aliyun-ecs-metadata-token", t),
                None => request,
            }
        };
        let role = match &self.role {
            Some(role) => role.clone(),
            None => {
                let what = "asking the metadata service for the role name";
                let (status, body) =
                    exchange(origin, what, get(base.clone()))
                        .await
                        .map_err(|mut err| {
                            // Nothing answers: not an ECS instance. Not worth retrying.
                            if let CredentialsError::Fetch { retriable, .. } = &mut err {
                                *retriable = false;
                            }
                            err
                        })?;
                if !status.is_success() {
                    return Err(fetch_error(
                        origin,
                        format!(
                            "the metadata service gave no role name ({status}): does the instance have a RAM role?"
                        ),
                        status.is_server_error(),
                    ));
                }
                let role = String::from_utf8_lossy(&body).trim().to_owned();
                if role.is_empty() || role.contains('/') {
                    return Err(fetch_error(
                        origin,
                        "the metadata service gave no usable role name",
                        false,
                    ));
                }
                role
            }
        };
        let what = format!("asking for the credentials of role `{role}`");
        let url = format!("{base}{}", utf8_percent_encode(&role, FORM));
        let (status, body) = exchange(origin, &what, get(url)).await?;
        if !status.is_success() {
            return Err(fetch_error(
                origin,
                format!(
                    "the metadata service refused the credentials of role `{role}` with {status}: {}",
                    shown(&body)
                ),
                status.is_server_error(),
            ));
        }
        parse_ecs(&body).map_err(|why| fetch_error(origin, why, false))
    }

    /// The IMDSv2 token, or `None` to go on without one (IMDSv1) when that is allowed.
    async fn metadata_token(
        &self,
        http: &reqwest::Client,
        origin: &str,
    ) -> Result<Option<String>, CredentialsError> {
        let result = http
            .put(format!("{}/latest/api/token", self.endpoint))
            .header("X-aliyun-ecs-metadata-token-ttl-seconds", IMDS_TOKEN_TTL)
            .send()
            .await;
        let failure = match result {
            Ok(answer) if answer.status().is_success() => match answer.text().await {
                Ok(token) if !token.trim().is_empty() => return Ok(Some(token.trim().to_owned())),
                Ok(_) => "an empty metadata token".to_owned(),
                Err(e) => format!("the metadata token could not be read: {e}"),
            },
            Ok(answer) => format!("the metadata token was refused with {}", answer.status()),
            Err(e) if !self.imdsv1_disabled => {
                // credentials-go goes on without a token; but nothing answering at all means
                // this is not an ECS instance.
                if e.is_connect() || e.is_timeout() {
                    return Err(fetch_error(
                        origin,
                        "the metadata service does not answer (not an ECS instance?)",
                        false,
                    ));
                }
                return Ok(None);
            }
            Err(e) => format!("the metadata token request failed: {e}"),
        };
        if self.imdsv1_disabled {
            Err(fetch_error(
                origin,
                format!(
                    "{failure}, and ALIBABA_CLOUD_IMDSV1_DISABLED=true forbids going on without one"
                ),
                false,
            ))
        } else {
            Ok(None)
        }
    }
}

/// Resolves the STS endpoint to a base URL: `ALIBABA_CLOUD_STS_ENDPOINT` (host or URL), else
/// `sts[-vpc].{region}.aliyuncs.com` for the profile's or `ALIBABA_CLOUD_STS_REGION`'s
/// region (`-vpc` with `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`), else `sts.aliyuncs.com`,
/// as credentials-go `oidc.go` `Build` does; `https://` unless a scheme is given.
fn sts_base(env: &Env, region: Option<&str>, enable_vpc: Option<bool>) -> String {
    let host = env.var("ALIBABA_CLOUD_STS_ENDPOINT").unwrap_or_else(|| {
        let vpc = enable_vpc.unwrap_or(false) || env.flag("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED");
        let prefix = if vpc { "sts-vpc" } else { "sts" };
        match region
            .map(str::to_owned)
            .or_else(|| env.var("ALIBABA_CLOUD_STS_REGION"))
        {
            Some(region) => format!("{prefix}.{region}.aliyuncs.com"),
            None => "sts.aliyuncs.com".to_owned(),
        }
    });
    let host = host.trim_end_matches('/');
    if host.contains("://") {
        host.to_owned()
    } else {
        format!("https://{host}")
    }
}

/// A role assumed with an OIDC token (STS `AssumeRoleWithOIDC`, no signature), as
/// credentials-go `providers/oidc.go` asks: `POST /?Version=2015-04-01&Action=AssumeRoleWithOIDC
/// &Format=JSON&Timestamp=…` with a form body of `RoleArn`, `OIDCProviderArn`, `OIDCToken`
/// (read from the file at every call: Kubernetes rotates it), `RoleSessionName`,
/// `DurationSeconds` and `Policy`; 5 s to connect and 10 s to answer.
#[derive(Debug, Clone)]
pub(super) struct OidcRole {
    base: String,
    role_arn: String,
    provider_arn: String,
    token_file: PathBuf,
    session_name: String,
    duration_secs: u64,
    policy: Option<String>,
}

impl OidcRole {
    pub fn new(env: &Env, settings: OidcSettings) -> OidcRole {
        OidcRole {
            base: sts_base(env, settings.sts_region.as_deref(), settings.enable_vpc),
            role_arn: settings.role_arn,
            provider_arn: settings.provider_arn,
            token_file: settings.token_file,
            // credentials-go: "credentials-go-<micros>"; credentials-python:
            // "credentials-python-<secs>".
            session_name: settings.session_name.unwrap_or_else(|| {
                let secs = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                format!("holo-host-{secs}")
            }),
            duration_secs: settings.duration_secs.unwrap_or(DEFAULT_DURATION),
            policy: settings.policy,
        }
    }

    pub async fn fetch(&self, origin: &str) -> Result<Fetched, CredentialsError> {
        for (value, what) in [
            (&self.role_arn, "the role ARN"),
            (&self.provider_arn, "the OIDC provider ARN"),
        ] {
            if value.is_empty() {
                return Err(fetch_error(origin, format!("{what} is empty"), false));
            }
        }
        let token = tokio::fs::read_to_string(&self.token_file)
            .await
            .map_err(|e| CredentialsError::Fetch {
                origin: origin.to_owned(),
                detail: format!(
                    "cannot read the OIDC token file {}",
                    self.token_file.display()
                ),
                retriable: false,
                source: Some(Box::new(e)),
            })?;
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let url = format!(
            "{}/?Version=2015-04-01&Action=AssumeRoleWithOIDC&Format=JSON&Timestamp={}",
            self.base,
            utf8_percent_encode(&timestamp, FORM)
        );
        let duration = self.duration_secs.to_string();
        let mut form = vec![
            ("RoleArn", self.role_arn.as_str()),
            ("OIDCProviderArn", self.provider_arn.as_str()),
            ("OIDCToken", token.trim()),
            ("RoleSessionName", self.session_name.as_str()),
            ("DurationSeconds", duration.as_str()),
        ];
        if let Some(policy) = &self.policy {
            form.push(("Policy", policy));
        }
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, FORM)))
            .collect();
        let http = service_http(origin)?;
        let request = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-encoding", "identity")
            .body(body.join("&"));
        let what = format!("calling STS at {}", self.base);
        let (status, body) = exchange(origin, &what, request).await?;
        if !status.is_success() {
            return Err(fetch_error(
                origin,
                sts_refusal(status.as_u16(), &body),
                status.is_server_error() || status.as_u16() == 429,
            ));
        }
        parse_sts(&body).map_err(|why| fetch_error(origin, why, false))
    }
}

/// `ALIBABA_CLOUD_CREDENTIALS_URI`: a GET answering the key fields (credentials-go
/// `providers/uri.go`), 5 s to connect and 10 s to answer.
#[derive(Debug, Clone)]
pub(super) struct CredentialsUri {
    url: String,
}

impl CredentialsUri {
    pub fn new(url: String) -> CredentialsUri {
        CredentialsUri { url }
    }

    pub async fn fetch(&self, origin: &str) -> Result<Fetched, CredentialsError> {
        let http = service_http(origin)?;
        let (status, body) = exchange(origin, "the request", http.get(&self.url)).await?;
        if !status.is_success() {
            return Err(fetch_error(
                origin,
                format!("answered {status}: {}", shown(&body)),
                status.is_server_error(),
            ));
        }
        let fields: KeyFields = serde_json::from_slice(&body)
            .map_err(|_| fetch_error(origin, "the answer is not JSON", false))?;
        fields
            .into_fetched("the answer")
            .map_err(|why| fetch_error(origin, why, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_answers() {
        // The answer of credentials-go `ecs_ram_role_test.go` and ack-ram-tool's fixtures.
        let ok = br#"{"Code":"Success","AccessKeyId":"STS.id","AccessKeySecret":"s3cret",
            "SecurityToken":"tok","Expiration":"2006-01-02T15:04:05Z","LastUpdated":"2006-01-02T09:04:05Z"}"#;
        let fetched = parse_ecs(ok).unwrap();
        assert_eq!(fetched.credentials.access_key_id, "STS.id");
        assert_eq!(fetched.credentials.security_token.as_deref(), Some("tok"));
        assert_eq!(
            fetched.expires_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_136_214_245))
        );
        for (body, why) in [
            (&br#"{"Code":"Failed"}"#[..], "Code `Failed`"),
            (br#"{"Code":"Success","AccessKeyId":"a","AccessKeySecret":"s3cret"}"#, "lacks"),
            (
                br#"{"Code":"Success","AccessKeyId":"a","AccessKeySecret":"s3cret","SecurityToken":"t","Expiration":"soon"}"#,
                "no valid Expiration",
            ),
            (
                br#"{"Code":"Success","AccessKeyId":"a b","AccessKeySecret":"s3cret","SecurityToken":"t","Expiration":"2006-01-02T15:04:05Z"}"#,
                "cannot go in an HTTP header",
            ),
            (b"<html>", "not JSON"),
        ] {
            let e = parse_ecs(body).err().unwrap();
            assert!(e.contains(why), "{why}: {e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn sts_answers_and_refusals() {
        let ok = br#"{"RequestId":"R","AssumedRoleUser":{"Arn":"acs:ram::1:role/r","AssumedRoleId":"1"},
            "Credentials":{"SecurityToken":"tok","AccessKeyId":"STS.x","AccessKeySecret":"s3cret","Expiration":"2030-01-01T00:00:00Z"}}"#;
        let fetched = parse_sts(ok).unwrap();
        assert_eq!(fetched.credentials.access_key_secret, "s3cret");
        assert!(
            parse_sts(br#"{"RequestId":"R"}"#)
                .unwrap_err()
                .contains("no Credentials")
        );
        let refusal = sts_refusal(
            400,
            br#"{"RequestId":"R2","HostId":"sts.aliyuncs.com","Code":"AuthenticationFail.OIDCToken.Expired","Message":"expired"}"#,
        );
        assert_eq!(
            refusal,
            "STS refused AssumeRoleWithOIDC with 400 AuthenticationFail.OIDCToken.Expired: expired (request id R2)"
        );
    }

    #[test]
    fn sts_endpoint_resolution() {
        let none = Env::from_pairs::<&str, &str>([]);
        assert_eq!(sts_base(&none, None, None), "https://sts.aliyuncs.com");
        assert_eq!(
            sts_base(&none, Some("cn-hangzhou"), Some(true)),
            "https://sts-vpc.cn-hangzhou.aliyuncs.com"
        );
        let env = Env::from_pairs([
            ("ALIBABA_CLOUD_STS_REGION", "cn-beijing"),
            ("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true"),
        ]);
        assert_eq!(
            sts_base(&env, None, None),
            "https://sts-vpc.cn-beijing.aliyuncs.com"
        );
        let env = Env::from_pairs([("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:9/")]);
        assert_eq!(
            sts_base(&env, Some("cn-hangzhou"), None),
            "http://127.0.0.1:9"
        );
        let env = Env::from_pairs([(
            "ALIBABA_CLOUD_STS_ENDPOINT",
            "sts-vpc.cn-hangzhou.aliyuncs.com",
        )]);
        assert_eq!(
            sts_base(&env, None, None),
            "https://sts-vpc.cn-hangzhou.aliyuncs.com"
        );
    }

    #[test]
    fn imds_endpoint_and_role() {
        let env = Env::from_pairs([("ALIBABA_CLOUD_IMDS_ENDPOINT", "http://127.0.0.1:7/")]);
        let ecs = EcsRamRole::new(&env, Some(String::new()));
        assert_eq!(ecs.endpoint(), "http://127.0.0.1:7");
        assert_eq!(ecs.role, None);
        let ecs = EcsRamRole::new(&Env::from_pairs::<&str, &str>([]), Some("r".into()));
        assert_eq!(ecs.endpoint(), DEFAULT_IMDS);
        assert_eq!(ecs.role.as_deref(), Some("r"));
    }
}
