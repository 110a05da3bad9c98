//! One GetRecords batch, copied out of the response body, and handing its log events to the
//! pipeline.
//!
//! The body is parsed once: each record's `Data` is base64-decoded into one buffer and its
//! sequence number into another (both pooled by the input and reused), so the batch can wait
//! for export (backpressure) without holding the JSON body. A record is then decoded by the
//! input's one [`CwlDecoder`] (gzip → subscription JSON) when its turn comes; if export stops
//! taking lines in the middle of it, the batch remembers the record and the event, and decodes
//! that record again when it resumes (only that record).
//!
//! Each `DATA_MESSAGE` log event is one flow-log line; `CONTROL_MESSAGE` documents are counted
//! and skipped; a record that does not decode is counted and logged with its sequence number.
//! Lines are matched to their log group's formats ([`LayoutCache`]); a record whose group's
//! formats are not known yet waits for them.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::time::Instant;

use crate::aws::api::base64::Base64Error;
use crate::aws::api::kinesis::Record;
use crate::export::Serial;
use crate::flowlog::layout_set::Choice;
use crate::pipeline::map::Enrichment;
use crate::pipeline::{LineOutcome, SourceLine};
use crate::source::Ctx;
use crate::source::cwl_payload::CwlDecoder;

use super::Counters;
use super::layouts::LayoutCache;

/// What comes after the batch: the next GetRecords (paced), or the shard's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    Next(Instant),
    End,
}

#[derive(Clone, Debug)]
struct Rec {
    /// In `data`; `None` when `Data` was not valid base64.
    data: Option<Range<usize>>,
    seq: Range<usize>,
}

/// One batch. See the module doc.
#[derive(Debug)]
pub struct Batch {
    data: Vec<u8>,
    seqs: String,
    records: Vec<Rec>,
    /// The record to hand out next, and how many of its events were handed already.
    pub next: usize,
    pub event: usize,
    /// Serial of the batch's last exported record.
    pub last_serial: Option<Serial>,
    pub then: Then,
}

impl Batch {
    pub fn new(now: Instant) -> Batch {
        Batch {
            data: Vec::new(),
            seqs: String::new(),
            records: Vec::new(),
            next: 0,
            event: 0,
            last_serial: None,
            then: Then::Next(now),
        }
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self, then: Then) {
        self.data.clear();
        self.seqs.clear();
        self.records.clear();
        self.next = 0;
        self.event = 0;
        self.last_serial = None;
        self.then = then;
    }

    /// Copies one record in (its data base64-decoded).
    pub fn push(&mut self, r: &Record<'_>) -> Result<(), Base64Error> {
        let start = self.seqs.len();
        self.seqs.push_str(&r.sequence_number);
        let seq = start..self.seqs.len();
        let at = self.data.len();
        let decoded = r.decode_data(&mut self.data);
        let data = match decoded {
            Ok(n) => Some(at..at + n),
            Err(_) => {
                self.data.truncate(at);
                None
            }
        };
        self.records.push(Rec { data, seq });
        decoded.map(|_| ())
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes of record data (for the 2 MiB/s pacing).
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    fn seq(&self, i: usize) -> &str {
        self.records
            .get(i)
            .and_then(|r| self.seqs.get(r.seq.clone()))
            .unwrap_or("")
    }

    /// Sequence number of the last record.
    pub fn last_seq(&self) -> Option<&str> {
        let n = self.records.len().checked_sub(1)?;
        Some(self.seq(n))
    }
}

/// How far handing a batch out got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fed {
    /// Every record handed.
    Done,
    /// The pipeline refused the next line.
    Full,
    /// Waiting for a log group's formats.
    Layouts,
}

/// Why a line was refused before parsing.
struct NoMatchingFormat(usize);

impl fmt::Display for NoMatchingFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the line fits none of the log group's {} flow-log formats (field count, version)",
            self.0
        )
    }
}

