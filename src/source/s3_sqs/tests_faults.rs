//! Tests of the S3 + SQS input, part 2: bodies cut and resumed with `Range`, objects that
//! change or fail for good, refused receives and foreign messages, backpressure, a 200 MiB
//! object read in constant memory, and a headerless plain-text object. The fake AWS and the
//! helpers are in `tests.rs`.

use std::time::Duration;

use ureq_proto::http::HeaderMap;

use super::tests::*;
use super::*;
use crate::aws::api::s3::object_path;
use crate::aws::client::LastFailure;
use crate::aws::permissions::IamAction;
use crate::aws::request::Service;
use crate::aws::retry::TransportFailure;
use crate::export::ExportConfig;
use crate::source::testkit::{Harness, fixture};

/// An export engine with the smallest pool: two 600-byte messages (a few records each).
fn tiny_export() -> Harness {
    let mut cfg = ExportConfig::new(1, 600);
    cfg.buffers = 2;
    Harness::new(cfg)
}

/// Runs the fake, delivers and saves until nothing moves any more.
fn done_and_deleted(fake: &mut Fake, h: &mut Harness, input: &mut S3SqsInput) {
    for _ in 0..100_000 {
        fake.run(h, input);
        let before = (h.sent.len(), fake.calls.len());
        h.deliver(input);
        save(input);
        fake.run(h, input);
        if (h.sent.len(), fake.calls.len()) == before {
            return;
        }
    }
    panic!("the input never settles");
}

#[test]
fn a_body_cut_at_every_seventh_resumes_with_range_and_exports_each_record_once() {
    for (harness, chunk) in [(Harness::default(), 1000), (tiny_export(), 4096)] {
        let mut h = harness;
        let mut input = new_input(&h, 2);
        let mut fake = world(&[BIG_GZ], &[&[0]]);
        fake.chunk = chunk;
        let obj = fake.objects.values_mut().next().expect("object");
        let len = obj.body.len();
        obj.cuts = (1..7).map(|k| k * len / 7).collect();
        let cuts = obj.cuts.clone();
        done_and_deleted(&mut fake, &mut h, &mut input);

        let mut want = vec![(None, None)];
        for c in &cuts {
            want.push((Some(format!("bytes={c}-")), Some("\"etag0\"".to_string())));
        }
        let got: Vec<_> = fake
            .gets
            .iter()
            .map(|(_, r, m)| (r.clone(), m.clone()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(h.pipeline.export.stats().dropped_too_large, 0);
        assert_eq!(exported(&mut h), expected(&[BIG_GZ]));
        assert_eq!(fake.deleted, ["msg-0"]);
        assert_eq!(input.status().errors, 0);
    }
}

#[test]
fn a_body_cut_at_every_byte_of_a_small_object_still_reads_it_once() {
    let len = fixture(V5_GZ).len();
    for cut in 1..len {
        let mut h = Harness::default();
        let mut input = new_input(&h, 1);
        let mut fake = world(&[V5_GZ], &[&[0]]);
        fake.chunk = 97;
        fake.objects.values_mut().next().expect("object").cuts = vec![cut];
        done_and_deleted(&mut fake, &mut h, &mut input);
        assert_eq!(exported(&mut h), expected(&[V5_GZ]), "cut at {cut}");
        assert_eq!(fake.deleted, ["msg-0"], "cut at {cut}");
    }
}

#[test]
fn failures_without_progress_back_off_then_give_the_message_to_redrive() {
    let mut h = Harness::default();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[V2_GZ], &[&[0]]);
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    let t0 = h.now;
    let mut tries_at = Vec::new();
    for _ in 0..200 {
        let Some(o) = fake.held.pop() else {
            if !h.run_timeout(&mut input) {
                break;
            }
            fake.run(&mut h, &mut input);
            continue;
        };
        tries_at.push((h.now - t0).as_secs());
        let e = AwsCallError::Exhausted {
            action: IamAction::of(Service::S3, "GetObject"),
            attempts: 3,
            quota_empty: false,
            last: LastFailure::Transport(TransportFailure::Timeout),
        };
        let mut ctx = h.ctx();
        input.handle_response(o.tag, Err(e), &mut ctx);
        fake.run(&mut h, &mut input);
        if !fake.visibility.is_empty() {
            break;
        }
    }
    // At once, then 1, 2, 4, 8 s apart; the sixth failure in a row gives up.
    assert_eq!(tries_at, [0, 0, 1, 3, 7, 15]);
    assert_eq!(fake.visibility, [("msg-0".to_string(), 30)]);
    assert!(fake.deleted.is_empty());
    assert_eq!(input.status().errors, 1);
}

#[test]
fn an_object_changed_before_any_export_is_read_again_from_the_start() {
    let mut h = Harness::default();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[V2_GZ], &[&[0]]);
    // Cut inside the gzip header: no line out yet. Meanwhile the object is replaced.
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    let o = fake.held.pop().expect("held");
    let stored = fake.objects.values_mut().next().expect("object");
    stored.cuts = vec![10];
    fake.serve(&mut h, &mut input, &o, None, None);
    let stored = fake.objects.values_mut().next().expect("object");
    stored.body = fixture(V5_GZ);
    stored.etag = "\"replaced\"".to_string();
    fake.hold_gets = false;
    done_and_deleted(&mut fake, &mut h, &mut input);
    let gets: Vec<_> = fake
        .gets
        .iter()
        .map(|(_, r, m)| (r.clone(), m.clone()))
        .collect();
    assert_eq!(
        gets,
        [
            (None, None),
            (Some("bytes=10-".into()), Some("\"etag0\"".into())),
            (None, None)
        ]
    );
    assert_eq!(exported(&mut h), expected(&[V5_GZ]));
    assert_eq!(fake.deleted, ["msg-0"]);
}

