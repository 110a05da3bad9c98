//! One S3 object being read: its GetObject calls, the body bytes on their way to the line
//! reader, and the lines on their way to the pipeline — in constant memory, resumable.
//!
//! Each of the input's `concurrency` slots owns, for its whole life, a raw buffer (body bytes
//! the line reader has not taken yet) and a [`LineReader`] (gzip inflater + line buffer). A
//! [`Job`] occupies a slot while one object is read:
//!
//! ```text
//!   Idle{at} ──(at ≤ now) GetObject [Range: bytes=N-, If-Match: ETag]──► Requesting
//!      ▲                                                                    │ 2xx head
//!      │ broken body, 5xx/timeout after retries, no credentials:            ▼
//!      │ same reader, N = bytes received (give up after                 Streaming ── body ended ──► Drained
//!      │ MAX_RETRIES_WITHOUT_PROGRESS tries that brought nothing)         │                        │ last line out
//!      ├─ 412 (object changed) and no record exported yet: reader reset, N = 0                     ▼
//!      └────────────────────────────────────────────────────────────────────┘                  finished
//!   NoSuchKey, AccessDenied, other refusals, 412 after records went out, corrupt gzip,
//!   a bad header line, Parquet ──► failed (the caller logs it with bucket and key)
//! ```
//!
//! Backpressure runs backwards through the same chain: a line is pulled from the reader only
//! when `Pipeline::can_accept`; the reader takes raw bytes only when it has room; and
//! `stream_buffer` offers only the free end of the raw buffer. When the pipeline stops, the raw
//! buffer fills, `stream_buffer` turns empty and the driver stops reading the socket.
//!
//! Resuming feeds the *same* reader, so the inflater continues exactly where the cut happened:
//! no line is handed to the pipeline twice, none is skipped. The first line of an object
//! is its header (spec.md §A.6) and gives the layout; an object without one uses the v2 default.

use std::fmt;
use std::time::{Duration, Instant};

use ureq_proto::http::HeaderMap;

use crate::aws::api::s3::{self, ByteRange, GetObjectInput};
use crate::aws::client::{AwsCallError, CallOptions};
use crate::aws::request::ApiRequest;
use crate::export::Serial;
use crate::flowlog::layout::{Layout, LayoutError};
use crate::flowlog::lines::{LineReader, ReadError};
use crate::pipeline::map::Enrichment;
use crate::pipeline::{LineOutcome, SourceLine};
use crate::source::{Ctx, Tag};

/// Attempts in a row that bring no new byte before an object is given up (each after the
/// AwsClient's own retries): a broken body with progress resumes at once, then 1, 2, 4 s…
pub const MAX_RETRIES_WITHOUT_PROGRESS: u32 = 5;
/// Deadline of one GetObject attempt, body included. A paused pipeline can hold a body for
/// long; when the deadline cuts it the object simply resumes from where it was.
pub const OBJECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Parquet files start (and end) with these 4 bytes (Apache Parquet file format).
const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// Counters the jobs add to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub lines_in: u64,
    pub records_out: u64,
    pub errors: u64,
}

/// Why an object was given up.
#[derive(Debug)]
pub enum ObjectError {
    /// A `.parquet` key, or a body starting with `PAR1`.
    Parquet,
    /// GetObject was refused for good (NoSuchKey, AccessDenied, …).
    Refused(AwsCallError),
    /// The object changed (412 on `If-Match`) after some of its records were exported.
    Changed,
    /// Transient failures with no progress, `attempts` in a row.
    Unreachable { attempts: u32, last: String },
    /// The body is not valid gzip (or ended inside a member).
    Corrupt(ReadError),
    /// The first line looks like a header but does not make a layout.
    Header(LayoutError),
    /// The reader refuses input it has room for (cannot happen with a sound reader).
    Stalled,
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectError::Parquet => f.write_str(
                "unsupported Parquet object; only plain-text (.log.gz) flow-log files are read",
            ),
            ObjectError::Refused(e) => write!(f, "GetObject failed: {e}"),
            ObjectError::Changed => f.write_str(
                "object changed while being read (412 on If-Match) after records were exported",
            ),
            ObjectError::Unreachable { attempts, last } => {
                write!(
                    f,
                    "{attempts} attempts in a row brought no data, last: {last}"
                )
            }
            ObjectError::Corrupt(e) => write!(f, "corrupt object: {e}"),
            ObjectError::Header(e) => write!(f, "bad header line: {e}"),
            ObjectError::Stalled => f.write_str("line reader stalled"),
        }
    }
}

