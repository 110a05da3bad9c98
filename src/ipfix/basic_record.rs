//! [`BasicRecord`]: an IPv4 flow carrying exactly what a default-format (v2) flow-log line
//! says, encoded without the general [`ExportRecord`] (the pipeline's direct path).
//!
//! Its fields are fixed, so its field mask is a constant (plus exporterIPv4Address when the
//! domain has one) and its encoder writes each element from a plain value: no `Option` per
//! member, no mask built per record. It must send exactly what the general path would send
//! for the same flow — [`BasicRecord::to_export_record`] is that flow as an `ExportRecord`, and
//! the tests check that both give the same mask and the same bytes.

use std::net::{IpAddr, Ipv4Addr};

use super::data_record::DataRecord;
use super::ie::{IeKey, VARLEN};
use super::record::ExportRecord;
#[cfg(test)]
use super::record::{FORWARDING_ACCEPT, FORWARDING_REJECT};
use super::template::FieldMask;
use super::writer::{Cursor, Full, len_of};

/// One default-format IPv4 flow (see the module doc). The ENI's synthetic ifIndex goes in
/// ingressInterface with egressInterface 0, as the general mapping does when the format has no
/// `flow-direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicRecord<'a> {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    pub start_ms: u64,
    pub end_ms: u64,
    /// `FORWARDING_ACCEPT` or `FORWARDING_REJECT` (`ipfix::record`).
    pub forwarding_status: u8,
    /// The ENI id (interfaceName, ASCII) and its synthetic ifIndex (ingressInterface).
    pub interface_name: &'a [u8],
    pub if_index: u32,
    /// ASCII.
    pub account_id: &'a [u8],
    /// exporterIPv4Address; `None`: the domain's, if it has one.
    pub exporter_ipv4: Option<Ipv4Addr>,
}

/// The elements every [`BasicRecord`] sends (exporterIPv4Address aside).
const FIELDS: [IeKey; 15] = [
    IeKey::SourceIPv4Address,
    IeKey::DestinationIPv4Address,
    IeKey::SourceTransportPort,
    IeKey::DestinationTransportPort,
    IeKey::ProtocolIdentifier,
    IeKey::PacketDeltaCount,
    IeKey::OctetDeltaCount,
    IeKey::FlowStartMilliseconds,
    IeKey::FlowEndMilliseconds,
    IeKey::ForwardingStatus,
    IeKey::IpVersion,
    IeKey::IngressInterface,
    IeKey::EgressInterface,
    IeKey::InterfaceName,
    IeKey::AwsAccountId,
];

const fn fields_mask() -> u128 {
    let mut m = 0u128;
    let mut i = 0;
    while i < FIELDS.len() {
        m |= 1 << FIELDS[i] as u32;
        i += 1;
    }
    m
}

const MASK: u128 = fields_mask();
const EXPORTER: u128 = 1 << IeKey::ExporterIPv4Address as u32;

impl<'a> BasicRecord<'a> {
    /// The same flow as the general path's record (a text value that is not UTF-8, which the
    /// direct parser never makes, would be absent there).
    pub fn to_export_record(&self) -> ExportRecord<'a> {
        ExportRecord {
            src_addr: Some(IpAddr::V4(self.src_addr)),
            dst_addr: Some(IpAddr::V4(self.dst_addr)),
            src_port: Some(self.src_port),
            dst_port: Some(self.dst_port),
            protocol: Some(self.protocol),
            packets: Some(self.packets),
            bytes: Some(self.bytes),
            start_ms: Some(self.start_ms),
            end_ms: Some(self.end_ms),
            forwarding_status: Some(self.forwarding_status),
            ip_version: Some(4),
            ingress_interface: Some(self.if_index),
            egress_interface: Some(0),
            interface_name: std::str::from_utf8(self.interface_name).ok(),
            account_id: std::str::from_utf8(self.account_id).ok(),
            exporter_ipv4: self.exporter_ipv4,
            ..ExportRecord::default()
        }
    }
}

