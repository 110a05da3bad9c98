//! `Export`: the sans-IO IPFIX export engine, for every configured collector × every
//! observation domain (one per VPC).
//!
//! ```text
//!  push(domain, record) ──► encode once ──► every collector's session of that domain
//!        │  (Backpressure when the pool is short or the rate limit is reached)
//!        ▼
//!  session message: Filling ──full / idle_flush / flush()──► collector queue (FIFO)
//!                                               poll_transmit() / poll_transmit_batch()
//!                                                                ▼
//!                        handle_sent(collector) ◄── driver writes bytes to the socket
//!                        (oldest in flight: buffer back to the pool; records delivered)
//!
//!  timers (poll_timeout / handle_timeout): idle flush of open messages, template refresh per
//!  domain (templates and options records announced again), rate-limit refill.
//!  handle_reconnect(collector): the TCP connection is new — templates again before any data,
//!  the message cut by the break is resent whole, sequence numbers continue.
//! ```
//!
//! Delivery tracking: each accepted record gets a [`Serial`]; [`Export::acked_through`] is the
//! highest S such that every record with serial ≤ S has been written to every collector's
//! socket (open messages and queued messages hold back the acknowledgement). Sources delete
//! SQS messages and write checkpoints only up to it.
//!
//! Options records name the domain (scope observationDomainId 149, observationDomainName 300)
//! and each ENI's synthetic ifIndex (scope 149; ingressInterface 10, interfaceName 82,
//! interfaceDescription 83, fixed-length, one record per Data Set — the shape nfdump 1.7.x can
//! read, see `ipfix::template`). They travel in the domain's own messages: after its first
//! record (or the record that reveals a new ENI), at each template refresh while the domain
//! has traffic, and after a reconnect or rename with its next record. They count in the
//! sequence number as RFC 7011 §3.1 says; nfdump counts only flow records and so reports a
//! harmless sequence error per options burst (spec §G, `samples/ipfix/VALIDATION.txt`). That
//! quirk is accepted: ODID-0 messages would not let nfdump attach the names to the VPC.
//!
//! The hot path allocates nothing: a record is encoded once into a scratch buffer and copied
//! into each collector's message; the template is found by comparing the field mask with the
//! previous record's (one compare) and only otherwise looked up in the cache.

use std::collections::HashMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::domain::{Domain, Noted};
use super::outbox::{Outbox, Pool};
use super::rate::TokenBucket;
use super::session::{Item, Outcome, Session};
use super::{
    Backpressure, CollectorId, DomainId, DomainInfo, DomainStats, ExportConfig, ExportError,
    ExportStats, MAX_MESSAGE_SIZE, MIN_MESSAGE_SIZE, Serial, Transmit,
};
use crate::ipfix::data_record::DataRecord;
#[cfg(test)]
use crate::ipfix::record::ExportRecord;
use crate::ipfix::template::{FieldMask, TemplateCache, TemplateIdx};
use crate::ipfix::wire::{MESSAGE_HEADER_LEN, SET_HEADER_LEN};
use crate::ipfix::writer::{encode_domain_name, encode_interface_name, export_time};

/// The export engine. See the module doc.
#[derive(Debug)]
pub struct Export {
    cfg: ExportConfig,
    templates: TemplateCache,
    /// The previous record's mask and template: the common case is one compare.
    last_template: Option<(FieldMask, TemplateIdx)>,
    /// One encoded record (data or options).
    scratch: Box<[u8]>,
    pool: Pool,
    outboxes: Vec<Outbox>,
    domains: Vec<Domain>,
    domain_index: HashMap<u32, usize>,
    last_domain: Option<(DomainId, usize)>,
    /// The last wall clock handed to `push` and its export time: callers read the clock once
    /// per many records, and the conversion costs more than the comparison.
    last_wall: (SystemTime, u32),
    /// Index `domain * collectors + collector`.
    sessions: Vec<Session>,
    rate: TokenBucket,
    next_serial: u64,
    flush_due: Option<Instant>,
    next_refresh: Option<Instant>,
    round_robin: usize,
    stats: ExportStats,
}

