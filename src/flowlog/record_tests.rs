//! Tests of `record.rs` (kept apart to keep that file short): every fixture line, values
//! checked by hand, whitespace variants, malformed lines and random damage.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/flowlogs/",
            $name
        ))
    };
}

/// Every fixture with a header line, and how many records follow it.
const FILES: [(&str, &[u8], usize); 13] = [
    ("default-v2", fixture!("default-v2.log"), 8),
    ("default-v2-crlf", fixture!("default-v2-crlf.log"), 8),
    ("custom-v5", fixture!("custom-v5.log"), 8),
    ("custom-v8", fixture!("custom-v8-reject-reason.log"), 3),
    ("doc-v2", fixture!("aws-doc-default-v2.log"), 7),
    ("doc-tcp", fixture!("aws-doc-custom-v3-tcp-flags.log"), 8),
    ("doc-nat", fixture!("aws-doc-custom-v3-nat-gateway.log"), 6),
    (
        "doc-tgw",
        fixture!("aws-doc-custom-v3-transit-gateway.log"),
        4,
    ),
    ("doc-v5", fixture!("aws-doc-custom-v5-traffic-path.log"), 2),
    ("v4", fixture!("custom-v4-sublocation.log"), 4),
    ("v7", fixture!("custom-v7-ecs-fargate.log"), 2),
    ("v11", fixture!("custom-v11-all-fields.log"), 5),
    ("unknown", fixture!("custom-unknown-field.log"), 2),
];

fn lines(file: &[u8]) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = file.split(|&b| b == b'\n').collect();
    assert_eq!(v.pop(), Some(&b""[..]), "fixture ends with a newline");
    v
}

fn layout_of(file: &[u8]) -> Layout {
    Layout::from_header_line(lines(file)[0]).unwrap()
}

/// Parses record `n` (1-based, after the header) of a fixture.
fn with_record<R>(file: &[u8], n: usize, f: impl FnOnce(&FlowRecord<'_>) -> R) -> R {
    let layout = layout_of(file);
    let line = lines(file)[n];
    let rec = parse_line(&layout, line).unwrap();
    f(&rec)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Every line of every fixture parses; each typed value agrees with `str::parse` of its
/// token, and the tokens are the line's whitespace-separated words.
#[test]
fn every_fixture_line_parses() {
    for (name, file, records) in FILES {
        let all = lines(file);
        assert!(Layout::is_header_line(all[0]), "{name}");
        let layout = layout_of(file);
        assert_eq!(all.len() - 1, records, "{name}");
        for line in &all[1..] {
            assert!(!Layout::is_header_line(line), "{name}");
            let rec = parse_line(&layout, line)
                .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(line)));
            let words: Vec<&str> = std::str::from_utf8(line)
                .unwrap()
                .split_whitespace()
                .collect();
            let tokens: Vec<&str> = (0..layout.len())
                .map(|c| rec.column_str(c).unwrap())
                .collect();
            assert_eq!(tokens, words, "{name}");
            assert_eq!(rec.column_str(layout.len()), None);
            for (col, column) in layout.columns().iter().enumerate() {
                let Column::Known(field) = column else {
                    assert_eq!(rec.unknown_value(col), Some(words[col]));
                    continue;
                };
                let word = words[col];
                assert_eq!(rec.get_str(*field), Some(word));
                assert_eq!(rec.unknown_value(col), None);
                let dash = word == "-";
                let typed: Option<String> = match field {
                    Field::SrcAddr => rec.srcaddr().map(|a| a.to_string()),
                    Field::DstAddr => rec.dstaddr().map(|a| a.to_string()),
                    Field::PktSrcAddr => rec.pkt_srcaddr().map(|a| a.to_string()),
                    Field::PktDstAddr => rec.pkt_dstaddr().map(|a| a.to_string()),
                    Field::Version => rec.version().map(|v| v.to_string()),
                    Field::SrcPort => rec.srcport().map(|v| v.to_string()),
                    Field::DstPort => rec.dstport().map(|v| v.to_string()),
                    Field::Protocol => rec.protocol().map(|v| v.to_string()),
                    Field::Packets => rec.packets().map(|v| v.to_string()),
                    Field::Bytes => rec.bytes().map(|v| v.to_string()),
                    Field::Start => rec.start().map(|v| v.to_string()),
                    Field::End => rec.end().map(|v| v.to_string()),
                    Field::TcpFlags => rec.tcp_flags().map(|v| v.to_string()),
                    Field::TrafficPath => rec.traffic_path().map(|v| v.to_string()),
                    Field::EncryptionStatus => rec.encryption_status().map(|v| v.to_string()),
                    Field::Action => rec.action().map(|v| v.to_string()),
                    Field::LogStatus => rec.log_status().map(|v| v.to_string()),
                    Field::Type => rec.ip_type().map(|v| v.to_string()),
                    Field::FlowDirection => rec.flow_direction().map(|v| v.to_string()),
                    _ => rec.text(*field).map(str::to_owned),
                };
                let expect = (!dash).then(|| match field.kind() {
                    // std's own parser and formatter as the reference.
                    crate::flowlog::FieldKind::Addr => ip(word).to_string(),
                    _ => word.to_owned(),
                });
                assert_eq!(typed, expect, "{name} {field}");
            }
            if layout.contains(Field::Version) {
                assert_eq!(rec.version(), Some(layout.max_version()), "{name}");
            }
        }
    }
}

