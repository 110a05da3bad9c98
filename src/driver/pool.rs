//! The loop's HTTP client: many calls in flight over a slab of connections on one thread.
//!
//! `HttpClient` owns every HTTP connection, keyed by mio `Token`s in a fixed range
//! `[token_base, token_base + max_connections)` so the loop can dispatch by range. A call is
//! started with `start`, then progresses only through the loop's inputs (`handle_event` for
//! readiness, `handle_timeout` for deadlines, `read_body` for streamed bodies); its results
//! come out of `poll_event`. It keeps a bounded keep-alive pool per endpoint, a per-host
//! connection cap, and a queue of calls waiting for a connection.
//!
//! ```text
//!  start ─► Queued ──idle conn for the endpoint──────────────────────► Active ──► Done(Ok)
//!             │ └──under the host cap, slot free (an idle conn of        │  │
//!             │    another host is evicted if need be): resolve, connect ┘  │ error
//!             │ deadline                                                    ▼
//!             └────────────────────────────────────────────────────────► Done(Err)
//!  stale keep-alive: a reused conn that fails before any response byte, idempotent
//!  method, first time ─► Queued again, fresh connection only (counted in stats)
//! ```
//!
//! Events per call: streamed calls get `ResponseHead` once the head is parsed, then
//! `BodyData` whenever new bytes wait; the consumer calls `read_body` until it returns 0 (no
//! further `BodyData` comes for the call until one does; stopping early is how a consumer
//! applies backpressure, and it must then come back on its own). Every call ends with exactly
//! one `Done` (a streamed call only after its body was read to the end), except canceled ones.
//!
//! Connections are registered with a clone of the loop's `Registry` taken at construction, so
//! a slot freed anywhere (timeout, cancel, a body read to its end) can start a queued call.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Registry, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use ureq_proto::http::{Method, Request};

pub use crate::driver::call::{
    CallError, CallId, CallSpec, Endpoint, HttpClientConfig, HttpEvent, HttpStats, Scheme,
};
use crate::driver::conn::{Conn, ConnBuffers, ConnError, Transport};
use crate::driver::resolve::Resolver;
use crate::http::{BodyMode, Exchange, ExchangeError};

enum CallState {
    Queued {
        request: Box<Request<()>>,
        body: Vec<u8>,
    },
    Active {
        slot: usize,
    },
}

struct CallRec {
    endpoint: Endpoint,
    mode: BodyMode,
    deadline: Instant,
    state: CallState,
    /// A copy for the stale-connection retry, kept until the first response byte.
    retry: Option<(Request<()>, Vec<u8>)>,
    fresh_only: bool,
    head_reported: bool,
    body_signalled: bool,
}

struct Slot {
    conn: Option<Live>,
    bufs: Option<ConnBuffers>,
}

struct Live {
    conn: Conn,
    endpoint: Endpoint,
    addr: SocketAddr,
    call: Option<CallId>,
}

#[derive(Default)]
struct Host {
    open: usize,
    idle: Vec<usize>,
}

enum Dispatch {
    Started,
    Failed,
    Wait,
}

pub struct HttpClient {
    registry: Registry,
    tls: Arc<ClientConfig>,
    resolver: Resolver,
    cfg: HttpClientConfig,
    slots: Vec<Slot>,
    free: Vec<usize>,
    hosts: HashMap<Endpoint, Host>,
    calls: HashMap<CallId, CallRec>,
    queue: VecDeque<CallId>,
    events: VecDeque<HttpEvent>,
    next_id: u64,
    stats: HttpStats,
}

impl HttpClient {
    pub fn new(
        registry: &Registry,
        tls: Arc<ClientConfig>,
        resolver: Resolver,
        cfg: HttpClientConfig,
    ) -> io::Result<HttpClient> {
        let cfg = HttpClientConfig {
            max_connections: cfg.max_connections.max(1),
            max_per_host: cfg.max_per_host.max(1),
            ..cfg
        };
        let slots = (0..cfg.max_connections)
            .map(|_| Slot {
                conn: None,
                bufs: None,
            })
            .collect();
        Ok(HttpClient {
            registry: registry.try_clone()?,
            tls,
            resolver,
            free: (0..cfg.max_connections).rev().collect(),
            cfg,
            slots,
            hosts: HashMap::new(),
            calls: HashMap::new(),
            queue: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            stats: HttpStats::default(),
        })
    }

