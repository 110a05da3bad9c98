//! Kinesis builders against botocore's captured requests, parsers against botocore's parse of
//! the sample and moto responses.

use super::*;
use crate::aws::api::json::test_support::{
    assert_prefixes_fail, assert_same_request, botocore, botocore_datetime_ms, split_http,
};
use serde_json::Value;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
    };
}

fn body(raw: &[u8]) -> &[u8] {
    split_http(raw).2
}

fn opt(v: &Value) -> Option<&str> {
    v.as_str()
}

#[test]
fn requests_match_botocore() {
    let name = StreamRef::Name("vpc-flow");
    let arn = StreamRef::Arn("arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow");
    let list = ListShardsInput {
        stream: name,
        next_token: None,
        stream_with_next_token: false,
        exclusive_start_shard_id: None,
        shard_filter: None,
        max_results: Some(1000),
    };
    assert_same_request(
        &list_shards(&list),
        fixture!("requests/kinesis_ListShards.request.txt"),
    );
    assert_same_request(
        &list_shards(&ListShardsInput {
            stream: arn,
            max_results: None,
            ..list
        }),
        fixture!("requests/kinesis_ListShards_withStreamARN.request.txt"),
    );
    assert_same_request(
        &list_shards(&ListShardsInput {
            next_token: Some(
                "eyJwYXJhbWV0ZXJDaGVja3N1bSI6IC04ODU2ODMyOTAxOTU1NDcwNzQzLCAidW5pcXVlQXR0cmlidXRlcyI6ICJzaGFyZElkLTAwMDAwMDAwMDAwMSJ9",
            ),
            stream_with_next_token: true,
            max_results: Some(1),
            ..list
        }),
        fixture!("requests/moto_kinesis_ListShards_page2.request.txt"),
    );
    assert_same_request(
        &describe_stream_summary(name),
        fixture!("requests/kinesis_DescribeStreamSummary.request.txt"),
    );
    assert_same_request(
        &get_shard_iterator(&GetShardIteratorInput {
            stream: name,
            shard_id: "shardId-000000000000",
            position: ShardPosition::AfterSequenceNumber(
                "49612345678901234567890123456789012345678901234567890",
            ),
        }),
        fixture!("requests/kinesis_GetShardIterator.request.txt"),
    );
    assert_same_request(
        &get_shard_iterator(&GetShardIteratorInput {
            stream: name,
            shard_id: "shardId-000000000000",
            position: ShardPosition::TrimHorizon,
        }),
        fixture!("requests/moto_kinesis_GetShardIterator.request.txt"),
    );
    assert_same_request(
        &get_records(&GetRecordsInput {
            shard_iterator: "AAAAAAAAAAFGU/kLvNggvndHq2UIFOw5PZc6F01s3e3afsSscRM70JSbjIefg2ub07nk1y6CDxYR1UoGHJNP4m4NFUetzfL+wev+e2P4djJg4L9wmXKvQYoE+rMUiFq+p4Cn3IgvqOb5dRA0yybNdRcdzvnC35KQANoHzzahKdRGb9v4scv+3vaq+f+OIK8zM5My8ID+g6rMo7UKWeI4+IWiK2OSh0uP",
            limit: Some(1000),
            stream_arn: None,
        }),
        fixture!("requests/kinesis_GetRecords.request.txt"),
    );
    assert_same_request(
        &get_records(&GetRecordsInput {
            shard_iterator: "AAAA",
            limit: None,
            stream_arn: Some("arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow"),
        }),
        fixture!("requests/kinesis_GetRecords_withStreamARN.request.txt"),
    );
    // moto's iterator ends in a newline, which the JSON string escapes.
    assert_same_request(
        &get_records(&GetRecordsInput {
            shard_iterator: "dnBjLWZsb3c6c2hhcmRJZC0wMDAwMDAwMDAwMDA6MA==\n",
            limit: Some(1000),
            stream_arn: None,
        }),
        fixture!("requests/moto_kinesis_GetRecords.request.txt"),
    );
    let stream_arn = "arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow";
    assert_same_request(
        &register_stream_consumer(stream_arn, "vpcflow-ipfix"),
        fixture!("requests/moto_kinesis_RegisterStreamConsumer.request.txt"),
    );
    assert_same_request(
        &describe_stream_consumer(ConsumerRef::Name {
            stream_arn,
            consumer_name: "vpcflow-ipfix",
        }),
        fixture!("requests/moto_kinesis_DescribeStreamConsumer.request.txt"),
    );
    assert_same_request(
        &list_stream_consumers(&ListStreamConsumersInput {
            stream_arn,
            next_token: None,
            max_results: Some(100),
        }),
        fixture!("requests/moto_kinesis_ListStreamConsumers.request.txt"),
    );
}