impl BasicRecord<'_> {
    /// `FIELDS` in order (with exporterIPv4Address before the account when `exporter`), each
    /// element in the length the element table gives it (checked by the tests against the
    /// general encoder).
    #[inline(always)]
    fn encode_straight(&self, exporter: Option<Ipv4Addr>, out: &mut [u8]) -> Result<usize, Full> {
        let mut c = Cursor::new(out);
        c.put_array(self.src_addr.octets())?;
        c.put_array(self.dst_addr.octets())?;
        c.put_array(self.src_port.to_be_bytes())?;
        c.put_array(self.dst_port.to_be_bytes())?;
        c.put_array([self.protocol])?;
        c.put_array(self.packets.to_be_bytes())?;
        c.put_array(self.bytes.to_be_bytes())?;
        c.put_array(self.start_ms.to_be_bytes())?;
        c.put_array(self.end_ms.to_be_bytes())?;
        c.put_array([self.forwarding_status, 4])?;
        c.put_array(self.if_index.to_be_bytes())?;
        c.put_array(0u32.to_be_bytes())?;
        c.put_ascii(self.interface_name)?;
        if let Some(ip) = exporter {
            c.put_array(ip.octets())?;
        }
        c.put_ascii(self.account_id)?;
        Ok(c.pos())
    }
}

