//! Which AWS accounts the agent acts in, and with what credentials: the config's `[aws]` section
//! plus the AWS environment ([`AwsEnv`]) and files become a [`CredentialSet`] (one cache per
//! identity) and the list of [`Account`]s the commands walk.
//!
//! The rules, in the order accounts are listed:
//! 1. **environment**: `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`).
//! 2. **profiles**: every profile of the credentials file with keys, and every profile (of it or
//!    of the AWS config file) with a `role_arn` (AssumeRole signed with its `source_profile`, or
//!    its `credential_source` `Environment` / `Ec2InstanceMetadata`). The file is `[aws]
//!    credentials_file`; without one, `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials` is
//!    read only when rule 1 found no keys (botocore's order), and then `AWS_PROFILE` limits it
//!    to that profile. Profiles without keys or a role (region-only, SSO) are skipped.
//! 3. **instance role** (IMDSv2), when rules 1–2 found nothing, unless
//!    `AWS_EC2_METADATA_DISABLED=true`.
//! 4. **roles**: each `[aws] role = ARN[, EXTERNAL_ID]` is AssumeRole'd for `session_duration`,
//!    signed with the base credentials: the environment's, else `AWS_PROFILE`'s or the `default`
//!    profile's, else the first profile account's, else the instance role's (used only as a
//!    signer if it is not an account).
//!
//! Default region of an account: `AWS_REGION`/`AWS_DEFAULT_REGION`; else its profile's `region`
//! (`[profile NAME]` of the AWS config file, or the credentials file); else the `[default]`
//! profile's (or `AWS_PROFILE`'s) region; a role takes its base's. The instance role falls back
//! on its identity document's region at run time, everything else on [`FALLBACK_REGION`].
//!
//! [`load`] reads the files (and warns when the credentials file is readable by group or
//! others); [`build`] is the pure part.

use std::collections::HashMap;
use std::fmt;
use std::io;

use crate::aws::api::imds::{ImdsBase, ImdsError};
use crate::aws::client::AwsClient;
use crate::aws::credentials::assume_role::AssumeRoleConfig;
use crate::aws::credentials::profile_files::{self, Profile};
use crate::aws::credentials::{
    CacheId, CredentialCache, CredentialError, CredentialSet, Credentials,
};
use crate::cli::env::AwsEnv;
use crate::config::config::Config;
use crate::config::ini::{self, Ini};

/// Where calls go when no region is configured anywhere (botocore has no default; STS and
/// most APIs answer in us-east-1 for the aws partition).
pub const FALLBACK_REGION: &str = "us-east-1";
/// `source_profile` chains longer than this are refused (botocore follows chains; a loop would
/// never end).
const MAX_SOURCE_DEPTH: usize = 8;

/// One identity the agent acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub cache: CacheId,
    /// `environment`, `profile NAME`, `instance role`, `role ARN` (+ `with external id`).
    pub label: String,
    /// The default region, when configured.
    pub region: Option<String>,
    /// Where `region` came from (`AWS_REGION`, `profile NAME`…), for reports.
    pub region_from: String,
}

impl Account {
    /// The region to use now: the configured one, the instance's (once IMDS said), or
    /// [`FALLBACK_REGION`]; with where it came from.
    pub fn effective_region<'s>(&'s self, client: &'s AwsClient) -> (&'s str, &'s str) {
        if let Some(r) = self.region.as_deref() {
            return (r, &self.region_from);
        }
        match client
            .credentials()
            .cache(self.cache)
            .and_then(|c| c.imds_region())
        {
            Some(r) => (r, "instance identity document"),
            None => (FALLBACK_REGION, "no region configured"),
        }
    }
}

/// Every account, and the credential caches behind them (roles' signers included).
#[derive(Debug)]
pub struct Accounts {
    pub credentials: CredentialSet,
    pub accounts: Vec<Account>,
    /// Problems worth telling the operator that do not stop anything (already logged).
    pub warnings: Vec<String>,
}

/// One AWS file, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsFile {
    pub path: String,
    pub text: String,
    /// Named by our config (`[aws] credentials_file`/`config_file`), not found by convention.
    pub explicit: bool,
}

