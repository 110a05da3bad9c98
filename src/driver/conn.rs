//! One client connection: a non-blocking mio `TcpStream`, plain or rustls, pumping an `Exchange`.
//!
//! ```text
//!  new(sock) ─► Connecting ──WRITABLE, no SO_ERROR, peer_addr() ok──► Open
//!                  │ SO_ERROR, connect deadline                        │
//!                  ▼                                                   │ start(exchange)
//!               closed ◄── error, EOF mid-exchange, deadline ─── Busy ◄┘◄──────────────┐
//!                  ▲                                               │ done, keep-alive  │ start
//!                  └──── EOF, stray bytes, idle deadline ────── Idle ◄─────────────────┘
//! ```
//! (The pool drops a closed `Conn`; there is no Closed state inside.)
//!
//! Data path, all plaintext through two buffers allocated once per pool slot and reused:
//! `exchange.poll_output → outbuf → (rustls writer →) socket` and
//! `socket (→ rustls reader) → inbuf → exchange.handle_input / read_body`.
//! mio is edge-triggered, so every pump drains until `WouldBlock`, except for one deliberate
//! stop: a streamed body is decoded only as the consumer pulls (`read_body`), so when `inbuf` is
//! full the socket is left unread, the kernel's receive window closes and TCP pushes back on the
//! server. When the consumer frees room, `read_body` reads the socket itself (no new readiness
//! edge would come for bytes already waiting). With TLS, the socket is read only when rustls
//! holds no undelivered plaintext, so rustls never buffers more than one socket read ahead.
//!
//! Deadlines are absolute `Instant`s derived by the pool from the `now` the loop passes in.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::ClientConnection;

use crate::http::{Exchange, ExchangeError};

pub enum Transport {
    Plain,
    Tls(Box<ClientConnection>),
}

/// The two plaintext buffers of a connection, kept by the pool across connections.
pub struct ConnBuffers {
    inbuf: Box<[u8]>,
    outbuf: Box<[u8]>,
}

impl ConnBuffers {
    pub fn new(in_size: usize, out_size: usize) -> ConnBuffers {
        ConnBuffers {
            inbuf: vec![0; in_size].into(),
            outbuf: vec![0; out_size].into(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.inbuf.len() + self.outbuf.len()
    }
}

#[derive(Debug)]
pub enum ConnError {
    /// The TCP connect failed (refused, unreachable, ...).
    Connect(io::Error),
    ConnectTimeout,
    Tls(rustls::Error),
    /// A socket error after connecting (reset, broken pipe, ...).
    Io(io::Error),
    Http(ExchangeError),
    /// The exchange's deadline passed.
    Timeout,
    /// An idle connection's keep-alive time is over (not a failure of any call).
    IdleTimeout,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "connect failed: {e}"),
            Self::ConnectTimeout => write!(f, "connect timed out"),
            Self::Tls(e) => write!(f, "TLS error: {e}"),
            Self::Io(e) => write!(f, "socket error: {e}"),
            Self::Http(e) => write!(f, "{e}"),
            Self::Timeout => write!(f, "request deadline passed"),
            Self::IdleTimeout => write!(f, "idle keep-alive connection expired"),
        }
    }
}

impl std::error::Error for ConnError {}

impl From<ExchangeError> for ConnError {
    fn from(e: ExchangeError) -> Self {
        Self::Http(e)
    }
}

pub struct Conn {
    sock: TcpStream,
    transport: Transport,
    connecting: bool,
    exchange: Option<Exchange>,
    bufs: ConnBuffers,
    in_len: usize,
    out_pos: usize,
    out_len: usize,
    peer_eof: bool,
    /// Set when input (or EOF) arrived; the pool reads it to signal streamed body data.
    new_input: bool,
    /// Any plaintext byte arrived since the current exchange started.
    response_started: bool,
    exchanges: u32,
    bytes_in: u64,
    connect_deadline: Option<Instant>,
    deadline: Option<Instant>,
    idle_deadline: Option<Instant>,
}

