//! Export engine tests: the engine is driven as the mio loop drives it, on a virtual clock,
//! and everything it sends is decoded with `ipfix::reader`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::*;
use crate::export::DEFAULT_IDLE_FLUSH;
use crate::ipfix::IeKey;
use crate::ipfix::ie::{DOCUMENTATION_PEN, DataType};
use crate::ipfix::reader::{DecodedRecord, Event, Message, Reader, Value};
use crate::ipfix::record::tests::full_record;
use crate::ipfix::record::{FieldValue, synthetic_if_index};
use crate::ipfix::writer::{MAX_VARLEN, truncate_utf8};

#[allow(clippy::disallowed_methods)] // a virtual clock still has to start at some Instant
fn epoch() -> Instant {
    Instant::now()
}

const WALL: u64 = 1_768_478_700;

fn peer() -> SocketAddr {
    "192.0.2.10:4739".parse().unwrap()
}

/// The driver, and one collecting process per collector.
struct Harness {
    ex: Export,
    now: Instant,
    wall: SystemTime,
    readers: Vec<Reader>,
    /// Decoded messages and their bytes, per collector.
    got: Vec<Vec<Message>>,
    raw: Vec<Vec<Vec<u8>>>,
}

impl Harness {
    fn new(cfg: ExportConfig) -> Harness {
        let n = cfg.collectors;
        Harness {
            ex: Export::new(cfg).unwrap(),
            now: epoch(),
            wall: UNIX_EPOCH + Duration::from_secs(WALL),
            readers: (0..n).map(|_| Reader::new(DOCUMENTATION_PEN)).collect(),
            got: vec![Vec::new(); n],
            raw: vec![Vec::new(); n],
        }
    }

    fn push(&mut self, d: u32, r: &ExportRecord<'_>) -> Result<Serial, Backpressure> {
        self.ex.push(DomainId(d), r, self.now, self.wall)
    }

    fn receive(&mut self, c: usize, bytes: Vec<u8>) {
        let m = self.readers[c].handle_message(peer(), &bytes).unwrap();
        self.got[c].push(m);
        self.raw[c].push(bytes);
    }

