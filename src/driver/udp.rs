//! UDP export sockets: one per collector, or in `bind` mode one per (collector, exporter IP).
//!
//! Sockets are connected to their collector, so a send is one `send(2)` and the kernel reports
//! ICMP port-unreachable as an error on the next send (counted, not fatal: a collector that
//! restarts must not stop the agent). A full socket buffer (`WouldBlock`) is backpressure: the
//! datagram stays queued in the export engine and the loop waits for WRITABLE.
//!
//! Bulk export writes up to [`MAX_BATCH`] datagrams per `sendmmsg(2)`: at line rate one
//! syscall per datagram costs more than building the datagrams. The kernel reports how many
//! it accepted; the rest stay with the caller, in order, and go again. Within a batch, runs of
//! datagrams of one length go as one segmented send (`udp_segments`, `[ipfix] udp_gso`); a
//! socket whose segmented send the kernel refuses sends datagram by datagram from then on.
#![allow(unsafe_code)] // `sendmmsg(2)` through libc, in `send_batch` only (and a test's `setsockopt`).

use std::cell::Cell;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;

use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};

use super::udp_segments::{self, SegmentControl};

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

/// Datagrams per `sendmmsg(2)` call (the kernel accepts up to `UIO_MAXIOV` = 1024; the export
/// engine rarely has more than its 64 buffers per collector ready at once).
pub const MAX_BATCH: usize = 64;

/// What happened to a batch of datagrams (`send_batch`).
#[derive(Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// The first `n` datagrams (`n ≥ 1`) were sent; any after them were not: send them again.
    Sent(usize),
    /// The socket buffer is full: nothing was sent; try again when the socket is writable.
    WouldBlock,
    /// The first datagram was refused or rejected, as in [`SendOutcome::Lost`]: it is gone,
    /// the ones after it were not tried.
    Lost(io::ErrorKind),
}

/// A connected export socket, and whether its batches still go as segmented sends.
struct ExportSocket {
    socket: UdpSocket,
    /// Starts as `[ipfix] udp_gso`; cleared for good when the kernel refuses a segmented send
    /// on this socket (its route cannot segment).
    segmenting: Cell<bool>,
}

pub struct UdpExport {
    collectors: Vec<SocketAddr>,
    /// Shared sockets, one per collector (index = collector id).
    shared: Vec<ExportSocket>,
    /// `bind` mode: sockets bound to an exporter IP, per (collector, exporter IP).
    bound: HashMap<(usize, Ipv4Addr), ExportSocket>,
    /// Batches go as segmented sends where they can (`[ipfix] udp_gso`).
    segmentation: bool,
    registry_base: usize,
    next_token: usize,
}

