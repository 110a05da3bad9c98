//! The CloudWatch Logs input played against moto's answers (`fixtures/cwl/poll/`): a fake AWS
//! that answers each request with the captured response of the identical captured request, so
//! a wrong token, `startTime` or stream name finds no answer and fails the test.
#![allow(clippy::disallowed_methods)] // the harness starts its virtual clock from the real one

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use ureq_proto::http::HeaderMap;

use super::*;
use crate::aws::client::LastFailure;
use crate::aws::error::AwsError;
use crate::aws::permissions::IamAction;
use crate::aws::request::{Protocol, Service};
use crate::export::ExportConfig;
use crate::source::budget::RequestBudget;
use crate::source::testkit::{Harness, fixture, response_body};

const ARN: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs";
const KINESIS: &str = "arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow";
const A: &str = "eni-0123456789abcdef0-all";
const B: &str = "eni-0aaaaaaaaaaaaaaa1-all";
const DIR: &str = "cwl/poll";

/// `(octetDeltaCount, packetDeltaCount, flowStartMilliseconds)` of a flow.
type FlowKey = (u64, u64, u64);

fn status_of(raw: &[u8]) -> u16 {
    let line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line")
}

/// A captured response: status and body.
fn response(path: &str) -> (u16, Vec<u8>) {
    (status_of(&fixture(path)), response_body(path))
}

fn moto(name: &str) -> (u16, Vec<u8>) {
    response(&format!("{DIR}/responses/moto_cwl_{name}.response.txt"))
}

fn captured_request(name: &str) -> Vec<u8> {
    let mut b = response_body(&format!("{DIR}/requests/moto_cwl_{name}.request.txt"));
    while b.last().is_some_and(u8::is_ascii_whitespace) {
        b.pop();
    }
    b
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("json body")
}

/// The first event's timestamp of stream A: the capture's timestamp base.
fn base_ms() -> i64 {
    json(&moto("GetLogEvents_a1").1)["events"][0]["timestamp"]
        .as_i64()
        .expect("timestamp")
}

/// What an event line is worth in IPFIX, read with the column list of its own format (told by
/// its version token): the oracle the exported flows are compared with.
fn flow_key(line: &str) -> Option<FlowKey> {
    let header = |f: &str| -> Vec<String> {
        let text = String::from_utf8(fixture(&format!("flowlogs/{f}"))).expect("utf-8");
        let first = text.lines().next().expect("header").to_string();
        first.split(' ').map(str::to_string).collect()
    };
    let v: Vec<&str> = line.split(' ').collect();
    let cols = match v.first() {
        Some(&"2") => header("default-v2.log"),
        Some(&"5") => header("custom-v5.log"),
        _ => return None,
    };
    let col = |n: &str| cols.iter().position(|c| c == n).expect("column");
    if v.get(col("log-status")) != Some(&"OK") {
        return None;
    }
    let n = |c: &str| v[col(c)].parse::<u64>().expect("number");
    Some((n("bytes"), n("packets"), n("start") * 1000))
}

