//! The Kinesis input under failures: expired iterators, throttling, undecodable records,
//! stopping with batches in flight.

use std::time::Duration;

use serde_json::json;

use super::*;

/// Two shards from moto's listing, shard 0 holding one delivered data batch (`seq(1)`).
fn reading() -> Sim {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    sim.list(&moto("ListShards"));
    sim.iterate(S0, &iterator(0));
    sim.iterate(S1, &iterator(1));
    sim
}

#[test]
fn an_expired_iterator_is_replaced_after_the_last_handed_record_not_the_last_acked() {
    let mut sim = reading();
    let (a, b) = (seq(1), seq(2));
    sim.read(
        S0,
        &records(&[(&a, &data("data-message"))], Some(&iterator(2)), 0),
    );
    sim.formats("/vpc/flow-logs", "v2");
    sim.deliver();
    sim.advance(MIN_GET_RECORDS_INTERVAL);
    sim.read(
        S0,
        &records(
            &[(&b, &data("account-level-policy-data-message"))],
            Some(&iterator(3)),
            0,
        ),
    );
    // b is handed out but not acknowledged.
    assert_eq!(sim.input.saved_position(S0), Some(a.as_str()));
    sim.advance(MIN_GET_RECORDS_INTERVAL);
    let o = sim.take("GetRecords", Some(S0));
    assert_eq!(json_of(&o)["ShardIterator"], iterator(3));
    sim.fail(&o, call_error(&aws("error_ExpiredIterator"), "GetRecords"));
    let o = sim.take("GetShardIterator", Some(S0));
    let req = json_of(&o);
    assert_eq!(req["ShardIteratorType"], "AFTER_SEQUENCE_NUMBER");
    assert_eq!(req["StartingSequenceNumber"], json!(b));
    sim.respond(&o, &iterator_body(&iterator(4)));
    let r = sim.read(S0, &records(&[], Some(&iterator(5)), 0));
    assert_eq!(r["ShardIterator"], iterator(4));
    assert!(sim.input.status().detail.contains("1 iterators expired"));
    assert_eq!(sim.input.status().errors, 0, "an expiry is not an error");
    sim.deliver();
    let mut want = oracle("data-message");
    want.extend(oracle("account-level-policy-data-message"));
    assert_eq!(exported(&mut sim.h), sorted(want), "nothing read twice");
}

#[test]
fn an_iterator_about_to_expire_is_replaced_before_use() {
    let mut sim = reading();
    let a = seq(1);
    sim.read(
        S0,
        &records(&[(&a, &data("control-message"))], Some(&iterator(2)), 0),
    );
    // The pipeline refuses lines for longer than an iterator lives (no call goes meanwhile).
    sim.h.advance(ITERATOR_MAX_AGE);
    let o = sim.take("GetShardIterator", Some(S0));
    let req = json_of(&o);
    assert_eq!(req["ShardIteratorType"], "AFTER_SEQUENCE_NUMBER");
    assert_eq!(req["StartingSequenceNumber"], json!(a));
}

#[test]
fn throughput_exceeded_backs_the_shard_off_on_the_virtual_clock() {
    let mut sim = reading();
    let pte = aws("error_ProvisionedThroughputExceeded");
    let start = sim.h.now;
    let o = sim.take("GetRecords", Some(S0));
    sim.fail(&o, call_error(&pte, "GetRecords"));
    // 1 s, then 2 s, then 4 s; the other shard is not held up.
    let mut at = start;
    for wait in [1, 2, 4] {
        at += Duration::from_secs(wait);
        assert!(!sim.calls().iter().any(|c| c.contains(S0)));
        let due = sim.input.shards[S0].due().map(|(t, _)| t);
        assert_eq!(due, Some(at), "backoff {wait} s");
        sim.h.advance(at - sim.h.now);
        let o = sim.take("GetRecords", Some(S0));
        if wait < 4 {
            sim.fail(&o, call_error(&pte, "GetRecords"));
        } else {
            sim.respond(&o, &records(&[], Some(&iterator(9)), 0));
        }
    }
    sim.read(S1, &records(&[], Some(&iterator(8)), 0));
    assert!(sim.input.status().detail.contains("3 throttled"));
    assert_eq!(sim.input.status().errors, 0);
    // A success resets the backoff: the next call after the idle second.
    assert_eq!(
        sim.input.shards[S0].due().map(|(t, _)| t),
        Some(sim.h.now + IDLE_WAIT)
    );
    assert_eq!(sim.input.shards[S0].throttles, 0);
}

#[test]
fn bytes_read_pace_the_next_call_at_two_mib_per_second() {
    let mut sim = reading();
    // 40 copies of a payload in one batch, each ~300 bytes: well under 2 MiB, so 200 ms;
    // the pacing rule itself is covered in `shard`; here: the batch's data size is what counts.
    let payload = data("data-message");
    let seqs: Vec<String> = (1..=40).map(seq).collect();
    let recs: Vec<(&str, &str)> = seqs
        .iter()
        .map(|s| (s.as_str(), payload.as_str()))
        .collect();
    sim.read(S0, &records(&recs, Some(&iterator(2)), 1000));
    let bytes = match &sim.input.shards[S0].phase {
        Phase::Feeding(b) => b.data_len(),
        _ => panic!("feeding"),
    };
    assert_eq!(
        bytes,
        40 * fixture("cwl/data-message.kinesis-record-data.bin").len()
    );
    assert_eq!(
        sim.input.shards[S0].not_before,
        sim.h.now + MIN_GET_RECORDS_INTERVAL
    );
    assert_eq!(sim.input.status().lag, Some(1000));
}

