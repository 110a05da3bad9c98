//! Records-per-second limit (`[ipfix] rate_limit`): a token bucket on a caller-supplied clock.
//!
//! It slows the producer and never drops: the exporter refuses a record while the bucket is
//! empty (`Export::can_accept` is false) and reports [`TokenBucket::next_refill_at`] through
//! its `poll_timeout`, so the driver sleeps until a token is there.
//!
//! ```text
//!   tokens ──take(n)──► tokens − n        (only when n are available)
//!     ▲
//!     └── + rate × elapsed, capped at the burst (a tenth of a second's worth, at least 1)
//! ```
//!
//! Tokens are counted in billionths so that integer arithmetic refills exactly at any rate.

use std::time::{Duration, Instant};

const NANOS_PER_TOKEN: u128 = 1_000_000_000;

/// A token bucket; `rate == 0` means unlimited.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: u32,
    /// Burst size in nano-tokens.
    capacity: u128,
    /// Tokens at `last`, in nano-tokens.
    tokens: u128,
    last: Option<Instant>,
}

impl TokenBucket {
    /// `rate`: records per second, 0 = unlimited. Starts full.
    pub fn new(rate: u32) -> Self {
        let burst = u128::from((rate / 10).max(1));
        let capacity = burst * NANOS_PER_TOKEN;
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            last: None,
        }
    }

    #[inline]
    pub fn is_unlimited(&self) -> bool {
        self.rate == 0
    }

    /// Tokens at `now`, in nano-tokens, without changing state.
    fn level(&self, now: Instant) -> u128 {
        match self.last {
            None => self.tokens,
            Some(last) => {
                let elapsed = now.saturating_duration_since(last).as_nanos();
                self.tokens
                    .saturating_add(elapsed.saturating_mul(u128::from(self.rate)))
                    .min(self.capacity)
            }
        }
    }

    /// Whole tokens available at `now` (`u64::MAX` when unlimited).
    #[inline]
    pub fn available(&self, now: Instant) -> u64 {
        if self.is_unlimited() {
            return u64::MAX;
        }
        u64::try_from(self.level(now) / NANOS_PER_TOKEN).unwrap_or(u64::MAX)
    }

    /// Takes `n` tokens if they are all there; false (and nothing taken) otherwise.
    #[inline]
    pub fn take(&mut self, n: u64, now: Instant) -> bool {
        if self.is_unlimited() {
            return true;
        }
        let level = self.level(now);
        let need = u128::from(n) * NANOS_PER_TOKEN;
        // Keep `last` monotonic if the caller's clock is handed in out of order.
        if self.last.is_none_or(|l| now > l) {
            self.tokens = level;
            self.last = Some(now);
        }
        if level < need {
            return false;
        }
        self.tokens = self.tokens.saturating_sub(need);
        true
    }

    /// Brings the bucket up to `now`, so that [`next_refill_at`] no longer reports a past
    /// instant once a token is there.
    ///
    /// [`next_refill_at`]: TokenBucket::next_refill_at
    pub fn refill(&mut self, now: Instant) {
        if !self.is_unlimited() && self.last.is_some_and(|l| now > l) {
            self.tokens = self.level(now);
            self.last = Some(now);
        }
    }

    /// When the next whole token will be there, if the bucket is short of one; `None` when
    /// unlimited or not empty.
    pub fn next_refill_at(&self) -> Option<Instant> {
        let last = self.last?;
        if self.is_unlimited() || self.tokens >= NANOS_PER_TOKEN {
            return None;
        }
        let missing = NANOS_PER_TOKEN - self.tokens;
        let rate = u128::from(self.rate);
        let nanos = missing.div_ceil(rate);
        Some(last + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a virtual clock still has to start at some Instant
    fn epoch() -> Instant {
        Instant::now()
    }

    #[test]
    fn unlimited_always_gives() {
        let mut b = TokenBucket::new(0);
        let t = epoch();
        assert!(b.take(u64::MAX / NANOS_PER_TOKEN as u64, t));
        assert_eq!(b.available(t), u64::MAX);
        assert_eq!(b.next_refill_at(), None);
    }

    #[test]
    fn limits_to_the_rate_on_a_virtual_clock() {
        let t0 = epoch();
        let mut b = TokenBucket::new(1000); // burst 100
        let mut taken = 0u64;
        let mut now = t0;
        // Drive it like the exporter's driver: take while possible, then sleep until refill.
        while now < t0 + Duration::from_secs(10) {
            if b.take(1, now) {
                taken += 1;
            } else {
                let next = b.next_refill_at().expect("empty bucket has a refill time");
                assert!(next > now);
                now = next;
            }
        }
        // The initial burst of 100, then one token at t0 + k ms for every k in 1..10 000.
        assert_eq!(taken, 100 + 9_999);
    }

    #[test]
    fn refill_time_is_exact_and_burst_is_capped() {
        let t0 = epoch();
        let mut b = TokenBucket::new(3); // burst 1
        assert!(b.take(1, t0));
        assert!(!b.take(1, t0));
        // 1/3 s, rounded up to the nanosecond.
        assert_eq!(
            b.next_refill_at(),
            Some(t0 + Duration::from_nanos(333_333_334))
        );
        assert_eq!(b.available(t0 + Duration::from_nanos(333_333_333)), 0);
        assert_eq!(b.available(t0 + Duration::from_nanos(333_333_334)), 1);
        // A long pause does not store more than the burst.
        assert_eq!(b.available(t0 + Duration::from_secs(3600)), 1);
        assert!(!b.take(2, t0 + Duration::from_secs(3600)), "all or nothing");
        assert!(b.take(1, t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn clock_going_backwards_does_not_mint_tokens() {
        let t0 = epoch() + Duration::from_secs(5);
        let mut b = TokenBucket::new(10); // burst 1
        assert!(b.take(1, t0));
        assert!(!b.take(1, t0 - Duration::from_secs(1)));
        assert!(!b.take(1, t0 + Duration::from_millis(99)));
        assert!(b.take(1, t0 + Duration::from_millis(100)));
    }
}