impl DataRecord for BasicRecord<'_> {
    #[inline(always)]
    fn field_mask(&self, default_exporter: bool) -> FieldMask {
        let exporter = self.exporter_ipv4.is_some() || default_exporter;
        FieldMask(if exporter { MASK | EXPORTER } else { MASK })
    }

    #[inline]
    fn encode_fields(
        &self,
        mask: FieldMask,
        keys: &[IeKey],
        default_exporter: Option<Ipv4Addr>,
        out: &mut [u8],
    ) -> Result<usize, Full> {
        use IeKey::*;
        // The templates a basic record gets: its own fields, with or without
        // exporterIPv4Address. Their keys are in table order (`FieldMask::keys`), which the
        // straight-line writer follows.
        if mask.0 == MASK {
            return self.encode_straight(None, out);
        }
        if mask.0 == MASK | EXPORTER {
            let ip = self
                .exporter_ipv4
                .or(default_exporter)
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            return self.encode_straight(Some(ip), out);
        }
        let mut c = Cursor::new(out);
        for &key in keys {
            match key {
                SourceIPv4Address => c.put_array(self.src_addr.octets()),
                DestinationIPv4Address => c.put_array(self.dst_addr.octets()),
                SourceTransportPort => c.put_uint(Some(self.src_port.into()), len_of(key)),
                DestinationTransportPort => c.put_uint(Some(self.dst_port.into()), len_of(key)),
                ProtocolIdentifier => c.put_uint(Some(self.protocol.into()), len_of(key)),
                PacketDeltaCount => c.put_uint(Some(self.packets), len_of(key)),
                OctetDeltaCount => c.put_uint(Some(self.bytes), len_of(key)),
                FlowStartMilliseconds => c.put_uint(Some(self.start_ms), len_of(key)),
                FlowEndMilliseconds => c.put_uint(Some(self.end_ms), len_of(key)),
                ForwardingStatus => c.put_uint(Some(self.forwarding_status.into()), len_of(key)),
                IpVersion => c.put_uint(Some(4), len_of(key)),
                IngressInterface => c.put_uint(Some(self.if_index.into()), len_of(key)),
                EgressInterface => c.put_uint(Some(0), len_of(key)),
                InterfaceName => c.put_ascii(self.interface_name),
                AwsAccountId => c.put_ascii(self.account_id),
                ExporterIPv4Address => c.put_array(
                    self.exporter_ipv4
                        .or(default_exporter)
                        .map_or([0; 4], |a| a.octets()),
                ),
                // Not in a basic record's mask: written as absent, as the general encoder does.
                other if len_of(other) == VARLEN => c.put_array([0]),
                other => c.zeros(usize::from(len_of(other))),
            }?;
        }
        Ok(c.pos())
    }

    #[inline(always)]
    fn interface(&self) -> Option<(u32, &[u8])> {
        Some((self.if_index, self.interface_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfix::record::synthetic_if_index;
    use crate::ipfix::writer::encode_fields;

    fn basic(exporter: Option<Ipv4Addr>) -> BasicRecord<'static> {
        BasicRecord {
            src_addr: Ipv4Addr::new(172, 31, 16, 139),
            dst_addr: Ipv4Addr::new(172, 31, 16, 21),
            src_port: 20641,
            dst_port: 22,
            protocol: 6,
            packets: 20,
            bytes: 4249,
            start_ms: 1_418_530_010_000,
            end_ms: 1_418_530_070_000,
            forwarding_status: FORWARDING_ACCEPT,
            interface_name: b"eni-1235b8ca123456789",
            if_index: synthetic_if_index("eni-1235b8ca123456789"),
            account_id: b"123456789010",
            exporter_ipv4: exporter,
        }
    }

    /// Same mask and same bytes as the general record of the same flow, with and without an
    /// exporter address (the record's own or the domain's), for extreme values too.
    #[test]
    fn encodes_like_the_general_record() {
        let ip = Ipv4Addr::new(10, 255, 0, 7);
        let mut cases = Vec::new();
        for own in [None, Some(ip)] {
            cases.push(basic(own));
            cases.push(BasicRecord {
                src_port: u16::MAX,
                dst_port: 0,
                protocol: u8::MAX,
                packets: u64::MAX,
                bytes: 0,
                start_ms: u64::MAX / 1000 * 1000,
                end_ms: 0,
                forwarding_status: FORWARDING_REJECT,
                account_id: b"",
                ..basic(own)
            });
            let long = "x".repeat(300);
            cases.push(BasicRecord {
                interface_name: Box::leak(long.into_bytes().into_boxed_slice()),
                ..basic(own)
            });
        }
        for rec in &cases {
            let general = rec.to_export_record();
            for default in [None, Some(Ipv4Addr::new(10, 255, 0, 1))] {
                let mask = DataRecord::field_mask(rec, default.is_some());
                assert_eq!(mask, general.field_mask(default.is_some()));
                let keys: Vec<IeKey> = mask.keys().collect();
                let (mut a, mut b) = ([0u8; 1500], [0u8; 1500]);
                let la = rec.encode_fields(mask, &keys, default, &mut a).unwrap();
                let lb = encode_fields(&general, &keys, default, &mut b).unwrap();
                assert_eq!(a[..la], b[..lb], "{rec:?} default {default:?}");
                assert_eq!(rec.interface(), DataRecord::interface(&general));
            }
        }
    }

    /// The straight-line encoder writes each field in its element's length and the fields in
    /// the order of the element table (the order of a template's keys).
    #[test]
    fn straight_order_and_lengths_are_the_tables() {
        use crate::ipfix::ie::ELEMENTS;
        let keys: Vec<IeKey> = FieldMask(MASK).keys().collect();
        assert_eq!(keys, FIELDS);
        let lens: Vec<u16> = FIELDS.iter().map(|k| ELEMENTS[*k as usize].len).collect();
        assert_eq!(
            lens,
            [4, 4, 2, 2, 1, 8, 8, 8, 8, 1, 1, 4, 4, VARLEN, VARLEN]
        );
        let with: Vec<IeKey> = FieldMask(MASK | EXPORTER).keys().collect();
        assert_eq!(
            with[with.len() - 2..],
            [IeKey::ExporterIPv4Address, IeKey::AwsAccountId]
        );
    }

    /// A template from another record's mask (a key the basic record lacks) is written as the
    /// general encoder writes an absent member; a buffer too small is `Full`, never a panic.
    #[test]
    fn foreign_keys_and_small_buffers() {
        let rec = basic(None);
        let keys = [
            IeKey::SourceIPv4Address,
            IeKey::TcpControlBits,
            IeKey::VpcId,
        ];
        let foreign = FieldMask(keys.iter().fold(0, |m, k| m | 1 << *k as u32));
        assert_eq!(foreign.keys().collect::<Vec<_>>(), keys);
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        let la = rec.encode_fields(foreign, &keys, None, &mut a).unwrap();
        let lb = encode_fields(&rec.to_export_record(), &keys, None, &mut b).unwrap();
        assert_eq!(a[..la], b[..lb]);
        let mask = DataRecord::field_mask(&rec, false);
        let keys: Vec<IeKey> = mask.keys().collect();
        for size in 0..40 {
            let mut small = vec![0u8; size];
            assert_eq!(rec.encode_fields(mask, &keys, None, &mut small), Err(Full));
        }
    }
}
