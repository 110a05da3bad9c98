//! The S3 + SQS input's messages: receiving them (and what their bodies name), moving them
//! through their phases, and the SQS calls that delete them, extend or set their visibility,
//! and read the queue's backlog.

use std::time::{Duration, Instant};

use crate::aws::api::s3_event::{S3Notification, parse_s3_notification};
use crate::aws::api::sqs::{
    self, DeleteEntry, MAX_BATCH_ENTRIES, MAX_RECEIVE_MESSAGES, MAX_WAIT_TIME_SECS,
    ReceiveMessageInput, VisibilityEntry,
};
use crate::aws::client::{ApiResponse, AwsCallError, CallOptions};
use crate::source::{Ctx, Outgoing};

use super::{
    ATTRIBUTES_INTERVAL, BACKPRESSURE_RECHECK, GET_QUEUE_ATTRIBUTES, MAX_HELD_MESSAGES,
    MIN_EMPTY_RECEIVE_INTERVAL, Msg, Obj, ObjState, ObjectIdent, Pending, Phase,
    RECEIVE_BACKOFF_MAX, S3SqsInput, redrive_backoff_secs,
};

impl S3SqsInput {
    pub(super) fn handle_receive(
        &mut self,
        sent: Instant,
        result: Result<ApiResponse, AwsCallError>,
    ) {
        self.receiving = false;
        let body = match result {
            Ok(resp) if resp.is_success() => resp.body,
            Ok(resp) => return self.receive_failed(&format!("HTTP {}", resp.status)),
            Err(e) => return self.receive_failed(&e),
        };
        let out = match sqs::parse_receive_message(&body) {
            Ok(out) => out,
            Err(e) => return self.receive_failed(&e),
        };
        self.receive_failures = 0;
        if self.stopping {
            // Not started: handed back at once (visibility 0), so a restart sees them.
            for m in &out.messages {
                self.next_msg += 1;
                let msg = Msg {
                    message_id: m.message_id.to_string(),
                    receipt: m.receipt_handle.to_string(),
                    receive_count: m.attributes.receive_count().unwrap_or(1),
                    objects: Vec::new(),
                    needs_save: false,
                    visible_until: sent,
                    extend_in_flight: false,
                    extend_at: None,
                    extend_tries: 0,
                    lost: false,
                    phase: Phase::Redrive {
                        in_flight: false,
                        visibility: 0,
                    },
                };
                self.messages.insert(self.next_msg, msg);
            }
            if !out.messages.is_empty() {
                log::info!(
                    "s3 stopping, received messages released; input={} messages={}",
                    self.name,
                    out.messages.len()
                );
            }
            return;
        }
        if out.messages.is_empty() {
            self.receive_at = sent + MIN_EMPTY_RECEIVE_INTERVAL;
        }
        let visible_until = sent + self.settings.visibility_timeout;
        for m in &out.messages {
            let receive_count = m.attributes.receive_count().unwrap_or(1);
            let mut msg = Msg {
                message_id: m.message_id.to_string(),
                receipt: m.receipt_handle.to_string(),
                receive_count,
                objects: Vec::new(),
                needs_save: false,
                visible_until,
                extend_in_flight: false,
                extend_at: None,
                extend_tries: 0,
                lost: false,
                phase: Phase::Working,
            };
            match parse_s3_notification(&m.body) {
                Ok(S3Notification::Test { bucket, .. }) => {
                    log::info!(
                        "s3 test event, deleting it; queue={} bucket={}",
                        self.settings.queue_url,
                        bucket.as_deref().unwrap_or("-")
                    );
                }
                Ok(S3Notification::Records { records, .. }) => {
                    for r in records.iter().filter(|r| r.is_object_created()) {
                        let ident = ObjectIdent::new(
                            &r.bucket,
                            &r.key,
                            r.etag.as_deref(),
                            r.sequencer.as_deref(),
                        );
                        msg.needs_save = true;
                        if self.completed.contains(ident.hash) {
                            log::info!(
                                "s3 object already completed, skipped; bucket={} key={} message_id={}",
                                ident.bucket,
                                ident.key,
                                msg.message_id
                            );
                            continue;
                        }
                        let id = self.object_for(ident, r.etag.as_deref(), r.size);
                        if !msg.objects.contains(&id) {
                            if let Some(o) = self.objects.get_mut(&id) {
                                o.refs += 1;
                            }
                            msg.objects.push(id);
                        }
                    }
                }
                Err(e) => {
                    self.counters.errors += 1;
                    log::warn!(
                        "sqs message is not an S3 notification, left to the queue's redrive policy; message_id={} error={e}",
                        msg.message_id
                    );
                    msg.phase = Phase::Redrive {
                        in_flight: false,
                        visibility: redrive_backoff_secs(receive_count),
                    };
                }
            }
            self.next_msg += 1;
            self.messages.insert(self.next_msg, msg);
        }
    }

