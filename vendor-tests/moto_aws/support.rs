//! Plumbing of `moto_aws.rs`: the moto_server process (started from `.venv`, stopped by PID),
//! its admin API (`/moto-api/reset`, `/moto-api/reset-auth`), the boto3 seeding helper
//! (`moto_seed.py`), and [`Aws`], which runs batches of calls through our `AwsClient` and the real
//! poll loop against it.
#![allow(clippy::disallowed_methods)] // a test harness is its own driver

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vpcflow_ipfix::aws::client::{
    ApiResponse, AwsCallError, AwsClient, AwsEvent, CallId, CallOptions,
};
use vpcflow_ipfix::aws::credentials::{CacheId, CredentialCache, CredentialSet, Credentials};
use vpcflow_ipfix::aws::endpoint::EndpointOverrides;
use vpcflow_ipfix::aws::request::ApiRequest;
use vpcflow_ipfix::driver::aws_loop::{AwsApp, AwsDriver, AwsLoop, LoopEvent, LoopExit};
use vpcflow_ipfix::driver::clock::Now;
use vpcflow_ipfix::driver::pool::{HttpClientConfig, HttpStats};
use vpcflow_ipfix::driver::resolve::{DEFAULT_TTL, Resolver};
use vpcflow_ipfix::driver::tls;

/// moto imports every service backend at its first start.
const START_TIMEOUT: Duration = Duration::from_secs(90);
pub const REGION: &str = "us-east-1";
/// Keys moto accepts while signature checking is off (documentation examples).
pub const BOOTSTRAP_KEYS: (&str, &str) =
    ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
/// The account moto puts IAM users and bootstrap keys in.
pub const MOTO_ACCOUNT: &str = "123456789012";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's python: `$VPCFLOW_PYTHON` (scripts/test exports it), else `.venv/bin/python`.
fn python() -> PathBuf {
    match std::env::var_os("VPCFLOW_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => repo().join(".venv/bin/python"),
    }
}

/// One moto_server on a free 127.0.0.1 port for the whole test binary.
pub struct Moto {
    child: Child,
    pub port: u16,
    pub endpoint: String,
    log: PathBuf,
}

