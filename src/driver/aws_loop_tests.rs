//! Loopback tests of [`AwsLoop`]: an [`AwsClient`] with fixed keys, its endpoints overridden to a
//! `test_server` on 127.0.0.1, run by the real loop. Each test is its own driver, so the loop
//! reads the clock; no assertion depends on timing.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::*;
use crate::aws::api::{s3, sts};
use crate::aws::client::AwsCallError;
use crate::aws::credentials::{CredentialCache, CredentialSet, Credentials};
use crate::aws::endpoint::EndpointOverrides;
use crate::driver::resolve::DEFAULT_TTL;
use crate::driver::test_server::{Reply, SeenRequest, TestServer, pattern_byte, response};
use crate::driver::tls::client_config;

const STS_IDENTITY: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/aws/responses/moto_sts_GetCallerIdentity.response.txt"
));
const NO_SUCH_KEY: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>missing.log.gz</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>";

/// The body of a captured response fixture (after the blank line).
fn fixture_body(text: &[u8]) -> &[u8] {
    let at = text
        .windows(2)
        .position(|w| w == b"\n\n")
        .expect("blank line");
    &text[at + 2..]
}

/// A loop whose AWS endpoints all point at `port` on 127.0.0.1.
fn aws_loop(port: u16) -> AwsLoop {
    let mut set = CredentialSet::new();
    let creds = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
    );
    set.add(CredentialCache::fixed("test", creds, "us-east-1", 7), None);
    let overrides = EndpointOverrides {
        global: Some(format!("http://127.0.0.1:{port}")),
        per_service: Vec::new(),
    };
    let aws = AwsClient::new(set, overrides, 7);
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls/ca.pem");
    AwsLoop::new(
        aws,
        client_config(&ca).expect("test CA"),
        Resolver::new(DEFAULT_TTL),
        HttpClientConfig::default(),
        None,
    )
    .expect("loop")
}

/// Answers STS calls with the moto identity, GETs per `get`.
fn server(get: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static) -> TestServer {
    TestServer::start(move |req| {
        if req.method == "POST" {
            Reply::Bytes(response(200, fixture_body(STS_IDENTITY)))
        } else {
            get(req)
        }
    })
}

/// Submits its calls, records what happens. Streamed bodies are read `chunk` bytes per turn:
/// the rest waits in the connection (backpressure) until the next turn.
struct Script {
    to_submit: Vec<(ApiRequest, CallOptions)>,
    ids: Vec<CallId>,
    chunk: usize,
    log: Vec<String>,
    bodies: HashMap<CallId, Vec<u8>>,
    done: HashMap<CallId, Result<ApiResponse, AwsCallError>>,
    account_ids: Vec<String>,
    unread: Vec<CallId>,
    last_now: Option<Instant>,
}

impl Script {
    fn new(calls: Vec<(ApiRequest, CallOptions)>, chunk: usize) -> Script {
        Script {
            to_submit: calls,
            ids: Vec::new(),
            chunk,
            log: Vec::new(),
            bodies: HashMap::new(),
            done: HashMap::new(),
            account_ids: Vec::new(),
            unread: Vec::new(),
            last_now: None,
        }
    }

    fn read_some(&mut self, call: CallId, driver: &mut AwsDriver, now: Now) {
        let mut buf = vec![0; self.chunk];
        let n = driver.read_body(call, &mut buf, now);
        self.bodies
            .entry(call)
            .or_default()
            .extend_from_slice(&buf[..n]);
        if n == 0 {
            self.unread.retain(|c| *c != call);
        } else if !self.unread.contains(&call) {
            self.unread.push(call);
        }
    }
}

impl AwsApp for Script {
    fn poll_work(&mut self, driver: &mut AwsDriver, now: Now) {
        self.last_now = Some(now.mono);
        for (req, opts) in std::mem::take(&mut self.to_submit) {
            let id = driver.submit(CacheId(0), "us-east-1", req, opts, now);
            self.ids.push(id);
        }
        for call in self.unread.clone() {
            self.read_some(call, driver, now);
        }
    }

    fn handle_event(&mut self, event: LoopEvent, driver: &mut AwsDriver, now: Now) {
        match event {
            LoopEvent::Aws(AwsEvent::StreamStart { call, status, .. }) => {
                self.log.push(format!("start {call} {status}"));
            }
            LoopEvent::BodyReady { call } => {
                if self.log.last() != Some(&format!("body {call}")) {
                    self.log.push(format!("body {call}"));
                }
                self.read_some(call, driver, now);
            }
            LoopEvent::Aws(AwsEvent::Done { call, response }) => {
                self.log.push(format!("done {call}"));
                self.done.insert(call, Ok(response));
            }
            LoopEvent::Aws(AwsEvent::Failed { call, error }) => {
                self.log.push(format!("failed {call}"));
                self.done.insert(call, Err(error));
            }
            LoopEvent::Aws(AwsEvent::AccountKnown { account_id, .. }) => {
                self.account_ids.push(account_id);
            }
        }
    }

    /// Unread bytes: be called back at once.
    fn poll_timeout(&self) -> Option<Instant> {
        self.last_now.filter(|_| !self.unread.is_empty())
    }

    fn handle_stop(&mut self, _driver: &mut AwsDriver, _now: Now) {}

