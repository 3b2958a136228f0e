//! Server configuration: listen address, logstores, access keys, data directory and faults.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::SystemTime;

use crate::faults::FaultRule;

/// Everything [`crate::Server::start`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port (read it from [`crate::RunningServer::addr`]).
    pub listen: SocketAddr,
    /// Logstores to create at start (kept as they are when the data directory already has them).
    pub logstores: Vec<LogstoreSpec>,
    /// Accepted access keys; none is allowed only with `anonymous`.
    pub access_keys: Vec<AccessKey>,
    /// Serve unsigned requests (no keys): the real service never does, so it is asked for.
    pub anonymous: bool,
    /// Directory that keeps logs, shards, consumer groups and checkpoints across restarts.
    pub data_dir: Option<PathBuf>,
    /// Faults active from the start (more can be added through `POST /_admin/faults`).
    pub faults: Vec<FaultRule>,
}

impl Config {
    /// A configuration listening on `127.0.0.1:0` with the given logstores, in memory. It
    /// needs a key ([`Config::with_access_key`]) or [`Config::anonymous`] to start.
    pub fn new(logstores: impl IntoIterator<Item = LogstoreSpec>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            logstores: logstores.into_iter().collect(),
            access_keys: Vec::new(),
            anonymous: false,
            data_dir: None,
            faults: Vec::new(),
        }
    }

    /// Serves unsigned requests: no keys are checked.
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// Adds an accepted access key (switching authentication on).
    pub fn with_access_key(mut self, id: &str, secret: &str) -> Self {
        self.access_keys.push(AccessKey {
            id: id.to_owned(),
            secret: secret.to_owned(),
            security_token: None,
            expires_at: None,
        });
        self
    }

    /// Adds temporary (STS) credentials: requests signed with `id` must carry `token` in
    /// `x-acs-security-token`, and are refused with `401 Unauthorized` from `expires_at`.
    pub fn with_sts_key(
        mut self,
        id: &str,
        secret: &str,
        token: &str,
        expires_at: SystemTime,
    ) -> Self {
        self.access_keys.push(AccessKey {
            id: id.to_owned(),
            secret: secret.to_owned(),
            security_token: Some(token.to_owned()),
            expires_at: Some(expires_at),
        });
        self
    }

    /// Keeps state in `dir`.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }
}

/// `PROJECT/LOGSTORE:SHARDS`, e.g. `demo/orders:4`; the shard count defaults to 2. A TTL and
/// automatic splitting are added with [`LogstoreSpec::with_ttl_secs`] and
/// [`LogstoreSpec::with_auto_split`] (`--ttl-secs`, `--auto-split` on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogstoreSpec {
    pub project: String,
    pub logstore: String,
    pub shards: u32,
    /// Seconds a log group is kept after it is received; forever when `None`.
    pub ttl_secs: Option<u64>,
    /// Automatic splitting under load; none when `None`.
    pub auto_split: Option<AutoSplit>,
}

/// When a writable shard is split automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoSplit {
    /// No split while this many shards are writable (GetLogStore's `maxSplitShard`).
    pub max_shards: u32,
    /// Log groups a shard receives from its creation before it is split at the middle of its
    /// range. The service splits on sustained traffic instead; a count keeps tests exact.
    pub log_groups: u64,
}

impl LogstoreSpec {
    /// A spec from its parts (names are checked by [`FromStr`] only).
    pub fn new(project: &str, logstore: &str, shards: u32) -> Self {
        LogstoreSpec {
            project: project.to_owned(),
            logstore: logstore.to_owned(),
            shards,
            ttl_secs: None,
            auto_split: None,
        }
    }

    /// Keeps each log group `secs` seconds after it is received; older ones are removed as
    /// requests reach the logstore (GetLogStore's `ttl` shows it in days, rounded up).
    pub fn with_ttl_secs(mut self, secs: u64) -> Self {
        self.ttl_secs = Some(secs);
        self
    }

    /// Splits a writable shard at the middle of its range once it has received `log_groups`
    /// log groups since its creation, as long as fewer than `max_shards` shards are writable.
    pub fn with_auto_split(mut self, max_shards: u32, log_groups: u64) -> Self {
        self.auto_split = Some(AutoSplit {
            max_shards,
            log_groups,
        });
        self
    }
}

impl FromStr for AutoSplit {
    type Err = SpecError;

