//! Enrichment of flow records against the moto capture's inventory (two accounts: a `prod` VPC
//! with public and private subnets, NAT gateway, S3 gateway endpoint, SQS interface endpoint,
//! peering with `shared`, a transit gateway; `analytics` in the other account with only local
//! routes) and the ip-ranges sample. The records use the two layouts of that inventory's flow
//! logs: the custom v5 format of `prod`'s and the v2 default of `shared`'s.

use super::*;
use crate::flowlog::{Layout, parse_line};
use crate::inventory::discover::tests::moto_inventory;
use crate::inventory::model::RegionInventory;

const IP_RANGES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/ip-ranges/ip-ranges.sample.json"
));

struct World {
    tables: EnrichTables,
    ranges: IpRanges,
    v2: Layout,
    v5: Layout,
    inv: Inventory,
}

fn world() -> World {
    let inv = moto_inventory();
    let r = us_east_1(&inv, 0);
    let format = |group: &str| {
        r.flow_logs
            .iter()
            .find(|f| f.log_group_name.as_deref() == Some(group))
            .and_then(|f| f.log_format.clone())
            .unwrap()
    };
    World {
        tables: EnrichTables::from_inventory(&inv),
        ranges: IpRanges::parse(IP_RANGES).unwrap(),
        v2: Layout::from_log_format(&format("/vpc/shared-flow-logs")).unwrap(),
        v5: Layout::from_log_format(&format("/vpc/prod-flow-logs")).unwrap(),
        inv,
    }
}

fn us_east_1(inv: &Inventory, account: usize) -> &RegionInventory {
    inv.accounts[account]
        .regions
        .iter()
        .find(|r| r.region == "us-east-1")
        .unwrap()
}

impl World {
    /// The primary ENI of the instance with this Name tag.
    fn eni_of(&self, account: usize, name: &str) -> String {
        let r = us_east_1(&self.inv, account);
        r.instances
            .iter()
            .find(|i| i.name.as_deref() == Some(name))
            .unwrap()
            .network_interface_ids[0]
            .clone()
    }

    fn region(&self) -> &RegionInventory {
        us_east_1(&self.inv, 0)
    }

    /// Path kind of a v2 (no direction, no traffic-path) record `src → dst` at `eni`.
    fn v2(&self, eni: &str, src: &str, dst: &str) -> Enrichment<'_> {
        let line = format!(
            "2 123456789012 {eni} {src} {dst} 49152 443 6 10 840 1768478340 1768478399 ACCEPT OK"
        );
        let rec = parse_line(&self.v2, line.as_bytes()).unwrap();
        self.tables.enrich(&rec, Some(&self.ranges))
    }

    fn v2_path(&self, eni: &str, src: &str, dst: &str) -> &'static str {
        let e = self.v2(eni, src, dst);
        PathKind::ALL
            .into_iter()
            .find(|k| Some(k.as_str()) == e.path_kind)
            .unwrap()
            .as_str()
    }

    /// Path kind of an egress v5 record at `eni` with a `traffic-path` (`-` for none).
    fn v5_path(&self, eni: &str, src: &str, dst: &str, path: &str) -> Option<&str> {
        let line = format!(
            "5 - - - {eni} 123456789012 IPv4 {src} {dst} 49152 443 {src} {dst} 6 840 10 1768478340 1768478399 ACCEPT 2 OK us-east-1 use1-az6 egress {path}"
        );
        let rec = parse_line(&self.v5, line.as_bytes()).unwrap();
        self.tables.enrich(&rec, Some(&self.ranges)).path_kind
    }
}

impl PathKind {
    const ALL: [PathKind; 9] = [
        PathKind::Local,
        PathKind::NatGateway,
        PathKind::VpcEndpoint,
        PathKind::Peering,
        PathKind::TransitGateway,
        PathKind::InternetGateway,
        PathKind::VirtualPrivateGateway,
        PathKind::LocalGateway,
        PathKind::Unknown,
    ];
}

const INTERNET: &str = "198.51.100.7";
const S3_USE1: &str = "3.5.0.10";

