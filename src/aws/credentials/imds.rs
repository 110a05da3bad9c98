//! The instance-role fetch as a step machine over IMDSv2 (the calls are in `aws::api::imds`).
//!
//! ```text
//!  fetch ──► token stale? ──yes──► PUT token ──200──┐
//!              │ no                                  │
//!              ▼                                     ▼
//!          role known? ──no──► GET role name ──200──► GET credentials ──200──┐
//!              │ yes                                  ▲                      │
//!              └──────────────────────────────────────┘      identity known? ─yes─► Done(creds)
//!                                                                    │ no
//!                                                                    ▼
//!                                                     GET identity document ──any──► Done(creds)
//!  401 on a GET: the token expired → drop it, take one new token, continue (once per fetch).
//!  404 on the credentials GET: the instance profile's role changed → rediscover it (once).
//!  PUT 403/404/405: IMDSv2 is off (no IMDSv1 fallback) → Failed, not retryable.
//!  Transport failures and 5xx → Failed, retryable.
//! ```
//! The token lives [`imds::TOKEN_TTL`] (6 h) and is renewed [`TOKEN_RENEW_MARGIN`] before that.
//! The identity document (account id, region) is read once; its failure never blocks credentials.

use std::time::{Duration, Instant};

use ureq_proto::http::Request;

use crate::aws::api::imds::{self, ImdsBase};
use crate::aws::credentials::{CallOutcome, CredentialError, Credentials};

/// Renew the IMDS token this long before its TTL runs out.
pub const TOKEN_RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Which IMDS call is outstanding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImdsStep {
    Token,
    RoleName,
    Credentials,
    IdentityDocument,
}

/// What a response did to the fetch.
#[derive(Debug)]
pub enum StepResult {
    /// Ask [`ImdsFetcher::next_call`] for the next call.
    Continue,
    Done(Credentials),
    Failed {
        error: CredentialError,
        retryable: bool,
    },
}

struct Token {
    value: String,
    renew_at: Instant,
}

/// IMDSv2 state that outlives one fetch: token, role name, identity.
pub struct ImdsFetcher {
    base: ImdsBase,
    token: Option<Token>,
    role: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    /// Credentials read, waiting for the identity document.
    pending: Option<Credentials>,
    /// One recovery (new token or role rediscovery) per fetch.
    recovered: bool,
}

