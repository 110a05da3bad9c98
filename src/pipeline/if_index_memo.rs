//! `IfIndexMemo`: remembers `synthetic_if_index` of recently seen ENI ids.
//!
//! The synthetic ifIndex is FNV-1a of the ENI id, byte after byte, each step a multiply that
//! waits for the previous one: for a 21-byte `eni-…` id that chain is most of a record's
//! mapping time. A file holds few ENIs (hundreds), so the direct path looks the id up in a
//! small direct-mapped table first — a multiply-free index from the id's words, a compare of
//! at most three words — and hashes only on a miss. The table only memoizes a pure function:
//! a hit requires the same bytes, so it returns exactly what `synthetic_if_index` would.

use crate::ipfix::synthetic_if_index;

/// Table slots (a power of two): 32 KiB, so the few hundred ENIs of a busy file mostly keep
/// their own slot.
const SLOTS: usize = 1024;
/// Longest id kept (ENI ids are 21 bytes, `eni-` + 17 hex digits).
const MAX_KEY: usize = 24;

#[derive(Clone, Copy, Default)]
struct Slot {
    /// The id's bytes, zero-padded, as little-endian words; `len` 0 marks an empty slot.
    words: [u64; 3],
    len: u8,
    index: u32,
}

pub struct IfIndexMemo {
    slots: Box<[Slot]>,
}

impl Default for IfIndexMemo {
    fn default() -> IfIndexMemo {
        IfIndexMemo {
            slots: vec![Slot::default(); SLOTS].into_boxed_slice(),
        }
    }
}

impl IfIndexMemo {
    /// `synthetic_if_index(eni)`.
    #[inline]
    pub fn get(&mut self, eni: &[u8]) -> u32 {
        let len = eni.len();
        if len == 0 || len > MAX_KEY {
            return synthetic_if_index(eni);
        }
        let words = words(eni);
        // The ids differ mostly in their last hex digits (the second and third words).
        let mix = words[1] ^ words[2].rotate_left(29) ^ (words[0] >> 32);
        let at = (mix ^ (mix >> 17) ^ (mix >> 37)) as usize % SLOTS;
        let Some(slot) = self.slots.get_mut(at) else {
            return synthetic_if_index(eni);
        };
        if usize::from(slot.len) == len && slot.words == words {
            return slot.index;
        }
        let index = synthetic_if_index(eni);
        *slot = Slot {
            words,
            len: len as u8,
            index,
        };
        index
    }
}

/// Up to `MAX_KEY` bytes as three zero-padded little-endian words.
#[inline(always)]
fn words(id: &[u8]) -> [u64; 3] {
    let mut w = [0u64; 3];
    for (word, chunk) in w.iter_mut().zip(id.chunks(8)) {
        *word = match <[u8; 8]>::try_from(chunk) {
            Ok(b) => u64::from_le_bytes(b),
            Err(_) => {
                let mut b = [0u8; 8];
                b.iter_mut().zip(chunk).for_each(|(d, s)| *d = *s);
                u64::from_le_bytes(b)
            }
        };
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the order and however ids collide in the table, the memo answers what the
    /// hash answers: ids of every length up to and past the longest kept, ids differing only
    /// in a zero byte (padding must not make them equal), and many ids sharing slots.
    #[test]
    fn answers_as_the_hash_does() {
        let mut memo = IfIndexMemo::default();
        let mut ids: Vec<Vec<u8>> = (0..2000)
            .map(|i| format!("eni-{:017x}", i * 7919).into_bytes())
            .collect();
        ids.extend((0..=30).map(|n| vec![b'a'; n]));
        ids.push(b"eni-0\0".to_vec());
        ids.push(b"eni-0".to_vec());
        for round in 0..3 {
            for id in ids.iter().chain(ids.iter().rev()).step_by(round + 1) {
                assert_eq!(memo.get(id), synthetic_if_index(id), "{id:?}");
            }
        }
    }
}
