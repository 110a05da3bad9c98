//! The flow-log formats of each log group whose events arrive on the stream.
//!
//! A stream fed by subscription filters can carry several log groups, each written by flow
//! logs of their own formats (spec.md §A.5, §B). The group of every event is in its payload
//! (`logGroup`); the formats come from `DescribeFlowLogs` filtered by `log-group-name`, read
//! the first time a group is seen, again every 10 minutes while the group keeps sending, and at
//! once when a line fits none of them and they are more than a minute old. A group no longer
//! seen for an hour is forgotten.
//!
//! ```text
//!  (unknown) ── first event of the group ──► Wanted(due now) ── DescribeFlowLogs pages ──► Known(set)
//!                                               ▲  │ failed: again after 1 s … 5 min       │
//!                                               │  │ access denied: the v2 default          │
//!                                               │  └────────────────────────────────────────┤
//!                                               └── 10 min, or a line of no known format ───┘
//! ```
//!
//! Records of a group wait while its first read is under way (a line read without its format
//! would be lost as malformed); refreshes do not hold anything up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::flowlog::layout::Layout;
use crate::flowlog::layout_set::LayoutSet;

use super::shard::{RETRY_MAX, RETRY_MIN, backoff};

/// The formats are read again this often while the group sends.
pub const LAYOUT_REFRESH: Duration = Duration::from_secs(600);
/// A line of no known format triggers a new read of the formats if they are this old.
pub const LAYOUT_RECHECK_MIN_AGE: Duration = Duration::from_secs(60);
/// A group not seen for this long is forgotten (no more refreshes).
pub const GROUP_FORGET_AFTER: Duration = Duration::from_secs(3600);

/// One group's formats and the state of their read.
#[derive(Debug)]
pub struct GroupLayouts {
    pub set: Option<LayoutSet>,
    pub due: Instant,
    pub in_flight: bool,
    pub next_token: Option<String>,
    /// `LogFormat` strings gathered over the pages of the read in progress.
    pub gathering: Vec<String>,
    pub failures: u32,
    pub fetched_at: Option<Instant>,
    pub last_used: Instant,
}

impl GroupLayouts {
    fn new(now: Instant) -> GroupLayouts {
        GroupLayouts {
            set: None,
            due: now,
            in_flight: false,
            next_token: None,
            gathering: Vec::new(),
            failures: 0,
            fetched_at: None,
            last_used: now,
        }
    }

    fn is_due(&self, now: Instant) -> bool {
        !self.in_flight && self.due <= now
    }
}

/// Every group's formats. See the module doc.
#[derive(Debug, Default)]
pub struct LayoutCache {
    groups: HashMap<String, GroupLayouts>,
}

impl LayoutCache {
    /// The formats of `group` if known; otherwise the group is asked for and `None` returned.
    pub fn get_or_want(&mut self, group: &str, now: Instant) -> Option<&LayoutSet> {
        if !self.groups.contains_key(group) {
            self.groups
                .insert(group.to_string(), GroupLayouts::new(now));
        }
        let g = self.groups.get_mut(group)?;
        g.last_used = now;
        g.set.as_ref()
    }

    #[cfg(test)]
    pub fn get(&self, group: &str) -> Option<&GroupLayouts> {
        self.groups.get(group)
    }

    pub fn get_mut(&mut self, group: &str) -> Option<&mut GroupLayouts> {
        self.groups.get_mut(group)
    }

    /// A line of `group` fit none of its formats: true when a new read was asked for (or one
    /// is under way) and the line should wait for it; false when the formats are fresh and the
    /// line is malformed.
    pub fn recheck(&mut self, group: &str, now: Instant) -> bool {
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        if g.in_flight {
            return true;
        }
        let stale = g
            .fetched_at
            .is_some_and(|t| now.saturating_duration_since(t) >= LAYOUT_RECHECK_MIN_AGE);
        if stale {
            g.due = now;
        }
        stale || g.due <= now
    }

    /// The group whose read is due first, if one is due now; groups not seen for an hour
    /// are forgotten on the way.
    pub fn next_due(&mut self, now: Instant) -> Option<String> {
        self.groups.retain(|_, g| {
            g.in_flight || now.saturating_duration_since(g.last_used) < GROUP_FORGET_AFTER
        });
        self.groups
            .iter()
            .filter(|(_, g)| g.is_due(now))
            .min_by_key(|(_, g)| g.due)
            .map(|(name, _)| name.clone())
    }

    /// When the next read is due (for `poll_timeout`).
    pub fn next_at(&self) -> Option<Instant> {
        self.groups
            .values()
            .filter(|g| !g.in_flight)
            .map(|g| g.due)
            .min()
    }

