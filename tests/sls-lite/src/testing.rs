//! Client-side helpers for tests: a small signed Log Service client over hyper, sharing the
//! protobuf types, to feed a server (this one or any compatible one) and read it back.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> Result<(), sls_lite::testing::ClientError> {
//! use sls_lite::testing::{self, log};
//! testing::put_logs(addr, "demo", "orders", [log([("id", "1"), ("name", "こころ")])]).await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use prost::Message;
use serde::Deserialize;
use tokio::net::TcpStream;

use crate::faults::FaultRule;
use crate::proto::{Log, LogGroup};
use crate::sign::{self, DateHeader, SignParts};

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to the log service at {addr}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP exchange with the log service at {addr} failed")]
    Http {
        addr: SocketAddr,
        source: hyper::Error,
    },
    #[error("log service refused {what} with {status} {code}: {message} (request {request_id})")]
    Service {
        what: String,
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    #[error("log service's answer to {what} is not valid: {detail}")]
    Response { what: String, detail: String },
}

impl ClientError {
    /// The service's error code, for a refused call.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, for a refused call.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Body compression of a PutLogs request or a PullLogs answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Lz4,
    Zstd,
}

impl Compression {
    fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Lz4 => Some("lz4"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// This answer when it is a 200, else the service's refusal of `what`, carrying its code.
    pub fn success(self, what: &str) -> Result<Response, ClientError> {
        if self.status == 200 {
            return Ok(self);
        }
        let json = self.json();
        let field = |name: &str| json[name].as_str().unwrap_or_default().to_owned();
        Err(ClientError::Service {
            what: what.to_owned(),
            status: self.status,
            code: field("errorCode"),
            message: field("errorMessage"),
            request_id: self
                .header("x-log-requestid")
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// One shard as ListShards describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShardInfo {
    #[serde(rename = "shardID")]
    pub shard_id: u32,
    pub status: String,
    #[serde(rename = "inclusiveBeginKey")]
    pub begin_key: String,
    #[serde(rename = "exclusiveEndKey")]
    pub end_key: String,
    #[serde(rename = "createTime")]
    pub create_time: u64,
}

/// One consumer-group checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CheckpointInfo {
    pub shard: u32,
    pub checkpoint: String,
    #[serde(rename = "updateTime")]
    pub update_time: u64,
    pub consumer: String,
}

/// A PullLogs answer.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub groups: Vec<LogGroup>,
    pub next_cursor: String,
    /// `x-log-count`.
    pub count: usize,
    /// `x-log-compresstype`, when the body was compressed.
    pub compression: Option<String>,
    pub end_of_cursor: bool,
}

/// A client for one project of a Log Service endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    project: String,
    key: Option<(String, String)>,
    security_token: Option<String>,
}

impl Client {
    /// A client of `project` at `addr` (sent as `Host: {project}.{addr}`), unsigned.
    pub fn new(addr: SocketAddr, project: &str) -> Self {
        Client {
            addr,
            project: project.to_owned(),
            key: None,
            security_token: None,
        }
    }

    /// Signs every request with this access key.
    pub fn with_access_key(mut self, id: &str, secret: &str) -> Self {
        self.key = Some((id.to_owned(), secret.to_owned()));
        self
    }

    /// Sends `x-acs-security-token` (STS credentials).
    pub fn with_security_token(mut self, token: &str) -> Self {
        self.security_token = Some(token.to_owned());
        self
    }

    /// Adds the v1 signature headers (and the STS token) for a request to `path`, when the
    /// client has a key.
    fn sign(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        all: &mut Vec<(String, String)>,
        body: &Bytes,
    ) {
        let Some((id, secret)) = &self.key else {
            return;
        };
        all.push(("x-log-signaturemethod".into(), "hmac-sha1".into()));
        if let Some(token) = &self.security_token {
            all.push(("x-acs-security-token".into(), token.clone()));
        }
        let date = httpdate::fmt_http_date(SystemTime::now());
        let md5 = if body.is_empty() {
            String::new()
        } else {
            sign::content_md5(body)
        };
        if !md5.is_empty() {
            all.push(("content-md5".into(), md5.clone()));
        }
        all.push(("date".into(), date.clone()));
        let content_type = all
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let decoded: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let text = sign::string_to_sign(
            &SignParts {
                method: method.as_str(),
                content_md5: &md5,
                content_type: &content_type,
                date: &date,
                path,
            },
            &sign::canonical_headers(
                all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                DateHeader::Exclude,
            ),
            &decoded,
        );
        all.push((
            "authorization".into(),
            sign::authorization(id, secret, &text),
        ));
    }