    /// Writes everything queued and decodes it.
    fn drain(&mut self) {
        while let Some(tx) = self.ex.poll_transmit() {
            let c = tx.collector.0;
            let bytes = tx.bytes.to_vec();
            assert!(bytes.len() <= self.ex.config().max_packet_size);
            self.ex.handle_sent(CollectorId(c));
            self.receive(c, bytes);
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.wall += d;
    }

    fn flows(&self, c: usize) -> Vec<&DecodedRecord> {
        self.got[c].iter().flat_map(|m| m.flow_records()).collect()
    }

    fn options(&self, c: usize) -> Vec<&DecodedRecord> {
        self.got[c]
            .iter()
            .flat_map(|m| m.options_records())
            .collect()
    }

    fn events(&self, c: usize) -> Vec<&Event> {
        self.got[c].iter().flat_map(|m| &m.events).collect()
    }

    fn template_events(&self, c: usize) -> usize {
        self.events(c)
            .iter()
            .filter(|e| matches!(e, Event::Template { .. }))
            .count()
    }
}

fn cfg(collectors: usize, size: usize) -> ExportConfig {
    ExportConfig::new(collectors, size)
}

/// What the reader should decode for `r`: (name, value) in template order.
fn expected(
    r: &ExportRecord<'_>,
    default_exporter: Option<Ipv4Addr>,
) -> Vec<(&'static str, Value)> {
    r.field_mask(default_exporter.is_some())
        .keys()
        .map(|k| {
            let ie = k.ie();
            let v = match k {
                IeKey::ExporterIPv4Address => {
                    r.exporter_ipv4.or(default_exporter).map(FieldValue::Ipv4)
                }
                _ => r.get(k),
            };
            let v = match v.expect("mask bit without value") {
                FieldValue::Unsigned(x) if ie.ty == DataType::DateTimeMilliseconds => {
                    Value::DateTimeMs(x)
                }
                FieldValue::Unsigned(x) => Value::Unsigned(x),
                FieldValue::Ipv4(a) => Value::Ipv4(a),
                FieldValue::Ipv6(a) => Value::Ipv6(a),
                FieldValue::Str(s) => Value::String(truncate_utf8(s, MAX_VARLEN).to_string()),
            };
            (ie.name, v)
        })
        .collect()
}

fn decoded(r: &DecodedRecord) -> Vec<(&'static str, Value)> {
    r.fields
        .iter()
        .map(|f| (f.name.expect("our elements are named"), f.value.clone()))
        .collect()
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A record with a random subset of `full_record`'s fields (density 1/2, 1/4 or 1/8), random
/// address families and numbers, and strings from `strings`.
fn random_record<'a>(st: &mut u64, strings: &'a [String]) -> ExportRecord<'a> {
    let full = full_record();
    let mut r = ExportRecord::default();
    let mut keep = xorshift(st);
    for _ in 0..xorshift(st) % 3 {
        keep &= xorshift(st);
    }
    let mut bit = 0;
    let mut coin = || {
        bit += 1;
        (keep >> bit) & 1 == 1
    };
    macro_rules! maybe {
        ($($f:ident),*) => { $( if coin() { r.$f = full.$f; } )* };
    }
    maybe!(
        src_port,
        dst_port,
        protocol,
        tcp_flags,
        packets,
        bytes,
        start_ms,
        end_ms,
        flow_direction,
        forwarding_status,
        ip_version,
        ingress_interface,
        egress_interface,
        exporter_ipv4,
        traffic_path,
        encryption_status,
        eni_src_addr
    );
    let with: [bool; 7] = std::array::from_fn(|_| coin());
    let x = xorshift(st);
    r.packets = r.packets.map(|_| x);
    r.src_addr = match x % 3 {
        0 => None,
        1 => Some(Ipv4Addr::from(x as u32).into()),
        _ => Some(std::net::Ipv6Addr::from(u128::from(x) << 64 | u128::from(x)).into()),
    };
    r.dst_addr = r.src_addr;
    let mut s = |on: bool| on.then(|| strings[(xorshift(st) as usize) % strings.len()].as_str());
    r.interface_name = s(with[0]);
    r.account_id = s(with[1]);
    r.vpc_id = s(with[2]);
    r.instance_id = s(with[3]);
    r.ecs_task_arn = s(with[4]);
    r.instance_tag = s(with[5]);
    r.path_kind = s(with[6]);
    r
}

/// Mostly short strings; some at the 1-/3-octet length boundary (254, 255), some long.
fn strings() -> Vec<String> {
    [0usize, 1, 8, 21, 21, 21, 40, 200, 254, 255, 256, 600, 3000]
        .iter()
        .map(|&n| "é".repeat(n / 2) + &"x".repeat(n % 2))
        .collect()
}