impl std::error::Error for ObjectError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobPhase {
    /// The next GetObject is due at this instant.
    Idle {
        at: Instant,
    },
    /// GetObject sent, head not seen yet.
    Requesting(Tag),
    Streaming(Tag),
    /// The whole body arrived; lines may still be waiting for the pipeline.
    Drained,
}

/// One object in a slot.
#[derive(Debug)]
pub struct Job {
    /// The object's id in the input's table.
    pub obj: u64,
    pub bucket: String,
    pub key: String,
    /// `s3://bucket/key`, for the pipeline's malformed-line report.
    pub source: String,
    /// Quoted ETag: from the first response, else from the event (for `If-Match`).
    pub etag: Option<String>,
    /// From the event, until a response says better.
    pub total_len: Option<u64>,
    pub phase: JobPhase,
    /// Object bytes received so far (all handed to the raw buffer): where a resume starts.
    pub received: u64,
    /// Bytes still to drop from the current body (a server that ignored `Range`).
    skip: u64,
    layout: Option<Layout>,
    first_line_seen: bool,
    eof_fed: bool,
    /// Records exported from this object, and the last one's serial.
    pub exported: u64,
    pub last_serial: Serial,
    /// Failures in a row without progress, and `received` at the last one.
    failures: u32,
    received_at_failure: u64,
}

impl Job {
    pub fn new(
        obj: u64,
        bucket: &str,
        key: &str,
        etag: Option<&str>,
        size: Option<u64>,
        now: Instant,
    ) -> Job {
        Job {
            obj,
            bucket: bucket.to_string(),
            key: key.to_string(),
            source: format!("s3://{bucket}/{key}"),
            etag: etag
                .filter(|e| !e.is_empty())
                .map(|e| format!("\"{}\"", e.trim_matches('"'))),
            total_len: size,
            phase: JobPhase::Idle { at: now },
            received: 0,
            skip: 0,
            layout: None,
            first_line_seen: false,
            eof_fed: false,
            exported: 0,
            last_serial: Serial(0),
            failures: 0,
            received_at_failure: 0,
        }
    }

    /// The GetObject for where the job is: from the start, or the rest pinned to the ETag.
    pub fn request(&self) -> (ApiRequest, CallOptions) {
        let resume = self.received > 0;
        let req = s3::get_object(&GetObjectInput {
            bucket: &self.bucket,
            key: &self.key,
            range: resume.then_some(ByteRange {
                first: self.received,
                last: None,
            }),
            if_match: if resume { self.etag.as_deref() } else { None },
        });
        (
            req,
            CallOptions::streamed().with_timeout(OBJECT_ATTEMPT_TIMEOUT),
        )
    }

