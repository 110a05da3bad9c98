//! `vpcflow-ipfix discover` (the built binary) against the moto emulator: two accounts (a
//! credentials-file profile, and a role in another account assumed with an external id whose
//! policy refuses `logs:DescribeSubscriptionFilters`) and two regions, with signature and IAM
//! checking on. `discover` must find exactly what botocore sees (VPCs with their names, flow
//! logs, log groups, the Kinesis stream, both buckets with their regions and queues), report the
//! refused call with its action and carry on, save `inventory.json`, and print config sections
//! that, appended to the config, pass `check-config` and the agent's input planning.
//!
//! One moto_server serves the binary (`harness = false`, as `moto_aws.rs`), started and stopped
//! by PID; `vendor-tests/discover_moto/seed.py` builds the estate of
//! `scripts/fixtures/capture_moto_inventory.py` with botocore and prints what it contains.
#![allow(clippy::disallowed_methods)] // a test harness is its own driver

#[allow(dead_code)] // the parts of moto_aws's plumbing this test does not use
#[path = "moto_aws/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::{Moto, TempDir, repo};
use vpcflow_ipfix::config::config::{Config, InputKind};
use vpcflow_ipfix::inventory::model::{Inventory, RegionInventory};

type Test = fn(&Moto);

const TESTS: &[(&str, Test)] = &[(
    "discover_two_accounts_two_regions_finds_what_was_created_and_prints_a_config_that_checks",
    two_accounts_two_regions,
)];

const ACCOUNT_A: &str = "123456789012";
const ACCOUNT_B: &str = "222222222222";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in TESTS {
            println!("{name}: test");
        }
        return;
    }
    let selected: Vec<&(&str, Test)> = TESTS
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests (discover_moto)", selected.len());
    if selected.is_empty() {
        return;
    }
    let moto = Moto::start();
    let mut failed = Vec::new();
    for (name, test) in &selected {
        moto.reset();
        match catch_unwind(AssertUnwindSafe(|| test(&moto))) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(*name);
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("moto_server log (tail):\n{}", moto.logs());
    }
    drop(moto);
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len()
    );
    if !failed.is_empty() {
        eprintln!("failed: {}", failed.join(", "));
        std::process::exit(101);
    }
}

/// The venv's python: `$VPCFLOW_PYTHON` (scripts/test exports it), else `.venv/bin/python`.
fn python() -> PathBuf {
    match std::env::var_os("VPCFLOW_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => repo().join(".venv/bin/python"),
    }
}

fn seed(moto: &Moto) -> Value {
    let out = Command::new(python())
        .arg(repo().join("vendor-tests/discover_moto/seed.py"))
        .arg(&moto.endpoint)
        .output()
        .expect("run seed.py");
    assert!(
        out.status.success(),
        "seed.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        moto.logs()
    );
    serde_json::from_slice(&out.stdout).expect("seed.py prints JSON")
}

/// Runs the built binary with a clean environment pointing at moto: (status, stdout, stderr).
fn vpcflow(moto: &Moto, dir: &TempDir, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vpcflow-ipfix"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir.0)
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run vpcflow-ipfix");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

fn region<'a>(inv: &'a Inventory, account: &str, name: &str) -> &'a RegionInventory {
    let a = inv
        .accounts
        .iter()
        .find(|a| a.account_id.as_deref() == Some(account))
        .unwrap_or_else(|| panic!("no account {account}"));
    a.regions
        .iter()
        .find(|r| r.region == name)
        .unwrap_or_else(|| panic!("no region {name} in {account}"))
}