#[test]
fn names_and_fallback_ids_of_an_instance_eni() {
    let w = world();
    let eni = w.eni_of(0, "web-1");
    let e = w.v2(&eni, "10.0.1.10", "10.0.0.10");
    let r = w.region();
    let web1 = r
        .instances
        .iter()
        .find(|i| i.name.as_deref() == Some("web-1"))
        .unwrap();
    let prod = r
        .vpcs
        .iter()
        .find(|v| v.name.as_deref() == Some("prod"))
        .unwrap();
    assert_eq!(e.instance_name, Some("web-1"));
    assert_eq!(
        (e.vpc_name, e.subnet_name),
        (Some("prod"), Some("prod-private-a"))
    );
    assert_eq!(e.instance_id, Some(web1.id.as_str()));
    assert_eq!(e.vpc_id, Some(prod.id.as_str()));
    assert_eq!(e.subnet_id, web1.subnet_id.as_deref());
    assert_eq!((e.az_id, e.region), (Some("use1-az6"), Some("us-east-1")));
    assert_eq!(e.account_id, Some("123456789012"));
    assert_eq!(
        (e.path_kind, e.remote_aws_service, e.exporter_ipv4),
        (Some("local"), None, None)
    );
    let info = w.tables.eni(&eni).unwrap();
    assert_eq!(
        (info.interface_type, info.az),
        (Some("interface"), Some("us-east-1a"))
    );
    assert_eq!(w.tables.vpc_name(&prod.id), Some("prod"));
    assert!(
        w.tables
            .vpc_names()
            .any(|(id, n)| id == prod.id && n == Some("prod"))
    );
    // Account B's instance: its own account and names.
    let etl = w.v2(&w.eni_of(1, "etl-1"), "10.20.0.5", INTERNET);
    assert_eq!(
        (etl.instance_name, etl.vpc_name, etl.account_id),
        (Some("etl-1"), Some("analytics"), Some("222222222222"))
    );
}

#[test]
fn one_case_per_path_kind() {
    let w = world();
    let r = w.region();
    let web1 = w.eni_of(0, "web-1");
    let bastion = w.eni_of(0, "bastion");
    let nat = &r.nat_gateways[0];
    let sqs = r
        .vpc_endpoints
        .iter()
        .find(|e| e.endpoint_type.as_deref() == Some("Interface"))
        .unwrap();
    let sqs_ip = &r
        .network_interfaces
        .iter()
        .find(|n| n.id == sqs.network_interface_ids[0])
        .unwrap()
        .private_ips[0];

    // local: both ends in the VPC.
    assert_eq!(w.v2_path(&web1, "10.0.1.10", "10.0.0.10"), "local");
    // nat-gateway: by route (0/0 → nat-) either way round, at the NAT gateway's own ENI, and to
    // its private address.
    assert_eq!(w.v2_path(&web1, "10.0.1.10", INTERNET), "nat-gateway");
    assert_eq!(w.v2_path(&web1, INTERNET, "10.0.1.10"), "nat-gateway");
    assert_eq!(
        w.v2_path(&nat.network_interface_ids[0], "10.0.1.10", INTERNET),
        "nat-gateway"
    );
    assert_eq!(
        w.v2_path(&web1, "10.0.1.10", &nat.private_ips[0]),
        "nat-gateway"
    );
    // vpc-endpoint: the interface endpoint's ENI, its address, and S3 through the gateway
    // endpoint of the private route table.
    assert_eq!(
        w.v2_path(&sqs.network_interface_ids[0], sqs_ip, "10.0.1.10"),
        "vpc-endpoint"
    );
    assert_eq!(w.v2_path(&web1, "10.0.1.10", sqs_ip), "vpc-endpoint");
    let to_s3 = w.v2(&web1, "10.0.1.10", S3_USE1);
    assert_eq!(
        (to_s3.path_kind, to_s3.remote_aws_service),
        (Some("vpc-endpoint"), Some("S3"))
    );
    // peering: routed to pcx- from the private subnet; from the public one (no such route) the
    // peer's CIDR still says so.
    assert_eq!(w.v2_path(&web1, "10.0.1.10", "10.1.0.20"), "peering");
    assert_eq!(w.v2_path(&bastion, "10.0.0.10", "10.1.0.20"), "peering");
    // transit-gateway: 172.16/12 → tgw-.
    assert_eq!(
        w.v2_path(&web1, "10.0.1.10", "172.16.5.5"),
        "transit-gateway"
    );
    // internet-gateway: the public subnet's 0/0 → igw-, also for S3 (no endpoint route there).
    assert_eq!(
        w.v2_path(&bastion, "10.0.0.10", INTERNET),
        "internet-gateway"
    );
    let s3_via_igw = w.v2(&bastion, "10.0.0.10", S3_USE1);
    assert_eq!(
        (s3_via_igw.path_kind, s3_via_igw.remote_aws_service),
        (Some("internet-gateway"), Some("S3"))
    );
    // A private address no route covers is not sent to the internet gateway.
    assert_eq!(w.v2_path(&bastion, "10.0.0.10", "192.168.1.1"), "unknown");
    // unknown: analytics only routes locally; an ENI the inventory does not know.
    assert_eq!(
        w.v2_path(&w.eni_of(1, "etl-1"), "10.20.0.5", INTERNET),
        "unknown"
    );
    let stranger = w.v2("eni-0000000000000000f", "10.9.9.9", INTERNET);
    assert_eq!(
        (
            stranger.path_kind,
            stranger.vpc_name,
            stranger.instance_name
        ),
        (Some("unknown"), None, None)
    );
    assert_eq!(stranger.remote_aws_service, None);
}

