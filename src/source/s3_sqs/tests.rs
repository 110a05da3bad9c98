//! Tests of the S3 + SQS input, part 1: the fake AWS it is played against, and the paths that
//! end in a delete (happy path, test events, SNS, duplicates, checkpoints, visibility, delete
//! retries). Part 2 (`tests_faults.rs`) has broken bodies, failed objects and backpressure.
//!
//! `Fake` answers the input's calls like SQS and S3 would: message bodies are built from
//! `fixtures/s3-events/sqs-body-direct.json` (or are the fixtures themselves), ReceiveMessage
//! answers in the shape of `fixtures/aws/responses/sqs_ReceiveMessage.response.txt`, objects are
//! the gzip files of `fixtures/flowlogs/` and `fixtures/gzip/`, streamed through
//! `stream_buffer` with backpressure. Exactly-once is checked on the decoded IPFIX against
//! the records the fixture files hold (read here with miniz_oxide, not with our reader).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};
use ureq_proto::http::{HeaderMap, HeaderValue};

use super::*;
use crate::aws::api::s3::object_path;
use crate::aws::error::AwsError;
use crate::aws::permissions::IamAction;
use crate::aws::request::{Protocol, Service};
use crate::aws::retry::TransportFailure;
use crate::source::testkit::{Harness, fixture, response_body};

pub(super) const BUCKET: &str = "my-flow-log-bucket";
pub(super) const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/flowlog-objects";
pub(super) const V2_GZ: &str = "flowlogs/default-v2.log.gz";
pub(super) const V5_GZ: &str = "flowlogs/custom-v5.log.gz";
pub(super) const BIG_GZ: &str = "gzip/custom-v5-2000-lines.log.gz";

/// A flow-log key (with a space, so the event carries it form-encoded) ending in `hash`.
pub(super) fn key(hash: &str) -> String {
    format!(
        "flow logs/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0fedcba9876543210_20260115T1155Z_{hash}.log.gz"
    )
}

/// A harness whose export pool is large enough that nothing waits for `deliver` (so nothing
/// is acknowledged before the test says).
pub(super) fn roomy() -> Harness {
    let mut cfg = crate::export::ExportConfig::new(1, 1400);
    cfg.buffers = 512;
    Harness::new(cfg)
}

pub(super) fn new_input(h: &Harness, concurrency: usize) -> S3SqsInput {
    S3SqsInput::new(S3SqsSettings::new(BUCKET, QUEUE, concurrency), None, h.now)
}

/// The input's first call is GetQueueAttributes (receives wait for the queue's visibility
/// timeout): answers it with moto's capture, `VisibilityTimeout` set to `secs`.
pub(super) fn answer_first_attributes(h: &mut Harness, input: &mut S3SqsInput, secs: u64) {
    let outs = h.poll_all(input);
    let ops: Vec<&str> = outs.iter().map(|o| o.request.operation).collect();
    assert_eq!(ops, ["GetQueueAttributes"]);
    let mut doc: Value = serde_json::from_slice(&response_body(
        "aws/responses/moto_sqs_GetQueueAttributes.response.txt",
    ))
    .expect("fixture");
    doc["Attributes"]["VisibilityTimeout"] = json!(secs.to_string());
    h.respond(input, outs[0].tag, 200, doc.to_string().as_bytes());
}

/// An SQS body as S3 sends it (the direct fixture's record, per object: key form-encoded,
/// ETag, size, sequencer).
pub(super) fn s3_event(objects: &[(&str, &str, usize)]) -> String {
    let mut doc: Value =
        serde_json::from_slice(&fixture("s3-events/sqs-body-direct.json")).expect("fixture");
    let template = doc["Records"][0].clone();
    let records = objects
        .iter()
        .enumerate()
        .map(|(i, (key, etag, size))| {
            let mut r = template.clone();
            let form = key.replace('+', "%2B").replace(' ', "+");
            r["s3"]["object"]["key"] = json!(form);
            r["s3"]["object"]["eTag"] = json!(etag);
            r["s3"]["object"]["size"] = json!(size);
            r["s3"]["object"]["sequencer"] = json!(format!("0065A50E2F4B1C3D{i:02X}"));
            r
        })
        .collect();
    doc["Records"] = Value::Array(records);
    doc.to_string()
}

