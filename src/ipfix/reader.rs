//! Decodes IPFIX messages: what the `collect` subcommand prints, and how tests look at what
//! the writer produced.
//!
//! A [`Reader`] is a small collecting process (RFC 7011 §9): it keeps Templates and Options
//! Templates per (exporter, observation domain, template id), decodes Data Sets with them into
//! typed, named fields ([`DecodedRecord`]), and checks sequence numbers per (exporter, domain),
//! reporting a gap as an [`Event`]. Template withdrawals (TCP) remove templates. Every length
//! is checked before it is used; garbage yields a [`ReadError`], never a panic. Unknown
//! elements decode as bytes. `framer` cuts a TCP
//! byte stream into messages.
//!
//! ```text
//!  bytes ─► header ─► set* ─┬─ 2/3: template records ─► templates[(exporter, odid, id)]
//!                           └─ ≥256: data records ──────► DecodedRecord (needs its template)
//!           sequence check: expected[(exporter, odid)] = seq + data records of this message
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;

use super::ie::{self, DataType, Ie};
use super::wire::{
    FieldSpecRepr, FieldSpecifier, HeaderRepr, MESSAGE_HEADER_LEN, MIN_DATA_SET_ID, MessageHeader,
    OPTIONS_TEMPLATE_SET_ID, SET_HEADER_LEN, SetHeader, SetRepr, TEMPLATE_SET_ID, TemplateRepr,
    WireError,
};

/// A decoded field value, typed by our element table when the element is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Unsigned(u64),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// dateTimeMilliseconds: ms since the epoch.
    DateTimeMs(u64),
    String(String),
    /// Unknown elements, and values whose length does not fit their type.
    Bytes(Vec<u8>),
}

impl Value {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Unsigned(v) | Value::DateTimeMs(v) => serde_json::Value::from(*v),
            Value::Ipv4(a) => serde_json::Value::from(a.to_string()),
            Value::Ipv6(a) => serde_json::Value::from(a.to_string()),
            Value::String(s) => serde_json::Value::from(s.as_str()),
            Value::Bytes(b) => {
                serde_json::Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>())
            }
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(v) | Value::DateTimeMs(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One field of a decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedField {
    pub id: u16,
    pub pen: Option<u32>,
    /// IANA name or ours, when the element is in our table.
    pub name: Option<&'static str>,
    pub value: Value,
}

impl DecodedField {
    /// The name, or `ie<id>` / `<pen>.<id>` for elements we don't know.
    pub fn label(&self) -> String {
        match (self.name, self.pen) {
            (Some(n), _) => n.to_string(),
            (None, None) => format!("ie{}", self.id),
            (None, Some(p)) => format!("{p}.{}", self.id),
        }
    }
}

/// A decoded Data Record (flow or options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedRecord {
    pub domain_id: u32,
    pub template_id: u16,
    /// Scope fields (the first ones) of an options record; 0 for a flow record.
    pub scope_field_count: u16,
    pub fields: Vec<DecodedField>,
}

impl DecodedRecord {
    pub fn is_options(&self) -> bool {
        self.scope_field_count > 0
    }

    /// The first field with this name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|f| f.name == Some(name))
            .map(|f| &f.value)
    }

    /// `{"name": value, …}` in template order.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for f in &self.fields {
            m.insert(f.label(), f.value.to_json());
        }
        serde_json::Value::Object(m)
    }
}

/// Something a collector would log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A template or options template (re)defined.
    Template {
        template_id: u16,
        field_count: u16,
        scope_field_count: u16,
    },
    /// A template withdrawn (TCP only, RFC 7011 §8.1).
    Withdrawn { template_id: u16 },
    /// All templates (`options == false`) or all options templates withdrawn.
    WithdrawnAll { options: bool },
    /// The header's sequence number is not the expected one for this exporter and domain.
    SequenceGap { expected: u32, got: u32 },
    /// A Data Set whose template we don't have (its records cannot be counted either).
    UnknownTemplate { set_id: u16, length: usize },
}

/// One decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub header: HeaderRepr,
    pub records: Vec<DecodedRecord>,
    pub events: Vec<Event>,
}