#[test]
fn traffic_path_of_the_record_comes_first() {
    let w = world();
    let web1 = w.eni_of(0, "web-1");
    let p = |dst: &str, path: &str| w.v5_path(&web1, "10.0.1.10", dst, path);
    // The inventory alone says nat-gateway; the record knows better.
    assert_eq!(p(INTERNET, "-"), Some("nat-gateway"));
    assert_eq!(p(INTERNET, "8"), Some("internet-gateway"));
    assert_eq!(p(INTERNET, "2"), Some("internet-gateway"));
    assert_eq!(
        p(S3_USE1, "2"),
        Some("vpc-endpoint"),
        "gateway endpoint of the subnet"
    );
    assert_eq!(p(S3_USE1, "7"), Some("vpc-endpoint"));
    assert_eq!(p("10.1.0.20", "4"), Some("peering"));
    assert_eq!(p("10.1.0.20", "5"), Some("peering"));
    assert_eq!(p(INTERNET, "3"), Some("virtual-private-gateway"));
    assert_eq!(p(INTERNET, "6"), Some("local-gateway"));
    // 1, "same VPC", includes the NAT gateway and endpoints: the inventory refines it.
    assert_eq!(p(INTERNET, "1"), Some("nat-gateway"));
    assert_eq!(p("172.16.5.5", "1"), Some("transit-gateway"));
    assert_eq!(p("10.0.0.10", "1"), Some("local"));
    assert_eq!(
        p("10.1.0.20", "1"),
        Some("local"),
        "AWS says same VPC: trusted"
    );
}

#[test]
fn an_unknown_eni_still_gets_its_vpc_name_from_the_record() {
    let w = world();
    let r = w.region();
    let prod = r
        .vpcs
        .iter()
        .find(|v| v.name.as_deref() == Some("prod"))
        .unwrap();
    let subnet = r
        .subnets
        .iter()
        .find(|s| s.name.as_deref() == Some("prod-private-a"))
        .unwrap();
    let line = format!(
        "5 {} {} - eni-0000000000000000f 123456789012 IPv4 10.0.1.99 {INTERNET} 1 2 10.0.1.99 {INTERNET} 6 1 1 1 2 ACCEPT 2 OK us-east-1 use1-az6 egress -",
        prod.id, subnet.id
    );
    let rec = parse_line(&w.v5, line.as_bytes()).unwrap();
    let e = w.tables.enrich(&rec, None);
    assert_eq!(
        (e.vpc_name, e.subnet_name),
        (Some("prod"), Some("prod-private-a"))
    );
    assert_eq!(
        e.path_kind,
        Some("nat-gateway"),
        "the record's subnet routes 0/0 to the NAT gateway"
    );
    assert_eq!(
        (e.vpc_id, e.instance_id, e.remote_aws_service),
        (None, None, None),
        "the line has them / no ranges"
    );
}

#[test]
fn prefix_table_longest_match() {
    let t = PrefixTable::build([
        ("0.0.0.0/0", 0),
        ("10.0.0.0/8", 1),
        ("10.1.0.0/16", 2),
        ("10.1.2.0/24", 3),
        ("10.3.0.0/16", 4),
        ("not a cidr", 9),
        ("10.0.0.0/33", 9),
        ("2001:db8::/32", 5),
        ("2001:db8:1::/48", 6),
    ]);
    let at = |a: &str| t.lookup(a.parse().unwrap()).copied();
    assert_eq!(at("10.1.2.3"), Some(3));
    assert_eq!(
        at("10.1.3.0"),
        Some(2),
        "after the /24 ends, its /16 resumes"
    );
    assert_eq!(at("10.2.0.1"), Some(1));
    assert_eq!(at("10.3.255.255"), Some(4));
    assert_eq!(at("10.4.0.0"), Some(1));
    assert_eq!(at("11.0.0.0"), Some(0));
    assert_eq!(at("0.0.0.0"), Some(0));
    assert_eq!(at("2001:db8:1::5"), Some(6));
    assert_eq!(at("2001:db8:2::5"), Some(5));
    assert_eq!(at("2001:db9::"), None, "no IPv6 default route");
    let empty: PrefixTable<u8> = PrefixTable::build([]);
    assert_eq!(empty.lookup("1.2.3.4".parse().unwrap()), None);
    assert_eq!(
        parse_cidr("10.1.2.3/16"),
        Some((false, 0x0a01_0000, 0x0a01_ffff)),
        "host bits cleared"
    );
    assert_eq!(parse_cidr("::/0"), Some((true, 0, u128::MAX)));
}

