//! Per-collector losses in `status.json` (part of `run_moto.rs`): two UDP collectors, one that
//! listens and one on a port nobody listens on. The kernel reports the closed one's ICMP port
//! unreachable on the next send; the status file must count those datagrams and their flow
//! records against that collector only, while the live one gets every line.

use std::time::Duration;

use super::support::{Moto, TempDir};
use super::{Agent, Collector, ids, read_json, seed};

pub fn status_counts_losses_per_collector(moto: &Moto) {
    let dir = TempDir::new("run-moto-losses");
    let state = dir.0.join("state");
    let cwl = seed(moto, &["cwl", "lossy", "2", "2000", "0"]);
    let want = ids(&cwl);
    let live = Collector::udp();
    // A port that was free a moment ago: nothing listens on it.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port");
    let config = dir.file(
        "vpcflow.ini",
        &format!(
            "[agent]\nstate_dir = {}\nstatus_interval = 5s\n\
             [cloudwatch]\nrequest_interval = 1s\ninitial_position = TRIM_HORIZON\n\
             [ipfix]\ncollector = {}\ncollector = {dead}\nrate_limit = 4000\n\
             [input cwl:arn:aws:logs:us-east-1:123456789012:log-group:lossy]\n",
            state.display(),
            live.addr
        ),
    );
    let mut agent = Agent::start(moto, &dir, &config, 1);
    live.wait_for(&want, &mut agent);
    std::thread::sleep(Duration::from_secs(1));
    let log = agent.log();
    assert_eq!(agent.stop(), 0, "exit status after SIGTERM:\n{log}");
    live.assert_exactly(&want, &log);

    let status = read_json(&state.join("status.json"));
    let collectors = status["collectors"].as_array().expect("collectors");
    assert_eq!(collectors.len(), 2, "{status}");
    let (ok, gone) = (&collectors[0], &collectors[1]);
    assert_eq!(ok["address"], live.addr.to_string());
    assert_eq!(ok["datagrams_lost"], 0, "{status}");
    assert_eq!(ok["records_lost"], 0, "{status}");
    let lost = gone["datagrams_lost"].as_u64().expect("datagrams_lost");
    let records_lost = gone["records_lost"].as_u64().expect("records_lost");
    // Every other send at most reports the refusal of the one before, so about half are lost;
    // their records are among the ones sent to it.
    assert!(lost > 0, "no loss counted for the closed port: {status}");
    assert!(
        records_lost > 0 && records_lost <= gone["records"].as_u64().unwrap_or(0),
        "{status}"
    );
    assert_eq!(
        status["export"]["datagrams_lost"].as_u64(),
        Some(lost),
        "{status}"
    );
    println!(
        "losses: closed-port collector lost {lost} datagrams holding {records_lost} of {} records",
        gone["records"]
    );
}
