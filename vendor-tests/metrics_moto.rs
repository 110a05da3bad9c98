//! The Kinesis input's CloudWatch metrics (`source::kinesis_metrics`) against the moto emulator:
//! at each `[kinesis] metrics_level` the collector is fed the same minute of activity, its
//! PutMetricData calls go through our AWS client and poll loop, and GetMetricData must return
//! exactly what the level publishes: nothing at NONE, the per-shard processing metrics at
//! SUMMARY, those plus call latencies, checkpoints and events at DETAILED.
//!
//! One moto_server serves the binary (`harness = false`, as `moto_aws.rs`, whose plumbing it
//! reuses), started and stopped by PID.
#![allow(clippy::disallowed_methods)] // a test harness is its own driver

#[allow(dead_code)] // the parts of moto_aws's plumbing this test does not use
#[path = "moto_aws/support.rs"]
mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, UNIX_EPOCH};

use support::{Aws, Moto, call};
use vpcflow_ipfix::aws::api::monitoring::{self, Dimension, GetMetricDataInput, MetricQuery};
use vpcflow_ipfix::config::config::MetricsLevel;
use vpcflow_ipfix::driver::clock::Now;
use vpcflow_ipfix::source::kinesis_metrics::{
    CHECKPOINT_OPERATION, CallKind, KinesisMetrics, OPERATION, ShardEvent, namespace_for,
};

type Test = fn(&Moto);

const TESTS: &[(&str, Test)] = &[
    ("metrics_none_publishes_nothing", none),
    ("metrics_summary_publishes_records_bytes_and_lag", summary),
    (
        "metrics_detailed_adds_latencies_checkpoints_and_events",
        detailed,
    ),
];

const SHARD0: &str = "shardId-000000000000";
const SHARD1: &str = "shardId-000000000001";

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
    println!("\nrunning {} tests (metrics_moto)", selected.len());
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

/// One minute of a two-shard stream, fed to a collector at `level`, flushed and published;
/// returns the namespace and the flush time (epoch ms).
fn publish(moto: &Moto, level: MetricsLevel, stream: &str) -> (String, i64) {
    let now = Now::read();
    let namespace = namespace_for(stream);
    let mut m = KinesisMetrics::new(level, namespace.clone(), now.mono);
    m.handle_event(SHARD0, ShardEvent::Started);
    m.handle_call(
        SHARD0,
        CallKind::GetShardIterator,
        true,
        Duration::from_millis(30),
    );
    m.handle_batch(SHARD0, 100, 25_000, Some(4000));
    m.handle_call(
        SHARD0,
        CallKind::GetRecords,
        true,
        Duration::from_millis(40),
    );
    m.handle_batch(SHARD0, 20, 5_000, Some(1000));
    m.handle_call(
        SHARD0,
        CallKind::GetRecords,
        true,
        Duration::from_millis(80),
    );
    m.handle_batch(SHARD1, 7, 700, Some(0));
    m.handle_event(SHARD1, ShardEvent::IteratorExpired);
    m.handle_checkpoint(true, Duration::from_millis(6));
    m.flush(now.wall);
    let mut calls = Vec::new();
    while let Some(req) = m.poll_request() {
        calls.push(call(req));
    }
    let n = calls.len();
    if n > 0 {
        let mut aws = Aws::bootstrap(moto);
        for out in aws.run(calls) {
            let r = out.response();
            assert!(r.is_success(), "PutMetricData: HTTP {}", r.status);
            m.handle_response(Ok(()));
        }
    }
    assert!(m.is_idle());
    assert_eq!(m.stats().calls_sent as usize, n);
    let ms = now
        .wall
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    (namespace, ms)
}