    /// `MAX_SHARDS:LOG_GROUPS`, e.g. `8:100`.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let parse = || {
            let (max, groups) = spec.split_once(':')?;
            let max_shards = max.parse::<u32>().ok().filter(|n| (1..=256).contains(n))?;
            let log_groups = groups.parse::<u64>().ok().filter(|n| *n > 0)?;
            Some(AutoSplit {
                max_shards,
                log_groups,
            })
        };
        parse().ok_or_else(|| SpecError::AutoSplit(spec.to_owned()))
    }
}

/// A project or logstore name that the service would refuse, or a bad shard count.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("logstore spec `{0}` is not PROJECT/LOGSTORE[:SHARDS]")]
    Shape(String),
    #[error(
        "name `{name}` in `{spec}` is invalid: use 2 to 63 of a-z, 0-9, `-` and `_` (a project may not use `_`)"
    )]
    Name { spec: String, name: String },
    #[error("shard count in `{0}` must be a number from 1 to 256")]
    Shards(String),
    #[error("access key `{0}` is not ID:SECRET with both parts non-empty")]
    AccessKey(String),
    #[error(
        "automatic split `{0}` is not MAX_SHARDS:LOG_GROUPS (1 to 256 shards, at least one log group)"
    )]
    AutoSplit(String),
}

/// Whether the service would take `name` for a project (no `_`) or a logstore.
pub(crate) fn valid_name(name: &str, allow_underscore: bool) -> bool {
    (2..=63).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'-'
                || (allow_underscore && b == b'_')
        })
}

impl FromStr for LogstoreSpec {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let (names, shards) = match spec.rsplit_once(':') {
            Some((names, shards)) => {
                let shards = shards
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=256).contains(n))
                    .ok_or_else(|| SpecError::Shards(spec.to_owned()))?;
                (names, shards)
            }
            None => (spec, 2),
        };
        let (project, logstore) = names
            .split_once('/')
            .ok_or_else(|| SpecError::Shape(spec.to_owned()))?;
        for (name, underscore) in [(project, false), (logstore, true)] {
            if !valid_name(name, underscore) {
                return Err(SpecError::Name {
                    spec: spec.to_owned(),
                    name: name.to_owned(),
                });
            }
        }
        Ok(LogstoreSpec::new(project, logstore, shards))
    }
}

/// An accepted access key pair; STS credentials also have a token and an expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    /// The token requests signed with this key must carry; `None`: any or none.
    pub security_token: Option<String>,
    /// From this time the key is refused with `SecurityToken.Expired`.
    pub expires_at: Option<SystemTime>,
}

// The secret and the token never reach a log line or an error message.
impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl FromStr for AccessKey {
    type Err = SpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.split_once(':') {
            Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(AccessKey {
                id: id.to_owned(),
                secret: secret.to_owned(),
                security_token: None,
                expires_at: None,
            }),
            // Only an id before a colon is shown: anything else may be a secret.
            Some((id, _)) => Err(SpecError::AccessKey(id.to_owned())),
            None => Err(SpecError::AccessKey("<hidden>".to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_logstore_specs() {
        assert_eq!(
            "demo/book_orders:4".parse::<LogstoreSpec>().unwrap(),
            LogstoreSpec::new("demo", "book_orders", 4)
        );
        assert_eq!("demo/orders".parse::<LogstoreSpec>().unwrap().shards, 2);
        assert!(matches!(
            "demo".parse::<LogstoreSpec>(),
            Err(SpecError::Shape(_))
        ));
        assert!(matches!(
            "de_mo/orders".parse::<LogstoreSpec>(),
            Err(SpecError::Name { .. })
        ));
        assert!(matches!(
            "demo/orders:0".parse::<LogstoreSpec>(),
            Err(SpecError::Shards(_))
        ));
    }

    #[test]
    fn ttl_and_auto_split_builders_and_text() {
        let spec = LogstoreSpec::new("demo", "orders", 2)
            .with_ttl_secs(60)
            .with_auto_split(8, 100);
        assert_eq!(spec.ttl_secs, Some(60));
        assert_eq!("8:100".parse::<AutoSplit>(), Ok(spec.auto_split.unwrap()));
        for bad in ["8", "0:100", "8:0", "x:1"] {
            assert!(bad.parse::<AutoSplit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn access_key_debug_and_errors_hide_the_secret() {
        let key: AccessKey = "id1:s3cret".parse().unwrap();
        assert_eq!(key.secret, "s3cret");
        assert!(!format!("{key:?}").contains("s3cret"));
        let err = "id1:".parse::<AccessKey>().unwrap_err().to_string();
        assert!(err.contains("id1"), "{err}");
        let err = "s3cret".parse::<AccessKey>().unwrap_err().to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }
}
