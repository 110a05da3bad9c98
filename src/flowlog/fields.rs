//! Every VPC Flow Logs field of versions 2–11, with its name, the version that introduced it
//! and the kind of value it carries.
//!
//! The table is the one of the AWS VPC User Guide "Available fields" (spec.md §A.2). The set is
//! open: AWS keeps adding fields, so a name that is not in this table is not an error — the
//! layout keeps it as an unknown column (see `layout.rs`). One macro row per field keeps the
//! enum, the name table and the version table from drifting apart.

use std::fmt;

/// How the text of a field is interpreted by the record parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Kept as text (`&str`).
    Str,
    /// An IPv4 or IPv6 address.
    Addr,
    /// A decimal number that fits in `u8`.
    U8,
    /// A decimal number that fits in `u16`.
    U16,
    /// A decimal number that fits in `u64`.
    U64,
    /// `ACCEPT` | `REJECT`.
    Action,
    /// `OK` | `NODATA` | `SKIPDATA`.
    LogStatus,
    /// `IPv4` | `IPv6` | `EFA`.
    IpType,
    /// `ingress` | `egress`.
    FlowDirection,
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, v $version:literal, $kind:ident; )+) => {
        /// One VPC Flow Logs field (spec.md §A.2).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $( $(#[$doc])* $variant, )+
        }

        /// Number of fields known to this build (versions 2–11).
        pub const FIELD_COUNT: usize = [$($name),+].len();

        impl Field {
            /// Every known field, in the order of the AWS field table (the default format is
            /// the first 14).
            pub const ALL: [Field; FIELD_COUNT] = [$(Field::$variant),+];

            /// The name used in `LogFormat` (`${name}`) and in S3 header lines.
            pub const fn name(self) -> &'static str {
                match self { $(Field::$variant => $name,)+ }
            }

            /// The flow-log version that introduced the field.
            pub const fn version(self) -> u8 {
                match self { $(Field::$variant => $version,)+ }
            }

            /// How the parser reads the field's value.
            pub const fn kind(self) -> FieldKind {
                match self { $(Field::$variant => FieldKind::$kind,)+ }
            }

            /// The field with this name, if it is one of the known fields.
            pub fn from_name(name: &str) -> Option<Field> {
                Field::from_name_bytes(name.as_bytes())
            }

            /// Same as [`Field::from_name`], on bytes (header lines are bytes).
            pub fn from_name_bytes(name: &[u8]) -> Option<Field> {
                $(if name == $name.as_bytes() {
                    return Some(Field::$variant);
                })+
                None
            }
        }
    };
}

// `from_name_bytes` is a chain of comparisons: it runs once per header line or LogFormat
// column, never per record.
fields! {
    /// Flow-log version of the record (highest version among the format's fields).
    Version = "version", v 2, U8;
    /// Account id owning the source ENI (may be `unknown`).
    AccountId = "account-id", v 2, Str;
    /// ENI id (`eni-…`).
    InterfaceId = "interface-id", v 2, Str;
    SrcAddr = "srcaddr", v 2, Addr;
    DstAddr = "dstaddr", v 2, Addr;
    SrcPort = "srcport", v 2, U16;
    DstPort = "dstport", v 2, U16;
    /// IANA protocol number.
    Protocol = "protocol", v 2, U8;
    Packets = "packets", v 2, U64;
    Bytes = "bytes", v 2, U64;
    /// Unix seconds of the first packet in the window.
    Start = "start", v 2, U64;
    /// Unix seconds of the last packet in the window.
    End = "end", v 2, U64;
    Action = "action", v 2, Action;
    LogStatus = "log-status", v 2, LogStatus;
    VpcId = "vpc-id", v 3, Str;
    SubnetId = "subnet-id", v 3, Str;
    InstanceId = "instance-id", v 3, Str;
    /// FIN=1 SYN=2 RST=4 SYN-ACK=18, OR-ed over the window (spec.md §A.4): never above 0x17,
    /// so a value that does not fit the one octet IPFIX carries is malformed.
    TcpFlags = "tcp-flags", v 3, U8;
    /// `IPv4` | `IPv6` | `EFA`.
    Type = "type", v 3, IpType;
    PktSrcAddr = "pkt-srcaddr", v 3, Addr;
    PktDstAddr = "pkt-dstaddr", v 3, Addr;
    Region = "region", v 4, Str;
    AzId = "az-id", v 4, Str;
    SublocationType = "sublocation-type", v 4, Str;
    SublocationId = "sublocation-id", v 4, Str;
    PktSrcAwsService = "pkt-src-aws-service", v 5, Str;
    PktDstAwsService = "pkt-dst-aws-service", v 5, Str;
    FlowDirection = "flow-direction", v 5, FlowDirection;
    /// Egress path code 1–8 (spec.md §A.3).
    TrafficPath = "traffic-path", v 5, U8;
    EcsClusterArn = "ecs-cluster-arn", v 7, Str;
    EcsClusterName = "ecs-cluster-name", v 7, Str;
    EcsContainerInstanceArn = "ecs-container-instance-arn", v 7, Str;
    EcsContainerInstanceId = "ecs-container-instance-id", v 7, Str;
    EcsContainerId = "ecs-container-id", v 7, Str;
    EcsSecondContainerId = "ecs-second-container-id", v 7, Str;
    EcsServiceName = "ecs-service-name", v 7, Str;
    EcsTaskDefinitionArn = "ecs-task-definition-arn", v 7, Str;
    EcsTaskArn = "ecs-task-arn", v 7, Str;
    EcsTaskId = "ecs-task-id", v 7, Str;
    /// `BPA`, `EC`, … (open set).
    RejectReason = "reject-reason", v 8, Str;
    ResourceId = "resource-id", v 9, Str;
    /// 0 none, 1 Nitro, 2 application, 3 both.
    EncryptionStatus = "encryption-status", v 10, U8;
    InstanceTag = "instance-tag", v 11, Str;
    InstanceTag2 = "instance-tag-2", v 11, Str;
    InterfaceTag = "interface-tag", v 11, Str;
    InterfaceTag2 = "interface-tag-2", v 11, Str;
    AsgTag = "asg-tag", v 11, Str;
    AsgTag2 = "asg-tag-2", v 11, Str;
    InterfaceType = "interface-type", v 11, Str;
    NextHopInterfaceId = "next-hop-interface-id", v 11, Str;
    NextHopSubnetId = "next-hop-subnet-id", v 11, Str;
    NextHopAzId = "next-hop-az-id", v 11, Str;
    NextHopVpcId = "next-hop-vpc-id", v 11, Str;
    NextHopInterfaceType = "next-hop-interface-type", v 11, Str;
}

