//! Batched hand-out (`poll_transmit_batch`, what the UDP driver writes with `sendmmsg`): the
//! messages in flight are the head of the queue in order, only confirmed ones count as
//! written, unconfirmed ones come again first, and a reconnect resends them whole after the
//! templates. Everything written is decoded with `ipfix::reader`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;
use crate::ipfix::ie::DOCUMENTATION_PEN;
use crate::ipfix::reader::{Event, Message, Reader};

#[allow(clippy::disallowed_methods)] // a virtual clock still has to start at some Instant
fn epoch() -> Instant {
    Instant::now()
}

fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_768_478_700)
}

/// Small messages (a few records each) of one domain, all queued.
fn queued(collectors: usize, records: u64) -> (Export, Instant) {
    let now = epoch();
    let mut c = ExportConfig::new(collectors, 160);
    c.buffers = 64 * collectors;
    let mut ex = Export::new(c).unwrap();
    ex.set_domain(DomainId(3), DomainInfo::default());
    for i in 0..records {
        let r = ExportRecord {
            vpc_id: Some("vpc-0a1b2c3d4e5f60718"),
            packets: Some(i),
            ..Default::default()
        };
        assert_eq!(ex.push(DomainId(3), &r, now, wall()), Ok(Serial(i + 1)));
    }
    ex.flush(now, wall());
    (ex, now)
}

fn in_flight(ex: &Export, c: usize, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| ex.in_flight_at(CollectorId(c), i).unwrap().bytes.to_vec())
        .collect()
}

fn decode(reader: &mut Reader, bytes: &[u8]) -> Message {
    reader
        .handle_message("192.0.2.1:1".parse().unwrap(), bytes)
        .unwrap()
}

#[test]
fn a_batch_is_the_queue_head_in_order_and_only_confirmed_messages_are_written() {
    let (mut ex, _) = queued(1, 100);
    let c = CollectorId(0);
    let mut reader = Reader::new(DOCUMENTATION_PEN);
    // The first message defines the template the others use: it goes alone.
    assert_eq!(ex.poll_transmit_batch(c, 8), 1);
    assert_eq!(
        ex.poll_transmit_batch(c, 8),
        1,
        "nothing more until it is written"
    );
    let first = in_flight(&ex, 0, 1).remove(0);
    assert!(ex.in_flight_at(c, 1).is_none());
    ex.handle_sent(c);
    let mut records = decode(&mut reader, &first).records.len() as u64;
    assert_eq!(ex.acked_through(), Serial(records));
    // Now a full batch; the single-message API hands out nothing while it is in flight.
    assert_eq!(ex.poll_transmit_batch(c, 8), 8);
    assert!(ex.poll_transmit().is_none());
    let batch = in_flight(&ex, 0, 8);
    assert_eq!(
        ex.in_flight(c).map(|t| t.bytes.to_vec()),
        Some(batch[0].clone())
    );
    // The socket took three: they count, the five others do not.
    for bytes in &batch[..3] {
        ex.handle_sent(c);
        records += decode(&mut reader, bytes).records.len() as u64;
    }
    assert_eq!(ex.acked_through(), Serial(records));
    // The five come again first, same bytes, same order, with three more behind them.
    assert_eq!(ex.poll_transmit_batch(c, 8), 8);
    assert_eq!(in_flight(&ex, 0, 5), batch[3..]);
    // A smaller limit than what is already in flight hands out nothing new.
    assert_eq!(ex.poll_transmit_batch(c, 2), 8);
    // Write everything, batch by batch; every record once, in sequence.
    loop {
        let n = ex.poll_transmit_batch(c, 8);
        if n == 0 {
            break;
        }
        for bytes in in_flight(&ex, 0, n) {
            ex.handle_sent(c);
            let m = decode(&mut reader, &bytes);
            assert!(
                !m.events
                    .iter()
                    .any(|e| matches!(e, Event::SequenceGap { .. }))
            );
            records += m.records.len() as u64;
        }
    }
    assert_eq!(records, 100);
    assert_eq!(ex.acked_through(), Serial(100));
    assert!(ex.is_drained());
    assert_eq!(ex.stats().collectors[0].flow_records, 100);
}

#[test]
fn a_reconnect_resends_the_whole_batch_after_the_templates() {
    let (mut ex, _) = queued(1, 30);
    let c = CollectorId(0);
    assert_eq!(ex.poll_transmit_batch(c, 4), 1);
    ex.handle_sent(c);
    let n = ex.poll_transmit_batch(c, 4);
    assert_eq!(n, 4);
    let batch = in_flight(&ex, 0, n);
    ex.handle_sent(c); // one of them made it before the connection broke
    ex.handle_reconnect(c);
    // A template-only message goes alone, then the three unconfirmed ones whole, in order.
    assert_eq!(ex.poll_transmit_batch(c, 4), 1);
    let templates = in_flight(&ex, 0, 1).remove(0);
    let mut reader = Reader::new(DOCUMENTATION_PEN);
    let m = decode(&mut reader, &templates);
    assert!(m.records.is_empty());
    assert!(matches!(
        m.events[..],
        [Event::Template {
            template_id: 256,
            ..
        }]
    ));
    ex.handle_sent(c);
    assert_eq!(ex.poll_transmit_batch(c, 4), 4);
    assert_eq!(in_flight(&ex, 0, 3), batch[1..]);
}

#[test]
fn each_collector_has_its_own_batch_and_acks_wait_for_both() {
    let (mut ex, _) = queued(2, 30);
    let (a, b) = (CollectorId(0), CollectorId(1));
    for c in [a, b] {
        assert_eq!(ex.poll_transmit_batch(c, 64), 1);
        ex.handle_sent(c);
    }
    let n = ex.poll_transmit_batch(a, 64);
    assert!(n > 2);
    for _ in 0..n {
        ex.handle_sent(a);
    }
    assert_eq!(
        ex.poll_transmit_batch(a, 64),
        0,
        "collector 0 has written everything"
    );
    let acked = ex.acked_through();
    assert!(acked < Serial(30), "collector 1 still holds them");
    let m = ex.poll_transmit_batch(b, 64);
    assert_eq!(m, n);
    for _ in 0..m {
        ex.handle_sent(b);
    }
    assert_eq!(ex.acked_through(), Serial(30));
}