fn exported(h: &mut Harness) -> Vec<FlowKey> {
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

/// An AWS error answer as the client reports it for a call made with one attempt.
fn call_error(path: &str, op: &'static str) -> AwsCallError {
    let (status, body) = response(path);
    let e = AwsError::from_parts(Protocol::Json11, "POST", status, &HeaderMap::new(), &body);
    let action = IamAction::of(Service::Logs, op);
    match retry::classify(Failure::Aws(&e), SystemTime::UNIX_EPOCH) {
        Verdict::Retry { .. } => AwsCallError::Exhausted {
            action,
            attempts: 1,
            quota_empty: false,
            last: LastFailure::Aws(Box::new(e)),
        },
        _ => AwsCallError::Rejected {
            action,
            error: Box::new(e),
        },
    }
}

fn throttled() -> AwsCallError {
    call_error(
        "aws/responses/logs_error_ThrottlingException.response.txt",
        "GetLogEvents",
    )
}

fn moto_error(name: &str) -> AwsCallError {
    call_error(
        &format!("{DIR}/responses/moto_cwl_{name}.response.txt"),
        "GetLogEvents",
    )
}

type EventsKey = (String, Option<String>, Option<i64>);

fn events_key(body: &Value) -> EventsKey {
    (
        body["logStreamName"].as_str().expect("stream").to_string(),
        body["nextToken"].as_str().map(str::to_string),
        body["startTime"].as_i64(),
    )
}

/// Every captured (non-error) GetLogEvents request, by what identifies it.
fn captured_events() -> HashMap<EventsKey, String> {
    let dir = format!("{}/fixtures/{DIR}/requests", env!("CARGO_MANIFEST_DIR"));
    let mut out = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("fixture dir") {
        let file = entry.expect("entry").file_name();
        let file = file.to_string_lossy();
        let Some(name) = file
            .strip_prefix("moto_cwl_")
            .and_then(|f| f.strip_suffix(".request.txt"))
        else {
            continue;
        };
        if name.starts_with("GetLogEvents_") && !name.contains("error") {
            let key = events_key(&json(&captured_request(name)));
            // Should one request have been captured twice, its answers are the same: keep the
            // first name.
            let e = out.entry(key).or_insert_with(|| name.to_string());
            if name < e.as_str() {
                *e = name.to_string();
            }
        }
    }
    out
}

enum Answer {
    Moto(String),
    Body(u16, Vec<u8>),
    Error(AwsCallError),
}

enum Listing {
    /// `DescribeLogStreams_page1` then `_page2` (A, B).
    TwoPages,
    /// `DescribeLogStreams_three` (A, B, C).
    Three,
    /// Page 1 with its `nextToken` taken out: only A.
    OnlyA,
}

/// The fake AWS. See the module doc.
struct Fake {
    events: HashMap<EventsKey, String>,
    flow_logs: VecDeque<Vec<u8>>,
    filters: &'static str,
    listing: Listing,
    /// The next answers for a stream's GetLogEvents, before the captured ones.
    inject: HashMap<String, VecDeque<Answer>>,
    /// GetLogEvents answers (by fixture name) not to give: the request is kept in `held`.
    hold: HashSet<String>,
    /// What was answered, when: `GetLogEvents_a1`, `DescribeLogStreams`, …
    served: Vec<(Instant, String)>,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            events: captured_events(),
            flow_logs: VecDeque::new(),
            filters: "DescribeSubscriptionFilters_none",
            listing: Listing::TwoPages,
            inject: HashMap::new(),
            hold: HashSet::new(),
            served: Vec::new(),
        }
    }

    fn served_named(&self, prefix: &str) -> Vec<String> {
        self.served
            .iter()
            .filter(|(_, n)| n.starts_with(prefix))
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// The answer to `out`, or `None` to hold it.
    fn answer(&mut self, out: &Outgoing, now: Instant) -> Option<Answer> {
        let body = &out.request.body;
        let op = out.request.operation;
        let answer = match op {
            "DescribeFlowLogs" => {
                let first = captured_request("DescribeFlowLogs");
                if !body.windows(9).any(|w| w == b"NextToken") {
                    assert_eq!(body, &first, "DescribeFlowLogs request");
                }
                let page = self.flow_logs.pop_front();
                Answer::Body(200, page.unwrap_or_else(|| moto("DescribeFlowLogs").1))
            }
            "DescribeSubscriptionFilters" => {
                assert_eq!(
                    json(body),
                    json(&captured_request("DescribeSubscriptionFilters_none"))
                );
                Answer::Moto(self.filters.to_string())
            }
            "DescribeLogStreams" => {
                let b = json(body);
                assert_eq!(b["logGroupName"], "/vpc/flow-logs");
                assert_eq!(b["limit"], 50);
                let token = b["nextToken"].as_str();
                match (&self.listing, token) {
                    (Listing::Three, None) => Answer::Moto("DescribeLogStreams_three".into()),
                    (Listing::OnlyA, None) => {
                        let text =
                            String::from_utf8(moto("DescribeLogStreams_page1").1).expect("utf-8");
                        let cut = text.find("\"nextToken\"").expect("nextToken");
                        let only_a = format!("{}\"nextToken\": null}}", &text[..cut]);
                        Answer::Body(200, only_a.into_bytes())
                    }
                    (_, None) => Answer::Moto("DescribeLogStreams_page1".into()),
                    (_, Some(t)) => {
                        let want = json(&captured_request("DescribeLogStreams_page2"));
                        assert_eq!(Some(t), want["nextToken"].as_str());
                        Answer::Moto("DescribeLogStreams_page2".into())
                    }
                }
            }
            "GetLogEvents" => {
                let b = json(body);
                assert_eq!(b["startFromHead"], true);
                assert_eq!(b["logGroupName"], "/vpc/flow-logs");
                let key = events_key(&b);
                if let Some(a) = self.inject.get_mut(&key.0).and_then(VecDeque::pop_front) {
                    a
                } else {
                    let name = self
                        .events
                        .get(&key)
                        .unwrap_or_else(|| panic!("no captured GetLogEvents for {key:?}"))
                        .clone();
                    assert_eq!(b, json(&captured_request(&name)), "request of {name}");
                    if self.hold.contains(&name) {
                        return None;
                    }
                    Answer::Moto(name)
                }
            }
            other => panic!("unexpected call {other}"),
        };
        let label = match &answer {
            Answer::Moto(n) => n.clone(),
            Answer::Body(..) => op.to_string(),
            Answer::Error(_) => format!("{op}!error"),
        };
        self.served.push((now, label));
        Some(answer)
    }
}

