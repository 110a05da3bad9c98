//! What `discover` prints: a readable table of the inventory, and the config sections to paste
//! (the seed's "Run now" result, its "IPFIX Exporters" section and the inputs to enable).
//!
//! Config sections, in this order:
//! - `[exporter vpc-…]` for every VPC the config does not name yet, with the exporter address
//!   and observation domain id the agent itself would assign (`pipeline::domains::DomainTable`,
//!   fed the config's exporters and, when given, `exporters.json`), from `[ipfix] exporter_pool`
//!   or, without one, [`DEFAULT_EXPORTER_POOL`];
//! - `[input kinesis:ARN]` for every stream a flow-log group's subscription filter feeds;
//! - `[input cwl:ARN]` for every flow-log group, `enabled = false` when one of those streams
//!   already carries it: the seed's rule, "the EDFN Agent for each VPC will use Kinesis Stream,
//!   if configured, before attempting to get logs from the CloudWatch Log group", so no flow is
//!   read twice;
//! - `[input s3:arn:aws:s3:::BUCKET]` with `queue =` for every flow-log bucket whose
//!   notifications of new flow-log objects go to an SQS queue.
//!
//! Anything already configured is left out with a comment naming its line, so the output can be
//! appended to the config it was made from. The output parses with `Config::parse`.

use std::collections::HashSet;
use std::fmt::{self, Write};
use std::net::Ipv4Addr;

use crate::config::config::{Config, InputKind};
use crate::inventory::model::{Bucket, BucketQueue, CallError, Inventory, partition};
use crate::pipeline::domains::{DomainError, DomainTable};

/// The pool exporter addresses are proposed from when `[ipfix] exporter_pool` is not set:
/// 10.255.0.0/16 (RFC 1918 space, 65 534 addresses, unlikely to be a collector's own network).
/// The addresses only label the VPCs for collectors; nothing is sent from them unless
/// `exporter_identity = bind`.
pub const DEFAULT_EXPORTER_POOL: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 255, 0, 0), 16);

/// Why the config sections could not be made.
#[derive(Debug)]
pub enum ReportError {
    /// The config or `exporters.json` cannot seed a domain table.
    Domains(DomainError),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Domains(e) => write!(f, "cannot propose exporters: {e}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Domains(e) => Some(e),
        }
    }
}