    /// The 2xx head of the current call. `Err(reason)` when it does not continue the bytes
    /// we have (the caller drops this body and retries).
    pub fn handle_head(&mut self, status: u16, headers: &HeaderMap) -> Result<(), &'static str> {
        let h = s3::parse_get_object_headers(headers).unwrap_or_default();
        let range = h.content_range;
        match (status, range) {
            (206, Some(r)) if r.first != self.received => return Err("Content-Range mismatch"),
            (206, _) => {}
            // A server that ignored Range sends it all: drop what we already have.
            _ => self.skip = self.received,
        }
        if let Some(total) = range.and_then(|r| r.complete_length) {
            self.total_len = Some(total);
        } else if status == 200
            && let Some(len) = h.content_length
        {
            self.total_len = Some(len);
        }
        if self.received == 0
            && let Some(etag) = h.etag
        {
            self.etag = Some(etag.to_string());
        }
        Ok(())
    }

    /// `n` new body bytes are at `raw[raw_len - n..raw_len]` (the caller already grew
    /// `raw_len`); drops any still to skip. Returns the new `raw_len`.
    pub fn handle_data(&mut self, raw: &mut [u8], raw_len: usize, n: usize) -> usize {
        let start = raw_len.saturating_sub(n);
        let drop = usize::try_from(self.skip).unwrap_or(usize::MAX).min(n);
        if drop > 0 {
            raw.copy_within(start + drop..raw_len, start);
            self.skip -= drop as u64;
        }
        self.received += (n - drop) as u64;
        raw_len - drop
    }

    /// True if the body is known to be shorter than what arrived says it should be.
    pub fn is_short(&self) -> bool {
        self.total_len.is_some_and(|t| self.received < t)
    }

    /// A transient failure: when to try again, or `Err` once too many tries brought nothing.
    pub fn retry_after(&mut self, why: &dyn fmt::Display, now: Instant) -> Result<(), ObjectError> {
        if self.received > self.received_at_failure {
            self.failures = 0;
        }
        self.received_at_failure = self.received;
        self.failures += 1;
        if self.failures > MAX_RETRIES_WITHOUT_PROGRESS {
            return Err(ObjectError::Unreachable {
                attempts: self.failures,
                last: why.to_string(),
            });
        }
        // The first retry after progress is immediate: a cut connection, not a sick service.
        let delay = match self.failures {
            1 => Duration::ZERO,
            n => Duration::from_secs(1 << (n - 2).min(6)),
        };
        self.phase = JobPhase::Idle { at: now + delay };
        Ok(())
    }

    /// Back to byte 0 with `reader` emptied (the object changed before anything was exported).
    pub fn restart(&mut self, reader: &mut LineReader, raw_len: &mut usize, now: Instant) {
        reader.reset();
        *raw_len = 0;
        self.received = 0;
        self.received_at_failure = 0;
        self.skip = 0;
        self.etag = None;
        self.total_len = None;
        self.layout = None;
        self.first_line_seen = false;
        self.eof_fed = false;
        self.phase = JobPhase::Idle { at: now };
    }
}

/// What a pump left behind.
#[derive(Debug)]
pub enum Pump {
    /// Waiting for body bytes (or for the reader to make room).
    Working,
    /// The pipeline refused: try again after export made room.
    Blocked,
    /// Every line of the object went to the pipeline.
    Finished,
    Failed(ObjectError),
}

/// A slot: buffers allocated once, reused by every object it reads.
pub struct Slot {
    pub reader: LineReader,
    pub raw: Box<[u8]>,
    pub raw_len: usize,
    pub job: Option<Job>,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("raw", &self.raw.len())
            .field("raw_len", &self.raw_len)
            .field("job", &self.job.as_ref().map(|j| &j.source))
            .finish_non_exhaustive()
    }
}

impl Slot {
    pub fn new(line_buffer: usize, raw_buffer: usize) -> Slot {
        Slot {
            reader: LineReader::new(line_buffer),
            raw: vec![0; raw_buffer.max(1)].into_boxed_slice(),
            raw_len: 0,
            job: None,
        }
    }

    /// Where body bytes of the streaming job may go now (empty: full).
    pub fn free_raw(&mut self) -> &mut [u8] {
        self.raw.get_mut(self.raw_len..).unwrap_or_default()
    }

    /// Empties the slot for the next object, keeping its buffers.
    pub fn clear(&mut self) -> Option<Job> {
        self.reader.reset();
        self.raw_len = 0;
        self.job.take()
    }