impl Field {
    /// Position of the field in [`Field::ALL`]; dense, usable as an array index.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The syntax of a field name: `[a-z][a-z0-9-]*` (spec.md §A.5 parses `${[a-z0-9-]+}`; names
/// start with a letter, which is what tells a header token from a value such as `-` or `6`).
pub fn is_field_name_syntax(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            first.is_ascii_lowercase()
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_and_index_order() {
        assert_eq!(FIELD_COUNT, 54);
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
        }
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
            assert!(is_field_name_syntax(f.name().as_bytes()), "{f}");
        }
        let mut names: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELD_COUNT);
        assert_eq!(Field::from_name("Version"), None);
        assert_eq!(Field::from_name("pkt-srcaddr "), None);
        assert_eq!(Field::from_name(""), None);
        assert_eq!(Field::from_name("future-field"), None);
    }

    /// The version table against the AWS field table (spec.md §A.2), written out by hand.
    #[test]
    fn version_table() {
        let by_version: [(u8, &[&str]); 9] = [
            (
                2,
                &[
                    "version",
                    "account-id",
                    "interface-id",
                    "srcaddr",
                    "dstaddr",
                    "srcport",
                    "dstport",
                    "protocol",
                    "packets",
                    "bytes",
                    "start",
                    "end",
                    "action",
                    "log-status",
                ],
            ),
            (
                3,
                &[
                    "vpc-id",
                    "subnet-id",
                    "instance-id",
                    "tcp-flags",
                    "type",
                    "pkt-srcaddr",
                    "pkt-dstaddr",
                ],
            ),
            (
                4,
                &["region", "az-id", "sublocation-type", "sublocation-id"],
            ),
            (
                5,
                &[
                    "pkt-src-aws-service",
                    "pkt-dst-aws-service",
                    "flow-direction",
                    "traffic-path",
                ],
            ),
            (
                7,
                &[
                    "ecs-cluster-arn",
                    "ecs-cluster-name",
                    "ecs-container-instance-arn",
                    "ecs-container-instance-id",
                    "ecs-container-id",
                    "ecs-second-container-id",
                    "ecs-service-name",
                    "ecs-task-definition-arn",
                    "ecs-task-arn",
                    "ecs-task-id",
                ],
            ),
            (8, &["reject-reason"]),
            (9, &["resource-id"]),
            (10, &["encryption-status"]),
            (
                11,
                &[
                    "instance-tag",
                    "instance-tag-2",
                    "interface-tag",
                    "interface-tag-2",
                    "asg-tag",
                    "asg-tag-2",
                    "interface-type",
                    "next-hop-interface-id",
                    "next-hop-subnet-id",
                    "next-hop-az-id",
                    "next-hop-vpc-id",
                    "next-hop-interface-type",
                ],
            ),
        ];
        let mut seen = 0;
        for (version, names) in by_version {
            for name in names {
                let f = Field::from_name(name).unwrap_or_else(|| panic!("{name} unknown"));
                assert_eq!(f.version(), version, "{name}");
                seen += 1;
            }
        }
        assert_eq!(seen, FIELD_COUNT);
        // The default format is the 14 version-2 fields in table order.
        assert!(Field::ALL[..14].iter().all(|f| f.version() == 2));
        assert_eq!(Field::ALL[13], Field::LogStatus);
    }

    #[test]
    fn kinds() {
        assert_eq!(Field::SrcAddr.kind(), FieldKind::Addr);
        assert_eq!(Field::PktDstAddr.kind(), FieldKind::Addr);
        assert_eq!(Field::SrcPort.kind(), FieldKind::U16);
        assert_eq!(Field::Bytes.kind(), FieldKind::U64);
        assert_eq!(Field::Type.kind(), FieldKind::IpType);
        assert_eq!(Field::AccountId.kind(), FieldKind::Str);
        assert_eq!(Field::EncryptionStatus.kind(), FieldKind::U8);
    }

    #[test]
    fn name_syntax() {
        assert!(is_field_name_syntax(b"next-hop-az-id"));
        assert!(is_field_name_syntax(b"x9"));
        assert!(!is_field_name_syntax(b"-"));
        assert!(!is_field_name_syntax(b"6"));
        assert!(!is_field_name_syntax(b"ACCEPT"));
        assert!(!is_field_name_syntax(b"nat_gateway"));
        assert!(!is_field_name_syntax(b""));
    }
}