#[test]
fn round_trips_ipv4_ipv6_absent_fields_long_strings_and_options() {
    let mut h = Harness::new(cfg(1, 9000));
    let exporter = Ipv4Addr::new(10, 255, 0, 1);
    h.ex.set_domain(
        DomainId(1001),
        DomainInfo {
            name: "vpc-0a1b2c3d4e5f60718 prod".into(),
            exporter_ipv4: Some(exporter),
        },
    );
    let v4 = ExportRecord {
        exporter_ipv4: None,
        ..full_record()
    };
    let mut v6 = v4;
    v6.src_addr = Some("2600:1f18::10".parse().unwrap());
    v6.dst_addr = Some("2600:1f18::20".parse().unwrap());
    v6.ip_version = Some(6);
    let sparse = ExportRecord {
        protocol: Some(1),
        packets: Some(1),
        ..Default::default()
    };
    let arn = format!(
        "arn:aws:ecs:us-east-1:123456789012:task/{}",
        "t".repeat(300)
    ); // 3-octet length
    let long = ExportRecord {
        ecs_task_arn: Some(&arn),
        ..v4
    };
    let recs = [v4, v6, sparse, long];
    for r in &recs {
        h.push(1001, r).unwrap();
    }
    h.ex.flush(h.now, h.wall);
    h.drain();
    let flows = h.flows(0);
    assert_eq!(flows.len(), 4);
    for (r, d) in recs.iter().zip(&flows) {
        assert_eq!(decoded(d), expected(r, Some(exporter)));
    }
    assert_eq!(
        flows[3].get("ecsTaskArn").and_then(Value::as_str),
        Some(arn.as_str())
    );
    assert_eq!(
        flows[1].get("sourceIPv6Address"),
        Some(&Value::Ipv6("2600:1f18::10".parse().unwrap()))
    );
    assert!(
        flows[2].get("sourceIPv4Address").is_none()
            && flows[2].get("exporterIPv4Address").is_some()
    );
    // Options: the domain's name, and the ENI's synthetic ifIndex (10 + 82 + 83, scoped by the
    // domain, as nfdump reads it).
    let opts = h.options(0);
    assert_eq!(opts.len(), 2);
    assert_eq!(
        opts[0].get("observationDomainId"),
        Some(&Value::Unsigned(1001))
    );
    assert_eq!(
        opts[0].get("observationDomainName").and_then(Value::as_str),
        Some("vpc-0a1b2c3d4e5f60718 prod")
    );
    let ix = u64::from(synthetic_if_index("eni-0123456789abcdef0"));
    assert_eq!(
        decoded(opts[1]),
        vec![
            ("observationDomainId", Value::Unsigned(1001)),
            ("ingressInterface", Value::Unsigned(ix)),
            (
                "interfaceName",
                Value::String("eni-0123456789abcdef0".into())
            ),
            (
                "interfaceDescription",
                Value::String("eni-0123456789abcdef0".into())
            ),
        ]
    );
    assert_eq!(opts[1].scope_field_count, 1);
    // One message: header ODID, export time, and the templates before the data.
    assert_eq!(h.got[0].len(), 1);
    assert_eq!(
        (h.got[0][0].header.domain_id, h.got[0][0].header.export_time),
        (1001, WALL as u32)
    );
    assert_eq!(
        h.template_events(0),
        5,
        "three data templates (v4, v6, sparse) and two options templates"
    );
    assert_eq!(h.ex.stats().collectors[0].flow_records, 4);
    assert_eq!(h.ex.stats().collectors[0].options_records, 2);
    assert_eq!(
        h.ex.stats().domains,
        vec![DomainStats {
            domain: DomainId(1001),
            records: 4
        }]
    );
}

#[test]
fn messages_never_exceed_max_packet_size_and_every_record_arrives_or_is_counted() {
    let strings = strings();
    let mut st = 0x1234_5678_9abc_def1u64;
    let sizes = (100..=9000)
        .step_by(89)
        .chain([100, 101, 102, 103, 511, 512, 1400, 1472, 8999, 9000]);
    for size in sizes {
        let mut h = Harness::new(cfg(2, size));
        h.ex.set_domain(
            DomainId(7),
            DomainInfo {
                name: "vpc-7".into(),
                exporter_ipv4: None,
            },
        );
        let mut pushed = Vec::new();
        for i in 0..40 {
            let r = random_record(&mut st, &strings);
            let d = 7 + i % 2;
            while h.push(d, &r).is_err() {
                h.drain();
            }
            pushed.push((d, r));
        }
        h.ex.flush(h.now, h.wall);
        h.drain();
        assert!(h.ex.is_drained());
        for c in 0..2 {
            assert!(h.raw[c].iter().all(|m| m.len() <= size), "size {size}");
            let evs = h.events(c);
            assert!(
                !evs.iter().any(|e| matches!(
                    e,
                    Event::SequenceGap { .. } | Event::UnknownTemplate { .. }
                )),
                "size {size}: {evs:?}"
            );
            // Per domain, decoded records are the pushed ones in order, minus the ones counted
            // as too large. (Across domains, messages interleave.)
            let mut missing = 0;
            for d in [7, 8] {
                let flows: Vec<_> = h
                    .flows(c)
                    .into_iter()
                    .filter(|r| r.domain_id == d)
                    .collect();
                let mut it = flows.iter().peekable();
                for (_, r) in pushed.iter().filter(|(pd, _)| *pd == d) {
                    if it.peek().is_some_and(|f| decoded(f) == expected(r, None)) {
                        it.next();
                    } else {
                        missing += 1;
                    }
                }
                assert!(it.next().is_none(), "size {size}: records out of order");
            }
            let st = h.ex.stats();
            assert_eq!(
                missing,
                st.dropped_too_large + st.dropped_empty,
                "size {size}"
            );
        }
        let arrived = h.flows(0).len();
        assert!(
            arrived >= if size >= 1400 { 30 } else { 3 },
            "size {size}: only {arrived} of 40 arrived"
        );
    }
}

