//! One flow-log line → a typed, zero-copy [`FlowRecord`].
//!
//! [`parse_line`] walks the line once: it checks UTF-8 once for the whole line, splits on runs
//! of ASCII whitespace (AWS separates with one space, but a documented example has two; a
//! trailing `\r` of a CRLF line is whitespace too), and converts each token by the kind of the
//! field in that column (the `Layout` says which). `-` means "no value" and becomes `None`.
//! Text fields and unknown columns are not copied: the record keeps the token positions and
//! borrows the line. Nothing is allocated, so this can run on millions of lines: numbers and
//! IPv4 addresses are read a word at a time (`record_values.rs`), the default format (most
//! logs) has a straight-line path with no per-column dispatch, and the record is built where
//! it is returned (it is most of a KiB: a copy per line shows).
//!
//! A line with the wrong number of values is rejected rather than guessed at (spec.md §A.1:
//! v11 tag values are user text and how AWS writes a space in them is not documented).

use core::net::IpAddr;
#[cfg(test)]
use core::net::Ipv4Addr;
use std::fmt;

use crate::flowlog::fields::{Field, FieldKind};
use crate::flowlog::layout::{Column, Layout, MAX_COLUMNS};

/// Longest token quoted in a [`LineError`] (longer ones are cut, with their length shown).
pub const MAX_ERROR_TOKEN: usize = 64;

/// `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Accept,
    Reject,
}

/// `log-status`: only `Ok` records are flows; the others are counted (spec.md §A.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogStatus {
    Ok,
    NoData,
    SkipData,
}

/// `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpType {
    Ipv4,
    Ipv6,
    /// Elastic Fabric Adapter traffic.
    Efa,
}

/// `flow-direction`, relative to the ENI that captured the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    Ingress,
    Egress,
}

macro_rules! wire_enum {
    ($ty:ident, $expected:literal, $($variant:ident = $text:literal),+) => {
        impl $ty {
            /// The text used in flow-log records.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text,)+ }
            }

            fn from_token(token: &[u8]) -> Option<$ty> {
                $(if token == $text.as_bytes() {
                    return Some($ty::$variant);
                })+
                None
            }

            const EXPECTED: &'static str = $expected;
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    Action,
    "ACCEPT or REJECT",
    Accept = "ACCEPT",
    Reject = "REJECT"
);
wire_enum!(
    LogStatus,
    "OK, NODATA or SKIPDATA",
    Ok = "OK",
    NoData = "NODATA",
    SkipData = "SKIPDATA"
);
wire_enum!(
    IpType,
    "IPv4, IPv6 or EFA",
    Ipv4 = "IPv4",
    Ipv6 = "IPv6",
    Efa = "EFA"
);
wire_enum!(
    FlowDirection,
    "ingress or egress",
    Ingress = "ingress",
    Egress = "egress"
);

/// The offending token of a [`LineError`], copied (at most [`MAX_ERROR_TOKEN`] bytes) so the
/// error owns its context without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BadToken {
    bytes: [u8; MAX_ERROR_TOKEN],
    kept: u8,
    /// Length of the whole token.
    len: usize,
}

impl BadToken {
    /// `token` is part of a line already checked to be UTF-8.
    fn new(token: &[u8]) -> BadToken {
        let token = std::str::from_utf8(token).unwrap_or("\u{fffd}");
        let mut kept = token.len().min(MAX_ERROR_TOKEN);
        while !token.is_char_boundary(kept) {
            kept -= 1;
        }
        let mut bytes = [0; MAX_ERROR_TOKEN];
        bytes[..kept].copy_from_slice(&token.as_bytes()[..kept]);
        BadToken {
            bytes,
            kept: kept as u8,
            len: token.len(),
        }
    }

    /// The kept text (the whole token unless it was longer than [`MAX_ERROR_TOKEN`]).
    pub fn as_str(&self) -> &str {
        // Cut at a char boundary of a `str`, so this is always valid.
        std::str::from_utf8(&self.bytes[..usize::from(self.kept)]).unwrap_or("")
    }