#[test]
fn lag_is_the_largest_millis_behind_latest() {
    let mut sim = reading();
    sim.read(S0, &records(&[], Some(&iterator(2)), 5000));
    sim.read(S1, &records(&[], Some(&iterator(3)), 12_000));
    assert_eq!(sim.input.status().lag, Some(12_000));
}

#[test]
fn undecodable_records_are_counted_with_their_sequence_number_and_skipped() {
    let mut sim = reading();
    // moto's own records: a broken gzip and plain text, then a good one.
    let m: Value = serde_json::from_slice(&moto_body_of_plain_records()).expect("json");
    let bad1 = m["Records"][0]["Data"].as_str().expect("data").to_string();
    let bad2 = m["Records"][1]["Data"].as_str().expect("data").to_string();
    let (a, b, c) = (seq(1), seq(2), seq(3));
    sim.read(
        S0,
        &records(
            &[
                (&a, &bad1),
                (&b, "not base64!"),
                (&c, &data("data-message")),
            ],
            Some(&iterator(2)),
            0,
        ),
    );
    sim.formats("/vpc/flow-logs", "v2");
    sim.read(S1, &records(&[(&seq(4), &bad2)], Some(&iterator(3)), 0));
    sim.deliver();
    let st = sim.input.status();
    assert_eq!(st.errors, 3);
    assert!(st.detail.contains("3 undecodable records"));
    assert_eq!(exported(&mut sim.h), sorted(oracle("data-message")));
    assert_eq!(sim.input.saved_position(S0), Some(c.as_str()));
    assert_eq!(sim.input.saved_position(S1), Some(seq(4).as_str()));
}

fn moto_body_of_plain_records() -> Vec<u8> {
    response_body("aws/responses/moto_kinesis_GetRecords.response.txt")
}

#[test]
fn stop_asks_for_nothing_new_and_is_done_when_every_batch_is_acknowledged() {
    let mut sim = reading();
    let a = seq(1);
    sim.read(
        S0,
        &records(&[(&a, &data("data-message"))], Some(&iterator(2)), 0),
    );
    sim.formats("/vpc/flow-logs", "v2");
    let o = sim.take("GetRecords", Some(S1));
    let mut ctx = sim.h.ctx();
    assert!(
        !sim.input.handle_stop(&mut ctx),
        "a's batch is not acknowledged"
    );
    sim.h.advance(Duration::from_secs(5));
    assert!(sim.calls().is_empty());
    // A batch arriving after stop is not handed out: the next run reads it again.
    sim.respond(
        &o,
        &records(&[(&seq(2), &data("data-message"))], Some(&iterator(3)), 0),
    );
    assert_eq!(sim.input.status().lines_in, 3);
    sim.deliver();
    let mut ctx = sim.h.ctx();
    assert!(sim.input.handle_stop(&mut ctx));
    assert_eq!(sim.input.checkpoint()["shards"], json!({ S0: a }));
    assert_eq!(sim.input.poll_timeout(), None);
}

#[test]
fn a_refused_checkpoint_position_reads_the_shard_from_trim_horizon() {
    let saved = json!({
        "version": 1, "stream": "vpc-flow", "since": 1_768_478_400_000_i64,
        "shards": { S0: seq(99) }, "finished": [],
    });
    let mut sim = Sim::new(
        ExportConfig::new(1, 1400),
        settings(StartPosition::Latest),
        Some(&saved),
    );
    sim.list(&moto("ListShards"));
    let o = sim.take("GetShardIterator", Some(S0));
    assert_eq!(json_of(&o)["StartingSequenceNumber"], json!(seq(99)));
    let refused = br#"{"__type":"InvalidArgumentException","message":"StartingSequenceNumber 49612345678901234567890123456789012345678901234560099 used in GetShardIterator on shard shardId-000000000000 in stream vpc-flow under account 123456789012 is invalid because it did not come from this stream."}"#;
    sim.fail(&o, call_error(refused, "GetShardIterator"));
    let o = sim.take("GetShardIterator", Some(S0));
    assert_eq!(json_of(&o)["ShardIteratorType"], "TRIM_HORIZON");
}

#[test]
fn a_damaged_or_foreign_checkpoint_is_ignored() {
    for saved in [
        json!({"version": 1, "stream": "other", "since": 5, "shards": {}}),
        json!({"version": 2, "stream": "vpc-flow", "since": 5, "shards": {}}),
        json!({"version": 1, "stream": "vpc-flow", "shards": {}}),
        json!([1, 2]),
    ] {
        let sim = Sim::new(
            ExportConfig::new(1, 1400),
            settings(StartPosition::Latest),
            Some(&saved),
        );
        assert_eq!(
            sim.input.checkpoint()["since"],
            json!(1_768_478_400_000_i64)
        );
        assert!(sim.input.is_dirty());
    }
}

#[test]
fn a_failed_listing_is_retried_with_backoff() {
    let mut sim = Sim::with(settings(StartPosition::TrimHorizon));
    let o = sim.take("ListShards", None);
    let throttled = br#"{"__type":"LimitExceededException","message":"Rate exceeded for stream vpc-flow under account 123456789012."}"#;
    sim.fail(&o, call_error(throttled, "ListShards"));
    assert!(sim.calls().is_empty());
    assert_eq!(sim.input.poll_timeout(), Some(sim.h.now + RETRY_MIN));
    assert!(sim.input.status().detail.contains("listing shards"));
    assert!(sim.input.status().detail.contains("last error"));
    sim.advance(RETRY_MIN);
    sim.list(&moto("ListShards"));
    assert_eq!(sim.input.shard_ids().count(), 2);
}
