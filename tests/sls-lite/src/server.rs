//! The HTTP side: accepting connections, resolving the project, authenticating, routing each
//! request to its handler and answering in the service's format.
//!
//! The handlers are its child modules, one per API area; `save`, `parse_shard`, `not_found`
//! and `now_secs` here serve several of them, and the TTL sweep runs here before every
//! request to a logstore.

mod admin;
mod consumer_groups;
mod cursors;
mod logstores;
mod pull;
mod put;
mod shards;
mod webtracking;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::error::SlsError;
use crate::faults::{self, EmptyRule, Faults, Op, Outcome};
use crate::sign::{self, DateHeader, SignParts};
use crate::store::{Store, StoreError};
use put::Target;

/// Largest request body accepted (the service's own PutLogs limit is 10 MB compressed).
const MAX_BODY: usize = 64 << 20;
/// Clock skew the service tolerates on a signed request's `Date`.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

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
            self.sweep(&project, ls)?;
            return self.track(ctx, &project, ls, *page == "track.gif").await;
        }
        self.authenticate(ctx)?;
        let project = self.project(ctx)?;
        let p = project.as_str();
        let m = &ctx.method;
        if let ["logstores", ls, ..] = segs.as_slice() {
            self.sweep(p, ls)?;
        }
        match segs.as_slice() {
            ["logstores"] if m == Method::GET => self.list_logstores(p),
            ["logstores"] if m == Method::POST => self.create_logstore(ctx, p),
            ["logstores", ls] if m == Method::GET => self.get_logstore(p, ls),
            ["logstores", ls] if m == Method::DELETE => self.delete_logstore(p, ls),
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
                    Some("merge") => self.merge(p, ls, shard),
                    other => Err(SlsError::parameter(format!(
                        "shard action `{}` is not supported by sls-lite (only split and merge)",
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

    /// Removes what the logstore's TTL no longer keeps, before a request reads or writes it
    /// (lazily: nothing runs in the background).
    fn sweep(&self, project: &str, logstore: &str) -> Result<(), SlsError> {
        let mut state = self.lock();
        if state.store.sweep(project, logstore, now_secs()) {
            save(&state.store)?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