#[test]
fn sequence_numbers_count_flow_and_options_records_before_each_message() {
    let mut h = Harness::new(cfg(1, 300));
    h.ex.set_domain(
        DomainId(5),
        DomainInfo {
            name: "vpc-5".into(),
            exporter_ipv4: None,
        },
    );
    let names: Vec<String> = (0..30).map(|i| format!("eni-{i:017x}")).collect();
    for n in &names {
        let r = ExportRecord {
            interface_name: Some(n),
            ingress_interface: Some(synthetic_if_index(n)),
            protocol: Some(6),
            ..Default::default()
        };
        h.push(5, &r).unwrap();
        h.drain();
    }
    h.ex.flush(h.now, h.wall);
    h.drain();
    let mut before = 0u32;
    for m in &h.got[0] {
        assert_eq!(m.header.sequence, before);
        before += m.records.len() as u32;
    }
    assert_eq!(h.flows(0).len(), 30);
    assert_eq!(h.options(0).len(), 31, "the domain name and 30 interfaces");
    assert!(h.got[0].len() > 5, "small messages: many headers checked");
}

#[test]
fn templates_and_options_are_sent_again_on_refresh() {
    let mut c = cfg(1, 1400);
    c.template_refresh = Duration::from_secs(60);
    let mut h = Harness::new(c);
    h.ex.set_domain(
        DomainId(1),
        DomainInfo {
            name: "vpc-1".into(),
            exporter_ipv4: None,
        },
    );
    let r = full_record();
    h.push(1, &r).unwrap();
    assert_eq!(h.ex.poll_timeout(), Some(h.now + DEFAULT_IDLE_FLUSH));
    h.advance(DEFAULT_IDLE_FLUSH);
    h.ex.handle_timeout(h.now, h.wall);
    h.drain();
    assert_eq!((h.template_events(0), h.options(0).len()), (3, 2));
    // Within the refresh period: data only.
    h.push(1, &r).unwrap();
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!((h.template_events(0), h.options(0).len()), (3, 2));
    // The refresh is due 60 s after the first record.
    assert_eq!(
        h.ex.poll_timeout(),
        Some(h.now - DEFAULT_IDLE_FLUSH + Duration::from_secs(60))
    );
    h.advance(Duration::from_secs(60));
    h.ex.handle_timeout(h.now, h.wall);
    h.push(1, &r).unwrap();
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!((h.template_events(0), h.options(0).len()), (6, 4));
    let last = h.got[0].last().unwrap();
    assert_eq!(
        last.events.len(),
        3,
        "the template comes in the same message as the data"
    );
    assert_eq!(last.header.export_time, (WALL + 60) as u32);
    // The next refresh (the domain had traffic): the names go out at once, without data.
    h.advance(Duration::from_secs(60));
    h.ex.handle_timeout(h.now, h.wall);
    h.advance(DEFAULT_IDLE_FLUSH);
    h.ex.handle_timeout(h.now, h.wall);
    h.drain();
    assert_eq!(
        (h.template_events(0), h.options(0).len(), h.flows(0).len()),
        (8, 6, 3)
    );
    // A refresh of a domain idle for the whole period sends nothing...
    let before = h.got[0].len();
    h.advance(Duration::from_secs(60));
    h.ex.handle_timeout(h.now, h.wall);
    h.drain();
    assert_eq!(h.got[0].len(), before);
    assert!(h.ex.is_drained());
    // ...and its next record brings templates and names again.
    h.push(1, &r).unwrap();
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!(
        (h.template_events(0), h.options(0).len(), h.flows(0).len()),
        (11, 8, 4)
    );
}