    /// Length in bytes of the whole token.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_truncated(&self) -> bool {
        usize::from(self.kept) < self.len
    }
}

impl fmt::Display for BadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_truncated() {
            write!(f, "{:?}… ({} bytes)", self.as_str(), self.len)
        } else {
            write!(f, "{:?}", self.as_str())
        }
    }
}

impl fmt::Debug for BadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a line is not a record of its layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineError {
    /// The line has `got` values, the layout `expected` columns.
    FieldCount { expected: usize, got: usize },
    /// Not a decimal number in range for the field.
    BadNumber { field: Field, token: BadToken },
    /// Not an IPv4 or IPv6 address.
    BadAddress { field: Field, token: BadToken },
    /// Not one of the field's documented values.
    BadEnum { field: Field, token: BadToken },
    /// Invalid UTF-8 starting at byte `offset`.
    NotUtf8 { offset: usize },
    /// Longer than 4 GiB (positions are kept as `u32`).
    TooLong { len: usize },
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::FieldCount { expected, got } => {
                write!(f, "wrong field count: expected {expected}, got {got}")
            }
            LineError::BadNumber { field, token } => {
                write!(f, "field {field}: bad number {token}")
            }
            LineError::BadAddress { field, token } => {
                write!(f, "field {field}: bad IP address {token}")
            }
            LineError::BadEnum { field, token } => {
                let expected = match field {
                    Field::Action => Action::EXPECTED,
                    Field::LogStatus => LogStatus::EXPECTED,
                    Field::Type => IpType::EXPECTED,
                    Field::FlowDirection => FlowDirection::EXPECTED,
                    _ => "a documented value",
                };
                write!(f, "field {field}: bad value {token}, expected {expected}")
            }
            LineError::NotUtf8 { offset } => {
                write!(f, "not UTF-8: invalid byte at offset {offset}")
            }
            LineError::TooLong { len } => write!(f, "line of {len} bytes is too long"),
        }
    }
}

impl std::error::Error for LineError {}

/// One parsed flow-log line. Typed accessors return `None` for `-` and for fields the layout
/// does not have; text accessors borrow the line. About 0.7 KiB (a position per possible
/// column): parse it where it is used and pass it by reference.
#[derive(Clone)]
pub struct FlowRecord<'a> {
    line: &'a str,
    layout: &'a Layout,
    /// Per column (first `layout.len()` entries): where its value starts. It ends at the next
    /// whitespace byte, found again on access (text values are read a few times per line at
    /// most; keeping only starts halves what every line initializes).
    starts: [u32; MAX_COLUMNS],
    version: Option<u8>,
    srcaddr: Option<IpAddr>,
    dstaddr: Option<IpAddr>,
    pkt_srcaddr: Option<IpAddr>,
    pkt_dstaddr: Option<IpAddr>,
    srcport: Option<u16>,
    dstport: Option<u16>,
    protocol: Option<u8>,
    packets: Option<u64>,
    bytes: Option<u64>,
    start: Option<u64>,
    end: Option<u64>,
    tcp_flags: Option<u8>,
    traffic_path: Option<u8>,
    encryption_status: Option<u8>,
    action: Option<Action>,
    log_status: Option<LogStatus>,
    ip_type: Option<IpType>,
    flow_direction: Option<FlowDirection>,
}

/// The columns of the default format (`Layout::default_v2`): the 14 version-2 fields.
const DEFAULT_V2: [Option<Field>; 14] = [
    Some(Field::Version),
    Some(Field::AccountId),
    Some(Field::InterfaceId),
    Some(Field::SrcAddr),
    Some(Field::DstAddr),
    Some(Field::SrcPort),
    Some(Field::DstPort),
    Some(Field::Protocol),
    Some(Field::Packets),
    Some(Field::Bytes),
    Some(Field::Start),
    Some(Field::End),
    Some(Field::Action),
    Some(Field::LogStatus),
];

