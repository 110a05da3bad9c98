//! The scheduled inventory refresh as the agent runs it: the [`Refresher`]'s calls go out
//! through the same [`AwsPort`] as the inputs' (so through the same AWS client, credentials and
//! request budgets), its answers come back by call id, and a completed inventory is installed
//! into the pipeline (new enrichment tables, a domain for every VPC, VPC names on the domains)
//! and saved as `state_dir/inventory.json`.
//!
//! ```text
//!  handle_timeout (cron due) ─► Refresher runs a Discovery
//!  poll_requests ─► Refresher::poll_request ─► AwsPort::submit   (≤ its max_in_flight out)
//!  handle_result(call) ─► Reply / CallFailure ─► Refresher::handle_response
//!  take_ready ─► Pipeline::install_inventory ─► inventory.json bytes for the driver to write
//!  poll_file_read / handle_file ─► ip_ranges_file read by the driver ─► Pipeline::install_ip_ranges
//! ```
//! Ingestion never waits for any of this: each call is one more event of the loop, and records
//! are enriched with the previous tables until the new ones are complete.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use super::state::InventoryStatus;
use super::{Agent, AwsPort, FIRST_INVENTORY_WAIT, SAVE_INTERVAL};
use crate::aws::client::{ApiResponse, AwsCallError, CallId};
use crate::aws::credentials::CacheId;
use crate::inventory::discover::{CallFailure, Reply};
use crate::inventory::refresh::{RefreshCall, Refresher, call_options};
use crate::pipeline::Pipeline;

/// See the module doc.
pub struct InventoryRefresh {
    refresher: Refresher<CacheId>,
    calls: HashMap<CallId, RefreshCall>,
    /// `inventory.json` of the last completed refresh, until it is written.
    unsaved: Option<Vec<u8>>,
    /// A write of it failed: the next try is not before this.
    retry_at: Option<Instant>,
    completed_at: Option<SystemTime>,
    vpcs: usize,
}

impl InventoryRefresh {
    pub fn new(refresher: Refresher<CacheId>) -> InventoryRefresh {
        InventoryRefresh {
            refresher,
            calls: HashMap::new(),
            unsaved: None,
            retry_at: None,
            completed_at: None,
            vpcs: 0,
        }
    }

    /// Submits the refresh's next calls.
    pub fn poll_requests(&mut self, port: &mut dyn AwsPort) {
        while let Some((id, account, region, request)) = self.refresher.poll_request() {
            let call = port.submit(account, &region, request, call_options());
            self.calls.insert(call, id);
        }
    }

    /// The outcome of `call` if it is one of the refresh's (then `true`): handed to the
    /// refresher; a completed inventory is installed into `pipeline`.
    pub fn handle_result(
        &mut self,
        call: CallId,
        result: &Result<ApiResponse, AwsCallError>,
        pipeline: &mut Pipeline,
        now: Instant,
        wall: SystemTime,
    ) -> bool {
        let Some(id) = self.calls.remove(&call) else {
            return false;
        };
        let reply = match result {
            Ok(r) => Ok(Reply::from_response(r)),
            Err(e) => Err(CallFailure::from_client(e)),
        };
        self.refresher.handle_response(id, reply, now);
        if let Some(inv) = self.refresher.take_inventory() {
            let report = pipeline.install_inventory(&inv);
            log::info!(
                "inventory installed vpcs={} enis={} new_domains={} renamed_domains={} reannounced={}",
                inv.vpcs().count(),
                report.enis,
                report.new_domains,
                report.renamed,
                report.reannounced
            );
            self.unsaved = Some(inv.to_json());
            self.retry_at = None;
            self.completed_at = Some(wall);
            self.vpcs = inv.vpcs().count();
        }
        true
    }

    /// The credentials of `account` act in `account_id`.
    pub fn handle_account_known(&mut self, account: CacheId, account_id: &str) {
        self.refresher.handle_account_known(&account, account_id);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.refresher.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        if self.refresher.poll_timeout().is_some_and(|t| t <= now) {
            self.refresher.handle_timeout(now, wall);
        }
    }

