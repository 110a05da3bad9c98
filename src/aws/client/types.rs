//! The vocabulary of [`AwsClient`](super::AwsClient): call and attempt ids, per-call options,
//! what goes to the driver ([`HttpRequestOut`]), what the driver hands back ([`ApiResponse`],
//! [`HeadAction`]) and what the call's owner gets ([`AwsEvent`], [`AwsCallError`]).

use std::fmt;
use std::time::{Duration, Instant};

use ureq_proto::http::{HeaderMap, Request, Response};

use crate::aws::credentials::{CacheId, CredentialError};
use crate::aws::endpoint::Scheme;
use crate::aws::error::AwsError;
use crate::aws::permissions::{self, IamAction};
use crate::aws::retry::{Backoff, TransportFailure};
use crate::aws::sign::SignError;
use crate::http::BodyMode;

/// botocore's `DEFAULT_TIMEOUT` (60 s, `endpoint.py`): the deadline of one attempt, queueing,
/// connect and body included. Long polls (SQS `WaitTimeSeconds=20`) fit; streamed objects that
/// take longer set their own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Body cap when the caller names none. The API modules have tighter or looser caps per
/// operation (`logs::MAX_EVENTS_RESPONSE_BYTES`, `kinesis::GET_RECORDS_MAX_RESPONSE_BYTES`…).
pub const DEFAULT_BODY_CAP: usize = 1 << 20;
/// What the driver keeps of a streamed call's non-2xx body: AWS error documents are a few
/// hundred bytes; the rest is read and dropped.
pub const ERROR_BODY_CAP: usize = 64 << 10;
/// Cap of STS and IMDS response bodies (an AssumeRole response is about 2 KiB).
pub const CREDENTIAL_BODY_CAP: usize = 64 << 10;

/// One API call submitted to the client, across all its attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(super) u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One HTTP exchange the driver performs for the client (an attempt of a call, or a credential
/// fetch). The driver keeps its own call id next to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(pub(super) u64);

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a call is made and retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallOptions {
    /// `Buffered { cap }` for API responses; `Streamed` for S3 objects (a 2xx body goes from the
    /// driver straight to the owner after [`AwsEvent::StreamStart`]).
    pub body_mode: BodyMode,
    /// Deadline of each attempt, from the moment it is handed to the driver.
    pub timeout: Duration,
    /// Attempts in all, the first included (botocore standard mode: 3). Pollers pass more.
    pub max_attempts: u32,
    /// Throttling is retried without limit and without taking retry-quota tokens: for pollers
    /// that must keep going at whatever rate the service allows (backoff still grows to 20 s).
    pub retry_throttling_forever: bool,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            body_mode: BodyMode::Buffered {
                cap: DEFAULT_BODY_CAP,
            },
            timeout: DEFAULT_TIMEOUT,
            max_attempts: Backoff::STANDARD.max_attempts,
            retry_throttling_forever: false,
        }
    }
}

impl CallOptions {
    /// A buffered call whose body may be up to `cap` bytes.
    pub fn buffered(cap: usize) -> CallOptions {
        CallOptions {
            body_mode: BodyMode::Buffered { cap },
            ..CallOptions::default()
        }
    }

    /// A streamed call (S3 GetObject).
    pub fn streamed() -> CallOptions {
        CallOptions {
            body_mode: BodyMode::Streamed,
            ..CallOptions::default()
        }
    }

    pub fn with_timeout(self, timeout: Duration) -> CallOptions {
        CallOptions { timeout, ..self }
    }

    pub fn with_max_attempts(self, max_attempts: u32) -> CallOptions {
        CallOptions {
            max_attempts: max_attempts.max(1),
            ..self
        }
    }

    pub fn retrying_throttling_forever(self) -> CallOptions {
        CallOptions {
            retry_throttling_forever: true,
            ..self
        }
    }
}

/// Where the driver connects: scheme, host (IPv6 without brackets; the bucket is already part
/// of a virtual-hosted S3 host, and TLS verifies this name) and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpTarget {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

/// An exchange for the driver to perform (`driver::call::CallSpec` plus the attempt id).
#[derive(Debug)]
pub struct HttpRequestOut {
    pub attempt: AttemptId,
    pub endpoint: HttpTarget,
    /// Signed and final: `host`, `content-length` and `user-agent` included; absolute URI.
    pub request: Request<()>,
    pub body: Vec<u8>,
    pub body_mode: BodyMode,
    pub deadline: Instant,
}

/// A complete response: what the driver reports for a buffered call (or for the collected
/// error body of a streamed one), and what a successful call's owner gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A header's value, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl From<Response<Vec<u8>>> for ApiResponse {
    fn from(r: Response<Vec<u8>>) -> Self {
        let (parts, body) = r.into_parts();
        ApiResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// What the driver does with a streamed call's body after [`AwsClient::handle_head`](super::AwsClient::handle_head).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadAction {
    /// A 2xx: the body belongs to the owner of `call` (route the driver's body-data events to
    /// it; it reads the bytes itself). Report the end with `handle_done` and an empty body.
    Stream { call: CallId },
    /// An error: read the body yourself, keep at most `cap` bytes (read and drop the rest) and
    /// hand them to `handle_done`.
    Collect { cap: usize },
    /// Nobody wants this attempt any more (canceled): cancel the HTTP call.
    Cancel,
}