/// Bytes the tokenizer splits on: space, `\t`, `\n`, `\v`, `\f`, `\r`.
#[inline]
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// Parses one line (without its `\n`; a trailing `\r` is tolerated) against `layout`.
pub fn parse_line<'a>(layout: &'a Layout, line: &'a [u8]) -> Result<FlowRecord<'a>, LineError> {
    FlowRecord::parse(layout, line)
}

macro_rules! typed_accessors {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)+) => {
        $( $(#[$doc])* pub fn $name(&self) -> Option<$ty> { self.$name } )+
    };
}

macro_rules! text_accessors {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)+) => {
        $( $(#[$doc])* pub fn $name(&self) -> Option<&'a str> { self.text(Field::$field) } )+
    };
}

impl<'a> FlowRecord<'a> {
    /// See [`parse_line`].
    pub fn parse(layout: &'a Layout, line: &'a [u8]) -> Result<FlowRecord<'a>, LineError> {
        let mut rec = FlowRecord::blank(layout);
        rec.parse_from(line)?;
        Ok(rec)
    }

    /// A record of `layout` holding no line yet: the place [`FlowRecord::parse_from`] fills.
    /// Per-line code builds this where the record is used and parses into it, because a
    /// record returned from a function is copied (most of a KiB per line showed in profiles).
    #[inline(always)]
    pub fn blank(layout: &'a Layout) -> FlowRecord<'a> {
        FlowRecord {
            line: "",
            layout,
            starts: [0; MAX_COLUMNS],
            version: None,
            srcaddr: None,
            dstaddr: None,
            pkt_srcaddr: None,
            pkt_dstaddr: None,
            srcport: None,
            dstport: None,
            protocol: None,
            packets: None,
            bytes: None,
            start: None,
            end: None,
            tcp_flags: None,
            traffic_path: None,
            encryption_status: None,
            action: None,
            log_status: None,
            ip_type: None,
            flow_direction: None,
        }
    }

    /// Parses `line` (see [`parse_line`]) into this record, replacing what it held. On error
    /// the record holds no line (and no values).
    pub fn parse_from(&mut self, line: &'a [u8]) -> Result<(), LineError> {
        self.parse_with(line, true)
    }

    #[inline(always)]
    fn parse_with(&mut self, line: &'a [u8], shortcut: bool) -> Result<(), LineError> {
        self.clear();
        if u32::try_from(line.len()).is_err() {
            return Err(LineError::TooLong { len: line.len() });
        }
        // The only UTF-8 check: tokens are cut at ASCII bytes, so every token of a valid line
        // is valid too.
        let text = std::str::from_utf8(line).map_err(|e| LineError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let parsed = self.split(line, shortcut);
        match parsed {
            Ok(()) => self.line = text,
            Err(_) => self.clear(),
        }
        parsed
    }

    /// No line and no values. Values of a previous line must not show through (`-` leaves a
    /// value unset). The starts need no reset: a parsed line writes one for each of its
    /// layout's columns, and only those are read. Field by field: assigning a whole record
    /// would copy the starts.
    #[inline(always)]
    fn clear(&mut self) {
        self.line = "";
        self.version = None;
        self.srcaddr = None;
        self.dstaddr = None;
        self.pkt_srcaddr = None;
        self.pkt_dstaddr = None;
        self.srcport = None;
        self.dstport = None;
        self.protocol = None;
        self.packets = None;
        self.bytes = None;
        self.start = None;
        self.end = None;
        self.tcp_flags = None;
        self.traffic_path = None;
        self.encryption_status = None;
        self.action = None;
        self.log_status = None;
        self.ip_type = None;
        self.flow_direction = None;
    }

    /// `parse` without the default-format shortcut (tests compare the two).
    #[cfg(test)]
    fn parse_general(layout: &'a Layout, line: &'a [u8]) -> Result<FlowRecord<'a>, LineError> {
        let mut rec = FlowRecord::blank(layout);
        rec.parse_with(line, false)?;
        Ok(rec)
    }

    /// Splits the line into its columns and converts the known fields.
    #[inline(always)]
    fn split(&mut self, line: &[u8], shortcut: bool) -> Result<(), LineError> {
        let slots = self.layout.slots();
        if shortcut && self.layout.is_default_v2() {
            return self.split_default_v2(line);
        }
        let n = line.len();
        let mut i = skip_space(line, 0);
        let mut col = 0;
        while i < n {
            let Some(&field) = slots.get(col) else {
                let got = col + count_tokens(line.get(i..).unwrap_or_default());
                return Err(LineError::FieldCount {
                    expected: slots.len(),
                    got,
                });
            };
            self.column(col, field, line, &mut i)?;
            col += 1;
        }
        if col != slots.len() {
            return Err(LineError::FieldCount {
                expected: slots.len(),
                got: col,
            });
        }
        Ok(())
    }

    /// `split` for the default format (most flow logs, and every log without a custom
    /// format): the same steps with each column's field known where the code is written, so
    /// there is no dispatch on the field per value and every branch has a call site of its own
    /// for the branch predictor. Same results and same errors as the general loop.
    fn split_default_v2(&mut self, line: &[u8]) -> Result<(), LineError> {
        let n = line.len();
        let mut i = skip_space(line, 0);
        macro_rules! columns {
            ($($col:literal $field:ident),+) => {$(
                if i >= n {
                    return Err(LineError::FieldCount { expected: DEFAULT_V2.len(), got: $col });
                }
                self.column($col, Some(Field::$field), line, &mut i)?;
            )+};
        }
        columns!(
            0 Version, 1 AccountId, 2 InterfaceId, 3 SrcAddr, 4 DstAddr, 5 SrcPort, 6 DstPort,
            7 Protocol, 8 Packets, 9 Bytes, 10 Start, 11 End, 12 Action, 13 LogStatus
        );
        if i < n {
            let got = DEFAULT_V2.len() + count_tokens(line.get(i..).unwrap_or_default());
            return Err(LineError::FieldCount {
                expected: DEFAULT_V2.len(),
                got,
            });
        }
        Ok(())
    }

    /// Column `col` (of `field`, if known): the token at `*i`, a non-whitespace byte. Leaves
    /// `*i` at the next token (or the end).
    #[inline(always)]
    fn column(
        &mut self,
        col: usize,
        field: Option<Field>,
        line: &[u8],
        i: &mut usize,
    ) -> Result<(), LineError> {
        let start = *i;
        let end = token_end(line, start);
        if let Some(at) = self.starts.get_mut(col) {
            // Fits: the line length was checked against u32.
            *at = start as u32;
        }
        if let Some(field) = field
            && !(end == start + 1 && line.get(start) == Some(&b'-'))
        {
            self.set(field, line, start, end)?;
        }
        // `end` is a whitespace byte (or the end): AWS separates with one space.
        *i = end + 1;
        if line.get(*i).is_some_and(|&b| is_space(b)) {
            *i = skip_space(line, *i);
        }
        Ok(())
    }

    /// Converts one non-`-` value of a known field: `line[start..end]`. The number and address
    /// parsers read the line around the token a word at a time, hence the whole line. One call
    /// site per parser (the value is then stored by field), and errors are built out of line:
    /// this runs for every column of every line.
    #[inline(always)]
    fn set(
        &mut self,
        field: Field,
        line: &[u8],
        start: usize,
        end: usize,
    ) -> Result<(), LineError> {
        match field.kind() {
            FieldKind::Addr => {
                let Some(a) = parse_addr_at(line, start, end) else {
                    return Err(bad_value(field, line, start, end));
                };
                match field {
                    Field::SrcAddr => self.srcaddr = Some(a),
                    Field::DstAddr => self.dstaddr = Some(a),
                    Field::PktSrcAddr => self.pkt_srcaddr = Some(a),
                    Field::PktDstAddr => self.pkt_dstaddr = Some(a),
                    _ => {}
                }
            }
            FieldKind::U64 => {
                let Some(v) = parse_u64_at(line, start, end) else {
                    return Err(bad_value(field, line, start, end));
                };
                match field {
                    Field::Packets => self.packets = Some(v),
                    Field::Bytes => self.bytes = Some(v),
                    Field::Start => self.start = Some(v),
                    Field::End => self.end = Some(v),
                    _ => {}
                }
            }
            FieldKind::U16 => {
                let Some(v) = parse_u16_at(line, start, end) else {
                    return Err(bad_value(field, line, start, end));
                };
                match field {
                    Field::SrcPort => self.srcport = Some(v),
                    Field::DstPort => self.dstport = Some(v),
                    _ => {}
                }
            }
            FieldKind::U8 => {
                let Some(v) = parse_u8_at(line, start, end) else {
                    return Err(bad_value(field, line, start, end));
                };
                match field {
                    Field::Version => self.version = Some(v),
                    Field::Protocol => self.protocol = Some(v),
                    Field::TcpFlags => self.tcp_flags = Some(v),
                    Field::TrafficPath => self.traffic_path = Some(v),
                    Field::EncryptionStatus => self.encryption_status = Some(v),
                    _ => {}
                }
            }
            FieldKind::Action
            | FieldKind::LogStatus
            | FieldKind::IpType
            | FieldKind::FlowDirection => {
                let token = line.get(start..end).unwrap_or_default();
                let known = match field {
                    Field::Action => Action::from_token(token).map(|v| self.action = Some(v)),
                    Field::LogStatus => {
                        LogStatus::from_token(token).map(|v| self.log_status = Some(v))
                    }
                    Field::Type => IpType::from_token(token).map(|v| self.ip_type = Some(v)),
                    Field::FlowDirection => {
                        FlowDirection::from_token(token).map(|v| self.flow_direction = Some(v))
                    }
                    _ => Some(()),
                };
                if known.is_none() {
                    return Err(bad_value(field, line, start, end));
                }
            }
            // Text fields: the start is all we keep.
            FieldKind::Str => {}
        }
        Ok(())
    }

    /// The whole line (without `\n`).
    pub fn line(&self) -> &'a str {
        self.line
    }

    /// The layout the line was parsed with.
    pub fn layout(&self) -> &'a Layout {
        self.layout
    }

    /// The raw value of column `col` (`-` included); `None` past the last column.
    pub fn column_str(&self, col: usize) -> Option<&'a str> {
        if col >= self.layout.len() {
            return None;
        }
        let start = *self.starts.get(col)? as usize;
        let end = token_end(self.line.as_bytes(), start);
        self.line.get(start..end)
    }

    /// The raw value of `field` (`-` included); `None` if the layout does not have the field.
    pub fn get_str(&self, field: Field) -> Option<&'a str> {
        self.column_str(self.layout.column_of(field)?)
    }

    /// The value of `field` as text, `None` for `-` or when the layout does not have it.
    pub fn text(&self, field: Field) -> Option<&'a str> {
        self.get_str(field).filter(|t| *t != "-")
    }

    /// The raw value (`-` included) of column `col` if that column is an unknown field.
    pub fn unknown_value(&self, col: usize) -> Option<&'a str> {
        match self.layout.columns().get(col)? {
            Column::Unknown(_) => self.column_str(col),
            Column::Known(_) => None,
        }
    }

    /// True unless `log-status` is `NODATA` or `SKIPDATA`: the record describes a flow.
    pub fn is_flow(&self) -> bool {
        !matches!(
            self.log_status,
            Some(LogStatus::NoData | LogStatus::SkipData)
        )
    }

    typed_accessors! {
        version: u8;
        srcaddr: IpAddr;
        dstaddr: IpAddr;
        pkt_srcaddr: IpAddr;
        pkt_dstaddr: IpAddr;
        srcport: u16;
        dstport: u16;
        protocol: u8;
        packets: u64;
        bytes: u64;
        /// Unix seconds.
        start: u64;
        /// Unix seconds.
        end: u64;
        tcp_flags: u8;
        traffic_path: u8;
        encryption_status: u8;
        action: Action;
        log_status: LogStatus;
        /// The `type` field.
        ip_type: IpType;
        flow_direction: FlowDirection;
    }

    text_accessors! {
        account_id => AccountId;
        interface_id => InterfaceId;
        vpc_id => VpcId;
        subnet_id => SubnetId;
        instance_id => InstanceId;
        region => Region;
        az_id => AzId;
        sublocation_type => SublocationType;
        sublocation_id => SublocationId;
        pkt_src_aws_service => PktSrcAwsService;
        pkt_dst_aws_service => PktDstAwsService;
        ecs_cluster_arn => EcsClusterArn;
        ecs_cluster_name => EcsClusterName;
        ecs_container_instance_arn => EcsContainerInstanceArn;
        ecs_container_instance_id => EcsContainerInstanceId;
        ecs_container_id => EcsContainerId;
        ecs_second_container_id => EcsSecondContainerId;
        ecs_service_name => EcsServiceName;
        ecs_task_definition_arn => EcsTaskDefinitionArn;
        ecs_task_arn => EcsTaskArn;
        ecs_task_id => EcsTaskId;
        reject_reason => RejectReason;
        resource_id => ResourceId;
        instance_tag => InstanceTag;
        instance_tag_2 => InstanceTag2;
        interface_tag => InterfaceTag;
        interface_tag_2 => InterfaceTag2;
        asg_tag => AsgTag;
        asg_tag_2 => AsgTag2;
        interface_type => InterfaceType;
        next_hop_interface_id => NextHopInterfaceId;
        next_hop_subnet_id => NextHopSubnetId;
        next_hop_az_id => NextHopAzId;
        next_hop_vpc_id => NextHopVpcId;
        next_hop_interface_type => NextHopInterfaceType;
    }
}

