//! The refresher on a virtual clock, answered from two rounds of a moto capture with a VPC
//! created between them (`fixtures/inventory/refresh-{before,after}.json`, see ORIGIN.md).
#![allow(clippy::disallowed_methods)] // the virtual clock starts from the real one

use super::*;
use crate::inventory::discover::tests::{FakeAws, accounts, regions, wall};
use crate::inventory::model::RegionInventory;

const BEFORE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/inventory/refresh-before.json"
));
const AFTER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/inventory/refresh-after.json"
));
const IP_RANGES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/ip-ranges/ip-ranges.sample.json"
));

/// The capture's paging (pages of 5) and a small in-flight bound.
const OPTIONS: Options = Options {
    max_in_flight: 3,
    page_size: Some(5),
};

/// A virtual clock: monotonic and wall time move together.
struct Clock {
    mono: Instant,
    wall: SystemTime,
}

impl Clock {
    fn new() -> Clock {
        // 2026-01-15T12:00:00Z: a fire time of "0 */4 * * *".
        Clock {
            mono: Instant::now(),
            wall: wall(),
        }
    }

    fn advance(&mut self, d: Duration) {
        self.mono += d;
        self.wall += d;
    }

    fn advance_to(&mut self, at: Instant) {
        let d = at.saturating_duration_since(self.mono);
        self.advance(d);
    }
}

fn settings(schedule: &str, ip_ranges_file: Option<&str>) -> RefreshSettings {
    RefreshSettings {
        options: OPTIONS,
        ..RefreshSettings::new(
            Cron::parse(schedule).unwrap(),
            regions(),
            ip_ranges_file.map(str::to_string),
        )
    }
}

/// Answers every call of the running refresh from `aws`, oldest first, checking the bound;
/// each answer takes `step` of virtual time (ingestion would run in between).
fn answer_all(
    r: &mut Refresher<&'static str>,
    aws: &mut FakeAws,
    clock: &mut Clock,
    step: Duration,
) {
    let mut pending = Vec::new();
    loop {
        while let Some(call) = r.poll_request() {
            pending.push(call);
        }
        assert!(pending.len() <= OPTIONS.max_in_flight, "bounded in flight");
        if pending.is_empty() {
            break;
        }
        let (id, account, region, req) = pending.remove(0);
        clock.advance(step);
        let result = aws.answer(account, &region, &req);
        r.handle_response(id, result, clock.mono);
    }
}

fn us_east_1(inv: &Inventory) -> &RegionInventory {
    inv.accounts[0]
        .regions
        .iter()
        .find(|r| r.region == "us-east-1")
        .unwrap()
}

fn vpc_names(inv: &Inventory) -> Vec<&str> {
    let mut names: Vec<&str> = us_east_1(inv)
        .vpcs
        .iter()
        .filter_map(|v| v.name.as_deref())
        .collect();
    names.sort();
    names
}

#[test]
fn a_vpc_created_later_appears_at_the_next_scheduled_refresh() {
    let mut clock = Clock::new();
    let start = clock.mono;
    let mut r = Refresher::new(settings("0 */4 * * *", None), accounts(), clock.mono);
    // Once at start.
    assert_eq!(r.poll_timeout(), Some(clock.mono));
    assert!(
        r.poll_request().is_none(),
        "nothing before the deadline is handled"
    );
    r.handle_timeout(clock.mono, clock.wall);
    assert!(r.is_running());
    let mut before = FakeAws::from_capture(BEFORE);
    answer_all(&mut r, &mut before, &mut clock, Duration::from_millis(20));
    assert_eq!(
        before.unused(),
        Vec::<String>::new(),
        "every captured call made"
    );
    let first = r.take_inventory().expect("the first inventory");
    assert_eq!(r.take_inventory(), None, "taken once");
    assert_eq!(vpc_names(&first), ["prod", "shared"]);

    // Next fire time: 16:00 UTC, four hours after the start, whatever the run took.
    let due = r.poll_timeout().unwrap();
    assert_eq!(due, start + Duration::from_secs(4 * 3600));
    clock.advance_to(due - Duration::from_secs(1));
    r.handle_timeout(clock.mono, clock.wall);
    assert!(!r.is_running() && r.poll_request().is_none(), "not yet");

    clock.advance_to(due);
    r.handle_timeout(clock.mono, clock.wall);
    let mut after = FakeAws::from_capture(AFTER);
    answer_all(&mut r, &mut after, &mut clock, Duration::from_millis(20));
    assert_eq!(after.unused(), Vec::<String>::new());
    let second = r.take_inventory().expect("the second inventory");
    assert_eq!(vpc_names(&second), ["later", "prod", "shared"]);
    let later = us_east_1(&second)
        .vpcs
        .iter()
        .find(|v| v.name.as_deref() == Some("later"))
        .unwrap();
    assert_eq!(later.cidrs_v4, ["10.30.0.0/16"]);
    let subnet = us_east_1(&second)
        .subnets
        .iter()
        .find(|s| s.vpc_id.as_deref() == Some(later.id.as_str()))
        .unwrap();
    assert_eq!(subnet.name.as_deref(), Some("later-a"));
    // The same estate otherwise: the VPCs found before keep their ids.
    for v in &us_east_1(&first).vpcs {
        assert!(us_east_1(&second).vpc(&v.id).is_some(), "{}", v.id);
    }
    assert_eq!(second.generated_at, "2026-01-15T16:00:00Z");
    assert_eq!(r.counts(), (2, 0));

    // The agent's side: the new VPC gets its domain and name, and enrichment knows it.
    let mut domains =
        DomainTable::new(&[], Some((std::net::Ipv4Addr::new(10, 255, 0, 0), 16))).unwrap();
    let a = apply(&first, &mut domains);
    assert_eq!(a.new_domains, first.vpcs().count());
    assert!(a.tables.vpc_name(&later.id).is_none());
    assert!(domains.get(&later.id).is_none());
    let b = apply(&second, &mut domains);
    assert_eq!(b.new_domains, 1, "only the VPC created later is new");
    let d = domains.get(&later.id).expect("an exporter for the new VPC");
    assert_eq!(d.name, format!("{} later", later.id));
    assert!(d.exporter_ipv4.is_some());
    assert_eq!(b.renamed, [d.id], "announced again with its name");
    assert_eq!(b.tables.vpc_name(&later.id), Some("later"));
    assert!(domains.is_dirty(), "exporters.json is written again");
}

