#![allow(clippy::disallowed_methods)] // the virtual clock starts from the real one

use std::collections::BTreeMap;

use serde_json::Value;

use super::*;

const SHARD0: &str = "shardId-000000000000";
const SHARD1: &str = "shardId-000000000001";

fn wall() -> SystemTime {
    // 2026-01-15T12:00:00Z
    UNIX_EPOCH + Duration::from_secs(1_768_478_400)
}

fn collector(level: MetricsLevel) -> (KinesisMetrics, Instant) {
    let now = Instant::now();
    (
        KinesisMetrics::new(level, namespace_for("vpc-flow-stream"), now),
        now,
    )
}

/// Feeds the same minute of activity at any level.
fn feed(m: &mut KinesisMetrics) {
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
        Duration::from_millis(60),
    );
    m.handle_call(
        SHARD0,
        CallKind::GetRecords,
        false,
        Duration::from_millis(200),
    );
    m.handle_event(SHARD0, ShardEvent::Throttled);
    m.handle_batch(SHARD1, 0, 0, Some(0));
    m.handle_call(
        SHARD1,
        CallKind::GetRecords,
        true,
        Duration::from_millis(20),
    );
    m.handle_event(SHARD1, ShardEvent::IteratorExpired);
    m.handle_checkpoint(true, Duration::from_millis(3));
    m.handle_checkpoint(true, Duration::from_millis(5));
}

/// Every request waiting, as JSON bodies; each answered OK.
fn drain(m: &mut KinesisMetrics) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(req) = m.poll_request() {
        assert_eq!(req.operation, "PutMetricData");
        out.push(serde_json::from_slice(&req.body).unwrap());
        m.handle_response(Ok(()));
    }
    out
}

/// (metric, ShardId or Operation) → (value, unit).
fn by_name(bodies: &[Value]) -> BTreeMap<(String, String), (f64, String)> {
    let mut out = BTreeMap::new();
    for b in bodies {
        assert_eq!(b["Namespace"], "vpcflow-ipfix/vpc-flow-stream");
        for d in b["MetricData"].as_array().unwrap() {
            let dims = d["Dimensions"].as_array().unwrap();
            assert_eq!(dims[0]["Name"], "Operation");
            let key = match dims.get(1) {
                Some(s) => {
                    assert_eq!(
                        (&s["Name"], &dims[0]["Value"]),
                        (&"ShardId".into(), &"ProcessTask".into())
                    );
                    s["Value"].as_str().unwrap().to_string()
                }
                None => dims[0]["Value"].as_str().unwrap().to_string(),
            };
            assert_eq!(d["Timestamp"], 1_768_478_460.0, "stamped at the flush");
            let prev = out.insert(
                (d["MetricName"].as_str().unwrap().to_string(), key),
                (
                    d["Value"].as_f64().unwrap(),
                    d["Unit"].as_str().unwrap().to_string(),
                ),
            );
            assert_eq!(prev, None, "one datum per metric and shard");
        }
    }
    out
}

fn v<'m>(
    m: &'m BTreeMap<(String, String), (f64, String)>,
    name: &str,
    key: &str,
) -> Option<(f64, &'m str)> {
    m.get(&(name.to_string(), key.to_string()))
        .map(|(v, u)| (*v, u.as_str()))
}

#[test]
fn none_collects_and_sends_nothing() {
    let (mut m, now) = collector(MetricsLevel::None);
    feed(&mut m);
    assert_eq!(m.poll_timeout(), None);
    m.handle_timeout(now + FLUSH_INTERVAL, wall());
    m.flush(wall());
    assert!(m.poll_request().is_none());
    assert!(m.is_idle());
    assert_eq!(m.stats(), MetricsStats::default());
}

#[test]
fn summary_sends_records_bytes_and_lag_per_shard_each_minute() {
    let (mut m, now) = collector(MetricsLevel::Summary);
    feed(&mut m);
    assert_eq!(m.poll_timeout(), Some(now + FLUSH_INTERVAL));
    m.handle_timeout(now + FLUSH_INTERVAL - Duration::from_millis(1), wall());
    assert!(m.poll_request().is_none(), "not before the minute");
    m.handle_timeout(now + FLUSH_INTERVAL, wall() + FLUSH_INTERVAL);
    let got = by_name(&drain(&mut m));
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(v(&got, "RecordsProcessed", SHARD0), Some((120.0, "Count")));
    assert_eq!(
        v(&got, "DataBytesProcessed", SHARD0),
        Some((30_000.0, "Bytes"))
    );
    assert_eq!(
        v(&got, "MillisBehindLatest", SHARD0),
        Some((4000.0, "Milliseconds")),
        "the largest lag of the minute"
    );
    assert_eq!(
        v(&got, "RecordsProcessed", SHARD1),
        Some((0.0, "Count")),
        "an idle shard says 0"
    );
    assert_eq!(
        v(&got, "MillisBehindLatest", SHARD1),
        Some((0.0, "Milliseconds"))
    );
    assert_eq!(m.poll_timeout(), Some(now + 2 * FLUSH_INTERVAL));
    // A minute without batches sends nothing.
    m.handle_timeout(now + 2 * FLUSH_INTERVAL, wall() + 2 * FLUSH_INTERVAL);
    assert!(m.poll_request().is_none());
    assert_eq!(m.stats().data_sent, 6);
}

