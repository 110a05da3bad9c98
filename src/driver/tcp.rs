//! TCP export connections, one per collector, reconnecting with backoff.
//!
//! ```text
//!   Down ──(backoff over)──► Connecting ──(WRITABLE, no SO_ERROR)──► Up
//!    ▲                          │                                     │
//!    └────(error)───────────────┴──────────(write error, EOF)─────────┘
//! ```
//! Each time a connection comes Up the loop tells the export engine (`handle_reconnect`), which
//! sends every template again before any data and resends a message cut by the break whole:
//! over TCP nothing is lost, it waits. Backoff doubles from 500 ms to 30 s, reset once Up.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

enum State {
    Down { retry_at: Instant },
    Connecting(TcpStream),
    Up(TcpStream),
}

struct Link {
    addr: SocketAddr,
    state: State,
    backoff: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TcpEvent {
    /// A (new) connection is up: templates must be sent again before data.
    Up(usize),
    /// The connection broke; the collector is retried after a backoff.
    Down(usize, String),
}

#[derive(Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Written(usize),
    WouldBlock,
    /// Not connected (or just broke): keep the data and wait for `TcpEvent::Up`.
    NotUp,
}

pub struct TcpExport {
    links: Vec<Link>,
    base: usize,
    events: Vec<TcpEvent>,
}

impl TcpExport {
    /// Every collector starts Down with an immediate retry; call `handle_timeout` to connect.
    pub fn new(collectors: &[SocketAddr], base: usize, now: Instant) -> TcpExport {
        TcpExport {
            links: collectors
                .iter()
                .map(|&addr| Link {
                    addr,
                    state: State::Down { retry_at: now },
                    backoff: BACKOFF_FIRST,
                })
                .collect(),
            base,
            events: Vec::new(),
        }
    }

    pub fn owns_token(&self, token: Token) -> bool {
        (self.base..self.base + self.links.len()).contains(&token.0)
    }

    pub fn is_up(&self, collector: usize) -> bool {
        matches!(
            self.links.get(collector).map(|l| &l.state),
            Some(State::Up(_))
        )
    }

    pub fn poll_event(&mut self) -> Option<TcpEvent> {
        if self.events.is_empty() {
            None
        } else {
            Some(self.events.remove(0))
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.links
            .iter()
            .filter_map(|l| match l.state {
                State::Down { retry_at } => Some(retry_at),
                _ => None,
            })
            .min()
    }

    /// Starts the connects whose backoff is over.
    pub fn handle_timeout(&mut self, registry: &Registry, now: Instant) {
        for i in 0..self.links.len() {
            let due = matches!(self.links[i].state, State::Down { retry_at } if retry_at <= now);
            if !due {
                continue;
            }
            let token = Token(self.base + i);
            match TcpStream::connect(self.links[i].addr).and_then(|mut s| {
                registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
                Ok(s)
            }) {
                Ok(s) => self.links[i].state = State::Connecting(s),
                Err(e) => self.fail(registry, i, now, format!("connect: {e}")),
            }
        }
    }

    /// A readiness event for one of our tokens.
    pub fn handle_event(
        &mut self,
        registry: &Registry,
        token: Token,
        readable: bool,
        now: Instant,
    ) {
        let i = token.0 - self.base;
        let Some(link) = self.links.get_mut(i) else {
            return;
        };
        match &mut link.state {
            State::Connecting(s) => match s.take_error() {
                Ok(None) if s.peer_addr().is_ok() => {
                    let _ = s.set_nodelay(true);
                    let State::Connecting(s) =
                        std::mem::replace(&mut link.state, State::Down { retry_at: now })
                    else {
                        return;
                    };
                    link.state = State::Up(s);
                    link.backoff = BACKOFF_FIRST;
                    self.events.push(TcpEvent::Up(i));
                }
                Ok(None) => {} // still connecting (spurious wakeup)
                Ok(Some(e)) | Err(e) => self.fail(registry, i, now, format!("connect: {e}")),
            },
            State::Up(s) if readable => {
                // Collectors send nothing on an IPFIX TCP session; a read tells us about EOF/RST.
                let mut sink = [0u8; 512];
                loop {
                    match s.read(&mut sink) {
                        Ok(0) => {
                            return self.fail(
                                registry,
                                i,
                                now,
                                "collector closed the connection".into(),
                            );
                        }
                        Ok(_) => continue,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return self.fail(registry, i, now, format!("read: {e}")),
                    }
                }
            }
            _ => {}
        }
    }

    /// Writes as much of `bytes` as the socket takes.
    pub fn write(
        &mut self,
        registry: &Registry,
        collector: usize,
        bytes: &[u8],
        now: Instant,
    ) -> WriteOutcome {
        let Some(State::Up(s)) = self.links.get_mut(collector).map(|l| &mut l.state) else {
            return WriteOutcome::NotUp;
        };
        loop {
            match s.write(bytes) {
                Ok(n) => return WriteOutcome::Written(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return WriteOutcome::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.fail(registry, collector, now, format!("write: {e}"));
                    return WriteOutcome::NotUp;
                }
            }
        }
    }

    fn fail(&mut self, registry: &Registry, i: usize, now: Instant, why: String) {
        let link = &mut self.links[i];
        let old = std::mem::replace(
            &mut link.state,
            State::Down {
                retry_at: now + link.backoff,
            },
        );
        if let State::Connecting(mut s) | State::Up(mut s) = old {
            let _ = registry.deregister(&mut s);
        }
        link.backoff = (link.backoff * 2).min(BACKOFF_MAX);
        log::warn!(
            "ipfix tcp collector down: collector={} error={why}",
            link.addr
        );
        self.events.push(TcpEvent::Down(i, why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};

    #[allow(clippy::disallowed_methods)]
    fn drive_until_up(poll: &mut Poll, tcp: &mut TcpExport) -> Vec<TcpEvent> {
        let mut events = Events::with_capacity(8);
        let mut seen = Vec::new();
        for _ in 0..50 {
            let now = Instant::now();
            tcp.handle_timeout(poll.registry(), now);
            poll.poll(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            for ev in events.iter() {
                tcp.handle_event(
                    poll.registry(),
                    ev.token(),
                    ev.is_readable(),
                    Instant::now(),
                );
            }
            while let Some(e) = tcp.poll_event() {
                let up = matches!(e, TcpEvent::Up(_));
                seen.push(e);
                if up {
                    return seen;
                }
            }
        }
        seen
    }

    #[test]
    #[allow(clippy::disallowed_methods)]
    fn connects_writes_and_reconnects_after_the_collector_goes_away() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut poll = Poll::new().unwrap();
        let mut tcp = TcpExport::new(&[addr], 100, Instant::now());
        assert_eq!(drive_until_up(&mut poll, &mut tcp), vec![TcpEvent::Up(0)]);
        let (mut peer, _) = listener.accept().unwrap();
        assert_eq!(
            tcp.write(poll.registry(), 0, b"hello", Instant::now()),
            WriteOutcome::Written(5)
        );
        let mut buf = [0u8; 5];
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        drop(peer); // the collector restarts
        // The next read event reports EOF; then the backoff (500 ms) passes and it reconnects.
        std::thread::sleep(Duration::from_millis(600));
        let seen = drive_until_up(&mut poll, &mut tcp);
        assert!(
            matches!(seen.first(), Some(TcpEvent::Down(0, _))),
            "{seen:?}"
        );
        assert_eq!(seen.last(), Some(&TcpEvent::Up(0)));
        let (_peer2, _) = listener.accept().unwrap();
    }
}
