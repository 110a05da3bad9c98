//! Profiles from `~/.aws/credentials` and `~/.aws/config` (spec.md D.11; botocore
//! `configloader.py` / `credentials.py` `SharedCredentialProvider`, `ConfigProvider`).
//!
//! - credentials file: section = bare profile name (`[default]`, `[collector]`);
//! - config file: `[default]` and `[profile NAME]` (a bare `[NAME]` other than default is
//!   ignored, as botocore does);
//! - for the same profile, keys from the credentials file win.
//!
//! The caller reads both files (and their mode bits) and parses them with `config::ini`; nothing
//! here touches the file system.

use std::fmt;

use crate::aws::credentials::{CredentialError, Credentials};
use crate::config::ini::{Ini, Section};

/// One named profile, merged from both files. `Debug` redacts the secret and the token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profile<'a> {
    pub name: &'a str,
    pub access_key_id: Option<&'a str>,
    pub secret_access_key: Option<&'a str>,
    pub session_token: Option<&'a str>,
    pub region: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    pub source_profile: Option<&'a str>,
    pub credential_source: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub role_session_name: Option<&'a str>,
    pub duration_seconds: Option<&'a str>,
    /// Line of the profile's section in the credentials file, else in the config file.
    pub line: usize,
}

impl fmt::Debug for Profile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: Option<&str>| v.map(|_| "** redacted **");
        f.debug_struct("Profile")
            .field("name", &self.name)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact(self.secret_access_key))
            .field("session_token", &redact(self.session_token))
            .field("region", &self.region)
            .field("role_arn", &self.role_arn)
            .field("source_profile", &self.source_profile)
            .field("credential_source", &self.credential_source)
            .field("external_id", &self.external_id)
            .field("role_session_name", &self.role_session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("line", &self.line)
            .finish()
    }
}

impl Profile<'_> {
    /// The profile's own keys as credentials: `Ok(None)` when it has none (a role-only
    /// profile), an error when only one of the key pair is there.
    pub fn static_credentials(&self) -> Result<Option<Credentials>, CredentialError> {
        let source = || format!("profile [{}] (line {})", self.name, self.line);
        match (self.access_key_id, self.secret_access_key) {
            (None, None) => Ok(None),
            (Some(a), Some(s)) => Ok(Some(Credentials::new(
                a,
                s,
                self.session_token.map(str::to_string),
                None,
            ))),
            (Some(_), None) => Err(CredentialError::Incomplete {
                source: source(),
                missing: "aws_secret_access_key",
            }),
            (None, Some(_)) => Err(CredentialError::Incomplete {
                source: source(),
                missing: "aws_access_key_id",
            }),
        }
    }
}

/// All profiles: the credentials file's in file order, then config-only ones in file order.
pub fn profiles<'a>(credentials: Option<&Ini<'a>>, config: Option<&Ini<'a>>) -> Vec<Profile<'a>> {
    let mut out: Vec<Profile<'a>> = Vec::new();
    for s in credentials.map_or(&[][..], |i| &i.sections[..]) {
        if s.name.is_empty() {
            continue;
        }
        let p = find_or_push(&mut out, s.name, s.line);
        apply(p, s);
    }
    for s in config.map_or(&[][..], |i| &i.sections[..]) {
        let name = if s.name == "default" {
            "default"
        } else if let Some(n) = s.name.strip_prefix("profile ") {
            n.trim()
        } else {
            continue;
        };
        let existed = out.iter().any(|p| p.name == name);
        let p = find_or_push(&mut out, name, s.line);
        let mut from_config = Profile::default();
        apply(&mut from_config, s);
        // Credentials-file values win; the config fills in what is missing.
        let keep = |mine: &mut Option<&'a str>, theirs: Option<&'a str>| {
            if mine.is_none() {
                *mine = theirs;
            }
        };
        keep(&mut p.access_key_id, from_config.access_key_id);
        keep(&mut p.secret_access_key, from_config.secret_access_key);
        keep(&mut p.session_token, from_config.session_token);
        keep(&mut p.region, from_config.region);
        keep(&mut p.role_arn, from_config.role_arn);
        keep(&mut p.source_profile, from_config.source_profile);
        keep(&mut p.credential_source, from_config.credential_source);
        keep(&mut p.external_id, from_config.external_id);
        keep(&mut p.role_session_name, from_config.role_session_name);
        keep(&mut p.duration_seconds, from_config.duration_seconds);
        if !existed {
            p.line = s.line;
        }
    }
    out
}

fn find_or_push<'p, 'a>(
    out: &'p mut Vec<Profile<'a>>,
    name: &'a str,
    line: usize,
) -> &'p mut Profile<'a> {
    let i = match out.iter().position(|p| p.name == name) {
        Some(i) => i,
        None => {
            out.push(Profile {
                name,
                line,
                ..Profile::default()
            });
            out.len() - 1
        }
    };
    &mut out[i]
}

