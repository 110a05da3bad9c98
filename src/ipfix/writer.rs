//! Writes IPFIX messages (RFC 7011) directly into caller-owned, preallocated buffers.
//!
//! The caller (the exporter) owns a pool of `max_packet_size` buffers and keeps one
//! [`MessageState`] per open message; everything written is bounds-checked against the buffer,
//! so a message can never exceed it. Every write is all-or-nothing: on [`Full`] the state is
//! unchanged and the caller closes the message and retries in a fresh one. Data records are
//! encoded once into a scratch buffer with [`encode_fields`] (the template's element list,
//! worked out when the template was made) or [`encode_record`] (a field mask) and then copied
//! into each collector's message, which also gives their exact length before anything is
//! committed. Each element is written straight from its `ExportRecord` member by an arm
//! generated from the member list, fixed-size values as single stores.
//!
//! ```text
//!  begin ──► [write_template | write_record]* ──► finish(export_time) ──► bytes[..len]
//!            (a Template Set is opened before data that needs it; a set of another id
//!             closes the previous one, padding it to 4 octets when RFC 7011 §3.3.1 allows)
//! ```
//!
//! Encoding rules: unsigned integers in the element's (possibly reduced, §6.2) length;
//! addresses as 4/16 octets; strings as variable-length fields with the 1-octet length prefix
//! below 255 octets and 255 + u16 otherwise (§7), truncated at a UTF-8 boundary when longer
//! than 65535 octets.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use super::ie::{ELEMENTS, IeKey, VARLEN};
use super::record::{ExportRecord, member_map};
use super::template::{FieldMask, IF_NAME_LEN, Template};
use super::wire::{
    HeaderRepr, MESSAGE_HEADER_LEN, MessageHeader, OPTIONS_TEMPLATE_SET_ID, SET_HEADER_LEN,
    SetHeader, SetRepr, TEMPLATE_SET_ID,
};

/// RFC 7011 §7: the longest value a variable-length field can carry.
pub const MAX_VARLEN: usize = 65_535;
/// RFC 7011 §7: values of this many octets or more take the 3-octet length prefix.
const LONG_VARLEN: usize = 255;
/// Smallest record in a Template Set: a 4-octet header and one 4-octet field specifier.
const MIN_TEMPLATE_RECORD: usize = 8;

/// Not enough room left in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

impl fmt::Display for Full {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IPFIX message buffer full")
    }
}

impl std::error::Error for Full {}

