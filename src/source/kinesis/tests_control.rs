//! The Kinesis input's control plane: settings, where LATEST starts, shard listing pages,
//! the enhanced fan-out consumer.

use std::time::Duration;

use serde_json::json;

use super::*;

#[test]
fn settings_from_a_stream_arn() {
    let s = KinesisSettings::new(ARN).expect("arn");
    assert_eq!(s.stream_name, "vpc-flow");
    assert_eq!(s.initial_position, StartPosition::Latest);
    assert_eq!(s.records_per_call, 1000);
    assert_eq!(s.consumer_name, DEFAULT_CONSUMER_NAME);
    assert!(KinesisSettings::new("arn:aws:logs:us-east-1:1:log-group:g").is_none());
    assert!(KinesisSettings::new("arn:aws:kinesis:us-east-1:1:stream/").is_none());
}

#[test]
fn latest_starts_at_the_first_start_and_keeps_it_across_restarts() {
    let mut sim = Sim::with(settings(StartPosition::Latest));
    let since = sim.input.checkpoint()["since"].as_i64().expect("since");
    assert_eq!(since, 1_768_478_400_000, "the harness's wall clock");
    assert!(sim.input.is_dirty(), "a first start is saved at once");
    sim.list(&moto("ListShards"));
    let o = sim.take("GetShardIterator", Some(S0));
    // As botocore sends AT_TIMESTAMP (epoch seconds).
    let mut want = moto_request("GetShardIterator_0_timestamp");
    want["Timestamp"] = json!(1_768_478_400);
    assert_eq!(json_of(&o)["ShardIteratorType"], want["ShardIteratorType"]);
    assert_eq!(
        json_of(&o)["Timestamp"].as_f64(),
        want["Timestamp"].as_f64()
    );
    // A restart an hour later, before any checkpoint: the same start.
    let saved = sim.input.checkpoint();
    let mut again = Sim::with(settings(StartPosition::Latest));
    again.h.advance(Duration::from_secs(3600));
    let again_input = KinesisInput::new(
        settings(StartPosition::Latest),
        Some(&saved),
        again.h.now,
        again.h.wall,
    );
    again.input = again_input;
    assert_eq!(again.input.checkpoint()["since"], json!(since));
    assert!(!again.input.is_dirty());
    again.list(&moto("ListShards"));
    let o = again.take("GetShardIterator", Some(S0));
    assert_eq!(json_of(&o)["Timestamp"].as_f64(), Some(1_768_478_400.0));
}

#[test]
fn enhanced_fan_out_registers_the_consumer_and_still_reads_by_polling() {
    let mut s = settings(StartPosition::TrimHorizon);
    s.enhanced_fan_out = true;
    let mut sim = Sim::with(s);
    assert_eq!(sim.calls(), ["ListShards", "RegisterStreamConsumer"]);
    let o = sim.take("RegisterStreamConsumer", None);
    assert_eq!(json_of(&o), moto_request("RegisterStreamConsumer"));
    // Still being created: described every 2 s until ACTIVE.
    let creating = String::from_utf8(moto("RegisterStreamConsumer"))
        .expect("utf-8")
        .replace("\"ACTIVE\"", "\"CREATING\"");
    sim.respond(&o, creating.as_bytes());
    assert!(
        sim.input
            .status()
            .detail
            .contains("registering the enhanced fan-out consumer")
    );
    sim.list(&moto("ListShards"));
    assert!(!sim.calls().contains(&"DescribeStreamConsumer".to_string()));
    sim.advance(DESCRIBE_INTERVAL);
    let o = sim.take("DescribeStreamConsumer", None);
    assert_eq!(json_of(&o), moto_request("DescribeStreamConsumer"));
    sim.respond(&o, &moto("DescribeStreamConsumer"));
    assert_eq!(
        sim.input.consumer_arn(),
        Some(
            "arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow/consumer/VPCFLOW_IPFIX_KINESIS_VPC_FLOW_LOG_CONSUMER"
        )
    );
    assert!(
        sim.input
            .status()
            .detail
            .contains("consumer ACTIVE (read by GetRecords polling)")
    );
    // Reading went on meanwhile, by GetShardIterator and GetRecords.
    assert_eq!(
        sim.calls(),
        [
            "GetShardIterator shardId-000000000000",
            "GetShardIterator shardId-000000000001"
        ]
    );
    sim.advance(Duration::from_secs(600));
    assert!(!sim.calls().iter().any(|c| c.contains("Consumer")));
}

