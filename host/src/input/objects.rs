//! CSV inputs and lookup tables in object storage: `oss://BUCKET/KEY` (Alibaba Cloud OSS)
//! and `s3://BUCKET/KEY` (any S3-compatible store), read through the `object_store` crate
//! over OSS's S3 API.
//!
//! An object is streamed, never downloaded whole: a ranged GET from the offset the reader
//! needs, pinned to the ETag the object had when it was listed (`If-Match`), so a resumed
//! load continues the same object or fails rather than splicing two versions. A body that
//! breaks off mid-stream is asked for again from the byte reached.
//!
//! Options after `?`: `endpoint=URL` (OSS: `https://oss-REGION.aliyuncs.com`, its region
//! taken from the host), `region=`, `style=virtual|path` (OSS wants virtual-hosted
//! requests, `BUCKET.oss-….aliyuncs.com`; an endpoint on an IP address or `localhost` gets
//! path-style ones) and `anonymous=true` (unsigned requests). Credentials are the Log
//! Service client's (`sls-client`): the Alibaba Cloud chain (environment, OIDC role,
//! profiles, ECS RAM role), sent as AWS Signature V4, which OSS accepts ("Use AWS SDKs to
//! access OSS", Alibaba Cloud documentation).

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};
use sls_client::CredentialsProvider;

/// The schemes read from object storage.
const SCHEMES: [&str; 2] = ["oss://", "s3://"];

/// The options an object URL accepts after `?`.
const OPTIONS: &str = "endpoint, region, style, anonymous";

/// A body that breaks off is asked for again this many times in a row before the read fails
/// (object_store retries each request itself; this covers the stream after the headers).
const BODY_RETRIES: u32 = 3;

/// Whether `input` names objects in a bucket rather than local files.
pub fn is_remote(input: &str) -> bool {
    SCHEMES.iter().any(|s| input.starts_with(s))
}

/// An object URL taken apart: `oss://BUCKET/KEY?options`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUrl {
    /// `oss` or `s3`.
    pub scheme: String,
    pub bucket: String,
    /// The key, or a glob over keys (`exports/*.csv`).
    pub key: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Virtual-hosted requests (`BUCKET.host`); `None`: decided from the endpoint.
    pub virtual_hosted: Option<bool>,
    pub anonymous: bool,
}

