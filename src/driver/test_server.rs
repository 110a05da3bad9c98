//! Test support: a tiny blocking HTTP/1.1 server on 127.0.0.1, plain or rustls, one thread per
//! connection, answering each request with whatever the test's handler returns.
//!
//! Only for the loopback tests of `driver/pool.rs`: it is the far end the client under test
//! meets, with scripted misbehaviour (closing a kept-alive connection, never answering,
//! streaming a large body as fast as TCP allows). It counts accepted connections so tests can
//! observe keep-alive reuse. The TLS identity is `fixtures/tls/leaf.pem` (CN/SAN localhost,
//! signed by `fixtures/tls/ca.pem`).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// 0-based index of the accepted connection, and of the request on it.
    pub conn: usize,
    pub nth_on_conn: usize,
}

impl SeenRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let h = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name));
        h.map(|(_, v)| v.as_str())
    }
}

pub enum Reply {
    /// These bytes as the response; the connection stays open for the next request.
    Bytes(Vec<u8>),
    /// These bytes, then close (without `connection: close`: the client believes keep-alive).
    BytesThenClose(Vec<u8>),
    /// Close at once without any response.
    Close,
    /// Never answer; hold the connection until the client goes away.
    Silent,
    /// 200 with `content-length: len` and `pattern_byte(i)` bodies, written as fast as TCP takes.
    Pattern { len: u64 },
}

pub type Handler = Arc<dyn Fn(&SeenRequest) -> Reply + Send + Sync>;

/// The body byte at offset `i` of a `Reply::Pattern`.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// A content-length framed response.
pub fn response(status: u16, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A chunked response with chunks of `chunk` bytes.
pub fn chunked(status: u16, body: &[u8], chunk: usize) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status} X\r\ntransfer-encoding: chunked\r\n\r\n").into_bytes();
    for c in body.chunks(chunk.max(1)) {
        r.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        r.extend_from_slice(c);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

pub struct TestServer {
    pub addr: SocketAddr,
    accepts: Arc<AtomicUsize>,
    pattern_written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub fn server_tls_config() -> Arc<ServerConfig> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls");
    let certs: Vec<_> = CertificateDer::pem_file_iter(format!("{dir}/leaf.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/leaf.pk8.pem")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(cfg)
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

impl TestServer {
    pub fn start(handler: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static) -> TestServer {
        Self::spawn(None, Arc::new(handler))
    }

    pub fn start_tls(
        handler: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        Self::spawn(Some(server_tls_config()), Arc::new(handler))
    }

    /// Connections accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// Body bytes of `Reply::Pattern` responses handed to the kernel so far.
    pub fn pattern_written(&self) -> u64 {
        self.pattern_written.load(Ordering::SeqCst)
    }

    fn spawn(tls: Option<Arc<ServerConfig>>, handler: Handler) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let pattern_written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, p, s) = (accepts.clone(), pattern_written.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for tcp in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let conn = a.fetch_add(1, Ordering::SeqCst);
                let (tls, handler, p) = (tls.clone(), handler.clone(), p.clone());
                std::thread::spawn(move || serve(tcp, tls, conn, &*handler, &p));
            }
        });
        TestServer {
            addr,
            accepts,
            pattern_written,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wake the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    tcp: TcpStream,
    tls: Option<Arc<ServerConfig>>,
    conn: usize,
    handler: &(dyn Fn(&SeenRequest) -> Reply + Send + Sync),
    pattern_written: &AtomicU64,
) {
    // Bounds a test that goes wrong; the tests themselves finish long before.
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let raw = tcp.try_clone().unwrap();
    let mut stream: Box<dyn Stream> = match tls {
        Some(cfg) => Box::new(StreamOwned::new(ServerConnection::new(cfg).unwrap(), tcp)),
        None => Box::new(tcp),
    };
    let mut buf = Vec::new();
    for nth_on_conn in 0.. {
        let Some(mut req) = read_request(&mut *stream, &mut buf) else {
            return;
        };
        req.conn = conn;
        req.nth_on_conn = nth_on_conn;
        let sent = match handler(&req) {
            Reply::Bytes(b) => stream.write_all(&b).and_then(|()| stream.flush()),
            Reply::BytesThenClose(b) => {
                let _ = stream.write_all(&b).and_then(|()| stream.flush());
                let _ = raw.shutdown(Shutdown::Both);
                return;
            }
            Reply::Close => {
                let _ = raw.shutdown(Shutdown::Both);
                return;
            }
            Reply::Silent => {
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Reply::Pattern { len } => write_pattern(&mut *stream, len, pattern_written),
        };
        if sent.is_err() {
            return;
        }
    }
}

fn write_pattern(stream: &mut dyn Stream, len: u64, written: &AtomicU64) -> io::Result<()> {
    stream.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n").as_bytes())?;
    let mut piece = vec![0u8; 64 * 1024];
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(piece.len() as u64) as usize;
        for (i, b) in piece[..n].iter_mut().enumerate() {
            *b = pattern_byte(off + i as u64);
        }
        stream.write_all(&piece[..n])?;
        off += n as u64;
        written.store(off, Ordering::SeqCst);
    }
    stream.flush()
}

/// Reads one request (head + content-length body); `None` at EOF or on any error.
fn read_request(stream: &mut dyn Stream, buf: &mut Vec<u8>) -> Option<SeenRequest> {
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let total = head_end + 4 + len;
    while buf.len() < total {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[head_end + 4..total].to_vec();
    buf.drain(..total);
    Some(SeenRequest {
        method,
        path,
        headers,
        body,
        conn: 0,
        nth_on_conn: 0,
    })
}