/// A ReceiveMessage answer shaped like the `sqs_ReceiveMessage` fixture.
fn receive_answer(msgs: &[(String, String, String, u32)]) -> Vec<u8> {
    let doc: Value = serde_json::from_slice(&response_body(
        "aws/responses/sqs_ReceiveMessage.response.txt",
    ))
    .expect("fixture");
    let template = doc["Messages"][0].clone();
    let list: Vec<Value> = msgs
        .iter()
        .map(|(id, receipt, body, count)| {
            let mut m = template.clone();
            m["MessageId"] = json!(id);
            m["ReceiptHandle"] = json!(receipt);
            m["Body"] = json!(body);
            m["Attributes"]["ApproximateReceiveCount"] = json!(count.to_string());
            m
        })
        .collect();
    if list.is_empty() {
        return b"{}".to_vec();
    }
    json!({ "Messages": list }).to_string().into_bytes()
}

pub(super) fn rejected(operation: &'static str, status: u16, code: &str) -> AwsCallError {
    // The S3 error document of spec.md §D.1.
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>refused</Message><RequestId>C3D13FE58DE4C810</RequestId><HostId>FMyUVURIY8/IgAtTv8x</HostId></Error>"
    );
    let error = AwsError::from_parts(
        Protocol::RestXml,
        "GET",
        status,
        &HeaderMap::new(),
        body.as_bytes(),
    );
    assert_eq!(error.code, code);
    AwsCallError::Rejected {
        action: IamAction::of(Service::S3, operation),
        error: Box::new(error),
    }
}

pub(super) fn broken() -> AwsCallError {
    AwsCallError::StreamBroken {
        action: IamAction::of(Service::S3, "GetObject"),
        failure: TransportFailure::Closed,
    }
}

/// What one body feeding saw.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FeedStats {
    /// Times `stream_buffer` was empty (the input pushed back).
    pub stalls: usize,
    /// Largest slice `stream_buffer` offered.
    pub max_room: usize,
}

/// Streams `body` into the input like the driver (head, data through `stream_buffer`, end),
/// delivering export whenever the input has no room.
#[allow(clippy::too_many_arguments)]
pub(super) fn feed(
    h: &mut Harness,
    input: &mut S3SqsInput,
    tag: Tag,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    chunk: usize,
    end: Result<(), AwsCallError>,
) -> FeedStats {
    let mut st = FeedStats::default();
    {
        let mut ctx = h.ctx();
        input.handle_stream_start(tag, status, headers, &mut ctx);
    }
    let (mut at, mut in_a_row) = (0, 0);
    while at < body.len() {
        let room = input.stream_buffer(tag);
        st.max_room = st.max_room.max(room.len());
        if room.is_empty() {
            st.stalls += 1;
            in_a_row += 1;
            assert!(in_a_row < 10_000, "the input never made room");
            h.deliver(input);
            h.advance(Duration::from_millis(1));
            continue;
        }
        in_a_row = 0;
        let n = room.len().min(chunk).min(body.len() - at);
        room[..n].copy_from_slice(&body[at..at + n]);
        at += n;
        let mut ctx = h.ctx();
        input.handle_stream_data(tag, n, &mut ctx);
    }
    let mut ctx = h.ctx();
    input.handle_stream_end(tag, end, &mut ctx);
    st
}

pub(super) struct Stored {
    pub body: Vec<u8>,
    /// Quoted, as S3 sends it.
    pub etag: String,
    /// Offsets where a body breaks (each once).
    pub cuts: Vec<usize>,
}

