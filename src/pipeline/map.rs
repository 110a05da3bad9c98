//! One parsed flow-log record (+ what the inventory knows about it) → one [`ExportRecord`].
//!
//! This is the per-record hot path between the line parser and the IPFIX writer: it copies
//! values the parser already typed and borrows every string from the line or the inventory —
//! no allocation, no re-parsing (a token of the line is looked up by its column, never scanned
//! again). The mapping is design.md "IPFIX" and spec.md §F.7:
//!
//! | flow log | `ExportRecord` (IPFIX element) |
//! |---|---|
//! | `pkt-srcaddr`/`pkt-dstaddr`, else `srcaddr`/`dstaddr` | `src_addr`/`dst_addr` (8/12 or 27/28) |
//! | `srcaddr`/`dstaddr` when they differ from the packet ones | `eni_src_addr`/`eni_dst_addr` (PEN) |
//! | `srcport` `dstport` `protocol` `tcp-flags` `packets` `bytes` | 7 11 4 6 2 1 |
//! | `start`/`end` × 1000 | 152/153 |
//! | `flow-direction` | 61 (ingress 0, egress 1) |
//! | `action` | 89 (ACCEPT 64, REJECT 129) |
//! | `type`, else the address family | 60 |
//! | `interface-id` | 82, and its synthetic ifIndex in 10 (ingress) or 14 (egress) |
//! | every other field of the layout | the `ExportRecord` member of the same name (PEN) |
//!
//! Template economy (see `ipfix::record`): which members are `Some` picks the template, so a
//! string field the layout has but a line leaves `-` is sent as `Some("")`, and the two small
//! codes whose `-` is routine (`traffic-path` on every ingress record) use the sentinels of
//! spec.md §F.7 ([`TRAFFIC_PATH_NONE`], [`ENCRYPTION_STATUS_UNKNOWN`]). Other numbers that are
//! `-` are `None`: a port or a counter of 0 would be a lie. The ENI-level addresses are only
//! present when they differ, so a NAT-gateway or EKS ENI uses one more template per family.
//!
//! Not mapped: `version` (spec.md §F.7), `log-status` (only `OK` records are flows:
//! [`export_record`] returns `None` for `NODATA`/`SKIPDATA`, which the caller counts), and
//! columns this build does not know (there is no element for them).

use std::net::{IpAddr, Ipv4Addr};

use crate::flowlog::{Action, DefaultV2Flow, Field, FlowDirection, FlowRecord, IpType};
use crate::ipfix::record::{
    DIRECTION_EGRESS, DIRECTION_INGRESS, FORWARDING_ACCEPT, FORWARDING_REJECT, synthetic_if_index,
};
use crate::ipfix::{BasicRecord, ExportRecord};

/// trafficPath sent for a `traffic-path` of `-` (every ingress record, spec.md §A.3): 0 is not a
/// path code (they are 1–8), spec.md §F.7 "0 = `-`".
pub const TRAFFIC_PATH_NONE: u8 = 0;
/// encryptionStatus sent for an `encryption-status` of `-` (Encryption Controls off): the codes
/// are 0–3, spec.md §F.7 "255 = `-`".
pub const ENCRYPTION_STATUS_UNKNOWN: u8 = 255;

