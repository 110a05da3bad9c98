//! One (collector, observation domain) session: its sequence number, the templates it has
//! announced, and the message it is filling.
//!
//! ```text
//!   Idle ──write (takes a pool buffer)──► Filling ──write that does not fit──► close ─┐
//!    ▲                                       │  └──close (idle flush, flush, full)───┤
//!    └───────────────────────────────────────┴◄── message queued for the collector ◄─┘
//! ```
//!
//! A record is written with its template in front when the session has not announced that
//! template since the last refresh or reconnect (a Template Set before the Data Set, same
//! message). If the pair does not fit, the message is closed and the pair goes into a fresh
//! one; if it does not fit an empty message either, the record is too large and dropped.
//! The sequence number counts every data record — flow and options — written to this
//! session; a message carries the count of those written before it (RFC 7011 §3.1).

use std::collections::VecDeque;
use std::time::Instant;

use super::outbox::{BufId, Pool};
use crate::ipfix::template::{Template, TemplateIdx, TemplateSet};
use crate::ipfix::writer::MessageState;

/// What kind of data record is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A flow record, with its push serial (for delivery tracking).
    Flow { serial: u64 },
    /// An options record (domain or interface name).
    Options,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Written,
    /// Does not fit even in an empty message.
    TooLarge,
    /// Does not fit in the open message and `may_open` was false (or no message is open).
    NoRoom,
    /// A new message was needed and the pool is empty.
    NoBuffer,
}

#[derive(Debug)]
pub(crate) struct Session {
    pub collector: usize,
    pub domain: usize,
    pub domain_id: u32,
    /// Data records written so far (mod 2^32).
    pub seq: u32,
    /// Templates written inline since the last refresh / reconnect.
    pub announced: TemplateSet,
    /// The domain-name options record is due.
    pub domain_name_pending: bool,
    /// Interfaces of the domain's list already named in this session.
    pub iface_cursor: usize,
    pub open: Option<BufId>,
    /// Export times never go backwards within a session (RFC 7011 §8.2 orders templates and
    /// the data that uses them by export time).
    last_export_time: u32,
}

impl Session {
    pub fn new(collector: usize, domain: usize, domain_id: u32) -> Session {
        Session {
            collector,
            domain,
            domain_id,
            seq: 0,
            announced: TemplateSet::default(),
            domain_name_pending: false,
            iface_cursor: 0,
            open: None,
            last_export_time: 0,
        }
    }

    /// Writes one encoded record of template `t` (index `idx`). `may_open`: the session may
    /// close its message and start a new one (flow records); options records only fill the
    /// room left in the open message.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn write(
        &mut self,
        pool: &mut Pool,
        queue: &mut VecDeque<BufId>,
        t: &Template,
        idx: TemplateIdx,
        record: &[u8],
        item: Item,
        may_open: bool,
        now: Instant,
        export_time: u32,
    ) -> Outcome {
        // Up to three messages: the open one (full: closed), then — when a template and its
        // record do not fit together — one carrying the template alone, then the record's.
        for _ in 0..3 {
            let id = match self.open {
                Some(id) => id,
                None if !may_open => return Outcome::NoRoom,
                None => match self.start(pool, now) {
                    Some(id) => id,
                    None => return Outcome::NoBuffer,
                },
            };
            let Some((buf, meta)) = pool.parts_mut(id) else {
                return Outcome::NoBuffer;
            };
            let Some(mut st) = meta.state else {
                return Outcome::NoBuffer;
            };
            let need_template = !self.announced.contains(idx);
            // `st` is a copy, so a failed write leaves the message as it was; but `st` itself
            // may have taken the template before the record failed: ask now.
            let was_empty = st.is_empty();
            let written = (if need_template {
                st.write_template(buf, t)
            } else {
                Ok(())
            })
            .and_then(|()| st.write_record(buf, t, record));
            if written.is_ok() {
                meta.state = Some(st);
                meta.used.insert(idx);
                if need_template {
                    meta.defined.insert(idx);
                    self.announced.insert(idx);
                }
                match item {
                    Item::Flow { serial } => {
                        meta.flow_records += 1;
                        meta.min_serial = meta.min_serial.min(serial);
                    }
                    Item::Options => meta.options_records += 1,
                }
                self.seq = self.seq.wrapping_add(1);
                return Outcome::Written;
            }
            if was_empty {
                if !need_template {
                    return Outcome::TooLarge;
                }
                // The record may fit without its template: send the template in a message of
                // its own (RFC 7011 §8 allows it before the data), then the record in the next.
                let Some(mut alone) = meta.state else {
                    return Outcome::NoBuffer;
                };
                if alone.write_template(buf, t).is_err() {
                    return Outcome::TooLarge;
                }
                meta.state = Some(alone);
                meta.defined.insert(idx);
                self.announced.insert(idx);
                if !may_open {
                    return Outcome::NoRoom;
                }
                self.close(pool, queue, export_time);
                continue;
            }
            if !may_open {
                return Outcome::NoRoom;
            }
            self.close(pool, queue, export_time);
        }
        Outcome::TooLarge
    }

    fn start(&mut self, pool: &mut Pool, now: Instant) -> Option<BufId> {
        let id = pool.alloc()?;
        let (buf, meta) = pool.parts_mut(id)?;
        let st = MessageState::begin(buf, self.domain_id, self.seq).ok()?;
        meta.state = Some(st);
        meta.collector = self.collector;
        meta.domain = self.domain;
        meta.domain_id = self.domain_id;
        meta.sequence = self.seq;
        meta.opened_at = Some(now);
        self.open = Some(id);
        Some(id)
    }

    /// When the open message was started.
    pub fn opened_at(&self, pool: &Pool) -> Option<Instant> {
        pool.meta(self.open?)?.opened_at
    }

    /// The smallest flow serial in the open message (`u64::MAX` if none).
    pub fn min_serial(&self, pool: &Pool) -> u64 {
        self.open
            .and_then(|id| pool.meta(id))
            .map_or(u64::MAX, |m| m.min_serial)
    }

    /// Finishes the open message and queues it (an empty one goes back to the pool).
    pub fn close(&mut self, pool: &mut Pool, queue: &mut VecDeque<BufId>, export_time: u32) {
        let Some(id) = self.open.take() else { return };
        let time = export_time.max(self.last_export_time);
        let queued = match pool.parts_mut(id) {
            Some((buf, meta)) => match meta.state.take() {
                Some(mut st) if !st.is_empty() => {
                    meta.len = st.finish(buf, time);
                    meta.export_time = time;
                    true
                }
                _ => false,
            },
            None => false,
        };
        if queued {
            self.last_export_time = time;
            queue.push_back(id);
        } else {
            pool.release(id);
        }
    }

    /// Templates must be announced again (template refresh, new connection). Templates
    /// defined in the open message go out with it, so they stay announced.
    pub fn reannounce(&mut self, pool: &Pool) {
        match self.open.and_then(|id| pool.meta(id)) {
            Some(m) => self.announced.copy_from(&m.defined),
            None => self.announced.clear(),
        }
    }

    /// Options records are due again from the start: the domain's name (if it has one) and
    /// every interface in the domain's list.
    pub fn restart_options(&mut self, name: bool) {
        self.domain_name_pending = name;
        self.iface_cursor = 0;
    }
}