#[test]
fn reconnect_resends_templates_before_data_and_the_cut_message_whole() {
    let mut h = Harness::new(cfg(1, 200));
    h.ex.set_domain(DomainId(3), DomainInfo::default());
    let r = ExportRecord {
        vpc_id: Some("vpc-0a1b2c3d4e5f60718"),
        packets: Some(1),
        ..Default::default()
    };
    for _ in 0..12 {
        h.push(3, &r).unwrap();
    }
    h.ex.flush(h.now, h.wall);
    // Message A (with the template) goes out; B is cut by the break.
    let a = h.ex.poll_transmit().unwrap().bytes.to_vec();
    h.ex.handle_sent(CollectorId(0));
    h.receive(0, a);
    let b_partial = h.ex.poll_transmit().unwrap().bytes.to_vec();
    assert_eq!(
        h.ex.in_flight(CollectorId(0)).map(|t| t.bytes.to_vec()),
        Some(b_partial.clone())
    );
    h.ex.handle_reconnect(CollectorId(0));
    h.readers[0] = Reader::new(DOCUMENTATION_PEN); // the new connection is a new session
    // First a template-only message with B's sequence number, then B whole.
    let t = h.ex.poll_transmit().unwrap();
    assert_eq!(t.domain, DomainId(3));
    let t = t.bytes.to_vec();
    h.ex.handle_sent(CollectorId(0));
    h.receive(0, t);
    let templ = h.got[0].last().unwrap();
    assert!(
        templ.records.is_empty()
            && matches!(
                templ.events[..],
                [Event::Template {
                    template_id: 256,
                    ..
                }]
            )
    );
    let b = h.ex.poll_transmit().unwrap().bytes.to_vec();
    assert_eq!(b, b_partial, "resent whole, same bytes");
    h.ex.handle_sent(CollectorId(0));
    h.receive(0, b);
    h.drain();
    let seqs: Vec<u32> = h.got[0].iter().map(|m| m.header.sequence).collect();
    let counts: Vec<usize> = h.got[0].iter().map(|m| m.records.len()).collect();
    assert_eq!(seqs[0], 0);
    assert_eq!(
        seqs[1], counts[0] as u32,
        "the template message carries B's sequence number"
    );
    assert_eq!(
        seqs[2], seqs[1],
        "sequence numbers continue across the reconnect"
    );
    assert_eq!(h.flows(0).len(), 12);
    assert!(
        !h.events(0)
            .iter()
            .any(|e| matches!(e, Event::UnknownTemplate { .. }))
    );
    // New data after the reconnect carries its template inline again.
    h.push(3, &r).unwrap();
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert!(matches!(
        h.got[0].last().unwrap().events[..],
        [Event::Template {
            template_id: 256,
            ..
        }]
    ));
}

#[test]
fn backpressure_when_the_pool_is_used_up_and_nothing_is_lost() {
    let mut c = cfg(1, 120);
    c.buffers = 3;
    let mut h = Harness::new(c);
    let r = ExportRecord {
        vpc_id: Some("vpc-0a1b2c3d4e5f60718"),
        packets: Some(1),
        ..Default::default()
    };
    let mut accepted = 0;
    while h.push(9, &r).is_ok() {
        accepted += 1;
        assert!(accepted < 100, "the pool must run out");
    }
    assert!(!h.ex.can_accept(h.now));
    assert_eq!(h.push(9, &r), Err(Backpressure));
    // Sending frees buffers; the producer continues; everything arrives once.
    h.drain();
    assert!(h.ex.can_accept(h.now));
    for _ in 0..50 {
        while h.push(9, &r).is_err() {
            h.drain();
        }
        accepted += 1;
    }
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!(h.flows(0).len(), accepted);
    assert_eq!(h.ex.acked_through(), Serial(accepted as u64));
}