impl Stored {
    /// An object S3 refuses to give (AccessDenied).
    pub fn denied() -> Stored {
        Stored {
            body: Vec::new(),
            etag: "DENIED".into(),
            cuts: Vec::new(),
        }
    }
}

/// SQS and S3, in memory.
#[derive(Default)]
pub(super) struct Fake {
    /// Visible messages: id, body, receives so far.
    pub queue: VecDeque<(String, String, u32)>,
    /// By request path.
    pub objects: HashMap<String, Stored>,
    pub chunk: usize,
    /// Every call, in order: `Op detail`.
    pub calls: Vec<String>,
    /// GetObject requests: key path, Range, If-Match.
    pub gets: Vec<(String, Option<String>, Option<String>)>,
    pub deleted: Vec<String>,
    /// ChangeMessageVisibilityBatch entries: message id, timeout.
    pub visibility: Vec<(String, u64)>,
    /// Message id → the code its next delete entry fails with.
    pub delete_failures: HashMap<String, &'static str>,
    /// Leave GetObject calls unanswered (slow objects); they pile up here.
    pub hold_gets: bool,
    pub held: Vec<Outgoing>,
    pub receipts: HashMap<String, String>,
    pub feeds: Vec<FeedStats>,
    pub receives: usize,
    /// The queue's `VisibilityTimeout` attribute (s).
    pub queue_visibility: u64,
}

impl Fake {
    pub fn new() -> Fake {
        Fake {
            chunk: 4096,
            queue_visibility: 300,
            ..Fake::default()
        }
    }

    pub fn add_object(&mut self, key: &str, body: Vec<u8>, etag: &str) {
        let stored = Stored {
            body,
            etag: format!("\"{etag}\""),
            cuts: Vec::new(),
        };
        self.objects.insert(object_path(key), stored);
    }

    pub fn send(&mut self, id: &str, body: String) {
        self.queue.push_back((id.to_string(), body, 0));
    }

    /// Answers every call the input wants now; returns how many.
    pub fn step(&mut self, h: &mut Harness, input: &mut S3SqsInput) -> usize {
        let outs = h.poll_all(input);
        let n = outs.len();
        for o in outs {
            self.answer(h, input, o);
        }
        n
    }

    /// Steps until the input wants nothing more.
    pub fn run(&mut self, h: &mut Harness, input: &mut S3SqsInput) {
        for _ in 0..1000 {
            if self.step(h, input) == 0 {
                return;
            }
        }
        panic!("the input keeps asking");
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls.iter().filter(|c| c.starts_with(op)).count()
    }

