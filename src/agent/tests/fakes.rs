//! Test doubles of the agent tests: `Fake`, an `Input` whose units are its calls; `FakePort`,
//! an `AwsPort` that records submits and serves bodies; `Bench`, the agent with both, a real
//! pipeline and a virtual clock, driven as the loop would.
#![allow(clippy::disallowed_methods)] // the bench starts its virtual clock from the real one

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::agent::plan::{InputPlan, PlanKind};
use crate::agent::state::{StateFile, StateWrite, parse_checkpoints};
use crate::agent::{Agent, AgentSettings, AwsPort};
use crate::aws::api::sts;
use crate::aws::client::{ApiResponse, AwsCallError, AwsClient, AwsEvent, CallId, CallOptions};
use crate::aws::credentials::{CacheId, CredentialSet};
use crate::aws::endpoint::EndpointOverrides;
use crate::aws::permissions::IamAction;
use crate::aws::request::ApiRequest;
use crate::aws::retry::TransportFailure;
use crate::export::{Export, ExportConfig, Serial};
use crate::flowlog::layout::Layout;
use crate::http::BodyMode;
use crate::pipeline::domains::DomainTable;
use crate::pipeline::map::Enrichment;
use crate::pipeline::{Identity, LineOutcome, Pipeline, SourceLine};
use crate::source::{Ctx, Input, InputStatus, Outgoing, Tag};

/// Real flow-log lines: a header and 8 records, 6 of them flows (NODATA and SKIPDATA are not).
pub const LOG: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/flowlogs/default-v2.log"
));
pub const FLOWS_PER_LOG: u64 = 6;

// ---------------------------------------------------------------------------------------------
// A fake input: each call it makes is one unit; the body's lines go to the pipeline; the unit's
// number becomes the checkpoint position once `handle_acked` covers its last record.

#[derive(Default)]
pub struct Seen {
    pub responses: Vec<(Tag, Result<Vec<u8>, String>)>,
    pub stream_starts: Vec<(Tag, u16)>,
    pub stream_bytes: Vec<u8>,
    pub stream_ends: Vec<(Tag, bool)>,
    pub acked: Vec<Serial>,
    pub marks: u32,
    pub stops: u32,
    /// Tags the input made, in order.
    pub tags: Vec<Tag>,
}

#[derive(Default)]
pub struct Control {
    /// Calls to make: `true` = streamed.
    pub wants: VecDeque<bool>,
    /// Body bytes the input will still take before it says "no room".
    pub room: usize,
    /// `handle_stop` says idle even with calls out (an S3 input with a long poll out).
    pub idle_with_calls: bool,
    /// Ask for one more call after each save (an S3 input deletes its messages then).
    pub call_after_save: bool,
}

pub struct Fake {
    name: String,
    seen: Rc<RefCell<Seen>>,
    ctl: Rc<RefCell<Control>>,
    next_tag: u64,
    in_flight: usize,
    /// Units whose records are out: (unit, last serial).
    unacked: Vec<(u64, Serial)>,
    position: u64,
    saved: u64,
    snapshot: Cell<u64>,
    buf: Vec<u8>,
    received: Vec<u8>,
}

impl Fake {
    pub fn new(
        name: &str,
        saved: Option<&Value>,
    ) -> (Fake, Rc<RefCell<Seen>>, Rc<RefCell<Control>>) {
        let seen = Rc::new(RefCell::new(Seen::default()));
        let ctl = Rc::new(RefCell::new(Control::default()));
        let position = saved
            .and_then(|v| v.get("position"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let f = Fake {
            name: name.to_string(),
            seen: seen.clone(),
            ctl: ctl.clone(),
            // Unit numbers go on from the restored position.
            next_tag: position,
            in_flight: 0,
            unacked: Vec::new(),
            position,
            saved: position,
            snapshot: Cell::new(position),
            buf: vec![0; 16],
            received: Vec::new(),
        };
        (f, seen, ctl)
    }

    /// Every line of `body` to the pipeline; the unit is acknowledged by the last serial.
    fn feed(&mut self, unit: u64, body: &[u8], ctx: &mut Ctx<'_>) {
        let layout = Layout::default_v2();
        let mut last = None;
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() || Layout::is_header_line(line) {
                continue;
            }
            assert!(
                ctx.pipeline.can_accept(ctx.now),
                "test export is large enough"
            );
            let out = ctx.pipeline.handle_line(
                &layout,
                SourceLine {
                    source: &self.name,
                    number: i as u64 + 1,
                    bytes: line,
                },
                &Enrichment::default(),
                ctx.now,
                ctx.wall,
            );
            if let LineOutcome::Exported(s) = out {
                last = Some(s);
            }
        }
        match last {
            Some(s) => self.unacked.push((unit, s)),
            None => self.position = self.position.max(unit),
        }
    }
}

impl Input for Fake {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll_request(&mut self, _ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        let streamed = self.ctl.borrow_mut().wants.pop_front()?;
        self.next_tag += 1;
        let tag = Tag(self.next_tag);
        self.in_flight += 1;
        self.seen.borrow_mut().tags.push(tag);
        Some(Outgoing {
            tag,
            request: sts::get_caller_identity(),
            options: if streamed {
                CallOptions::streamed()
            } else {
                CallOptions::default()
            },
        })
    }

