//! One log stream of the polled group (one ENI): where reading stands, the page being handed to
//! the pipeline, and the positions waiting for export to acknowledge them.
//!
//! Three positions, each a [`Position`] (forward token, the `startTime` its chain began with,
//! the newest event timestamp so far):
//! - `read`: where the next GetLogEvents continues (everything before it was handed out);
//! - the positions of pages handed out but not yet acknowledged, oldest first (`pending`);
//! - `saved`: the position after the last acknowledged page, which the checkpoint holds.
//!
//! Pages of one stream are read one after the other, so `pending` is in order and `saved` only
//! moves forward.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::export::Serial;
use crate::source::Tag;

/// A point in a stream. See the module doc.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// `nextForwardToken` of the last page; `None`: no page read yet (or after a restart).
    pub token: Option<String>,
    /// The `startTime` sent with every request of this token chain: tokens belong to the query
    /// they came from (SDK paginators resend the first request's parameters with each token).
    pub start_time: Option<i64>,
    /// The newest event timestamp (epoch ms) up to here.
    pub last_timestamp: Option<i64>,
}

impl Position {
    pub fn is_empty(&self) -> bool {
        *self == Position::default()
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(t) = &self.token {
            m.insert("token".into(), Value::from(t.as_str()));
        }
        if let Some(t) = self.start_time {
            m.insert("start_time".into(), Value::from(t));
        }
        if let Some(t) = self.last_timestamp {
            m.insert("last_timestamp".into(), Value::from(t));
        }
        Value::Object(m)
    }

    /// `None` when `v` is not a position object; unknown keys are ignored.
    pub fn from_json(v: &Value) -> Option<Position> {
        let m = v.as_object()?;
        let int = |k: &str| match m.get(k) {
            None | Some(Value::Null) => Some(None),
            Some(v) => v.as_i64().map(Some),
        };
        let token = match m.get("token") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_str()?.to_string()),
        };
        Some(Position {
            token,
            start_time: int("start_time")?,
            last_timestamp: int("last_timestamp")?,
        })
    }
}

/// One GetLogEvents page's events, copied out of the response body so the page can wait
/// (backpressure) without holding the body. Buffers are pooled by the input and reused.
#[derive(Debug, Default)]
pub struct Page {
    text: Vec<u8>,
    /// (start, end) in `text`, and the event timestamp.
    events: Vec<(usize, usize, i64)>,
    /// The next event to hand to the pipeline.
    pub next: usize,
}

impl Page {
    pub fn clear(&mut self) {
        self.text.clear();
        self.events.clear();
        self.next = 0;
    }

    pub fn push(&mut self, message: &str, timestamp: i64) {
        let start = self.text.len();
        self.text.extend_from_slice(message.as_bytes());
        self.events.push((start, self.text.len(), timestamp));
    }

    /// Event `i`: its message and timestamp.
    pub fn event(&self, i: usize) -> Option<(&[u8], i64)> {
        let &(a, b, ts) = self.events.get(i)?;
        Some((self.text.get(a..b)?, ts))
    }
}

/// What a stream is doing.
#[derive(Debug)]
pub enum Phase {
    /// The next GetLogEvents is due at `at`.
    Waiting { at: Instant },
    /// A GetLogEvents is out.
    InFlight { tag: Tag },
    /// A page is being handed to the pipeline.
    Feeding(Box<Feeding>),
}

/// A page being handed to the pipeline, and where the stream stands after it.
#[derive(Debug)]
pub struct Feeding {
    pub page: Page,
    /// `read` once the whole page is out.
    pub next: Position,
    /// The page's forward token was the one sent: poll again after the request interval.
    pub caught_up: bool,
    /// The serial of the page's last exported record so far.
    pub last_serial: Option<Serial>,
    /// Waiting for the group's formats to be read again (a line matched none).
    pub wants_layouts: bool,
}

/// One log stream. See the module doc.
#[derive(Debug)]
pub struct Stream {
    /// `cwl:GROUP/STREAM`: the source of its lines in malformed-line reports.
    pub source: String,
    pub read: Position,
    pub saved: Position,
    /// Pages handed out, oldest first: the serial of their last exported record (`None`: none
    /// exported, acknowledged with the page before it) and the position after them.
    pub pending: VecDeque<(Option<Serial>, Position)>,
    pub phase: Phase,
    /// Events read in this run: the line number of the next one minus one.
    pub lines: u64,
    /// Failed GetLogEvents in a row (for the backoff).
    pub failures: u32,
    /// Seen by the stream listing in progress.
    pub listed: bool,
}

impl Stream {
    pub fn new(source: String, position: Position, now: Instant) -> Stream {
        Stream {
            source,
            read: position.clone(),
            saved: position,
            pending: VecDeque::new(),
            phase: Phase::Waiting { at: now },
            lines: 0,
            failures: 0,
            listed: true,
        }
    }

    pub fn is_feeding(&self) -> bool {
        matches!(self.phase, Phase::Feeding(_))
    }

    /// The due time of its next request, if it is waiting for one.
    pub fn due(&self) -> Option<Instant> {
        match self.phase {
            Phase::Waiting { at } => Some(at),
            _ => None,
        }
    }

    /// Moves `saved` over every pending page `acked` covers; how many.
    pub fn settle(&mut self, acked: Serial) -> u64 {
        let mut n = 0;
        while let Some((serial, _)) = self.pending.front() {
            if serial.is_some_and(|s| s > acked) {
                break;
            }
            if let Some((_, pos)) = self.pending.pop_front() {
                self.saved = pos;
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_bad_ones_are_refused() {
        let p = Position {
            token: Some("f/00000000000000000000000000000000000000000000000000000002".into()),
            start_time: Some(1_795_717_745_000),
            last_timestamp: Some(1_795_717_740_000),
        };
        assert_eq!(Position::from_json(&p.to_json()), Some(p));
        assert_eq!(
            Position::from_json(&serde_json::json!({})),
            Some(Position::default())
        );
        assert_eq!(Position::from_json(&serde_json::json!({"token": 5})), None);
        assert_eq!(
            Position::from_json(&serde_json::json!({"last_timestamp": "x"})),
            None
        );
        assert_eq!(Position::from_json(&serde_json::json!([1])), None);
    }

    #[test]
    fn settle_moves_saved_in_order() {
        #[allow(clippy::disallowed_methods)] // a virtual clock starts somewhere
        let now = Instant::now();
        let pos = |t: &str| Position {
            token: Some(t.into()),
            ..Position::default()
        };
        let mut s = Stream::new("cwl:g/s".into(), Position::default(), now);
        s.pending.push_back((Some(Serial(5)), pos("a")));
        s.pending.push_back((None, pos("b")));
        s.pending.push_back((Some(Serial(9)), pos("c")));
        assert_eq!(s.settle(Serial(4)), 0);
        assert!(s.saved.is_empty());
        // The page without a record goes with the one before it.
        assert_eq!(s.settle(Serial(8)), 2);
        assert_eq!(s.saved, pos("b"));
        assert_eq!(s.settle(Serial(9)), 1);
        assert_eq!(s.saved, pos("c"));
        assert!(s.pending.is_empty());
    }
}
