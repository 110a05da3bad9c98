//! The fixed pool of message buffers, and each collector's queue of finished messages.
//!
//! A buffer's life:
//!
//! ```text
//!   Free ──alloc──► Open (a session writes records) ──close──► Queued (collector's FIFO)
//!    ▲                 └──close while empty──► Free                  │ next() / next_batch()
//!    │                                                               ▼
//!    └──────────────────────── sent() ◄──────────────────────── InFlight
//!                      (reconnect(): InFlight → Queued again, resent whole)
//! ```
//!
//! The messages in flight are always a prefix of the queue (or the control message alone):
//! `next()` hands out the head, `next_batch()` also the messages behind it (UDP `sendmmsg`),
//! and `sent()` confirms the oldest. A batch stops before a message that uses a template the
//! connection has not been sent yet, so that message goes out as a head, after its templates.
//!
//! Before a queued message goes out, the outbox checks that the connection has seen every
//! template the message uses but does not define. Over UDP that always holds (templates are
//! written inline, before the data, in FIFO order). After a TCP reconnect it does not: the
//! outbox first sends a template-only message from its own control buffer, with the
//! message's sequence number and export time (templates don't count in the sequence).

use std::collections::VecDeque;
use std::time::Instant;

use super::CollectorStats;
use crate::ipfix::template::{TemplateCache, TemplateIdx, TemplateSet};
use crate::ipfix::writer::MessageState;

pub(crate) type BufId = usize;

/// Bookkeeping of one buffer.
#[derive(Debug)]
pub(crate) struct Meta {
    pub collector: usize,
    /// Index into the exporter's domains, and the ODID.
    pub domain: usize,
    pub domain_id: u32,
    /// While open: the writer's state. After close: `len`.
    pub state: Option<MessageState>,
    pub len: usize,
    pub sequence: u32,
    pub export_time: u32,
    pub opened_at: Option<Instant>,
    /// Smallest flow-record serial in the message; `u64::MAX` if none.
    pub min_serial: u64,
    pub flow_records: u32,
    pub options_records: u32,
    /// Templates whose records are in the message, and templates it defines.
    pub used: TemplateSet,
    pub defined: TemplateSet,
}

/// The buffers, allocated once.
#[derive(Debug)]
pub(crate) struct Pool {
    bufs: Vec<Box<[u8]>>,
    meta: Vec<Meta>,
    free: Vec<BufId>,
}

impl Pool {
    pub fn new(count: usize, size: usize) -> Pool {
        let meta = (0..count)
            .map(|_| Meta {
                collector: 0,
                domain: 0,
                domain_id: 0,
                state: None,
                len: 0,
                sequence: 0,
                export_time: 0,
                opened_at: None,
                min_serial: u64::MAX,
                flow_records: 0,
                options_records: 0,
                used: TemplateSet::default(),
                defined: TemplateSet::default(),
            })
            .collect();
        Pool {
            bufs: (0..count)
                .map(|_| vec![0u8; size].into_boxed_slice())
                .collect(),
            meta,
            free: (0..count).rev().collect(),
        }
    }

    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// A free buffer, its metadata reset for a new message.
    pub fn alloc(&mut self) -> Option<BufId> {
        let id = self.free.pop()?;
        if let Some(m) = self.meta.get_mut(id) {
            m.state = None;
            m.len = 0;
            m.opened_at = None;
            m.min_serial = u64::MAX;
            m.flow_records = 0;
            m.options_records = 0;
            m.used.clear();
            m.defined.clear();
        }
        Some(id)
    }

    pub fn release(&mut self, id: BufId) {
        self.free.push(id);
    }

    pub fn meta(&self, id: BufId) -> Option<&Meta> {
        self.meta.get(id)
    }

    /// The buffer and its metadata, mutably.
    pub fn parts_mut(&mut self, id: BufId) -> Option<(&mut [u8], &mut Meta)> {
        Some((self.bufs.get_mut(id)?, self.meta.get_mut(id)?))
    }

    fn bytes(&self, id: BufId) -> &[u8] {
        let len = self.meta.get(id).map_or(0, |m| m.len);
        self.bufs.get(id).and_then(|b| b.get(..len)).unwrap_or(&[])
    }
}

/// What `next()` / `next_batch()` handed out and `sent()` has not confirmed yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InFlight {
    /// The first `n` messages of the queue (`n ≥ 1`).
    Messages(usize),
    /// A template-only message from the control buffer, for the head's domain.
    Templates,
}

/// One collector's side: the queue, what is in flight, what its connection has seen.
#[derive(Debug)]
pub(crate) struct Outbox {
    pub queue: VecDeque<BufId>,
    pub in_flight: Option<InFlight>,
    control: Box<[u8]>,
    control_len: usize,
    control_templates: Vec<TemplateIdx>,
    /// Per domain index: templates sent on the current connection.
    sent: Vec<TemplateSet>,
    pub stats: CollectorStats,
}

impl Outbox {
    pub fn new(queue_capacity: usize, max_packet_size: usize) -> Outbox {
        Outbox {
            queue: VecDeque::with_capacity(queue_capacity),
            in_flight: None,
            control: vec![0u8; max_packet_size].into_boxed_slice(),
            control_len: 0,
            control_templates: Vec::new(),
            sent: Vec::new(),
            stats: CollectorStats::default(),
        }
    }

