//! Reading the streams: one GetLogEvents per stream at a time, its page copied out and handed
//! to the pipeline line by line as far as export accepts (the rest waits), each line matched
//! to the group's formats; then the page's position is queued until export acknowledges it.

use std::fmt;

use crate::aws::api::logs::{self, GetLogEventsInput, LogGroupRef};
use crate::aws::client::{ApiResponse, AwsCallError};
use crate::flowlog::layout_set::Choice;
use crate::pipeline::map::Enrichment;
use crate::pipeline::{LineOutcome, SourceLine};
use crate::source::{Ctx, Outgoing, Tag};

use super::control::{Layouts, backoff};
use super::stream::{Feeding, Phase, Position, Stream};
use super::{BACKPRESSURE_RECHECK, Counters, CwlInput, LAYOUT_RECHECK_MIN_AGE, Pending};

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

/// How far feeding a page got.
enum Fed {
    Done,
    /// The pipeline refused the next line.
    Full,
    /// Waiting for the formats to be read again.
    Layouts,
}

impl CwlInput {
    pub(super) fn get_log_events(&mut self, name: String) -> Option<Outgoing> {
        let s = self.streams.get(&name)?;
        let request = logs::get_log_events(&GetLogEventsInput {
            log_group: LogGroupRef::Name(&self.settings.log_group),
            log_stream_name: &name,
            start_time: s.read.start_time,
            end_time: None,
            start_from_head: Some(true),
            limit: self.settings.events_per_page,
            next_token: s.read.token.as_deref(),
        });
        let options = Self::logs_options(logs::MAX_EVENTS_RESPONSE_BYTES);
        let out = self.out(
            request,
            options,
            Pending::Events {
                stream: name.clone(),
            },
        );
        if let Some(s) = self.streams.get_mut(&name) {
            s.phase = Phase::InFlight { tag: out.tag };
        }
        Some(out)
    }

    pub(super) fn on_events(
        &mut self,
        name: &str,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
        ctx: &mut Ctx<'_>,
    ) {
        let now = self.now;
        let Some(s) = self.streams.get_mut(name) else {
            return;
        };
        if !matches!(s.phase, Phase::InFlight { tag: t } if t == tag) {
            return;
        }
        if self.stopping {
            // Not handed out: the next run reads it again from the checkpoint.
            s.phase = Phase::Waiting { at: now };
            return;
        }
        let body = match result {
            Ok(r) => r.body,
            Err(e) => return self.events_failed(name, &e),
        };
        let out = match logs::parse_get_log_events(&body) {
            Ok(out) => out,
            Err(e) => return self.events_failed(name, &e),
        };
        let mut page = self.pool.pop().unwrap_or_default();
        page.clear();
        let mut last = s.read.last_timestamp;
        for e in &out.events {
            page.push(&e.message, e.timestamp);
            last = Some(last.map_or(e.timestamp, |l| l.max(e.timestamp)));
        }
        let sent = s.read.token.as_deref();
        // Tokens are never null (spec D.4); a missing one cannot lead anywhere new.
        let caught_up = out.is_caught_up(sent) || out.next_forward_token.is_none();
        let next = Position {
            token: out
                .next_forward_token
                .as_deref()
                .map(str::to_string)
                .or_else(|| s.read.token.clone()),
            start_time: s.read.start_time,
            last_timestamp: last,
        };
        s.failures = 0;
        s.phase = Phase::Feeding(Box::new(Feeding {
            page,
            next,
            caught_up,
            last_serial: None,
            wants_layouts: false,
        }));
        self.pump(ctx);
    }

    fn events_failed(&mut self, name: &str, err: &dyn EventsError) {
        let now = self.now;
        let throttled = err.call_error().is_some_and(|e| self.check_throttle(e));
        let aws = err.call_error().and_then(AwsCallError::aws_error);
        if aws.is_some_and(|e| e.is_code("ResourceNotFoundException")) {
            return self.drop_stream(name, "ResourceNotFoundException", true);
        }
        let token_refused = aws.is_some_and(|e| {
            e.is_code("InvalidParameterException")
                && (e.message.is_empty() || e.message.to_ascii_lowercase().contains("token"))
        });
        let input = self.name.clone();
        let Some(s) = self.streams.get_mut(name) else {
            return;
        };
        if throttled {
            s.phase = Phase::Waiting { at: now };
            return;
        }
        if token_refused && s.read.token.is_some() {
            let start = s.saved.last_timestamp.or(s.read.start_time);
            log::warn!(
                "cloudwatch logs token refused (expired?), stream read again from its last checkpointed event; input={input} stream={name} start_time={start:?}"
            );
            s.read.token = None;
            s.read.start_time = start;
            s.phase = Phase::Waiting { at: now };
            return;
        }
        s.failures = s.failures.saturating_add(1);
        s.phase = Phase::Waiting {
            at: now + backoff(s.failures),
        };
        self.call_failed("logs:GetLogEvents", &err.text(name));
    }

