//! `CredentialCache`: one account's credentials, fetched and refreshed on schedule.
//!
//! ```text
//!                 poll_request: emit the source's next call
//!   ┌──────────┐ ─────────────────────────────────────────► ┌─────────┐
//!   │ Fetching │ ◄───────────── Continue (IMDS steps) ───── │ Waiting │
//!   └──────────┘                                            └─────────┘
//!     ▲      ▲                                   Done │          │ Failed
//!     │      │ refresh_at / force_refresh             ▼          ▼
//!     │      └─────────────────────────────────── ┌──────┐   ┌─────────┐
//!     │                                           │ Idle │   │ Backoff │
//!     └───────────────────── retry_at ─────────── └──────┘ ◄─┴─────────┘
//!                                        (GetCallerIdentity for static keys is
//!                                         sent from Idle; its failure backs off to Idle)
//! ```
//! Timers (all `Instant`s, from the wall-clock expiry at the time the credentials arrived):
//! - `refresh_at = received + max(remaining − 15 min, remaining / 2, 30 s)`: botocore's advisory
//!   refresh window (`credentials.py` `_DEFAULT_ADVISORY_REFRESH_TIMEOUT` = 15 min); half the
//!   lifetime for short sessions (a 900 s AssumeRole would otherwise refresh at once), and never
//!   sooner than 30 s (IMDS may hand out credentials with only minutes left).
//! - `expires_at`: the credentials are dropped; `current()` is `None` until new ones arrive.
//! - `retry_at` after a failure: full-jitter backoff from 1 s up to 60 s for retryable errors,
//!   5 min for errors a retry cannot fix soon (access denied, IMDS disabled) — an operator may fix
//!   them while the agent runs. The current credentials stay in use until they expire.
//! - `force_refresh` (the service said ExpiredToken): at most once per 60 s, as Fluent Bit's
//!   `FLB_AWS_CREDENTIAL_REFRESH_LIMIT`; meanwhile `current()` is `None` so callers wait for the
//!   new credentials instead of failing again with the old ones.

use std::time::{Duration, Instant, SystemTime};

use crate::aws::api::imds::ImdsBase;
use crate::aws::api::sts;
use crate::aws::clock_skew::{self, ClockSkew};
use crate::aws::credentials::assume_role::{self, AssumeRoleConfig};
use crate::aws::credentials::imds::{ImdsFetcher, ImdsStep, StepResult};
use crate::aws::credentials::{CallOutcome, CredentialCall, CredentialError, Credentials};
use crate::aws::error::AwsError;
use crate::aws::request::Protocol;
use crate::aws::retry::{self, Backoff, Failure, Rng, Verdict};