#[test]
fn a_refresh_due_while_one_runs_is_skipped_and_the_next_one_scheduled() {
    let mut clock = Clock::new();
    let mut r = Refresher::new(settings("*/5 * * * *", None), accounts(), clock.mono);
    r.handle_timeout(clock.mono, clock.wall);
    let first: Vec<_> = std::iter::from_fn(|| r.poll_request()).collect();
    assert_eq!(first.len(), OPTIONS.max_in_flight);
    // Nobody answers for five minutes: the 12:05 run is skipped, 12:10 is next.
    let due = r.poll_timeout().unwrap();
    assert_eq!(due, clock.mono + Duration::from_secs(300));
    clock.advance_to(due);
    r.handle_timeout(clock.mono, clock.wall);
    assert_eq!(r.counts(), (1, 1));
    assert_eq!(
        r.poll_timeout(),
        Some(clock.mono + Duration::from_secs(300))
    );
    assert!(r.poll_request().is_none(), "the bound still holds");
    // The answers of the first run still complete it.
    let mut aws = FakeAws::from_capture(BEFORE);
    for (id, account, region, req) in first {
        let result = aws.answer(account, &region, &req);
        r.handle_response(id, result, clock.mono);
    }
    answer_all(&mut r, &mut aws, &mut clock, Duration::ZERO);
    assert!(r.take_inventory().is_some());
}

#[test]
fn a_wall_clock_stepped_back_moves_the_deadline_instead_of_running_early() {
    let mut clock = Clock::new();
    let mut r = Refresher::new(settings("0 */4 * * *", None), accounts(), clock.mono);
    r.handle_timeout(clock.mono, clock.wall);
    r.handle_stop();
    assert!(!r.is_running() && r.poll_timeout().is_none());

    let mut r = Refresher::new(settings("0 */4 * * *", None), accounts(), clock.mono);
    r.handle_timeout(clock.mono, clock.wall);
    answer_all(
        &mut r,
        &mut FakeAws::from_capture(BEFORE),
        &mut clock,
        Duration::ZERO,
    );
    let due = r.poll_timeout().unwrap();
    // Four monotonic hours pass but the wall clock was set back by ten minutes.
    clock.advance_to(due);
    clock.wall -= Duration::from_secs(600);
    r.handle_timeout(clock.mono, clock.wall);
    assert!(!r.is_running());
    assert_eq!(
        r.poll_timeout(),
        Some(clock.mono + Duration::from_secs(600))
    );
    clock.advance(Duration::from_secs(600));
    r.handle_timeout(clock.mono, clock.wall);
    assert!(r.is_running(), "at the fire time by the wall clock");
}

#[test]
fn answers_of_an_abandoned_run_are_ignored() {
    let clock = Clock::new();
    let mut r = Refresher::new(settings("0 */4 * * *", None), accounts(), clock.mono);
    r.handle_timeout(clock.mono, clock.wall);
    let (id, account, region, req) = r.poll_request().unwrap();
    r.handle_stop();
    let mut aws = FakeAws::from_capture(BEFORE);
    r.handle_response(id, aws.answer(account, &region, &req), clock.mono);
    assert!(!r.is_running() && r.take_inventory().is_none());
}

#[test]
fn each_run_reads_the_ip_ranges_file_again_and_keeps_the_last_good_one() {
    let mut clock = Clock::new();
    let mut r = Refresher::new(
        settings("0 */4 * * *", Some("/etc/vpcflow/ip-ranges.json")),
        accounts(),
        clock.mono,
    );
    assert_eq!(r.poll_file_read(), None, "not before a run");
    r.handle_timeout(clock.mono, clock.wall);
    assert_eq!(r.poll_file_read(), Some("/etc/vpcflow/ip-ranges.json"));
    assert_eq!(r.poll_file_read(), None, "once per run");
    r.handle_file(Ok(IP_RANGES));
    let table = r.take_ip_ranges().expect("parsed");
    assert!(!table.is_empty());
    assert!(r.take_ip_ranges().is_none());
    answer_all(
        &mut r,
        &mut FakeAws::from_capture(BEFORE),
        &mut clock,
        Duration::ZERO,
    );
    clock.advance_to(r.poll_timeout().unwrap());
    r.handle_timeout(clock.mono, clock.wall);
    assert!(r.poll_file_read().is_some(), "again at the next run");
    r.handle_file(Ok(b"{\"prefixes\": 3"));
    r.handle_file(Err("No such file or directory".into()));
    assert!(r.take_ip_ranges().is_none(), "the previous table stays");
}
