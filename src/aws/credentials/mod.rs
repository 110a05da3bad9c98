//! AWS credentials: the value type, where it comes from, and when it is refreshed.
//!
//! Sources (spec.md D.10/D.11; botocore `credentials.py`):
//! - static: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` values, or a
//!   profile of `~/.aws/credentials` (every profile is one account), see [`profile_files`];
//! - the EC2 instance role through IMDSv2, see [`imds`];
//! - STS AssumeRole, signed with a base source's credentials, see [`assume_role`].
//!
//! Everything here is sans-IO: a [`CredentialCache`] (one per account) says which call it needs
//! ([`CredentialCall`]: an unsigned STS `ApiRequest` plus the credentials to sign it with, or a
//! plain-HTTP IMDS request), the driver performs it and hands back a [`CallOutcome`]. A
//! [`CredentialSet`] holds the caches of all accounts and feeds each role its base credentials.
//!
//! Secrets never appear in `Debug` output; nothing here implements `Display` for them.

pub mod assume_role;
pub mod cache;
pub mod imds;
pub mod profile_files;
pub mod set;

use std::fmt;
use std::time::{Duration, SystemTime};

use ureq_proto::http::{Request, Response};

use crate::aws::api::imds::ImdsError;
use crate::aws::api::sts::StsError;
use crate::aws::clock_skew;
use crate::aws::error::AwsError;
use crate::aws::request::ApiRequest;
use crate::aws::retry::TransportFailure;

pub use cache::{CredentialCache, ForceRefresh};
pub use set::{CacheId, CredentialSet};

/// What aws-credential-types records as the provider name.
const PROVIDER_NAME: &str = "vpcflow-ipfix";

/// One set of AWS credentials. Cheap to clone (shared inside). `Debug` redacts the secret and
/// the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(aws_credential_types::Credentials);

impl Credentials {
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<String>,
        expires_at: Option<SystemTime>,
    ) -> Credentials {
        Credentials(aws_credential_types::Credentials::new(
            access_key_id,
            secret_access_key,
            session_token,
            expires_at,
            PROVIDER_NAME,
        ))
    }

    /// From the values of `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
    /// (the caller reads the environment). `Ok(None)` when neither key is set; empty values count
    /// as unset, as in botocore's `EnvProvider`.
    pub fn from_env_values(
        access_key_id: Option<&str>,
        secret_access_key: Option<&str>,
        session_token: Option<&str>,
    ) -> Result<Option<Credentials>, CredentialError> {
        fn set(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|s| !s.is_empty())
        }
        match (set(access_key_id), set(secret_access_key)) {
            (None, None) => Ok(None),
            (Some(a), Some(s)) => Ok(Some(Credentials::new(
                a,
                s,
                set(session_token).map(str::to_string),
                None,
            ))),
            (Some(_), None) => Err(CredentialError::Incomplete {
                source: "environment".to_string(),
                missing: "AWS_SECRET_ACCESS_KEY",
            }),
            (None, Some(_)) => Err(CredentialError::Incomplete {
                source: "environment".to_string(),
                missing: "AWS_ACCESS_KEY_ID",
            }),
        }
    }

    pub fn access_key_id(&self) -> &str {
        self.0.access_key_id()
    }

    /// Temporary credentials carry a session token (sent as `x-amz-security-token`).
    pub fn is_temporary(&self) -> bool {
        self.0.session_token().is_some()
    }

    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expiry()
    }

    /// The aws-credential-types value aws-sigv4 signs with.
    pub fn sdk(&self) -> &aws_credential_types::Credentials {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Credentials");
        d.field("access_key_id", &self.access_key_id())
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &if self.is_temporary() {
                    "** redacted **"
                } else {
                    "none"
                },
            );
        match self.expires_at() {
            Some(t) => d.field("expires_at", &clock_skew::format_iso8601(t)),
            None => d.field("expires_at", &"never"),
        };
        d.finish()
    }
}

/// A call a credential source needs the driver to make.
#[derive(Debug)]
pub enum CredentialCall {
    /// Sign `request` with `signer` for STS in `region` (regional endpoint) and send it.
    Sts {
        request: ApiRequest,
        region: String,
        signer: Credentials,
    },
    /// Send this plain-HTTP request (empty body) to IMDS; give up after `timeout`.
    Imds {
        request: Request<()>,
        timeout: Duration,
    },
}