    /// Hands out the next message unless one is already in flight: (ODID, bytes).
    pub fn next<'a>(
        &'a mut self,
        pool: &'a Pool,
        templates: &TemplateCache,
    ) -> Option<(u32, &'a [u8])> {
        if self.in_flight.is_some() {
            return None;
        }
        let head = *self.queue.front()?;
        let meta = pool.meta(head)?;
        if self.sent.len() <= meta.domain {
            self.sent.resize_with(meta.domain + 1, TemplateSet::default);
        }
        let sent = self.sent.get(meta.domain)?;
        self.control_templates.clear();
        self.control_templates
            .extend(meta.used.missing_from(&meta.defined, sent));
        if self.control_templates.is_empty() {
            self.in_flight = Some(InFlight::Messages(1));
            return Some((meta.domain_id, pool.bytes(head)));
        }
        // The connection lacks templates this message needs: send them first, as many as fit;
        // the rest follow in further template-only messages before the head goes out.
        let buf = &mut self.control[..];
        let mut st = MessageState::begin(buf, meta.domain_id, meta.sequence).ok()?;
        let mut n = 0;
        for &i in &self.control_templates {
            let Some(t) = templates.get(i) else { continue };
            if st.write_template(buf, t).is_err() {
                break;
            }
            n += 1;
        }
        if n == 0 {
            // Cannot happen (each template once fit in a message of this size); never stall.
            self.in_flight = Some(InFlight::Messages(1));
            return Some((meta.domain_id, pool.bytes(head)));
        }
        self.control_templates.truncate(n);
        self.control_len = st.finish(buf, meta.export_time);
        self.in_flight = Some(InFlight::Templates);
        Some((
            meta.domain_id,
            self.control.get(..self.control_len).unwrap_or(&[]),
        ))
    }

    /// Hands out up to `max` messages in all (UDP batches): the head as `next()` does when
    /// nothing is in flight, then the queued messages behind those in flight, in order, as long
    /// as the connection has been sent every template they use but do not define (a message
    /// that needs templates waits to be the head). A template-only message goes alone.
    /// Returns how many messages are in flight.
    pub fn next_batch(&mut self, pool: &Pool, templates: &TemplateCache, max: usize) -> usize {
        if self.in_flight.is_none() && self.next(pool, templates).is_none() {
            return 0;
        }
        let mut n = match self.in_flight {
            Some(InFlight::Messages(n)) => n,
            Some(InFlight::Templates) => return 1,
            None => return 0,
        };
        while n < max {
            let Some(meta) = self.queue.get(n).and_then(|&id| pool.meta(id)) else {
                break;
            };
            let none = TemplateSet::default();
            let sent = self.sent.get(meta.domain).unwrap_or(&none);
            if meta.used.missing_from(&meta.defined, sent).next().is_some() {
                break;
            }
            n += 1;
        }
        self.in_flight = Some(InFlight::Messages(n));
        n
    }

    /// The `i`-th message in flight, oldest first (to resume a partial TCP write or retry a
    /// send that would block, or to write a batch): (ODID, bytes).
    pub fn in_flight_at<'a>(&'a self, pool: &'a Pool, i: usize) -> Option<(u32, &'a [u8])> {
        match self.in_flight? {
            InFlight::Messages(n) if i < n => {
                let id = *self.queue.get(i)?;
                Some((pool.meta(id)?.domain_id, pool.bytes(id)))
            }
            InFlight::Templates if i == 0 => {
                let head = *self.queue.front()?;
                Some((
                    pool.meta(head)?.domain_id,
                    self.control.get(..self.control_len).unwrap_or(&[]),
                ))
            }
            _ => None,
        }
    }

    /// The oldest in-flight message is written. Returns the buffer to free, if it was a queued
    /// one.
    pub fn sent(&mut self, pool: &Pool) -> Option<BufId> {
        let what = self.in_flight.take()?;
        if let InFlight::Messages(n) = what
            && n > 1
        {
            self.in_flight = Some(InFlight::Messages(n - 1));
        }
        let head = *self.queue.front()?;
        let meta = pool.meta(head)?;
        if self.sent.len() <= meta.domain {
            self.sent.resize_with(meta.domain + 1, TemplateSet::default);
        }
        let sent = self.sent.get_mut(meta.domain)?;
        self.stats.messages += 1;
        match what {
            InFlight::Templates => {
                self.stats.bytes += self.control_len as u64;
                self.control_templates.iter().for_each(|&i| sent.insert(i));
                None
            }
            InFlight::Messages(_) => {
                sent.union_with(&meta.defined);
                self.stats.bytes += meta.len as u64;
                self.stats.flow_records += u64::from(meta.flow_records);
                self.stats.options_records += u64::from(meta.options_records);
                self.queue.pop_front()
            }
        }
    }

    /// A new connection: it has seen no template, and what was in flight goes again whole.
    pub fn reconnect(&mut self) {
        self.in_flight = None;
        self.sent.iter_mut().for_each(TemplateSet::clear);
    }
}
