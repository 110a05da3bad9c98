//! One configured STS AssumeRole: validated parameters, the request, and the credentials it
//! yields (spec.md D.8).
//!
//! The role comes from our config (`role = ARN[, EXTERNAL_ID]`, `session_duration`) or from an
//! AWS config profile (`role_arn`, `external_id`, `role_session_name`, `duration_seconds`). The
//! session name is `vpcflow-ipfix-<n>` unless the profile names one (botocore would use
//! `botocore-session-<epoch>`; a stable name makes CloudTrail entries easy to find).
//! The call is signed with a base source's credentials; see `cache` and `set`.

use std::time::Duration;

use crate::aws::api::sts::{self, AssumeRoleInput};
use crate::aws::credentials::{CredentialError, Credentials};
use crate::aws::request::ApiRequest;

/// Prefix of the `RoleSessionName` we send.
pub const SESSION_NAME_PREFIX: &str = "vpcflow-ipfix";

/// A validated AssumeRole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumeRoleConfig {
    role_arn: String,
    external_id: Option<String>,
    duration_secs: u32,
    session_name: String,
    region: String,
}

impl AssumeRoleConfig {
    /// `index` numbers the roles of one agent (`vpcflow-ipfix-<index>`); `region` is where the
    /// regional STS endpoint is called.
    pub fn new(
        role_arn: &str,
        external_id: Option<&str>,
        duration: Duration,
        index: usize,
        region: &str,
    ) -> Result<AssumeRoleConfig, CredentialError> {
        if account_of_role_arn(role_arn).is_none() || !(20..=2048).contains(&role_arn.len()) {
            return Err(CredentialError::BadConfig {
                what: "role ARN",
                value: role_arn.to_string(),
                expected: "arn:PARTITION:iam::ACCOUNT:role/NAME",
            });
        }
        if let Some(x) = external_id.filter(|x| !sts::is_valid_external_id(x)) {
            return Err(CredentialError::BadConfig {
                what: "external id",
                value: x.to_string(),
                expected: "2 to 1224 characters of [A-Za-z0-9_+=,.@:/-]",
            });
        }
        let secs = duration.as_secs();
        let in_range =
            (u64::from(sts::DURATION_MIN_SECS)..=u64::from(sts::DURATION_MAX_SECS)).contains(&secs);
        if !in_range || duration.subsec_nanos() != 0 {
            return Err(CredentialError::BadConfig {
                what: "session duration",
                value: format!("{secs}s"),
                expected: "whole seconds from 900 (15m) to 43200 (12h)",
            });
        }
        Ok(AssumeRoleConfig {
            role_arn: role_arn.to_string(),
            external_id: external_id.map(str::to_string),
            duration_secs: secs as u32,
            session_name: format!("{SESSION_NAME_PREFIX}-{index}"),
            region: region.to_string(),
        })
    }

    /// Uses a profile's `role_session_name` instead of `vpcflow-ipfix-<n>`.
    pub fn with_session_name(mut self, name: &str) -> Result<AssumeRoleConfig, CredentialError> {
        if !sts::is_valid_session_name(name) {
            return Err(CredentialError::BadConfig {
                what: "role session name",
                value: name.to_string(),
                expected: "2 to 64 characters of [A-Za-z0-9_+=,.@-]",
            });
        }
        self.session_name = name.to_string();
        Ok(self)
    }

    pub fn role_arn(&self) -> &str {
        &self.role_arn
    }

    pub fn session_name(&self) -> &str {
        &self.session_name
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs(u64::from(self.duration_secs))
    }

    /// The account the role belongs to (from its ARN).
    pub fn account_id(&self) -> &str {
        account_of_role_arn(&self.role_arn).unwrap_or("")
    }

    /// The unsigned AssumeRole request.
    pub fn request(&self) -> ApiRequest {
        sts::assume_role(&AssumeRoleInput {
            role_arn: &self.role_arn,
            role_session_name: &self.session_name,
            external_id: self.external_id.as_deref(),
            duration_seconds: Some(self.duration_secs),
        })
    }
}

