//! `vpcflow-ipfix discover [--config FILE] [--json]`: the seed's "Run now". For every account
//! (`cli/accounts.rs`, as `check-aws` finds them) and every enabled Region it runs the
//! inventory's [`Discovery`] on the AWS loop, writes `state_dir/inventory.json`, and prints the
//! table and the config sections to paste (`inventory::report`), or the inventory as JSON.
//!
//! ```text
//!  config + env ─► accounts ─► Discovery (poll_request ─► AwsDriver::submit, ≤ 8 in flight)
//!                                  ▲ Done/Failed ─► Reply / CallFailure; AccountKnown ─► account id
//!                                  └─ is_done ─► Inventory ─► state_dir/inventory.json (atomic)
//!                                                         └─► stdout: table + sections | JSON
//! ```
//! A refused call (AccessDenied in one account or Region) is recorded with the IAM action it
//! needed and shown in the table; the rest carries on. Exit status 1 only when no account could
//! be used at all (STS confirmed none of the credentials).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use super::CliError;
use super::accounts::{self, Account};
use super::args::Args;
use super::env::AwsEnv;
use crate::agent::state::EXPORTERS_FILE;
use crate::aws::client::{AwsClient, AwsEvent, CallId, CallOptions};
use crate::aws::credentials::CacheId;
use crate::config::config::Config;
use crate::driver::aws_loop::{AwsApp, AwsDriver, AwsLoop, LoopEvent, LoopExit};
use crate::driver::clock::Now;
use crate::driver::pool::HttpClientConfig;
use crate::driver::resolve::{DEFAULT_TTL, Resolver};
use crate::driver::signals::Signals;
use crate::driver::store::Store;
use crate::driver::tls;
use crate::inventory::discover::{AccountSpec, CallFailure, Discovery, Reply, RequestId};
use crate::inventory::model::{INVENTORY_FILE, Inventory};
use crate::inventory::report;

pub const HELP: &str = "\
vpcflow-ipfix discover [--config FILE] [--json]

Finds, in every account and every enabled region ([aws] regions limits them), what the agent
can read and what it can say about the traffic:
  VPCs with their Name tags; subnets, instances, network interfaces, NAT gateways, VPC
  endpoints, peering connections, transit gateway attachments and route tables (for the
  enriched IPFIX fields); flow logs (destination, format, resource); the log groups they write
  to, with their subscription filters and the Kinesis streams those feed; the buckets that
  receive flow logs, their region, and the SQS queues their notifications name.
It saves everything to [agent] state_dir/inventory.json, prints it as tables, then prints the
config sections to paste:
  [exporter vpc-...]   one per VPC not configured yet, with the exporter IP and observation
                       domain id the agent would give it (from [ipfix] exporter_pool, else
                       10.255.0.0/16; the ones already in state_dir/exporters.json are kept)
  [input kinesis:ARN]  every stream a flow-log group's subscription filter feeds
  [input cwl:ARN]      every flow-log group; enabled = false when a Kinesis stream above
                       already carries it (no flow is read twice)
  [input s3:ARN]       every flow-log bucket whose notifications go to an SQS queue
Sections already in the config are named with their line instead. A call that is refused
(AccessDenied in one account or region) is listed with the IAM action that is missing, and
everything else is still found.

Options:
  --config FILE   the agent's configuration ([aws] accounts, roles, regions; [agent]
                  state_dir; [ipfix] exporter_pool; the sections already there); without it:
                  the environment's credentials and the defaults
  --json          print the inventory as JSON (the content of inventory.json) instead

Exit status: 0 when at least one account could be used (refused calls are reported, not
fatal), 1 when none could (no credentials, or STS refused them all), 2 for usage or config
errors.";

/// Calls in flight at once, over all accounts (`Discovery`'s bound, which keeps each Region
/// inside EC2's non-mutating request bucket).
const MAX_IN_FLIGHT: usize = crate::inventory::discover::DEFAULT_MAX_IN_FLIGHT;
/// Deadline of one attempt: a Region that does not answer should not hang the command.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Body cap of one response: a page of 1000 instances (DescribeInstances' largest page) is a
/// few MiB of XML.
const BODY_CAP: usize = 32 << 20;
/// Progress is logged this often while calls are out.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

