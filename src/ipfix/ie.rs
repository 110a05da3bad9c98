//! The Information Elements this agent sends: the IANA ones (RFC 7012 registry) and our own
//! enterprise elements under a configurable Private Enterprise Number.
//!
//! `ELEMENTS` is the single source of truth. The writer builds template field specifiers from
//! it, the reader names and types decoded fields with it, and the element files that teach
//! third-party collectors our names (`scripts/ipfix/vpcflow-elements.xml` for libfixbuf's
//! `ipfixDump --element-file`, `scripts/ipfix/pmacct-primitives.lst` for nfacctd's
//! `aggregate_primitives`) are rendered from it by [`element_file_xml`] and
//! [`pmacct_primitives`]; a test keeps the committed files equal to the rendering.
//!
//! The position of an element in the table is its bit in a template's field mask and its
//! position in every template: the fields of a data record always appear in table order.
//! Data-record elements come first (`IeKey::is_data`); the few elements only used in options
//! records follow them. Enterprise ids 1–9 are fixed by the reference fixtures
//! (`fixtures/ipfix/`); the rest are ours to number (RFC 7013 §4: lowerCamelCase names, one
//! abstract type each, never redefining an IANA element).

/// RFC 5612 §2: PEN 32473 is reserved for documentation and examples. The default until the
/// project has its own number (`[ipfix] enterprise_number`).
pub const DOCUMENTATION_PEN: u32 = 32_473;

/// RFC 7011 §7: a Field Length of 65535 announces a variable-length field.
pub const VARLEN: u16 = 65_535;

/// RFC 7012 §3.1 abstract data types we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Unsigned8,
    Unsigned16,
    Unsigned32,
    Unsigned64,
    Ipv4Address,
    Ipv6Address,
    DateTimeMilliseconds,
    String,
}

impl DataType {
    /// The name IANA's registry (and libfixbuf's XML) uses.
    pub fn iana_name(self) -> &'static str {
        match self {
            DataType::Unsigned8 => "unsigned8",
            DataType::Unsigned16 => "unsigned16",
            DataType::Unsigned32 => "unsigned32",
            DataType::Unsigned64 => "unsigned64",
            DataType::Ipv4Address => "ipv4Address",
            DataType::Ipv6Address => "ipv6Address",
            DataType::DateTimeMilliseconds => "dateTimeMilliseconds",
            DataType::String => "string",
        }
    }

    /// Unsigned integers may be sent in fewer octets (RFC 7011 §6.2 reduced-size encoding).
    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            DataType::Unsigned8
                | DataType::Unsigned16
                | DataType::Unsigned32
                | DataType::Unsigned64
        )
    }
}

/// One Information Element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ie {
    pub key: IeKey,
    /// Element id (15 bits).
    pub id: u16,
    /// true: ours, sent with the enterprise bit and the configured PEN.
    pub enterprise: bool,
    /// IANA name, or our lowerCamelCase name.
    pub name: &'static str,
    pub ty: DataType,
    /// The Field Length we send: the type's size, a reduced size (RFC 7011 §6.2), or [`VARLEN`].
    pub len: u16,
    /// RFC 7012 §3.2 data type semantics, if one applies.
    pub semantics: Option<&'static str>,
    /// nfacctd primitive name (`aggregate_primitives`), for enterprise elements.
    pub pmacct: &'static str,
    pub description: &'static str,
}

macro_rules! elements {
    ($( $key:ident: $kind:ident $id:literal $name:literal $ty:ident $len:expr, $sem:expr, $pm:literal, $desc:literal; )*) => {
        /// Index of an element in [`ELEMENTS`]; also its bit in a field mask.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum IeKey { $($key),* }

        /// Every element, in template order.
        pub static ELEMENTS: [Ie; COUNT] = [
            $( Ie {
                key: IeKey::$key,
                id: $id,
                enterprise: elements!(@ent $kind),
                name: $name,
                ty: DataType::$ty,
                len: $len,
                semantics: $sem,
                pmacct: $pm,
                description: $desc,
            } ),*
        ];

        /// Number of elements in the table.
        pub const COUNT: usize = [$(stringify!($key)),*].len();
    };
    (@ent iana) => { false };
    (@ent pen) => { true };
}

const V: u16 = VARLEN;
const ID: Option<&str> = Some("identifier");

