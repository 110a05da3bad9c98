//! `ExportRecord`: the IPFIX view of one flow, decoupled from the flow-log parser.
//!
//! Whoever maps flow-log records (and inventory enrichment) into IPFIX fills one of these per
//! flow; the writer only looks at this struct. Every member is an `Option`: `None` means the
//! field is absent — not sent, and not in the record's template. Which members are present
//! decides the template (`field_mask`), so a mapper that wants few templates should send a
//! string field that is present in the log format but `-` in a line as `Some("")` (the
//! reference fixtures do this) rather than `None`.
//!
//! Strings borrow from the caller's line buffer: building a record allocates nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ie::IeKey;
use super::template::FieldMask;

/// forwardingStatus (IE 89, RFC 7270): "Forwarded, reason unknown" — VPC `ACCEPT`.
pub const FORWARDING_ACCEPT: u8 = 64;
/// forwardingStatus: "Dropped, ACL deny" — VPC `REJECT`.
pub const FORWARDING_REJECT: u8 = 129;
/// flowDirection (IE 61): ingress.
pub const DIRECTION_INGRESS: u8 = 0;
/// flowDirection (IE 61): egress.
pub const DIRECTION_EGRESS: u8 = 1;

/// One flow as IPFIX sees it. See the module doc for what `None` means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportRecord<'a> {
    /// Packet-level source address (VPC `pkt-srcaddr`, else `srcaddr`): IE 8 or 27 by family.
    pub src_addr: Option<IpAddr>,
    /// Packet-level destination address: IE 12 or 28.
    pub dst_addr: Option<IpAddr>,
    /// ENI-level `srcaddr` when it differs from the packet one (enterprise 13 / 15).
    pub eni_src_addr: Option<IpAddr>,
    /// ENI-level `dstaddr` when it differs from the packet one (enterprise 14 / 16).
    pub eni_dst_addr: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
    pub protocol: Option<u8>,
    /// tcpControlBits (IE 6), VPC `tcp-flags` as is.
    pub tcp_flags: Option<u8>,
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
    /// flowStartMilliseconds (152): VPC `start` × 1000.
    pub start_ms: Option<u64>,
    /// flowEndMilliseconds (153): VPC `end` × 1000.
    pub end_ms: Option<u64>,
    /// flowDirection (61): [`DIRECTION_INGRESS`] or [`DIRECTION_EGRESS`].
    pub flow_direction: Option<u8>,
    /// forwardingStatus (89, sent in 1 octet): [`FORWARDING_ACCEPT`] or [`FORWARDING_REJECT`].
    pub forwarding_status: Option<u8>,
    /// ipVersion (60).
    pub ip_version: Option<u8>,
    /// ingressInterface (10): [`synthetic_if_index`] of the ENI on ingress records, else 0.
    pub ingress_interface: Option<u32>,
    /// egressInterface (14): the ENI's synthetic ifIndex on egress records, else 0.
    pub egress_interface: Option<u32>,
    /// interfaceName (82): the ENI id.
    pub interface_name: Option<&'a str>,
    /// exporterIPv4Address (130). When `None` the domain's exporter address (if any) is sent.
    pub exporter_ipv4: Option<Ipv4Addr>,
    pub account_id: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub instance_id: Option<&'a str>,
    pub region: Option<&'a str>,
    pub az_id: Option<&'a str>,
    pub sublocation_type: Option<&'a str>,
    pub sublocation_id: Option<&'a str>,
    pub pkt_src_aws_service: Option<&'a str>,
    pub pkt_dst_aws_service: Option<&'a str>,
    pub reject_reason: Option<&'a str>,
    /// VPC `traffic-path` code (1–8).
    pub traffic_path: Option<u8>,
    /// VPC `encryption-status` (0–3).
    pub encryption_status: Option<u8>,
    pub ecs_cluster_arn: Option<&'a str>,
    pub ecs_cluster_name: Option<&'a str>,
    pub ecs_container_instance_arn: Option<&'a str>,
    pub ecs_container_instance_id: Option<&'a str>,
    pub ecs_container_id: Option<&'a str>,
    pub ecs_second_container_id: Option<&'a str>,
    pub ecs_service_name: Option<&'a str>,
    pub ecs_task_definition_arn: Option<&'a str>,
    pub ecs_task_arn: Option<&'a str>,
    pub ecs_task_id: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub instance_tag: Option<&'a str>,
    pub instance_tag_2: Option<&'a str>,
    pub interface_tag: Option<&'a str>,
    pub interface_tag_2: Option<&'a str>,
    pub asg_tag: Option<&'a str>,
    pub asg_tag_2: Option<&'a str>,
    pub interface_type: Option<&'a str>,
    pub next_hop_interface_id: Option<&'a str>,
    pub next_hop_subnet_id: Option<&'a str>,
    pub next_hop_az_id: Option<&'a str>,
    pub next_hop_vpc_id: Option<&'a str>,
    pub next_hop_interface_type: Option<&'a str>,
    /// Enrichment (inventory): the instance's Name tag.
    pub instance_name: Option<&'a str>,
    pub vpc_name: Option<&'a str>,
    pub subnet_name: Option<&'a str>,
    /// Enrichment: ip-ranges.json service of the remote address.
    pub remote_aws_service: Option<&'a str>,
    /// Enrichment: nat-gateway, vpc-endpoint, peering, transit-gateway, …
    pub path_kind: Option<&'a str>,
    /// Enrichment: the ENI's Availability Zone name (`us-east-1a`).
    pub availability_zone: Option<&'a str>,
    /// Enrichment: ip-ranges.json Region of the remote address (`GLOBAL` for edge services).
    pub remote_aws_region: Option<&'a str>,
}

