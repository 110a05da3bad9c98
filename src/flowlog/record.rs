//! One flow-log line → a typed, zero-copy [`FlowRecord`].
//!
//! [`parse_line`] walks the line once: it checks UTF-8 once for the whole line, splits on runs
//! of ASCII whitespace (AWS separates with one space, but a documented example has two; a
//! trailing `\r` of a CRLF line is whitespace too), and converts each token by the kind of the
//! field in that column (the `Layout` says which). `-` means "no value" and becomes `None`.
//! Text fields and unknown columns are not copied: the record keeps the token positions and
//! borrows the line. Nothing is allocated, so this can run on millions of lines; IPv4
//! addresses, the common case, have a hand-written parser.
//!
//! A line with the wrong number of values is rejected rather than guessed at (spec.md §A.1:
//! v11 tag values are user text and how AWS writes a space in them is not documented).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::fmt;

use crate::flowlog::fields::Field;
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

/// Position of one value in the line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

/// One parsed flow-log line. Typed accessors return `None` for `-` and for fields the layout
/// does not have; text accessors borrow the line. About 1.2 KiB (a position per possible
/// column): parse it where it is used and pass it by reference.
#[derive(Clone)]
pub struct FlowRecord<'a> {
    line: &'a str,
    layout: &'a Layout,
    /// Per column (first `layout.len()` entries).
    spans: [Span; MAX_COLUMNS],
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
    tcp_flags: Option<u16>,
    traffic_path: Option<u8>,
    encryption_status: Option<u8>,
    action: Option<Action>,
    log_status: Option<LogStatus>,
    ip_type: Option<IpType>,
    flow_direction: Option<FlowDirection>,
}

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
        if u32::try_from(line.len()).is_err() {
            return Err(LineError::TooLong { len: line.len() });
        }
        // The only UTF-8 check: tokens are cut at ASCII bytes, so every token of a valid line
        // is valid too.
        let text = std::str::from_utf8(line).map_err(|e| LineError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let mut rec = FlowRecord {
            line: text,
            layout,
            spans: [Span::default(); MAX_COLUMNS],
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
        };
        let slots = layout.slots();
        let n = line.len();
        let mut i = 0;
        let mut col = 0;
        loop {
            while line.get(i).is_some_and(|&b| is_space(b)) {
                i += 1;
            }
            if i >= n {
                break;
            }
            let start = i;
            i = token_end(line, i);
            let (Some(slot), Some(span)) = (slots.get(col), rec.spans.get_mut(col)) else {
                let got = col + count_tokens(line.get(i..).unwrap_or_default()) + 1;
                return Err(LineError::FieldCount {
                    expected: slots.len(),
                    got,
                });
            };
            // Fits: the line length was checked against u32 above.
            *span = Span {
                start: start as u32,
                end: i as u32,
            };
            if let Some(field) = *slot {
                let token = line.get(start..i).unwrap_or_default();
                if token != b"-" {
                    rec.set(field, token)?;
                }
            }
            col += 1;
        }
        if col != slots.len() {
            return Err(LineError::FieldCount {
                expected: slots.len(),
                got: col,
            });
        }
        Ok(rec)
    }

    /// Converts one non-`-` value of a known field.
    #[inline]
    fn set(&mut self, field: Field, token: &[u8]) -> Result<(), LineError> {
        let number = || LineError::BadNumber {
            field,
            token: BadToken::new(token),
        };
        let address = || LineError::BadAddress {
            field,
            token: BadToken::new(token),
        };
        let choice = || LineError::BadEnum {
            field,
            token: BadToken::new(token),
        };
        match field {
            Field::Version => self.version = Some(parse_u8(token).ok_or_else(number)?),
            Field::SrcAddr => self.srcaddr = Some(parse_addr(token).ok_or_else(address)?),
            Field::DstAddr => self.dstaddr = Some(parse_addr(token).ok_or_else(address)?),
            Field::PktSrcAddr => self.pkt_srcaddr = Some(parse_addr(token).ok_or_else(address)?),
            Field::PktDstAddr => self.pkt_dstaddr = Some(parse_addr(token).ok_or_else(address)?),
            Field::SrcPort => self.srcport = Some(parse_u16(token).ok_or_else(number)?),
            Field::DstPort => self.dstport = Some(parse_u16(token).ok_or_else(number)?),
            Field::Protocol => self.protocol = Some(parse_u8(token).ok_or_else(number)?),
            Field::Packets => self.packets = Some(parse_u64(token).ok_or_else(number)?),
            Field::Bytes => self.bytes = Some(parse_u64(token).ok_or_else(number)?),
            Field::Start => self.start = Some(parse_u64(token).ok_or_else(number)?),
            Field::End => self.end = Some(parse_u64(token).ok_or_else(number)?),
            Field::TcpFlags => self.tcp_flags = Some(parse_u16(token).ok_or_else(number)?),
            Field::TrafficPath => self.traffic_path = Some(parse_u8(token).ok_or_else(number)?),
            Field::EncryptionStatus => {
                self.encryption_status = Some(parse_u8(token).ok_or_else(number)?)
            }
            Field::Action => self.action = Some(Action::from_token(token).ok_or_else(choice)?),
            Field::LogStatus => {
                self.log_status = Some(LogStatus::from_token(token).ok_or_else(choice)?)
            }
            Field::Type => self.ip_type = Some(IpType::from_token(token).ok_or_else(choice)?),
            Field::FlowDirection => {
                self.flow_direction = Some(FlowDirection::from_token(token).ok_or_else(choice)?)
            }
            // Text fields: the span is all we keep.
            _ => {}
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
        let span = self.spans.get(col)?;
        self.line.get(span.start as usize..span.end as usize)
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
        tcp_flags: u16;
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

fn count_tokens(rest: &[u8]) -> usize {
    rest.split(|&b| is_space(b))
        .filter(|t| !t.is_empty())
        .count()
}

/// Decimal digits only (no sign); `None` on overflow.
#[inline]
fn parse_u64(token: &[u8]) -> Option<u64> {
    // Up to 19 digits cannot overflow; only 20-digit numbers need checked arithmetic.
    const SAFE_DIGITS: usize = 19;
    if token.is_empty() || token.len() > SAFE_DIGITS + 1 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in token {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = if token.len() <= SAFE_DIGITS {
            v * 10 + u64::from(d)
        } else {
            v.checked_mul(10)?.checked_add(u64::from(d))?
        };
    }
    Some(v)
}

#[inline]
fn parse_u16(token: &[u8]) -> Option<u16> {
    if token.len() > 5 {
        return None;
    }
    u16::try_from(parse_u64(token)?).ok()
}

#[inline]
fn parse_u8(token: &[u8]) -> Option<u8> {
    if token.len() > 3 {
        return None;
    }
    u8::try_from(parse_u64(token)?).ok()
}

/// Dotted quad, the same syntax `Ipv4Addr::from_str` accepts (no leading zeros).
#[inline]
fn parse_ipv4(token: &[u8]) -> Option<Ipv4Addr> {
    if token.len() < 7 || token.len() > 15 {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut idx = 0;
    let mut value: u16 = 0;
    let mut digits = 0;
    for &b in token {
        if b == b'.' {
            if digits == 0 {
                return None;
            }
            *octets.get_mut(idx)? = value as u8;
            idx += 1;
            value = 0;
            digits = 0;
        } else {
            let d = b.wrapping_sub(b'0');
            if d > 9 || (digits == 1 && value == 0) {
                return None;
            }
            value = value * 10 + u16::from(d);
            digits += 1;
            if value > 255 {
                return None;
            }
        }
    }
    if idx != 3 || digits == 0 {
        return None;
    }
    octets[3] = value as u8;
    Some(Ipv4Addr::from(octets))
}

#[inline]
fn parse_addr(token: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(token) {
        return Some(IpAddr::V4(v4));
    }
    if token.contains(&b':') {
        let text = std::str::from_utf8(token).ok()?;
        return text.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

/// End of the token starting at `i`: the first whitespace byte at or after `i`, or the end.
/// Eight bytes at a time: tokens are mostly ids and addresses of 8–64 bytes.
#[inline]
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

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
