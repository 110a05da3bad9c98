//! The path every flow-log line takes: parse → count → enrich → choose the VPC's observation
//! domain → map to an IPFIX record → push to the export engine.
//!
//! Every input (replay files, S3 objects, CloudWatch Logs pages, Kinesis records) feeds lines
//! through one `Pipeline`, so counting, malformed-line reporting and the mapping are the same
//! whatever the source. The caller keeps the layout (it knows the file's header, or the log
//! group's formats) and checks `can_accept` before handing a line: a line is either fully
//! handled or not taken, so backpressure never splits one.
//!
//! Enrichment: the pipeline holds the current inventory's [`EnrichTables`] and the AWS address
//! ranges ([`IpRanges`]), both replaced whole when a refresh completes
//! ([`Pipeline::install_inventory`], [`Pipeline::install_ip_ranges`]); each record is enriched
//! by [`enrichment_for`] (hash probes and binary searches, no allocation) on top of what the
//! input knew. A new inventory also names the VPC domains (observationDomainName `vpc-… Name`)
//! and gives every VPC its domain; a domain already announced whose name changed is declared
//! again, so the exporter re-sends its naming options record.
//!
//! The direct path: a default-format `OK` IPv4 line with nothing to enrich it (replay, `run`
//! before its first inventory) is read by `flowlog::parse_default_v2_flow` and mapped to an
//! `ipfix::BasicRecord`, skipping `FlowRecord` and `ExportRecord` (most lines of most logs, and
//! most of a record's cost); everything else takes the general path. Both send the same bytes:
//! `tests_direct.rs` runs every fixture line and its mutations through both.
//!
//! - `map`: a parsed record → `ExportRecord` (the IPFIX view); a direct-path flow → `BasicRecord`.
//! - `domains`: VPC → observation domain id and exporter address, persisted.
//! - `if_index_memo`: the direct path's memo of ENI id → synthetic ifIndex.

pub mod domains;
mod if_index_memo;
pub mod map;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Instant, SystemTime};

use crate::export::{DomainId, DomainInfo, Export, Serial};
use crate::flowlog::layout::Layout;
use crate::flowlog::record::{FlowRecord, parse_default_v2_flow};
use crate::flowlog::stats::ParseStats;
use crate::inventory::enrich::{EnrichTables, enrichment_for};
use crate::inventory::ip_ranges::IpRanges;
use crate::inventory::model::Inventory;
use crate::inventory::refresh::{Applied, apply};
use crate::ipfix::DataRecord;
use domains::{Domain, DomainTable};
use if_index_memo::IfIndexMemo;
use map::{Enrichment, basic_record, export_record};

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// Pushed to the export engine with this serial.
    Exported(Serial),
    /// A well-formed line that is not a flow (NODATA, SKIPDATA) or a blank line: counted.
    Counted,
    /// A malformed line: counted and reported with its source and line number.
    Malformed,
}

/// One line and where it came from.
#[derive(Clone, Copy, Debug)]
pub struct SourceLine<'a> {
    /// `file.log.gz`, `s3://bucket/key`, `cwl:group/stream`: for the malformed-line report.
    pub source: &'a str,
    /// 1-based line number in that source.
    pub number: u64,
    /// The line without its newline.
    pub bytes: &'a [u8],
}

/// How collectors are told which VPC a record is from (config `[ipfix] exporter_identity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// exporterIPv4Address (IE 130) in each record.
    Element,
    /// The UDP source address: the driver sends each domain's messages from its exporter IP.
    Bind,
}

pub struct Pipeline {
    pub export: Export,
    pub domains: DomainTable,
    pub stats: ParseStats,
    pub binds: Binds,
    identity: Identity,
    /// The current inventory's lookups (empty until the first inventory).
    tables: EnrichTables,
    /// ip-ranges.json, when configured and read.
    ranges: Option<IpRanges>,
    /// An inventory was installed (saved, or from a completed refresh).
    has_inventory: bool,
    /// Default-format lines may take the direct path (see `handle_line`).
    direct: bool,
    /// The direct path's ENI id → synthetic ifIndex.
    if_indexes: IfIndexMemo,
}

/// The domains already declared to the export engine, and in `Bind` mode the address each
/// one's datagrams are sent from. A separate struct so the driver can borrow it beside `export`.
#[derive(Default)]
pub struct Binds {
    declared: HashMap<u32, Option<Ipv4Addr>>,
    /// The domain of the previous line, declared: consecutive lines of one VPC skip the map.
    last_declared: Option<DomainId>,
    /// Exporter addresses the driver has not opened a socket for yet.
    new: Vec<Ipv4Addr>,
}

