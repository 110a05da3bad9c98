//! Parents before children: which shards exist, and which may be read.
//!
//! A reshard closes a shard and opens children (a split: two children with the same parent; a
//! merge: one child with a `ParentShardId` and an `AdjacentParentShardId`). Records of a key
//! are in the parent up to the reshard and in a child after it, so reading a child before its
//! parents are done would hand them out of order (spec.md §D.5). A child starts only when every
//! parent is finished — read to its end and every batch acknowledged — or no longer listed
//! (trimmed after the retention period: nothing left to read).
//!
//! Shards come from complete ListShards listings (at start and every 60 s) and from the
//! `ChildShards` of a parent's last GetRecords. A shard a complete listing does not name is
//! gone (trimmed); it is forgotten once nothing of it is in flight. Finished shards are kept
//! (and checkpointed) while listed, so their children know they may start after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::shard::{Phase, Shard};

/// One shard of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub parents: Vec<String>,
    pub closed: bool,
}

/// The checkpoint's positions, until the first complete listing says which shards exist.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub seqs: BTreeMap<String, String>,
    pub finished: BTreeSet<String>,
}

impl Restored {
    /// The shard, with its checkpointed state.
    fn take(&mut self, id: &str, parents: Vec<String>, now: Instant) -> Shard {
        let finished = self.finished.remove(id);
        let saved = self.seqs.remove(id);
        if finished {
            Shard::finished(id.to_string(), parents, now)
        } else {
            Shard::new(id.to_string(), parents, saved, now)
        }
    }
}

/// Whether a shard with these parents may be read.
pub fn parents_done(parents: &[String], shards: &BTreeMap<String, Shard>) -> bool {
    parents.iter().all(|p| match shards.get(p) {
        None => true,
        Some(s) => !s.listed || s.is_finished(),
    })
}

/// Blocked shards whose parents are done may start; how many did.
pub fn unblock(shards: &mut BTreeMap<String, Shard>, now: Instant) -> usize {
    let ready: Vec<String> = shards
        .iter()
        .filter(|(_, s)| s.is_blocked() && parents_done(&s.parents, shards))
        .map(|(id, _)| id.clone())
        .collect();
    for id in &ready {
        if let Some(s) = shards.get_mut(id) {
            s.phase = Phase::NeedIterator { at: now };
        }
    }
    ready.len()
}

/// What a complete listing changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added: usize,
    pub removed: usize,
}

/// Applies a complete listing: new shards join (with their checkpointed state), shards it does
/// not name are marked unlisted and forgotten once idle.
pub fn reconcile(
    shards: &mut BTreeMap<String, Shard>,
    listed: Vec<Listed>,
    restored: &mut Restored,
    now: Instant,
) -> Reconciled {
    let mut out = Reconciled::default();
    let names: BTreeSet<&str> = listed.iter().map(|l| l.id.as_str()).collect();
    for s in shards.values_mut() {
        s.listed = names.contains(s.id.as_str());
    }
    drop(names);
    for l in listed {
        match shards.get_mut(&l.id) {
            Some(s) => s.closed |= l.closed,
            None => {
                let mut s = restored.take(&l.id, l.parents, now);
                s.closed = l.closed;
                shards.insert(l.id, s);
                out.added += 1;
            }
        }
    }
    let before = shards.len();
    shards.retain(|_, s| s.listed || !s.is_idle());
    out.removed = before - shards.len();
    // Positions of shards no listing names are of trimmed shards: nothing to resume.
    *restored = Restored::default();
    out
}

