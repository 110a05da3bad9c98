//! The retry rules of [`AwsClient`]: what a failed attempt leads to (the right half of the
//! diagram in `client/mod.rs`). Pure decisions on the call's counters, the retry quota of its
//! (service, region), the credential caches and the clock-skew estimate.

use std::time::Instant;

use crate::aws::client::call::{Call, Phase};
use crate::aws::client::{AwsCallError, AwsClient, CallId, LastFailure};
use crate::aws::credentials::ForceRefresh;
use crate::aws::retry::{TransportFailure, Verdict};

impl AwsClient {
    /// Applies the retry rules to a failed attempt.
    pub(super) fn after_failure(
        &mut self,
        id: CallId,
        failure: LastFailure,
        verdict: Verdict,
        generation: u64,
        now: Instant,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        log::debug!(
            "aws attempt failed call={id} action={} try={} verdict={verdict:?} error={failure}",
            call.action,
            call.sent
        );
        let action = call.action;
        let rejected = |failure| match failure {
            LastFailure::Aws(error) => AwsCallError::Rejected { action, error },
            LastFailure::Transport(failure) => AwsCallError::Transport { action, failure },
        };
        match verdict {
            Verdict::Fatal => self.fail(id, rejected(failure)),
            Verdict::Retry { throttle } => {
                let after_timeout = failure == LastFailure::Transport(TransportFailure::Timeout);
                self.schedule_retry(id, failure, throttle, after_timeout, now);
            }
            Verdict::RefreshCredentials => {
                if std::mem::replace(&mut call.refreshed, true) {
                    return self.fail(id, rejected(failure));
                }
                let account = call.account;
                let current = self.creds.cache(account).map_or(0, |c| c.generation());
                if current > generation {
                    // Signed with credentials that were replaced meanwhile: just re-sign.
                    return self.retry_now(id, failure, 0);
                }
                match self.creds.force_refresh(account, now) {
                    ForceRefresh::Started | ForceRefresh::AlreadyInFlight => {
                        self.retry_now(id, failure, generation + 1)
                    }
                    ForceRefresh::RateLimited if self.creds.current(account).is_none() => {
                        self.retry_now(id, failure, generation + 1)
                    }
                    ForceRefresh::RateLimited => {
                        self.schedule_retry(id, failure, false, false, now)
                    }
                    ForceRefresh::NotRefreshable => self.fail(id, rejected(failure)),
                }
            }
            Verdict::CorrectClockSkew { skew } => {
                if skew != self.skew {
                    log::info!(
                        "clock skew corrected offset_ms={} action={action}",
                        skew.offset_ms
                    );
                    self.skew = skew;
                }
                if std::mem::replace(&mut call.skew_corrected, true) {
                    return self.fail(id, rejected(failure));
                }
                self.retry_now(id, failure, 0);
            }
        }
    }

    /// Queues the call again at once (a free attempt).
    fn retry_now(&mut self, id: CallId, failure: LastFailure, min_generation: u64) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        log::debug!("aws call retried at once call={id} after={failure}");
        call.next_is_free = true;
        call.phase = Phase::Waiting { min_generation };
        self.waiting.push_back(id);
    }

    /// Backs off before the next attempt, if the attempt limit and the retry quota allow one.
    fn schedule_retry(
        &mut self,
        id: CallId,
        failure: LastFailure,
        throttle: bool,
        after_timeout: bool,
        now: Instant,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        call.throttled_in_a_row = if throttle {
            call.throttled_in_a_row.saturating_add(1)
        } else {
            0
        };
        let endless = throttle && call.options.retry_throttling_forever;
        let exhausted = |call: &Call, failure, quota_empty| AwsCallError::Exhausted {
            action: call.action,
            attempts: call.sent,
            quota_empty,
            last: failure,
        };
        if endless {
            call.next_is_free = true;
        } else {
            if !call.may_retry() {
                let error = exhausted(call, failure, false);
                return self.fail(id, error);
            }
            let key = (call.request.service, call.region.clone());
            match self.quotas.entry(key).or_default().acquire(after_timeout) {
                Some(cost) => call.last_retry_cost = Some(cost),
                None => {
                    let error = exhausted(call, failure, true);
                    return self.fail(id, error);
                }
            }
        }
        let exponent = if endless {
            call.throttled_in_a_row
        } else {
            call.counted
        };
        let delay = self.backoff.delay(exponent, throttle, &mut self.rng);
        log::debug!(
            "aws call retry scheduled call={id} action={} try={} delay_ms={} error={failure}",
            call.action,
            call.sent,
            delay.as_millis()
        );
        call.phase = Phase::Backoff {
            retry_at: now + delay,
        };
    }
}
