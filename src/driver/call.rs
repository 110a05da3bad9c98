//! The vocabulary of an HTTP call made through `HttpClient` (`driver/pool.rs`): where it goes
//! (`Endpoint`), what it is (`CallSpec`), what comes back (`HttpEvent`), how it can fail
//! (`CallError`, classified for the retry layer), and the client's knobs and counters.
//!
//! Errors are split by what a retry policy needs to know: whether trying again may help
//! (`is_transient`) and whether the server may already have acted on the request
//! (`may_have_reached_server`), which decides if a non-idempotent call may be replayed.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ureq_proto::http::{HeaderMap, Request, Response, StatusCode, Uri};

use crate::driver::resolve::ResolveError;
use crate::http::{BodyMode, ExchangeError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Http,
    Https,
}

/// Where a call goes: the keep-alive pool key. `server_name` is what TLS verifies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
    pub server_name: String,
}

impl Endpoint {
    pub fn new(scheme: Scheme, host: &str, port: u16) -> Endpoint {
        Endpoint {
            scheme,
            host: host.to_owned(),
            port,
            server_name: host.to_owned(),
        }
    }

    /// From an absolute `http(s)://host[:port]/...` URI.
    pub fn from_uri(uri: &Uri) -> Option<Endpoint> {
        let scheme = match uri.scheme_str()? {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return None,
        };
        let default_port = if scheme == Scheme::Https { 443 } else { 80 };
        let host = uri.host()?;
        Some(Endpoint::new(
            scheme,
            host,
            uri.port_u16().unwrap_or(default_port),
        ))
    }