elements! {
    // ---- IANA, data records (the order of the reference template 256) ----
    SourceIPv4Address: iana 8 "sourceIPv4Address" Ipv4Address 4, ID, "", "IPv4 source address in the packet header (VPC pkt-srcaddr, else srcaddr).";
    DestinationIPv4Address: iana 12 "destinationIPv4Address" Ipv4Address 4, ID, "", "IPv4 destination address in the packet header.";
    SourceIPv6Address: iana 27 "sourceIPv6Address" Ipv6Address 16, ID, "", "IPv6 source address in the packet header.";
    DestinationIPv6Address: iana 28 "destinationIPv6Address" Ipv6Address 16, ID, "", "IPv6 destination address in the packet header.";
    SourceTransportPort: iana 7 "sourceTransportPort" Unsigned16 2, ID, "", "Source port.";
    DestinationTransportPort: iana 11 "destinationTransportPort" Unsigned16 2, ID, "", "Destination port.";
    ProtocolIdentifier: iana 4 "protocolIdentifier" Unsigned8 1, ID, "", "IP protocol number.";
    TcpControlBits: iana 6 "tcpControlBits" Unsigned16 1, Some("flags"), "", "TCP flags OR-ed over the aggregation interval (RFC 7125), sent in 1 octet (VPC reports only FIN, SYN, RST, SYN-ACK; pmacct reads no other size).";
    PacketDeltaCount: iana 2 "packetDeltaCount" Unsigned64 8, Some("deltaCounter"), "", "Packets in the interval.";
    OctetDeltaCount: iana 1 "octetDeltaCount" Unsigned64 8, Some("deltaCounter"), "", "Octets in the interval.";
    FlowStartMilliseconds: iana 152 "flowStartMilliseconds" DateTimeMilliseconds 8, None, "", "VPC start, in ms since the epoch.";
    FlowEndMilliseconds: iana 153 "flowEndMilliseconds" DateTimeMilliseconds 8, None, "", "VPC end, in ms since the epoch.";
    FlowDirection: iana 61 "flowDirection" Unsigned8 1, ID, "", "0 ingress, 1 egress.";
    ForwardingStatus: iana 89 "forwardingStatus" Unsigned32 1, ID, "", "64 ACCEPT, 129 REJECT (RFC 7270), sent in 1 octet.";
    IpVersion: iana 60 "ipVersion" Unsigned8 1, ID, "", "4 or 6.";
    IngressInterface: iana 10 "ingressInterface" Unsigned32 4, ID, "", "Synthetic ifIndex of the ENI on ingress records.";
    EgressInterface: iana 14 "egressInterface" Unsigned32 4, ID, "", "Synthetic ifIndex of the ENI on egress records.";
    InterfaceName: iana 82 "interfaceName" String V, None, "", "The ENI id.";
    ExporterIPv4Address: iana 130 "exporterIPv4Address" Ipv4Address 4, ID, "", "The VPC's configured exporter address.";
    // ---- ours: ids 1-9 as in the reference fixtures ----
    AwsAccountId: pen 1 "awsAccountId" String V, ID, "aws_account_id", "AWS account owning the source ENI (12 digits or unknown).";
    VpcId: pen 2 "vpcId" String V, ID, "vpc_id", "VPC of the ENI.";
    SubnetId: pen 3 "subnetId" String V, ID, "subnet_id", "Subnet of the ENI.";
    InstanceId: pen 4 "instanceId" String V, ID, "instance_id", "Instance the ENI is attached to.";
    TrafficPath: pen 5 "trafficPath" Unsigned8 1, ID, "traffic_path", "VPC traffic-path code 1-8 (egress records); 0 when the line has -.";
    AwsRegion: pen 6 "awsRegion" String V, ID, "aws_region", "Region of the ENI.";
    AzId: pen 7 "azId" String V, ID, "az_id", "Availability Zone id of the ENI (e.g. use1-az6).";
    PktSrcAwsService: pen 8 "pktSrcAwsService" String V, ID, "pkt_src_aws_service", "ip-ranges.json service of the packet source address.";
    PktDstAwsService: pen 9 "pktDstAwsService" String V, ID, "pkt_dst_aws_service", "ip-ranges.json service of the packet destination address.";
    // ---- ours: 10 and up ----
    SublocationType: pen 10 "sublocationType" String V, ID, "sublocation_type", "wavelength, outpost or localzone.";
    SublocationId: pen 11 "sublocationId" String V, ID, "sublocation_id", "Id of the sublocation.";
    RejectReason: pen 12 "rejectReason" String V, ID, "reject_reason", "Why a REJECT happened (BPA, EC).";
    VpcInterfaceSrcIPv4Address: pen 13 "vpcInterfaceSrcIPv4Address" Ipv4Address 4, ID, "vpc_interface_src_ipv4", "ENI-level srcaddr when it differs from the packet source.";
    VpcInterfaceDstIPv4Address: pen 14 "vpcInterfaceDstIPv4Address" Ipv4Address 4, ID, "vpc_interface_dst_ipv4", "ENI-level dstaddr when it differs from the packet destination.";
    VpcInterfaceSrcIPv6Address: pen 15 "vpcInterfaceSrcIPv6Address" Ipv6Address 16, ID, "vpc_interface_src_ipv6", "ENI-level srcaddr (IPv6) when it differs from the packet source.";
    VpcInterfaceDstIPv6Address: pen 16 "vpcInterfaceDstIPv6Address" Ipv6Address 16, ID, "vpc_interface_dst_ipv6", "ENI-level dstaddr (IPv6) when it differs from the packet destination.";
    EncryptionStatus: pen 17 "encryptionStatus" Unsigned8 1, ID, "encryption_status", "0 none, 1 Nitro, 2 application, 3 both; 255 when the line has -.";
    EcsClusterArn: pen 18 "ecsClusterArn" String V, ID, "ecs_cluster_arn", "ECS cluster ARN.";
    EcsClusterName: pen 19 "ecsClusterName" String V, ID, "ecs_cluster_name", "ECS cluster name.";
    EcsContainerInstanceArn: pen 20 "ecsContainerInstanceArn" String V, ID, "ecs_container_instance_arn", "ECS container instance ARN.";
    EcsContainerInstanceId: pen 21 "ecsContainerInstanceId" String V, ID, "ecs_container_instance_id", "ECS container instance id.";
    EcsContainerId: pen 22 "ecsContainerId" String V, ID, "ecs_container_id", "Docker id of the task's first container.";
    EcsSecondContainerId: pen 23 "ecsSecondContainerId" String V, ID, "ecs_second_container_id", "Docker id of the task's second container.";
    EcsServiceName: pen 24 "ecsServiceName" String V, ID, "ecs_service_name", "ECS service name.";
    EcsTaskDefinitionArn: pen 25 "ecsTaskDefinitionArn" String V, ID, "ecs_task_definition_arn", "ECS task definition ARN.";
    EcsTaskArn: pen 26 "ecsTaskArn" String V, ID, "ecs_task_arn", "ECS task ARN.";
    EcsTaskId: pen 27 "ecsTaskId" String V, ID, "ecs_task_id", "ECS task id.";
    ResourceId: pen 28 "resourceId" String V, ID, "resource_id", "Id of the resource (e.g. regional NAT gateway).";
    InstanceTag: pen 29 "instanceTag" String V, None, "instance_tag", "Value of the first selected instance tag.";
    InstanceTag2: pen 30 "instanceTag2" String V, None, "instance_tag_2", "Value of the second selected instance tag.";
    InterfaceTag: pen 31 "interfaceTag" String V, None, "interface_tag", "Value of the first selected ENI tag.";
    InterfaceTag2: pen 32 "interfaceTag2" String V, None, "interface_tag_2", "Value of the second selected ENI tag.";
    AsgTag: pen 33 "asgTag" String V, None, "asg_tag", "Value of the first selected Auto Scaling group tag.";
    AsgTag2: pen 34 "asgTag2" String V, None, "asg_tag_2", "Value of the second selected Auto Scaling group tag.";
    InterfaceType: pen 35 "interfaceType" String V, ID, "interface_type", "Type of the recording ENI (e.g. nat_gateway).";
    NextHopInterfaceId: pen 36 "nextHopInterfaceId" String V, ID, "next_hop_interface_id", "Next-hop ENI id.";
    NextHopSubnetId: pen 37 "nextHopSubnetId" String V, ID, "next_hop_subnet_id", "Subnet of the next-hop ENI.";
    NextHopAzId: pen 38 "nextHopAzId" String V, ID, "next_hop_az_id", "AZ id of the next-hop ENI.";
    NextHopVpcId: pen 39 "nextHopVpcId" String V, ID, "next_hop_vpc_id", "VPC of the next-hop ENI.";
    NextHopInterfaceType: pen 40 "nextHopInterfaceType" String V, ID, "next_hop_interface_type", "Type of the next-hop ENI.";
    InstanceName: pen 41 "instanceName" String V, None, "instance_name", "Name tag of the instance (inventory).";
    VpcName: pen 42 "vpcName" String V, None, "vpc_name", "Name tag of the VPC (inventory).";
    SubnetName: pen 43 "subnetName" String V, None, "subnet_name", "Name tag of the subnet (inventory).";
    RemoteAwsService: pen 44 "remoteAwsService" String V, ID, "remote_aws_service", "ip-ranges.json service of the remote address (inventory).";
    PathKind: pen 45 "pathKind" String V, ID, "path_kind", "Path of the flow: local, nat-gateway, vpc-endpoint, peering, transit-gateway, internet-gateway, virtual-private-gateway, local-gateway, unknown (inventory).";
    AvailabilityZone: pen 46 "availabilityZone" String V, ID, "availability_zone", "Availability Zone name of the ENI, e.g. us-east-1a (inventory).";
    RemoteAwsRegion: pen 47 "remoteAwsRegion" String V, ID, "remote_aws_region", "ip-ranges.json Region of the remote address, or GLOBAL (inventory).";
    // ---- IANA, options records only ----
    ObservationDomainId: iana 149 "observationDomainId" Unsigned32 4, ID, "", "Scope of the domain-naming options record.";
    ObservationDomainName: iana 300 "observationDomainName" String V, None, "", "Name of the domain: the VPC.";
    InterfaceDescription: iana 83 "interfaceDescription" String V, None, "", "Description of a synthetic ifIndex (nfdump reads it).";
}

