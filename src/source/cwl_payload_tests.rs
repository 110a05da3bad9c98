//! Tests of `cwl_payload.rs` on the captured payloads of `fixtures/cwl/` (see its ORIGIN.md)
//! and on payloads built here from JSON text.

use super::*;
use serde_json::Value;

macro_rules! cwl {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cwl/", $name)) as &[u8]
    };
}

const DATA: &[u8] = cwl!("data-message.kinesis-record-data.bin");
const DATA_JSON: &[u8] = cwl!("data-message.decoded.json");
const CONTROL: &[u8] = cwl!("control-message.kinesis-record-data.bin");
const CONTROL_JSON: &[u8] = cwl!("control-message.decoded.json");
const ACCOUNT: &[u8] = cwl!("account-level-policy-data-message.kinesis-record-data.bin");
const ACCOUNT_JSON: &[u8] = cwl!("account-level-policy-data-message.decoded.json");
const CONCATENATED: &[u8] = cwl!("defensive-concatenated-json-one-gzip.bin");
const TWO_MEMBERS: &[u8] = cwl!("defensive-two-gzip-members.bin");

/// A single-member gzip of `text` (deflate by miniz, framing per RFC 1952).
fn gzip(text: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(miniz_oxide::deflate::compress_to_vec(text, 6));
    out.extend(crate::gzip::crc32_update(0, text).to_le_bytes());
    out.extend((text.len() as u32).to_le_bytes());
    out
}