impl UdpExport {
    /// Opens one connected socket per collector. Tokens `base..` are used for their registration.
    /// `segmentation`: send runs of equal-length datagrams as one segmented send (UDP GSO).
    pub fn open(
        registry: &Registry,
        collectors: &[SocketAddr],
        base: usize,
        segmentation: bool,
    ) -> io::Result<UdpExport> {
        let mut shared = Vec::with_capacity(collectors.len());
        for (i, &addr) in collectors.iter().enumerate() {
            let mut s = connected_socket(None, addr)?;
            registry.register(&mut s, Token(base + i), Interest::WRITABLE)?;
            shared.push(ExportSocket {
                socket: s,
                segmenting: Cell::new(segmentation),
            });
        }
        Ok(UdpExport {
            collectors: collectors.to_vec(),
            shared,
            bound: HashMap::new(),
            segmentation,
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
        let s = ExportSocket {
            socket: s,
            segmenting: Cell::new(self.segmentation),
        };
        self.bound.insert((collector, exporter_ip), s);
        Ok(())
    }

    pub fn owns_token(&self, token: Token) -> bool {
        (self.registry_base..self.next_token).contains(&token.0)
    }

    fn socket(&self, collector: usize, exporter_ip: Option<Ipv4Addr>) -> io::Result<&ExportSocket> {
        exporter_ip
            .and_then(|ip| self.bound.get(&(collector, ip)))
            .or_else(|| self.shared.get(collector))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no socket for collector"))
    }

    /// Sends one datagram to `collector`, from `exporter_ip`'s socket when one is bound.
    pub fn send(
        &self,
        collector: usize,
        exporter_ip: Option<Ipv4Addr>,
        datagram: &[u8],
    ) -> io::Result<SendOutcome> {
        let socket = &self.socket(collector, exporter_ip)?.socket;
        loop {
            return match socket.send(datagram) {
                Ok(_) => Ok(SendOutcome::Sent),
                Err(e) => match classify(e)? {
                    Failure::Interrupted => continue,
                    Failure::WouldBlock => Ok(SendOutcome::WouldBlock),
                    Failure::Lost(kind) => Ok(SendOutcome::Lost(kind)),
                },
            };
        }
    }

    /// Sends up to [`MAX_BATCH`] datagrams to `collector` with one `sendmmsg(2)`, in order,
    /// from `exporter_ip`'s socket when one is bound. An empty batch sends nothing
    /// (`Sent(0)`). Runs of equal-length datagrams go as one segmented send each while the
    /// socket is segmenting; the outcome counts datagrams either way.
    pub fn send_batch(
        &self,
        collector: usize,
        exporter_ip: Option<Ipv4Addr>,
        datagrams: &[&[u8]],
    ) -> io::Result<BatchOutcome> {
        let socket = self.socket(collector, exporter_ip)?;
        let n = datagrams.len().min(MAX_BATCH);
        if n == 0 {
            return Ok(BatchOutcome::Sent(0));
        }
        let datagrams = &datagrams[..n];
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_BATCH];
        for (v, d) in iov.iter_mut().zip(datagrams) {
            // The kernel only reads through `iov_base` for a send (the cast to `*mut` is what
            // the C type asks for).
            v.iov_base = d.as_ptr().cast_mut().cast();
            v.iov_len = d.len();
        }
        let mut controls = [SegmentControl::EMPTY; MAX_BATCH];
        loop {
            let segmenting = socket.segmenting.get();
            // SAFETY: `mmsghdr` is a plain C struct (integers and pointers); all-zero is a
            // valid value (no name, no control data, no iovecs).
            let mut msgs: [libc::mmsghdr; MAX_BATCH] = unsafe { std::mem::zeroed() };
            // Datagrams carried by each message, to turn the kernel's count into datagrams.
            let mut carried = [0usize; MAX_BATCH];
            let (mut first, mut m) = (0, 0);
            while first < n {
                let run = if segmenting {
                    udp_segments::run_len(datagrams[first..].iter().map(|d| d.len()))
                } else {
                    1
                };
                let hdr = &mut msgs[m].msg_hdr;
                hdr.msg_iov = &mut iov[first];
                hdr.msg_iovlen = run as _;
                if run > 1 {
                    // ≤ 65 507 (udp_segments::MAX_RUN_OCTETS), so it fits.
                    let segment = datagrams[first].len() as u16;
                    udp_segments::set_segment_size(hdr, &mut controls[m], segment);
                }
                carried[m] = run;
                first += run;
                m += 1;
            }
            // SAFETY: `msgs[..m]` are initialized `mmsghdr`s; each points at `iov` entries
            // (live for this call) that point at datagrams borrowed for this call, and a
            // segmented one at its own `controls` entry (live for this call); the socket is
            // connected, so no address is passed; `m ≤ MAX_BATCH` fits `c_uint`. The kernel
            // writes only `msg_len` of each entry.
            let r = unsafe {
                libc::sendmmsg(
                    socket.socket.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    m as libc::c_uint,
                    0,
                )
            };
            if r > 0 {
                let sent = carried.iter().take(r as usize).sum();
                return Ok(BatchOutcome::Sent(sent));
            }
            // 0 is not returned for a non-empty batch; treat it as a full buffer.
            let e = match r {
                0 => return Ok(BatchOutcome::WouldBlock),
                _ => io::Error::last_os_error(),
            };
            if carried[0] > 1 && refuses_segmentation(&e) {
                // Nothing of this run was sent: send it again datagram by datagram, and the
                // socket's later batches too.
                log::info!(
                    "udp export to {}: the kernel does not segment this route ({e}); \
                     sending datagram by datagram",
                    self.collectors
                        .get(collector)
                        .map_or(String::new(), |a| a.to_string())
                );
                socket.segmenting.set(false);
                continue;
            }
            return match classify(e)? {
                Failure::Interrupted => continue,
                Failure::WouldBlock => Ok(BatchOutcome::WouldBlock),
                Failure::Lost(kind) => Ok(BatchOutcome::Lost(kind)),
            };
        }
    }
}

/// The errors of a segmented send that mean "this route cannot segment" rather than "this
/// datagram is bad": EIO (no checksum offload, IPsec), EINVAL (too many segments for an old
/// kernel, checksums turned off), EMSGSIZE (a segment longer than the path MTU, which a plain
/// datagram may still pass as IP fragments), ENOPROTOOPT / EOPNOTSUPP (no UDP_SEGMENT at all).
fn refuses_segmentation(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::EMSGSIZE | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
    )
}

