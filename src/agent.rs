//! The agent: the enabled inputs, the pipeline they feed, and the bookkeeping between them and
//! the driver — which call belongs to which input, streamed bodies, acknowledgements,
//! checkpoints, the status file — as a sans-IO state machine.
//!
//! The driver (`driver/agent_loop.rs`) owns the sockets, the clock and the disk. It hands the
//! agent AWS events and body readiness, lets it submit calls and read bodies through the narrow
//! [`AwsPort`], writes the [`StateWrite`]s it asks for, and calls it back at `poll_timeout`:
//!
//! ```text
//!  driver ── AwsEvent (Done / Failed / StreamStart) ──► handle_aws_event ──► input.handle_response
//!         ── AccountKnown(cache, account id) ─────────► handle_account_known: inputs of that account start
//!         ── BodyReady(call) ─► handle_body_ready: input.stream_buffer → AwsPort::read_body
//!                                  → input.handle_stream_data, until the body or the input's room ends
//!         ── each turn ──────► poll_work: acks (export.acked_through → input.handle_acked),
//!                                  input.poll_request → AwsPort::submit, stalled bodies resumed
//!         ◄── poll_write ───── checkpoints.json / exporters.json / status.json; handle_written → mark_saved
//! ```
//!
//! Lifecycle:
//!
//! ```text
//!  Running ──handle_stop──► Draining ──every input's handle_stop is true (nothing in flight)──┐
//!   (inputs whose account is   (inputs finish their units;                                   │
//!    not known yet wait)        no new ones start)                                           ▼
//!                 Done ◄── no call out, or STOP_LINGER over ◄── Lingering ◄── Flushing: export flushed
//!            (calls still out are canceled:   (SQS deletes that followed          and drained, acks handed
//!             their units come back and are    the last save finish)               to the inputs, checkpoints
//!             skipped or repeated)                                                 saved at once
//! ```
//! The driver bounds the whole stop (`STOP_GRACE`); when it runs out, `final_writes` still
//! saves the checkpoints, which only ever hold acknowledged positions.
//!
//! Delivery order (design.md, "Delivery guarantees"): an input advances a checkpoint only in
//! `handle_acked`, which the agent calls only with what `Export::acked_through` says was written
//! to every collector's socket; the checkpoint document is built from the inputs after that, and
//! `mark_saved` is called only after the driver reports the file durably written. So a crash at
//! any moment restarts from positions whose records all went out.
//!
//! - `plan`: the enabled inputs of the config, their accounts and regions.
//! - `build`: the input state machines, with shared CloudWatch Logs budgets.
//! - `state`: the state files' contents (checkpoints, status).
//! - `inventory`: the scheduled inventory refresh's calls and what a completed one changes.
//! - `writes`: which state file to write next, and the last writes before exit.

pub mod build;
pub mod inventory;
pub mod plan;
pub mod state;
mod writes;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};

use crate::aws::client::{ApiResponse, AwsCallError, AwsEvent, CallId, CallOptions};
use crate::aws::credentials::CacheId;
use crate::aws::request::ApiRequest;
use crate::config::config::Config;
use crate::export::Serial;
use crate::pipeline::Pipeline;
use crate::source::{Ctx, Input, Tag};
use build::{BuildError, Builder};
use inventory::InventoryRefresh;
use plan::{InputPlan, PlanError};
use state::{StateError, StateFile, TransportStats, parse_checkpoints};

