//! The CloudWatch Logs input: one log group that VPC flow logs write to, polled with the
//! CloudWatch Logs API (one stream per ENI, spec.md §A.7, §D.4), every `[cloudwatch]
//! request_interval` (1 s .. 1 d, default 30 s, the seed's "CloudWatch Logs request interval").
//!
//! Group level:
//!
//! ```text
//!  Starting ─┬─ DescribeFlowLogs (filter log-group-name) → the formats ─┬─► Polling ◄─────────┐
//!            └─ DescribeSubscriptionFilters (only if a Kinesis input ───┘     │ a filter sends │
//!               is enabled)                                                   ▼ the group to   │
//!                                                                          Covered  an enabled │
//!             (no GetLogEvents; the filters are checked again every 5 min;  Kinesis input)     │
//!              the filter gone → Polling, each stream from where it stopped) ─────────────────┘
//! ```
//!
//! The formats are read again every 10 minutes (new flow logs), and at once when a line
//! matches none of them and they are more than a minute old. While polling, DescribeLogStreams
//! runs at start and then every `max(request_interval, 60 s)`: new streams (new ENIs) join,
//! streams no longer listed are dropped with their positions.
//!
//! Per stream (`stream` holds its state):
//!
//! ```text
//!  Waiting(at) ── at ≤ now, pipeline accepts, < MAX_PAGES pages busy, a budget token ──► InFlight
//!     ▲  ▲  ▲                                                          GetLogEvents answered │
//!     │  │  └── throttled: budget halved, again at once · failed: backoff 1 s … 1 min        │
//!     │  │      token refused (InvalidParameterException): from startTime = last checkpointed│
//!     │  │      event timestamp · stream gone (ResourceNotFoundException): dropped           ▼
//!     │  └──────────────────── more to read (a new forward token): at = now ────────── Feeding
//!     └─────── caught up (the forward token came back unchanged): at = now + request_interval ┘
//!                (can_accept false mid-page: the rest of the page waits, nothing new is asked)
//! ```
//!
//! Where a stream starts: its checkpointed forward token (sent with `startFromHead=true` and the
//! `startTime` its chain began with, as SDK paginators resend the first request's parameters);
//! without one, TRIM_HORIZON reads from the head, LATEST from `startTime` = the input's first
//! start (kept in the checkpoint, so a restart loses nothing) for streams listed at start, and
//! from the head for streams that appear later.
//!
//! Delivery (design.md): a page's position (its forward token and newest event timestamp)
//! becomes the stream's checkpoint only when `handle_acked` covers the page's last exported
//! serial; pages of a stream are read one after the other, so checkpoints advance in order.
//! What repeats after a crash is what was read after the last checkpoint. A refused token
//! (expired after 24 h) restarts the stream at the last checkpointed event's millisecond: the
//! events of that millisecond that were already exported are exported again.
//!
//! Lines are matched to the group's formats one by one (several flow logs may write to one
//! group, and one ENI's stream then interleaves their formats): a line that fits none is
//! malformed (counted, reported with `cwl:GROUP/STREAM` and its event number in this run), one
//! that fits several goes to the likeliest and is counted as ambiguous.
//!
//! One request budget (`budget`) per account and region paces every CloudWatch Logs call.
//!
//! - `control`: the paged group-level listings, the formats, the retry backoff.
//! - `group`: the group-level calls and what their answers do.
//! - `events`: GetLogEvents and handing its pages to the pipeline.
//! - `stream`: one stream's positions, page and phase.

mod control;
mod events;
mod group;
mod stream;

pub use control::{RETRY_MAX, RETRY_MIN};
pub use stream::Position;

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use crate::aws::client::{ApiResponse, AwsCallError, CallOptions};
use crate::aws::request::ApiRequest;
use crate::aws::retry::{self, Failure, Verdict};
use crate::config::config::StartPosition;
use crate::export::Serial;
use crate::source::budget::SharedBudget;
use crate::source::{Ctx, Input, InputStatus, Outgoing, Tag};
use control::{Layouts, Paged};
use stream::{Page, Stream};

