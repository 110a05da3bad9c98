//! The glue between the sans-IO [`AwsClient`] and the loop's [`HttpClient`]: every exchange the
//! client asks for is started on a connection, every HTTP event is reported back to it, and what
//! comes out for the application is one queue of [`LoopEvent`]s.
//!
//! Two layers, so a bigger loop (the agent, with export sockets and a state store) can embed the
//! first and a small command (`check-aws`, tests) can use both:
//! - [`AwsDriver`]: the attempt ↔ HTTP call tables and the event plumbing. No `Poll` of its own;
//!   its owner feeds it readiness (`handle_ready`) and deadlines (`poll_timeout` /
//!   `handle_timeout`) and reads [`LoopEvent`]s.
//! - [`AwsLoop`]: a `mio::Poll` with the driver and the signalfd, running an [`AwsApp`] until
//!   it says it is done, or until a stop signal's grace period ends.
//!
//! ```text
//!            submit / cancel / read_body                 poll_event: LoopEvent
//!   AwsApp ──────────────────────────────► AwsDriver ────────────────────────────► AwsApp
//!                                            │    ▲
//!              poll_http: HttpRequestOut ────┘    │ handle_head / handle_done (AttemptId)
//!                  AwsClient ◄────────────────────┘
//!                       │ start(CallSpec) ▼      ▲ HttpEvent (http CallId)
//!                   HttpClient (connections, mio tokens [token_base, +max_connections))
//!
//!  one exchange, as the driver tracks it (keyed by the HTTP call id):
//!   Buffered ───────────────────────────────────────────────► Done ─► handle_done(body)
//!   AwaitingHead ─head─► handle_head ─► Stream{call} ─BodyData─► LoopEvent::BodyReady
//!                                   │                 (the app reads; Done after the last byte)
//!                                   ├─► Collect{cap} ─BodyData─► read here, keep ≤ cap bytes
//!                                   └─► Cancel ─► HttpClient::cancel
//! ```
//! Backpressure on streamed bodies: `BodyReady` says bytes wait; the app calls
//! [`AwsDriver::read_body`] until it returns 0, or stops early when it has no room. Nothing more
//! is announced for that call until a read returns 0, so an app that stopped early comes back by
//! itself (from [`AwsApp::poll_work`], which runs every loop turn); meanwhile the connection's
//! buffer stays full and TCP flow control slows the sender. A turn happens on readiness or a
//! deadline, so an app waiting for room the loop cannot see returns a deadline from
//! [`AwsApp::poll_timeout`].
//!
//! Events keep their order: a streamed call's `StreamStart` comes before its first
//! `BodyReady`, and its `Done` after the last byte was read.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use rustls::ClientConfig;

use crate::aws::client::{
    ApiResponse, AttemptId, AwsClient, AwsEvent, CallId, CallOptions, HeadAction, HttpRequestOut,
};
use crate::aws::credentials::CacheId;
use crate::aws::endpoint;
use crate::aws::request::ApiRequest;
use crate::aws::retry::TransportFailure;
use crate::driver::clock::Now;
use crate::driver::pool::{
    CallError, CallId as HttpCallId, CallSpec, Endpoint, HttpClient, HttpClientConfig, HttpEvent,
    HttpStats, Scheme,
};
use crate::driver::resolve::Resolver;
use crate::driver::signals::{Signal, Signals};
use crate::http::BodyMode;

/// Token of the signalfd; the HTTP client's tokens start at `HttpClientConfig::token_base`.
const SIGNAL_TOKEN: Token = Token(0);
/// Readiness events taken per `poll` call.
const EVENTS_CAPACITY: usize = 256;
/// After SIGTERM/SIGINT the app has this long to finish in-flight work before the loop gives
/// up on it (systemd's default `TimeoutStopSec` is 90 s; we stay well inside).
pub const STOP_GRACE: Duration = Duration::from_secs(20);
/// Rounds of "deliver events, let the app work" per loop turn before polling again, so an app
/// that keeps submitting calls that fail at once cannot starve the sockets.
const MAX_ROUNDS_PER_TURN: usize = 64;
/// Scratch for reading (and dropping) error bodies beyond their cap.
const DRAIN_CHUNK: usize = 16 * 1024;