    /// The object for `ident`: one already held (named by another message too), or a new one.
    pub(super) fn object_for(
        &mut self,
        ident: ObjectIdent,
        etag: Option<&str>,
        size: Option<u64>,
    ) -> u64 {
        let held = self.objects.iter().find(|(_, o)| {
            o.ident.hash == ident.hash
                && matches!(
                    o.state,
                    ObjState::Queued | ObjState::Active(_) | ObjState::AwaitAck(_)
                )
        });
        if let Some((&id, _)) = held {
            return id;
        }
        self.next_obj += 1;
        let id = self.next_obj;
        self.objects.insert(
            id,
            Obj {
                ident,
                etag: etag.map(str::to_string),
                size,
                state: ObjState::Queued,
                refs: 0,
            },
        );
        self.queue.push_back(id);
        id
    }

    pub(super) fn receive_failed(&mut self, why: &dyn std::fmt::Display) {
        self.counters.errors += 1;
        self.receive_failures += 1;
        let doublings = self.receive_failures.saturating_sub(1).min(9);
        let delay = Duration::from_secs(1 << doublings).min(RECEIVE_BACKOFF_MAX);
        self.receive_at = self.now + delay;
        log::warn!(
            "sqs receive failed; queue={} retry_in_s={} error={why}",
            self.settings.queue_url,
            delay.as_secs()
        );
    }

    /// Moves messages along their phases (see the module doc).
    pub(super) fn settle(&mut self) {
        let now = self.now;
        for msg in self.messages.values_mut() {
            if msg.phase == Phase::Working {
                let states = msg
                    .objects
                    .iter()
                    .map(|id| self.objects.get(id).map_or(ObjState::Failed, |o| o.state));
                let (mut done, mut failed, mut open) = (true, false, false);
                for s in states {
                    match s {
                        ObjState::Done => {}
                        ObjState::Failed => (done, failed) = (false, true),
                        _ => (done, open) = (false, true),
                    }
                }
                if done {
                    let seq = if msg.needs_save { self.change_seq } else { 0 };
                    msg.phase = Phase::Saving(seq);
                } else if failed && !open {
                    msg.phase = Phase::Redrive {
                        in_flight: false,
                        visibility: redrive_backoff_secs(msg.receive_count),
                    };
                }
            }
            if let Phase::Saving(seq) = msg.phase
                && seq <= self.saved_seq
            {
                msg.phase = Phase::Deleting {
                    in_flight: false,
                    at: now,
                    tries: 0,
                };
            }
        }
    }

    /// At stop: messages whose objects have not started are handed back to the queue
    /// (ChangeMessageVisibility 0) instead of waiting out their visibility timeout, so a
    /// restarted agent (or another consumer) reads them at once. A message with an object in
    /// flight next to one not started is left to its visibility timeout: handing it back
    /// while that object is still being read would let another consumer read it twice.
    pub(super) fn release_unstarted(&mut self) {
        let (mut released, mut left) = (0usize, 0usize);
        let ids: Vec<u64> = self.messages.keys().copied().collect();
        for id in ids {
            let Some(m) = self.messages.get(&id) else {
                continue;
            };
            if m.phase != Phase::Working {
                continue;
            }
            let state = |o: &u64| self.objects.get(o).map(|o| o.state);
            let queued = m.objects.iter().any(|o| state(o) == Some(ObjState::Queued));
            if !queued {
                continue;
            }
            let started = m
                .objects
                .iter()
                .any(|o| matches!(state(o), Some(ObjState::Active(_) | ObjState::AwaitAck(_))));
            if started {
                left += 1;
                self.forget(id);
                continue;
            }
            // Its claims on queued objects go now: they must not start while stopping.
            let objects = self
                .messages
                .get_mut(&id)
                .map(|m| std::mem::take(&mut m.objects))
                .unwrap_or_default();
            for obj in objects {
                let drop_it = self.objects.get_mut(&obj).is_some_and(|o| {
                    o.refs = o.refs.saturating_sub(1);
                    o.refs == 0
                        && matches!(
                            o.state,
                            ObjState::Queued | ObjState::Done | ObjState::Failed
                        )
                });
                if drop_it {
                    self.objects.remove(&obj);
                    self.queue.retain(|&q| q != obj);
                }
            }
            if let Some(m) = self.messages.get_mut(&id) {
                m.phase = Phase::Redrive {
                    in_flight: false,
                    visibility: 0,
                };
                released += 1;
            }
        }
        if released + left > 0 {
            log::info!(
                "s3 stopping, messages not started handed back; input={} released={released} \
                 left_to_visibility_timeout={left}",
                self.name
            );
        }
    }

