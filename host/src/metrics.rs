//! What a run exposes for Prometheus (`--metrics-addr`): records read, written and
//! dead-lettered (by stage), batches and their latency from read to commit, transform time
//! per batch, retries by operation, Log Service shards held and each shard's lag, the
//! transform's version (hash), reloads and canary rollbacks; and `/healthz` (the process
//! answers) and `/readyz` (source and sink connected, transform loaded).
//!
//! One [`Metrics`] per process ([`global`]): a run is one process, and the retry loop and
//! the Log Service shards update it from wherever they are.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    /// `source`, `transform` or `sink`.
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RetryLabel {
    /// What was retried, as the log line names it (`commit to table `public.t``).
    pub operation: String,
    /// Why: a SQLSTATE (`40001`, `57014`), a Log Service error code (`ServerBusy`), or
    /// `connection` for a failure below the protocol.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabel {
    /// The quoted table (a partition's own name for a partitioned table).
    pub table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabel {
    /// `project/logstore/shard`.
    pub shard: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardEventLabel {
    pub shard: String,
    pub event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabel {
    pub transform: String,
    /// `sha256:…` of the component.
    pub hash: String,
}

/// The run's metrics; cheap to update from any thread.
pub struct Metrics {
    registry: Registry,
    pub records_read: Counter,
    pub records_written: Counter,
    pub dead_lettered: Family<StageLabel, Counter>,
    pub batches: Counter,
    /// Seconds from the moment the transform stage took a batch to its commit.
    pub batch_latency: Histogram,
    /// Seconds the transform spent on one batch.
    pub transform_seconds: Histogram,
    /// 1 for the transform version that processes batches now.
    pub transform_version: Family<VersionLabel, Gauge>,
    pub reloads: Counter,
    pub rollbacks: Counter,
    /// Failed tries that were tried again, by operation.
    pub retries: Family<RetryLabel, Counter>,
    /// Statements sent to find the rows at fault in batches the server refused, by table.
    pub split_statements: Family<TableLabel, Counter>,
    /// Log Service shards this member reads.
    pub shards_held: Gauge,
    /// Seconds between now and the newest log of a shard's last pull; 0 when caught up.
    pub shard_lag: Family<ShardLabel, Gauge<f64, AtomicU64>>,
    /// 1 when a shard's last pull found nothing new.
    pub shard_caught_up: Family<ShardLabel, Gauge>,
    /// Log groups the logstore's TTL removed before they were read, by shard (by cursor
    /// arithmetic: see the Log Service docs).
    pub shard_expired: Family<ShardLabel, Counter>,
    /// Shards read again from `begin` or `end` after the service refused their cursor
    /// (`on_invalid_cursor=`), or released because the service removed them.
    pub shard_events: Family<ShardEventLabel, Counter>,
    ready: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("holo_host");
        let m = Metrics {
            records_read: Counter::default(),
            records_written: Counter::default(),
            dead_lettered: Family::default(),
            batches: Counter::default(),
            // 1 ms to about 65 s.
            batch_latency: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            transform_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 17)),
            transform_version: Family::default(),
            reloads: Counter::default(),
            rollbacks: Counter::default(),
            retries: Family::default(),
            split_statements: Family::default(),
            shards_held: Gauge::default(),
            shard_lag: Family::default(),
            shard_caught_up: Family::default(),
            shard_expired: Family::default(),
            shard_events: Family::default(),
            ready: AtomicBool::new(false),
            registry: Registry::default(),
        };
        registry.register(
            "records_read",
            "Records read from the source",
            m.records_read.clone(),
        );
        registry.register(
            "records_written",
            "Rows written to the sink",
            m.records_written.clone(),
        );
        registry.register(
            "records_dead_lettered",
            "Records kept in the dead-letter output, by the stage that refused them",
            m.dead_lettered.clone(),
        );
        registry.register(
            "batches",
            "Batches committed with their position",
            m.batches.clone(),
        );
        registry.register(
            "batch_latency_seconds",
            "Seconds from the transform stage taking a batch to its commit",
            m.batch_latency.clone(),
        );
        registry.register(
            "transform_batch_seconds",
            "Seconds the transform spent on one batch",
            m.transform_seconds.clone(),
        );
        registry.register(
            "transform_version",
            "1 for the transform version (component hash) that processes batches now",
            m.transform_version.clone(),
        );
        registry.register(
            "transform_reloads",
            "New transform versions that took over",
            m.reloads.clone(),
        );
        registry.register(
            "transform_rollbacks",
            "Canaries rolled back",
            m.rollbacks.clone(),
        );
        registry.register(
            "retries",
            "Failed tries of an operation that were tried again",
            m.retries.clone(),
        );
        registry.register(
            "sink_split_statements",
            "Statements sent to find the rows at fault in batches the server refused",
            m.split_statements.clone(),
        );
        register_sls(&mut registry, &m);
        Metrics { registry, ..m }
    }
}

/// The Log Service source's metrics.
fn register_sls(registry: &mut Registry, m: &Metrics) {
    registry.register(
        "sls_shards_held",
        "Log Service shards this member reads",
        m.shards_held.clone(),
    );
    registry.register(
        "sls_shard_lag_seconds",
        "Seconds between now and the newest log of the shard's last pull (0: caught up)",
        m.shard_lag.clone(),
    );
    registry.register(
        "sls_shard_caught_up",
        "1 when the shard's last pull found nothing new",
        m.shard_caught_up.clone(),
    );
    registry.register(
        "sls_shard_expired_log_groups",
        "Log groups the logstore's TTL removed before they were read",
        m.shard_expired.clone(),
    );
    registry.register(
        "sls_shard_events",
        "Shards restarted after an invalid cursor, or released because the service removed them",
        m.shard_events.clone(),
    );
}