impl std::fmt::Debug for ImdsFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImdsFetcher")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "** redacted **"))
            .field("role", &self.role)
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl ImdsFetcher {
    pub fn new(base: ImdsBase) -> ImdsFetcher {
        ImdsFetcher {
            base,
            token: None,
            role: None,
            account_id: None,
            region: None,
            pending: None,
            recovered: false,
        }
    }

    /// Account id from the identity document, once read.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    /// The instance's region from the identity document, once read.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The instance profile's role name, once discovered.
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    /// Starts a new credentials fetch.
    pub fn begin(&mut self) {
        self.pending = None;
        self.recovered = false;
    }

    /// The next call of the current fetch.
    pub fn next_call(&mut self, now: Instant) -> Result<(ImdsStep, Request<()>), CredentialError> {
        let token = match &self.token {
            Some(t) if now < t.renew_at => t.value.as_str(),
            _ => {
                let r = imds::token_request(&self.base, imds::TOKEN_TTL)
                    .map_err(CredentialError::Imds)?;
                return Ok((ImdsStep::Token, r));
            }
        };
        let r = match (&self.role, &self.pending) {
            (None, _) => (
                ImdsStep::RoleName,
                imds::role_name_request(&self.base, token),
            ),
            (Some(_), Some(_)) => (
                ImdsStep::IdentityDocument,
                imds::identity_document_request(&self.base, token),
            ),
            (Some(role), None) => (
                ImdsStep::Credentials,
                imds::credentials_request(&self.base, token, role),
            ),
        };
        Ok((r.0, r.1.map_err(CredentialError::Imds)?))
    }

    /// Feeds the outcome of `step`'s call.
    pub fn handle(&mut self, step: ImdsStep, outcome: CallOutcome<'_>, now: Instant) -> StepResult {
        let (status, body) = match outcome {
            CallOutcome::Failed(t) => {
                if step == ImdsStep::IdentityDocument {
                    return self.finish_without_identity();
                }
                return failed(CredentialError::Transport(t), true);
            }
            CallOutcome::Response { response, body } => (response.status().as_u16(), body),
        };
        let step_name = match step {
            ImdsStep::Token => "token",
            ImdsStep::RoleName => "role name",
            ImdsStep::Credentials => "credentials",
            ImdsStep::IdentityDocument => "identity document",
        };
        if status != 200 {
            if step == ImdsStep::IdentityDocument {
                return self.finish_without_identity();
            }
            let recover = match (step, status) {
                (ImdsStep::RoleName | ImdsStep::Credentials, 401) => Some(Recovery::NewToken),
                (ImdsStep::Credentials, 404) => Some(Recovery::Rediscover),
                _ => None,
            };
            if let Some(how) = recover.filter(|_| !self.recovered) {
                self.recovered = true;
                match how {
                    Recovery::NewToken => self.token = None,
                    Recovery::Rediscover => self.role = None,
                }
                return StepResult::Continue;
            }
            let retryable =
                status >= 500 || status == 401 || (step == ImdsStep::Credentials && status == 404);
            return failed(
                CredentialError::ImdsStatus {
                    step: step_name,
                    status,
                },
                retryable,
            );
        }
        match step {
            ImdsStep::Token => match imds::parse_token(body) {
                Ok(t) => {
                    self.token = Some(Token {
                        value: t.to_string(),
                        renew_at: now + imds::TOKEN_TTL.saturating_sub(TOKEN_RENEW_MARGIN),
                    });
                    StepResult::Continue
                }
                Err(e) => failed(CredentialError::Imds(e), true),
            },
            ImdsStep::RoleName => match imds::parse_role_name(body) {
                Ok(r) => {
                    self.role = Some(r.to_string());
                    StepResult::Continue
                }
                Err(e) => failed(CredentialError::Imds(e), false),
            },
            ImdsStep::Credentials => match imds::parse_credentials(body) {
                Ok(c) => {
                    let creds = Credentials::new(
                        &c.access_key_id,
                        &c.secret_access_key,
                        Some(c.token.into_owned()),
                        Some(c.expiration),
                    );
                    if self.account_id.is_some() {
                        StepResult::Done(creds)
                    } else {
                        self.pending = Some(creds);
                        StepResult::Continue
                    }
                }
                // A 200 with an error `Code` (botocore does not retry these quickly either).
                Err(e @ imds::ImdsError::Service { .. }) => failed(CredentialError::Imds(e), false),
                Err(e) => failed(CredentialError::Imds(e), true),
            },
            ImdsStep::IdentityDocument => {
                match imds::parse_identity_document(body) {
                    Ok(doc) => {
                        self.account_id = Some(doc.account_id.into_owned());
                        self.region = Some(doc.region.into_owned());
                    }
                    Err(e) => log::warn!("IMDS identity document unreadable error={e}"),
                }
                self.finish_without_identity()
            }
        }
    }

    fn finish_without_identity(&mut self) -> StepResult {
        match self.pending.take() {
            Some(c) => StepResult::Done(c),
            None => failed(
                CredentialError::ImdsStatus {
                    step: "identity document",
                    status: 0,
                },
                true,
            ),
        }
    }
}

enum Recovery {
    NewToken,
    Rediscover,
}

