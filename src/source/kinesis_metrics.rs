//! Kinesis input metrics published to CloudWatch at `[kinesis] metrics_level` (the seed's "KCL
//! metrics level"), the way the Kinesis Client Library publishes its own ("Monitor the Kinesis
//! Client Library with Amazon CloudWatch", Kinesis Data Streams Developer Guide):
//!
//! - the namespace is the application's name: `vpcflow-ipfix/<stream name>` (one application
//!   per stream, as a KCL worker reading one stream);
//! - every metric has a level; `NONE` sends nothing, `SUMMARY` the per-shard processing
//!   metrics, `DETAILED` adds per-call latencies and events;
//! - dimensions `Operation` (always) and `ShardId` (per-shard metrics), as KCL 2.x's
//!   `ProcessTask` metrics.
//!
//! | metric | unit | level | value per minute |
//! |---|---|---|---|
//! | `RecordsProcessed` | Count | SUMMARY | Kinesis records read from the shard |
//! | `DataBytesProcessed` | Bytes | SUMMARY | their data bytes |
//! | `MillisBehindLatest` | Milliseconds | SUMMARY | the largest `MillisBehindLatest` seen |
//! | `KinesisDataFetcher.getRecords.Success` | Count | DETAILED | GetRecords calls that succeeded |
//! | `KinesisDataFetcher.getRecords.Time` | Milliseconds | DETAILED | their mean latency |
//! | `KinesisDataFetcher.getShardIterator.Success` / `.Time` | | DETAILED | the same for GetShardIterator |
//! | `ExpiredIterator`, `ReadThrottled`, `ShardStarted`, `ShardEnded` | Count | DETAILED | iterator and lease events |
//! | `Checkpoint.Success` / `.Time` (Operation `Checkpoint`, no ShardId) | | DETAILED | checkpoint saves |
//!
//! The first three are KCL's `ProcessTask` metrics and the fetcher's are KCL's names; the events
//! are ours (this agent reads every shard itself: a shard starting or ending is its "lease").
//! `PutMetricData` takes one value per datum here (`aws::api::monitoring`), so each minute
//! sends one datum per metric and shard: a sum for counts, the mean for latencies, the maximum
//! for the lag. A shard with no GetRecords answer in a minute sends nothing for it.
//!
//! ```text
//!   handle_batch / handle_call / handle_event / handle_checkpoint   (per batch or call)
//!          │ accumulate per shard (no allocation once the shard is known)
//!          ▼
//!   every FLUSH_INTERVAL (handle_timeout) or at stop (flush):
//!     data ─► PutMetricData requests of ≤ 1000 data ─► queue (≤ MAX_QUEUED, oldest dropped)
//!          ─► poll_request (≤ MAX_IN_FLIGHT out) ─► handle_response (failures logged, dropped)
//! ```
//! Metrics are best effort: the AWS client retries a failed call; one that still fails is
//! logged and its data dropped, never retried into an ever-growing backlog.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::aws::api::monitoring::{self, Dimension, MAX_METRIC_DATA_PER_CALL, MetricDatum};
use crate::aws::request::ApiRequest;
use crate::config::config::MetricsLevel;

/// Data are sent this often: CloudWatch's standard resolution is one minute ("Metrics produced
/// by AWS services are standard resolution by default", CloudWatch User Guide, Resolution).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(60);
/// PutMetricData calls out at once per collector.
pub const MAX_IN_FLIGHT: usize = 2;
/// PutMetricData calls waiting at most; beyond, the oldest are dropped (CloudWatch unreachable
/// for a quarter of an hour should not grow the agent's memory).
pub const MAX_QUEUED: usize = 16;
/// Namespaces are `APPLICATION/<stream name>`.
pub const APPLICATION: &str = "vpcflow-ipfix";
/// The `Operation` of the per-shard metrics (KCL's `ProcessTask`).
pub const OPERATION: &str = "ProcessTask";
/// The `Operation` of the checkpoint metrics.
pub const CHECKPOINT_OPERATION: &str = "Checkpoint";

/// The namespace of a stream's metrics.
pub fn namespace_for(stream_name: &str) -> String {
    format!("{APPLICATION}/{stream_name}")
}

/// A Kinesis call whose latency DETAILED reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    GetRecords,
    GetShardIterator,
}

/// A shard event DETAILED counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardEvent {
    /// The iterator expired (not used within 5 minutes) and was replaced.
    IteratorExpired,
    /// GetRecords refused with ProvisionedThroughputExceeded.
    Throttled,
    /// The shard began to be read (its parents are done).
    Started,
    /// The shard was read to its end and its last batch acknowledged.
    Ended,
}

#[derive(Clone, Copy, Debug, Default)]
struct Calls {
    ok: u64,
    total: u64,
    millis: f64,
}

impl Calls {
    fn add(&mut self, ok: bool, latency: Duration) {
        self.total += 1;
        self.ok += u64::from(ok);
        self.millis += latency.as_secs_f64() * 1000.0;
    }

