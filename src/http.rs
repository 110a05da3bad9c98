//! One HTTP/1.1 request/response as a byte-in/byte-out state machine (sans-IO).
//!
//! `Exchange` wraps ureq-proto's typestate `Call<State>` in an enum so the driver can hold it in a
//! struct and move it along with `mem::replace`. It never touches a socket or a clock: the driver
//! (`driver/conn.rs`) hands it plaintext, tests hand it fixture bytes cut at every offset.
//!
//! ```text
//!  new ─► SendRequest ──head written──► SendBody ──body written──┐
//!             │ no request body                                 │
//!             └─────────────────────────► RecvResponse ◄────────┘
//!                                             │ 1xx eaten; final head parsed → response_head()
//!                    no body (HEAD, 204, 304, │ body
//!                    content-length: 0)       ▼
//!                             ┌──────────  RecvBody ── Buffered: handle_input() appends, ≤ cap
//!                             │               │      └ Streamed: the consumer pulls read_body()
//!                             ▼               ▼ end of body (EOF if close-delimited)
//!                           Done { must_close } ◄┘
//!  any error ─► Failed (sticky; the connection must be closed)
//! ```
//!
//! Body modes: API responses are `Buffered { cap }` (collected whole, `TooLarge` beyond the cap);
//! S3 objects are `Streamed`: `handle_input` stops at the end of the head and the body is decoded
//! only when the consumer calls `read_body(input, out)`. A consumer that stops pulling therefore
//! stops the exchange consuming input, the driver's input buffer fills, the driver stops reading
//! the socket and TCP flow control pushes back on the server. Nothing is held beyond `out`.
//!
//! Gotchas of ureq-proto 0.7 handled here (style-anchors.md §1): `proceed()` consumes the call
//! even when it cannot proceed, so it is gated on `can_proceed()`; a close-delimited body reports
//! `can_proceed()` at once and really ends at EOF; `try_response` may eat a 1xx and return
//! `None`; a chunked request body given too little room gets a zero-size chunk (a premature
//! end) and a terminator that does not fit is silently dropped, so chunked input is capped with
//! `calculate_max_input` and the terminator waits for 5 bytes of room; a POST without
//! `content-length` would go out chunked, so `new()` adds the header.

use std::fmt;
use std::mem;

use ureq_proto::BodyMode as WireBody;
use ureq_proto::client::state::{RecvBody, RecvResponse, SendBody, SendRequest};
use ureq_proto::client::{
    Await100Result, Call, RecvBodyResult, RecvResponseResult, SendRequestResult,
};
use ureq_proto::http::{HeaderValue, Method, Request, Response, header};

/// `0\r\n\r\n`: the last chunk of a chunked request body.
const CHUNKED_TERMINATOR_LEN: usize = 5;

/// How the response body is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// Collected whole into a `Vec` of at most `cap` bytes (API responses).
    Buffered { cap: usize },
    /// Pulled by the consumer through `read_body` as it arrives (S3 objects).
    Streamed,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ExchangeError {
    /// The request could not be encoded (bad header, header line longer than the output buffer).
    Request(ureq_proto::Error),
    /// `content-length` of the request disagrees with the body handed over.
    BodyLength { declared: String, actual: usize },
    /// The response is not valid HTTP/1.1 (head, chunk framing).
    Protocol(ureq_proto::Error),
    /// A buffered body exceeds its cap (`declared` when known from `content-length`).
    TooLarge { cap: usize, declared: Option<u64> },
    /// The peer closed before a complete response head arrived.
    EofBeforeResponse,
    /// The peer closed before the body ended (`content-length` not reached, chunks cut).
    Truncated { received: u64 },
    /// The driver's input buffer is full and nothing in it parses: a response head larger than
    /// the buffer, or body framing that never completes (set by the driver, not by `Exchange`).
    Stalled { buffered: usize },
    /// ureq-proto refused a transition it had announced; a bug, reported instead of a panic.
    State(&'static str),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => write!(f, "cannot encode HTTP request: {e}"),
            Self::BodyLength { declared, actual } => write!(
                f,
                "request content-length {declared:?} does not match body length {actual}"
            ),
            Self::Protocol(e) => write!(f, "invalid HTTP response: {e}"),
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
            Self::EofBeforeResponse => write!(f, "connection closed before the response head"),
            Self::Truncated { received } => {
                write!(f, "connection closed mid-body after {received} body bytes")
            }
            Self::Stalled { buffered } => write!(
                f,
                "response does not parse within {buffered} buffered bytes (head too large?)"
            ),
            Self::State(what) => write!(f, "HTTP state machine error: {what}"),
        }
    }
}