    /// Drops a message and its claims on objects.
    pub(super) fn forget(&mut self, id: u64) {
        let Some(msg) = self.messages.remove(&id) else {
            return;
        };
        for obj in msg.objects {
            let Some(o) = self.objects.get_mut(&obj) else {
                continue;
            };
            o.refs = o.refs.saturating_sub(1);
            if o.refs == 0 {
                match o.state {
                    ObjState::Done | ObjState::Failed => {
                        self.objects.remove(&obj);
                    }
                    ObjState::Queued => {
                        self.objects.remove(&obj);
                        self.queue.retain(|&q| q != obj);
                    }
                    // Still being read or acknowledged: it completes on its own.
                    ObjState::Active(_) | ObjState::AwaitAck(_) => {}
                }
            }
        }
    }

    pub(super) fn entry_id(id: u64) -> String {
        format!("m{id}")
    }

    pub(super) fn poll_delete(&mut self, now: Instant) -> Option<Outgoing> {
        let ids: Vec<u64> = self
            .messages
            .iter()
            .filter(|(_, m)| matches!(m.phase, Phase::Deleting { in_flight: false, at, .. } if at <= now))
            .map(|(&id, _)| id)
            .take(MAX_BATCH_ENTRIES)
            .collect();
        if ids.is_empty() {
            return None;
        }
        let names: Vec<String> = ids.iter().map(|&id| Self::entry_id(id)).collect();
        let entries: Vec<DeleteEntry<'_>> = ids
            .iter()
            .zip(&names)
            .filter_map(|(id, name)| {
                Some(DeleteEntry {
                    id: name,
                    receipt_handle: &self.messages.get(id)?.receipt,
                })
            })
            .collect();
        let request = sqs::delete_message_batch(&self.settings.queue_url, &entries).ok()?;
        for id in &ids {
            if let Some(m) = self.messages.get_mut(id)
                && let Phase::Deleting { in_flight, .. } = &mut m.phase
            {
                *in_flight = true;
            }
        }
        let options = CallOptions::buffered(sqs::MAX_SMALL_RESPONSE_BYTES);
        Some(self.out(request, options, Pending::Delete { msgs: ids }))
    }

    pub(super) fn poll_redrive(&mut self) -> Option<Outgoing> {
        let ids: Vec<(u64, u32)> = self
            .messages
            .iter()
            .filter_map(|(&id, m)| match m.phase {
                Phase::Redrive {
                    in_flight: false,
                    visibility,
                } => Some((id, visibility)),
                _ => None,
            })
            .take(MAX_BATCH_ENTRIES)
            .collect();
        if ids.is_empty() {
            return None;
        }
        let names: Vec<String> = ids.iter().map(|&(id, _)| Self::entry_id(id)).collect();
        let entries: Vec<VisibilityEntry<'_>> = ids
            .iter()
            .zip(&names)
            .filter_map(|(&(id, visibility), name)| {
                Some(VisibilityEntry {
                    id: name,
                    receipt_handle: &self.messages.get(&id)?.receipt,
                    visibility_timeout: visibility,
                })
            })
            .collect();
        let request =
            sqs::change_message_visibility_batch(&self.settings.queue_url, &entries).ok()?;
        for (id, _) in &ids {
            if let Some(m) = self.messages.get_mut(id)
                && let Phase::Redrive { in_flight, .. } = &mut m.phase
            {
                *in_flight = true;
            }
        }
        let msgs = ids.into_iter().map(|(id, _)| id).collect();
        let options = CallOptions::buffered(sqs::MAX_SMALL_RESPONSE_BYTES);
        Some(self.out(request, options, Pending::Redrive { msgs }))
    }