/// What feeding needs besides the batch.
pub struct Feeder<'a> {
    pub decoder: &'a mut CwlDecoder,
    pub layouts: &'a mut LayoutCache,
    pub counters: &'a mut Counters,
    /// Reused buffer for the malformed-line report's source.
    pub source: &'a mut String,
    pub input: &'a str,
    pub shard: &'a str,
    /// Stopping: don't wait for a new read of the formats (a line of no known format is
    /// malformed now).
    pub stopping: bool,
}

/// Hands the batch to the pipeline from where it stopped. See the module doc.
pub fn feed(batch: &mut Batch, f: &mut Feeder<'_>, ctx: &mut Ctx<'_>) -> Fed {
    while let Some(rec) = batch.records.get(batch.next) {
        let seq = batch.seqs.get(rec.seq.clone()).unwrap_or("");
        let Some(data) = rec.data.clone().and_then(|r| batch.data.get(r)) else {
            undecodable(f, seq, &"Data is not valid base64");
            batch.next += 1;
            batch.event = 0;
            continue;
        };
        let payload = match f.decoder.decode(data) {
            Ok(p) => p,
            Err(e) => {
                undecodable(f, seq, &e);
                batch.next += 1;
                batch.event = 0;
                continue;
            }
        };
        // Every group of the record must have its formats before any of its lines goes.
        let mut missing = false;
        for doc in payload.data_messages() {
            missing |= f.layouts.get_or_want(doc.log_group, ctx.now).is_none();
        }
        if missing {
            return Fed::Layouts;
        }
        let mut index = 0;
        for doc in payload.data_messages() {
            let n = doc.events().len();
            if index + n <= batch.event {
                index += n;
                continue;
            }
            f.source.clear();
            let _ = write!(
                f.source,
                "{}/{} record {} {}/{}",
                f.input, f.shard, seq, doc.log_group, doc.log_stream
            );
            for ev in doc.events() {
                if index < batch.event {
                    index += 1;
                    continue;
                }
                if !ctx.pipeline.can_accept(ctx.now) {
                    return Fed::Full;
                }
                let bytes = ev.message.as_bytes();
                let Some(set) = f.layouts.get_or_want(doc.log_group, ctx.now) else {
                    return Fed::Layouts;
                };
                let set_len = set.len();
                let layout = match set.choose(bytes) {
                    Choice::One(l) => Some(l),
                    Choice::Ambiguous(l) => {
                        f.counters.ambiguous += 1;
                        Some(l)
                    }
                    Choice::None => None,
                };
                let number = u64::try_from(index + 1).unwrap_or(u64::MAX);
                let line = SourceLine {
                    source: f.source,
                    number,
                    bytes,
                };
                let outcome = if let Some(l) = layout {
                    ctx.pipeline
                        .handle_line(l, line, &Enrichment::default(), ctx.now, ctx.wall)
                } else if !f.stopping && f.layouts.recheck(doc.log_group, ctx.now) {
                    // Perhaps a flow log created since the formats were read: read them again,
                    // and hand this line out after that.
                    return Fed::Layouts;
                } else {
                    f.counters.unmatched += 1;
                    ctx.pipeline.stats.count_malformed(
                        f.source,
                        number,
                        &NoMatchingFormat(set_len),
                    );
                    LineOutcome::Malformed
                };
                match outcome {
                    LineOutcome::Exported(serial) => {
                        batch.last_serial = Some(serial);
                        f.counters.records_out += 1;
                    }
                    LineOutcome::Counted => {}
                    LineOutcome::Malformed => f.counters.errors += 1,
                }
                f.counters.lines_in += 1;
                index += 1;
                batch.event = index;
            }
        }
        f.counters.control_messages += u64::try_from(payload.control_messages()).unwrap_or(0);
        batch.next += 1;
        batch.event = 0;
    }
    Fed::Done
}

fn undecodable(f: &mut Feeder<'_>, seq: &str, e: &dyn fmt::Display) {
    f.counters.errors += 1;
    f.counters.undecodable += 1;
    log::warn!(
        "kinesis record skipped, not a CloudWatch Logs subscription payload; input={} shard={} sequence={seq} error={e}",
        f.input,
        f.shard
    );
}
