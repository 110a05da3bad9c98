//! The S3 + SQS input's handling of SQS answers: batch deletes and visibility changes
//! (partial failures included: an HTTP 200 can carry `Failed` entries), queue attributes, and
//! soft object failures that are not `AwsCallError`s.

use std::time::{Duration, Instant};

use crate::aws::api::sqs::{self, BatchResult, MAX_VISIBILITY_TIMEOUT_SECS};
use crate::aws::client::{ApiResponse, AwsCallError};
use crate::source::{Ctx, Tag};

use super::object::JobPhase;
use super::{BATCH_RETRY_MAX, MIN_VISIBILITY_TIMEOUT, Phase, S3SqsInput};

/// SQS batch-entry codes saying our receipt handle is no good any more: the visibility lapsed
/// and the message was received again (by us or another consumer), or it was deleted.
const HANDLE_GONE: &[&str] = &[
    "ReceiptHandleIsInvalid",
    "MessageNotInflight",
    "AWS.SimpleQueueService.MessageNotInflight",
];

fn retry_delay(tries: u32) -> Duration {
    Duration::from_secs(1 << tries.min(6)).min(BATCH_RETRY_MAX)
}

/// The message id behind a batch entry id (`m<id>`).
fn entry_msg(id: &str) -> Option<u64> {
    id.strip_prefix('m')?.parse().ok()
}

/// Per message of a batch: `Ok` for success, `Err((code, message))` for a failed entry.
type EntryResults = Vec<(u64, Result<(), (String, String)>)>;

fn batch_outcome(
    operation: &'static str,
    parse: fn(&[u8]) -> Result<BatchResult<'_>, sqs::SqsError>,
    result: Result<ApiResponse, AwsCallError>,
) -> Result<EntryResults, String> {
    let body = match result {
        Ok(resp) if resp.is_success() => resp.body,
        Ok(resp) => return Err(format!("sqs {operation}: HTTP {}", resp.status)),
        Err(e) => return Err(e.to_string()),
    };
    let parsed = parse(&body).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in &parsed.successful {
        if let Some(id) = entry_msg(&s.id) {
            out.push((id, Ok(())));
        }
    }
    for f in &parsed.failed {
        if let Some(id) = entry_msg(&f.id) {
            let message = f.message.as_deref().unwrap_or("").to_string();
            out.push((id, Err((f.code.to_string(), message))));
        }
    }
    Ok(out)
}

impl S3SqsInput {
    pub(super) fn handle_delete(
        &mut self,
        msgs: Vec<u64>,
        result: Result<ApiResponse, AwsCallError>,
    ) {
        let outcome = batch_outcome(
            "DeleteMessageBatch",
            sqs::parse_delete_message_batch,
            result,
        );
        let entries = match outcome {
            Ok(entries) => entries,
            Err(e) => {
                self.counters.errors += 1;
                log::warn!(
                    "sqs delete failed, will retry; queue={} messages={} error={e}",
                    self.settings.queue_url,
                    msgs.len()
                );
                Vec::new()
            }
        };
        let mut answered = Vec::with_capacity(entries.len());
        for (id, r) in entries {
            if !msgs.contains(&id) {
                continue;
            }
            answered.push(id);
            match r {
                Ok(()) => {
                    self.units_acked += 1;
                    if let Some(m) = self.messages.get(&id) {
                        log::debug!("sqs message deleted; message_id={}", m.message_id);
                    }
                    self.forget(id);
                }
                Err((code, message)) if HANDLE_GONE.contains(&code.as_str()) => {
                    self.counters.errors += 1;
                    if let Some(m) = self.messages.get(&id) {
                        log::warn!(
                            "sqs message not deleted: its visibility lapsed and it will be received again; message_id={} code={code} message={message}",
                            m.message_id
                        );
                    }
                    self.forget(id);
                }
                Err((code, message)) => {
                    self.counters.errors += 1;
                    if let Some(m) = self.messages.get(&id) {
                        log::warn!(
                            "sqs delete entry failed, will retry; message_id={} code={code} message={message}",
                            m.message_id
                        );
                    }
                    self.retry_delete(id);
                }
            }
        }
        for id in msgs {
            if !answered.contains(&id) {
                self.retry_delete(id);
            }
        }
    }

    fn retry_delete(&mut self, id: u64) {
        let now = self.now;
        if let Some(m) = self.messages.get_mut(&id)
            && let Phase::Deleting { tries, .. } = m.phase
        {
            m.phase = Phase::Deleting {
                in_flight: false,
                at: now + retry_delay(tries),
                tries: tries + 1,
            };
        }
    }