    pub fn answer(&mut self, h: &mut Harness, input: &mut S3SqsInput, o: Outgoing) {
        let req: Value = serde_json::from_slice(&o.request.body).unwrap_or(Value::Null);
        match o.request.operation {
            "ReceiveMessage" => {
                self.receives += 1;
                assert_eq!(req["QueueUrl"], QUEUE);
                assert_eq!(req["WaitTimeSeconds"], 20);
                assert_eq!(req["VisibilityTimeout"], self.queue_visibility.max(10));
                assert_eq!(
                    req["MessageSystemAttributeNames"],
                    json!(["ApproximateReceiveCount"])
                );
                let max = req["MaxNumberOfMessages"].as_u64().expect("max");
                assert!((1..=10).contains(&max));
                self.calls.push(format!("ReceiveMessage max={max}"));
                let mut msgs = Vec::new();
                while msgs.len() < max as usize {
                    let Some((id, body, count)) = self.queue.pop_front() else {
                        break;
                    };
                    let receipt = format!("rh-{id}-{}", count + 1);
                    self.receipts.insert(receipt.clone(), id.clone());
                    msgs.push((id, receipt, body, count + 1));
                }
                h.respond(input, o.tag, 200, &receive_answer(&msgs));
            }
            "GetObject" => {
                assert_eq!(o.request.bucket.as_deref(), Some(BUCKET));
                let header = |name: &str| {
                    o.request
                        .headers
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.clone())
                };
                let (range, if_match) = (header("range"), header("if-match"));
                self.calls.push(format!("GetObject {}", o.request.path));
                self.gets
                    .push((o.request.path.clone(), range.clone(), if_match.clone()));
                if self.hold_gets {
                    self.held.push(o);
                    return;
                }
                self.serve(h, input, &o, range, if_match);
            }
            "DeleteMessageBatch" => {
                let mut ok = Vec::new();
                let mut failed = Vec::new();
                for e in req["Entries"].as_array().expect("entries") {
                    let entry = e["Id"].as_str().expect("id");
                    let receipt = e["ReceiptHandle"].as_str().expect("receipt");
                    let id = self.receipts.get(receipt).expect("known receipt").clone();
                    match self.delete_failures.remove(&id) {
                        Some(code) => failed.push(json!({"Id": entry, "SenderFault": code == "ReceiptHandleIsInvalid", "Code": code, "Message": "refused"})),
                        None => {
                            ok.push(json!({"Id": entry}));
                            self.deleted.push(id);
                        }
                    }
                }
                self.calls
                    .push(format!("DeleteMessageBatch {}", ok.len() + failed.len()));
                let body = json!({"Successful": ok, "Failed": failed}).to_string();
                h.respond(input, o.tag, 200, body.as_bytes());
            }
            "ChangeMessageVisibilityBatch" => {
                let mut ok = Vec::new();
                for e in req["Entries"].as_array().expect("entries") {
                    let receipt = e["ReceiptHandle"].as_str().expect("receipt");
                    let id = self.receipts.get(receipt).expect("known receipt").clone();
                    let t = e["VisibilityTimeout"].as_u64().expect("timeout");
                    self.visibility.push((id, t));
                    ok.push(json!({"Id": e["Id"]}));
                }
                self.calls
                    .push(format!("ChangeMessageVisibilityBatch {}", ok.len()));
                let body = json!({"Successful": ok, "Failed": []}).to_string();
                h.respond(input, o.tag, 200, body.as_bytes());
            }
            "GetQueueAttributes" => {
                self.calls.push("GetQueueAttributes".to_string());
                // moto's answer, with this queue's visibility timeout.
                let mut doc: Value = serde_json::from_slice(&response_body(
                    "aws/responses/moto_sqs_GetQueueAttributes.response.txt",
                ))
                .expect("fixture");
                doc["Attributes"]["VisibilityTimeout"] = json!(self.queue_visibility.to_string());
                h.respond(input, o.tag, 200, doc.to_string().as_bytes());
            }
            other => panic!("unexpected call {other}"),
        }
    }

    /// Serves a GetObject like S3: 404, 412 on a stale If-Match, 206 for a range; the body
    /// breaks at the next cut after where it starts.
    pub fn serve(
        &mut self,
        h: &mut Harness,
        input: &mut S3SqsInput,
        o: &Outgoing,
        range: Option<String>,
        if_match: Option<String>,
    ) {
        let fail = |h: &mut Harness, input: &mut S3SqsInput, e: AwsCallError| {
            let mut ctx = h.ctx();
            input.handle_response(o.tag, Err(e), &mut ctx);
        };
        let Some(obj) = self.objects.get_mut(&o.request.path) else {
            return fail(h, input, rejected("GetObject", 404, "NoSuchKey"));
        };
        if obj.etag == "DENIED" {
            return fail(h, input, rejected("GetObject", 403, "AccessDenied"));
        }
        if if_match.as_ref().is_some_and(|m| *m != obj.etag) {
            return fail(h, input, rejected("GetObject", 412, "PreconditionFailed"));
        }
        let from = range.as_deref().map_or(0, |r| {
            r.strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse().ok())
                .expect("bytes=N-")
        });
        let len = obj.body.len();
        if from >= len && from > 0 {
            return fail(h, input, rejected("GetObject", 416, "InvalidRange"));
        }
        let cut = obj.cuts.iter().position(|&c| c > from);
        let end = cut.map_or(len, |i| obj.cuts.remove(i));
        let mut headers = HeaderMap::new();
        let hv = |s: String| HeaderValue::from_str(&s).expect("header");
        headers.insert("etag", hv(obj.etag.clone()));
        headers.insert("content-length", hv((len - from).to_string()));
        let status = if range.is_some() {
            let last = len - 1;
            headers.insert("content-range", hv(format!("bytes {from}-{last}/{len}")));
            206
        } else {
            200
        };
        let body = obj.body[from..end].to_vec();
        let done = if cut.is_some() { Err(broken()) } else { Ok(()) };
        let st = feed(h, input, o.tag, status, &headers, &body, self.chunk, done);
        self.feeds.push(st);
    }
}