/// What the inventory (and the domain table) add to a record. Everything is optional: a record
/// of an ENI the inventory does not know yet is exported with what its line says.
///
/// The `*_id`, `region` and `account_id` members are fallbacks: they are used only when the
/// record's layout lacks the field or the line has `-` there (the v2 default format has no
/// VPC, subnet, instance, region or AZ; the inventory knows them from the ENI id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enrichment<'a> {
    /// The instance's `Name` tag.
    pub instance_name: Option<&'a str>,
    /// The VPC's `Name` tag.
    pub vpc_name: Option<&'a str>,
    /// The subnet's `Name` tag.
    pub subnet_name: Option<&'a str>,
    /// ip-ranges.json service of the remote address (the one that is not the ENI's).
    pub remote_aws_service: Option<&'a str>,
    /// How the flow leaves or enters the VPC: nat-gateway, vpc-endpoint, peering, …
    pub path_kind: Option<&'a str>,
    /// The ENI's Availability Zone name (`us-east-1a`; the line only ever has the AZ id).
    pub availability_zone: Option<&'a str>,
    /// ip-ranges.json Region of the remote address (with `remote_aws_service`).
    pub remote_aws_region: Option<&'a str>,
    /// Fallback for `vpc-id`.
    pub vpc_id: Option<&'a str>,
    /// Fallback for `subnet-id`.
    pub subnet_id: Option<&'a str>,
    /// Fallback for `instance-id`.
    pub instance_id: Option<&'a str>,
    /// Fallback for `az-id`.
    pub az_id: Option<&'a str>,
    /// Fallback for `region`.
    pub region: Option<&'a str>,
    /// Fallback for `account-id`: the ENI owner's account (not the log owner: a CloudWatch
    /// Logs `owner` or an S3 key's account is the account that *holds* the log).
    pub account_id: Option<&'a str>,
    /// exporterIPv4Address (IE 130) of the record's observation domain, if it has one.
    pub exporter_ipv4: Option<Ipv4Addr>,
}

