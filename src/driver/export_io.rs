//! Moves finished IPFIX messages from the export engine to the collectors' sockets.
//!
//! UDP: one datagram per message, from the shared socket or (bind mode) from the domain's
//! exporter address; a collector's ready messages go in batches of up to `udp::MAX_BATCH` per
//! `sendmmsg(2)`, and only the ones the kernel accepted are confirmed to the engine. A full
//! socket buffer leaves the rest in flight, in order, until WRITABLE.
//! TCP: messages are written as a byte stream with a partial-write offset; when a connection
//! (re)comes up the engine is told, so templates precede data on the new connection.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use mio::{Registry, Token};

use super::tcp::{TcpEvent, TcpExport, WriteOutcome};
use super::udp::{BatchOutcome, MAX_BATCH, UdpExport};
use crate::agent::state::CollectorLoss;
use crate::export::{CollectorId, DomainId, Export};

/// Counters the closing summary and the status file report.
#[derive(Clone, Debug, Default)]
pub struct IoStats {
    pub datagrams: u64,
    pub bytes: u64,
    /// UDP datagrams refused by the network (ICMP unreachable, too big): gone, as UDP allows.
    pub lost: u64,
    pub reconnects: u64,
    /// The same losses per collector (indexed by `CollectorId`), with the flow records the
    /// lost datagrams held.
    pub lost_by_collector: Vec<CollectorLoss>,
}

impl IoStats {
    fn lose(&mut self, c: usize, records: u64) {
        self.lost += 1;
        if self.lost_by_collector.len() <= c {
            self.lost_by_collector
                .resize(c + 1, CollectorLoss::default());
        }
        if let Some(l) = self.lost_by_collector.get_mut(c) {
            l.datagrams += 1;
            l.records += records;
        }
    }
}

enum Transport {
    Udp(UdpExport),
    Tcp {
        links: TcpExport,
        offsets: Vec<usize>,
    },
}

pub struct ExportIo {
    transport: Transport,
    pub stats: IoStats,
}

impl ExportIo {
    /// `segmentation`: `[ipfix] udp_gso`.
    pub fn udp(
        registry: &Registry,
        collectors: &[SocketAddr],
        base_token: usize,
        segmentation: bool,
    ) -> io::Result<ExportIo> {
        Ok(ExportIo {
            transport: Transport::Udp(UdpExport::open(
                registry,
                collectors,
                base_token,
                segmentation,
            )?),
            stats: IoStats::default(),
        })
    }

    pub fn tcp(collectors: &[SocketAddr], base_token: usize, now: Instant) -> ExportIo {
        ExportIo {
            transport: Transport::Tcp {
                links: TcpExport::new(collectors, base_token, now),
                offsets: vec![0; collectors.len()],
            },
            stats: IoStats::default(),
        }
    }

    /// Bind mode: open the sockets that send from `ip` (to every collector).
    pub fn bind_exporter(
        &mut self,
        registry: &Registry,
        collectors: usize,
        ip: Ipv4Addr,
    ) -> io::Result<()> {
        if let Transport::Udp(u) = &mut self.transport {
            for c in 0..collectors {
                u.bind_exporter(registry, c, ip)?;
            }
        }
        Ok(())
    }

    pub fn owns_token(&self, token: Token) -> bool {
        match &self.transport {
            Transport::Udp(u) => u.owns_token(token),
            Transport::Tcp { links, .. } => links.owns_token(token),
        }
    }

