//! The calls of the Kinesis input and what their answers do: the shard listing (ListShards),
//! iterators (GetShardIterator), records (GetRecords, then handed to the pipeline by `batch`),
//! the log groups' formats (DescribeFlowLogs) and the enhanced fan-out consumer.

use std::fmt;
use std::time::SystemTime;

use crate::aws::api::base64;
use crate::aws::api::ec2::{self, DescribeInput, Filter};
use crate::aws::api::kinesis::{
    self, ConsumerRef, GetRecordsInput, GetShardIteratorInput, ListShardsInput, StreamRef,
};
use crate::aws::client::{ApiResponse, AwsCallError, CallOptions};
use crate::aws::error::AwsError;
use crate::aws::retry::{self, Failure, Verdict};
use crate::config::config::StartPosition;
use crate::source::kinesis_metrics::ShardEvent;
use crate::source::{Ctx, Outgoing, Tag};

use super::batch::{Batch, Fed, Feeder, Then, feed};
use super::consumer::ConsumerPhase;
use super::lineage::{self, Listed};
use super::shard::{
    ITERATOR_MAX_AGE, Phase, RETRY_MAX, RETRY_MIN, THROTTLE_BACKOFF_MAX, THROTTLE_BACKOFF_MIN,
    backoff, paced,
};
use super::{BACKPRESSURE_RECHECK, KinesisInput, LISTING_INTERVAL, MAX_BATCHES, Pending};

/// A flow log without `LogFormat` writes the default format (spec.md §A.5).
const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

/// Whether the service asked us to slow down.
fn is_throttle(e: &AwsError, wall: SystemTime) -> bool {
    matches!(
        retry::classify(Failure::Aws(e), wall),
        Verdict::Retry { throttle: true }
    )
}

fn code_of(result: &AwsCallError) -> Option<&AwsError> {
    result.aws_error()
}

impl KinesisInput {
    // ------------------------------------------------------------ requests

    pub(super) fn list_shards(&mut self) -> Outgoing {
        self.listing.in_flight = true;
        let request = kinesis::list_shards(&ListShardsInput {
            stream: StreamRef::Name(&self.settings.stream_name),
            next_token: self.listing.next_token.as_deref(),
            stream_with_next_token: self.settings.list_shards_stream_with_next_token,
            exclusive_start_shard_id: None,
            shard_filter: None,
            max_results: None,
        });
        let options = CallOptions::buffered(kinesis::MAX_CONTROL_RESPONSE_BYTES);
        self.out(request, options, Pending::Shards)
    }

    pub(super) fn describe_flow_logs(&mut self, group: String) -> Outgoing {
        let mut next_token = None;
        if let Some(g) = self.layouts.get_mut(&group) {
            g.in_flight = true;
            next_token = g.next_token.clone();
        }
        let values = [group.as_str()];
        let filters = [Filter {
            name: "log-group-name",
            values: &values,
        }];
        let request = ec2::describe_flow_logs(&DescribeInput {
            filters: &filters,
            next_token: next_token.as_deref(),
            ..DescribeInput::default()
        });
        let options = CallOptions::buffered(ec2::MAX_RESPONSE_BYTES);
        self.out(request, options, Pending::FlowLogs { group })
    }

    pub(super) fn consumer_call(&mut self) -> Outgoing {
        let (arn, name) = (&self.settings.stream_arn, &self.settings.consumer_name);
        let phase = self.consumer.as_ref().map(|c| c.phase);
        let request = match phase {
            Some(ConsumerPhase::Describing) => {
                kinesis::describe_stream_consumer(ConsumerRef::Name {
                    stream_arn: arn,
                    consumer_name: name,
                })
            }
            _ => kinesis::register_stream_consumer(arn, name),
        };
        if let Some(c) = self.consumer.as_mut() {
            c.in_flight = true;
        }
        let options = CallOptions::buffered(kinesis::MAX_CONTROL_RESPONSE_BYTES);
        self.out(request, options, Pending::Consumer)
    }

