//! Templates chosen by which fields a record has, allocated once and cached.
//!
//! A record's template is a function of its [`FieldMask`]: bit `k` set means element
//! `ELEMENTS[k]` is present, and the template lists the present elements in table order. The
//! first mask seen gets template id 256, the next new one 257, and so on; the two options
//! templates (domain names, interface names) are allocated the same way when first needed.
//! Ids are never reused during a process's life, so a collector never sees one id change
//! meaning (RFC 7011 §8.1 makes redefining an id over UDP a 3×refresh wait).
//!
//! The template record bytes (header + field specifiers) are built once here, so announcing a
//! template is a copy. [`TemplateSet`] is the bitset the exporter keeps per session ("which
//! templates has this collector seen").

use std::collections::HashMap;
use std::fmt;

use super::ie::{DATA_FIELDS, IeKey, VARLEN};
use super::wire::{FieldSpecRepr, FieldSpecifier, TemplateRepr};

/// RFC 7011 §3.4.1: template ids 0–255 are reserved for set ids; ours start at 256.
pub const FIRST_TEMPLATE_ID: u16 = 256;
/// How many distinct templates one process announces. Bounds memory, per-session bitsets and
/// the size of a template refresh; a flow-log format with many optional (`-`) fields mapped to
/// `None` is what could approach it. (RFC 7011 allows 65280 ids.)
pub const MAX_TEMPLATES: usize = 4096;

/// interfaceName / interfaceDescription length in the interface-names options template:
/// fixed, NUL-padded. nfdump (1.7.x `Process_ifvrf_option`) locates option fields by fixed
/// offsets and rejects variable-length ones; ENI ids are 21 octets (`eni-` + 17 hex digits).
pub const IF_NAME_LEN: u16 = 32;

// The interface-names template is shaped for nfdump, the one collector that labels ifIndexes
// from options records (checked against Debian's nfdump 1.7.1 on the reference machine):
// - it matches ingressInterface (10) and interfaceDescription (83) only among the non-scope
//   fields, so the scope is observationDomainId (149) and 10 is an ordinary field;
// - it steps through an options Data Set by a record size it computes short, so each
//   interface record travels in a Data Set of its own (`Template::one_record_per_set`).

/// Which data elements a record carries: bit `k` ↔ `ELEMENTS[k]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldMask(pub u128);

impl FieldMask {
    /// The elements present, in table (= template) order.
    pub fn keys(self) -> impl Iterator<Item = IeKey> {
        let mut m = self.0;
        std::iter::from_fn(move || {
            if m == 0 {
                return None;
            }
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            IeKey::from_index(i)
        })
    }

    pub fn contains(self, k: IeKey) -> bool {
        (self.0 >> (k as u32)) & 1 == 1
    }
}

/// Index of a template in the cache; its id is `FIRST_TEMPLATE_ID + index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateIdx(pub u16);

/// What a template describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateKind {
    /// Flow records with these fields.
    Data(FieldMask),
    /// Options: scope observationDomainId (149), field observationDomainName (300).
    DomainNames,
    /// Options: scope observationDomainId (149), fields ingressInterface (10), interfaceName
    /// (82) and interfaceDescription (83), both names [`IF_NAME_LEN`] octets.
    InterfaceNames,
}

impl TemplateKind {
    /// (scope count, fields in order with the length sent)
    fn fields(self) -> (u16, Vec<(IeKey, u16)>) {
        match self {
            TemplateKind::Data(m) => (0, m.keys().map(|k| (k, k.ie().len)).collect()),
            TemplateKind::DomainNames => (
                1,
                vec![
                    (IeKey::ObservationDomainId, 4),
                    (IeKey::ObservationDomainName, VARLEN),
                ],
            ),
            TemplateKind::InterfaceNames => (
                1,
                vec![
                    (IeKey::ObservationDomainId, 4),
                    (IeKey::IngressInterface, 4),
                    (IeKey::InterfaceName, IF_NAME_LEN),
                    (IeKey::InterfaceDescription, IF_NAME_LEN),
                ],
            ),
        }
    }