struct Sim {
    h: Harness,
    input: CwlInput,
    fake: Fake,
    /// The flows the answered pages hold, by the oracle.
    expected: Vec<FlowKey>,
    held: Vec<Outgoing>,
    deliver: bool,
}

impl Sim {
    fn new(mut h: Harness, settings: CwlSettings, saved: Option<&Value>) -> Sim {
        if h.wall == Harness::default().wall {
            // The events are stamped at capture time: start the clock a minute after them.
            h.wall = SystemTime::UNIX_EPOCH + Duration::from_millis(base_ms() as u64 + 60_000);
        }
        let input = CwlInput::new(settings, saved, h.now, h.wall);
        Sim {
            h,
            input,
            fake: Fake::new(),
            expected: Vec::new(),
            held: Vec::new(),
            deliver: true,
        }
    }

    fn give(&mut self, tag: Tag, answer: Answer) {
        match answer {
            Answer::Moto(name) => {
                let (status, body) = moto(&name);
                assert_eq!(status, 200, "{name}");
                self.give(tag, Answer::Body(200, body));
            }
            Answer::Body(status, body) => {
                if let Some(events) = json_events(&body) {
                    self.expected
                        .extend(events.iter().filter_map(|m| flow_key(m)));
                }
                self.h.respond(&mut self.input, tag, status, &body);
            }
            Answer::Error(e) => {
                let mut ctx = self.h.ctx();
                self.input.handle_response(tag, Err(e), &mut ctx);
            }
        }
    }

    /// Answers every call the input wants now (and those its answers lead to).
    fn serve_now(&mut self) {
        for _ in 0..10_000 {
            let outs = self.h.poll_all(&mut self.input);
            if outs.is_empty() {
                return;
            }
            for out in outs {
                match self.fake.answer(&out, self.h.now) {
                    Some(a) => self.give(out.tag, a),
                    None => self.held.push(out),
                }
            }
            if self.deliver {
                self.h.deliver(&mut self.input);
            }
        }
        panic!("the input never stops asking");
    }

    /// Serves calls and timeouts for `d` of virtual time.
    fn run_for(&mut self, d: Duration) {
        let end = self.h.now + d;
        for _ in 0..100_000 {
            self.serve_now();
            match self.input.poll_timeout() {
                Some(at) if at <= end => {
                    self.h.run_timeout(&mut self.input);
                }
                _ => {
                    let rest = end.saturating_duration_since(self.h.now);
                    self.h.advance(rest);
                    let mut ctx = self.h.ctx();
                    self.input.handle_timeout(&mut ctx);
                    self.serve_now();
                    return;
                }
            }
        }
        panic!("timeouts never end");
    }

    /// Answers a held request with `answer`.
    fn release(&mut self, name_of_held: &str, answer: Answer) {
        let i = self
            .held
            .iter()
            .position(|o| {
                let k = events_key(&json(&o.request.body));
                self.fake.events.get(&k).map(String::as_str) == Some(name_of_held)
            })
            .expect("held request");
        let out = self.held.remove(i);
        self.fake
            .served
            .push((self.h.now, format!("{name_of_held}!released")));
        self.give(out.tag, answer);
    }

    fn exported_sorted(&mut self) -> (Vec<FlowKey>, Vec<FlowKey>) {
        let mut want = self.expected.clone();
        want.sort_unstable();
        (exported(&mut self.h), want)
    }