    /// The shard call due first: an iterator, or records (if a batch slot is free and the
    /// pipeline takes lines).
    pub(super) fn shard_call(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        let now = self.now;
        let slots = self.batches_busy() < MAX_BATCHES;
        let accepting = ctx.pipeline.can_accept(now);
        let mut best: Option<(std::time::Instant, &str, bool)> = None;
        let mut held_back = false;
        for (id, s) in &self.shards {
            let Some((at, records)) = s.due() else {
                continue;
            };
            if at > now || (records && !slots) {
                continue;
            }
            if records && !accepting {
                held_back = true;
                continue;
            }
            if best.is_none_or(|(b, _, _)| at < b) {
                best = Some((at, id.as_str(), records));
            }
        }
        if held_back {
            // Backpressure: nothing new while export is full.
            self.recheck_at = Some(now + BACKPRESSURE_RECHECK);
        }
        let (_, id, records) = best?;
        let id = id.to_string();
        let s = self.shards.get_mut(&id)?;
        let fresh = s
            .iterator_at
            .is_some_and(|t| now.saturating_duration_since(t) < ITERATOR_MAX_AGE);
        if records && s.iterator.is_some() && fresh {
            return self.get_records(id);
        }
        // No iterator, or one about to expire: a new one after the last handed record.
        s.iterator = None;
        self.get_shard_iterator(id)
    }

    fn get_shard_iterator(&mut self, id: String) -> Option<Outgoing> {
        let s = self.shards.get(&id)?;
        let position = s.start_position(self.settings.initial_position, self.since);
        log::debug!(
            "kinesis shard iterator; input={} shard={id} position={position:?}",
            self.name
        );
        let request = kinesis::get_shard_iterator(&GetShardIteratorInput {
            stream: StreamRef::Name(&self.settings.stream_name),
            shard_id: &id,
            position,
        });
        let options = CallOptions::buffered(kinesis::MAX_CONTROL_RESPONSE_BYTES);
        let pending = Pending::Iterator {
            shard: id.clone(),
            sent: self.now,
        };
        let out = self.out(request, options, pending);
        if let Some(s) = self.shards.get_mut(&id) {
            s.phase = Phase::IteratorInFlight { tag: out.tag };
        }
        Some(out)
    }

    fn get_records(&mut self, id: String) -> Option<Outgoing> {
        let s = self.shards.get(&id)?;
        let request = kinesis::get_records(&GetRecordsInput {
            shard_iterator: s.iterator.as_deref()?,
            limit: Some(self.settings.records_per_call),
            stream_arn: None,
        });
        let options = CallOptions::buffered(kinesis::GET_RECORDS_MAX_RESPONSE_BYTES);
        let pending = Pending::Records {
            shard: id.clone(),
            sent: self.now,
        };
        let out = self.out(request, options, pending);
        if let Some(s) = self.shards.get_mut(&id) {
            s.phase = Phase::RecordsInFlight { tag: out.tag };
        }
        Some(out)
    }

    // ------------------------------------------------------------ answers

    pub(super) fn on_shards(&mut self, result: Result<ApiResponse, AwsCallError>) {
        let now = self.now;
        self.listing.in_flight = false;
        let body = match result {
            Ok(r) => r.body,
            Err(e) => {
                if code_of(&e).is_some_and(|a| a.is_code("ExpiredNextTokenException")) {
                    // The listing took longer than a token lives (300 s): start it again.
                    self.listing.next_token = None;
                    self.listing.gathered.clear();
                    self.listing.due = now;
                    return;
                }
                return self.listing_failed(&e);
            }
        };
        let out = match kinesis::parse_list_shards(&body) {
            Ok(out) => out,
            Err(e) => return self.listing_failed(&e),
        };
        self.listing.failures = 0;
        for sh in &out.shards {
            let parents = [&sh.parent_shard_id, &sh.adjacent_parent_shard_id]
                .into_iter()
                .flatten()
                .filter(|p| !p.is_empty())
                .map(|p| p.to_string())
                .collect();
            self.listing.gathered.push(Listed {
                id: sh.shard_id.to_string(),
                parents,
                closed: sh.is_closed(),
            });
        }
        if let Some(t) = out.next_token.as_deref().filter(|t| !t.is_empty()) {
            self.listing.next_token = Some(t.to_string());
            self.listing.due = now;
            return;
        }
        self.listing.next_token = None;
        self.listing.due = now + LISTING_INTERVAL;
        let listed = std::mem::take(&mut self.listing.gathered);
        let count = listed.len();
        let r = lineage::reconcile(&mut self.shards, listed, &mut self.restored, now);
        if !self.listing.complete_once || r.added > 0 || r.removed > 0 {
            log::info!(
                "kinesis shards; input={} listed={count} new={} gone={}",
                self.name,
                r.added,
                r.removed
            );
        }
        if !self.listing.complete_once || r.removed > 0 {
            // Checkpoint entries of trimmed shards are dropped.
            self.dirty();
        }
        self.listing.complete_once = true;
    }

