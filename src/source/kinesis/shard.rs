//! One shard of the stream: where reading stands, its iterator, the batch being handed to the
//! pipeline, and the batches waiting for export to acknowledge them.
//!
//! ```text
//!  Blocked ── every parent finished or no longer listed (lineage) ──► NeedIterator(now)
//!
//!  NeedIterator(at) ── at ≤ now ──► IteratorInFlight ── ShardIterator ──► Ready(at)
//!      ▲    ▲                          │ failed: NeedIterator(now + backoff)     │
//!      │    └──────────────────────────┘ position refused: from TRIM_HORIZON     │
//!      │                                                                         │ at ≤ now,
//!      │ ExpiredIteratorException, or the iterator                               │ a batch slot,
//!      │ is about to expire: AFTER the last handed record                        │ pipeline accepts
//!      │                                                                         ▼
//!      └──────────────────────────────────────────────────────────────── RecordsInFlight
//!   Ready(now + 1 s … 10 s) ◄── ProvisionedThroughputExceeded ──────────────────┤
//!   Ready(now + 1 s … 5 min) ◄── other failure ─────────────────────────────────┤
//!                                                                                │ records
//!   Ready(paced: 5 calls/s, 2 MiB/s; 1 s when caught up) ◄── all handed ── Feeding
//!                                      (can_accept false: the batch keeps its place and waits)
//!
//!  Feeding / RecordsInFlight ── NextShardIterator null (or closed and caught up) ──► Ended
//!  Ended ── every batch acknowledged ──► Finished (checkpointed; the children may start)
//! ```
//!
//! Three positions, each the sequence number of a record:
//! - `read`: the last record handed to the pipeline; a new iterator starts AFTER it;
//! - `pending`: the last record of each batch handed out but not acknowledged, oldest first;
//! - `saved`: the last record of the last acknowledged batch, which the checkpoint holds.
//!
//! Batches of one shard are read one after the other, so `pending` is in order and `saved`
//! only moves forward.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::aws::api::kinesis::ShardPosition;
use crate::config::config::StartPosition;
use crate::export::Serial;
use crate::source::Tag;

use super::batch::Batch;

/// "Each shard can support up to five read transactions per second" (Kinesis Data Streams
/// quotas): at least this long between two GetRecords of one shard.
pub const MIN_GET_RECORDS_INTERVAL: Duration = Duration::from_millis(200);
/// "… up to a maximum total data read rate of 2 MB per second" per shard (same quotas): after
/// reading `n` bytes the next call waits `n / READ_BYTES_PER_SEC` seconds.
pub const READ_BYTES_PER_SEC: u64 = 2 << 20;
/// Caught up (no records, `MillisBehindLatest` 0): the next GetRecords after this long (the
/// KCL's default `idleTimeBetweenReadsInMillis`).
pub const IDLE_WAIT: Duration = Duration::from_secs(1);
/// ProvisionedThroughputExceeded (after the client's own retries): first shard backoff,
/// doubled per throttle in a row, up to `THROTTLE_BACKOFF_MAX`.
pub const THROTTLE_BACKOFF_MIN: Duration = Duration::from_secs(1);
pub const THROTTLE_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Other failures: first retry, doubled per failure in a row, up to `RETRY_MAX`.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(300);
/// Iterators "expire five minutes after they are returned" (GetShardIterator): one older than
/// this is replaced before use rather than sent to fail.
pub const ITERATOR_MAX_AGE: Duration = Duration::from_secs(280);

/// `min × 2^(n−1)`, at most `max`.
pub fn backoff(n: u32, min: Duration, max: Duration) -> Duration {
    let doublings = n.saturating_sub(1).min(16);
    (min * (1u32 << doublings)).min(max)
}

/// When the next GetRecords of a shard may go, after a call that returned `bytes` of data.
pub fn paced(now: Instant, bytes: usize, caught_up: bool) -> Instant {
    let by_bytes = Duration::from_micros(
        u64::try_from(bytes)
            .unwrap_or(u64::MAX)
            .saturating_mul(1_000_000)
            / READ_BYTES_PER_SEC,
    );
    let mut wait = MIN_GET_RECORDS_INTERVAL.max(by_bytes);
    if caught_up {
        wait = wait.max(IDLE_WAIT);
    }
    now + wait
}

/// What a shard is doing. See the module doc.
#[derive(Debug)]
pub enum Phase {
    Blocked,
    NeedIterator { at: Instant },
    IteratorInFlight { tag: Tag },
    Ready { at: Instant },
    RecordsInFlight { tag: Tag },
    Feeding(Box<Batch>),
    Ended,
    Finished,
}

/// One shard. See the module doc.
#[derive(Debug)]
pub struct Shard {
    pub id: String,
    /// `ParentShardId` and `AdjacentParentShardId`.
    pub parents: Vec<String>,
    /// The listing gave it an `EndingSequenceNumber`: it takes no new records.
    pub closed: bool,
    /// In the last complete listing (or learned from a parent's `ChildShards` since).
    pub listed: bool,
    pub phase: Phase,
    pub iterator: Option<String>,
    pub iterator_at: Option<Instant>,
    pub read: Option<String>,
    pub saved: Option<String>,
    /// (last exported serial, last sequence number) of each batch handed out, oldest first.
    pub pending: VecDeque<(Option<Serial>, String)>,
    /// The checkpoint (or the first start) was refused as a position: with nothing read since,
    /// read from the start.
    pub from_trim_horizon: bool,
    pub failures: u32,
    pub throttles: u32,
    /// Not before this may the next GetRecords go (pacing and backoff survive a new iterator).
    pub not_before: Instant,
    pub millis_behind: Option<u64>,
}

