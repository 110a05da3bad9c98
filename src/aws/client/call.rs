//! One call's state inside [`AwsClient`](super::AwsClient): its request, its options, where it
//! is in the diagram of `client/mod.rs`, and the counters the retry rules read.

use std::time::Instant;

use ureq_proto::http::HeaderMap;

use crate::aws::client::types::{AttemptId, CallOptions};
use crate::aws::credentials::CacheId;
use crate::aws::permissions::IamAction;
use crate::aws::request::ApiRequest;

/// Where a call is.
#[derive(Debug)]
pub(super) enum Phase {
    /// Queued to be signed and sent once its account has credentials of at least
    /// `min_generation` (after "credentials expired", the refreshed ones).
    Waiting { min_generation: u64 },
    /// With the driver.
    InFlight {
        attempt: AttemptId,
        /// Generation of the credentials it was signed with.
        generation: u64,
        stream: Stream,
    },
    /// Backing off before the next attempt.
    Backoff { retry_at: Instant },
}

/// A streamed call's body, as far as the client knows.
#[derive(Debug)]
pub(super) enum Stream {
    /// No head yet (or a buffered call).
    NotStarted,
    /// A 2xx head went to the owner: no more retries; `headers` repeat in `Done`.
    Started { status: u16, headers: HeaderMap },
    /// A non-2xx head: the driver collects the error body for us.
    Collecting,
}

#[derive(Debug)]
pub(super) struct Call {
    pub account: CacheId,
    pub region: String,
    pub request: ApiRequest,
    pub options: CallOptions,
    pub action: IamAction,
    pub phase: Phase,
    /// Attempts handed to the driver.
    pub sent: u32,
    /// Attempts that count against `options.max_attempts`.
    pub counted: u32,
    /// The next attempt does not count (a credential refresh, a clock-skew correction or an
    /// endless throttling retry: each is bounded elsewhere).
    pub next_is_free: bool,
    /// Consecutive throttled attempts (the backoff exponent of endless throttling retries).
    pub throttled_in_a_row: u32,
    /// Retried once already after "credentials expired".
    pub refreshed: bool,
    /// Retried once already after a clock-skew correction.
    pub skew_corrected: bool,
    /// Quota tokens taken by the last retry, refunded on success.
    pub last_retry_cost: Option<u32>,
    /// Credential fetches that failed while this call waited for them.
    pub credential_failures: u32,
}

impl Call {
    pub fn new(account: CacheId, region: &str, request: ApiRequest, options: CallOptions) -> Call {
        Call {
            account,
            region: region.to_string(),
            action: IamAction::for_request(&request),
            request,
            options,
            phase: Phase::Waiting { min_generation: 0 },
            sent: 0,
            counted: 0,
            next_is_free: false,
            throttled_in_a_row: 0,
            refreshed: false,
            skew_corrected: false,
            last_retry_cost: None,
            credential_failures: 0,
        }
    }

    /// Records that an attempt is handed to the driver.
    pub fn start_attempt(&mut self, attempt: AttemptId, generation: u64) {
        self.sent += 1;
        if !std::mem::take(&mut self.next_is_free) {
            self.counted += 1;
        }
        self.phase = Phase::InFlight {
            attempt,
            generation,
            stream: Stream::NotStarted,
        };
    }

    /// The attempt in flight, if any.
    pub fn attempt(&self) -> Option<AttemptId> {
        match self.phase {
            Phase::InFlight { attempt, .. } => Some(attempt),
            _ => None,
        }
    }

    /// Whether another attempt may follow under the attempt limit.
    pub fn may_retry(&self) -> bool {
        self.counted < self.options.max_attempts
    }
}
