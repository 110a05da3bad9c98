//! STS (query protocol, `Version=2011-06-15`): AssumeRole and GetCallerIdentity.
//!
//! Requests are `POST /` form bodies (spec.md D.8); responses are XML under
//! `<{Op}Response><{Op}Result>`. Parsers borrow from the body (text with XML entities is the
//! only thing that gets copied). Errors come back as `<ErrorResponse>` and are decoded by
//! `aws::error::AwsError` with `Protocol::Query`.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use crate::aws::api::query::{self, FormBody};
use crate::aws::clock_skew;
use crate::aws::request::{ApiRequest, Service};
use crate::aws::xml::{self, XmlError};

/// The STS API version every request names.
pub const VERSION: &str = "2011-06-15";

/// AssumeRole `DurationSeconds` bounds (API reference: 900..=43200; the role's own maximum and
/// role chaining's 3600 s may cap it lower, which STS reports as a ValidationError).
pub const DURATION_MIN_SECS: u32 = 900;
pub const DURATION_MAX_SECS: u32 = 43_200;

/// AssumeRole `RoleSessionName`: 2..=64 characters of `[\w+=,.@-]`.
pub fn is_valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// AssumeRole `ExternalId`: 2..=1224 characters of `[\w+=,.@:/-]`.
pub fn is_valid_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumeRoleInput<'a> {
    pub role_arn: &'a str,
    pub role_session_name: &'a str,
    pub external_id: Option<&'a str>,
    pub duration_seconds: Option<u32>,
}

/// `AssumeRole`; fields in botocore's order, so the body matches its captures byte for byte.
pub fn assume_role(input: &AssumeRoleInput<'_>) -> ApiRequest {
    let mut f = FormBody::new("AssumeRole", VERSION);
    f.push("RoleArn", input.role_arn);
    f.push("RoleSessionName", input.role_session_name);
    if let Some(x) = input.external_id {
        f.push("ExternalId", x);
    }
    if let Some(d) = input.duration_seconds {
        f.push_u64("DurationSeconds", u64::from(d));
    }
    query::post(Service::Sts, "AssumeRole", f.finish())
}

/// `GetCallerIdentity` (no parameters).
pub fn get_caller_identity() -> ApiRequest {
    query::post(
        Service::Sts,
        "GetCallerIdentity",
        FormBody::new("GetCallerIdentity", VERSION).finish(),
    )
}

/// What a successful AssumeRole returns. Debug output redacts the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumeRoleOutput<'a> {
    pub access_key_id: Cow<'a, str>,
    pub secret_access_key: Cow<'a, str>,
    pub session_token: Cow<'a, str>,
    /// When the credentials expire.
    pub expiration: SystemTime,
    pub assumed_role_arn: Option<Cow<'a, str>>,
    pub assumed_role_id: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
}

impl fmt::Debug for AssumeRoleOutput<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleOutput")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expiration", &clock_skew::format_iso8601(self.expiration))
            .field("assumed_role_arn", &self.assumed_role_arn)
            .field("assumed_role_id", &self.assumed_role_id)
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// What GetCallerIdentity returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity<'a> {
    pub account: Cow<'a, str>,
    pub arn: Cow<'a, str>,
    pub user_id: Cow<'a, str>,
    pub request_id: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StsError {
    Xml {
        operation: &'static str,
        error: XmlError,
    },
    /// A required element is absent or empty.
    Missing {
        operation: &'static str,
        field: &'static str,
    },
    BadExpiration {
        value: String,
    },
}

impl fmt::Display for StsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StsError::Xml { operation, error } => write!(f, "STS {operation} response: {error}"),
            StsError::Missing { operation, field } => {
                write!(f, "STS {operation} response has no {field}")
            }
            StsError::BadExpiration { value } => write!(
                f,
                "STS AssumeRole response: unreadable Expiration {value:?}"
            ),
        }
    }
}

impl std::error::Error for StsError {}

