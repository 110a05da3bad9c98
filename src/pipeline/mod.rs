//! The path every flow-log line takes: parse → count → enrich → choose the VPC's observation
//! domain → map to an IPFIX record → push to the export engine.
//!
//! Every input (replay files, S3 objects, CloudWatch Logs pages, Kinesis records) feeds lines
//! through one `Pipeline`, so counting, malformed-line reporting and the mapping are the same
//! whatever the source. The caller keeps the layout (it knows the file's header, or the log
//! group's formats) and checks `can_accept` before handing a line: a line is either fully
//! handled or not taken, so backpressure never splits one.
//!
//! - `map`: a parsed record → `ExportRecord` (the IPFIX view).
//! - `domains`: VPC → observation domain id and exporter address, persisted.

pub mod domains;
pub mod map;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Instant, SystemTime};

use crate::export::{DomainId, DomainInfo, Export, Serial};
use crate::flowlog::layout::Layout;
use crate::flowlog::record::parse_line;
use crate::flowlog::stats::ParseStats;
use domains::DomainTable;
use map::{Enrichment, export_record};

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
        }
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
        let SourceLine {
            source,
            number: line_no,
            bytes: line,
        } = line;
        if line.iter().all(u8::is_ascii_whitespace) {
            self.stats.count_blank();
            return LineOutcome::Counted;
        }
        // Records are used where they were built (by reference): moving a parsed line or a
        // mapped record out of its `Result`/`Option` would copy most of a KiB per line.
        let parsed = parse_line(layout, line);
        let rec = match &parsed {
            Ok(r) => r,
            Err(e) => {
                self.stats.count_malformed(source, line_no, e);
                return LineOutcome::Malformed;
            }
        };
        self.stats.count_record(rec);
        let vpc = rec.vpc_id().or(enrich.vpc_id);
        let domain = self.domains.resolve(vpc);
        let (domain_id, exporter_ip) = (domain.id, domain.exporter_ipv4);
        if self.binds.last_declared != Some(domain_id)
            && !self.binds.declared.contains_key(&domain_id.0)
        {
            let info = DomainInfo {
                name: domain.name.clone(),
                exporter_ipv4: match self.identity {
                    Identity::Element => exporter_ip,
                    Identity::Bind => None,
                },
            };
            self.export.set_domain(domain_id, info);
            let bind = match self.identity {
                Identity::Bind => exporter_ip,
                Identity::Element => None,
            };
            if let Some(ip) = bind {
                self.binds.new.push(ip);
            }
            self.binds.declared.insert(domain_id.0, bind);
        }
        self.binds.last_declared = Some(domain_id);
        let enrich = Enrichment {
            exporter_ipv4: match self.identity {
                Identity::Element => exporter_ip,
                Identity::Bind => None,
            },
            ..*enrich
        };
        let mapped = export_record(rec, &enrich);
        let Some(record) = &mapped else {
            return LineOutcome::Counted;
        };
        match self.export.push(domain_id, record, now, wall) {
            Ok(serial) => LineOutcome::Exported(serial),
            // The caller checked `can_accept`; a refusal here is a caller bug, and dropping
            // would lose a record, so count it loudly as malformed-by-us instead of silently.
            Err(_) => {
                self.stats.count_malformed(
                    source,
                    line_no,
                    &"export refused the record (backpressure ignored)",
                );
                LineOutcome::Malformed
            }
        }
    }

    /// `Bind` mode: an exporter address seen for the first time, for the driver to open a socket.
    pub fn poll_new_bind_address(&mut self) -> Option<Ipv4Addr> {
        self.binds.new.pop()
    }
}
