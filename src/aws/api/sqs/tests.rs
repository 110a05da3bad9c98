//! SQS builders against botocore's captured requests, parsers against botocore's parse of the
//! sample and moto responses.

use super::*;
use crate::aws::api::json::test_support::{
    assert_prefixes_fail, assert_same_request, botocore, split_http,
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

/// The JSON body of a captured request, to read the inputs botocore was given.
fn request_json(raw: &[u8]) -> Value {
    serde_json::from_slice(body(raw)).unwrap()
}

const QUEUE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/flowlog-objects";

#[test]
fn requests_match_botocore() {
    assert_same_request(
        &get_queue_url("flowlog-objects", None),
        fixture!("requests/sqs_GetQueueUrl.request.txt"),
    );
    assert_same_request(
        &receive_message(&ReceiveMessageInput {
            queue_url: QUEUE,
            max_number_of_messages: Some(10),
            wait_time_seconds: Some(20),
            visibility_timeout: Some(300),
            message_system_attribute_names: &["ApproximateReceiveCount", "SentTimestamp"],
            ..Default::default()
        }),
        fixture!("requests/sqs_ReceiveMessage.request.txt"),
    );
    assert_same_request(
        &receive_message(&ReceiveMessageInput {
            queue_url: QUEUE,
            wait_time_seconds: Some(20),
            ..Default::default()
        }),
        fixture!("requests/sqs_ReceiveMessage_empty.request.txt"),
    );
    assert_same_request(
        &receive_message(&ReceiveMessageInput {
            queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
            ..Default::default()
        }),
        fixture!("requests/sqs_ReceiveMessage_euwest1.request.txt"),
    );
    assert_same_request(
        &change_message_visibility(QUEUE, "AQEBzbVv...EXAMPLE...==", 600),
        fixture!("requests/sqs_ChangeMessageVisibility.request.txt"),
    );
    assert_same_request(
        &delete_message_batch(
            QUEUE,
            &[
                DeleteEntry {
                    id: "m0",
                    receipt_handle: "AQEBzbVv...EXAMPLE...==",
                },
                DeleteEntry {
                    id: "m1",
                    receipt_handle: "AQEBstale...==",
                },
            ],
        )
        .unwrap(),
        fixture!("requests/sqs_DeleteMessageBatch.request.txt"),
    );
    let moto_queue = "http://127.0.0.1:5990/123456789012/flowlog-objects";
    assert_same_request(
        &get_queue_attributes(moto_queue, &["All"]),
        fixture!("requests/moto_sqs_GetQueueAttributes.request.txt"),
    );
    let captured = fixture!("requests/moto_sqs_DeleteMessage.request.txt");
    let input = request_json(captured);
    assert_same_request(
        &delete_message(moto_queue, input["ReceiptHandle"].as_str().unwrap()),
        captured,
    );

    let captured = fixture!("requests/moto_sqs_ChangeMessageVisibilityBatch.request.txt");
    let input = request_json(captured);
    let entries: Vec<VisibilityEntry<'_>> = input["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| VisibilityEntry {
            id: e["Id"].as_str().unwrap(),
            receipt_handle: e["ReceiptHandle"].as_str().unwrap(),
            visibility_timeout: e["VisibilityTimeout"].as_u64().unwrap() as u32,
        })
        .collect();
    assert_same_request(
        &change_message_visibility_batch(moto_queue, &entries).unwrap(),
        captured,
    );

    let captured = fixture!("requests/moto_sqs_DeleteMessageBatch.request.txt");
    let input = request_json(captured);
    let entries: Vec<DeleteEntry<'_>> = input["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| DeleteEntry {
            id: e["Id"].as_str().unwrap(),
            receipt_handle: e["ReceiptHandle"].as_str().unwrap(),
        })
        .collect();
    assert_same_request(
        &delete_message_batch(moto_queue, &entries).unwrap(),
        captured,
    );
}

#[test]
fn batches_of_zero_or_more_than_ten_are_refused() {
    let one = DeleteEntry {
        id: "m",
        receipt_handle: "h",
    };
    assert!(matches!(
        delete_message_batch(QUEUE, &[]),
        Err(SqsError::BatchSize { len: 0, .. })
    ));
    assert!(matches!(
        delete_message_batch(QUEUE, &[one; 11]),
        Err(SqsError::BatchSize { len: 11, .. })
    ));
    assert!(delete_message_batch(QUEUE, &[one; 10]).is_ok());
    let v = VisibilityEntry {
        id: "m",
        receipt_handle: "h",
        visibility_timeout: 1,
    };
    assert!(change_message_visibility_batch(QUEUE, &[v; 11]).is_err());
}

#[test]
fn get_queue_url_matches_botocore() {
    let raw = fixture!("responses/sqs_GetQueueUrl.response.txt");
    let out = parse_get_queue_url(body(raw)).unwrap();
    let want = botocore(fixture!(
        "responses/sqs_GetQueueUrl.parsed-by-botocore.json"
    ));
    assert_eq!(out.queue_url, want["QueueUrl"].as_str().unwrap());
    assert_prefixes_fail(body(raw), |b| parse_get_queue_url(b).is_ok());
}