#[test]
fn default_v2_values_by_hand() {
    let f = fixture!("default-v2.log");
    with_record(f, 1, |r| {
        assert_eq!(r.version(), Some(2));
        assert_eq!(r.account_id(), Some("123456789012"));
        assert_eq!(r.interface_id(), Some("eni-0123456789abcdef0"));
        assert_eq!(r.srcaddr(), Some(ip("10.0.1.5")));
        assert_eq!(r.dstaddr(), Some(ip("203.0.113.5")));
        assert_eq!((r.srcport(), r.dstport()), (Some(49152), Some(443)));
        assert_eq!(r.protocol(), Some(6));
        assert_eq!((r.packets(), r.bytes()), (Some(10), Some(1420)));
        assert_eq!((r.start(), r.end()), (Some(1768478340), Some(1768478399)));
        assert_eq!(r.action(), Some(Action::Accept));
        assert_eq!(r.log_status(), Some(LogStatus::Ok));
        assert!(r.is_flow());
        // Not in the default format.
        assert_eq!(
            (r.vpc_id(), r.tcp_flags(), r.get_str(Field::VpcId)),
            (None, None, None)
        );
    });
    with_record(f, 4, |r| {
        assert_eq!(
            (r.protocol(), r.srcport(), r.dstport()),
            (Some(1), Some(0), Some(0))
        );
    });
    with_record(f, 5, |r| {
        assert_eq!(
            r.srcaddr(),
            Some(ip("2001:db8:1234:a100:8d6e:3477:df66:f105"))
        );
        assert_eq!(r.dstaddr(), Some(ip("2600:1f18:1234:a100::5")));
    });
    with_record(f, 6, |r| {
        assert_eq!(r.log_status(), Some(LogStatus::NoData));
        assert!(!r.is_flow());
        assert_eq!(
            (r.srcaddr(), r.srcport(), r.packets(), r.action()),
            (None, None, None, None)
        );
        assert_eq!(r.get_str(Field::SrcAddr), Some("-"));
        assert_eq!(r.text(Field::SrcAddr), None);
        assert_eq!((r.start(), r.end()), (Some(1768478340), Some(1768478399)));
    });
    with_record(f, 7, |r| {
        assert_eq!(r.log_status(), Some(LogStatus::SkipData))
    });
    with_record(f, 8, |r| assert_eq!(r.account_id(), Some("unknown")));
    let crlf = fixture!("default-v2-crlf.log");
    with_record(crlf, 1, |r| {
        assert_eq!(r.log_status(), Some(LogStatus::Ok));
        assert_eq!(r.get_str(Field::LogStatus), Some("OK"));
    });
}

