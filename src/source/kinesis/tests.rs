//! The Kinesis input played against AWS and moto answers: `fixtures/kinesis/read/` (moto's
//! ListShards, GetShardIterator, DescribeFlowLogs, consumer calls), `fixtures/aws/responses/
//! kinesis_*` (AWS-shaped answers: a resharded listing, a closed shard's last GetRecords, the
//! throttling and expired-iterator errors), and GetRecords bodies built around the real
//! CloudWatch Logs subscription payloads of `fixtures/cwl/` and `fixtures/kinesis/payloads/`.
//! Exported flows are decoded by our IPFIX reader and compared with the payloads' lines read
//! with their own formats' column lists.
#![allow(clippy::disallowed_methods)] // the harness starts its virtual clock from the real one

#[path = "tests_control.rs"]
mod control;
#[path = "tests_faults.rs"]
mod faults;

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use ureq_proto::http::HeaderMap;

use super::*;
use crate::aws::client::{AwsCallError, LastFailure};
use crate::aws::error::AwsError;
use crate::aws::permissions::IamAction;
use crate::aws::request::{Protocol, Service};
use crate::aws::retry::{self, Failure, Verdict};
use crate::export::ExportConfig;
use crate::source::testkit::{Harness, fixture, response_body};

pub(super) const ARN: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow";
pub(super) const S0: &str = "shardId-000000000000";
pub(super) const S1: &str = "shardId-000000000001";
pub(super) const S2: &str = "shardId-000000000002";
pub(super) const S3: &str = "shardId-000000000003";

/// `(octetDeltaCount, packetDeltaCount, flowStartMilliseconds)` of a flow.
pub(super) type FlowKey = (u64, u64, u64);

pub(super) fn settings(initial: StartPosition) -> KinesisSettings {
    let mut s = KinesisSettings::new(ARN).expect("stream ARN");
    s.initial_position = initial;
    s
}

pub(super) fn moto(name: &str) -> Vec<u8> {
    response_body(&format!(
        "kinesis/read/responses/moto_kinesis_{name}.response.txt"
    ))
}

pub(super) fn moto_request(name: &str) -> Value {
    let body = response_body(&format!(
        "kinesis/read/requests/moto_kinesis_{name}.request.txt"
    ));
    serde_json::from_slice(&body).expect("json request")
}

pub(super) fn aws(name: &str) -> Vec<u8> {
    response_body(&format!("aws/responses/kinesis_{name}.response.txt"))
}

fn text(path: &str) -> String {
    String::from_utf8(fixture(path))
        .expect("utf-8")
        .trim()
        .to_string()
}

/// A subscription payload's `Data` as in a GetRecords answer (base64).
pub(super) fn data(name: &str) -> String {
    match name {
        "v5-group" => text("kinesis/payloads/v5-group-data-message.kinesis-record-data.base64.txt"),
        _ => text(&format!("cwl/{name}.kinesis-record-data.base64.txt")),
    }
}

/// The JSON inside a payload.
fn decoded(name: &str) -> Value {
    let path = match name {
        "v5-group" => "kinesis/payloads/v5-group-data-message.decoded.json".to_string(),
        _ => format!("cwl/{name}.decoded.json"),
    };
    serde_json::from_slice(&fixture(&path)).expect("json")
}

/// A 53-digit sequence number like the fixtures' (`4961…7891`).
pub(super) fn seq(n: u32) -> String {
    format!("4961234567890123456789012345678901234567890123456{n:04}")
}

/// A GetRecords answer of AWS's shape (`kinesis_GetRecords`) around real payloads.
pub(super) fn records(recs: &[(&str, &str)], next: Option<&str>, behind: u64) -> Vec<u8> {
    let records: Vec<Value> = recs
        .iter()
        .map(|(seq, data)| {
            json!({
                "SequenceNumber": seq,
                "ApproximateArrivalTimestamp": 1_768_478_702.456,
                "Data": data,
                "PartitionKey": "0e4c4e9f2f3b5c3c6f1d2a7b8e9f0a1b",
            })
        })
        .collect();
    let mut doc = json!({ "Records": records, "MillisBehindLatest": behind });
    if let Some(n) = next {
        doc["NextShardIterator"] = Value::from(n);
    }
    serde_json::to_vec(&doc).expect("json")
}

