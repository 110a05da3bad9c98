//! Loopback tests of the HTTP client: `HttpClient` driven by a minimal mio loop on this thread
//! against `test_server` threads on 127.0.0.1 (plain and TLS with the fixture CA). Each test is
//! its own driver, so it reads the clock.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use ureq_proto::http::{Request, Response, StatusCode};

use crate::driver::pool::{
    CallError, CallId, CallSpec, Endpoint, HttpClient, HttpClientConfig, HttpEvent, Scheme,
};
use crate::driver::resolve::{DEFAULT_TTL, LookupFn, Resolver};
use crate::driver::test_server::{Reply, TestServer, chunked, pattern_byte, response};
use crate::driver::tls::client_config;
use crate::http::BodyMode;

/// A guard against a hung test, not a timing assertion.
const STUCK: Duration = Duration::from_secs(30);

struct Harness {
    poll: Poll,
    events: Events,
    client: HttpClient,
    heads: HashMap<CallId, StatusCode>,
    bodies: HashMap<CallId, Vec<u8>>,
    done: HashMap<CallId, Result<Response<Vec<u8>>, CallError>>,
    buf: Vec<u8>,
}

fn harness_with(cfg: HttpClientConfig, ca: &str, resolver: Resolver) -> Harness {
    let poll = Poll::new().unwrap();
    let ca = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(ca);
    let client =
        HttpClient::new(poll.registry(), client_config(&ca).unwrap(), resolver, cfg).unwrap();
    Harness {
        poll,
        events: Events::with_capacity(256),
        client,
        heads: HashMap::new(),
        bodies: HashMap::new(),
        done: HashMap::new(),
        buf: vec![0; 64 * 1024],
    }
}

fn harness(cfg: HttpClientConfig) -> Harness {
    harness_with(cfg, "ca.pem", Resolver::new(DEFAULT_TTL))
}

fn endpoint(server: &TestServer, scheme: Scheme) -> Endpoint {
    Endpoint::new(scheme, "127.0.0.1", server.addr.port()).with_server_name("localhost")
}

fn get(ep: &Endpoint, path: &str, mode: BodyMode, timeout: Duration) -> CallSpec {
    let scheme = if ep.scheme == Scheme::Https {
        "https"
    } else {
        "http"
    };
    let request = Request::get(format!("{scheme}://localhost:{}{path}", ep.port))
        .header("host", "localhost")
        .body(())
        .unwrap();
    CallSpec {
        endpoint: ep.clone(),
        request,
        body: Vec::new(),
        body_mode: mode,
        deadline: Instant::now() + timeout,
    }
}

const BUFFERED: BodyMode = BodyMode::Buffered { cap: 4 << 20 };
const LONG: Duration = Duration::from_secs(20);

impl Harness {
    /// One loop iteration: poll until the client's next deadline (at most 50 ms), dispatch
    /// readiness, expire deadlines, drain events (pulling streamed bodies when `pull`).
    fn turn(&mut self, pull: bool) {
        let now = Instant::now();
        let wait = self
            .client
            .poll_timeout()
            .map_or(Duration::from_millis(50), |t| {
                t.saturating_duration_since(now)
                    .min(Duration::from_millis(50))
            });
        match self.poll.poll(&mut self.events, Some(wait)) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => r.unwrap(),
        }
        let now = Instant::now();
        for ev in self.events.iter() {
            assert!(self.client.owns_token(ev.token()));
            self.client.handle_event(ev.token(), now);
        }
        self.client.handle_timeout(now);
        self.drain(pull, now);
    }

    fn drain(&mut self, pull: bool, now: Instant) {
        while let Some(ev) = self.client.poll_event() {
            match ev {
                HttpEvent::ResponseHead { id, status, .. } => {
                    assert!(self.heads.insert(id, status).is_none(), "one head per call");
                }
                HttpEvent::BodyData { id } if pull => loop {
                    let n = self.client.read_body(id, &mut self.buf, now);
                    if n == 0 {
                        break;
                    }
                    self.bodies
                        .entry(id)
                        .or_default()
                        .extend_from_slice(&self.buf[..n]);
                },
                HttpEvent::BodyData { .. } => {}
                HttpEvent::Done { id, result } => {
                    assert!(self.done.insert(id, result).is_none(), "one Done per call");
                }
            }
        }
    }

    fn run(&mut self, ids: &[CallId]) {
        let start = Instant::now();
        while !ids.iter().all(|id| self.done.contains_key(id)) {
            assert!(start.elapsed() < STUCK, "calls did not finish");
            self.turn(true);
        }
    }

    fn result(&mut self, id: CallId) -> Result<Response<Vec<u8>>, CallError> {
        self.run(&[id]);
        self.done.remove(&id).unwrap()
    }

    fn body(&mut self, id: CallId) -> Vec<u8> {
        match self.result(id) {
            Ok(r) => r.into_body(),
            Err(e) => panic!("call {id} failed: {e}"),
        }
    }
}