/// What the application learns from the driver.
#[derive(Debug)]
pub enum LoopEvent {
    /// Outcome of a call (or an account id became known).
    Aws(AwsEvent),
    /// Body bytes of streamed call `call` wait: [`AwsDriver::read_body`] until it returns 0, or
    /// stop early (backpressure) and come back later.
    BodyReady { call: CallId },
}

impl LoopEvent {
    /// The call the event is about (`None` for `AccountKnown`).
    pub fn call(&self) -> Option<CallId> {
        match self {
            LoopEvent::BodyReady { call }
            | LoopEvent::Aws(AwsEvent::StreamStart { call, .. })
            | LoopEvent::Aws(AwsEvent::Done { call, .. })
            | LoopEvent::Aws(AwsEvent::Failed { call, .. }) => Some(*call),
            LoopEvent::Aws(AwsEvent::AccountKnown { .. }) => None,
        }
    }
}

/// Where one HTTP exchange is, as the driver sees it.
#[derive(Debug)]
enum BodyState {
    Buffered,
    /// Streamed, before its head.
    AwaitingHead,
    /// A 2xx body that belongs to the app.
    Streaming {
        call: CallId,
    },
    /// An error body read here, at most `cap` bytes kept.
    Collecting {
        cap: usize,
        kept: Vec<u8>,
    },
}

#[derive(Debug)]
struct Exchange {
    attempt: AttemptId,
    body: BodyState,
}

/// [`AwsClient`] + [`HttpClient`] and the tables between them. See the module doc.
pub struct AwsDriver {
    http: HttpClient,
    aws: AwsClient,
    exchanges: HashMap<HttpCallId, Exchange>,
    by_attempt: HashMap<AttemptId, HttpCallId>,
    /// Streamed calls whose body the app reads.
    streams: HashMap<CallId, HttpCallId>,
    events: VecDeque<LoopEvent>,
    drain: Vec<u8>,
}