impl Metrics {
    /// Source and sink connected, transform loaded: `/readyz` answers 200.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Marks `hash` of `name` as the version in use (and no other).
    pub fn set_version(&self, name: &str, hash: &str) {
        self.transform_version.clear();
        self.transform_version
            .get_or_create(&VersionLabel {
                transform: name.to_owned(),
                hash: hash.to_owned(),
            })
            .set(1);
    }

    pub fn dead_lettered(&self, stage: &str, n: u64) {
        if n > 0 {
            self.dead_lettered
                .get_or_create(&StageLabel {
                    stage: stage.to_owned(),
                })
                .inc_by(n);
        }
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// The process's metrics, created on first use; from then on they count every retry, the
/// Log Service client's included.
pub fn global() -> &'static Arc<Metrics> {
    static GLOBAL: OnceLock<Arc<Metrics>> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        holo_common::retry::count_retries(|operation, reason| {
            global().retried(operation, reason);
        });
        Arc::new(Metrics::default())
    })
}

impl Metrics {
    pub fn retried(&self, operation: &str, reason: &str) {
        self.retries
            .get_or_create(&RetryLabel {
                operation: operation.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A statement sent with part of a batch refused by `table`'s server.
    pub fn split_statement(&self, table: &str) {
        (self.split_statements)
            .get_or_create(&TableLabel {
                table: table.to_owned(),
            })
            .inc();
    }

    /// Statements sent so far to split batches `table` refused.
    pub fn split_statements(&self, table: &str) -> u64 {
        (self.split_statements)
            .get_or_create(&TableLabel {
                table: table.to_owned(),
            })
            .get()
    }

    /// `groups` log groups of `shard` were removed by the TTL before they were read.
    pub fn shard_expired(&self, shard: &str, groups: u64) {
        let label = ShardLabel {
            shard: shard.to_owned(),
        };
        self.shard_expired.get_or_create(&label).inc_by(groups);
    }

    /// Something happened to `shard` that its reader worked around (`event`: `invalid_cursor`,
    /// `removed`).
    pub fn shard_event(&self, shard: &str, event: &str) {
        let label = ShardEventLabel {
            shard: shard.to_owned(),
            event: event.to_owned(),
        };
        self.shard_events.get_or_create(&label).inc();
    }

    /// After a pull of `shard`: caught up, or how far behind its newest log (`newest`,
    /// seconds since the epoch) is.
    pub fn shard_pulled(&self, shard: &str, caught_up: bool, newest: Option<u32>) {
        let label = ShardLabel {
            shard: shard.to_owned(),
        };
        self.shard_caught_up
            .get_or_create(&label)
            .set(i64::from(caught_up));
        let lag = match (caught_up, newest) {
            (false, Some(t)) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                (now - f64::from(t)).max(0.0)
            }
            _ => 0.0,
        };
        self.shard_lag.get_or_create(&label).set(lag);
    }
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {addr}")]
pub struct ServeError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Binds `addr` and serves `/metrics`, `/healthz` and `/readyz` until the process ends;
/// returns the bound address (port 0 picks a free one).
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<SocketAddr, ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError { addr, source })?;
    tracing::info!(addr = %bound, "serving /metrics, /healthz and /readyz");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            let service = service_fn(move |req| {
                let metrics = metrics.clone();
                async move { Ok::<_, Infallible>(answer(&metrics, &req)) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(bound)
}

fn answer<B>(metrics: &Metrics, req: &Request<B>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/readyz" if metrics.is_ready() => (StatusCode::OK, "text/plain", "ready\n".to_owned()),
        "/readyz" => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "not ready: source, sink or transform still starting\n".to_owned(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics\n".to_owned(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_in_the_prometheus_text_format() {
        let m = Metrics::default();
        m.records_read.inc_by(7);
        m.dead_lettered("transform", 2);
        m.batch_latency.observe(0.02);
        m.set_version("enrich", "sha256:ab");
        m.retried("commit to table `t`", "40001");
        m.shards_held.set(2);
        m.shard_pulled("p/l/3", false, Some(1));
        m.shard_pulled("p/l/4", true, Some(1));
        let text = m.render();
        // A log written at second 1 of 1970 is far behind.
        let lag: f64 = (text.lines())
            .find_map(|l| l.strip_prefix("holo_host_sls_shard_lag_seconds{shard=\"p/l/3\"} "))
            .unwrap_or_else(|| panic!("no lag of p/l/3 in\n{text}"))
            .parse()
            .unwrap();
        assert!(lag > 1.7e9, "{lag}");
        for want in [
            "# TYPE holo_host_records_read counter",
            "holo_host_records_read_total 7",
            "holo_host_records_dead_lettered_total{stage=\"transform\"} 2",
            "holo_host_batch_latency_seconds_count 1",
            "holo_host_transform_version{transform=\"enrich\",hash=\"sha256:ab\"} 1",
            "holo_host_retries_total{operation=\"commit to table `t`\",reason=\"40001\"} 1",
            "holo_host_sls_shards_held 2",
            "holo_host_sls_shard_caught_up{shard=\"p/l/4\"} 1",
            "holo_host_sls_shard_lag_seconds{shard=\"p/l/4\"} 0.0",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