/// A field's value, typed as the writer encodes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Unsigned(u64),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    Str(&'a str),
}

// The one list mapping members to elements; `field_mask` and `get` are generated from it, so
// they cannot disagree. Addresses are mapped by hand (the family picks the element).
macro_rules! member_map {
    ($mac:ident) => {
        $mac! {
            num {
                src_port => SourceTransportPort, dst_port => DestinationTransportPort,
                protocol => ProtocolIdentifier, tcp_flags => TcpControlBits,
                packets => PacketDeltaCount, bytes => OctetDeltaCount,
                start_ms => FlowStartMilliseconds, end_ms => FlowEndMilliseconds,
                flow_direction => FlowDirection, forwarding_status => ForwardingStatus,
                ip_version => IpVersion, ingress_interface => IngressInterface,
                egress_interface => EgressInterface, traffic_path => TrafficPath,
                encryption_status => EncryptionStatus,
            }
            str {
                interface_name => InterfaceName, account_id => AwsAccountId, vpc_id => VpcId,
                subnet_id => SubnetId, instance_id => InstanceId, region => AwsRegion, az_id => AzId,
                pkt_src_aws_service => PktSrcAwsService, pkt_dst_aws_service => PktDstAwsService,
                sublocation_type => SublocationType, sublocation_id => SublocationId,
                reject_reason => RejectReason, ecs_cluster_arn => EcsClusterArn,
                ecs_cluster_name => EcsClusterName, ecs_container_instance_arn => EcsContainerInstanceArn,
                ecs_container_instance_id => EcsContainerInstanceId, ecs_container_id => EcsContainerId,
                ecs_second_container_id => EcsSecondContainerId, ecs_service_name => EcsServiceName,
                ecs_task_definition_arn => EcsTaskDefinitionArn, ecs_task_arn => EcsTaskArn,
                ecs_task_id => EcsTaskId, resource_id => ResourceId, instance_tag => InstanceTag,
                instance_tag_2 => InstanceTag2, interface_tag => InterfaceTag,
                interface_tag_2 => InterfaceTag2, asg_tag => AsgTag, asg_tag_2 => AsgTag2,
                interface_type => InterfaceType, next_hop_interface_id => NextHopInterfaceId,
                next_hop_subnet_id => NextHopSubnetId, next_hop_az_id => NextHopAzId,
                next_hop_vpc_id => NextHopVpcId, next_hop_interface_type => NextHopInterfaceType,
                instance_name => InstanceName, vpc_name => VpcName, subnet_name => SubnetName,
                remote_aws_service => RemoteAwsService, path_kind => PathKind,
                availability_zone => AvailabilityZone, remote_aws_region => RemoteAwsRegion,
            }
        }
    };
}