    /// Moves lines to the pipeline and raw bytes to the reader, as far as both allow.
    pub fn pump(&mut self, default_layout: &Layout, ctx: &mut Ctx<'_>, c: &mut Counters) -> Pump {
        let Slot {
            reader,
            raw,
            raw_len,
            job,
        } = self;
        let Some(job) = job else {
            return Pump::Working;
        };
        loop {
            let mut moved = false;
            // Lines out, while the pipeline takes them.
            loop {
                if !ctx.pipeline.can_accept(ctx.now) {
                    return Pump::Blocked;
                }
                let line = match reader.next_line() {
                    None => break,
                    Some(Err(too_long)) => {
                        c.errors += 1;
                        let stats = &mut ctx.pipeline.stats;
                        stats.count_overlong(&job.source, too_long.number, &too_long);
                        moved = true;
                        continue;
                    }
                    Some(Ok(line)) => line,
                };
                moved = true;
                let first = !job.first_line_seen;
                job.first_line_seen = true;
                // The first line is the header (spec.md §A.6); one further down means objects
                // were concatenated, and it rules what follows (as `replay` reads files).
                if Layout::is_header_line(line.bytes) {
                    match Layout::from_header_line(line.bytes) {
                        Ok(layout) => {
                            job.layout = Some(layout);
                            ctx.pipeline.stats.count_header();
                            continue;
                        }
                        Err(e) if first => return Pump::Failed(ObjectError::Header(e)),
                        // Mid-object: handed on as a line, the pipeline reports it.
                        Err(_) => {}
                    }
                }
                c.lines_in += 1;
                let source = SourceLine {
                    source: &job.source,
                    number: line.number,
                    bytes: line.bytes,
                };
                let layout = job.layout.as_ref().unwrap_or(default_layout);
                let outcome = ctx.pipeline.handle_line(
                    layout,
                    source,
                    &Enrichment::default(),
                    ctx.now,
                    ctx.wall,
                );
                match outcome {
                    LineOutcome::Exported(serial) => {
                        job.last_serial = serial;
                        job.exported += 1;
                        c.records_out += 1;
                    }
                    // Reported by the pipeline with source and line number.
                    LineOutcome::Malformed => c.errors += 1,
                    LineOutcome::Counted => {}
                }
            }
            // Raw bytes in.
            if *raw_len > 0 {
                let data = raw.get(..*raw_len).unwrap_or_default();
                if reader.bytes_in() == 0 {
                    if data.len() < PARQUET_MAGIC.len() && job.phase != JobPhase::Drained {
                        return Pump::Working;
                    }
                    if data.starts_with(PARQUET_MAGIC) {
                        return Pump::Failed(ObjectError::Parquet);
                    }
                }
                let n = match reader.handle_input(data) {
                    Ok(n) => n,
                    Err(e) => return Pump::Failed(ObjectError::Corrupt(e)),
                };
                if n > 0 {
                    raw.copy_within(n..*raw_len, 0);
                    *raw_len -= n;
                    continue;
                }
                if !moved {
                    // No line came out and no byte went in: nothing will change by itself.
                    return Pump::Failed(ObjectError::Stalled);
                }
                continue;
            }
            if job.phase == JobPhase::Drained && !job.eof_fed {
                job.eof_fed = true;
                if let Err(e) = reader.handle_eof() {
                    return Pump::Failed(ObjectError::Corrupt(e));
                }
                continue;
            }
            if job.eof_fed && reader.is_done() {
                return Pump::Finished;
            }
            if !moved {
                return Pump::Working;
            }
        }
    }
}

/// How a failed GetObject call is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Try again from where we are.
    Retry,
    /// 412: the object is not the one we started.
    Changed,
    /// 416: we already have every byte.
    PastEnd,
    Fatal,
}

pub fn classify(e: &AwsCallError) -> Verdict {
    match e {
        AwsCallError::StreamBroken { .. }
        | AwsCallError::Exhausted { .. }
        | AwsCallError::Credentials { .. } => Verdict::Retry,
        AwsCallError::Rejected { error, .. } => match error.status {
            412 => Verdict::Changed,
            416 => Verdict::PastEnd,
            _ => Verdict::Fatal,
        },
        AwsCallError::Transport { .. } | AwsCallError::Unroutable { .. } => Verdict::Fatal,
    }
}

/// True for keys whose suffix says Parquet (`.log.parquet`, `.parquet`, any case).
pub fn is_parquet_key(key: &str) -> bool {
    let tail = key.len().saturating_sub(".parquet".len());
    key.get(tail..)
        .is_some_and(|s| s.eq_ignore_ascii_case(".parquet"))
}