    fn mean_ms(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.millis / self.total as f64
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct ShardStats {
    /// GetRecords answers handed in this minute.
    batches: u64,
    records: u64,
    bytes: u64,
    millis_behind: Option<u64>,
    get_records: Calls,
    get_shard_iterator: Calls,
    expired: u64,
    throttled: u64,
    started: u64,
    ended: u64,
}

impl ShardStats {
    fn is_empty(&self) -> bool {
        self.batches == 0
            && self.get_records.total == 0
            && self.get_shard_iterator.total == 0
            && self.expired + self.throttled + self.started + self.ended == 0
    }
}

/// One datum before it is borrowed into a request.
struct Datum {
    name: &'static str,
    unit: &'static str,
    value: f64,
    /// Index into the shard ids; `None` for the checkpoint metrics.
    shard: Option<usize>,
}

/// Counters of the collector itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsStats {
    pub calls_sent: u64,
    pub calls_failed: u64,
    /// Calls dropped unsent (queue full) or unbuildable.
    pub calls_dropped: u64,
    pub data_sent: u64,
}

/// See the module doc.
pub struct KinesisMetrics {
    level: MetricsLevel,
    namespace: String,
    shards: BTreeMap<Box<str>, ShardStats>,
    checkpoints: Calls,
    next_flush: Option<Instant>,
    queue: VecDeque<(ApiRequest, usize)>,
    in_flight: usize,
    stats: MetricsStats,
}

impl KinesisMetrics {
    /// A collector publishing under `namespace` ([`namespace_for`]) at `level`; the first
    /// flush is [`FLUSH_INTERVAL`] after `now`.
    pub fn new(level: MetricsLevel, namespace: String, now: Instant) -> KinesisMetrics {
        KinesisMetrics {
            level,
            namespace,
            shards: BTreeMap::new(),
            checkpoints: Calls::default(),
            next_flush: (level != MetricsLevel::None).then(|| now + FLUSH_INTERVAL),
            queue: VecDeque::new(),
            in_flight: 0,
            stats: MetricsStats::default(),
        }
    }

    pub fn level(&self) -> MetricsLevel {
        self.level
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn stats(&self) -> MetricsStats {
        self.stats
    }

    fn detailed(&self) -> bool {
        self.level == MetricsLevel::Detailed
    }

    /// The shard's counters; allocates only the first time a shard is seen after a flush that
    /// found it idle.
    fn shard(&mut self, shard: &str) -> Option<&mut ShardStats> {
        if !self.shards.contains_key(shard) {
            self.shards.insert(shard.into(), ShardStats::default());
        }
        self.shards.get_mut(shard)
    }

    /// One GetRecords answer handed to the pipeline: `records` Kinesis records of `bytes` data
    /// bytes, and the answer's `MillisBehindLatest`.
    pub fn handle_batch(
        &mut self,
        shard: &str,
        records: u64,
        bytes: u64,
        millis_behind: Option<u64>,
    ) {
        if self.level == MetricsLevel::None {
            return;
        }
        let Some(s) = self.shard(shard) else { return };
        s.batches += 1;
        s.records += records;
        s.bytes += bytes;
        if let Some(m) = millis_behind {
            s.millis_behind = Some(s.millis_behind.map_or(m, |x| x.max(m)));
        }
    }

    /// One GetRecords or GetShardIterator call ended (DETAILED).
    pub fn handle_call(&mut self, shard: &str, kind: CallKind, ok: bool, latency: Duration) {
        if !self.detailed() {
            return;
        }
        let Some(s) = self.shard(shard) else { return };
        match kind {
            CallKind::GetRecords => s.get_records.add(ok, latency),
            CallKind::GetShardIterator => s.get_shard_iterator.add(ok, latency),
        }
    }

    /// An iterator or lease event of a shard (DETAILED).
    pub fn handle_event(&mut self, shard: &str, event: ShardEvent) {
        if !self.detailed() {
            return;
        }
        let Some(s) = self.shard(shard) else { return };
        match event {
            ShardEvent::IteratorExpired => s.expired += 1,
            ShardEvent::Throttled => s.throttled += 1,
            ShardEvent::Started => s.started += 1,
            ShardEvent::Ended => s.ended += 1,
        }
    }

    /// A checkpoint save ended, `latency` after it was asked for (DETAILED).
    pub fn handle_checkpoint(&mut self, ok: bool, latency: Duration) {
        if self.detailed() {
            self.checkpoints.add(ok, latency);
        }
    }

    /// The next flush.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_flush
    }

    /// Flushes when due.
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        let Some(due) = self.next_flush.filter(|d| *d <= now) else {
            return;
        };
        // The next minute from the deadline, not from a late wake-up, unless far behind.
        let next = due + FLUSH_INTERVAL;
        self.next_flush = Some(if next <= now {
            now + FLUSH_INTERVAL
        } else {
            next
        });
        self.flush(wall);
    }

