//! EC2 Instance Metadata Service v2: request builders and parsers (spec.md D.10; botocore
//! `utils.py` `IMDSFetcher` / `InstanceMetadataFetcher`; exchange in
//! `samples/misc/imds-v2-exchange.txt`).
//!
//! 1. `PUT /latest/api/token` with `x-aws-ec2-metadata-token-ttl-seconds` → the token (body).
//! 2. `GET /latest/meta-data/iam/security-credentials/` → the role name (first line).
//! 3. `GET /latest/meta-data/iam/security-credentials/<role>` → credentials JSON, which can be a
//!    200 carrying `Code`/`Message` instead of credentials.
//! 4. `GET /latest/dynamic/instance-identity/document` → account id and region.
//!
//! Every GET carries `x-aws-ec2-metadata-token`. IMDS is plain HTTP on a link-local address;
//! the base URL is a parameter so tests can point it at a local server. IMDSv1 (no token) is
//! never used.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use ureq_proto::http::{HeaderValue, Request};

use crate::aws::clock_skew;

/// botocore `IMDSFetcher` default endpoint.
pub const DEFAULT_BASE_URL: &str = "http://169.254.169.254";
/// botocore `_TOKEN_TTL` (the maximum IMDS accepts: 1..=21600 s).
pub const TOKEN_TTL: Duration = Duration::from_secs(21_600);
/// botocore `DEFAULT_METADATA_SERVICE_TIMEOUT` (1 s): the driver's deadline for each IMDS call.
pub const TIMEOUT: Duration = Duration::from_secs(1);

const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const IDENTITY_PATH: &str = "/latest/dynamic/instance-identity/document";
const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";

/// Where IMDS is: `http://host[:port]` (no path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImdsBase {
    authority: String,
}

impl Default for ImdsBase {
    fn default() -> Self {
        ImdsBase {
            authority: "169.254.169.254".to_string(),
        }
    }
}

impl ImdsBase {
    /// `http://169.254.169.254`, `http://[fd00:ec2::254]`, or a test server's `http://127.0.0.1:PORT`.
    pub fn parse(url: &str) -> Result<ImdsBase, ImdsError> {
        let bad = || ImdsError::BadBaseUrl {
            url: url.to_string(),
        };
        let authority = url
            .strip_prefix("http://")
            .ok_or_else(bad)?
            .trim_end_matches('/');
        let ok = !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        if !ok {
            return Err(bad());
        }
        Ok(ImdsBase {
            authority: authority.to_string(),
        })
    }

    /// `host[:port]` as it goes into the `Host` header.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
    ) -> Result<Request<()>, ImdsError> {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.authority))
            .header("host", self.authority.as_str());
        if let Some(t) = token {
            let mut v = HeaderValue::from_str(t).map_err(|_| ImdsError::BadToken)?;
            v.set_sensitive(true);
            b = b.header(TOKEN_HEADER, v);
        }
        if method == "PUT" {
            b = b.header("content-length", "0");
        }
        b.body(()).map_err(|_| ImdsError::BadBaseUrl {
            url: self.authority.clone(),
        })
    }
}

/// Step 1: `PUT /latest/api/token` asking for a token that lives `ttl` (clamped to 1..=21600 s).
pub fn token_request(base: &ImdsBase, ttl: Duration) -> Result<Request<()>, ImdsError> {
    let secs = ttl.as_secs().clamp(1, TOKEN_TTL.as_secs());
    let mut r = base.request("PUT", TOKEN_PATH, None)?;
    r.headers_mut().insert(TTL_HEADER, HeaderValue::from(secs));
    Ok(r)
}

/// Step 2: the name of the instance profile's role.
pub fn role_name_request(base: &ImdsBase, token: &str) -> Result<Request<()>, ImdsError> {
    base.request("GET", CREDENTIALS_PATH, Some(token))
}

/// Step 3: the role's credentials.
pub fn credentials_request(
    base: &ImdsBase,
    token: &str,
    role: &str,
) -> Result<Request<()>, ImdsError> {
    if !is_valid_role_name(role) {
        return Err(ImdsError::BadRoleName);
    }
    base.request("GET", &format!("{CREDENTIALS_PATH}{role}"), Some(token))
}

/// Step 4: the instance identity document.
pub fn identity_document_request(base: &ImdsBase, token: &str) -> Result<Request<()>, ImdsError> {
    base.request("GET", IDENTITY_PATH, Some(token))
}

/// IAM role names: 1..=64 characters of `[\w+=,.@-]`.
fn is_valid_role_name(role: &str) -> bool {
    (1..=64).contains(&role.len())
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// The token from step 1's body (printable ASCII, it goes into a header).
pub fn parse_token(body: &[u8]) -> Result<&str, ImdsError> {
    let t = std::str::from_utf8(body)
        .map_err(|_| ImdsError::BadToken)?
        .trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ImdsError::BadToken);
    }
    Ok(t)
}