/// Left-aligned columns, two spaces apart, under upper-case headers.
struct Table {
    headers: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(headers: &'static [&'static str]) -> Table {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn render(&self, title: &str, out: &mut String) {
        let _ = writeln!(out, "{title}");
        if self.rows.is_empty() {
            let _ = writeln!(out, "  (none)\n");
            return;
        }
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>, out: &mut String| {
            let mut text = String::from(" ");
            for (c, w) in cells.zip(&widths) {
                let _ = write!(text, " {c:<w$} ");
            }
            let _ = writeln!(out, "{}", text.trim_end());
        };
        line(&mut self.headers.iter().copied(), out);
        for r in &self.rows {
            line(&mut r.iter().map(String::as_str), out);
        }
        out.push('\n');
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

fn account_name(a: &crate::inventory::model::Account) -> String {
    a.account_id.clone().unwrap_or_else(|| a.label.clone())
}

/// The inventory as tables: accounts, VPCs with their flow logs, log groups with their
/// subscriptions, Kinesis streams, buckets with their queues, and every failed call.
pub fn table(inv: &Inventory) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Inventory of {}\n", inv.generated_at);

    let mut accounts = Table::new(&["ACCOUNT", "CREDENTIALS", "CALLER", "REGIONS", "ERRORS"]);
    for a in &inv.accounts {
        let regions: Vec<&str> = a.regions.iter().map(|r| r.region.as_str()).collect();
        let errors = a.errors.len() + a.regions.iter().map(|r| r.errors.len()).sum::<usize>();
        accounts.row(vec![
            or_dash(a.account_id.as_deref()),
            a.label.clone(),
            or_dash(a.caller_arn.as_deref()),
            regions.join(" "),
            errors.to_string(),
        ]);
    }
    accounts.render("Accounts", &mut out);

    let mut vpcs = Table::new(&["ACCOUNT", "REGION", "VPC", "NAME", "CIDRS", "FLOW LOGS"]);
    for (a, r, v) in inv.vpcs() {
        let mut cidrs = v.cidrs_v4.clone();
        cidrs.extend(v.cidrs_v6.iter().cloned());
        let name = match (&v.name, v.is_default) {
            (Some(n), true) => format!("{n} (default)"),
            (Some(n), false) => n.clone(),
            (None, true) => "(default)".to_string(),
            (None, false) => "-".to_string(),
        };
        let logs: Vec<String> = r
            .flow_logs_of(&v.id)
            .map(|f| {
                let dest = match f.destination_type.as_deref() {
                    Some("cloud-watch-logs") => {
                        format!("cwl {}", or_dash(f.log_group_name.as_deref()))
                    }
                    Some("s3") => match (&f.bucket, f.bucket_prefix.as_deref().unwrap_or("")) {
                        (Some(b), "") => format!("s3 {b}"),
                        (Some(b), p) => format!("s3 {b}/{p}"),
                        (None, _) => "s3".to_string(),
                    },
                    other => or_dash(other),
                };
                format!("{} {dest} ({})", f.id, or_dash(f.traffic_type.as_deref()))
            })
            .collect();
        let mut first = vec![
            account_name(a),
            r.region.clone(),
            v.id.clone(),
            name,
            cidrs.join(" "),
        ];
        first.push(logs.first().cloned().unwrap_or_else(|| "-".into()));
        vpcs.row(first);
        for more in logs.iter().skip(1) {
            vpcs.row(vec![
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                more.clone(),
            ]);
        }
    }
    vpcs.render("VPCs (one IPFIX exporter each)", &mut out);

    let mut groups = Table::new(&[
        "ACCOUNT",
        "REGION",
        "LOG GROUP",
        "FLOW LOGS",
        "SUBSCRIPTIONS",
    ]);
    let mut streams = Table::new(&[
        "ACCOUNT",
        "REGION",
        "KINESIS STREAM",
        "STATUS",
        "SHARDS",
        "FED BY",
    ]);
    for a in &inv.accounts {
        for r in &a.regions {
            for g in &r.log_groups {
                let subs = match &g.subscriptions {
                    None => format!("unknown ({})", why(&r.errors, &g.name)),
                    Some(s) if s.is_empty() => "none".to_string(),
                    Some(s) => s
                        .iter()
                        .map(|s| format!("-> {}", s.destination_arn))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                let name = if g.exists == Some(false) {
                    format!("{} (does not exist)", g.name)
                } else {
                    g.name.clone()
                };
                groups.row(vec![
                    account_name(a),
                    r.region.clone(),
                    name,
                    g.flow_log_ids.join(" "),
                    subs,
                ]);
            }
            for s in &r.kinesis_streams {
                streams.row(vec![
                    account_name(a),
                    r.region.clone(),
                    s.name.clone(),
                    or_dash(s.status.as_deref()),
                    s.open_shards.map_or_else(|| "-".into(), |n| n.to_string()),
                    s.log_groups.join(" "),
                ]);
            }
        }
    }
    groups.render("CloudWatch Logs groups receiving flow logs", &mut out);
    streams.render("Kinesis streams fed by those groups", &mut out);

    let mut buckets = Table::new(&[
        "ACCOUNT",
        "BUCKET",
        "REGION",
        "PREFIXES",
        "SQS QUEUE",
        "FILTER",
    ]);
    for a in &inv.accounts {
        for b in &a.buckets {
            let prefixes: Vec<&str> = b
                .prefixes
                .iter()
                .map(|p| if p.is_empty() { "/" } else { p.as_str() })
                .collect();
            let mut row = vec![
                account_name(a),
                b.name.clone(),
                or_dash(b.region.as_deref()),
                prefixes.join(" "),
            ];
            match &b.queues {
                None => row.extend([
                    format!("unknown ({})", why(&a.errors, &b.name)),
                    String::new(),
                ]),
                Some(q) if q.is_empty() => row.extend(["none".to_string(), String::new()]),
                Some(q) => {
                    for (i, queue) in q.iter().enumerate() {
                        if i > 0 {
                            buckets.row(std::mem::take(&mut row));
                            row = vec![String::new(); 4];
                        }
                        let filter = format!(
                            "{} {}",
                            queue
                                .prefix
                                .as_deref()
                                .map_or_else(String::new, |p| format!("prefix {p}")),
                            queue
                                .suffix
                                .as_deref()
                                .map_or_else(String::new, |s| format!("suffix {s}"))
                        );
                        row.extend([
                            queue
                                .queue_url
                                .clone()
                                .unwrap_or_else(|| queue.queue_arn.clone()),
                            filter.trim().to_string(),
                        ]);
                    }
                }
            }
            buckets.row(row);
        }
    }
    buckets.render("S3 buckets receiving flow logs, and their queues", &mut out);

    let mut errors = Table::new(&[
        "ACCOUNT",
        "REGION",
        "CALL",
        "ON",
        "ERROR",
        "MISSING PERMISSION",
    ]);
    for a in &inv.accounts {
        let all = a.errors.iter().map(|e| ("-", e));
        let regional = a
            .regions
            .iter()
            .flat_map(|r| r.errors.iter().map(move |e| (r.region.as_str(), e)));
        for (region, e) in all.chain(regional) {
            errors.row(vec![
                account_name(a),
                region.to_string(),
                e.operation.clone(),
                or_dash(e.resource.as_deref()),
                format!("{}: {}", e.code, e.message),
                or_dash(e.action.as_deref().filter(|_| e.is_access_denied())),
            ]);
        }
    }
    errors.render(
        "Calls that failed (the rest of the inventory is complete)",
        &mut out,
    );
    out
}

/// The recorded error about `resource`, in a few words.
fn why(errors: &[CallError], resource: &str) -> String {
    match errors
        .iter()
        .find(|e| e.resource.as_deref() == Some(resource))
    {
        Some(e) => match &e.action {
            Some(a) if e.is_access_denied() => format!("{}, missing {a}", e.code),
            _ => e.code.clone(),
        },
        None => "not asked".to_string(),
    }
}

/// The config sections to paste (see the module doc). `exporters_state`: the agent's
/// `exporters.json`, so the proposed ids and addresses are the ones it already uses.
pub fn config_sections(
    inv: &Inventory,
    config: &Config,
    exporters_state: Option<&[u8]>,
) -> Result<String, ReportError> {
    let pool = config.exporter_pool.unwrap_or(DEFAULT_EXPORTER_POOL);
    let mut domains = match exporters_state {
        Some(json) => DomainTable::from_json(&config.exporters, Some(pool), json),
        None => DomainTable::new(&config.exporters, Some(pool)),
    }
    .map_err(ReportError::Domains)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "; ---- vpcflow-ipfix discover {}: sections for the config ----",
        inv.generated_at
    );
    if config.exporter_pool.is_none() {
        let _ = writeln!(
            out,
            "; Exporter addresses come from {}/{} (set [ipfix] exporter_pool to use another block).",
            pool.0, pool.1
        );
    }
    out.push('\n');

    let mut seen = HashSet::new();
    for (a, r, v) in inv.vpcs() {
        if !seen.insert(v.id.as_str()) {
            continue;
        }
        let logs: Vec<&str> = r.flow_logs_of(&v.id).map(|f| f.id.as_str()).collect();
        let what = format!(
            "{} {} {}{}",
            account_name(a),
            r.region,
            match (&v.name, v.is_default) {
                (Some(n), _) => n.as_str(),
                (None, true) => "default VPC",
                (None, false) => "(no Name tag)",
            },
            if logs.is_empty() {
                ", no flow log".to_string()
            } else {
                format!(", flow logs {}", logs.join(" "))
            }
        );
        if let Some(e) = config.exporter_for(&v.id) {
            let _ = writeln!(
                out,
                "; [exporter {}] ({what}) is configured at line {}\n",
                v.id, e.line
            );
            continue;
        }
        let d = domains.resolve(Some(&v.id));
        let _ = writeln!(out, "; {what}\n[exporter {}]", v.id);
        match d.exporter_ipv4 {
            Some(ip) => {
                let _ = writeln!(out, "ip = {ip}");
            }
            None => {
                let _ = writeln!(out, "; no free address in {}/{}: add one", pool.0, pool.1);
            }
        }
        let _ = writeln!(out, "domain_id = {}\n", d.id.0);
    }

    // An S3 input is the bucket, whichever queue the config names for it.
    let configured = |kind: &InputKind| {
        config
            .inputs
            .iter()
            .find(|i| match (&i.kind, kind) {
                (InputKind::S3 { bucket: a, .. }, InputKind::S3 { bucket: b, .. }) => a == b,
                (a, b) => a == b,
            })
            .map(|i| i.line)
    };
    let mut streams_done = HashSet::new();
    for a in &inv.accounts {
        for r in &a.regions {
            for s in &r.kinesis_streams {
                if !streams_done.insert(s.arn.as_str()) {
                    continue;
                }
                let kind = InputKind::Kinesis { arn: s.arn.clone() };
                let fed = format!("fed by log group {}", s.log_groups.join(", "));
                match configured(&kind) {
                    Some(line) => {
                        let _ = writeln!(
                            out,
                            "; [input kinesis:{}] ({fed}) is configured at line {line}\n",
                            s.arn
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "; Kinesis stream {} {fed}\n[input kinesis:{}]\nenabled = true\n",
                            s.name, s.arn
                        );
                    }
                }
            }
        }
    }

    let mut groups_done = HashSet::new();
    for a in &inv.accounts {
        for r in &a.regions {
            for g in &r.log_groups {
                let arn = g.arn.clone().or_else(|| {
                    let id = a.account_id.as_deref()?;
                    Some(format!(
                        "arn:{}:logs:{}:{id}:log-group:{}",
                        partition(&r.region),
                        r.region,
                        g.name
                    ))
                });
                let Some(arn) = arn else {
                    let _ = writeln!(
                        out,
                        "; log group {} ({}): its ARN is unknown (no account id)\n",
                        g.name, r.region
                    );
                    continue;
                };
                // The same account reached twice (a profile and a role) lists it twice.
                if !groups_done.insert(arn.clone()) {
                    continue;
                }
                if let Some(line) = configured(&InputKind::CloudWatch { arn: arn.clone() }) {
                    let _ = writeln!(out, "; [input cwl:{arn}] is configured at line {line}\n");
                    continue;
                }
                let streams: Vec<&str> = r.streams_of(g).map(|s| s.name.as_str()).collect();
                let (comment, enabled) = match &g.subscriptions {
                    _ if !streams.is_empty() => (
                        format!(
                            "; log group {} is read through Kinesis stream {}: not polled as well (no duplicates)",
                            g.name,
                            streams.join(", ")
                        ),
                        false,
                    ),
                    None => (
                        format!(
                            "; log group {}: its subscription filters are unknown ({}); if a Kinesis stream carries it, enable that stream and set enabled = false here",
                            g.name,
                            why(&r.errors, &g.name)
                        ),
                        true,
                    ),
                    Some(_) => (
                        format!("; log group {} ({} {})", g.name, account_name(a), r.region),
                        true,
                    ),
                };
                let _ = writeln!(out, "{comment}\n[input cwl:{arn}]\nenabled = {enabled}\n");
            }
        }
    }

    let mut buckets_done = HashSet::new();
    for a in &inv.accounts {
        for b in a
            .buckets
            .iter()
            .filter(|b| buckets_done.insert(b.name.as_str()))
        {
            bucket_section(&mut out, a, b, &configured);
        }
    }
    Ok(out)
}

fn bucket_section(
    out: &mut String,
    a: &crate::inventory::model::Account,
    b: &Bucket,
    configured: &dyn Fn(&InputKind) -> Option<usize>,
) {
    let arn_partition = b.region.as_deref().map_or("aws", partition);
    let arn = format!("arn:{arn_partition}:s3:::{}", b.name);
    let kind = InputKind::S3 {
        bucket: b.name.clone(),
        queue_url: String::new(),
    };
    if let Some(line) = configured(&kind) {
        let _ = writeln!(out, "; [input s3:{arn}] is configured at line {line}\n");
        return;
    }
    let queues = match &b.queues {
        None => {
            let _ = writeln!(
                out,
                "; bucket {}: its notification configuration is unknown ({}); add [input s3:{arn}] with queue = the URL of the SQS queue it notifies\n",
                b.name,
                why(&a.errors, &b.name)
            );
            return;
        }
        Some(q) => q,
    };
    let matching: Vec<&BucketQueue> = queues
        .iter()
        .filter(|q| notifies_flow_logs(q, &b.prefixes))
        .collect();
    let Some(first) = matching.first() else {
        let _ = writeln!(
            out,
            "; bucket {} receives flow logs but notifies no SQS queue of new flow-log objects: add a QueueConfiguration (s3:ObjectCreated:*) to read it through S3\n",
            b.name
        );
        return;
    };
    let Some(url) = &first.queue_url else {
        let _ = writeln!(
            out,
            "; bucket {}: queue ARN {} has no URL form\n",
            b.name, first.queue_arn
        );
        return;
    };
    let _ = writeln!(
        out,
        "; bucket {} ({}), new flow-log objects notified to SQS queue {}",
        b.name,
        or_dash(b.region.as_deref()),
        first.queue_arn
    );
    for other in &matching[1..] {
        let _ = writeln!(out, "; (also notified: {})", other.queue_arn);
    }
    let _ = writeln!(out, "[input s3:{arn}]\nqueue = {url}\nenabled = true\n");
}

/// Whether queue notification `q` fires for new flow-log objects under any of `prefixes`
/// (flow-log keys are `{prefix/}AWSLogs/…` and end in `.log.gz` or `.log.parquet`, Amazon VPC
/// User Guide, "Flow log files" for S3).
fn notifies_flow_logs(q: &BucketQueue, prefixes: &[String]) -> bool {
    let created = q.events.iter().any(|e| e.starts_with("s3:ObjectCreated:"));
    let suffix_ok = q
        .suffix
        .as_deref()
        .is_none_or(|s| ".log.gz".ends_with(s) || ".log.parquet".ends_with(s));
    let prefix_ok = |p: &String| {
        let keys = if p.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{p}/AWSLogs/")
        };
        q.prefix
            .as_deref()
            .is_none_or(|f| keys.starts_with(f) || f.starts_with(&keys))
    };
    created && suffix_ok && (prefixes.is_empty() || prefixes.iter().any(prefix_ok))
}

#[cfg(test)]
#[path = "report/tests.rs"]
mod tests;