impl ObjectUrl {
    pub fn parse(input: &str) -> Result<ObjectUrl, String> {
        let (scheme, rest) = input
            .split_once("://")
            .filter(|(s, _)| matches!(*s, "oss" | "s3"))
            .ok_or_else(|| format!("`{input}` is not an oss:// or s3:// URL"))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() || key.is_empty() {
            return Err(format!(
                "`{scheme}://{path}` names no object: write {scheme}://BUCKET/KEY (a glob such as `exports/*.csv` in KEY reads several)"
            ));
        }
        let mut url = ObjectUrl {
            scheme: scheme.to_owned(),
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            endpoint: None,
            region: None,
            virtual_hosted: None,
            anonymous: false,
        };
        for pair in query.into_iter().flat_map(|q| q.split('&')) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                let pair = holo_common::redact::hide_userinfo(pair);
                format!("option `{pair}` of `{scheme}://{path}` needs a value (`option=value`)")
            })?;
            let bad = |why: &str| format!("option `{k}` of `{scheme}://{path}` {why}");
            match k {
                "endpoint" if v.starts_with("http://") || v.starts_with("https://") => {
                    url.endpoint = Some(v.trim_end_matches('/').to_owned())
                }
                "endpoint" => return Err(bad("must be an http:// or https:// URL")),
                "region" if !v.is_empty() => url.region = Some(v.to_owned()),
                "style" => {
                    url.virtual_hosted = Some(match v {
                        "virtual" => true,
                        "path" => false,
                        _ => return Err(bad("must be `virtual` or `path`")),
                    })
                }
                "anonymous" => {
                    url.anonymous = match v {
                        "true" => true,
                        "false" => false,
                        _ => return Err(bad("must be `true` or `false`")),
                    }
                }
                _ => {
                    return Err(format!(
                        "unknown option `{k}` in `{scheme}://{path}`: the options are {OPTIONS}"
                    ));
                }
            }
        }
        if url.scheme == "oss" && url.endpoint.is_none() && url.region.is_none() {
            return Err(format!(
                "`{scheme}://{path}` needs `endpoint=https://oss-REGION.aliyuncs.com` (or `region=REGION`)"
            ));
        }
        Ok(url)
    }

    /// The object's name without options: what positions, partitions and messages use.
    pub fn name(&self, key: &str) -> String {
        format!("{}://{}/{key}", self.scheme, self.bucket)
    }

    /// The endpoint and region requests go to, and whether the bucket is in the host name.
    fn target(&self) -> (Option<String>, String, bool) {
        let endpoint = self.endpoint.clone().or_else(|| {
            (self.scheme == "oss").then(|| {
                let region = self.region.as_deref().unwrap_or_default();
                format!("https://oss-{region}.aliyuncs.com")
            })
        });
        let host = endpoint
            .as_deref()
            .and_then(|e| e.split_once("://"))
            .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or_default().to_owned());
        let region = self.region.clone().unwrap_or_else(|| {
            host.as_deref()
                .and_then(oss_region)
                .unwrap_or("us-east-1")
                .to_owned()
        });
        // A bucket cannot be a subdomain of an address or of `localhost` (test servers).
        let local = host.as_deref().is_some_and(|h| {
            h == "localhost" || h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[')
        });
        let virtual_hosted = self
            .virtual_hosted
            .unwrap_or(self.scheme == "oss" && !local);
        let endpoint = match (endpoint, virtual_hosted) {
            (Some(e), true) => {
                let (proto, host) = e.split_once("://").expect("checked when parsed");
                Some(format!("{proto}://{}.{host}", self.bucket))
            }
            (e, _) => e,
        };
        (endpoint, region, virtual_hosted)
    }
}

/// The region of an OSS endpoint host: `oss-cn-hangzhou.aliyuncs.com`,
/// `s3.oss-cn-hangzhou.aliyuncs.com` and `oss-cn-hangzhou-internal.aliyuncs.com` are all in
/// `cn-hangzhou`.
fn oss_region(host: &str) -> Option<&str> {
    let first = host
        .strip_suffix(".aliyuncs.com")?
        .trim_start_matches("s3.")
        .strip_prefix("oss-")?;
    Some(first.strip_suffix("-internal").unwrap_or(first))
}