/// Shows `name=value` per column.
impl fmt::Debug for FlowRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (i, c) in self.layout.columns().iter().enumerate() {
            map.entry(&c.name(), &self.column_str(i).unwrap_or(""));
        }
        map.finish()
    }
}

/// The error for a value `field` cannot take (its kind says which), quoting the token.
#[cold]
#[inline(never)]
fn bad_value(field: Field, line: &[u8], start: usize, end: usize) -> LineError {
    let token = BadToken::new(line.get(start..end).unwrap_or_default());
    match field.kind() {
        FieldKind::Addr => LineError::BadAddress { field, token },
        FieldKind::U8 | FieldKind::U16 | FieldKind::U64 => LineError::BadNumber { field, token },
        _ => LineError::BadEnum { field, token },
    }
}

fn count_tokens(rest: &[u8]) -> usize {
    rest.split(|&b| is_space(b))
        .filter(|t| !t.is_empty())
        .count()
}

/// Index of the first non-whitespace byte at or after `i` (or the end).
#[inline]
fn skip_space(line: &[u8], mut i: usize) -> usize {
    while line.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    i
}

/// End of the token starting at `i`: the first whitespace byte at or after `i`, or the end.
/// Eight bytes at a time: tokens are mostly ids and addresses of 8–64 bytes.
#[inline(always)]
fn token_end(line: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = line.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let x = u64::from_le_bytes(word);
        // High bit set in the first byte below 0x21 (space and control bytes; bytes above the
        // first may be flagged wrongly, which trailing_zeros does not look at).
        let low = x.wrapping_sub(LO * 0x21) & !x & HI;
        if low == 0 {
            i += 8;
            continue;
        }
        let j = i + (low.trailing_zeros() / 8) as usize;
        if line.get(j).is_some_and(|&b| is_space(b)) {
            return j;
        }
        // A control byte that is not whitespace belongs to the token.
        i = j + 1;
    }
    while line.get(i).is_some_and(|&b| !is_space(b)) {
        i += 1;
    }
    i
}

#[path = "record_direct.rs"]
pub(crate) mod direct;
#[path = "record_values.rs"]
mod values;
pub use direct::{DefaultV2Flow, parse_default_v2_flow};
use values::{parse_addr_at, parse_u8_at, parse_u16_at, parse_u64_at};
#[cfg(test)]
use values::{parse_ipv4, parse_ipv4_at, parse_u64};

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
