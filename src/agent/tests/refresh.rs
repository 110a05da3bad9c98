//! The scheduled inventory refresh inside the agent: its calls go out through the agent's port
//! beside the inputs', answered from the two rounds of the moto capture with a VPC created
//! between them (`fixtures/inventory/refresh-{before,after}.json`); a completed refresh is
//! installed in the pipeline (tables, domains) and saved as `inventory.json`.

use std::time::Duration;

use super::fakes::{Bench, Fake, plan};
use crate::agent::inventory::InventoryRefresh;
use crate::agent::state::StateFile;
use crate::aws::credentials::CacheId;
use crate::inventory::cron::Cron;
use crate::inventory::discover::tests::{FakeAws, accounts, regions};
use crate::inventory::discover::{AccountSpec, Options};
use crate::inventory::model::Inventory;
use crate::inventory::refresh::{RefreshSettings, Refresher};

const BEFORE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/inventory/refresh-before.json"
));
const AFTER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/inventory/refresh-after.json"
));
/// The capture's paging (pages of 5) and a small in-flight bound.
const OPTIONS: Options = Options {
    max_in_flight: 3,
    page_size: Some(5),
};

/// The capture's accounts `A` and `B` as credential caches 0 and 1.
fn specs() -> Vec<AccountSpec<CacheId>> {
    accounts()
        .into_iter()
        .map(|a| AccountSpec {
            account: CacheId(usize::from(a.account == "B")),
            label: a.label,
            home_region: a.home_region,
            account_id: a.account_id,
        })
        .collect()
}

fn capture_account(c: CacheId) -> &'static str {
    if c == CacheId(0) { "A" } else { "B" }
}

fn bench_with_refresh(
    schedule: &str,
    inputs: Vec<(crate::agent::plan::InputPlan, Box<dyn crate::source::Input>)>,
) -> Bench {
    let mut bench = Bench::new(inputs, Default::default());
    let settings = RefreshSettings {
        options: OPTIONS,
        ..RefreshSettings::new(Cron::parse(schedule).unwrap(), regions(), None)
    };
    let refresher = Refresher::new(settings, specs(), bench.now);
    let agent = std::mem::replace(
        &mut bench.agent,
        Bench::new(Vec::new(), Default::default()).agent,
    );
    bench.agent = agent.with_refresh(InventoryRefresh::new(refresher));
    bench
}

/// Answers every refresh call from `aws` until none is left; returns the most out at once.
fn answer_all(bench: &mut Bench, aws: &mut FakeAws) -> usize {
    let mut most = 0;
    loop {
        bench.work();
        let calls = bench.port.take();
        if calls.is_empty() {
            return most;
        }
        most = most.max(calls.len());
        for s in calls {
            bench.advance(Duration::from_millis(10));
            let ev = aws.event(capture_account(s.account), &s.region, &s.request, s.call);
            bench.event(ev);
        }
    }
}

fn saved_inventory(bench: &mut Bench) -> Inventory {
    let writes = bench.writes(true);
    let w = writes
        .iter()
        .find(|w| w.file == StateFile::Inventory)
        .expect("inventory.json written");
    Inventory::from_json(&w.bytes).unwrap()
}

fn vpc_named(inv: &Inventory, name: &str) -> String {
    inv.vpcs()
        .find(|(_, _, v)| v.name.as_deref() == Some(name))
        .map(|(_, _, v)| v.id.clone())
        .unwrap()
}