    /// `[aws] ip_ranges_file`, when a refresh wants it read now.
    pub fn poll_file_read(&mut self) -> Option<String> {
        self.refresher.poll_file_read().map(str::to_string)
    }

    /// The file's bytes (or why it could not be read); a table that parses replaces the
    /// pipeline's.
    pub fn handle_file(&mut self, content: Result<&[u8], String>, pipeline: &mut Pipeline) {
        self.refresher.handle_file(content);
        if let Some(ranges) = self.refresher.take_ip_ranges() {
            pipeline.install_ip_ranges(ranges);
        }
    }

    /// `inventory.json` to write now (after a failed write, again [`SAVE_INTERVAL`] later).
    pub fn poll_unsaved(&self, now: Instant) -> Option<Vec<u8>> {
        if self.retry_at.is_some_and(|t| now < t) {
            return None;
        }
        self.unsaved.clone()
    }

    /// `inventory.json` not written yet, whatever the retry pacing (the last writes at exit).
    pub fn unsaved(&self) -> Option<Vec<u8>> {
        self.unsaved.clone()
    }

    /// When [`InventoryRefresh::poll_unsaved`] has something.
    pub fn unsaved_at(&self, now: Instant) -> Option<Instant> {
        self.unsaved.as_ref()?;
        Some(self.retry_at.unwrap_or(now).max(now))
    }

    /// The driver wrote (or failed to write) what `poll_unsaved` gave.
    pub fn handle_written(&mut self, ok: bool, now: Instant) {
        if ok {
            self.unsaved = None;
            self.retry_at = None;
        } else {
            self.retry_at = Some(now + SAVE_INTERVAL);
        }
    }

    /// For the status file.
    pub fn status(&self, pipeline: &Pipeline) -> InventoryStatus {
        let (runs, skipped) = self.refresher.counts();
        InventoryStatus {
            runs,
            skipped,
            running: self.refresher.is_running(),
            completed_at: self.completed_at,
            vpcs: self.vpcs,
            enis: pipeline.tables().len(),
            ip_ranges: pipeline.has_ip_ranges(),
        }
    }

    /// The agent stops: the running refresh is abandoned and its calls canceled.
    pub fn handle_stop(&mut self, port: &mut dyn AwsPort) {
        self.refresher.handle_stop();
        for (&call, _) in self.calls.iter() {
            port.cancel(call);
        }
        self.calls.clear();
    }

    /// Refresh runs started and skipped (the previous one was still going).
    pub fn counts(&self) -> (u64, u64) {
        self.refresher.counts()
    }
}

/// The agent's side of the refresh (in this file so `agent.rs` stays about its inputs).
impl Agent {
    /// Runs the scheduled inventory refresh (`[agent] inventory_refresh`) inside the agent.
    /// Without a saved inventory the inputs wait for the first refresh (at most
    /// [`FIRST_INVENTORY_WAIT`]), so that records are in their VPC's domain from the first.
    pub fn with_refresh(mut self, refresh: InventoryRefresh) -> Agent {
        self.refresh = Some(refresh);
        if !self.pipeline.has_inventory() {
            log::info!(
                "inputs wait for the first inventory (at most {}s)",
                FIRST_INVENTORY_WAIT.as_secs()
            );
            self.first_inventory_until = Some(self.now + FIRST_INVENTORY_WAIT);
        }
        self
    }

    /// A credential cache acts in `account_id` (every cache, account or not: the refresh
    /// walks each configured account).
    pub fn handle_account_id(&mut self, account: CacheId, account_id: &str) {
        if let Some(r) = &mut self.refresh {
            r.handle_account_known(account, account_id);
        }
    }

    /// A file the driver should read now for the refresh (`[aws] ip_ranges_file`).
    pub fn poll_file_read(&mut self) -> Option<String> {
        self.refresh.as_mut()?.poll_file_read()
    }

    /// The content of the file [`Agent::poll_file_read`] named, or why it could not be read.
    pub fn handle_file(&mut self, content: Result<&[u8], String>) {
        if let Some(r) = &mut self.refresh {
            r.handle_file(content, &mut self.pipeline);
        }
    }
}
