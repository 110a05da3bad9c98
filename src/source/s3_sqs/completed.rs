//! The S3 objects this input has read to the end and seen acknowledged: a bounded set kept in
//! the checkpoint, so an object that comes again is skipped instead of exported twice.
//!
//! Objects come again for two reasons. S3 delivers event notifications at least once (spec.md
//! §C), so the same `ObjectCreated` can arrive in two messages. And the agent can die between
//! the moment an object's records were acknowledged and the moment its SQS message was deleted;
//! the message is then received again after a restart. The input persists an object's
//! completion *before* it deletes the message (deletes wait for `mark_saved`), so in both cases
//! the object is found here.
//!
//! An object is named by bucket, key and its ETag (or, when the event has none, its
//! sequencer): a rewritten key with new content is a new object. The set keeps a 64-bit
//! FNV-1a hash of that triple rather than the strings, so 10 000 entries are about 200 KB of
//! checkpoint JSON instead of 2 MB of keys; with 10^4 entries a false "already done" has a
//! probability of about 10^8 / 2^64. It is a FIFO: the oldest completion is forgotten first,
//! which only matters for a message redelivered after ten thousand newer objects.

use std::collections::{HashSet, VecDeque};
use std::fmt;

use serde_json::{Value, json};

/// Completed objects remembered: far more than an agent completes in the time a message can
/// stay in flight (S3 writes one object per flow log every 5 minutes, spec.md §A.6).
pub const DEFAULT_COMPLETED_CAPACITY: usize = 10_000;
/// Version of the checkpoint document.
const CHECKPOINT_VERSION: u64 = 1;

/// What names an S3 object for duplicate detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectIdent {
    pub bucket: String,
    /// Decoded key.
    pub key: String,
    /// The event's ETag without quotes, else its sequencer, else empty.
    pub version: String,
    pub hash: u64,
}

impl ObjectIdent {
    pub fn new(
        bucket: &str,
        key: &str,
        etag: Option<&str>,
        sequencer: Option<&str>,
    ) -> ObjectIdent {
        let version = etag
            .map(|e| e.trim_matches('"'))
            .filter(|e| !e.is_empty())
            .or(sequencer)
            .unwrap_or("")
            .to_string();
        let mut h = Fnv1a::new();
        h.write(bucket.as_bytes());
        h.write(&[0]);
        h.write(key.as_bytes());
        h.write(&[0]);
        h.write(version.as_bytes());
        ObjectIdent {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version,
            hash: h.0,
        }
    }
}

/// FNV-1a, 64 bits (Fowler, Noll, Vo): stable across builds and versions, unlike std's hasher.
struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv1a {
        Fnv1a(Fnv1a::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Fnv1a::PRIME);
        }
    }
}

/// A checkpoint document this input cannot read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    NotAnObject,
    Version { found: Option<u64> },
    BadEntry { index: usize },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::NotAnObject => f.write_str("s3 checkpoint is not a JSON object"),
            CheckpointError::Version { found: Some(v) } => write!(
                f,
                "s3 checkpoint version {v} is not {CHECKPOINT_VERSION} (written by another version)"
            ),
            CheckpointError::Version { found: None } => {
                f.write_str("s3 checkpoint has no version number")
            }
            CheckpointError::BadEntry { index } => write!(
                f,
                "s3 checkpoint completed[{index}] is not a 16-digit hex string"
            ),
        }
    }
}

impl std::error::Error for CheckpointError {}

/// A FIFO-bounded set of object hashes. See the module doc.
#[derive(Debug)]
pub struct CompletedSet {
    order: VecDeque<u64>,
    set: HashSet<u64>,
    capacity: usize,
}

impl CompletedSet {
    pub fn new(capacity: usize) -> CompletedSet {
        let capacity = capacity.max(1);
        CompletedSet {
            order: VecDeque::with_capacity(capacity),
            set: HashSet::with_capacity(capacity),
            capacity,
        }
    }