    /// When a held message's visibility should be extended.
    pub(super) fn extend_due(&self, m: &Msg) -> Option<Instant> {
        let extendable = match m.phase {
            Phase::Working | Phase::Saving(_) => true,
            Phase::Deleting { in_flight, .. } => !in_flight,
            Phase::Redrive { .. } => false,
        };
        if !extendable || m.lost || m.extend_in_flight {
            return None;
        }
        let half = self.settings.visibility_timeout / 2;
        let due = m.visible_until.checked_sub(half).unwrap_or(m.visible_until);
        Some(m.extend_at.unwrap_or(due))
    }

    pub(super) fn poll_extend(&mut self, now: Instant) -> Option<Outgoing> {
        let ids: Vec<u64> = self
            .messages
            .iter()
            .filter(|(_, m)| self.extend_due(m).is_some_and(|at| at <= now))
            .map(|(&id, _)| id)
            .take(MAX_BATCH_ENTRIES)
            .collect();
        if ids.is_empty() {
            return None;
        }
        let secs = self.settings.visibility_secs();
        let names: Vec<String> = ids.iter().map(|&id| Self::entry_id(id)).collect();
        let entries: Vec<VisibilityEntry<'_>> = ids
            .iter()
            .zip(&names)
            .filter_map(|(id, name)| {
                Some(VisibilityEntry {
                    id: name,
                    receipt_handle: &self.messages.get(id)?.receipt,
                    visibility_timeout: secs,
                })
            })
            .collect();
        let request =
            sqs::change_message_visibility_batch(&self.settings.queue_url, &entries).ok()?;
        for id in &ids {
            if let Some(m) = self.messages.get_mut(id) {
                m.extend_in_flight = true;
            }
        }
        let options = CallOptions::buffered(sqs::MAX_SMALL_RESPONSE_BYTES);
        Some(self.out(
            request,
            options,
            Pending::Extend {
                msgs: ids,
                sent: now,
            },
        ))
    }

    pub(super) fn held_objects(&self) -> usize {
        self.queue.len() + self.active_count()
    }

    pub(super) fn poll_receive(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        let now = ctx.now;
        if self.stopping || self.receiving || !self.visibility_known || now < self.receive_at {
            return None;
        }
        let room = (2 * self.slots.len()).saturating_sub(self.held_objects());
        if room == 0 || self.messages.len() >= MAX_HELD_MESSAGES {
            return None;
        }
        if !ctx.pipeline.can_accept(now) {
            self.recheck_at = Some(now + BACKPRESSURE_RECHECK);
            return None;
        }
        let max = u32::try_from(room)
            .unwrap_or(MAX_RECEIVE_MESSAGES)
            .min(MAX_RECEIVE_MESSAGES);
        let request = sqs::receive_message(&ReceiveMessageInput {
            queue_url: &self.settings.queue_url,
            max_number_of_messages: Some(max),
            wait_time_seconds: Some(MAX_WAIT_TIME_SECS),
            visibility_timeout: Some(self.settings.visibility_secs()),
            message_system_attribute_names: &["ApproximateReceiveCount"],
            ..ReceiveMessageInput::default()
        });
        self.receiving = true;
        let options =
            CallOptions::buffered(sqs::MAX_RECEIVE_RESPONSE_BYTES).retrying_throttling_forever();
        Some(self.out(request, options, Pending::Receive { sent: now }))
    }

    pub(super) fn poll_attributes(&mut self, now: Instant) -> Option<Outgoing> {
        if self.stopping || self.attributes_in_flight || now < self.attributes_at {
            return None;
        }
        self.attributes_in_flight = true;
        self.attributes_at = now + ATTRIBUTES_INTERVAL;
        let request = sqs::get_queue_attributes(&self.settings.queue_url, GET_QUEUE_ATTRIBUTES);
        let options = CallOptions::buffered(sqs::MAX_SMALL_RESPONSE_BYTES);
        Some(self.out(request, options, Pending::Attributes))
    }
}