    fn wall_ms(&self) -> i64 {
        epoch_ms(self.h.wall)
    }
}

fn json_events(body: &[u8]) -> Option<Vec<String>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let events = v.get("events")?.as_array()?;
    Some(
        events
            .iter()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .collect(),
    )
}

fn big_budget() -> SharedBudget {
    Rc::new(RefCell::new(RequestBudget::new(1000)))
}

fn settings(pos: StartPosition, interval_secs: u64, budget: SharedBudget) -> CwlSettings {
    let mut s = CwlSettings::new(ARN, budget).expect("log group arn");
    s.initial_position = pos;
    s.request_interval = Duration::from_secs(interval_secs);
    // moto was asked for pages of 3 events.
    s.events_per_page = Some(3);
    s
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn log_group_names_come_from_arns() {
    assert_eq!(log_group_name(ARN), Some("/vpc/flow-logs"));
    assert_eq!(log_group_name(&format!("{ARN}:*")), Some("/vpc/flow-logs"));
    assert_eq!(log_group_name("arn:aws:logs:us-east-1:1:log-group:"), None);
    assert_eq!(log_group_name("/vpc/flow-logs"), None);
    let s = CwlSettings::new(&format!("{ARN}:*"), big_budget()).unwrap();
    assert_eq!(
        (s.log_group.as_str(), s.log_group_arn.as_str()),
        ("/vpc/flow-logs", ARN)
    );
}

#[test]
fn two_streams_are_read_to_the_end_then_polled_every_interval() {
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.serve_now();
    let t0 = sim.h.now;
    assert_eq!(
        sim.fake.served_named("GetLogEvents_a"),
        names(&[
            "GetLogEvents_a1",
            "GetLogEvents_a2",
            "GetLogEvents_a3",
            "GetLogEvents_a4",
            "GetLogEvents_a5"
        ])
    );
    assert_eq!(
        sim.fake.served_named("GetLogEvents_b"),
        names(&["GetLogEvents_b1", "GetLogEvents_b2", "GetLogEvents_b3"])
    );
    // Interleaved v2 and v5 lines, each read with its own format.
    let (got, want) = sim.exported_sorted();
    assert_eq!(want.len(), 12);
    assert_eq!(got, want);
    let st = sim.input.status();
    assert_eq!(
        (st.lines_in, st.records_out, st.units_acked, st.errors),
        (14, 12, 8, 0)
    );
    let newest = base_ms() + 12_000; // the last line of A starts 12 s after the first
    assert_eq!(st.lag, Some((sim.wall_ms() - newest) as u64));
    assert!(
        st.detail
            .starts_with("2 streams, 0 pages in flight, 0 ambiguous lines"),
        "{}",
        st.detail
    );
    let a = sim.input.saved_position(A).unwrap();
    let a5 = json(&moto("GetLogEvents_a5").1);
    assert_eq!(a.token.as_deref(), a5["nextForwardToken"].as_str());
    assert_eq!(a.last_timestamp, Some(newest));

    // Caught up: each stream again every 30 s, the listing every 60 s.
    sim.run_for(Duration::from_secs(65));
    let later: Vec<(Duration, String)> = sim
        .fake
        .served
        .iter()
        .filter(|(at, _)| *at > t0)
        .map(|(at, n)| (*at - t0, n.clone()))
        .collect();
    let s = |n: u64| Duration::from_secs(n);
    assert_eq!(
        later,
        vec![
            (s(30), "GetLogEvents_a5".to_string()),
            (s(30), "GetLogEvents_b3".to_string()),
            (s(60), "DescribeLogStreams_page1".to_string()),
            (s(60), "GetLogEvents_a5".to_string()),
            (s(60), "GetLogEvents_b3".to_string()),
            (s(60), "DescribeLogStreams_page2".to_string()),
        ]
    );
}

#[test]
fn latest_starts_listed_streams_at_the_start_and_new_streams_at_their_head() {
    let mut h = Harness::default();
    // The captured `startTime` of the LATEST reads: 5 s after the first event.
    h.wall = SystemTime::UNIX_EPOCH + Duration::from_millis(base_ms() as u64 + 5_000);
    let mut sim = Sim::new(h, settings(StartPosition::Latest, 30, big_budget()), None);
    sim.serve_now();
    assert_eq!(
        sim.fake.served_named("GetLogEvents_a"),
        names(&[
            "GetLogEvents_a_since1",
            "GetLogEvents_a_since2",
            "GetLogEvents_a_since3"
        ])
    );
    assert_eq!(
        sim.fake.served_named("GetLogEvents_b"),
        names(&["GetLogEvents_b_since1", "GetLogEvents_b_since2"])
    );
    // A new ENI's stream shows up in the next listing and is read from its head.
    sim.fake.listing = Listing::Three;
    sim.run_for(Duration::from_secs(61));
    let c: Vec<String> = sim.fake.served_named("GetLogEvents_c");
    assert_eq!(c, names(&["GetLogEvents_c1", "GetLogEvents_c2"]));
    let (got, want) = sim.exported_sorted();
    // A from its 4th event on (5 flows), B nothing, C one.
    assert_eq!(want.len(), 6);
    assert_eq!(got, want);
    let names_now: Vec<&str> = sim.input.stream_names().collect();
    assert_eq!(names_now.len(), 3);
}

#[test]
fn checkpoints_move_only_after_ack_and_a_new_input_resumes_there() {
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.deliver = false;
    sim.fake.hold = ["GetLogEvents_a2", "GetLogEvents_b2"]
        .map(String::from)
        .into();
    sim.serve_now();
    assert_eq!(sim.held.len(), 2);
    // a1 and b1 are exported, not yet acknowledged.
    assert!(sim.input.saved_position(A).unwrap().is_empty());
    assert!(sim.input.is_dirty(), "a first run saves its start at once");
    let cp = sim.input.checkpoint();
    assert_eq!(cp["streams"], json(b"{}"));
    sim.input.mark_saved();
    assert!(!sim.input.is_dirty());

    sim.h.deliver(&mut sim.input);
    assert!(sim.input.is_dirty());
    let cp = sim.input.checkpoint();
    sim.input.mark_saved();
    let a1 = json(&moto("GetLogEvents_a1").1);
    assert_eq!(cp["streams"][A]["token"], a1["nextForwardToken"]);
    assert_eq!(cp["streams"][A]["last_timestamp"], base_ms());
    assert_eq!(sim.input.status().units_acked, 2);

    // A new run from that checkpoint: a2 and b2 next, nothing of a1/b1 again.
    let mut next = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        Some(&cp),
    );
    next.serve_now();
    assert_eq!(
        next.fake.served_named("GetLogEvents_a")[0],
        "GetLogEvents_a2"
    );
    assert_eq!(
        next.fake.served_named("GetLogEvents_b")[0],
        "GetLogEvents_b2"
    );
    let (got, want) = next.exported_sorted();
    assert_eq!(got, want);
    let (first, _) = sim.exported_sorted();
    assert_eq!(
        first.len() + got.len(),
        12,
        "every flow once over the two runs"
    );
    // A checkpoint of another group is not ours.
    let mut other = cp.clone();
    other["log_group"] = Value::from("/vpc/other");
    let fresh = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        Some(&other),
    );
    assert_eq!(fresh.input.checkpoint()["streams"], json(b"{}"));
}