impl std::fmt::Debug for AwsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsDriver")
            .field("aws", &self.aws)
            .field("exchanges", &self.exchanges.len())
            .field("streams", &self.streams.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl AwsDriver {
    /// Connections register with `registry` under tokens from `cfg.token_base`.
    pub fn new(
        registry: &Registry,
        tls: Arc<ClientConfig>,
        resolver: Resolver,
        cfg: HttpClientConfig,
        aws: AwsClient,
    ) -> io::Result<AwsDriver> {
        Ok(AwsDriver {
            http: HttpClient::new(registry, tls, resolver, cfg)?,
            aws,
            exchanges: HashMap::new(),
            by_attempt: HashMap::new(),
            streams: HashMap::new(),
            events: VecDeque::new(),
            drain: vec![0; DRAIN_CHUNK],
        })
    }

    pub fn aws(&self) -> &AwsClient {
        &self.aws
    }

    /// Connection and call gauges of the HTTP client.
    pub fn http_stats(&self) -> HttpStats {
        self.http.stats()
    }

    /// Submits a call (see [`AwsClient::submit`]) and starts it if it can be signed now.
    pub fn submit(
        &mut self,
        account: CacheId,
        region: &str,
        request: ApiRequest,
        options: CallOptions,
        now: Now,
    ) -> CallId {
        let id = self.aws.submit(account, region, request, options, now.mono);
        self.pump(now);
        id
    }

    /// Forgets a call: no event comes for it any more; its exchange is aborted.
    pub fn cancel(&mut self, call: CallId, now: Now) {
        self.aws.cancel(call);
        self.streams.remove(&call);
        self.events.retain(|e| e.call() != Some(call));
        self.pump(now);
    }

    /// Copies waiting body bytes of streamed call `call` into `out`. 0: none wait now (more are
    /// announced with `BodyReady`, the end with the call's `Done`), or not a streaming call.
    pub fn read_body(&mut self, call: CallId, out: &mut [u8], now: Now) -> usize {
        let Some(&id) = self.streams.get(&call) else {
            return 0;
        };
        let n = self.http.read_body(id, out, now.mono);
        // The last byte lets the HTTP call finish: report its Done.
        self.pump(now);
        n
    }

    /// Moves the deadline of a streamed call's exchange (a long object that is still moving).
    pub fn set_deadline(&mut self, call: CallId, deadline: Instant) {
        if let Some(&id) = self.streams.get(&call) {
            self.http.set_deadline(id, deadline);
        }
    }

    pub fn poll_event(&mut self) -> Option<LoopEvent> {
        self.events.pop_front()
    }

    /// Whether `token` is one of the HTTP client's.
    pub fn owns_token(&self, token: Token) -> bool {
        self.http.owns_token(token)
    }

    /// A readiness event for one of the HTTP client's tokens.
    pub fn handle_ready(&mut self, token: Token, now: Now) {
        self.http.handle_event(token, now.mono);
        self.pump(now);
    }

    /// The earliest deadline of the HTTP calls, connections, retries and credential timers.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.http.poll_timeout(), self.aws.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle_timeout(&mut self, now: Now) {
        self.http.handle_timeout(now.mono);
        self.aws.handle_timeout(now.mono);
        self.pump(now);
    }

    /// No call pending, no exchange open (credential refreshes included) and no event unread.
    pub fn is_idle(&self) -> bool {
        self.aws.pending_calls() == 0 && self.exchanges.is_empty() && self.events.is_empty()
    }

    /// Moves everything that can move: new exchanges out, canceled ones aborted, HTTP events
    /// reported to the client, the client's events queued for the app.
    fn pump(&mut self, now: Now) {
        loop {
            let mut moved = false;
            while let Some(out) = self.aws.poll_http(now.mono, now.wall) {
                self.start(out, now);
                moved = true;
            }
            while let Some(attempt) = self.aws.poll_cancel() {
                if let Some(id) = self.by_attempt.remove(&attempt) {
                    self.exchanges.remove(&id);
                    self.streams.retain(|_, h| *h != id);
                    self.http.cancel(id, now.mono);
                }
                moved = true;
            }
            while let Some(ev) = self.http.poll_event() {
                self.handle_http(ev, now);
                // After each HTTP event, so a StreamStart precedes its BodyReady.
                self.take_aws_events();
                moved = true;
            }
            self.take_aws_events();
            if !moved {
                break;
            }
        }
    }

    fn take_aws_events(&mut self) {
        while let Some(ev) = self.aws.poll_event() {
            self.events.push_back(LoopEvent::Aws(ev));
        }
    }

    fn start(&mut self, out: HttpRequestOut, now: Now) {
        let scheme = match out.endpoint.scheme {
            endpoint::Scheme::Https => Scheme::Https,
            endpoint::Scheme::Http => Scheme::Http,
        };
        let body = match out.body_mode {
            BodyMode::Buffered { .. } => BodyState::Buffered,
            BodyMode::Streamed => BodyState::AwaitingHead,
        };
        let spec = CallSpec {
            endpoint: Endpoint::new(scheme, &out.endpoint.host, out.endpoint.port),
            request: out.request,
            body: out.body,
            body_mode: out.body_mode,
            deadline: out.deadline,
        };
        let id = self.http.start(spec, now.mono);
        log::trace!("aws exchange started attempt={} http={id}", out.attempt);
        self.by_attempt.insert(out.attempt, id);
        self.exchanges.insert(
            id,
            Exchange {
                attempt: out.attempt,
                body,
            },
        );
    }

    fn handle_http(&mut self, ev: HttpEvent, now: Now) {
        match ev {
            HttpEvent::ResponseHead {
                id,
                status,
                headers,
            } => {
                let Some(ex) = self.exchanges.get_mut(&id) else {
                    return;
                };
                match self.aws.handle_head(ex.attempt, status.as_u16(), &headers) {
                    HeadAction::Stream { call } => {
                        ex.body = BodyState::Streaming { call };
                        self.streams.insert(call, id);
                    }
                    HeadAction::Collect { cap } => {
                        ex.body = BodyState::Collecting {
                            cap,
                            kept: Vec::new(),
                        };
                    }
                    HeadAction::Cancel => {
                        let attempt = ex.attempt;
                        self.exchanges.remove(&id);
                        self.by_attempt.remove(&attempt);
                        self.http.cancel(id, now.mono);
                    }
                }
            }
            HttpEvent::BodyData { id } => match self.exchanges.get_mut(&id) {
                Some(Exchange {
                    body: BodyState::Streaming { call },
                    ..
                }) => self.events.push_back(LoopEvent::BodyReady { call: *call }),
                Some(Exchange {
                    body: BodyState::Collecting { cap, kept },
                    ..
                }) => loop {
                    let n = self.http.read_body(id, &mut self.drain, now.mono);
                    if n == 0 {
                        break;
                    }
                    let room = cap.saturating_sub(kept.len()).min(n);
                    kept.extend_from_slice(&self.drain[..room]);
                },
                // Nobody reads it: drop the call.
                _ => self.http.cancel(id, now.mono),
            },
            HttpEvent::Done { id, result } => {
                let Some(ex) = self.exchanges.remove(&id) else {
                    return;
                };
                self.by_attempt.remove(&ex.attempt);
                let result = match (result, ex.body) {
                    (Err(e), body) => {
                        if let BodyState::Streaming { call } = body {
                            self.streams.remove(&call);
                        }
                        log::debug!(
                            "aws exchange failed attempt={} http={id} error={e}",
                            ex.attempt
                        );
                        Err(transport_failure(&e))
                    }
                    (Ok(r), BodyState::Collecting { kept, .. }) => {
                        let mut r = ApiResponse::from(r);
                        r.body = kept;
                        Ok(r)
                    }
                    (Ok(r), BodyState::Streaming { call }) => {
                        self.streams.remove(&call);
                        let mut r = ApiResponse::from(r);
                        r.body.clear();
                        Ok(r)
                    }
                    (Ok(r), BodyState::Buffered | BodyState::AwaitingHead) => {
                        Ok(ApiResponse::from(r))
                    }
                };
                self.aws.handle_done(ex.attempt, result, now.mono, now.wall);
            }
        }
    }
}