    fn handle_response(
        &mut self,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
        ctx: &mut Ctx<'_>,
    ) {
        self.in_flight -= 1;
        let r = result.map(|r| r.body).map_err(|e| e.to_string());
        if let Ok(body) = &r {
            self.feed(tag.0, body, ctx);
        }
        self.seen.borrow_mut().responses.push((tag, r));
    }

    fn handle_stream_start(
        &mut self,
        tag: Tag,
        status: u16,
        _h: &ureq_proto::http::HeaderMap,
        _ctx: &mut Ctx<'_>,
    ) {
        self.seen.borrow_mut().stream_starts.push((tag, status));
    }

    fn stream_buffer(&mut self, _tag: Tag) -> &mut [u8] {
        let room = self.ctl.borrow().room.min(self.buf.len());
        &mut self.buf[..room]
    }

    fn handle_stream_data(&mut self, _tag: Tag, n: usize, _ctx: &mut Ctx<'_>) {
        self.ctl.borrow_mut().room -= n;
        self.received.extend_from_slice(&self.buf[..n]);
        self.seen
            .borrow_mut()
            .stream_bytes
            .extend_from_slice(&self.buf[..n]);
    }

    fn handle_stream_end(&mut self, tag: Tag, result: Result<(), AwsCallError>, ctx: &mut Ctx<'_>) {
        self.in_flight -= 1;
        let ok = result.is_ok();
        if ok {
            let body = std::mem::take(&mut self.received);
            self.feed(tag.0, &body, ctx);
        }
        self.seen.borrow_mut().stream_ends.push((tag, ok));
    }