pub(crate) use member_map;

macro_rules! gen_mask {
    (num { $($n:ident => $nk:ident),* $(,)? } str { $($s:ident => $sk:ident),* $(,)? }) => {
        fn members_mask(&self) -> u128 {
            0 $( | ((self.$n.is_some() as u128) << IeKey::$nk as u32) )*
              $( | ((self.$s.is_some() as u128) << IeKey::$sk as u32) )*
        }
    };
}

macro_rules! gen_get {
    (num { $($n:ident => $nk:ident),* $(,)? } str { $($s:ident => $sk:ident),* $(,)? }) => {
        fn member(&self, key: IeKey) -> Option<FieldValue<'a>> {
            match key {
                $( IeKey::$nk => self.$n.map(|v| FieldValue::Unsigned(u64::from(v))), )*
                $( IeKey::$sk => self.$s.map(FieldValue::Str), )*
                _ => None,
            }
        }
    };
}

fn addr_bit(a: Option<IpAddr>, v4: IeKey, v6: IeKey) -> u128 {
    match a {
        Some(IpAddr::V4(_)) => 1 << v4 as u32,
        Some(IpAddr::V6(_)) => 1 << v6 as u32,
        None => 0,
    }
}

fn addr_value<'a>(a: Option<IpAddr>, want_v6: bool) -> Option<FieldValue<'a>> {
    match a {
        Some(IpAddr::V4(v)) if !want_v6 => Some(FieldValue::Ipv4(v)),
        Some(IpAddr::V6(v)) if want_v6 => Some(FieldValue::Ipv6(v)),
        _ => None,
    }
}

impl<'a> ExportRecord<'a> {
    member_map!(gen_mask);
    member_map!(gen_get);

    /// Which data fields this record sends. `default_exporter`: the domain has an exporter
    /// address to send when the record has none.
    #[inline]
    pub fn field_mask(&self, default_exporter: bool) -> FieldMask {
        use IeKey::*;
        let m = self.members_mask()
            | addr_bit(self.src_addr, SourceIPv4Address, SourceIPv6Address)
            | addr_bit(
                self.dst_addr,
                DestinationIPv4Address,
                DestinationIPv6Address,
            )
            | addr_bit(
                self.eni_src_addr,
                VpcInterfaceSrcIPv4Address,
                VpcInterfaceSrcIPv6Address,
            )
            | addr_bit(
                self.eni_dst_addr,
                VpcInterfaceDstIPv4Address,
                VpcInterfaceDstIPv6Address,
            )
            | (((self.exporter_ipv4.is_some() || default_exporter) as u128)
                << ExporterIPv4Address as u32);
        FieldMask(m)
    }

    /// The value of one data field, if present (the domain default for IE 130 is the writer's).
    pub fn get(&self, key: IeKey) -> Option<FieldValue<'a>> {
        use IeKey::*;
        match key {
            SourceIPv4Address => addr_value(self.src_addr, false),
            SourceIPv6Address => addr_value(self.src_addr, true),
            DestinationIPv4Address => addr_value(self.dst_addr, false),
            DestinationIPv6Address => addr_value(self.dst_addr, true),
            VpcInterfaceSrcIPv4Address => addr_value(self.eni_src_addr, false),
            VpcInterfaceSrcIPv6Address => addr_value(self.eni_src_addr, true),
            VpcInterfaceDstIPv4Address => addr_value(self.eni_dst_addr, false),
            VpcInterfaceDstIPv6Address => addr_value(self.eni_dst_addr, true),
            ExporterIPv4Address => self.exporter_ipv4.map(FieldValue::Ipv4),
            _ => self.member(key),
        }
    }

    /// The ENI's synthetic ifIndex carried by this record (ingress or egress, whichever is set
    /// and non-zero).
    pub fn if_index(&self) -> Option<u32> {
        match (self.ingress_interface, self.egress_interface) {
            (Some(i), _) if i != 0 => Some(i),
            (_, Some(e)) if e != 0 => Some(e),
            _ => None,
        }
    }
}