    fn listing_failed(&mut self, err: &dyn fmt::Display) {
        self.call_failed("kinesis:ListShards", err);
        self.listing.failures = self.listing.failures.saturating_add(1);
        self.listing.due = self.now + backoff(self.listing.failures, RETRY_MIN, RETRY_MAX);
    }

    pub(super) fn on_iterator(
        &mut self,
        id: &str,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
    ) {
        let (now, wall) = (self.now, self.wall);
        let initial = self.settings.initial_position;
        let Some(s) = self.shards.get_mut(id) else {
            return;
        };
        if !matches!(s.phase, Phase::IteratorInFlight { tag: t } if t == tag) {
            return;
        }
        let err = match result {
            Ok(r) => match kinesis::parse_get_shard_iterator(&r.body) {
                Ok(out) => match out.shard_iterator {
                    Some(it) if !it.is_empty() => {
                        if s.iterator_at.is_none() {
                            self.metrics.handle_event(id, ShardEvent::Started);
                        }
                        s.iterator = Some(it.into_owned());
                        s.iterator_at = Some(now);
                        s.failures = 0;
                        s.phase = Phase::Ready { at: now };
                        return;
                    }
                    _ => "no ShardIterator in the answer".to_string(),
                },
                Err(e) => e.to_string(),
            },
            Err(e) => {
                let aws = code_of(&e);
                let positioned =
                    s.read.is_some() || (!s.from_trim_horizon && initial == StartPosition::Latest);
                if positioned && aws.is_some_and(|a| a.is_code("InvalidArgumentException")) {
                    // A sequence number not of this shard (stream deleted and created again
                    // under the same name?) or a timestamp refused: read what the shard has.
                    log::warn!(
                        "kinesis shard position refused, reading the shard from TRIM_HORIZON; input={} shard={id} position={:?} error={e}",
                        self.name,
                        s.start_position(initial, self.since)
                    );
                    s.read = None;
                    s.from_trim_horizon = true;
                    s.phase = Phase::NeedIterator { at: now };
                    return;
                }
                if aws.is_some_and(|a| is_throttle(a, wall)) {
                    s.throttles = s.throttles.saturating_add(1);
                    self.counters.throttles += 1;
                    let wait = backoff(s.throttles, THROTTLE_BACKOFF_MIN, THROTTLE_BACKOFF_MAX);
                    s.phase = Phase::NeedIterator { at: now + wait };
                    return;
                }
                if aws.is_some_and(|a| a.is_code("ResourceNotFoundException")) {
                    // The shard (or stream) is gone: list again.
                    self.listing.due = self.listing.due.min(now);
                }
                e.to_string()
            }
        };
        s.failures = s.failures.saturating_add(1);
        s.phase = Phase::NeedIterator {
            at: now + backoff(s.failures, RETRY_MIN, RETRY_MAX),
        };
        self.call_failed("kinesis:GetShardIterator", &format!("shard {id}: {err}"));
    }

    pub(super) fn on_records(
        &mut self,
        id: &str,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
    ) {
        let now = self.now;
        let Some(s) = self.shards.get_mut(id) else {
            return;
        };
        if !matches!(s.phase, Phase::RecordsInFlight { tag: t } if t == tag) {
            return;
        }
        if self.stopping {
            // Not handed out: the next run reads it again from the checkpoint.
            s.phase = Phase::Ready { at: now };
            return;
        }
        let body = match result {
            Ok(r) => r.body,
            Err(e) => return self.records_failed(id, &e),
        };
        let out = match kinesis::parse_get_records(&body) {
            Ok(out) => out,
            Err(e) => {
                s.failures = s.failures.saturating_add(1);
                s.phase = Phase::Ready {
                    at: now + backoff(s.failures, RETRY_MIN, RETRY_MAX),
                };
                return self.call_failed("kinesis:GetRecords", &format!("shard {id}: {e}"));
            }
        };
        s.failures = 0;
        s.throttles = 0;
        s.millis_behind = out.millis_behind_latest;
        let data_bytes: usize = out
            .records
            .iter()
            .map(|r| base64::decoded_len(r.data.as_bytes()))
            .sum();
        self.metrics.handle_batch(
            id,
            out.records.len() as u64,
            data_bytes as u64,
            out.millis_behind_latest,
        );
        let caught_up = out.records.is_empty() && out.millis_behind_latest == Some(0);
        // A closed shard read up to the tip has nothing more, even where the service (moto)
        // never answers with a null NextShardIterator.
        let end = out.is_shard_end() || (s.closed && caught_up);
        let mut batch = self.pool.pop().unwrap_or_else(|| Box::new(Batch::new(now)));
        batch.clear(Then::End);
        for r in &out.records {
            // A record whose data is not base64 is reported when its turn comes.
            let _ = batch.push(r);
        }
        let then = if end {
            Then::End
        } else {
            Then::Next(paced(now, batch.data_len(), caught_up))
        };
        batch.then = then;
        let children: Vec<(String, Vec<String>)> = out
            .child_shards
            .iter()
            .flatten()
            .map(|c| {
                let parents = c.parent_shards.iter().map(|p| p.to_string()).collect();
                (c.shard_id.to_string(), parents)
            })
            .collect();
        if end {
            s.iterator = None;
            s.iterator_at = None;
            log::info!(
                "kinesis shard read to its end, finished once its last batch is delivered; input={} shard={id} children={}",
                self.name,
                children.len()
            );
        } else {
            s.iterator = out.next_shard_iterator.as_deref().map(str::to_string);
            s.iterator_at = Some(now);
        }
        if let Then::Next(at) = then {
            s.not_before = at;
        }
        if batch.is_empty() {
            s.phase = match then {
                Then::Next(at) => Phase::Ready { at },
                Then::End => Phase::Ended,
            };
            self.pool.push(batch);
        } else {
            s.phase = Phase::Feeding(batch);
        }
        let kids = children.iter().map(|(id, p)| (id.as_str(), p.clone()));
        lineage::add_children(&mut self.shards, kids, &mut self.restored, now);
    }

