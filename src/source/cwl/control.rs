//! The group-level calls of the CloudWatch Logs input, each a small paged state machine:
//! the flow logs' formats (DescribeFlowLogs), whether a Kinesis input already reads the group
//! (DescribeSubscriptionFilters), and the group's streams (DescribeLogStreams).
//!
//! ```text
//!   Idle(due) ── due, allowed ──► InFlight ── page with a next token ──► InFlight (next page)
//!      ▲                            │  └──── last page ──► done: Idle(now + period)
//!      └── failure: Idle(now + backoff 1 s … 1 min, the page to ask again kept) ┘
//! ```

use std::time::{Duration, Instant};

use crate::flowlog::layout::Layout;
use crate::flowlog::layout_set::LayoutSet;

/// First retry after a failed call; doubled per failure in a row.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest retry wait: a minute, so a stream is read again soon after a transient outage (5xx,
/// resets: the client's own retries are spent by then), while a lasting error (AccessDenied)
/// is still tried and logged only once a minute. Throttling does not back off here: the
/// request budget paces it.
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// `RETRY_MIN × 2^(failures−1)`, at most `RETRY_MAX`.
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (RETRY_MIN * (1u32 << doublings)).min(RETRY_MAX)
}

/// One paged listing: when it is due, the page to ask next, failures in a row.
#[derive(Debug)]
pub struct Paged {
    pub due: Instant,
    pub in_flight: bool,
    pub next_token: Option<String>,
    pub failures: u32,
}

impl Paged {
    pub fn new(now: Instant) -> Paged {
        Paged {
            due: now,
            in_flight: false,
            next_token: None,
            failures: 0,
        }
    }

    pub fn is_due(&self, now: Instant) -> bool {
        !self.in_flight && self.due <= now
    }

    /// A page arrived: the next one at once, or the listing is complete (true) and the next
    /// one starts after `period`.
    pub fn page_done(&mut self, next_token: Option<&str>, now: Instant, period: Duration) -> bool {
        self.in_flight = false;
        self.failures = 0;
        match next_token.filter(|t| !t.is_empty()) {
            Some(t) => {
                self.next_token = Some(t.to_string());
                self.due = now;
                false
            }
            None => {
                self.next_token = None;
                self.due = now + period;
                true
            }
        }
    }

    /// The call failed: ask for the same page again after the backoff (throttled: at once,
    /// the request budget paces it).
    pub fn failed(&mut self, now: Instant, throttled: bool) {
        self.in_flight = false;
        if throttled {
            self.due = now;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.due = now + backoff(self.failures);
        }
    }
}

/// The formats of the flow logs that write to the group.
#[derive(Debug)]
pub struct Layouts {
    pub call: Paged,
    /// `None` until the first complete DescribeFlowLogs: no GetLogEvents before that, since
    /// lines read without their format would be lost as malformed.
    pub set: Option<LayoutSet>,
    /// LogFormat strings gathered over the pages of the listing in progress.
    pub gathering: Vec<String>,
    /// When `set` was last read (or a refresh failed).
    pub fetched_at: Option<Instant>,
}

impl Layouts {
    pub fn new(now: Instant) -> Layouts {
        Layouts {
            call: Paged::new(now),
            set: None,
            gathering: Vec::new(),
            fetched_at: None,
        }
    }

    /// The listing is complete: the new set from the formats gathered (the v2 default when
    /// there is none), and whether it differs from the one before.
    pub fn finish(&mut self, group: &str, now: Instant) -> bool {
        // In the order DescribeFlowLogs lists them: an ambiguous line goes to the first.
        let formats = std::mem::take(&mut self.gathering);
        let mut layouts = Vec::new();
        for f in &formats {
            match Layout::from_log_format(f) {
                Ok(l) => layouts.push(l),
                Err(e) => log::warn!(
                    "cloudwatch logs flow-log format skipped; group={group} format={f:?} error={e}"
                ),
            }
        }
        let set = if layouts.is_empty() {
            LayoutSet::new([Layout::default_v2()])
        } else {
            LayoutSet::new(layouts)
        };
        let changed = self.set.as_ref() != Some(&set);
        if changed {
            if formats.is_empty() {
                log::warn!(
                    "cloudwatch logs: no flow log writes to this group, assuming the default format; group={group}"
                );
            } else {
                log::info!(
                    "cloudwatch logs flow-log formats; group={group} formats={}",
                    set.len()
                );
            }
            for (a, b) in set.conflicts() {
                log::warn!(
                    "cloudwatch logs: two formats of the group cannot always be told apart, ambiguous lines take the first; group={group} first={a} second={b}"
                );
            }
        }
        self.set = Some(set);
        self.fetched_at = Some(now);
        changed
    }

    /// A line matched no format: worth reading the formats again (a new flow log?) when the
    /// set is older than `min_age` and no read is under way.
    pub fn is_stale(&self, now: Instant, min_age: Duration) -> bool {
        self.fetched_at
            .is_some_and(|t| now.saturating_duration_since(t) >= min_age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(6), Duration::from_secs(32));
        assert_eq!(backoff(7), RETRY_MAX);
        assert_eq!(backoff(u32::MAX), RETRY_MAX);
    }
}
