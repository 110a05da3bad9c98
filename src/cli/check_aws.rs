//! `vpcflow-ipfix check-aws [--config FILE]`: the seed's "verify AWS access". For every account
//! (see `cli/accounts.rs`) it asks STS who the credentials are (GetCallerIdentity), then sends
//! one harmless probe per action of the seed's IAM policy (`aws::permissions`) and reports each
//! as ok, MISSING (the action named) or unknown (why).
//!
//! ```text
//!  per account:  Identity(call) ──Done──► Probing: probes submitted ≤ MAX_IN_FLIGHT at a time
//!                    │ Failed                     │ every verdict in
//!                    ▼                            ▼
//!                Unusable ──────────────────► Finished ─► printed, in account order
//! ```
//! Exit status: 1 when an account is unusable (no credentials, or STS refused them); missing
//! permissions are reported but do not fail the command.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use super::CliError;
use super::accounts::{self, Account};
use super::args::Args;
use super::env::AwsEnv;
use crate::aws::api::sts;
use crate::aws::client::{AwsClient, AwsEvent, CallId, CallOptions};
use crate::aws::permissions::{self, Probe, ProbeTargets, ProbeVerdict};
use crate::config::config::{Config, InputKind, InputSpec};
use crate::driver::aws_loop::{AwsApp, AwsDriver, AwsLoop, LoopEvent, LoopExit};
use crate::driver::clock::Now;
use crate::driver::pool::HttpClientConfig;
use crate::driver::resolve::{DEFAULT_TTL, Resolver};
use crate::driver::signals::Signals;
use crate::driver::tls;

pub const HELP: &str = "\
vpcflow-ipfix check-aws [--config FILE]

Verifies AWS access the way the agent will use it. For every account (each profile of the
credentials file, each configured role, the environment's keys or the instance role) it prints
the account id and caller ARN (STS GetCallerIdentity), the default region, and for each action
of the IAM policy the agent needs whether a harmless probe is allowed:
  ok        the call was authorized
  MISSING   access denied: the policy must allow the action named
  unknown   the outcome proves neither (the reason is given; e.g. S3 needs a real bucket)
Probes never change anything: EC2 calls are dry runs; the others read with tiny limits or name
resources that do not exist. Inputs of the config ([input ...]) are probed where they belong.

Options:
  --config FILE   the agent's configuration ([aws] credentials_file, config_file, role,
                  session_duration, ca_bundle; [input ...]); without it: the environment
                  (AWS_ACCESS_KEY_ID..., AWS_PROFILE, AWS_REGION, ~/.aws) or the instance role

Exit status: 0 when every account could be checked, 1 when an account is unusable
(no credentials, or STS refused them), 2 for usage or config errors.";

/// Probes in flight at once, over all accounts: EC2 throttles per account and region (the
/// non-mutating bucket refills at 20 requests/s), and this is a one-off check.
const MAX_IN_FLIGHT: usize = 8;
/// Deadline of each probe attempt: a check should not hang on one endpoint.
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
/// Body cap of probe responses (error documents and tiny reads).
const PROBE_BODY_CAP: usize = 256 << 10;

pub fn run(argv: Vec<String>, env: &AwsEnv) -> Result<(), CliError> {
    let args = Args::parse(argv, &["--config"], &[])?;
    if let Some(extra) = args.positionals.first() {
        return Err(CliError::Usage(format!(
            "unexpected argument {extra:?} (check-aws takes only --config FILE)"
        )));
    }
    let cfg = match args.value("--config") {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Runtime(format!("{path}: {e}")))?;
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
    let mut app = CheckAws::new(accounts.accounts, &cfg.inputs);
    let exit = lp
        .run(&mut app)
        .map_err(|e| CliError::Runtime(format!("event loop failed: {e}")))?;
    app.print_ready(lp.driver().aws());
    if exit == LoopExit::Forced || app.stopped {
        return Err(CliError::Runtime("interrupted".to_string()));
    }
    let unusable: Vec<&str> = app
        .checks
        .iter()
        .filter(|c| matches!(c.identity, Identity::Failed(_)))
        .map(|c| c.account.label.as_str())
        .collect();
    if unusable.is_empty() {
        Ok(())
    } else {
        Err(CliError::Runtime(format!(
            "{} of {} accounts unusable: {}",
            unusable.len(),
            app.checks.len(),
            unusable.join(", ")
        )))
    }
}

/// What STS said about an account's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Identity {
    NotAsked,
    Asking,
    Known { account_id: String, arn: String },
    Failed(String),
}