pub fn run(argv: Vec<String>, env: &AwsEnv) -> Result<(), CliError> {
    let args = Args::parse(argv, &["--config"], &["--json"])?;
    if let Some(extra) = args.positionals.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument {extra:?} (discover takes --config FILE and --json)"
        )));
    }
    let cfg = match args.value("--config") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("cannot read config {path}: {e}")))?;
            Config::parse(&text).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| format!("{path}: {e}")).collect();
                CliError::Usage(lines.join("\n"))
            })?
        }
        None => Config::default(),
    };
    let seeds = RandomState::new();
    let accounts = accounts::load(&cfg, env, seeds.hash_one(1u8))
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    let tls = tls::client_config(Path::new(&cfg.ca_bundle))
        .map_err(|e| CliError::Runtime(e.to_string()))?;
    let client = AwsClient::new(
        accounts.credentials,
        env.endpoint_overrides(),
        seeds.hash_one(2u8),
    );
    let specs = account_specs(&accounts.accounts, &client);
    let signals = match Signals::new() {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!("signals unavailable, Ctrl-C ends at once error={e}");
            None
        }
    };
    let mut lp = AwsLoop::new(
        client,
        tls,
        Resolver::new(DEFAULT_TTL),
        HttpClientConfig::default(),
        signals,
    )
    .map_err(|e| CliError::Runtime(format!("cannot start the event loop: {e}")))?;
    let now = Now::read();
    let mut app = DiscoverApp {
        discovery: Discovery::new(specs, &cfg.regions, now.wall),
        calls: HashMap::new(),
        stopped: false,
        progress_at: now.mono + PROGRESS_EVERY,
    };
    log::info!(
        "discover started accounts={} regions={}",
        accounts.accounts.len(),
        if cfg.regions.is_empty() {
            "all enabled".to_string()
        } else {
            cfg.regions.join(",")
        }
    );
    let exit = lp
        .run(&mut app)
        .map_err(|e| CliError::Runtime(format!("event loop failed: {e}")))?;
    if exit == LoopExit::Forced || app.stopped {
        return Err(CliError::Runtime(
            "interrupted: nothing saved or printed".to_string(),
        ));
    }
    let inv = app.discovery.into_inventory();
    save(&cfg, &inv);
    let exporters = read_exporters(&cfg.state_dir);
    let text = render(&inv, &cfg, exporters.as_deref(), args.flag("--json"))?;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth an error.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    drop(out);
    let summary = summary(&inv);
    eprintln!("vpcflow-ipfix discover: {summary}");
    match unusable(&inv) {
        Some(e) => Err(CliError::Runtime(e)),
        None => Ok(()),
    }
}

/// The accounts as `Discovery` walks them: each with its credential cache, its label and the
/// Region its account-wide calls (STS, DescribeRegions) go to. Also used by the agent's
/// scheduled refresh.
pub fn account_specs(accounts: &[Account], client: &AwsClient) -> Vec<AccountSpec<CacheId>> {
    accounts
        .iter()
        .map(|a| AccountSpec {
            account: a.cache,
            label: a.label.clone(),
            home_region: a.effective_region(client).0.to_string(),
            account_id: client.account_id(a.cache).map(str::to_string),
        })
        .collect()
}

/// Writes `inventory.json`; a state directory that cannot be written is reported, not fatal
/// (the printed output is the command's result; the agent makes its own inventory at start).
fn save(cfg: &Config, inv: &Inventory) {
    let result = Store::open(&cfg.state_dir).and_then(|s| s.write(INVENTORY_FILE, &inv.to_json()));
    match result {
        Ok(()) => log::info!(
            "inventory saved path={}",
            Path::new(&cfg.state_dir).join(INVENTORY_FILE).display()
        ),
        Err(e) => {
            log::warn!("inventory not saved error={e}");
            eprintln!(
                "vpcflow-ipfix discover: warning: inventory not saved ({e}); set [agent] state_dir to a writable directory"
            );
        }
    }
}

/// `state_dir/exporters.json`, when the agent has written one.
fn read_exporters(state_dir: &str) -> Option<Vec<u8>> {
    let path = Path::new(state_dir).join(EXPORTERS_FILE);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            log::warn!(
                "exporters file unreadable path={} error={e}",
                path.display()
            );
            None
        }
    }
}