/// Writes the checkpoint "to disk" and says so.
/// Runs the input's timers from `t0` for `secs` seconds with a message held; returns the
/// seconds after `t0` at which a visibility extension was sent.
pub(super) fn extensions_until(
    h: &mut Harness,
    input: &mut S3SqsInput,
    fake: &mut Fake,
    t0: Instant,
    secs: u64,
) -> Vec<u64> {
    let mut extended_at = Vec::new();
    while h.now < t0 + Duration::from_secs(secs) {
        assert!(h.run_timeout(input), "no timer while a message is held");
        let before = fake.visibility.len();
        fake.run(h, input);
        if fake.visibility.len() > before {
            extended_at.push((h.now - t0).as_secs());
        }
    }
    extended_at
}

pub(super) fn save(input: &mut S3SqsInput) -> Value {
    let v = input.checkpoint();
    input.mark_saved();
    v
}

/// A single-member gzip file inflated by miniz_oxide (header per RFC 1952 §2.3).
fn gunzip(gz: &[u8]) -> Vec<u8> {
    let flags = gz[3];
    let mut at = 10;
    if flags & 4 != 0 {
        at += 2 + usize::from(u16::from_le_bytes([gz[at], gz[at + 1]]));
    }
    for bit in [8, 16] {
        if flags & bit != 0 {
            at += gz[at..].iter().position(|&b| b == 0).expect("nul") + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    miniz_oxide::inflate::decompress_to_vec(&gz[at..gz.len() - 8]).expect("inflate")
}

type FlowKey = (u64, u64, u64);

/// (bytes, packets, start ms) of every `OK` line of the files, by their header line.
pub(super) fn expected(files: &[&str]) -> Vec<FlowKey> {
    let mut out = Vec::new();
    for f in files {
        let text = String::from_utf8(gunzip(&fixture(f))).expect("utf8");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split(' ').collect();
        let col = |name| header.iter().position(|h| *h == name).expect("column");
        let (b, p, s, st) = (
            col("bytes"),
            col("packets"),
            col("start"),
            col("log-status"),
        );
        for line in lines {
            let v: Vec<&str> = line.split(' ').collect();
            if v[st] == "OK" {
                let n = |i: usize| v[i].parse::<u64>().expect("number");
                out.push((n(b), n(p), n(s) * 1000));
            }
        }
    }
    out.sort_unstable();
    out
}

pub(super) fn exported(h: &mut Harness) -> Vec<FlowKey> {
    let u = |r: &crate::ipfix::reader::DecodedRecord, name: &str| {
        r.get(name).and_then(|v| v.as_u64()).expect(name)
    };
    let mut out: Vec<FlowKey> = h
        .flows()
        .iter()
        .map(|r| {
            (
                u(r, "octetDeltaCount"),
                u(r, "packetDeltaCount"),
                u(r, "flowStartMilliseconds"),
            )
        })
        .collect();
    out.sort_unstable();
    out
}

/// A fake with `objects` stored under keys `k0`, `k1`, … and one message per list in `msgs`.
pub(super) fn world(objects: &[&str], msgs: &[&[usize]]) -> Fake {
    let mut fake = Fake::new();
    for (i, f) in objects.iter().enumerate() {
        let body = fixture(f);
        fake.add_object(&key(&format!("k{i}")), body, &format!("etag{i}"));
    }
    for (m, list) in msgs.iter().enumerate() {
        let keys: Vec<String> = list.iter().map(|i| key(&format!("k{i}"))).collect();
        let objs: Vec<(&str, String, usize)> = list
            .iter()
            .zip(&keys)
            .map(|(i, k)| (k.as_str(), format!("etag{i}"), fixture(objects[*i]).len()))
            .collect();
        let refs: Vec<(&str, &str, usize)> =
            objs.iter().map(|(k, e, s)| (*k, e.as_str(), *s)).collect();
        fake.send(&format!("msg-{m}"), s3_event(&refs));
    }
    fake
}

#[test]
fn happy_path_exports_every_line_once_and_deletes_after_ack_and_save() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = world(&[V2_GZ, V5_GZ, BIG_GZ], &[&[0, 1], &[2]]);

    // The backlog and the queue's visibility timeout, then a receive (2 slots: up to 4
    // messages).
    fake.step(&mut h, &mut input);
    assert_eq!(fake.calls, ["GetQueueAttributes"]);
    assert_eq!(input.status().lag, Some(1));
    fake.step(&mut h, &mut input);
    assert_eq!(fake.calls, ["GetQueueAttributes", "ReceiveMessage max=4"]);
    // Two objects at once, the third when a slot frees; each read from its start.
    fake.hold_gets = true;
    fake.step(&mut h, &mut input);
    assert_eq!(fake.held.len(), 2, "{:?}", fake.calls);
    assert!(
        fake.gets
            .iter()
            .all(|(_, range, m)| range.is_none() && m.is_none())
    );
    assert_eq!(fake.gets[0].0, object_path(&key("k0")));
    fake.hold_gets = false;
    for o in std::mem::take(&mut fake.held) {
        fake.serve(&mut h, &mut input, &o, None, None);
    }
    fake.step(&mut h, &mut input);
    assert_eq!(fake.count("GetObject"), 3);
    assert_eq!(fake.gets[2].0, object_path(&key("k2")));
    fake.run(&mut h, &mut input);
    // Everything is read; nothing deleted before delivery…
    assert_eq!(fake.count("DeleteMessageBatch"), 0);
    assert!(fake.feeds.iter().all(|f| f.stalls == 0));
    let early = save(&mut input);
    fake.run(&mut h, &mut input);
    assert_eq!(
        fake.count("DeleteMessageBatch"),
        0,
        "a save before the acks covers nothing"
    );
    h.deliver(&mut input);
    fake.run(&mut h, &mut input);
    // …nor before the completions are saved.
    assert_eq!(fake.count("DeleteMessageBatch"), 0);
    assert!(input.is_dirty());
    assert_ne!(input.checkpoint(), early);
    input.mark_saved();
    assert!(!input.is_dirty());
    fake.run(&mut h, &mut input);
    assert_eq!(fake.count("DeleteMessageBatch 2"), 1);
    assert_eq!(fake.deleted, ["msg-0", "msg-1"]);

    assert_eq!(exported(&mut h), expected(&[V2_GZ, V5_GZ, BIG_GZ]));
    let st = input.status();
    assert_eq!(
        st.records_out,
        expected(&[V2_GZ, V5_GZ, BIG_GZ]).len() as u64
    );
    assert_eq!(st.lines_in, 8 + 8 + 2000);
    assert_eq!((st.units_acked, st.errors), (2, 0));
    assert_eq!(input.completed_len(), 3);
    assert_eq!(h.pipeline.stats.header_lines, 3);
    assert!(fake.feeds.iter().all(|f| f.max_room <= DEFAULT_RAW_BUFFER));
}

#[test]
fn a_test_event_is_deleted_and_nothing_else() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = Fake::new();
    let body = String::from_utf8(fixture("s3-events/sqs-body-s3-test-event.json")).expect("utf8");
    fake.send("test", body);
    let body =
        String::from_utf8(fixture("s3-events/sqs-body-sns-wrapped-test-event.json")).expect("utf8");
    fake.send("sns-test", body);
    fake.run(&mut h, &mut input);
    assert_eq!(fake.deleted, ["test", "sns-test"]);
    assert_eq!(fake.count("GetObject"), 0);
    assert!(!input.is_dirty(), "nothing to save for a test event");
    assert_eq!(input.status().errors, 0);
}