fn failed(error: CredentialError, retryable: bool) -> StepResult {
    StepResult::Failed { error, retryable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::retry::TransportFailure;
    use ureq_proto::http::Response;

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

    fn status(code: u16) -> Response<()> {
        Response::builder().status(code).body(()).expect("response")
    }

    fn step(f: &mut ImdsFetcher, now: Instant, code: u16, body: &[u8]) -> (ImdsStep, StepResult) {
        let (s, _req) = f.next_call(now).expect("call");
        let r = status(code);
        (
            s,
            f.handle(s, CallOutcome::Response { response: &r, body }, now),
        )
    }

    #[test]
    fn first_fetch_walks_all_four_steps_then_reuses_token_role_and_identity() {
        let now = crate::aws::credentials::test_epoch();
        let mut f = ImdsFetcher::new(ImdsBase::default());
        f.begin();
        assert!(matches!(
            step(&mut f, now, 200, TOKEN),
            (ImdsStep::Token, StepResult::Continue)
        ));
        assert!(matches!(
            step(&mut f, now, 200, ROLE),
            (ImdsStep::RoleName, StepResult::Continue)
        ));
        assert!(matches!(
            step(&mut f, now, 200, CREDS),
            (ImdsStep::Credentials, StepResult::Continue)
        ));
        let (s, r) = step(&mut f, now, 200, IDENTITY);
        assert_eq!(s, ImdsStep::IdentityDocument);
        let StepResult::Done(c) = r else {
            panic!("expected credentials, got {r:?}")
        };
        assert_eq!(c.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(
            (f.account_id(), f.region(), f.role()),
            (
                Some("123456789012"),
                Some("us-east-1"),
                Some("vpcflow-agent-role")
            )
        );
        // An hour later: one GET with the same token.
        let later = now + Duration::from_secs(3600);
        f.begin();
        let (s, req) = f.next_call(later).expect("call");
        assert_eq!(s, ImdsStep::Credentials);
        assert_eq!(
            req.headers()
                .get("x-aws-ec2-metadata-token")
                .and_then(|v| v.to_str().ok()),
            std::str::from_utf8(TOKEN).ok()
        );
        // Past the token's TTL minus the margin: a new token first.
        f.begin();
        let (s, _) = f
            .next_call(now + imds::TOKEN_TTL - TOKEN_RENEW_MARGIN)
            .expect("call");
        assert_eq!(s, ImdsStep::Token);
    }

    #[test]
    fn expired_token_and_changed_role_recover_once() {
        let now = crate::aws::credentials::test_epoch();
        let mut f = ImdsFetcher::new(ImdsBase::default());
        f.begin();
        step(&mut f, now, 200, TOKEN);
        step(&mut f, now, 200, ROLE);
        assert!(matches!(
            step(&mut f, now, 401, b""),
            (ImdsStep::Credentials, StepResult::Continue)
        ));
        assert!(matches!(
            step(&mut f, now, 200, TOKEN),
            (ImdsStep::Token, StepResult::Continue)
        ));
        // A second 401 in the same fetch fails (retryable).
        assert!(matches!(
            step(&mut f, now, 401, b""),
            (
                ImdsStep::Credentials,
                StepResult::Failed {
                    retryable: true,
                    ..
                }
            )
        ));
        f.begin();
        assert!(matches!(
            step(&mut f, now, 404, b""),
            (ImdsStep::Credentials, StepResult::Continue)
        ));
        assert!(matches!(
            step(&mut f, now, 200, ROLE),
            (ImdsStep::RoleName, StepResult::Continue)
        ));
    }

    #[test]
    fn failures() {
        let now = crate::aws::credentials::test_epoch();
        let mut f = ImdsFetcher::new(ImdsBase::default());
        f.begin();
        let (_, r) = step(&mut f, now, 403, b"");
        let StepResult::Failed {
            error,
            retryable: false,
        } = r
        else {
            panic!("{r:?}")
        };
        assert!(
            error
                .to_string()
                .starts_with("IMDSv2 token request refused (HTTP 403)"),
            "{error}"
        );
        f.begin();
        let (s, _) = f.next_call(now).expect("call");
        let r = f.handle(s, CallOutcome::Failed(TransportFailure::Timeout), now);
        assert!(matches!(
            r,
            StepResult::Failed {
                retryable: true,
                error: CredentialError::Transport(TransportFailure::Timeout)
            }
        ));
        step(&mut f, now, 200, TOKEN);
        let (_, r) = step(&mut f, now, 404, b"");
        let StepResult::Failed {
            error,
            retryable: false,
        } = r
        else {
            panic!("{r:?}")
        };
        assert_eq!(
            error.to_string(),
            "IMDS: no IAM role (instance profile) is attached to this instance"
        );
        step(&mut f, now, 200, ROLE);
        let (_, r) = step(
            &mut f,
            now,
            200,
            br#"{"Code":"AssumeRoleUnauthorizedAccess","Message":"no"}"#,
        );
        assert!(matches!(
            r,
            StepResult::Failed {
                retryable: false,
                ..
            }
        ));
        // The identity document may fail: credentials still arrive.
        f.begin();
        step(&mut f, now, 200, CREDS);
        let (s, r) = step(&mut f, now, 500, b"");
        assert_eq!(s, ImdsStep::IdentityDocument);
        assert!(matches!(r, StepResult::Done(_)));
        assert_eq!(f.account_id(), None);
        let shown = format!("{f:?}");
        assert!(!shown.contains("AQAEAE"), "{shown}");
    }
}