#[test]
fn detailed_adds_call_latencies_checkpoints_and_events() {
    let (mut m, now) = collector(MetricsLevel::Detailed);
    feed(&mut m);
    m.handle_timeout(now + FLUSH_INTERVAL, wall() + FLUSH_INTERVAL);
    let got = by_name(&drain(&mut m));
    assert_eq!(v(&got, "RecordsProcessed", SHARD0), Some((120.0, "Count")));
    assert_eq!(
        v(&got, "KinesisDataFetcher.getRecords.Success", SHARD0),
        Some((2.0, "Count")),
        "two of three calls succeeded"
    );
    assert_eq!(
        v(&got, "KinesisDataFetcher.getRecords.Time", SHARD0),
        Some((100.0, "Milliseconds")),
        "the mean of 40, 60 and 200 ms"
    );
    assert_eq!(
        v(&got, "KinesisDataFetcher.getShardIterator.Time", SHARD0),
        Some((30.0, "Milliseconds"))
    );
    assert_eq!(v(&got, "ShardStarted", SHARD0), Some((1.0, "Count")));
    assert_eq!(v(&got, "ReadThrottled", SHARD0), Some((1.0, "Count")));
    assert_eq!(v(&got, "ExpiredIterator", SHARD1), Some((1.0, "Count")));
    assert_eq!(
        v(&got, "ShardEnded", SHARD0),
        None,
        "not counted: did not happen"
    );
    assert_eq!(
        v(&got, "Checkpoint.Success", "Checkpoint"),
        Some((2.0, "Count"))
    );
    assert_eq!(
        v(&got, "Checkpoint.Time", "Checkpoint"),
        Some((4.0, "Milliseconds"))
    );
    // 6 summary, getRecords on both shards, getShardIterator on one, 3 events, checkpoints.
    assert_eq!(got.len(), 6 + 4 + 2 + 3 + 2, "{got:?}");
}

#[test]
fn a_thousand_data_per_call() {
    let (mut m, now) = collector(MetricsLevel::Summary);
    // 334 shards × 3 metrics = 1002 data: one full call and one of 2.
    for i in 0..334 {
        m.handle_batch(&format!("shardId-{i:012}"), 1, 10, Some(5));
    }
    m.handle_timeout(now + FLUSH_INTERVAL, wall() + FLUSH_INTERVAL);
    let bodies = drain(&mut m);
    let sizes: Vec<usize> = bodies
        .iter()
        .map(|b| b["MetricData"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [MAX_METRIC_DATA_PER_CALL, 2]);
    assert_eq!(by_name(&bodies).len(), 1002);
    assert_eq!((m.stats().calls_sent, m.stats().data_sent), (2, 1002));
}

#[test]
fn calls_out_and_queued_are_bounded_and_failures_are_dropped() {
    let (mut m, mut now) = collector(MetricsLevel::Summary);
    // CloudWatch does not answer for 20 minutes.
    let mut out = 0;
    for minute in 1..=20u32 {
        m.handle_batch(SHARD0, 1, 1, None);
        now += FLUSH_INTERVAL;
        m.handle_timeout(now, wall() + FLUSH_INTERVAL * minute);
        while m.poll_request().is_some() {
            out += 1;
        }
    }
    assert_eq!(out, MAX_IN_FLIGHT);
    assert_eq!(
        m.stats().calls_dropped,
        20 - (MAX_IN_FLIGHT + MAX_QUEUED) as u64
    );
    m.handle_response(Err("RetriesExhausted: timed out".into()));
    m.handle_response(Err("RetriesExhausted: timed out".into()));
    assert_eq!(m.stats().calls_failed, 2);
    let mut sent = 0;
    while m.poll_request().is_some() {
        m.handle_response(Ok(()));
        sent += 1;
    }
    assert_eq!(sent, MAX_QUEUED);
    assert!(m.is_idle());
}

#[test]
fn a_late_wake_up_flushes_once_and_keeps_the_minute() {
    let (mut m, now) = collector(MetricsLevel::Summary);
    m.handle_batch(SHARD0, 1, 1, None);
    // Woken 2.5 minutes late: one flush, the next a full minute later.
    let late = now + FLUSH_INTERVAL * 3 + Duration::from_secs(30);
    m.handle_timeout(late, wall());
    assert_eq!(m.poll_timeout(), Some(late + FLUSH_INTERVAL));
    assert!(m.poll_request().is_some());
    assert!(m.poll_request().is_none());
}