#[test]
fn a_group_covered_by_kinesis_is_not_polled_until_the_filter_goes() {
    let mut s = settings(StartPosition::TrimHorizon, 600, big_budget());
    s.kinesis_streams = vec![KINESIS.to_string()];
    // Covered from the start: no stream is listed or read.
    let mut sim = Sim::new(Harness::default(), s.clone(), None);
    sim.fake.filters = "DescribeSubscriptionFilters_kinesis";
    sim.run_for(Duration::from_secs(1800));
    assert!(sim.fake.served_named("GetLogEvents").is_empty());
    assert!(sim.fake.served_named("DescribeLogStreams").is_empty());
    // Checked at start and every 5 minutes.
    assert_eq!(
        sim.fake.served_named("DescribeSubscriptionFilters").len(),
        7
    );
    assert_eq!(sim.input.covered_by(), Some(KINESIS));
    assert_eq!(
        sim.input.status().detail,
        format!("covered by kinesis:{KINESIS}")
    );

    // Read, then covered, then not: it goes on from where it stopped.
    let mut sim = Sim::new(Harness::default(), s, None);
    sim.serve_now();
    assert_eq!(sim.fake.served_named("GetLogEvents_a").len(), 5);
    sim.fake.filters = "DescribeSubscriptionFilters_kinesis";
    sim.run_for(Duration::from_secs(301));
    let before = sim.fake.served.len();
    sim.run_for(Duration::from_secs(400)); // the streams fall due at 600 s
    let during: Vec<&String> = sim.fake.served[before..].iter().map(|(_, n)| n).collect();
    // At 600 s: the formats are read again and the filters checked; no stream is read.
    assert_eq!(
        during,
        vec!["DescribeFlowLogs", "DescribeSubscriptionFilters_kinesis"]
    );
    sim.fake.filters = "DescribeSubscriptionFilters_none";
    sim.run_for(Duration::from_secs(300));
    assert_eq!(sim.input.covered_by(), None);
    let after: Vec<String> = sim.fake.served_named("GetLogEvents");
    assert_eq!(
        after[after.len() - 2..].to_vec(),
        names(&["GetLogEvents_a5", "GetLogEvents_b3"])
    );
    let (got, want) = sim.exported_sorted();
    assert_eq!(got, want);
}