impl Message {
    pub fn flow_records(&self) -> impl Iterator<Item = &DecodedRecord> {
        self.records.iter().filter(|r| !r.is_options())
    }
    pub fn options_records(&self) -> impl Iterator<Item = &DecodedRecord> {
        self.records.iter().filter(|r| r.is_options())
    }
}

/// A message that breaks RFC 7011.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    Wire(WireError),
    /// Set ids 0, 1 and 4–255 are not used (RFC 7011 §3.3.2).
    ReservedSetId {
        set_id: u16,
        offset: usize,
    },
    /// A template record that does not parse.
    BadTemplate {
        template_id: u16,
        offset: usize,
        reason: &'static str,
    },
    /// A data record that runs past its set.
    TruncatedRecord {
        template_id: u16,
        offset: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Wire(e) => e.fmt(f),
            ReadError::ReservedSetId { set_id, offset } => {
                write!(f, "IPFIX set id {set_id} at offset {offset} is reserved")
            }
            ReadError::BadTemplate {
                template_id,
                offset,
                reason,
            } => {
                write!(
                    f,
                    "bad IPFIX template {template_id} at offset {offset}: {reason}"
                )
            }
            ReadError::TruncatedRecord {
                template_id,
                offset,
            } => {
                write!(
                    f,
                    "IPFIX data record of template {template_id} at offset {offset} runs past its set"
                )
            }
        }
    }
}

impl std::error::Error for ReadError {}

impl From<WireError> for ReadError {
    fn from(e: WireError) -> Self {
        ReadError::Wire(e)
    }
}

#[derive(Clone, Debug)]
struct FieldDef {
    id: u16,
    pen: Option<u32>,
    length: u16,
    ie: Option<&'static Ie>,
}

#[derive(Debug)]
struct TemplateDef {
    fields: Vec<FieldDef>,
    scope_field_count: u16,
    /// Shortest possible record: anything shorter left in a set is padding.
    min_len: usize,
}

type DomainKey = (SocketAddr, u32);

/// Bounds the reader's memory against a peer that sends endless templates or domains.
pub const MAX_TEMPLATES_HELD: usize = 65_536;
const MAX_DOMAINS_TRACKED: usize = 65_536;

/// Collector-side state: templates and expected sequence numbers.
#[derive(Debug)]
pub struct Reader {
    pen: u32,
    templates: HashMap<(SocketAddr, u32, u16), Rc<TemplateDef>>,
    expected: HashMap<DomainKey, u32>,
}

impl Reader {
    /// `pen`: the enterprise number whose elements are ours (named from our table).
    pub fn new(pen: u32) -> Self {
        Reader {
            pen,
            templates: HashMap::new(),
            expected: HashMap::new(),
        }
    }

    /// Number of templates held (all exporters and domains).
    pub fn template_count(&self) -> usize {
        self.templates.len()
    }

    /// Decodes one message from `exporter` (the transport session's peer). Templates defined
    /// in the message before an error are kept.
    pub fn handle_message(
        &mut self,
        exporter: SocketAddr,
        bytes: &[u8],
    ) -> Result<Message, ReadError> {
        let header = HeaderRepr::parse(&MessageHeader::new_checked(bytes)?)?;
        let msg = bytes.get(..usize::from(header.length)).unwrap_or(bytes);
        let odid = header.domain_id;
        let mut out = Message {
            header,
            records: Vec::new(),
            events: Vec::new(),
        };
        let key = (exporter, odid);
        if let Some(&expected) = self.expected.get(&key)
            && expected != header.sequence
        {
            out.events.push(Event::SequenceGap {
                expected,
                got: header.sequence,
            });
        }
        let mut counted = true;
        let mut pos = MESSAGE_HEADER_LEN;
        while pos < msg.len() {
            let rest = msg.get(pos..).unwrap_or(&[]);
            let set = SetRepr::parse(&SetHeader::new_checked(rest)?)?;
            let body = rest
                .get(SET_HEADER_LEN..usize::from(set.length))
                .unwrap_or(&[]);
            let body_at = pos + SET_HEADER_LEN;
            match set.set_id {
                TEMPLATE_SET_ID | OPTIONS_TEMPLATE_SET_ID => {
                    self.read_templates(exporter, odid, set.set_id, body, body_at, &mut out.events)?
                }
                id if id >= MIN_DATA_SET_ID => {
                    match self.templates.get(&(exporter, odid, id)).cloned() {
                        Some(t) => read_data(&t, odid, id, body, body_at, &mut out.records)?,
                        None => {
                            counted = false;
                            out.events.push(Event::UnknownTemplate {
                                set_id: id,
                                length: body.len(),
                            });
                        }
                    }
                }
                id => {
                    return Err(ReadError::ReservedSetId {
                        set_id: id,
                        offset: pos,
                    });
                }
            }
            pos += usize::from(set.length);
        }
        if self.expected.len() >= MAX_DOMAINS_TRACKED && !self.expected.contains_key(&key) {
            // Forget old expectations rather than grow without bound.
            self.expected.clear();
        }
        if counted {
            self.expected
                .insert(key, header.sequence.wrapping_add(out.records.len() as u32));
        } else {
            // Records we could not decode cannot be counted: no expectation for the next one.
            self.expected.remove(&key);
        }
        Ok(out)
    }