pub fn parse_assume_role(body: &[u8]) -> Result<AssumeRoleOutput<'_>, StsError> {
    const OP: &str = "AssumeRole";
    let (mut akid, mut secret, mut token, mut expiration) = (None, None, None, None);
    let (mut arn, mut role_id, mut request_id) = (None, None, None);
    xml::for_each_leaf(body, |p, text| {
        if p.ends_with(&["AssumeRoleResult", "Credentials", "AccessKeyId"]) {
            akid = Some(text);
        } else if p.ends_with(&["AssumeRoleResult", "Credentials", "SecretAccessKey"]) {
            secret = Some(text);
        } else if p.ends_with(&["AssumeRoleResult", "Credentials", "SessionToken"]) {
            token = Some(text);
        } else if p.ends_with(&["AssumeRoleResult", "Credentials", "Expiration"]) {
            expiration = Some(text);
        } else if p.ends_with(&["AssumeRoleResult", "AssumedRoleUser", "Arn"]) {
            arn = Some(text);
        } else if p.ends_with(&["AssumeRoleResult", "AssumedRoleUser", "AssumedRoleId"]) {
            role_id = Some(text);
        } else if p.ends_with(&["ResponseMetadata", "RequestId"]) {
            request_id = Some(text);
        }
    })
    .map_err(|error| StsError::Xml {
        operation: OP,
        error,
    })?;
    let need = |v, field| need(v, OP, field);
    let access_key_id = need(akid, "AccessKeyId")?;
    let secret_access_key = need(secret, "SecretAccessKey")?;
    let session_token = need(token, "SessionToken")?;
    let expiration_text = need(expiration, "Expiration")?;
    let expiration =
        clock_skew::parse_iso8601(&expiration_text).ok_or_else(|| StsError::BadExpiration {
            value: expiration_text.to_string(),
        })?;
    Ok(AssumeRoleOutput {
        access_key_id,
        secret_access_key,
        session_token,
        expiration,
        assumed_role_arn: arn,
        assumed_role_id: role_id,
        request_id,
    })
}

pub fn parse_get_caller_identity(body: &[u8]) -> Result<CallerIdentity<'_>, StsError> {
    const OP: &str = "GetCallerIdentity";
    let (mut account, mut arn, mut user_id, mut request_id) = (None, None, None, None);
    xml::for_each_leaf(body, |p, text| {
        if p.ends_with(&["GetCallerIdentityResult", "Account"]) {
            account = Some(text);
        } else if p.ends_with(&["GetCallerIdentityResult", "Arn"]) {
            arn = Some(text);
        } else if p.ends_with(&["GetCallerIdentityResult", "UserId"]) {
            user_id = Some(text);
        } else if p.ends_with(&["ResponseMetadata", "RequestId"]) {
            request_id = Some(text);
        }
    })
    .map_err(|error| StsError::Xml {
        operation: OP,
        error,
    })?;
    let need = |v, field| need(v, OP, field);
    Ok(CallerIdentity {
        account: need(account, "Account")?,
        arn: need(arn, "Arn")?,
        user_id: user_id.unwrap_or(Cow::Borrowed("")),
        request_id,
    })
}