/// The retry layer's view of an HTTP failure (the contract in `aws/client/mod.rs`).
pub fn transport_failure(e: &CallError) -> TransportFailure {
    match e {
        CallError::Dns(_)
        | CallError::ConnectRefused { .. }
        | CallError::ConnectTimeout { .. }
        | CallError::Connect { .. }
        | CallError::Register(_) => TransportFailure::Connect,
        CallError::InvalidServerName { .. } | CallError::Tls { .. } => TransportFailure::Tls,
        CallError::ClosedBeforeResponse { .. } | CallError::Truncated { .. } => {
            TransportFailure::Closed
        }
        CallError::Timeout => TransportFailure::Timeout,
        CallError::TooLarge { .. } => TransportFailure::TooLarge,
        CallError::Protocol(_) => TransportFailure::Http,
    }
}

/// An application run by [`AwsLoop`]. Every method gets the driver to submit calls, cancel
/// them and read bodies.
pub trait AwsApp {
    /// Once per loop turn, after events were delivered: submit new calls, resume bodies that
    /// were left unread for backpressure.
    fn poll_work(&mut self, driver: &mut AwsDriver, now: Now);
    fn handle_event(&mut self, event: LoopEvent, driver: &mut AwsDriver, now: Now);
    /// The app's own next deadline.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _driver: &mut AwsDriver, _now: Now) {}
    /// SIGTERM/SIGINT: start no new work, finish (or cancel) what is in flight. The loop ends
    /// when `is_done`, or [`STOP_GRACE`] later; a second signal ends it at once.
    fn handle_stop(&mut self, driver: &mut AwsDriver, now: Now);
    /// SIGHUP. Commands without a config to reload ignore it.
    fn handle_reload(&mut self, _driver: &mut AwsDriver, _now: Now) {
        log::info!("SIGHUP ignored: nothing to reload");
    }
    fn is_done(&self) -> bool;
}