#[test]
fn custom_formats_by_hand() {
    with_record(fixture!("custom-v5.log"), 1, |r| {
        assert_eq!(r.vpc_id(), Some("vpc-0a1b2c3d4e5f60718"));
        assert_eq!(r.instance_id(), Some("i-0123456789abcdef0"));
        assert_eq!(r.ip_type(), Some(IpType::Ipv4));
        assert_eq!((r.bytes(), r.packets()), (Some(471), Some(7)));
        assert_eq!(r.tcp_flags(), Some(3));
        assert_eq!(
            (r.region(), r.az_id()),
            (Some("us-east-1"), Some("use1-az6"))
        );
        assert_eq!(r.flow_direction(), Some(FlowDirection::Egress));
        assert_eq!(r.traffic_path(), Some(8));
        assert_eq!(
            (r.pkt_src_aws_service(), r.pkt_dst_aws_service()),
            (None, Some("S3"))
        );
    });
    with_record(fixture!("custom-v5.log"), 3, |r| {
        assert_eq!(r.instance_id(), None);
        assert_eq!(r.dstaddr(), Some(ip("10.0.0.220")));
        assert_eq!(r.pkt_dstaddr(), Some(ip("203.0.113.5")));
        assert_eq!(r.flow_direction(), Some(FlowDirection::Ingress));
        assert_eq!(r.traffic_path(), None);
    });
    with_record(fixture!("custom-v5.log"), 7, |r| {
        assert_eq!(r.ip_type(), Some(IpType::Ipv6));
        assert_eq!(r.pkt_srcaddr(), Some(ip("2600:1f18:1234:a100::5")));
    });
    with_record(fixture!("custom-v8-reject-reason.log"), 1, |r| {
        assert_eq!(r.version(), Some(8));
        assert_eq!(r.action(), Some(Action::Reject));
        assert_eq!(r.reject_reason(), Some("BPA"));
    });
    with_record(fixture!("custom-v8-reject-reason.log"), 2, |r| {
        assert_eq!(r.reject_reason(), None)
    });
    // The AWS example with two spaces before pkt-srcaddr.
    with_record(fixture!("aws-doc-custom-v3-tcp-flags.log"), 8, |r| {
        assert_eq!(r.srcport(), Some(5001));
        assert_eq!(r.dstport(), Some(43638));
        assert_eq!(r.pkt_srcaddr(), Some(ip("10.0.0.62")));
        assert_eq!(r.tcp_flags(), Some(19));
    });
    with_record(fixture!("aws-doc-custom-v3-tcp-flags.log"), 6, |r| {
        assert_eq!((r.bytes(), r.packets()), (Some(23294588), Some(15774)));
    });
    with_record(fixture!("aws-doc-custom-v3-nat-gateway.log"), 1, |r| {
        assert_eq!(r.version(), None);
        assert_eq!(r.instance_id(), None);
        assert_eq!(r.dstaddr(), Some(ip("10.0.0.220")));
        assert_eq!(r.pkt_dstaddr(), Some(ip("203.0.113.5")));
        assert!(r.is_flow());
    });
    with_record(fixture!("aws-doc-custom-v5-traffic-path.log"), 2, |r| {
        assert_eq!(
            (r.region(), r.az_id()),
            (Some("ap-southeast-2"), Some("apse2-az3"))
        );
        assert_eq!(r.sublocation_type(), None);
        assert_eq!(r.traffic_path(), Some(8));
        assert_eq!(r.pkt_dst_aws_service(), Some("S3"));
    });
    with_record(fixture!("custom-v4-sublocation.log"), 2, |r| {
        assert_eq!(r.az_id(), None);
        assert_eq!(r.sublocation_type(), Some("wavelength"));
        assert_eq!(r.sublocation_id(), Some("us-east-1-wl1-bos-wlz-1"));
    });
    with_record(fixture!("custom-v7-ecs-fargate.log"), 1, |r| {
        assert_eq!(r.ecs_cluster_name(), Some("api"));
        assert_eq!(r.ecs_container_instance_arn(), None);
        assert_eq!(r.ecs_service_name(), Some("api-svc"));
        assert_eq!(r.ecs_task_id(), Some("5e6f708192a3b4c5d6e7f8091a2b3c4d"));
        assert_eq!(
            r.ecs_task_definition_arn(),
            Some("arn:aws:ecs:us-east-1:123456789012:task-definition/api:12")
        );
    });
}