/// The iterator of `kinesis_GetShardIterator` (and a variant per use, so a test can tell
/// which one a GetRecords sent).
pub(super) fn iterator(n: u32) -> String {
    let body = aws("GetShardIterator");
    let v: Value = serde_json::from_slice(&body).expect("json");
    format!("{}{n}", v["ShardIterator"].as_str().expect("iterator"))
}

pub(super) fn iterator_body(it: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "ShardIterator": it })).expect("json")
}

/// What the lines of a payload are worth in IPFIX, each read with the column list of its own
/// format (told by its version token).
pub(super) fn oracle(name: &str) -> Vec<FlowKey> {
    let header = |f: &str| -> Vec<String> {
        let t = String::from_utf8(fixture(&format!("flowlogs/{f}"))).expect("utf-8");
        let first = t.lines().next().expect("header").to_string();
        first.split(' ').map(str::to_string).collect()
    };
    let mut out = Vec::new();
    for e in decoded(name)["logEvents"].as_array().expect("events") {
        let line = e["message"].as_str().expect("message");
        let v: Vec<&str> = line.split(' ').collect();
        let cols = match v.first() {
            Some(&"2") => header("default-v2.log"),
            Some(&"5") => header("custom-v5.log"),
            _ => continue,
        };
        let col = |n: &str| cols.iter().position(|c| c == n).expect("column");
        if v.get(col("log-status")) != Some(&"OK") {
            continue;
        }
        let n = |c: &str| v[col(c)].parse::<u64>().expect("number");
        out.push((n("bytes"), n("packets"), n("start") * 1000));
    }
    out
}

pub(super) fn sorted(mut v: Vec<FlowKey>) -> Vec<FlowKey> {
    v.sort_unstable();
    v
}

/// The exported flows, sorted.
pub(super) fn exported(h: &mut Harness) -> Vec<FlowKey> {
    let u = |r: &crate::ipfix::reader::DecodedRecord, name: &str| {
        r.get(name).and_then(|v| v.as_u64()).expect(name)
    };
    sorted(
        h.flows()
            .iter()
            .map(|r| {
                (
                    u(r, "octetDeltaCount"),
                    u(r, "packetDeltaCount"),
                    u(r, "flowStartMilliseconds"),
                )
            })
            .collect(),
    )
}

/// An AWS error answer as the client reports it once it gives up.
pub(super) fn call_error(body: &[u8], op: &'static str) -> AwsCallError {
    let e = AwsError::from_parts(Protocol::Json11, "POST", 400, &HeaderMap::new(), body);
    let action = IamAction::of(Service::Kinesis, op);
    match retry::classify(Failure::Aws(&e), SystemTime::UNIX_EPOCH) {
        Verdict::Retry { .. } => AwsCallError::Exhausted {
            action,
            attempts: 3,
            quota_empty: false,
            last: LastFailure::Aws(Box::new(e)),
        },
        _ => AwsCallError::Rejected {
            action,
            error: Box::new(e),
        },
    }
}

/// The input, the harness, and the calls it has asked for and not had answered.
pub(super) struct Sim {
    pub h: Harness,
    pub input: KinesisInput,
    pub out: Vec<Outgoing>,
}

impl Sim {
    pub fn new(cfg: ExportConfig, s: KinesisSettings, saved: Option<&Value>) -> Sim {
        let h = Harness::new(cfg);
        let input = KinesisInput::new(s, saved, h.now, h.wall);
        Sim {
            h,
            input,
            out: Vec::new(),
        }
    }

    pub fn with(s: KinesisSettings) -> Sim {
        Sim::new(ExportConfig::new(1, 1400), s, None)
    }