    fn read_templates(
        &mut self,
        exporter: SocketAddr,
        odid: u32,
        set_id: u16,
        body: &[u8],
        body_at: usize,
        events: &mut Vec<Event>,
    ) -> Result<(), ReadError> {
        let options = set_id == OPTIONS_TEMPLATE_SET_ID;
        let mut pos = 0;
        // Anything shorter than a withdrawal record (4 octets) is padding.
        while body.len() - pos >= 4 {
            let offset = body_at + pos;
            let rec = body.get(pos..).unwrap_or(&[]);
            let t = TemplateRepr::parse(rec, options)?;
            let bad = |reason| ReadError::BadTemplate {
                template_id: t.template_id,
                offset,
                reason,
            };
            if t.field_count == 0 {
                if t.template_id == set_id {
                    self.templates.retain(|(e, d, _), def| {
                        !(*e == exporter && *d == odid && (def.scope_field_count > 0) == options)
                    });
                    events.push(Event::WithdrawnAll { options });
                } else if t.template_id >= MIN_DATA_SET_ID {
                    self.templates.remove(&(exporter, odid, t.template_id));
                    events.push(Event::Withdrawn {
                        template_id: t.template_id,
                    });
                } else {
                    return Err(bad("withdrawal of a reserved id"));
                }
                pos += 4;
                continue;
            }
            if t.template_id < MIN_DATA_SET_ID {
                return Err(bad("template id below 256"));
            }
            let scope = t.scope_field_count.unwrap_or(0);
            if options && (scope == 0 || scope > t.field_count) {
                return Err(bad("scope field count must be 1..=field count"));
            }
            pos += t.buffer_len();
            let mut fields = Vec::with_capacity(usize::from(t.field_count));
            let mut min_len = 0usize;
            for _ in 0..t.field_count {
                let spec = FieldSpecifier::new_checked(body.get(pos..).unwrap_or(&[]))
                    .and_then(|f| FieldSpecRepr::parse(&f))
                    .map_err(|_| bad("field specifiers run past the set"))?;
                pos += spec.buffer_len();
                min_len += if spec.length == ie::VARLEN {
                    1
                } else {
                    usize::from(spec.length)
                };
                let ie = ie::lookup(spec.id, spec.pen, self.pen);
                fields.push(FieldDef {
                    id: spec.id,
                    pen: spec.pen,
                    length: spec.length,
                    ie,
                });
            }
            let key = (exporter, odid, t.template_id);
            if self.templates.len() >= MAX_TEMPLATES_HELD && !self.templates.contains_key(&key) {
                return Err(bad("too many templates held"));
            }
            let def = TemplateDef {
                fields,
                scope_field_count: scope,
                min_len,
            };
            self.templates.insert(key, Rc::new(def));
            events.push(Event::Template {
                template_id: t.template_id,
                field_count: t.field_count,
                scope_field_count: scope,
            });
        }
        Ok(())
    }
}

