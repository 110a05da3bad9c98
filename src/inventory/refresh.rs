//! `Refresher`: the scheduled inventory refresh inside the agent's loop (the seed's "Cron
//! Schedule", `[agent] inventory_refresh`), sans-IO.
//!
//! Once at start and then at every fire time of the cron schedule (UTC) it runs a
//! [`Discovery`] over the agent's accounts. Its calls go out through the same AWS client as the
//! inputs' — the agent takes them with [`Refresher::poll_request`], submits them and hands the
//! outcomes back with [`Refresher::handle_response`] — at most `max_in_flight` at a time, so a
//! refresh never crowds out ingestion and ingestion never pauses for it: nothing here blocks,
//! and every record keeps being enriched with the previous inventory until the new one is
//! complete. The agent then takes it ([`Refresher::take_inventory`]), rebuilds its
//! `EnrichTables` and names the VPC domains ([`apply`]), and saves `inventory.json`.
//!
//! With `[aws] ip_ranges_file` set, each run also asks the driver to read that file again
//! ([`Refresher::poll_file_read`] → [`Refresher::handle_file`]) and yields the new table of
//! AWS address ranges ([`Refresher::take_ip_ranges`]); a file that does not parse keeps the
//! previous table.
//!
//! ```text
//!             start (due at once)
//!                  │
//!                  ▼       due: cron's next fire time, as a monotonic deadline
//!   ┌──────────► Idle ───────────────────────────────────────────┐
//!   │              ▲                                             ▼
//!   │              │ every call answered             Running: Discovery (≤ max_in_flight out)
//!   │              └──────── inventory ready ◄────────── poll_request / handle_response
//!   │                                                            │ due again while running:
//!   └──────────── next fire time scheduled ◄─────────────────────┘ skipped (logged)
//! ```
//! The schedule is wall-clock time but deadlines are monotonic: at each deadline the wall
//! clock is checked, and if it is still before the fire time (the clock was stepped back) the
//! deadline is moved instead of running early.

use std::time::{Duration, Instant, SystemTime};

use crate::aws::client::CallOptions;
use crate::aws::request::ApiRequest;
use crate::export::DomainId;
use crate::inventory::cron::Cron;
use crate::inventory::discover::{AccountSpec, CallFailure, Discovery, Options, Reply, RequestId};
use crate::inventory::enrich::EnrichTables;
use crate::inventory::ip_ranges::IpRanges;
use crate::inventory::model::Inventory;
use crate::pipeline::domains::DomainTable;

/// Calls of a refresh out at once, by default: half of `discover`'s, since the inputs share
/// the accounts' request budgets.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
/// `MaxResults` of a refresh's paged calls, by default: pages of 100 keep each response small
/// (a page of 1000 instances is megabytes of XML held while it is parsed).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Body cap of a refresh call: a page of [`DEFAULT_PAGE_SIZE`] instances or interfaces is well
/// under a MiB of XML; the margin covers heavily tagged estates.
pub const BODY_CAP: usize = 8 << 20;
/// Deadline of one attempt of a refresh call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// A fire time this far ahead of the wall clock at its deadline still runs: monotonic and wall
/// clocks drift apart a little between two fire times.
const EARLY_TOLERANCE: Duration = Duration::from_secs(1);

/// What a refresh needs besides the accounts.
#[derive(Clone, Debug)]
pub struct RefreshSettings {
    /// `[agent] inventory_refresh`.
    pub schedule: Cron,
    /// `[aws] regions` (empty: every enabled Region).
    pub regions: Vec<String>,
    pub options: Options,
    /// `[aws] ip_ranges_file`.
    pub ip_ranges_file: Option<String>,
}

impl RefreshSettings {
    pub fn new(schedule: Cron, regions: Vec<String>, ip_ranges_file: Option<String>) -> Self {
        RefreshSettings {
            schedule,
            regions,
            options: Options {
                max_in_flight: DEFAULT_MAX_IN_FLIGHT,
                page_size: Some(DEFAULT_PAGE_SIZE),
            },
            ip_ranges_file,
        }
    }
}

/// The options the agent submits a refresh call with.
pub fn call_options() -> CallOptions {
    CallOptions::buffered(BODY_CAP).with_timeout(CALL_TIMEOUT)
}