    pub(super) fn handle_extend(
        &mut self,
        msgs: Vec<u64>,
        sent: Instant,
        result: Result<ApiResponse, AwsCallError>,
    ) {
        let now = self.now;
        let timeout = self.settings.visibility_timeout;
        let outcome = batch_outcome(
            "ChangeMessageVisibilityBatch",
            sqs::parse_change_message_visibility_batch,
            result,
        );
        let entries = outcome.unwrap_or_else(|e| {
            self.counters.errors += 1;
            log::warn!(
                "sqs visibility extension failed, will retry; queue={} error={e}",
                self.settings.queue_url
            );
            Vec::new()
        });
        for &id in &msgs {
            let Some(m) = self.messages.get_mut(&id) else {
                continue;
            };
            m.extend_in_flight = false;
            match entries.iter().find(|(e, _)| *e == id).map(|(_, r)| r) {
                Some(Ok(())) => {
                    m.visible_until = sent + timeout;
                    m.extend_at = None;
                    m.extend_tries = 0;
                }
                Some(Err((code, message))) if HANDLE_GONE.contains(&code.as_str()) => {
                    m.lost = true;
                    self.counters.errors += 1;
                    log::warn!(
                        "sqs message visibility lapsed, another receive may process it too; message_id={} code={code} message={message}",
                        m.message_id
                    );
                }
                other => {
                    if let Some(Err((code, message))) = other {
                        self.counters.errors += 1;
                        log::warn!(
                            "sqs visibility extension entry failed, will retry; message_id={} code={code} message={message}",
                            m.message_id
                        );
                    }
                    m.extend_at = Some(now + retry_delay(m.extend_tries));
                    m.extend_tries += 1;
                }
            }
        }
    }

    pub(super) fn handle_redrive(
        &mut self,
        msgs: Vec<u64>,
        result: Result<ApiResponse, AwsCallError>,
    ) {
        let outcome = batch_outcome(
            "ChangeMessageVisibilityBatch",
            sqs::parse_change_message_visibility_batch,
            result,
        );
        let entries = outcome.unwrap_or_else(|e| {
            log::warn!(
                "sqs redrive backoff not set, the message comes back at its current visibility; queue={} error={e}",
                self.settings.queue_url
            );
            Vec::new()
        });
        for id in msgs {
            if let Some(m) = self.messages.get(&id) {
                let visibility = match m.phase {
                    Phase::Redrive { visibility, .. } => visibility,
                    _ => 0,
                };
                match entries.iter().find(|(e, _)| *e == id).map(|(_, r)| r) {
                    Some(Ok(())) if visibility == 0 => log::info!(
                        "sqs message released; message_id={} receive_count={}",
                        m.message_id,
                        m.receive_count
                    ),
                    Some(Ok(())) => log::info!(
                        "sqs message left for redelivery; message_id={} receive_count={} visibility_s={visibility}",
                        m.message_id,
                        m.receive_count
                    ),
                    Some(Err((code, message))) => log::warn!(
                        "sqs redrive backoff not set; message_id={} code={code} message={message}",
                        m.message_id
                    ),
                    None => {}
                }
            }
            self.forget(id);
        }
    }

    pub(super) fn handle_attributes(&mut self, result: Result<ApiResponse, AwsCallError>) {
        self.attributes_in_flight = false;
        // Answered or not, receiving may start (with the visibility timeout known so far).
        self.visibility_known = true;
        let body = match result {
            Ok(resp) if resp.is_success() => resp.body,
            Ok(resp) => return self.attributes_failed(&format!("HTTP {}", resp.status)),
            Err(e) => return self.attributes_failed(&e),
        };
        match sqs::parse_get_queue_attributes(&body) {
            Ok(a) => {
                let num = |name| a.get(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                self.backlog = Some((
                    num("ApproximateNumberOfMessages"),
                    num("ApproximateNumberOfMessagesNotVisible"),
                ));
                if let Some(secs) = a
                    .get("VisibilityTimeout")
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    self.use_queue_visibility(secs);
                }
            }
            Err(e) => self.attributes_failed(&e),
        }
    }

    /// The queue's `VisibilityTimeout` becomes the one asked for on receive and extension:
    /// the operator sets it on the queue (short, so that messages of a crashed agent come
    /// back soon; the input extends what it holds at half of it).
    fn use_queue_visibility(&mut self, secs: u64) {
        let max = Duration::from_secs(u64::from(MAX_VISIBILITY_TIMEOUT_SECS));
        let v = Duration::from_secs(secs).clamp(MIN_VISIBILITY_TIMEOUT, max);
        if v != self.settings.visibility_timeout {
            log::info!(
                "sqs visibility timeout from the queue; queue={} queue_visibility_s={secs} used_s={}",
                self.settings.queue_url,
                v.as_secs()
            );
            self.settings.visibility_timeout = v;
        }
    }

    fn attributes_failed(&mut self, why: &dyn std::fmt::Display) {
        self.counters.errors += 1;
        log::warn!(
            "sqs queue attributes unavailable, backlog unknown; queue={} error={why}",
            self.settings.queue_url
        );
    }

    /// A GetObject that did not continue as it should (head not matching the range, body
    /// shorter than announced): try again from where the job is.
    pub(super) fn stream_failed_softly(
        &mut self,
        slot: usize,
        tag: Tag,
        why: &dyn std::fmt::Display,
        ctx: &mut Ctx<'_>,
    ) {
        let now = ctx.now;
        let Some(job) = self.job_mut(slot, tag) else {
            return;
        };
        log::info!(
            "s3 object read interrupted, resuming; bucket={} key={} offset={} error={why}",
            job.bucket,
            job.key,
            job.received
        );
        match job.retry_after(why, now) {
            Ok(()) => self.pump_slot(slot, ctx),
            Err(e) => {
                // The call is over (or already set to be discarded).
                job.phase = JobPhase::Drained;
                self.finish_slot(slot, Some(e));
            }
        }
    }
}
