//! The Kinesis Data Streams input: one stream that CloudWatch Logs subscription filters feed
//! with VPC flow logs (the seed's "Kinesis Stream Configuration"; spec.md §B, §D.5), read shard
//! by shard with GetRecords.
//!
//! Stream level:
//!
//! ```text
//!  Listing ── ListShards pages (NextToken; `stream_with_next_token` for moto) ──► Reading
//!     ▲  failed: again after 1 s … 5 min                                            │
//!     └──────────── every 60 s: ListShards again (reshards: new children) ──────────┘
//!
//!  with enhanced_fan_out: the consumer is registered beside this (`consumer`), reading
//!  does not wait for it
//! ```
//!
//! Per shard (`shard`): an iterator from the checkpoint (AFTER_SEQUENCE_NUMBER), else from
//! `initial_position`; GetRecords at most 5 calls/s and 2 MiB/s per shard, 1 s apart when caught
//! up; ProvisionedThroughputExceeded backs that shard off; an expired iterator is replaced by
//! one AFTER the last record handed to the pipeline; a closed shard read to its end (null
//! `NextShardIterator`) is finished once its last batch is acknowledged, and only then do its
//! children start (`lineage`). A shard the listing shows closed that answers no records and
//! `MillisBehindLatest` 0 is read to its end too: nothing can follow, and moto never answers a
//! closed shard with a null `NextShardIterator`.
//!
//! `initial_position = LATEST` is read as "from the input's first start": the start time is
//! kept in the checkpoint and shards without a checkpoint begin AT_TIMESTAMP of it, so a
//! restart (or a reshard) before the first checkpoint loses nothing that arrived after the
//! first start. TRIM_HORIZON begins at the oldest record.
//!
//! Each record is a CloudWatch Logs subscription payload (`cwl_payload`): every log event of a
//! `DATA_MESSAGE` is one flow-log line, matched to the formats of its log group's flow logs
//! (`layouts`: DescribeFlowLogs per group); `CONTROL_MESSAGE`s are skipped; a record that does
//! not decode is counted and logged with its sequence number (`batch`).
//!
//! Delivery (design.md): a batch's last sequence number becomes the shard's checkpoint only
//! when `handle_acked` covers the batch's last exported serial; batches of a shard are read one
//! after the other, so checkpoints advance in order. After a crash, what repeats is what was
//! read after the last checkpoint. Backpressure: when the pipeline refuses a line, the batch
//! keeps its place (record and event) and no new GetRecords goes out for that shard; at most
//! `MAX_BATCHES` batches are held or requested at once, whatever the number of shards.
//!
//! Enhanced fan-out: SubscribeToShard needs HTTP/2 and an event-stream decoder, which this
//! build does not have. With `enhanced_fan_out = true` the consumer is registered (and waited
//! for until ACTIVE), and records are still read with GetRecords polling; the log says so.
//!
//! Lag: the largest `MillisBehindLatest` over the shards being read.
//!
//! Metrics (`[kinesis] metrics_level`): the input feeds a [`KinesisMetrics`] collector —
//! records, data bytes and `MillisBehindLatest` of each GetRecords answer, call latencies,
//! iterator expiries, throttles, shards started and ended, checkpoint saves — and sends its
//! PutMetricData calls (namespace `vpcflow-ipfix/<stream>`) among its own, to the stream's
//! Region; a minute's data at a time, and what is left at stop.
//!
//! - `batch`: one GetRecords batch and handing its events to the pipeline.
//! - `consumer`: the enhanced fan-out consumer registration.
//! - `layouts`: the flow-log formats per log group.
//! - `lineage`: which shards exist and which may be read (parents before children).
//! - `reading`: the calls and what their answers do.
//! - `shard`: one shard's positions, iterator and phase.

mod batch;
mod consumer;
mod layouts;
mod lineage;
mod reading;
mod shard;

pub use consumer::DESCRIBE_INTERVAL;
pub use layouts::{LAYOUT_RECHECK_MIN_AGE, LAYOUT_REFRESH};
pub use shard::{
    IDLE_WAIT, ITERATOR_MAX_AGE, MIN_GET_RECORDS_INTERVAL, READ_BYTES_PER_SEC, RETRY_MAX,
    RETRY_MIN, THROTTLE_BACKOFF_MAX, THROTTLE_BACKOFF_MIN,
};

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use crate::aws::client::{ApiResponse, AwsCallError};
use crate::config::config::{MetricsLevel, StartPosition};
use crate::export::Serial;
use crate::source::cwl_payload::CwlDecoder;
use crate::source::kinesis_metrics::{CallKind, KinesisMetrics, namespace_for};
use crate::source::{Ctx, Input, InputStatus, Outgoing, Tag};
use batch::Batch;
use consumer::{ConsumerPhase, ConsumerReg};
use layouts::LayoutCache;
use lineage::{Listed, Restored};
use shard::{Phase, Shard};