#[test]
fn direct_and_sns_wrapped_fixture_bodies_read_the_form_decoded_key() {
    for (file, delivered) in [
        ("s3-events/sqs-body-direct.json", "direct"),
        ("s3-events/sqs-body-sns-wrapped.json", "sns"),
    ] {
        let mut h = roomy();
        let mut input = new_input(&h, 2);
        let mut fake = Fake::new();
        let decoded =
            String::from_utf8(fixture("s3-events/expected-decoded-key.txt")).expect("utf8");
        let decoded = decoded.trim_end();
        fake.add_object(decoded, fixture(V2_GZ), "a1b2c3d4e5f60718293a4b5c6d7e8f90");
        fake.send(delivered, String::from_utf8(fixture(file)).expect("utf8"));
        fake.run(&mut h, &mut input);
        assert_eq!(fake.gets.len(), 1, "{delivered}");
        assert!(
            fake.gets[0].0.starts_with("/flow%20logs/AWSLogs/"),
            "{:?}",
            fake.gets
        );
        h.deliver(&mut input);
        save(&mut input);
        fake.run(&mut h, &mut input);
        assert_eq!(fake.deleted, [delivered]);
        assert_eq!(exported(&mut h), expected(&[V2_GZ]), "{delivered}");
    }
}

#[test]
fn a_redelivered_completed_object_is_skipped_and_its_message_deleted() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = world(&[V2_GZ], &[&[0]]);
    let body = fake.queue[0].1.clone();
    fake.run(&mut h, &mut input);
    h.deliver(&mut input);
    save(&mut input);
    fake.run(&mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0"]);
    // S3 sends the same event again (at-least-once), in a new message.
    fake.send("msg-again", body);
    h.advance(Duration::from_secs(1));
    fake.run(&mut h, &mut input);
    assert_eq!(fake.count("GetObject"), 1);
    assert_eq!(fake.deleted, ["msg-0", "msg-again"]);
    assert_eq!(exported(&mut h), expected(&[V2_GZ]));
}

