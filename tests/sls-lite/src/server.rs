//! The HTTP side: accepting connections, resolving the project, authenticating, routing each
//! request to its handler and answering in the service's format.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use prost::Message;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::consumer::{Checkpoint, ConsumerGroup};
use crate::cursor;
use crate::error::SlsError;
use crate::faults::{self, EmptyRule, FaultRule, Faults, Op, Outcome};
use crate::proto::{self, Log, LogContent, LogGroup, LogTag};
use crate::sign::{self, DateHeader, SignParts};
use crate::store::{AppendError, Store, StoreError, StoredGroup};

/// Largest request body accepted (the service's own PutLogs limit is 10 MB compressed).
const MAX_BODY: usize = 64 << 20;
/// Clock skew the service tolerates on a signed request's `Date`.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// A transparent 1x1 GIF, the body of `track.gif`.
const PIXEL_GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: pick a free port or use port 0")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot open the data directory")]
    Store(#[from] StoreError),
    #[error("invalid fault rule in the configuration")]
    Fault(#[from] EmptyRule),
    #[error(
        "no access key: the real service signs every request, so give one (--access-key \
         ID:SECRET), or say --anonymous to serve unsigned requests"
    )]
    NoKeys,
}

/// Entry point: `Server::start(config)`.
pub struct Server;

impl Server {
    /// Binds, loads the data directory and serves until [`RunningServer::shutdown`] (or drop).
    pub async fn start(config: Config) -> Result<RunningServer, StartError> {
        if config.access_keys.is_empty() && !config.anonymous {
            return Err(StartError::NoKeys);
        }
        let store = Store::open(config.data_dir.as_deref(), &config.logstores, now_secs())?;
        let mut faults = Faults::default();
        for rule in config.faults {
            faults.add(rule)?;
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State { store, faults }),
            keys: config
                .access_keys
                .into_iter()
                .map(|k| (k.id.clone(), k))
                .collect(),
            request_prefix: (now_secs() as u64) << 8 | u64::from(std::process::id() as u8),
            next_request: AtomicU64::new(1),
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(serve(listener, shared, rx));
        tracing::info!(%addr, "sls-lite listening");
        Ok(RunningServer {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}

/// A started server. Dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// The bound address (with the real port when the configuration asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, an endpoint for SDKs.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish (up to two seconds), and returns.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until `signal` completes, then shuts down.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let shared = shared.clone();
                let service = service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(shared.handle(req, peer).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(error) = conn.await {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(2), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("connections still open after two seconds, closing anyway");
    }
}

struct State {
    store: Store,
    faults: Faults,
}

struct Shared {
    state: Mutex<State>,
    keys: HashMap<String, crate::config::AccessKey>,
    request_prefix: u64,
    next_request: AtomicU64,
}

/// One request, body read.
struct Ctx {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    host: Option<String>,
    body: Bytes,
    peer: SocketAddr,
}

impl Ctx {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, what: &str) -> Result<T, SlsError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| SlsError::body(format!("{what} body is not the expected JSON: {e}")))
    }
}

/// A successful answer.
struct Reply {
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Reply {
    fn empty() -> Self {
        Reply {
            content_type: None,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    fn json(value: serde_json::Value) -> Self {
        Reply {
            content_type: Some("application/json"),
            headers: Vec::new(),
            body: Bytes::from(value.to_string()),
        }
    }
}

/// Where a PutLogs goes.
enum Target<'a> {
    Balanced,
    Key(&'a str),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A handler that panicked mid-update leaves data a test would rather see than lose.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn request_id(&self) -> String {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        format!("{:010X}{:014X}", self.request_prefix, n)
    }

    async fn handle(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let request_id = self.request_id();
        let (parts, body) = req.into_parts();
        let method = parts.method.clone();
        let path = parts.uri.path().to_owned();
        let result = match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => {
                let ctx = Ctx {
                    method: parts.method,
                    query: parts
                        .uri
                        .query()
                        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                        .unwrap_or_default(),
                    host: parts
                        .headers
                        .get(hyper::header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_owned)
                        .or_else(|| parts.uri.authority().map(|a| a.to_string())),
                    path: path.clone(),
                    headers: parts.headers,
                    body: collected.to_bytes(),
                    peer,
                };
                self.route(&ctx).await
            }
            Err(_) => Err(SlsError::new(
                413,
                "PostBodyTooLarge",
                format!("request body is larger than {MAX_BODY} bytes or was cut off"),
            )),
        };
        let mut response = match result {
            Ok(reply) => {
                let mut response = Response::new(Full::new(reply.body));
                if let Some(ct) = reply.content_type {
                    response
                        .headers_mut()
                        .insert("content-type", HeaderValue::from_static(ct));
                }
                for (name, value) in reply.headers {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        response.headers_mut().insert(name, value);
                    }
                }
                tracing::debug!(%method, %path, %request_id, status = 200, "request");
                response
            }
            Err(error) => {
                if error.status >= 500 {
                    tracing::warn!(%method, %path, %request_id, status = error.status, code = %error.code, "request failed");
                } else {
                    tracing::debug!(%method, %path, %request_id, status = error.status, code = %error.code, message = %error.message, "request refused");
                }
                let mut response = Response::new(Full::new(Bytes::from(
                    error.to_json(&request_id).to_string(),
                )));
                *response.status_mut() =
                    StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                response
                    .headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                response
            }
        };
        let headers = response.headers_mut();
        headers.insert(
            "x-log-requestid",
            HeaderValue::from_str(&request_id).expect("hex is a valid header"),
        );
        headers.insert("server", HeaderValue::from_static("sls-lite"));
        response
    }

