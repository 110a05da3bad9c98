//! Per observation domain (one per VPC): what collectors are told about it, and the ENIs whose
//! synthetic ifIndexes it names in options records.
//!
//! The interface list only grows between refreshes, so each session names interfaces by
//! walking it with a cursor (`Session::iface_cursor`): a new ENI is appended once and every
//! collector session picks it up. At each template refresh the list is pruned to the ENIs seen
//! since the previous refresh and every cursor restarts, which re-announces the live ones and
//! bounds the list by the ENIs active in one refresh period (at most `MAX_INTERFACES`).

use std::time::Instant;

use super::if_index_table::IfIndexTable;
use super::{DomainId, DomainInfo};

/// Interfaces named per domain and refresh period. Bounds memory when ENIs churn (Lambda,
/// ECS tasks); ENIs beyond it are still exported, only not named by an options record.
pub const MAX_INTERFACES: usize = 16_384;

#[derive(Debug)]
pub(crate) struct Iface {
    pub index: u32,
    pub name: String,
    seen: bool,
    collision_logged: bool,
}

/// Result of [`Domain::note_interface`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Noted {
    Known,
    New,
    /// Another ENI already has this ifIndex (31-bit hash collision): the first one keeps the
    /// name.
    Collision,
    /// The list is full.
    Full,
}

#[derive(Debug)]
pub(crate) struct Domain {
    pub id: DomainId,
    pub info: DomainInfo,
    pub ifaces: Vec<Iface>,
    /// ifIndex → position in `ifaces`.
    pos: IfIndexTable,
    pub refresh_at: Option<Instant>,
    /// Records arrived since the last refresh.
    pub active: bool,
    /// Idle through the last refresh: its name is announced again with its next record.
    pub stale: bool,
}

impl Domain {
    pub fn new(id: DomainId, info: DomainInfo) -> Domain {
        Domain {
            id,
            info,
            ifaces: Vec::new(),
            pos: IfIndexTable::default(),
            refresh_at: None,
            active: false,
            stale: false,
        }
    }

    /// Records that ENI `name` (UTF-8) has ifIndex `index`.
    #[inline]
    pub fn note_interface(&mut self, index: u32, name: &[u8]) -> Noted {
        if let Some(at) = self.pos.get(index) {
            let Some(f) = self.ifaces.get_mut(at) else {
                return Noted::Known;
            };
            f.seen = true;
            if f.name.as_bytes() == name {
                return Noted::Known;
            }
            if f.collision_logged {
                return Noted::Collision;
            }
            f.collision_logged = true;
            log::warn!(
                "synthetic ifIndex collision domain={} if_index={index} kept={} other={}",
                self.id.0,
                f.name,
                String::from_utf8_lossy(name)
            );
            return Noted::Collision;
        }
        if self.ifaces.len() >= MAX_INTERFACES {
            return Noted::Full;
        }
        let at = self.ifaces.len();
        self.ifaces.push(Iface {
            index,
            name: String::from_utf8_lossy(name).into_owned(),
            seen: true,
            collision_logged: false,
        });
        self.pos.insert(index, at);
        Noted::New
    }

    /// Keeps the interfaces seen since the last prune and clears their marks.
    pub fn prune(&mut self) {
        self.ifaces.retain(|f| f.seen);
        self.ifaces.iter_mut().for_each(|f| f.seen = false);
        self.pos.clear();
        for (i, f) in self.ifaces.iter().enumerate() {
            self.pos.insert(f.index, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_prunes_and_detects_collisions() {
        let mut d = Domain::new(DomainId(1), DomainInfo::default());
        assert_eq!(d.note_interface(5, b"eni-a"), Noted::New);
        assert_eq!(d.note_interface(5, b"eni-a"), Noted::Known);
        assert_eq!(d.note_interface(6, b"eni-b"), Noted::New);
        assert_eq!(d.note_interface(5, b"eni-z"), Noted::Collision);
        assert_eq!(d.ifaces[0].name, "eni-a", "the first name is kept");
        d.prune(); // both seen
        assert_eq!(d.ifaces.len(), 2);
        assert_eq!(d.note_interface(6, b"eni-b"), Noted::Known);
        d.prune(); // only eni-b seen in this period
        assert_eq!(
            d.ifaces.iter().map(|f| f.index).collect::<Vec<_>>(),
            vec![6]
        );
        assert_eq!(d.note_interface(5, b"eni-a"), Noted::New);
        assert_eq!(d.note_interface(6, b"eni-b"), Noted::Known);
    }

    #[test]
    fn list_is_bounded() {
        let mut d = Domain::new(DomainId(1), DomainInfo::default());
        for i in 0..MAX_INTERFACES as u32 {
            assert_eq!(d.note_interface(i + 1, b"eni"), Noted::New);
        }
        assert_eq!(d.note_interface(0, b"eni-x"), Noted::Full);
    }
}