/// Checkpoints (and the domain table) are written at most this often while running: often
/// enough that S3 messages, deleted only after a save, go soon; rarely enough that fsyncs cost
/// nothing next to the work. At stop they are written at once.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// `status.json` refresh.
pub const STATUS_FILE_INTERVAL: Duration = Duration::from_secs(5);
/// While a streamed body waits for room in its input, look again this often (room comes from
/// export progress, which the driver's events usually report first).
pub const STALL_RECHECK: Duration = Duration::from_millis(20);
/// At stop, once everything is delivered and saved, calls still out (the SQS deletes that follow
/// the last save; a long poll) get this long before they are canceled.
pub const STOP_LINGER: Duration = Duration::from_secs(3);
/// An input whose account no credentials act in is reported after this long.
pub const ACCOUNT_WAIT_WARN: Duration = Duration::from_secs(60);
/// With no saved inventory, inputs wait at most this long for the first refresh: records of
/// the default format have no `vpc-id`, so before an inventory maps their ENI to its VPC they
/// would all go to the unknown-VPC domain, unenriched. Past it they go on without.
pub const FIRST_INVENTORY_WAIT: Duration = Duration::from_secs(60);
/// Calls taken from one input per `poll_work`: inputs bound themselves; this guards the loop.
const MAX_REQUESTS_PER_POLL: usize = 256;

/// The AWS calls the agent makes, as the driver offers them (`AwsDriver` in the real loop, a
/// fake in tests).
pub trait AwsPort {
    fn submit(
        &mut self,
        account: CacheId,
        region: &str,
        request: ApiRequest,
        options: CallOptions,
    ) -> CallId;
    /// No event comes for `call` any more.
    fn cancel(&mut self, call: CallId);
    /// Copies waiting body bytes of a streamed call into `out`; 0 when none wait now.
    fn read_body(&mut self, call: CallId, out: &mut [u8]) -> usize;
}

/// What the agent needs beyond its inputs and pipeline.
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// The one-line summary in the log (`[agent] status_interval`).
    pub status_interval: Duration,
    /// Collector addresses as text, in `CollectorId` order, for the status file.
    pub collectors: Vec<String>,
    /// The AWS endpoints are overridden (`AWS_ENDPOINT_URL`: an emulator such as moto); inputs
    /// then work around the emulator's known differences.
    pub emulator: bool,
}

/// Why the agent cannot start.
#[derive(Debug)]
pub enum AgentError {
    Plan(PlanError),
    Build(BuildError),
    State(StateError),
}