    async fn route(&self, ctx: &Ctx) -> Result<Reply, SlsError> {
        let segs: Vec<String> = ctx
            .path
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        if segs.first() == Some(&"_admin") {
            return self.admin(ctx, &segs[1..]);
        }
        // WebTracking is anonymous (the logstore's tracking switch stands in for a signature).
        if let ["logstores", ls, page @ ("track" | "track.gif")] = segs.as_slice() {
            let project = self.project(ctx)?;
            return self.track(ctx, &project, ls, *page == "track.gif").await;
        }
        self.authenticate(ctx)?;
        let project = self.project(ctx)?;
        let p = project.as_str();
        let m = &ctx.method;
        match segs.as_slice() {
            ["logstores"] if m == Method::GET => self.list_logstores(p),
            ["logstores", ls] if m == Method::GET => self.get_logstore(p, ls),
            ["logstores", ls] if m == Method::POST => {
                self.put_logs(ctx, p, ls, Target::Balanced).await
            }
            ["logstores", ls, "shards"] if m == Method::GET => self.list_shards(p, ls).await,
            ["logstores", ls, "shards", "lb"] if m == Method::POST => {
                self.put_logs(ctx, p, ls, Target::Balanced).await
            }
            ["logstores", ls, "shards", "route"] if m == Method::POST => {
                let key = ctx
                    .param("key")
                    .ok_or_else(|| SlsError::parameter("PutLogs to shards/route needs `key`"))?;
                self.put_logs(ctx, p, ls, Target::Key(key)).await
            }
            ["logstores", ls, "shards", id] if m == Method::GET => {
                let shard = parse_shard(ls, id)?;
                match ctx.param("type") {
                    Some("cursor") => self.get_cursor(ctx, p, ls, shard).await,
                    Some("cursor_time") => self.get_cursor_time(ctx, p, ls, shard).await,
                    Some("log" | "logs") => self.pull_logs(ctx, p, ls, shard).await,
                    other => Err(SlsError::parameter(format!(
                        "shard request type `{}` is not one of cursor, cursor_time, log",
                        other.unwrap_or("")
                    ))),
                }
            }
            ["logstores", ls, "shards", id] if m == Method::POST => {
                let shard = parse_shard(ls, id)?;
                match ctx.param("action") {
                    Some("split") => self.split(ctx, p, ls, shard),
                    other => Err(SlsError::parameter(format!(
                        "shard action `{}` is not supported by sls-lite (only split)",
                        other.unwrap_or("")
                    ))),
                }
            }
            ["logstores", ls, "consumergroups"] if m == Method::GET => {
                self.list_consumer_groups(p, ls).await
            }
            ["logstores", ls, "consumergroups"] if m == Method::POST => {
                self.create_consumer_group(ctx, p, ls).await
            }
            ["logstores", ls, "consumergroups", cg] => match *m {
                Method::PUT => self.update_consumer_group(ctx, p, ls, cg).await,
                Method::DELETE => self.delete_consumer_group(p, ls, cg).await,
                Method::GET => self.get_checkpoints(ctx, p, ls, cg).await,
                Method::POST => match ctx.param("type") {
                    Some("heartbeat") => self.heartbeat(ctx, p, ls, cg).await,
                    Some("checkpoint") => self.update_checkpoint(ctx, p, ls, cg).await,
                    other => Err(SlsError::parameter(format!(
                        "consumer group request type `{}` is not heartbeat or checkpoint",
                        other.unwrap_or("")
                    ))),
                },
                _ => Err(not_found(ctx)),
            },
            _ => Err(not_found(ctx)),
        }
    }