#[test]
fn acked_through_waits_for_every_collector_and_every_open_message() {
    let mut h = Harness::new(cfg(2, 1400));
    // Small records: each domain's records share one message.
    let r = ExportRecord {
        protocol: Some(6),
        packets: Some(1),
        ..Default::default()
    };
    assert_eq!(h.ex.acked_through(), Serial(0));
    assert_eq!(h.push(1, &r), Ok(Serial(1)));
    assert_eq!(h.push(2, &r), Ok(Serial(2)));
    assert_eq!(h.push(2, &r), Ok(Serial(3)));
    assert_eq!(
        h.ex.acked_through(),
        Serial(0),
        "open messages are not acknowledged"
    );
    h.ex.flush(h.now, h.wall);
    assert_eq!(h.ex.acked_through(), Serial(0), "queued is not written");
    // Collector 0 writes everything, collector 1 only its first message (domain 1).
    while let Some(tx) = h.ex.poll_transmit() {
        let c = tx.collector;
        if c == CollectorId(1) && h.ex.in_flight(c).is_some_and(|t| t.domain == DomainId(2)) {
            break;
        }
        h.ex.handle_sent(c);
    }
    assert_eq!(h.ex.acked_through(), Serial(1));
    h.drain();
    h.ex.handle_sent(CollectorId(1));
    h.drain();
    assert_eq!(h.ex.acked_through(), Serial(3));
    // A record in a domain whose message stays open holds back later ones in other domains.
    h.push(1, &r).unwrap(); // 4
    h.push(2, &r).unwrap(); // 5
    let tiny = ExportRecord {
        vpc_id: Some(&"x".repeat(2000)),
        ..Default::default()
    };
    assert_eq!(
        h.push(2, &tiny),
        Ok(Serial(6)),
        "too large: dropped, nothing to deliver"
    );
    assert_eq!(h.ex.stats().dropped_too_large, 1);
    assert_eq!(h.ex.acked_through(), Serial(3));
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!(h.ex.acked_through(), Serial(6));
    assert!(h.ex.is_drained());
}

#[test]
fn rate_limit_slows_the_producer_on_a_virtual_clock() {
    let mut c = cfg(1, 1400);
    c.rate_limit = 100; // burst 10
    let mut h = Harness::new(c);
    let r = full_record();
    let start = h.now;
    let mut pushed = 0u64;
    while h.now < start + Duration::from_secs(2) {
        match h.push(1, &r) {
            Ok(_) => pushed += 1,
            Err(Backpressure) => {
                let at = h.ex.poll_timeout().expect("a refill is due");
                assert!(at > h.now);
                let step = at - h.now;
                h.advance(step);
                h.ex.handle_timeout(h.now, h.wall);
                h.drain();
            }
        }
    }
    // The burst, then one record every 10 ms for 2 s (the last one lands exactly at 2 s).
    assert_eq!(pushed, 10 + 199);
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!(h.flows(0).len() as u64, pushed, "slowed, never dropped");
}

#[test]
fn idle_flush_sends_a_slow_trickle() {
    let mut h = Harness::new(cfg(1, 1400));
    h.push(1, &full_record()).unwrap();
    assert!(h.ex.poll_transmit().is_none());
    let due = h.ex.poll_timeout().unwrap();
    assert_eq!(due, h.now + DEFAULT_IDLE_FLUSH);
    h.advance(Duration::from_millis(99));
    h.ex.handle_timeout(h.now, h.wall);
    assert!(h.ex.poll_transmit().is_none());
    h.advance(Duration::from_millis(1));
    h.ex.handle_timeout(h.now, h.wall);
    h.drain();
    assert_eq!(h.flows(0).len(), 1);
    // Nothing open: only the template refresh is left as a deadline.
    assert_eq!(
        h.ex.poll_timeout(),
        Some(h.now - DEFAULT_IDLE_FLUSH + Duration::from_secs(600))
    );
}

#[test]
fn a_record_that_cannot_fit_is_counted_and_dropped() {
    // 64 octets: header 16 + template set 4 + a 1-field template 8 + data set 4 leaves 32 octets.
    let mut h = Harness::new(cfg(1, 64));
    let ok = ExportRecord {
        vpc_id: Some("vpc-0a1b2c3d4e5f60718"),
        ..Default::default()
    };
    let big = ExportRecord {
        vpc_id: Some("vpc-0a1b2c3d4e5f60718-far-too-long-for-this-tiny-message"),
        ..Default::default()
    };
    h.push(1, &ok).unwrap();
    h.push(1, &big).unwrap();
    h.push(1, &ok).unwrap();
    h.ex.flush(h.now, h.wall);
    h.drain();
    assert_eq!(h.flows(0).len(), 2);
    assert_eq!(h.ex.stats().dropped_too_large, 1);
    assert!(h.raw[0].iter().all(|m| m.len() <= 64));
    assert_eq!(h.ex.acked_through(), Serial(3));
}