/// The consumer name registered for enhanced fan-out unless configured (the seed's agent uses
/// `EDFN_KINESIS_VPC_FLOW_LOG_CONSUMER`; a name of our own keeps the two apart).
pub const DEFAULT_CONSUMER_NAME: &str = "VPCFLOW_IPFIX_KINESIS_VPC_FLOW_LOG_CONSUMER";
/// GetRecords `Limit` unless configured.
pub const DEFAULT_RECORDS_PER_CALL: u32 = 1000;
/// Shards are listed again this often (reshards).
pub const LISTING_INTERVAL: Duration = Duration::from_secs(60);
/// GetRecords out plus batches held, per input: bounds memory (a batch is at most 10 MiB of
/// data, `kinesis::GET_RECORDS_MAX_DATA_BYTES`) whatever the number of shards.
pub const MAX_BATCHES: usize = 4;
/// While the pipeline refuses lines, look again this often.
const BACKPRESSURE_RECHECK: Duration = Duration::from_millis(50);
/// A failed call stays in the status line this long.
const ERROR_SHOWN: Duration = Duration::from_secs(600);
const CHECKPOINT_VERSION: u64 = 1;

/// What the input needs to know (`[input kinesis:…]`, `[kinesis]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KinesisSettings {
    pub stream_name: String,
    pub stream_arn: String,
    /// Where a shard with no checkpoint starts.
    pub initial_position: StartPosition,
    /// Register a stream consumer (see the module doc).
    pub enhanced_fan_out: bool,
    pub consumer_name: String,
    /// Send the stream name along with ListShards' `NextToken` (moto needs it; AWS refuses it).
    pub list_shards_stream_with_next_token: bool,
    /// GetRecords `Limit` (1..=10 000).
    pub records_per_call: u32,
    /// `[kinesis] metrics_level`: what goes to CloudWatch.
    pub metrics_level: MetricsLevel,
}

impl KinesisSettings {
    /// Settings for `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` with the defaults; `None` if
    /// that is not a stream ARN.
    pub fn new(stream_arn: &str) -> Option<KinesisSettings> {
        Some(KinesisSettings {
            stream_name: stream_name(stream_arn)?.to_string(),
            stream_arn: stream_arn.to_string(),
            initial_position: StartPosition::Latest,
            enhanced_fan_out: false,
            consumer_name: DEFAULT_CONSUMER_NAME.to_string(),
            list_shards_stream_with_next_token: false,
            records_per_call: DEFAULT_RECORDS_PER_CALL,
            metrics_level: MetricsLevel::None,
        })
    }
}

/// The stream name in a stream ARN.
pub fn stream_name(arn: &str) -> Option<&str> {
    let (head, name) = arn.split_once(":stream/")?;
    (head.starts_with("arn:")
        && head.contains(":kinesis:")
        && !name.is_empty()
        && !name.contains('/'))
    .then_some(name)
}

#[derive(Debug)]
enum Pending {
    Shards,
    Iterator { shard: String, sent: Instant },
    Records { shard: String, sent: Instant },
    FlowLogs { group: String },
    Consumer,
    Metrics,
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    lines_in: u64,
    records_out: u64,
    units_acked: u64,
    errors: u64,
    ambiguous: u64,
    unmatched: u64,
    control_messages: u64,
    undecodable: u64,
    throttles: u64,
    expired_iterators: u64,
}

/// The paged ListShards listing.
#[derive(Debug)]
struct Listing {
    due: Instant,
    in_flight: bool,
    next_token: Option<String>,
    gathered: Vec<Listed>,
    failures: u32,
    complete_once: bool,
}