    /// Turns what was collected into PutMetricData calls now (also at stop), stamped `wall`.
    pub fn flush(&mut self, wall: SystemTime) {
        if self.level == MetricsLevel::None {
            return;
        }
        let data = self.data();
        self.checkpoints = Calls::default();
        if data.is_empty() {
            self.forget_idle();
            return;
        }
        let stamp = wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64 * 1000);
        let ids: Vec<&str> = self.shards.keys().map(|k| &**k).collect();
        let dims: Vec<[Dimension<'_>; 2]> = ids
            .iter()
            .map(|id| {
                [
                    Dimension {
                        name: "Operation",
                        value: OPERATION,
                    },
                    Dimension {
                        name: "ShardId",
                        value: id,
                    },
                ]
            })
            .collect();
        let checkpoint_dims = [Dimension {
            name: "Operation",
            value: CHECKPOINT_OPERATION,
        }];
        let data: Vec<MetricDatum<'_>> = data
            .iter()
            .map(|d| MetricDatum {
                metric_name: d.name,
                value: d.value,
                unit: Some(d.unit),
                dimensions: match d.shard.and_then(|i| dims.get(i)) {
                    Some(x) => x,
                    None => &checkpoint_dims,
                },
                timestamp: Some(stamp),
                storage_resolution: None,
            })
            .collect();
        let mut built = Vec::new();
        for chunk in data.chunks(MAX_METRIC_DATA_PER_CALL) {
            match monitoring::put_metric_data(&self.namespace, chunk) {
                Ok(req) => built.push((req, chunk.len())),
                Err(e) => {
                    self.stats.calls_dropped += 1;
                    log::warn!(
                        "kinesis metrics not sent namespace={} error={e}",
                        self.namespace
                    );
                }
            }
        }
        drop(data);
        drop(dims);
        drop(ids);
        self.forget_idle();
        for call in built {
            if self.queue.len() >= MAX_QUEUED {
                self.queue.pop_front();
                self.stats.calls_dropped += 1;
                log::warn!(
                    "kinesis metrics dropped: CloudWatch calls are not going out namespace={} queued={MAX_QUEUED}",
                    self.namespace
                );
            }
            self.queue.push_back(call);
        }
    }

    /// The data of the minute, in shard order (shard indexes into `self.shards`' keys).
    fn data(&self) -> Vec<Datum> {
        let mut out = Vec::new();
        let detailed = self.detailed();
        let mut push = |name, unit, value: f64, shard| {
            out.push(Datum {
                name,
                unit,
                value,
                shard,
            })
        };
        for (i, s) in self.shards.values().enumerate() {
            let at = Some(i);
            if s.batches > 0 {
                push("RecordsProcessed", "Count", s.records as f64, at);
                push("DataBytesProcessed", "Bytes", s.bytes as f64, at);
            }
            if let Some(m) = s.millis_behind {
                push("MillisBehindLatest", "Milliseconds", m as f64, at);
            }
            if !detailed {
                continue;
            }
            for (calls, success, time) in [
                (
                    &s.get_records,
                    "KinesisDataFetcher.getRecords.Success",
                    "KinesisDataFetcher.getRecords.Time",
                ),
                (
                    &s.get_shard_iterator,
                    "KinesisDataFetcher.getShardIterator.Success",
                    "KinesisDataFetcher.getShardIterator.Time",
                ),
            ] {
                if calls.total > 0 {
                    push(success, "Count", calls.ok as f64, at);
                    push(time, "Milliseconds", calls.mean_ms(), at);
                }
            }
            for (n, name) in [
                (s.expired, "ExpiredIterator"),
                (s.throttled, "ReadThrottled"),
                (s.started, "ShardStarted"),
                (s.ended, "ShardEnded"),
            ] {
                if n > 0 {
                    push(name, "Count", n as f64, at);
                }
            }
        }
        if detailed && self.checkpoints.total > 0 {
            push(
                "Checkpoint.Success",
                "Count",
                self.checkpoints.ok as f64,
                None,
            );
            push(
                "Checkpoint.Time",
                "Milliseconds",
                self.checkpoints.mean_ms(),
                None,
            );
        }
        out
    }

    /// Shards idle for a whole minute are forgotten; the others' counters start again.
    fn forget_idle(&mut self) {
        self.shards.retain(|_, s| !s.is_empty());
        for s in self.shards.values_mut() {
            *s = ShardStats::default();
        }
    }

    /// The next PutMetricData call to send.
    pub fn poll_request(&mut self) -> Option<ApiRequest> {
        if self.in_flight >= MAX_IN_FLIGHT {
            return None;
        }
        let (req, n) = self.queue.pop_front()?;
        self.in_flight += 1;
        self.stats.calls_sent += 1;
        self.stats.data_sent += n as u64;
        Some(req)
    }

    /// A PutMetricData call ended (after the client's retries).
    pub fn handle_response(&mut self, result: Result<(), String>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Err(e) = result {
            self.stats.calls_failed += 1;
            log::warn!(
                "kinesis metrics not accepted namespace={} error={e}",
                self.namespace
            );
        }
    }

    /// Nothing queued or out.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.in_flight == 0
    }
}

#[cfg(test)]
#[path = "kinesis_metrics_tests.rs"]
mod tests;