/// One account's check.
#[derive(Debug)]
struct AccountCheck {
    account: Account,
    identity: Identity,
    probes: Vec<Probe>,
    verdicts: Vec<Option<ProbeVerdict>>,
    next_probe: usize,
    printed: bool,
}

impl AccountCheck {
    fn is_finished(&self) -> bool {
        match self.identity {
            Identity::Failed(_) => true,
            Identity::Known { .. } => self.verdicts.iter().all(Option::is_some),
            Identity::NotAsked | Identity::Asking => false,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Slot {
    Identity,
    Probe(usize),
}

struct CheckAws<'c> {
    checks: Vec<AccountCheck>,
    inputs: &'c [InputSpec],
    calls: HashMap<CallId, (usize, Slot)>,
    next_print: usize,
    stopped: bool,
}

impl<'c> CheckAws<'c> {
    fn new(accounts: Vec<Account>, inputs: &'c [InputSpec]) -> CheckAws<'c> {
        let checks = accounts
            .into_iter()
            .map(|account| AccountCheck {
                account,
                identity: Identity::NotAsked,
                probes: Vec::new(),
                verdicts: Vec::new(),
                next_probe: 0,
                printed: false,
            })
            .collect();
        CheckAws {
            checks,
            inputs,
            calls: HashMap::new(),
            next_print: 0,
            stopped: false,
        }
    }

    /// Prints finished accounts in order, as far as they are finished.
    fn print_ready(&mut self, client: &AwsClient) {
        let total = self.checks.len();
        while let Some(c) = self.checks.get_mut(self.next_print) {
            if !c.is_finished() && !self.stopped {
                break;
            }
            if !c.printed {
                let text = report(c, self.next_print + 1, total, client);
                let mut out = std::io::stdout().lock();
                // A closed pipe (`| head`) is not worth an error.
                let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
                c.printed = true;
            }
            self.next_print += 1;
        }
    }

    fn on_identity(&mut self, i: usize, outcome: Result<&[u8], String>, client: &AwsClient) {
        let Some(c) = self.checks.get_mut(i) else {
            return;
        };
        c.identity = match outcome.and_then(|body| {
            sts::parse_get_caller_identity(body)
                .map(|id| (id.account.into_owned(), id.arn.into_owned()))
                .map_err(|e| e.to_string())
        }) {
            Ok((account_id, arn)) => {
                let (region, _) = c.account.effective_region(client);
                let targets = targets_for(self.inputs, &account_id, region);
                c.probes = permissions::probes(&targets);
                c.verdicts = vec![None; c.probes.len()];
                Identity::Known { account_id, arn }
            }
            Err(e) => Identity::Failed(e),
        };
    }
}

impl AwsApp for CheckAws<'_> {
    fn poll_work(&mut self, driver: &mut AwsDriver, now: Now) {
        if self.stopped {
            return;
        }
        for (i, c) in self.checks.iter_mut().enumerate() {
            if c.identity == Identity::NotAsked {
                let region = c.account.effective_region(driver.aws()).0.to_string();
                let id = driver.submit(
                    c.account.cache,
                    &region,
                    sts::get_caller_identity(),
                    CallOptions::default().with_timeout(PROBE_TIMEOUT),
                    now,
                );
                c.identity = Identity::Asking;
                self.calls.insert(id, (i, Slot::Identity));
            }
        }
        for i in 0..self.checks.len() {
            while self.calls.len() < MAX_IN_FLIGHT {
                let c = &mut self.checks[i];
                let Some(probe) = c.probes.get(c.next_probe) else {
                    break;
                };
                let slot = Slot::Probe(c.next_probe);
                c.next_probe += 1;
                let (cache, region, request) =
                    (c.account.cache, probe.region.clone(), probe.request.clone());
                let opts = CallOptions::buffered(PROBE_BODY_CAP).with_timeout(PROBE_TIMEOUT);
                let id = driver.submit(cache, &region, request, opts, now);
                self.calls.insert(id, (i, slot));
            }
        }
    }

    fn handle_event(&mut self, event: LoopEvent, driver: &mut AwsDriver, _now: Now) {
        let LoopEvent::Aws(event) = event else {
            return;
        };
        let (call, outcome) = match event {
            AwsEvent::Done { call, response } => (call, Ok(response)),
            AwsEvent::Failed { call, error } => (call, Err(error)),
            AwsEvent::StreamStart { .. } | AwsEvent::AccountKnown { .. } => return,
        };
        let Some((i, slot)) = self.calls.remove(&call) else {
            return;
        };
        match slot {
            Slot::Identity => {
                let outcome = match &outcome {
                    Ok(r) => Ok(r.body.as_slice()),
                    Err(e) => Err(e.to_string()),
                };
                self.on_identity(i, outcome, driver.aws());
            }
            Slot::Probe(p) => {
                if let Some(c) = self.checks.get_mut(i)
                    && let Some(probe) = c.probes.get(p)
                {
                    let verdict = probe.interpret(outcome.as_ref());
                    if let Some(v) = c.verdicts.get_mut(p) {
                        *v = Some(verdict);
                    }
                }
            }
        }
        self.print_ready(driver.aws());
    }

    fn handle_stop(&mut self, driver: &mut AwsDriver, now: Now) {
        self.stopped = true;
        for call in self.calls.keys().copied().collect::<Vec<_>>() {
            driver.cancel(call, now);
        }
        self.calls.clear();
    }

    fn is_done(&self) -> bool {
        self.stopped || self.checks.iter().all(AccountCheck::is_finished)
    }
}

/// The account id in an ARN (`arn:aws:logs:REGION:ACCOUNT:…`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The account in an SQS queue URL (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`).
fn queue_account(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.split('/').nth(1).filter(|a| !a.is_empty())
}

/// The configured inputs of `account_id` the probes should touch (first of each kind).
fn targets_for<'a>(
    inputs: &'a [InputSpec],
    account_id: &'a str,
    region: &'a str,
) -> ProbeTargets<'a> {
    let mut t = ProbeTargets {
        region,
        account_id,
        ..ProbeTargets::default()
    };
    for input in inputs.iter().filter(|i| i.enabled) {
        match &input.kind {
            InputKind::CloudWatch { arn } if arn_account(arn) == Some(account_id) => {
                t.log_group = t.log_group.or(Some(arn));
            }
            InputKind::Kinesis { arn } if arn_account(arn) == Some(account_id) => {
                t.stream = t.stream.or(Some(arn));
            }
            InputKind::S3 { bucket, queue_url }
                if t.bucket.is_none() && queue_account(queue_url) == Some(account_id) =>
            {
                t.bucket = Some(bucket);
                t.queue_url = Some(queue_url);
            }
            _ => {}
        }
    }
    t
}