impl std::error::Error for ExchangeError {}

enum Phase {
    SendRequest(Call<SendRequest>),
    SendBody(Call<SendBody>),
    RecvResponse(Call<RecvResponse>),
    RecvBody(Call<RecvBody>),
    Done {
        must_close: bool,
    },
    /// Also the placeholder while a typestate is moved out: an early `?` return leaves it here.
    Failed,
}

/// One request/response over plaintext byte slices.
pub struct Exchange {
    phase: Phase,
    mode: BodyMode,
    req_body: Vec<u8>,
    sent: usize,
    head: Option<Response<()>>,
    /// Buffered mode only; grows up to the cap as bytes arrive.
    body: Vec<u8>,
    body_received: u64,
}

impl Exchange {
    /// Prepares `req` with `body`. A `content-length` header, if present, must match `body`;
    /// if absent it is added (a body-carrying method would otherwise go out chunked).
    pub fn new(
        mut req: Request<()>,
        body: Vec<u8>,
        mode: BodyMode,
    ) -> Result<Exchange, ExchangeError> {
        let headers = req.headers();
        let chunked = headers.contains_key(header::TRANSFER_ENCODING);
        match headers.get(header::CONTENT_LENGTH) {
            Some(v) => {
                let declared = v.to_str().ok().and_then(|s| s.trim().parse::<usize>().ok());
                if declared != Some(body.len()) {
                    return Err(ExchangeError::BodyLength {
                        declared: String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        actual: body.len(),
                    });
                }
            }
            None if !chunked && (!body.is_empty() || method_carries_body(req.method())) => {
                req.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            }
            None => {}
        }
        let call = Call::new(req).map_err(ExchangeError::Request)?.proceed();
        Ok(Exchange {
            phase: Phase::SendRequest(call),
            mode,
            req_body: body,
            sent: 0,
            head: None,
            body: Vec::new(),
            body_received: 0,
        })
    }

    /// Writes as much of the request (head, then body) as fits into `out`; returns bytes written.
    /// `Ok(0)` once the request is fully written (or while `out` is empty).
    pub fn poll_output(&mut self, out: &mut [u8]) -> Result<usize, ExchangeError> {
        let mut n = 0;
        loop {
            match mem::replace(&mut self.phase, Phase::Failed) {
                Phase::SendRequest(mut call) => {
                    if !call.can_proceed() {
                        if n == out.len() {
                            self.phase = Phase::SendRequest(call);
                            return Ok(n);
                        }
                        let room = out.get_mut(n..).unwrap_or_default();
                        n += call.write(room).map_err(ExchangeError::Request)?;
                        if !call.can_proceed() {
                            self.phase = Phase::SendRequest(call);
                            return Ok(n);
                        }
                    }
                    self.phase = match call.proceed().map_err(ExchangeError::Request)? {
                        Some(SendRequestResult::SendBody(c)) => Phase::SendBody(c),
                        Some(SendRequestResult::RecvResponse(c)) => Phase::RecvResponse(c),
                        // Only if a caller adds `expect: 100-continue`: send the body at once.
                        Some(SendRequestResult::Await100(c)) => {
                            match c.proceed().map_err(ExchangeError::Request)? {
                                Await100Result::SendBody(c) => Phase::SendBody(c),
                                Await100Result::RecvResponse(c) => Phase::RecvResponse(c),
                            }
                        }
                        None => return Err(ExchangeError::State("request head written")),
                    };
                }
                Phase::SendBody(mut call) => {
                    if !call.can_proceed() {
                        let rest = self.req_body.get(self.sent..).unwrap_or_default();
                        let room = out.get_mut(n..).unwrap_or_default();
                        // Chunked: offer only what fits whole. Given less room than a chunk
                        // needs, ureq-proto 0.7 writes a zero-size chunk, i.e. a premature end.
                        let max = call.calculate_max_input(room.len());
                        let rest = rest.get(..max.min(rest.len())).unwrap_or_default();
                        let starved = rest.is_empty()
                            && (self.sent < self.req_body.len()
                                || room.len() < CHUNKED_TERMINATOR_LEN);
                        if starved {
                            self.phase = Phase::SendBody(call);
                            return Ok(n);
                        }
                        let (used, wrote) =
                            call.write(rest, room).map_err(ExchangeError::Request)?;
                        self.sent += used;
                        n += wrote;
                        if !call.can_proceed() {
                            self.phase = Phase::SendBody(call);
                            if used == 0 && wrote == 0 {
                                return Ok(n);
                            }
                            continue;
                        }
                    }
                    let call = call
                        .proceed()
                        .ok_or(ExchangeError::State("request body sent"))?;
                    self.phase = Phase::RecvResponse(call);
                }
                other => {
                    self.phase = other;
                    return Ok(n);
                }
            }
        }
    }