    /// Whether `token` is one of this client's connection tokens.
    pub fn owns_token(&self, token: Token) -> bool {
        self.slot_of(token).is_some()
    }

    /// Queues a call and starts it if a connection is available. Failures found at once (DNS,
    /// an unencodable request) come out of `poll_event` like any other.
    pub fn start(&mut self, spec: CallSpec, now: Instant) -> CallId {
        self.next_id += 1;
        let id = CallId::from_raw(self.next_id);
        let rec = CallRec {
            endpoint: spec.endpoint,
            mode: spec.body_mode,
            deadline: spec.deadline,
            state: CallState::Queued {
                request: Box::new(spec.request),
                body: spec.body,
            },
            retry: None,
            fresh_only: false,
            head_reported: false,
            body_signalled: false,
        };
        self.calls.insert(id, rec);
        self.queue.push_back(id);
        self.pump_queue(now);
        id
    }

    /// A readiness event for one of our tokens (readable or writable alike: both are tried).
    pub fn handle_event(&mut self, token: Token, now: Instant) {
        let Some(slot) = self.slot_of(token) else {
            return;
        };
        let Some(live) = self.live_mut(slot) else {
            return;
        };
        let r = live.conn.handle_ready();
        self.settle(slot, r, now);
        self.pump_queue(now);
    }

    /// Streamed calls: copies body bytes into `out`. Returns 0 when none wait (more will be
    /// announced by `BodyData`, the end by `Done`), or for an unknown or buffered call.
    pub fn read_body(&mut self, id: CallId, out: &mut [u8], now: Instant) -> usize {
        let Some(rec) = self.calls.get_mut(&id) else {
            return 0;
        };
        let CallState::Active { slot } = rec.state else {
            return 0;
        };
        let Some(live) = self.slots.get_mut(slot).and_then(|s| s.conn.as_mut()) else {
            return 0;
        };
        let r = live.conn.read_body(out);
        let n = *r.as_ref().unwrap_or(&0);
        if n == 0 {
            rec.body_signalled = false;
        }
        self.settle(slot, r.map(|_| ()), now);
        self.pump_queue(now);
        n
    }

