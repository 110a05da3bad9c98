//! [`DataRecord`]: what the export engine needs of one flow — which fields it sends (the field
//! mask, which picks its template), its encoding in template order, and the ENI it names.
//!
//! Two kinds of record implement it: [`ExportRecord`], which can carry any flow of any log
//! format, and [`BasicRecord`](super::basic_record::BasicRecord), the IPv4 flow of a
//! default-format line, which the pipeline builds on its direct path without going through an
//! `ExportRecord` (most lines of most logs; see `flowlog::record_direct`). The engine is
//! generic over the trait, so each kind gets its own copy of the push path and neither pays for
//! the other.

use std::net::Ipv4Addr;

use super::ie::IeKey;
use super::record::ExportRecord;
use super::template::FieldMask;
use super::writer::{Full, encode_fields};

pub trait DataRecord {
    /// Which data fields the record sends. `default_exporter`: its domain has an exporter
    /// address (IE 130) to send when the record has none.
    fn field_mask(&self, default_exporter: bool) -> FieldMask;

    /// Writes the record's fields in the order of `keys` (its template's elements: the keys of
    /// `mask`, in table order) into `out`; returns the length.
    fn encode_fields(
        &self,
        mask: FieldMask,
        keys: &[IeKey],
        default_exporter: Option<Ipv4Addr>,
        out: &mut [u8],
    ) -> Result<usize, Full>;

    /// The ENI the record was captured at: (synthetic ifIndex, ENI id as UTF-8 bytes), for
    /// the options records that name each ifIndex.
    fn interface(&self) -> Option<(u32, &[u8])>;
}

impl DataRecord for ExportRecord<'_> {
    #[inline(always)]
    fn field_mask(&self, default_exporter: bool) -> FieldMask {
        ExportRecord::field_mask(self, default_exporter)
    }

    #[inline(always)]
    fn encode_fields(
        &self,
        _mask: FieldMask,
        keys: &[IeKey],
        default_exporter: Option<Ipv4Addr>,
        out: &mut [u8],
    ) -> Result<usize, Full> {
        encode_fields(self, keys, default_exporter, out)
    }

    #[inline(always)]
    fn interface(&self) -> Option<(u32, &[u8])> {
        Some((self.if_index()?, self.interface_name?.as_bytes()))
    }
}