/// Maps one record. `None` for records that are not flows (`log-status` `NODATA` or
/// `SKIPDATA`, spec.md §A.2): the caller counts them (`ParseStats` does) and exports nothing.
///
/// Interfaces: the ENI's [`synthetic_if_index`] goes in `ingress_interface` on ingress records
/// and in `egress_interface` on egress records, the other side 0 (spec.md §F.7). When the
/// direction is unknown — the v2 default format has no `flow-direction`, and a line may have
/// `-` — it goes in `ingress_interface` with `egress_interface` 0: the record was captured *at*
/// that ENI either way, a collector's per-interface view keyed on the input interface still
/// shows every flow of the ENI under it, and the interface-name options records name the
/// ifIndex with ingressInterface as their scope.
/// Guessing the direction from addresses would need the ENI's own address, which only the
/// inventory knows; the `flow_direction` element stays absent so nothing is claimed.
pub fn export_record<'a>(
    rec: &FlowRecord<'a>,
    enrich: &Enrichment<'a>,
) -> Option<ExportRecord<'a>> {
    if !rec.is_flow() {
        return None;
    }
    let eni_src = rec.srcaddr();
    let eni_dst = rec.dstaddr();
    let src_addr = rec.pkt_srcaddr().or(eni_src);
    let dst_addr = rec.pkt_dstaddr().or(eni_dst);

    let ip_version = match rec.ip_type() {
        Some(IpType::Ipv4) => Some(4),
        Some(IpType::Ipv6) => Some(6),
        // EFA OS-bypass traffic (SRD) is not IP: claim no version; the addresses AWS logged
        // are still sent, as the only key a collector has for the flow.
        Some(IpType::Efa) => None,
        None => family(src_addr.or(dst_addr)),
    };

    let flow_direction = rec.flow_direction().map(|d| match d {
        FlowDirection::Ingress => DIRECTION_INGRESS,
        FlowDirection::Egress => DIRECTION_EGRESS,
    });
    let interface_name = text(rec, Field::InterfaceId);
    let (ingress_interface, egress_interface) = match interface_name {
        None => (None, None),
        Some(eni) => {
            let index = if eni.is_empty() {
                0
            } else {
                synthetic_if_index(eni)
            };
            match rec.flow_direction() {
                Some(FlowDirection::Egress) => (Some(0), Some(index)),
                Some(FlowDirection::Ingress) | None => (Some(index), Some(0)),
            }
        }
    };

    Some(ExportRecord {
        src_addr,
        dst_addr,
        eni_src_addr: differing(eni_src, src_addr),
        eni_dst_addr: differing(eni_dst, dst_addr),
        src_port: rec.srcport(),
        dst_port: rec.dstport(),
        protocol: rec.protocol(),
        tcp_flags: rec.tcp_flags(),
        packets: rec.packets(),
        bytes: rec.bytes(),
        start_ms: rec.start().and_then(|s| s.checked_mul(1000)),
        end_ms: rec.end().and_then(|s| s.checked_mul(1000)),
        flow_direction,
        forwarding_status: rec.action().map(|a| match a {
            Action::Accept => FORWARDING_ACCEPT,
            Action::Reject => FORWARDING_REJECT,
        }),
        ip_version,
        ingress_interface,
        egress_interface,
        interface_name,
        exporter_ipv4: enrich.exporter_ipv4,
        account_id: with_fallback(rec, Field::AccountId, enrich.account_id),
        vpc_id: with_fallback(rec, Field::VpcId, enrich.vpc_id),
        subnet_id: with_fallback(rec, Field::SubnetId, enrich.subnet_id),
        instance_id: with_fallback(rec, Field::InstanceId, enrich.instance_id),
        region: with_fallback(rec, Field::Region, enrich.region),
        az_id: with_fallback(rec, Field::AzId, enrich.az_id),
        sublocation_type: text(rec, Field::SublocationType),
        sublocation_id: text(rec, Field::SublocationId),
        pkt_src_aws_service: text(rec, Field::PktSrcAwsService),
        pkt_dst_aws_service: text(rec, Field::PktDstAwsService),
        reject_reason: text(rec, Field::RejectReason),
        traffic_path: code(
            rec,
            Field::TrafficPath,
            rec.traffic_path(),
            TRAFFIC_PATH_NONE,
        ),
        encryption_status: code(
            rec,
            Field::EncryptionStatus,
            rec.encryption_status(),
            ENCRYPTION_STATUS_UNKNOWN,
        ),
        ecs_cluster_arn: text(rec, Field::EcsClusterArn),
        ecs_cluster_name: text(rec, Field::EcsClusterName),
        ecs_container_instance_arn: text(rec, Field::EcsContainerInstanceArn),
        ecs_container_instance_id: text(rec, Field::EcsContainerInstanceId),
        ecs_container_id: text(rec, Field::EcsContainerId),
        ecs_second_container_id: text(rec, Field::EcsSecondContainerId),
        ecs_service_name: text(rec, Field::EcsServiceName),
        ecs_task_definition_arn: text(rec, Field::EcsTaskDefinitionArn),
        ecs_task_arn: text(rec, Field::EcsTaskArn),
        ecs_task_id: text(rec, Field::EcsTaskId),
        resource_id: text(rec, Field::ResourceId),
        instance_tag: text(rec, Field::InstanceTag),
        instance_tag_2: text(rec, Field::InstanceTag2),
        interface_tag: text(rec, Field::InterfaceTag),
        interface_tag_2: text(rec, Field::InterfaceTag2),
        asg_tag: text(rec, Field::AsgTag),
        asg_tag_2: text(rec, Field::AsgTag2),
        interface_type: text(rec, Field::InterfaceType),
        next_hop_interface_id: text(rec, Field::NextHopInterfaceId),
        next_hop_subnet_id: text(rec, Field::NextHopSubnetId),
        next_hop_az_id: text(rec, Field::NextHopAzId),
        next_hop_vpc_id: text(rec, Field::NextHopVpcId),
        next_hop_interface_type: text(rec, Field::NextHopInterfaceType),
        instance_name: enrich.instance_name,
        vpc_name: enrich.vpc_name,
        subnet_name: enrich.subnet_name,
        remote_aws_service: enrich.remote_aws_service,
        path_kind: enrich.path_kind,
        availability_zone: enrich.availability_zone,
        remote_aws_region: enrich.remote_aws_region,
    })
}