#[test]
fn an_object_changed_after_records_went_out_fails_and_is_not_deleted() {
    let mut h = Harness::default();
    let mut input = new_input(&h, 1);
    let mut fake = world(&[BIG_GZ], &[&[0]]);
    let stored = fake.objects.values_mut().next().expect("object");
    stored.cuts = vec![stored.body.len() / 2];
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    let o = fake.held.pop().expect("held");
    fake.serve(&mut h, &mut input, &o, None, None);
    fake.objects.values_mut().next().expect("object").etag = "\"replaced\"".into();
    fake.hold_gets = false;
    done_and_deleted(&mut fake, &mut h, &mut input);
    assert_eq!(fake.count("GetObject"), 2);
    assert!(fake.deleted.is_empty());
    assert_eq!(fake.visibility, [("msg-0".to_string(), 30)]);
    assert_eq!(input.status().errors, 1);
    // What went out before the failure is a part of the object (it repeats on redelivery).
    let out = exported(&mut h);
    let all = expected(&[BIG_GZ]);
    assert!(!out.is_empty() && out.len() < all.len());
    assert!(out.iter().all(|r| all.binary_search(r).is_ok()));
}

#[test]
fn failed_objects_leave_their_messages_to_redrive_while_good_ones_complete() {
    let mut h = Harness::default();
    let mut input = new_input(&h, 2);
    let mut fake = Fake::new();
    // msg-0: a key that does not exist, third receive. msg-1: gzip corrupted in the middle.
    // msg-2: a good object. msg-3: a Parquet key (never fetched). msg-4: Parquet bytes under a
    // .log.gz key. msg-5: access denied.
    let (gone, bad, good) = (key("gone"), key("bad"), key("good"));
    let (parquet, par1, denied) = (
        key("pq").replace(".log.gz", ".log.parquet"),
        key("par1"),
        key("denied"),
    );
    let mut corrupt = fixture(BIG_GZ);
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 64] {
        *b ^= 0x5a;
    }
    fake.add_object(&bad, corrupt, "bad");
    fake.add_object(&good, fixture(V5_GZ), "good");
    fake.add_object(&par1, b"PAR1\x15\x04\x15\x10".to_vec(), "par1");
    fake.queue
        .push_back(("msg-0".into(), s3_event(&[(&gone, "gone", 10)]), 2));
    fake.send("msg-1", s3_event(&[(&bad, "bad", mid * 2)]));
    fake.send("msg-2", s3_event(&[(&good, "good", 1)]));
    fake.send("msg-3", s3_event(&[(&parquet, "pq", 1)]));
    fake.send("msg-4", s3_event(&[(&par1, "par1", 8)]));
    fake.send("msg-5", s3_event(&[(&denied, "denied", 8)]));
    fake.objects.insert(object_path(&denied), Stored::denied());
    done_and_deleted(&mut fake, &mut h, &mut input);

    assert_eq!(fake.deleted, ["msg-2"]);
    let mut vis = fake.visibility.clone();
    vis.sort();
    assert_eq!(
        vis,
        [
            ("msg-0".to_string(), 120),
            ("msg-1".to_string(), 30),
            ("msg-3".to_string(), 30),
            ("msg-4".to_string(), 30),
            ("msg-5".to_string(), 30)
        ]
    );
    assert!(!fake.gets.iter().any(|(p, _, _)| p.ends_with(".parquet")));
    // Five objects, and the lines the corrupt object garbled before the gzip check caught it.
    let stats = &h.pipeline.stats;
    let bad_lines = stats.malformed + stats.overlong_lines;
    assert_eq!(input.status().errors, 5 + bad_lines);
    // The good object is all there; the corrupt one may have sent a part of itself first.
    let out = exported(&mut h);
    let good_records = expected(&[V5_GZ]);
    assert!(good_records.iter().all(|r| out.binary_search(r).is_ok()));
    let big = expected(&[BIG_GZ]);
    assert!(
        out.iter()
            .all(|r| good_records.binary_search(r).is_ok() || big.binary_search(r).is_ok())
    );
}

