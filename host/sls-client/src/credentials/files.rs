//! The two credentials files the Alibaba Cloud tools write, parsed into what a profile asks
//! for: the INI credentials file (`~/.alibabacloud/credentials`) and the aliyun CLI's
//! `~/.aliyun/config.json`.

use std::path::PathBuf;

use serde::Deserialize;

use super::Env;
use crate::sign::Credentials;

/// What a profile asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Profile {
    /// A key pair, with a token for STS credentials written down by hand.
    AccessKey(Credentials),
    /// The instance's RAM role; `None`: ask the metadata service for its name.
    EcsRamRole {
        role: Option<String>,
    },
    Oidc(OidcSettings),
}

/// An OIDC role to assume with STS `AssumeRoleWithOIDC`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct OidcSettings {
    pub role_arn: String,
    pub provider_arn: String,
    pub token_file: PathBuf,
    pub session_name: Option<String>,
    pub duration_secs: Option<u64>,
    pub policy: Option<String>,
    pub sts_region: Option<String>,
    pub enable_vpc: Option<bool>,
}

impl OidcSettings {
    /// From `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE` and `ALIBABA_CLOUD_ROLE_SESSION_NAME` (the last as
    /// credentials-python `provider/oidc.py` reads it; credentials-go `oidc.go` does not).
    pub fn from_env(env: &Env) -> OidcSettings {
        OidcSettings {
            role_arn: env.var("ALIBABA_CLOUD_ROLE_ARN").unwrap_or_default(),
            provider_arn: env
                .var("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
                .unwrap_or_default(),
            token_file: env
                .var("ALIBABA_CLOUD_OIDC_TOKEN_FILE")
                .unwrap_or_default()
                .into(),
            session_name: env.var("ALIBABA_CLOUD_ROLE_SESSION_NAME"),
            ..OidcSettings::default()
        }
    }
}

/// Types the libraries know that need what holo-host does not do (a signed STS `AssumeRole`,
/// an RSA key pair, a browser sign-in, an external program).
fn unsupported(kind: &str) -> String {
    format!(
        "`{kind}` is not supported by holo-host; use an access key, an ECS RAM role or an OIDC role"
    )
}

/// The named section of an INI credentials file, read as credentials-go `providers/profile.go`
/// (types `access_key`, `ecs_ram_role`) and credentials-python `provider/profile.py` (also
/// `oidc_role_arn`; inline `#` comments cut, values trimmed) read it.
pub(super) fn ini_profile(text: &str, name: &str) -> Result<Profile, String> {
    let mut section: Option<Vec<(String, String)>> = None;
    let mut in_wanted = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_wanted = header.trim() == name;
            if in_wanted && section.is_none() {
                section = Some(Vec::new());
            }
            continue;
        }
        if !in_wanted {
            continue;
        }
        if let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(':')) {
            let value = value.split('#').next().unwrap_or("").trim();
            if let Some(entries) = section.as_mut() {
                entries.push((key.trim().to_ascii_lowercase(), value.to_owned()));
            }
        }
    }
    let entries = section.ok_or_else(|| format!("no profile `{name}` in it"))?;
    let get = |key: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let need = |key: &str| get(key).ok_or_else(|| format!("profile `{name}` has no `{key}`"));
    match get("type").as_deref() {
        Some("access_key") => Ok(Profile::AccessKey(Credentials::new(
            need("access_key_id")?,
            need("access_key_secret")?,
        ))),
        Some("ecs_ram_role") => Ok(Profile::EcsRamRole {
            role: get("role_name"),
        }),
        Some("oidc_role_arn") => Ok(Profile::Oidc(OidcSettings {
            role_arn: need("role_arn")?,
            provider_arn: need("oidc_provider_arn")?,
            token_file: need("oidc_token_file_path")?.into(),
            session_name: get("role_session_name"),
            policy: get("policy"),
            ..OidcSettings::default()
        })),
        Some(other) => Err(format!("profile `{name}`: type {}", unsupported(other))),
        None => Err(format!("profile `{name}` has no `type`")),
    }
}

