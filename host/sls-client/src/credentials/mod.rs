//! Where the Log Service client gets its access key: a chain of sources tried in the order the
//! Alibaba Cloud credentials libraries use (aliyun/credentials-go
//! `credentials/providers/default.go`, aliyun/credentials-python
//! `alibabacloud_credentials/provider/default.py`), the first that answers kept for the life of
//! the process, its temporary credentials refreshed before they expire.
//!
//! 1. Environment: `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, optional
//!    `ALIBABA_CLOUD_SECURITY_TOKEN` (credentials-go `providers/env.go`).
//! 2. OIDC role (Kubernetes RRSA): `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
//!    `ALIBABA_CLOUD_OIDC_TOKEN_FILE`, optional `ALIBABA_CLOUD_ROLE_SESSION_NAME`; STS
//!    `AssumeRoleWithOIDC` (credentials-go `providers/oidc.go`, credentials-python
//!    `provider/oidc.py`). Only when all three are set, as credentials-python decides
//!    (`utils/auth_util.py` `enable_oidc_credential`).
//! 3. Aliyun CLI profile: `ALIBABA_CLOUD_CONFIG_FILE` or `~/.aliyun/config.json`, profile
//!    `ALIBABA_CLOUD_PROFILE` or the file's `current`; skipped when
//!    `ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true` (credentials-go `providers/cli_profile.go`).
//! 4. Credentials file: `ALIBABA_CLOUD_CREDENTIALS_FILE` or `~/.alibabacloud/credentials`
//!    (credentials-go `providers/profile.go`; credentials-python reads
//!    `~/.alibabacloud/credentials.ini`, tried second), profile `ALIBABA_CLOUD_PROFILE` or
//!    `default`.
//! 5. ECS RAM role from the instance metadata service, unless
//!    `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true` (credentials-go `providers/ecs_ram_role.go`).
//! 6. `ALIBABA_CLOUD_CREDENTIALS_URI`, when set (credentials-go `providers/uri.go`).
//!
//! Temporary credentials are fetched again when 180 seconds or less remain (credentials-go
//! `needUpdateCredential` in `oidc.go`, `ecs_ram_role.go`, `uri.go`). When that fetch fails
//! while the old ones are still valid, the old ones are used (aliyun-log-go-sdk
//! `credentials_provider.go` `UpdateFuncProviderAdapter.GetCredentials`). A call refused as
//! unauthenticated gets one forced refresh ([`CredentialsProvider::renew_after_refusal`]).
//!
//! Endpoints for tests and private networks: `ALIBABA_CLOUD_IMDS_ENDPOINT` (default
//! `http://100.100.100.200`, the name Alibaba's ack-ram-tool `pkg/ecsmetadata/client.go` reads)
//! and `ALIBABA_CLOUD_STS_ENDPOINT` (the name aliyun-cli `config/profile.go` and the ACK RRSA
//! webhook use; otherwise `sts[-vpc].{ALIBABA_CLOUD_STS_REGION}.aliyuncs.com` or
//! `sts.aliyuncs.com`, as credentials-go `oidc.go` builds it).
//!
//! Secrets never reach a message: errors name the source and the variable, never a value.

mod files;
mod remote;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn};

use crate::sign::Credentials;
use files::Profile;
use holo_common::errors::BoxError;
use remote::{CredentialsUri, EcsRamRole, OidcRole};

/// Temporary credentials with this little time left are fetched again (credentials-go:
/// `expirationTimestamp - now <= 180`).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(180);

/// At most one forced refresh (after a refusal) in this time, so a key the service keeps
/// refusing does not turn every call into a call to STS or the metadata service. A guess: the
/// Python SDK waits 300 s between such refreshes (`logclient.py` `MIN_REFRESH_INTERVAL`),
/// sleeping the caller; here the refusal is reported instead.
pub const MIN_FORCED_REFRESH: Duration = Duration::from_secs(30);