/// The role name from step 2's body: its first line.
pub fn parse_role_name(body: &[u8]) -> Result<&str, ImdsError> {
    let text = std::str::from_utf8(body).map_err(|_| ImdsError::BadRoleName)?;
    let role = text.lines().next().unwrap_or("").trim();
    if !is_valid_role_name(role) {
        return Err(ImdsError::BadRoleName);
    }
    Ok(role)
}

/// Step 3's credentials. Debug output redacts the secret and the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ImdsCredentials<'a> {
    pub access_key_id: Cow<'a, str>,
    pub secret_access_key: Cow<'a, str>,
    pub token: Cow<'a, str>,
    pub expiration: SystemTime,
}

impl fmt::Debug for ImdsCredentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImdsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("token", &"** redacted **")
            .field("expiration", &clock_skew::format_iso8601(self.expiration))
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawCredentials<'a> {
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    secret_access_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    token: Option<Cow<'a, str>>,
    #[serde(borrow)]
    expiration: Option<Cow<'a, str>>,
}

pub fn parse_credentials(body: &[u8]) -> Result<ImdsCredentials<'_>, ImdsError> {
    let raw: RawCredentials<'_> = serde_json::from_slice(body).map_err(|e| ImdsError::Json {
        what: "credentials",
        reason: e.to_string(),
    })?;
    if let Some(code) = raw.code.as_deref().filter(|c| *c != "Success") {
        return Err(ImdsError::Service {
            code: code.to_string(),
            message: raw.message.map(Cow::into_owned).unwrap_or_default(),
        });
    }
    // botocore `_REQUIRED_CREDENTIAL_FIELDS`.
    fn need<'a>(v: Option<Cow<'a, str>>, field: &'static str) -> Result<Cow<'a, str>, ImdsError> {
        v.filter(|s| !s.is_empty())
            .ok_or(ImdsError::Missing { field })
    }
    let expiration_text = need(raw.expiration, "Expiration")?;
    Ok(ImdsCredentials {
        access_key_id: need(raw.access_key_id, "AccessKeyId")?,
        secret_access_key: need(raw.secret_access_key, "SecretAccessKey")?,
        token: need(raw.token, "Token")?,
        expiration: clock_skew::parse_iso8601(&expiration_text).ok_or_else(|| {
            ImdsError::BadExpiration {
                value: expiration_text.to_string(),
            }
        })?,
    })
}

/// The parts of the instance identity document the agent uses.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityDocument<'a> {
    #[serde(borrow)]
    pub account_id: Cow<'a, str>,
    #[serde(borrow)]
    pub region: Cow<'a, str>,
    #[serde(borrow, default)]
    pub availability_zone: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub instance_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub instance_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub private_ip: Option<Cow<'a, str>>,
}

pub fn parse_identity_document(body: &[u8]) -> Result<IdentityDocument<'_>, ImdsError> {
    serde_json::from_slice(body).map_err(|e| ImdsError::Json {
        what: "identity document",
        reason: e.to_string(),
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImdsError {
    BadBaseUrl {
        url: String,
    },
    /// The token is empty or not printable ASCII.
    BadToken,
    /// The role name is empty or has characters IAM does not allow.
    BadRoleName,
    Json {
        what: &'static str,
        reason: String,
    },
    /// A 200 whose JSON says `Code` ≠ `Success` (e.g. EC2 is not a trusted entity of the role).
    Service {
        code: String,
        message: String,
    },
    Missing {
        field: &'static str,
    },
    BadExpiration {
        value: String,
    },
}

impl fmt::Display for ImdsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImdsError::BadBaseUrl { url } => {
                write!(f, "invalid IMDS URL {url:?}: expected http://HOST[:PORT]")
            }
            ImdsError::BadToken => f.write_str("IMDS returned an unusable session token"),
            ImdsError::BadRoleName => f.write_str(
                "IMDS returned no usable IAM role name (is an instance profile attached?)",
            ),
            ImdsError::Json { what, reason } => write!(f, "IMDS {what}: malformed JSON: {reason}"),
            ImdsError::Service { code, message } => {
                write!(f, "IMDS credentials error {code}: {message}")
            }
            ImdsError::Missing { field } => write!(f, "IMDS credentials lack {field}"),
            ImdsError::BadExpiration { value } => {
                write!(f, "IMDS credentials: unreadable Expiration {value:?}")
            }
        }
    }
}

