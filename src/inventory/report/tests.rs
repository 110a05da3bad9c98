//! The report of the moto capture's inventory (two accounts, two Regions, one AccessDenied).

use super::*;
use crate::config::config::InputSpec;
use crate::inventory::discover::tests::moto_inventory;

fn parse(text: &str) -> Config {
    Config::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"))
}

/// The section named `header` and its body, up to the next blank line.
fn section<'a>(text: &'a str, header: &str) -> &'a str {
    let at = text
        .find(&format!("[{header}]\n"))
        .unwrap_or_else(|| panic!("no [{header}] in\n{text}"));
    let rest = &text[at..];
    &rest[..rest.find("\n\n").unwrap_or(rest.len())]
}

fn vpc_by_name<'a>(inv: &'a Inventory, name: &str) -> &'a str {
    &inv.vpcs()
        .find(|(_, _, v)| v.name.as_deref() == Some(name))
        .unwrap()
        .2
        .id
}

#[test]
fn printed_sections_parse_and_propose_every_input_once() {
    let inv = moto_inventory();
    let text = config_sections(&inv, &Config::default(), None).unwrap();
    let cfg = parse(&text);

    // One exporter per VPC (3 + 1 in account A, 2 + 1 in B), unique addresses from the pool.
    assert_eq!(cfg.exporters.len(), 7, "{text}");
    let ips: HashSet<Ipv4Addr> = cfg.exporters.iter().map(|e| e.ip.unwrap()).collect();
    assert_eq!(ips.len(), 7);
    assert!(
        ips.iter().all(|ip| ip.octets()[..2] == [10, 255]),
        "{ips:?}"
    );
    // The ids and addresses are the agent's own: a table that sees the VPCs in the same order
    // with nothing configured assigns the same.
    let mut agent = DomainTable::new(&[], Some(DEFAULT_EXPORTER_POOL)).unwrap();
    for e in &cfg.exporters {
        let d = agent.resolve(Some(&e.vpc_id));
        assert_eq!(
            (Some(d.id.0), d.exporter_ipv4),
            (e.domain_id, e.ip),
            "{}",
            e.vpc_id
        );
    }
    assert!(
        text.contains("exporter_pool"),
        "the default pool is explained"
    );
    let prod = vpc_by_name(&inv, "prod");
    let s = section(&text, &format!("exporter {prod}"));
    assert!(
        text.contains("; 123456789012 us-east-1 prod, flow logs fl-"),
        "{text}"
    );
    assert!(
        s.starts_with(&format!("[exporter {prod}]\nip = 10.255.")),
        "{s}"
    );

    let kinds: Vec<(&InputKind, bool)> = cfg.inputs.iter().map(|i| (&i.kind, i.enabled)).collect();
    let stream = "arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow-stream";
    let group = |n: &str| format!("arn:aws:logs:us-east-1:{n}");
    assert_eq!(
        kinds,
        [
            (&InputKind::Kinesis { arn: stream.into() }, true),
            // Covered by the stream: not read twice.
            (
                &InputKind::CloudWatch {
                    arn: group("123456789012:log-group:/vpc/prod-flow-logs")
                },
                false
            ),
            (
                &InputKind::CloudWatch {
                    arn: group("123456789012:log-group:/vpc/shared-flow-logs")
                },
                true
            ),
            // Its subscriptions could not be read: enabled, with the reason.
            (
                &InputKind::CloudWatch {
                    arn: group("222222222222:log-group:/vpc/analytics")
                },
                true
            ),
            (
                &InputKind::S3 {
                    bucket: "flow-logs-a".into(),
                    queue_url:
                        "https://sqs.us-east-1.amazonaws.com/123456789012/flow-logs-a-events".into()
                },
                true
            ),
            (
                &InputKind::S3 {
                    bucket: "flow-logs-b".into(),
                    queue_url:
                        "https://sqs.eu-west-1.amazonaws.com/222222222222/flow-logs-b-events".into()
                },
                true
            ),
        ]
    );
    assert!(
        text.contains("; log group /vpc/prod-flow-logs is read through Kinesis stream vpc-flow-stream: not polled as well"),
        "{text}"
    );
    assert!(
        text.contains("subscription filters are unknown (AccessDenied, missing logs:DescribeSubscriptionFilters)"),
        "{text}"
    );
}