#[test]
fn get_queue_attributes_matches_botocore() {
    let raw = fixture!("responses/moto_sqs_GetQueueAttributes.response.txt");
    let out = parse_get_queue_attributes(body(raw)).unwrap();
    let want = botocore(fixture!(
        "responses/moto_sqs_GetQueueAttributes.parsed-by-botocore.json"
    ));
    let want = want["Attributes"].as_object().unwrap();
    assert_eq!(out.attributes.len(), want.len());
    for (k, v) in want {
        assert_eq!(out.get(k), v.as_str(), "{k}");
    }
    assert_eq!(
        out.get("QueueArn"),
        Some("arn:aws:sqs:us-east-1:123456789012:flowlog-objects")
    );
    assert_prefixes_fail(body(raw), |b| parse_get_queue_attributes(b).is_ok());
}

fn check_receive(raw: &[u8], parsed: &[u8]) -> usize {
    let out = parse_receive_message(body(raw)).unwrap();
    let want = botocore(parsed);
    let msgs = want["Messages"]
        .as_array()
        .map_or(&[][..], |a| a.as_slice());
    assert_eq!(out.messages.len(), msgs.len());
    for (g, w) in out.messages.iter().zip(msgs) {
        assert_eq!(g.message_id, w["MessageId"].as_str().unwrap());
        assert_eq!(g.receipt_handle, w["ReceiptHandle"].as_str().unwrap());
        assert_eq!(g.md5_of_body.as_deref(), w["MD5OfBody"].as_str());
        assert_eq!(g.body, w["Body"].as_str().unwrap());
        let attrs = &w["Attributes"];
        assert_eq!(
            g.attributes.approximate_receive_count.as_deref(),
            attrs["ApproximateReceiveCount"].as_str()
        );
        assert_eq!(
            g.attributes.sent_timestamp.as_deref(),
            attrs["SentTimestamp"].as_str()
        );
        assert_eq!(g.attributes.receive_count(), Some(1));
    }
    assert_prefixes_fail(body(raw), |b| parse_receive_message(b).is_ok());
    out.messages.len()
}

#[test]
fn receive_message_matches_botocore() {
    assert_eq!(
        check_receive(
            fixture!("responses/sqs_ReceiveMessage.response.txt"),
            fixture!("responses/sqs_ReceiveMessage.parsed-by-botocore.json")
        ),
        1
    );
    // No message: `{}`.
    assert_eq!(
        check_receive(
            fixture!("responses/sqs_ReceiveMessage_empty.response.txt"),
            fixture!("responses/sqs_ReceiveMessage_empty.parsed-by-botocore.json"),
        ),
        0
    );
    // moto: bodies with `\u00e9` and escaped quotes.
    assert_eq!(
        check_receive(
            fixture!("responses/moto_sqs_ReceiveMessage.response.txt"),
            fixture!("responses/moto_sqs_ReceiveMessage.parsed-by-botocore.json"),
        ),
        3
    );
    let out =
        parse_receive_message(body(fixture!("responses/sqs_ReceiveMessage.response.txt"))).unwrap();
    assert_eq!(
        out.messages[0].attributes.sent_timestamp_ms(),
        Some(1_768_478_292_456)
    );
}

#[test]
fn batch_results_keep_partial_failures() {
    for (raw, parsed) in [
        (
            &fixture!("responses/sqs_DeleteMessageBatch.response.txt")[..],
            &fixture!("responses/sqs_DeleteMessageBatch.parsed-by-botocore.json")[..],
        ),
        (
            fixture!("responses/moto_sqs_DeleteMessageBatch.response.txt"),
            fixture!("responses/moto_sqs_DeleteMessageBatch.parsed-by-botocore.json"),
        ),
        (
            fixture!("responses/moto_sqs_ChangeMessageVisibilityBatch.response.txt"),
            fixture!("responses/moto_sqs_ChangeMessageVisibilityBatch.parsed-by-botocore.json"),
        ),
    ] {
        let out = parse_delete_message_batch(body(raw)).unwrap();
        let want = botocore(parsed);
        let ok: Vec<&str> = want["Successful"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Id"].as_str().unwrap())
            .collect();
        assert_eq!(
            out.successful.iter().map(|s| &*s.id).collect::<Vec<_>>(),
            ok
        );
        let failed = want["Failed"].as_array().unwrap();
        assert_eq!(out.failed.len(), failed.len());
        for (g, w) in out.failed.iter().zip(failed) {
            assert_eq!(g.id, w["Id"].as_str().unwrap());
            assert_eq!(g.sender_fault, w["SenderFault"].as_bool().unwrap());
            assert_eq!(g.code, w["Code"].as_str().unwrap());
            assert_eq!(g.message.as_deref(), w["Message"].as_str());
        }
        assert_prefixes_fail(body(raw), |b| {
            parse_change_message_visibility_batch(b).is_ok()
        });
    }
}

#[test]
fn empty_answers_parse() {
    parse_empty(
        "ChangeMessageVisibility",
        body(fixture!(
            "responses/sqs_ChangeMessageVisibility.response.txt"
        )),
    )
    .unwrap();
    parse_empty(
        "DeleteMessage",
        body(fixture!("responses/moto_sqs_DeleteMessage.response.txt")),
    )
    .unwrap();
    assert!(parse_empty("DeleteMessage", b"{").is_err());
}