    /// Every collector connection is up (always true for UDP).
    pub fn all_up(&self, collectors: usize) -> bool {
        match &self.transport {
            Transport::Udp(_) => true,
            Transport::Tcp { links, .. } => (0..collectors).all(|c| links.is_up(c)),
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.transport {
            Transport::Udp(_) => None,
            Transport::Tcp { links, .. } => links.poll_timeout(),
        }
    }

    /// Connection timers (TCP reconnect backoff).
    pub fn handle_timeout(&mut self, registry: &Registry, export: &mut Export, now: Instant) {
        if let Transport::Tcp { links, .. } = &mut self.transport {
            links.handle_timeout(registry, now);
        }
        self.handle_tcp_events(export);
    }

    /// A readiness event on one of our tokens.
    pub fn handle_event(
        &mut self,
        registry: &Registry,
        export: &mut Export,
        token: Token,
        readable: bool,
        now: Instant,
    ) {
        if let Transport::Tcp { links, .. } = &mut self.transport {
            links.handle_event(registry, token, readable, now);
        }
        self.handle_tcp_events(export);
    }

    fn handle_tcp_events(&mut self, export: &mut Export) {
        let Transport::Tcp { links, offsets } = &mut self.transport else {
            return;
        };
        while let Some(ev) = links.poll_event() {
            match ev {
                TcpEvent::Up(c) => {
                    // A new transport session: templates first, the cut message resent whole.
                    offsets[c] = 0;
                    export.handle_reconnect(CollectorId(c));
                    self.stats.reconnects += 1;
                }
                TcpEvent::Down(c, _) => offsets[c] = 0,
            }
        }
    }

    /// Writes every message the engine has ready until the sockets push back. `bind_ip` gives
    /// the source address of a domain in bind mode.
    pub fn pump(
        &mut self,
        registry: &Registry,
        export: &mut Export,
        bind_ip: &dyn Fn(DomainId) -> Option<Ipv4Addr>,
        now: Instant,
    ) -> io::Result<()> {
        let collectors = export.config().collectors;
        match &mut self.transport {
            Transport::Udp(udp) => {
                // A collector whose socket is full keeps the rest in flight until WRITABLE;
                // the others go on.
                for c in 0..collectors {
                    Self::udp_pump_collector(&mut self.stats, udp, export, bind_ip, c)?;
                }
            }
            Transport::Tcp { links, offsets } => {
                for c in 0..collectors {
                    loop {
                        let t = match export.in_flight(CollectorId(c)) {
                            Some(t) => t,
                            None => match export.poll_transmit() {
                                Some(t) => t,
                                None => break,
                            },
                        };
                        let collector = t.collector.0;
                        let bytes = t.bytes;
                        let off = offsets[collector];
                        match links.write(registry, collector, &bytes[off..], now) {
                            WriteOutcome::Written(n) => {
                                offsets[collector] += n;
                                if offsets[collector] == bytes.len() {
                                    self.stats.datagrams += 1;
                                    self.stats.bytes += bytes.len() as u64;
                                    offsets[collector] = 0;
                                    export.handle_sent(CollectorId(collector));
                                }
                            }
                            WriteOutcome::WouldBlock | WriteOutcome::NotUp => break,
                        }
                    }
                }
                self.handle_tcp_events(export);
            }
        }
        Ok(())
    }

    /// Writes `c`'s messages in batches (messages already in flight first, in order) until
    /// none is left or the socket is full. In bind mode a batch is the run of messages that
    /// leave from the same socket.
    fn udp_pump_collector(
        stats: &mut IoStats,
        udp: &UdpExport,
        export: &mut Export,
        bind_ip: &dyn Fn(DomainId) -> Option<Ipv4Addr>,
        c: usize,
    ) -> io::Result<()> {
        let id = CollectorId(c);
        loop {
            let n = export.poll_transmit_batch(id, MAX_BATCH);
            if n == 0 {
                return Ok(());
            }
            let mut batch: [&[u8]; MAX_BATCH] = [&[]; MAX_BATCH];
            let mut from = None;
            let mut k = 0;
            for slot in batch.iter_mut().take(n) {
                let Some(t) = export.in_flight_at(id, k) else {
                    break;
                };
                let ip = bind_ip(t.domain);
                if k > 0 && from != ip {
                    break;
                }
                from = ip;
                *slot = t.bytes;
                k += 1;
            }
            let batch = batch.get(..k).unwrap_or_default();
            let written = match udp.send_batch(c, from, batch)? {
                BatchOutcome::Sent(sent) => {
                    let sent = sent.min(batch.len());
                    stats.datagrams += sent as u64;
                    stats.bytes += batch.iter().take(sent).map(|b| b.len() as u64).sum::<u64>();
                    sent
                }
                BatchOutcome::Lost(kind) => {
                    // The first one is gone, as UDP allows; the others go again. Its flow
                    // records are what the engine counts for it as sent (rare: the stats copy
                    // costs nothing here).
                    let records =
                        |e: &Export| e.stats().collectors.get(c).map_or(0, |s| s.flow_records);
                    let before = records(export);
                    export.handle_sent(id);
                    stats.lose(c, records(export).saturating_sub(before));
                    log::debug!("ipfix datagram lost: collector={c} error={kind:?}");
                    continue;
                }
                BatchOutcome::WouldBlock => return Ok(()),
            };
            if written == 0 {
                return Ok(()); // an empty batch: nothing can move (cannot happen)
            }
            for _ in 0..written {
                export.handle_sent(id);
            }
        }
    }
}
