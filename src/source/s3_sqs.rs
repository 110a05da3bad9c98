//! The S3 + SQS input: S3 `ObjectCreated` notifications arrive on an SQS queue; each object is
//! streamed through gzip and the line reader into the pipeline, and the message is deleted
//! only once every record from it was delivered and the object's completion was saved.
//!
//! Messages (all held messages get ChangeMessageVisibility again at half their timeout):
//!
//! ```text
//!  ReceiveMessage ─► Working ── every object Done ─► Saving ── mark_saved covers it ─► Deleting ─► gone
//!      │   (objects run,  │                                                          │  DeleteMessageBatch
//!      │   ≤ concurrency) │ all finished, one Failed                                 │  Failed entry: again
//!      │                  ▼                                                          │  ReceiptHandleIsInvalid:
//!      │               Redrive ── ChangeMessageVisibility(30 s·2^(n−1), ≤ 12 h) ─► gone   logged, gone
//!      ├─ s3:TestEvent, no ObjectCreated record ─────────────────────────────────► Deleting
//!      ├─ every object already completed (redelivery) ──────────────► Saving
//!      └─ body not an S3 notification ───────────────────────────────► Redrive
//! ```
//!
//! Objects (see `object` for one object's calls and bytes):
//!
//! ```text
//!  Queued ─(a free slot, pipeline accepts)─► Active ─ last line out ─► AwaitAck ─ handle_acked ≥ its ─► Done
//!                                               │      (no record: Done at once)     last serial   (in the
//!                                               └─ NoSuchKey, AccessDenied, corrupt gzip, Parquet ─► Failed   completed set)
//! ```
//!
//! Delivery (design.md, "Delivery guarantees"): a message is deleted only when each of its
//! objects is Done — read to the end, its last exported record acknowledged — and the
//! checkpoint holding those completions has been written (`mark_saved`). A crash between the
//! save and the delete makes SQS deliver the message again; its objects are then found in the
//! completed set and skipped, and the message is deleted. The same set absorbs S3's own
//! duplicate notifications; an object named by two held messages at once is read once.
//!
//! Failures: an object that fails for good is logged with bucket and key and does not hold up
//! the others; its message is not deleted but made invisible for a backoff growing with
//! `ApproximateReceiveCount`, so the queue's redrive policy (`maxReceiveCount` → dead-letter
//! queue) takes it in the end. The other objects of that message complete normally and are
//! skipped when it comes back. Records exported from an object before it failed (a gzip error
//! in the middle, a 412 after records went out) are exported again on redelivery: that is the
//! at-least-once part of the guarantee.
//!
//! Visibility: the input uses the queue's own `VisibilityTimeout` (read with GetQueueAttributes
//! before the first receive, at least `MIN_VISIBILITY_TIMEOUT`; 5 minutes if it cannot be
//! read) and extends what it holds at half of it, so the operator's setting decides how soon
//! the messages of a crashed agent come back. At a stop, messages whose objects have not
//! started (and messages a last long poll brings in) are handed back at once with
//! ChangeMessageVisibility 0.
//!
//! Intake is bounded: one ReceiveMessage in flight, asking only for as many messages as can
//! start soon (twice the slots minus the objects already held), none while the pipeline
//! refuses lines or once stopping. Memory is the slots' buffers, allocated once.

mod completed;
mod messages;
mod object;
mod replies;
mod slots;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_visibility;

pub use completed::{CheckpointError, CompletedSet, DEFAULT_COMPLETED_CAPACITY, ObjectIdent};
pub use object::{MAX_RETRIES_WITHOUT_PROGRESS, OBJECT_ATTEMPT_TIMEOUT, ObjectError};

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use ureq_proto::http::HeaderMap;

use crate::aws::api::sqs::MAX_VISIBILITY_TIMEOUT_SECS;
use crate::aws::client::{ApiResponse, AwsCallError, CallOptions};
use crate::export::Serial;
use crate::flowlog::layout::Layout;
use crate::flowlog::lines::DEFAULT_CAPACITY;
use crate::source::{Ctx, Input, InputStatus, Outgoing, Tag};
use object::{Counters, JobPhase, Slot};