/// The input. See the module doc.
pub struct KinesisInput {
    name: String,
    settings: KinesisSettings,
    /// Epoch ms of the input's first start (LATEST), kept across restarts.
    since: i64,
    shards: BTreeMap<String, Shard>,
    restored: Restored,
    listing: Listing,
    layouts: LayoutCache,
    consumer: Option<ConsumerReg>,
    pending: HashMap<Tag, Pending>,
    next_tag: u64,
    decoder: CwlDecoder,
    source: String,
    /// Batches move between here and a shard's `Phase::Feeding` without copying.
    #[allow(clippy::vec_box)]
    pool: Vec<Box<Batch>>,
    acked: Serial,
    now: Instant,
    wall: SystemTime,
    recheck_at: Option<Instant>,
    stopping: bool,
    change_seq: u64,
    saved_seq: u64,
    snapshot_seq: Cell<u64>,
    counters: Counters,
    last_error: Option<(Instant, String)>,
    metrics: KinesisMetrics,
    /// When the checkpoint document now being saved was asked for (checkpoint latency).
    checkpoint_asked: Cell<Option<Instant>>,
    /// At stop the collector's last minute is flushed once.
    metrics_flushed: bool,
}

fn epoch_ms(wall: SystemTime) -> i64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl KinesisInput {
    /// A new input; `saved` is what `checkpoint` returned in an earlier run.
    pub fn new(
        mut settings: KinesisSettings,
        saved: Option<&Value>,
        now: Instant,
        wall: SystemTime,
    ) -> KinesisInput {
        settings.records_per_call = settings
            .records_per_call
            .clamp(1, crate::aws::api::kinesis::GET_RECORDS_MAX_LIMIT);
        let name = format!("kinesis:{}", settings.stream_name);
        let restored = saved.and_then(|v| {
            let r = restore(v, &settings.stream_name);
            if r.is_none() {
                log::warn!("kinesis checkpoint ignored, not ours or damaged; input={name}");
            }
            r
        });
        let fresh = restored.is_none();
        let (since, restored) = restored.unwrap_or_else(|| (epoch_ms(wall), Restored::default()));
        let consumer = settings.enhanced_fan_out.then(|| {
            log::warn!(
                "kinesis enhanced fan-out: the consumer is registered, but SubscribeToShard (HTTP/2 event stream) is not implemented in this build; records are read with GetRecords polling; input={name} consumer={}",
                settings.consumer_name
            );
            ConsumerReg::new(now)
        });
        KinesisInput {
            name,
            since,
            shards: BTreeMap::new(),
            restored,
            listing: Listing {
                due: now,
                in_flight: false,
                next_token: None,
                gathered: Vec::new(),
                failures: 0,
                complete_once: false,
            },
            layouts: LayoutCache::default(),
            consumer,
            pending: HashMap::new(),
            next_tag: 0,
            decoder: CwlDecoder::default(),
            source: String::new(),
            pool: Vec::new(),
            acked: Serial(0),
            now,
            wall,
            recheck_at: None,
            stopping: false,
            // A first run saves its start at once: LATEST means "since then" after a restart.
            change_seq: u64::from(fresh),
            saved_seq: 0,
            snapshot_seq: Cell::new(0),
            counters: Counters::default(),
            last_error: None,
            metrics: KinesisMetrics::new(
                settings.metrics_level,
                namespace_for(&settings.stream_name),
                now,
            ),
            checkpoint_asked: Cell::new(None),
            metrics_flushed: false,
            settings,
        }
    }

    /// The CloudWatch metrics collector of this input.
    pub fn metrics(&self) -> &KinesisMetrics {
        &self.metrics
    }

    /// The shards known now.
    pub fn shard_ids(&self) -> impl Iterator<Item = &str> {
        self.shards.keys().map(String::as_str)
    }

    /// A shard's checkpointed sequence number.
    pub fn saved_position(&self, shard: &str) -> Option<&str> {
        self.shards.get(shard).and_then(|s| s.saved.as_deref())
    }

    /// Whether a shard was read to its end and every batch of it acknowledged.
    pub fn is_finished(&self, shard: &str) -> bool {
        self.shards.get(shard).is_some_and(Shard::is_finished)
    }

    /// The enhanced fan-out consumer's ARN once registered.
    pub fn consumer_arn(&self) -> Option<&str> {
        self.consumer.as_ref().and_then(|c| c.arn.as_deref())
    }

    fn touch(&mut self, ctx: &Ctx<'_>) {
        self.now = ctx.now;
        self.wall = ctx.wall;
    }

    fn dirty(&mut self) {
        self.change_seq += 1;
    }

    fn out(
        &mut self,
        request: crate::aws::request::ApiRequest,
        options: crate::aws::client::CallOptions,
        p: Pending,
    ) -> Outgoing {
        self.next_tag += 1;
        let tag = Tag(self.next_tag);
        self.pending.insert(tag, p);
        Outgoing {
            tag,
            request,
            options,
        }
    }

    /// GetRecords out plus batches being handed out.
    fn batches_busy(&self) -> usize {
        self.shards
            .values()
            .filter(|s| matches!(s.phase, Phase::RecordsInFlight { .. } | Phase::Feeding(_)))
            .count()
    }

    fn call_failed(&mut self, what: &str, err: &dyn std::fmt::Display) {
        self.counters.errors += 1;
        let text = err.to_string();
        log::warn!(
            "kinesis call failed; input={} call={what} error={text}",
            self.name
        );
        self.last_error = Some((self.now, text));
    }

    fn lag(&self) -> Option<u64> {
        self.shards
            .values()
            .filter(|s| s.listed && !s.is_finished())
            .filter_map(|s| s.millis_behind)
            .max()
    }

    fn detail(&self) -> String {
        let count = |f: fn(&Shard) -> bool| self.shards.values().filter(|s| f(s)).count();
        let mut d = if !self.listing.complete_once {
            "listing shards (kinesis:ListShards)".to_string()
        } else {
            format!(
                "{} shards ({} waiting for parents, {} finished), {} batches busy, {} log groups ({} waiting for formats), {} control messages skipped, {} undecodable records, {} ambiguous lines, {} lines of no known format, {} throttled, {} iterators expired",
                self.shards.len(),
                count(Shard::is_blocked),
                count(Shard::is_finished),
                self.batches_busy(),
                self.layouts.len(),
                self.layouts.waiting(),
                self.counters.control_messages,
                self.counters.undecodable,
                self.counters.ambiguous,
                self.counters.unmatched,
                self.counters.throttles,
                self.counters.expired_iterators,
            )
        };
        if let Some(c) = &self.consumer {
            d.push_str(match c.phase {
                ConsumerPhase::Active => {
                    ", enhanced fan-out consumer ACTIVE (read by GetRecords polling)"
                }
                _ => ", registering the enhanced fan-out consumer",
            });
        }
        if let Some((at, e)) = &self.last_error
            && self.now.saturating_duration_since(*at) < ERROR_SHOWN
        {
            d.push_str(", last error: ");
            d.push_str(e);
        }
        d
    }
}