/// A failed send, by what the caller does next.
enum Failure {
    Interrupted,
    WouldBlock,
    /// Refused (ICMP unreachable) or rejected (too big): the datagram is gone.
    Lost(io::ErrorKind),
}

/// Sorts a send error; anything else is a real error of the socket.
fn classify(e: io::Error) -> io::Result<Failure> {
    match e.kind() {
        io::ErrorKind::WouldBlock => Ok(Failure::WouldBlock),
        io::ErrorKind::Interrupted => Ok(Failure::Interrupted),
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable => Ok(Failure::Lost(e.kind())),
        _ if e.raw_os_error() == Some(libc::EMSGSIZE) => Ok(Failure::Lost(e.kind())),
        _ => Err(e),
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
        let mut ex =
            UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 10, true).unwrap();
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

    /// `sendmmsg`: datagrams leave in order, one each; a datagram the kernel rejects stops
    /// the batch there (the ones before it are sent, the rest are for the next call).
    #[test]
    fn batches_are_sent_in_order_and_stop_at_a_rejected_datagram() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let poll = Poll::new().unwrap();
        let mut ex =
            UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 10, true).unwrap();
        let vpc_ip = Ipv4Addr::new(127, 0, 0, 43);
        ex.bind_exporter(poll.registry(), 0, vpc_ip).unwrap();
        let too_big = vec![0u8; 70_000]; // over the 65 507-octet UDP payload limit
        let batch: [&[u8]; 4] = [b"one", b"two", &too_big, b"four"];
        assert_eq!(ex.send_batch(0, None, &[]).unwrap(), BatchOutcome::Sent(0));
        assert_eq!(
            ex.send_batch(0, None, &batch).unwrap(),
            BatchOutcome::Sent(2)
        );
        let lost = ex.send_batch(0, None, &batch[2..]).unwrap();
        assert!(matches!(lost, BatchOutcome::Lost(_)), "{lost:?}");
        assert_eq!(
            ex.send_batch(0, Some(vpc_ip), &batch[3..]).unwrap(),
            BatchOutcome::Sent(1)
        );
        let mut buf = [0u8; 16];
        let mut got = Vec::new();
        for _ in 0..3 {
            let (n, from) = rx.recv_from(&mut buf).unwrap();
            got.push((buf[..n].to_vec(), from.ip()));
        }
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(
            got,
            vec![
                (b"one".to_vec(), local),
                (b"two".to_vec(), local),
                (b"four".to_vec(), IpAddr::V4(vpc_ip))
            ]
        );
    }

    /// 64 datagrams, each of its own content: runs of equal lengths (segmented sends), runs
    /// ended by a shorter one, lengths that only go alone, and a 1-octet datagram.
    fn mixed_batch() -> Vec<Vec<u8>> {
        let lengths = [
            [1000; 40].as_slice(),
            &[600],
            &[1200; 11],
            &[50; 5],
            &[1300, 1],
            &[900; 5],
        ];
        let lengths: Vec<usize> = lengths.concat();
        assert_eq!(lengths.len(), MAX_BATCH);
        (0..lengths.len())
            .map(|i| (0..lengths[i]).map(|k| (i * 7 + k) as u8).collect())
            .collect()
    }

    /// Sends `datagrams` through `ex` (several calls when the kernel takes part of a batch)
    /// and returns what `rx`, a plain UDP socket, receives: one entry per datagram.
    fn send_and_receive(
        ex: &UdpExport,
        rx: &std::net::UdpSocket,
        datagrams: &[Vec<u8>],
    ) -> Vec<Vec<u8>> {
        let refs: Vec<&[u8]> = datagrams.iter().map(|d| d.as_slice()).collect();
        let mut done = 0;
        while done < refs.len() {
            match ex.send_batch(0, None, &refs[done..]).unwrap() {
                BatchOutcome::Sent(k) => done += k,
                other => panic!("send_batch: {other:?} after {done} datagrams"),
            }
        }
        let mut buf = vec![0u8; 65_536];
        (0..datagrams.len())
            .map(|_| {
                let n = rx.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            })
            .collect()
    }

    fn receiver() -> std::net::UdpSocket {
        receiver_at("127.0.0.1:0")
    }

    fn receiver_at(addr: &str) -> std::net::UdpSocket {
        let rx = std::net::UdpSocket::bind(addr).unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        rx
    }

    /// The kernel cuts segmented sends into the datagrams they were built from: the receiver
    /// reads each one whole, in order, as if sent one by one (and the socket kept segmenting:
    /// no send was refused).
    #[test]
    fn segmented_sends_arrive_as_the_datagrams_they_carry() {
        let rx = receiver();
        let poll = Poll::new().unwrap();
        let ex = UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 10, true).unwrap();
        let batch = mixed_batch();
        assert_eq!(send_and_receive(&ex, &rx, &batch), batch);
        assert!(ex.shared[0].segmenting.get());

        let plain =
            UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 20, false).unwrap();
        assert_eq!(send_and_receive(&plain, &rx, &batch), batch);
    }

    /// The same to an IPv6 collector (the kernel segments IPv6 sends on their own path).
    #[test]
    fn segmented_sends_to_an_ipv6_collector_arrive_as_the_datagrams_they_carry() {
        let rx = receiver_at("[::1]:0");
        let poll = Poll::new().unwrap();
        let ex = UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 10, true).unwrap();
        let batch = mixed_batch();
        assert_eq!(send_and_receive(&ex, &rx, &batch), batch);
        assert!(ex.shared[0].segmenting.get());
    }

    /// A socket the kernel will not segment for (here: UDP checksums turned off, which Linux
    /// refuses with EINVAL for a segmented send) falls back to datagram by datagram at the
    /// first refusal, sending that batch again: nothing is lost or repeated.
    #[test]
    fn a_refused_segmented_send_goes_again_datagram_by_datagram() {
        let rx = receiver();
        let poll = Poll::new().unwrap();
        let ex = UdpExport::open(poll.registry(), &[rx.local_addr().unwrap()], 10, true).unwrap();
        let one: libc::c_int = 1;
        // SAFETY: setsockopt on an open socket with a pointer to a live c_int and its size.
        let r = unsafe {
            libc::setsockopt(
                ex.shared[0].socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_NO_CHECK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(r, 0, "{}", io::Error::last_os_error());
        let batch = mixed_batch();
        assert_eq!(send_and_receive(&ex, &rx, &batch), batch);
        assert!(!ex.shared[0].segmenting.get(), "the refusal was seen");
    }

    #[test]
    fn a_non_local_exporter_address_is_a_clear_error() {
        let poll = Poll::new().unwrap();
        let mut ex =
            UdpExport::open(poll.registry(), &["127.0.0.1:9".parse().unwrap()], 10, true).unwrap();
        let e = ex
            .bind_exporter(poll.registry(), 0, Ipv4Addr::new(192, 0, 2, 1))
            .unwrap_err();
        assert!(
            e.to_string().contains("is it an address of this host"),
            "{e}"
        );
    }
}