fn apply<'a>(p: &mut Profile<'a>, s: &Section<'a>) {
    let non_empty = |k: &str| s.get(k).filter(|v| !v.is_empty());
    let set = |slot: &mut Option<&'a str>, v: Option<&'a str>| {
        if v.is_some() {
            *slot = v;
        }
    };
    set(&mut p.access_key_id, non_empty("aws_access_key_id"));
    set(&mut p.secret_access_key, non_empty("aws_secret_access_key"));
    set(&mut p.session_token, non_empty("aws_session_token"));
    set(&mut p.region, non_empty("region"));
    set(&mut p.role_arn, non_empty("role_arn"));
    set(&mut p.source_profile, non_empty("source_profile"));
    set(&mut p.credential_source, non_empty("credential_source"));
    set(&mut p.external_id, non_empty("external_id"));
    set(&mut p.role_session_name, non_empty("role_session_name"));
    set(&mut p.duration_seconds, non_empty("duration_seconds"));
}

/// A credentials file that group or others can read (or write).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileModeWarning {
    pub path: String,
    pub mode: u32,
}

impl fmt::Display for FileModeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} holds secret keys but its mode is {:04o}: group or others can access it (run `chmod 600 {}`)",
            self.path,
            self.mode & 0o7777,
            self.path
        )
    }
}

/// Checks `st_mode` bits of a file with secrets (the caller stats it): any group/other bit
/// is a warning, as ssh does for private keys.
pub fn check_file_mode(path: &str, mode: u32) -> Option<FileModeWarning> {
    (mode & 0o077 != 0).then(|| FileModeWarning {
        path: path.to_string(),
        mode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ini;

    const CREDENTIALS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/misc/aws-credentials.ini"
    ));
    const CONFIG: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/misc/aws-config.ini"
    ));

    #[test]
    fn samples_merge() {
        let creds = ini::parse(CREDENTIALS).expect("credentials parse");
        let config = ini::parse(CONFIG).expect("config parses");
        let ps = profiles(Some(&creds), Some(&config));
        let names: Vec<_> = ps.iter().map(|p| (p.name, p.line)).collect();
        assert_eq!(names, [("default", 2), ("collector", 6), ("crossacct", 9)]);
        let default = &ps[0];
        assert_eq!(default.access_key_id, Some("AKIDEXAMPLE"));
        assert_eq!(default.region, Some("us-east-1"));
        let collector = &ps[1];
        assert_eq!(collector.region, Some("eu-west-1"));
        assert_eq!(
            collector.session_token,
            Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN")
        );
        let c = collector.static_credentials().expect("ok").expect("some");
        assert_eq!(c.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert!(c.is_temporary());
        let x = &ps[2];
        assert_eq!(
            x.role_arn,
            Some("arn:aws:iam::210987654321:role/FlowReader")
        );
        assert_eq!(x.source_profile, Some("collector"));
        assert_eq!(x.external_id, Some("ext-1234"));
        assert_eq!(x.role_session_name, Some("vpcflow-agent"));
        assert_eq!(x.duration_seconds, Some("3600"));
        assert_eq!(x.region, Some("us-west-2"));
        assert_eq!(x.static_credentials(), Ok(None));
        let shown = format!("{ps:?}");
        assert!(
            !shown.contains("EXAMPLEKEY") && !shown.contains("EXAMPLETOKEN"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_file_wins_and_bare_config_sections_are_ignored() {
        let creds = ini::parse("[p]\naws_access_key_id = FROM_CREDS\naws_secret_access_key = s1\n")
            .expect("parses");
        let config = ini::parse(
            "[profile p]\naws_access_key_id = FROM_CONFIG\nregion = eu-north-1\n[q]\nregion = x\n",
        )
        .expect("parses");
        let ps = profiles(Some(&creds), Some(&config));
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].access_key_id, Some("FROM_CREDS"));
        assert_eq!(ps[0].region, Some("eu-north-1"));
        assert_eq!(profiles(None, None), []);
    }

    #[test]
    fn half_a_key_pair_is_an_error() {
        let creds = ini::parse("[a]\naws_access_key_id = AKID\n").expect("parses");
        let ps = profiles(Some(&creds), None);
        let e = ps[0].static_credentials().expect_err("incomplete");
        assert_eq!(
            e.to_string(),
            "credentials from profile [a] (line 1) are incomplete: aws_secret_access_key is missing"
        );
    }

    #[test]
    fn file_modes() {
        assert_eq!(check_file_mode("/root/.aws/credentials", 0o100600), None);
        assert_eq!(check_file_mode("/root/.aws/credentials", 0o100400), None);
        let w = check_file_mode("/root/.aws/credentials", 0o100644).expect("warning");
        assert_eq!(
            w.to_string(),
            "/root/.aws/credentials holds secret keys but its mode is 0644: group or others can access it (run `chmod 600 /root/.aws/credentials`)"
        );
        assert!(check_file_mode("c", 0o640).is_some());
        assert!(check_file_mode("c", 0o602).is_some());
    }
}