#[test]
fn token_pages_leave_out_the_stream_for_aws() {
    let req = list_shards(&ListShardsInput {
        stream: StreamRef::Name("s"),
        next_token: Some("tok"),
        stream_with_next_token: false,
        exclusive_start_shard_id: Some("ignored-with-a-token"),
        shard_filter: Some(ShardFilter::AtTrimHorizon),
        max_results: Some(10),
    });
    assert_eq!(
        std::str::from_utf8(&req.body).unwrap(),
        r#"{"NextToken": "tok", "MaxResults": 10}"#
    );
    let req = list_shards(&ListShardsInput {
        stream: StreamRef::Name("s"),
        next_token: None,
        stream_with_next_token: false,
        exclusive_start_shard_id: None,
        shard_filter: Some(ShardFilter::FromTimestamp(1_768_478_000_250)),
        max_results: None,
    });
    assert_eq!(
        std::str::from_utf8(&req.body).unwrap(),
        r#"{"StreamName": "s", "ShardFilter": {"Type": "FROM_TIMESTAMP", "Timestamp": 1768478000.25}}"#
    );
    let req = get_shard_iterator(&GetShardIteratorInput {
        stream: StreamRef::Name("s"),
        shard_id: "shardId-1",
        position: ShardPosition::AtTimestamp(1_768_478_000_000),
    });
    assert_eq!(
        std::str::from_utf8(&req.body).unwrap(),
        r#"{"StreamName": "s", "ShardId": "shardId-1", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1768478000}"#
    );
}

fn check_shards(raw: &[u8], parsed: &[u8]) {
    let out = parse_list_shards(body(raw)).unwrap();
    let want = botocore(parsed);
    assert_eq!(out.next_token.as_deref(), opt(&want["NextToken"]));
    let shards = want["Shards"].as_array().unwrap();
    assert_eq!(out.shards.len(), shards.len());
    for (g, w) in out.shards.iter().zip(shards) {
        assert_eq!(g.shard_id, w["ShardId"].as_str().unwrap());
        assert_eq!(g.parent_shard_id.as_deref(), opt(&w["ParentShardId"]));
        assert_eq!(
            g.adjacent_parent_shard_id.as_deref(),
            opt(&w["AdjacentParentShardId"])
        );
        assert_eq!(
            g.hash_key_range.starting_hash_key,
            w["HashKeyRange"]["StartingHashKey"].as_str().unwrap()
        );
        assert_eq!(
            g.hash_key_range.ending_hash_key,
            w["HashKeyRange"]["EndingHashKey"].as_str().unwrap()
        );
        let range = &w["SequenceNumberRange"];
        assert_eq!(
            g.sequence_number_range.starting_sequence_number,
            range["StartingSequenceNumber"].as_str().unwrap()
        );
        assert_eq!(
            g.sequence_number_range.ending_sequence_number.as_deref(),
            opt(&range["EndingSequenceNumber"])
        );
        assert_eq!(g.is_closed(), range["EndingSequenceNumber"].is_string());
    }
    assert_prefixes_fail(body(raw), |b| parse_list_shards(b).is_ok());
}

#[test]
fn list_shards_matches_botocore() {
    check_shards(
        fixture!("responses/kinesis_ListShards.response.txt"),
        fixture!("responses/kinesis_ListShards.parsed-by-botocore.json"),
    );
    check_shards(
        fixture!("responses/moto_kinesis_ListShards_page1.response.txt"),
        fixture!("responses/moto_kinesis_ListShards_page1.parsed-by-botocore.json"),
    );
    check_shards(
        fixture!("responses/moto_kinesis_ListShards_page2.response.txt"),
        fixture!("responses/moto_kinesis_ListShards_page2.parsed-by-botocore.json"),
    );
}

#[test]
fn describe_stream_summary_matches_botocore() {
    let raw = fixture!("responses/kinesis_DescribeStreamSummary.response.txt");
    let out = parse_describe_stream_summary(body(raw))
        .unwrap()
        .stream_description_summary;
    let want = botocore(fixture!(
        "responses/kinesis_DescribeStreamSummary.parsed-by-botocore.json"
    ));
    let w = &want["StreamDescriptionSummary"];
    assert_eq!(out.stream_name, w["StreamName"].as_str().unwrap());
    assert_eq!(out.stream_arn, w["StreamARN"].as_str().unwrap());
    assert_eq!(out.stream_status, w["StreamStatus"].as_str().unwrap());
    assert_eq!(
        out.stream_mode_details.as_ref().map(|m| &*m.stream_mode),
        opt(&w["StreamModeDetails"]["StreamMode"])
    );
    assert_eq!(
        out.retention_period_hours.map(u64::from),
        w["RetentionPeriodHours"].as_u64()
    );
    assert_eq!(
        out.stream_creation_timestamp,
        Some(botocore_datetime_ms(
            w["StreamCreationTimestamp"].as_str().unwrap()
        ))
    );
    assert_eq!(out.encryption_type.as_deref(), opt(&w["EncryptionType"]));
    assert_eq!(
        out.open_shard_count.map(u64::from),
        w["OpenShardCount"].as_u64()
    );
    assert_eq!(
        out.consumer_count.map(u64::from),
        w["ConsumerCount"].as_u64()
    );
    assert_prefixes_fail(body(raw), |b| parse_describe_stream_summary(b).is_ok());
}