impl Export {
    pub fn new(cfg: ExportConfig) -> Result<Export, ExportError> {
        if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&cfg.max_packet_size) {
            return Err(ExportError::PacketSize {
                size: cfg.max_packet_size,
            });
        }
        let needed = 2 * cfg.collectors.max(1);
        if cfg.buffers < needed {
            return Err(ExportError::TooFewBuffers {
                buffers: cfg.buffers,
                needed,
            });
        }
        if cfg.template_refresh.is_zero() {
            return Err(ExportError::ZeroDuration {
                what: "template_refresh",
            });
        }
        if cfg.idle_flush.is_zero() {
            return Err(ExportError::ZeroDuration { what: "idle_flush" });
        }
        // A record longer than this cannot share an empty message with a set header.
        let scratch =
            vec![0u8; cfg.max_packet_size - MESSAGE_HEADER_LEN - SET_HEADER_LEN].into_boxed_slice();
        Ok(Export {
            templates: TemplateCache::new(cfg.enterprise_number),
            last_template: None,
            scratch,
            pool: Pool::new(cfg.buffers, cfg.max_packet_size),
            outboxes: (0..cfg.collectors)
                .map(|_| Outbox::new(cfg.buffers, cfg.max_packet_size))
                .collect(),
            domains: Vec::new(),
            domain_index: HashMap::new(),
            last_domain: None,
            last_wall: (UNIX_EPOCH, 0),
            sessions: Vec::new(),
            rate: TokenBucket::new(cfg.rate_limit),
            next_serial: 1,
            flush_due: None,
            next_refresh: None,
            round_robin: 0,
            stats: ExportStats {
                collectors: vec![Default::default(); cfg.collectors],
                ..Default::default()
            },
            cfg,
        })
    }

    /// Declares or updates a domain (VPC). A new name goes out with the domain's next record.
    pub fn set_domain(&mut self, id: DomainId, info: DomainInfo) {
        let d = self.domain_slot(id);
        let dom = &mut self.domains[d];
        if dom.info.name != info.name {
            dom.stale = true;
        }
        if dom.info.exporter_ipv4 != info.exporter_ipv4 {
            self.last_template = None;
        }
        dom.info = info;
    }

    #[inline]
    fn domain_slot(&mut self, id: DomainId) -> usize {
        if let Some((last, d)) = self.last_domain
            && last == id
        {
            return d;
        }
        let d = match self.domain_index.get(&id.0) {
            Some(&d) => d,
            None => {
                let d = self.domains.len();
                log::debug!("ipfix domain added domain={}", id.0);
                self.domains.push(Domain::new(id, DomainInfo::default()));
                self.domain_index.insert(id.0, d);
                self.sessions
                    .extend((0..self.outboxes.len()).map(|c| Session::new(c, d, id.0)));
                self.stats.domains.push(DomainStats {
                    domain: id,
                    records: 0,
                });
                d
            }
        };
        self.last_domain = Some((id, d));
        d
    }

    /// true when `push` would accept a record now: a token is there and the pool can supply a
    /// fresh message to every collector.
    #[inline]
    pub fn can_accept(&self, now: Instant) -> bool {
        self.rate.available(now) >= 1 && self.pool.free_count() >= self.outboxes.len()
    }

    /// Message buffers holding a message (open, queued or in flight): a driver that can wait
    /// lets this grow before writing, so one batched write carries many messages.
    pub fn buffers_in_use(&self) -> usize {
        self.cfg.buffers.saturating_sub(self.pool.free_count())
    }

    /// Queues one flow record for every collector in `domain` (declared with `set_domain`, or
    /// created unnamed). `Ok(serial)` also for a record that was dropped because it cannot be
    /// sent at all (counted in `stats`): it has nothing left to deliver.
    pub fn push<R: DataRecord + ?Sized>(
        &mut self,
        domain: DomainId,
        rec: &R,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Serial, Backpressure> {
        if !self.can_accept(now) {
            return Err(Backpressure);
        }
        self.rate.take(1, now);
        if self.last_wall.0 != wall {
            self.last_wall = (wall, export_time(wall));
        }
        let wall_s = self.last_wall.1;
        let serial = self.next_serial;
        self.next_serial += 1;
        let n = self.outboxes.len();
        let d = self.domain_slot(domain);
        let dom = &mut self.domains[d];
        dom.active = true;
        if dom.stale {
            // New, renamed, idle through a refresh, or after a reconnect: name it with this record.
            dom.stale = false;
            let has_name = !dom.info.name.is_empty();
            self.sessions[d * n..(d + 1) * n]
                .iter_mut()
                .for_each(|s| s.restart_options(has_name));
        }
        if dom.refresh_at.is_none() {
            let at = now + self.cfg.template_refresh;
            dom.refresh_at = Some(at);
            self.next_refresh = Some(self.next_refresh.map_or(at, |t| t.min(at)));
        }
        let default_exporter = dom.info.exporter_ipv4;
        let mask = rec.field_mask(default_exporter.is_some());
        if mask.0 == 0 {
            // A template without fields would read as a withdrawal (RFC 7011 §8.1).
            self.stats.dropped_empty += 1;
            return Ok(Serial(serial));
        }
        let idx = match self.last_template {
            Some((m, i)) if m == mask => i,
            _ => match self.templates.for_mask(mask) {
                Ok(i) => {
                    self.last_template = Some((mask, i));
                    i
                }
                Err(e) => {
                    self.stats.dropped_no_template += 1;
                    if self.stats.dropped_no_template.is_power_of_two() {
                        log::warn!(
                            "ipfix record dropped domain={} count={} reason={e}",
                            domain.0,
                            self.stats.dropped_no_template
                        );
                    }
                    return Ok(Serial(serial));
                }
            },
        };
        let keys = self.templates.get(idx).map_or(&[][..], |t| &t.keys[..]);
        let Ok(len) = rec.encode_fields(mask, keys, default_exporter, &mut self.scratch) else {
            self.count_too_large(domain);
            return Ok(Serial(serial));
        };
        if self.cfg.name_interfaces
            && let Some((ix, name)) = rec.interface()
            && dom.note_interface(ix, name) == Noted::Full
        {
            self.stats.interfaces_unnamed += 1;
        }
        let mut dropped = false;
        if let Some(t) = self.templates.get(idx) {
            let record = self.scratch.get(..len).unwrap_or(&[]);
            for (c, s) in self.sessions[d * n..(d + 1) * n].iter_mut().enumerate() {
                let before = s.open;
                let queue = &mut self.outboxes[c].queue;
                let out = s.write(
                    &mut self.pool,
                    queue,
                    t,
                    idx,
                    record,
                    Item::Flow { serial },
                    true,
                    now,
                    wall_s,
                );
                match out {
                    Outcome::Written => {}
                    Outcome::TooLarge => dropped = true,
                    Outcome::NoRoom | Outcome::NoBuffer => {
                        // can_accept guaranteed a buffer per collector.
                        log::error!(
                            "ipfix record lost: no buffer domain={} collector={c}",
                            domain.0
                        );
                        dropped = true;
                    }
                }
                if s.open.is_some() && s.open != before && self.flush_due.is_none() {
                    self.flush_due = Some(now + self.cfg.idle_flush);
                }
            }
        }
        if dropped {
            self.count_too_large(domain);
        } else {
            self.stats.domains[d].records += 1;
        }
        if self.domain_owes_options(d) {
            self.write_pending_options(d, now, wall_s);
        }
        // All buffers held by open messages and none queued: nothing would free one.
        if self.pool.free_count() < n && self.outboxes.iter().all(|o| o.queue.is_empty()) {
            self.close_all(wall_s);
        }
        Ok(Serial(serial))
    }

    fn count_too_large(&mut self, domain: DomainId) {
        self.stats.dropped_too_large += 1;
        if self.stats.dropped_too_large.is_power_of_two() {
            log::warn!(
                "ipfix record dropped domain={} count={} reason=does not fit in an empty message of max_packet_size={}",
                domain.0,
                self.stats.dropped_too_large,
                self.cfg.max_packet_size
            );
        }
    }

    /// Options records due in the domain's sessions. They fill the open message, and start new
    /// ones only while the pool has more free buffers than the reserve `can_accept` keeps for
    /// flow records; what does not fit waits for the next push or idle flush.
    fn write_pending_options(&mut self, d: usize, now: Instant, wall_s: u32) {
        let n = self.outboxes.len();
        let dom = &self.domains[d];
        for (c, s) in self.sessions[d * n..(d + 1) * n].iter_mut().enumerate() {
            let queue = &mut self.outboxes[c].queue;
            loop {
                // The next options record due in this session: (template, encoded length).
                let encoded = if s.domain_name_pending {
                    let len = encode_domain_name(dom.id.0, &dom.info.name, &mut self.scratch);
                    self.templates.domain_names().ok().zip(len.ok())
                } else if let Some(f) = dom
                    .ifaces
                    .get(s.iface_cursor)
                    .filter(|_| self.cfg.name_interfaces)
                {
                    let len = encode_interface_name(
                        dom.id.0,
                        f.index,
                        &f.name,
                        &f.name,
                        &mut self.scratch,
                    );
                    self.templates.interface_names().ok().zip(len.ok())
                } else {
                    break;
                };
                let item = encoded.and_then(|(idx, len)| {
                    Some((idx, self.templates.get(idx)?, self.scratch.get(..len)?))
                });
                if let Some((idx, t, rec)) = item {
                    let may_open = self.pool.free_count() > n;
                    let before = s.open;
                    let out = s.write(
                        &mut self.pool,
                        queue,
                        t,
                        idx,
                        rec,
                        Item::Options,
                        may_open,
                        now,
                        wall_s,
                    );
                    if s.open.is_some() && s.open != before && self.flush_due.is_none() {
                        self.flush_due = Some(now + self.cfg.idle_flush);
                    }
                    if matches!(out, Outcome::NoRoom | Outcome::NoBuffer) {
                        break;
                    }
                }
                // Written, or never sendable (too large for an empty message): done with it.
                if s.domain_name_pending {
                    s.domain_name_pending = false;
                } else {
                    s.iface_cursor += 1;
                }
            }
        }
    }

    /// A session of domain `d` owes an options record (checked per record, before the call).
    #[inline]
    fn domain_owes_options(&self, d: usize) -> bool {
        let n = self.outboxes.len();
        let ifaces = self.domains.get(d).map_or(0, |dom| dom.ifaces.len());
        self.sessions[d * n..(d + 1) * n]
            .iter()
            .any(|s| s.domain_name_pending || (self.cfg.name_interfaces && s.iface_cursor < ifaces))
    }

    /// Some session still owes options records.
    fn has_pending_options(&self) -> bool {
        (0..self.domains.len()).any(|d| self.domain_owes_options(d))
    }

    fn close_all(&mut self, wall_s: u32) {
        for s in &mut self.sessions {
            if let Some(o) = self.outboxes.get_mut(s.collector) {
                s.close(&mut self.pool, &mut o.queue, wall_s);
            }
        }
        self.flush_due = None;
    }

    /// Writes the options records still due and closes every open message so it can be sent
    /// (end of input, shutdown, or before waiting for `acked_through` to cover everything).
    /// Options that find no buffer now are retried at the next `handle_timeout`.
    pub fn flush(&mut self, now: Instant, wall: SystemTime) {
        let wall_s = export_time(wall);
        for d in 0..self.domains.len() {
            self.write_pending_options(d, now, wall_s);
        }
        self.close_all(wall_s);
        if self.has_pending_options() {
            self.flush_due = Some(now + self.cfg.idle_flush);
        }
    }

    /// The next finished message of a collector that has none in flight. The driver writes
    /// `bytes` and calls `handle_sent(collector)`; until then that collector gets nothing new.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        let n = self.outboxes.len();
        for k in 0..n {
            let c = (self.round_robin + k) % n;
            let ready = self
                .outboxes
                .get(c)
                .is_some_and(|o| o.in_flight.is_none() && !o.queue.is_empty());
            if ready {
                self.round_robin = (c + 1) % n;
                let (domain, bytes) = self
                    .outboxes
                    .get_mut(c)?
                    .next(&self.pool, &self.templates)?;
                return Some(Transmit {
                    collector: CollectorId(c),
                    domain: DomainId(domain),
                    bytes,
                });
            }
        }
        None
    }

    /// Batched writes (UDP `sendmmsg`): hands out further finished messages of `collector`
    /// behind those already in flight, in queue order, up to `max` in flight in all, and
    /// returns how many are in flight. Read them with `in_flight_at(collector, 0..n)` and
    /// confirm each one written with `handle_sent`, oldest first; the ones not confirmed stay
    /// in flight and come first again (a partial or refused batch keeps its order). A
    /// template-only message needed after a reconnect goes alone.
    pub fn poll_transmit_batch(&mut self, collector: CollectorId, max: usize) -> usize {
        match self.outboxes.get_mut(collector.0) {
            Some(o) => o.next_batch(&self.pool, &self.templates, max),
            None => 0,
        }
    }

    /// The oldest message handed out for `collector` and not yet confirmed: resume a partial
    /// TCP write, or retry a UDP send that would block.
    pub fn in_flight(&self, collector: CollectorId) -> Option<Transmit<'_>> {
        self.in_flight_at(collector, 0)
    }

    /// The `i`-th message in flight for `collector`, oldest first (see `poll_transmit_batch`).
    pub fn in_flight_at(&self, collector: CollectorId, i: usize) -> Option<Transmit<'_>> {
        let (domain, bytes) = self
            .outboxes
            .get(collector.0)?
            .in_flight_at(&self.pool, i)?;
        Some(Transmit {
            collector,
            domain: DomainId(domain),
            bytes,
        })
    }

    /// The oldest message handed out for `collector` (by `poll_transmit` or
    /// `poll_transmit_batch`) is fully written (a UDP send that failed for good counts as
    /// written: it is lost like any UDP datagram).
    pub fn handle_sent(&mut self, collector: CollectorId) {
        let Some(o) = self.outboxes.get_mut(collector.0) else {
            return;
        };
        if let Some(id) = o.sent(&self.pool) {
            self.pool.release(id);
        }
        if let Some(s) = self.stats.collectors.get_mut(collector.0) {
            *s = o.stats;
        }
    }

    /// The TCP connection to `collector` is new: every template is sent again before data, the
    /// message that was in flight is resent whole (the driver drops its partial-write offset
    /// and calls `poll_transmit`), sequence numbers continue. Domain and interface names go
    /// out again with each domain's next record.
    pub fn handle_reconnect(&mut self, collector: CollectorId) {
        let Some(o) = self.outboxes.get_mut(collector.0) else {
            return;
        };
        o.reconnect();
        let n = self.outboxes.len();
        for (d, dom) in self.domains.iter_mut().enumerate() {
            if let Some(s) = self.sessions.get_mut(d * n + collector.0) {
                s.reannounce(&self.pool);
            }
            dom.stale = true;
        }
    }

    /// The earliest instant `handle_timeout` has work: idle flush, template refresh, or the
    /// rate limiter's next token.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.flush_due,
            self.next_refresh,
            self.rate.next_refill_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        let wall_s = export_time(wall);
        self.rate.refill(now);
        if self.next_refresh.is_some_and(|t| t <= now) {
            self.refresh_due_domains(now);
        }
        let idle = self.cfg.idle_flush;
        if self.flush_due.is_some_and(|t| t <= now) {
            for s in &mut self.sessions {
                let due = s.opened_at(&self.pool).is_some_and(|at| at + idle <= now);
                if let (true, Some(o)) = (due, self.outboxes.get_mut(s.collector)) {
                    s.close(&mut self.pool, &mut o.queue, wall_s);
                }
            }
        }
        // Options that waited for room (a burst of new ENIs) or were re-marked by a refresh.
        let pending = self.has_pending_options();
        if pending {
            for d in 0..self.domains.len() {
                self.write_pending_options(d, now, wall_s);
            }
        }
        let earliest = self
            .sessions
            .iter()
            .filter_map(|s| s.opened_at(&self.pool))
            .min();
        self.flush_due = match earliest {
            Some(e) => Some(e + idle),
            None if pending && self.has_pending_options() => Some(now + idle),
            None => None,
        };
    }

    /// Template refresh (RFC 7011 §8.4) of every domain whose time has come: templates are
    /// written again before the next data. A domain with traffic in the last period also
    /// names itself and its ENIs again now; an idle one does so with its next record.
    fn refresh_due_domains(&mut self, now: Instant) {
        let n = self.outboxes.len();
        let mut next: Option<Instant> = None;
        for (d, dom) in self.domains.iter_mut().enumerate() {
            let Some(mut at) = dom.refresh_at else {
                continue;
            };
            if at <= now {
                log::debug!(
                    "ipfix template refresh domain={} active={}",
                    dom.id.0,
                    dom.active
                );
                // The list is rebuilt from the ENIs seen in the last period: cursors restart.
                dom.prune();
                let announce = dom.active && !dom.info.name.is_empty();
                for s in self
                    .sessions
                    .get_mut(d * n..(d + 1) * n)
                    .into_iter()
                    .flatten()
                {
                    s.reannounce(&self.pool);
                    s.restart_options(announce);
                }
                dom.stale = !dom.active;
                dom.active = false;
                at = now + self.cfg.template_refresh;
                dom.refresh_at = Some(at);
            }
            next = Some(next.map_or(at, |t| t.min(at)));
        }
        self.next_refresh = next;
    }

    /// Every record with a serial ≤ the result has been written to every collector's socket
    /// (or dropped as unsendable). `Serial(0)`: none yet.
    pub fn acked_through(&self) -> Serial {
        let open = self.sessions.iter().map(|s| s.min_serial(&self.pool));
        let queued = self
            .outboxes
            .iter()
            .flat_map(|o| o.queue.iter())
            .filter_map(|&id| self.pool.meta(id))
            .map(|m| m.min_serial);
        let low = open.chain(queued).fold(self.next_serial, u64::min);
        Serial(low - 1)
    }

    /// Nothing open, queued, in flight or owed: everything pushed has been written.
    pub fn is_drained(&self) -> bool {
        self.sessions.iter().all(|s| s.open.is_none())
            && self.outboxes.iter().all(|o| o.queue.is_empty())
            && !self.has_pending_options()
    }

    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// The configuration in use.
    pub fn config(&self) -> &ExportConfig {
        &self.cfg
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_batch;
