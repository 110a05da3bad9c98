//! The CloudWatch Logs request budget of one (account, region): every CloudWatch Logs input of
//! that account and region takes a token from the same budget before each call, so together
//! they stay under the API quota however many log groups and streams they poll.
//!
//! A token bucket at the quota, whose rate backs off multiplicatively when the service throttles
//! anyway (other clients of the account share the quota) and recovers additively (AIMD, as TCP
//! congestion control):
//!
//! ```text
//!              ThrottlingException (at most one cut per THROTTLE_HOLD)
//!   rate ─────────────────────────────────────────────► max(rate / 2, MIN_RATE)
//!     ▲                                                        │
//!     └──── + RECOVERY_STEP per RECOVERY_INTERVAL without a throttle, up to the quota ┘
//! ```
//!
//! Single-threaded: inputs share it as an `Rc<RefCell<RequestBudget>>` ([`SharedBudget`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::export::rate::TokenBucket;

/// GetLogEvents and DescribeLogStreams: 25 transactions per second per account per Region
/// (CloudWatch Logs quotas, <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>;
/// spec.md D.4). One budget covers both, and the rarer DescribeSubscriptionFilters calls.
/// Older SDK docs give DescribeLogStreams 5 TPS: if an account still has that, the throttling
/// answers bring the rate down to it.
pub const LOGS_API_TPS: u32 = 25;
/// The rate never goes below one request per second.
pub const MIN_RATE: u32 = 1;
/// Throttles within this time of the last cut are answers to requests sent before it: one cut.
pub const THROTTLE_HOLD: Duration = Duration::from_secs(1);
/// Every this long without a throttle, the rate grows by [`RECOVERY_STEP`].
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(5);
pub const RECOVERY_STEP: u32 = 1;

/// A budget shared by the CloudWatch Logs inputs of one (account, region).
pub type SharedBudget = Rc<RefCell<RequestBudget>>;

/// See the module doc.
#[derive(Debug)]
pub struct RequestBudget {
    max_rate: u32,
    rate: u32,
    bucket: TokenBucket,
    /// When the rate last changed (a cut or a recovery step).
    changed_at: Option<Instant>,
    last_cut: Option<Instant>,
    throttles: u64,
}

impl RequestBudget {
    /// A budget of `max_rate` requests per second (at least [`MIN_RATE`]).
    pub fn new(max_rate: u32) -> RequestBudget {
        let max_rate = max_rate.max(MIN_RATE);
        RequestBudget {
            max_rate,
            rate: max_rate,
            bucket: TokenBucket::new(max_rate),
            changed_at: None,
            last_cut: None,
            throttles: 0,
        }
    }

    /// A budget at the CloudWatch Logs quota, to share.
    pub fn shared() -> SharedBudget {
        Rc::new(RefCell::new(RequestBudget::new(LOGS_API_TPS)))
    }

    /// Requests per second allowed now.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Throttling answers reported so far.
    pub fn throttles(&self) -> u64 {
        self.throttles
    }

    /// Takes a token for one request, if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.recover(now);
        self.bucket.take(1, now)
    }

    /// When a token will be there, if there is none now (after a failed [`try_take`]).
    ///
    /// [`try_take`]: RequestBudget::try_take
    pub fn next_token_at(&self) -> Option<Instant> {
        self.bucket.next_refill_at()
    }

    /// The service throttled a request: halve the rate (once per [`THROTTLE_HOLD`]).
    pub fn handle_throttled(&mut self, now: Instant) {
        self.throttles += 1;
        if self
            .last_cut
            .is_some_and(|t| now.saturating_duration_since(t) < THROTTLE_HOLD)
        {
            return;
        }
        let rate = (self.rate / 2).max(MIN_RATE);
        log::info!(
            "cloudwatch logs throttled, request rate cut; rate_from={} rate_to={rate}",
            self.rate
        );
        self.set_rate(rate, now);
        self.last_cut = Some(now);
        // The service said "too fast": no burst right after the cut.
        let left = self.bucket.available(now);
        self.bucket.take(left, now);
    }

    fn recover(&mut self, now: Instant) {
        if self.rate >= self.max_rate {
            return;
        }
        let Some(since) = self.changed_at else {
            return;
        };
        let steps = now.saturating_duration_since(since).as_nanos() / RECOVERY_INTERVAL.as_nanos();
        if steps == 0 {
            return;
        }
        let steps = u32::try_from(steps).unwrap_or(u32::MAX);
        let rate = self
            .rate
            .saturating_add(steps.saturating_mul(RECOVERY_STEP))
            .min(self.max_rate);
        // Keep the remainder of the interval, so steps come every RECOVERY_INTERVAL exactly.
        let at = since + RECOVERY_INTERVAL * steps;
        self.set_rate(rate, at.min(now));
    }

    fn set_rate(&mut self, rate: u32, at: Instant) {
        if rate != self.rate {
            // A new bucket at the new rate; it starts with its (small) burst.
            self.bucket = TokenBucket::new(rate);
            self.rate = rate;
        }
        self.changed_at = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a virtual clock still starts at some Instant
    fn epoch() -> Instant {
        Instant::now()
    }

    /// Requests granted over `secs` seconds when asking every millisecond.
    fn granted(b: &mut RequestBudget, start: Instant, secs: u64) -> u64 {
        (0..secs * 1000)
            .filter(|ms| b.try_take(start + Duration::from_millis(*ms)))
            .count() as u64
    }

    #[test]
    fn grants_the_quota_and_no_more() {
        let t = epoch();
        let mut b = RequestBudget::new(LOGS_API_TPS);
        let n = granted(&mut b, t, 10);
        // 25/s for 10 s, plus the starting burst of 2 (a tenth of a second's worth).
        assert!((250..=252).contains(&n), "{n}");
    }

    #[test]
    fn throttling_halves_once_per_hold_and_recovers_additively() {
        let t = epoch();
        let mut b = RequestBudget::new(24);
        b.handle_throttled(t);
        assert_eq!(b.rate(), 12);
        // Answers to requests sent before the cut: still one cut.
        b.handle_throttled(t + Duration::from_millis(300));
        assert_eq!(b.rate(), 12);
        b.handle_throttled(t + THROTTLE_HOLD);
        assert_eq!(b.rate(), 6);
        assert_eq!(b.throttles(), 3);
        // No burst right after a cut: the next token comes 1/6 s later.
        let cut = t + THROTTLE_HOLD;
        assert!(!b.try_take(cut));
        let next = b.next_token_at().unwrap();
        assert_eq!(next - cut, Duration::from_nanos(166_666_667));
        assert!(b.try_take(next));
        // +1/s every 5 s without throttling.
        assert!(b.try_take(cut + RECOVERY_INTERVAL * 3));
        assert_eq!(b.rate(), 9);
        b.try_take(cut + Duration::from_secs(600));
        assert_eq!(b.rate(), 24);
        for _ in 0..10 {
            b.handle_throttled(cut + Duration::from_secs(1000));
        }
        let mut at = cut + Duration::from_secs(1000);
        for _ in 0..10 {
            at += THROTTLE_HOLD;
            b.handle_throttled(at);
        }
        assert_eq!(b.rate(), MIN_RATE);
    }

    #[test]
    fn a_cut_rate_grants_fewer_requests() {
        let t = epoch();
        let mut b = RequestBudget::new(LOGS_API_TPS);
        b.handle_throttled(t);
        // 12/s, rising by one every 5 s: 12+12+12+12+12 + 13×5 over 10 s ≈ 125.
        let n = granted(&mut b, t, 10);
        assert!((120..=132).contains(&n), "{n}");
    }
}