fn read_data(
    t: &TemplateDef,
    odid: u32,
    template_id: u16,
    body: &[u8],
    body_at: usize,
    out: &mut Vec<DecodedRecord>,
) -> Result<(), ReadError> {
    let mut pos = 0;
    // RFC 7011 §3.3.1: what is left that is shorter than any record is padding.
    while body.len() - pos >= t.min_len.max(1) {
        let start = pos;
        let truncated = ReadError::TruncatedRecord {
            template_id,
            offset: body_at + start,
        };
        let mut fields = Vec::with_capacity(t.fields.len());
        for f in &t.fields {
            let len = if f.length == ie::VARLEN {
                let first = *body.get(pos).ok_or(truncated.clone())?;
                pos += 1;
                if first < 255 {
                    usize::from(first)
                } else {
                    let b = body.get(pos..pos + 2).ok_or(truncated.clone())?;
                    pos += 2;
                    usize::from(u16::from_be_bytes([b[0], b[1]]))
                }
            } else {
                usize::from(f.length)
            };
            let raw = body.get(pos..pos + len).ok_or(truncated.clone())?;
            pos += len;
            fields.push(DecodedField {
                id: f.id,
                pen: f.pen,
                name: f.ie.map(|i| i.name),
                value: decode_value(f.ie, raw),
            });
        }
        if pos == start {
            break; // a template whose records are empty would loop forever
        }
        out.push(DecodedRecord {
            domain_id: odid,
            template_id,
            scope_field_count: t.scope_field_count,
            fields,
        });
    }
    Ok(())
}