/// One object as listed: its key, size and version.
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// A bucket's client, with the runtime its requests run on: the CSV reader is synchronous
/// and runs on a thread of its own, so each call blocks on a small runtime held here.
pub struct Bucket {
    url: ObjectUrl,
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("bucket", &self.url.bucket)
            .field("endpoint", &self.url.endpoint)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// The client for `url`'s bucket, shared by every input and lookup naming the same
    /// bucket, endpoint and options.
    pub fn connect(url: &ObjectUrl) -> Result<Arc<Bucket>, String> {
        static BUCKETS: OnceLock<Mutex<HashMap<String, Arc<Bucket>>>> = OnceLock::new();
        let id = format!("{}?{:?}{}", url.name(""), url.target(), url.anonymous);
        let mut buckets = BUCKETS.get_or_init(Default::default).lock().expect("lock");
        if let Some(b) = buckets.get(&id) {
            return Ok(b.clone());
        }
        let (endpoint, region, virtual_hosted) = url.target();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&url.bucket)
            .with_region(region)
            .with_virtual_hosted_style_request(virtual_hosted);
        if let Some(e) = &endpoint {
            builder = builder
                .with_allow_http(e.starts_with("http://"))
                .with_endpoint(e);
        }
        builder = if url.anonymous {
            builder.with_skip_signature(true)
        } else {
            builder.with_credentials(Arc::new(AlibabaCredentials(
                CredentialsProvider::default_chain(),
            )))
        };
        let store = builder
            .build()
            .map_err(|e| format!("cannot set up a client for {}: {e}", url.name("")))?;
        // One worker drives the connections, whichever thread blocks on a request.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("holo-objects")
            .build()
            .map_err(|e| format!("cannot start the object storage client: {e}"))?;
        let bucket = Arc::new(Bucket {
            url: url.clone(),
            store: Arc::new(store),
            runtime,
        });
        buckets.insert(id, bucket.clone());
        Ok(bucket)
    }

    /// The object `key`, or the objects a glob over keys matches, sorted by key.
    pub fn list(&self, key: &str) -> Result<Vec<ObjectInfo>, String> {
        let store = self.store.clone();
        if !key.contains(['*', '?', '[']) {
            let location = ObjectPath::from(key);
            let meta = (self.wait(async move { store.head(&location).await }))
                .map_err(|e| self.describe(key, e))?;
            return Ok(vec![info(meta)]);
        }
        let pattern = glob::Pattern::new(key)
            .map_err(|e| format!("`{}` is not a valid glob: {e}", self.url.name(key)))?;
        // List under the folder before the first wildcard, then match whole keys.
        let literal = &key[..key.find(['*', '?', '[']).expect("a wildcard")];
        let prefix = literal.rfind('/').map(|i| ObjectPath::from(&literal[..i]));
        let listed: Vec<_> =
            self.wait(async move { store.list(prefix.as_ref()).collect::<Vec<_>>().await });
        let mut objects = Vec::new();
        for meta in listed {
            let meta = meta.map_err(|e| self.describe(key, e))?;
            if pattern.matches_with(
                meta.location.as_ref(),
                glob::MatchOptions {
                    require_literal_separator: true,
                    ..Default::default()
                },
            ) {
                objects.push(info(meta));
            }
        }
        if objects.is_empty() {
            return Err(format!(
                "no object matches `{}`: check the bucket, the prefix and the endpoint",
                self.url.name(key)
            ));
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// Runs `future` on this bucket's runtime and waits for it: callable from any thread,
    /// a runtime's included (`plan` opens its inputs from async code).
    fn wait<T: Send + 'static>(
        &self,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .expect("the object storage runtime runs for the process")
    }

    /// An error as a message naming the object (the crate's text names the request, never
    /// the credentials, which travel in headers).
    fn describe(&self, key: &str, e: object_store::Error) -> String {
        let name = self.url.name(key);
        match e {
            object_store::Error::NotFound { .. } => format!("object `{name}` does not exist"),
            object_store::Error::Precondition { .. } => format!(
                "object `{name}` changed while it was being read (its ETag is not the one listed): run again to read the new version"
            ),
            e => format!("cannot read `{name}`: {e}"),
        }
    }
}

/// The one object `location` names (no glob), for a reader: what lookups read.
pub fn open_object(location: &str) -> Result<(Arc<Bucket>, ObjectInfo), String> {
    let url = ObjectUrl::parse(location)?;
    if url.key.contains(['*', '?', '[']) {
        return Err(format!(
            "`{}` is a glob: a lookup table is one object",
            url.name(&url.key)
        ));
    }
    let bucket = Bucket::connect(&url)?;
    let object = bucket.list(&url.key)?.pop().expect("one object");
    Ok((bucket, object))
}

fn info(meta: object_store::ObjectMeta) -> ObjectInfo {
    ObjectInfo {
        key: meta.location.to_string(),
        size: meta.size,
        etag: meta.e_tag,
    }
}

/// The Log Service source's credentials chain, handed to the S3 client.
#[derive(Debug)]
struct AlibabaCredentials(CredentialsProvider);

#[async_trait::async_trait]
impl object_store::CredentialProvider for AlibabaCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let issued = self
            .0
            .get()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "OSS",
                source: Box::new(e),
            })?;
        let c = &issued.credentials;
        Ok(Arc::new(AwsCredential {
            key_id: c.access_key_id.clone(),
            secret_key: c.access_key_secret.clone(),
            token: c.security_token.clone(),
        }))
    }
}