#[test]
fn v11_all_fields_by_hand() {
    let f = fixture!("custom-v11-all-fields.log");
    assert_eq!(layout_of(f), Layout::from_fields(&Field::ALL).unwrap());
    with_record(f, 1, |r| {
        assert_eq!(r.version(), Some(11));
        assert_eq!(
            r.ecs_cluster_arn(),
            Some("arn:aws:ecs:us-east-1:123456789012:cluster/web")
        );
        assert_eq!(r.ecs_second_container_id(), None);
        assert_eq!(r.encryption_status(), Some(2));
        assert_eq!(
            (r.instance_tag(), r.instance_tag_2()),
            (Some("web-1"), Some("prod"))
        );
        assert_eq!(
            (r.interface_tag(), r.asg_tag(), r.asg_tag_2()),
            (None, Some("web-asg"), None)
        );
        assert_eq!(r.interface_type(), Some("interface"));
        assert_eq!(r.next_hop_interface_id(), Some("eni-0aaaaaaaaaaaaaaa1"));
        assert_eq!(r.next_hop_subnet_id(), Some("subnet-0a1b2c3d4e5f60002"));
        assert_eq!(r.next_hop_az_id(), Some("use1-az6"));
        assert_eq!(r.next_hop_vpc_id(), Some("vpc-0a1b2c3d4e5f60718"));
        assert_eq!(r.next_hop_interface_type(), Some("nat_gateway"));
    });
    with_record(f, 2, |r| {
        assert_eq!(r.resource_id(), Some("nat-0123456789abcdef0"));
        assert_eq!(r.encryption_status(), Some(3));
        assert_eq!(r.interface_tag(), Some("nat-tag"));
    });
    with_record(f, 3, |r| {
        assert_eq!(r.ip_type(), Some(IpType::Efa));
        assert_eq!((r.srcport(), r.protocol()), (None, None));
        assert_eq!(r.bytes(), Some(9830400));
    });
    with_record(f, 4, |r| {
        assert_eq!(r.reject_reason(), Some("BPA"));
        assert_eq!(r.sublocation_id(), Some("op-0123456789abcdef0"));
        assert_eq!(r.encryption_status(), None);
    });
    with_record(f, 5, |r| {
        assert_eq!(r.log_status(), Some(LogStatus::NoData))
    });
}

#[test]
fn unknown_columns_by_index() {
    let f = fixture!("custom-unknown-field.log");
    with_record(f, 1, |r| {
        assert_eq!(r.unknown_value(4), Some("opaque:value=1"));
        assert_eq!(r.unknown_value(7), Some("-"));
        assert_eq!(r.unknown_value(3), None); // dstaddr is known
        assert_eq!(r.unknown_value(8), None);
        assert_eq!(r.action(), Some(Action::Accept));
    });
    with_record(f, 2, |r| assert_eq!(r.unknown_value(7), Some("42")));
}

#[test]
fn whitespace_variants() {
    let layout = Layout::default_v2();
    let line = lines(fixture!("default-v2.log"))[1];
    let text = std::str::from_utf8(line).unwrap();
    let expect = parse_line(&layout, line).unwrap();
    for variant in [
        text.replace(' ', "\t"),
        text.replace(' ', "  "),
        text.replace(' ', " \t "),
        format!("  {text}"),
        format!("{text} \r"),
        format!("{text}\r"),
    ] {
        let r = parse_line(&layout, variant.as_bytes()).unwrap();
        assert_eq!(r.bytes(), expect.bytes());
        assert_eq!(r.log_status(), Some(LogStatus::Ok));
        assert_eq!(r.get_str(Field::LogStatus), Some("OK"));
        assert_eq!(r.srcaddr(), expect.srcaddr());
    }
}