/// The direct path's mapping (`Pipeline::handle_line`): a default-format `OK` IPv4 flow with
/// nothing to enrich it, mapped as [`export_record`] maps the same line — addresses, ports,
/// protocol, counters, times in ms, forwardingStatus, ipVersion 4, the ENI in interfaceName
/// and its ifIndex (`synthetic_if_index` of the ENI id, which the caller memoizes) in
/// ingressInterface (no `flow-direction`: see [`export_record`]), the account, and the
/// domain's exporter address.
#[inline]
pub fn basic_record<'a>(
    flow: &DefaultV2Flow<'a>,
    if_index: u32,
    exporter_ipv4: Option<Ipv4Addr>,
) -> BasicRecord<'a> {
    BasicRecord {
        src_addr: flow.srcaddr,
        dst_addr: flow.dstaddr,
        src_port: flow.srcport,
        dst_port: flow.dstport,
        protocol: flow.protocol,
        packets: flow.packets,
        bytes: flow.bytes,
        // `parse_default_v2_flow` takes only seconds whose milliseconds fit.
        start_ms: flow.start.saturating_mul(1000),
        end_ms: flow.end.saturating_mul(1000),
        forwarding_status: match flow.action {
            Action::Accept => FORWARDING_ACCEPT,
            Action::Reject => FORWARDING_REJECT,
        },
        interface_name: flow.interface_id,
        if_index,
        account_id: flow.account_id,
        exporter_ipv4,
    }
}

/// A string field: `None` when the layout lacks it, `Some("")` for `-`, else the token.
#[inline]
fn text<'a>(rec: &FlowRecord<'a>, field: Field) -> Option<&'a str> {
    rec.get_str(field).map(|t| if t == "-" { "" } else { t })
}

/// A string field the inventory may supply: the line's value, else the fallback, else `""` if
/// the layout has the field (so, for a field the layout has, the template does not depend on
/// whether the inventory knows the ENI), else absent.
#[inline]
fn with_fallback<'a>(
    rec: &FlowRecord<'a>,
    field: Field,
    fallback: Option<&'a str>,
) -> Option<&'a str> {
    match rec.get_str(field) {
        Some(t) if t != "-" => Some(t),
        Some(_) => Some(fallback.unwrap_or("")),
        None => fallback,
    }
}

/// A small code whose `-` has a sentinel: present whenever the layout has the field.
#[inline]
fn code(rec: &FlowRecord<'_>, field: Field, value: Option<u8>, none: u8) -> Option<u8> {
    match value {
        Some(v) => Some(v),
        None if rec.layout().contains(field) => Some(none),
        None => None,
    }
}

#[inline]
fn differing(eni: Option<IpAddr>, packet: Option<IpAddr>) -> Option<IpAddr> {
    eni.filter(|a| Some(*a) != packet)
}