/// The AWS credentials and config files, when there are any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsFiles {
    pub credentials: Option<AwsFile>,
    pub config: Option<AwsFile>,
}

#[derive(Debug)]
pub enum AccountsError {
    Read {
        path: String,
        error: io::Error,
    },
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    /// A profile whose credentials cannot be used.
    Profile {
        name: String,
        error: CredentialError,
    },
    ProfileNotFound {
        name: String,
        wanted_by: String,
    },
    /// `AWS_PROFILE` names a profile without keys or a role.
    NoProfileCredentials {
        name: String,
    },
    SourceLoop {
        name: String,
    },
    UnsupportedSource {
        profile: String,
        source: String,
    },
    Role {
        arn: String,
        error: CredentialError,
    },
    Environment(CredentialError),
    Imds(ImdsError),
    /// Nothing to act as: no keys anywhere and the instance role is disabled.
    NoCredentials,
}

impl fmt::Display for AccountsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountsError::Read { path, error } => write!(f, "cannot read {path}: {error}"),
            AccountsError::Parse {
                path,
                line,
                message,
            } => write!(f, "{path}:{line}: {message}"),
            AccountsError::Profile { name, error } => write!(f, "profile {name}: {error}"),
            AccountsError::ProfileNotFound { name, wanted_by } => write!(
                f,
                "profile {name} (named by {wanted_by}) is in neither the credentials nor the config file"
            ),
            AccountsError::NoProfileCredentials { name } => write!(
                f,
                "profile {name} (AWS_PROFILE) has neither access keys nor a role_arn"
            ),
            AccountsError::SourceLoop { name } => write!(
                f,
                "profile {name}: source_profile chain loops or is deeper than {MAX_SOURCE_DEPTH}"
            ),
            AccountsError::UnsupportedSource { profile, source } => write!(
                f,
                "profile {profile}: credential_source {source:?} is not supported (use Environment or Ec2InstanceMetadata)"
            ),
            AccountsError::Role { arn, error } => write!(f, "role {arn}: {error}"),
            AccountsError::Environment(e) => write!(f, "{e}"),
            AccountsError::Imds(e) => write!(f, "AWS_EC2_METADATA_SERVICE_ENDPOINT: {e}"),
            AccountsError::NoCredentials => f.write_str(
                "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, name a credentials_file in [aws], or run on EC2 with an instance role (AWS_EC2_METADATA_DISABLED is true)",
            ),
        }
    }
}

impl std::error::Error for AccountsError {}

/// Reads the AWS files `cfg` and `env` point at, then [`build`]s. `seed` feeds the caches'
/// backoff jitter.
pub fn load(cfg: &Config, env: &AwsEnv, seed: u64) -> Result<Accounts, AccountsError> {
    let mut warnings = Vec::new();
    let credentials = read_file(
        cfg.credentials_file.as_deref(),
        env.shared_credentials_file
            .clone()
            .or_else(|| env.home_aws_file("credentials")),
    )?;
    if let Some(f) = &credentials {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&f.path)
            && let Some(w) = profile_files::check_file_mode(&f.path, meta.permissions().mode())
        {
            log::warn!("{w}");
            warnings.push(w.to_string());
        }
    }
    let config = read_file(
        cfg.aws_config_file.as_deref(),
        env.config_file
            .clone()
            .or_else(|| env.home_aws_file("config")),
    )?;
    let mut accounts = build(
        cfg,
        env,
        &AwsFiles {
            credentials,
            config,
        },
        seed,
    )?;
    warnings.append(&mut accounts.warnings);
    accounts.warnings = warnings;
    Ok(accounts)
}

/// The configured file (must be readable), else the conventional one (absent is fine).
fn read_file(
    explicit: Option<&str>,
    ambient: Option<String>,
) -> Result<Option<AwsFile>, AccountsError> {
    if let Some(path) = explicit {
        let text = std::fs::read_to_string(path).map_err(|error| AccountsError::Read {
            path: path.to_string(),
            error,
        })?;
        return Ok(Some(AwsFile {
            path: path.to_string(),
            text,
            explicit: true,
        }));
    }
    let Some(path) = ambient else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(AwsFile {
            path,
            text,
            explicit: false,
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            log::debug!("no AWS file path={path}");
            Ok(None)
        }
        Err(error) => Err(AccountsError::Read { path, error }),
    }
}