/// Elements `0..DATA_FIELDS` can appear in flow data records (and have a field-mask bit).
pub const DATA_FIELDS: usize = IeKey::ObservationDomainId as usize;
const _: () = assert!(DATA_FIELDS <= 128, "field masks are u128");

impl IeKey {
    /// The element's table entry.
    pub fn ie(self) -> &'static Ie {
        &ELEMENTS[self as usize]
    }

    /// true for elements that may appear in flow data records.
    pub fn is_data(self) -> bool {
        (self as usize) < DATA_FIELDS
    }

    /// The key at table position `i`.
    pub fn from_index(i: usize) -> Option<IeKey> {
        ELEMENTS.get(i).map(|ie| ie.key)
    }
}

/// The table entry for a field specifier seen on the wire: an IANA id (`pen == None`), or one of
/// ours when `pen` is the configured enterprise number.
pub fn lookup(id: u16, pen: Option<u32>, our_pen: u32) -> Option<&'static Ie> {
    match pen {
        None => ELEMENTS.iter().find(|ie| !ie.enterprise && ie.id == id),
        Some(p) if p == our_pen => ELEMENTS.iter().find(|ie| ie.enterprise && ie.id == id),
        Some(_) => None,
    }
}

/// libfixbuf's element file (`ipfixDump --element-file FILE`): IANA's registry XML schema plus
/// `cert:enterpriseId` (see ipfixDump(1)), listing our enterprise elements under `pen`.
pub fn element_file_xml(pen: u32) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<!-- Generated from src/ipfix/ie.rs (test ipfix::ie::tests::element_files_match_the_table); do not edit. -->\n");
    out.push_str("<!-- Load it with the element-file option of ipfixDump(1). -->\n");
    out.push_str(
        "<registry id=\"vpcflow-ipfix\"\n          xmlns=\"http://www.iana.org/assignments\"\n",
    );
    out.push_str("          xmlns:cert=\"http://www.cert.org/ipfix\">\n\n");
    out.push_str(&format!(
        "  <title>vpcflow-ipfix enterprise elements (PEN {pen})</title>\n\n"
    ));
    out.push_str("  <registry id=\"vpcflow-ipfix-information-elements\">\n");
    out.push_str(&format!(
        "    <title>AWS VPC Flow Log fields (PEN {pen})</title>\n"
    ));
    for ie in ELEMENTS.iter().filter(|ie| ie.enterprise) {
        out.push_str("\n    <record>\n");
        out.push_str(&format!("      <name>{}</name>\n", ie.name));
        out.push_str(&format!(
            "      <dataType>{}</dataType>\n",
            ie.ty.iana_name()
        ));
        if let Some(s) = ie.semantics {
            out.push_str(&format!(
                "      <dataTypeSemantics>{s}</dataTypeSemantics>\n"
            ));
        }
        out.push_str(&format!(
            "      <cert:enterpriseId>{pen}</cert:enterpriseId>\n"
        ));
        out.push_str(&format!("      <elementId>{}</elementId>\n", ie.id));
        out.push_str("      <status>current</status>\n");
        out.push_str(&format!(
            "      <description>\n        <paragraph>{}</paragraph>\n      </description>\n",
            xml_escape(ie.description)
        ));
        out.push_str("    </record>\n");
    }
    out.push_str("  </registry>\n</registry>\n");
    out
}