/// One account's section of the report.
fn report(c: &AccountCheck, n: usize, total: usize, client: &AwsClient) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "account {n} of {total}: {}", c.account.label);
    let (region, from) = c.account.effective_region(client);
    let region_line = if from.is_empty() {
        region.to_string()
    } else {
        format!("{region} ({from})")
    };
    match &c.identity {
        Identity::Known { account_id, arn } => {
            let _ = writeln!(s, "  account id   {account_id}  {arn}");
            let _ = writeln!(s, "  region       {region_line}");
        }
        Identity::Failed(e) => {
            let _ = writeln!(s, "  account id   unknown: {e}");
            let _ = writeln!(s, "  region       {region_line}");
            let _ = writeln!(
                s,
                "  result       UNUSABLE: STS did not confirm its credentials"
            );
            return s;
        }
        Identity::NotAsked | Identity::Asking => {
            let _ = writeln!(s, "  account id   unknown: interrupted");
            return s;
        }
    }
    let _ = writeln!(
        s,
        "  permissions  {} probes for the {} actions of the IAM policy:",
        c.probes.len(),
        permissions::SEED_POLICY_ACTIONS.len()
    );
    let (mut ok, mut missing, mut unknown) = (0, 0, 0);
    for (probe, verdict) in c.probes.iter().zip(&c.verdicts) {
        let _ = match verdict {
            Some(ProbeVerdict::Allowed) => {
                ok += 1;
                writeln!(s, "    ok       {}", probe.action)
            }
            Some(ProbeVerdict::Denied { action, detail }) => {
                missing += 1;
                writeln!(s, "    MISSING  {action}  on {}: {detail}", probe.resource)
            }
            Some(ProbeVerdict::Unknown(why)) => {
                unknown += 1;
                writeln!(
                    s,
                    "    unknown  {}  on {}: {why}",
                    probe.action, probe.resource
                )
            }
            None => {
                unknown += 1;
                writeln!(s, "    unknown  {}  (interrupted)", probe.action)
            }
        };
    }
    let _ = writeln!(
        s,
        "  result       usable; {ok} ok, {missing} missing, {unknown} unknown"
    );
    s
}

#[cfg(test)]
#[path = "check_aws_tests.rs"]
mod tests;