/// The document as an independent JSON parser (serde_json::Value) sees it.
fn assert_matches_json(doc: &Document<'_>, json: &Value) {
    let kind = match json["messageType"].as_str().unwrap() {
        "DATA_MESSAGE" => MessageType::Data,
        "CONTROL_MESSAGE" => MessageType::Control,
        other => panic!("{other}"),
    };
    assert_eq!(doc.message_type, kind);
    assert_eq!(doc.owner, json["owner"].as_str().unwrap());
    assert_eq!(doc.log_group, json["logGroup"].as_str().unwrap());
    assert_eq!(doc.log_stream, json["logStream"].as_str().unwrap());
    assert_eq!(
        doc.policy_level,
        json.get("policyLevel").and_then(Value::as_str)
    );
    let filters: Vec<&str> = json["subscriptionFilters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(doc.subscription_filters().collect::<Vec<_>>(), filters);
    let events = json["logEvents"].as_array().unwrap();
    assert_eq!(doc.events().len(), events.len());
    for (got, want) in doc.events().zip(events) {
        assert_eq!(got.id, want["id"].as_str().unwrap());
        assert_eq!(got.timestamp, want["timestamp"].as_i64().unwrap());
        assert_eq!(got.message, want["message"].as_str().unwrap());
    }
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn single_documents_match_their_decoded_json() {
    let mut dec = CwlDecoder::default();
    for (bin, decoded) in [
        (DATA, DATA_JSON),
        (CONTROL, CONTROL_JSON),
        (ACCOUNT, ACCOUNT_JSON),
    ] {
        let p = dec.decode(bin).unwrap();
        assert_eq!(p.documents().len(), 1);
        let doc = p.documents().next().unwrap();
        assert_matches_json(&doc, &json(decoded));
    }
}

#[test]
fn data_message_fields() {
    let mut dec = CwlDecoder::default();
    let p = dec.decode(DATA).unwrap();
    assert_eq!(p.control_messages(), 0);
    assert_eq!(p.event_count(), 3);
    let doc = p.data_messages().next().unwrap();
    assert_eq!(doc.owner, "123456789012");
    assert_eq!(doc.log_group, "/vpc/flow-logs");
    assert_eq!(doc.eni_id(), Some("eni-0123456789abcdef0"));
    assert_eq!(doc.policy_level, None);
    let first = doc.events().next().unwrap();
    assert_eq!(
        first,
        LogEvent {
            id: "39412345678901234567890123456789012345678901234567890",
            timestamp: 1_768_478_340_000,
            message: "2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK",
        }
    );
    // The account-level policy payload says so.
    let p = dec.decode(ACCOUNT).unwrap();
    let doc = p.data_messages().next().unwrap();
    assert_eq!(doc.policy_level, Some("ACCOUNT_LEVEL_POLICY"));
    assert_eq!(
        doc.subscription_filters().collect::<Vec<_>>(),
        ["org-flowlogs-policy"]
    );
}

#[test]
fn control_messages_are_decoded_and_skipped() {
    let mut dec = CwlDecoder::default();
    let p = dec.decode(CONTROL).unwrap();
    assert_eq!(p.control_messages(), 1);
    assert_eq!(p.data_messages().count(), 0);
    assert_eq!(p.event_count(), 0);
    let doc = p.documents().next().unwrap();
    assert_eq!(
        (doc.owner, doc.log_group, doc.log_stream),
        ("CloudwatchLogs", "", "")
    );
    assert_eq!(doc.eni_id(), None);
}

#[test]
fn concatenated_documents_in_one_member() {
    let mut dec = CwlDecoder::default();
    let p = dec.decode(CONCATENATED).unwrap();
    let docs: Vec<Document<'_>> = p.documents().collect();
    assert_eq!(docs.len(), 2);
    // The same content as the two single-document samples, in that order.
    assert_matches_json(&docs[0], &json(DATA_JSON));
    assert_matches_json(&docs[1], &json(ACCOUNT_JSON));
    assert_eq!(p.event_count(), 6);
}

#[test]
fn two_gzip_members() {
    let mut dec = CwlDecoder::default();
    let p = dec.decode(TWO_MEMBERS).unwrap();
    let docs: Vec<Document<'_>> = p.documents().collect();
    assert_eq!(docs.len(), 2);
    assert_matches_json(&docs[0], &json(DATA_JSON));
    assert_matches_json(&docs[1], &json(CONTROL_JSON));
    assert_eq!((p.control_messages(), p.data_messages().count()), (1, 1));
}

/// Every truncation of every sample is an error (no panic), except a cut exactly between the
/// two members, which is a complete one-member payload.
#[test]
fn truncated_inputs_are_errors() {
    let mut dec = CwlDecoder::default();
    let first_member_len = member_starts(TWO_MEMBERS)[1];
    for sample in [DATA, CONTROL, ACCOUNT, CONCATENATED, TWO_MEMBERS] {
        for cut in 0..sample.len() {
            match dec.decode(&sample[..cut]) {
                Err(CwlError::Gzip(e)) => {
                    assert!(e.to_string().contains("truncated"), "{cut}: {e}");
                }
                Ok(p) => {
                    assert!(
                        std::ptr::eq(sample, TWO_MEMBERS) && cut == first_member_len,
                        "{cut}"
                    );
                    assert_eq!(p.documents().len(), 1);
                    assert_matches_json(&p.documents().next().unwrap(), &json(DATA_JSON));
                }
                Err(e) => panic!("cut {cut}: {e}"),
            }
        }
    }
    assert_eq!(
        dec.decode(b"").unwrap_err().to_string(),
        "CloudWatch Logs subscription payload: gzip member 1 at byte 0: truncated: input ended in the empty stream"
    );
}

/// Offsets where a gzip member starts (1f 8b 08).
fn member_starts(sample: &[u8]) -> Vec<usize> {
    (0..sample.len() - 2)
        .filter(|&i| sample[i..].starts_with(&[0x1f, 0x8b, 8]))
        .collect()
}

/// Flipping a bit of any byte never panics; the CRCs catch corrupted data.
#[test]
fn corrupt_inputs_never_panic() {
    let mut dec = CwlDecoder::default();
    for sample in [DATA, TWO_MEMBERS] {
        let members = member_starts(sample);
        assert_eq!(
            members.len(),
            if std::ptr::eq(sample, DATA) { 1 } else { 2 }
        );
        let mut copy = sample.to_vec();
        let mut ok_flips = 0;
        for i in 0..copy.len() {
            for bit in [0x01, 0x80] {
                copy[i] ^= bit;
                if let Ok(p) = dec.decode(&copy) {
                    // Only bits nothing checks can change without an error — FLG.FTEXT (a
                    // hint), MTIME, XFL, OS, the padding bits after the last deflate block —
                    // and then the content is intact.
                    let doc = p.documents().next().unwrap();
                    assert_matches_json(&doc, &json(DATA_JSON));
                    ok_flips += 1;
                }
                copy[i] ^= bit;
            }
        }
        // 2 flips × (MTIME 4 + XFL + OS) per member at least, and not much more.
        assert!((12..24 * members.len()).contains(&ok_flips), "{ok_flips}");
    }
}

#[test]
fn decoder_is_reused_after_errors() {
    let mut dec = CwlDecoder::default();
    assert!(dec.decode(&DATA[..100]).is_err());
    assert!(matches!(
        dec.decode(b"{\"messageType\"").unwrap_err(),
        CwlError::Gzip(_)
    ));
    assert_eq!(dec.decode(DATA).unwrap().event_count(), 3);
    assert!(dec.decode(&gzip(b"{}")).is_err());
    assert_eq!(dec.decode(CONTROL).unwrap().control_messages(), 1);
}

#[test]
fn inflated_size_is_capped() {
    let inflated = dec_len(DATA);
    let mut dec = CwlDecoder::new(inflated - 1);
    assert_eq!(
        dec.decode(DATA).unwrap_err(),
        CwlError::TooLarge {
            limit: inflated - 1
        }
    );
    assert!(dec.capacity() < inflated);
    let mut dec = CwlDecoder::new(inflated);
    assert_eq!(dec.decode(DATA).unwrap().inflated_len(), inflated);
    // A deflate bomb: 64 MiB of spaces in a few KiB.
    let bomb = gzip(&vec![b' '; 64 << 20]);
    assert!(bomb.len() < 100_000);
    let mut dec = CwlDecoder::default();
    assert_eq!(
        dec.decode(&bomb).unwrap_err(),
        CwlError::TooLarge {
            limit: DEFAULT_MAX_INFLATED
        }
    );
    assert!(dec.capacity() <= DEFAULT_MAX_INFLATED);
    assert_eq!(dec.decode(DATA).unwrap().event_count(), 3);
    assert_eq!(
        CwlDecoder::for_record_limit(KINESIS_MAX_RECORD_RAISED).max_inflated,
        320 << 20
    );
    // Input larger than any Kinesis record is refused before inflating.
    let huge = vec![0u8; KINESIS_MAX_RECORD_RAISED + 1];
    assert_eq!(
        dec.decode(&huge).unwrap_err(),
        CwlError::InputTooLarge {
            len: KINESIS_MAX_RECORD_RAISED + 1
        }
    );
}

fn dec_len(data: &[u8]) -> usize {
    let mut dec = CwlDecoder::default();
    dec.decode(data).unwrap().inflated_len()
}

#[test]
fn escaped_strings_unknown_keys_and_whitespace() {
    let text = br#"
      {"logEvents":[{"message":"a \"quoted\" caf\u00e9 \\ tab\t","timestamp":5,"extra":{"x":[1,{"y":null}]}},
                    {"id":"1","timestamp":-1,"message":"plain"}],
       "@aws.account":"123456789012","messageType":"DATA_MESSAGE","owner":"1","logGroup":"\/vpc\/g",
       "logStream":"eni-0abc-accept","subscriptionFilters":["f\u0031"],"policyLevel":null}
      {"messageType":"CONTROL_MESSAGE"}
    "#;
    let mut dec = CwlDecoder::default();
    let p = dec.decode(&gzip(text)).unwrap();
    assert_eq!(p.documents().len(), 2);
    let doc = p.documents().next().unwrap();
    assert_eq!(doc.log_group, "/vpc/g");
    assert_eq!(doc.eni_id(), Some("eni-0abc"));
    assert_eq!(doc.policy_level, None);
    assert_eq!(doc.subscription_filters().collect::<Vec<_>>(), ["f1"]);
    let events: Vec<LogEvent<'_>> = doc.events().collect();
    assert_eq!(events[0].message, "a \"quoted\" café \\ tab\t");
    assert_eq!(events[0].id, "", "id is optional");
    assert_eq!(
        (events[1].id, events[1].timestamp, events[1].message),
        ("1", -1, "plain")
    );
    let control = p.documents().nth(1).unwrap();
    assert_eq!(control.message_type, MessageType::Control);
    assert_eq!(control.events().len(), 0);
}

#[test]
fn invalid_documents_are_clear_errors() {
    let mut dec = CwlDecoder::default();
    let cases: [(&[u8], CwlError); 4] = [
        (b"", CwlError::Empty),
        (b" \n\t", CwlError::Empty),
        (
            b"{\"messageType\":\"DATA_MESSAGE\"}\xff",
            CwlError::NotUtf8 { offset: 30 },
        ),
        (b"\xc3", CwlError::NotUtf8 { offset: 0 }),
    ];
    for (text, want) in cases {
        assert_eq!(dec.decode(&gzip(text)).unwrap_err(), want);
    }
    let json_errors: [(&str, usize, &str); 11] = [
        (r#"{"owner":"1"}"#, 1, "missing field `messageType`"),
        (
            r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"s","logEvents":[]}"#,
            1,
            "missing field `owner`",
        ),
        (
            r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s"}"#,
            1,
            "missing field `logEvents`",
        ),
        (
            r#"{"messageType":"SOMETHING_ELSE"}"#,
            1,
            "unknown messageType \"SOMETHING_ELSE\"",
        ),
        (
            r#"{"messageType":"CONTROL_MESSAGE"} {"messageType":7}"#,
            2,
            "invalid type: integer `7`",
        ),
        (
            r#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"timestamp":1}]}"#,
            1,
            "missing field `message`",
        ),
        (
            r#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"m","timestamp":"1"}]}"#,
            1,
            "invalid type: string",
        ),
        (
            r#"{"messageType":"CONTROL_MESSAGE","logEvents":[],"logEvents":[]}"#,
            1,
            "duplicate field `logEvents`",
        ),
        (
            r#"{"messageType":"CONTROL_MESSAGE","owner":true}"#,
            1,
            "expected a string",
        ),
        (
            r#"{"messageType":"CONTROL_MESSAGE"} x"#,
            2,
            "expected value",
        ),
        (
            r#"[{"messageType":"CONTROL_MESSAGE"}]"#,
            1,
            "expected a CloudWatch Logs subscription message object",
        ),
    ];
    for (text, document, reason) in json_errors {
        match dec.decode(&gzip(text.as_bytes())).unwrap_err() {
            CwlError::Json {
                document: d,
                reason: r,
            } => {
                assert_eq!(d, document, "{text}");
                assert!(r.contains(reason), "{text}: {r}");
                assert!(r.contains("line 1 column"), "{r}");
            }
            e => panic!("{text}: {e:?}"),
        }
    }
    // A long unknown type is quoted short.
    let long = format!(r#"{{"messageType":"{}"}}"#, "X".repeat(500));
    let msg = dec.decode(&gzip(long.as_bytes())).unwrap_err().to_string();
    assert!(msg.len() < 250, "{msg}");
    assert!(
        msg.starts_with(
            "CloudWatch Logs subscription payload: JSON document 1: unknown messageType \"XXX"
        ),
        "{msg}"
    );
    // Deep nesting: skipped without recursion in an ignored key, refused at serde_json's
    // recursion limit where a value is read; never a stack overflow.
    let deep = format!(
        r#"{{"messageType":"CONTROL_MESSAGE","x":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        dec.decode(&gzip(deep.as_bytes()))
            .unwrap()
            .control_messages(),
        1
    );
    let deep = format!(
        r#"{{"messageType":"CONTROL_MESSAGE","logEvents":[{{"message":"m","timestamp":1,"x":{}1{}}}]}}"#,
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    assert!(dec.decode(&gzip(deep.as_bytes())).is_ok());
    let deep = format!(
        r#"{{"messageType":"CONTROL_MESSAGE","owner":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(matches!(
        dec.decode(&gzip(deep.as_bytes())).unwrap_err(),
        CwlError::Json { .. }
    ));
}

#[test]
fn buffers_are_reused() {
    let mut dec = CwlDecoder::default();
    let big: String = {
        let event = r#"{"id":"1","timestamp":1,"message":"2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK"}"#;
        let events = vec![event; 5000].join(",");
        format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"eni-1-all","logEvents":[{events}]}}"#
        )
    };
    assert_eq!(
        dec.decode(&gzip(big.as_bytes())).unwrap().event_count(),
        5000
    );
    let capacity = dec.capacity();
    assert!(
        capacity >= big.len() && capacity <= 2 * big.len(),
        "{capacity}"
    );
    for _ in 0..3 {
        assert_eq!(dec.decode(DATA).unwrap().event_count(), 3);
        assert_eq!(
            dec.decode(&gzip(big.as_bytes())).unwrap().event_count(),
            5000
        );
        assert_eq!(dec.capacity(), capacity, "no reallocation once grown");
    }
}

#[test]
fn error_messages_read_as_one_line() {
    for e in [
        CwlError::InputTooLarge { len: 11 << 20 },
        CwlError::TooLarge { limit: 100 },
        CwlError::NotUtf8 { offset: 3 },
        CwlError::Empty,
        CwlError::Json {
            document: 2,
            reason: "missing field `owner` at line 1 column 9".into(),
        },
    ] {
        let s = e.to_string();
        assert!(
            s.starts_with("CloudWatch Logs subscription payload: ") && !s.contains('\n'),
            "{s}"
        );
    }
    assert_eq!(
        CwlError::TooLarge { limit: 100 }.to_string(),
        "CloudWatch Logs subscription payload: inflates to more than 100 bytes"
    );
}