#[test]
fn the_refresh_runs_at_start_and_on_schedule_and_new_vpcs_get_their_domain() {
    let mut bench = bench_with_refresh("0 */4 * * *", Vec::new());
    assert_eq!(bench.agent.poll_timeout(), Some(bench.now), "due at start");
    bench.agent.handle_timeout(bench.now, bench.wall);
    let mut before = FakeAws::from_capture(BEFORE);
    let most = answer_all(&mut bench, &mut before);
    assert!(most <= OPTIONS.max_in_flight, "{most} calls out at once");
    assert_eq!(before.unused(), Vec::<String>::new(), "every call made");
    // A failed write is tried again a save interval later, not at once.
    let failed = bench.writes(false);
    assert!(failed.iter().any(|w| w.file == StateFile::Inventory));
    assert!(
        !bench
            .writes(true)
            .iter()
            .any(|w| w.file == StateFile::Inventory)
    );
    bench.advance(crate::agent::SAVE_INTERVAL);
    let first = saved_inventory(&mut bench);
    let prod = vpc_named(&first, "prod");
    let pipeline = bench.agent.pipeline();
    assert!(!pipeline.tables().is_empty(), "enrichment tables installed");
    for (_, _, v) in first.vpcs() {
        assert!(
            pipeline.domains.get(&v.id).is_some(),
            "{} has a domain",
            v.id
        );
    }
    let prod_domain = pipeline.domains.get(&prod).unwrap().clone();
    assert_eq!(prod_domain.name, format!("{prod} prod"));
    assert!(
        bench.agent.poll_write(bench.now, bench.wall).is_none(),
        "written once"
    );
    bench.advance(Duration::from_secs(5));
    let status = bench
        .writes(true)
        .into_iter()
        .find(|w| w.file == StateFile::Status)
        .expect("status.json");
    let doc: serde_json::Value = serde_json::from_slice(&status.bytes).unwrap();
    let inv = &doc["inventory"];
    assert_eq!(
        (inv["refreshes"].as_u64(), inv["running"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(inv["vpcs"].as_u64(), Some(first.vpcs().count() as u64));
    assert!(inv["enis"].as_u64().is_some_and(|n| n > 0));
    assert!(inv["completed_unix_ms"].as_u64().is_some());

    // Nothing until the next fire time, 16:00 UTC.
    bench.advance(Duration::from_secs(4 * 3600 - 60));
    bench.agent.handle_timeout(bench.now, bench.wall);
    bench.work();
    assert!(bench.port.take().is_empty());
    bench.advance(Duration::from_secs(60));
    bench.agent.handle_timeout(bench.now, bench.wall);
    let mut after = FakeAws::from_capture(AFTER);
    answer_all(&mut bench, &mut after);
    assert_eq!(after.unused(), Vec::<String>::new());
    let second = saved_inventory(&mut bench);
    let later = vpc_named(&second, "later");
    let pipeline = bench.agent.pipeline();
    let d = pipeline.domains.get(&later).expect("the new VPC's domain");
    assert_eq!(d.name, format!("{later} later"));
    assert_eq!(
        pipeline.domains.get(&prod),
        Some(&prod_domain),
        "ids never move"
    );
    assert_eq!(pipeline.tables().vpc_name(&later), Some("later"));
}

fn bench_with_one_input() -> (
    Bench,
    std::rc::Rc<std::cell::RefCell<super::fakes::Control>>,
    std::rc::Rc<std::cell::RefCell<super::fakes::Seen>>,
) {
    let (fake, seen, ctl) = Fake::new("cwl:a", None);
    let mut bench = bench_with_refresh(
        "0 */4 * * *",
        vec![(
            plan("cwl:a", "123456789012", Some("us-east-1")),
            Box::new(fake) as Box<dyn crate::source::Input>,
        )],
    );
    bench
        .agent
        .handle_account_known(CacheId(0), "123456789012", "us-east-1");
    (bench, ctl, seen)
}

#[test]
fn without_a_saved_inventory_inputs_wait_for_the_first_refresh() {
    let (mut bench, ctl, seen) = bench_with_one_input();
    ctl.borrow_mut().wants.extend([false]);
    bench.agent.handle_timeout(bench.now, bench.wall);
    bench.work();
    let calls = bench.port.take();
    assert!(!calls.is_empty(), "the refresh calls");
    assert_eq!(seen.borrow().tags.len(), 0, "the input waits");
    // Answer the refresh (the input's want put aside so that only refresh calls go out).
    ctl.borrow_mut().wants.clear();
    let mut aws = FakeAws::from_capture(BEFORE);
    for s in calls {
        bench.advance(Duration::from_millis(10));
        let ev = aws.event(capture_account(s.account), &s.region, &s.request, s.call);
        bench.event(ev);
    }
    answer_all(&mut bench, &mut aws);
    assert!(bench.agent.pipeline().has_inventory());
    ctl.borrow_mut().wants.extend([false]);
    bench.work();
    assert_eq!(
        seen.borrow().tags.len(),
        1,
        "the input calls once the inventory is in"
    );
}

#[test]
fn inputs_go_on_without_an_inventory_after_the_first_wait() {
    let (mut bench, ctl, seen) = bench_with_one_input();
    ctl.borrow_mut().wants.extend([false]);
    bench.agent.handle_timeout(bench.now, bench.wall);
    bench.work();
    assert_eq!(seen.borrow().tags.len(), 0, "the input waits");
    let due = bench.agent.poll_timeout().unwrap();
    assert!(due <= bench.now + crate::agent::FIRST_INVENTORY_WAIT);
    bench.advance(crate::agent::FIRST_INVENTORY_WAIT - Duration::from_millis(1));
    bench.work();
    assert_eq!(seen.borrow().tags.len(), 0, "still waiting");
    bench.advance(Duration::from_millis(1));
    bench.work();
    assert_eq!(
        seen.borrow().tags.len(),
        1,
        "the refresh never answered: the input goes on"
    );
}

#[test]
fn inputs_keep_calling_while_a_later_refresh_runs_and_a_stop_cancels_only_the_refresh() {
    let (mut bench, ctl, seen) = bench_with_one_input();
    bench.agent.handle_timeout(bench.now, bench.wall);
    answer_all(&mut bench, &mut FakeAws::from_capture(BEFORE));
    // The next scheduled refresh, with the input wanting to call.
    ctl.borrow_mut().wants.extend([false]);
    let next = bench.agent.poll_timeout().unwrap();
    bench.advance(next.saturating_duration_since(bench.now) + Duration::from_secs(5 * 3600));
    bench.agent.handle_timeout(bench.now, bench.wall);
    bench.work();
    let calls = bench.port.take();
    // The input's call and the refresh's first ones, side by side.
    assert_eq!(seen.borrow().tags.len(), 1, "the input called");
    let refresh = calls.len() - 1;
    assert!((1..=OPTIONS.max_in_flight).contains(&refresh), "{refresh}");
    bench.agent.handle_stop(bench.now, bench.wall);
    bench.work();
    assert_eq!(
        bench.port.canceled.len(),
        refresh,
        "the refresh's calls only"
    );
    for c in &bench.port.canceled {
        assert!(calls.iter().any(|s| s.call == *c));
    }
    bench.advance(Duration::from_secs(5 * 3600));
    bench.agent.handle_timeout(bench.now, bench.wall);
    bench.work();
    assert!(bench.port.take().is_empty(), "no refresh after a stop");
}

#[test]
fn an_inventory_not_written_yet_is_among_the_last_writes() {
    let mut bench = bench_with_refresh("0 */4 * * *", Vec::new());
    bench.agent.handle_timeout(bench.now, bench.wall);
    answer_all(&mut bench, &mut FakeAws::from_capture(BEFORE));
    let last = bench.agent.final_writes(bench.now, bench.wall);
    let w = last
        .iter()
        .find(|w| w.file == StateFile::Inventory)
        .expect("inventory.json at exit");
    let inv = Inventory::from_json(&w.bytes).unwrap();
    assert!(!vpc_named(&inv, "prod").is_empty());
}