    /// Sends one request (signed when a key is set) and returns the answer whatever its status.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<Response, ClientError> {
        let mut all: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        let has = |all: &[(String, String)], name: &str| all.iter().any(|(k, _)| k == name);
        if !has(&all, "x-log-apiversion") {
            all.push(("x-log-apiversion".into(), "0.6.0".into()));
        }
        if !has(&all, "x-log-bodyrawsize") {
            all.push(("x-log-bodyrawsize".into(), body.len().to_string()));
        }
        self.sign(&method, path, query, &mut all, &body);
        let mut uri = path.to_owned();
        if !query.is_empty() {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            uri = format!("{uri}?{encoded}");
        }
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", format!("{}.{}", self.project, self.addr));
        for (k, v) in &all {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| ClientError::Response {
                what: path.to_owned(),
                detail: format!("request cannot be built: {e}"),
            })?;
        let stream =
            TcpStream::connect(self.addr)
                .await
                .map_err(|source| ClientError::Connect {
                    addr: self.addr,
                    source,
                })?;
        let http = |source| ClientError::Http {
            addr: self.addr,
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let response = sender.send_request(request).await.map_err(http)?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(http)?.to_bytes();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    fn parse<T: for<'de> Deserialize<'de>>(what: &str, r: &Response) -> Result<T, ClientError> {
        serde_json::from_slice(&r.body).map_err(|e| ClientError::Response {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    /// `what`: a GET of `path` with `query` that must succeed; its JSON answer.
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let r = self.request(Method::GET, path, query, &[], Bytes::new());
        Self::parse(what, &r.await?.success(what)?)
    }

    /// `what`: a POST of the JSON `body` to `path` with `query` that must succeed.
    async fn post_json(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, &str)],
        body: String,
    ) -> Result<Response, ClientError> {
        let headers = [("content-type", "application/json")];
        let r = self.request(Method::POST, path, query, &headers, Bytes::from(body));
        r.await?.success(what)
    }

    async fn put(
        &self,
        logstore: &str,
        path: String,
        query: &[(&str, &str)],
        group: &LogGroup,
        compression: Compression,
    ) -> Result<(), ClientError> {
        let raw = group.encode_to_vec();
        let raw_size = raw.len().to_string();
        let body = match compression {
            Compression::None => raw,
            Compression::Lz4 => lz4_flex::block::compress(&raw),
            Compression::Zstd => {
                zstd::bulk::compress(&raw, 1).map_err(|e| ClientError::Response {
                    what: format!("PutLogs to {logstore}"),
                    detail: format!("zstd compression failed: {e}"),
                })?
            }
        };
        let mut headers = vec![
            ("content-type", "application/x-protobuf"),
            ("x-log-bodyrawsize", raw_size.as_str()),
        ];
        if let Some(name) = compression.name() {
            headers.push(("x-log-compresstype", name));
        }
        let r = self.request(Method::POST, &path, query, &headers, Bytes::from(body));
        r.await?.success(&format!("PutLogs to {logstore}"))?;
        Ok(())
    }

    /// PutLogs of one log group to a load-balanced shard.
    pub async fn put_log_group(
        &self,
        logstore: &str,
        group: &LogGroup,
        compression: Compression,
    ) -> Result<(), ClientError> {
        let path = format!("/logstores/{logstore}/shards/lb");
        self.put(logstore, path, &[], group, compression).await
    }

    /// PutLogs of one log group to the shard owning hash `key` (32 hex digits).
    pub async fn put_log_group_with_key(
        &self,
        logstore: &str,
        key: &str,
        group: &LogGroup,
        compression: Compression,
    ) -> Result<(), ClientError> {
        let path = format!("/logstores/{logstore}/shards/route");
        self.put(logstore, path, &[("key", key)], group, compression)
            .await
    }

    /// WebTracking GET with the given parameters (values URL-encoded as UTF-8).
    pub async fn track(&self, logstore: &str, params: &[(&str, &str)]) -> Result<(), ClientError> {
        let mut query = vec![("APIVersion", "0.6.0")];
        query.extend_from_slice(params);
        let path = format!("/logstores/{logstore}/track");
        let response = self.request(Method::GET, &path, &query, &[], Bytes::new());
        let response = response.await?;
        if response.status != 200 {
            let json = response.json();
            return Err(ClientError::Service {
                what: format!("WebTracking to {logstore}"),
                status: response.status,
                code: json["errorCode"].as_str().unwrap_or_default().to_owned(),
                message: json["errorMessage"].as_str().unwrap_or_default().to_owned(),
                request_id: String::new(),
            });
        }
        Ok(())
    }

    pub async fn list_shards(&self, logstore: &str) -> Result<Vec<ShardInfo>, ClientError> {
        let what = format!("ListShards of {logstore}");
        self.get(&what, &format!("/logstores/{logstore}/shards"), &[])
            .await
    }

    /// Splits a shard (at the middle of its range without `key`); returns parent and children.
    pub async fn split_shard(
        &self,
        logstore: &str,
        shard: u32,
        key: Option<&str>,
    ) -> Result<Vec<ShardInfo>, ClientError> {
        let what = format!("SplitShard {shard} of {logstore}");
        let path = format!("/logstores/{logstore}/shards/{shard}");
        let mut query = vec![("action", "split")];
        if let Some(key) = key {
            query.push(("key", key));
        }
        let r = self.request(Method::POST, &path, &query, &[], Bytes::new());
        Self::parse(&what, &r.await?.success(&what)?)
    }

    /// Merges writable `shard` with its right neighbour; returns the new shard, then the two
    /// parents (MergeShards' answer).
    pub async fn merge_shards(
        &self,
        logstore: &str,
        shard: u32,
    ) -> Result<Vec<ShardInfo>, ClientError> {
        let what = format!("MergeShards {shard} of {logstore}");
        let path = format!("/logstores/{logstore}/shards/{shard}");
        let query = [("action", "merge")];
        let r = self.request(Method::POST, &path, &query, &[], Bytes::new());
        Self::parse(&what, &r.await?.success(&what)?)
    }

    /// CreateLogStore with `shards` shards, as the Python SDK's `create_logstore` sends it
    /// (TTL 30 days, no automatic split).
    pub async fn create_logstore(&self, logstore: &str, shards: u32) -> Result<(), ClientError> {
        let body = serde_json::json!({
            "logstoreName": logstore, "ttl": 30, "shardCount": shards,
            "enable_tracking": false, "autoSplit": false, "maxSplitShard": 0,
            "appendMeta": true, "telemetryType": "",
        });
        let what = format!("CreateLogStore {logstore}");
        self.post_json(&what, "/logstores", &[], body.to_string())
            .await?;
        Ok(())
    }

    /// DeleteLogStore: the logstore, its shards and consumer groups.
    pub async fn delete_logstore(&self, logstore: &str) -> Result<(), ClientError> {
        let what = format!("DeleteLogStore {logstore}");
        let path = format!("/logstores/{logstore}");
        let r = self.request(Method::DELETE, &path, &[], &[], Bytes::new());
        r.await?.success(&what)?;
        Ok(())
    }

    /// GetLogStore's JSON answer (`ttl`, `shardCount`, `autoSplit`, `maxSplitShard`, …).
    pub async fn get_logstore(&self, logstore: &str) -> Result<serde_json::Value, ClientError> {
        let what = format!("GetLogStore {logstore}");
        self.get(&what, &format!("/logstores/{logstore}"), &[])
            .await
    }

    /// `POST /_admin/expire`: removes the `log_groups` oldest log groups of each shard of
    /// `logstore` in this client's project (or only of `shard`), as a TTL would. Answers
    /// `{"expired": {"<shard>": removed, …}, "removed_shards": [ids]}`.
    pub async fn expire(
        &self,
        logstore: &str,
        shard: Option<u32>,
        log_groups: u64,
    ) -> Result<serde_json::Value, ClientError> {
        let body = serde_json::json!({
            "project": self.project, "logstore": logstore,
            "shard": shard, "log_groups": log_groups,
        });
        let what = format!("expire of {logstore}");
        let r = self.post_json(&what, "/_admin/expire", &[], body.to_string());
        Self::parse(&what, &r.await?)
    }

    /// GetCursor `from` = `begin`, `end` or unix seconds.
    pub async fn get_cursor(
        &self,
        logstore: &str,
        shard: u32,
        from: &str,
    ) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Body {
            cursor: String,
        }
        let what = format!("GetCursor of shard {shard} of {logstore}");
        let path = format!("/logstores/{logstore}/shards/{shard}");
        let query = [("type", "cursor"), ("from", from)];
        Ok(self.get::<Body>(&what, &path, &query).await?.cursor)
    }