#[test]
fn a_full_pipeline_stops_socket_reads_and_intake_and_loses_nothing() {
    let mut h = tiny_export();
    // Buffers smaller than the object, so the input fills up before the body ends.
    let mut settings = S3SqsSettings::new(BUCKET, QUEUE, 2);
    (settings.raw_buffer, settings.line_buffer) = (1024, 4096);
    let mut input = S3SqsInput::new(settings, None, h.now);
    let mut fake = world(&[BIG_GZ, V5_GZ], &[&[0]]);
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    let o = fake.held.pop().expect("held");
    // A second message arrives while the first object is being read.
    let k1 = key("k1");
    fake.send("msg-1", s3_event(&[(&k1, "etag1", fixture(V5_GZ).len())]));
    let body = fixture(BIG_GZ);
    let headers = HeaderMap::new();
    {
        let mut ctx = h.ctx();
        input.handle_stream_start(o.tag, 200, &headers, &mut ctx);
    }
    let (mut at, mut stalls, mut checked) = (0, 0, false);
    while at < body.len() {
        let room = input.stream_buffer(o.tag);
        assert!(room.len() <= 1024);
        if room.is_empty() {
            stalls += 1;
            if !checked {
                // Paused: no new receive and no new object, even when one is due.
                checked = true;
                h.advance(Duration::from_secs(2));
                let outs = h.poll_all(&mut input);
                assert!(
                    outs.iter().all(|o| o.request.operation != "ReceiveMessage"
                        && o.request.operation != "GetObject"),
                    "{outs:?}"
                );
                assert!(input.poll_timeout().is_some(), "a recheck is scheduled");
                for o in outs {
                    fake.answer(&mut h, &mut input, o);
                }
            }
            h.deliver(&mut input);
            continue;
        }
        let n = room.len().min(body.len() - at);
        room[..n].copy_from_slice(&body[at..at + n]);
        at += n;
        let mut ctx = h.ctx();
        input.handle_stream_data(o.tag, n, &mut ctx);
    }
    let mut ctx = h.ctx();
    input.handle_stream_end(o.tag, Ok(()), &mut ctx);
    assert!(stalls > 10, "the pipeline never pushed back ({stalls})");
    fake.hold_gets = false;
    done_and_deleted(&mut fake, &mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0", "msg-1"]);
    assert_eq!(exported(&mut h), expected(&[BIG_GZ, V5_GZ]));
}

/// A gzip member holding `text` in stored (uncompressed) deflate blocks (RFC 1951 §3.2.4).
fn stored_member(text: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut blocks = text.chunks(65_535).peekable();
    while let Some(b) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = b.len() as u16;
        out.extend(len.to_le_bytes());
        out.extend((!len).to_le_bytes());
        out.extend(b);
    }
    out.extend(crate::gzip::crc32_update(0, text).to_le_bytes());
    out.extend((text.len() as u32).to_le_bytes());
    out
}