    pub fn is_options(self) -> bool {
        !matches!(self, TemplateKind::Data(_))
    }
}

/// One template, ready to copy into a Template Set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub id: u16,
    pub kind: TemplateKind,
    /// The Template Record (or Options Template Record) as it goes on the wire.
    pub record: Vec<u8>,
    /// The shortest data record this template allows (variable fields count 1 octet): set
    /// padding must stay below it (RFC 7011 §3.3.1).
    pub min_record_len: usize,
    /// Each record goes in a Data Set of its own (interface names, for nfdump).
    pub one_record_per_set: bool,
    /// A data template's elements in record order, worked out once: what the writer encodes
    /// (`writer::encode_fields`) without walking the field mask per record. Empty for options
    /// templates.
    pub keys: Box<[IeKey]>,
}

impl Template {
    fn build(id: u16, kind: TemplateKind, pen: u32) -> Template {
        let (scope, keys) = kind.fields();
        let data_keys: Box<[IeKey]> = match kind {
            TemplateKind::Data(_) => keys.iter().map(|&(k, _)| k).collect(),
            _ => Box::default(),
        };
        let header = TemplateRepr {
            template_id: id,
            field_count: keys.len() as u16,
            scope_field_count: kind.is_options().then_some(scope),
        };
        let mut record = vec![0u8; header.buffer_len()];
        header.emit(&mut record);
        let mut min_record_len = 0;
        for (k, len) in keys {
            let ie = k.ie();
            let spec = FieldSpecRepr {
                id: ie.id,
                length: len,
                pen: ie.enterprise.then_some(pen),
            };
            let at = record.len();
            record.resize(at + spec.buffer_len(), 0);
            if let Some(b) = record.get_mut(at..) {
                spec.emit(&mut FieldSpecifier::new_unchecked(b));
            }
            min_record_len += if len == VARLEN { 1 } else { usize::from(len) };
        }
        Template {
            id,
            kind,
            record,
            min_record_len,
            one_record_per_set: kind == TemplateKind::InterfaceNames,
            keys: data_keys,
        }
    }
}

/// The cache is full: [`MAX_TEMPLATES`] templates already exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplatesExhausted;

impl fmt::Display for TemplatesExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "all {MAX_TEMPLATES} IPFIX templates are in use; records needing a new field combination are dropped"
        )
    }
}

impl std::error::Error for TemplatesExhausted {}

/// Every template of the process, by index, plus the mask → index map.
#[derive(Debug)]
pub struct TemplateCache {
    pen: u32,
    templates: Vec<Template>,
    by_mask: HashMap<FieldMask, TemplateIdx>,
    domain_names: Option<TemplateIdx>,
    interface_names: Option<TemplateIdx>,
}

impl TemplateCache {
    /// `pen`: the enterprise number sent with our elements.
    pub fn new(pen: u32) -> Self {
        TemplateCache {
            pen,
            templates: Vec::new(),
            by_mask: HashMap::new(),
            domain_names: None,
            interface_names: None,
        }
    }

    pub fn pen(&self) -> u32 {
        self.pen
    }

    /// The data template for `mask`, allocating it on first use. Only data-element bits count.
    pub fn for_mask(&mut self, mask: FieldMask) -> Result<TemplateIdx, TemplatesExhausted> {
        let mask = FieldMask(mask.0 & ((1u128 << DATA_FIELDS) - 1));
        if let Some(&i) = self.by_mask.get(&mask) {
            return Ok(i);
        }
        let i = self.alloc(TemplateKind::Data(mask))?;
        self.by_mask.insert(mask, i);
        Ok(i)
    }

    /// The options template naming observation domains.
    pub fn domain_names(&mut self) -> Result<TemplateIdx, TemplatesExhausted> {
        match self.domain_names {
            Some(i) => Ok(i),
            None => {
                let i = self.alloc(TemplateKind::DomainNames)?;
                self.domain_names = Some(i);
                Ok(i)
            }
        }
    }