/// One object read as a byte stream from an offset (see the module text).
pub struct ObjectReader {
    bucket: Arc<Bucket>,
    object: ObjectInfo,
    pos: u64,
    body: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("object", &self.bucket.url.name(&self.object.key))
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl ObjectReader {
    pub fn new(bucket: Arc<Bucket>, object: ObjectInfo) -> ObjectReader {
        ObjectReader {
            bucket,
            object,
            pos: 0,
            body: None,
            chunk: Bytes::new(),
        }
    }

    /// Continues at byte `at` (the next read asks for the object from there).
    pub fn seek_to(&mut self, at: u64) {
        self.pos = at;
        self.body = None;
        self.chunk = Bytes::new();
    }

    fn open_body(&mut self) -> io::Result<()> {
        let options = GetOptions {
            range: Some(GetRange::Offset(self.pos)),
            if_match: self.object.etag.clone(),
            ..Default::default()
        };
        let location = ObjectPath::from(self.object.key.as_str());
        let store = self.bucket.store.clone();
        let result = (self.bucket)
            .wait(async move { store.get_opts(&location, options).await })
            .map_err(|e| io::Error::other(self.bucket.describe(&self.object.key, e)))?;
        self.body = Some(result.into_stream());
        Ok(())
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut failures = 0;
        while self.chunk.is_empty() {
            if self.pos >= self.object.size {
                return Ok(0);
            }
            if self.body.is_none() {
                self.open_body()?;
            }
            let mut body = self.body.take().expect("opened");
            let (body, next) = self.bucket.wait(async move {
                let next = body.next().await;
                (body, next)
            });
            self.body = Some(body);
            match next {
                Some(Ok(chunk)) => self.chunk = chunk,
                Some(Err(e)) if failures < BODY_RETRIES => {
                    failures += 1;
                    tracing::warn!(object = %self.bucket.url.name(&self.object.key), at = self.pos,
                                   error = %e, "the object's body broke off: asking for the rest again");
                    self.body = None;
                }
                Some(Err(e)) => {
                    return Err(io::Error::other(self.bucket.describe(&self.object.key, e)));
                }
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "object `{}` ended at byte {} of {}",
                            self.bucket.url.name(&self.object.key),
                            self.pos,
                            self.object.size
                        ),
                    ));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_name_their_errors() {
        let u = ObjectUrl::parse(
            "oss://books/exports/*.csv?endpoint=https://oss-ap-northeast-1.aliyuncs.com",
        )
        .unwrap();
        assert_eq!(
            (u.bucket.as_str(), u.key.as_str()),
            ("books", "exports/*.csv")
        );
        assert_eq!(
            u.target(),
            (
                Some("https://books.oss-ap-northeast-1.aliyuncs.com".into()),
                "ap-northeast-1".into(),
                true
            )
        );
        assert_eq!(u.name("exports/a.csv"), "oss://books/exports/a.csv");
        let by_region = ObjectUrl::parse("oss://b/k.csv?region=cn-hangzhou").unwrap();
        assert_eq!(
            by_region.target().0.as_deref(),
            Some("https://b.oss-cn-hangzhou.aliyuncs.com")
        );
        // A test server on loopback: path-style, region from the option or the default.
        let local = ObjectUrl::parse("s3://b/k.csv?endpoint=http://127.0.0.1:9000/").unwrap();
        assert_eq!(
            local.target(),
            (
                Some("http://127.0.0.1:9000".into()),
                "us-east-1".into(),
                false
            )
        );
        for (host, region) in [
            ("oss-cn-hangzhou.aliyuncs.com", Some("cn-hangzhou")),
            ("s3.oss-cn-hangzhou.aliyuncs.com", Some("cn-hangzhou")),
            ("oss-cn-beijing-internal.aliyuncs.com", Some("cn-beijing")),
            ("minio.example", None),
        ] {
            assert_eq!(oss_region(host), region, "{host}");
        }
        for (bad, says) in [
            ("oss://b/k.csv", "needs `endpoint="),
            ("oss://b?endpoint=https://x", "names no object"),
            ("s3://b/k?endpoint=ftp://x", "http:// or https://"),
            ("s3://b/k?style=sideways", "`virtual` or `path`"),
            ("s3://b/k?token=abc", "unknown option `token`"),
            ("s3://b/k?region", "needs a value"),
        ] {
            let e = ObjectUrl::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