fn parse_file(f: Option<&AwsFile>) -> Result<Option<Ini<'_>>, AccountsError> {
    let Some(f) = f else { return Ok(None) };
    ini::parse(&f.text)
        .map(Some)
        .map_err(|e| AccountsError::Parse {
            path: f.path.clone(),
            line: e.line,
            message: e.message.to_string(),
        })
}

/// The accounts of `cfg` + `env` + `files` (see the module doc for the rules).
pub fn build(
    cfg: &Config,
    env: &AwsEnv,
    files: &AwsFiles,
    seed: u64,
) -> Result<Accounts, AccountsError> {
    let env_creds = Credentials::from_env_values(
        env.access_key_id.as_deref(),
        env.secret_access_key.as_deref(),
        env.session_token.as_deref(),
    )
    .map_err(AccountsError::Environment)?;
    let creds_file = files.credentials.as_ref();
    // botocore: environment keys win over an ambient credentials file.
    let creds_file = creds_file.filter(|f| f.explicit || env_creds.is_none());
    let creds_ini = parse_file(creds_file)?;
    let config_ini = parse_file(files.config.as_ref())?;
    let profiles = profile_files::profiles(creds_ini.as_ref(), config_ini.as_ref());
    let imds = match env.imds_endpoint.as_deref() {
        Some(url) => ImdsBase::parse(url).map_err(AccountsError::Imds)?,
        None => ImdsBase::default(),
    };
    let mut b = Builder {
        cfg,
        env,
        profiles: &profiles,
        imds,
        seed,
        set: CredentialSet::new(),
        accounts: Vec::new(),
        warnings: Vec::new(),
        by_profile: HashMap::new(),
        env_cache: None,
        instance: None,
        roles: 0,
    };
    let env_creds_found = env_creds.is_some();
    if let Some(c) = env_creds {
        let (region, from) = b.region_for(None);
        let id = b.add_fixed("environment", c, region.as_deref());
        b.env_cache = Some(id);
        b.push_account(id, "environment".to_string(), region, from);
    }
    // Which profiles are accounts: all usable ones of an explicit credentials file; of ambient
    // files only without environment keys, and only AWS_PROFILE's when that is set.
    let explicit = creds_file.is_some_and(|f| f.explicit);
    let wanted: Vec<&str> = match &env.profile {
        _ if !explicit && env_creds_found => Vec::new(),
        Some(name) if !explicit => {
            let p = b.profile(name, "AWS_PROFILE")?;
            if !is_usable(p) {
                return Err(AccountsError::NoProfileCredentials {
                    name: name.to_string(),
                });
            }
            vec![p.name]
        }
        _ => profiles
            .iter()
            .filter(|p| is_usable(p))
            .map(|p| p.name)
            .collect(),
    };
    for name in wanted {
        let id = b.profile_cache(name, 0)?;
        let (region, from) = b.region_for(Some(name));
        b.push_account(id, format!("profile {name}"), region, from);
    }
    if b.accounts.is_empty() {
        if env.imds_disabled {
            if cfg.roles.is_empty() {
                return Err(AccountsError::NoCredentials);
            }
        } else {
            let id = b.instance_cache();
            let (region, from) = b.region_for(None);
            b.push_account(id, "instance role".to_string(), region, from);
        }
    }
    for role in &cfg.roles {
        b.config_role(&role.arn, role.external_id.as_deref())?;
    }
    Ok(Accounts {
        credentials: b.set,
        accounts: b.accounts,
        warnings: b.warnings,
    })
}

fn is_usable(p: &Profile<'_>) -> bool {
    p.role_arn.is_some() || p.access_key_id.is_some() || p.secret_access_key.is_some()
}