/// The successors named by a parent's last GetRecords, if not known yet; how many joined.
pub fn add_children<'a>(
    shards: &mut BTreeMap<String, Shard>,
    children: impl Iterator<Item = (&'a str, Vec<String>)>,
    restored: &mut Restored,
    now: Instant,
) -> usize {
    let mut n = 0;
    for (id, parents) in children {
        if !shards.contains_key(id) {
            shards.insert(id.to_string(), restored.take(id, parents, now));
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)] // a virtual clock starts somewhere
    fn now() -> Instant {
        Instant::now()
    }

    fn listed(id: &str, parents: &[&str], closed: bool) -> Listed {
        Listed {
            id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            closed,
        }
    }

    /// A split (0 → 2, 3), then a merge (2 + 3 → 4): each level waits for the one before.
    #[test]
    fn children_wait_for_every_parent_to_finish() {
        let t = now();
        let mut shards = BTreeMap::new();
        let mut restored = Restored::default();
        let r = reconcile(
            &mut shards,
            vec![
                listed("s0", &[], true),
                listed("s2", &["s0"], true),
                listed("s3", &["s0"], true),
                listed("s4", &["s2", "s3"], false),
            ],
            &mut restored,
            t,
        );
        assert_eq!(
            r,
            Reconciled {
                added: 4,
                removed: 0
            }
        );
        assert_eq!(unblock(&mut shards, t), 1);
        assert!(matches!(shards["s0"].phase, Phase::NeedIterator { .. }));
        assert!(shards["s2"].is_blocked() && shards["s4"].is_blocked());
        // Ended but a batch unacknowledged: not finished, the children wait.
        let s0 = shards.get_mut("s0").expect("s0");
        s0.phase = Phase::Ended;
        s0.pending
            .push_back((Some(crate::export::Serial(3)), "9".into()));
        assert_eq!(unblock(&mut shards, t), 0);
        let s0 = shards.get_mut("s0").expect("s0");
        s0.settle(crate::export::Serial(3));
        assert!(s0.check_finished());
        assert_eq!(unblock(&mut shards, t), 2);
        shards.get_mut("s2").expect("s2").phase = Phase::Finished;
        assert_eq!(unblock(&mut shards, t), 0, "s3 is not finished");
        shards.get_mut("s3").expect("s3").phase = Phase::Finished;
        assert_eq!(unblock(&mut shards, t), 1);
        assert!(matches!(shards["s4"].phase, Phase::NeedIterator { .. }));
    }

    #[test]
    fn a_parent_no_longer_listed_lets_its_child_start_and_is_forgotten() {
        let t = now();
        let mut shards = BTreeMap::new();
        let mut restored = Restored::default();
        reconcile(
            &mut shards,
            vec![listed("s0", &[], true), listed("s1", &["s0"], false)],
            &mut restored,
            t,
        );
        shards.get_mut("s0").expect("s0").phase = Phase::Ready { at: t };
        // The parent is trimmed: gone from the listing.
        let r = reconcile(
            &mut shards,
            vec![listed("s1", &["s0"], false)],
            &mut restored,
            t,
        );
        assert_eq!(
            r,
            Reconciled {
                added: 0,
                removed: 1
            }
        );
        assert_eq!(unblock(&mut shards, t), 1);
    }

    #[test]
    fn restored_state_applies_to_listed_shards_only() {
        let t = now();
        let mut shards = BTreeMap::new();
        let mut restored = Restored::default();
        restored.seqs.insert("s1".into(), "42".into());
        restored.seqs.insert("gone".into(), "7".into());
        restored.finished.insert("s0".into());
        reconcile(
            &mut shards,
            vec![listed("s0", &[], true), listed("s1", &["s0"], false)],
            &mut restored,
            t,
        );
        assert!(shards["s0"].is_finished());
        assert_eq!(shards["s1"].saved.as_deref(), Some("42"));
        assert_eq!(shards["s1"].read.as_deref(), Some("42"));
        assert_eq!(restored, Restored::default());
        assert_eq!(unblock(&mut shards, t), 1);
        let kids = [("s2", vec!["s1".to_string()]), ("s1", Vec::new())];
        assert_eq!(
            add_children(
                &mut shards,
                kids.iter().map(|(id, p)| (*id, p.clone())),
                &mut restored,
                t
            ),
            1
        );
        assert!(shards["s2"].is_blocked());
    }
}