    /// Groups whose first read is still under way or failing.
    pub fn waiting(&self) -> usize {
        self.groups.values().filter(|g| g.set.is_none()).count()
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// A page of the read arrived: more pages (false) or the read is complete (true).
    pub fn page_done(&mut self, group: &str, next_token: Option<&str>, now: Instant) -> bool {
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        g.in_flight = false;
        g.failures = 0;
        match next_token.filter(|t| !t.is_empty()) {
            Some(t) => {
                g.next_token = Some(t.to_string());
                g.due = now;
                false
            }
            None => {
                g.next_token = None;
                g.due = now + LAYOUT_REFRESH;
                true
            }
        }
    }

    /// The read is complete: the set from the formats gathered (the v2 default when none).
    pub fn finish(&mut self, group: &str, input: &str, now: Instant) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        let formats = std::mem::take(&mut g.gathering);
        let mut layouts = Vec::new();
        for f in &formats {
            match Layout::from_log_format(f) {
                Ok(l) => layouts.push(l),
                Err(e) => log::warn!(
                    "kinesis flow-log format skipped; input={input} group={group} format={f:?} error={e}"
                ),
            }
        }
        let set = if layouts.is_empty() {
            LayoutSet::new([Layout::default_v2()])
        } else {
            LayoutSet::new(layouts)
        };
        if g.set.as_ref() != Some(&set) {
            if formats.is_empty() {
                log::warn!(
                    "kinesis: no flow log of this account and region writes to the log group, assuming the default format; input={input} group={group}"
                );
            } else {
                log::info!(
                    "kinesis flow-log formats; input={input} group={group} formats={}",
                    set.len()
                );
            }
            for (a, b) in set.conflicts() {
                log::warn!(
                    "kinesis: two formats of the group cannot always be told apart, ambiguous lines take the first; input={input} group={group} first={a} second={b}"
                );
            }
        }
        g.set = Some(set);
        g.fetched_at = Some(now);
    }

    /// The read failed. `give_up`: it cannot succeed (access denied): without formats yet,
    /// use the v2 default rather than hold the stream forever.
    pub fn failed(&mut self, group: &str, give_up: bool, now: Instant) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        g.in_flight = false;
        g.gathering.clear();
        g.next_token = None;
        g.failures = g.failures.saturating_add(1);
        g.due = now + backoff(g.failures, RETRY_MIN, RETRY_MAX);
        if give_up && g.set.is_none() {
            g.set = Some(LayoutSet::new([Layout::default_v2()]));
            g.due = now + LAYOUT_REFRESH;
        }
        if g.set.is_some() {
            // Keep the formats we have; lines of no known format stop waiting for this read.
            g.fetched_at = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a virtual clock starts somewhere
    fn now() -> Instant {
        Instant::now()
    }

    #[test]
    fn a_group_is_wanted_read_refreshed_and_forgotten() {
        let t = now();
        let mut c = LayoutCache::default();
        assert!(c.get_or_want("/g", t).is_none());
        assert_eq!(c.next_due(t).as_deref(), Some("/g"));
        c.get_mut("/g").expect("group").in_flight = true;
        assert_eq!(c.next_due(t), None);
        assert!(!c.page_done("/g", Some("tok"), t));
        assert_eq!(
            c.get("/g").and_then(|g| g.next_token.as_deref()),
            Some("tok")
        );
        c.get_mut("/g").expect("group").gathering.push(
            "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}".into(),
        );
        assert!(c.page_done("/g", None, t));
        c.finish("/g", "kinesis:s", t);
        assert_eq!(c.get_or_want("/g", t).map(LayoutSet::len), Some(1));
        assert_eq!(c.next_at(), Some(t + LAYOUT_REFRESH));
        // Fresh formats: a line of no known format is malformed; a minute later it waits.
        assert!(!c.recheck("/g", t));
        assert!(c.recheck("/g", t + LAYOUT_RECHECK_MIN_AGE));
        assert_eq!(
            c.next_due(t + LAYOUT_RECHECK_MIN_AGE).as_deref(),
            Some("/g")
        );
        assert_eq!(c.next_due(t + GROUP_FORGET_AFTER), None);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn access_denied_falls_back_to_the_default_format_other_failures_retry() {
        let t = now();
        let mut c = LayoutCache::default();
        c.get_or_want("/a", t);
        c.get_or_want("/b", t);
        c.failed("/a", false, t);
        assert!(c.get_or_want("/a", t).is_none());
        assert_eq!(c.get("/a").map(|g| g.due), Some(t + RETRY_MIN));
        c.failed("/b", true, t);
        assert_eq!(
            c.get_or_want("/b", t).map(|s| s.layouts().to_vec()),
            Some(vec![Layout::default_v2()])
        );
        assert_eq!(c.waiting(), 1);
    }
}