fn error_of(line: &str) -> LineError {
    parse_line(&Layout::default_v2(), line.as_bytes()).unwrap_err()
}

/// A good default-format line with column `col` replaced by `value`.
fn v2_with(col: usize, value: &str) -> String {
    let line = "2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK";
    let mut words: Vec<&str> = line.split(' ').collect();
    words[col] = value;
    words.join(" ")
}

#[test]
fn malformed_lines() {
    assert_eq!(
        error_of(""),
        LineError::FieldCount {
            expected: 14,
            got: 0
        }
    );
    assert_eq!(
        error_of(" \t\r"),
        LineError::FieldCount {
            expected: 14,
            got: 0
        }
    );
    assert_eq!(
        error_of(&format!("{} 1 2 3", v2_with(0, "2"))),
        LineError::FieldCount {
            expected: 14,
            got: 17
        }
    );
    let short = v2_with(0, "2");
    let short = short.rsplit_once(' ').unwrap().0;
    assert_eq!(
        error_of(short),
        LineError::FieldCount {
            expected: 14,
            got: 13
        }
    );
    for (col, value) in [
        (0, "256"),
        (0, "v2"),
        (5, "65536"),
        (5, "-1"),
        (6, "+443"),
        (7, "256"),
        (7, "0x6"),
        (8, "18446744073709551616"),
        (9, "1e3"),
        (10, "1768478340.5"),
        (11, "١٢"), // Arabic-Indic digits: UTF-8, not ASCII
    ] {
        let e = error_of(&v2_with(col, value));
        let field = Field::ALL[col];
        assert_eq!(
            e,
            LineError::BadNumber {
                field,
                token: BadToken::new(value.as_bytes())
            },
            "{value}"
        );
        assert_eq!(
            e.to_string(),
            format!("field {field}: bad number {value:?}")
        );
    }
    assert_eq!(
        parse_line(
            &Layout::default_v2(),
            v2_with(8, "18446744073709551615").as_bytes()
        )
        .unwrap()
        .packets(),
        Some(u64::MAX)
    );
    for value in [
        "10.0.1.256",
        "10.0.1",
        "10.0.1.5.6",
        "010.0.1.5",
        "10..1.5",
        "10.0.1.5/32",
        "host",
        "2001:db8::g",
        "2001:db8:::1",
        "fe80::1%eth0",
        "::ffff:10.0.1.256",
    ] {
        let e = error_of(&v2_with(3, value));
        assert_eq!(
            e,
            LineError::BadAddress {
                field: Field::SrcAddr,
                token: BadToken::new(value.as_bytes())
            },
            "{value}"
        );
    }
    assert_eq!(
        error_of(&v2_with(4, "1.2.3")).to_string(),
        "field dstaddr: bad IP address \"1.2.3\""
    );
    for (col, value) in [(12, "ALLOW"), (12, "accept"), (13, "ok"), (13, "NODATA?")] {
        let e = error_of(&v2_with(col, value));
        let field = Field::ALL[col];
        assert_eq!(
            e,
            LineError::BadEnum {
                field,
                token: BadToken::new(value.as_bytes())
            }
        );
    }
    assert_eq!(
        error_of(&v2_with(12, "ALLOW")).to_string(),
        "field action: bad value \"ALLOW\", expected ACCEPT or REJECT"
    );
    let mut bad = v2_with(1, "123456789012").into_bytes();
    bad[20] = 0xff;
    let e = parse_line(&Layout::default_v2(), &bad).unwrap_err();
    assert_eq!(e, LineError::NotUtf8 { offset: 20 });
    assert_eq!(e.to_string(), "not UTF-8: invalid byte at offset 20");
    // The first bad column is reported.
    let two_bad = v2_with(5, "x").replace("ACCEPT", "NOPE");
    assert!(matches!(
        error_of(&two_bad),
        LineError::BadNumber {
            field: Field::SrcPort,
            ..
        }
    ));
}