    fn handle_acked(&mut self, acked: Serial, _ctx: &mut Ctx<'_>) {
        self.seen.borrow_mut().acked.push(acked);
        let done: Vec<u64> = self
            .unacked
            .iter()
            .filter(|(_, s)| *s <= acked)
            .map(|(u, _)| *u)
            .collect();
        self.unacked.retain(|(_, s)| *s > acked);
        for u in done {
            self.position = self.position.max(u);
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _ctx: &mut Ctx<'_>) {}

    fn checkpoint(&self) -> Value {
        self.snapshot.set(self.position);
        json!({ "position": self.position })
    }

    fn is_dirty(&self) -> bool {
        self.position != self.saved
    }

    fn mark_saved(&mut self) {
        self.saved = self.snapshot.get();
        self.seen.borrow_mut().marks += 1;
        let mut ctl = self.ctl.borrow_mut();
        if ctl.call_after_save {
            ctl.wants.push_back(false);
        }
    }

    fn status(&self) -> InputStatus {
        InputStatus {
            units_acked: self.position,
            ..InputStatus::default()
        }
    }

    fn handle_stop(&mut self, _ctx: &mut Ctx<'_>) -> bool {
        self.ctl.borrow_mut().wants.clear();
        self.seen.borrow_mut().stops += 1;
        self.in_flight == 0 || self.ctl.borrow().idle_with_calls
    }
}

// ---------------------------------------------------------------------------------------------
// A fake AWS port: records submits, serves streamed bodies, mints call ids from a real client.

pub struct Submitted {
    pub call: CallId,
    pub account: CacheId,
    pub region: String,
    pub streamed: bool,
    pub request: ApiRequest,
}

pub struct FakePort {
    /// Only mints call ids (it has no accounts: its own events are ignored).
    pub ids: AwsClient,
    pub now: Instant,
    pub submitted: Vec<Submitted>,
    pub bodies: HashMap<CallId, VecDeque<u8>>,
    pub canceled: Vec<CallId>,
}

impl FakePort {
    pub fn new(now: Instant) -> FakePort {
        FakePort {
            ids: AwsClient::new(CredentialSet::new(), EndpointOverrides::default(), 1),
            now,
            submitted: Vec::new(),
            bodies: HashMap::new(),
            canceled: Vec::new(),
        }
    }

    pub fn take(&mut self) -> Vec<Submitted> {
        std::mem::take(&mut self.submitted)
    }
}

impl AwsPort for FakePort {
    fn submit(
        &mut self,
        account: CacheId,
        region: &str,
        request: ApiRequest,
        options: CallOptions,
    ) -> CallId {
        let call = self
            .ids
            .submit(account, region, request.clone(), options, self.now);
        self.submitted.push(Submitted {
            call,
            account,
            region: region.to_string(),
            streamed: options.body_mode == BodyMode::Streamed,
            request,
        });
        call
    }

    fn cancel(&mut self, call: CallId) {
        self.canceled.push(call);
    }

    fn read_body(&mut self, call: CallId, out: &mut [u8]) -> usize {
        let Some(b) = self.bodies.get_mut(&call) else {
            return 0;
        };
        let n = out.len().min(b.len());
        for (o, v) in out.iter_mut().zip(b.drain(..n)) {
            *o = v;
        }
        n
    }
}

// ---------------------------------------------------------------------------------------------

pub struct Bench {
    pub agent: Agent,
    pub port: FakePort,
    pub now: Instant,
    pub wall: SystemTime,
    /// IPFIX messages "sent".
    pub sent: usize,
}

pub fn plan(name: &str, account: &str, region: Option<&str>) -> InputPlan {
    InputPlan {
        name: name.to_string(),
        kind: PlanKind::Cwl {
            arn: format!("arn:aws:logs:us-east-1:{account}:log-group:{name}"),
        },
        account_id: account.to_string(),
        region: region.map(str::to_string),
        line: 1,
    }
}

pub fn pipeline() -> Pipeline {
    let export = Export::new(ExportConfig::new(1, 1400)).expect("export");
    let domains = DomainTable::new(&[], None).expect("domains");
    Pipeline::new(export, domains, Identity::Element)
}

pub fn settings() -> AgentSettings {
    AgentSettings {
        status_interval: Duration::from_secs(60),
        collectors: vec!["127.0.0.1:4739".into()],
        emulator: false,
    }
}

impl Bench {
    pub fn new(
        inputs: Vec<(InputPlan, Box<dyn Input>)>,
        retained: serde_json::Map<String, Value>,
    ) -> Bench {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400);
        Bench {
            agent: Agent::new(pipeline(), inputs, retained, settings(), now, wall),
            port: FakePort::new(now),
            now,
            wall,
            sent: 0,
        }
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.wall += d;
        self.port.now = self.now;
    }

    pub fn work(&mut self) {
        self.agent.poll_work(&mut self.port, self.now, self.wall);
    }

    pub fn event(&mut self, ev: AwsEvent) {
        self.agent.handle_aws_event(ev, self.now, self.wall);
    }

    pub fn done(&mut self, call: CallId, body: &[u8]) {
        self.event(AwsEvent::Done {
            call,
            response: ApiResponse {
                status: 200,
                headers: Default::default(),
                body: body.to_vec(),
            },
        });
    }

    /// What the loop does with export: close open messages, write every one to "the socket".
    pub fn transmit(&mut self) {
        let (now, wall) = (self.now, self.wall);
        let export = &mut self.agent.pipeline_mut().export;
        export.flush(now, wall);
        while let Some(t) = export.poll_transmit() {
            let c = t.collector;
            export.handle_sent(c);
            self.sent += 1;
        }
    }

    /// Writes as the loop would; `ok` decides the outcome. Returns what was asked.
    pub fn writes(&mut self, ok: bool) -> Vec<StateWrite> {
        let mut out = Vec::new();
        while let Some(w) = self.agent.poll_write(self.now, self.wall) {
            let r = if ok {
                Ok(())
            } else {
                Err("disk full".to_string())
            };
            self.agent.handle_written(w.file, r);
            out.push(w);
        }
        out
    }
}

pub fn checkpoint_of(writes: &[StateWrite]) -> Option<serde_json::Map<String, Value>> {
    writes
        .iter()
        .find(|w| w.file == StateFile::Checkpoints)
        .map(|w| parse_checkpoints(Some(&w.bytes)).expect("our own document parses"))
}

pub fn failed(call: CallId) -> AwsEvent {
    AwsEvent::Failed {
        call,
        error: AwsCallError::Transport {
            action: IamAction {
                prefix: "sts",
                name: "GetCallerIdentity",
            },
            failure: TransportFailure::TooLarge,
        },
    }
}