#[test]
fn config_is_checked() {
    assert_eq!(
        Export::new(cfg(1, 63)).unwrap_err(),
        ExportError::PacketSize { size: 63 }
    );
    assert!(Export::new(cfg(1, 65_536)).is_err());
    let mut c = cfg(2, 1400);
    c.buffers = 3;
    assert_eq!(
        Export::new(c).unwrap_err().to_string(),
        "IPFIX export needs at least 4 message buffers (2 per collector), got 3"
    );
}

/// 2 million records through one collector: `cargo test --release -- --ignored bench --nocapture`.
#[test]
#[ignore]
#[allow(clippy::disallowed_methods)] // measures real elapsed time
fn bench_push_two_million() {
    let mut h = Harness::new(cfg(1, 1400));
    h.ex.set_domain(
        DomainId(1),
        DomainInfo {
            name: "vpc-1".into(),
            exporter_ipv4: Some(Ipv4Addr::new(10, 0, 0, 1)),
        },
    );
    let base = full_record();
    let v2 = ExportRecord {
        src_addr: base.src_addr,
        dst_addr: base.dst_addr,
        src_port: base.src_port,
        dst_port: base.dst_port,
        protocol: base.protocol,
        packets: base.packets,
        bytes: base.bytes,
        start_ms: base.start_ms,
        end_ms: base.end_ms,
        forwarding_status: base.forwarding_status,
        interface_name: base.interface_name,
        egress_interface: base.egress_interface,
        account_id: base.account_id,
        ..Default::default()
    };
    let (mut bytes, mut messages) = (0usize, 0usize);
    let t = Instant::now();
    for i in 0..2_000_000u64 {
        let r = ExportRecord {
            packets: Some(i),
            ..v2
        };
        while h.ex.push(DomainId(1), &r, h.now, h.wall).is_err() {
            while let Some(tx) = h.ex.poll_transmit() {
                bytes += tx.bytes.len();
                messages += 1;
                h.ex.handle_sent(CollectorId(0));
            }
        }
    }
    h.ex.flush(h.now, h.wall);
    while let Some(tx) = h.ex.poll_transmit() {
        bytes += tx.bytes.len();
        messages += 1;
        h.ex.handle_sent(CollectorId(0));
    }
    let el = t.elapsed();
    println!(
        "2M records in {el:?}: {:.0} records/s, {messages} messages, {bytes} bytes",
        2e6 / el.as_secs_f64()
    );
    assert_eq!(h.ex.stats().collectors[0].flow_records, 2_000_000);
}

#[test]
fn options_waiting_for_room_go_out_at_idle_flush_without_more_data() {
    let mut c = cfg(1, 300);
    c.buffers = 4;
    let mut h = Harness::new(c);
    h.ex.set_domain(
        DomainId(5),
        DomainInfo {
            name: "vpc-5".into(),
            exporter_ipv4: None,
        },
    );
    let names: Vec<String> = (0..40).map(|i| format!("eni-{i:017x}")).collect();
    for n in &names {
        let r = ExportRecord {
            interface_name: Some(n),
            egress_interface: Some(synthetic_if_index(n)),
            protocol: Some(6),
            ..Default::default()
        };
        while h.push(5, &r).is_err() {
            h.drain();
        }
    }
    // No flush: only the timers. Every name arrives, and the engine drains before the refresh.
    let mut steps = 0;
    loop {
        h.drain();
        if h.ex.is_drained() {
            break;
        }
        let at = h.ex.poll_timeout().unwrap();
        assert!(
            at < h.now + Duration::from_secs(1),
            "waiting for the refresh: names stuck"
        );
        if at > h.now {
            let step = at - h.now;
            h.advance(step);
        }
        h.ex.handle_timeout(h.now, h.wall);
        steps += 1;
        assert!(steps < 100, "no progress");
    }
    assert_eq!(h.flows(0).len(), 40);
    let named: Vec<_> = h
        .options(0)
        .iter()
        .filter_map(|r| r.get("interfaceName")?.as_str())
        .map(String::from)
        .collect();
    assert_eq!(named, names);
    assert!(
        !h.events(0)
            .iter()
            .any(|e| matches!(e, Event::SequenceGap { .. }))
    );
}
