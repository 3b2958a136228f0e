//! Settings of the Log Service source, parsed from `sls://PROJECT/LOGSTORE?endpoint=…&…`.

use std::time::Duration;

use sls_client::{Auth, CredentialsProvider, Signature, SlsClient, SlsError};

/// Where a shard starts when nothing was committed for it yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    Begin,
    End,
    /// Server receive time, unix seconds.
    Time(i64),
    /// The consumer group's checkpoint, or the beginning where the group has none: for a
    /// table that takes over a group another job (or an older table) has been reading.
    Checkpoint,
}

/// As the `start=` option says it: `begin`, `end`, `checkpoint` or unix seconds.
impl std::fmt::Display for StartFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartFrom::Begin => f.write_str("begin"),
            StartFrom::End => f.write_str("end"),
            StartFrom::Time(t) => write!(f, "{t}"),
            StartFrom::Checkpoint => f.write_str("checkpoint"),
        }
    }
}

impl StartFrom {
    /// As the `start=` option says it.
    fn parse(value: &str) -> Result<StartFrom, String> {
        Ok(match value {
            "begin" => StartFrom::Begin,
            "end" => StartFrom::End,
            "checkpoint" => StartFrom::Checkpoint,
            t => StartFrom::Time(t.parse().map_err(|_| {
                format!("start `{t}` is not begin, end, checkpoint or unix seconds")
            })?),
        })
    }
}

/// What a shard does when the service says its cursor is not valid (`InvalidCursor`: the
/// logstore was deleted and created again, or the cursor belongs to another shard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInvalidCursor {
    /// Stop the job, naming the shard: nothing is read that the user did not ask for.
    Fail,
    /// Read that shard again from its oldest data.
    Begin,
    /// Read that shard from its newest data on.
    End,
}

impl OnInvalidCursor {
    /// As the `on_invalid_cursor=` option says it.
    fn parse(value: &str) -> Result<OnInvalidCursor, String> {
        match value {
            "fail" => Ok(OnInvalidCursor::Fail),
            "begin" => Ok(OnInvalidCursor::Begin),
            "end" => Ok(OnInvalidCursor::End),
            other => Err(format!(
                "on_invalid_cursor `{other}` is not fail, begin or end"
            )),
        }
    }
}

/// What the Log Service source reads, and how it cuts the stream into batches.
#[derive(Debug, Clone, PartialEq)]
pub struct SlsSourceConfig {
    /// `https://ap-northeast-1.log.aliyuncs.com`, or `http://127.0.0.1:PORT` for a local
    /// compatible server.
    pub endpoint: String,
    pub project: String,
    pub logstore: String,
    /// Share the shards with the other members of this consumer group; without one, this
    /// process reads every shard.
    pub consumer_group: Option<String>,
    /// This process's name in the group (default: host name and process id).
    pub consumer: String,
    /// Seconds without a heartbeat after which the group hands a member's shards to others.
    pub group_timeout: u32,
    pub start: StartFrom,
    /// The content keys that become columns, in order; `None`: learned from the first logs
    /// of each shard.
    pub columns: Option<Vec<String>>,
    /// The metadata columns to add (`__topic__`, `__source__`, `__timestamp__`,
    /// `__time_ns__`, `__shard__`, `__tag__:…`); `None`: all of them.
    pub meta: Option<Vec<String>>,
    pub batch_rows: usize,
    pub batch_bytes: usize,
    /// Bytes (uncompressed) one shard reads ahead in a pull, about: see
    /// `shard::pull_groups`.
    pub prefetch_bytes: usize,
    /// A batch that has waited this long is flushed, however small.
    pub batch_interval: Duration,
    /// Stop once every shard has been caught up for this long.
    pub exit_when_idle: Option<Duration>,
    /// Start every shard from `start`, ignoring the group's checkpoints (`--from-scratch`).
    pub ignore_checkpoints: bool,
    /// Tags that get a column (`__tag__:<key>`) whether or not the first logs carry them.
    pub tags: Vec<String>,
    pub on_invalid_cursor: OnInvalidCursor,
    /// How long opening the stream waits for an endpoint it cannot reach (DNS, connection
    /// refused) before it fails; throttling and 5xx answers are waited out without end.
    pub open_timeout: Duration,
    /// How requests are signed: `sign=v1|v4` and `region=` (see [`Signature::choose`]).
    pub signature: Signature,
    /// Send requests unsigned (`anonymous=true`), for a local server without authentication;
    /// otherwise credentials are looked for as the Alibaba Cloud tools look for them (see
    /// [`sls_client::credentials`]) and their absence is an error.
    pub anonymous: bool,
}