/// The aliyun CLI configuration, as credentials-go `providers/cli_profile.go` reads it.
#[derive(Deserialize)]
struct CliConfig {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<CliProfile>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CliProfile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    ram_role_name: String,
    ram_role_arn: String,
    ram_session_name: String,
    expired_seconds: u64,
    sts_region: String,
    enable_vpc: bool,
    oidc_token_file: String,
    oidc_provider_arn: String,
    policy: String,
}

/// The profile `name` (or the file's `current`) of an aliyun CLI `config.json`: its name and
/// what it asks for. Modes `AK`, `StsToken`, `EcsRamRole` and `OIDC` are read as credentials-go
/// `cli_profile.go` `getCredentialsProvider` reads them.
pub(super) fn cli_profile(text: &str, name: Option<&str>) -> Result<(String, Profile), String> {
    let config: CliConfig =
        serde_json::from_str(text).map_err(|e| format!("it is not aliyun CLI JSON: {e}"))?;
    if config.profiles.is_empty() {
        return Err("it has no profiles".to_owned());
    }
    let name = name.map(str::to_owned).unwrap_or(config.current);
    let p = config
        .profiles
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("no profile `{name}` in it"))?;
    let nonempty = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    let key = |p: &CliProfile| {
        if p.access_key_id.is_empty() || p.access_key_secret.is_empty() {
            Err(format!(
                "profile `{name}` has no access_key_id or access_key_secret"
            ))
        } else {
            Ok(Credentials::new(&p.access_key_id, &p.access_key_secret))
        }
    };
    let profile = match p.mode.as_str() {
        "AK" => Profile::AccessKey(key(&p)?),
        "StsToken" => Profile::AccessKey(Credentials {
            security_token: Some(
                nonempty(&p.sts_token)
                    .ok_or_else(|| format!("profile `{name}` has no sts_token"))?,
            ),
            ..key(&p)?
        }),
        "EcsRamRole" => Profile::EcsRamRole {
            role: nonempty(&p.ram_role_name),
        },
        "OIDC" => Profile::Oidc(OidcSettings {
            role_arn: p.ram_role_arn.clone(),
            provider_arn: p.oidc_provider_arn.clone(),
            token_file: p.oidc_token_file.clone().into(),
            session_name: nonempty(&p.ram_session_name),
            duration_secs: (p.expired_seconds > 0).then_some(p.expired_seconds),
            policy: nonempty(&p.policy),
            sts_region: nonempty(&p.sts_region),
            enable_vpc: Some(p.enable_vpc),
        }),
        other => {
            return Err(format!(
                "profile `{name}`: mode {}",
                unsupported(if other.is_empty() { "(none)" } else { other })
            ));
        }
    };
    Ok((name, profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections of credentials-go `providers/fixtures/.alibabacloud/credentials`.
    const GO_FIXTURE: &str = "[default]
enable = true
type = access_key
access_key_id = foo
access_key_secret = bar

[notype]
access_key_id = foo
access_key_secret = bar

[noak]
type = access_key
access_key_secret = bar

[emptyak]
type = access_key
access_key_id =
access_key_secret = bar

[ecs]
type = ecs_ram_role
role_name = EcsRamRoleTest

[ram]
type = ram_role_arn
access_key_id = foo
access_key_secret = bar
role_arn = role_arn
role_session_name = session_name
";

    #[test]
    fn ini_profiles_as_the_go_fixture_reads() {
        assert_eq!(
            ini_profile(GO_FIXTURE, "default"),
            Ok(Profile::AccessKey(Credentials::new("foo", "bar")))
        );
        assert_eq!(
            ini_profile(GO_FIXTURE, "ecs"),
            Ok(Profile::EcsRamRole {
                role: Some("EcsRamRoleTest".into())
            })
        );
        for (name, why) in [
            ("notype", "has no `type`"),
            ("noak", "has no `access_key_id`"),
            ("emptyak", "has no `access_key_id`"),
            ("ram", "`ram_role_arn` is not supported"),
            ("missing", "no profile `missing`"),
        ] {
            let e = ini_profile(GO_FIXTURE, name).unwrap_err();
            assert!(e.contains(why), "{name}: {e}");
            assert!(!e.contains("bar"), "{name}: {e}");
        }
    }

    #[test]
    fn ini_comments_spaces_and_oidc() {
        let text = "; top comment\n# another\n[ work ]\ntype=oidc_role_arn  # inline\n\
                    role_arn = acs:ram::1:role/r\noidc_provider_arn = acs:ram::1:oidc-provider/p\n\
                    oidc_token_file_path = /var/run/token\nrole_session_name = s1\n";
        assert_eq!(
            ini_profile(text, "work"),
            Ok(Profile::Oidc(OidcSettings {
                role_arn: "acs:ram::1:role/r".into(),
                provider_arn: "acs:ram::1:oidc-provider/p".into(),
                token_file: "/var/run/token".into(),
                session_name: Some("s1".into()),
                ..OidcSettings::default()
            }))
        );
    }

    /// Profiles of credentials-go `providers/fixtures/.aliyun/config.json`.
    const CLI_FIXTURE: &str = r#"{
        "current": "AK",
        "profiles": [
            {"name": "AK", "mode": "AK", "access_key_id": "akid", "access_key_secret": "secret"},
            {"name": "StsToken", "mode": "StsToken", "access_key_id": "accessKeyId",
             "access_key_secret": "accessKeySecret", "sts_token": "stsToken"},
            {"name": "RamRoleArn", "mode": "RamRoleArn", "access_key_id": "akid",
             "access_key_secret": "secret", "ram_role_arn": "arn", "sts_region": "cn-hangzhou",
             "enable_vpc": true, "policy": "policy", "external_id": "id"},
            {"name": "EcsRamRole", "mode": "EcsRamRole", "ram_role_name": "rolename"},
            {"name": "OIDC", "mode": "OIDC", "ram_role_arn": "role_arn",
             "oidc_token_file": "path/to/oidc/file", "oidc_provider_arn": "provider_arn",
             "sts_region": "cn-hangzhou", "enable_vpc": true, "policy": "policy"},
            {"name": "Unsupported", "mode": "Unsupported"}
        ]
    }"#;

    #[test]
    fn cli_profiles_as_the_go_fixture_reads() {
        assert_eq!(
            cli_profile(CLI_FIXTURE, None),
            Ok((
                "AK".into(),
                Profile::AccessKey(Credentials::new("akid", "secret"))
            ))
        );
        let (_, sts) = cli_profile(CLI_FIXTURE, Some("StsToken")).unwrap();
        assert_eq!(
            sts,
            Profile::AccessKey(Credentials {
                security_token: Some("stsToken".into()),
                ..Credentials::new("accessKeyId", "accessKeySecret")
            })
        );
        assert_eq!(
            cli_profile(CLI_FIXTURE, Some("EcsRamRole")).unwrap().1,
            Profile::EcsRamRole {
                role: Some("rolename".into())
            }
        );
        assert_eq!(
            cli_profile(CLI_FIXTURE, Some("OIDC")).unwrap().1,
            Profile::Oidc(OidcSettings {
                role_arn: "role_arn".into(),
                provider_arn: "provider_arn".into(),
                token_file: "path/to/oidc/file".into(),
                policy: Some("policy".into()),
                sts_region: Some("cn-hangzhou".into()),
                enable_vpc: Some(true),
                ..OidcSettings::default()
            })
        );
        for (name, why) in [
            ("RamRoleArn", "`RamRoleArn` is not supported"),
            ("Unsupported", "`Unsupported` is not supported"),
            ("nope", "no profile `nope`"),
        ] {
            let e = cli_profile(CLI_FIXTURE, Some(name)).unwrap_err();
            assert!(e.contains(why), "{name}: {e}");
            assert!(!e.contains("secret"), "{name}: {e}");
        }
        assert!(cli_profile("{}", None).unwrap_err().contains("no profiles"));
        assert!(
            cli_profile("not json", None)
                .unwrap_err()
                .contains("not aliyun CLI JSON")
        );
    }
}