    /// The shard or log group a call is for.
    fn key(&self, tag: Tag) -> &str {
        match self.input.pending.get(&tag) {
            Some(Pending::Iterator { shard, .. } | Pending::Records { shard, .. }) => shard,
            Some(Pending::FlowLogs { group }) => group,
            _ => "",
        }
    }

    pub fn poll(&mut self) {
        let v = self.h.poll_all(&mut self.input);
        self.out.extend(v);
    }

    /// Outstanding calls as `Operation key`, after polling.
    pub fn calls(&mut self) -> Vec<String> {
        self.poll();
        let mut v: Vec<String> = self
            .out
            .iter()
            .map(|o| {
                let key = self.key(o.tag);
                if key.is_empty() {
                    o.request.operation.to_string()
                } else {
                    format!("{} {key}", o.request.operation)
                }
            })
            .collect();
        v.sort();
        v
    }

    /// Takes the outstanding call `op` (for `key`, a shard or group, if given).
    pub fn take(&mut self, op: &str, key: Option<&str>) -> Outgoing {
        self.poll();
        let at = self
            .out
            .iter()
            .position(|o| o.request.operation == op && key.is_none_or(|k| self.key(o.tag) == k));
        match at {
            Some(i) => self.out.remove(i),
            None => panic!("no {op} {key:?} call; outstanding: {:?}", self.calls()),
        }
    }

    pub fn respond(&mut self, o: &Outgoing, body: &[u8]) {
        self.h.respond(&mut self.input, o.tag, 200, body);
    }

    pub fn fail(&mut self, o: &Outgoing, e: AwsCallError) {
        let mut ctx = self.h.ctx();
        self.input.handle_response(o.tag, Err(e), &mut ctx);
    }

    /// Answers the ListShards call with `body`.
    pub fn list(&mut self, body: &[u8]) {
        let o = self.take("ListShards", None);
        self.respond(&o, body);
    }

    /// Answers a shard's GetShardIterator with `it`; returns the request's JSON.
    pub fn iterate(&mut self, shard: &str, it: &str) -> Value {
        let o = self.take("GetShardIterator", Some(shard));
        self.respond(&o, &iterator_body(it));
        json_of(&o)
    }

    /// Answers a shard's GetRecords with `body`; returns the request's JSON.
    pub fn read(&mut self, shard: &str, body: &[u8]) -> Value {
        let o = self.take("GetRecords", Some(shard));
        self.respond(&o, body);
        json_of(&o)
    }

    /// Answers the DescribeFlowLogs of `group` with a moto capture; returns the form body.
    pub fn formats(&mut self, group: &str, capture: &str) -> String {
        let o = self.take("DescribeFlowLogs", Some(group));
        self.respond(&o, &moto(&format!("DescribeFlowLogs_{capture}")));
        String::from_utf8(o.request.body.clone()).expect("form")
    }

    pub fn deliver(&mut self) {
        self.h.deliver(&mut self.input);
    }

    pub fn advance(&mut self, d: Duration) {
        self.h.advance(d);
        let mut ctx = self.h.ctx();
        self.input.handle_timeout(&mut ctx);
    }
}

pub(super) fn json_of(o: &Outgoing) -> Value {
    serde_json::from_slice(&o.request.body).expect("json request")
}

/// The two-shard moto stream, iterators from TRIM_HORIZON (requests as botocore sent them).
fn moto_start(sim: &mut Sim) {
    sim.list(&moto("ListShards"));
    assert_eq!(
        sim.calls(),
        [
            "GetShardIterator shardId-000000000000",
            "GetShardIterator shardId-000000000001"
        ]
    );
    for (shard, n) in [(S0, 0), (S1, 1)] {
        let o = sim.take("GetShardIterator", Some(shard));
        assert_eq!(
            json_of(&o),
            moto_request(&format!("GetShardIterator_{n}_trim"))
        );
        sim.respond(&o, &moto(&format!("GetShardIterator_{n}_trim")));
    }
}

fn moto_iterator(name: &str) -> String {
    let v: Value = serde_json::from_slice(&moto(name)).expect("json");
    v["ShardIterator"].as_str().expect("iterator").to_string()
}