/// What goes to stdout: the JSON, or the tables followed by the config sections.
fn render(
    inv: &Inventory,
    cfg: &Config,
    exporters: Option<&[u8]>,
    json: bool,
) -> Result<String, CliError> {
    if json {
        return String::from_utf8(inv.to_json())
            .map_err(|e| CliError::Runtime(format!("inventory JSON: {e}")));
    }
    // The proposals go through the agent's domain table, which logs each assignment as if it
    // were made: quiet here, these are only printed.
    let level = log::max_level();
    log::set_max_level(level.min(log::LevelFilter::Warn));
    let sections = report::config_sections(inv, cfg, exporters);
    log::set_max_level(level);
    let sections = sections.map_err(|e| {
        CliError::Runtime(format!(
            "{e} (state_dir/{EXPORTERS_FILE} or the [exporter] sections)"
        ))
    })?;
    let mut text = report::table(inv);
    text.push_str(&sections);
    Ok(text)
}

/// One line for stderr: what was found and how many calls failed.
fn summary(inv: &Inventory) -> String {
    let regions: usize = inv.accounts.iter().map(|a| a.regions.len()).sum();
    let errors = inv.error_count();
    let denied = inv
        .accounts
        .iter()
        .flat_map(|a| {
            a.errors
                .iter()
                .chain(a.regions.iter().flat_map(|r| &r.errors))
        })
        .filter(|e| e.is_access_denied())
        .count();
    format!(
        "{} accounts, {regions} account-regions, {} VPCs; {errors} calls failed ({denied} access denied{})",
        inv.accounts.len(),
        inv.vpcs().count(),
        if errors > 0 { ", listed above" } else { "" }
    )
}

/// `Some(why)` when no account could be used: STS confirmed none of the credentials.
fn unusable(inv: &Inventory) -> Option<String> {
    if inv.accounts.iter().any(|a| a.caller_arn.is_some()) {
        return None;
    }
    let why: Vec<String> = inv
        .accounts
        .iter()
        .map(|a| {
            let e = a
                .errors
                .iter()
                .find(|e| e.operation == "GetCallerIdentity")
                .map_or_else(|| "not confirmed".to_string(), ToString::to_string);
            format!("{}: {e}", a.label)
        })
        .collect();
    Some(format!(
        "no account could be used ({})",
        if why.is_empty() {
            "no accounts".to_string()
        } else {
            why.join("; ")
        }
    ))
}

/// The [`Discovery`] on the AWS loop.
struct DiscoverApp {
    discovery: Discovery<CacheId>,
    calls: HashMap<CallId, RequestId>,
    stopped: bool,
    progress_at: Instant,
}

impl DiscoverApp {
    fn options() -> CallOptions {
        CallOptions::buffered(BODY_CAP).with_timeout(CALL_TIMEOUT)
    }
}

impl AwsApp for DiscoverApp {
    fn poll_work(&mut self, driver: &mut AwsDriver, now: Now) {
        if self.stopped {
            return;
        }
        while self.calls.len() < MAX_IN_FLIGHT {
            let Some((id, account, region, request)) = self.discovery.poll_request() else {
                break;
            };
            let call = driver.submit(account, &region, request, Self::options(), now);
            self.calls.insert(call, id);
        }
        if now.mono >= self.progress_at {
            self.progress_at = now.mono + PROGRESS_EVERY;
            let (done, left) = self.discovery.progress();
            log::info!("discover progress calls_done={done} calls_left={left}");
        }
    }

    fn handle_event(&mut self, event: LoopEvent, _driver: &mut AwsDriver, _now: Now) {
        let LoopEvent::Aws(event) = event else {
            return;
        };
        match event {
            AwsEvent::Done { call, response } => {
                if let Some(id) = self.calls.remove(&call) {
                    self.discovery
                        .handle_response(id, Ok(Reply::from_response(&response)));
                }
            }
            AwsEvent::Failed { call, error } => {
                if let Some(id) = self.calls.remove(&call) {
                    self.discovery
                        .handle_response(id, Err(CallFailure::from_client(&error)));
                }
            }
            AwsEvent::AccountKnown {
                account,
                account_id,
            } => self.discovery.handle_account_known(&account, &account_id),
            AwsEvent::StreamStart { .. } => {}
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        (!self.calls.is_empty()).then_some(self.progress_at)
    }

    fn handle_stop(&mut self, driver: &mut AwsDriver, now: Now) {
        self.stopped = true;
        for call in self.calls.keys().copied().collect::<Vec<_>>() {
            driver.cancel(call, now);
        }
        self.calls.clear();
    }

    fn is_done(&self) -> bool {
        self.stopped || self.discovery.is_done()
    }
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
