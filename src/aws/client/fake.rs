//! Test support: `FakeAws`, an ordered list of expected requests and their replies, and `Sim`,
//! a driver with a virtual clock that connects an [`AwsClient`] to it (design.md Testing §2,
//! style-anchors §9.4). A request that is not the next expectation fails the test at once; an
//! expectation left unused fails it when the `Sim` is finished or dropped.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use ureq_proto::http::{HeaderName, HeaderValue};

use crate::aws::client::{
    ApiResponse, AttemptId, AwsClient, AwsEvent, CallId, HeadAction, HttpRequestOut,
};
use crate::aws::error::tests::parse_response;
use crate::aws::retry::TransportFailure;
use crate::http::BodyMode;

/// Which request an expectation stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// A signed call: the service of its SigV4 scope and its operation (`x-amz-target` suffix,
    /// or the form body's `Action`).
    Op(&'static str, &'static str),
    /// Anything else (S3 REST calls, IMDS): method and path.
    Http(&'static str, &'static str),
}

/// How the fake answers.
#[derive(Clone, Debug)]
pub(super) enum Reply {
    Response(ApiResponse),
    Transport(TransportFailure),
    /// A 2xx head, then the connection breaks before the body ends.
    HeadThenFail(ApiResponse, TransportFailure),
}

impl Reply {
    /// Adds a response header (`Date` for skew tests).
    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        if let Reply::Response(r) | Reply::HeadThenFail(r, _) = &mut self {
            r.headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        self
    }
}

/// A response fixture (`HTTP/1.1 <status>`, headers, blank line, body) as the driver reports it.
pub(super) fn fixture(text: &[u8]) -> Reply {
    let (status, headers, body) = parse_response(text);
    Reply::Response(ApiResponse {
        status,
        headers,
        body: body.to_vec(),
    })
}

/// A 200 with `body` and no headers (IMDS answers).
pub(super) fn ok_body(body: &[u8]) -> Reply {
    Reply::Response(ApiResponse {
        status: 200,
        headers: Default::default(),
        body: body.to_vec(),
    })
}

/// A bodiless status.
pub(super) fn status(code: u16) -> Reply {
    Reply::Response(ApiResponse {
        status: code,
        headers: Default::default(),
        body: Vec::new(),
    })
}

struct Expectation {
    expect: Expect,
    reply: Reply,
    after: Duration,
}

/// A request the fake received.
#[derive(Debug)]
pub(super) struct Sent {
    pub at: Instant,
    /// `service:Operation` or `METHOD /path`.
    pub label: String,
    pub out: HttpRequestOut,
}

impl Sent {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.out
            .request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    /// The access key id in the `Authorization` credential scope.
    pub fn access_key(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        let scope = auth.split_once("Credential=")?.1;
        scope.split('/').next()
    }
}

#[derive(Default)]
pub(super) struct FakeAws {
    queue: VecDeque<Expectation>,
    pub sent: Vec<Sent>,
}

impl FakeAws {
    /// Expects `expect` next and answers `reply` at once.
    pub fn expect(&mut self, expect: Expect, reply: Reply) -> &mut FakeAws {
        self.expect_after(expect, reply, Duration::ZERO)
    }

    /// Expects `expect` next and answers `reply` `after` it was sent.
    pub fn expect_after(&mut self, expect: Expect, reply: Reply, after: Duration) -> &mut FakeAws {
        self.queue.push_back(Expectation {
            expect,
            reply,
            after,
        });
        self
    }

    /// The sent requests with this label (`logs:GetLogEvents`).
    pub fn sent_as(&self, label: &str) -> Vec<&Sent> {
        self.sent.iter().filter(|s| s.label == label).collect()
    }

    fn receive(&mut self, out: HttpRequestOut, now: Instant) -> (Reply, Duration) {
        let (op, label) = identify(&out);
        let Some(next) = self.queue.pop_front() else {
            panic!("unexpected request {label}: no expectation left");
        };
        let matches = match next.expect {
            Expect::Op(service, operation) => op == Some((service, operation)),
            Expect::Http(method, path) => {
                out.request.method().as_str() == method && out.request.uri().path() == path
            }
        };
        assert!(
            matches,
            "unexpected request {label}: expected {:?}",
            next.expect
        );
        self.sent.push(Sent {
            at: now,
            label,
            out,
        });
        (next.reply, next.after)
    }
}

/// (service, operation) of a signed request, and a label for messages.
fn identify(out: &HttpRequestOut) -> (Option<(&str, &str)>, String) {
    let r = &out.request;
    let header = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok());
    let service = header("authorization")
        .and_then(|a| a.split_once("Credential="))
        .and_then(|(_, scope)| scope.split('/').nth(3));
    let operation = header("x-amz-target")
        .and_then(|t| t.rsplit_once('.'))
        .map(|(_, op)| op)
        .or_else(|| {
            let body = std::str::from_utf8(&out.body).ok()?;
            body.strip_prefix("Action=")?.split('&').next()
        });
    match (service, operation) {
        (Some(s), Some(o)) => (Some((s, o)), format!("{s}:{o}")),
        _ => (None, format!("{} {}", r.method(), r.uri().path())),
    }
}

struct Delivery {
    at: Instant,
    attempt: AttemptId,
    mode: BodyMode,
    reply: Reply,
}