#[test]
fn one_object_named_by_two_held_messages_is_read_once() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = world(&[V5_GZ], &[&[0], &[0]]);
    fake.run(&mut h, &mut input);
    assert_eq!(fake.count("GetObject"), 1);
    h.deliver(&mut input);
    save(&mut input);
    fake.run(&mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0", "msg-1"]);
    assert_eq!(exported(&mut h), expected(&[V5_GZ]));
}

#[test]
fn checkpoint_round_trip_skips_what_was_completed_before_a_crash() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = world(&[V2_GZ, V5_GZ], &[&[0], &[1]]);
    let bodies: Vec<String> = fake.queue.iter().map(|m| m.1.clone()).collect();
    fake.run(&mut h, &mut input);
    h.deliver(&mut input);
    // The agent saves, then dies before the deletes go out.
    let saved = input.checkpoint();
    drop(input);
    let text = saved.to_string();
    let back: Value = serde_json::from_str(&text).expect("json");

    let mut fake2 = Fake::new();
    fake2.objects = std::mem::take(&mut fake.objects);
    for (i, b) in bodies.into_iter().enumerate() {
        fake2.send(&format!("again-{i}"), b);
    }
    let settings = S3SqsSettings::new(BUCKET, QUEUE, 2);
    let mut input2 = S3SqsInput::new(settings, Some(&back), h.now);
    assert_eq!(input2.completed_len(), 2);
    fake2.run(&mut h, &mut input2);
    assert_eq!(fake2.count("GetObject"), 0);
    assert_eq!(fake2.deleted, ["again-0", "again-1"]);
    assert_eq!(input2.status().records_out, 0);
    assert_eq!(input2.checkpoint(), back);
    // A checkpoint from elsewhere is ignored, not fatal.
    let odd = S3SqsInput::new(
        S3SqsSettings::new(BUCKET, QUEUE, 2),
        Some(&json!({"version": 9})),
        h.now,
    );
    assert_eq!(odd.completed_len(), 0);
}