#[test]
fn happy_path_two_shards_exports_every_line_once_and_checkpoints_after_delivery() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    let list = sim.take("ListShards", None);
    assert_eq!(json_of(&list), json!({"StreamName": "vpc-flow"}));
    sim.respond(&list, &moto("ListShards"));
    assert_eq!(
        sim.calls(),
        [
            "GetShardIterator shardId-000000000000",
            "GetShardIterator shardId-000000000001"
        ]
    );
    for (shard, n) in [(S0, 0), (S1, 1)] {
        let o = sim.take("GetShardIterator", Some(shard));
        assert_eq!(
            json_of(&o),
            moto_request(&format!("GetShardIterator_{n}_trim"))
        );
        sim.respond(&o, &moto(&format!("GetShardIterator_{n}_trim")));
    }
    let (a, b, c) = (seq(1), seq(2), seq(3));
    let r0 = sim.read(
        S0,
        &records(&[(&a, &data("data-message"))], Some(&iterator(10)), 0),
    );
    assert_eq!(
        r0["ShardIterator"],
        moto_iterator("GetShardIterator_0_trim")
    );
    assert_eq!(r0["Limit"], 1000);
    let r1 = sim.read(
        S1,
        &records(
            &[
                (&b, &data("control-message")),
                (&c, &data("account-level-policy-data-message")),
            ],
            Some(&iterator(11)),
            0,
        ),
    );
    assert_eq!(
        r1["ShardIterator"],
        moto_iterator("GetShardIterator_1_trim")
    );
    // The batches wait for their log group's formats: one read for the group of both.
    assert_eq!(sim.input.status().lines_in, 0);
    let form = sim.formats("/vpc/flow-logs", "v2");
    assert!(form.contains("Filter.1.Name=log-group-name&Filter.1.Value.1=%2Fvpc%2Fflow-logs"));
    let st = sim.input.status();
    assert_eq!(st.lines_in, 6, "3 events per data message");
    assert_eq!(st.records_out, 4);
    assert_eq!(
        sim.input.checkpoint()["shards"],
        json!({}),
        "nothing delivered yet"
    );
    sim.deliver();
    let mut want = oracle("data-message");
    want.extend(oracle("account-level-policy-data-message"));
    assert_eq!(exported(&mut sim.h), sorted(want));
    let cp = sim.input.checkpoint();
    assert_eq!(cp["shards"], json!({ S0: a, S1: c }));
    assert!(sim.input.is_dirty());
    assert_eq!(sim.input.status().units_acked, 2);
    assert!(
        sim.input
            .status()
            .detail
            .contains("1 control messages skipped")
    );
    // 5 calls/s per shard: the next GetRecords 200 ms later, with the answers' iterators.
    assert!(sim.calls().is_empty());
    assert_eq!(
        sim.input.poll_timeout(),
        Some(sim.h.now + MIN_GET_RECORDS_INTERVAL)
    );
    sim.advance(MIN_GET_RECORDS_INTERVAL);
    let r0 = sim.read(S0, &records(&[], Some(&iterator(20)), 0));
    assert_eq!(r0["ShardIterator"], iterator(10));
    let r1 = sim.read(S1, &records(&[], Some(&iterator(21)), 0));
    assert_eq!(r1["ShardIterator"], iterator(11));
    // Caught up: a second before the next call.
    assert!(sim.calls().is_empty());
    assert_eq!(sim.input.poll_timeout(), Some(sim.h.now + IDLE_WAIT));
    assert_eq!(sim.input.status().lag, Some(0));
}

#[test]
fn control_messages_are_skipped_and_their_batch_is_acknowledged() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    moto_start(&mut sim);
    let a = seq(7);
    sim.read(
        S0,
        &records(&[(&a, &data("control-message"))], Some(&iterator(1)), 0),
    );
    // No data message: no formats to wait for, nothing exported, the position is settled.
    assert!(
        !sim.calls()
            .iter()
            .any(|c| c.starts_with("DescribeFlowLogs"))
    );
    let st = sim.input.status();
    assert_eq!(
        (st.lines_in, st.records_out, st.errors, st.units_acked),
        (0, 0, 0, 1)
    );
    assert_eq!(sim.input.saved_position(S0), Some(a.as_str()));
    sim.deliver();
    assert!(exported(&mut sim.h).is_empty());
}