/// The Sum of each (metric, shard or `None` for the checkpoint operation) over ±10 minutes,
/// as moto answers GetMetricData: `None` when it has no data point.
fn read(
    moto: &Moto,
    namespace: &str,
    at_ms: i64,
    metrics: &[(&str, Option<&str>)],
) -> Vec<Option<f64>> {
    let dims: Vec<Vec<Dimension<'_>>> = metrics
        .iter()
        .map(|(_, shard)| match shard {
            Some(s) => vec![
                Dimension {
                    name: "Operation",
                    value: OPERATION,
                },
                Dimension {
                    name: "ShardId",
                    value: s,
                },
            ],
            None => vec![Dimension {
                name: "Operation",
                value: CHECKPOINT_OPERATION,
            }],
        })
        .collect();
    let ids: Vec<String> = (0..metrics.len()).map(|i| format!("m{i}")).collect();
    let queries: Vec<MetricQuery<'_>> = metrics
        .iter()
        .zip(&dims)
        .zip(&ids)
        .map(|(((name, _), d), id)| MetricQuery {
            id,
            namespace,
            metric_name: name,
            dimensions: d,
            period_secs: 60,
            stat: "Sum",
            unit: None,
        })
        .collect();
    let mut aws = Aws::bootstrap(moto);
    let out = aws.one(call(monitoring::get_metric_data(&GetMetricDataInput {
        queries: &queries,
        start_time: at_ms - 600_000,
        end_time: at_ms + 600_000,
        next_token: None,
        max_datapoints: None,
    })));
    let got = monitoring::parse_get_metric_data(out.ok()).expect("GetMetricData parses");
    ids.iter()
        .map(|id| {
            let r = got
                .metric_data_results
                .iter()
                .find(|r| r.id == id.as_str())
                .unwrap_or_else(|| panic!("no result {id}"));
            assert!(r.values.len() <= 1, "one minute of data: {:?}", r.values);
            r.values.first().copied()
        })
        .collect()
}

const SUMMARY: [(&str, Option<&str>); 5] = [
    ("RecordsProcessed", Some(SHARD0)),
    ("DataBytesProcessed", Some(SHARD0)),
    ("MillisBehindLatest", Some(SHARD0)),
    ("RecordsProcessed", Some(SHARD1)),
    ("DataBytesProcessed", Some(SHARD1)),
];
const SUMMARY_VALUES: [f64; 5] = [120.0, 30_000.0, 4000.0, 7.0, 700.0];

const DETAILED: [(&str, Option<&str>); 8] = [
    ("KinesisDataFetcher.getRecords.Success", Some(SHARD0)),
    ("KinesisDataFetcher.getRecords.Time", Some(SHARD0)),
    ("KinesisDataFetcher.getShardIterator.Time", Some(SHARD0)),
    ("ShardStarted", Some(SHARD0)),
    ("ExpiredIterator", Some(SHARD1)),
    ("Checkpoint.Success", None),
    ("Checkpoint.Time", None),
    ("ShardEnded", Some(SHARD0)),
];

fn none(moto: &Moto) {
    let (ns, at) = publish(moto, MetricsLevel::None, "none-stream");
    let got = read(moto, &ns, at, &SUMMARY);
    assert!(got.iter().all(Option::is_none), "{got:?}");
}

fn summary(moto: &Moto) {
    let (ns, at) = publish(moto, MetricsLevel::Summary, "summary-stream");
    let got = read(moto, &ns, at, &SUMMARY);
    let want: Vec<Option<f64>> = SUMMARY_VALUES.iter().copied().map(Some).collect();
    assert_eq!(got, want);
    let detailed = read(moto, &ns, at, &DETAILED);
    assert!(detailed.iter().all(Option::is_none), "{detailed:?}");
}

fn detailed(moto: &Moto) {
    let (ns, at) = publish(moto, MetricsLevel::Detailed, "detailed-stream");
    let got = read(moto, &ns, at, &SUMMARY);
    let want: Vec<Option<f64>> = SUMMARY_VALUES.iter().copied().map(Some).collect();
    assert_eq!(got, want);
    let got = read(moto, &ns, at, &DETAILED);
    assert_eq!(
        got,
        [
            Some(2.0),
            Some(60.0),
            Some(30.0),
            Some(1.0),
            Some(1.0),
            Some(1.0),
            Some(6.0),
            None, // no shard ended
        ]
    );
}