impl SlsSourceConfig {
    /// Smaller than a file's: a stream's batches are what its memory and latency are made of.
    pub fn default_batch_rows() -> usize {
        4096
    }

    /// 4 MiB: with `--prefetch-bytes`, what bounds a stream's memory.
    pub fn default_batch_bytes() -> usize {
        4 << 20
    }

    pub fn default_batch_interval() -> Duration {
        Duration::from_millis(500)
    }

    /// 512 KiB: 4 shards' pulls stay well within the 64 MiB a stream should take (draining
    /// 4 shards, 8 MiB took the process to 235 MiB, 1 MiB to 59, 512 KiB to 44, with no loss
    /// of speed on loopback), and a pull is still tens of log groups of a usual size.
    pub fn default_prefetch_bytes() -> usize {
        512 << 10
    }

    /// Long enough for a resolver or a network that is slow to come up, short enough that a
    /// mistyped endpoint is reported rather than waited on.
    pub fn default_open_timeout() -> Duration {
        Duration::from_secs(30)
    }

    pub fn default_group_timeout() -> u32 {
        20
    }

    /// `holo-host-<host>-<pid>`: unique per process, readable in the group's listing.
    pub fn default_consumer() -> String {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "localhost".into());
        format!("holo-host-{host}-{}", std::process::id())
    }

    /// Parses `sls://PROJECT/LOGSTORE?endpoint=URL[&consumer_group=G][&consumer=NAME]
    /// [&start=begin|end|checkpoint|UNIX_SECONDS][&columns=a,b][&meta=…][&tags=a,b]
    /// [&timeout=SECONDS][&on_invalid_cursor=fail|begin|end][&open_timeout=SECONDS]
    /// [&sign=v1|v4][&region=REGION][&anonymous=true]`.
    pub fn parse(spec: &str) -> Result<SlsSourceConfig, String> {
        let rest = spec
            .strip_prefix("sls://")
            .ok_or_else(|| format!("`{spec}` does not start with sls://"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (project, logstore) = path
            .trim_end_matches('/')
            .split_once('/')
            .filter(|(p, l)| !p.is_empty() && !l.is_empty() && !l.contains('/'))
            .ok_or_else(|| format!("`{spec}`: expected sls://PROJECT/LOGSTORE?endpoint=URL"))?;
        let mut config = SlsSourceConfig {
            endpoint: String::new(),
            project: project.to_owned(),
            logstore: logstore.to_owned(),
            consumer_group: None,
            consumer: Self::default_consumer(),
            group_timeout: Self::default_group_timeout(),
            start: StartFrom::Begin,
            columns: None,
            meta: None,
            batch_rows: Self::default_batch_rows(),
            batch_bytes: Self::default_batch_bytes(),
            prefetch_bytes: Self::default_prefetch_bytes(),
            batch_interval: Self::default_batch_interval(),
            exit_when_idle: None,
            ignore_checkpoints: false,
            tags: Vec::new(),
            on_invalid_cursor: OnInvalidCursor::Fail,
            open_timeout: Self::default_open_timeout(),
            signature: Signature::V1,
            anonymous: false,
        };
        let (mut sign, mut region) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` in `{spec}` is not KEY=VALUE"))?;
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("`{pair}` is not valid UTF-8 once decoded"))?
                .into_owned();
            match key {
                "endpoint" => config.endpoint = value,
                "consumer_group" | "consumerGroup" => config.consumer_group = Some(value),
                "consumer" => config.consumer = value,
                "timeout" => {
                    config.group_timeout =
                        value.parse().ok().filter(|&t| t > 0).ok_or_else(|| {
                            format!("timeout `{value}` is not a number of seconds")
                        })?
                }
                "start" => config.start = StartFrom::parse(&value)?,
                "tags" => config.tags = list(&value),
                "on_invalid_cursor" => config.on_invalid_cursor = OnInvalidCursor::parse(&value)?,
                "open_timeout" => {
                    config.open_timeout = value
                        .parse()
                        .ok()
                        .filter(|&t: &u64| t > 0)
                        .map(Duration::from_secs)
                        .ok_or_else(|| {
                            format!("open_timeout `{value}` is not a number of seconds")
                        })?
                }
                "columns" => config.columns = Some(list(&value)),
                "meta" if value == "none" => config.meta = Some(Vec::new()),
                "meta" => config.meta = Some(list(&value).iter().map(|m| meta_name(m)).collect()),
                "sign" => sign = Some(value),
                "region" => region = Some(value),
                "anonymous" => {
                    config.anonymous = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("anonymous `{other}` is not true or false")),
                    }
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}` in `{spec}` (options: endpoint, \
                         consumer_group, consumer, start, columns, meta, tags, timeout, \
                         on_invalid_cursor, open_timeout, sign, region, anonymous)"
                    ));
                }
            }
        }
        if config.endpoint.is_empty() {
            return Err(format!("`{spec}` needs endpoint=URL"));
        }
        config.signature = Signature::choose(sign.as_deref(), region.as_deref(), &config.endpoint)
            .map_err(|e| format!("`{spec}`: {e}"))?;
        Ok(config)
    }

    /// Whether the metadata column `name` is wanted.
    pub fn wants_meta(&self, name: &str) -> bool {
        self.meta
            .as_ref()
            .is_none_or(|m| m.iter().any(|c| c == name))
    }

    /// `sls://project/logstore`, the source's name in logs and positions.
    pub fn describe(&self) -> String {
        format!("sls://{}/{}", self.project, self.logstore)
    }
}