#[test]
fn a_closed_parent_is_finished_before_its_children_start() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    // shardId-0 closed, shardId-1 open, shardId-2 a child of 0 (AWS's shape).
    sim.list(&aws("ListShards"));
    assert_eq!(
        sim.calls(),
        [
            "GetShardIterator shardId-000000000000",
            "GetShardIterator shardId-000000000001"
        ]
    );
    sim.iterate(S0, &iterator(0));
    sim.iterate(S1, &iterator(1));
    let a = seq(10);
    sim.read(
        S0,
        &records(&[(&a, &data("data-message"))], Some(&iterator(2)), 0),
    );
    sim.formats("/vpc/flow-logs", "v2");
    sim.advance(MIN_GET_RECORDS_INTERVAL);
    // The parent's last answer: no NextShardIterator, the children (2 and 3).
    let end = sim.read(S0, &aws("GetRecords_closedShardEnd"));
    assert_eq!(end["ShardIterator"], iterator(2));
    assert!(
        sim.input.shard_ids().any(|s| s == S3),
        "learned from ChildShards"
    );
    // Read to its end, but its batch is not delivered: the children wait.
    sim.advance(Duration::from_secs(5));
    let calls = sim.calls();
    assert!(
        !calls.iter().any(|c| c.contains(S2) || c.contains(S3)),
        "{calls:?}"
    );
    assert!(!sim.input.is_finished(S0));
    assert!(sim.input.status().detail.contains("2 waiting for parents"));
    sim.deliver();
    assert!(sim.input.is_finished(S0));
    let cp = sim.input.checkpoint();
    assert_eq!(cp["finished"], json!([S0]));
    assert_eq!(cp["shards"].get(S0), None);
    let calls = sim.calls();
    assert!(
        calls.contains(&format!("GetShardIterator {S2}")),
        "{calls:?}"
    );
    assert!(
        calls.contains(&format!("GetShardIterator {S3}")),
        "{calls:?}"
    );
    // A child with no checkpoint reads from its start.
    let o = sim.take("GetShardIterator", Some(S2));
    assert_eq!(json_of(&o)["ShardIteratorType"], "TRIM_HORIZON");
    assert_eq!(exported(&mut sim.h), sorted(oracle("data-message")));

    // After a restart the finished parent is not read again; its children start at once.
    let mut again = Sim::new(
        ExportConfig::new(1, 1400),
        settings(StartPosition::TrimHorizon),
        Some(&cp),
    );
    again.list(&aws("ListShards"));
    assert_eq!(
        again.calls(),
        [
            "GetShardIterator shardId-000000000001",
            "GetShardIterator shardId-000000000002"
        ]
    );
}