#[test]
fn a_slow_object_keeps_its_message_invisible() {
    let mut h = roomy();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[V2_GZ], &[&[0]]);
    let t0 = h.now;
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    assert_eq!(fake.held.len(), 1);
    // Run the clock: the input extends at half the 300 s timeout, every time.
    let extended_at = extensions_until(&mut h, &mut input, &mut fake, t0, 700);
    assert_eq!(extended_at, [150, 300, 450, 600]);
    assert!(
        fake.visibility
            .iter()
            .all(|(id, t)| id == "msg-0" && *t == 300)
    );
    // The object finally arrives; once deleted, the message is no longer extended.
    let o = fake.held.pop().expect("held");
    fake.hold_gets = false;
    fake.serve(&mut h, &mut input, &o, None, None);
    h.deliver(&mut input);
    save(&mut input);
    fake.run(&mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0"]);
    let n = fake.visibility.len();
    h.advance(Duration::from_secs(400));
    fake.run(&mut h, &mut input);
    assert_eq!(fake.visibility.len(), n);
}

#[test]
fn a_failed_delete_entry_is_retried_and_an_invalid_handle_is_dropped() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = world(&[V2_GZ, V5_GZ, BIG_GZ], &[&[0], &[1], &[2]]);
    fake.delete_failures.insert("msg-1".into(), "InternalError");
    fake.delete_failures
        .insert("msg-2".into(), "ReceiptHandleIsInvalid");
    fake.run(&mut h, &mut input);
    h.deliver(&mut input);
    save(&mut input);
    fake.run(&mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0"]);
    assert_eq!(fake.count("DeleteMessageBatch"), 1);
    // The failed entry goes again after a pause; the lapsed one is not retried.
    h.advance(Duration::from_secs(1));
    fake.run(&mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0", "msg-1"]);
    assert_eq!(fake.count("DeleteMessageBatch 1"), 1);
    h.advance(Duration::from_secs(10));
    fake.run(&mut h, &mut input);
    assert_eq!(fake.count("DeleteMessageBatch"), 2);
    let st = input.status();
    assert_eq!(st.units_acked, 2);
    assert_eq!(st.errors, 2);
}

#[test]
fn receive_asks_only_for_what_the_slots_can_start_soon() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let mut fake = Fake::new();
    for i in 0..12 {
        let k = key(&format!("k{i}"));
        fake.add_object(&k, fixture(V2_GZ), &format!("e{i}"));
        let e = format!("e{i}");
        fake.send(&format!("msg-{i}"), s3_event(&[(&k, &e, 100)]));
    }
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    // 4 = twice the slots; nothing more until objects finish.
    assert_eq!(
        fake.calls[..2],
        ["GetQueueAttributes", "ReceiveMessage max=4"]
    );
    assert_eq!(fake.receives, 1);
    assert_eq!(fake.held.len(), 2);
    assert_eq!(fake.queue.len(), 8);
    fake.hold_gets = false;
    let o = fake.held.remove(0);
    fake.serve(&mut h, &mut input, &o, None, None);
    fake.hold_gets = true;
    fake.step(&mut h, &mut input);
    let last_receive = fake
        .calls
        .iter()
        .rev()
        .find(|c| c.starts_with("ReceiveMessage"));
    assert_eq!(
        last_receive.map(String::as_str),
        Some("ReceiveMessage max=1")
    );
}