/// Names one call of one run; hand it back with the outcome. A call of an abandoned run is
/// ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefreshCall {
    run: u64,
    call: RequestId,
}

struct Run<A> {
    number: u64,
    discovery: Discovery<A>,
    started: Instant,
}

/// See the module doc.
pub struct Refresher<A> {
    settings: RefreshSettings,
    accounts: Vec<AccountSpec<A>>,
    /// Monotonic deadline of the next run (`None`: the schedule never fires again).
    due: Option<Instant>,
    /// The fire time `due` stands for; `None` for the run at start.
    due_wall: Option<SystemTime>,
    running: Option<Run<A>>,
    runs: u64,
    skipped: u64,
    ready: Option<Inventory>,
    /// A read of `ip_ranges_file` is wanted.
    want_file: bool,
    ip_ranges: Option<IpRanges>,
}

impl<A: Clone + PartialEq> Refresher<A> {
    /// A refresher whose first run is due at `now`.
    pub fn new(settings: RefreshSettings, accounts: Vec<AccountSpec<A>>, now: Instant) -> Self {
        Refresher {
            settings,
            accounts,
            due: Some(now),
            due_wall: None,
            running: None,
            runs: 0,
            skipped: 0,
            ready: None,
            want_file: false,
            ip_ranges: None,
        }
    }

    /// The next run's deadline (calls of a running one are driven by their answers).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.due
    }

    /// Starts a run when one is due (see the module doc).
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        let Some(due) = self.due.filter(|d| *d <= now) else {
            return;
        };
        if let Some(fire) = self.due_wall
            && wall + EARLY_TOLERANCE < fire
        {
            // The wall clock went back: the fire time has not come yet.
            let wait = fire.duration_since(wall).unwrap_or_default();
            log::info!(
                "inventory refresh deadline moved: the wall clock is behind the schedule wait_s={}",
                wait.as_secs()
            );
            self.due = Some(now + wait);
            return;
        }
        let late = now.saturating_duration_since(due);
        match &self.running {
            Some(r) => {
                self.skipped += 1;
                let (done, left) = r.discovery.progress();
                log::warn!(
                    "inventory refresh skipped: the previous one is still running run={} calls_done={done} calls_left={left}",
                    r.number
                );
            }
            None => self.start(now, wall),
        }
        if late > Duration::from_secs(60) {
            log::info!("inventory refresh ran late late_s={}", late.as_secs());
        }
        self.schedule_next(now, wall);
    }

    fn start(&mut self, now: Instant, wall: SystemTime) {
        self.runs += 1;
        log::info!(
            "inventory refresh started run={} accounts={} schedule={:?}",
            self.runs,
            self.accounts.len(),
            self.settings.schedule.as_str()
        );
        self.running = Some(Run {
            number: self.runs,
            discovery: Discovery::with_options(
                self.accounts.clone(),
                &self.settings.regions,
                wall,
                self.settings.options,
            ),
            started: now,
        });
        self.want_file = self.settings.ip_ranges_file.is_some();
    }

    /// The first fire time after both `wall` and the one just served, as a deadline.
    fn schedule_next(&mut self, now: Instant, wall: SystemTime) {
        let after = self.due_wall.map_or(wall, |f| f.max(wall));
        match self.settings.schedule.next_after(after) {
            Some(fire) => {
                let wait = fire.duration_since(wall).unwrap_or_default();
                self.due = Some(now + wait);
                self.due_wall = Some(fire);
                log::debug!("inventory refresh scheduled in_s={}", wait.as_secs());
            }
            None => {
                log::warn!(
                    "inventory refresh schedule never fires again schedule={:?}",
                    self.settings.schedule.as_str()
                );
                self.due = None;
                self.due_wall = None;
            }
        }
    }

    /// The next call of the running refresh (none while `max_in_flight` are out).
    pub fn poll_request(&mut self) -> Option<(RefreshCall, A, String, ApiRequest)> {
        let r = self.running.as_mut()?;
        let (call, account, region, request) = r.discovery.poll_request()?;
        let id = RefreshCall {
            run: r.number,
            call,
        };
        Some((id, account, region, request))
    }

    /// The outcome of a call; completes the run when it was the last.
    pub fn handle_response(
        &mut self,
        id: RefreshCall,
        result: Result<Reply<'_>, CallFailure>,
        now: Instant,
    ) {
        let Some(r) = self.running.as_mut().filter(|r| r.number == id.run) else {
            log::debug!(
                "inventory refresh answer for an abandoned run run={}",
                id.run
            );
            return;
        };
        r.discovery.handle_response(id.call, result);
        if !r.discovery.is_done() {
            return;
        }
        let Some(r) = self.running.take() else {
            return;
        };
        let (calls, _) = r.discovery.progress();
        let inv = r.discovery.into_inventory();
        log::info!(
            "inventory refresh done run={} calls={calls} vpcs={} failed_calls={} took_ms={}",
            r.number,
            inv.vpcs().count(),
            inv.error_count(),
            now.saturating_duration_since(r.started).as_millis()
        );
        self.ready = Some(inv);
    }

    /// The credentials of `account` act in `account_id` (the AWS client's `AccountKnown`).
    pub fn handle_account_known(&mut self, account: &A, account_id: &str) {
        for spec in self.accounts.iter_mut().filter(|s| s.account == *account) {
            spec.account_id
                .get_or_insert_with(|| account_id.to_string());
        }
        if let Some(r) = &mut self.running {
            r.discovery.handle_account_known(account, account_id);
        }
    }

    /// A completed inventory, once.
    pub fn take_inventory(&mut self) -> Option<Inventory> {
        self.ready.take()
    }

    /// A file the driver should read now and hand to [`Refresher::handle_file`] (once per run).
    pub fn poll_file_read(&mut self) -> Option<&str> {
        if !self.want_file {
            return None;
        }
        self.want_file = false;
        self.settings.ip_ranges_file.as_deref()
    }

    /// The content of the file [`Refresher::poll_file_read`] named, or why it could not be read.
    pub fn handle_file(&mut self, content: Result<&[u8], String>) {
        let path = self.settings.ip_ranges_file.as_deref().unwrap_or("-");
        match content.and_then(|b| IpRanges::parse(b).map_err(|e| e.to_string())) {
            Ok(t) => {
                log::info!("ip ranges loaded path={path} prefixes={}", t.len());
                self.ip_ranges = Some(t);
            }
            Err(e) => {
                log::warn!("ip ranges not refreshed, the previous ones stay path={path} error={e}")
            }
        }
    }

    /// A new table of AWS address ranges, once.
    pub fn take_ip_ranges(&mut self) -> Option<IpRanges> {
        self.ip_ranges.take()
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Runs started and runs skipped because the previous one was still going.
    pub fn counts(&self) -> (u64, u64) {
        (self.runs, self.skipped)
    }

    /// The agent stops: a running refresh is abandoned (answers still coming are ignored) and
    /// none starts any more.
    pub fn handle_stop(&mut self) {
        if let Some(r) = self.running.take() {
            log::info!("inventory refresh abandoned at stop run={}", r.number);
        }
        self.due = None;
        self.want_file = false;
    }
}