#[test]
fn output_appends_to_the_config_it_was_made_from() {
    let inv = moto_inventory();
    let prod = vpc_by_name(&inv, "prod").to_string();
    let original = format!(
        "[ipfix]\nexporter_pool = 192.0.2.0/24\n\n[exporter {prod}]\nip = 192.0.2.200\ndomain_id = 4242\n\n\
         [input kinesis:arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow-stream]\nenabled = true\n"
    );
    let cfg = parse(&original);
    let text = config_sections(&inv, &cfg, None).unwrap();
    assert!(
        text.contains(&format!(
            "; [exporter {prod}] (123456789012 us-east-1 prod, flow logs fl-"
        )),
        "{text}"
    );
    assert!(text.contains("is configured at line 4"), "{text}");
    assert!(
        text.contains(
            "vpc-flow-stream] (fed by log group /vpc/prod-flow-logs) is configured at line 8"
        ),
        "{text}"
    );
    assert!(!text.contains("exporter_pool"), "a pool is configured");
    let whole = parse(&format!("{original}\n{text}"));
    assert_eq!(whole.exporters.len(), 7);
    assert!(
        whole
            .exporters
            .iter()
            .all(|e| e.ip.unwrap().octets()[..3] == [192, 0, 2])
    );
    assert!(
        !whole.exporters[1..]
            .iter()
            .any(|e| e.domain_id == Some(4242) || e.ip == Some(Ipv4Addr::new(192, 0, 2, 200)))
    );
    let kinesis = whole
        .inputs
        .iter()
        .filter(|i| matches!(i.kind, InputKind::Kinesis { .. }))
        .count();
    assert_eq!(kinesis, 1);
    // The stream the config enables still covers its log group.
    let prod_group: &InputSpec = whole
        .inputs
        .iter()
        .find(|i| matches!(&i.kind, InputKind::CloudWatch { arn } if arn.ends_with("/vpc/prod-flow-logs")))
        .unwrap();
    assert!(!prod_group.enabled);
}

#[test]
fn persisted_assignments_are_proposed_as_they_are() {
    let inv = moto_inventory();
    let prod = vpc_by_name(&inv, "prod");
    let state = format!(
        r#"{{"version":1,"domains":[{{"vpc_id":"{prod}","domain_id":77,"exporter_ipv4":"10.255.9.9"}}]}}"#
    );
    let text = config_sections(&inv, &Config::default(), Some(state.as_bytes())).unwrap();
    assert_eq!(
        section(&text, &format!("exporter {prod}")),
        format!("[exporter {prod}]\nip = 10.255.9.9\ndomain_id = 77")
    );
    let err = config_sections(&inv, &Config::default(), Some(b"{")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot propose exporters: exporter state file is invalid"),
        "{err}"
    );
}