    /// The options template naming synthetic ifIndexes.
    pub fn interface_names(&mut self) -> Result<TemplateIdx, TemplatesExhausted> {
        match self.interface_names {
            Some(i) => Ok(i),
            None => {
                let i = self.alloc(TemplateKind::InterfaceNames)?;
                self.interface_names = Some(i);
                Ok(i)
            }
        }
    }

    fn alloc(&mut self, kind: TemplateKind) -> Result<TemplateIdx, TemplatesExhausted> {
        let n = self.templates.len();
        if n >= MAX_TEMPLATES {
            return Err(TemplatesExhausted);
        }
        let id = FIRST_TEMPLATE_ID + n as u16;
        self.templates.push(Template::build(id, kind, self.pen));
        log::debug!("ipfix template allocated id={id} kind={kind:?}");
        Ok(TemplateIdx(n as u16))
    }

    /// The template at `i` (indices come from this cache; `None` only for a foreign index).
    pub fn get(&self, i: TemplateIdx) -> Option<&Template> {
        self.templates.get(usize::from(i.0))
    }

    pub fn len(&self) -> usize {
        self.templates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

/// A set of template indices (bitset, grown on demand up to [`MAX_TEMPLATES`] bits).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateSet {
    words: Vec<u64>,
}

impl TemplateSet {
    pub fn contains(&self, i: TemplateIdx) -> bool {
        let i = usize::from(i.0);
        self.words
            .get(i / 64)
            .is_some_and(|w| (w >> (i % 64)) & 1 == 1)
    }