#[test]
fn throttling_cuts_the_shared_budget_and_the_call_is_made_again() {
    let budget = RequestBudget::shared();
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, budget.clone()),
        None,
    );
    sim.fake
        .inject
        .insert(A.to_string(), VecDeque::from([Answer::Error(throttled())]));
    sim.run_for(Duration::from_secs(3));
    assert_eq!(budget.borrow().rate(), 12);
    assert_eq!(budget.borrow().throttles(), 1);
    let st = sim.input.status();
    assert_eq!(st.errors, 0, "a throttle is not an error");
    assert!(
        st.detail.contains("budget 12/s (1 throttled)"),
        "{}",
        st.detail
    );
    let a = sim.fake.served_named("GetLogEvents!");
    assert_eq!(a.len(), 1);
    assert_eq!(
        sim.fake.served_named("GetLogEvents_a"),
        names(&[
            "GetLogEvents_a1",
            "GetLogEvents_a2",
            "GetLogEvents_a3",
            "GetLogEvents_a4",
            "GetLogEvents_a5"
        ])
    );
    let (got, want) = sim.exported_sorted();
    assert_eq!(got, want);
    assert_eq!(want.len(), 12);
}

#[test]
fn a_refused_token_restarts_the_stream_at_its_last_checkpointed_timestamp() {
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.fake.hold = ["GetLogEvents_a2".to_string()].into();
    sim.serve_now();
    assert_eq!(
        sim.input.saved_position(A).unwrap().last_timestamp,
        Some(base_ms())
    );
    sim.fake.hold.clear();
    sim.release(
        "GetLogEvents_a2",
        Answer::Error(moto_error("GetLogEvents_error_InvalidToken")),
    );
    sim.serve_now();
    assert_eq!(
        sim.fake.served_named("GetLogEvents_a"),
        names(&[
            "GetLogEvents_a1",
            "GetLogEvents_a2!released",
            "GetLogEvents_a_restart1",
            "GetLogEvents_a_restart2",
            "GetLogEvents_a_restart3",
            "GetLogEvents_a_restart4",
            "GetLogEvents_a_restart5",
        ])
    );
    let (got, want) = sim.exported_sorted();
    assert_eq!(got, want);
    // The three flows of a1 (same millisecond as the restart point) twice, the rest once.
    assert_eq!(want.len(), 12 + 3);
    let a = sim.input.saved_position(A).unwrap();
    assert_eq!(a.start_time, Some(base_ms()));
    let last = json(&moto("GetLogEvents_a_restart5").1);
    assert_eq!(a.token.as_deref(), last["nextForwardToken"].as_str());
}