    /// Feeds received plaintext; returns bytes consumed (the caller drops them). Parses the head
    /// and, in buffered mode, the body. In streamed mode it stops at the body: see `read_body`.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<usize, ExchangeError> {
        let mut used = 0;
        loop {
            let rest = input.get(used..).unwrap_or_default();
            match mem::replace(&mut self.phase, Phase::Failed) {
                Phase::RecvResponse(mut call) => {
                    let (n, resp) = call
                        .try_response(rest, false)
                        .map_err(ExchangeError::Protocol)?;
                    used += n;
                    let Some(resp) = resp else {
                        self.phase = Phase::RecvResponse(call);
                        if n == 0 {
                            return Ok(used);
                        }
                        continue; // a 1xx was eaten; the final head may follow in this input
                    };
                    self.head = Some(resp);
                    self.phase = match call.proceed() {
                        Some(RecvResponseResult::RecvBody(c)) => {
                            self.check_declared_length(&c)?;
                            Phase::RecvBody(c)
                        }
                        Some(RecvResponseResult::Redirect(c)) => Phase::Done {
                            must_close: c.must_close_connection(),
                        },
                        Some(RecvResponseResult::Cleanup(c)) => Phase::Done {
                            must_close: c.must_close_connection(),
                        },
                        None => return Err(ExchangeError::State("response head parsed")),
                    };
                }
                Phase::RecvBody(mut call) => {
                    if is_body_complete(&call) {
                        self.phase = finish_body(call)?;
                        continue;
                    }
                    let BodyMode::Buffered { cap } = self.mode else {
                        self.phase = Phase::RecvBody(call);
                        return Ok(used); // streamed: the consumer pulls with read_body
                    };
                    let (n, wrote) = self.read_buffered(&mut call, rest, cap)?;
                    used += n;
                    self.phase = Phase::RecvBody(call);
                    if n == 0 && wrote == 0 {
                        return Ok(used);
                    }
                }
                other => {
                    self.phase = other;
                    return Ok(used);
                }
            }
        }
    }

    /// Streamed mode: decodes body bytes from `input` (de-chunking) into `out`; returns
    /// `(consumed, written)`. Consumes no more than fits into `out`, which is the backpressure.
    /// `(0, 0)` when not streaming, when `out` is empty, or when `input` holds no complete
    /// framing. Reaching the end of the body moves the exchange to done.
    pub fn read_body(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), ExchangeError> {
        if self.mode != BodyMode::Streamed {
            return Ok((0, 0));
        }
        let (mut used, mut written) = (0, 0);
        loop {
            match mem::replace(&mut self.phase, Phase::Failed) {
                Phase::RecvBody(mut call) => {
                    if is_body_complete(&call) {
                        self.phase = finish_body(call)?;
                        return Ok((used, written));
                    }
                    let rest = input.get(used..).unwrap_or_default();
                    let room = out.get_mut(written..).unwrap_or_default();
                    let (n, w) = call.read(rest, room).map_err(ExchangeError::Protocol)?;
                    used += n;
                    written += w;
                    self.body_received += w as u64;
                    self.phase = Phase::RecvBody(call);
                    if n == 0 && w == 0 {
                        return Ok((used, written));
                    }
                }
                other => {
                    self.phase = other;
                    return Ok((used, written));
                }
            }
        }
    }

    /// The peer closed the stream (TCP FIN or TLS close_notify) and every byte received before
    /// was handed over. Ends a close-delimited body; anything else unfinished is an error.
    pub fn handle_eof(&mut self) -> Result<(), ExchangeError> {
        match mem::replace(&mut self.phase, Phase::Failed) {
            Phase::RecvBody(call) => {
                let close_delimited = matches!(call.body_mode(), WireBody::CloseDelimited);
                // `0\r\n` seen but the FIN came before the final CRLF: the body is whole.
                if close_delimited || call.is_ended_chunked() || is_body_complete(&call) {
                    self.phase = Phase::Done { must_close: true };
                    Ok(())
                } else {
                    Err(ExchangeError::Truncated {
                        received: self.body_received,
                    })
                }
            }
            Phase::Done { must_close } => {
                self.phase = Phase::Done { must_close };
                Ok(())
            }
            Phase::Failed => Ok(()),
            Phase::SendRequest(_) | Phase::SendBody(_) | Phase::RecvResponse(_) => {
                Err(ExchangeError::EofBeforeResponse)
            }
        }
    }

    /// The final response head (status, headers) as soon as it is parsed, before the body.
    pub fn response_head(&self) -> Option<&Response<()>> {
        self.head.as_ref()
    }

    /// Takes the whole response once done; the body is empty in streamed mode.
    pub fn take_response(&mut self) -> Option<Response<Vec<u8>>> {
        if !self.is_done() {
            return None;
        }
        let head = self.head.take()?;
        Some(head.map(|()| mem::take(&mut self.body)))
    }

    /// Buffered body bytes received so far.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Decoded body bytes so far (buffered and streamed).
    pub fn body_received(&self) -> u64 {
        self.body_received
    }

    pub fn mode(&self) -> BodyMode {
        self.mode
    }

    /// The request is fully written; from here on the server may have acted on it.
    pub fn is_request_sent(&self) -> bool {
        matches!(
            self.phase,
            Phase::RecvResponse(_) | Phase::RecvBody(_) | Phase::Done { .. }
        )
    }

    pub fn wants_input(&self) -> bool {
        matches!(self.phase, Phase::RecvResponse(_) | Phase::RecvBody(_))
    }

    /// Streamed mode with the head parsed and the body not finished: bytes go through `read_body`.
    pub fn is_streaming_body(&self) -> bool {
        self.mode == BodyMode::Streamed && matches!(self.phase, Phase::RecvBody(_))
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done { .. })
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.phase, Phase::Failed)
    }

    /// Whether the connection cannot carry another request: ureq-proto's
    /// `must_close_connection` (`connection: close` either way, HTTP/1.0 without keep-alive,
    /// close-delimited body, 101), and always while unfinished or failed.
    pub fn must_close(&self) -> bool {
        match self.phase {
            Phase::Done { must_close } => must_close,
            _ => true,
        }
    }

    fn check_declared_length(&mut self, call: &Call<RecvBody>) -> Result<(), ExchangeError> {
        if let (BodyMode::Buffered { cap }, WireBody::LengthDelimited(n)) =
            (self.mode, call.body_mode())
        {
            if n > cap as u64 {
                return Err(ExchangeError::TooLarge {
                    cap,
                    declared: Some(n),
                });
            }
            // n <= cap: one allocation for the whole body.
            self.body.reserve_exact(n as usize);
        }
        Ok(())
    }

    fn read_buffered(
        &mut self,
        call: &mut Call<RecvBody>,
        input: &[u8],
        cap: usize,
    ) -> Result<(usize, usize), ExchangeError> {
        if input.is_empty() {
            return Ok((0, 0));
        }
        let len = self.body.len();
        // De-chunking never expands, so input.len() bytes of room are enough.
        let room = cap.saturating_sub(len).min(input.len());
        if room == 0 {
            // At the cap only framing may follow (chunk CRLF, last chunk, trailers): a one-byte
            // probe tells framing (consumed, nothing written) from data (too large).
            let mut probe = [0u8; 1];
            let (n, wrote) = call
                .read(input, &mut probe)
                .map_err(ExchangeError::Protocol)?;
            if wrote > 0 {
                return Err(ExchangeError::TooLarge {
                    cap,
                    declared: None,
                });
            }
            return Ok((n, 0));
        }
        self.body.resize(len + room, 0);
        let read = call.read(input, self.body.get_mut(len..).unwrap_or_default());
        let (n, wrote) = match read {
            Ok(v) => v,
            Err(e) => {
                self.body.truncate(len);
                return Err(ExchangeError::Protocol(e));
            }
        };
        self.body.truncate(len + wrote);
        self.body_received += wrote as u64;
        Ok((n, wrote))
    }
}

fn method_carries_body(m: &Method) -> bool {
    *m == Method::POST || *m == Method::PUT || *m == Method::PATCH
}

/// The body ended by its own framing (close-delimited bodies end only at EOF).
fn is_body_complete(call: &Call<RecvBody>) -> bool {
    call.can_proceed() && !matches!(call.body_mode(), WireBody::CloseDelimited)
}

fn finish_body(call: Call<RecvBody>) -> Result<Phase, ExchangeError> {
    match call.proceed() {
        Some(RecvBodyResult::Redirect(c)) => Ok(Phase::Done {
            must_close: c.must_close_connection(),
        }),
        Some(RecvBodyResult::Cleanup(c)) => Ok(Phase::Done {
            must_close: c.must_close_connection(),
        }),
        None => Err(ExchangeError::State("response body complete")),
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