fn two_accounts_two_regions(moto: &Moto) {
    let want = seed(moto);
    moto.enable_auth();
    let dir = TempDir::new("discover-moto");
    let creds = dir.file(
        "credentials",
        &format!(
            "[discover]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = us-east-1\n",
            want["user"]["access_key"].as_str().expect("key"),
            want["user"]["secret_key"].as_str().expect("secret")
        ),
    );
    let state = dir.0.join("state");
    let base = format!(
        "[agent]\nstate_dir = {}\n\n[aws]\ncredentials_file = {creds}\nrole = {}, {}\nregions = us-east-1, eu-west-1\n\n",
        state.display(),
        want["role"].as_str().expect("role"),
        want["external_id"].as_str().expect("external id"),
    );
    let config = dir.file("vpcflow.ini", &base);

    let (code, stdout, stderr) = vpcflow(moto, &dir, &["discover", "--config", &config]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let saved = std::fs::read(state.join("inventory.json")).expect("inventory.json written");
    let inv = Inventory::from_json(&saved).expect("inventory.json reads back");

    // Exactly what botocore sees, account by account, region by region.
    let labels: Vec<&str> = inv.accounts.iter().map(|a| a.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "profile discover",
            "role arn:aws:iam::222222222222:role/Discover (with external id)"
        ]
    );
    for (account, regions) in want["accounts"].as_object().expect("accounts") {
        for (name, w) in regions.as_object().expect("regions") {
            let r = region(&inv, account, name);
            let found: BTreeMap<String, Option<String>> = r
                .vpcs
                .iter()
                .map(|v| (v.id.clone(), v.name.clone()))
                .collect();
            let expected: BTreeMap<String, Option<String>> =
                serde_json::from_value(w["vpcs"].clone()).expect("vpcs");
            assert_eq!(found, expected, "{account} {name} VPCs");
            let flow_logs: BTreeSet<String> = r.flow_logs.iter().map(|f| f.id.clone()).collect();
            assert_eq!(
                flow_logs,
                strings(&w["flow_logs"]),
                "{account} {name} flow logs"
            );
            let groups: BTreeSet<String> = r.log_groups.iter().map(|g| g.name.clone()).collect();
            assert_eq!(
                groups,
                strings(&w["log_groups"]),
                "{account} {name} log groups"
            );
            let streams: BTreeSet<String> =
                r.kinesis_streams.iter().map(|s| s.arn.clone()).collect();
            if account == ACCOUNT_B && name == "us-east-1" {
                // The role may not DescribeSubscriptionFilters: its stream stays unknown, the
                // refusal is recorded with the action, and everything else was found.
                assert!(streams.is_empty(), "{streams:?}");
                let e = r
                    .errors
                    .iter()
                    .find(|e| e.operation == "DescribeSubscriptionFilters")
                    .expect("the refused call is recorded");
                assert!(e.is_access_denied(), "{e:?}");
                assert_eq!(
                    e.action.as_deref(),
                    Some("logs:DescribeSubscriptionFilters")
                );
                assert_eq!(e.resource.as_deref(), Some("/vpc/analytics"));
                assert_eq!(
                    strings(&w["streams"]).len(),
                    1,
                    "botocore, unrestricted, sees it"
                );
            } else {
                assert_eq!(streams, strings(&w["streams"]), "{account} {name} streams");
                assert_eq!(r.errors, vec![], "{account} {name}");
            }
        }
    }
    let mut buckets = BTreeMap::new();
    for a in &inv.accounts {
        for b in &a.buckets {
            let queue = b
                .queues
                .as_ref()
                .and_then(|q| q.first())
                .and_then(|q| q.queue_url.clone());
            buckets.insert(b.name.clone(), (b.region.clone(), queue));
        }
    }
    assert_eq!(buckets.len(), 2, "{buckets:?}");
    for (name, w) in want["buckets"].as_object().expect("buckets") {
        let (region, queue) = buckets.get(name).unwrap_or_else(|| panic!("bucket {name}"));
        assert_eq!(region.as_deref(), w["region"].as_str(), "{name}");
        // The URL is made from the queue ARN (AWS's form); moto's own names its host.
        let tail = w["queue_url"]
            .as_str()
            .and_then(|u| u.split_once("://"))
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(_, path)| path)
            .expect("queue URL path");
        let queue = queue
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: no queue"));
        assert!(queue.ends_with(&format!("/{tail}")), "{queue} vs {tail}");
    }

    // The report: tables, the refusal with its action, then the sections.
    assert!(
        stdout.contains("logs:DescribeSubscriptionFilters"),
        "the table names the missing action:\n{stdout}"
    );
    assert!(stderr.contains("1 access denied"), "{stderr}");
    let at = stdout
        .find("; ---- vpcflow-ipfix discover ")
        .unwrap_or_else(|| panic!("no config sections:\n{stdout}"));
    let merged = format!("{base}{}", &stdout[at..]);
    let merged_path = dir.file("vpcflow-merged.ini", &merged);
    let (code, out, err) = vpcflow(moto, &dir, &["check-config", &merged_path]);
    assert_eq!(
        code, 0,
        "check-config:\n{out}\n{err}\n--- config ---\n{merged}"
    );
    let cfg = Config::parse(&merged).expect("parses");
    let vpc_count = inv.vpcs().count();
    assert_eq!(cfg.exporters.len(), vpc_count, "one exporter per VPC");
    let ips: BTreeSet<_> = cfg.exporters.iter().filter_map(|e| e.ip).collect();
    let ids: BTreeSet<_> = cfg.exporters.iter().filter_map(|e| e.domain_id).collect();
    assert_eq!((ips.len(), ids.len()), (vpc_count, vpc_count), "unique");
    let inputs: Vec<(String, bool)> = cfg
        .inputs
        .iter()
        .map(|i| {
            let name = match &i.kind {
                InputKind::Kinesis { arn } => format!("kinesis {arn}"),
                InputKind::CloudWatch { arn } => format!("cwl {arn}"),
                InputKind::S3 { bucket, .. } => format!("s3 {bucket}"),
            };
            (name, i.enabled)
        })
        .collect();
    let stream = format!("arn:aws:kinesis:us-east-1:{ACCOUNT_A}:stream/vpc-flow-stream");
    let group = |account: &str, name: &str| {
        format!("cwl arn:aws:logs:us-east-1:{account}:log-group:{name}")
    };
    let expected: BTreeSet<(String, bool)> = [
        (format!("kinesis {stream}"), true),
        // Carried by the stream: not polled as well.
        (group(ACCOUNT_A, "/vpc/prod-flow-logs"), false),
        (group(ACCOUNT_A, "/vpc/shared-flow-logs"), true),
        // Its subscriptions are unknown (refused): enabled, with a comment saying so.
        (group(ACCOUNT_B, "/vpc/analytics"), true),
        ("s3 flow-logs-a".to_string(), true),
        ("s3 flow-logs-b".to_string(), true),
    ]
    .into_iter()
    .collect();
    assert_eq!(inputs.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(inputs.len(), expected.len());
    // The agent would run these inputs as they are.
    let plans = vpcflow_ipfix::agent::plan::plan(&cfg).expect("the agent plans every input");
    assert_eq!(plans.len(), 5, "the enabled inputs");

    // `--json` prints the same inventory.
    let (code, json, stderr) = vpcflow(moto, &dir, &["discover", "--config", &config, "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let again = Inventory::from_json(json.as_bytes()).expect("JSON inventory");
    assert_eq!(again.accounts, inv.accounts);
}