impl fmt::Display for AgentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentError::Plan(e) => write!(f, "{e}"),
            AgentError::Build(e) => write!(f, "{e}"),
            AgentError::State(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AgentError {}

/// One input and where its calls go.
struct Slot {
    plan: InputPlan,
    input: Box<dyn Input>,
    /// Set when a credential cache reports the plan's account id.
    account: Option<CacheId>,
    region: Option<String>,
    /// At stop: its `handle_stop` said nothing is in flight.
    stop_ready: bool,
}

/// A call out: the input and its tag; `started` once a streamed body began.
#[derive(Clone, Copy, Debug)]
struct Route {
    slot: usize,
    tag: Tag,
    started: bool,
}

#[derive(Debug)]
struct Stop {
    since: Instant,
    inputs_idle: bool,
    /// Everything delivered and saved since then; only calls are out.
    quiet_since: Option<Instant>,
}

/// See the module doc.
pub struct Agent {
    pipeline: Pipeline,
    slots: Vec<Slot>,
    routes: HashMap<CallId, Route>,
    /// Streamed calls left unread because their input had no room.
    stalled: Vec<CallId>,
    stalled_scratch: Vec<CallId>,
    /// The last `acked_through` handed to the inputs.
    acked: Serial,
    /// Checkpoint entries of inputs that are not running now, kept as they were.
    retained: Map<String, Value>,
    settings: AgentSettings,
    started: Instant,
    now: Instant,
    wall: SystemTime,
    stop: Option<Stop>,
    /// A write handed to the driver and not reported yet.
    writing: Option<StateFile>,
    checkpoints_due: Instant,
    exporters_due: Instant,
    status_file_at: Instant,
    status_log_at: Instant,
    last_write_failed: bool,
    write_failures: u64,
    /// Checkpoints were saved and no `poll_request` round has run since (an S3 input deletes
    /// its messages after a save: the stop waits for that round).
    saved_since_poll: bool,
    transport: TransportStats,
    account_warn_at: Option<Instant>,
    /// Inputs send nothing before this instant unless an inventory arrives first
    /// ([`FIRST_INVENTORY_WAIT`]).
    first_inventory_until: Option<Instant>,
    refresh: Option<InventoryRefresh>,
}

impl Agent {
    /// The agent of `cfg`'s enabled inputs, resuming from `checkpoints` (the bytes of
    /// `checkpoints.json`, if there is one).
    pub fn from_config(
        cfg: &Config,
        pipeline: Pipeline,
        checkpoints: Option<&[u8]>,
        settings: AgentSettings,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Agent, AgentError> {
        let plans = plan::plan(cfg).map_err(AgentError::Plan)?;
        let mut saved = parse_checkpoints(checkpoints).map_err(AgentError::State)?;
        let mut builder = Builder::new(cfg, &plans, settings.emulator);
        let mut inputs = Vec::with_capacity(plans.len());
        for p in plans {
            let entry = saved.remove(&p.name);
            let input = builder
                .build(&p, entry.as_ref(), now, wall)
                .map_err(AgentError::Build)?;
            inputs.push((p, input));
        }
        Ok(Agent::new(pipeline, inputs, saved, settings, now, wall))
    }

    /// An agent running `inputs`; `retained`: checkpoint entries of inputs not among them.
    pub fn new(
        pipeline: Pipeline,
        inputs: Vec<(InputPlan, Box<dyn Input>)>,
        retained: Map<String, Value>,
        settings: AgentSettings,
        now: Instant,
        wall: SystemTime,
    ) -> Agent {
        let slots = inputs
            .into_iter()
            .map(|(plan, input)| Slot {
                plan,
                input,
                account: None,
                region: None,
                stop_ready: false,
            })
            .collect();
        Agent {
            pipeline,
            slots,
            routes: HashMap::new(),
            stalled: Vec::new(),
            stalled_scratch: Vec::new(),
            acked: Serial(0),
            retained,
            status_log_at: now + settings.status_interval,
            settings,
            started: now,
            now,
            wall,
            stop: None,
            writing: None,
            checkpoints_due: now,
            exporters_due: now,
            status_file_at: now,
            last_write_failed: false,
            write_failures: 0,
            saved_since_poll: false,
            transport: TransportStats::default(),
            account_warn_at: Some(now + ACCOUNT_WAIT_WARN),
            first_inventory_until: None,
            refresh: None,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The driver pumps export messages to the sockets and opens bind-mode sockets through it.
    pub fn pipeline_mut(&mut self) -> &mut Pipeline {
        &mut self.pipeline
    }

    /// Names of the inputs, in config order.
    pub fn input_names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.plan.name.as_str())
    }

    /// Calls out now.
    pub fn calls_out(&self) -> usize {
        self.routes.len()
    }

    pub fn is_stopping(&self) -> bool {
        self.stop.is_some()
    }

    /// The driver's transport counters, for the status file and line.
    /// The driver's transport counters, copied in place (no allocation once the collectors'
    /// entries exist).
    pub fn note_transport(&mut self, stats: &TransportStats) {
        let t = &mut self.transport;
        t.datagrams = stats.datagrams;
        t.bytes = stats.bytes;
        t.lost = stats.lost;
        t.reconnects = stats.reconnects;
        t.lost_by_collector.clear();
        t.lost_by_collector
            .extend_from_slice(&stats.lost_by_collector);
    }

    /// A credential cache acts in `account_id`: the inputs of that account start, in their
    /// plan's region or else `default_region` (the account's).
    pub fn handle_account_known(
        &mut self,
        account: CacheId,
        account_id: &str,
        default_region: &str,
    ) {
        for s in &mut self.slots {
            if s.account.is_some() || s.plan.account_id != account_id {
                continue;
            }
            let region = s
                .plan
                .region
                .clone()
                .unwrap_or_else(|| default_region.to_string());
            log::info!(
                "input started; input={} account={account_id} region={region} credentials=#{}",
                s.plan.name,
                account.0
            );
            s.account = Some(account);
            s.region = Some(region);
        }
    }

    /// An outcome of a call (`AccountKnown` goes to [`Agent::handle_account_known`]).
    pub fn handle_aws_event(&mut self, event: AwsEvent, now: Instant, wall: SystemTime) {
        self.touch(now, wall);
        match event {
            AwsEvent::StreamStart {
                call,
                status,
                headers,
            } => {
                let Some(r) = self.routes.get_mut(&call) else {
                    return;
                };
                r.started = true;
                let (slot, tag) = (r.slot, r.tag);
                if let Some(s) = self.slots.get_mut(slot) {
                    let mut ctx = Ctx {
                        now,
                        wall,
                        pipeline: &mut self.pipeline,
                    };
                    s.input.handle_stream_start(tag, status, &headers, &mut ctx);
                }
            }
            AwsEvent::Done { call, response } => self.finish(call, Ok(response), now, wall),
            AwsEvent::Failed { call, error } => self.finish(call, Err(error), now, wall),
            AwsEvent::AccountKnown { .. } => {}
        }
    }

    fn finish(
        &mut self,
        call: CallId,
        result: Result<ApiResponse, AwsCallError>,
        now: Instant,
        wall: SystemTime,
    ) {
        if let Some(refresh) = &mut self.refresh
            && refresh.handle_result(call, &result, &mut self.pipeline, now, wall)
        {
            return;
        }
        let Some(r) = self.routes.remove(&call) else {
            return;
        };
        self.stalled.retain(|c| *c != call);
        let Some(s) = self.slots.get_mut(r.slot) else {
            return;
        };
        let mut ctx = Ctx {
            now,
            wall,
            pipeline: &mut self.pipeline,
        };
        if r.started {
            s.input
                .handle_stream_end(r.tag, result.map(|_| ()), &mut ctx);
        } else {
            s.input.handle_response(r.tag, result, &mut ctx);
        }
    }

    /// Body bytes of streamed call `call` wait in the driver.
    pub fn handle_body_ready(
        &mut self,
        call: CallId,
        port: &mut dyn AwsPort,
        now: Instant,
        wall: SystemTime,
    ) {
        self.touch(now, wall);
        self.stalled.retain(|c| *c != call);
        self.read_stream(call, port, now, wall);
    }

    /// Copies body bytes into the input until the driver has none or the input no room (then
    /// the call is stalled and resumed from `poll_work`).
    fn read_stream(
        &mut self,
        call: CallId,
        port: &mut dyn AwsPort,
        now: Instant,
        wall: SystemTime,
    ) {
        let Some(r) = self.routes.get(&call).copied() else {
            return;
        };
        let Some(s) = self.slots.get_mut(r.slot) else {
            return;
        };
        loop {
            let buf = s.input.stream_buffer(r.tag);
            if buf.is_empty() {
                if !self.stalled.contains(&call) {
                    self.stalled.push(call);
                }
                return;
            }
            let n = port.read_body(call, buf);
            if n == 0 {
                return;
            }
            let mut ctx = Ctx {
                now,
                wall,
                pipeline: &mut self.pipeline,
            };
            s.input.handle_stream_data(r.tag, n, &mut ctx);
        }
    }

    /// True when `poll_work` has something to do at once (export delivered more records).
    pub fn has_work(&self) -> bool {
        self.pipeline.export.acked_through() > self.acked
    }

    /// Once per loop turn, after events and after export was pumped: acknowledgements, new
    /// calls, stalled bodies, the stop's progress.
    pub fn poll_work(&mut self, port: &mut dyn AwsPort, now: Instant, wall: SystemTime) {
        self.touch(now, wall);
        self.deliver_acks(now, wall);
        if self.stop.is_some() {
            let mut all = true;
            for s in &mut self.slots {
                let mut ctx = Ctx {
                    now,
                    wall,
                    pipeline: &mut self.pipeline,
                };
                s.stop_ready = s.input.handle_stop(&mut ctx);
                all &= s.stop_ready;
            }
            if let Some(stop) = &mut self.stop {
                if all && !stop.inputs_idle {
                    log::info!(
                        "stop: every input is idle, delivering what is left; waited_ms={}",
                        now.saturating_duration_since(stop.since).as_millis()
                    );
                }
                stop.inputs_idle = all;
            }
        }
        if let Some(r) = &mut self.refresh {
            if self.stop.is_some() {
                r.handle_stop(port);
            } else {
                r.poll_requests(port);
            }
        }
        self.poll_requests(port, now, wall);
        self.resume_stalled(port, now, wall);
        self.saved_since_poll = false;
        self.warn_waiting_inputs(now);
        if self.stop.is_some() {
            self.advance_stop(port, now, wall);
        }
    }

    fn deliver_acks(&mut self, now: Instant, wall: SystemTime) {
        let acked = self.pipeline.export.acked_through();
        if acked <= self.acked {
            return;
        }
        self.acked = acked;
        for s in &mut self.slots {
            let mut ctx = Ctx {
                now,
                wall,
                pipeline: &mut self.pipeline,
            };
            s.input.handle_acked(acked, &mut ctx);
        }
    }

    fn poll_requests(&mut self, port: &mut dyn AwsPort, now: Instant, wall: SystemTime) {
        if let Some(until) = self.first_inventory_until {
            if self.pipeline.has_inventory() {
                log::info!("first inventory installed: inputs start");
            } else if now >= until {
                log::warn!(
                    "no inventory after {}s: inputs start without one (records of logs without \
                     vpc-id go to the unknown-VPC domain until a refresh completes)",
                    FIRST_INVENTORY_WAIT.as_secs()
                );
            } else {
                return;
            }
            self.first_inventory_until = None;
        }
        for (i, s) in self.slots.iter_mut().enumerate() {
            let (Some(account), Some(region)) = (s.account, s.region.as_deref()) else {
                continue;
            };
            for _ in 0..MAX_REQUESTS_PER_POLL {
                let mut ctx = Ctx {
                    now,
                    wall,
                    pipeline: &mut self.pipeline,
                };
                let Some(out) = s.input.poll_request(&mut ctx) else {
                    break;
                };
                let call = port.submit(account, region, out.request, out.options);
                self.routes.insert(
                    call,
                    Route {
                        slot: i,
                        tag: out.tag,
                        started: false,
                    },
                );
            }
        }
    }

    fn resume_stalled(&mut self, port: &mut dyn AwsPort, now: Instant, wall: SystemTime) {
        if self.stalled.is_empty() {
            return;
        }
        // `read_stream` puts back the calls that are still without room.
        let mut calls = std::mem::take(&mut self.stalled_scratch);
        calls.clear();
        calls.append(&mut self.stalled);
        for &call in &calls {
            self.read_stream(call, port, now, wall);
        }
        self.stalled_scratch = calls;
    }

    fn warn_waiting_inputs(&mut self, now: Instant) {
        if self.account_warn_at.is_none_or(|at| at > now) {
            return;
        }
        self.account_warn_at = None;
        for s in self.slots.iter().filter(|s| s.account.is_none()) {
            log::warn!(
                "input waits for credentials acting in its account; input={} account={} \
                 (no configured account has that id: see [aws] and `check-aws`)",
                s.plan.name,
                s.plan.account_id
            );
        }
    }

    fn any_dirty(&self) -> bool {
        self.slots.iter().any(|s| s.input.is_dirty())
    }

    /// Flushing → Lingering → Done (see the module doc).
    fn advance_stop(&mut self, port: &mut dyn AwsPort, now: Instant, wall: SystemTime) {
        let Some(stop) = &self.stop else {
            return;
        };
        if !stop.inputs_idle {
            return;
        }
        if !self.pipeline.export.is_drained() {
            self.pipeline.export.flush(now, wall);
            return;
        }
        let settled = self.acked >= self.pipeline.export.acked_through()
            && !self.any_dirty()
            && !self.pipeline.domains.is_dirty()
            && self.writing.is_none();
        let Some(stop) = &mut self.stop else {
            return;
        };
        if !settled || self.routes.is_empty() {
            stop.quiet_since = None;
            return;
        }
        let quiet = *stop.quiet_since.get_or_insert(now);
        if now >= quiet + STOP_LINGER {
            log::info!(
                "stop: calls still out canceled, their units come back later; calls={}",
                self.routes.len()
            );
            for &call in self.routes.keys() {
                port.cancel(call);
            }
            self.routes.clear();
            self.stalled.clear();
        }
    }

    /// The next instant the agent wants a turn (`handle_timeout`, then `poll_work` and
    /// `poll_write`).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| next = Some(next.map_or(at, |n: Instant| n.min(at)));
        for s in self.slots.iter().filter(|s| s.account.is_some()) {
            if let Some(at) = s.input.poll_timeout() {
                consider(at);
            }
        }
        // Export delivered more, or a save happened (an S3 input deletes its messages on the
        // next `poll_request`; a stop may now be settled): a turn at once.
        if self.has_work() || self.saved_since_poll {
            consider(self.now);
        }
        if !self.stalled.is_empty() {
            consider(self.now + STALL_RECHECK);
        }
        if self.writing.is_none() {
            if self.any_dirty() {
                let immediate = self.stop.is_some() && !self.last_write_failed;
                consider(if immediate {
                    self.now
                } else {
                    self.checkpoints_due
                });
            }
            if self.pipeline.domains.is_dirty() {
                consider(self.exporters_due);
            }
        }
        if let Some(at) = self.refresh.as_ref().and_then(|r| r.poll_timeout()) {
            consider(at);
        }
        if self.writing.is_none()
            && let Some(at) = self.refresh.as_ref().and_then(|r| r.unsaved_at(self.now))
        {
            consider(at);
        }
        consider(self.status_file_at);
        consider(self.status_log_at);
        if let Some(at) = self.account_warn_at {
            consider(at);
        }
        if let Some(at) = self.first_inventory_until {
            consider(at);
        }
        if let Some(q) = self.stop.as_ref().and_then(|s| s.quiet_since) {
            consider(q + STOP_LINGER);
        }
        next
    }

    /// Runs the timers of the inputs that are due.
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        self.touch(now, wall);
        if let Some(r) = &mut self.refresh
            && self.stop.is_none()
        {
            r.handle_timeout(now, wall);
        }
        for s in self.slots.iter_mut().filter(|s| s.account.is_some()) {
            if s.input.poll_timeout().is_some_and(|at| at <= now) {
                let mut ctx = Ctx {
                    now,
                    wall,
                    pipeline: &mut self.pipeline,
                };
                s.input.handle_timeout(&mut ctx);
            }
        }
    }

    /// SIGTERM/SIGINT (or a reload): inputs take no new work; see the module doc.
    pub fn handle_stop(&mut self, now: Instant, wall: SystemTime) {
        self.touch(now, wall);
        if self.stop.is_none() {
            log::info!(
                "stop: finishing in-flight work; calls_out={}",
                self.routes.len()
            );
            self.stop = Some(Stop {
                since: now,
                inputs_idle: false,
                quiet_since: None,
            });
        }
    }

    /// Stopped: everything delivered, acknowledged and saved, no call out.
    pub fn is_done(&self) -> bool {
        let Some(stop) = &self.stop else {
            return false;
        };
        stop.inputs_idle
            && self.pipeline.export.is_drained()
            && self.acked >= self.pipeline.export.acked_through()
            && !self.any_dirty()
            && !self.pipeline.domains.is_dirty()
            && self.writing.is_none()
            && !self.saved_since_poll
            && self.routes.is_empty()
    }

    fn touch(&mut self, now: Instant, wall: SystemTime) {
        self.now = self.now.max(now);
        self.wall = wall;
    }
}