/// `(since, positions)` from a checkpoint, `None` if it is not one of ours.
fn restore(v: &Value, stream: &str) -> Option<(i64, Restored)> {
    if v.get("version")?.as_u64()? != CHECKPOINT_VERSION {
        return None;
    }
    if v.get("stream").is_some_and(|s| s.as_str() != Some(stream)) {
        return None;
    }
    let since = v.get("since")?.as_i64()?;
    let mut out = Restored::default();
    for (shard, seq) in v.get("shards")?.as_object()? {
        match seq.as_str() {
            Some(seq) if !seq.is_empty() => {
                out.seqs.insert(shard.clone(), seq.to_string());
            }
            _ => log::warn!("kinesis checkpoint entry ignored; stream={stream} shard={shard}"),
        }
    }
    if let Some(finished) = v.get("finished") {
        for id in finished.as_array()? {
            out.finished.insert(id.as_str()?.to_string());
        }
    }
    Some((since, out))
}

impl Input for KinesisInput {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll_request(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        self.touch(ctx);
        self.recheck_at = None;
        self.pump(ctx);
        if let Some(request) = self.metrics.poll_request() {
            let options = crate::aws::client::CallOptions::buffered(
                crate::aws::api::kinesis::MAX_CONTROL_RESPONSE_BYTES,
            );
            return Some(self.out(request, options, Pending::Metrics));
        }
        if self.stopping {
            return None;
        }
        let now = self.now;
        if self.consumer.as_ref().is_some_and(|c| c.is_due(now)) {
            return Some(self.consumer_call());
        }
        if !self.listing.in_flight && self.listing.due <= now {
            return Some(self.list_shards());
        }
        if let Some(group) = self.layouts.next_due(now) {
            return Some(self.describe_flow_logs(group));
        }
        self.shard_call(ctx)
    }