/// The client, the fake and a virtual clock (monotonic and wall move together).
pub(super) struct Sim {
    pub client: AwsClient,
    pub fake: FakeAws,
    pub now: Instant,
    pub wall: SystemTime,
    pub events: Vec<(Instant, AwsEvent)>,
    /// Bodies of streamed calls, as the owner read them.
    pub streamed: Vec<(CallId, Vec<u8>)>,
    /// Attempts the client asked the driver to cancel.
    pub canceled: Vec<AttemptId>,
    deliveries: Vec<Delivery>,
    finished: bool,
}

impl Sim {
    pub fn new(client: AwsClient, fake: FakeAws, now: Instant, wall: SystemTime) -> Sim {
        let mut sim = Sim {
            client,
            fake,
            now,
            wall,
            events: Vec::new(),
            streamed: Vec::new(),
            canceled: Vec::new(),
            deliveries: Vec::new(),
            finished: false,
        };
        sim.pump();
        sim
    }

    /// Submits a call now and lets it go out.
    pub fn submit(
        &mut self,
        account: crate::aws::credentials::CacheId,
        region: &str,
        request: crate::aws::request::ApiRequest,
        options: crate::aws::client::CallOptions,
    ) -> CallId {
        let id = self
            .client
            .submit(account, region, request, options, self.now);
        self.pump();
        id
    }

    /// Cancels a call the way an owner would.
    pub fn cancel(&mut self, call: CallId) {
        self.client.cancel(call);
        self.pump();
    }

    /// What the driver does after every input: start exchanges, cancel, collect events.
    fn pump(&mut self) {
        while let Some(out) = self.client.poll_http(self.now, self.wall) {
            let (attempt, mode) = (out.attempt, out.body_mode);
            let (reply, after) = self.fake.receive(out, self.now);
            self.deliveries.push(Delivery {
                at: self.now + after,
                attempt,
                mode,
                reply,
            });
        }
        while let Some(a) = self.client.poll_cancel() {
            self.deliveries.retain(|d| d.attempt != a);
            self.canceled.push(a);
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push((self.now, e));
        }
    }

    fn advance_to(&mut self, t: Instant) {
        if t > self.now {
            self.wall += t - self.now;
            self.now = t;
        }
    }

    /// The next instant something happens: a reply arrives or a client timer fires.
    pub fn next_instant(&self) -> Option<Instant> {
        let reply = self.deliveries.iter().map(|d| d.at).min();
        match (reply, self.client.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Jumps to the next instant and handles everything due then. `false` when idle.
    pub fn step(&mut self) -> bool {
        self.pump();
        let Some(next) = self.next_instant() else {
            return false;
        };
        self.advance_to(next);
        while let Some(i) = self
            .deliveries
            .iter()
            .enumerate()
            .filter(|(_, d)| d.at <= self.now)
            .min_by_key(|(i, d)| (d.at, *i))
            .map(|(i, _)| i)
        {
            let d = self.deliveries.remove(i);
            self.deliver(d);
            self.pump();
        }
        self.client.handle_timeout(self.now);
        self.pump();
        true
    }

    /// Steps until nothing is due before `t`, then moves the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        let mut steps = 0;
        while self.next_instant().is_some_and(|n| n <= t) {
            self.step();
            steps += 1;
            assert!(steps < 10_000, "simulation does not settle");
        }
        self.advance_to(t);
        self.client.handle_timeout(self.now);
        self.pump();
    }

    /// Steps until no reply is outstanding and no call is pending (credential timers may stay).
    pub fn settle(&mut self) {
        let mut steps = 0;
        while !self.deliveries.is_empty() || self.client.pending_calls() > 0 {
            assert!(self.step(), "idle with calls pending");
            steps += 1;
            assert!(steps < 10_000, "simulation does not settle");
        }
    }

    fn deliver(&mut self, d: Delivery) {
        let (now, wall) = (self.now, self.wall);
        match d.reply {
            Reply::Transport(t) => self.client.handle_done(d.attempt, Err(t), now, wall),
            Reply::Response(r) if d.mode == BodyMode::Streamed => {
                match self.client.handle_head(d.attempt, r.status, &r.headers) {
                    HeadAction::Stream { call } => {
                        self.streamed.push((call, r.body));
                        let head = ApiResponse {
                            status: r.status,
                            headers: r.headers,
                            body: Vec::new(),
                        };
                        self.client.handle_done(d.attempt, Ok(head), now, wall);
                    }
                    HeadAction::Collect { cap } => {
                        let mut r = r;
                        r.body.truncate(cap);
                        self.client.handle_done(d.attempt, Ok(r), now, wall);
                    }
                    HeadAction::Cancel => {}
                }
            }
            Reply::Response(r) => self.client.handle_done(d.attempt, Ok(r), now, wall),
            Reply::HeadThenFail(r, t) => {
                if let HeadAction::Stream { call } =
                    self.client.handle_head(d.attempt, r.status, &r.headers)
                {
                    let half = r.body.len() / 2;
                    self.streamed.push((call, r.body[..half].to_vec()));
                }
                self.client.handle_done(d.attempt, Err(t), now, wall);
            }
        }
    }

    /// Takes the events seen so far.
    pub fn take_events(&mut self) -> Vec<(Instant, AwsEvent)> {
        std::mem::take(&mut self.events)
    }

    /// Ends the test: every expectation must have been used.
    pub fn finish(mut self) {
        self.finished = true;
        let left: Vec<_> = self.fake.queue.iter().map(|e| e.expect).collect();
        assert!(left.is_empty(), "unused expectation(s): {left:?}");
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if !self.finished && !std::thread::panicking() && !self.fake.queue.is_empty() {
            let left: Vec<_> = self.fake.queue.iter().map(|e| e.expect).collect();
            panic!("unused expectation(s): {left:?}");
        }
    }
}