/// Visibility timeout asked for on receive and on every extension: long enough that the
/// extension at half of it has minutes of slack, short enough that an abandoned message (agent
/// killed) comes back soon.
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);
/// Raw body bytes buffered per slot before the line reader takes them.
pub const DEFAULT_RAW_BUFFER: usize = 64 * 1024;
/// Backlog (GetQueueAttributes) refresh.
pub const ATTRIBUTES_INTERVAL: Duration = Duration::from_secs(60);
/// First redrive backoff; doubled per receive, capped at SQS's 12-hour maximum.
pub const REDRIVE_BASE_SECS: u32 = 30;
/// Messages held at once (in any phase), whatever the slots.
pub const MAX_HELD_MESSAGES: usize = 100;
/// While the pipeline refuses lines, look again this often (rate-limit refill, other inputs).
const BACKPRESSURE_RECHECK: Duration = Duration::from_millis(50);
/// Floor between two receives that came back empty (an emulator that ignores WaitTimeSeconds).
const MIN_EMPTY_RECEIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Receive failures back off from 1 s, doubling to 5 minutes.
const RECEIVE_BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Failed deletes and extensions are tried again from 1 s, doubling to 1 minute.
const BATCH_RETRY_MAX: Duration = Duration::from_secs(60);
const GET_QUEUE_ATTRIBUTES: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "VisibilityTimeout",
];
/// The shortest visibility timeout the input works with, whatever the queue says: extensions
/// go out at half of it, and a round trip must fit well inside that.
pub const MIN_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(10);

/// What the input needs to know (config `[input s3:…]` and `[s3]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3SqsSettings {
    /// The configured bucket: names the input (`s3:BUCKET`); objects are read from the bucket
    /// each notification names.
    pub bucket: String,
    pub queue_url: String,
    /// Objects read at once (`[s3] concurrency`).
    pub concurrency: usize,
    /// Until the queue's own `VisibilityTimeout` attribute is read (then that one, at least
    /// [`MIN_VISIBILITY_TIMEOUT`]): asked for on receive and on every extension.
    pub visibility_timeout: Duration,
    /// Line reader buffer per slot: the longest line that can be read.
    pub line_buffer: usize,
    pub raw_buffer: usize,
    pub completed_capacity: usize,
}

impl S3SqsSettings {
    pub fn new(bucket: &str, queue_url: &str, concurrency: usize) -> S3SqsSettings {
        S3SqsSettings {
            bucket: bucket.to_string(),
            queue_url: queue_url.to_string(),
            concurrency: concurrency.max(1),
            visibility_timeout: DEFAULT_VISIBILITY_TIMEOUT,
            line_buffer: DEFAULT_CAPACITY,
            raw_buffer: DEFAULT_RAW_BUFFER,
            completed_capacity: DEFAULT_COMPLETED_CAPACITY,
        }
    }

    fn visibility_secs(&self) -> u32 {
        u32::try_from(self.visibility_timeout.as_secs())
            .unwrap_or(MAX_VISIBILITY_TIMEOUT_SECS)
            .clamp(1, MAX_VISIBILITY_TIMEOUT_SECS)
    }
}