/// A metadata column by its name here, the seed's Flink SQL's (`__timestamp__`,
/// `__time_ns__`), also when given by the names the official Python SDK flattens logs
/// with: `__time__` and `__time_ns_part__` (aliyun-log-python-sdk `pulllog_response.py`
/// `loggroups_to_flattern_list`).
fn meta_name(name: &str) -> String {
    match name {
        "__time__" => "__timestamp__",
        "__time_ns_part__" => "__time_ns__",
        other => other,
    }
    .to_owned()
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The client a source reads with: unsigned with `anonymous=true`, else signed as
/// `sign=`/`region=` say with credentials from the default chain (see
/// [`sls_client::credentials`]). The chain is asked on the first call, which fails before
/// sending anything when no source has credentials.
pub trait ClientForSource: Sized {
    fn for_source(config: &SlsSourceConfig) -> Result<Self, SlsError>;
}

impl ClientForSource for SlsClient {
    fn for_source(config: &SlsSourceConfig) -> Result<SlsClient, SlsError> {
        let auth = if config.anonymous {
            Auth::Anonymous
        } else {
            Auth::Signed {
                provider: CredentialsProvider::default_chain(),
                signature: config.signature.clone(),
            }
        };
        SlsClient::with_auth(&config.endpoint, &config.project, auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_parses() {
        let c = SlsSourceConfig::parse(
            "sls://my-project/book-orders?endpoint=https://ap-northeast-1.log.aliyuncs.com\
             &consumer_group=holo&start=end",
        )
        .unwrap();
        assert_eq!(c.project, "my-project");
        assert_eq!(c.logstore, "book-orders");
        assert_eq!(c.endpoint, "https://ap-northeast-1.log.aliyuncs.com");
        assert_eq!(c.consumer_group.as_deref(), Some("holo"));
        assert_eq!(c.start, StartFrom::End);
        assert!(c.consumer.starts_with("holo-host-"));
    }

    #[test]
    fn options_and_errors() {
        let c = SlsSourceConfig::parse(
            "sls://p/l?endpoint=http://127.0.0.1:9000&start=1700000000&columns=a,%20b&timeout=5",
        )
        .unwrap();
        assert_eq!(c.start, StartFrom::Time(1_700_000_000));
        // The start is logged as the option reads.
        assert_eq!(c.start.to_string(), "1700000000");
        for start in ["begin", "end"] {
            let c = SlsSourceConfig::parse(&format!("sls://p/l?endpoint=x&start={start}"));
            assert_eq!(c.unwrap().start.to_string(), start);
        }
        assert_eq!(c.columns, Some(vec!["a".into(), "b".into()]));
        assert_eq!(c.group_timeout, 5);
        assert!(c.wants_meta("__topic__"));
        let c = SlsSourceConfig::parse("sls://p/l?endpoint=x&meta=__topic__").unwrap();
        assert!(c.wants_meta("__topic__") && !c.wants_meta("__shard__"));
        let c = SlsSourceConfig::parse("sls://p/l?endpoint=x&meta=none").unwrap();
        assert!(!c.wants_meta("__topic__"));
        // The official SDKs' names for the time columns.
        let c =
            SlsSourceConfig::parse("sls://p/l?endpoint=x&meta=__time__,__time_ns_part__").unwrap();
        assert!(c.wants_meta("__timestamp__") && c.wants_meta("__time_ns__"));
        assert!(!c.wants_meta("__topic__"));
        for (spec, expect) in [
            ("sls://p?endpoint=x", "PROJECT/LOGSTORE"),
            ("sls://p/l", "needs endpoint"),
            ("sls://p/l?endpoint=x&start=soon", "start `soon`"),
            ("sls://p/l?endpoint=x&color=red", "unknown option `color`"),
            ("sls://p/l?endpoint=x&anonymous=yes", "anonymous `yes`"),
            ("sls://p/l?endpoint=x&sign=v4", "needs region="),
            ("sls://p/l?endpoint=x&sign=v2", "sign `v2`"),
        ] {
            let err = SlsSourceConfig::parse(spec).unwrap_err();
            assert!(err.contains(expect), "{spec}: {err}");
        }
    }

    #[test]
    fn signature_and_anonymous_options() {
        let hz = "https://cn-hangzhou.log.aliyuncs.com";
        let c = SlsSourceConfig::parse(&format!("sls://p/l?endpoint={hz}")).unwrap();
        assert_eq!(c.signature, Signature::V1);
        assert!(!c.anonymous);
        let c = SlsSourceConfig::parse(&format!("sls://p/l?endpoint={hz}&sign=v4")).unwrap();
        assert_eq!(
            c.signature,
            Signature::V4 {
                region: "cn-hangzhou".into()
            }
        );
        let c = SlsSourceConfig::parse(
            "sls://p/l?endpoint=http://127.0.0.1:9&sign=v4&region=cn-shanghai&anonymous=true",
        )
        .unwrap();
        assert_eq!(
            c.signature,
            Signature::V4 {
                region: "cn-shanghai".into()
            }
        );
        assert!(c.anonymous);
        let c = SlsSourceConfig::parse(&format!("sls://p/l?endpoint={hz}&sign=v1")).unwrap();
        assert_eq!(c.signature, Signature::V1);
    }

    #[test]
    fn source_options_choose_the_auth() {
        let config =
            SlsSourceConfig::parse("sls://demo/orders?endpoint=http://127.0.0.1:1&anonymous=true")
                .unwrap();
        let c = SlsClient::for_source(&config).unwrap();
        assert!(matches!(c.auth(), Auth::Anonymous));
        let config = SlsSourceConfig::parse(
            "sls://demo/orders?endpoint=https://cn-beijing.log.aliyuncs.com&sign=v4",
        )
        .unwrap();
        let c = SlsClient::for_source(&config).unwrap();
        assert!(matches!(
            c.auth(),
            Auth::Signed { signature: Signature::V4 { region }, .. } if region == "cn-beijing"
        ));
    }
}
