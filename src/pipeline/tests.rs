//! The pipeline with an inventory installed: records of the moto capture's instances are
//! enriched and land in their VPC's domain, the domains are named after the VPCs, and a renamed
//! VPC is announced again. Export output is decoded by our IPFIX reader.
#![allow(clippy::disallowed_methods)] // the virtual clock starts from the real one

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::export::ExportConfig;
use crate::flowlog::layout::Layout;
use crate::inventory::discover::tests::moto_inventory;
use crate::ipfix::ie::DOCUMENTATION_PEN;
use crate::ipfix::reader::{DecodedRecord, Reader};

struct World {
    pipe: Pipeline,
    layout: Layout,
    sent: Vec<Vec<u8>>,
    now: Instant,
    wall: SystemTime,
}

impl World {
    fn new() -> World {
        let export = Export::new(ExportConfig::new(1, 1400)).unwrap();
        let domains = DomainTable::new(&[], None).unwrap();
        World {
            pipe: Pipeline::new(export, domains, Identity::Element),
            layout: Layout::default_v2(),
            sent: Vec::new(),
            now: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400),
        }
    }

    /// A v2 line (no VPC, subnet or instance in it) of `eni` from `src`; `bytes` tells it apart.
    fn line(&mut self, eni: &str, src: &str, bytes: u64) -> LineOutcome {
        let text = format!(
            "2 123456789012 {eni} {src} 10.0.0.99 49152 443 6 10 {bytes} 1768478340 1768478399 ACCEPT OK"
        );
        let line = SourceLine {
            source: "test",
            number: 1,
            bytes: text.as_bytes(),
        };
        let (now, wall) = (self.now, self.wall);
        self.pipe
            .handle_line(&self.layout, line, &Enrichment::default(), now, wall)
    }

    /// Everything exported so far, decoded: (flow records, options records).
    fn decoded(&mut self) -> (Vec<DecodedRecord>, Vec<DecodedRecord>) {
        self.pipe.export.flush(self.now, self.wall);
        while let Some(t) = self.pipe.export.poll_transmit() {
            let c = t.collector;
            self.sent.push(t.bytes.to_vec());
            self.pipe.export.handle_sent(c);
        }
        let from: SocketAddr = "127.0.0.1:4739".parse().unwrap();
        let mut reader = Reader::new(DOCUMENTATION_PEN);
        let (mut flows, mut options) = (Vec::new(), Vec::new());
        for m in &self.sent {
            let msg = reader.handle_message(from, m).unwrap();
            for r in msg.records {
                if r.is_options() {
                    options.push(r);
                } else {
                    flows.push(r);
                }
            }
        }
        (flows, options)
    }
}

fn text<'a>(r: &'a DecodedRecord, name: &str) -> Option<&'a str> {
    r.get(name).and_then(|v| v.as_str())
}

fn bytes(r: &DecodedRecord) -> u64 {
    r.get("octetDeltaCount").and_then(|v| v.as_u64()).unwrap()
}

/// The primary ENI, first private address and VPC of the instance with this Name tag.
fn instance(inv: &Inventory, name: &str) -> (String, String, String) {
    let i = inv
        .accounts
        .iter()
        .flat_map(|a| &a.regions)
        .flat_map(|r| &r.instances)
        .find(|i| i.name.as_deref() == Some(name))
        .unwrap();
    (
        i.network_interface_ids[0].clone(),
        i.private_ips[0].clone(),
        i.vpc_id.clone().unwrap(),
    )
}

fn domain_names(options: &[DecodedRecord]) -> Vec<(u64, String)> {
    options
        .iter()
        .filter_map(|r| {
            let id = r.get("observationDomainId")?.as_u64()?;
            Some((id, text(r, "observationDomainName")?.to_string()))
        })
        .collect()
}

#[test]
fn records_are_enriched_from_the_installed_inventory_in_their_vpc_domain() {
    let inv = moto_inventory();
    let (eni, ip, vpc) = instance(&inv, "web-1");
    let mut w = World::new();
    // Before any inventory: the v2 line knows no VPC, so the unknown-VPC domain, no names.
    assert!(matches!(w.line(&eni, &ip, 1), LineOutcome::Exported(_)));
    let report = w.pipe.install_inventory(&inv);
    assert_eq!(report.new_domains, inv.vpcs().count());
    assert_eq!(report.enis, w.pipe.tables().len());
    assert!(
        w.pipe.domains.is_dirty(),
        "exporters.json has new VPCs to save"
    );
    assert!(matches!(w.line(&eni, &ip, 2), LineOutcome::Exported(_)));
    let domain = w.pipe.domains.get(&vpc).unwrap().id;
    let (flows, options) = w.decoded();
    let before = flows.iter().find(|r| bytes(r) == 1).unwrap();
    assert_eq!(before.domain_id, domains::UNKNOWN_DOMAIN.0);
    assert_eq!(text(before, "instanceName"), None);
    let after = flows.iter().find(|r| bytes(r) == 2).unwrap();
    assert_eq!(after.domain_id, domain.0);
    assert_eq!(text(after, "vpcId"), Some(vpc.as_str()));
    assert_eq!(text(after, "instanceName"), Some("web-1"));
    assert_eq!(text(after, "vpcName"), Some("prod"));
    assert!(text(after, "subnetName").is_some_and(|s| !s.is_empty()));
    assert!(text(after, "availabilityZone").is_some_and(|s| s.starts_with("us-east-1")));
    assert!(text(after, "pathKind").is_some());
    assert!(
        domain_names(&options).contains(&(u64::from(domain.0), format!("{vpc} prod"))),
        "{:?}",
        domain_names(&options)
    );
}

#[test]
fn a_renamed_vpc_is_announced_again_with_its_new_name() {
    let mut inv = moto_inventory();
    let (eni, ip, vpc) = instance(&inv, "web-1");
    let mut w = World::new();
    w.pipe.install_inventory(&inv);
    w.line(&eni, &ip, 1);
    let domain = w.pipe.domains.get(&vpc).unwrap().id;
    let (_, options) = w.decoded();
    assert!(domain_names(&options).contains(&(u64::from(domain.0), format!("{vpc} prod"))));
    // The same inventory again changes nothing; a new Name tag re-announces the domain.
    let again = w.pipe.install_inventory(&inv);
    assert_eq!(
        (again.new_domains, again.renamed, again.reannounced),
        (0, 0, 0)
    );
    for a in &mut inv.accounts {
        for r in &mut a.regions {
            for v in r.vpcs.iter_mut().filter(|v| v.id == vpc) {
                v.name = Some("prod-renamed".into());
            }
        }
    }
    let renamed = w.pipe.install_inventory(&inv);
    assert_eq!((renamed.renamed, renamed.reannounced), (1, 1));
    w.line(&eni, &ip, 2);
    let (flows, options) = w.decoded();
    assert_eq!(
        flows
            .iter()
            .find(|r| bytes(r) == 2)
            .and_then(|r| text(r, "vpcName")),
        Some("prod-renamed")
    );
    assert!(
        domain_names(&options).contains(&(u64::from(domain.0), format!("{vpc} prod-renamed"))),
        "{:?}",
        domain_names(&options)
    );
    assert_eq!(
        w.pipe.domains.get(&vpc).unwrap().id,
        domain,
        "the id never moves"
    );
}