/// The seed's default CloudWatch Logs request interval.
pub const DEFAULT_REQUEST_INTERVAL: Duration = Duration::from_secs(30);
/// "Valid values are from 1 second to 1 day" (seed, "CloudWatch Logs request interval").
pub const MIN_REQUEST_INTERVAL: Duration = Duration::from_secs(1);
pub const MAX_REQUEST_INTERVAL: Duration = Duration::from_secs(86_400);
/// Streams are listed again every request interval, but not more often than this.
pub const MIN_LISTING_INTERVAL: Duration = Duration::from_secs(60);
/// The flow logs' formats are read again this often (new flow logs into the group).
pub const LAYOUT_REFRESH: Duration = Duration::from_secs(600);
/// A line of no known format triggers a new read of the formats if they are this old.
pub const LAYOUT_RECHECK_MIN_AGE: Duration = Duration::from_secs(60);
/// Subscription filters (Kinesis coverage) are checked again this often.
pub const COVER_RECHECK: Duration = Duration::from_secs(300);
/// GetLogEvents out plus pages held, per input: bounds memory (a page is at most 1 MB of
/// events, `logs::MAX_EVENT_BYTES_PER_PAGE`) whatever the number of streams.
pub const MAX_PAGES: usize = 4;
/// While the pipeline refuses lines, look again this often.
const BACKPRESSURE_RECHECK: Duration = Duration::from_millis(50);
/// A failed call stays in the status line this long.
const ERROR_SHOWN: Duration = Duration::from_secs(600);
const CHECKPOINT_VERSION: u64 = 1;

/// What the input needs to know (`[input cwl:…]`, `[cloudwatch]`, the enabled Kinesis inputs).
#[derive(Clone, Debug)]
pub struct CwlSettings {
    pub log_group: String,
    pub log_group_arn: String,
    /// Clamped to 1 s ..= 1 d.
    pub request_interval: Duration,
    /// Where a stream with no checkpoint starts.
    pub initial_position: StartPosition,
    /// ARNs of the enabled Kinesis inputs: a subscription filter to one of them means the group
    /// is read there, and not polled here.
    pub kinesis_streams: Vec<String>,
    /// Shared by every CloudWatch Logs input of the same account and region.
    pub budget: SharedBudget,
    /// GetLogEvents `limit`; `None` = as many as fit in 1 MB (up to 10 000).
    pub events_per_page: Option<u32>,
}

impl CwlSettings {
    /// Settings for `arn:aws:logs:REGION:ACCOUNT:log-group:NAME` (a trailing `:*` is allowed)
    /// with the defaults; `None` if that is not a log group ARN.
    pub fn new(log_group_arn: &str, budget: SharedBudget) -> Option<CwlSettings> {
        let arn = log_group_arn.trim_end_matches(":*");
        Some(CwlSettings {
            log_group: log_group_name(arn)?.to_string(),
            log_group_arn: arn.to_string(),
            request_interval: DEFAULT_REQUEST_INTERVAL,
            initial_position: StartPosition::Latest,
            kinesis_streams: Vec::new(),
            budget,
            events_per_page: None,
        })
    }
}

/// The group name in a log group ARN.
pub fn log_group_name(arn: &str) -> Option<&str> {
    let (_, name) = arn.split_once(":log-group:")?;
    let name = name.trim_end_matches(":*");
    (arn.starts_with("arn:") && !name.is_empty()).then_some(name)
}

#[derive(Debug)]
enum Pending {
    FlowLogs,
    Filters,
    Streams,
    Events { stream: String },
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    lines_in: u64,
    records_out: u64,
    units_acked: u64,
    errors: u64,
    ambiguous: u64,
    unmatched: u64,
}