/// How [`AwsLoop::run`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopExit {
    /// The app said it is done (after a stop signal too, if it finished in time).
    Done,
    /// A stop signal's grace period ran out, or a second stop signal came.
    Forced,
}

/// A `mio::Poll` running one [`AwsApp`] over an [`AwsDriver`], with signals.
pub struct AwsLoop {
    poll: Poll,
    events: Events,
    driver: AwsDriver,
    signals: Option<Signals>,
    stop_grace: Duration,
}

impl AwsLoop {
    /// `signals`: the process's signalfd (`None` in tests, where the harness owns signals).
    pub fn new(
        aws: AwsClient,
        tls: Arc<ClientConfig>,
        resolver: Resolver,
        cfg: HttpClientConfig,
        signals: Option<Signals>,
    ) -> io::Result<AwsLoop> {
        let poll = Poll::new()?;
        if let Some(s) = &signals {
            poll.registry().register(
                &mut SourceFd(&s.raw_fd()),
                SIGNAL_TOKEN,
                Interest::READABLE,
            )?;
        }
        let cfg = HttpClientConfig {
            token_base: cfg.token_base.max(SIGNAL_TOKEN.0 + 1),
            ..cfg
        };
        let driver = AwsDriver::new(poll.registry(), tls, resolver, cfg, aws)?;
        Ok(AwsLoop {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            driver,
            signals,
            stop_grace: STOP_GRACE,
        })
    }

    pub fn driver(&mut self) -> &mut AwsDriver {
        &mut self.driver
    }

    /// Runs `app` until it is done. Errors are the poller's or the signalfd's.
    pub fn run(&mut self, app: &mut impl AwsApp) -> io::Result<LoopExit> {
        let mut stop_by: Option<Instant> = None;
        loop {
            let now = Now::read();
            for _ in 0..MAX_ROUNDS_PER_TURN {
                while let Some(ev) = self.driver.poll_event() {
                    app.handle_event(ev, &mut self.driver, now);
                }
                app.poll_work(&mut self.driver, now);
                if self.driver.events.is_empty() {
                    break;
                }
            }
            if app.is_done() {
                return Ok(LoopExit::Done);
            }
            if stop_by.is_some_and(|t| t <= now.mono) {
                log::warn!("stop grace period over: in-flight work abandoned");
                return Ok(LoopExit::Forced);
            }
            let deadline = [self.driver.poll_timeout(), app.poll_timeout(), stop_by]
                .into_iter()
                .flatten()
                .min();
            let timeout = if self.driver.events.is_empty() {
                deadline.map(|d| d.saturating_duration_since(now.mono))
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut self.events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Now::read();
            for ev in self.events.iter() {
                let token = ev.token();
                if token == SIGNAL_TOKEN {
                    continue;
                }
                if self.driver.owns_token(token) {
                    self.driver.handle_ready(token, now);
                }
            }
            let signalled = self.events.iter().any(|e| e.token() == SIGNAL_TOKEN);
            if signalled && let Some(signals) = &self.signals {
                while let Some(signal) = signals.read()? {
                    match signal {
                        Signal::Stop if stop_by.is_some() => {
                            log::warn!("second stop signal: exiting now");
                            return Ok(LoopExit::Forced);
                        }
                        Signal::Stop => {
                            log::info!(
                                "stop signal: finishing in-flight work grace_s={}",
                                self.stop_grace.as_secs()
                            );
                            stop_by = Some(now.mono + self.stop_grace);
                            app.handle_stop(&mut self.driver, now);
                        }
                        Signal::Reload => app.handle_reload(&mut self.driver, now),
                    }
                }
            }
            if self.driver.poll_timeout().is_some_and(|t| t <= now.mono) {
                self.driver.handle_timeout(now);
            }
            if app.poll_timeout().is_some_and(|t| t <= now.mono) {
                app.handle_timeout(&mut self.driver, now);
            }
        }
    }
}

#[cfg(test)]
#[path = "aws_loop_tests.rs"]
mod tests;
