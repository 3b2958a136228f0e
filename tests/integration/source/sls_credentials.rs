//! Where the Log Service client gets its credentials, end to end against `sls-lite`: an ECS RAM
//! role from a fake instance metadata service and an OIDC role from a fake STS, both handing
//! out temporary keys that expire mid-run; a key the server refuses as expired
//! (`401 Unauthorized`, expired) replaced by a forced refresh; v4 signatures; and the error when no
//! source has credentials.
//!
//! The fakes answer as the services do for aliyun/credentials-go (`providers/ecs_ram_role.go`,
//! `providers/oidc.go`): IMDSv2 token, role name, role credentials; `AssumeRoleWithOIDC`. They
//! listen on 127.0.0.1 and stop after a bounded number of requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use holo_host::source::sls::{ClientForSource, SlsSourceConfig};
use sls_client::credentials::Env;
use sls_client::{
    Auth, CredentialsProvider, CursorFrom, RetryPolicy, Signature, SlsClient, SlsError,
};
use sls_lite::proto::{Log as LiteLog, LogGroup as LiteGroup};
use sls_lite::testing::{Client as Feeder, Compression};
use sls_lite::{Config, LogstoreSpec, RunningServer, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const FEED_ID: &str = "LTAI-feeder";
const FEED_SECRET: &str = "feeder-secret";
/// Most requests a fake answers before it stops.
const FAKE_REQUEST_LIMIT: usize = 64;

/// One request as a fake saw it: header names lowercased.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A `k=v&…` parameter of the query or of a form body, decoded.
    fn param(&self, name: &str) -> Option<String> {
        let query = self.target.split_once('?').map_or("", |(_, q)| q);
        [query, self.body.as_str()].iter().find_map(|text| {
            form_pairs(text)
                .into_iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
        })
    }
}

fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

type Handler = dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync;

