//! The direct path (default-format lines straight to `BasicRecord`) against the general path:
//! the same lines through two pipelines, one with the direct path and one without, must give
//! the same datagrams byte for byte, the same outcomes and the same counts — for the fixtures'
//! lines and for every mutation of them (which mixes lines the direct path takes with lines it
//! leaves to the general parser, malformed ones included).
#![allow(clippy::disallowed_methods)] // the virtual clock starts from the real one

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::export::ExportConfig;
use crate::flowlog::layout::Layout;
use crate::flowlog::record::direct::tests::{fixture_lines, mutations};

/// Every datagram, the outcome of every line and the closing counts of one pipeline.
struct Run {
    sent: Vec<Vec<u8>>,
    outcomes: Vec<LineOutcome>,
    stats: String,
}

fn run(lines: &[Vec<u8>], identity: Identity, direct: bool) -> Run {
    let export = Export::new(ExportConfig::new(1, 1400)).unwrap();
    let domains = DomainTable::new(&[], None).unwrap();
    let mut pipe = Pipeline::new(export, domains, identity);
    pipe.use_direct_path(direct);
    let layout = Layout::default_v2();
    let now = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400);
    let mut sent = Vec::new();
    let mut drain = |pipe: &mut Pipeline| {
        while let Some(t) = pipe.export.poll_transmit() {
            let c = t.collector;
            sent.push(t.bytes.to_vec());
            pipe.export.handle_sent(c);
        }
    };
    let mut outcomes = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if !pipe.can_accept(now) {
            drain(&mut pipe);
        }
        assert!(pipe.can_accept(now));
        let line = SourceLine {
            source: "mutated.log",
            number: n as u64 + 1,
            bytes: line,
        };
        outcomes.push(pipe.handle_line(&layout, line, &Enrichment::default(), now, wall));
    }
    pipe.export.flush(now, wall);
    drain(&mut pipe);
    Run {
        sent,
        outcomes,
        stats: format!("{} {:?}", pipe.stats, pipe.stats.samples()),
    }
}

#[test]
fn direct_and_general_paths_send_the_same_bytes() {
    let mut lines = Vec::new();
    for line in fixture_lines() {
        lines.push(line.clone());
        lines.extend(mutations(&line));
    }
    let taken = lines
        .iter()
        .filter(|l| crate::flowlog::parse_default_v2_flow(l).is_some())
        .count();
    assert!(taken > lines.len() / 20, "the direct path takes {taken}");
    for identity in [Identity::Element, Identity::Bind] {
        let direct = run(&lines, identity, true);
        let general = run(&lines, identity, false);
        assert_eq!(direct.outcomes, general.outcomes, "{identity:?}");
        assert_eq!(direct.stats, general.stats, "{identity:?}");
        assert_eq!(direct.sent.len(), general.sent.len(), "{identity:?}");
        for (i, (a, b)) in direct.sent.iter().zip(&general.sent).enumerate() {
            assert_eq!(a, b, "{identity:?}: datagram {i}");
        }
        let exported = direct
            .outcomes
            .iter()
            .filter(|o| matches!(o, LineOutcome::Exported(_)))
            .count();
        assert!(exported >= taken && direct.sent.len() > 10, "{identity:?}");
    }
}