/// Why a call failed for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastFailure {
    Aws(Box<AwsError>),
    Transport(TransportFailure),
}

impl fmt::Display for LastFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LastFailure::Aws(e) => write!(f, "{e}"),
            LastFailure::Transport(t) => write!(f, "{t}"),
        }
    }
}

/// A call that will not succeed.
#[derive(Debug)]
pub enum AwsCallError {
    /// The service refused the call and retrying cannot help: access denied (see
    /// [`AwsCallError::is_access_denied`]), validation, not found, credentials refused twice…
    Rejected {
        action: IamAction,
        error: Box<AwsError>,
    },
    /// Every attempt failed with a retryable error, or the retry quota ran dry first.
    Exhausted {
        action: IamAction,
        attempts: u32,
        quota_empty: bool,
        last: LastFailure,
    },
    /// A transport failure retrying cannot cure (a body over its cap).
    Transport {
        action: IamAction,
        failure: TransportFailure,
    },
    /// A streamed body broke after [`AwsEvent::StreamStart`]; the owner resumes with a `Range`
    /// request of its own.
    StreamBroken {
        action: IamAction,
        failure: TransportFailure,
    },
    /// The account's credentials could not be obtained (`error` is the source's last failure).
    Credentials {
        action: IamAction,
        account: CacheId,
        source: String,
        error: Option<CredentialError>,
    },
    /// The request cannot be addressed or signed (bad region, bucket name, header).
    Unroutable { action: IamAction, error: SignError },
}

impl AwsCallError {
    /// The IAM action the failed call needed (`service:Operation`).
    pub fn action(&self) -> IamAction {
        match self {
            AwsCallError::Rejected { action, .. }
            | AwsCallError::Exhausted { action, .. }
            | AwsCallError::Transport { action, .. }
            | AwsCallError::StreamBroken { action, .. }
            | AwsCallError::Credentials { action, .. }
            | AwsCallError::Unroutable { action, .. } => *action,
        }
    }

    /// The service's error, when the call ended with one.
    pub fn aws_error(&self) -> Option<&AwsError> {
        match self {
            AwsCallError::Rejected { error, .. } => Some(error),
            AwsCallError::Exhausted {
                last: LastFailure::Aws(e),
                ..
            } => Some(e),
            _ => None,
        }
    }

    /// AccessDenied, AccessDeniedException, UnauthorizedOperation…: the identity lacks
    /// [`AwsCallError::action`].
    pub fn is_access_denied(&self) -> bool {
        matches!(self, AwsCallError::Rejected { error, .. } if permissions::is_access_denied(error))
    }
}

impl fmt::Display for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AwsCallError::Rejected { action, error } if permissions::is_access_denied(error) => {
                write!(
                    f,
                    "{action}: access denied ({error}); the IAM policy must allow {action}"
                )
            }
            AwsCallError::Rejected { action, error } => write!(f, "{action}: {error}"),
            AwsCallError::Exhausted {
                action,
                attempts,
                quota_empty,
                last,
            } => {
                let why = if *quota_empty {
                    " (retry quota exhausted)"
                } else {
                    ""
                };
                write!(
                    f,
                    "{action}: failed after {attempts} attempts{why}, last: {last}"
                )
            }
            AwsCallError::Transport { action, failure } => write!(f, "{action}: {failure}"),
            AwsCallError::StreamBroken { action, failure } => {
                write!(f, "{action}: response body interrupted: {failure}")
            }
            AwsCallError::Credentials {
                action,
                source,
                error: Some(e),
                ..
            } => write!(f, "{action}: no credentials from {source}: {e}"),
            AwsCallError::Credentials { action, source, .. } => {
                write!(f, "{action}: no credentials from {source}")
            }
            AwsCallError::Unroutable { action, error } => write!(f, "{action}: {error}"),
        }
    }
}

impl std::error::Error for AwsCallError {}

/// What happened to calls (and accounts), in the order it happened.
#[derive(Debug)]
pub enum AwsEvent {
    /// The call succeeded. For a streamed call this comes after the body was read to its end,
    /// and `response.body` is empty.
    Done { call: CallId, response: ApiResponse },
    /// A streamed call's 2xx head: the body now flows from the driver to the owner.
    StreamStart {
        call: CallId,
        status: u16,
        headers: HeaderMap,
    },
    /// The call failed for good; nothing more comes for it.
    Failed { call: CallId, error: AwsCallError },
    /// The account id behind a credential cache became known (static keys: GetCallerIdentity;
    /// instance role: the identity document; assumed role: its ARN).
    AccountKnown {
        account: CacheId,
        account_id: String,
    },
}