impl Conn {
    /// Wraps a socket from `TcpStream::connect` (non-blocking, connect in progress).
    pub fn new(
        sock: TcpStream,
        transport: Transport,
        bufs: ConnBuffers,
        connect_deadline: Instant,
    ) -> Conn {
        Conn {
            sock,
            transport,
            connecting: true,
            exchange: None,
            bufs,
            in_len: 0,
            out_pos: 0,
            out_len: 0,
            peer_eof: false,
            new_input: false,
            response_started: false,
            exchanges: 0,
            bytes_in: 0,
            connect_deadline: Some(connect_deadline),
            deadline: None,
            idle_deadline: None,
        }
    }

    /// READABLE | WRITABLE once: WRITABLE signals the end of the non-blocking connect.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut self.sock,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )
    }

    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        registry.deregister(&mut self.sock)
    }

    /// Gives the exchange to this (connecting or idle) connection; `deadline` bounds it whole.
    pub fn start(&mut self, exchange: Exchange, deadline: Instant) {
        self.exchange = Some(exchange);
        self.deadline = Some(deadline);
        self.idle_deadline = None;
        self.response_started = false;
        self.new_input = false;
        self.exchanges += 1;
    }

    /// Moves the current exchange's deadline.
    pub fn set_deadline(&mut self, deadline: Instant) {
        if self.exchange.is_some() {
            self.deadline = Some(deadline);
        }
    }

    /// Ends the finished exchange and parks the connection until `idle_deadline`.
    pub fn make_idle(&mut self, idle_deadline: Instant) {
        self.exchange = None;
        self.deadline = None;
        self.idle_deadline = Some(idle_deadline);
        self.new_input = false;
    }

    /// On every readiness event: finish the connect, then move bytes both ways until stuck.
    pub fn handle_ready(&mut self) -> Result<(), ConnError> {
        if self.connecting && !self.check_connected()? {
            return Ok(()); // spurious wakeup, still connecting
        }
        self.pump()
    }

    /// Moves bytes both ways until nothing moves (after `start` on an open connection, too).
    pub fn pump(&mut self) -> Result<(), ConnError> {
        if self.connecting {
            return Ok(());
        }
        loop {
            let wrote = self.flush_out()?;
            let read = self.fill_in()?;
            let fed = self.feed()?;
            if !wrote && !read && !fed {
                break;
            }
        }
        self.handle_peer_eof()
    }

    /// Streamed mode: decodes body bytes into `out`, reading the socket as room frees up.
    /// Returns bytes written; 0 when nothing is available yet (or the body has ended).
    pub fn read_body(&mut self, out: &mut [u8]) -> Result<usize, ConnError> {
        let mut written = 0;
        while let Some(ex) = self.exchange.as_mut() {
            if !ex.is_streaming_body() || written == out.len() {
                break;
            }
            let input = self.bufs.inbuf.get(..self.in_len).unwrap_or_default();
            let room = out.get_mut(written..).unwrap_or_default();
            let (used, wrote) = ex.read_body(input, room)?;
            consume(&mut self.bufs.inbuf, &mut self.in_len, used);
            written += wrote;
            if used > 0 || wrote > 0 {
                continue;
            }
            // Nothing decodable in what is buffered: more input is needed.
            if self.peer_eof {
                ex.handle_eof()?;
                break;
            }
            if self.in_len == self.bufs.inbuf.len() {
                let buffered = self.in_len;
                return Err(ExchangeError::Stalled { buffered }.into());
            }
            if !self.fill_in()? {
                break; // WouldBlock: readiness will bring more
            }
        }
        // Reading may leave TLS records to send (alerts, key updates).
        self.flush_out()?;
        Ok(written)
    }

    pub fn exchange(&self) -> Option<&Exchange> {
        self.exchange.as_ref()
    }

    pub fn take_exchange(&mut self) -> Option<Exchange> {
        self.exchange.take()
    }

    pub fn is_connecting(&self) -> bool {
        self.connecting
    }

    /// The current exchange is done and the connection can carry the next request.
    pub fn is_reusable(&self) -> bool {
        let clean = !self.connecting
            && !self.peer_eof
            && self.in_len == 0
            && self.out_pos == self.out_len
            && match &self.transport {
                Transport::Plain => true,
                Transport::Tls(tls) => !tls.wants_write() && !tls.is_handshaking(),
            };
        clean
            && self
                .exchange
                .as_ref()
                .is_some_and(|e| e.is_done() && !e.must_close())
    }

    /// Idle and closed by the peer, or sending bytes nobody asked for.
    pub fn is_dead_idle(&self) -> bool {
        self.exchange.is_none() && (self.peer_eof || self.in_len > 0)
    }

    /// Returns and clears the "input or EOF arrived" flag.
    pub fn take_new_input(&mut self) -> bool {
        std::mem::take(&mut self.new_input)
    }

    /// Streamed body bytes (or an EOF) wait in the input buffer for `read_body`.
    pub fn has_pending_body(&self) -> bool {
        self.in_len > 0 || self.peer_eof
    }

    pub fn response_started(&self) -> bool {
        self.response_started
    }

    /// More than one exchange was started on this connection (it came from the idle pool).
    pub fn is_reused(&self) -> bool {
        self.exchanges > 1
    }

    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    pub fn buffer_capacity(&self) -> usize {
        self.bufs.capacity()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.connecting {
            return [self.connect_deadline, self.deadline]
                .into_iter()
                .flatten()
                .min();
        }
        if self.exchange.is_some() {
            self.deadline
        } else {
            self.idle_deadline
        }
    }

    /// `Err` names the deadline that passed; the pool closes the connection. A no-op when early.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnError> {
        let passed = |d: Option<Instant>| d.is_some_and(|d| d <= now);
        if self.exchange.is_some() && passed(self.deadline) {
            return Err(ConnError::Timeout);
        }
        if self.connecting && passed(self.connect_deadline) {
            return Err(ConnError::ConnectTimeout);
        }
        if self.exchange.is_none() && passed(self.idle_deadline) {
            return Err(ConnError::IdleTimeout);
        }
        Ok(())
    }

    /// Best-effort polite close (TLS close_notify), then hands the buffers back.
    pub fn close(mut self, registry: &Registry) -> ConnBuffers {
        if let Transport::Tls(tls) = &mut self.transport
            && !self.connecting
        {
            tls.send_close_notify();
            let _ = tls.write_tls(&mut self.sock);
        }
        let _ = self.deregister(registry);
        self.bufs
    }

    fn check_connected(&mut self) -> Result<bool, ConnError> {
        if let Some(e) = self.sock.take_error().map_err(ConnError::Connect)? {
            return Err(ConnError::Connect(e));
        }
        match self.sock.peer_addr() {
            Ok(_) => {
                self.connecting = false;
                self.connect_deadline = None;
                Ok(true)
            }
            Err(e)
                if e.kind() == io::ErrorKind::NotConnected
                    || e.raw_os_error() == Some(libc::EINPROGRESS) =>
            {
                Ok(false)
            }
            Err(e) => Err(ConnError::Connect(e)),
        }
    }

    /// exchange → outbuf → (rustls →) socket, until WouldBlock or nothing left to send.
    fn flush_out(&mut self) -> Result<bool, ConnError> {
        let mut progress = false;
        loop {
            if self.out_pos == self.out_len {
                self.out_pos = 0;
                self.out_len = 0;
                if let Some(ex) = self.exchange.as_mut() {
                    self.out_len = ex.poll_output(&mut self.bufs.outbuf)?;
                }
            }
            let staged = self
                .bufs
                .outbuf
                .get(self.out_pos..self.out_len)
                .unwrap_or_default();
            match &mut self.transport {
                Transport::Plain => {
                    if staged.is_empty() {
                        return Ok(progress);
                    }
                    match self.sock.write(staged) {
                        Ok(0) => return Err(ConnError::Io(io::ErrorKind::WriteZero.into())),
                        Ok(n) => {
                            self.out_pos += n;
                            progress = true;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(progress),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(ConnError::Io(e)),
                    }
                }
                Transport::Tls(tls) => {
                    // rustls may take part of it (64 KiB send limit, or buffered mid-handshake).
                    let taken = if staged.is_empty() {
                        0
                    } else {
                        tls.writer().write(staged).map_err(ConnError::Io)?
                    };
                    self.out_pos += taken;
                    while tls.wants_write() {
                        match tls.write_tls(&mut self.sock) {
                            Ok(0) => break,
                            Ok(_) => progress = true,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                return Ok(progress || taken > 0);
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(ConnError::Io(e)),
                        }
                    }
                    if taken == 0 {
                        return Ok(progress);
                    }
                    progress = true;
                }
            }
        }
    }

    /// (socket → rustls →) inbuf until WouldBlock, EOF or a full inbuf (backpressure).
    fn fill_in(&mut self) -> Result<bool, ConnError> {
        let mut progress = false;
        loop {
            if self.peer_eof {
                return Ok(progress);
            }
            let room = self.bufs.inbuf.get_mut(self.in_len..).unwrap_or_default();
            if room.is_empty() {
                return Ok(progress); // leave the rest in the socket: TCP flow control
            }
            let got = match &mut self.transport {
                Transport::Plain => match self.sock.read(room) {
                    Ok(0) => None,
                    Ok(n) => Some(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(progress),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(ConnError::Io(e)),
                },
                Transport::Tls(tls) => {
                    // Deliver what rustls already decrypted before reading the socket again.
                    match tls.reader().read(room) {
                        Ok(0) => None, // close_notify, all plaintext delivered
                        Ok(n) => Some(n),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => None, // FIN, no close_notify
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            match tls.read_tls(&mut self.sock) {
                                // EOF: rustls records it; the reader reports it next round.
                                Ok(_) => {}
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                    return Ok(progress);
                                }
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(e) => return Err(ConnError::Io(e)),
                            }
                            if let Err(e) = tls.process_new_packets() {
                                let _ = tls.write_tls(&mut self.sock); // the alert, best effort
                                return Err(ConnError::Tls(e));
                            }
                            progress = true; // handshake bytes count: they may unblock output
                            continue;
                        }
                        Err(e) => return Err(ConnError::Io(e)),
                    }
                }
            };
            progress = true;
            self.new_input = true;
            match got {
                None => self.peer_eof = true,
                Some(n) => {
                    self.in_len += n;
                    self.bytes_in += n as u64;
                    if self.exchange.is_some() {
                        self.response_started = true;
                    }
                }
            }
        }
    }

    /// inbuf → exchange (head; whole body in buffered mode). Streamed bodies wait for read_body.
    fn feed(&mut self) -> Result<bool, ConnError> {
        let Some(ex) = self.exchange.as_mut() else {
            return Ok(false);
        };
        if self.in_len == 0 || !ex.wants_input() || ex.is_streaming_body() {
            return Ok(false);
        }
        let input = self.bufs.inbuf.get(..self.in_len).unwrap_or_default();
        let used = ex.handle_input(input)?;
        consume(&mut self.bufs.inbuf, &mut self.in_len, used);
        if used == 0 && self.in_len == self.bufs.inbuf.len() && !ex.is_streaming_body() {
            // A full buffer and no progress: a head larger than the buffer, or garbage framing.
            let buffered = self.in_len;
            return Err(ExchangeError::Stalled { buffered }.into());
        }
        Ok(used > 0)
    }

    /// After the peer's EOF, once every byte before it went to the exchange: let it conclude.
    fn handle_peer_eof(&mut self) -> Result<(), ConnError> {
        let Some(ex) = self.exchange.as_mut() else {
            return Ok(());
        };
        if !self.peer_eof || ex.is_done() || ex.is_failed() {
            return Ok(());
        }
        if ex.is_streaming_body() && self.in_len > 0 {
            return Ok(()); // the consumer still has bytes to pull; read_body concludes
        }
        ex.handle_eof()?;
        Ok(())
    }
}

/// Drops the first `used` of `len` buffered bytes.
fn consume(buf: &mut [u8], len: &mut usize, used: usize) {
    let used = used.min(*len);
    buf.copy_within(used..*len, 0);
    *len -= used;
}