/// The variables the chain reads: the process environment, or a fixed set (tests).
#[derive(Clone, Default)]
pub struct Env {
    fixed: Option<Arc<HashMap<String, String>>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env { fixed: None }
    }

    /// Exactly these variables (`HOME` among them, for the default file paths).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env {
            fixed: Some(Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            )),
        }
    }

    /// A variable that is set and not blank, trimmed.
    pub fn var(&self, name: &str) -> Option<String> {
        let raw = match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// `true` when the variable says `true` (any case), as the libraries test it.
    fn flag(&self, name: &str) -> bool {
        self.var(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }
}

// Only names: values may be secrets.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fixed {
            None => f.write_str("Env(process)"),
            Some(map) => {
                let mut names: Vec<&String> = map.keys().collect();
                names.sort();
                f.debug_tuple("Env").field(&names).finish()
            }
        }
    }
}

/// Why no credentials could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error(
        "no Alibaba Cloud credentials found (tried {}): set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, a profile, an ECS RAM role or the OIDC role variables, or add `anonymous=true` to the source for a server that does not authenticate",
        shown_tried(.tried)
    )]
    NotFound { tried: Vec<Tried> },

    #[error("cannot get credentials from {origin}: {detail}")]
    Fetch {
        origin: String,
        detail: String,
        /// A passing failure (network, 5xx): trying later may work.
        retriable: bool,
        source: Option<BoxError>,
    },
}

impl CredentialsError {
    /// Whether asking again later may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            CredentialsError::NotFound { tried } => tried.iter().any(|t| t.retriable),
            CredentialsError::Fetch { retriable, .. } => *retriable,
        }
    }
}

/// One source of the chain and why it gave nothing.
#[derive(Debug, Clone)]
pub struct Tried {
    pub origin: String,
    pub why: String,
    pub retriable: bool,
}

fn shown_tried(tried: &[Tried]) -> String {
    tried
        .iter()
        .map(|t| format!("{}: {}", t.origin, t.why))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Credentials as handed out, with when they expire and which fetch produced them.
#[derive(Debug, Clone)]
pub struct Issued {
    pub credentials: Arc<Credentials>,
    /// `None` for long-lived keys.
    pub expires_at: Option<SystemTime>,
    generation: u64,
}

/// Whether credentials expiring at `expires_at` should be fetched again at `now`.
pub fn needs_refresh(expires_at: Option<SystemTime>, now: SystemTime) -> bool {
    match expires_at {
        None => false,
        Some(at) => at
            .duration_since(now)
            .map_or(true, |left| left <= REFRESH_MARGIN),
    }
}

fn expired(expires_at: Option<SystemTime>, now: SystemTime) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

/// Whether a forced refresh may happen at `now`, the last one having been at `last`.
pub fn forced_refresh_allowed(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|at| now.saturating_duration_since(at) >= MIN_FORCED_REFRESH)
}

/// What one fetch gave.
#[derive(Debug)]
struct Fetched {
    credentials: Credentials,
    expires_at: Option<SystemTime>,
}

/// How one source gets credentials.
enum Fetcher {
    Fixed(Credentials),
    EcsRamRole(EcsRamRole),
    Oidc(OidcRole),
    Uri(CredentialsUri),
}

impl Fetcher {
    async fn fetch(&self, origin: &str) -> Result<Fetched, CredentialsError> {
        match self {
            Fetcher::Fixed(c) => Ok(Fetched {
                credentials: c.clone(),
                expires_at: None,
            }),
            Fetcher::EcsRamRole(ecs) => ecs.fetch(origin).await,
            Fetcher::Oidc(oidc) => oidc.fetch(origin).await,
            Fetcher::Uri(uri) => uri.fetch(origin).await,
        }
    }

    fn refreshable(&self) -> bool {
        !matches!(self, Fetcher::Fixed(_))
    }