    fn records_failed(&mut self, id: &str, e: &AwsCallError) {
        let (now, wall) = (self.now, self.wall);
        let aws = code_of(e);
        let Some(s) = self.shards.get_mut(id) else {
            return;
        };
        if aws.is_some_and(|a| a.is_code("ExpiredIteratorException")) {
            self.counters.expired_iterators += 1;
            self.metrics.handle_event(id, ShardEvent::IteratorExpired);
            log::info!(
                "kinesis iterator expired, a new one after the last handed record; input={} shard={id} after={}",
                self.name,
                s.read.as_deref().unwrap_or("-")
            );
            s.iterator = None;
            s.phase = Phase::NeedIterator { at: now };
            return;
        }
        if aws.is_some_and(|a| is_throttle(a, wall)) {
            s.throttles = s.throttles.saturating_add(1);
            self.counters.throttles += 1;
            self.metrics.handle_event(id, ShardEvent::Throttled);
            let at = now + backoff(s.throttles, THROTTLE_BACKOFF_MIN, THROTTLE_BACKOFF_MAX);
            log::debug!(
                "kinesis shard throttled, backing off; input={} shard={id} throttles={} until_ms={}",
                self.name,
                s.throttles,
                (at - now).as_millis()
            );
            s.not_before = at;
            s.phase = Phase::Ready { at };
            return;
        }
        if aws.is_some_and(|a| a.is_code("ResourceNotFoundException")) {
            self.listing.due = self.listing.due.min(now);
        }
        s.failures = s.failures.saturating_add(1);
        s.phase = Phase::Ready {
            at: now + backoff(s.failures, RETRY_MIN, RETRY_MAX),
        };
        self.call_failed("kinesis:GetRecords", &format!("shard {id}: {e}"));
    }

    pub(super) fn on_flow_logs(&mut self, group: &str, result: Result<ApiResponse, AwsCallError>) {
        let now = self.now;
        let body = match result {
            Ok(r) => r.body,
            Err(e) => {
                self.layouts.failed(group, e.is_access_denied(), now);
                return self.call_failed("ec2:DescribeFlowLogs", &format!("group {group}: {e}"));
            }
        };
        let out = match ec2::parse_describe_flow_logs(&body) {
            Ok(out) => out,
            Err(e) => {
                self.layouts.failed(group, false, now);
                return self.call_failed("ec2:DescribeFlowLogs", &format!("group {group}: {e}"));
            }
        };
        if let Some(g) = self.layouts.get_mut(group) {
            for fl in &out.flow_logs {
                let to_cwl = fl
                    .log_destination_type
                    .is_none_or(|t| t == "cloud-watch-logs");
                let to_group = fl.log_group_name.as_deref() == Some(group)
                    || fl.log_destination.as_deref().is_some_and(|d| {
                        d.trim_end_matches(":*")
                            .rsplit_once(":log-group:")
                            .is_some_and(|(_, name)| name == group)
                    });
                if to_cwl && to_group {
                    let format = fl.log_format.as_deref().unwrap_or(DEFAULT_FORMAT);
                    g.gathering.push(format.to_string());
                }
            }
        }
        if self.layouts.page_done(group, out.next_token, now) {
            self.layouts.finish(group, &self.name, now);
        }
    }