fn object(i: usize) -> Vec<u8> {
    format!("object {i};").repeat(i * 37 + 1).into_bytes()
}

#[test]
fn fifty_concurrent_calls_on_one_thread() {
    let server = TestServer::start(|req| {
        let i: usize = req.path.trim_start_matches("/obj/").parse().unwrap();
        match i % 2 {
            0 => Reply::Bytes(chunked(200, &object(i), 100)),
            _ => Reply::Bytes(response(200, &object(i))),
        }
    });
    let cfg = HttpClientConfig {
        max_per_host: 64,
        ..HttpClientConfig::default()
    };
    let mut h = harness(cfg);
    let ep = endpoint(&server, Scheme::Http);
    let ids: Vec<_> = (0..50)
        .map(|i| {
            h.client.start(
                get(&ep, &format!("/obj/{i}"), BUFFERED, LONG),
                Instant::now(),
            )
        })
        .collect();
    let s = h.client.stats();
    assert_eq!(
        (s.active_calls, s.open, s.queued_calls),
        (50, 50, 0),
        "all in flight at once"
    );
    h.run(&ids);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            h.done.remove(id).unwrap().unwrap().into_body(),
            object(i),
            "call {i}"
        );
    }
    assert_eq!(server.accepts(), 50);
    assert_eq!(h.client.stats().idle, 8, "kept up to max_idle_per_host");
}

#[test]
fn tls_one_mib_each_way_then_streamed_on_the_same_connection() {
    let server = TestServer::start_tls(|req| match req.method.as_str() {
        "POST" => Reply::Bytes(chunked(200, &req.body, 50_000)),
        _ => Reply::Pattern { len: 1 << 20 },
    });
    let mut h = harness(HttpClientConfig::default());
    let ep = endpoint(&server, Scheme::Https);
    let upload: Vec<u8> = (0..1u32 << 20).map(|i| (i % 253) as u8).collect();
    let request = Request::post(format!("https://localhost:{}/echo", ep.port))
        .header("host", "localhost")
        .header("content-length", upload.len())
        .body(())
        .unwrap();
    let spec = CallSpec {
        endpoint: ep.clone(),
        request,
        body: upload.clone(),
        body_mode: BUFFERED,
        deadline: Instant::now() + LONG,
    };
    let id = h.client.start(spec, Instant::now());
    assert!(h.body(id) == upload, "echoed 1 MiB differs");
    let id = h.client.start(
        get(&ep, "/pattern", BodyMode::Streamed, LONG),
        Instant::now(),
    );
    let resp = h.result(id).unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.body().len()),
        (200, 0),
        "streamed Done has no body"
    );
    assert_eq!(h.heads[&id], 200);
    let got = h.bodies.remove(&id).unwrap();
    assert_eq!(got.len(), 1 << 20);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, &b)| b == pattern_byte(i as u64))
    );
    assert_eq!(server.accepts(), 1, "both calls on one TLS connection");
}

#[test]
fn keep_alive_reuses_one_connection() {
    let server = TestServer::start(|req| {
        let body = format!("{} host={}", req.path, req.header("host").unwrap_or("-"));
        Reply::Bytes(response(200, body.as_bytes()))
    });
    let mut h = harness(HttpClientConfig::default());
    let ep = endpoint(&server, Scheme::Http);
    for i in 0..5 {
        let path = format!("/call/{i}");
        let id = h
            .client
            .start(get(&ep, &path, BUFFERED, LONG), Instant::now());
        assert_eq!(h.body(id), format!("{path} host=localhost").as_bytes());
        assert_eq!(h.client.stats().idle, 1);
    }
    assert_eq!(server.accepts(), 1);
    assert_eq!(h.client.stats().connects, 1);
}

#[test]
fn idle_connection_closed_by_server_is_dropped() {
    // The server answers (no `connection: close`) and then closes: the client sees the EOF.
    let server = TestServer::start(|_| Reply::BytesThenClose(response(200, b"bye")));
    let mut h = harness(HttpClientConfig::default());
    let ep = endpoint(&server, Scheme::Http);
    let id = h
        .client
        .start(get(&ep, "/1", BUFFERED, LONG), Instant::now());
    assert_eq!(h.body(id), b"bye");
    let start = Instant::now();
    while h.client.stats().open > 0 {
        assert!(
            start.elapsed() < STUCK,
            "EOF of the idle connection not noticed"
        );
        h.turn(true);
    }
    let id = h
        .client
        .start(get(&ep, "/2", BUFFERED, LONG), Instant::now());
    assert_eq!(h.body(id), b"bye");
    assert_eq!(server.accepts(), 2);
    assert_eq!(h.client.stats().stale_retries, 0);
}