    fn from_profile(profile: Profile, env: &Env) -> Fetcher {
        match profile {
            Profile::AccessKey(c) => Fetcher::Fixed(c),
            Profile::EcsRamRole { role } => Fetcher::EcsRamRole(EcsRamRole::new(env, role)),
            Profile::Oidc(settings) => Fetcher::Oidc(OidcRole::new(env, settings)),
        }
    }
}

/// One source of the chain: usable, or not configured and why.
struct Link {
    origin: String,
    fetcher: Result<Fetcher, String>,
}

struct Inner {
    links: Vec<Link>,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The link that answered first; the chain is not walked again.
    chosen: Option<usize>,
    current: Option<Issued>,
    generation: u64,
    last_forced: Option<Instant>,
}

impl State {
    fn install(&mut self, fetched: Fetched) -> Issued {
        self.generation += 1;
        let issued = Issued {
            credentials: Arc::new(fetched.credentials),
            expires_at: fetched.expires_at,
            generation: self.generation,
        };
        self.current = Some(issued.clone());
        issued
    }
}

/// The credentials a client signs with, shared by its clones and refreshed as needed.
#[derive(Clone)]
pub struct CredentialsProvider {
    inner: Arc<Inner>,
}

impl fmt::Debug for CredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origins: Vec<&str> = self
            .inner
            .links
            .iter()
            .filter(|l| l.fetcher.is_ok())
            .map(|l| l.origin.as_str())
            .collect();
        f.debug_struct("CredentialsProvider")
            .field("sources", &origins)
            .finish()
    }
}

impl CredentialsProvider {
    /// Always these credentials.
    pub fn fixed(credentials: Credentials) -> CredentialsProvider {
        Self::from_links(vec![Link {
            origin: "the given access key".to_owned(),
            fetcher: Ok(Fetcher::Fixed(credentials)),
        }])
    }

    /// The default chain over the process environment (see the module text).
    pub fn default_chain() -> CredentialsProvider {
        Self::chain(&Env::process())
    }

    /// The default chain over `env`. Variables and files are read now; remote sources are
    /// asked on the first [`CredentialsProvider::get`].
    pub fn chain(env: &Env) -> CredentialsProvider {
        Self::from_links(chain_links(env))
    }

    fn from_links(links: Vec<Link>) -> CredentialsProvider {
        CredentialsProvider {
            inner: Arc::new(Inner {
                links,
                state: tokio::sync::Mutex::new(State::default()),
            }),
        }
    }

    /// Credentials to sign with now: the ones held, or fresh ones when they expire within
    /// [`REFRESH_MARGIN`] (callers wait for one fetch at a time).
    pub async fn get(&self) -> Result<Issued, CredentialsError> {
        let mut state = self.inner.state.lock().await;
        if let Some(current) = &state.current
            && !needs_refresh(current.expires_at, SystemTime::now())
        {
            return Ok(current.clone());
        }
        self.fetch(&mut state).await
    }

    /// After the service refused `used` as unauthenticated (`SecurityToken.Expired`,
    /// `Unauthorized`, `InvalidAccessKeyId`): newer credentials to retry with, fetched now
    /// unless another caller already did; `None` when nothing newer can be had (long-lived
    /// keys, or a forced refresh less than [`MIN_FORCED_REFRESH`] ago, or the fetch failed).
    pub async fn renew_after_refusal(&self, used: &Issued) -> Option<Issued> {
        let mut state = self.inner.state.lock().await;
        if state.generation != used.generation {
            return state.current.clone();
        }
        let chosen = state.chosen.and_then(|i| self.inner.links.get(i))?;
        let refreshable = chosen.fetcher.as_ref().is_ok_and(Fetcher::refreshable);
        if !refreshable || !forced_refresh_allowed(state.last_forced, Instant::now()) {
            return None;
        }
        state.last_forced = Some(Instant::now());
        let origin = chosen.origin.clone();
        match self.fetch_chosen(&mut state).await {
            Ok(issued) => {
                info!(source = %origin, "credentials refreshed after the service refused them");
                Some(issued)
            }
            Err(e) => {
                warn!(source = %origin, error = %e, "cannot refresh refused credentials");
                None
            }
        }
    }