/// A stable synthetic ifIndex for an ENI id: 32-bit FNV-1a of the id's bytes, masked to 31 bits,
/// with 0 mapped to 1.
///
/// Why: collectors build per-interface views from ingressInterface/egressInterface (IE 10/14),
/// and an ENI has no ifIndex. A hash needs no state to persist and gives every agent instance
/// and every restart the same number. 31 bits because ifIndex is an SNMP `InterfaceIndex`
/// (RFC 2863: 1..2147483647), and never 0 because 0 means "no interface" in NetFlow/IPFIX
/// tools. Collisions are possible (birthday bound: ~1 % at 6 500 ENIs in one VPC); the exporter
/// logs one when two ENIs of a domain share a number, and interfaceName (82) in every record
/// stays authoritative.
pub fn synthetic_if_index(eni_id: impl AsRef<[u8]>) -> u32 {
    // FNV-1a 32-bit parameters (draft-eastlake-fnv, "FNV-1a"): offset basis and prime.
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let mut h = OFFSET_BASIS;
    for &b in eni_id.as_ref() {
        h ^= u32::from(b);
        h = h.wrapping_mul(PRIME);
    }
    match h & 0x7fff_ffff {
        0 => 1,
        x => x,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ipfix::ie::{DATA_FIELDS, DataType, ELEMENTS};

    /// A record with every member set (IPv4 packet addresses, IPv6 ENI addresses).
    pub(crate) fn full_record() -> ExportRecord<'static> {
        ExportRecord {
            src_addr: Some("10.0.1.5".parse().unwrap()),
            dst_addr: Some("52.95.128.179".parse().unwrap()),
            eni_src_addr: Some("2600:1f18::1".parse().unwrap()),
            eni_dst_addr: Some("2600:1f18::2".parse().unwrap()),
            src_port: Some(34210),
            dst_port: Some(443),
            protocol: Some(6),
            tcp_flags: Some(19),
            packets: Some(7),
            bytes: Some(471),
            start_ms: Some(1_768_478_340_000),
            end_ms: Some(1_768_478_399_000),
            flow_direction: Some(DIRECTION_EGRESS),
            forwarding_status: Some(FORWARDING_ACCEPT),
            ip_version: Some(4),
            ingress_interface: Some(0),
            egress_interface: Some(synthetic_if_index("eni-0123456789abcdef0")),
            interface_name: Some("eni-0123456789abcdef0"),
            exporter_ipv4: Some(Ipv4Addr::new(10, 255, 0, 1)),
            account_id: Some("123456789012"),
            vpc_id: Some("vpc-0a1b2c3d4e5f60718"),
            subnet_id: Some("subnet-0a1b2c3d4e5f60001"),
            instance_id: Some("i-0123456789abcdef0"),
            region: Some("us-east-1"),
            az_id: Some("use1-az6"),
            sublocation_type: Some("outpost"),
            sublocation_id: Some("op-0123456789abcdef0"),
            pkt_src_aws_service: Some(""),
            pkt_dst_aws_service: Some("S3"),
            reject_reason: Some("BPA"),
            traffic_path: Some(8),
            encryption_status: Some(1),
            ecs_cluster_arn: Some("arn:aws:ecs:us-east-1:123456789012:cluster/web"),
            ecs_cluster_name: Some("web"),
            ecs_container_instance_arn: Some(
                "arn:aws:ecs:us-east-1:123456789012:container-instance/web/1",
            ),
            ecs_container_instance_id: Some("1"),
            ecs_container_id: Some("c1"),
            ecs_second_container_id: Some("c2"),
            ecs_service_name: Some("frontend"),
            ecs_task_definition_arn: Some(
                "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
            ),
            ecs_task_arn: Some("arn:aws:ecs:us-east-1:123456789012:task/web/abc"),
            ecs_task_id: Some("abc"),
            resource_id: Some("nat-0123"),
            instance_tag: Some("prod"),
            instance_tag_2: Some("team-a"),
            interface_tag: Some("x"),
            interface_tag_2: Some("y"),
            asg_tag: Some("asg1"),
            asg_tag_2: Some("asg2"),
            interface_type: Some("interface"),
            next_hop_interface_id: Some("eni-1"),
            next_hop_subnet_id: Some("subnet-1"),
            next_hop_az_id: Some("use1-az1"),
            next_hop_vpc_id: Some("vpc-1"),
            next_hop_interface_type: Some("regional_nat_gateway"),
            instance_name: Some("web-1"),
            vpc_name: Some("prod"),
            subnet_name: Some("private-a"),
            remote_aws_service: Some("S3"),
            path_kind: Some("vpc-endpoint"),
            availability_zone: Some("us-east-1a"),
            remote_aws_region: Some("us-east-1"),
        }
    }

    #[test]
    fn every_data_element_is_reachable_and_mask_agrees_with_get() {
        let v4 = full_record();
        let mut v6 = v4;
        v6.src_addr = Some("2600:1f18::10".parse().unwrap());
        v6.dst_addr = Some("2600:1f18::20".parse().unwrap());
        v6.eni_src_addr = Some("10.0.0.1".parse().unwrap());
        v6.eni_dst_addr = Some("10.0.0.2".parse().unwrap());
        let mut seen = 0u128;
        for r in [v4, v6] {
            let m = r.field_mask(false).0;
            for ie in &ELEMENTS[..DATA_FIELDS] {
                let got = r.get(ie.key);
                assert_eq!(m >> ie.key as u32 & 1 == 1, got.is_some(), "{}", ie.name);
                // The value's kind matches the table's type.
                match (got, ie.ty) {
                    (None, _) => {}
                    (Some(FieldValue::Ipv4(_)), DataType::Ipv4Address) => {}
                    (Some(FieldValue::Ipv6(_)), DataType::Ipv6Address) => {}
                    (Some(FieldValue::Str(_)), DataType::String) => {}
                    (Some(FieldValue::Unsigned(_)), t)
                        if t.is_unsigned() || t == DataType::DateTimeMilliseconds => {}
                    (v, t) => panic!("{}: {v:?} for {t:?}", ie.name),
                }
            }
            seen |= m;
        }
        // Both families together reach every data element: no member is forgotten.
        assert_eq!(seen, (1u128 << DATA_FIELDS) - 1);
        assert_eq!(ExportRecord::default().field_mask(false).0, 0);
        assert_eq!(
            ExportRecord::default().field_mask(true).0,
            1 << IeKey::ExporterIPv4Address as u32
        );
    }

    #[test]
    fn synthetic_if_index_is_fnv1a_31_bits_and_never_zero() {
        // FNV-1a 32 reference values: "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
        assert_eq!(synthetic_if_index(""), 0x811c_9dc5 & 0x7fff_ffff);
        assert_eq!(synthetic_if_index("a"), 0xe40c_292c & 0x7fff_ffff);
        assert_eq!(synthetic_if_index("foobar"), 0xbf9c_f968 & 0x7fff_ffff);
        for i in 0..10_000 {
            let x = synthetic_if_index(format!("eni-{i:017x}"));
            assert!(x != 0 && x < 0x8000_0000);
        }
    }

    #[test]
    fn if_index_prefers_the_non_zero_side() {
        let mut r = ExportRecord {
            ingress_interface: Some(0),
            egress_interface: Some(7),
            ..Default::default()
        };
        assert_eq!(r.if_index(), Some(7));
        r.ingress_interface = Some(9);
        assert_eq!(r.if_index(), Some(9));
        assert_eq!(ExportRecord::default().if_index(), None);
    }
}