/// The input. See the module doc.
pub struct CwlInput {
    name: String,
    settings: CwlSettings,
    /// Epoch ms of the input's first start (LATEST), kept across restarts.
    since: i64,
    layouts: Layouts,
    cover: Paged,
    cover_known: bool,
    covered_by: Option<String>,
    cover_found: Option<String>,
    listing: Paged,
    listed_once: bool,
    streams: BTreeMap<String, Stream>,
    /// Positions of streams not listed (yet, or again): from the checkpoint, or of a stream
    /// that answered ResourceNotFoundException. The next complete listing clears them.
    restored: BTreeMap<String, Position>,
    pending: HashMap<Tag, Pending>,
    next_tag: u64,
    pool: Vec<Page>,
    acked: Serial,
    now: Instant,
    wall: SystemTime,
    budget_wake: Option<Instant>,
    recheck_at: Option<Instant>,
    stopping: bool,
    change_seq: u64,
    saved_seq: u64,
    snapshot_seq: Cell<u64>,
    counters: Counters,
    newest: Option<i64>,
    /// The last failed call, and when: shown in the status for `ERROR_SHOWN` after.
    last_error: Option<(Instant, String)>,
}

fn epoch_ms(wall: SystemTime) -> i64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl CwlInput {
    /// A new input; `saved` is what `checkpoint` returned in an earlier run.
    pub fn new(
        mut settings: CwlSettings,
        saved: Option<&Value>,
        now: Instant,
        wall: SystemTime,
    ) -> CwlInput {
        settings.request_interval = settings
            .request_interval
            .clamp(MIN_REQUEST_INTERVAL, MAX_REQUEST_INTERVAL);
        let name = format!("cwl:{}", settings.log_group);
        let restored = saved.and_then(|v| {
            let r = restore(v, &settings.log_group);
            if r.is_none() {
                log::warn!("cloudwatch logs checkpoint ignored, not ours or damaged; input={name}");
            }
            r
        });
        let fresh = restored.is_none();
        let (since, restored) = restored.unwrap_or_else(|| (epoch_ms(wall), BTreeMap::new()));
        let cover_known = settings.kinesis_streams.is_empty();
        CwlInput {
            name,
            since,
            layouts: Layouts::new(now),
            cover: Paged::new(now),
            cover_known,
            covered_by: None,
            cover_found: None,
            listing: Paged::new(now),
            listed_once: false,
            streams: BTreeMap::new(),
            restored,
            pending: HashMap::new(),
            next_tag: 0,
            pool: Vec::new(),
            acked: Serial(0),
            now,
            wall,
            budget_wake: None,
            recheck_at: None,
            stopping: false,
            // A first run saves its start at once: LATEST means "since then" after a restart.
            change_seq: u64::from(fresh),
            saved_seq: 0,
            snapshot_seq: Cell::new(0),
            counters: Counters::default(),
            newest: None,
            last_error: None,
            settings,
        }
    }

    /// The streams known now.
    pub fn stream_names(&self) -> impl Iterator<Item = &str> {
        self.streams.keys().map(String::as_str)
    }

    /// A stream's checkpointed position.
    pub fn saved_position(&self, stream: &str) -> Option<&Position> {
        self.streams.get(stream).map(|s| &s.saved)
    }

    /// `Some(kinesis ARN)` while a Kinesis input reads the group.
    pub fn covered_by(&self) -> Option<&str> {
        self.covered_by.as_deref()
    }

    fn touch(&mut self, ctx: &Ctx<'_>) {
        self.now = ctx.now;
        self.wall = ctx.wall;
    }

    fn dirty(&mut self) {
        self.change_seq += 1;
    }

    fn can_poll(&self) -> bool {
        self.layouts.set.is_some() && self.cover_known && self.covered_by.is_none()
    }

    fn listing_period(&self) -> Duration {
        self.settings.request_interval.max(MIN_LISTING_INTERVAL)
    }

    fn pages_busy(&self) -> usize {
        let out = self
            .pending
            .values()
            .filter(|p| matches!(p, Pending::Events { .. }))
            .count();
        out + self.streams.values().filter(|s| s.is_feeding()).count()
    }

    fn out(&mut self, request: ApiRequest, options: CallOptions, p: Pending) -> Outgoing {
        self.next_tag += 1;
        let tag = Tag(self.next_tag);
        self.pending.insert(tag, p);
        Outgoing {
            tag,
            request,
            options,
        }
    }

    /// One token of the shared budget, or the time to try again.
    fn take_budget(&mut self) -> bool {
        let mut b = self.settings.budget.borrow_mut();
        if b.try_take(self.now) {
            return true;
        }
        self.budget_wake = Some(
            b.next_token_at()
                .filter(|&t| t > self.now)
                .unwrap_or(self.now + BACKPRESSURE_RECHECK),
        );
        false
    }

    /// Logs calls are not retried by the client: a throttle must reach the budget, and the
    /// input retries each call itself.
    fn logs_options(cap: usize) -> CallOptions {
        CallOptions::buffered(cap).with_max_attempts(1)
    }

    /// The waiting stream due first, if one is due.
    fn next_due(&self) -> Option<String> {
        self.streams
            .iter()
            .filter_map(|(name, s)| s.due().filter(|&at| at <= self.now).map(|at| (at, name)))
            .min()
            .map(|(_, name)| name.clone())
    }

    /// Whether `err` is a throttle; if so the shared budget slows down.
    fn check_throttle(&self, err: &AwsCallError) -> bool {
        let throttled = err.aws_error().is_some_and(|e| {
            matches!(
                retry::classify(Failure::Aws(e), self.wall),
                Verdict::Retry { throttle: true }
            )
        });
        if throttled {
            self.settings.budget.borrow_mut().handle_throttled(self.now);
        }
        throttled
    }

    fn call_failed(&mut self, what: &str, err: &dyn fmt::Display) {
        self.counters.errors += 1;
        let text = err.to_string();
        log::warn!(
            "cloudwatch logs call failed; input={} call={what} error={text}",
            self.name
        );
        self.last_error = Some((self.now, text));
    }

    fn lag(&self) -> Option<u64> {
        let newest = self.newest?;
        u64::try_from(epoch_ms(self.wall).saturating_sub(newest).max(0)).ok()
    }

    fn detail(&self) -> String {
        if let Some(k) = &self.covered_by {
            return format!("covered by kinesis:{k}");
        }
        let mut d = if self.layouts.set.is_none() {
            "reading the flow-log formats (ec2:DescribeFlowLogs)".to_string()
        } else if !self.cover_known {
            "checking subscription filters".to_string()
        } else {
            let busy = self.pages_busy();
            let b = self.settings.budget.borrow();
            format!(
                "{} streams, {busy} pages in flight, {} ambiguous lines, {} lines of no known format, budget {}/s ({} throttled)",
                self.streams.len(),
                self.counters.ambiguous,
                self.counters.unmatched,
                b.rate(),
                b.throttles()
            )
        };
        if let Some((at, e)) = &self.last_error
            && self.now.saturating_duration_since(*at) < ERROR_SHOWN
        {
            d.push_str(", last error: ");
            d.push_str(e);
        }
        d
    }
}