    async fn fetch(&self, state: &mut State) -> Result<Issued, CredentialsError> {
        if state.chosen.is_some() {
            let now = SystemTime::now();
            return match self.fetch_chosen(state).await {
                Ok(issued) => Ok(issued),
                Err(e) => match &state.current {
                    Some(current) if !expired(current.expires_at, now) => {
                        warn!(error = %e, "cannot refresh credentials; using the current ones until they expire");
                        Ok(current.clone())
                    }
                    _ => Err(e),
                },
            };
        }
        let mut tried = Vec::new();
        for (i, link) in self.inner.links.iter().enumerate() {
            let fetcher = match &link.fetcher {
                Ok(f) => f,
                Err(why) => {
                    tried.push(Tried {
                        origin: link.origin.clone(),
                        why: why.clone(),
                        retriable: false,
                    });
                    continue;
                }
            };
            match fetcher.fetch(&link.origin).await {
                Ok(fetched) => {
                    state.chosen = Some(i);
                    info!(source = %link.origin, temporary = fetched.expires_at.is_some(), "using Alibaba Cloud credentials");
                    return Ok(state.install(fetched));
                }
                Err(e) => tried.push(Tried {
                    origin: link.origin.clone(),
                    why: match &e {
                        // The cause's text too: the list is all the message will show.
                        CredentialsError::Fetch {
                            detail,
                            source: Some(cause),
                            ..
                        } => format!("{detail}: {cause}"),
                        CredentialsError::Fetch { detail, .. } => detail.clone(),
                        other => other.to_string(),
                    },
                    retriable: e.is_retriable(),
                }),
            }
        }
        Err(CredentialsError::NotFound { tried })
    }

    async fn fetch_chosen(&self, state: &mut State) -> Result<Issued, CredentialsError> {
        let link = &self.inner.links[state.chosen.expect("a source was chosen")];
        let fetcher = link
            .fetcher
            .as_ref()
            .map_err(|why| CredentialsError::Fetch {
                origin: link.origin.clone(),
                detail: why.clone(),
                retriable: false,
                source: None,
            })?;
        let fetched = fetcher.fetch(&link.origin).await?;
        Ok(state.install(fetched))
    }
}

