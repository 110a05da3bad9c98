//! The S3 + SQS input at the two ways an agent ends, on moto (part of `run_moto.rs`):
//!
//! - SIGTERM while objects wait: the messages received but not started are handed back
//!   (ChangeMessageVisibility 0), so the queue shows nothing in flight once the agent exited and
//!   a restart reads them at once, long before their visibility timeout.
//! - kill -9 while an object streams: nothing is handed back or saved; after the queue's
//!   visibility timeout the restarted agent reads the object again from its start. No line is
//!   lost, and the only repeats are lines of the object that was in flight.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::support::{Moto, TempDir};
use super::{Agent, Collector, ids, read_json, seed};

/// Lines per object; the export rate limit makes one object take ~1.5 s (so a signal lands
/// while one streams).
const LINES: u64 = 3000;
const RATE: &str = "2000";

fn config(
    dir: &TempDir,
    state: &std::path::Path,
    collector: &Collector,
    bucket: &str,
    queue: &str,
) -> String {
    dir.file(
        "vpcflow.ini",
        &format!(
            "[agent]\nstate_dir = {}\nstatus_interval = 5s\n\
             [s3]\nconcurrency = 1\n\
             [ipfix]\ncollector = {}\nrate_limit = {RATE}\n\
             [input s3:arn:aws:s3:::{bucket}]\nqueue = {queue}\n",
            state.display(),
            collector.addr
        ),
    )
}

/// Waits until at least `n` records arrived.
fn wait_for_records(collector: &Collector, n: usize, agent: &mut Agent) {
    let t0 = Instant::now();
    while collector.counts.lock().expect("lock").len() < n {
        if let Some(status) = agent.child.try_wait().expect("wait") {
            panic!("the agent exited early ({status}):\n{}", agent.log());
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no records:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM with objects still waiting: once the agent exited, no message is in flight any
/// more (the read one deleted, the others handed back), and a restart delivers the rest at
/// once. The queue's visibility timeout is 120 s: a message the stop had not handed back
/// would stay invisible for two minutes, and the restart below would time out on it.
pub fn stop_hands_back_messages_not_started(moto: &Moto) {
    let dir = TempDir::new("run-moto-release");
    let state = dir.0.join("state");
    let s3 = seed(moto, &["s3", "rel", "relq", "6", &LINES.to_string(), "0"]);
    let queue_url = s3["queue_url"].as_str().expect("queue url").to_string();
    seed(moto, &["queue-visibility", &queue_url, "120"]);
    let want = ids(&s3);
    let collector = Collector::udp();
    let config = config(&dir, &state, &collector, "rel", &queue_url);
    let mut agent = Agent::start(moto, &dir, &config, 1);
    wait_for_records(&collector, 100, &mut agent);
    let log = agent.log();
    assert_eq!(agent.stop(), 0, "exit status after SIGTERM:\n{log}");
    let depth = seed(moto, &["queue-depth", &queue_url]);
    let cp = read_json(&state.join("checkpoints.json"));
    let completed = cp["inputs"]["s3:rel"]["completed"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(
        depth["in_flight"],
        0,
        "messages left invisible after the stop: {depth}\n{}",
        std::fs::read_to_string(dir.0.join("agent-1.log")).unwrap_or_default()
    );
    assert_eq!(depth["visible"], 6 - completed as u64, "{depth} {cp}");
    assert!(
        completed < 6,
        "the stop came after everything was read: {cp}"
    );

    let mut agent = Agent::start(moto, &dir, &config, 2);
    let t0 = Instant::now();
    collector.wait_for(&want, &mut agent);
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(100),
        "the rest took {took:?}: was it handed back?"
    );
    std::thread::sleep(Duration::from_secs(2));
    let log = agent.log();
    assert_eq!(agent.stop(), 0, "exit status after SIGTERM:\n{log}");
    collector.assert_exactly(&want, &log);
}

/// kill -9 while the first object streams. The queue's visibility timeout is set to 10 s (the
/// agent takes the queue's own setting): SQS hands the killed agent's messages out again only
/// when it runs out, so with the 300 s such a queue often has, this test would wait 5 minutes.
pub fn kill_9_mid_object_loses_nothing(moto: &Moto) {
    let dir = TempDir::new("run-moto-kill-s3");
    let state = dir.0.join("state");
    let s3 = seed(
        moto,
        &["s3", "crash", "crashq", "3", &LINES.to_string(), "0"],
    );
    let queue_url = s3["queue_url"].as_str().expect("queue url").to_string();
    seed(moto, &["queue-visibility", &queue_url, "10"]);
    let want = ids(&s3);
    let collector = Collector::udp();
    let config = config(&dir, &state, &collector, "crash", &queue_url);
    let mut agent = Agent::start(moto, &dir, &config, 1);
    // Half of an object out: the kill lands in the middle of one.
    wait_for_records(&collector, (LINES / 2) as usize, &mut agent);
    agent.kill_9();
    // Datagrams already sent are counted before the snapshot.
    std::thread::sleep(Duration::from_millis(300));
    let before: BTreeSet<u64> = collector
        .counts
        .lock()
        .expect("lock")
        .keys()
        .copied()
        .collect();
    let mut agent = Agent::start(moto, &dir, &config, 2);
    collector.wait_for(&want, &mut agent);
    std::thread::sleep(Duration::from_secs(2));
    let log = agent.log();
    assert_eq!(agent.stop(), 0, "exit status after SIGTERM:\n{log}");

    let counts = collector.counts.lock().expect("lock");
    let want_set: BTreeSet<u64> = want.iter().copied().collect();
    assert!(
        counts.keys().all(|id| want_set.contains(id)),
        "lines nobody seeded"
    );
    assert!(want.iter().all(|id| counts.contains_key(id)), "lines lost");
    // Repeats: only lines of objects that had records out before the kill and were not
    // completed; with concurrency 1 that is one object.
    let repeated: Vec<u64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let objects: BTreeSet<u64> = repeated.iter().map(|id| id / LINES).collect();
    assert!(
        objects.len() <= 1,
        "repeats from several objects: {objects:?}"
    );
    assert!(
        repeated.iter().all(|id| before.contains(id)),
        "a line repeated that had not arrived before the kill"
    );
    assert!(
        counts.values().all(|n| *n <= 2),
        "a line arrived three times"
    );
    println!(
        "kill_9_mid_object: {} lines, every one arrived; {} repeats, from object(s) {objects:?}",
        want.len(),
        repeated.len()
    );
}