#[test]
fn get_shard_iterator_matches_botocore() {
    for (raw, parsed) in [
        (
            &fixture!("responses/kinesis_GetShardIterator.response.txt")[..],
            &fixture!("responses/kinesis_GetShardIterator.parsed-by-botocore.json")[..],
        ),
        (
            fixture!("responses/moto_kinesis_GetShardIterator.response.txt"),
            fixture!("responses/moto_kinesis_GetShardIterator.parsed-by-botocore.json"),
        ),
    ] {
        let out = parse_get_shard_iterator(body(raw)).unwrap();
        assert_eq!(
            out.shard_iterator.as_deref(),
            opt(&botocore(parsed)["ShardIterator"])
        );
        assert_prefixes_fail(body(raw), |b| parse_get_shard_iterator(b).is_ok());
    }
}

/// botocore's `str(bytes)` of `Data` (`b'\x1f\x8b…'`) back to bytes.
fn python_bytes(repr: &str) -> Vec<u8> {
    let quote = repr.as_bytes()[1];
    let inner = &repr[2..repr.len() - 1];
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b[i + 1] {
                b'x' => {
                    out.push(u8::from_str_radix(&inner[i + 2..i + 4], 16).unwrap());
                    i += 4;
                    continue;
                }
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                c if c == quote || c == b'\'' || c == b'"' => out.push(c),
                c => panic!("unexpected escape \\{}", c as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn check_records(raw: &[u8], parsed: &[u8]) -> usize {
    let out = parse_get_records(body(raw)).unwrap();
    let want = botocore(parsed);
    assert_eq!(
        out.next_shard_iterator.as_deref(),
        opt(&want["NextShardIterator"])
    );
    assert_eq!(
        out.millis_behind_latest,
        want["MillisBehindLatest"].as_u64()
    );
    assert_eq!(out.is_shard_end(), want["NextShardIterator"].is_null());
    let records = want["Records"].as_array().unwrap();
    assert_eq!(out.records.len(), records.len());
    let mut buf = Vec::new();
    for (g, w) in out.records.iter().zip(records) {
        assert_eq!(g.sequence_number, w["SequenceNumber"].as_str().unwrap());
        assert_eq!(g.partition_key.as_deref(), opt(&w["PartitionKey"]));
        assert_eq!(
            g.approximate_arrival_timestamp,
            Some(botocore_datetime_ms(
                w["ApproximateArrivalTimestamp"].as_str().unwrap()
            ))
        );
        buf.clear();
        let n = g.decode_data(&mut buf).unwrap();
        assert_eq!(n, buf.len());
        assert_eq!(buf, python_bytes(w["Data"].as_str().unwrap()));
    }
    let children = want["ChildShards"]
        .as_array()
        .map_or(&[][..], |a| a.as_slice());
    let got_children = out.child_shards.as_deref().unwrap_or(&[]);
    assert_eq!(got_children.len(), children.len());
    for (g, w) in got_children.iter().zip(children) {
        assert_eq!(g.shard_id, w["ShardId"].as_str().unwrap());
        let parents: Vec<&str> = w["ParentShards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(g.parent_shards, parents);
        assert_eq!(
            g.hash_key_range.starting_hash_key,
            w["HashKeyRange"]["StartingHashKey"].as_str().unwrap()
        );
        assert_eq!(
            g.hash_key_range.ending_hash_key,
            w["HashKeyRange"]["EndingHashKey"].as_str().unwrap()
        );
    }
    assert_prefixes_fail(body(raw), |b| parse_get_records(b).is_ok());
    out.records.len()
}

#[test]
fn get_records_matches_botocore() {
    assert_eq!(
        check_records(
            fixture!("responses/kinesis_GetRecords.response.txt"),
            fixture!("responses/kinesis_GetRecords.parsed-by-botocore.json")
        ),
        2
    );
    assert_eq!(
        check_records(
            fixture!("responses/kinesis_GetRecords_closedShardEnd.response.txt"),
            fixture!("responses/kinesis_GetRecords_closedShardEnd.parsed-by-botocore.json"),
        ),
        0
    );
    assert_eq!(
        check_records(
            fixture!("responses/moto_kinesis_GetRecords.response.txt"),
            fixture!("responses/moto_kinesis_GetRecords.parsed-by-botocore.json"),
        ),
        2
    );
}

#[test]
fn record_data_is_the_cwl_gzip_payload() {
    // The second sample record is the gzip of a CWL DATA_MESSAGE (spec B): gzip magic, and
    // the same bytes as samples/cwl/data-message.kinesis-record-data.bin would give.
    let out =
        parse_get_records(body(fixture!("responses/kinesis_GetRecords.response.txt"))).unwrap();
    let mut buf = Vec::new();
    out.records[1].decode_data(&mut buf).unwrap();
    assert_eq!(&buf[..3], &[0x1f, 0x8b, 0x08]);
    let bad = Record {
        data: Cow::Borrowed("H4sI*AAA"),
        ..Default::default()
    };
    assert!(bad.decode_data(&mut buf).is_err());
}

fn check_consumer(got: &Consumer<'_>, w: &Value) {
    assert_eq!(got.consumer_name, w["ConsumerName"].as_str().unwrap());
    assert_eq!(got.consumer_arn, w["ConsumerARN"].as_str().unwrap());
    assert_eq!(got.consumer_status, w["ConsumerStatus"].as_str().unwrap());
    assert_eq!(
        got.consumer_creation_timestamp,
        Some(botocore_datetime_ms(
            w["ConsumerCreationTimestamp"].as_str().unwrap()
        ))
    );
    assert_eq!(got.stream_arn.as_deref(), opt(&w["StreamARN"]));
}

#[test]
fn consumer_calls_match_botocore() {
    let raw = fixture!("responses/moto_kinesis_RegisterStreamConsumer.response.txt");
    let out = parse_register_stream_consumer(body(raw)).unwrap();
    let want = botocore(fixture!(
        "responses/moto_kinesis_RegisterStreamConsumer.parsed-by-botocore.json"
    ));
    check_consumer(&out.consumer, &want["Consumer"]);
    assert_prefixes_fail(body(raw), |b| parse_register_stream_consumer(b).is_ok());

    let raw = fixture!("responses/moto_kinesis_DescribeStreamConsumer.response.txt");
    let out = parse_describe_stream_consumer(body(raw)).unwrap();
    let want = botocore(fixture!(
        "responses/moto_kinesis_DescribeStreamConsumer.parsed-by-botocore.json"
    ));
    check_consumer(&out.consumer_description, &want["ConsumerDescription"]);
    assert_prefixes_fail(body(raw), |b| parse_describe_stream_consumer(b).is_ok());

    let raw = fixture!("responses/moto_kinesis_ListStreamConsumers.response.txt");
    let out = parse_list_stream_consumers(body(raw)).unwrap();
    let want = botocore(fixture!(
        "responses/moto_kinesis_ListStreamConsumers.parsed-by-botocore.json"
    ));
    let consumers = want["Consumers"].as_array().unwrap();
    assert_eq!(out.consumers.len(), consumers.len());
    for (g, w) in out.consumers.iter().zip(consumers) {
        check_consumer(g, w);
    }
    assert_eq!(out.next_token.as_deref(), opt(&want["NextToken"]));
    assert_prefixes_fail(body(raw), |b| parse_list_stream_consumers(b).is_ok());
}

#[test]
fn oversized_bodies_are_refused() {
    let big = vec![b' '; GET_RECORDS_MAX_RESPONSE_BYTES + 1];
    assert!(matches!(
        parse_get_records(&big),
        Err(KinesisError::Body {
            operation: "GetRecords",
            source: BodyError::TooLarge { .. }
        })
    ));
}

#[test]
fn exponent_timestamps_and_null_iterators() {
    // Java-based AWS endpoints write epoch seconds in exponent notation (spec D.0).
    let body = br#"{"Records": [{"SequenceNumber": "1", "ApproximateArrivalTimestamp": 1.768478702456E9, "Data": "", "PartitionKey": "k"}], "NextShardIterator": null, "MillisBehindLatest": 5}"#;
    let out = parse_get_records(body).unwrap();
    assert_eq!(
        out.records[0].approximate_arrival_timestamp,
        Some(1_768_478_702_456)
    );
    assert!(out.is_shard_end());
    assert_eq!(out.millis_behind_latest, Some(5));
    assert!(matches!(out.records[0].sequence_number, Cow::Borrowed("1")));
}