#[test]
fn route_targets_and_public_addresses() {
    let kinds: Vec<Option<PathKind>> = [
        "local", "igw-1", "eigw-1", "nat-1", "tgw-1", "pcx-1", "vpce-1", "vgw-1", "lgw-1", "eni-1",
        "i-1", "",
    ]
    .iter()
    .map(|t| PathKind::of_target(t))
    .collect();
    use PathKind::*;
    assert_eq!(
        kinds,
        [
            Some(Local),
            Some(InternetGateway),
            Some(InternetGateway),
            Some(NatGateway),
            Some(TransitGateway),
            Some(Peering),
            Some(VpcEndpoint),
            Some(VirtualPrivateGateway),
            Some(LocalGateway),
            None,
            None,
            None
        ]
    );
    for (a, public) in [
        ("198.51.100.7", true),
        ("3.5.0.10", true),
        ("10.1.0.1", false),
        ("172.16.0.1", false),
        ("192.168.0.1", false),
        ("100.64.0.1", false),
        ("169.254.169.254", false),
        ("2600:1f18::1", true),
        ("fd00::1", false),
        ("fe80::1", false),
    ] {
        assert_eq!(is_public(a.parse().unwrap()), public, "{a}");
    }
}

#[test]
fn enrichment_for_prefers_the_inventory_and_falls_back_on_the_input() {
    let w = world();
    let given = Enrichment {
        vpc_name: Some("from the input"),
        vpc_id: Some("vpc-0given"),
        region: Some("eu-west-1"),
        account_id: Some("999999999999"),
        exporter_ipv4: Some(std::net::Ipv4Addr::new(10, 255, 0, 9)),
        ..Enrichment::default()
    };
    let v2 = |eni: &str, dst: &str| {
        format!(
            "2 123456789012 {eni} 10.0.1.10 {dst} 49152 443 6 10 840 1768478340 1768478399 ACCEPT OK"
        )
    };
    // A known ENI: every name and id from the inventory; the domain's address stays.
    let line = v2(&w.eni_of(0, "web-1"), "10.0.0.10");
    let rec = parse_line(&w.v2, line.as_bytes()).unwrap();
    let e = enrichment_for(&w.tables, Some(&w.ranges), &rec, &given);
    assert_eq!(e, {
        let mut inv = w.tables.enrich(&rec, Some(&w.ranges));
        inv.exporter_ipv4 = given.exporter_ipv4;
        inv
    });
    assert_eq!((e.vpc_name, e.region), (Some("prod"), Some("us-east-1")));
    // An ENI the inventory does not know: the input's fallbacks.
    let line = v2("eni-0000000000000000f", INTERNET);
    let rec = parse_line(&w.v2, line.as_bytes()).unwrap();
    let e = enrichment_for(&w.tables, Some(&w.ranges), &rec, &given);
    assert_eq!(
        (e.vpc_name, e.vpc_id, e.region, e.account_id),
        (
            Some("from the input"),
            Some("vpc-0given"),
            Some("eu-west-1"),
            Some("999999999999")
        )
    );
    assert_eq!(e.instance_name, None);
    // No inventory yet: the input's values, and the remote side's service when the record
    // says which side is remote.
    let empty = EnrichTables::default();
    let line = format!(
        "5 - - - eni-0000000000000000f 123456789012 IPv4 10.0.1.99 {S3_USE1} 1 2 10.0.1.99 {S3_USE1} 6 1 1 1 2 ACCEPT 2 OK us-east-1 use1-az6 egress -"
    );
    let rec = parse_line(&w.v5, line.as_bytes()).unwrap();
    let e = enrichment_for(&empty, Some(&w.ranges), &rec, &given);
    assert_eq!(e.remote_aws_service, Some("S3"));
    assert_eq!(e.remote_aws_region, Some("us-east-1"));
    assert_eq!(e.path_kind, None, "no path claimed without an inventory");
    assert_eq!(e.availability_zone, None);
    assert_eq!(
        (e.vpc_name, e.region),
        (Some("from the input"), Some("eu-west-1"))
    );
}