#[test]
fn long_tokens_are_cut_in_messages() {
    let long = "9".repeat(300);
    let e = error_of(&v2_with(9, &long));
    let msg = e.to_string();
    assert_eq!(
        msg,
        format!("field bytes: bad number {:?}… (300 bytes)", &long[..64])
    );
    // A cut never splits a UTF-8 character.
    let wide = "é".repeat(100); // 200 bytes
    let LineError::BadNumber { token, .. } = error_of(&v2_with(9, &wide)) else {
        panic!("expected BadNumber");
    };
    assert_eq!(token.as_str(), "é".repeat(32));
    assert!(token.is_truncated());
    assert_eq!(token.len(), 200);
}

/// Strings for the IPv4 readers (this parser and the direct path's) to agree with
/// `Ipv4Addr::from_str` on: random runs of digits, dots, `:` and letters; dotted groups of 1–4
/// digits, three to five of them (many valid, many near misses); and the classic traps.
pub(super) fn ipv4_cases() -> Vec<String> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"0123456789..:a00125.";
    let mut cases: Vec<String> = (0..100_000)
        .map(|_| {
            let len = 1 + (next() % 17) as usize;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                .collect()
        })
        .collect();
    cases.extend((0..100_000).map(|_| {
        let groups = 3 + next() % 3;
        (0..groups)
            .map(|_| {
                let n = 1 + next() % 4;
                (0..n)
                    .map(|_| char::from(b'0' + (next() % 10) as u8))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join(".")
    }));
    for s in [
        "0.0.0.0",
        "255.255.255.255",
        "1.2.3.4",
        "00.1.2.3",
        "1.2.3.04",
        "256.1.1.1",
        "1.2.3.4.5",
        "1.2.3",
        "1..2.3",
        "1.2.3.",
        ".1.2.3",
        "1000.1.1.1",
        "010.1.1.1",
    ] {
        cases.push(s.to_string());
    }
    let valid = cases
        .iter()
        .filter(|s| s.parse::<Ipv4Addr>().is_ok())
        .count();
    assert!(valid > 1000, "{valid} valid addresses among the cases");
    cases
}

/// The hand-written IPv4 parser accepts exactly what `Ipv4Addr::from_str` accepts.
#[test]
fn ipv4_parser_agrees_with_std() {
    for s in ipv4_cases() {
        assert_eq!(parse_ipv4(s.as_bytes()), s.parse::<Ipv4Addr>().ok(), "{s}");
    }
}

/// Random bytes and damaged fixture lines never panic, whatever the layout.
#[test]
fn garbage_never_panics() {
    let layouts = [
        Layout::default_v2(),
        layout_of(fixture!("custom-v5.log")),
        layout_of(fixture!("custom-v11-all-fields.log")),
        layout_of(fixture!("custom-unknown-field.log")),
    ];
    let sources: Vec<&[u8]> = FILES.iter().flat_map(|(_, f, _)| lines(f)).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..20_000 {
        let mut line = sources[round % sources.len()].to_vec();
        for _ in 0..1 + next() % 6 {
            let at = (next() as usize) % (line.len() + 1);
            match next() % 4 {
                0 => line.insert(at, next() as u8),
                1 => line.insert(at, b" -.:0129\t\r"[(next() % 10) as usize]),
                2 if at < line.len() => {
                    line.remove(at);
                }
                _ => line.truncate(at),
            }
        }
        let layout = &layouts[round % layouts.len()];
        match parse_line(layout, &line) {
            Ok(r) => assert!(r.column_str(layout.len() - 1).is_some()),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// Everything a record says, for comparing two parses of one line.
fn summary(r: &FlowRecord<'_>) -> String {
    let columns: Vec<_> = (0..r.layout().len()).map(|c| r.column_str(c)).collect();
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {columns:?}",
        r.version(),
        r.srcaddr(),
        r.dstaddr(),
        r.pkt_srcaddr(),
        r.pkt_dstaddr(),
        r.srcport(),
        r.dstport(),
        r.protocol(),
        r.packets(),
        r.bytes(),
        r.start(),
        r.end(),
        r.tcp_flags(),
        r.traffic_path(),
        r.encryption_status(),
        r.action(),
        r.log_status(),
        r.ip_type(),
        r.flow_direction(),
    )
}

/// The default format's straight-line parser gives what the general loop gives — values and
/// errors — on every default-format line, damaged ones included.
#[test]
fn the_default_format_shortcut_agrees_with_the_general_loop() {
    let layout = Layout::default_v2();
    assert_eq!(layout.slots(), DEFAULT_V2);
    assert!(layout.is_default_v2());
    let files: [&[u8]; 2] = [
        fixture!("default-v2.log"),
        fixture!("aws-doc-default-v2.log"),
    ];
    let mut sources: Vec<Vec<u8>> = files
        .iter()
        .flat_map(|f| lines(f).into_iter().skip(1).map(<[u8]>::to_vec))
        .collect();
    sources.push(fixture!("default-v2-crlf.log").to_vec());
    sources.push(b"".to_vec());
    sources.push(b"   ".to_vec());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut checked = (0, 0);
    for round in 0..30_000 {
        let mut line = sources[round % sources.len()].clone();
        for _ in 0..round % 4 {
            let at = (next() as usize) % (line.len() + 1);
            match next() % 4 {
                0 => line.insert(at, next() as u8),
                1 => line.insert(at, b" -.:0129\t\r\x01"[(next() % 11) as usize]),
                2 if at < line.len() => {
                    line.remove(at);
                }
                _ => line.truncate(at),
            }
        }
        match (
            FlowRecord::parse(&layout, &line),
            FlowRecord::parse_general(&layout, &line),
        ) {
            (Ok(a), Ok(b)) => {
                assert_eq!(summary(&a), summary(&b), "{line:?}");
                checked.0 += 1;
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "{line:?}");
                checked.1 += 1;
            }
            (a, b) => panic!(
                "{line:?}: {:?} vs {:?}",
                a.map(|r| summary(&r)),
                b.map(|r| summary(&r))
            ),
        }
    }
    assert!(checked.0 > 5_000 && checked.1 > 5_000, "{checked:?}");
}

/// A record parsed into again shows only the new line's values: a `-` does not let the
/// previous line's value through, and a malformed line leaves no line and no values.
#[test]
fn parse_from_replaces_what_the_record_held() {
    let layout = Layout::default_v2();
    let full = b"2 123456789012 eni-0a1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620140761 1620140821 ACCEPT OK";
    let dashes = b"2 123456789012 eni-0a1 - - - - - - - - - - NODATA";
    let mut rec = FlowRecord::blank(&layout);
    rec.parse_from(full).unwrap();
    assert_eq!(
        summary(&rec),
        summary(&FlowRecord::parse(&layout, full).unwrap())
    );
    assert_eq!(rec.srcport(), Some(443));
    rec.parse_from(dashes).unwrap();
    assert_eq!(
        summary(&rec),
        summary(&FlowRecord::parse(&layout, dashes).unwrap())
    );
    assert_eq!(
        (rec.srcaddr(), rec.srcport(), rec.action()),
        (None, None, None)
    );
    assert_eq!(rec.line(), std::str::from_utf8(dashes).unwrap());
    rec.parse_from(full).unwrap();
    let bad =
        b"2 123456789012 eni-0a1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1620140761 1620140821 ACCEPT";
    assert_eq!(
        rec.parse_from(bad).unwrap_err(),
        LineError::FieldCount {
            expected: 14,
            got: 13
        }
    );
    assert_eq!(
        (rec.line(), rec.srcport(), rec.log_status()),
        ("", None, None)
    );
    assert_eq!(
        rec.parse_from(b"2 \xff").unwrap_err(),
        LineError::NotUtf8 { offset: 2 }
    );
    assert_eq!((rec.line(), rec.version()), ("", None));
}

/// The shortcut is taken for exactly the layouts whose columns are the default format's, in
/// its order, however the layout was written.
#[test]
fn default_format_flag_is_the_column_list() {
    let v2 = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets \
              bytes start end action log-status";
    let header = Layout::from_header_line(v2.as_bytes()).unwrap();
    assert!(header.is_default_v2());
    let format: String = v2
        .split_whitespace()
        .map(|n| format!("${{{n}}} "))
        .collect();
    assert!(Layout::from_log_format(&format).unwrap().is_default_v2());
    for other in [
        // Two columns swapped, one missing, one more (known or unknown).
        v2.replace("srcport dstport", "dstport srcport"),
        v2.replace(" log-status", ""),
        format!("{v2} vpc-id"),
        format!("{v2} x-new-field"),
    ] {
        let layout = Layout::from_header_line(other.as_bytes()).unwrap();
        assert!(!layout.is_default_v2(), "{other}");
        assert_ne!(layout.slots(), DEFAULT_V2);
    }
}

/// The word-at-a-time number parser accepts exactly the unsigned decimals `u64::from_str`
/// accepts (no sign, at most 20 digits), whatever follows the token in the line.
#[test]
fn number_parser_agrees_with_std() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let alphabet = b"0123456789012345678901234567890123456789 x/";
    for round in 0..300_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 23) as usize;
        let mut s: Vec<u8> = (0..len)
            .map(|k| {
                alphabet[((x >> (k % 16 * 4)).wrapping_add(k as u64 * 7) % alphabet.len() as u64)
                    as usize]
            })
            .collect();
        if round % 3 == 0 {
            // Near the 20-digit limit and u64::MAX.
            let near = u128::from(u64::MAX) + 1 - u128::from(x % 1000) * (round % 2) as u128;
            s = format!("{}", near - u128::from(x % 500)).into_bytes();
        }
        let text = String::from_utf8(s.clone()).unwrap();
        // At most 20 digits (u64::MAX has 20), leading zeros included.
        let want = if text.starts_with('+') || s.len() > 20 {
            None
        } else {
            text.parse::<u64>().ok()
        };
        assert_eq!(parse_u64(&s), want, "{text:?}");
        // Inside a line, with bytes after it that look like digits.
        let line = [&b"7 "[..], &s, b" 99999999999999999"].concat();
        assert_eq!(
            parse_u64_at(&line, 2, 2 + s.len()),
            want,
            "{text:?} in a line"
        );
        // u16 and u8 fields take at most 5 and 3 digits (leading zeros included).
        assert_eq!(
            parse_u16_at(&line, 2, 2 + s.len()),
            want.filter(|_| s.len() <= 5)
                .and_then(|v| u16::try_from(v).ok()),
            "{text:?}"
        );
        assert_eq!(
            parse_u8_at(&line, 2, 2 + s.len()),
            want.filter(|_| s.len() <= 3)
                .and_then(|v| u8::try_from(v).ok()),
            "{text:?}"
        );
    }
}

/// Addresses inside a line are read with the bytes after them loaded too: they never count.
#[test]
fn ipv4_parser_ignores_what_follows_the_token() {
    for addr in [
        "1.2.3.4",
        "10.0.1.5",
        "255.255.255.255",
        "192.168.100.200",
        "1.2.3.04",
    ] {
        for tail in ["", " ", ".5", "9", " 1.2.3.4 and more bytes after it"] {
            let line = format!("{addr}{tail}");
            let want = addr.parse::<Ipv4Addr>().ok();
            assert_eq!(
                parse_ipv4_at(line.as_bytes(), 0, addr.len()),
                want,
                "{line:?}"
            );
            let line = format!("x {line}");
            assert_eq!(
                parse_ipv4_at(line.as_bytes(), 2, 2 + addr.len()),
                want,
                "{line:?}"
            );
        }
    }
}