    /// Expires deadlines: queued and active calls (→ `Timeout`), connects (→ `ConnectTimeout`)
    /// and idle connections (closed). A no-op when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let calls = &self.calls;
        let due = |id: &CallId| calls.get(id).is_none_or(|r| r.deadline <= now);
        if self.queue.iter().any(due) {
            let (expired, waiting): (VecDeque<_>, VecDeque<_>) = self
                .queue
                .drain(..)
                .partition(|id| calls.get(id).is_none_or(|r| r.deadline <= now));
            self.queue = waiting;
            for id in expired {
                self.fail(id, CallError::Timeout);
            }
        }
        for slot in 0..self.slots.len() {
            let Some(live) = self.live_mut(slot) else {
                continue;
            };
            match live.conn.handle_timeout(now) {
                Ok(()) => {}
                Err(ConnError::IdleTimeout) => self.close(slot),
                Err(e) => self.conn_failed(slot, e),
            }
        }
        self.pump_queue(now);
    }

    /// The earliest instant `handle_timeout` has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let queued = self
            .queue
            .iter()
            .filter_map(|id| self.calls.get(id).map(|r| r.deadline));
        let conns = self
            .slots
            .iter()
            .filter_map(|s| s.conn.as_ref()?.conn.poll_timeout());
        queued.chain(conns).min()
    }

    pub fn poll_event(&mut self) -> Option<HttpEvent> {
        self.events.pop_front()
    }

    /// Moves a call's deadline (e.g. extend a long streamed download as it progresses).
    pub fn set_deadline(&mut self, id: CallId, deadline: Instant) {
        let Some(rec) = self.calls.get_mut(&id) else {
            return;
        };
        rec.deadline = deadline;
        if let CallState::Active { slot } = rec.state
            && let Some(live) = self.slots.get_mut(slot).and_then(|s| s.conn.as_mut())
        {
            live.conn.set_deadline(deadline);
        }
    }

    /// Drops a call: no `Done` will come and its undelivered events are withdrawn; an active
    /// call's connection is closed.
    pub fn cancel(&mut self, id: CallId, now: Instant) {
        let Some(rec) = self.calls.remove(&id) else {
            return;
        };
        self.events.retain(|e| e.id() != id);
        match rec.state {
            CallState::Queued { .. } => self.queue.retain(|q| *q != id),
            CallState::Active { slot } => {
                if let Some(live) = self.live_mut(slot) {
                    live.call = None;
                }
                self.close(slot);
            }
        }
        self.pump_queue(now);
    }

    pub fn stats(&self) -> HttpStats {
        let mut s = self.stats;
        s.queued_calls = self.queue.len();
        s.active_calls = self.calls.len().saturating_sub(s.queued_calls);
        s.idle = self.hosts.values().map(|h| h.idle.len()).sum();
        s.open = 0;
        s.buffer_bytes = 0;
        for slot in &self.slots {
            if let Some(live) = &slot.conn {
                s.open += 1;
                s.bytes_in += live.conn.bytes_in();
                s.buffer_bytes += live.conn.buffer_capacity();
            }
            s.buffer_bytes += slot.bufs.as_ref().map_or(0, ConnBuffers::capacity);
        }
        s
    }

    fn slot_of(&self, token: Token) -> Option<usize> {
        let slot = token.0.checked_sub(self.cfg.token_base)?;
        (slot < self.slots.len()).then_some(slot)
    }

    fn live_mut(&mut self, slot: usize) -> Option<&mut Live> {
        self.slots.get_mut(slot)?.conn.as_mut()
    }

    /// Starts every queued call that can start, in order (a call blocked by its host's cap
    /// does not hold up calls to other hosts).
    fn pump_queue(&mut self, now: Instant) {
        let mut i = 0;
        while let Some(&id) = self.queue.get(i) {
            match self.try_dispatch(id, now) {
                Dispatch::Started | Dispatch::Failed => {
                    self.queue.remove(i);
                }
                Dispatch::Wait => i += 1,
            }
        }
    }

    fn try_dispatch(&mut self, id: CallId, now: Instant) -> Dispatch {
        let Some(rec) = self.calls.get(&id) else {
            return Dispatch::Failed; // gone (canceled); just drop it from the queue
        };
        let (endpoint, fresh_only) = (rec.endpoint.clone(), rec.fresh_only);
        // 1. A connection: an idle one for the endpoint, else room for a new one.
        let idle = match fresh_only {
            true => None,
            false => self.hosts.get_mut(&endpoint).and_then(|h| h.idle.pop()),
        };
        if idle.is_none() {
            let host = self.hosts.get(&endpoint);
            let (open, first_idle) = host.map_or((0, None), |h| (h.open, h.idle.first().copied()));
            if open >= self.cfg.max_per_host {
                match first_idle {
                    Some(stale) if fresh_only => self.close(stale), // make room for the retry
                    _ => return Dispatch::Wait,
                }
            }
            if self.free.is_empty() && !self.evict_one_idle() {
                return Dispatch::Wait;
            }
        }
        // 2. The exchange (a copy of the request first, if a stale-connection retry may need it).
        let Some(rec) = self.calls.get_mut(&id) else {
            return Dispatch::Failed;
        };
        let placeholder = CallState::Active { slot: usize::MAX };
        let CallState::Queued { request, body } = std::mem::replace(&mut rec.state, placeholder)
        else {
            return Dispatch::Failed;
        };
        let (mode, deadline) = (rec.mode, rec.deadline);
        let retry = (idle.is_some() && is_idempotent(request.method()))
            .then(|| ((*request).clone(), body.clone()));
        let exchange = match Exchange::new(*request, body, mode) {
            Ok(ex) => ex,
            Err(e) => {
                if let Some(slot) = idle {
                    self.hosts.entry(endpoint).or_default().idle.push(slot);
                }
                self.fail(id, CallError::Protocol(e));
                return Dispatch::Failed;
            }
        };
        // 3. Open the new connection only now that the request is known to be sendable.
        let slot = match idle {
            Some(slot) => slot,
            None => match self.open(&endpoint, now) {
                Ok(slot) => slot,
                Err(e) => {
                    self.fail(id, e);
                    return Dispatch::Failed;
                }
            },
        };
        if let Some(rec) = self.calls.get_mut(&id) {
            rec.state = CallState::Active { slot };
            rec.retry = retry;
        }
        let Some(live) = self.slots.get_mut(slot).and_then(|s| s.conn.as_mut()) else {
            self.fail(
                id,
                CallError::Protocol(ExchangeError::State("slot vanished")),
            );
            return Dispatch::Failed;
        };
        live.call = Some(id);
        live.conn.start(exchange, deadline);
        let reused = idle.is_some();
        log::debug!("http call started id={id} endpoint={endpoint} slot={slot} reused={reused}");
        if reused {
            // Writable already: no readiness edge will come, so write the request now.
            let r = live.conn.pump();
            self.settle(slot, r, now);
        }
        Dispatch::Started
    }

    /// Closes one idle connection of any endpoint to free a slot; false if there is none.
    fn evict_one_idle(&mut self) -> bool {
        let victim = self.hosts.values().find_map(|h| h.idle.first().copied());
        if let Some(slot) = victim {
            self.close(slot);
        }
        victim.is_some()
    }

    /// Resolves, connects (non-blocking) and registers a new connection for `ep`.
    fn open(&mut self, ep: &Endpoint, now: Instant) -> Result<usize, CallError> {
        let addr = self
            .resolver
            .resolve(&ep.host, ep.port, now)
            .map_err(CallError::Dns)?;
        let transport = match ep.scheme {
            Scheme::Http => Transport::Plain,
            Scheme::Https => {
                let name = ServerName::try_from(ep.server_name.clone()).map_err(|_| {
                    CallError::InvalidServerName {
                        name: ep.server_name.clone(),
                    }
                })?;
                let tls = ClientConnection::new(self.tls.clone(), name).map_err(|error| {
                    CallError::Tls {
                        server_name: ep.server_name.clone(),
                        error,
                    }
                })?;
                Transport::Tls(Box::new(tls))
            }
        };
        let sock = TcpStream::connect(addr).map_err(|error| connect_error(addr, error))?;
        let slot = self
            .free
            .pop()
            .ok_or(CallError::Protocol(ExchangeError::State("no free slot")))?;
        let (in_size, out_size) = (self.cfg.in_buffer, self.cfg.out_buffer);
        let bufs = self
            .slots
            .get_mut(slot)
            .and_then(|s| s.bufs.take())
            .unwrap_or_else(|| ConnBuffers::new(in_size, out_size));
        let mut conn = Conn::new(sock, transport, bufs, now + self.cfg.connect_timeout);
        let token = Token(self.cfg.token_base + slot);
        if let Err(e) = conn.register(&self.registry, token) {
            if let Some(s) = self.slots.get_mut(slot) {
                s.bufs = Some(conn.close(&self.registry));
            }
            self.free.push(slot);
            return Err(CallError::Register(e));
        }
        if let Some(s) = self.slots.get_mut(slot) {
            s.conn = Some(Live {
                conn,
                endpoint: ep.clone(),
                addr,
                call: None,
            });
        }
        self.hosts.entry(ep.clone()).or_default().open += 1;
        self.stats.connects += 1;
        log::debug!("http connect endpoint={ep} addr={addr} slot={slot}");
        Ok(slot)
    }

    /// After I/O on `slot`: report progress as events, finish the call, recycle the connection.
    fn settle(&mut self, slot: usize, io: Result<(), ConnError>, now: Instant) {
        if let Err(e) = io {
            self.conn_failed(slot, e);
            return;
        }
        let Some(live) = self.slots.get_mut(slot).and_then(|s| s.conn.as_mut()) else {
            return;
        };
        let Some(id) = live.call else {
            if live.conn.is_dead_idle() {
                log::debug!(
                    "http idle connection closed by peer endpoint={}",
                    live.endpoint
                );
                self.close(slot);
            }
            return;
        };
        let Some(rec) = self.calls.get_mut(&id) else {
            live.call = None; // orphan: cannot happen, but never leave a busy slot behind
            self.close(slot);
            return;
        };
        let fresh_input = live.conn.take_new_input();
        if live.conn.response_started() {
            rec.retry = None;
        }
        let Some(ex) = live.conn.exchange() else {
            return;
        };
        if rec.mode == BodyMode::Streamed {
            if let (false, Some(head)) = (rec.head_reported, ex.response_head()) {
                rec.head_reported = true;
                self.events.push_back(HttpEvent::ResponseHead {
                    id,
                    status: head.status(),
                    headers: head.headers().clone(),
                });
            }
            if ex.is_streaming_body()
                && fresh_input
                && live.conn.has_pending_body()
                && !rec.body_signalled
            {
                rec.body_signalled = true;
                self.events.push_back(HttpEvent::BodyData { id });
            }
        }
        if !ex.is_done() {
            return;
        }
        let reusable = live.conn.is_reusable();
        let response = live
            .conn
            .take_exchange()
            .and_then(|mut ex| ex.take_response());
        live.call = None;
        self.calls.remove(&id);
        let result = response.ok_or(CallError::Protocol(ExchangeError::State("response taken")));
        self.events.push_back(HttpEvent::Done { id, result });
        self.release(slot, reusable, now);
    }

    /// The call on `slot` finished: park the connection for reuse, or close it.
    fn release(&mut self, slot: usize, reusable: bool, now: Instant) {
        if !reusable {
            self.close(slot);
            return;
        }
        let (max_idle, idle_deadline) = (self.cfg.max_idle_per_host, now + self.cfg.idle_timeout);
        let Some(live) = self.slots.get_mut(slot).and_then(|s| s.conn.as_mut()) else {
            return;
        };
        live.conn.make_idle(idle_deadline);
        let host = self.hosts.entry(live.endpoint.clone()).or_default();
        if host.idle.len() >= max_idle {
            self.close(slot);
        } else {
            host.idle.push(slot);
        }
    }

    /// A connection failed: close it, then retry its call once on a fresh connection if it was
    /// a stale keep-alive race, else fail the call with a classified error.
    fn conn_failed(&mut self, slot: usize, err: ConnError) {
        let Some(live) = self.live_mut(slot) else {
            return;
        };
        let call = live.call.take();
        let error = classify(err, live);
        let stale = live.conn.is_reused() && !live.conn.response_started();
        let endpoint = live.endpoint.clone();
        self.close(slot);
        let Some(id) = call else { return };
        if stale
            && matches!(error, CallError::ClosedBeforeResponse { .. })
            && let Some(rec) = self.calls.get_mut(&id)
            && let Some((request, body)) = rec.retry.take()
        {
            log::debug!("http stale keep-alive connection, retrying id={id} endpoint={endpoint}");
            rec.state = CallState::Queued {
                request: Box::new(request),
                body,
            };
            rec.fresh_only = true;
            self.queue.push_front(id);
            self.stats.stale_retries += 1;
            return;
        }
        log::debug!("http call failed id={id} endpoint={endpoint} error={error}");
        self.fail(id, error);
    }

    fn fail(&mut self, id: CallId, error: CallError) {
        if self.calls.remove(&id).is_some() {
            self.events.push_back(HttpEvent::Done {
                id,
                result: Err(error),
            });
        }
    }

    /// Drops the connection on `slot` (its call, if any, must be dealt with by the caller).
    fn close(&mut self, slot: usize) {
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let Some(live) = s.conn.take() else { return };
        self.stats.bytes_in += live.conn.bytes_in();
        s.bufs = Some(live.conn.close(&self.registry));
        self.free.push(slot);
        if let Some(host) = self.hosts.get_mut(&live.endpoint) {
            host.open = host.open.saturating_sub(1);
            host.idle.retain(|&i| i != slot);
            if host.open == 0 {
                self.hosts.remove(&live.endpoint);
            }
        }
    }
}