fn decode_value(ie: Option<&Ie>, raw: &[u8]) -> Value {
    let ty = ie.map(|i| i.ty);
    match (ty, raw.len()) {
        (Some(t), 1..=8) if t.is_unsigned() => {
            Value::Unsigned(raw.iter().fold(0u64, |a, &b| a << 8 | u64::from(b)))
        }
        (Some(DataType::DateTimeMilliseconds), 8) => {
            Value::DateTimeMs(raw.iter().fold(0u64, |a, &b| a << 8 | u64::from(b)))
        }
        (Some(DataType::Ipv4Address), 4) => {
            Value::Ipv4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]))
        }
        (Some(DataType::Ipv6Address), 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(raw);
            Value::Ipv6(Ipv6Addr::from(a))
        }
        // Fixed-length strings may be NUL-padded (our interface names are).
        (Some(DataType::String), _) => {
            match std::str::from_utf8(raw).map(|s| s.trim_end_matches('\0')) {
                Ok(s) => Value::String(s.to_string()),
                Err(_) => Value::Bytes(raw.to_vec()),
            }
        }
        _ => Value::Bytes(raw.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfix::ie::DOCUMENTATION_PEN;

    macro_rules! fixture {
        ($f:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ipfix/", $f))
        };
    }
    const MSG1: &[u8] = fixture!("msg1-template+2records.bin");
    const MSG2: &[u8] = fixture!("msg2-1record-seq2.bin");
    const MSG1B: &[u8] = fixture!("msg1b-template+optionsTemplate+optionsData+2records.bin");
    const MSG2B: &[u8] = fixture!("msg2b-1record-seq3.bin");
    const WITHDRAW: &[u8] = fixture!("withdrawal-template256-TCP-only.bin");

    fn peer() -> SocketAddr {
        "192.0.2.10:50000".parse().unwrap()
    }

    fn u(r: &DecodedRecord, n: &str) -> u64 {
        r.get(n)
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("{n} missing"))
    }
    fn s<'r>(r: &'r DecodedRecord, n: &str) -> &'r str {
        r.get(n)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{n} missing"))
    }

    #[test]
    fn decodes_the_reference_messages_as_validated_by_tshark_and_nfdump() {
        let mut rd = Reader::new(DOCUMENTATION_PEN);
        let m1 = rd.handle_message(peer(), MSG1).unwrap();
        assert_eq!(m1.header.sequence, 0);
        assert_eq!(m1.header.domain_id, 1);
        assert_eq!(
            m1.events,
            vec![Event::Template {
                template_id: 256,
                field_count: 25,
                scope_field_count: 0
            }]
        );
        let m2 = rd.handle_message(peer(), MSG2).unwrap();
        assert!(m2.events.is_empty(), "seq 2 follows 2 records: no gap");
        let recs: Vec<_> = m1.records.iter().chain(&m2.records).collect();
        assert_eq!(recs.len(), 3);
        // VALIDATION.txt (tshark): srcaddr, dstaddr, ports, flags, packets, octets, direction.
        let want = [
            ("10.0.1.5", "52.95.128.179", 34210, 443, 0x03, 7, 471, 1, 64),
            (
                "52.95.128.179",
                "10.0.1.5",
                443,
                34210,
                0x13,
                14,
                15044,
                0,
                64,
            ),
            ("198.51.100.7", "10.0.1.5", 44567, 22, 0x02, 5, 300, 0, 129),
        ];
        for (r, w) in recs.iter().zip(want) {
            assert_eq!(
                r.get("sourceIPv4Address"),
                Some(&Value::Ipv4(w.0.parse().unwrap()))
            );
            assert_eq!(
                r.get("destinationIPv4Address"),
                Some(&Value::Ipv4(w.1.parse().unwrap()))
            );
            assert_eq!(u(r, "sourceTransportPort"), w.2);
            assert_eq!(u(r, "destinationTransportPort"), w.3);
            assert_eq!(u(r, "tcpControlBits"), w.4);
            assert_eq!(u(r, "packetDeltaCount"), w.5);
            assert_eq!(u(r, "octetDeltaCount"), w.6);
            assert_eq!(u(r, "flowDirection"), w.7);
            assert_eq!(u(r, "forwardingStatus"), w.8);
            assert_eq!(s(r, "interfaceName"), "eni-0123456789abcdef0");
            assert_eq!(s(r, "vpcId"), "vpc-0a1b2c3d4e5f60718");
            assert_eq!(s(r, "awsAccountId"), "123456789012");
            assert_eq!(u(r, "ipVersion"), 4);
            assert_eq!(u(r, "protocolIdentifier"), 6);
        }
        // nfdump: first seen 11:59:00 (1768478340 s), last 11:59:59; Input/Output 6056637.
        assert_eq!(u(recs[0], "flowStartMilliseconds"), 1_768_478_340_000);
        assert_eq!(u(recs[2], "flowStartMilliseconds"), 1_768_478_345_000);
        assert_eq!(u(recs[0], "flowEndMilliseconds"), 1_768_478_399_000);
        assert_eq!(
            (
                u(recs[0], "ingressInterface"),
                u(recs[0], "egressInterface")
            ),
            (0, 6_056_637)
        );
        assert_eq!(
            (
                u(recs[1], "ingressInterface"),
                u(recs[1], "egressInterface")
            ),
            (6_056_637, 0)
        );
        assert_eq!(
            (u(recs[0], "trafficPath"), s(recs[0], "pktDstAwsService")),
            (8, "S3")
        );
        assert_eq!(s(recs[1], "pktSrcAwsService"), "S3");
        assert_eq!(s(recs[0], "azId"), "use1-az6");
        let j = recs[0].to_json();
        assert_eq!(j["sourceIPv4Address"], "10.0.1.5");
        assert_eq!(j["subnetId"], "subnet-0a1b2c3d4e5f60001");
    }

    #[test]
    fn options_records_count_in_the_sequence() {
        let mut rd = Reader::new(DOCUMENTATION_PEN);
        let m = rd.handle_message(peer(), MSG1B).unwrap();
        let opts: Vec<_> = m.options_records().collect();
        assert_eq!(opts.len(), 1);
        assert_eq!((opts[0].template_id, opts[0].scope_field_count), (258, 1));
        assert_eq!(u(opts[0], "observationDomainId"), 1);
        assert_eq!(
            s(opts[0], "observationDomainName"),
            "123456789012/us-east-1/vpc-0a1b2c3d4e5f60718"
        );
        assert_eq!(m.flow_records().count(), 2);
        // RFC-correct seq 3 after 1 options + 2 flow records: no gap.
        assert!(rd.handle_message(peer(), MSG2B).unwrap().events.is_empty());
        // The nfdump-style count (flow records only, seq 2) is a gap for an RFC reader.
        let mut rd = Reader::new(DOCUMENTATION_PEN);
        rd.handle_message(peer(), MSG1B).unwrap();
        let m2 = rd.handle_message(peer(), MSG2).unwrap();
        assert_eq!(
            m2.events,
            vec![Event::SequenceGap {
                expected: 3,
                got: 2
            }]
        );
    }

    #[test]
    fn gaps_unknown_templates_and_withdrawal() {
        let mut rd = Reader::new(DOCUMENTATION_PEN);
        // Data before its template: reported, not decoded, and no expectation follows.
        let m = rd.handle_message(peer(), MSG2).unwrap();
        assert_eq!(
            m.events,
            vec![Event::UnknownTemplate {
                set_id: 256,
                length: 182
            }]
        );
        rd.handle_message(peer(), MSG1).unwrap();
        // Skipping msg2 (seq 2) and replaying msg1 (seq 0): a gap 2 → 0.
        let again = rd.handle_message(peer(), MSG1).unwrap();
        assert_eq!(
            again.events[0],
            Event::SequenceGap {
                expected: 2,
                got: 0
            }
        );
        // Another exporter or domain has its own templates.
        let other: SocketAddr = "192.0.2.11:50000".parse().unwrap();
        assert!(matches!(
            rd.handle_message(other, MSG2).unwrap().events[0],
            Event::UnknownTemplate { .. }
        ));
        // Withdrawal of 256 (TCP): the next data set is unknown again.
        let w = rd.handle_message(peer(), WITHDRAW).unwrap();
        assert!(w.events.contains(&Event::Withdrawn { template_id: 256 }));
        let after = rd.handle_message(peer(), MSG2).unwrap();
        assert!(after.records.is_empty());
        assert!(
            after
                .events
                .iter()
                .any(|e| matches!(e, Event::UnknownTemplate { .. }))
        );
        // "Withdraw all" (template id 2, count 0).
        rd.handle_message(peer(), MSG1B).unwrap();
        assert_eq!(rd.template_count(), 2);
        let mut all = WITHDRAW.to_vec();
        all[20..22].copy_from_slice(&2u16.to_be_bytes());
        assert!(
            rd.handle_message(peer(), &all)
                .unwrap()
                .events
                .contains(&Event::WithdrawnAll { options: false })
        );
        assert_eq!(rd.template_count(), 1, "the options template stays");
    }

    #[test]
    fn errors_are_reported_not_panicked() {
        let mut rd = Reader::new(DOCUMENTATION_PEN);
        let mut bad = MSG1.to_vec();
        bad[16..18].copy_from_slice(&7u16.to_be_bytes());
        assert_eq!(
            rd.handle_message(peer(), &bad),
            Err(ReadError::ReservedSetId {
                set_id: 7,
                offset: 16
            })
        );
        let mut bad = MSG1.to_vec();
        bad[20..22].copy_from_slice(&5u16.to_be_bytes());
        assert!(matches!(
            rd.handle_message(peer(), &bad),
            Err(ReadError::BadTemplate { template_id: 5, .. })
        ));
        let e = rd.handle_message(peer(), &MSG1[..100]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad IPFIX message length 532 (available 100)"
        );
    }

    /// A deterministic xorshift generator: tests need no rand crate.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn never_panics_on_truncated_mutated_or_random_input() {
        let mut rd = Reader::new(DOCUMENTATION_PEN);
        for m in [MSG1, MSG2, MSG1B, MSG2B, WITHDRAW] {
            for cut in 0..=m.len() {
                let _ = rd.handle_message(peer(), &m[..cut]);
                // A header that claims the cut length: sets and records end early.
                if cut >= 16 {
                    let mut v = m[..cut].to_vec();
                    v[2..4].copy_from_slice(&(cut as u16).to_be_bytes());
                    let _ = rd.handle_message(peer(), &v);
                }
            }
        }
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let src = [MSG1, MSG1B, MSG2][(xorshift(&mut st) % 3) as usize];
            let mut v = src.to_vec();
            for _ in 0..1 + xorshift(&mut st) % 8 {
                let i = (xorshift(&mut st) as usize) % v.len();
                v[i] = xorshift(&mut st) as u8;
            }
            let _ = rd.handle_message(peer(), &v);
        }
        for _ in 0..5_000 {
            let n = (xorshift(&mut st) % 200) as usize;
            let mut v: Vec<u8> = (0..n).map(|_| xorshift(&mut st) as u8).collect();
            if v.len() >= 4 {
                v[0..2].copy_from_slice(&10u16.to_be_bytes());
                v[2..4].copy_from_slice(&(n as u16).to_be_bytes());
            }
            let _ = rd.handle_message(peer(), &v);
        }
    }
}
