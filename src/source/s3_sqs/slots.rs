//! The S3 + SQS input's side of its slots: which object runs where, pumping the slots, and
//! what a finished or failed object means for the object table (see `object` for one
//! object's calls and bytes).

use std::time::Instant;

use crate::aws::client::AwsCallError;
use crate::source::{Ctx, Outgoing, Tag};

use super::object::{self, Job, JobPhase, Pump, Slot, Verdict};
use super::{BACKPRESSURE_RECHECK, ObjState, ObjectError, Pending, S3SqsInput};

impl S3SqsInput {
    /// Pumps every slot; finished and failed jobs leave their slots.
    pub(super) fn pump_all(&mut self, ctx: &mut Ctx<'_>) {
        self.now = ctx.now;
        self.recheck_at = None;
        for i in 0..self.slots.len() {
            self.pump_slot(i, ctx);
        }
    }

    pub(super) fn pump_slot(&mut self, i: usize, ctx: &mut Ctx<'_>) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        match slot.pump(&self.default_layout, ctx, &mut self.counters) {
            Pump::Working => {}
            Pump::Blocked => self.recheck_at = Some(ctx.now + BACKPRESSURE_RECHECK),
            Pump::Finished => self.finish_slot(i, None),
            Pump::Failed(e) => self.finish_slot(i, Some(e)),
        }
    }

    /// The job of slot `i` is over: finished (`None`) or failed.
    pub(super) fn finish_slot(&mut self, i: usize, failure: Option<ObjectError>) {
        let Some(job) = self.slots.get_mut(i).and_then(Slot::clear) else {
            return;
        };
        if let JobPhase::Requesting(tag) | JobPhase::Streaming(tag) = job.phase {
            self.pending.insert(tag, Pending::Discard);
        }
        match failure {
            None => {
                log::debug!(
                    "s3 object read; bucket={} key={} bytes={} records={}",
                    job.bucket,
                    job.key,
                    job.received,
                    job.exported
                );
                if job.last_serial <= self.acked {
                    self.complete(job.obj);
                } else {
                    self.set_state(job.obj, ObjState::AwaitAck(job.last_serial));
                }
            }
            Some(e) => {
                self.counters.errors += 1;
                log::warn!(
                    "s3 object failed, left to the queue's redrive policy; bucket={} key={} records_exported={} error={e}",
                    job.bucket,
                    job.key,
                    job.exported
                );
                self.set_state(job.obj, ObjState::Failed);
            }
        }
    }

    pub(super) fn complete(&mut self, obj: u64) {
        if let Some(o) = self.objects.get(&obj) {
            self.completed.insert(o.ident.hash);
            self.change_seq += 1;
        }
        self.set_state(obj, ObjState::Done);
    }

    /// Sets an object's state; a finished object no message names any more is dropped.
    pub(super) fn set_state(&mut self, obj: u64, state: ObjState) {
        let Some(o) = self.objects.get_mut(&obj) else {
            return;
        };
        o.state = state;
        if o.refs == 0 && matches!(state, ObjState::Done | ObjState::Failed) {
            self.objects.remove(&obj);
        }
    }

    /// Starts the next queued object in slot `i`; false if there was none to start.
    pub(super) fn start_next(&mut self, i: usize, now: Instant) -> bool {
        while let Some(id) = self.queue.pop_front() {
            let Some(o) = self.objects.get(&id) else {
                continue;
            };
            if o.state != ObjState::Queued {
                continue;
            }
            if object::is_parquet_key(&o.ident.key) {
                self.counters.errors += 1;
                log::warn!(
                    "s3 object failed, left to the queue's redrive policy; bucket={} key={} error={}",
                    o.ident.bucket,
                    o.ident.key,
                    ObjectError::Parquet
                );
                self.set_state(id, ObjState::Failed);
                continue;
            }
            let job = Job::new(
                id,
                &o.ident.bucket,
                &o.ident.key,
                o.etag.as_deref(),
                o.size,
                now,
            );
            if let Some(slot) = self.slots.get_mut(i) {
                slot.job = Some(job);
            }
            self.set_state(id, ObjState::Active(i));
            return true;
        }
        false
    }

    pub(super) fn poll_object(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        let now = ctx.now;
        for i in 0..self.slots.len() {
            if self.slots.get(i).is_some_and(|s| s.job.is_none())
                && !self.stopping
                && !self.queue.is_empty()
                && ctx.pipeline.can_accept(now)
            {
                self.start_next(i, now);
            }
            let due = self
                .slots
                .get(i)
                .and_then(|s| s.job.as_ref())
                .is_some_and(|j| matches!(j.phase, JobPhase::Idle { at } if at <= now));
            if !due {
                continue;
            }
            let (request, options) = self.slots.get(i)?.job.as_ref()?.request();
            let out = self.out(request, options, Pending::Object { slot: i });
            if let Some(job) = self.slots.get_mut(i).and_then(|s| s.job.as_mut()) {
                job.phase = JobPhase::Requesting(out.tag);
            }
            return Some(out);
        }
        None
    }

    pub(super) fn job_mut(&mut self, slot: usize, tag: Tag) -> Option<&mut Job> {
        let job = self.slots.get_mut(slot)?.job.as_mut()?;
        match job.phase {
            JobPhase::Requesting(t) | JobPhase::Streaming(t) if t == tag => Some(job),
            _ => None,
        }
    }

    /// A GetObject call of slot `i` failed.
    pub(super) fn object_failed(
        &mut self,
        i: usize,
        tag: Tag,
        err: AwsCallError,
        ctx: &mut Ctx<'_>,
    ) {
        let now = ctx.now;
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        let Some(job) = slot.job.as_mut().filter(
            |j| matches!(j.phase, JobPhase::Requesting(t) | JobPhase::Streaming(t) if t == tag),
        ) else {
            return;
        };
        let failure = match object::classify(&err) {
            Verdict::Retry => {
                log::info!(
                    "s3 object read interrupted, resuming; bucket={} key={} offset={} error={err}",
                    job.bucket,
                    job.key,
                    job.received
                );
                job.retry_after(&err, now).err()
            }
            Verdict::Changed if job.exported == 0 => {
                log::info!(
                    "s3 object changed before any record was exported, reading it again; bucket={} key={}",
                    job.bucket,
                    job.key
                );
                job.restart(&mut slot.reader, &mut slot.raw_len, now);
                None
            }
            Verdict::Changed => Some(ObjectError::Changed),
            Verdict::PastEnd if job.received > 0 => {
                job.phase = JobPhase::Drained;
                None
            }
            Verdict::PastEnd | Verdict::Fatal => Some(ObjectError::Refused(err)),
        };
        match failure {
            Some(e) => {
                // The call is over: nothing to discard.
                if let Some(job) = slot.job.as_mut() {
                    job.phase = JobPhase::Drained;
                }
                self.finish_slot(i, Some(e));
            }
            None => self.pump_slot(i, ctx),
        }
    }
}