impl Moto {
    /// Starts moto_server and waits until it answers. A missing venv is a failure with a hint.
    pub fn start() -> Moto {
        let py = python();
        let bin = py.with_file_name("moto_server");
        assert!(
            bin.is_file() && py.is_file(),
            "{} not found: run scripts/test once (it creates .venv from vendor-tests/requirements.txt), \
             or `python3 -m venv .venv && .venv/bin/pip install -r vendor-tests/requirements.txt`",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log =
            std::env::temp_dir().join(format!("vpcflow-moto-{}-{port}.log", std::process::id()));
        let out = std::fs::File::create(&log).expect("moto log file");
        // PR_SET_PDEATHSIG (1) = SIGTERM (15): moto dies with this process even if it is killed.
        let child = Command::new(&py)
            .arg("-c")
            .arg("import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 15); os.execv(sys.argv[1], sys.argv[1:])")
            .arg(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log fd"))
            .stderr(out)
            .spawn()
            .expect("spawn moto_server");
        let mut moto = Moto {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
        };
        let t0 = Instant::now();
        loop {
            if let Some(status) = moto.child.try_wait().expect("wait") {
                panic!("moto_server exited at start ({status}):\n{}", moto.logs());
            }
            if moto.http("GET", "/moto-api/data.json", b"").is_ok() {
                break;
            }
            assert!(
                t0.elapsed() < START_TIMEOUT,
                "moto_server did not answer within {START_TIMEOUT:?}:\n{}",
                moto.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        moto
    }

    pub fn logs(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// One plain HTTP/1.1 request to moto's admin API: (status, body).
    fn http(&self, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp)?;
        let text = String::from_utf8_lossy(&resp).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        Ok((status, body))
    }

    fn admin(&self, path: &str, body: &[u8]) {
        let (status, text) = self.http("POST", path, body).expect("moto admin call");
        assert_eq!(status, 200, "moto {path}: {text}\n{}", self.logs());
    }

    /// Signature checking off, every emulated resource gone.
    pub fn reset(&self) {
        self.admin("/moto-api/reset-auth", b"inf");
        self.admin("/moto-api/reset", b"");
    }

    /// From now on moto checks the signature (and IAM policy) of every request.
    pub fn enable_auth(&self) {
        self.admin("/moto-api/reset-auth", b"0");
    }

    /// Runs `moto_seed.py ENDPOINT ARGS…` and returns the JSON it prints.
    pub fn seed(&self, args: &[&str]) -> serde_json::Value {
        let script = repo().join("vendor-tests/moto_seed.py");
        let out = Command::new(python())
            .arg(&script)
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("run moto_seed.py");
        assert!(
            out.status.success(),
            "moto_seed.py {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        serde_json::from_slice(&out.stdout).expect("moto_seed.py prints JSON")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // SIGTERM by PID through kill(1): std only offers SIGKILL, and moto flushes nothing we need.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(&self.log);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Byte `i` of every object `moto_seed.py` writes.
pub fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

/// A field of seeded JSON as text.
pub fn s<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("seed output has no {key}: {v}"))
}

/// Static keys as a credential cache.
pub fn keys(label: &str, access: &str, secret: &str) -> CredentialCache {
    CredentialCache::fixed(
        label,
        Credentials::new(access, secret, None, None),
        REGION,
        11,
    )
}

/// One call of a batch.
pub struct Call {
    pub account: CacheId,
    pub request: ApiRequest,
    pub options: CallOptions,
}

pub fn call(request: ApiRequest) -> Call {
    Call {
        account: CacheId(0),
        request,
        options: CallOptions::default(),
    }
}

pub fn streamed(request: ApiRequest) -> Call {
    Call {
        options: CallOptions::streamed(),
        ..call(request)
    }
}

/// What a call ended with; a streamed body is in `body`.
pub struct Outcome {
    pub result: Result<ApiResponse, AwsCallError>,
    pub body: Vec<u8>,
}

impl Outcome {
    /// The response of a call that must have succeeded (the buffered body, or the streamed one).
    pub fn ok(&self) -> &[u8] {
        match &self.result {
            Ok(r) if r.body.is_empty() => &self.body,
            Ok(r) => &r.body,
            Err(e) => panic!("call failed: {e}"),
        }
    }

    pub fn response(&self) -> &ApiResponse {
        self.result
            .as_ref()
            .unwrap_or_else(|e| panic!("call failed: {e}"))
    }

    pub fn err(&self) -> &AwsCallError {
        match &self.result {
            Ok(r) => panic!("call succeeded (HTTP {}), expected a failure", r.status),
            Err(e) => e,
        }
    }
}

/// Our client against moto: `AwsClient` + `HttpClient` on a real `AwsLoop`.
pub struct Aws {
    lp: AwsLoop,
    /// The HTTP client's gauges at their highest during the last batch.
    pub peak: HttpStats,
}

impl Aws {
    /// Every service at `moto`; `accounts` in the order of their `CacheId`s.
    pub fn new(moto: &Moto, accounts: CredentialSet, http: HttpClientConfig) -> Aws {
        let overrides = EndpointOverrides {
            global: Some(moto.endpoint.clone()),
            per_service: Vec::new(),
        };
        let client = AwsClient::new(accounts, overrides, 5);
        // moto is plain HTTP; the roots are never used but the client wants some.
        let ca = repo().join("fixtures/tls/ca.pem");
        let tls = tls::client_config(Path::new(&ca)).expect("test CA");
        let lp = AwsLoop::new(client, tls, Resolver::new(DEFAULT_TTL), http, None).expect("loop");
        Aws {
            lp,
            peak: HttpStats::default(),
        }
    }

    /// With the bootstrap keys only.
    pub fn bootstrap(moto: &Moto) -> Aws {
        let mut set = CredentialSet::new();
        set.add(keys("bootstrap", BOOTSTRAP_KEYS.0, BOOTSTRAP_KEYS.1), None);
        Aws::new(moto, set, HttpClientConfig::default())
    }

    pub fn client(&mut self) -> &AwsClient {
        self.lp.driver().aws()
    }

    /// Runs `calls` (all submitted at once) to their ends.
    pub fn run(&mut self, calls: Vec<Call>) -> Vec<Outcome> {
        let mut batch = Batch {
            calls,
            ids: Vec::new(),
            bodies: HashMap::new(),
            results: HashMap::new(),
            peak: HttpStats::default(),
            buf: vec![0; 64 * 1024],
        };
        let exit = self.lp.run(&mut batch).expect("loop runs");
        assert_eq!(exit, LoopExit::Done);
        self.peak = batch.peak;
        batch
            .ids
            .iter()
            .map(|id| Outcome {
                result: batch.results.remove(id).expect("every call ends"),
                body: batch.bodies.remove(id).unwrap_or_default(),
            })
            .collect()
    }

    pub fn one(&mut self, c: Call) -> Outcome {
        self.run(vec![c]).pop().expect("one outcome")
    }
}

struct Batch {
    calls: Vec<Call>,
    ids: Vec<CallId>,
    bodies: HashMap<CallId, Vec<u8>>,
    results: HashMap<CallId, Result<ApiResponse, AwsCallError>>,
    peak: HttpStats,
    buf: Vec<u8>,
}

impl Batch {
    fn note_stats(&mut self, driver: &AwsDriver) {
        let s = driver.http_stats();
        self.peak.open = self.peak.open.max(s.open);
        self.peak.active_calls = self.peak.active_calls.max(s.active_calls);
        self.peak.connects = self.peak.connects.max(s.connects);
    }
}

impl AwsApp for Batch {
    fn poll_work(&mut self, driver: &mut AwsDriver, now: Now) {
        for c in std::mem::take(&mut self.calls) {
            let id = driver.submit(c.account, REGION, c.request, c.options, now);
            self.ids.push(id);
        }
        self.note_stats(driver);
    }

    fn handle_event(&mut self, event: LoopEvent, driver: &mut AwsDriver, now: Now) {
        self.note_stats(driver);
        match event {
            LoopEvent::BodyReady { call } => loop {
                let n = driver.read_body(call, &mut self.buf, now);
                if n == 0 {
                    break;
                }
                self.bodies
                    .entry(call)
                    .or_default()
                    .extend_from_slice(&self.buf[..n]);
            },
            LoopEvent::Aws(AwsEvent::Done { call, response }) => {
                self.results.insert(call, Ok(response));
            }
            LoopEvent::Aws(AwsEvent::Failed { call, error }) => {
                self.results.insert(call, Err(error));
            }
            LoopEvent::Aws(AwsEvent::StreamStart { .. } | AwsEvent::AccountKnown { .. }) => {}
        }
    }

    fn handle_stop(&mut self, _driver: &mut AwsDriver, _now: Now) {}

    fn is_done(&self) -> bool {
        self.calls.is_empty() && self.ids.iter().all(|id| self.results.contains_key(id))
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("vpcflow-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    /// Writes `name` with `text`, mode 0600, and returns its path.
    pub fn file(&self, name: &str, text: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