fn classify(err: ConnError, live: &Live) -> CallError {
    let reused = live.conn.is_reused();
    let started = live.conn.response_started();
    let body_received = live.conn.exchange().map_or(0, Exchange::body_received);
    let lost = |cause: Option<io::Error>| {
        if started {
            CallError::Truncated {
                body_received,
                cause,
            }
        } else {
            CallError::ClosedBeforeResponse { reused, cause }
        }
    };
    match err {
        ConnError::Connect(error) => connect_error(live.addr, error),
        ConnError::ConnectTimeout => CallError::ConnectTimeout { addr: live.addr },
        ConnError::Tls(error) => CallError::Tls {
            server_name: live.endpoint.server_name.clone(),
            error,
        },
        ConnError::Io(e) => lost(Some(e)),
        ConnError::Http(ExchangeError::EofBeforeResponse) => lost(None),
        ConnError::Http(ExchangeError::Truncated { received }) => CallError::Truncated {
            body_received: received,
            cause: None,
        },
        ConnError::Http(ExchangeError::TooLarge { cap, declared }) => {
            CallError::TooLarge { cap, declared }
        }
        ConnError::Http(e) => CallError::Protocol(e),
        ConnError::Timeout | ConnError::IdleTimeout => CallError::Timeout,
    }
}

fn connect_error(addr: SocketAddr, error: io::Error) -> CallError {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => CallError::ConnectRefused { addr },
        io::ErrorKind::TimedOut => CallError::ConnectTimeout { addr },
        _ => CallError::Connect { addr, error },
    }
}

/// RFC 9110 §9.2.2: safe to repeat, so a stale-connection failure is retried at once.
fn is_idempotent(m: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(m)
}