#[test]
fn stale_keep_alive_connection_is_retried_once_for_idempotent_calls() {
    // Each connection serves one request, then closes on receiving the next one, like a
    // server whose idle timeout fired just as our request went out.
    let server = TestServer::start(|req| match req.nth_on_conn {
        0 => Reply::Bytes(response(200, format!("conn {}", req.conn).as_bytes())),
        _ => Reply::Close,
    });
    let mut h = harness(HttpClientConfig::default());
    let ep = endpoint(&server, Scheme::Http);
    let id = h
        .client
        .start(get(&ep, "/a", BUFFERED, LONG), Instant::now());
    assert_eq!(h.body(id), b"conn 0");
    let id = h
        .client
        .start(get(&ep, "/b", BUFFERED, LONG), Instant::now());
    assert_eq!(h.body(id), b"conn 1", "retried on a fresh connection");
    assert_eq!((server.accepts(), h.client.stats().stale_retries), (2, 1));

    // POST is not idempotent: the same race is reported, not replayed.
    let request = Request::post(format!("http://localhost:{}/c", ep.port))
        .header("host", "localhost")
        .body(())
        .unwrap();
    let spec = CallSpec {
        endpoint: ep.clone(),
        request,
        body: Vec::new(),
        body_mode: BUFFERED,
        deadline: Instant::now() + LONG,
    };
    let id = h.client.start(spec, Instant::now());
    let err = h.result(id).unwrap_err();
    assert!(
        matches!(err, CallError::ClosedBeforeResponse { reused: true, .. }),
        "{err}"
    );
    assert!(err.is_transient() && err.may_have_reached_server());
    assert_eq!(h.client.stats().stale_retries, 1);
}

#[test]
fn deadlines_give_timeout_for_active_and_queued_calls() {
    let server = TestServer::start(|_| Reply::Silent);
    let cfg = HttpClientConfig {
        max_per_host: 1,
        ..HttpClientConfig::default()
    };
    let mut h = harness(cfg);
    let ep = endpoint(&server, Scheme::Http);
    let t = Duration::from_millis(300);
    let active = h.client.start(get(&ep, "/", BUFFERED, t), Instant::now());
    let queued = h
        .client
        .start(get(&ep, "/", BUFFERED, t * 2), Instant::now());
    assert_eq!(h.client.stats().queued_calls, 1);
    assert!(h.client.poll_timeout().is_some());
    for id in [active, queued] {
        let err = h.result(id).unwrap_err();
        assert!(matches!(err, CallError::Timeout), "{err}");
    }
    let s = h.client.stats();
    assert_eq!((s.open, s.active_calls, s.queued_calls), (0, 0, 0));
}

#[test]
fn truncated_body_is_classified() {
    let server = TestServer::start(|_| {
        Reply::BytesThenClose(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc".to_vec())
    });
    let mut h = harness(HttpClientConfig::default());
    let ep = endpoint(&server, Scheme::Http);
    for mode in [BUFFERED, BodyMode::Streamed] {
        let id = h.client.start(get(&ep, "/", mode, LONG), Instant::now());
        let err = h.result(id).unwrap_err();
        assert!(
            matches!(
                err,
                CallError::Truncated {
                    body_received: 3,
                    ..
                }
            ),
            "{mode:?}: {err}"
        );
    }
}

#[test]
fn connect_refused_dns_and_tls_failures_are_classified() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut h = harness(HttpClientConfig::default());
    let ep = Endpoint::new(Scheme::Http, "127.0.0.1", port);
    let id = h
        .client
        .start(get(&ep, "/", BUFFERED, LONG), Instant::now());
    let err = h.result(id).unwrap_err();
    assert!(
        matches!(err, CallError::ConnectRefused { addr } if addr.port() == port),
        "{err}"
    );
    assert!(err.is_transient() && !err.may_have_reached_server());

    let lookup: LookupFn = Box::new(|host| Err(io::Error::other(format!("no such host {host}"))));
    let mut h = harness_with(
        HttpClientConfig::default(),
        "ca.pem",
        Resolver::with_lookup(DEFAULT_TTL, lookup),
    );
    let ep = Endpoint::new(Scheme::Https, "sqs.nowhere.invalid", 443);
    let id = h
        .client
        .start(get(&ep, "/", BUFFERED, LONG), Instant::now());
    h.drain(true, Instant::now()); // reported at once, no I/O needed
    let err = h.done.remove(&id).unwrap().unwrap_err();
    assert!(
        matches!(err, CallError::Dns(_)) && err.to_string().contains("sqs.nowhere.invalid"),
        "{err}"
    );

    let server = TestServer::start_tls(|_| Reply::Bytes(response(200, b"")));
    let mut h = harness_with(
        HttpClientConfig::default(),
        "other-ca.pem",
        Resolver::new(DEFAULT_TTL),
    );
    let id = h.client.start(
        get(&endpoint(&server, Scheme::Https), "/", BUFFERED, LONG),
        Instant::now(),
    );
    let err = h.result(id).unwrap_err();
    assert!(
        matches!(err, CallError::Tls { .. }) && !err.is_transient(),
        "{err}"
    );
}