impl std::error::Error for ImdsError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const TOKEN: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/imds/token.body"
    ));
    const ROLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/imds/role-name.body"
    ));
    const CREDS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/imds/credentials.json"
    ));
    const IDENTITY: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/imds/identity-document.json"
    ));

    fn header<'r>(r: &'r Request<()>, name: &str) -> Option<&'r str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn requests_match_the_recorded_exchange() {
        let base = ImdsBase::default();
        let t = token_request(&base, TOKEN_TTL).expect("token req");
        assert_eq!(
            (t.method().as_str(), t.uri().to_string().as_str()),
            ("PUT", "http://169.254.169.254/latest/api/token")
        );
        assert_eq!(header(&t, "host"), Some("169.254.169.254"));
        assert_eq!(
            header(&t, "x-aws-ec2-metadata-token-ttl-seconds"),
            Some("21600")
        );
        assert_eq!(header(&t, "content-length"), Some("0"));
        let token = parse_token(TOKEN).expect("token");
        assert_eq!(
            token,
            "AQAEAEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE=="
        );
        let r = role_name_request(&base, token).expect("role req");
        assert_eq!(
            r.uri().path(),
            "/latest/meta-data/iam/security-credentials/"
        );
        assert_eq!(header(&r, "x-aws-ec2-metadata-token"), Some(token));
        assert!(
            r.headers()
                .get("x-aws-ec2-metadata-token")
                .is_some_and(HeaderValue::is_sensitive)
        );
        let role = parse_role_name(ROLE).expect("role");
        assert_eq!(role, "vpcflow-agent-role");
        let c = credentials_request(&base, token, role).expect("creds req");
        assert_eq!(
            c.uri().path(),
            "/latest/meta-data/iam/security-credentials/vpcflow-agent-role"
        );
        let d = identity_document_request(&base, token).expect("doc req");
        assert_eq!(d.uri().path(), "/latest/dynamic/instance-identity/document");
        assert_eq!(
            token_request(&base, Duration::from_secs(99_999))
                .ok()
                .as_ref()
                .and_then(|r| header(r, TTL_HEADER)),
            Some("21600")
        );
    }

    #[test]
    fn base_url_override() {
        let b = ImdsBase::parse("http://127.0.0.1:8111/").expect("parses");
        assert_eq!(b.authority(), "127.0.0.1:8111");
        let r = token_request(&b, TOKEN_TTL).expect("req");
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:8111/latest/api/token"
        );
        assert_eq!(
            ImdsBase::parse("http://[fd00:ec2::254]")
                .expect("v6")
                .authority(),
            "[fd00:ec2::254]"
        );
        for bad in [
            "https://169.254.169.254",
            "http://",
            "http://a/b",
            "169.254.169.254",
        ] {
            assert!(ImdsBase::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_and_identity_parse() {
        let c = parse_credentials(CREDS).expect("parses");
        assert_eq!(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(
            c.secret_access_key,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(c.token, "IQoJb3JpZ2luX2VjEXAMPLETOKEN");
        assert_eq!(
            c.expiration,
            UNIX_EPOCH + Duration::from_secs(1_768_499_736)
        ); // 2026-01-15T17:55:36Z
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("EXAMPLEKEY") && !shown.contains("EXAMPLETOKEN"),
            "{shown}"
        );
        let d = parse_identity_document(IDENTITY).expect("parses");
        assert_eq!(
            (d.account_id.as_ref(), d.region.as_ref()),
            ("123456789012", "us-east-1")
        );
        assert_eq!(d.availability_zone.as_deref(), Some("us-east-1a"));
        assert_eq!(d.instance_id.as_deref(), Some("i-0123456789abcdef0"));
        assert_eq!(d.private_ip.as_deref(), Some("10.0.1.5"));
    }

    #[test]
    fn every_truncation_is_an_error_or_the_same() {
        let full = parse_credentials(CREDS).expect("full");
        for cut in 0..CREDS.len() {
            if let Ok(v) = parse_credentials(&CREDS[..cut]) {
                assert_eq!(v, full, "cut at {cut}");
            }
        }
        let full = parse_identity_document(IDENTITY).expect("full");
        for cut in 0..IDENTITY.len() {
            if let Ok(v) = parse_identity_document(&IDENTITY[..cut]) {
                assert_eq!(v, full, "cut at {cut}");
            }
        }
        for cut in 0..TOKEN.len() {
            // A cut token is still a token (IMDS bodies have no framing of their own); no panic.
            assert_eq!(parse_token(&TOKEN[..cut]).is_ok(), cut > 0);
        }
    }

    #[test]
    fn error_bodies() {
        // botocore: "IMDS can return a 200 response that has a JSON formatted error message".
        let e = parse_credentials(br#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role","LastUpdated":"2026-01-15T11:39:16Z"}"#);
        assert_eq!(
            e,
            Err(ImdsError::Service {
                code: "AssumeRoleUnauthorizedAccess".to_string(),
                message: "EC2 cannot assume the role".to_string()
            })
        );
        assert_eq!(
            parse_credentials(br#"{"Code":"Success","AccessKeyId":"A"}"#),
            Err(ImdsError::Missing {
                field: "Expiration"
            })
        );
        assert!(matches!(
            parse_credentials(b"<html>"),
            Err(ImdsError::Json { .. })
        ));
        assert_eq!(parse_role_name(b""), Err(ImdsError::BadRoleName));
        assert_eq!(parse_role_name(b"../etc"), Err(ImdsError::BadRoleName));
        assert_eq!(parse_token(b"a\nb"), Err(ImdsError::BadToken));
        assert!(credentials_request(&ImdsBase::default(), "t", "a/b").is_err());
    }
}