/// What [`apply`] changed.
#[derive(Debug, Default)]
pub struct Applied {
    /// The lookups of the record path, from the new inventory.
    pub tables: EnrichTables,
    /// Domains whose observationDomainName changed (the exporter re-announces them).
    pub renamed: Vec<DomainId>,
    /// VPCs that got an observation domain (and exporter address) now.
    pub new_domains: usize,
}

/// A new inventory into the agent: every VPC gets its observation domain now (so a VPC created
/// since the last refresh has its exporter before its first record, and `exporters.json` lists
/// it), every domain is named after its VPC's Name tag, and the enrichment tables are rebuilt.
pub fn apply(inv: &Inventory, domains: &mut DomainTable) -> Applied {
    let tables = EnrichTables::from_inventory(inv);
    let mut applied = Applied::default();
    for (_, _, vpc) in inv.vpcs() {
        if domains.get(&vpc.id).is_none() {
            domains.resolve(Some(&vpc.id));
            applied.new_domains += 1;
        }
    }
    for (vpc_id, name) in tables.vpc_names() {
        if domains.set_vpc_name(vpc_id, name)
            && let Some(d) = domains.get(vpc_id)
        {
            applied.renamed.push(d.id);
        }
    }
    applied.tables = tables;
    applied
}

#[cfg(test)]
#[path = "refresh/tests.rs"]
mod tests;