impl Shard {
    pub fn new(id: String, parents: Vec<String>, saved: Option<String>, now: Instant) -> Shard {
        Shard {
            id,
            parents,
            closed: false,
            listed: true,
            phase: Phase::Blocked,
            iterator: None,
            iterator_at: None,
            read: saved.clone(),
            saved,
            pending: VecDeque::new(),
            from_trim_horizon: false,
            failures: 0,
            throttles: 0,
            not_before: now,
            millis_behind: None,
        }
    }

    /// A shard the checkpoint says was read to its end and acknowledged.
    pub fn finished(id: String, parents: Vec<String>, now: Instant) -> Shard {
        Shard {
            phase: Phase::Finished,
            ..Shard::new(id, parents, None, now)
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished)
    }

    pub fn is_blocked(&self) -> bool {
        matches!(self.phase, Phase::Blocked)
    }

    pub fn is_feeding(&self) -> bool {
        matches!(self.phase, Phase::Feeding(_))
    }

    /// Nothing out, nothing held, nothing owed: the shard may be forgotten.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
            && !matches!(
                self.phase,
                Phase::Feeding(_) | Phase::IteratorInFlight { .. } | Phase::RecordsInFlight { .. }
            )
    }

    /// Where a new iterator starts: after the last handed record, else the configured start
    /// (`since`: the input's first start, epoch ms, standing in for LATEST so that a restart
    /// before the first checkpoint loses nothing).
    pub fn start_position(&self, initial: StartPosition, since: i64) -> ShardPosition<'_> {
        match (&self.read, initial) {
            (Some(seq), _) => ShardPosition::AfterSequenceNumber(seq),
            (None, _) if self.from_trim_horizon => ShardPosition::TrimHorizon,
            (None, StartPosition::TrimHorizon) => ShardPosition::TrimHorizon,
            (None, StartPosition::Latest) => ShardPosition::AtTimestamp(since),
        }
    }

    /// The next call this shard wants and when: `(at, wants_records)`.
    pub fn due(&self) -> Option<(Instant, bool)> {
        match self.phase {
            Phase::NeedIterator { at } => Some((at, false)),
            Phase::Ready { at } => Some((at.max(self.not_before), true)),
            _ => None,
        }
    }

    /// Moves `saved` over every pending batch `acked` covers; how many.
    pub fn settle(&mut self, acked: Serial) -> u64 {
        let mut n = 0;
        while let Some((serial, _)) = self.pending.front() {
            if serial.is_some_and(|s| s > acked) {
                break;
            }
            if let Some((_, seq)) = self.pending.pop_front() {
                self.saved = Some(seq);
                n += 1;
            }
        }
        n
    }

    /// Ended and every batch acknowledged: finished (true if it just became so).
    pub fn check_finished(&mut self) -> bool {
        if matches!(self.phase, Phase::Ended) && self.pending.is_empty() {
            self.phase = Phase::Finished;
            self.millis_behind = None;
            return true;
        }
        false
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
    fn settle_moves_saved_in_order_and_a_batch_without_records_goes_with_the_one_before() {
        let mut s = Shard::new("shardId-000000000000".into(), Vec::new(), None, now());
        s.pending.push_back((Some(Serial(5)), "10".into()));
        s.pending.push_back((None, "11".into()));
        s.pending.push_back((Some(Serial(9)), "12".into()));
        assert_eq!(s.settle(Serial(4)), 0);
        assert_eq!(s.saved, None);
        assert_eq!(s.settle(Serial(8)), 2);
        assert_eq!(s.saved.as_deref(), Some("11"));
        assert_eq!(s.settle(Serial(9)), 1);
        assert_eq!(s.saved.as_deref(), Some("12"));
        assert!(s.pending.is_empty());
    }

    #[test]
    fn start_position_prefers_what_was_read_then_the_setting() {
        let mut s = Shard::new("s".into(), Vec::new(), Some("77".into()), now());
        assert_eq!(
            s.start_position(StartPosition::Latest, 5),
            ShardPosition::AfterSequenceNumber("77")
        );
        s.read = None;
        assert_eq!(
            s.start_position(StartPosition::Latest, 5),
            ShardPosition::AtTimestamp(5)
        );
        assert_eq!(
            s.start_position(StartPosition::TrimHorizon, 5),
            ShardPosition::TrimHorizon
        );
        s.from_trim_horizon = true;
        assert_eq!(
            s.start_position(StartPosition::Latest, 5),
            ShardPosition::TrimHorizon
        );
        s.read = Some("78".into());
        assert_eq!(
            s.start_position(StartPosition::Latest, 5),
            ShardPosition::AfterSequenceNumber("78")
        );
    }

    #[test]
    fn pacing_follows_calls_per_second_bytes_per_second_and_idle() {
        let t = now();
        assert_eq!(paced(t, 0, false), t + MIN_GET_RECORDS_INTERVAL);
        assert_eq!(paced(t, 0, true), t + IDLE_WAIT);
        // 4 MiB read: two seconds of the shard's 2 MiB/s.
        assert_eq!(paced(t, 4 << 20, false), t + Duration::from_secs(2));
        assert_eq!(paced(t, 4 << 20, true), t + Duration::from_secs(2));
        assert_eq!(paced(t, 100 << 10, false), t + MIN_GET_RECORDS_INTERVAL);
    }

    #[test]
    fn backoff_doubles_to_its_cap() {
        let b = |n| backoff(n, THROTTLE_BACKOFF_MIN, THROTTLE_BACKOFF_MAX);
        assert_eq!(b(1), Duration::from_secs(1));
        assert_eq!(b(2), Duration::from_secs(2));
        assert_eq!(b(4), Duration::from_secs(8));
        assert_eq!(b(5), THROTTLE_BACKOFF_MAX);
        assert_eq!(b(u32::MAX), THROTTLE_BACKOFF_MAX);
    }
}