    /// Hands held pages to the pipeline as far as it accepts them.
    pub(super) fn pump(&mut self, ctx: &mut Ctx<'_>) {
        let names: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| s.is_feeding())
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let Some(s) = self.streams.get_mut(&name) else {
                continue;
            };
            match feed(
                s,
                &mut self.layouts,
                &mut self.counters,
                &mut self.newest,
                self.stopping,
                ctx,
            ) {
                Fed::Done => self.page_done(&name),
                Fed::Full => self.recheck_at = Some(ctx.now + BACKPRESSURE_RECHECK),
                Fed::Layouts => {}
            }
        }
    }

    /// Every event of the stream's page is out: queue its position, free the page.
    fn page_done(&mut self, name: &str) {
        let now = self.now;
        let interval = self.settings.request_interval;
        let Some(s) = self.streams.get_mut(name) else {
            return;
        };
        let Phase::Feeding(f) = std::mem::replace(&mut s.phase, Phase::Waiting { at: now }) else {
            return;
        };
        let Feeding {
            page,
            next,
            caught_up,
            last_serial,
            ..
        } = *f;
        if caught_up {
            s.phase = Phase::Waiting { at: now + interval };
        }
        s.pending.push_back((last_serial, next.clone()));
        s.read = next;
        let settled = s.settle(self.acked);
        self.pool.push(page);
        if settled > 0 {
            self.counters.units_acked += settled;
            self.dirty();
        }
    }
}

/// A GetLogEvents failure: a failed call or an unreadable body.
trait EventsError {
    fn call_error(&self) -> Option<&AwsCallError>;
    fn text(&self, stream: &str) -> String;
}

impl EventsError for AwsCallError {
    fn call_error(&self) -> Option<&AwsCallError> {
        Some(self)
    }
    fn text(&self, stream: &str) -> String {
        format!("stream {stream}: {self}")
    }
}

impl EventsError for logs::LogsError {
    fn call_error(&self) -> Option<&AwsCallError> {
        None
    }
    fn text(&self, stream: &str) -> String {
        format!("stream {stream}: {self}")
    }
}

/// Hands a stream's page to the pipeline from where it stopped. See the module doc.
fn feed(
    s: &mut Stream,
    layouts: &mut Layouts,
    counters: &mut Counters,
    newest: &mut Option<i64>,
    stopping: bool,
    ctx: &mut Ctx<'_>,
) -> Fed {
    let Phase::Feeding(f) = &mut s.phase else {
        return Fed::Layouts;
    };
    if f.wants_layouts {
        if !stopping && (layouts.call.in_flight || layouts.call.due <= ctx.now) {
            return Fed::Layouts;
        }
        f.wants_layouts = false;
    }
    let Some(set) = layouts.set.as_ref() else {
        return Fed::Layouts;
    };
    while let Some((bytes, ts)) = f.page.event(f.page.next) {
        if !ctx.pipeline.can_accept(ctx.now) {
            return Fed::Full;
        }
        let number = s.lines + 1;
        let line = SourceLine {
            source: &s.source,
            number,
            bytes,
        };
        let layout = match set.choose(bytes) {
            Choice::One(l) => Some(l),
            Choice::Ambiguous(l) => {
                counters.ambiguous += 1;
                Some(l)
            }
            Choice::None => None,
        };
        let outcome = match layout {
            Some(l) => ctx
                .pipeline
                .handle_line(l, line, &Enrichment::default(), ctx.now, ctx.wall),
            None if !stopping
                && (layouts.call.in_flight
                    || layouts.is_stale(ctx.now, LAYOUT_RECHECK_MIN_AGE)) =>
            {
                // Perhaps a flow log created since the formats were read: read them again,
                // and hand this line out after that.
                if !layouts.call.in_flight {
                    layouts.call.due = ctx.now;
                }
                f.wants_layouts = true;
                return Fed::Layouts;
            }
            None => {
                counters.unmatched += 1;
                ctx.pipeline
                    .stats
                    .count_malformed(&s.source, number, &NoMatchingFormat(set.len()));
                LineOutcome::Malformed
            }
        };
        match outcome {
            LineOutcome::Exported(serial) => {
                f.last_serial = Some(serial);
                counters.records_out += 1;
            }
            LineOutcome::Counted => {}
            LineOutcome::Malformed => counters.errors += 1,
        }
        counters.lines_in += 1;
        s.lines = number;
        *newest = Some(newest.map_or(ts, |n| n.max(ts)));
        f.page.next += 1;
    }
    Fed::Done
}