#[test]
fn checkpoint_only_after_ack_and_a_new_input_resumes_after_it() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    moto_start(&mut sim);
    let (a, b) = (seq(1), seq(2));
    sim.read(
        S0,
        &records(&[(&a, &data("data-message"))], Some(&iterator(1)), 0),
    );
    sim.formats("/vpc/flow-logs", "v2");
    sim.deliver();
    assert_eq!(sim.input.saved_position(S0), Some(a.as_str()));
    sim.advance(MIN_GET_RECORDS_INTERVAL);
    sim.read(
        S0,
        &records(
            &[(&b, &data("account-level-policy-data-message"))],
            Some(&iterator(2)),
            0,
        ),
    );
    // Handed to the pipeline and sent, but the ack never comes (kill -9 right after the
    // send): the checkpoint stays at a.
    sim.h.pipeline.export.flush(sim.h.now, sim.h.wall);
    while let Some(t) = sim.h.pipeline.export.poll_transmit() {
        let c = t.collector;
        sim.h.sent.push(t.bytes.to_vec());
        sim.h.pipeline.export.handle_sent(c);
    }
    assert_eq!(sim.input.saved_position(S0), Some(a.as_str()));
    let cp = sim.input.checkpoint();
    assert_eq!(cp["shards"][S0], json!(a));
    let first_run = exported(&mut sim.h);
    let mut want = oracle("data-message");
    want.extend(oracle("account-level-policy-data-message"));
    assert_eq!(first_run, sorted(want));

    // kill -9, restart: AFTER_SEQUENCE_NUMBER a; the unacknowledged batch comes again.
    let mut again = Sim::new(
        ExportConfig::new(1, 1400),
        settings(StartPosition::TrimHorizon),
        Some(&cp),
    );
    again.list(&moto("ListShards"));
    let o = again.take("GetShardIterator", Some(S0));
    let req = json_of(&o);
    assert_eq!(req["ShardIteratorType"], "AFTER_SEQUENCE_NUMBER");
    assert_eq!(req["StartingSequenceNumber"], json!(a));
    again.respond(&o, &moto("GetShardIterator_0_after"));
    let s1 = again.take("GetShardIterator", Some(S1));
    assert_eq!(json_of(&s1)["ShardIteratorType"], "TRIM_HORIZON");
    let r = again.read(
        S0,
        &records(
            &[(&b, &data("account-level-policy-data-message"))],
            Some(&iterator(3)),
            0,
        ),
    );
    assert_eq!(
        r["ShardIterator"],
        moto_iterator("GetShardIterator_0_after")
    );
    again.formats("/vpc/flow-logs", "v2");
    again.deliver();
    assert_eq!(again.input.saved_position(S0), Some(b.as_str()));
    // Over both runs: the acknowledged batch once, only the unacknowledged one twice.
    let mut both = first_run;
    both.extend(exported(&mut again.h));
    let mut want = oracle("data-message");
    want.extend(oracle("account-level-policy-data-message"));
    want.extend(oracle("account-level-policy-data-message"));
    assert_eq!(sorted(both), sorted(want));
}

#[test]
fn backpressure_mid_record_keeps_the_place_and_asks_for_nothing_new() {
    let mut cfg = ExportConfig::new(1, 1400);
    cfg.rate_limit = 10; // a token every 100 ms, burst 1
    let mut sim = Sim::new(cfg, settings(StartPosition::TrimHorizon), None);
    moto_start(&mut sim);
    let (a, b) = (seq(1), seq(2));
    sim.read(
        S0,
        &records(
            &[
                (&a, &data("data-message")),
                (&b, &data("account-level-policy-data-message")),
            ],
            Some(&iterator(1)),
            0,
        ),
    );
    sim.formats("/vpc/flow-logs", "v2");
    // One rate token: the first line goes, the batch stops inside record a.
    assert_eq!(sim.input.status().lines_in, 1);
    let Phase::Feeding(batch) = &sim.input.shards[S0].phase else {
        panic!("feeding");
    };
    assert_eq!((batch.next, batch.event), (0, 1));
    // Nothing new for that shard while its batch waits, even when a call would be due.
    sim.h.advance(Duration::from_secs(2));
    let calls = sim.calls();
    assert!(!calls.iter().any(|c| c.contains(S0)), "{calls:?}");
    let mut rounds = 0;
    while sim.input.shards[S0].is_feeding() {
        rounds += 1;
        assert!(rounds < 100, "stuck");
        sim.deliver();
        sim.advance(Duration::from_millis(100));
    }
    sim.deliver();
    let mut want = oracle("data-message");
    want.extend(oracle("account-level-policy-data-message"));
    assert_eq!(exported(&mut sim.h), sorted(want), "each line exactly once");
    assert_eq!(sim.input.status().lines_in, 6);
    assert_eq!(sim.input.saved_position(S0), Some(b.as_str()));
    assert!(sim.calls().contains(&format!("GetRecords {S0}")));
}