    pub async fn get_cursor_time(
        &self,
        logstore: &str,
        shard: u32,
        cursor: &str,
    ) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Body {
            cursor_time: u64,
        }
        let what = format!("GetCursorTime of shard {shard} of {logstore}");
        let path = format!("/logstores/{logstore}/shards/{shard}");
        let query = [("type", "cursor_time"), ("cursor", cursor)];
        Ok(self.get::<Body>(&what, &path, &query).await?.cursor_time)
    }

    /// PullLogs from `cursor`, up to `count` log groups (and before `end_cursor` if given).
    pub async fn pull_logs(
        &self,
        logstore: &str,
        shard: u32,
        cursor: &str,
        count: u32,
        end_cursor: Option<&str>,
        accept: Compression,
    ) -> Result<Pulled, ClientError> {
        let what = format!("PullLogs of shard {shard} of {logstore}");
        let path = format!("/logstores/{logstore}/shards/{shard}");
        let count = count.to_string();
        let mut query = vec![
            ("type", "log"),
            ("cursor", cursor),
            ("count", count.as_str()),
        ];
        if let Some(end) = end_cursor {
            query.push(("end_cursor", end));
        }
        let headers = [
            ("accept", "application/x-protobuf"),
            ("accept-encoding", accept.name().unwrap_or("")),
        ];
        let r = self.request(Method::GET, &path, &query, &headers, Bytes::new());
        let r = r.await?.success(&what)?;
        let bad = |detail: String| ClientError::Response {
            what: what.clone(),
            detail,
        };
        let raw_size: usize = r
            .header("x-log-bodyrawsize")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("no x-log-bodyrawsize".into()))?;
        let compression = r.header("x-log-compresstype").map(str::to_owned);
        // As the official SDKs: raw size 0 is an empty answer, whatever the compression.
        let raw = match compression.as_deref() {
            _ if raw_size == 0 => Vec::new(),
            None | Some("") => r.body.to_vec(),
            Some("lz4") => lz4_flex::block::decompress(&r.body, raw_size)
                .map_err(|e| bad(format!("lz4 body: {e}")))?,
            Some("zstd") => zstd::bulk::decompress(&r.body, raw_size)
                .map_err(|e| bad(format!("zstd body: {e}")))?,
            Some(other) => return Err(bad(format!("unknown compression `{other}`"))),
        };
        let list = crate::proto::decode_group_list(raw.as_slice())
            .map_err(|e| bad(format!("body is not a LogGroupList: {e}")))?;
        Ok(Pulled {
            count: r
                .header("x-log-count")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("no x-log-count".into()))?,
            next_cursor: r
                .header("x-log-cursor")
                .ok_or_else(|| bad("no x-log-cursor".into()))?
                .to_owned(),
            end_of_cursor: r.header("x-log-end-of-cursor") == Some("1"),
            compression,
            groups: list.log_groups,
        })
    }

    /// Every log group of every shard, from the beginning to the current end, shard by shard.
    pub async fn pull_all(&self, logstore: &str) -> Result<Vec<LogGroup>, ClientError> {
        let mut out = Vec::new();
        for shard in self.list_shards(logstore).await? {
            let mut cursor = self.get_cursor(logstore, shard.shard_id, "begin").await?;
            loop {
                let pulled = self
                    .pull_logs(
                        logstore,
                        shard.shard_id,
                        &cursor,
                        1000,
                        None,
                        Compression::Lz4,
                    )
                    .await?;
                out.extend(pulled.groups);
                if pulled.next_cursor == cursor {
                    break;
                }
                cursor = pulled.next_cursor;
            }
        }
        Ok(out)
    }

    pub async fn create_consumer_group(
        &self,
        logstore: &str,
        name: &str,
        timeout: u32,
        in_order: bool,
    ) -> Result<(), ClientError> {
        let body =
            serde_json::json!({"consumerGroup": name, "timeout": timeout, "order": in_order});
        let what = format!("CreateConsumerGroup {name} of {logstore}");
        let path = format!("/logstores/{logstore}/consumergroups");
        self.post_json(&what, &path, &[], body.to_string()).await?;
        Ok(())
    }

    /// Heartbeat of `consumer` holding `held`; returns the shards it should hold.
    pub async fn heartbeat(
        &self,
        logstore: &str,
        group: &str,
        consumer: &str,
        held: &[u32],
    ) -> Result<Vec<u32>, ClientError> {
        let what = format!("heartbeat of {consumer} in {group}");
        let path = format!("/logstores/{logstore}/consumergroups/{group}");
        let query = [("type", "heartbeat"), ("consumer", consumer)];
        let body = serde_json::to_string(held).expect("ints serialize");
        Self::parse(&what, &self.post_json(&what, &path, &query, body).await?)
    }

    pub async fn update_checkpoint(
        &self,
        logstore: &str,
        group: &str,
        consumer: &str,
        shard: u32,
        checkpoint: &str,
        force: bool,
    ) -> Result<(), ClientError> {
        let body = serde_json::json!({"shard": shard, "checkpoint": checkpoint});
        let what = format!("UpdateCheckPoint of shard {shard} in {group}");
        let path = format!("/logstores/{logstore}/consumergroups/{group}");
        let query = [
            ("type", "checkpoint"),
            ("consumer", consumer),
            ("forceSuccess", if force { "true" } else { "false" }),
        ];
        self.post_json(&what, &path, &query, body.to_string())
            .await?;
        Ok(())
    }

    pub async fn get_checkpoints(
        &self,
        logstore: &str,
        group: &str,
    ) -> Result<Vec<CheckpointInfo>, ClientError> {
        let what = format!("GetCheckPoint of {group}");
        let path = format!("/logstores/{logstore}/consumergroups/{group}");
        self.get(&what, &path, &[]).await
    }

    /// `GET /_admin/stats`.
    pub async fn stats(&self) -> Result<serde_json::Value, ClientError> {
        self.get("stats", "/_admin/stats", &[]).await
    }

    /// Number of logs stored in a logstore (from `/_admin/stats`).
    pub async fn stored_logs(&self, logstore: &str) -> Result<u64, ClientError> {
        let stats = self.stats().await?;
        Ok(stats["logstores"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["project"] == self.project.as_str() && l["logstore"] == logstore)
            .and_then(|l| l["logs"].as_u64())
            .unwrap_or(0))
    }

    /// `GET /_admin/faults`: the rules still in force.
    pub async fn faults(&self) -> Result<serde_json::Value, ClientError> {
        self.get("list faults", "/_admin/faults", &[]).await
    }

    /// `POST /_admin/faults`.
    pub async fn add_fault(&self, rule: &FaultRule) -> Result<(), ClientError> {
        let body = serde_json::to_string(rule).expect("rule serializes");
        self.post_json("add fault", "/_admin/faults", &[], body)
            .await?;
        Ok(())
    }

    /// `DELETE /_admin/faults`.
    pub async fn clear_faults(&self) -> Result<(), ClientError> {
        let r = self.request(Method::DELETE, "/_admin/faults", &[], &[], Bytes::new());
        r.await?.success("clear faults")?;
        Ok(())
    }
}

/// A log stamped now with the given contents.
pub fn log<K: Into<Vec<u8>>, V: Into<Vec<u8>>>(contents: impl IntoIterator<Item = (K, V)>) -> Log {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    Log::new(now, contents)
}

/// Puts `logs` as one lz4-compressed log group (no topic) into `project`/`logstore` at `addr`.
pub async fn put_logs(
    addr: SocketAddr,
    project: &str,
    logstore: &str,
    logs: impl IntoIterator<Item = Log>,
) -> Result<(), ClientError> {
    let group = LogGroup {
        logs: logs.into_iter().collect(),
        ..Default::default()
    };
    Client::new(addr, project)
        .put_log_group(logstore, &group, Compression::Lz4)
        .await
}