    /// Verify TLS against another name than the connect host (tests connect to 127.0.0.1).
    pub fn with_server_name(mut self, name: &str) -> Endpoint {
        self.server_name = name.to_owned();
        self
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.scheme == Scheme::Https {
            "https"
        } else {
            "http"
        };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(u64);

impl CallId {
    pub(super) fn from_raw(n: u64) -> CallId {
        CallId(n)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One call to make. `request` carries `host` (and `content-length` when signed); `deadline`
/// bounds the whole call, queueing, connect and body included (see `set_deadline`).
pub struct CallSpec {
    pub endpoint: Endpoint,
    pub request: Request<()>,
    pub body: Vec<u8>,
    pub body_mode: BodyMode,
    pub deadline: Instant,
}

#[derive(Debug)]
pub enum HttpEvent {
    /// Streamed calls only: the final head, before any body byte.
    ResponseHead {
        id: CallId,
        status: StatusCode,
        headers: HeaderMap,
    },
    /// Streamed calls only: body bytes wait; call `read_body` until it returns 0.
    BodyData { id: CallId },
    /// The call is over. Buffered calls carry the body; streamed ones an empty one.
    Done {
        id: CallId,
        result: Result<Response<Vec<u8>>, CallError>,
    },
}

impl HttpEvent {
    pub fn id(&self) -> CallId {
        match self {
            Self::ResponseHead { id, .. } | Self::BodyData { id } | Self::Done { id, .. } => *id,
        }
    }
}

#[derive(Debug)]
pub enum CallError {
    Dns(ResolveError),
    ConnectRefused {
        addr: SocketAddr,
    },
    ConnectTimeout {
        addr: SocketAddr,
    },
    /// Other connect failures: unreachable, no route, socket limits.
    Connect {
        addr: SocketAddr,
        error: io::Error,
    },
    InvalidServerName {
        name: String,
    },
    Tls {
        server_name: String,
        error: rustls::Error,
    },
    /// EOF or reset before any response byte. The request may or may not have been processed;
    /// `reused` says it went over a kept-alive connection (the classic stale-connection race).
    ClosedBeforeResponse {
        reused: bool,
        cause: Option<io::Error>,
    },
    /// EOF or reset after the response began: head cut, `content-length` not reached, chunks cut.
    Truncated {
        body_received: u64,
        cause: Option<io::Error>,
    },
    /// The call's deadline passed (queued, connecting, sending or receiving).
    Timeout,
    /// A buffered body over its cap.
    TooLarge {
        cap: usize,
        declared: Option<u64>,
    },
    /// The response is not valid HTTP/1.1, or the request could not be encoded.
    Protocol(ExchangeError),
    /// The loop's registry refused the socket.
    Register(io::Error),
}

impl CallError {
    /// A later attempt may succeed (network trouble, timeouts), as opposed to a request or a
    /// peer that will fail the same way again (protocol errors, bad certificates, caps).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Dns(_)
            | Self::ConnectRefused { .. }
            | Self::ConnectTimeout { .. }
            | Self::Connect { .. }
            | Self::ClosedBeforeResponse { .. }
            | Self::Truncated { .. }
            | Self::Timeout
            | Self::Register(_) => true,
            Self::InvalidServerName { .. }
            | Self::Tls { .. }
            | Self::TooLarge { .. }
            | Self::Protocol(_) => false,
        }
    }

    /// Whether the server may have received (and acted on) the request, so that replaying a
    /// non-idempotent request could repeat its effect. False only when no request byte can
    /// have reached the application (DNS, connect, TLS handshake failures).
    pub fn may_have_reached_server(&self) -> bool {
        !matches!(
            self,
            Self::Dns(_)
                | Self::ConnectRefused { .. }
                | Self::ConnectTimeout { .. }
                | Self::Connect { .. }
                | Self::InvalidServerName { .. }
                | Self::Register(_)
        )
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cause =
            |c: &Option<io::Error>| c.as_ref().map(|e| format!(" ({e})")).unwrap_or_default();
        match self {
            Self::Dns(e) => write!(f, "{e}"),
            Self::ConnectRefused { addr } => write!(f, "connection to {addr} refused"),
            Self::ConnectTimeout { addr } => write!(f, "connect to {addr} timed out"),
            Self::Connect { addr, error } => write!(f, "connect to {addr} failed: {error}"),
            Self::InvalidServerName { name } => write!(f, "invalid TLS server name {name:?}"),
            Self::Tls { server_name, error } => write!(f, "TLS with {server_name} failed: {error}"),
            Self::ClosedBeforeResponse { reused, cause: c } => write!(
                f,
                "connection closed before the response{}{}",
                if *reused {
                    " (reused keep-alive connection)"
                } else {
                    ""
                },
                cause(c)
            ),
            Self::Truncated {
                body_received,
                cause: c,
            } => write!(
                f,
                "response truncated after {body_received} body bytes{}",
                cause(c)
            ),
            Self::Timeout => write!(f, "request deadline passed"),
            Self::TooLarge {
                cap,
                declared: Some(n),
            } => {
                write!(
                    f,
                    "response body of {n} bytes exceeds the cap of {cap} bytes"
                )
            }
            Self::TooLarge {
                cap,
                declared: None,
            } => {
                write!(f, "response body exceeds the cap of {cap} bytes")
            }
            Self::Protocol(e) => write!(f, "{e}"),
            Self::Register(e) => write!(f, "cannot register socket with the poller: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

#[derive(Clone, Debug)]
pub struct HttpClientConfig {
    /// First mio token; connections use `[token_base, token_base + max_connections)`.
    pub token_base: usize,
    pub max_connections: usize,
    pub max_per_host: usize,
    pub max_idle_per_host: usize,
    /// How long an unused keep-alive connection is kept. Below common server keep-alive
    /// timeouts so we usually close first; the stale-connection retry covers the race.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// Plaintext input buffer per connection: the largest response head, and for streamed
    /// bodies the most that is read ahead of the consumer.
    pub in_buffer: usize,
    /// Plaintext output staging per connection: at least the longest request header line
    /// (`x-amz-security-token` exceeds 1 KiB).
    pub out_buffer: usize,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            token_base: 16,
            max_connections: 64,
            max_per_host: 16,
            max_idle_per_host: 8,
            idle_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            in_buffer: 16 * 1024,
            out_buffer: 8 * 1024,
        }
    }
}

/// Counters (since start) and gauges (now) for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpStats {
    pub open: usize,
    pub idle: usize,
    pub active_calls: usize,
    pub queued_calls: usize,
    pub connects: u64,
    pub stale_retries: u64,
    pub bytes_in: u64,
    /// Bytes of connection buffers allocated (fixed per slot once used).
    pub buffer_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_from_uri() {
        let ep = |u: &str| Endpoint::from_uri(&u.parse().unwrap());
        let s3 = ep("https://bucket.s3.eu-west-1.amazonaws.com/key?x=1").unwrap();
        assert_eq!(
            s3,
            Endpoint::new(Scheme::Https, "bucket.s3.eu-west-1.amazonaws.com", 443)
        );
        assert_eq!(ep("http://127.0.0.1:4566/").unwrap().port, 4566);
        assert_eq!(
            ep("http://169.254.169.254/latest").unwrap().to_string(),
            "http://169.254.169.254:80"
        );
        assert!(ep("/relative").is_none() && ep("ftp://h/").is_none());
    }

    #[test]
    fn retry_classification() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let cases = [
            (CallError::ConnectRefused { addr }, true, false),
            (CallError::ConnectTimeout { addr }, true, false),
            (
                CallError::ClosedBeforeResponse {
                    reused: true,
                    cause: None,
                },
                true,
                true,
            ),
            (
                CallError::Truncated {
                    body_received: 9,
                    cause: None,
                },
                true,
                true,
            ),
            (CallError::Timeout, true, true),
            (
                CallError::TooLarge {
                    cap: 1,
                    declared: Some(2),
                },
                false,
                true,
            ),
            (
                CallError::Protocol(ExchangeError::EofBeforeResponse),
                false,
                true,
            ),
            (
                CallError::InvalidServerName { name: "a b".into() },
                false,
                false,
            ),
        ];
        for (e, transient, reached) in cases {
            assert_eq!(
                (e.is_transient(), e.may_have_reached_server()),
                (transient, reached),
                "{e}"
            );
            assert!(!e.to_string().contains('\n'));
        }
    }
}