/// The redrive visibility of a message received `receive_count` times: 30 s × 2^(n−1), ≤ 12 h.
pub fn redrive_backoff_secs(receive_count: u32) -> u32 {
    let doublings = receive_count.saturating_sub(1).min(20);
    REDRIVE_BASE_SECS
        .saturating_mul(1 << doublings)
        .min(MAX_VISIBILITY_TIMEOUT_SECS)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ObjState {
    Queued,
    Active(usize),
    AwaitAck(Serial),
    Done,
    Failed,
}

#[derive(Debug)]
struct Obj {
    ident: ObjectIdent,
    etag: Option<String>,
    size: Option<u64>,
    state: ObjState,
    /// Held messages naming it.
    refs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Working,
    /// Deletable once the checkpoint with this change number is saved.
    Saving(u64),
    Deleting {
        in_flight: bool,
        at: Instant,
        tries: u32,
    },
    Redrive {
        in_flight: bool,
        visibility: u32,
    },
}

#[derive(Debug)]
struct Msg {
    message_id: String,
    receipt: String,
    receive_count: u32,
    objects: Vec<u64>,
    /// It named an object (done now or skipped as done): its deletion waits for a save.
    needs_save: bool,
    visible_until: Instant,
    extend_in_flight: bool,
    extend_at: Option<Instant>,
    extend_tries: u32,
    /// SQS says our receipt handle is no longer valid: stop extending.
    lost: bool,
    phase: Phase,
}

#[derive(Debug)]
enum Pending {
    Receive {
        sent: Instant,
    },
    Attributes,
    Object {
        slot: usize,
    },
    /// A body nobody wants any more: read and dropped.
    Discard,
    Delete {
        msgs: Vec<u64>,
    },
    Extend {
        msgs: Vec<u64>,
        sent: Instant,
    },
    Redrive {
        msgs: Vec<u64>,
    },
}

/// The input. See the module doc.
pub struct S3SqsInput {
    name: String,
    settings: S3SqsSettings,
    default_layout: Layout,
    slots: Vec<Slot>,
    discard: Box<[u8]>,
    next_tag: u64,
    pending: HashMap<Tag, Pending>,
    messages: BTreeMap<u64, Msg>,
    next_msg: u64,
    objects: BTreeMap<u64, Obj>,
    next_obj: u64,
    queue: VecDeque<u64>,
    completed: CompletedSet,
    /// Completions so far; the number the last written checkpoint had; the last `checkpoint()`.
    change_seq: u64,
    saved_seq: u64,
    snapshot_seq: Cell<u64>,
    acked: Serial,
    receiving: bool,
    /// The first GetQueueAttributes answered (or failed): receives wait for it, so they ask
    /// for the queue's own visibility timeout.
    visibility_known: bool,
    receive_at: Instant,
    receive_failures: u32,
    attributes_at: Instant,
    attributes_in_flight: bool,
    recheck_at: Option<Instant>,
    stopping: bool,
    /// The latest `now` seen: `poll_timeout` reports only later instants.
    now: Instant,
    counters: Counters,
    units_acked: u64,
    backlog: Option<(u64, u64)>,
}

impl S3SqsInput {
    /// A new input; `saved` is what `checkpoint` returned in an earlier run.
    pub fn new(
        settings: S3SqsSettings,
        saved: Option<&serde_json::Value>,
        now: Instant,
    ) -> S3SqsInput {
        let name = format!("s3:{}", settings.bucket);
        let completed = match saved.map(|v| CompletedSet::from_json(v, settings.completed_capacity))
        {
            Some(Ok(set)) => set,
            Some(Err(e)) => {
                log::warn!("s3 checkpoint ignored; input={name} error={e}");
                CompletedSet::new(settings.completed_capacity)
            }
            None => CompletedSet::new(settings.completed_capacity),
        };
        let slots = (0..settings.concurrency.max(1))
            .map(|_| Slot::new(settings.line_buffer, settings.raw_buffer))
            .collect();
        S3SqsInput {
            name,
            default_layout: Layout::default_v2(),
            slots,
            discard: vec![0; 16 * 1024].into_boxed_slice(),
            next_tag: 0,
            pending: HashMap::new(),
            messages: BTreeMap::new(),
            next_msg: 0,
            objects: BTreeMap::new(),
            next_obj: 0,
            queue: VecDeque::new(),
            completed,
            change_seq: 0,
            saved_seq: 0,
            snapshot_seq: Cell::new(0),
            acked: Serial(0),
            receiving: false,
            visibility_known: false,
            receive_at: now,
            receive_failures: 0,
            attributes_at: now,
            attributes_in_flight: false,
            recheck_at: None,
            stopping: false,
            now,
            counters: Counters::default(),
            units_acked: 0,
            backlog: None,
            settings,
        }
    }

    /// Bytes each slot's raw buffer and line reader hold, for memory checks.
    pub fn buffer_sizes(&self) -> Vec<(usize, usize)> {
        self.slots
            .iter()
            .map(|s| (s.raw.len(), s.reader.capacity()))
            .collect()
    }

    /// Objects remembered as completed.
    pub fn completed_len(&self) -> usize {
        self.completed.len()
    }

    fn tag(&mut self) -> Tag {
        self.next_tag += 1;
        Tag(self.next_tag)
    }

    fn out(
        &mut self,
        request: crate::aws::request::ApiRequest,
        options: CallOptions,
        p: Pending,
    ) -> Outgoing {
        let tag = self.tag();
        self.pending.insert(tag, p);
        Outgoing {
            tag,
            request,
            options,
        }
    }

    fn active_count(&self) -> usize {
        self.slots.iter().filter(|s| s.job.is_some()).count()
    }
}

impl Input for S3SqsInput {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll_request(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        // Export may have made room since the last event (another input's acks, the rate
        // limit's refill): lines waiting in the readers go first.
        self.pump_all(ctx);
        self.settle();
        let now = ctx.now;
        if let Some(o) = self.poll_delete(now) {
            return Some(o);
        }
        if let Some(o) = self.poll_redrive() {
            return Some(o);
        }
        if let Some(o) = self.poll_extend(now) {
            return Some(o);
        }
        if let Some(o) = self.poll_object(ctx) {
            return Some(o);
        }
        if let Some(o) = self.poll_attributes(now) {
            return Some(o);
        }
        self.poll_receive(ctx)
    }

    fn handle_response(
        &mut self,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
        ctx: &mut Ctx<'_>,
    ) {
        self.now = ctx.now;
        match self.pending.remove(&tag) {
            Some(Pending::Receive { sent }) => self.handle_receive(sent, result),
            Some(Pending::Attributes) => self.handle_attributes(result),
            Some(Pending::Object { slot }) => match result {
                Err(e) => self.object_failed(slot, tag, e, ctx),
                // A streamed call's success ends through `handle_stream_end`; an Ok here means
                // the agent buffered the call: the body is not usable, ask again.
                Ok(resp) => {
                    let e = format!("unexpected buffered GetObject answer, HTTP {}", resp.status);
                    self.stream_failed_softly(slot, tag, &e, ctx);
                }
            },
            Some(Pending::Delete { msgs }) => self.handle_delete(msgs, result),
            Some(Pending::Extend { msgs, sent }) => self.handle_extend(msgs, sent, result),
            Some(Pending::Redrive { msgs }) => self.handle_redrive(msgs, result),
            Some(Pending::Discard) | None => {}
        }
        self.pump_all(ctx);
        self.settle();
    }

    fn handle_stream_start(
        &mut self,
        tag: Tag,
        status: u16,
        headers: &HeaderMap,
        ctx: &mut Ctx<'_>,
    ) {
        self.now = ctx.now;
        let Some(&Pending::Object { slot }) = self.pending.get(&tag) else {
            return;
        };
        let Some(job) = self.job_mut(slot, tag) else {
            return;
        };
        let head = job.handle_head(status, headers);
        if head.is_ok() {
            job.phase = JobPhase::Streaming(tag);
        }
        if let Err(why) = head {
            self.pending.insert(tag, Pending::Discard);
            self.stream_failed_softly(slot, tag, &why, ctx);
        }
    }

    fn stream_buffer(&mut self, tag: Tag) -> &mut [u8] {
        match self.pending.get(&tag) {
            Some(&Pending::Object { slot }) => {
                let streaming = self
                    .slots
                    .get(slot)
                    .and_then(|s| s.job.as_ref())
                    .is_some_and(|j| j.phase == JobPhase::Streaming(tag));
                match self.slots.get_mut(slot) {
                    Some(s) if streaming => s.free_raw(),
                    _ => &mut [],
                }
            }
            Some(Pending::Discard) => &mut self.discard,
            _ => &mut [],
        }
    }

    fn handle_stream_data(&mut self, tag: Tag, n: usize, ctx: &mut Ctx<'_>) {
        self.now = ctx.now;
        let Some(&Pending::Object { slot: i }) = self.pending.get(&tag) else {
            return;
        };
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let Some(job) = slot
            .job
            .as_mut()
            .filter(|j| j.phase == JobPhase::Streaming(tag))
        else {
            return;
        };
        let n = n.min(slot.raw.len() - slot.raw_len);
        slot.raw_len = job.handle_data(&mut slot.raw, slot.raw_len + n, n);
        self.pump_slot(i, ctx);
        self.settle();
    }

    fn handle_stream_end(&mut self, tag: Tag, result: Result<(), AwsCallError>, ctx: &mut Ctx<'_>) {
        self.now = ctx.now;
        let Some(Pending::Object { slot }) = self.pending.remove(&tag) else {
            return;
        };
        match result {
            Err(e) => self.object_failed(slot, tag, e, ctx),
            Ok(()) => {
                let Some(job) = self.job_mut(slot, tag) else {
                    return;
                };
                let short = job.is_short().then(|| {
                    format!(
                        "body ended at byte {} of {}",
                        job.received,
                        job.total_len.unwrap_or(0)
                    )
                });
                if short.is_none() {
                    job.phase = JobPhase::Drained;
                }
                match short {
                    Some(why) => self.stream_failed_softly(slot, tag, &why, ctx),
                    None => self.pump_slot(slot, ctx),
                }
            }
        }
        self.settle();
    }

    fn handle_acked(&mut self, acked: Serial, ctx: &mut Ctx<'_>) {
        self.now = ctx.now;
        self.acked = self.acked.max(acked);
        let done: Vec<u64> = self
            .objects
            .iter()
            .filter(|(_, o)| matches!(o.state, ObjState::AwaitAck(s) if s <= self.acked))
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            self.complete(id);
        }
        self.pump_all(ctx);
        self.settle();
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| {
            if at > self.now {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        if !self.stopping && !self.receiving && self.visibility_known {
            consider(self.receive_at);
        }
        if !self.stopping && !self.attributes_in_flight {
            consider(self.attributes_at);
        }
        if let Some(at) = self.recheck_at {
            consider(at);
        }
        for m in self.messages.values() {
            if let Some(at) = self.extend_due(m) {
                consider(at);
            }
            if let Phase::Deleting {
                in_flight: false,
                at,
                ..
            } = m.phase
            {
                consider(at);
            }
        }
        for s in &self.slots {
            if let Some(JobPhase::Idle { at }) = s.job.as_ref().map(|j| j.phase) {
                consider(at);
            }
        }
        next
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.pump_all(ctx);
        self.settle();
    }

    fn checkpoint(&self) -> serde_json::Value {
        self.snapshot_seq.set(self.change_seq);
        self.completed.to_json()
    }

    fn is_dirty(&self) -> bool {
        self.change_seq > self.saved_seq
    }

    fn mark_saved(&mut self) {
        self.saved_seq = self.saved_seq.max(self.snapshot_seq.get());
        self.settle();
    }

    fn status(&self) -> InputStatus {
        let waiting = self.queue.len();
        let mut detail = format!(
            "{} objects in flight, {waiting} queued, {} messages held",
            self.active_count(),
            self.messages.len()
        );
        if let Some((visible, invisible)) = self.backlog {
            detail.push_str(&format!(
                ", queue backlog {visible} (+{invisible} in flight)"
            ));
        }
        InputStatus {
            lines_in: self.counters.lines_in,
            records_out: self.counters.records_out,
            units_acked: self.units_acked,
            errors: self.counters.errors,
            lag: self.backlog.map(|(v, i)| v + i),
            detail,
        }
    }

    fn handle_stop(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.now = ctx.now;
        if !self.stopping {
            self.stopping = true;
            self.release_unstarted();
        }
        self.pump_all(ctx);
        self.settle();
        self.active_count() == 0
    }
}