    pub fn contains(&self, hash: u64) -> bool {
        self.set.contains(&hash)
    }

    /// Adds `hash` (forgetting the oldest when full); false if it was there already.
    pub fn insert(&mut self, hash: u64) -> bool {
        if !self.set.insert(hash) {
            return false;
        }
        self.order.push_back(hash);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// `{"version":1,"completed":["<16 hex digits>", …]}`, oldest first.
    pub fn to_json(&self) -> Value {
        let list: Vec<Value> = self
            .order
            .iter()
            .map(|h| Value::String(format!("{h:016x}")))
            .collect();
        json!({ "version": CHECKPOINT_VERSION, "completed": list })
    }

    /// Reads what `to_json` wrote; keeps the newest `capacity` entries.
    pub fn from_json(value: &Value, capacity: usize) -> Result<CompletedSet, CheckpointError> {
        let obj = value.as_object().ok_or(CheckpointError::NotAnObject)?;
        let version = obj.get("version").and_then(Value::as_u64);
        if version != Some(CHECKPOINT_VERSION) {
            return Err(CheckpointError::Version { found: version });
        }
        let mut set = CompletedSet::new(capacity);
        let list = match obj.get("completed") {
            None => return Ok(set),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(CheckpointError::BadEntry { index: 0 }),
        };
        for (index, v) in list.iter().enumerate() {
            let hash = v
                .as_str()
                .filter(|s| s.len() == 16)
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .ok_or(CheckpointError::BadEntry { index })?;
            set.insert(hash);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference test suite (isthe.com/chongo/tech/comp/fnv, "test_fnv.c").
        let hash = |s: &[u8]| {
            let mut h = Fnv1a::new();
            h.write(s);
            h.0
        };
        assert_eq!(hash(b""), 0xcbf29ce484222325);
        assert_eq!(hash(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(hash(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn ident_prefers_the_etag_without_quotes_and_falls_back_to_the_sequencer() {
        let a = ObjectIdent::new("b", "k", Some("\"abc\""), Some("00FF"));
        let b = ObjectIdent::new("b", "k", Some("abc"), None);
        assert_eq!(a.version, "abc");
        assert_eq!(a.hash, b.hash);
        let c = ObjectIdent::new("b", "k", None, Some("00FF"));
        assert_eq!(c.version, "00FF");
        assert_ne!(c.hash, a.hash);
        // The separator keeps ("ab","c") and ("a","bc") apart.
        let d = ObjectIdent::new("ab", "c", None, None);
        let e = ObjectIdent::new("a", "bc", None, None);
        assert_ne!(d.hash, e.hash);
    }

    #[test]
    fn the_set_forgets_the_oldest_first_and_survives_json() {
        let mut s = CompletedSet::new(3);
        for h in [1, 2, 3, 2, 4] {
            s.insert(h);
        }
        assert_eq!(s.len(), 3);
        assert!(!s.contains(1));
        assert!(s.contains(2) && s.contains(3) && s.contains(4));
        let json = s.to_json();
        assert_eq!(
            json,
            json!({"version": 1, "completed": ["0000000000000002", "0000000000000003", "0000000000000004"]})
        );
        let back = CompletedSet::from_json(&json, 2).expect("reads");
        assert_eq!(back.len(), 2);
        assert!(back.contains(3) && back.contains(4) && !back.contains(2));
    }

    #[test]
    fn a_foreign_document_is_refused_with_a_reason() {
        assert_eq!(
            CompletedSet::from_json(&json!([1]), 5).unwrap_err(),
            CheckpointError::NotAnObject
        );
        assert_eq!(
            CompletedSet::from_json(&json!({"version": 2}), 5).unwrap_err(),
            CheckpointError::Version { found: Some(2) }
        );
        assert_eq!(
            CompletedSet::from_json(&json!({"version": 1, "completed": ["xyz"]}), 5).unwrap_err(),
            CheckpointError::BadEntry { index: 0 }
        );
    }
}