impl Binds {
    /// `Bind` mode: the source address for a domain's datagrams.
    pub fn address(&self, domain: DomainId) -> Option<Ipv4Addr> {
        self.declared.get(&domain.0).copied().flatten()
    }
}

impl Pipeline {
    pub fn new(export: Export, domains: DomainTable, identity: Identity) -> Pipeline {
        Pipeline {
            export,
            domains,
            stats: ParseStats::new(),
            binds: Binds::default(),
            identity,
            tables: EnrichTables::default(),
            ranges: None,
            has_inventory: false,
            direct: true,
            if_indexes: IfIndexMemo::default(),
        }
    }

    /// A new inventory: its enrichment tables replace the previous ones, every VPC gets its
    /// observation domain (persisted through `domains`), and domains are named after their
    /// VPC's Name tag; a renamed domain already announced is declared again (the exporter
    /// re-sends its naming options record).
    pub fn install_inventory(&mut self, inv: &Inventory) -> InstallReport {
        let Applied {
            tables,
            renamed,
            new_domains,
        } = apply(inv, &mut self.domains);
        self.tables = tables;
        self.has_inventory = true;
        let mut reannounced = 0;
        for id in &renamed {
            if !self.binds.declared.contains_key(&id.0) {
                continue; // announced with its new name when its first record comes
            }
            let Some(domain) = self.domains.domains().iter().find(|d| d.id == *id) else {
                continue;
            };
            let info = domain_info(domain, self.identity);
            self.export.set_domain(*id, info);
            reannounced += 1;
        }
        InstallReport {
            enis: self.tables.len(),
            renamed: renamed.len(),
            reannounced,
            new_domains,
        }
    }

    /// A new table of AWS address ranges (remote service and Region, gateway endpoints).
    pub fn install_ip_ranges(&mut self, ranges: IpRanges) {
        self.ranges = Some(ranges);
    }

    /// An inventory was installed: records find their VPC (and its domain) through their ENI.
    pub fn has_inventory(&self) -> bool {
        self.has_inventory
    }

    /// The enrichment tables in use.
    pub fn tables(&self) -> &EnrichTables {
        &self.tables
    }

    pub fn has_ip_ranges(&self) -> bool {
        self.ranges.is_some()
    }

    /// True when the next line would be taken (the export engine has room and rate tokens).
    pub fn can_accept(&self, now: Instant) -> bool {
        self.export.can_accept(now)
    }

    /// Handles one line. Call only when `can_accept(now)`.
    pub fn handle_line(
        &mut self,
        layout: &Layout,
        line: SourceLine<'_>,
        enrich: &Enrichment<'_>,
        now: Instant,
        wall: SystemTime,
    ) -> LineOutcome {
        // The direct path: a default-format OK IPv4 flow with nothing to enrich it (replay,
        // `run` before its first inventory) goes from the line to its encoded record without
        // a `FlowRecord` or an `ExportRecord`. Any other line, and any line it does not take,
        // goes the general way; both send the same bytes (tests compare them).
        if self.direct
            && layout.is_default_v2()
            && !self.has_inventory
            && self.ranges.is_none()
            && *enrich == Enrichment::default()
            && let Some(flow) = parse_default_v2_flow(line.bytes)
        {
            self.stats.count_flow();
            let (domain_id, exporter_ip) = self.declare_domain(None);
            let if_index = self.if_indexes.get(flow.interface_id);
            let exporter = record_exporter(self.identity, exporter_ip);
            let record = basic_record(&flow, if_index, exporter);
            return push(
                &mut self.export,
                &mut self.stats,
                domain_id,
                &record,
                line,
                now,
                wall,
            );
        }
        let SourceLine {
            source,
            number: line_no,
            bytes,
        } = line;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            self.stats.count_blank();
            return LineOutcome::Counted;
        }
        // Records are used where they were built (by reference): moving a parsed line or a
        // mapped record out of its `Result`/`Option` would copy most of a KiB per line.
        let mut rec = FlowRecord::blank(layout);
        if let Err(e) = rec.parse_from(bytes) {
            self.stats.count_malformed(source, line_no, &e);
            return LineOutcome::Malformed;
        }
        let rec = &rec;
        self.stats.count_record(rec);
        // Nothing to enrich with (replay; `run` before its first inventory): no lookups.
        let enrich = if self.has_inventory || self.ranges.is_some() {
            enrichment_for(&self.tables, self.ranges.as_ref(), rec, enrich)
        } else {
            *enrich
        };
        let (domain_id, exporter_ip) = declare_domain(
            &mut self.domains,
            &mut self.export,
            &mut self.binds,
            self.identity,
            rec.vpc_id().or(enrich.vpc_id),
        );
        let enrich = Enrichment {
            exporter_ipv4: record_exporter(self.identity, exporter_ip),
            ..enrich
        };
        let mapped = export_record(rec, &enrich);
        let Some(record) = &mapped else {
            return LineOutcome::Counted;
        };
        push(
            &mut self.export,
            &mut self.stats,
            domain_id,
            record,
            line,
            now,
            wall,
        )
    }

    /// Compare the direct path with the general one (tests, benchmarks): `false` sends every
    /// line the general way.
    pub fn use_direct_path(&mut self, on: bool) {
        self.direct = on;
    }

    #[inline]
    fn declare_domain(&mut self, vpc: Option<&str>) -> (DomainId, Option<Ipv4Addr>) {
        declare_domain(
            &mut self.domains,
            &mut self.export,
            &mut self.binds,
            self.identity,
            vpc,
        )
    }

    /// `Bind` mode: an exporter address seen for the first time, for the driver to open a socket.
    pub fn poll_new_bind_address(&mut self) -> Option<Ipv4Addr> {
        self.binds.new.pop()
    }
}