#[test]
fn layouts_are_read_per_log_group_and_a_batch_waits_for_its_group() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    moto_start(&mut sim);
    let (a, b, c) = (seq(1), seq(2), seq(3));
    sim.read(
        S0,
        &records(
            &[
                (&a, &data("data-message")),
                (&b, &data("v5-group")),
                (&c, &data("data-message")),
            ],
            Some(&iterator(1)),
            0,
        ),
    );
    let flow_logs = |sim: &mut Sim| -> Vec<String> {
        let calls = sim.calls();
        calls
            .into_iter()
            .filter(|c| c.starts_with("DescribeFlowLogs"))
            .collect()
    };
    // Record a names its group first; its formats come, then record b's group is asked for.
    assert_eq!(flow_logs(&mut sim), ["DescribeFlowLogs /vpc/flow-logs"]);
    let form = sim.formats("/vpc/flow-logs", "v2");
    assert!(form.ends_with("Filter.1.Name=log-group-name&Filter.1.Value.1=%2Fvpc%2Fflow-logs"));
    assert_eq!(sim.input.status().lines_in, 3, "record a only");
    let form = sim.formats("/vpc/flow-logs-v5", "v5");
    assert!(form.ends_with("Filter.1.Value.1=%2Fvpc%2Fflow-logs-v5"));
    sim.deliver();
    let mut want = oracle("data-message");
    want.extend(oracle("v5-group"));
    want.extend(oracle("data-message"));
    assert_eq!(exported(&mut sim.h), sorted(want));
    assert_eq!(
        sim.h.pipeline.stats.malformed, 0,
        "each group's lines read with its format"
    );
    assert_eq!(sim.input.saved_position(S0), Some(c.as_str()));
    // Cached: the next batch of those groups asks for nothing; 10 minutes on, read again.
    sim.advance(MIN_GET_RECORDS_INTERVAL);
    sim.read(
        S0,
        &records(&[(&seq(4), &data("v5-group"))], Some(&iterator(2)), 0),
    );
    assert!(flow_logs(&mut sim).is_empty());
    sim.advance(LAYOUT_REFRESH);
    assert_eq!(
        flow_logs(&mut sim),
        [
            "DescribeFlowLogs /vpc/flow-logs",
            "DescribeFlowLogs /vpc/flow-logs-v5"
        ]
    );
}

#[test]
fn a_group_without_flow_logs_is_read_in_the_default_format() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    moto_start(&mut sim);
    sim.read(
        S0,
        &records(&[(&seq(1), &data("data-message"))], Some(&iterator(1)), 0),
    );
    sim.formats("/vpc/flow-logs", "none");
    sim.deliver();
    assert_eq!(exported(&mut sim.h), sorted(oracle("data-message")));
}

/// moto's own subscription delivery: integer event ids, two groups of two formats.
#[test]
fn moto_deliveries_of_two_groups_are_exported() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    moto_start(&mut sim);
    sim.read(S0, &moto("GetRecords_0_1"));
    sim.read(S1, &moto("GetRecords_1_1"));
    sim.formats("/vpc/flow-logs", "v2");
    sim.formats("/vpc/flow-logs-v5", "v5");
    sim.deliver();
    assert_eq!(sim.input.status().errors, 0);
    assert_eq!(sim.h.pipeline.stats.malformed, 0);
    assert_eq!(sim.input.status().lines_in, 16);
    // Every line of both sample files was put into its group (the capture script).
    let mut want = Vec::new();
    for file in ["default-v2.log", "custom-v5.log"] {
        let t = String::from_utf8(fixture(&format!("flowlogs/{file}"))).expect("utf-8");
        let mut lines = t.lines();
        let cols: Vec<&str> = lines.next().expect("header").split(' ').collect();
        let col = |n: &str| cols.iter().position(|c| *c == n).expect("column");
        for l in lines.filter(|l| !l.trim().is_empty()) {
            let v: Vec<&str> = l.split(' ').collect();
            if v[col("log-status")] == "OK" {
                let n = |c: &str| v[col(c)].parse::<u64>().expect("number");
                want.push((n("bytes"), n("packets"), n("start") * 1000));
            }
        }
    }
    assert_eq!(exported(&mut sim.h), sorted(want));
}