struct Builder<'c, 'p, 'a> {
    cfg: &'c Config,
    env: &'c AwsEnv,
    profiles: &'p [Profile<'a>],
    imds: ImdsBase,
    seed: u64,
    set: CredentialSet,
    accounts: Vec<Account>,
    warnings: Vec<String>,
    by_profile: HashMap<String, CacheId>,
    env_cache: Option<CacheId>,
    instance: Option<CacheId>,
    /// AssumeRole configs made so far (numbers their session names).
    roles: usize,
}

impl<'a> Builder<'_, '_, 'a> {
    fn next_seed(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.seed
    }

    fn profile(&self, name: &str, wanted_by: &str) -> Result<&Profile<'a>, AccountsError> {
        self.profiles
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| AccountsError::ProfileNotFound {
                name: name.to_string(),
                wanted_by: wanted_by.to_string(),
            })
    }

    /// The default region and its origin for the environment / instance role (`None`) or a profile.
    fn region_for(&self, profile: Option<&str>) -> (Option<String>, String) {
        if let Some(r) = &self.env.region {
            return (Some(r.clone()), "AWS_REGION".to_string());
        }
        let own = profile.and_then(|n| self.profiles.iter().find(|p| p.name == n));
        if let Some(r) = own.and_then(|p| p.region) {
            return (
                Some(r.to_string()),
                format!("profile {}", own.map_or("", |p| p.name)),
            );
        }
        let fallback = self.env.profile.as_deref().unwrap_or("default");
        match self
            .profiles
            .iter()
            .find(|p| p.name == fallback)
            .and_then(|p| p.region)
        {
            Some(r) => (Some(r.to_string()), format!("profile {fallback}")),
            None => (None, String::new()),
        }
    }

    fn push_account(
        &mut self,
        cache: CacheId,
        label: String,
        region: Option<String>,
        from: String,
    ) {
        if self.accounts.iter().any(|a| a.cache == cache) {
            return;
        }
        self.accounts.push(Account {
            cache,
            label,
            region,
            region_from: from,
        });
    }

    fn add_fixed(&mut self, label: &str, creds: Credentials, region: Option<&str>) -> CacheId {
        let seed = self.next_seed();
        let cache = CredentialCache::fixed(label, creds, region.unwrap_or(FALLBACK_REGION), seed);
        self.set.add(cache, None)
    }

    fn instance_cache(&mut self) -> CacheId {
        if let Some(id) = self.instance {
            return id;
        }
        let seed = self.next_seed();
        let id = self.set.add(
            CredentialCache::instance_role(self.imds.clone(), seed),
            None,
        );
        self.instance = Some(id);
        id
    }

    /// The cache of profile `name` (built once): its keys, or its role over its source.
    fn profile_cache(&mut self, name: &str, depth: usize) -> Result<CacheId, AccountsError> {
        if let Some(id) = self.by_profile.get(name) {
            return Ok(*id);
        }
        if depth > MAX_SOURCE_DEPTH {
            return Err(AccountsError::SourceLoop {
                name: name.to_string(),
            });
        }
        let p = self.profile(name, "source_profile")?.clone();
        let profile_error = |error| AccountsError::Profile {
            name: name.to_string(),
            error,
        };
        let (region, _) = self.region_for(Some(name));
        let id = match p.role_arn {
            Some(arn) => {
                let base = match (p.source_profile, p.credential_source) {
                    // A profile may sign its own role with its own keys (botocore allows it).
                    (Some(src), _) if src == name => {
                        let creds =
                            p.static_credentials()
                                .map_err(profile_error)?
                                .ok_or_else(|| {
                                    profile_error(CredentialError::Incomplete {
                                        source: format!("profile [{name}]"),
                                        missing: "aws_access_key_id",
                                    })
                                })?;
                        self.add_fixed(&format!("profile {name} keys"), creds, region.as_deref())
                    }
                    (Some(src), _) => self.profile_cache(src, depth + 1)?,
                    (None, Some(s)) if s.eq_ignore_ascii_case("Environment") => {
                        self.env_cache.ok_or_else(|| {
                            profile_error(CredentialError::Incomplete {
                                source: "environment (credential_source)".to_string(),
                                missing: "AWS_ACCESS_KEY_ID",
                            })
                        })?
                    }
                    (None, Some(s)) if s.eq_ignore_ascii_case("Ec2InstanceMetadata") => {
                        self.instance_cache()
                    }
                    (None, Some(s)) => {
                        return Err(AccountsError::UnsupportedSource {
                            profile: name.to_string(),
                            source: s.to_string(),
                        });
                    }
                    (None, None) => {
                        return Err(profile_error(CredentialError::BadConfig {
                            what: "role_arn without source_profile or credential_source",
                            value: arn.to_string(),
                            expected: "source_profile = NAME or credential_source = Environment|Ec2InstanceMetadata",
                        }));
                    }
                };
                let duration = match p.duration_seconds {
                    Some(s) => s
                        .parse::<u64>()
                        .map(std::time::Duration::from_secs)
                        .map_err(|_| {
                            profile_error(CredentialError::BadConfig {
                                what: "duration_seconds",
                                value: s.to_string(),
                                expected: "whole seconds from 900 to 43200",
                            })
                        })?,
                    None => self.cfg.session_duration,
                };
                self.roles += 1;
                let mut config = AssumeRoleConfig::new(
                    arn,
                    p.external_id,
                    duration,
                    self.roles,
                    region.as_deref().unwrap_or(FALLBACK_REGION),
                )
                .map_err(profile_error)?;
                if let Some(session) = p.role_session_name {
                    config = config.with_session_name(session).map_err(profile_error)?;
                }
                let seed = self.next_seed();
                self.set
                    .add(CredentialCache::assume_role(config, seed), Some(base))
            }
            None => {
                let creds = p
                    .static_credentials()
                    .map_err(profile_error)?
                    .ok_or_else(|| AccountsError::NoProfileCredentials {
                        name: name.to_string(),
                    })?;
                self.add_fixed(&format!("profile {name}"), creds, region.as_deref())
            }
        };
        self.by_profile.insert(name.to_string(), id);
        Ok(id)
    }

    /// The signer of `[aws] role`s: environment, else AWS_PROFILE's or the default profile,
    /// else the first profile account, else the instance role.
    fn role_base(&mut self) -> Result<(CacheId, Option<String>), AccountsError> {
        if let Some(id) = self.env_cache {
            return Ok((id, self.region_for(None).0));
        }
        let name = self
            .env
            .profile
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let found = self
            .profiles
            .iter()
            .find(|p| p.name == name)
            .is_some_and(is_usable);
        if found {
            let id = self.profile_cache(&name, 0)?;
            return Ok((id, self.region_for(Some(&name)).0));
        }
        if self.env.profile.is_some() {
            return Err(AccountsError::ProfileNotFound {
                name,
                wanted_by: "AWS_PROFILE".to_string(),
            });
        }
        // No default profile: the first profile account signs (a file with one profile).
        if let Some(a) = self
            .accounts
            .iter()
            .find(|a| a.label.starts_with("profile "))
        {
            return Ok((a.cache, a.region.clone()));
        }
        if self.env.imds_disabled {
            return Err(AccountsError::NoCredentials);
        }
        Ok((self.instance_cache(), self.region_for(None).0))
    }

    fn config_role(&mut self, arn: &str, external_id: Option<&str>) -> Result<(), AccountsError> {
        let (base, base_region) = self.role_base()?;
        let (region, from) = match self.env.region.clone() {
            Some(r) => (Some(r), "AWS_REGION".to_string()),
            None => {
                let from = self
                    .accounts
                    .iter()
                    .find(|a| a.cache == base)
                    .map_or_else(|| "its signer".to_string(), |a| a.region_from.clone());
                (base_region, from)
            }
        };
        self.roles += 1;
        let config = AssumeRoleConfig::new(
            arn,
            external_id,
            self.cfg.session_duration,
            self.roles,
            region.as_deref().unwrap_or(FALLBACK_REGION),
        )
        .map_err(|error| AccountsError::Role {
            arn: arn.to_string(),
            error,
        })?;
        let seed = self.next_seed();
        let id = self
            .set
            .add(CredentialCache::assume_role(config, seed), Some(base));
        let label = match external_id {
            Some(_) => format!("role {arn} (with external id)"),
            None => format!("role {arn}"),
        };
        self.push_account(id, label, region, from);
        Ok(())
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