#[test]
fn the_table_shows_names_destinations_queues_and_the_denied_call() {
    let inv = moto_inventory();
    let t = table(&inv);
    let line = |needle: &str| {
        t.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in\n{t}"))
    };
    assert!(line("profile default").contains("arn:aws:iam::123456789012:user/discover"));
    assert!(line("profile default").contains("eu-west-1 us-east-1"));
    let prod = line(" prod ");
    assert!(
        prod.contains("10.0.0.0/16") && prod.contains("cwl /vpc/prod-flow-logs (ALL)"),
        "{prod}"
    );
    assert!(line(" shared ").contains("cwl /vpc/shared-flow-logs (REJECT)"));
    assert!(line("(default)").contains("172.31.0.0/16"));
    assert!(t.contains("s3 flow-logs-a (ALL)"), "{t}");
    assert!(
        line("/vpc/prod-flow-logs  ")
            .contains("-> arn:aws:kinesis:us-east-1:123456789012:stream/vpc-flow-stream")
    );
    assert!(
        line("/vpc/analytics  ")
            .contains("unknown (AccessDenied, missing logs:DescribeSubscriptionFilters)")
    );
    assert!(line("vpc-flow-stream  ").contains("ACTIVE"));
    let bucket = line("  flow-logs-b  ");
    assert!(
        bucket.contains("eu-west-1")
            && bucket
                .contains("https://sqs.eu-west-1.amazonaws.com/222222222222/flow-logs-b-events")
    );
    assert!(line("  flow-logs-a  ").contains("prefix AWSLogs/ suffix .log.gz"));
    let denied = line("  DescribeSubscriptionFilters  ");
    assert!(
        denied.contains("222222222222") && denied.ends_with("logs:DescribeSubscriptionFilters"),
        "{denied}"
    );
    // Columns line up: every row of the VPC table starts its VPC column at the same offset.
    let header = line("FLOW LOGS");
    let col = header.find("VPC").unwrap();
    for l in t.lines().filter(|l| l.contains(" vpc-")) {
        assert_eq!(l.find("vpc-"), Some(col), "{l}");
    }
}

#[test]
fn which_notifications_carry_flow_logs() {
    let q = |events: &[&str], prefix: Option<&str>, suffix: Option<&str>| BucketQueue {
        queue_arn: "arn:aws:sqs:us-east-1:1:q".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        prefix: prefix.map(str::to_string),
        suffix: suffix.map(str::to_string),
        ..Default::default()
    };
    let created = ["s3:ObjectCreated:*"];
    let root = vec![String::new()];
    let logs = vec!["logs/vpc".to_string()];
    let cases = [
        (q(&created, None, None), &root, true),
        (
            q(&["s3:ObjectCreated:Put"], Some("AWSLogs/"), Some(".gz")),
            &root,
            true,
        ),
        (
            q(&created, Some("AWSLogs/123456789012/vpcflowlogs/"), None),
            &root,
            true,
        ),
        (q(&created, Some("AWSLogs/"), None), &logs, false),
        (q(&created, Some("logs/"), None), &logs, true),
        (
            q(&created, Some("logs/vpc/AWSLogs/1/"), Some("parquet")),
            &logs,
            true,
        ),
        (q(&created, None, Some(".json")), &root, false),
        (q(&["s3:ObjectRemoved:*"], None, None), &root, false),
    ];
    for (queue, prefixes, want) in cases {
        assert_eq!(
            notifies_flow_logs(&queue, prefixes),
            want,
            "{queue:?} {prefixes:?}"
        );
    }
}

#[test]
fn an_account_reached_twice_and_a_bucket_with_another_queue_are_not_proposed_twice() {
    let mut inv = moto_inventory();
    let again = inv.accounts[0].clone();
    inv.accounts.push(again);
    let cfg = parse(
        "[input s3:arn:aws:s3:::flow-logs-a]\nqueue = https://sqs.us-east-1.amazonaws.com/123456789012/other\n",
    );
    let text = config_sections(&inv, &cfg, None).unwrap();
    assert!(
        text.contains("; [input s3:arn:aws:s3:::flow-logs-a] is configured at line 1"),
        "{text}"
    );
    let whole = parse(&format!(
        "[input s3:arn:aws:s3:::flow-logs-a]\nqueue = https://sqs.us-east-1.amazonaws.com/123456789012/other\n{text}"
    ));
    assert_eq!(whole.exporters.len(), 7);
    assert_eq!(
        whole.inputs.len(),
        6,
        "1 configured + 1 stream + 3 groups + 1 bucket"
    );
}