/// The observation domain of a record of `vpc` (the default domain when unknown), declared
/// to the export engine the first time: (id, exporter address). Free of `Pipeline` so it can
/// run while the record borrows the pipeline's enrichment tables.
#[inline]
fn declare_domain(
    domains: &mut DomainTable,
    export: &mut Export,
    binds: &mut Binds,
    identity: Identity,
    vpc: Option<&str>,
) -> (DomainId, Option<Ipv4Addr>) {
    let domain = domains.resolve(vpc);
    let (domain_id, exporter_ip) = (domain.id, domain.exporter_ipv4);
    if binds.last_declared != Some(domain_id) && !binds.declared.contains_key(&domain_id.0) {
        export.set_domain(domain_id, domain_info(domain, identity));
        let bind = match identity {
            Identity::Bind => exporter_ip,
            Identity::Element => None,
        };
        if let Some(ip) = bind {
            binds.new.push(ip);
        }
        binds.declared.insert(domain_id.0, bind);
    }
    binds.last_declared = Some(domain_id);
    (domain_id, exporter_ip)
}

/// exporterIPv4Address carried in each record: the domain's in `Element` mode; in `Bind` mode
/// the source address says it.
#[inline]
fn record_exporter(identity: Identity, exporter_ip: Option<Ipv4Addr>) -> Option<Ipv4Addr> {
    match identity {
        Identity::Element => exporter_ip,
        Identity::Bind => None,
    }
}

/// Pushes one mapped record of `line`.
#[inline]
fn push<R: DataRecord>(
    export: &mut Export,
    stats: &mut ParseStats,
    domain_id: DomainId,
    record: &R,
    line: SourceLine<'_>,
    now: Instant,
    wall: SystemTime,
) -> LineOutcome {
    match export.push(domain_id, record, now, wall) {
        Ok(serial) => LineOutcome::Exported(serial),
        // The caller checked `can_accept`; a refusal here is a caller bug, and dropping would
        // lose a record, so count it loudly as malformed-by-us instead of silently.
        Err(_) => {
            stats.count_malformed(
                line.source,
                line.number,
                &"export refused the record (backpressure ignored)",
            );
            LineOutcome::Malformed
        }
    }
}

/// What [`Pipeline::install_inventory`] did, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// Network interfaces the new tables know.
    pub enis: usize,
    /// Domains whose observationDomainName changed.
    pub renamed: usize,
    /// Of those, the ones already announced and declared again.
    pub reannounced: usize,
    /// VPCs that got their observation domain now.
    pub new_domains: usize,
}

/// What the export engine is told about a domain: its name, and in `Element` mode its
/// exporter address (IE 130).
fn domain_info(domain: &Domain, identity: Identity) -> DomainInfo {
    DomainInfo {
        name: domain.name.clone(),
        exporter_ipv4: match identity {
            Identity::Element => domain.exporter_ipv4,
            Identity::Bind => None,
        },
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_direct;