/// nfacctd's `aggregate_primitives` file (format: pmacct `examples/primitives.lst.example`).
pub fn pmacct_primitives(pen: u32) -> String {
    let mut out = String::new();
    out.push_str("! Generated from src/ipfix/ie.rs (test ipfix::ie::tests::element_files_match_the_table); do not edit.\n");
    out.push_str(&format!(
        "! vpcflow-ipfix enterprise elements under PEN {pen}, for nfacctd `aggregate_primitives`.\n"
    ));
    for ie in ELEMENTS.iter().filter(|ie| ie.enterprise) {
        let (len, semantics) = match ie.ty {
            DataType::String => ("vlen".to_string(), "str"),
            DataType::Ipv4Address | DataType::Ipv6Address => (ie.len.to_string(), "ip"),
            _ => (ie.len.to_string(), "u_int"),
        };
        out.push_str(&format!(
            "name={}\tfield_type={pen}:{}\tlen={len}\tsemantics={semantics}\n",
            ie.pmacct, ie.id
        ));
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/ipfix/vpcflow-elements.xml"
    ));
    const PMACCT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/ipfix/pmacct-primitives.lst"
    ));

    #[test]
    fn element_files_match_the_table() {
        let xml = element_file_xml(DOCUMENTATION_PEN);
        let pm = pmacct_primitives(DOCUMENTATION_PEN);
        // On mismatch print the regenerated files so they can be copied into scripts/ipfix/.
        if xml != XML {
            println!("=== BEGIN vpcflow-elements.xml ===\n{xml}=== END ===");
        }
        if pm != PMACCT {
            println!("=== BEGIN pmacct-primitives.lst ===\n{pm}=== END ===");
        }
        assert!(
            xml == XML && pm == PMACCT,
            "scripts/ipfix element files differ from ie.rs; regenerated text printed above"
        );
    }

    #[test]
    fn table_is_consistent() {
        for (i, ie) in ELEMENTS.iter().enumerate() {
            assert_eq!(ie.key as usize, i, "{}", ie.name);
            assert!(ie.id > 0 && ie.id < 0x8000, "{}", ie.name);
            assert_eq!(
                ie.enterprise,
                !ie.pmacct.is_empty(),
                "{}: pmacct name iff enterprise",
                ie.name
            );
            let std_len = match ie.ty {
                DataType::Unsigned8 => 1,
                DataType::Unsigned16 => 2,
                DataType::Unsigned32 | DataType::Ipv4Address => 4,
                DataType::Unsigned64 | DataType::DateTimeMilliseconds => 8,
                DataType::Ipv6Address => 16,
                DataType::String => VARLEN,
            };
            // Reduced size only for unsigned integers (RFC 7011 §6.2).
            assert!(
                ie.len == std_len || (ie.ty.is_unsigned() && ie.len < std_len),
                "{}",
                ie.name
            );
            for other in &ELEMENTS[..i] {
                assert!(other.name != ie.name, "duplicate name {}", ie.name);
                assert!(
                    !(other.id == ie.id && other.enterprise == ie.enterprise),
                    "duplicate id {}",
                    ie.name
                );
            }
            // RFC 7013 §4.2: lowerCamelCase.
            assert!(
                ie.name.starts_with(|c: char| c.is_ascii_lowercase())
                    && ie.name.chars().all(|c| c.is_ascii_alphanumeric())
            );
        }
        assert!(ELEMENTS[DATA_FIELDS..].iter().all(|ie| !ie.enterprise));
    }

    #[test]
    fn fixture_ids_are_kept() {
        // shared/reference/samples/ipfix/README-fixtures.txt
        let fixed = [
            ("awsAccountId", 1),
            ("vpcId", 2),
            ("subnetId", 3),
            ("instanceId", 4),
            ("trafficPath", 5),
            ("awsRegion", 6),
            ("azId", 7),
            ("pktSrcAwsService", 8),
            ("pktDstAwsService", 9),
        ];
        for (name, id) in fixed {
            let ie = lookup(id, Some(DOCUMENTATION_PEN), DOCUMENTATION_PEN).map(|ie| ie.name);
            assert_eq!(ie, Some(name));
        }
        assert_eq!(
            lookup(5, Some(DOCUMENTATION_PEN), DOCUMENTATION_PEN).map(|ie| ie.len),
            Some(1)
        );
        assert_eq!(
            lookup(89, None, DOCUMENTATION_PEN).map(|ie| ie.name),
            Some("forwardingStatus")
        );
        assert!(lookup(1, Some(29_305), DOCUMENTATION_PEN).is_none());
    }
}