#[test]
fn per_host_cap_queues_calls_and_reuses_connections() {
    let server = TestServer::start(|req| Reply::Bytes(response(200, req.path.as_bytes())));
    let cfg = HttpClientConfig {
        max_per_host: 2,
        ..HttpClientConfig::default()
    };
    let mut h = harness(cfg);
    let ep = endpoint(&server, Scheme::Http);
    let ids: Vec<_> = (0..6)
        .map(|i| {
            h.client
                .start(get(&ep, &format!("/{i}"), BUFFERED, LONG), Instant::now())
        })
        .collect();
    let s = h.client.stats();
    assert_eq!((s.open, s.queued_calls), (2, 4));
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(h.body(*id), format!("/{i}").as_bytes());
        assert!(h.client.stats().open <= 2);
    }
    assert_eq!(server.accepts(), 2);
}

#[test]
fn cancel_drops_the_call_and_its_connection() {
    let server = TestServer::start(|_| Reply::Silent);
    let mut h = harness(HttpClientConfig::default());
    let ep = endpoint(&server, Scheme::Http);
    let id = h
        .client
        .start(get(&ep, "/", BUFFERED, LONG), Instant::now());
    h.turn(true);
    h.client.cancel(id, Instant::now());
    for _ in 0..3 {
        h.turn(true);
    }
    assert!(!h.done.contains_key(&id));
    let s = h.client.stats();
    assert_eq!((s.open, s.active_calls), (0, 0));
    assert_eq!(h.client.read_body(id, &mut [0u8; 16], Instant::now()), 0);
}

#[test]
fn streamed_20_mib_body_keeps_memory_bounded() {
    const LEN: u64 = 20 << 20;
    const PULL: usize = 64 * 1024;
    let server = TestServer::start(|_| Reply::Pattern { len: LEN });
    let cfg = HttpClientConfig::default();
    let in_buffer = cfg.in_buffer as u64;
    let mut h = harness(cfg);
    let ep = endpoint(&server, Scheme::Http);
    let id = h
        .client
        .start(get(&ep, "/big", BodyMode::Streamed, LONG), Instant::now());
    let buffers = h.client.stats().buffer_bytes;
    assert_eq!(buffers, 16 * 1024 + 8 * 1024);

    // The consumer does not pull: after the head, the client reads at most one input buffer,
    // however long the server keeps sending (the rest waits in the kernel, then in the server).
    let start = Instant::now();
    while !h.heads.contains_key(&id) || server.pattern_written() < 2 << 20 {
        assert!(start.elapsed() < STUCK, "server did not start sending");
        h.turn(false);
    }
    for _ in 0..10 {
        h.turn(false);
    }
    let s = h.client.stats();
    let head_len = "HTTP/1.1 200 OK\r\ncontent-length: 20971520\r\n\r\n".len() as u64;
    assert!(
        s.bytes_in <= head_len + in_buffer,
        "read {} bytes ahead of the consumer",
        s.bytes_in
    );
    assert!(!h.done.contains_key(&id));

    // Now pull 64 KiB at a time and check every byte; buffers never grow.
    let mut out = vec![0u8; PULL];
    let mut off = 0u64;
    let start = Instant::now();
    while !h.done.contains_key(&id) {
        assert!(start.elapsed() < STUCK, "stream stalled at {off}");
        loop {
            let n = h.client.read_body(id, &mut out, Instant::now());
            assert!(n <= PULL);
            assert!(
                out[..n]
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b == pattern_byte(off + i as u64)),
                "at {off}"
            );
            off += n as u64;
            assert_eq!(h.client.stats().buffer_bytes, buffers);
            if n == 0 {
                break;
            }
        }
        h.turn(false);
    }
    assert_eq!(off, LEN);
    h.done.remove(&id).unwrap().unwrap();
    assert_eq!(h.client.stats().bytes_in, head_len + LEN);
}