    fn handle_response(
        &mut self,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
        ctx: &mut Ctx<'_>,
    ) {
        self.touch(ctx);
        match self.pending.remove(&tag) {
            Some(Pending::Shards) => self.on_shards(result),
            Some(Pending::Iterator { shard, sent }) => {
                let latency = self.now.saturating_duration_since(sent);
                let kind = CallKind::GetShardIterator;
                self.metrics
                    .handle_call(&shard, kind, result.is_ok(), latency);
                self.on_iterator(&shard, tag, result)
            }
            Some(Pending::Records { shard, sent }) => {
                let latency = self.now.saturating_duration_since(sent);
                let kind = CallKind::GetRecords;
                self.metrics
                    .handle_call(&shard, kind, result.is_ok(), latency);
                self.on_records(&shard, tag, result)
            }
            Some(Pending::FlowLogs { group }) => self.on_flow_logs(&group, result),
            Some(Pending::Consumer) => self.on_consumer(result),
            Some(Pending::Metrics) => self
                .metrics
                .handle_response(result.map(|_| ()).map_err(|e| e.to_string())),
            None => {}
        }
        self.pump(ctx);
    }

    fn handle_acked(&mut self, acked: Serial, ctx: &mut Ctx<'_>) {
        self.touch(ctx);
        self.acked = self.acked.max(acked);
        let mut settled = 0;
        for s in self.shards.values_mut() {
            settled += s.settle(self.acked);
        }
        if settled > 0 {
            self.counters.units_acked += settled;
            self.dirty();
        }
        self.pump(ctx);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| {
            if at > self.now {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        if !self.stopping {
            if !self.listing.in_flight {
                consider(self.listing.due);
            }
            if let Some(at) = self.layouts.next_at() {
                consider(at);
            }
            if let Some(at) = self.consumer.as_ref().and_then(ConsumerReg::next_at) {
                consider(at);
            }
            let slots = self.batches_busy() < MAX_BATCHES;
            for s in self.shards.values() {
                match s.due() {
                    Some((at, true)) if slots => consider(at),
                    Some((at, false)) => consider(at),
                    _ => {}
                }
            }
        }
        if let Some(at) = self.recheck_at {
            consider(at);
        }
        if let Some(at) = self.metrics.poll_timeout() {
            consider(at);
        }
        next
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.touch(ctx);
        self.recheck_at = None;
        self.metrics.handle_timeout(ctx.now, ctx.wall);
        self.pump(ctx);
    }

    fn checkpoint(&self) -> Value {
        self.snapshot_seq.set(self.change_seq);
        if self.checkpoint_asked.get().is_none() {
            self.checkpoint_asked.set(Some(self.now));
        }
        let mut shards = Map::new();
        let mut finished = Vec::new();
        for (id, seq) in &self.restored.seqs {
            shards.insert(id.clone(), Value::from(seq.as_str()));
        }
        finished.extend(self.restored.finished.iter().cloned().map(Value::from));
        for (id, s) in &self.shards {
            if s.is_finished() {
                finished.push(Value::from(id.as_str()));
            } else if let Some(seq) = &s.saved {
                shards.insert(id.clone(), Value::from(seq.as_str()));
            }
        }
        json!({
            "version": CHECKPOINT_VERSION,
            "stream": self.settings.stream_name,
            "since": self.since,
            "shards": shards,
            "finished": finished,
        })
    }

    fn is_dirty(&self) -> bool {
        self.change_seq > self.saved_seq
    }

    fn mark_saved(&mut self) {
        self.saved_seq = self.saved_seq.max(self.snapshot_seq.get());
        if let Some(asked) = self.checkpoint_asked.take() {
            let latency = self.now.saturating_duration_since(asked);
            self.metrics.handle_checkpoint(true, latency);
        }
    }

    fn status(&self) -> InputStatus {
        InputStatus {
            lines_in: self.counters.lines_in,
            records_out: self.counters.records_out,
            units_acked: self.counters.units_acked,
            errors: self.counters.errors,
            lag: self.lag(),
            detail: self.detail(),
        }
    }

    fn handle_stop(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.touch(ctx);
        self.stopping = true;
        if !self.metrics_flushed {
            // The last partial minute; sent by the next poll_request (best effort: the stop
            // does not wait for it beyond the agent's linger).
            self.metrics_flushed = true;
            self.metrics.flush(ctx.wall);
        }
        self.pump(ctx);
        self.shards
            .values()
            .all(|s| !s.is_feeding() && s.pending.is_empty())
    }
}

#[cfg(test)]
mod tests;