/// botocore's advisory refresh window.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Never schedule a refresh sooner than this after new credentials arrived.
pub const MIN_REFRESH_DELAY: Duration = Duration::from_secs(30);
/// Forced refreshes are rate-limited to one per this (Fluent Bit `FLB_AWS_CREDENTIAL_REFRESH_LIMIT`).
pub const FORCE_REFRESH_LIMIT: Duration = Duration::from_secs(60);
/// Backoff of retryable credential failures.
pub const FAILURE_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    throttle_base: Duration::from_secs(1),
    cap: Duration::from_secs(60),
    max_attempts: u32::MAX,
};
/// Delay after a failure that retrying will not fix soon.
pub const FATAL_RETRY_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Result of [`CredentialCache::force_refresh`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForceRefresh {
    /// A refresh starts; `current()` is `None` until it ends.
    Started,
    /// A fetch was already under way.
    AlreadyInFlight,
    /// Refused: the last forced refresh was less than 60 s ago. Treat the error as retryable.
    RateLimited,
    /// Static credentials cannot be refreshed: the error is fatal.
    NotRefreshable,
}

enum Source {
    Static,
    Imds(ImdsFetcher),
    AssumeRole {
        config: AssumeRoleConfig,
        base: Option<Credentials>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Imds(ImdsStep),
    AssumeRole,
    CallerIdentity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Fetching,
    Waiting(Pending),
    Backoff { retry_at: Instant, refetch: bool },
}

/// One account's credentials and their refresh schedule.
pub struct CredentialCache {
    label: String,
    source: Source,
    phase: Phase,
    current: Option<Credentials>,
    /// A forced refresh is under way: hide `current`.
    stale: bool,
    refresh_at: Option<Instant>,
    expires_at: Option<Instant>,
    failures: u32,
    last_forced: Option<Instant>,
    generation: u64,
    account_id: Option<String>,
    /// STS region for GetCallerIdentity (static keys).
    sts_region: String,
    last_error: Option<CredentialError>,
    /// Whether `last_error` is worth a quick retry (transport, throttling) rather than an
    /// operator's fix (access denied, IMDS disabled: retried only every 5 min).
    last_retryable: bool,
    wants_base_refresh: bool,
    observed_skew: Option<ClockSkew>,
    rng: Rng,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialCache")
            .field("label", &self.label)
            .field("phase", &self.phase)
            .field("current", &self.current)
            .field("generation", &self.generation)
            .field("account_id", &self.account_id)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl CredentialCache {
    fn with_source(label: String, source: Source, sts_region: &str, seed: u64) -> CredentialCache {
        CredentialCache {
            label,
            source,
            phase: Phase::Fetching,
            current: None,
            stale: false,
            refresh_at: None,
            expires_at: None,
            failures: 0,
            last_forced: None,
            generation: 0,
            account_id: None,
            sts_region: sts_region.to_string(),
            last_error: None,
            last_retryable: true,
            wants_base_refresh: false,
            observed_skew: None,
            rng: Rng::new(seed),
        }
    }

    /// Static keys (environment or a profile). The account id is looked up with
    /// GetCallerIdentity in `sts_region`.
    pub fn fixed(label: &str, creds: Credentials, sts_region: &str, seed: u64) -> CredentialCache {
        let mut c =
            CredentialCache::with_source(label.to_string(), Source::Static, sts_region, seed);
        c.current = Some(creds);
        c.generation = 1;
        c.phase = Phase::Idle;
        c
    }

    /// The EC2 instance role through IMDSv2; account and region come from the identity document.
    pub fn instance_role(base: ImdsBase, seed: u64) -> CredentialCache {
        CredentialCache::with_source(
            "instance role".to_string(),
            Source::Imds(ImdsFetcher::new(base)),
            "",
            seed,
        )
    }

    /// An assumed role. Its base credentials are fed in with [`CredentialCache::set_base`].
    pub fn assume_role(config: AssumeRoleConfig, seed: u64) -> CredentialCache {
        let mut c = CredentialCache::with_source(
            format!("role {}", config.role_arn()),
            Source::AssumeRole { config, base: None },
            "",
            seed,
        );
        c.account_id = match &c.source {
            Source::AssumeRole { config, .. } => Some(config.account_id().to_string()),
            _ => None,
        };
        c
    }

    /// What this cache is, for logs (`profile collector`, `instance role`, `role arn:…`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The credentials to sign with now; `None` before the first fetch, after expiry and
    /// during a forced refresh.
    pub fn current(&self) -> Option<&Credentials> {
        self.current.as_ref().filter(|_| !self.stale)
    }

    /// Increments every time new credentials are installed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The account these credentials act in, once known.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref().or(match &self.source {
            Source::Imds(f) => f.account_id(),
            _ => None,
        })
    }

    /// The instance's region (instance role only, from the identity document).
    pub fn imds_region(&self) -> Option<&str> {
        match &self.source {
            Source::Imds(f) => f.region(),
            _ => None,
        }
    }

    /// The last failure, until the next success.
    pub fn last_error(&self) -> Option<&CredentialError> {
        self.last_error.as_ref()
    }

    /// Failed fetches since the last success (grows by one with every failure).
    pub fn failure_count(&self) -> u32 {
        self.failures
    }

    /// Whether the last failure is expected to clear on a quick retry; `false` means the next
    /// attempt is [`FATAL_RETRY_INTERVAL`] away and callers waiting for credentials should fail.
    pub fn last_error_is_retryable(&self) -> bool {
        self.last_error.is_none() || self.last_retryable
    }

    /// Whether this is an assumed role (it needs [`CredentialCache::set_base`]).
    pub fn is_role(&self) -> bool {
        matches!(self.source, Source::AssumeRole { .. })
    }

    /// Assumed roles: the credentials AssumeRole is signed with (`None` while the base has none).
    pub fn set_base(&mut self, base: Option<Credentials>) {
        if let Source::AssumeRole { base: b, .. } = &mut self.source {
            *b = base;
        }
    }

    /// STS refused the base credentials as expired; the owner should force-refresh the base.
    pub fn take_wants_base_refresh(&mut self) -> bool {
        std::mem::take(&mut self.wants_base_refresh)
    }

    /// STS reported clock skew on one of our calls; the driver should adopt it.
    pub fn take_observed_skew(&mut self) -> Option<ClockSkew> {
        self.observed_skew.take()
    }

    /// The next call to make, if any. Call after every `handle_*` and when `poll_timeout` passes.
    /// (`_wall` keeps the signature of every `poll_*` in the agent; no source needs it yet.)
    pub fn poll_request(&mut self, now: Instant, _wall: SystemTime) -> Option<CredentialCall> {
        self.advance(now);
        match self.phase {
            Phase::Waiting(_) | Phase::Backoff { .. } => None,
            Phase::Idle => {
                let creds = self.current()?;
                if self.account_id.is_some() || !matches!(self.source, Source::Static) {
                    return None;
                }
                let call = CredentialCall::Sts {
                    request: sts::get_caller_identity(),
                    region: self.sts_region.clone(),
                    signer: creds.clone(),
                };
                self.phase = Phase::Waiting(Pending::CallerIdentity);
                Some(call)
            }
            Phase::Fetching => match &mut self.source {
                Source::Static => {
                    self.phase = Phase::Idle;
                    None
                }
                Source::Imds(f) => match f.next_call(now) {
                    Ok((step, request)) => {
                        self.phase = Phase::Waiting(Pending::Imds(step));
                        Some(CredentialCall::Imds {
                            request,
                            timeout: crate::aws::api::imds::TIMEOUT,
                        })
                    }
                    Err(e) => {
                        self.fail(e, false, now, true);
                        None
                    }
                },
                Source::AssumeRole { config, base } => {
                    let signer = base.clone()?;
                    let call = CredentialCall::Sts {
                        request: config.request(),
                        region: config.region().to_string(),
                        signer,
                    };
                    self.phase = Phase::Waiting(Pending::AssumeRole);
                    Some(call)
                }
            },
        }
    }

    /// The outcome of the call last returned by `poll_request`.
    pub fn handle_response(&mut self, now: Instant, wall: SystemTime, outcome: CallOutcome<'_>) {
        let Phase::Waiting(pending) = self.phase else {
            log::debug!(
                "credential response with no call outstanding source={}",
                self.label
            );
            return;
        };
        match pending {
            Pending::Imds(step) => {
                let Source::Imds(f) = &mut self.source else {
                    return;
                };
                match f.handle(step, outcome, now) {
                    StepResult::Continue => self.phase = Phase::Fetching,
                    StepResult::Done(c) => self.install(c, now, wall),
                    StepResult::Failed { error, retryable } => {
                        self.fail(error, retryable, now, true)
                    }
                }
            }
            Pending::AssumeRole => match self.sts_result(outcome, wall) {
                Ok(body) => match assume_role::credentials_from_response(body) {
                    Ok(c) => self.install(c, now, wall),
                    Err(e) => self.fail(e, true, now, true),
                },
                Err((e, retryable)) => self.fail(e, retryable, now, true),
            },
            Pending::CallerIdentity => match self.sts_result(outcome, wall) {
                Ok(body) => match sts::parse_get_caller_identity(body) {
                    Ok(id) => {
                        log::info!(
                            "credentials identified source={} account={} arn={}",
                            self.label,
                            id.account,
                            id.arn
                        );
                        self.account_id = Some(id.account.into_owned());
                        self.last_error = None;
                        self.failures = 0;
                        self.phase = Phase::Idle;
                    }
                    Err(e) => self.fail(CredentialError::StsBody(e), true, now, false),
                },
                Err((e, retryable)) => self.fail(e, retryable, now, false),
            },
        }
    }

    /// Classifies an STS outcome: the body of a 2xx, or the error and whether to retry soon.
    fn sts_result<'b>(
        &mut self,
        outcome: CallOutcome<'b>,
        wall: SystemTime,
    ) -> Result<&'b [u8], (CredentialError, bool)> {
        match outcome {
            CallOutcome::Failed(t) => Err((CredentialError::Transport(t), true)),
            CallOutcome::Response { response, body } if response.status().is_success() => Ok(body),
            CallOutcome::Response { response, body } => {
                let e = AwsError::from_response(Protocol::Query, "POST", response, body);
                let retryable = match retry::classify(Failure::Aws(&e), wall) {
                    Verdict::Retry { .. } => true,
                    Verdict::RefreshCredentials => {
                        // The signer (base credentials) expired under us.
                        self.wants_base_refresh = true;
                        true
                    }
                    Verdict::CorrectClockSkew { skew } => {
                        self.observed_skew = Some(skew);
                        true
                    }
                    Verdict::Fatal => false,
                };
                Err((CredentialError::Sts(Box::new(e)), retryable))
            }
        }
    }

    /// Timers: expiry, refresh and backoff.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// The next instant this cache needs `handle_timeout`/`poll_request`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = match self.phase {
            Phase::Idle => self.refresh_at,
            Phase::Backoff { retry_at, .. } => Some(retry_at),
            Phase::Fetching | Phase::Waiting(_) => None,
        };
        let expiry = self.current.as_ref().and(self.expires_at);
        match (timer, expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The service refused our credentials as expired. See [`ForceRefresh`].
    pub fn force_refresh(&mut self, now: Instant) -> ForceRefresh {
        if matches!(self.source, Source::Static) {
            return ForceRefresh::NotRefreshable;
        }
        if self
            .last_forced
            .is_some_and(|t| now < t + FORCE_REFRESH_LIMIT)
        {
            return ForceRefresh::RateLimited;
        }
        self.last_forced = Some(now);
        match self.phase {
            // (Only static keys send GetCallerIdentity, and they returned above.)
            Phase::Fetching | Phase::Waiting(_) => ForceRefresh::AlreadyInFlight,
            Phase::Idle | Phase::Backoff { .. } => {
                log::info!("forcing credential refresh source={}", self.label);
                self.start_fetch();
                self.stale = self.current.is_some();
                ForceRefresh::Started
            }
        }
    }

    fn start_fetch(&mut self) {
        if let Source::Imds(f) = &mut self.source {
            f.begin();
        }
        self.phase = Phase::Fetching;
    }

    fn advance(&mut self, now: Instant) {
        if self.current.is_some() && self.expires_at.is_some_and(|t| now >= t) {
            log::warn!(
                "credentials expired before a refresh succeeded source={}",
                self.label
            );
            self.current = None;
            self.stale = false;
            self.expires_at = None;
        }
        match self.phase {
            Phase::Idle if self.refresh_at.is_some_and(|t| now >= t) => {
                self.refresh_at = None;
                self.start_fetch();
            }
            Phase::Backoff { retry_at, refetch } if now >= retry_at => {
                if refetch {
                    self.start_fetch();
                } else {
                    self.phase = Phase::Idle;
                }
            }
            _ => {}
        }
    }

    fn install(&mut self, creds: Credentials, now: Instant, wall: SystemTime) {
        let remaining = creds
            .expires_at()
            .map(|t| t.duration_since(wall).unwrap_or(Duration::ZERO));
        // An Expiration beyond what an Instant can hold counts as "never".
        self.expires_at = remaining.and_then(|r| now.checked_add(r));
        self.refresh_at = remaining.and_then(|r| {
            let delay = r
                .saturating_sub(REFRESH_WINDOW)
                .max(r / 2)
                .max(MIN_REFRESH_DELAY);
            now.checked_add(delay)
        });
        log::info!(
            "credentials refreshed source={} access_key_id={} expires_at={}",
            self.label,
            creds.access_key_id(),
            creds
                .expires_at()
                .map_or_else(|| "never".to_string(), clock_skew::format_iso8601)
        );
        self.current = Some(creds);
        self.stale = false;
        self.generation += 1;
        self.failures = 0;
        self.last_error = None;
        self.phase = Phase::Idle;
    }

    fn fail(&mut self, error: CredentialError, retryable: bool, now: Instant, refetch: bool) {
        self.failures = self.failures.saturating_add(1);
        let delay = if retryable {
            FAILURE_BACKOFF.delay(self.failures, false, &mut self.rng)
        } else {
            FATAL_RETRY_INTERVAL
        };
        log::warn!(
            "credential request failed source={} attempt={} retry_in_ms={} error={error}",
            self.label,
            self.failures,
            delay.as_millis()
        );
        self.last_error = Some(error);
        self.last_retryable = retryable;
        self.stale = false;
        self.phase = Phase::Backoff {
            retry_at: now + delay,
            refetch,
        };
    }
}

#[cfg(test)]
mod tests;