/// The message header's Export Time: seconds since the epoch, modulo 2^32 (RFC 7011 §3.1);
/// 0 for a clock before 1970.
pub fn export_time(wall: SystemTime) -> u32 {
    wall.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// The longest prefix of `s` of at most `max` octets that ends on a character boundary.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// A bounds-checked writer over a byte slice.
pub(super) struct Cursor<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    pub(super) fn new(buf: &'a mut [u8]) -> Cursor<'a> {
        Cursor { buf, pos: 0 }
    }

    /// Octets written.
    #[inline(always)]
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    fn put(&mut self, b: &[u8]) -> Result<(), Full> {
        let end = self.pos + b.len();
        self.buf
            .get_mut(self.pos..end)
            .ok_or(Full)?
            .copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    /// A fixed-size part: one store instead of a `memcpy` call.
    #[inline(always)]
    pub(super) fn put_array<const N: usize>(&mut self, b: [u8; N]) -> Result<(), Full> {
        let end = self.pos + N;
        let dst: &mut [u8; N] = self
            .buf
            .get_mut(self.pos..end)
            .and_then(|d| d.try_into().ok())
            .ok_or(Full)?;
        *dst = b;
        self.pos = end;
        Ok(())
    }

    /// An unsigned integer in the element's `len` octets (RFC 7011 §6.2 reduced size; `len`
    /// is a constant of the element table, so this folds to one store). Absent: zeros.
    #[inline(always)]
    pub(super) fn put_uint(&mut self, v: Option<u64>, len: u16) -> Result<(), Full> {
        let b = v.unwrap_or(0).to_be_bytes();
        match len {
            1 => self.put_array([b[7]]),
            2 => self.put_array([b[6], b[7]]),
            4 => self.put_array([b[4], b[5], b[6], b[7]]),
            8 => self.put_array(b),
            n => self.put(
                b.get(8usize.saturating_sub(usize::from(n))..)
                    .unwrap_or(&[]),
            ),
        }
    }

    #[inline]
    pub(super) fn put_str(&mut self, s: &str) -> Result<(), Full> {
        let s = truncate_utf8(s, MAX_VARLEN).as_bytes();
        if s.len() < LONG_VARLEN {
            self.put_array([s.len() as u8])?;
        } else {
            let l = (s.len() as u16).to_be_bytes();
            self.put_array([255, l[0], l[1]])?;
        }
        self.put(s)
    }

    /// A string field of ASCII bytes (a longer one than a field can carry is cut: any cut of
    /// ASCII is a character boundary).
    #[inline]
    pub(super) fn put_ascii(&mut self, s: &[u8]) -> Result<(), Full> {
        let s = s.get(..MAX_VARLEN).unwrap_or(s);
        if s.len() < LONG_VARLEN {
            self.put_array([s.len() as u8])?;
        } else {
            let l = (s.len() as u16).to_be_bytes();
            self.put_array([255, l[0], l[1]])?;
        }
        self.put(s)
    }

    /// A string field; absent (a mask from another record): an empty value.
    #[inline(always)]
    pub(super) fn put_opt_str(&mut self, s: Option<&str>) -> Result<(), Full> {
        match s {
            Some(s) => self.put_str(s),
            None => self.put_array([0]),
        }
    }

    #[inline(always)]
    pub(super) fn put_v4(&mut self, a: Option<IpAddr>) -> Result<(), Full> {
        match a {
            Some(IpAddr::V4(a)) => self.put_array(a.octets()),
            _ => self.put_array([0; 4]),
        }
    }

    #[inline(always)]
    pub(super) fn put_v6(&mut self, a: Option<IpAddr>) -> Result<(), Full> {
        match a {
            Some(IpAddr::V6(a)) => self.put_array(a.octets()),
            _ => self.put_array([0; 16]),
        }
    }

    pub(super) fn zeros(&mut self, n: usize) -> Result<(), Full> {
        let end = self.pos + n;
        self.buf.get_mut(self.pos..end).ok_or(Full)?.fill(0);
        self.pos = end;
        Ok(())
    }
}

/// The Field Length of an element (a constant: `ELEMENTS` is an immutable static).
#[inline(always)]
pub(super) fn len_of(key: IeKey) -> u16 {
    ELEMENTS[key as usize].len
}

// One `match` arm per data element, generated from the member list of `ExportRecord`, each
// writing its member straight into the record: no `FieldValue` in between, fixed-size parts
// as single stores.
macro_rules! gen_encode_field {
    (num { $($n:ident => $nk:ident),* $(,)? } str { $($s:ident => $sk:ident),* $(,)? }) => {
        /// Writes element `key` of `rec`. An absent value (a mask from another record) is
        /// written as zeros / an empty string, which keeps the record aligned with its template.
        #[inline(always)]
        fn encode_field(
            rec: &ExportRecord<'_>,
            key: IeKey,
            default_exporter: Option<Ipv4Addr>,
            c: &mut Cursor<'_>,
        ) -> Result<(), Full> {
            use IeKey::*;
            match key {
                SourceIPv4Address => c.put_v4(rec.src_addr),
                DestinationIPv4Address => c.put_v4(rec.dst_addr),
                SourceIPv6Address => c.put_v6(rec.src_addr),
                DestinationIPv6Address => c.put_v6(rec.dst_addr),
                VpcInterfaceSrcIPv4Address => c.put_v4(rec.eni_src_addr),
                VpcInterfaceDstIPv4Address => c.put_v4(rec.eni_dst_addr),
                VpcInterfaceSrcIPv6Address => c.put_v6(rec.eni_src_addr),
                VpcInterfaceDstIPv6Address => c.put_v6(rec.eni_dst_addr),
                ExporterIPv4Address => c.put_array(
                    rec.exporter_ipv4
                        .or(default_exporter)
                        .map_or([0; 4], |a| a.octets()),
                ),
                $( $nk => c.put_uint(rec.$n.map(u64::from), len_of($nk)), )*
                $( $sk => c.put_opt_str(rec.$s), )*
                // Options-only elements have no member (and no mask bit).
                other if len_of(other) == VARLEN => c.put_array([0]),
                other => c.zeros(usize::from(len_of(other))),
            }
        }
    };
}

member_map!(gen_encode_field);

/// Encodes the fields of `mask` (in template order) from `rec` into `out`; returns the record
/// length. `default_exporter` is sent as exporterIPv4Address when the record has none.
pub fn encode_record(
    rec: &ExportRecord<'_>,
    mask: FieldMask,
    default_exporter: Option<Ipv4Addr>,
    out: &mut [u8],
) -> Result<usize, Full> {
    let mut c = Cursor { buf: out, pos: 0 };
    for key in mask.keys() {
        encode_field(rec, key, default_exporter, &mut c)?;
    }
    Ok(c.pos)
}

/// [`encode_record`] for a template's own element list (`Template::keys`, the keys of its
/// mask in order): the per-record path of the exporter.
#[inline]
pub fn encode_fields(
    rec: &ExportRecord<'_>,
    keys: &[IeKey],
    default_exporter: Option<Ipv4Addr>,
    out: &mut [u8],
) -> Result<usize, Full> {
    let mut c = Cursor { buf: out, pos: 0 };
    for &key in keys {
        encode_field(rec, key, default_exporter, &mut c)?;
    }
    Ok(c.pos)
}

/// Encodes an options record of the domain-names template: (observationDomainId, name).
pub fn encode_domain_name(domain_id: u32, name: &str, out: &mut [u8]) -> Result<usize, Full> {
    let mut c = Cursor { buf: out, pos: 0 };
    c.put(&domain_id.to_be_bytes())?;
    c.put_str(name)?;
    Ok(c.pos)
}

/// Encodes an options record of the interface-names template: (observationDomainId,
/// ingressInterface, interfaceName, interfaceDescription), the strings fixed at
/// [`IF_NAME_LEN`] octets, NUL-padded and cut at a character boundary.
pub fn encode_interface_name(
    domain_id: u32,
    if_index: u32,
    name: &str,
    description: &str,
    out: &mut [u8],
) -> Result<usize, Full> {
    let mut c = Cursor { buf: out, pos: 0 };
    c.put(&domain_id.to_be_bytes())?;
    c.put(&if_index.to_be_bytes())?;
    for s in [name, description] {
        let s = truncate_utf8(s, usize::from(IF_NAME_LEN));
        c.put(s.as_bytes())?;
        c.zeros(usize::from(IF_NAME_LEN) - s.len())?;
    }
    Ok(c.pos)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenSet {
    start: usize,
    set_id: u16,
    /// Padding must stay shorter than this (RFC 7011 §3.3.1).
    min_record_len: usize,
}

/// One message being written into a buffer: its length so far and its open set. `Copy`, so a
/// caller can snapshot it before a compound write and restore it on [`Full`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageState {
    len: usize,
    set: Option<OpenSet>,
}

impl MessageState {
    /// Starts a message: header with `domain_id` and `sequence` (data records sent in this
    /// session before this message); length and export time are written by [`finish`].
    ///
    /// [`finish`]: MessageState::finish
    pub fn begin(buf: &mut [u8], domain_id: u32, sequence: u32) -> Result<MessageState, Full> {
        if buf.len() < MESSAGE_HEADER_LEN {
            return Err(Full);
        }
        let h = HeaderRepr {
            length: MESSAGE_HEADER_LEN as u16,
            export_time: 0,
            sequence,
            domain_id,
        };
        h.emit(&mut MessageHeader::new_unchecked(&mut *buf));
        Ok(MessageState {
            len: MESSAGE_HEADER_LEN,
            set: None,
        })
    }

    /// Octets written so far (without the padding `finish` may add).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing but the header.
    pub fn is_empty(&self) -> bool {
        self.len == MESSAGE_HEADER_LEN
    }

    /// Appends a template record, in a Template Set (2) or Options Template Set (3).
    pub fn write_template(&mut self, buf: &mut [u8], t: &Template) -> Result<(), Full> {
        let set_id = if t.kind.is_options() {
            OPTIONS_TEMPLATE_SET_ID
        } else {
            TEMPLATE_SET_ID
        };
        self.append(buf, set_id, MIN_TEMPLATE_RECORD, &t.record)
    }

    /// Appends an encoded data record of template `t` to a Data Set with Set ID `t.id` (a set
    /// of its own when `t.one_record_per_set`).
    pub fn write_record(
        &mut self,
        buf: &mut [u8],
        t: &Template,
        record: &[u8],
    ) -> Result<(), Full> {
        let alone = t.one_record_per_set;
        let before = *self;
        if alone {
            self.close_set(buf);
        }
        let r = self.append(buf, t.id, t.min_record_len, record);
        match r {
            Ok(()) if alone => self.close_set(buf),
            Ok(()) => {}
            Err(Full) => *self = before,
        }
        r
    }
    /// Closes the open set and writes length and export time; returns the message length.
    pub fn finish(&mut self, buf: &mut [u8], export_time: u32) -> usize {
        self.close_set(buf);
        let mut h = MessageHeader::new_unchecked(&mut *buf);
        h.set_length(self.len as u16);
        h.set_export_time(export_time);
        self.len
    }

    fn append(
        &mut self,
        buf: &mut [u8],
        set_id: u16,
        min_record_len: usize,
        bytes: &[u8],
    ) -> Result<(), Full> {
        let before = *self;
        if self.set.is_none_or(|s| s.set_id != set_id) {
            self.close_set(buf);
            let start = self.len;
            if start + SET_HEADER_LEN + bytes.len() > buf.len() {
                *self = before;
                return Err(Full);
            }
            self.set = Some(OpenSet {
                start,
                set_id,
                min_record_len,
            });
            self.len += SET_HEADER_LEN;
        }
        let end = self.len + bytes.len();
        match buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len = end;
                Ok(())
            }
            None => {
                *self = before;
                Err(Full)
            }
        }
    }

    /// Pads the open set to 4 octets when the padding is shorter than any record of the set
    /// and fits, then writes its header.
    fn close_set(&mut self, buf: &mut [u8]) {
        let Some(s) = self.set.take() else { return };
        let pad = (4 - (self.len - s.start) % 4) % 4;
        if pad > 0
            && pad < s.min_record_len
            && let Some(p) = buf.get_mut(self.len..self.len + pad)
        {
            p.fill(0);
            self.len += pad;
        }
        if let Some(h) = buf.get_mut(s.start..) {
            let repr = SetRepr {
                set_id: s.set_id,
                length: (self.len - s.start) as u16,
            };
            repr.emit(&mut SetHeader::new_unchecked(h));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfix::ie::DOCUMENTATION_PEN;
    use crate::ipfix::record::{
        DIRECTION_EGRESS, DIRECTION_INGRESS, FORWARDING_ACCEPT, FORWARDING_REJECT,
    };
    use crate::ipfix::template::TemplateCache;

    const MSG1: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/ipfix/msg1-template+2records.bin"
    ));
    const MSG2: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/ipfix/msg2-1record-seq2.bin"
    ));

    /// The three records of shared/reference/gen/ipfix_fixture.py, as a mapper would fill them
    /// (the fixture sends `-` strings as empty strings; ifIndex = its CRC32 example, 0x5c6abd).
    pub(crate) fn fixture_records() -> [ExportRecord<'static>; 3] {
        let base = ExportRecord {
            src_addr: Some("10.0.1.5".parse().unwrap()),
            dst_addr: Some("52.95.128.179".parse().unwrap()),
            src_port: Some(34210),
            dst_port: Some(443),
            protocol: Some(6),
            tcp_flags: Some(3),
            packets: Some(7),
            bytes: Some(471),
            start_ms: Some(1_768_478_340_000),
            end_ms: Some(1_768_478_399_000),
            flow_direction: Some(DIRECTION_EGRESS),
            forwarding_status: Some(FORWARDING_ACCEPT),
            ip_version: Some(4),
            ingress_interface: Some(0),
            egress_interface: Some(0x005c_6abd),
            interface_name: Some("eni-0123456789abcdef0"),
            account_id: Some("123456789012"),
            vpc_id: Some("vpc-0a1b2c3d4e5f60718"),
            subnet_id: Some("subnet-0a1b2c3d4e5f60001"),
            instance_id: Some("i-0123456789abcdef0"),
            traffic_path: Some(8),
            region: Some("us-east-1"),
            az_id: Some("use1-az6"),
            pkt_src_aws_service: Some(""),
            pkt_dst_aws_service: Some("S3"),
            ..Default::default()
        };
        let back = ExportRecord {
            src_addr: base.dst_addr,
            dst_addr: base.src_addr,
            src_port: Some(443),
            dst_port: Some(34210),
            tcp_flags: Some(19),
            packets: Some(14),
            bytes: Some(15044),
            flow_direction: Some(DIRECTION_INGRESS),
            ingress_interface: Some(0x005c_6abd),
            egress_interface: Some(0),
            traffic_path: Some(0),
            pkt_src_aws_service: Some("S3"),
            pkt_dst_aws_service: Some(""),
            ..base
        };
        let reject = ExportRecord {
            src_addr: Some("198.51.100.7".parse().unwrap()),
            dst_addr: Some("10.0.1.5".parse().unwrap()),
            src_port: Some(44567),
            dst_port: Some(22),
            tcp_flags: Some(2),
            packets: Some(5),
            bytes: Some(300),
            start_ms: Some(1_768_478_345_000),
            forwarding_status: Some(FORWARDING_REJECT),
            pkt_src_aws_service: Some(""),
            ..back
        };
        [base, back, reject]
    }

    /// A field specifier: (element id, enterprise?, length).
    type Spec = (u16, bool, u16);

    fn be16(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    /// The reference message as we send it: tcpControlBits (IE 6) in 1 octet, the reduced size
    /// RFC 7011 §6.2 allows (the fixture sends 2; pmacct reads only 1). Walks the fixture by
    /// its own template set (or `template` for a message without one): the specifier's length
    /// becomes 1 and each data record loses the high octet (0 for every VPC flag set); set and
    /// message lengths follow, and a data set is padded to 4 octets (RFC 7011 §3.3.1) as
    /// ours are when no record could be that short. Everything else stays the fixture's bytes.
    fn with_one_octet_tcp_flags(msg: &[u8], mut template: Vec<Spec>) -> (Vec<u8>, Vec<Spec>) {
        let mut out = msg[..16].to_vec();
        let mut pos = 16;
        while pos < msg.len() {
            let (set_id, set_len) = (be16(msg, pos), usize::from(be16(msg, pos + 2)));
            let body = &msg[pos + 4..pos + set_len];
            let mut set = Vec::new();
            if set_id == 2 {
                set.extend_from_slice(&body[..4]);
                template.clear();
                let mut p = 4;
                for _ in 0..be16(body, 2) {
                    let (id, len) = (be16(body, p), be16(body, p + 2));
                    let ent = id & 0x8000 != 0;
                    let len = if !ent && id == 6 && len == 2 { 1 } else { len };
                    set.extend_from_slice(&id.to_be_bytes());
                    set.extend_from_slice(&len.to_be_bytes());
                    p += 4;
                    if ent {
                        set.extend_from_slice(&body[p..p + 4]);
                        p += 4;
                    }
                    template.push((id & 0x7fff, ent, len));
                }
                assert_eq!(p, body.len(), "one template record");
            } else {
                assert_eq!(set_id, 256);
                let mut p = 0;
                while p < body.len() {
                    for &(id, ent, len) in &template {
                        if len == VARLEN {
                            let (head, n) = match body[p] {
                                255 => (3, usize::from(be16(body, p + 1))),
                                n => (1, usize::from(n)),
                            };
                            set.extend_from_slice(&body[p..p + head + n]);
                            p += head + n;
                        } else if !ent && id == 6 {
                            assert_eq!(body[p], 0, "flags fit one octet");
                            set.push(body[p + 1]);
                            p += 2;
                        } else {
                            set.extend_from_slice(&body[p..p + usize::from(len)]);
                            p += usize::from(len);
                        }
                    }
                }
                while (4 + set.len()) % 4 != 0 {
                    set.push(0);
                }
            }
            out.extend_from_slice(&set_id.to_be_bytes());
            out.extend_from_slice(&u16::try_from(4 + set.len()).unwrap().to_be_bytes());
            out.extend_from_slice(&set);
            pos += set_len;
        }
        let total = u16::try_from(out.len()).unwrap().to_be_bytes();
        out[2..4].copy_from_slice(&total);
        (out, template)
    }

    #[test]
    fn writes_the_reference_message_byte_for_byte() {
        let (msg1, template) = with_one_octet_tcp_flags(MSG1, Vec::new());
        assert!(template.contains(&(6, false, 1)));
        let (msg2, _) = with_one_octet_tcp_flags(MSG2, template);
        let recs = fixture_records();
        let mut cache = TemplateCache::new(DOCUMENTATION_PEN);
        let mask = recs[0].field_mask(false);
        let i = cache.for_mask(mask).unwrap();
        let t = cache.get(i).unwrap().clone();
        let mut buf = vec![0u8; 1400];
        let mut scratch = [0u8; 1400];
        let mut m = MessageState::begin(&mut buf, 1, 0).unwrap();
        m.write_template(&mut buf, &t).unwrap();
        for r in &recs[..2] {
            assert_eq!(r.field_mask(false), mask);
            let n = encode_record(r, mask, None, &mut scratch).unwrap();
            m.write_record(&mut buf, &t, &scratch[..n]).unwrap();
        }
        let len = m.finish(&mut buf, 1_768_478_700);
        assert_eq!(&buf[..len], &msg1[..]);

        let mut m = MessageState::begin(&mut buf, 1, 2).unwrap();
        let n = encode_record(&recs[2], mask, None, &mut scratch).unwrap();
        m.write_record(&mut buf, &t, &scratch[..n]).unwrap();
        let len = m.finish(&mut buf, 1_768_478_701);
        assert_eq!(&buf[..len], &msg2[..]);
    }

    #[test]
    fn varlen_forms_and_truncation() {
        let mut out = vec![0u8; 70_000];
        let short = "a".repeat(254);
        let n = encode_domain_name(1, &short, &mut out).unwrap();
        assert_eq!((n, out[4]), (4 + 1 + 254, 254));
        let long = "b".repeat(255);
        let n = encode_domain_name(1, &long, &mut out).unwrap();
        assert_eq!((n, &out[4..7]), (4 + 3 + 255, &[255u8, 0, 255][..]));
        // 65535 octets fit; one more multi-byte character is cut at its boundary.
        let huge = format!("{}é", "c".repeat(65_534));
        assert_eq!(truncate_utf8(&huge, MAX_VARLEN).len(), 65_534);
        let n = encode_domain_name(1, &huge, &mut out).unwrap();
        assert_eq!((n, &out[4..7]), (4 + 3 + 65_534, &[255u8, 0xff, 0xfe][..]));
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("", 0), "");
    }

    #[test]
    fn writes_are_all_or_nothing() {
        let mut cache = TemplateCache::new(DOCUMENTATION_PEN);
        let i = cache.domain_names().unwrap();
        let t = cache.get(i).unwrap().clone();
        let mut buf = [0u8; 40];
        let mut m = MessageState::begin(&mut buf, 9, 0).unwrap();
        m.write_template(&mut buf, &t).unwrap(); // 16 + 4 + 14 = 34
        let before = m;
        assert_eq!(
            m.write_record(&mut buf, &t, &[1, 2, 3]),
            Err(Full),
            "a new set header + 3 > 40"
        );
        assert_eq!(m, before);
        let len = m.finish(&mut buf, 5);
        // Options template record 14 octets → padded by 2 (< 8) to 36.
        assert_eq!((len, u16::from_be_bytes([buf[18], buf[19]])), (36, 20));
        assert!(MessageState::begin(&mut [0u8; 15], 0, 0).is_err());
    }

    #[test]
    fn no_padding_when_a_record_could_be_that_short() {
        // A template whose minimum record is 1 octet (protocol only): padding must stay < 1.
        let mut cache = TemplateCache::new(DOCUMENTATION_PEN);
        let rec = ExportRecord {
            protocol: Some(17),
            ..Default::default()
        };
        let mask = rec.field_mask(false);
        let i = cache.for_mask(mask).unwrap();
        let t = cache.get(i).unwrap().clone();
        let mut buf = [0u8; 64];
        let mut m = MessageState::begin(&mut buf, 1, 0).unwrap();
        m.write_record(&mut buf, &t, &[17]).unwrap();
        assert_eq!(m.finish(&mut buf, 0), 16 + 4 + 1);
    }

    #[test]
    fn interface_names_travel_one_per_set_with_fixed_nul_padded_names() {
        use crate::ipfix::reader::{Reader, Value};
        let mut cache = TemplateCache::new(DOCUMENTATION_PEN);
        let i = cache.interface_names().unwrap();
        let t = cache.get(i).unwrap().clone();
        let mut buf = [0u8; 400];
        let mut out = [0u8; 100];
        let mut m = MessageState::begin(&mut buf, 1, 0).unwrap();
        m.write_template(&mut buf, &t).unwrap();
        for ix in [7, 8] {
            let n = encode_interface_name(
                1,
                ix,
                "eni-0123456789abcdef0",
                "eni-0123456789abcdef0",
                &mut out,
            )
            .unwrap();
            assert_eq!(n, 4 + 4 + 32 + 32);
            m.write_record(&mut buf, &t, &out[..n]).unwrap();
        }
        let len = m.finish(&mut buf, 0);
        // Header, template set (4 + 22 + 2 padding), two data sets of one record each.
        assert_eq!(len, 16 + 28 + 2 * (4 + 72));
        let msg = Reader::new(DOCUMENTATION_PEN)
            .handle_message("192.0.2.1:1".parse().unwrap(), &buf[..len])
            .unwrap();
        let names: Vec<_> = msg
            .records
            .iter()
            .map(|r| r.get("interfaceName").cloned())
            .collect();
        assert_eq!(
            names,
            vec![Some(Value::String("eni-0123456789abcdef0".into())); 2]
        );
        assert_eq!(
            msg.records[1].get("ingressInterface"),
            Some(&Value::Unsigned(8))
        );
    }

    #[test]
    fn export_time_is_epoch_seconds() {
        use std::time::Duration;
        assert_eq!(
            export_time(UNIX_EPOCH + Duration::from_millis(1_768_478_700_999)),
            1_768_478_700
        );
        assert_eq!(export_time(UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}