/// `(since, positions)` from a checkpoint, `None` if it is not one of ours.
fn restore(v: &Value, group: &str) -> Option<(i64, BTreeMap<String, Position>)> {
    if v.get("version")?.as_u64()? != CHECKPOINT_VERSION {
        return None;
    }
    if v.get("log_group")
        .is_some_and(|g| g.as_str() != Some(group))
    {
        return None;
    }
    let since = v.get("since")?.as_i64()?;
    let mut out = BTreeMap::new();
    for (name, p) in v.get("streams")?.as_object()? {
        match Position::from_json(p) {
            Some(p) => {
                out.insert(name.clone(), p);
            }
            None => log::warn!("cloudwatch logs checkpoint entry ignored; stream={name}"),
        }
    }
    Some((since, out))
}

impl Input for CwlInput {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll_request(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing> {
        self.touch(ctx);
        self.budget_wake = None;
        self.recheck_at = None;
        self.pump(ctx);
        if self.stopping {
            return None;
        }
        let now = self.now;
        if self.layouts.call.is_due(now) {
            return Some(self.describe_flow_logs());
        }
        if !self.settings.kinesis_streams.is_empty() && self.cover.is_due(now) {
            if !self.take_budget() {
                return None;
            }
            return Some(self.describe_filters());
        }
        if !self.can_poll() {
            return None;
        }
        if self.listing.is_due(now) {
            if !self.take_budget() {
                return None;
            }
            return Some(self.describe_streams());
        }
        if self.pages_busy() >= MAX_PAGES {
            return None;
        }
        let name = self.next_due()?;
        if !ctx.pipeline.can_accept(now) {
            // Backpressure: nothing new while export is full.
            self.recheck_at = Some(now + BACKPRESSURE_RECHECK);
            return None;
        }
        if !self.take_budget() {
            return None;
        }
        self.get_log_events(name)
    }

    fn handle_response(
        &mut self,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
        ctx: &mut Ctx<'_>,
    ) {
        self.touch(ctx);
        match self.pending.remove(&tag) {
            Some(Pending::FlowLogs) => self.on_flow_logs(result),
            Some(Pending::Filters) => self.on_filters(result),
            Some(Pending::Streams) => self.on_streams(result),
            Some(Pending::Events { stream }) => self.on_events(&stream, tag, result, ctx),
            None => {}
        }
        self.pump(ctx);
    }

    fn handle_acked(&mut self, acked: Serial, ctx: &mut Ctx<'_>) {
        self.touch(ctx);
        self.acked = self.acked.max(acked);
        let mut settled = 0;
        for s in self.streams.values_mut() {
            settled += s.settle(self.acked);
        }
        if settled > 0 {
            self.counters.units_acked += settled;
            self.dirty();
        }
        self.pump(ctx);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| {
            if at > self.now {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        if !self.stopping {
            if !self.layouts.call.in_flight {
                consider(self.layouts.call.due);
            }
            if !self.settings.kinesis_streams.is_empty() && !self.cover.in_flight {
                consider(self.cover.due);
            }
            if self.can_poll() {
                if !self.listing.in_flight {
                    consider(self.listing.due);
                }
                for s in self.streams.values() {
                    if let Some(at) = s.due() {
                        consider(at);
                    }
                }
            }
            if let Some(at) = self.budget_wake {
                consider(at);
            }
        }
        if let Some(at) = self.recheck_at {
            consider(at);
        }
        next
    }

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.touch(ctx);
        self.recheck_at = None;
        self.pump(ctx);
    }

    fn checkpoint(&self) -> Value {
        self.snapshot_seq.set(self.change_seq);
        let mut streams = Map::new();
        for (name, p) in &self.restored {
            streams.insert(name.clone(), p.to_json());
        }
        for (name, s) in &self.streams {
            if !s.saved.is_empty() {
                streams.insert(name.clone(), s.saved.to_json());
            }
        }
        json!({
            "version": CHECKPOINT_VERSION,
            "log_group": self.settings.log_group,
            "since": self.since,
            "streams": streams,
        })
    }

    fn is_dirty(&self) -> bool {
        self.change_seq > self.saved_seq
    }

    fn mark_saved(&mut self) {
        self.saved_seq = self.saved_seq.max(self.snapshot_seq.get());
    }

    fn status(&self) -> InputStatus {
        InputStatus {
            lines_in: self.counters.lines_in,
            records_out: self.counters.records_out,
            units_acked: self.counters.units_acked,
            errors: self.counters.errors,
            lag: self.lag(),
            detail: self.detail(),
        }
    }

    fn handle_stop(&mut self, ctx: &mut Ctx<'_>) -> bool {
        self.touch(ctx);
        self.stopping = true;
        self.pump(ctx);
        self.streams
            .values()
            .all(|s| !s.is_feeding() && s.pending.is_empty())
    }
}

#[cfg(test)]
mod tests;