#[test]
fn a_200_mib_object_streams_through_fixed_buffers() {
    // 1 MiB of v2 lines (1 in 64 a flow, the rest NODATA), as one stored-deflate member,
    // repeated: 200 members, 200 MiB on the wire and inflated.
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";
    let mut text = header.as_bytes().to_vec();
    let mut flows = 0u64;
    let mut i = 0u64;
    while text.len() < (1 << 20) - 200 {
        let line = if i.is_multiple_of(64) {
            flows += 1;
            format!(
                "2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 {} 1768478340 1768478399 ACCEPT OK\n",
                1000 + i
            )
        } else {
            "2 123456789012 eni-0aaaaaaaaaaaaaaa1 - - - - - - - 1768478340 1768478399 - NODATA\n"
                .to_string()
        };
        text.extend(line.as_bytes());
        i += 1;
    }
    let first = stored_member(&text);
    // Later members: the same lines without the header (the header is only the file's first line).
    let rest = stored_member(&text[header.len()..]);
    let members = (200u64 << 20).div_ceil(rest.len() as u64) + 1;
    let total = first.len() as u64 + (members - 1) * rest.len() as u64;
    assert!(total >= 200 << 20);

    let mut h = Harness::default();
    let mut input = new_input(&h, 2);
    let sizes = input.buffer_sizes();
    let mut fake = world(&[V2_GZ], &[&[0]]);
    fake.hold_gets = true;
    fake.run(&mut h, &mut input);
    let o = fake.held.pop().expect("held");
    {
        let mut ctx = h.ctx();
        input.handle_stream_start(o.tag, 200, &HeaderMap::new(), &mut ctx);
    }
    let (mut member, mut at, mut max_room, mut records) = (0u64, 0usize, 0usize, 0u64);
    while member < members {
        let body = if member == 0 { &first } else { &rest };
        let room = input.stream_buffer(o.tag);
        max_room = max_room.max(room.len());
        if room.is_empty() {
            // Send what was exported, without keeping it (the harness would store it).
            let (now, wall) = (h.now, h.wall);
            h.pipeline.export.flush(now, wall);
            while let Some(t) = h.pipeline.export.poll_transmit() {
                let c = t.collector;
                h.pipeline.export.handle_sent(c);
            }
            let acked = h.pipeline.export.acked_through();
            records = acked.0;
            let mut ctx = h.ctx();
            input.handle_acked(acked, &mut ctx);
            continue;
        }
        let n = room.len().min(body.len() - at);
        room[..n].copy_from_slice(&body[at..at + n]);
        at += n;
        let mut ctx = h.ctx();
        input.handle_stream_data(o.tag, n, &mut ctx);
        if at == body.len() {
            member += 1;
            at = 0;
        }
    }
    let mut ctx = h.ctx();
    input.handle_stream_end(o.tag, Ok(()), &mut ctx);
    fake.hold_gets = false;
    done_and_deleted(&mut fake, &mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0"]);
    let st = input.status();
    assert_eq!(st.records_out, flows * members);
    assert!(records > 0 && records <= st.records_out);
    assert_eq!(st.errors, 0);
    // Memory: the slots' buffers are what they were at the start, and no call offered more.
    assert_eq!(input.buffer_sizes(), sizes);
    assert_eq!(sizes, [(DEFAULT_RAW_BUFFER, DEFAULT_CAPACITY); 2]);
    assert!(max_room <= DEFAULT_RAW_BUFFER);
}

/// An error response fixture (`HTTP/1.1 <status>`, headers, blank line, body) as the AwsClient
/// would report it once it gave up: decoded by `AwsError`.
fn refused_call(path: &str, service: Service, operation: &'static str) -> AwsCallError {
    let raw = String::from_utf8(fixture(path)).expect("utf8");
    let (head, body) = raw.split_once("\n\n").expect("blank line");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut headers = HeaderMap::new();
    for l in lines {
        let (name, value) = l.split_once(": ").expect("header");
        let name = ureq_proto::http::HeaderName::from_bytes(name.as_bytes()).expect("name");
        headers.insert(name, value.parse().expect("value"));
    }
    let protocol = service.protocol();
    let error = crate::aws::error::AwsError::from_parts(
        protocol,
        "POST",
        status,
        &headers,
        body.as_bytes(),
    );
    AwsCallError::Rejected {
        action: IamAction::of(service, operation),
        error: Box::new(error),
    }
}

#[test]
fn a_refused_receive_backs_off_and_counts() {
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    let t0 = h.now;
    answer_first_attributes(&mut h, &mut input, 300);
    let mut receives = Vec::new();
    while receives.len() < 5 {
        for o in h.poll_all(&mut input) {
            let at = (h.now - t0).as_secs();
            let mut ctx = h.ctx();
            match o.request.operation {
                "ReceiveMessage" => {
                    receives.push(at);
                    let e = refused_call(
                        "aws/responses/sqs_error_QueueDoesNotExist.response.txt",
                        Service::Sqs,
                        "ReceiveMessage",
                    );
                    assert_eq!(
                        e.aws_error().map(|e| e.code.as_str()),
                        Some("AWS.SimpleQueueService.NonExistentQueue")
                    );
                    input.handle_response(o.tag, Err(e), &mut ctx);
                }
                _ => {
                    let body = b"{\"Attributes\":{}}";
                    let resp = crate::source::testkit::api_response(200, body);
                    input.handle_response(o.tag, Ok(resp), &mut ctx);
                }
            }
        }
        assert!(h.run_timeout(&mut input));
    }
    assert_eq!(receives, [0, 1, 3, 7, 15]);
    assert_eq!(input.status().errors, 5);
}

#[test]
fn foreign_messages_on_the_queue_are_left_to_redrive() {
    // moto's capture: three messages whose bodies are not S3 notifications.
    let mut h = roomy();
    let mut input = new_input(&h, 2);
    answer_first_attributes(&mut h, &mut input, 300);
    let outs = h.poll_all(&mut input);
    let recv = outs
        .iter()
        .find(|o| o.request.operation == "ReceiveMessage")
        .expect("receive");
    let body =
        crate::source::testkit::response_body("aws/responses/moto_sqs_ReceiveMessage.response.txt");
    h.respond(&mut input, recv.tag, 200, &body);
    let outs = h.poll_all(&mut input);
    let change: Vec<_> = outs
        .iter()
        .filter(|o| o.request.operation == "ChangeMessageVisibilityBatch")
        .collect();
    assert_eq!(change.len(), 1);
    let req: serde_json::Value = serde_json::from_slice(&change[0].request.body).expect("json");
    let entries = req["Entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e["VisibilityTimeout"] == 30));
    assert!(
        entries[0]["ReceiptHandle"]
            .as_str()
            .is_some_and(|r| r.starts_with("cdazkcjlbuomjoyx"))
    );
    assert!(
        !outs
            .iter()
            .any(|o| o.request.operation == "DeleteMessageBatch")
    );
    assert_eq!(input.status().errors, 3);
}

#[test]
fn redrive_backoff_doubles_per_receive_up_to_twelve_hours() {
    let got: Vec<u32> = [0, 1, 2, 3, 10, 12, 50]
        .into_iter()
        .map(redrive_backoff_secs)
        .collect();
    assert_eq!(got, [30, 30, 60, 120, 15_360, 43_200, 43_200]);
}

#[test]
fn an_object_without_header_or_gzip_is_read_with_the_default_layout() {
    let mut h = roomy();
    let mut input = new_input(&h, 1);
    let mut fake = Fake::new();
    let text = fixture("flowlogs/default-v2.log");
    let nl = text.iter().position(|&b| b == b'\n').expect("header line");
    let k = key("plain").replace(".log.gz", ".log");
    fake.add_object(&k, text[nl + 1..].to_vec(), "plain");
    fake.send("msg-0", s3_event(&[(&k, "plain", text.len() - nl - 1)]));
    done_and_deleted(&mut fake, &mut h, &mut input);
    assert_eq!(fake.deleted, ["msg-0"]);
    assert_eq!(h.pipeline.stats.header_lines, 0);
    assert_eq!(exported(&mut h), expected(&[V2_GZ]));
}