/// A one-request-per-connection HTTP server on 127.0.0.1 answering with `handler` (given the
/// request and how many came before it); records what it saw. Stops after
/// [`FAKE_REQUEST_LIMIT`] requests or when dropped.
struct Fake {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    async fn start(
        handler: impl Fn(&Seen, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> Fake {
        let handler: Arc<Handler> = Arc::new(handler);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            for _ in 0..FAKE_REQUEST_LIMIT {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let Some(request) = read_request(&mut socket).await else {
                    continue;
                };
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(request.clone());
                    log.len() - 1
                };
                let (status, body) = handler(&request, n);
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Fake { base, seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `2006-01-02T15:04:05Z`, `secs` from now.
fn expiration_in(secs: u64) -> String {
    let at = SystemTime::now() + Duration::from_secs(secs);
    chrono::DateTime::<chrono::Utc>::from(at)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Temporary credentials a fake hands out: id, secret and token, and how long the fake says
/// they last (the server may refuse them earlier).
#[derive(Clone, Copy)]
struct Temporary {
    id: &'static str,
    secret: &'static str,
    token: &'static str,
    advertised_secs: u64,
}

impl Temporary {
    const fn new(
        id: &'static str,
        secret: &'static str,
        token: &'static str,
        advertised_secs: u64,
    ) -> Temporary {
        Temporary {
            id,
            secret,
            token,
            advertised_secs,
        }
    }

    fn fields(&self) -> serde_json::Value {
        serde_json::json!({
            "AccessKeyId": self.id,
            "AccessKeySecret": self.secret,
            "SecurityToken": self.token,
            "Expiration": expiration_in(self.advertised_secs),
        })
    }
}

/// sls-lite with `demo/orders` (2 shards), a long-lived key for the feeder, and these
/// temporary keys with the server-side expiry each has (seconds from now), plus 20 logs.
async fn server_with(keys: &[(Temporary, u64)]) -> RunningServer {
    let now = SystemTime::now();
    let mut config =
        Config::new([LogstoreSpec::new("demo", "orders", 2)]).with_access_key(FEED_ID, FEED_SECRET);
    for (t, server_secs) in keys {
        config = config.with_sts_key(
            t.id,
            t.secret,
            t.token,
            now + Duration::from_secs(*server_secs),
        );
    }
    let server = Server::start(config).await.expect("sls-lite starts");
    let feed = Feeder::new(server.addr(), "demo").with_access_key(FEED_ID, FEED_SECRET);
    let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs() as u32;
    for batch in 0..4 {
        let logs = (0..5)
            .map(|i| LiteLog::new(secs, [("n", format!("{}", batch * 5 + i))]))
            .collect();
        let group = LiteGroup {
            logs,
            topic: Some("creds".into()),
            ..Default::default()
        };
        feed.put_log_group("orders", &group, Compression::Lz4)
            .await
            .unwrap();
    }
    server
}

fn signed_client(server: &RunningServer, env: &Env, signature: Signature) -> SlsClient {
    let auth = Auth::Signed {
        provider: CredentialsProvider::chain(env),
        signature,
    };
    SlsClient::with_auth(&server.endpoint(), "demo", auth)
        .unwrap()
        .with_retry(RetryPolicy {
            tries: 3,
            first: Duration::from_millis(20),
            max: Duration::from_millis(50),
        })
}

/// Every log of both shards, read from the beginning.
async fn read_everything(client: &SlsClient) -> usize {
    let mut logs = 0;
    for shard in 0..2 {
        let mut cursor = client
            .get_cursor("orders", shard, CursorFrom::Begin)
            .await
            .unwrap();
        for _ in 0..100 {
            let pulled = client
                .pull_logs("orders", shard, &cursor, 100, None)
                .await
                .unwrap();
            logs += pulled.groups.iter().map(|g| g.logs.len()).sum::<usize>();
            if pulled.next_cursor == cursor {
                break;
            }
            cursor = pulled.next_cursor;
        }
    }
    logs
}

#[tokio::test]
async fn ecs_ram_role_is_refreshed_before_expiry_and_after_a_refusal() {
    // ecs-1: the metadata service says it lasts an hour, but the server stops taking it after
    // 2 s (revoked, or the clocks disagree): the call refused as `Unauthorized` (expired) is
    // retried once with a forced refresh. ecs-2: lasts 182 s, so within 3 s fewer than the
    // 180 s margin remain and the next call fetches ecs-3 first.
    let ecs1 = Temporary::new("STS.ecs-1", "ecs-secret-1", "ecs-token-1", 3600);
    let ecs2 = Temporary::new("STS.ecs-2", "ecs-secret-2", "ecs-token-2", 182);
    let ecs3 = Temporary::new("STS.ecs-3", "ecs-secret-3", "ecs-token-3", 3600);
    let server = server_with(&[(ecs1, 2), (ecs2, 3600), (ecs3, 3600)]).await;
    let handed = Arc::new(Mutex::new(0usize));
    let counter = handed.clone();
    let imds = Fake::start(move |req, _| {
        let token_ok = req.header("x-aliyun-ecs-metadata-token") == Some("imds-v2-token");
        match (req.method.as_str(), req.target.as_str()) {
            ("PUT", "/latest/api/token") => {
                assert_eq!(
                    req.header("x-aliyun-ecs-metadata-token-ttl-seconds"),
                    Some("21600")
                );
                (200, "imds-v2-token".to_owned())
            }
            ("GET", "/latest/meta-data/ram/security-credentials/") if token_ok => {
                (200, "holo-role\n".to_owned())
            }
            ("GET", "/latest/meta-data/ram/security-credentials/holo-role") if token_ok => {
                let mut n = counter.lock().unwrap();
                let key = [ecs1, ecs2, ecs3][(*n).min(2)];
                *n += 1;
                let mut body = key.fields();
                body["Code"] = "Success".into();
                body["LastUpdated"] = expiration_in(0).into();
                (200, body.to_string())
            }
            _ => (403, "forbidden".to_owned()),
        }
    })
    .await;
    let home = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("ALIBABA_CLOUD_IMDS_ENDPOINT", imds.base.clone()),
    ]);
    let client = signed_client(&server, &env, Signature::V1);

    assert_eq!(client.list_shards("orders").await.unwrap().len(), 2);
    assert_eq!(
        *handed.lock().unwrap(),
        1,
        "the chain reached the metadata service"
    );

    tokio::time::sleep(Duration::from_millis(2200)).await;
    // The server now refuses ecs-1; the client refreshes once and the call succeeds.
    client
        .get_cursor("orders", 0, CursorFrom::Begin)
        .await
        .unwrap();
    assert_eq!(
        *handed.lock().unwrap(),
        2,
        "one forced refresh after the expired token was refused"
    );

    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Fewer than 180 s of ecs-2 remain: refreshed before the call, no refusal needed.
    assert_eq!(read_everything(&client).await, 20);
    assert_eq!(
        *handed.lock().unwrap(),
        3,
        "refreshed before expiry, then kept"
    );

    let seen = imds.seen();
    let creds: Vec<&Seen> = seen
        .iter()
        .filter(|r| r.target.ends_with("/holo-role"))
        .collect();
    assert_eq!(creds.len(), 3);
    assert!(
        seen.iter()
            .all(|r| r.method != "GET" || r.header("x-aliyun-ecs-metadata-token").is_some())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn oidc_role_is_assumed_through_sts_and_renewed_with_v4_signatures() {
    let first = Temporary::new("STS.oidc-1", "oidc-secret-1", "oidc-token-1", 182);
    let second = Temporary::new("STS.oidc-2", "oidc-secret-2", "oidc-token-2", 3600);
    let server = server_with(&[(first, 3600), (second, 3600)]).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("oidc-token");
    std::fs::write(&token_file, "k8s-token-1\n").unwrap();
    let sts = Fake::start(move |req, n| {
        let key = if n == 0 { first } else { second };
        let expected_token = format!("k8s-token-{}", n.min(1) + 1);
        let ok = req.method == "POST"
            && req.param("Action").as_deref() == Some("AssumeRoleWithOIDC")
            && req.param("Version").as_deref() == Some("2015-04-01")
            && req.param("Format").as_deref() == Some("JSON")
            && req.param("Timestamp").is_some()
            && req.param("RoleArn").as_deref() == Some("acs:ram::1234:role/holo")
            && req.param("OIDCProviderArn").as_deref() == Some("acs:ram::1234:oidc-provider/ack")
            && req.param("OIDCToken") == Some(expected_token)
            && req.param("RoleSessionName").as_deref() == Some("holo-it")
            && req.param("DurationSeconds").as_deref() == Some("3600");
        if !ok {
            return (
                400,
                r#"{"RequestId":"R0","Code":"InvalidParameter","Message":"unexpected request"}"#
                    .to_owned(),
            );
        }
        let body = serde_json::json!({
            "RequestId": format!("R{n}"),
            "AssumedRoleUser": {"Arn": "acs:ram::1234:role/holo/holo-it", "AssumedRoleId": "1"},
            "Credentials": key.fields(),
        });
        (200, body.to_string())
    })
    .await;
    let env = Env::from_pairs([
        ("HOME", dir.path().display().to_string()),
        (
            "ALIBABA_CLOUD_ROLE_ARN",
            "acs:ram::1234:role/holo".to_owned(),
        ),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1234:oidc-provider/ack".to_owned(),
        ),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.display().to_string(),
        ),
        ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "holo-it".to_owned()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", sts.base.clone()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_owned()),
    ]);
    let v4 = Signature::V4 {
        region: "cn-hangzhou".into(),
    };
    let client = signed_client(&server, &env, v4);

    assert_eq!(client.list_shards("orders").await.unwrap().len(), 2);
    // Kubernetes rotates the projected token: the next AssumeRoleWithOIDC sends the new one.
    std::fs::write(&token_file, "k8s-token-2\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(read_everything(&client).await, 20);
    let seen = sts.seen();
    assert_eq!(seen.len(), 2, "assumed once, renewed once: {seen:?}");
    assert!(seen.iter().all(|r| r.target.starts_with("/?")));
    server.shutdown().await;
}

#[tokio::test]
async fn no_credentials_is_an_error_before_any_request() {
    // A fake standing in for the log service: nothing may reach it.
    let service = Fake::start(|_, _| (200, "[]".to_owned())).await;
    let home = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([
        ("HOME", home.path().display().to_string()),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true".to_owned()),
    ]);
    let auth = Auth::Signed {
        provider: CredentialsProvider::chain(&env),
        signature: Signature::V1,
    };
    let e = SlsClient::with_auth(&service.base, "demo", auth)
        .unwrap()
        .list_shards("orders")
        .await
        .unwrap_err();
    assert!(matches!(e, SlsError::CredentialsUnavailable { .. }), "{e}");
    let shown = format!("{:#}", anyhow::Error::new(e));
    for needle in [
        "ListShards on project `demo`, logstore `orders` was not sent",
        "environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET): not set",
        "ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE not set",
        "config.json: no such file",
        "credentials: no such file",
        "ECS RAM role",
        "anonymous=true",
    ] {
        assert!(shown.contains(needle), "{needle}: {shown}");
    }
    assert!(service.seen().is_empty(), "no request was sent");

    // `anonymous=true` sends unsigned requests, for a server that does not authenticate.
    let open = Server::start(Config::new([LogstoreSpec::new("demo", "orders", 2)]).anonymous())
        .await
        .unwrap();
    let config = SlsSourceConfig::parse(&format!(
        "sls://demo/orders?endpoint={}&anonymous=true",
        open.endpoint()
    ))
    .unwrap();
    let client = SlsClient::for_source(&config).unwrap();
    assert_eq!(client.list_shards("orders").await.unwrap().len(), 2);
    open.shutdown().await;
}