    /// Checks the v1 or v4 signature, and the STS token of temporary keys, when access keys
    /// are configured.
    fn authenticate(&self, ctx: &Ctx) -> Result<(), SlsError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let auth = ctx.header("authorization").ok_or_else(|| {
            SlsError::unauthorized(
                "request has no Authorization header: sign it with an access key",
            )
        })?;
        if auth.starts_with("SLS4-") {
            let headers: Vec<(&str, &str)> = ctx
                .headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
                .collect();
            let received = sign::v4::Received {
                method: ctx.method.as_str(),
                path: &ctx.path,
                query: &ctx.query,
                headers: &headers,
                body: &ctx.body,
            };
            return sign::v4::verify(|id| self.keys.get(id), &received, SystemTime::now());
        }
        let (id, given) = auth
            .strip_prefix("LOG ")
            .and_then(|rest| rest.trim().rsplit_once(':'))
            .ok_or_else(|| {
                SlsError::unauthorized(
                    "Authorization header is not `LOG <access key id>:<signature>`",
                )
            })?;
        let key = self.keys.get(id).ok_or_else(|| {
            SlsError::unauthorized(format!("access key id `{id}` is not known to this server"))
        })?;
        sign::check_token(key, ctx.header("x-acs-security-token"), SystemTime::now())?;
        let secret = &key.secret;
        let date = ctx.header("date").unwrap_or_default();
        if let Some(sent) = ctx
            .header("date")
            .or_else(|| ctx.header("x-log-date"))
            .and_then(|d| httpdate::parse_http_date(d).ok())
        {
            let now = SystemTime::now();
            let skew = now
                .duration_since(sent)
                .or_else(|_| sent.duration_since(now))
                .unwrap_or_default();
            if skew > MAX_SKEW {
                return Err(SlsError::new(
                    400,
                    "RequestTimeExpired",
                    format!(
                        "request date `{date}` is more than 15 minutes from the server's clock"
                    ),
                ));
            }
        }
        let parts = SignParts {
            method: ctx.method.as_str(),
            content_md5: ctx.header("content-md5").unwrap_or_default(),
            content_type: ctx.header("content-type").unwrap_or_default(),
            date,
            path: &ctx.path,
        };
        let headers: Vec<(&str, &str)> = ctx
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let mut expected = String::new();
        for variant in [DateHeader::Exclude, DateHeader::Include] {
            if variant == DateHeader::Include && ctx.header("x-log-date").is_none() {
                break;
            }
            let text = sign::string_to_sign(
                &parts,
                &sign::canonical_headers(headers.iter().copied(), variant),
                &ctx.query,
            );
            if sign::same(&sign::signature(secret, &text), given) {
                return Ok(());
            }
            if expected.is_empty() {
                expected = text;
            }
        }
        Err(SlsError::new(
            401,
            "SignatureNotMatch",
            format!(
                "signature of access key `{id}` does not match: the server signed {:?}",
                expected
            ),
        ))
    }

    /// The project from the Host header's first label; with an IP or one-label host, the only
    /// project the server has.
    fn project(&self, ctx: &Ctx) -> Result<String, SlsError> {
        let state = self.lock();
        let store = &state.store;
        match ctx.host.as_deref().and_then(project_label) {
            Some(p) if store.has_project(p) => Ok(p.to_owned()),
            Some(p) => Err(SlsError::project_not_exist(p)),
            None => {
                let mut projects = store.projects();
                match (projects.next(), projects.next()) {
                    (Some(only), None) => Ok(only.to_owned()),
                    _ => Err(SlsError::no_project()),
                }
            }
        }
    }

    /// Applies faults, then waits the injected latency (outside the lock).
    async fn gate(&self, outcome: Outcome) -> Result<(), SlsError> {
        if !outcome.latency.is_zero() {
            tokio::time::sleep(outcome.latency).await;
        }
        outcome.error.map_or(Ok(()), Err)
    }

    /// Checks that the logstore exists, applies the faults for `op`, and locks the state.
    async fn logstore_request(
        &self,
        op: Op,
        project: &str,
        logstore: &str,
    ) -> Result<MutexGuard<'_, State>, SlsError> {
        self.lock().store.logstore(project, logstore)?;
        self.fault(op, logstore, None).await?;
        Ok(self.lock())
    }

    /// Checks that the shard exists, applies the faults for `op`, and locks the state.
    async fn shard_request(
        &self,
        op: Op,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<MutexGuard<'_, State>, SlsError> {
        self.lock()
            .store
            .logstore(project, logstore)?
            .shard(shard)?;
        self.fault(op, logstore, Some(shard)).await?;
        Ok(self.lock())
    }

    async fn fault(&self, op: Op, logstore: &str, shard: Option<u32>) -> Result<(), SlsError> {
        let outcome = self.lock().faults.apply(op, logstore, shard);
        self.gate(outcome).await
    }

    /// [`Self::fault`] for a consumer-group request made by `consumer`.
    async fn consumer_fault(
        &self,
        op: Op,
        logstore: &str,
        shard: Option<u32>,
        consumer: &str,
    ) -> Result<(), SlsError> {
        let outcome = self.lock().faults.apply_to(faults::Request {
            op,
            logstore,
            shard,
            consumer: Some(consumer),
        });
        self.gate(outcome).await
    }

    fn list_logstores(&self, project: &str) -> Result<Reply, SlsError> {
        let state = self.lock();
        let names: Vec<&str> = state
            .store
            .logstores()
            .filter(|l| l.project == project)
            .map(|l| l.name.as_str())
            .collect();
        Ok(Reply::json(serde_json::json!({
            "count": names.len(), "total": names.len(), "logstores": names,
        })))
    }

    fn get_logstore(&self, project: &str, logstore: &str) -> Result<Reply, SlsError> {
        let state = self.lock();
        let ls = state.store.logstore(project, logstore)?;
        let writable = ls
            .shards
            .iter()
            .filter(|s| s.meta.status == crate::store::ShardStatus::Readwrite)
            .count();
        Ok(Reply::json(serde_json::json!({
            "logstoreName": ls.name,
            "ttl": 30,
            "shardCount": writable,
            "enable_tracking": true,
            "autoSplit": false,
            "maxSplitShard": 0,
            "appendMeta": true,
            "telemetryType": "",
            "mode": "standard",
        })))
    }

    async fn list_shards(&self, project: &str, logstore: &str) -> Result<Reply, SlsError> {
        let state = self
            .logstore_request(Op::ListShards, project, logstore)
            .await?;
        let ls = state.store.logstore(project, logstore)?;
        let shards: Vec<_> = ls.shards.iter().map(|s| s.meta.to_json()).collect();
        Ok(Reply::json(serde_json::Value::Array(shards)))
    }

    async fn put_logs(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        target: Target<'_>,
    ) -> Result<Reply, SlsError> {
        let raw = decode_body(ctx)?;
        let group = proto::decode_group(raw.as_ref())
            .map_err(|e| SlsError::body(format!("body is not a protobuf LogGroup: {e}")))?;
        for (i, log) in group.logs.iter().enumerate() {
            if log.time == 0 {
                return Err(SlsError::new(
                    400,
                    "InvalidLogTime",
                    format!("log {i} of the group has no time: set Log.Time in unix seconds"),
                ));
            }
        }
        let now = now_secs();
        let mut bytes = raw.to_vec();
        proto::append_tag(&mut bytes, "__receive_time__", &now.to_string());
        proto::append_tag(&mut bytes, "__client_ip__", &ctx.peer.ip().to_string());
        let stored = StoredGroup {
            receive_time: now,
            logs: group.logs.len() as u32,
            bytes: Bytes::from(bytes),
        };
        self.store_group(project, logstore, target, Op::Put, stored)
            .await?;
        Ok(Reply::empty())
    }

    /// Picks the shard, applies faults, appends.
    async fn store_group(
        &self,
        project: &str,
        logstore: &str,
        target: Target<'_>,
        op: Op,
        group: StoredGroup,
    ) -> Result<u32, SlsError> {
        let (shard, outcome) = {
            let mut state = self.lock();
            let ls = state.store.logstore_mut(project, logstore)?;
            let shard = match target {
                Target::Balanced => ls.pick_lb(),
                Target::Key(key) => ls.pick_key(key),
            };
            (shard, state.faults.apply(op, logstore, Some(shard)))
        };
        self.gate(outcome).await?;
        let mut state = self.lock();
        // A split while the fault latency ran makes the picked shard read-only: pick again.
        let ls = state.store.logstore_mut(project, logstore)?;
        let shard = if ls.shard(shard)?.meta.status == crate::store::ShardStatus::Readwrite {
            shard
        } else {
            match target {
                Target::Balanced => ls.pick_lb(),
                Target::Key(key) => ls.pick_key(key),
            }
        };
        match state.store.append(project, logstore, shard, group) {
            Ok(_) => Ok(shard),
            Err(AppendError::Sls(e)) => Err(e),
            Err(AppendError::Store(error)) => {
                tracing::error!(%project, %logstore, shard, error = %error, source = ?std::error::Error::source(&error), "cannot persist log group");
                Err(SlsError::new(
                    500,
                    "InternalServerError",
                    "sls-lite could not write its data directory",
                ))
            }
        }
    }

    async fn track(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        gif: bool,
    ) -> Result<Reply, SlsError> {
        self.lock().store.logstore(project, logstore)?;
        let now = now_secs();
        let mut group = if ctx.method == Method::GET {
            track_query(ctx, now)?
        } else if ctx.method == Method::POST && !gif {
            track_json(&decode_body(ctx)?, now)?
        } else {
            return Err(not_found(ctx));
        };
        if group.source.is_none() {
            group.source = Some(ctx.peer.ip().to_string().into());
        }
        group
            .log_tags
            .push(tag("__receive_time__", now.to_string()));
        group
            .log_tags
            .push(tag("__client_ip__", ctx.peer.ip().to_string()));
        if let Some(agent) = ctx.header("user-agent") {
            group.log_tags.push(tag("__user_agent__", agent.to_owned()));
        }
        let stored = StoredGroup {
            receive_time: now,
            logs: group.logs.len() as u32,
            bytes: Bytes::from(group.encode_to_vec()),
        };
        self.store_group(project, logstore, Target::Balanced, Op::Track, stored)
            .await?;
        if gif {
            Ok(Reply {
                content_type: Some("image/gif"),
                headers: Vec::new(),
                body: Bytes::from_static(PIXEL_GIF),
            })
        } else {
            Ok(Reply::empty())
        }
    }

    async fn get_cursor(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let state = self
            .shard_request(Op::Cursor, project, logstore, shard)
            .await?;
        let s = state.store.logstore(project, logstore)?.shard(shard)?;
        let from = ctx.param("from").unwrap_or_default();
        let offset = match from {
            "begin" => 0,
            "end" => s.end(),
            t => match t.parse::<i64>() {
                Ok(t) => s.offset_at(t.clamp(0, i64::from(u32::MAX)) as u32),
                Err(_) => {
                    return Err(SlsError::parameter(format!(
                        "cursor position `{t}` is not begin, end or unix seconds"
                    )));
                }
            },
        };
        Ok(Reply::json(serde_json::json!({
            "cursor": cursor::encode(shard, offset)
        })))
    }

    async fn get_cursor_time(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let state = self
            .shard_request(Op::Cursor, project, logstore, shard)
            .await?;
        let s = state.store.logstore(project, logstore)?.shard(shard)?;
        let text = ctx
            .param("cursor")
            .ok_or_else(|| SlsError::parameter("GetCursorTime needs `cursor`"))?;
        let offset = s.offset_of(logstore, text)?;
        Ok(Reply::json(
            serde_json::json!({ "cursor_time": s.time_at(offset) }),
        ))
    }

    async fn pull_logs(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let count = match ctx.param("count") {
            None => 1000,
            Some(c) => c
                .parse::<u64>()
                .ok()
                .filter(|c| (1..=1000).contains(c))
                .ok_or_else(|| {
                    SlsError::parameter(format!("count `{c}` must be a number from 1 to 1000"))
                })?,
        };
        let start = ctx
            .param("cursor")
            .ok_or_else(|| SlsError::parameter("PullLogs needs `cursor`"))?;
        {
            let state = self.lock();
            let s = state.store.logstore(project, logstore)?.shard(shard)?;
            s.offset_of(logstore, start)?;
        }
        self.fault(Op::Pull, logstore, Some(shard)).await?;
        let (groups, from, upto, caught_up) = {
            let state = self.lock();
            let s = state.store.logstore(project, logstore)?.shard(shard)?;
            let from = s.offset_of(logstore, start)?;
            let limit = match ctx.param("end_cursor").or_else(|| ctx.param("endCursor")) {
                Some(end) => s.offset_of(logstore, end)?,
                None => s.end(),
            };
            let upto = (from + count).min(limit).max(from);
            let groups: Vec<Bytes> = s.groups[from as usize..upto as usize]
                .iter()
                .map(|g| g.bytes.clone())
                .collect();
            // Caught up: the service says so on read-write shards too (see README).
            let caught_up = upto == s.end();
            (groups, from, upto, caught_up)
        };
        let mut raw = Vec::new();
        proto::encode_group_list(groups.iter().map(|b| b.as_ref()), &mut raw);
        let accept = ctx
            .header("accept-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut headers = vec![
            ("x-log-cursor", cursor::encode(shard, upto)),
            ("x-log-count", groups.len().to_string()),
            ("x-log-bodyrawsize", raw.len().to_string()),
        ];
        if upto > from {
            headers.push(("x-log-read-last-cursor", cursor::encode(shard, upto - 1)));
        }
        if caught_up {
            headers.push(("x-log-end-of-cursor", "1".to_owned()));
        }
        let body = if raw.is_empty() {
            // An empty answer is 0 bytes with raw size 0, its compression named all the same.
            if accept.contains("lz4") {
                headers.push(("x-log-compresstype", "lz4".to_owned()));
            }
            Vec::new()
        } else if accept.contains("lz4") {
            headers.push(("x-log-compresstype", "lz4".to_owned()));
            lz4_flex::block::compress(&raw)
        } else if accept.contains("zstd") {
            headers.push(("x-log-compresstype", "zstd".to_owned()));
            zstd::bulk::compress(&raw, 1).map_err(|e| {
                SlsError::new(
                    500,
                    "InternalServerError",
                    format!("zstd compression failed: {e}"),
                )
            })?
        } else {
            raw
        };
        Ok(Reply {
            content_type: Some("application/x-protobuf"),
            headers,
            body: Bytes::from(body),
        })
    }

    fn split(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        shard: u32,
    ) -> Result<Reply, SlsError> {
        let mut state = self.lock();
        let shards = state
            .store
            .split(project, logstore, shard, ctx.param("key"), now_secs())?;
        save(&state.store)?;
        Ok(Reply::json(serde_json::Value::Array(
            shards.iter().map(|s| s.to_json()).collect(),
        )))
    }

    async fn list_consumer_groups(&self, project: &str, logstore: &str) -> Result<Reply, SlsError> {
        let state = self
            .logstore_request(Op::ConsumerGroup, project, logstore)
            .await?;
        let ls = state.store.logstore(project, logstore)?;
        let groups: Vec<_> = ls
            .consumer_groups
            .values()
            .map(|g| serde_json::json!({"name": g.name, "timeout": g.timeout, "order": g.in_order}))
            .collect();
        Ok(Reply::json(serde_json::Value::Array(groups)))
    }

    async fn create_consumer_group(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
    ) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            #[serde(rename = "consumerGroup")]
            consumer_group: String,
            timeout: u32,
            #[serde(default)]
            order: bool,
        }
        self.lock().store.logstore(project, logstore)?;
        self.fault(Op::ConsumerGroup, logstore, None).await?;
        let body: Body = ctx.json("CreateConsumerGroup")?;
        check_timeout(body.timeout)?;
        if body.consumer_group.is_empty() || body.consumer_group.len() > 128 {
            return Err(SlsError::parameter(
                "consumer group name must have 1 to 128 characters",
            ));
        }
        let mut state = self.lock();
        let ls = state.store.logstore_mut(project, logstore)?;
        if ls.consumer_groups.contains_key(&body.consumer_group) {
            return Err(SlsError::new(
                400,
                "ConsumerGroupAlreadyExist",
                format!(
                    "consumer group `{}` already exists in logstore `{logstore}`",
                    body.consumer_group
                ),
            ));
        }
        ls.consumer_groups.insert(
            body.consumer_group.clone(),
            ConsumerGroup::new(&body.consumer_group, body.timeout, body.order),
        );
        save(&state.store)?;
        Ok(Reply::empty())
    }

    async fn update_consumer_group(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            timeout: Option<u32>,
            order: Option<bool>,
        }
        self.lock().store.logstore(project, logstore)?;
        self.fault(Op::ConsumerGroup, logstore, None).await?;
        let body: Body = ctx.json("UpdateConsumerGroup")?;
        if let Some(t) = body.timeout {
            check_timeout(t)?;
        }
        let mut state = self.lock();
        let group = group_mut(&mut state.store, project, logstore, name)?;
        if let Some(t) = body.timeout {
            group.timeout = t;
        }
        if let Some(o) = body.order {
            group.in_order = o;
        }
        save(&state.store)?;
        Ok(Reply::empty())
    }

    async fn delete_consumer_group(
        &self,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        let mut state = self
            .logstore_request(Op::ConsumerGroup, project, logstore)
            .await?;
        let ls = state.store.logstore_mut(project, logstore)?;
        if ls.consumer_groups.remove(name).is_none() {
            return Err(SlsError::consumer_group_not_exist(logstore, name));
        }
        save(&state.store)?;
        Ok(Reply::empty())
    }

    async fn get_checkpoints(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        let state = self
            .logstore_request(Op::ConsumerGroup, project, logstore)
            .await?;
        let ls = state.store.logstore(project, logstore)?;
        let group = ls
            .consumer_groups
            .get(name)
            .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))?;
        let shards: Vec<u32> = match ctx.param("shard") {
            Some(id) => {
                let id = parse_shard(logstore, id)?;
                ls.shard(id)?;
                vec![id]
            }
            None => ls.shards.iter().map(|s| s.meta.id).collect(),
        };
        // Every shard is listed; one without a checkpoint has an empty one, which consumer
        // libraries take as "start from the configured position".
        let list: Vec<_> = shards
            .iter()
            .map(|id| match group.checkpoints.get(id) {
                Some(c) => serde_json::json!({
                    "shard": id, "checkpoint": c.checkpoint,
                    "updateTime": c.update_time, "consumer": c.consumer,
                }),
                None => serde_json::json!({
                    "shard": id, "checkpoint": "", "updateTime": 0, "consumer": "",
                }),
            })
            .collect();
        Ok(Reply::json(serde_json::Value::Array(list)))
    }

    async fn heartbeat(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        let consumer = consumer_param(ctx)?;
        self.lock().store.logstore(project, logstore)?;
        self.consumer_fault(Op::Heartbeat, logstore, None, consumer)
            .await?;
        let held: Vec<u32> = if ctx.body.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            ctx.json("heartbeat")?
        };
        let mut state = self.lock();
        let ls = state.store.logstore_mut(project, logstore)?;
        let group = ls
            .consumer_groups
            .get(name)
            .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))?;
        let assignable: BTreeSet<u32> = ls.assignable(group);
        let group = ls.consumer_groups.get_mut(name).expect("checked above");
        let now = Instant::now();
        if !group.accepts(consumer, &held, now) {
            return Err(SlsError::new(
                400,
                "NotExistConsumerWithBody",
                format!("Non-exist consumer `{consumer}` with non-empty body of heartbeat message"),
            ));
        }
        let owned = group.heartbeat(consumer, &held, &assignable, now);
        Ok(Reply::json(serde_json::json!(owned)))
    }

    async fn update_checkpoint(
        &self,
        ctx: &Ctx,
        project: &str,
        logstore: &str,
        name: &str,
    ) -> Result<Reply, SlsError> {
        #[derive(Deserialize)]
        struct Body {
            shard: u32,
            checkpoint: String,
        }
        let consumer = ctx.param("consumer").unwrap_or_default();
        let force = ctx
            .param("forceSuccess")
            .is_some_and(|f| f.eq_ignore_ascii_case("true"));
        let body: Body = ctx.json("UpdateCheckPoint")?;
        self.lock().store.logstore(project, logstore)?;
        self.consumer_fault(Op::Checkpoint, logstore, Some(body.shard), consumer)
            .await?;
        let mut state = self.lock();
        let ls = state.store.logstore_mut(project, logstore)?;
        ls.shard(body.shard)?
            .offset_of(logstore, &body.checkpoint)?;
        let group = ls
            .consumer_groups
            .get_mut(name)
            .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))?;
        if !force && group.owner(body.shard) != Some(consumer) {
            return Err(SlsError::new(
                400,
                "ConsumerNotMatch",
                format!(
                    "consumer `{consumer}` does not hold shard {} in consumer group `{name}`",
                    body.shard
                ),
            ));
        }
        group.checkpoints.insert(
            body.shard,
            Checkpoint {
                checkpoint: body.checkpoint,
                update_time: now_micros(),
                consumer: consumer.to_owned(),
            },
        );
        save(&state.store)?;
        Ok(Reply::empty())
    }

    fn admin(&self, ctx: &Ctx, segs: &[&str]) -> Result<Reply, SlsError> {
        match (segs, &ctx.method) {
            (["stats"], &Method::GET) => {
                let state = self.lock();
                let logstores: Vec<_> = state
                    .store
                    .logstores()
                    .map(|ls| {
                        let shards: Vec<_> = ls
                            .shards
                            .iter()
                            .map(|s| {
                                serde_json::json!({
                                    "shard": s.meta.id,
                                    "status": s.meta.status.as_str(),
                                    "log_groups": s.groups.len(),
                                    "logs": s.groups.iter().map(|g| u64::from(g.logs)).sum::<u64>(),
                                })
                            })
                            .collect();
                        serde_json::json!({
                            "project": ls.project,
                            "logstore": ls.name,
                            "log_groups": ls.shards.iter().map(|s| s.groups.len()).sum::<usize>(),
                            "logs": ls.shards.iter().flat_map(|s| &s.groups).map(|g| u64::from(g.logs)).sum::<u64>(),
                            "shards": shards,
                            "consumer_groups": ls.consumer_groups.values().map(|g| serde_json::json!({
                                "name": g.name,
                                "members": g.members().collect::<Vec<_>>(),
                                "held": g.held().collect::<BTreeMap<_, _>>(),
                                "owners": g.owners().map(|(s, m)| (s.to_string(), m)).collect::<BTreeMap<_, _>>(),
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                Ok(Reply::json(serde_json::json!({ "logstores": logstores })))
            }
            (["faults"], &Method::GET) => {
                let state = self.lock();
                Ok(Reply::json(
                    serde_json::json!({ "faults": state.faults.rules() }),
                ))
            }
            (["faults"], &Method::POST) => {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Rules {
                    One(FaultRule),
                    Many(Vec<FaultRule>),
                    Wrapped { faults: Vec<FaultRule> },
                }
                let rules = match ctx.json::<Rules>("fault")? {
                    Rules::One(r) => vec![r],
                    Rules::Many(rs) | Rules::Wrapped { faults: rs } => rs,
                };
                for rule in &rules {
                    rule.validate()
                        .map_err(|e| SlsError::parameter(e.to_string()))?;
                }
                let mut state = self.lock();
                for rule in rules {
                    state
                        .faults
                        .add(rule)
                        .map_err(|e| SlsError::parameter(e.to_string()))?;
                }
                Ok(Reply::json(
                    serde_json::json!({ "faults": state.faults.rules() }),
                ))
            }
            (["faults"], &Method::DELETE) => {
                self.lock().faults.clear();
                Ok(Reply::empty())
            }
            _ => Err(not_found(ctx)),
        }
    }
}

fn save(store: &Store) -> Result<(), SlsError> {
    store.save_state().map_err(|error| {
        tracing::error!(error = %error, source = ?std::error::Error::source(&error), "cannot persist state");
        SlsError::new(
            500,
            "InternalServerError",
            "sls-lite could not write its data directory",
        )
    })
}

fn group_mut<'a>(
    store: &'a mut Store,
    project: &str,
    logstore: &str,
    name: &str,
) -> Result<&'a mut ConsumerGroup, SlsError> {
    store
        .logstore_mut(project, logstore)?
        .consumer_groups
        .get_mut(name)
        .ok_or_else(|| SlsError::consumer_group_not_exist(logstore, name))
}

fn consumer_param(ctx: &Ctx) -> Result<&str, SlsError> {
    ctx.param("consumer")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| SlsError::parameter("heartbeat needs a non-empty `consumer`"))
}

fn check_timeout(timeout: u32) -> Result<(), SlsError> {
    if (1..=86_400).contains(&timeout) {
        Ok(())
    } else {
        Err(SlsError::parameter(format!(
            "consumer group timeout {timeout} must be from 1 to 86400 seconds"
        )))
    }
}

fn parse_shard(logstore: &str, id: &str) -> Result<u32, SlsError> {
    id.parse()
        .map_err(|_| SlsError::shard_not_exist(logstore, id))
}

fn not_found(ctx: &Ctx) -> SlsError {
    SlsError::new(
        404,
        "ParameterInvalid",
        format!(
            "{} {} is not an API sls-lite implements",
            ctx.method, ctx.path
        ),
    )
}

/// The body as the client meant it: decompressed per `x-log-compresstype`.
fn decode_body(ctx: &Ctx) -> Result<Bytes, SlsError> {
    let kind = ctx
        .header("x-log-compresstype")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let raw_size = ctx
        .header("x-log-bodyrawsize")
        .map(|s| {
            s.trim().parse::<usize>().map_err(|_| {
                SlsError::parameter(format!("x-log-bodyrawsize `{s}` is not a number"))
            })
        })
        .transpose()?;
    let decoded = match kind.as_str() {
        "" | "none" => return Ok(ctx.body.clone()),
        "lz4" => {
            let size = raw_size.ok_or_else(|| {
                SlsError::body("an lz4 body needs x-log-bodyrawsize (its uncompressed size)")
            })?;
            if size > MAX_BODY {
                return Err(SlsError::body(format!(
                    "x-log-bodyrawsize {size} is larger than {MAX_BODY}"
                )));
            }
            lz4_flex::block::decompress(&ctx.body, size)
                .map_err(|e| SlsError::body(format!("lz4 body does not decompress: {e}")))?
        }
        "zstd" => zstd::bulk::decompress(&ctx.body, raw_size.unwrap_or(MAX_BODY).min(MAX_BODY))
            .map_err(|e| SlsError::body(format!("zstd body does not decompress: {e}")))?,
        other => {
            return Err(SlsError::new(
                400,
                "InvalidCompressType",
                format!("x-log-compresstype `{other}` is not lz4 or zstd"),
            ));
        }
    };
    if let Some(size) = raw_size
        && decoded.len() != size
    {
        return Err(SlsError::body(format!(
            "body decompresses to {} bytes but x-log-bodyrawsize says {size}",
            decoded.len()
        )));
    }
    Ok(Bytes::from(decoded))
}

fn tag(key: &str, value: String) -> LogTag {
    LogTag {
        key: key.into(),
        value: value.into(),
    }
}

/// `GET …/track?APIVersion=0.6.0&__topic__=t&k=v…`: one log of the non-reserved parameters.
fn track_query(ctx: &Ctx, now: u32) -> Result<LogGroup, SlsError> {
    let mut group = LogGroup::default();
    let mut contents = Vec::new();
    for (k, v) in &ctx.query {
        match k.as_str() {
            "APIVersion" => {}
            "__topic__" => group.topic = Some(v.clone().into()),
            "__source__" => group.source = Some(v.clone().into()),
            _ => match k.strip_prefix("__tag__:") {
                Some(t) => group.log_tags.push(tag(t, v.clone())),
                None => contents.push(LogContent {
                    key: k.clone().into(),
                    value: v.clone().into(),
                }),
            },
        }
    }
    if contents.is_empty() {
        return Err(SlsError::parameter(
            "webtracking request has no log fields: add key=value query parameters",
        ));
    }
    group.logs.push(Log {
        time: now,
        contents,
        time_ns: None,
    });
    Ok(group)
}

/// `POST …/track` JSON: `{"__topic__","__source__","__logs__":[{…}],"__tags__":{…}}`.
fn track_json(body: &[u8], now: u32) -> Result<LogGroup, SlsError> {
    #[derive(Deserialize)]
    struct Batch {
        #[serde(rename = "__topic__")]
        topic: Option<String>,
        #[serde(rename = "__source__")]
        source: Option<String>,
        #[serde(rename = "__logs__")]
        logs: Vec<serde_json::Map<String, serde_json::Value>>,
        #[serde(rename = "__tags__", default)]
        tags: serde_json::Map<String, serde_json::Value>,
    }
    let batch: Batch = serde_json::from_slice(body)
        .map_err(|e| SlsError::body(format!("webtracking body is not the expected JSON: {e}")))?;
    if batch.logs.is_empty() {
        return Err(SlsError::body("webtracking body has an empty `__logs__`"));
    }
    let text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    let logs = batch
        .logs
        .into_iter()
        .map(|fields| {
            let mut time = now;
            let mut contents = Vec::new();
            for (k, v) in fields {
                let v = text(v);
                if k == "__time__" {
                    time = v.parse().unwrap_or(now);
                } else {
                    contents.push(LogContent {
                        key: k.into(),
                        value: v.into(),
                    });
                }
            }
            Log {
                time,
                contents,
                time_ns: None,
            }
        })
        .collect();
    Ok(LogGroup {
        logs,
        topic: batch.topic.map(String::into_bytes),
        source: batch.source.map(String::into_bytes),
        log_tags: batch
            .tags
            .into_iter()
            .map(|(k, v)| tag(&k, text(v)))
            .collect(),
        ..Default::default()
    })
}

/// The project label of a Host value: its first label, unless the host is an IP address or a
/// single label (then there is none).
fn project_label(host: &str) -> Option<&str> {
    if host.starts_with('[') {
        return None;
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    if name.parse::<IpAddr>().is_ok() {
        return None;
    }
    name.split_once('.')
        .map(|(first, _)| first)
        .filter(|f| !f.is_empty())
}

fn percent_decode(segment: &str) -> String {
    if !segment.contains('%') {
        return segment.to_owned();
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now_secs() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{LogGroupText, LogText};

    #[test]
    fn project_comes_from_the_first_label_of_a_name() {
        assert_eq!(
            project_label("demo.cn-hangzhou.log.aliyuncs.com"),
            Some("demo")
        );
        assert_eq!(project_label("demo.127.0.0.1"), Some("demo"));
        assert_eq!(project_label("demo.sls.local:8080"), Some("demo"));
        assert_eq!(project_label("127.0.0.1:8080"), None);
        assert_eq!(project_label("127.0.0.1"), None);
        assert_eq!(project_label("[::1]:8080"), None);
        assert_eq!(project_label("localhost:8080"), None);
    }

    #[test]
    fn percent_decoding_of_path_segments() {
        assert_eq!(percent_decode("orders"), "orders");
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("end%4"), "end%4");
    }

    #[test]
    fn webtracking_json_batch() {
        let body = r#"{"__topic__":"t","__source__":"s","__logs__":[{"id":"1","n":2,"__time__":"1700000000"},{"name":"こころ"}],"__tags__":{"env":"test"}}"#;
        let g = track_json(body.as_bytes(), 42).unwrap();
        assert_eq!(g.topic_str(), Some("t"));
        assert_eq!(g.source_str(), Some("s"));
        assert_eq!(g.logs.len(), 2);
        assert_eq!(g.logs[0].time, 1_700_000_000);
        assert_eq!(g.logs[0].get("n"), Some("2"));
        assert_eq!(g.logs[1].time, 42);
        assert_eq!(g.logs[1].get("name"), Some("こころ"));
        assert_eq!(g.tag("env"), Some("test"));
        assert!(track_json(br#"{"__logs__":[]}"#, 1).is_err());
    }
}