    fn is_done(&self) -> bool {
        self.to_submit.is_empty() && self.ids.iter().all(|id| self.done.contains_key(id))
    }
}

fn get_object(key: &str) -> ApiRequest {
    s3::get_object(&s3::GetObjectInput {
        bucket: "flow-bucket",
        key,
        range: None,
        if_match: None,
    })
}

#[test]
fn buffered_call_is_signed_and_answered() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let srv = TestServer::start(move |req| {
        seen2.lock().unwrap().push(req.clone());
        Reply::Bytes(response(200, fixture_body(STS_IDENTITY)))
    });
    let mut lp = aws_loop(srv.addr.port());
    let mut app = Script::new(
        vec![(sts::get_caller_identity(), CallOptions::default())],
        4096,
    );
    assert_eq!(lp.run(&mut app).unwrap(), LoopExit::Done);
    let id = app.ids[0];
    let body = &app.done[&id].as_ref().expect("done").body;
    let identity = sts::parse_get_caller_identity(body).expect("parses");
    assert_eq!(identity.account, "123456789012");
    let seen = seen.lock().unwrap();
    assert!(!seen.is_empty());
    let port = srv.addr.port();
    for req in seen.iter() {
        assert_eq!(
            req.header("host"),
            Some(format!("127.0.0.1:{port}").as_str())
        );
        let auth = req.header("authorization").expect("signed");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && auth.contains("/us-east-1/sts/aws4_request"),
            "{auth}"
        );
    }
}

#[test]
fn streamed_body_with_backpressure_arrives_whole_and_in_order() {
    const LEN: u64 = 1 << 20;
    let srv = server(|_| Reply::Pattern { len: LEN });
    let mut lp = aws_loop(srv.addr.port());
    let mut app = Script::new(
        vec![(get_object("a/b.log.gz"), CallOptions::streamed())],
        4096,
    );
    assert_eq!(lp.run(&mut app).unwrap(), LoopExit::Done);
    let id = app.ids[0];
    let done = app.done[&id].as_ref().expect("done");
    assert_eq!(done.status, 200);
    assert!(done.body.is_empty());
    let body = &app.bodies[&id];
    assert_eq!(body.len() as u64, LEN);
    assert!(
        body.iter()
            .enumerate()
            .all(|(i, b)| *b == pattern_byte(i as u64))
    );
    assert_eq!(
        app.log,
        [
            format!("start {id} 200"),
            format!("body {id}"),
            format!("done {id}")
        ]
    );
}

#[test]
fn streamed_error_body_is_collected_and_decoded() {
    let srv = server(|_| Reply::Bytes(response(404, NO_SUCH_KEY)));
    let mut lp = aws_loop(srv.addr.port());
    let mut app = Script::new(
        vec![(get_object("missing.log.gz"), CallOptions::streamed())],
        4096,
    );
    assert_eq!(lp.run(&mut app).unwrap(), LoopExit::Done);
    let id = app.ids[0];
    let err = app.done[&id].as_ref().expect_err("failed");
    assert!(matches!(err, AwsCallError::Rejected { .. }), "{err:?}");
    assert_eq!(err.aws_error().map(|e| e.code.as_str()), Some("NoSuchKey"));
    assert_eq!(app.log, [format!("failed {id}")]);
    assert!(!app.bodies.contains_key(&id));
}

#[test]
fn server_error_is_retried_after_backoff() {
    let gets = Arc::new(AtomicUsize::new(0));
    let gets2 = Arc::clone(&gets);
    let srv = server(move |_| {
        if gets2.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Bytes(response(503, b""))
        } else {
            Reply::Bytes(response(200, b"hello"))
        }
    });
    let mut lp = aws_loop(srv.addr.port());
    let mut app = Script::new(vec![(get_object("k"), CallOptions::buffered(64))], 4096);
    assert_eq!(lp.run(&mut app).unwrap(), LoopExit::Done);
    let done = app.done[&app.ids[0]].as_ref().expect("done after a retry");
    assert_eq!(done.body, b"hello");
    assert_eq!(gets.load(Ordering::SeqCst), 2);
}

#[test]
fn refused_connection_fails_as_a_connect_failure() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut lp = aws_loop(port);
    let opts = CallOptions::default().with_max_attempts(1);
    let mut app = Script::new(vec![(sts::get_caller_identity(), opts)], 4096);
    assert_eq!(lp.run(&mut app).unwrap(), LoopExit::Done);
    let err = app.done[&app.ids[0]].as_ref().expect_err("refused");
    assert!(
        matches!(
            err,
            AwsCallError::Exhausted {
                last: crate::aws::client::LastFailure::Transport(TransportFailure::Connect),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn http_failures_map_to_the_retry_layer() {
    let addr = "127.0.0.1:1".parse().unwrap();
    assert_eq!(
        transport_failure(&CallError::ConnectRefused { addr }),
        TransportFailure::Connect
    );
    assert_eq!(
        transport_failure(&CallError::Truncated {
            body_received: 3,
            cause: None
        }),
        TransportFailure::Closed
    );
    assert_eq!(
        transport_failure(&CallError::TooLarge {
            cap: 1,
            declared: None
        }),
        TransportFailure::TooLarge
    );
    assert_eq!(
        transport_failure(&CallError::Timeout),
        TransportFailure::Timeout
    );
}