#[inline]
fn family(addr: Option<IpAddr>) -> Option<u8> {
    match addr? {
        IpAddr::V4(_) => Some(4),
        IpAddr::V6(_) => Some(6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::{Layout, parse_line};
    use crate::ipfix::record::synthetic_if_index;

    macro_rules! fixture {
        ($name:literal) => {
            (
                $name,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/flowlogs/",
                    $name
                )) as &[u8],
            )
        };
    }

    /// Every `.log` fixture: header line + records.
    const FILES: [(&str, &[u8]); 13] = [
        fixture!("aws-doc-custom-v3-nat-gateway.log"),
        fixture!("aws-doc-custom-v3-tcp-flags.log"),
        fixture!("aws-doc-custom-v3-transit-gateway.log"),
        fixture!("aws-doc-custom-v5-traffic-path.log"),
        fixture!("aws-doc-default-v2.log"),
        fixture!("custom-unknown-field.log"),
        fixture!("custom-v11-all-fields.log"),
        fixture!("custom-v4-sublocation.log"),
        fixture!("custom-v5.log"),
        fixture!("custom-v7-ecs-fargate.log"),
        fixture!("custom-v8-reject-reason.log"),
        fixture!("default-v2-crlf.log"),
        fixture!("default-v2.log"),
    ];

    /// The `ExportRecord` member a string column lands in, written out by hand from the
    /// AWS field names (spec.md §A.2) and the member docs of `ipfix::record`.
    fn string_member<'a>(r: &ExportRecord<'a>, name: &str) -> Option<Option<&'a str>> {
        Some(match name {
            "account-id" => r.account_id,
            "interface-id" => r.interface_name,
            "vpc-id" => r.vpc_id,
            "subnet-id" => r.subnet_id,
            "instance-id" => r.instance_id,
            "region" => r.region,
            "az-id" => r.az_id,
            "sublocation-type" => r.sublocation_type,
            "sublocation-id" => r.sublocation_id,
            "pkt-src-aws-service" => r.pkt_src_aws_service,
            "pkt-dst-aws-service" => r.pkt_dst_aws_service,
            "ecs-cluster-arn" => r.ecs_cluster_arn,
            "ecs-cluster-name" => r.ecs_cluster_name,
            "ecs-container-instance-arn" => r.ecs_container_instance_arn,
            "ecs-container-instance-id" => r.ecs_container_instance_id,
            "ecs-container-id" => r.ecs_container_id,
            "ecs-second-container-id" => r.ecs_second_container_id,
            "ecs-service-name" => r.ecs_service_name,
            "ecs-task-definition-arn" => r.ecs_task_definition_arn,
            "ecs-task-arn" => r.ecs_task_arn,
            "ecs-task-id" => r.ecs_task_id,
            "reject-reason" => r.reject_reason,
            "resource-id" => r.resource_id,
            "instance-tag" => r.instance_tag,
            "instance-tag-2" => r.instance_tag_2,
            "interface-tag" => r.interface_tag,
            "interface-tag-2" => r.interface_tag_2,
            "asg-tag" => r.asg_tag,
            "asg-tag-2" => r.asg_tag_2,
            "interface-type" => r.interface_type,
            "next-hop-interface-id" => r.next_hop_interface_id,
            "next-hop-subnet-id" => r.next_hop_subnet_id,
            "next-hop-az-id" => r.next_hop_az_id,
            "next-hop-vpc-id" => r.next_hop_vpc_id,
            "next-hop-interface-type" => r.next_hop_interface_type,
            _ => return None,
        })
    }

    fn num<T: std::str::FromStr>(token: &str) -> Option<T> {
        if token == "-" {
            None
        } else {
            Some(
                token
                    .parse()
                    .ok()
                    .unwrap_or_else(|| panic!("fixture token {token}")),
            )
        }
    }

    /// Checks one mapped record against the raw tokens of its line, column by column.
    /// Returns the names of the columns it checked.
    fn check_against_tokens(r: &ExportRecord<'_>, cols: &[(&str, &str)]) -> Vec<String> {
        let get = |name: &str| cols.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
        let addr = |t: Option<&str>| t.and_then(num::<IpAddr>);
        let mut checked = Vec::new();
        for &(name, token) in cols {
            let dash = token == "-";
            match name {
                "srcaddr" | "dstaddr" => {
                    let (pkt, packet, eni) = if name == "srcaddr" {
                        ("pkt-srcaddr", r.src_addr, r.eni_src_addr)
                    } else {
                        ("pkt-dstaddr", r.dst_addr, r.eni_dst_addr)
                    };
                    let line_pkt = addr(get(pkt));
                    let line_eni = addr(Some(token));
                    assert_eq!(packet, line_pkt.or(line_eni), "{name} packet address");
                    let expect_eni = line_eni.filter(|a| Some(*a) != packet);
                    assert_eq!(eni, expect_eni, "{name} ENI address");
                }
                "pkt-srcaddr" => assert_eq!(r.src_addr, addr(Some(token)).or(addr(get("srcaddr")))),
                "pkt-dstaddr" => assert_eq!(r.dst_addr, addr(Some(token)).or(addr(get("dstaddr")))),
                "srcport" => assert_eq!(r.src_port, num(token)),
                "dstport" => assert_eq!(r.dst_port, num(token)),
                "protocol" => assert_eq!(r.protocol, num(token)),
                "tcp-flags" => assert_eq!(r.tcp_flags, num(token)),
                "packets" => assert_eq!(r.packets, num(token)),
                "bytes" => assert_eq!(r.bytes, num(token)),
                "start" => assert_eq!(r.start_ms, num::<u64>(token).map(|s| s * 1000)),
                "end" => assert_eq!(r.end_ms, num::<u64>(token).map(|s| s * 1000)),
                "action" => {
                    let want = match token {
                        "ACCEPT" => Some(64),
                        "REJECT" => Some(129),
                        _ => None,
                    };
                    assert_eq!(r.forwarding_status, want);
                }
                "flow-direction" => {
                    let want = match token {
                        "ingress" => Some(0),
                        "egress" => Some(1),
                        _ => None,
                    };
                    assert_eq!(r.flow_direction, want);
                }
                "type" => {
                    let want = match token {
                        "IPv4" => Some(4),
                        "IPv6" => Some(6),
                        "EFA" => None,
                        _ => panic!("type {token}"),
                    };
                    assert_eq!(r.ip_version, want);
                }
                "traffic-path" => {
                    assert_eq!(
                        r.traffic_path,
                        Some(if dash { 0 } else { num(token).unwrap() })
                    );
                }
                "encryption-status" => {
                    assert_eq!(
                        r.encryption_status,
                        Some(if dash { 255 } else { num(token).unwrap() })
                    );
                }
                "version" | "log-status" => {}
                _ => match string_member(r, name) {
                    Some(v) => assert_eq!(v, Some(if dash { "" } else { token }), "{name}"),
                    None => {
                        // Unknown columns are not exported.
                        assert!(!name.is_empty());
                        continue;
                    }
                },
            }
            checked.push(name.to_string());
        }
        // The interface: its ifIndex on the side of the direction (ingress when unknown).
        if let Some(eni) = get("interface-id") {
            let index = synthetic_if_index(eni);
            let want = match get("flow-direction") {
                Some("egress") => (Some(0), Some(index)),
                _ => (Some(index), Some(0)),
            };
            assert_eq!((r.ingress_interface, r.egress_interface), want);
        }
        if get("type").is_none() {
            let family = match r.src_addr.or(r.dst_addr) {
                Some(IpAddr::V4(_)) => Some(4),
                Some(IpAddr::V6(_)) => Some(6),
                None => None,
            };
            assert_eq!(r.ip_version, family);
        }
        checked
    }

    #[test]
    fn every_fixture_line_maps_to_its_tokens() {
        let mut records = 0;
        let mut not_flows = 0;
        for (file, bytes) in FILES {
            let mut lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
            let header = lines.next().unwrap();
            let layout = Layout::from_header_line(header).unwrap();
            let names: Vec<&str> = std::str::from_utf8(header)
                .unwrap()
                .split_ascii_whitespace()
                .collect();
            for line in lines {
                let rec = parse_line(&layout, line).unwrap_or_else(|e| panic!("{file}: {e}"));
                let text = std::str::from_utf8(line).unwrap();
                let tokens: Vec<&str> = text.split_ascii_whitespace().collect();
                assert_eq!(tokens.len(), names.len(), "{file}");
                let cols: Vec<(&str, &str)> =
                    names.iter().copied().zip(tokens.iter().copied()).collect();
                let status = cols.iter().find(|(n, _)| *n == "log-status").map(|c| c.1);
                let mapped = export_record(&rec, &Enrichment::default());
                if matches!(status, Some("NODATA" | "SKIPDATA")) {
                    assert_eq!(mapped, None, "{file}: {text}");
                    not_flows += 1;
                    continue;
                }
                let r = mapped.unwrap_or_else(|| panic!("{file}: {text}"));
                let checked = check_against_tokens(&r, &cols);
                if file == "custom-v11-all-fields.log" {
                    // Every known field but version/log-status was compared.
                    assert_eq!(checked.len(), 54, "{checked:?}");
                }
                // Nothing came from nowhere: no enrichment was given.
                assert_eq!(r.exporter_ipv4, None);
                assert_eq!(
                    (r.instance_name, r.vpc_name, r.subnet_name),
                    (None, None, None)
                );
                assert_eq!((r.remote_aws_service, r.path_kind), (None, None));
                records += 1;
            }
        }
        // Record lines per file: 6+8+4+2+5+2+4+4+7+2+3+6+6 flows; 2+1+1+2+2 NODATA/SKIPDATA.
        assert_eq!((records, not_flows), (59, 8));
    }

    fn first_record<'a>(layout: &'a Layout, file: &'a [u8], n: usize) -> FlowRecord<'a> {
        let line = file.split(|&b| b == b'\n').nth(n).unwrap();
        parse_line(layout, line).unwrap()
    }

    #[test]
    fn nat_gateway_record_keeps_both_address_pairs() {
        let (_, file) = fixture!("custom-v5.log");
        let layout = Layout::from_header_line(file.split(|&b| b == b'\n').next().unwrap()).unwrap();
        // Line 3: the NAT gateway ENI sees 10.0.1.5 → 10.0.0.220, the packet went to 203.0.113.5.
        let rec = first_record(&layout, file, 3);
        let r = export_record(&rec, &Enrichment::default()).unwrap();
        assert_eq!(r.src_addr, Some("10.0.1.5".parse().unwrap()));
        assert_eq!(r.dst_addr, Some("203.0.113.5".parse().unwrap()));
        assert_eq!(r.eni_src_addr, None, "same as the packet source");
        assert_eq!(r.eni_dst_addr, Some("10.0.0.220".parse().unwrap()));
        assert_eq!(r.instance_id, Some(""), "requester-managed ENI: `-`");
        assert_eq!(r.pkt_src_aws_service, Some(""));
        assert_eq!(r.traffic_path, Some(TRAFFIC_PATH_NONE), "ingress");
        assert_eq!(
            r.ingress_interface,
            Some(synthetic_if_index("eni-0aaaaaaaaaaaaaaa1"))
        );
        assert_eq!(r.egress_interface, Some(0));
    }

    #[test]
    fn ingress_and_egress_records_of_a_layout_share_a_template() {
        let (_, file) = fixture!("custom-v5.log");
        let layout = Layout::from_header_line(file.split(|&b| b == b'\n').next().unwrap()).unwrap();
        let egress = first_record(&layout, file, 1);
        let ingress = first_record(&layout, file, 2);
        let e = export_record(&egress, &Enrichment::default()).unwrap();
        let i = export_record(&ingress, &Enrichment::default()).unwrap();
        assert_eq!((e.flow_direction, i.flow_direction), (Some(1), Some(0)));
        // `-` strings and the traffic-path sentinel keep the same fields present.
        assert_eq!(e.field_mask(false), i.field_mask(false));
    }

    #[test]
    fn enrichment_fills_what_the_layout_lacks_and_never_overrides_the_line() {
        let enrich = Enrichment {
            instance_name: Some("web-1"),
            vpc_name: Some("prod"),
            subnet_name: Some("private-a"),
            remote_aws_service: Some("S3"),
            path_kind: Some("nat-gateway"),
            availability_zone: Some("us-east-1a"),
            remote_aws_region: Some("us-east-1"),
            vpc_id: Some("vpc-from-inventory"),
            subnet_id: Some("subnet-from-inventory"),
            instance_id: Some("i-from-inventory"),
            az_id: Some("use1-az1"),
            region: Some("us-east-1"),
            account_id: Some("999999999999"),
            exporter_ipv4: Some(Ipv4Addr::new(10, 255, 0, 7)),
        };
        // v2: none of the fallback fields is in the layout.
        let (_, v2) = fixture!("default-v2.log");
        let l2 = Layout::default_v2();
        let r = export_record(&first_record(&l2, v2, 1), &enrich).unwrap();
        assert_eq!(r.vpc_id, Some("vpc-from-inventory"));
        assert_eq!(r.subnet_id, Some("subnet-from-inventory"));
        assert_eq!(r.instance_id, Some("i-from-inventory"));
        assert_eq!((r.az_id, r.region), (Some("use1-az1"), Some("us-east-1")));
        assert_eq!(
            r.account_id,
            Some("123456789012"),
            "the line's account wins"
        );
        assert_eq!(r.exporter_ipv4, Some(Ipv4Addr::new(10, 255, 0, 7)));
        assert_eq!(
            (r.instance_name, r.vpc_name, r.subnet_name),
            (Some("web-1"), Some("prod"), Some("private-a"))
        );
        assert_eq!(
            (r.remote_aws_service, r.path_kind),
            (Some("S3"), Some("nat-gateway"))
        );
        assert_eq!(
            (r.availability_zone, r.remote_aws_region),
            (Some("us-east-1a"), Some("us-east-1"))
        );
        // No direction in v2: the ifIndex goes to ingressInterface.
        assert_eq!(r.flow_direction, None);
        assert_eq!(
            r.ingress_interface,
            Some(synthetic_if_index("eni-0123456789abcdef0"))
        );
        assert_eq!(r.egress_interface, Some(0));

        // v5: the line has VPC, subnet, region, AZ; instance-id is `-` on the NAT ENI.
        let (_, v5) = fixture!("custom-v5.log");
        let l5 = Layout::from_header_line(v5.split(|&b| b == b'\n').next().unwrap()).unwrap();
        let r = export_record(&first_record(&l5, v5, 3), &enrich).unwrap();
        assert_eq!(r.vpc_id, Some("vpc-0a1b2c3d4e5f60718"));
        assert_eq!(r.subnet_id, Some("subnet-0a1b2c3d4e5f60002"));
        assert_eq!(
            r.instance_id,
            Some("i-from-inventory"),
            "`-` takes the fallback"
        );
        assert_eq!((r.az_id, r.region), (Some("use1-az6"), Some("us-east-1")));
        // Without enrichment a `-` in a layout field is "" (present), an absent field absent.
        let r = export_record(&first_record(&l5, v5, 3), &Enrichment::default()).unwrap();
        assert_eq!(r.instance_id, Some(""));
        let r = export_record(&first_record(&l2, v2, 1), &Enrichment::default()).unwrap();
        assert_eq!(r.vpc_id, None);
    }

    #[test]
    fn efa_and_missing_type() {
        let (_, v11) = fixture!("custom-v11-all-fields.log");
        let l11 = Layout::from_header_line(v11.split(|&b| b == b'\n').next().unwrap()).unwrap();
        let efa = export_record(&first_record(&l11, v11, 3), &Enrichment::default()).unwrap();
        assert_eq!(efa.ip_version, None);
        assert_eq!(
            (efa.src_port, efa.dst_port, efa.protocol),
            (None, None, None)
        );
        assert_eq!(efa.src_addr, Some("10.0.1.21".parse().unwrap()));
        assert_eq!(efa.encryption_status, Some(1));
        let bpa = export_record(&first_record(&l11, v11, 4), &Enrichment::default()).unwrap();
        assert_eq!(bpa.reject_reason, Some("BPA"));
        assert_eq!(bpa.encryption_status, Some(ENCRYPTION_STATUS_UNKNOWN));
        assert_eq!(bpa.ip_version, Some(6));
        // A layout without `type`: the family of the addresses.
        let l = Layout::from_log_format("${srcaddr} ${dstaddr} ${start} ${end}").unwrap();
        let r = export_record(
            &parse_line(&l, b"2001:db8::1 2001:db8::2 1 2").unwrap(),
            &Enrichment::default(),
        )
        .unwrap();
        assert_eq!(r.ip_version, Some(6));
        assert_eq!((r.start_ms, r.end_ms), (Some(1000), Some(2000)));
        assert_eq!(
            (r.interface_name, r.ingress_interface, r.egress_interface),
            (None, None, None)
        );
        assert_eq!((r.traffic_path, r.encryption_status), (None, None));
        // `-` for type: the family too.
        let l = Layout::from_log_format("${type} ${srcaddr} ${interface-id}").unwrap();
        let r = export_record(
            &parse_line(&l, b"- 10.0.0.1 -").unwrap(),
            &Enrichment::default(),
        )
        .unwrap();
        assert_eq!(r.ip_version, Some(4));
        assert_eq!(
            (r.interface_name, r.ingress_interface, r.egress_interface),
            (Some(""), Some(0), Some(0))
        );
        // A start time that overflows in milliseconds is absent rather than wrapped.
        let l = Layout::from_log_format("${start}").unwrap();
        let r = export_record(
            &parse_line(&l, b"18446744073709551615").unwrap(),
            &Enrichment::default(),
        )
        .unwrap();
        assert_eq!(r.start_ms, None);
    }
}