/// How a [`CredentialCall`] ended.
#[derive(Clone, Copy, Debug)]
pub enum CallOutcome<'a> {
    Response {
        response: &'a Response<()>,
        body: &'a [u8],
    },
    Failed(TransportFailure),
}

/// Why credentials could not be obtained or used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialError {
    /// A key without its secret (or the reverse).
    Incomplete {
        source: String,
        missing: &'static str,
    },
    /// A configured value STS would refuse.
    BadConfig {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    /// STS answered with an error (boxed: it is large and rare).
    Sts(Box<AwsError>),
    /// An STS success body we could not read.
    StsBody(StsError),
    /// The call did not complete.
    Transport(TransportFailure),
    /// IMDS answered `status` to `step`.
    ImdsStatus { step: &'static str, status: u16 },
    /// IMDS answered 200 with a body we could not use.
    Imds(ImdsError),
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::Incomplete { source, missing } => write!(
                f,
                "credentials from {source} are incomplete: {missing} is missing"
            ),
            CredentialError::BadConfig {
                what,
                value,
                expected,
            } => write!(f, "{what} {value:?}: expected {expected}"),
            CredentialError::Sts(e) => write!(f, "STS: {e}"),
            CredentialError::StsBody(e) => write!(f, "{e}"),
            CredentialError::Transport(t) => write!(f, "credential request failed: {t:?}"),
            CredentialError::ImdsStatus { step, status } => match (step, status) {
                (&"token", 403..=405) => write!(
                    f,
                    "IMDSv2 token request refused (HTTP {status}): IMDS is disabled or IMDSv2 is unavailable on this instance"
                ),
                (&"role name", 404) => {
                    f.write_str("IMDS: no IAM role (instance profile) is attached to this instance")
                }
                _ => write!(f, "IMDS {step} request answered HTTP {status}"),
            },
            CredentialError::Imds(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CredentialError {}

/// Tests need one real `Instant` to build a virtual clock on; the driver's clock is the only
/// place that reads it.
#[cfg(test)]
pub(crate) fn test_epoch() -> std::time::Instant {
    crate::driver::clock::Now::read().mono
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::new(
            "ASIAIOSFODNN7EXAMPLE",
            SECRET,
            Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN".to_string()),
            Some(UNIX_EPOCH + Duration::from_secs(1_768_482_000)),
        );
        let shown = format!("{c:?}");
        assert_eq!(
            shown,
            r#"Credentials { access_key_id: "ASIAIOSFODNN7EXAMPLE", secret_access_key: "** redacted **", session_token: "** redacted **", expires_at: "2026-01-15T13:00:00Z" }"#
        );
        let call = CredentialCall::Sts {
            request: crate::aws::api::sts::get_caller_identity(),
            region: "us-east-1".to_string(),
            signer: c,
        };
        let shown = format!("{call:?}");
        assert!(
            !shown.contains(SECRET) && !shown.contains("EXAMPLETOKEN"),
            "{shown}"
        );
    }

    #[test]
    fn env_values() {
        assert_eq!(Credentials::from_env_values(None, None, None), Ok(None));
        assert_eq!(
            Credentials::from_env_values(Some(""), Some(" "), None),
            Ok(None)
        );
        let c = Credentials::from_env_values(Some("AKIDEXAMPLE"), Some(SECRET), Some(""))
            .expect("ok")
            .expect("some");
        assert_eq!(c.access_key_id(), "AKIDEXAMPLE");
        assert!(!c.is_temporary());
        let c = Credentials::from_env_values(Some("ASIA"), Some(SECRET), Some("tok"))
            .expect("ok")
            .expect("some");
        assert!(c.is_temporary());
        let e =
            Credentials::from_env_values(Some("AKIDEXAMPLE"), None, None).expect_err("incomplete");
        assert_eq!(
            e.to_string(),
            "credentials from environment are incomplete: AWS_SECRET_ACCESS_KEY is missing"
        );
    }
}