#[test]
fn moto_paging_sends_the_stream_name_with_the_token_aws_does_not() {
    for moto_quirk in [true, false] {
        let mut s = settings(StartPosition::TrimHorizon);
        s.list_shards_stream_with_next_token = moto_quirk;
        let mut sim = Sim::with(s);
        sim.list(&moto("ListShards_page1"));
        assert!(sim.input.shard_ids().next().is_none(), "not complete yet");
        let o = sim.take("ListShards", None);
        if moto_quirk {
            assert_eq!(json_of(&o), moto_request("ListShards_page2"));
        } else {
            let mut want = moto_request("ListShards_page2");
            want.as_object_mut().expect("object").remove("StreamName");
            assert_eq!(json_of(&o), want);
        }
        sim.respond(&o, &moto("ListShards_page2"));
        assert_eq!(sim.input.shard_ids().collect::<Vec<_>>(), [S0, S1]);
        // Listed again every 60 s.
        sim.advance(LISTING_INTERVAL);
        assert!(sim.calls().contains(&"ListShards".to_string()));
    }
}

/// The two-shard moto stream read once: shard 0 one record, shard 1 two; 5 s behind on shard 1.
fn read_one_round(sim: &mut Sim) -> (usize, usize) {
    sim.list(&moto("ListShards"));
    for (shard, n) in [(S0, 0), (S1, 1)] {
        let o = sim.take("GetShardIterator", Some(shard));
        sim.respond(&o, &moto(&format!("GetShardIterator_{n}_trim")));
    }
    let (d0, d1, d2) = (
        data("data-message"),
        data("control-message"),
        data("account-level-policy-data-message"),
    );
    sim.read(S0, &records(&[(&seq(1), &d0)], Some(&iterator(10)), 0));
    sim.read(
        S1,
        &records(&[(&seq(2), &d1), (&seq(3), &d2)], Some(&iterator(11)), 5000),
    );
    sim.deliver();
    let decoded = |d: &str| {
        let mut out = Vec::new();
        crate::aws::api::base64::decode_into(d.as_bytes(), &mut out).expect("base64");
        out.len()
    };
    (decoded(&d0), decoded(&d1) + decoded(&d2))
}

/// PutMetricData bodies among the outstanding calls.
fn metric_calls(sim: &mut Sim) -> Vec<Value> {
    sim.poll();
    let (metrics, rest): (Vec<Outgoing>, Vec<Outgoing>) = std::mem::take(&mut sim.out)
        .into_iter()
        .partition(|o| o.request.operation == "PutMetricData");
    sim.out = rest;
    metrics.iter().map(json_of).collect()
}

#[test]
fn summary_metrics_go_out_as_put_metric_data_after_a_minute() {
    let mut s = settings(StartPosition::TrimHorizon);
    s.metrics_level = MetricsLevel::Summary;
    let mut sim = Sim::with(s);
    let (bytes0, bytes1) = read_one_round(&mut sim);
    assert!(
        metric_calls(&mut sim).is_empty(),
        "nothing before the minute"
    );
    sim.advance(Duration::from_secs(60));
    let calls = metric_calls(&mut sim);
    assert_eq!(calls.len(), 1, "one call carries the minute");
    let call = &calls[0];
    assert_eq!(call["Namespace"], "vpcflow-ipfix/vpc-flow");
    let value = |metric: &str, shard: &str| -> Option<f64> {
        call["MetricData"].as_array()?.iter().find_map(|d| {
            let dims = d["Dimensions"].as_array()?;
            let of_shard = dims
                .iter()
                .any(|x| x["Name"] == "ShardId" && x["Value"] == shard);
            (d["MetricName"] == metric && of_shard).then(|| d["Value"].as_f64())?
        })
    };
    assert_eq!(value("RecordsProcessed", S0), Some(1.0));
    assert_eq!(value("RecordsProcessed", S1), Some(2.0));
    assert_eq!(value("DataBytesProcessed", S0), Some(bytes0 as f64));
    assert_eq!(value("DataBytesProcessed", S1), Some(bytes1 as f64));
    assert_eq!(value("MillisBehindLatest", S1), Some(5000.0));
    assert_eq!(value("KinesisDataFetcher.getRecords.Success", S0), None);
    let stats = sim.input.metrics().stats();
    assert_eq!((stats.calls_sent, stats.data_sent), (1, 6));
}

#[test]
fn metrics_none_sends_nothing() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    read_one_round(&mut sim);
    sim.advance(Duration::from_secs(120));
    assert!(metric_calls(&mut sim).is_empty());
}