fn need<'a>(
    v: Option<Cow<'a, str>>,
    operation: &'static str,
    field: &'static str,
) -> Result<Cow<'a, str>, StsError> {
    v.filter(|s| !s.is_empty())
        .ok_or(StsError::Missing { operation, field })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::tests::parse_response;
    use std::time::{Duration, UNIX_EPOCH};

    const ASSUME_ROLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/sts_AssumeRole.response.txt"
    ));
    const ASSUME_ROLE_MOTO: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/moto_sts_AssumeRole.response.txt"
    ));
    const CALLER_MOTO: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/moto_sts_GetCallerIdentity.response.txt"
    ));

    #[test]
    fn builders_match_botocore_bodies() {
        let r = assume_role(&AssumeRoleInput {
            role_arn: "arn:aws:iam::210987654321:role/FlowReader",
            role_session_name: "vpcflow-agent",
            external_id: None,
            duration_seconds: None,
        });
        // samples/aws-api/sts_error_AccessDenied.request.txt (AssumeRole without optional fields).
        assert_eq!(
            r.body,
            &b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A210987654321%3Arole%2FFlowReader&RoleSessionName=vpcflow-agent"[..]
        );
        assert_eq!(
            (r.service, r.operation, r.method),
            (Service::Sts, "AssumeRole", "POST")
        );
        assert_eq!(
            get_caller_identity().body,
            b"Action=GetCallerIdentity&Version=2011-06-15"
        );
    }

    #[test]
    fn assume_role_sample_matches_botocore_parse() {
        let (_, _, body) = parse_response(ASSUME_ROLE);
        let out = parse_assume_role(body).expect("parses");
        assert_eq!(out.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(
            out.secret_access_key,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
        );
        assert_eq!(out.session_token, "IQoJb3JpZ2luX2VjEXAMPLETOKEN");
        assert_eq!(
            out.expiration,
            UNIX_EPOCH + Duration::from_secs(1_768_482_000)
        ); // 2026-01-15 13:00:00+00:00
        assert_eq!(
            out.assumed_role_arn.as_deref(),
            Some("arn:aws:sts::210987654321:assumed-role/FlowReader/vpcflow-agent")
        );
        assert_eq!(
            out.assumed_role_id.as_deref(),
            Some("AROA3XFRBF535PLBIFPI4:vpcflow-agent")
        );
        assert_eq!(
            out.request_id.as_deref(),
            Some("c6104cbe-af31-11e0-8154-cbc7ccf896c7")
        );
        assert!(matches!(out.secret_access_key, Cow::Borrowed(_)));
        let shown = format!("{out:?}");
        assert!(
            !shown.contains("EXAMPLEKEY") && !shown.contains("EXAMPLETOKEN"),
            "{shown}"
        );
        assert!(shown.contains("2026-01-15T13:00:00Z"));
    }

    #[test]
    fn moto_responses_parse() {
        let (_, _, body) = parse_response(ASSUME_ROLE_MOTO);
        let out = parse_assume_role(body).expect("parses");
        assert_eq!(out.access_key_id, "ASIATCH6YDSYTUTJMZIY");
        assert_eq!(
            out.expiration,
            clock_skew::parse_iso8601("2026-11-26T17:39:25.656650Z").expect("time")
        );
        assert_eq!(
            out.assumed_role_arn.as_deref(),
            Some("arn:aws:sts::210987654321:assumed-role/FlowReader/vpcflow-ipfix-1")
        );
        let (_, _, body) = parse_response(CALLER_MOTO);
        let id = parse_get_caller_identity(body).expect("parses");
        assert_eq!(
            (id.account.as_ref(), id.arn.as_ref()),
            ("123456789012", "arn:aws:sts::123456789012:user/moto")
        );
        assert_eq!(id.user_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            id.request_id.as_deref(),
            Some("1PqVPPU0LP9r09cqFb9zFRkCNi4A0m530FCAEBPdry8HcfrMTIkr")
        );
    }

    /// Every prefix of each body: either the same result as the whole (only trailing whitespace was
    /// cut) or an error; never a panic, never a different value.
    #[test]
    fn every_truncation_is_an_error_or_the_same() {
        for text in [ASSUME_ROLE, ASSUME_ROLE_MOTO] {
            let (_, _, body) = parse_response(text);
            let full = parse_assume_role(body).expect("full body parses");
            for cut in 0..body.len() {
                if let Ok(v) = parse_assume_role(&body[..cut]) {
                    assert_eq!(v, full, "cut at {cut}");
                    assert!(body[cut..].iter().all(u8::is_ascii_whitespace));
                }
            }
        }
        let (_, _, body) = parse_response(CALLER_MOTO);
        let full = parse_get_caller_identity(body).expect("full body parses");
        for cut in 0..body.len() {
            if let Ok(v) = parse_get_caller_identity(&body[..cut]) {
                assert_eq!(v, full, "cut at {cut}");
            }
        }
    }

    #[test]
    fn errors() {
        let missing = b"<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        assert_eq!(
            parse_assume_role(missing),
            Err(StsError::Missing {
                operation: "AssumeRole",
                field: "SecretAccessKey"
            })
        );
        let (_, _, error_body) = parse_response(include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/responses/sts_error_AccessDenied.response.txt"
        )));
        assert!(matches!(
            parse_assume_role(error_body),
            Err(StsError::Missing { .. })
        ));
        assert!(matches!(
            parse_get_caller_identity(b"not xml <"),
            Err(StsError::Xml { .. })
        ));
        assert_eq!(
            parse_get_caller_identity(
                b"<R><GetCallerIdentityResult><Arn>a</Arn></GetCallerIdentityResult></R>"
            )
            .map_err(|e| e.to_string()),
            Err("STS GetCallerIdentity response has no Account".to_string())
        );
    }

    #[test]
    fn input_validation() {
        assert!(is_valid_session_name("vpcflow-ipfix-1"));
        assert!(is_valid_session_name("a@b=c,d.e+f_g"));
        assert!(!is_valid_session_name("x"));
        assert!(!is_valid_session_name("has space"));
        assert!(!is_valid_session_name(&"a".repeat(65)));
        assert!(is_valid_external_id("ext-1234"));
        assert!(is_valid_external_id("arn:aws:x/y"));
        assert!(!is_valid_external_id("x"));
        assert!(!is_valid_external_id("bad id"));
    }
}