#[test]
fn backpressure_keeps_the_rest_of_a_page_and_asks_for_nothing_new() {
    let mut cfg = ExportConfig::new(1, 1400);
    cfg.rate_limit = 10; // a token every 100 ms, burst 1
    let mut sim = Sim::new(
        Harness::new(cfg),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.fake.hold = ["GetLogEvents_a1", "GetLogEvents_b1"]
        .map(String::from)
        .into();
    sim.serve_now();
    assert_eq!(sim.held.len(), 2);
    sim.fake.hold.clear();
    sim.release("GetLogEvents_a1", Answer::Moto("GetLogEvents_a1".into()));
    sim.release("GetLogEvents_b1", Answer::Moto("GetLogEvents_b1".into()));
    assert_eq!(
        sim.input.status().lines_in,
        1,
        "one line, then the rate limit"
    );
    let mut steps = 0;
    while sim.input.status().lines_in < 6 {
        // Held lines first; no GetLogEvents while the pipeline is full.
        assert!(sim.h.poll_all(&mut sim.input).is_empty());
        assert_eq!(
            sim.input.poll_timeout(),
            Some(sim.h.now + BACKPRESSURE_RECHECK)
        );
        sim.h.advance(BACKPRESSURE_RECHECK);
        let mut ctx = sim.h.ctx();
        sim.input.handle_timeout(&mut ctx);
        steps += 1;
        assert!(steps < 100);
    }
    // Both pages out: their positions wait for the acks.
    assert!(sim.input.saved_position(A).unwrap().is_empty());
    sim.h.deliver(&mut sim.input);
    let a1 = json(&moto("GetLogEvents_a1").1);
    assert_eq!(
        sim.input.saved_position(A).unwrap().token.as_deref(),
        a1["nextForwardToken"].as_str()
    );
    // With room again, the next pages are asked for.
    sim.h.advance(Duration::from_millis(200));
    let outs = sim.h.poll_all(&mut sim.input);
    assert_eq!(outs.len(), 2);
    let (got, want) = sim.exported_sorted();
    assert_eq!(got, want);
    assert_eq!(want.len(), 5);
}

#[test]
fn streams_that_are_gone_are_dropped_with_their_positions() {
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.fake.hold = ["GetLogEvents_a2".to_string()].into();
    sim.serve_now();
    sim.fake.hold.clear();
    sim.release(
        "GetLogEvents_a2",
        Answer::Error(moto_error("GetLogEvents_error_ResourceNotFound")),
    );
    assert_eq!(sim.input.stream_names().collect::<Vec<_>>(), vec![B]);
    // Its position waits for the next listing...
    let a1 = json(&moto("GetLogEvents_a1").1);
    assert_eq!(
        sim.input.checkpoint()["streams"][A]["token"],
        a1["nextForwardToken"]
    );
    // ...which names it again: it goes on from there, not from its head.
    sim.run_for(Duration::from_secs(61));
    assert_eq!(
        sim.fake.served_named("GetLogEvents_a"),
        names(&[
            "GetLogEvents_a1",
            "GetLogEvents_a2!released",
            "GetLogEvents_a2",
            "GetLogEvents_a3",
            "GetLogEvents_a4",
            "GetLogEvents_a5",
        ])
    );
    let (got, want) = sim.exported_sorted();
    assert_eq!((got.len(), &got), (12, &want));
    // A listing without B drops it, and its checkpoint.
    assert!(sim.input.checkpoint()["streams"].get(B).is_some());
    sim.fake.listing = Listing::OnlyA;
    sim.run_for(Duration::from_secs(61));
    assert_eq!(sim.input.stream_names().collect::<Vec<_>>(), vec![A]);
    assert!(sim.input.checkpoint()["streams"].get(B).is_none());
    assert!(sim.input.checkpoint()["streams"].get(A).is_some());
    assert!(sim.input.is_dirty());
}

#[test]
fn the_formats_come_from_the_flow_logs_writing_to_the_group() {
    // DescribeFlowLogs in two pages (the moto answer cut after its first flow log).
    let text = String::from_utf8(moto("DescribeFlowLogs").1).unwrap();
    let cut = text.find("</item>").unwrap() + "</item>".len();
    let end = text.find("</flowLogSet>").unwrap();
    let page1 = format!(
        "{}</flowLogSet><nextToken>page-2</nextToken></DescribeFlowLogsResponse>",
        &text[..cut]
    );
    let page2 = format!("{}{}", &text[..text.find("<item>").unwrap()], &text[cut..]);
    assert!(page2.contains("<item>") && cut < end);
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.fake.flow_logs = VecDeque::from([page1.into_bytes(), page2.into_bytes()]);
    sim.serve_now();
    assert_eq!(sim.fake.served_named("DescribeFlowLogs").len(), 2);
    let st = sim.input.status();
    assert_eq!((st.records_out, st.errors), (12, 0));

    // The sample's other flow log has the v5 format but writes to S3; moto's `_none`: no
    // flow log at all. Either way only the default format: A's v5 lines fit nothing.
    for body in [
        response("aws/responses/ec2_DescribeFlowLogs.response.txt").1,
        moto("DescribeFlowLogs_none").1,
    ] {
        let mut sim = Sim::new(
            Harness::default(),
            settings(StartPosition::TrimHorizon, 30, big_budget()),
            None,
        );
        sim.fake.flow_logs = VecDeque::from([body]);
        sim.serve_now();
        let st = sim.input.status();
        // A: 5 v2 lines (5 flows); B: 1 v2 line (NODATA).
        assert_eq!(st.records_out, 5);
        assert_eq!(st.errors, 5 + 3);
        assert!(
            st.detail.contains("8 lines of no known format"),
            "{}",
            st.detail
        );
        assert_eq!(sim.h.pipeline.stats.malformed, 8);
    }
}

#[test]
fn a_line_of_no_known_format_has_the_formats_read_again() {
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    // At start only the default format is known.
    sim.fake.flow_logs = VecDeque::from([moto("DescribeFlowLogs_none").1]);
    sim.fake.hold = ["GetLogEvents_a1", "GetLogEvents_b1"]
        .map(String::from)
        .into();
    sim.serve_now();
    sim.h.advance(LAYOUT_RECHECK_MIN_AGE);
    // Each page's second line is v5: the input reads the formats again before handing it out.
    sim.fake.hold.clear();
    sim.release("GetLogEvents_a1", Answer::Moto("GetLogEvents_a1".into()));
    sim.release("GetLogEvents_b1", Answer::Moto("GetLogEvents_b1".into()));
    assert_eq!(sim.input.status().lines_in, 2);
    sim.serve_now();
    let calls = sim.fake.served_named("DescribeFlowLogs");
    assert_eq!(calls.len(), 2);
    let st = sim.input.status();
    assert_eq!(st.errors, 0);
    assert_eq!(st.records_out, 12);
}

#[test]
fn ambiguous_lines_are_counted_and_go_to_the_first_format() {
    // A third flow log into the group whose 14 v2 fields list bytes before packets: a v2 line
    // fits both v2 formats.
    let text = String::from_utf8(moto("DescribeFlowLogs").1).unwrap();
    let start = text.find("<item>").unwrap();
    let end = text.find("</item>").unwrap() + "</item>".len();
    let swapped = text[start..end].replace("${packets} ${bytes}", "${bytes} ${packets}");
    let body = format!("{}{}{}", &text[..end], swapped, &text[end..]);
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.fake.flow_logs = VecDeque::from([body.into_bytes()]);
    sim.serve_now();
    let st = sim.input.status();
    // The v2 lines of A (5) and B (1).
    assert!(st.detail.contains("6 ambiguous lines"), "{}", st.detail);
    // They went to the default format, listed first: the flows are right.
    let (got, want) = sim.exported_sorted();
    assert_eq!(got, want);
}

#[test]
fn stopping_waits_for_acks_and_drops_pages_that_arrive_late() {
    let mut sim = Sim::new(
        Harness::default(),
        settings(StartPosition::TrimHorizon, 30, big_budget()),
        None,
    );
    sim.deliver = false;
    sim.fake.hold = ["GetLogEvents_a2", "GetLogEvents_b2"]
        .map(String::from)
        .into();
    sim.serve_now();
    let mut ctx = sim.h.ctx();
    assert!(
        !sim.input.handle_stop(&mut ctx),
        "a1 and b1 are not acknowledged"
    );
    assert!(sim.h.poll_all(&mut sim.input).is_empty());
    let lines = sim.input.status().lines_in;
    sim.fake.hold.clear();
    sim.release("GetLogEvents_a2", Answer::Moto("GetLogEvents_a2".into()));
    assert_eq!(
        sim.input.status().lines_in,
        lines,
        "a page after stop is not handed out"
    );
    sim.h.deliver(&mut sim.input);
    let mut ctx = sim.h.ctx();
    assert!(sim.input.handle_stop(&mut ctx));
    let a1 = json(&moto("GetLogEvents_a1").1);
    assert_eq!(
        sim.input.checkpoint()["streams"][A]["token"],
        a1["nextForwardToken"]
    );
    assert_eq!(sim.input.poll_timeout(), None);
}