    pub fn insert(&mut self, i: TemplateIdx) {
        let i = usize::from(i.0);
        if i / 64 >= self.words.len() {
            self.words.resize(i / 64 + 1, 0);
        }
        if let Some(w) = self.words.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    /// Empties the set, keeping its storage.
    pub fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Adds every member of `other`.
    pub fn union_with(&mut self, other: &TemplateSet) {
        if other.words.len() > self.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// Makes this set equal to `other`, reusing storage.
    pub fn copy_from(&mut self, other: &TemplateSet) {
        self.clear();
        self.union_with(other);
    }

    /// Members of `self` that are in neither `a` nor `b`, in index order.
    pub fn missing_from<'s>(
        &'s self,
        a: &'s TemplateSet,
        b: &'s TemplateSet,
    ) -> impl Iterator<Item = TemplateIdx> + 's {
        self.words.iter().enumerate().flat_map(move |(wi, &w)| {
            let mut m =
                w & !a.words.get(wi).copied().unwrap_or(0) & !b.words.get(wi).copied().unwrap_or(0);
            std::iter::from_fn(move || {
                if m == 0 {
                    return None;
                }
                let bit = m.trailing_zeros() as usize;
                m &= m - 1;
                Some(TemplateIdx((wi * 64 + bit) as u16))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfix::ie::DOCUMENTATION_PEN;
    use crate::ipfix::record::ExportRecord;

    const MSG1: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/ipfix/msg1-template+2records.bin"
    ));

    #[test]
    fn the_fixture_field_set_builds_the_fixture_template_256() {
        // The fields of the reference records (README-fixtures.txt, template 256).
        let rec = ExportRecord {
            src_addr: Some("10.0.1.5".parse().unwrap()),
            dst_addr: Some("52.95.128.179".parse().unwrap()),
            src_port: Some(1),
            dst_port: Some(1),
            protocol: Some(6),
            tcp_flags: Some(0),
            packets: Some(1),
            bytes: Some(1),
            start_ms: Some(0),
            end_ms: Some(0),
            flow_direction: Some(0),
            forwarding_status: Some(64),
            ip_version: Some(4),
            ingress_interface: Some(0),
            egress_interface: Some(0),
            interface_name: Some(""),
            account_id: Some(""),
            vpc_id: Some(""),
            subnet_id: Some(""),
            instance_id: Some(""),
            traffic_path: Some(0),
            region: Some(""),
            az_id: Some(""),
            pkt_src_aws_service: Some(""),
            pkt_dst_aws_service: Some(""),
            ..Default::default()
        };
        let mut c = TemplateCache::new(DOCUMENTATION_PEN);
        let i = c.for_mask(rec.field_mask(false)).unwrap();
        let t = c.get(i).unwrap();
        assert_eq!(t.id, 256);
        // The Template Record of msg1 (after the 16-octet header and the 4-octet set header),
        // but for tcpControlBits: 1 octet (reduced size), where the fixture's specifier at
        // offset 20 of the record (the 5th after id and count) says 2.
        let mut want = MSG1[20..20 + 140].to_vec();
        assert_eq!(want[4 + 5 * 4..4 + 6 * 4], [0, 6, 0, 2]);
        want[4 + 5 * 4 + 3] = 1;
        assert_eq!(&t.record[..], &want[..]);
        // 4+4+2+2+1+1+8+8+8+8+1+1+1+4+4 fixed, interfaceName ≥ 1, 8 strings ≥ 1, trafficPath 1.
        assert_eq!(t.min_record_len, 57 + 1 + 8 + 1);
        // Same mask → same template; a different one → the next id.
        assert_eq!(c.for_mask(rec.field_mask(false)), Ok(i));
        let j = c.for_mask(rec.field_mask(true)).unwrap();
        assert_eq!(c.get(j).map(|t| t.id), Some(257));
    }

    #[test]
    fn options_templates_have_scope_counts() {
        let mut c = TemplateCache::new(7);
        let d = c.domain_names().unwrap();
        let t = c.get(d).unwrap();
        // 0100 0002 0001 | 0095 0004 | 012c ffff
        assert_eq!(
            t.record,
            [1, 0, 0, 2, 0, 1, 0, 149, 0, 4, 1, 44, 0xff, 0xff]
        );
        let i = c.interface_names().unwrap();
        let t = c.get(i).unwrap();
        // 0101 0004 0001 | 0095 0004 | 000a 0004 | 0052 0020 | 0053 0020: fixed lengths.
        assert_eq!(
            t.record,
            [
                1, 1, 0, 4, 0, 1, 0, 149, 0, 4, 0, 10, 0, 4, 0, 82, 0, 32, 0, 83, 0, 32
            ]
        );
        assert_eq!(t.min_record_len, 4 + 4 + 32 + 32);
        assert!(t.one_record_per_set);
        assert_eq!(c.domain_names(), Ok(d));
    }

    #[test]
    fn cache_is_bounded() {
        let mut c = TemplateCache::new(1);
        for m in 0..MAX_TEMPLATES as u128 {
            c.for_mask(FieldMask(m + 1)).unwrap();
        }
        assert_eq!(
            c.for_mask(FieldMask(MAX_TEMPLATES as u128 + 1)),
            Err(TemplatesExhausted)
        );
        assert!(
            c.for_mask(FieldMask(1)).is_ok(),
            "existing masks still resolve"
        );
    }

    #[test]
    fn template_set_ops() {
        let mut a = TemplateSet::default();
        let mut b = TemplateSet::default();
        let c = TemplateSet::default();
        a.insert(TemplateIdx(3));
        a.insert(TemplateIdx(130));
        a.insert(TemplateIdx(64));
        b.insert(TemplateIdx(64));
        assert!(
            a.contains(TemplateIdx(130))
                && !a.contains(TemplateIdx(131))
                && !c.contains(TemplateIdx(9999))
        );
        let miss: Vec<_> = a.missing_from(&b, &c).collect();
        assert_eq!(miss, vec![TemplateIdx(3), TemplateIdx(130)]);
        b.union_with(&a);
        assert_eq!(a.missing_from(&b, &c).count(), 0);
        a.clear();
        assert!(a.is_empty());
        a.copy_from(&b);
        assert!(a.contains(TemplateIdx(3)));
    }
}
