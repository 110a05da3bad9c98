//! `IfIndexTable`: a domain's synthetic ifIndex → position in its interface list, looked up for
//! every exported record (to name new ENIs in options records).
//!
//! Open addressing with linear probing in a power-of-two table kept at most half full. The
//! keys are already hashes (FNV-1a of the ENI id, `ipfix::synthetic_if_index`), so their low
//! bits pick the slot directly, and they are never 0, which marks an empty slot: a lookup is
//! one or two loads and compares. (A `HashMap` cost more than the rest of the export push.)

/// Slots of the first table; it doubles when it would be more than half full.
const MIN_SLOTS: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct IfIndexTable {
    /// `(ifIndex, position)`, `(0, _)` for an empty slot; empty or a power of two long.
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl IfIndexTable {
    /// The position stored for `index`.
    #[inline]
    pub fn get(&self, index: u32) -> Option<usize> {
        if index == 0 || self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = index as usize & mask;
        // At most half full: an empty slot ends every probe sequence.
        loop {
            match self.slots.get(i) {
                Some(&(k, at)) if k == index => return Some(at as usize),
                Some(&(0, _)) | None => return None,
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// Stores `at` for `index` (replacing what it had). Index 0 and positions beyond `u32`
    /// are not stored (ifIndexes are never 0; lists are bounded far below).
    pub fn insert(&mut self, index: u32, at: usize) {
        let Ok(at) = u32::try_from(at) else { return };
        if index == 0 {
            return;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = index as usize & mask;
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.0 == 0 {
                *slot = (index, at);
                self.len += 1;
                return;
            }
            if slot.0 == index {
                slot.1 = at;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    pub fn clear(&mut self) {
        self.slots.fill((0, 0));
        self.len = 0;
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![(0, 0); size]);
        self.len = 0;
        for (k, at) in old {
            if k != 0 {
                self.insert(k, at as usize);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Against a `HashMap` on keys that share their low bits (long probe runs), across growth
    /// and clears.
    #[test]
    fn behaves_like_a_map() {
        let mut t = IfIndexTable::default();
        let mut m = HashMap::new();
        let mut x: u32 = 12345;
        for round in 0..3 {
            for n in 0..2000usize {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                // Every third key collides in its low 8 bits with the others of its kind.
                let key = if n % 3 == 0 { (x & !0xff) | 0x80 } else { x };
                t.insert(key, n);
                if key != 0 {
                    m.insert(key, n);
                }
            }
            for (&k, &v) in &m {
                assert_eq!(t.get(k), Some(v), "round {round} key {k}");
            }
            assert_eq!(t.get(0), None);
            assert_eq!(t.len, m.len());
            assert!(t.slots.len() >= 2 * t.len);
            t.clear();
            m.clear();
            assert_eq!(t.get(x), None);
        }
    }
}