/// The chain's sources, in order, with those not configured saying why.
fn chain_links(env: &Env) -> Vec<Link> {
    let mut links = Vec::new();

    links.push(Link {
        origin: "environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET)"
            .to_owned(),
        fetcher: Credentials::from_lookup(|name| env.var(name))
            .map(Fetcher::Fixed)
            .ok_or_else(|| "not set".to_owned()),
    });

    const OIDC_VARS: [&str; 3] = [
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    ];
    let missing: Vec<&str> = OIDC_VARS
        .iter()
        .copied()
        .filter(|v| env.var(v).is_none())
        .collect();
    links.push(Link {
        origin: "OIDC role (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE)".to_owned(),
        fetcher: if missing.is_empty() {
            Ok(Fetcher::Oidc(OidcRole::new(
                env,
                files::OidcSettings::from_env(env),
            )))
        } else {
            Err(format!("{} not set", missing.join(", ")))
        },
    });

    let profile_name = env.var("ALIBABA_CLOUD_PROFILE");
    let cli_file = env
        .var("ALIBABA_CLOUD_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home().map(|h| h.join(".aliyun/config.json")));
    if env.flag("ALIBABA_CLOUD_CLI_PROFILE_DISABLED") {
        links.push(Link {
            origin: "aliyun CLI profile".to_owned(),
            fetcher: Err("ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true".to_owned()),
        });
    } else {
        links.push(file_link(
            "aliyun CLI profile",
            cli_file.as_deref(),
            |text| files::cli_profile(text, profile_name.as_deref()),
            env,
        ));
    }

    let ini_profile = profile_name.clone().unwrap_or_else(|| "default".to_owned());
    let ini_file = match env.var("ALIBABA_CLOUD_CREDENTIALS_FILE") {
        Some(path) => Some(PathBuf::from(path)),
        None => env.home().map(|home| {
            let go = home.join(".alibabacloud/credentials");
            let python = home.join(".alibabacloud/credentials.ini");
            if !go.exists() && python.exists() {
                python
            } else {
                go
            }
        }),
    };
    links.push(file_link(
        "credentials file",
        ini_file.as_deref(),
        |text| files::ini_profile(text, &ini_profile).map(|p| (ini_profile.clone(), p)),
        env,
    ));

    let ecs = EcsRamRole::new(env, env.var("ALIBABA_CLOUD_ECS_METADATA"));
    links.push(Link {
        origin: format!("ECS RAM role (metadata service {})", ecs.endpoint()),
        fetcher: if env.flag("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
            Err("ALIBABA_CLOUD_ECS_METADATA_DISABLED=true".to_owned())
        } else {
            Ok(Fetcher::EcsRamRole(ecs))
        },
    });

    if let Some(uri) = env.var("ALIBABA_CLOUD_CREDENTIALS_URI") {
        links.push(Link {
            origin: "ALIBABA_CLOUD_CREDENTIALS_URI".to_owned(),
            fetcher: Ok(Fetcher::Uri(CredentialsUri::new(uri))),
        });
    }
    links
}

/// A source read from a file: absent file or profile, or what the profile asks for.
fn file_link(
    what: &str,
    path: Option<&Path>,
    parse: impl FnOnce(&str) -> Result<(String, Profile), String>,
    env: &Env,
) -> Link {
    let Some(path) = path else {
        return Link {
            origin: what.to_owned(),
            fetcher: Err("no HOME to find the file in".to_owned()),
        };
    };
    let shown = path.display();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Link {
                origin: format!("{what} {shown}"),
                fetcher: Err("no such file".to_owned()),
            };
        }
        Err(e) => {
            return Link {
                origin: format!("{what} {shown}"),
                fetcher: Err(format!("cannot read it: {e}")),
            };
        }
    };
    match parse(&text) {
        Ok((name, profile)) => Link {
            origin: format!("{what} {shown}, profile `{name}`"),
            fetcher: Ok(Fetcher::from_profile(profile, env)),
        },
        Err(why) => Link {
            origin: format!("{what} {shown}"),
            fetcher: Err(why),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn refresh_when_three_minutes_or_less_remain() {
        let now = at(1_000_000);
        assert!(!needs_refresh(None, now), "long-lived keys never expire");
        assert!(!needs_refresh(Some(at(1_000_000 + 3600)), now));
        assert!(!needs_refresh(Some(at(1_000_000 + 181)), now));
        assert!(needs_refresh(Some(at(1_000_000 + 180)), now));
        assert!(needs_refresh(Some(at(1_000_000 + 1)), now));
        assert!(needs_refresh(Some(at(999_000)), now), "already expired");
        assert!(expired(Some(at(1_000_000)), now));
        assert!(!expired(Some(at(1_000_001)), now));
        assert!(!expired(None, now));
    }

    #[test]
    fn forced_refreshes_are_spaced() {
        let now = Instant::now();
        assert!(forced_refresh_allowed(None, now));
        assert!(!forced_refresh_allowed(
            Some(now),
            now + Duration::from_secs(5)
        ));
        assert!(forced_refresh_allowed(Some(now), now + MIN_FORCED_REFRESH));
    }

    /// An environment with nothing configured and no network source: HOME is an empty
    /// directory and the metadata service is switched off.
    fn bare(home: &Path, extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![
            ("HOME".to_owned(), home.display().to_string()),
            (
                "ALIBABA_CLOUD_ECS_METADATA_DISABLED".to_owned(),
                "true".to_owned(),
            ),
        ];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Env::from_pairs(pairs)
    }

    #[tokio::test]
    async fn nothing_configured_names_every_source_tried() {
        let home = tempfile::tempdir().unwrap();
        let provider = CredentialsProvider::chain(&bare(home.path(), &[]));
        let e = provider.get().await.unwrap_err();
        assert!(!e.is_retriable());
        let shown = e.to_string();
        for needle in [
            "no Alibaba Cloud credentials found",
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE not set",
            ".aliyun/config.json: no such file",
            ".alibabacloud/credentials: no such file",
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
            "anonymous=true",
        ] {
            assert!(shown.contains(needle), "{needle}: {shown}");
        }
    }

    #[tokio::test]
    async fn environment_comes_first_and_sticks() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".alibabacloud")).unwrap();
        std::fs::write(
            home.path().join(".alibabacloud/credentials"),
            "[default]\ntype = access_key\naccess_key_id = file-id\naccess_key_secret = file-secret\n",
        )
        .unwrap();
        let env = bare(
            home.path(),
            &[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id"),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
                ("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token"),
            ],
        );
        let provider = CredentialsProvider::chain(&env);
        let issued = provider.get().await.unwrap();
        assert_eq!(issued.credentials.access_key_id, "env-id");
        assert_eq!(
            issued.credentials.security_token.as_deref(),
            Some("env-token")
        );
        assert_eq!(issued.expires_at, None);
        // Long-lived keys: nothing newer to retry with after a refusal.
        assert!(provider.renew_after_refusal(&issued).await.is_none());

        // Without the variables, the credentials file's default profile answers.
        let provider = CredentialsProvider::chain(&bare(home.path(), &[]));
        let issued = provider.get().await.unwrap();
        assert_eq!(issued.credentials.access_key_id, "file-id");
        assert_eq!(issued.credentials.access_key_secret, "file-secret");
        assert!(format!("{provider:?}").contains("credentials file"));
    }

    #[tokio::test]
    async fn cli_profile_comes_before_the_credentials_file() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aliyun")).unwrap();
        std::fs::write(
            home.path().join(".aliyun/config.json"),
            r#"{"current":"sts","profiles":[
                {"name":"ak","mode":"AK","access_key_id":"cli-ak","access_key_secret":"s1"},
                {"name":"sts","mode":"StsToken","access_key_id":"cli-sts","access_key_secret":"s2","sts_token":"t2"}]}"#,
        )
        .unwrap();
        let provider = CredentialsProvider::chain(&bare(home.path(), &[]));
        let issued = provider.get().await.unwrap();
        assert_eq!(issued.credentials.access_key_id, "cli-sts");
        assert_eq!(issued.credentials.security_token.as_deref(), Some("t2"));

        let env = bare(home.path(), &[("ALIBABA_CLOUD_PROFILE", "ak")]);
        let issued = CredentialsProvider::chain(&env).get().await.unwrap();
        assert_eq!(issued.credentials.access_key_id, "cli-ak");

        let env = bare(
            home.path(),
            &[("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "TRUE")],
        );
        let e = CredentialsProvider::chain(&env).get().await.unwrap_err();
        assert!(
            e.to_string()
                .contains("aliyun CLI profile: ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn errors_and_debug_never_show_secrets() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join("creds");
        std::fs::write(
            &file,
            "[default]\ntype = ram_role_arn\naccess_key_id = AKID-x\naccess_key_secret = S3CRET-x\n",
        )
        .unwrap();
        let env = bare(
            home.path(),
            &[
                (
                    "ALIBABA_CLOUD_CREDENTIALS_FILE",
                    &file.display().to_string(),
                ),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "S3CRET-env"),
            ],
        );
        let provider = CredentialsProvider::chain(&env);
        let e = provider.get().await.unwrap_err().to_string();
        assert!(e.contains("`ram_role_arn` is not supported"), "{e}");
        assert!(!e.contains("S3CRET"), "{e}");
        assert!(!format!("{provider:?} {env:?}").contains("S3CRET"));
    }
}