/// `arn:aws:iam::210987654321:role/FlowReader` → `210987654321`.
pub fn account_of_role_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let ok = parts.next() == Some("arn")
        && parts.next().is_some_and(|p| !p.is_empty())
        && parts.next() == Some("iam")
        && parts.next() == Some("");
    let account = parts
        .next()
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))?;
    let resource = parts.next()?;
    (ok && resource
        .strip_prefix("role/")
        .is_some_and(|n| !n.is_empty()))
    .then_some(account)
}

/// Credentials from a successful AssumeRole body.
pub fn credentials_from_response(body: &[u8]) -> Result<Credentials, CredentialError> {
    let out = sts::parse_assume_role(body).map_err(CredentialError::StsBody)?;
    Ok(Credentials::new(
        &out.access_key_id,
        &out.secret_access_key,
        Some(out.session_token.into_owned()),
        Some(out.expiration),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::tests::parse_response;
    use std::time::UNIX_EPOCH;

    #[test]
    fn request_matches_the_botocore_capture() {
        let c = AssumeRoleConfig::new(
            "arn:aws:iam::210987654321:role/FlowReader",
            Some("ext-1234"),
            Duration::from_secs(3600),
            1,
            "us-east-1",
        )
        .expect("valid")
        .with_session_name("vpcflow-agent")
        .expect("valid name");
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/requests/sts_AssumeRole.request.txt"
        ));
        let body = text.split_once("\n\n").expect("body").1.trim_end();
        assert_eq!(c.request().body, body.as_bytes());
        assert_eq!(c.account_id(), "210987654321");
    }

    #[test]
    fn defaults_and_validation() {
        let c = AssumeRoleConfig::new(
            "arn:aws-cn:iam::999999999999:role/path/Role1",
            None,
            Duration::from_secs(900),
            3,
            "cn-north-1",
        )
        .expect("valid");
        assert_eq!(
            (c.session_name(), c.region(), c.account_id()),
            ("vpcflow-ipfix-3", "cn-north-1", "999999999999")
        );
        assert_eq!(c.duration(), Duration::from_secs(900));
        let body = String::from_utf8(c.request().body).expect("utf8");
        assert!(
            body.ends_with("&RoleSessionName=vpcflow-ipfix-3&DurationSeconds=900"),
            "{body}"
        );
        let bad = |arn: &str, x: Option<&str>, secs: u64| {
            AssumeRoleConfig::new(arn, x, Duration::from_secs(secs), 1, "us-east-1").is_err()
        };
        let arn = "arn:aws:iam::999999999999:role/Role1";
        assert!(bad(arn, None, 899));
        assert!(bad(arn, None, 43_201));
        assert!(!bad(arn, None, 43_200));
        assert!(bad(arn, Some("x"), 3600));
        assert!(bad("arn:aws:iam::99999999999:role/R", None, 3600));
        assert!(bad("arn:aws:iam::999999999999:user/R", None, 3600));
        assert!(bad("arn:aws:s3:::999999999999:role/R", None, 3600));
        assert!(bad("not an arn at all, long enough", None, 3600));
        assert!(
            AssumeRoleConfig::new(arn, None, Duration::from_millis(3_600_500), 1, "us-east-1")
                .is_err()
        );
        assert!(c.with_session_name("bad name").is_err());
    }

    #[test]
    fn credentials_from_the_sample() {
        let (_, _, body) = parse_response(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/responses/sts_AssumeRole.response.txt"
        )));
        let c = credentials_from_response(body).expect("parses");
        assert_eq!(c.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert!(c.is_temporary());
        assert_eq!(
            c.expires_at(),
            Some(UNIX_EPOCH + Duration::from_secs(1_768_482_000))
        );
        assert_eq!(
            c.sdk().session_token(),
            Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN")
        );
        assert!(matches!(
            credentials_from_response(b"<x/>"),
            Err(CredentialError::StsBody(_))
        ));
    }
}