    pub(super) fn on_consumer(&mut self, result: Result<ApiResponse, AwsCallError>) {
        let now = self.now;
        let Some(c) = self.consumer.as_mut() else {
            return;
        };
        let phase = c.phase;
        let err = match result {
            Ok(r) => {
                let parsed = match phase {
                    ConsumerPhase::Describing => kinesis::parse_describe_stream_consumer(&r.body)
                        .map(|o| o.consumer_description),
                    _ => kinesis::parse_register_stream_consumer(&r.body).map(|o| o.consumer),
                };
                match parsed {
                    Ok(consumer) => {
                        if c.reported(&consumer.consumer_arn, &consumer.consumer_status, now) {
                            log::info!(
                                "kinesis enhanced fan-out consumer ACTIVE; records are read with GetRecords polling until SubscribeToShard is implemented; input={} consumer={}",
                                self.name,
                                consumer.consumer_arn
                            );
                        }
                        return;
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => {
                let aws = code_of(&e);
                if phase == ConsumerPhase::Registering
                    && aws.is_some_and(|a| a.is_code("ResourceInUseException"))
                {
                    // Registered before (an earlier run): describe it.
                    c.switch(ConsumerPhase::Describing, now);
                    return;
                }
                if phase == ConsumerPhase::Describing
                    && aws.is_some_and(|a| a.is_code("ResourceNotFoundException"))
                {
                    c.switch(ConsumerPhase::Registering, now);
                    return;
                }
                e.to_string()
            }
        };
        c.failed(now);
        let call = match phase {
            ConsumerPhase::Describing => "kinesis:DescribeStreamConsumer",
            _ => "kinesis:RegisterStreamConsumer",
        };
        self.call_failed(call, &err);
    }

    // ------------------------------------------------------------ handing batches out

    /// Hands held batches to the pipeline as far as it accepts them, finishes shards whose
    /// last batch is acknowledged, and starts children whose parents are done.
    pub(super) fn pump(&mut self, ctx: &mut Ctx<'_>) {
        let feeding: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, s)| s.is_feeding())
            .map(|(id, _)| id.clone())
            .collect();
        for id in feeding {
            let Some(s) = self.shards.get_mut(&id) else {
                continue;
            };
            let Phase::Feeding(batch) = &mut s.phase else {
                continue;
            };
            let mut feeder = Feeder {
                decoder: &mut self.decoder,
                layouts: &mut self.layouts,
                counters: &mut self.counters,
                source: &mut self.source,
                input: &self.name,
                shard: &s.id,
                stopping: self.stopping,
            };
            match feed(batch, &mut feeder, ctx) {
                Fed::Done => self.batch_done(&id),
                Fed::Full => self.recheck_at = Some(ctx.now + BACKPRESSURE_RECHECK),
                Fed::Layouts if self.stopping => {
                    // Its formats cannot come now: the batch is left to the next run.
                    if let Phase::Feeding(b) =
                        std::mem::replace(&mut s.phase, Phase::Ready { at: ctx.now })
                    {
                        self.pool.push(b);
                    }
                }
                Fed::Layouts => {}
            }
        }
        let mut finished = false;
        for s in self.shards.values_mut() {
            if s.check_finished() {
                finished = true;
                self.metrics.handle_event(&s.id, ShardEvent::Ended);
                log::info!("kinesis shard finished; input={} shard={}", self.name, s.id);
            }
        }
        if finished {
            self.dirty();
        }
        if self.listing.complete_once && !self.stopping {
            lineage::unblock(&mut self.shards, ctx.now);
        }
    }

    /// Every record of a shard's batch is out: queue its position, free the batch.
    fn batch_done(&mut self, id: &str) {
        let acked = self.acked;
        let Some(s) = self.shards.get_mut(id) else {
            return;
        };
        let Phase::Feeding(batch) = std::mem::replace(&mut s.phase, Phase::Ended) else {
            return;
        };
        if let Some(last) = batch.last_seq() {
            s.pending.push_back((batch.last_serial, last.to_string()));
            s.read = Some(last.to_string());
        }
        s.phase = match batch.then {
            Then::Next(at) => Phase::Ready { at },
            Then::End => Phase::Ended,
        };
        let settled = s.settle(acked);
        self.pool.push(batch);
        if settled > 0 {
            self.counters.units_acked += settled;
            self.dirty();
        }
    }
}
