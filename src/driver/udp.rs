//! UDP export sockets: one per collector, or in `bind` mode one per (collector, exporter IP).
//!
//! Sockets are connected to their collector, so a send is one `send(2)` and the kernel reports
//! ICMP port-unreachable as an error on the next send (counted, not fatal: a collector that
//! restarts must not stop the agent). A full socket buffer (`WouldBlock`) is backpressure: the
//! datagram stays queued in the export engine and the loop waits for WRITABLE.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

/// What happened to one datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent,
    /// The socket buffer is full: try again when the socket is writable.
    WouldBlock,
    /// The collector refused (ICMP unreachable) or the datagram was rejected: it is gone.
    /// UDP export is best effort past the socket; the collector sees a sequence gap.
    Lost(io::ErrorKind),
}

pub struct UdpExport {
    collectors: Vec<SocketAddr>,
    /// Shared sockets, one per collector (index = collector id).
    shared: Vec<UdpSocket>,
    /// `bind` mode: sockets bound to an exporter IP, per (collector, exporter IP).
    bound: HashMap<(usize, Ipv4Addr), UdpSocket>,
    registry_base: usize,
    next_token: usize,
}

impl UdpExport {
    /// Opens one connected socket per collector. Tokens `base..` are used for their registration.
    pub fn open(
        registry: &Registry,
        collectors: &[SocketAddr],
        base: usize,
    ) -> io::Result<UdpExport> {
        let mut shared = Vec::with_capacity(collectors.len());
        for (i, &addr) in collectors.iter().enumerate() {
            let mut s = connected_socket(None, addr)?;
            registry.register(&mut s, Token(base + i), Interest::WRITABLE)?;
            shared.push(s);
        }
        Ok(UdpExport {
            collectors: collectors.to_vec(),
            shared,
            bound: HashMap::new(),
            registry_base: base,
            next_token: base + collectors.len(),
        })
    }

    /// `bind` mode: the socket that sends `collector`'s datagrams from `exporter_ip`.
    /// Fails with a clear error when the address is not local (EADDRNOTAVAIL).
    pub fn bind_exporter(
        &mut self,
        registry: &Registry,
        collector: usize,
        exporter_ip: Ipv4Addr,
    ) -> io::Result<()> {
        if self.bound.contains_key(&(collector, exporter_ip)) {
            return Ok(());
        }
        let addr = self.collectors[collector];
        let mut s = connected_socket(Some(IpAddr::V4(exporter_ip)), addr).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot send from exporter ip {exporter_ip} (is it an address of this host?): {e}"),
            )
        })?;
        registry.register(&mut s, Token(self.next_token), Interest::WRITABLE)?;
        self.next_token += 1;
        self.bound.insert((collector, exporter_ip), s);
        Ok(())
    }

    pub fn owns_token(&self, token: Token) -> bool {
        (self.registry_base..self.next_token).contains(&token.0)
    }

    /// Sends one datagram to `collector`, from `exporter_ip`'s socket when one is bound.
    pub fn send(
        &self,
        collector: usize,
        exporter_ip: Option<Ipv4Addr>,
        datagram: &[u8],
    ) -> io::Result<SendOutcome> {
        let socket = exporter_ip
            .and_then(|ip| self.bound.get(&(collector, ip)))
            .or_else(|| self.shared.get(collector))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no socket for collector"))?;
        loop {
            return match socket.send(datagram) {
                Ok(_) => Ok(SendOutcome::Sent),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(SendOutcome::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::HostUnreachable
                            | io::ErrorKind::NetworkUnreachable
                    ) =>
                {
                    Ok(SendOutcome::Lost(e.kind()))
                }
                Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    Ok(SendOutcome::Lost(e.kind()))
                }
                Err(e) => Err(e),
            };
        }
    }
}

fn connected_socket(local: Option<IpAddr>, peer: SocketAddr) -> io::Result<UdpSocket> {
    let local = match local {
        Some(ip) => SocketAddr::new(ip, 0),
        None if peer.is_ipv4() => SocketAddr::from(([0, 0, 0, 0], 0)),
        None => SocketAddr::from(([0u16; 8], 0)),
    };
    let s = UdpSocket::bind(local)?;
    s.connect(peer)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::Poll;

    #[test]
    fn sends_from_the_bound_exporter_address() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let poll = Poll::new().unwrap();
        let mut ex = UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 10).unwrap();
        let vpc_ip = Ipv4Addr::new(127, 0, 0, 42);
        ex.bind_exporter(poll.registry(), 0, vpc_ip).unwrap();
        assert_eq!(ex.send(0, Some(vpc_ip), b"one").unwrap(), SendOutcome::Sent);
        assert_eq!(ex.send(0, None, b"two").unwrap(), SendOutcome::Sent);
        let mut buf = [0u8; 16];
        let (n, from) = rx.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from.ip()), (&b"one"[..], IpAddr::V4(vpc_ip)));
        let (n, from) = rx.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"two");
        assert_eq!(from.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn a_non_local_exporter_address_is_a_clear_error() {
        let poll = Poll::new().unwrap();
        let mut ex =
            UdpExport::open(poll.registry(), &["127.0.0.1:9".parse().unwrap()], 10).unwrap();
        let e = ex
            .bind_exporter(poll.registry(), 0, Ipv4Addr::new(192, 0, 2, 1))
            .unwrap_err();
        assert!(
            e.to_string().contains("is it an address of this host"),
            "{e}"
        );
    }
}
