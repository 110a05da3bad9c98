//! The observation-domain table: which IPFIX observation domain (and exporter address) each VPC
//! is exported as.
//!
//! Each VPC is its own exporter (design.md): its own observation domain id (ODID, the message
//! header's domain, RFC 7011 §3.1) and optionally its own exporter IPv4 (IE 130, or the local
//! address the VPC's socket binds). Collectors key their state on these (spec.md §G), so they
//! must not change across restarts or when VPCs show up in another order. Sources of truth, in
//! order:
//!
//! 1. the config's `[exporter vpc-…]` sections (`ip`, `domain_id`);
//! 2. the persisted assignments (`state_dir/exporters.json`, written by the driver from
//!    [`DomainTable::to_json`] whenever [`DomainTable::is_dirty`]);
//! 3. a new deterministic assignment when a VPC is seen for the first time: the domain id is
//!    the 31-bit FNV-1a hash of the VPC id, moved up to the next free id on a collision; the
//!    address is `hash % pool size` within `[ipfix] exporter_pool`, skipping the network and
//!    broadcast addresses and addresses already taken (linear probe), or none without a pool.
//!
//! A persisted entry never moves unless the config now gives its id or address to another VPC,
//! or its address is outside the configured pool (the pool was changed on purpose).
//!
//! Reserved ids: 0 means "no specific domain" (RFC 7011 §3.1) and is never assigned; 1 is the
//! **unknown-VPC domain** ([`UNKNOWN_DOMAIN`]), where records go whose VPC is not known — a
//! layout without `vpc-id` for an ENI the inventory does not know (yet), or a `-` — so they are
//! still exported, under one clearly named domain with no exporter address, rather than dropped
//! or attributed to a wrong VPC.
//!
//! Lookups by `&str` ([`DomainTable::get`], and [`DomainTable::resolve`] for a VPC already
//! known) allocate nothing; only the first sighting of a VPC does.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::config::config::ExporterSpec;
use crate::export::DomainId;

/// The domain of records whose VPC is unknown.
pub const UNKNOWN_DOMAIN: DomainId = DomainId(1);
/// Its observationDomainName (IE 300).
pub const UNKNOWN_DOMAIN_NAME: &str = "unknown VPC";
/// Version of the `exporters.json` format written by [`DomainTable::to_json`].
pub const STATE_VERSION: u32 = 1;
/// Most VPC domains in one table. AWS allows 5 VPCs per Region by default, adjustable to a few
/// hundred (Amazon VPC quotas, "VPCs per Region"); across accounts and Regions this leaves a
/// wide margin while bounding the table if garbage VPC ids ever arrive.
pub const MAX_DOMAINS: usize = 65_536;
/// Hashed ids are 31-bit (below 2^31), like the synthetic ifIndexes: some collectors store the
/// ODID in a signed 32-bit column.
const HASH_MASK: u32 = 0x7fff_ffff;
/// First id a hash may produce (0 and 1 are reserved, see the module doc).
const FIRST_ASSIGNABLE: u32 = 2;

/// Where a domain's values came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `[exporter vpc-…]` (for the values the section gives).
    Config,
    /// `exporters.json`.
    Persisted,
    /// Assigned in this run.
    Assigned,
    /// The unknown-VPC domain.
    Fixed,
}

/// One observation domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub id: DomainId,
    /// The VPC id; empty for the unknown-VPC domain.
    pub vpc_id: String,
    pub exporter_ipv4: Option<Ipv4Addr>,
    /// observationDomainName: the VPC id, plus the VPC's Name tag once the inventory has it.
    pub name: String,
    pub origin: Origin,
}

/// Why a table could not be built or an address assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainError {
    /// A config section uses a reserved domain id.
    ReservedId { vpc_id: String, id: u32 },
    /// `exporters.json` is not valid JSON of the expected shape.
    BadState { reason: String },
    /// `exporters.json` was written by a newer version.
    StateVersion { found: u32 },
    /// Every usable address of the exporter pool is taken.
    PoolExhausted {
        vpc_id: String,
        pool: (Ipv4Addr, u8),
    },
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::ReservedId { vpc_id, id } => write!(
                f,
                "[exporter {vpc_id}] domain_id = {id}: ids 0 and 1 are reserved (1 is the unknown-VPC domain), use 2 or more"
            ),
            DomainError::BadState { reason } => {
                write!(f, "exporter state file is invalid: {reason}")
            }
            DomainError::StateVersion { found } => write!(
                f,
                "exporter state file has version {found}, this build reads version {STATE_VERSION}"
            ),
            DomainError::PoolExhausted { vpc_id, pool } => write!(
                f,
                "exporter_pool {}/{} has no free address for {vpc_id}: exported without an exporter address; widen the pool or add an [exporter {vpc_id}] ip",
                pool.0, pool.1
            ),
        }
    }
}

impl std::error::Error for DomainError {}

/// `exporters.json`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    domains: Vec<StateEntry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateEntry {
    vpc_id: String,
    domain_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exporter_ipv4: Option<Ipv4Addr>,
}

/// VPC id → observation domain. See the module doc.
#[derive(Debug)]
pub struct DomainTable {
    /// `domains[0]` is the unknown-VPC domain.
    domains: Vec<Domain>,
    by_vpc: HashMap<Box<str>, usize>,
    ids: HashSet<u32>,
    ips: HashSet<Ipv4Addr>,
    pool: Option<(Ipv4Addr, u8)>,
    dirty: bool,
    /// `MAX_DOMAINS` was reached (logged once).
    full_logged: bool,
}

impl DomainTable {
    /// A table with the config's exporters and nothing persisted.
    pub fn new(
        exporters: &[ExporterSpec],
        pool: Option<(Ipv4Addr, u8)>,
    ) -> Result<DomainTable, DomainError> {
        let t = DomainTable::build(exporters, pool, &[])?;
        Ok(t)
    }

    /// A table with the config's exporters, then the persisted assignments of `exporters.json`
    /// (for every other VPC, and for the values a config section leaves out).
    pub fn from_json(
        exporters: &[ExporterSpec],
        pool: Option<(Ipv4Addr, u8)>,
        json: &[u8],
    ) -> Result<DomainTable, DomainError> {
        let state: StateFile = serde_json::from_slice(json).map_err(|e| DomainError::BadState {
            reason: e.to_string(),
        })?;
        if state.version != STATE_VERSION {
            return Err(DomainError::StateVersion {
                found: state.version,
            });
        }
        validate_state(&state.domains)?;
        DomainTable::build(exporters, pool, &state.domains)
    }

    /// Config first, then what `saved` keeps, then fresh assignments for the rest; every value
    /// that is kept is reserved before anything is hashed, so a fresh assignment can never take
    /// a persisted id or address.
    fn build(
        exporters: &[ExporterSpec],
        pool: Option<(Ipv4Addr, u8)>,
        saved: &[StateEntry],
    ) -> Result<DomainTable, DomainError> {
        let mut t = DomainTable {
            domains: vec![Domain {
                id: UNKNOWN_DOMAIN,
                vpc_id: String::new(),
                exporter_ipv4: None,
                name: UNKNOWN_DOMAIN_NAME.to_string(),
                origin: Origin::Fixed,
            }],
            by_vpc: HashMap::new(),
            ids: HashSet::from([0, UNKNOWN_DOMAIN.0]),
            ips: HashSet::new(),
            pool,
            dirty: false,
            full_logged: false,
        };
        for e in exporters {
            if let Some(id) = e.domain_id {
                if id <= UNKNOWN_DOMAIN.0 {
                    return Err(DomainError::ReservedId {
                        vpc_id: e.vpc_id.clone(),
                        id,
                    });
                }
                t.ids.insert(id);
            }
            t.ips.extend(e.ip);
        }
        // (vpc, id, ip, origin) with what is known so far.
        let mut plan: Vec<(&str, Option<u32>, Option<Ipv4Addr>, Origin)> = Vec::new();
        let config_ids = t.ids.clone();
        let config_ips = t.ips.clone();
        let keep_id = |id: u32| id > UNKNOWN_DOMAIN.0 && !config_ids.contains(&id);
        let keep_ip = |ip: Ipv4Addr| pool_contains(pool, ip) && !config_ips.contains(&ip);
        for e in exporters {
            let s = saved.iter().find(|s| s.vpc_id == e.vpc_id);
            let id = e
                .domain_id
                .or_else(|| s.map(|s| s.domain_id).filter(|id| keep_id(*id)));
            let ip =
                e.ip.or_else(|| s.and_then(|s| s.exporter_ipv4).filter(|ip| keep_ip(*ip)));
            plan.push((&e.vpc_id, id, ip, Origin::Config));
        }
        for s in saved {
            if exporters.iter().any(|e| e.vpc_id == s.vpc_id) || plan.len() >= MAX_DOMAINS {
                continue;
            }
            let id = Some(s.domain_id).filter(|id| keep_id(*id));
            let ip = s.exporter_ipv4.filter(|ip| keep_ip(*ip));
            if id.is_none() || (ip.is_none() && s.exporter_ipv4.is_some()) {
                log::warn!(
                    "persisted exporter moved by the config or the pool vpc={} domain_id={} exporter_ip={}",
                    s.vpc_id,
                    s.domain_id,
                    fmt_ip(s.exporter_ipv4)
                );
            }
            plan.push((&s.vpc_id, id, ip, Origin::Persisted));
        }
        for &(_, id, ip, _) in &plan {
            t.ids.extend(id);
            t.ips.extend(ip);
        }
        for (vpc, id, ip, origin) in plan {
            let id = id.unwrap_or_else(|| t.free_id(vpc));
            let ip = match ip {
                Some(ip) => Some(ip),
                None => t.pool_ip(vpc).unwrap_or_else(|e| {
                    log::warn!("exporter address not assigned vpc={vpc} reason={e}");
                    None
                }),
            };
            t.insert(vpc, id, ip, origin);
        }
        // Write the file when it does not say exactly what the table holds (config sections are
        // persisted too, so their values stay if a section is removed).
        t.dirty = t.domains.len() - 1 != saved.len()
            || t.domains[1..].iter().any(|d| {
                !saved.iter().any(|s| {
                    s.vpc_id == d.vpc_id
                        && s.domain_id == d.id.0
                        && s.exporter_ipv4 == d.exporter_ipv4
                })
            });
        Ok(t)
    }

    /// The domain of a known VPC. No allocation.
    #[inline]
    pub fn get(&self, vpc_id: &str) -> Option<&Domain> {
        self.domains.get(*self.by_vpc.get(vpc_id)?)
    }

    /// The unknown-VPC domain.
    pub fn unknown(&self) -> &Domain {
        &self.domains[0]
    }

    /// The domain for a record's VPC: `None`, `""`, `-` or anything that is not a VPC id goes
    /// to the unknown-VPC domain; a VPC seen for the first time is assigned a domain (and an
    /// address from the pool, if there is one). Allocates only for a new VPC.
    ///
    /// When the pool has no free address the VPC gets a domain without one and a warning is
    /// logged (once per VPC: the next call finds it). When the table already has
    /// [`MAX_DOMAINS`] VPCs the unknown-VPC domain is returned (logged once).
    pub fn resolve(&mut self, vpc_id: Option<&str>) -> &Domain {
        let Some(vpc) = vpc_id.filter(|v| is_vpc_id(v)) else {
            return &self.domains[0];
        };
        if let Some(&at) = self.by_vpc.get(vpc) {
            return &self.domains[at];
        }
        if self.domains.len() > MAX_DOMAINS {
            if !self.full_logged {
                self.full_logged = true;
                log::warn!(
                    "domain table full, new VPCs go to the unknown-VPC domain max={MAX_DOMAINS} vpc={vpc}"
                );
            }
            return &self.domains[0];
        }
        let id = self.free_id(vpc);
        let ip = self.pool_ip(vpc).unwrap_or_else(|e| {
            log::warn!("exporter address not assigned vpc={vpc} reason={e}");
            None
        });
        log::info!(
            "new observation domain vpc={vpc} domain_id={id} exporter_ip={}",
            fmt_ip(ip)
        );
        let at = self.insert(vpc, id, ip, Origin::Assigned);
        self.dirty = true;
        &self.domains[at]
    }

    /// Sets the observationDomainName from the VPC's Name tag (`vpc-… name`); `None` or empty
    /// leaves just the id. Returns true if it changed (the exporter should re-announce it).
    pub fn set_vpc_name(&mut self, vpc_id: &str, vpc_name: Option<&str>) -> bool {
        let Some(&at) = self.by_vpc.get(vpc_id) else {
            return false;
        };
        let name = match vpc_name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => format!("{vpc_id} {n}"),
            None => vpc_id.to_string(),
        };
        let Some(d) = self.domains.get_mut(at) else {
            return false;
        };
        if d.name == name {
            return false;
        }
        d.name = name;
        true
    }

    /// Every domain, the unknown-VPC domain first, then config, persisted, and assigned ones
    /// in the order they were added.
    pub fn domains(&self) -> &[Domain] {
        &self.domains
    }

    /// True when the table holds assignments `exporters.json` does not have yet.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The driver wrote `to_json()` durably.
    pub fn mark_saved(&mut self) {
        self.dirty = false;
    }

    /// `exporters.json`: every VPC domain (config ones included), sorted by VPC id.
    pub fn to_json(&self) -> Vec<u8> {
        let mut domains: Vec<StateEntry> = self.domains[1..]
            .iter()
            .map(|d| StateEntry {
                vpc_id: d.vpc_id.clone(),
                domain_id: d.id.0,
                exporter_ipv4: d.exporter_ipv4,
            })
            .collect();
        domains.sort_by(|a, b| a.vpc_id.cmp(&b.vpc_id));
        let state = StateFile {
            version: STATE_VERSION,
            domains,
        };
        // Plain structs of strings and numbers: serialization cannot fail.
        let mut out = serde_json::to_vec_pretty(&state).unwrap_or_default();
        out.push(b'\n');
        out
    }

    fn insert(&mut self, vpc: &str, id: u32, ip: Option<Ipv4Addr>, origin: Origin) -> usize {
        self.ids.insert(id);
        self.ips.extend(ip);
        let at = self.domains.len();
        self.domains.push(Domain {
            id: DomainId(id),
            vpc_id: vpc.to_string(),
            exporter_ipv4: ip,
            name: vpc.to_string(),
            origin,
        });
        self.by_vpc.insert(vpc.into(), at);
        at
    }

    /// The hashed id of `vpc`, probed up to the first free one (wrapping within 2..2^31).
    fn free_id(&self, vpc: &str) -> u32 {
        let mut id = fnv1a(vpc) & HASH_MASK;
        // At most MAX_DOMAINS + config ids of 2^31 are taken: this ends quickly.
        while id < FIRST_ASSIGNABLE || self.ids.contains(&id) {
            id = (id + 1) & HASH_MASK;
        }
        id
    }

    /// The pool address of `vpc`, `Ok(None)` without a pool.
    fn pool_ip(&self, vpc: &str) -> Result<Option<Ipv4Addr>, DomainError> {
        match self.pool {
            Some(pool) => assign_from_pool(vpc, pool, &self.ips).map(Some),
            None => Ok(None),
        }
    }
}

/// Rejects a state file that names a VPC, an id or an address twice, or a reserved id: it was
/// not written by this table, and guessing which entry is right could move an exporter.
fn validate_state(entries: &[StateEntry]) -> Result<(), DomainError> {
    let mut vpcs = HashSet::new();
    let mut ids = HashSet::new();
    let mut ips = HashSet::new();
    for e in entries {
        let bad = |what: &str| DomainError::BadState {
            reason: format!("{what} (vpc {})", e.vpc_id),
        };
        if !is_vpc_id(&e.vpc_id) {
            return Err(bad("not a VPC id"));
        }
        if e.domain_id <= UNKNOWN_DOMAIN.0 {
            return Err(bad("reserved domain id"));
        }
        if !vpcs.insert(e.vpc_id.as_str()) {
            return Err(bad("VPC listed twice"));
        }
        if !ids.insert(e.domain_id) {
            return Err(bad("domain id used twice"));
        }
        if e.exporter_ipv4.is_some_and(|ip| !ips.insert(ip)) {
            return Err(bad("exporter address used twice"));
        }
    }
    Ok(())
}

fn fmt_ip(ip: Option<Ipv4Addr>) -> String {
    ip.map_or_else(|| "-".to_string(), |a| a.to_string())
}

/// The first free host address of `pool` for `vpc`, from `fnv1a(vpc) % hosts` on (linear
/// probe, wrapping), skipping the network and broadcast addresses and `taken`.
pub fn assign_from_pool(
    vpc: &str,
    pool: (Ipv4Addr, u8),
    taken: &HashSet<Ipv4Addr>,
) -> Result<Ipv4Addr, DomainError> {
    let exhausted = || DomainError::PoolExhausted {
        vpc_id: vpc.to_string(),
        pool,
    };
    let (network, hosts) = pool_hosts(pool).ok_or_else(exhausted)?;
    let in_use = taken
        .iter()
        .filter(|ip| pool_contains(Some(pool), **ip))
        .count();
    if in_use as u64 >= u64::from(hosts) {
        return Err(exhausted());
    }
    let mut k = fnv1a(vpc) % hosts;
    // Terminates: fewer than `hosts` addresses of the pool are taken.
    loop {
        let ip = Ipv4Addr::from(network + 1 + k);
        if !taken.contains(&ip) {
            return Ok(ip);
        }
        k = (k + 1) % hosts;
    }
}

/// (network address, number of host addresses) of a pool; `None` when it has none (/31, /32).
fn pool_hosts((base, len): (Ipv4Addr, u8)) -> Option<(u32, u32)> {
    if len > 30 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let network = u32::from(base) & mask;
    // All addresses minus network and broadcast.
    let hosts = (!mask).checked_sub(1)?;
    Some((network, hosts))
}

/// True if `ip` is a host address of the pool (false without a pool).
fn pool_contains(pool: Option<(Ipv4Addr, u8)>, ip: Ipv4Addr) -> bool {
    let Some((network, hosts)) = pool.and_then(pool_hosts) else {
        return false;
    };
    let ip = u32::from(ip);
    ip > network && ip - network <= hosts
}

/// `vpc-` and 1 to 32 hex digits (the config accepts the same).
fn is_vpc_id(s: &str) -> bool {
    s.strip_prefix("vpc-")
        .is_some_and(|h| !h.is_empty() && h.len() <= 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// 32-bit FNV-1a (draft-eastlake-fnv): the same hash as `ipfix::synthetic_if_index`.
fn fnv1a(s: &str) -> u32 {
    const OFFSET_BASIS: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    s.bytes()
        .fold(OFFSET_BASIS, |h, b| (h ^ u32::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "vpc-0a1b2c3d4e5f60718";
    const B: &str = "vpc-0b1b2c3d4e5f60718";
    const C: &str = "vpc-0c1b2c3d4e5f60718";
    const D: &str = "vpc-0d1b2c3d4e5f60718";
    const POOL: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 255, 0, 0), 24);

    fn spec(vpc: &str, ip: Option<[u8; 4]>, domain_id: Option<u32>) -> ExporterSpec {
        ExporterSpec {
            vpc_id: vpc.to_string(),
            ip: ip.map(Ipv4Addr::from),
            domain_id,
            line: 1,
        }
    }

    fn ids(t: &DomainTable, vpcs: &[&str]) -> Vec<(u32, Option<Ipv4Addr>)> {
        vpcs.iter()
            .map(|v| {
                let d = t.get(v).unwrap();
                (d.id.0, d.exporter_ipv4)
            })
            .collect()
    }

    #[test]
    fn fnv1a_reference_values() {
        // FNV-1a 32 test vectors (draft-eastlake-fnv): "" , "a", "foobar".
        assert_eq!(fnv1a(""), 0x811c_9dc5);
        assert_eq!(fnv1a("a"), 0xe40c_292c);
        assert_eq!(fnv1a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn unknown_vpc_domain() {
        let mut t = DomainTable::new(&[], Some(POOL)).unwrap();
        for vpc in [
            None,
            Some(""),
            Some("-"),
            Some("unknown"),
            Some("vpc-"),
            Some("vpc-xyz"),
        ] {
            let d = t.resolve(vpc);
            assert_eq!(d.id, UNKNOWN_DOMAIN, "{vpc:?}");
            assert_eq!(d.exporter_ipv4, None, "no pool address for it");
            assert_eq!(d.name, UNKNOWN_DOMAIN_NAME);
            assert_eq!(d.origin, Origin::Fixed);
        }
        assert_eq!(t.domains().len(), 1);
        assert!(!t.is_dirty());
        assert_eq!(t.unknown().id, DomainId(1));
    }

    #[test]
    fn new_vpcs_are_hashed_and_get_pool_addresses() {
        let mut t = DomainTable::new(&[], Some(POOL)).unwrap();
        let d = t.resolve(Some(A)).clone();
        assert_eq!(d.id.0, fnv1a(A) & 0x7fff_ffff);
        let hosts = 254;
        assert_eq!(
            d.exporter_ipv4,
            Some(Ipv4Addr::new(10, 255, 0, 1 + (fnv1a(A) % hosts) as u8))
        );
        assert_eq!(
            (d.vpc_id.as_str(), d.name.as_str(), d.origin),
            (A, A, Origin::Assigned)
        );
        assert!(t.is_dirty());
        t.mark_saved();
        // Known: the same domain, nothing new.
        assert_eq!(t.resolve(Some(A)), &d);
        assert_eq!(t.get(A), Some(&d));
        assert!(!t.is_dirty());
        // Without a pool: no address.
        let mut t = DomainTable::new(&[], None).unwrap();
        assert_eq!(t.resolve(Some(A)).exporter_ipv4, None);
        assert_eq!(t.resolve(Some(A)).id, d.id);
    }

    #[test]
    fn config_wins_over_persisted_and_hashed_values() {
        let hashed_b = fnv1a(B) & 0x7fff_ffff;
        let config = [
            // A: both values configured. C: only an address. D: an id equal to B's hash.
            spec(A, Some([10, 255, 0, 1]), Some(1001)),
            spec(C, Some([192, 0, 2, 10]), None),
            spec(D, None, Some(hashed_b)),
        ];
        let saved = format!(
            r#"{{"version":1,"domains":[
                {{"vpc_id":"{A}","domain_id":5000,"exporter_ipv4":"10.255.0.9"}},
                {{"vpc_id":"{B}","domain_id":1001,"exporter_ipv4":"10.255.0.1"}},
                {{"vpc_id":"{C}","domain_id":7777,"exporter_ipv4":"10.255.0.77"}}]}}"#
        );
        let mut t = DomainTable::from_json(&config, Some(POOL), saved.as_bytes()).unwrap();
        let a = t.get(A).unwrap();
        assert_eq!(
            (a.id.0, a.exporter_ipv4, a.origin),
            (1001, Some(Ipv4Addr::new(10, 255, 0, 1)), Origin::Config)
        );
        // C keeps its persisted id; its address is the configured one.
        let c = t.get(C).unwrap();
        assert_eq!(
            (c.id.0, c.exporter_ipv4),
            (7777, Some(Ipv4Addr::new(192, 0, 2, 10)))
        );
        // B's persisted id and address are now A's: B moves, to values nobody else has.
        let b = t.get(B).unwrap().clone();
        assert_eq!(b.origin, Origin::Persisted);
        assert!(![1001, 7777, hashed_b, 0, 1].contains(&b.id.0), "{b:?}");
        assert_eq!(
            b.id.0,
            hashed_b + 1,
            "B's hash is D's configured id: probed"
        );
        let b_ip = b.exporter_ipv4.unwrap();
        assert!(pool_contains(Some(POOL), b_ip) && b_ip != Ipv4Addr::new(10, 255, 0, 1));
        assert_eq!(t.get(D).unwrap().id.0, hashed_b);
        assert!(t.is_dirty(), "B moved: the file must be rewritten");
        // New VPCs never take configured values.
        for i in 0..300u32 {
            let d = t.resolve(Some(&format!("vpc-{i:08x}"))).clone();
            assert!(![1001, 7777, hashed_b, b.id.0].contains(&d.id.0));
            assert_ne!(d.exporter_ipv4, Some(Ipv4Addr::new(10, 255, 0, 1)));
        }
        // /24 pool: 254 hosts, 3 taken before (A's config address, B, and …9 freed by A).
        let with_ip = t
            .domains()
            .iter()
            .filter(|d| {
                d.exporter_ipv4
                    .is_some_and(|ip| pool_contains(Some(POOL), ip))
            })
            .count();
        assert_eq!(with_ip, 254);
    }

    #[test]
    fn reserved_config_ids_are_refused() {
        for id in [0, 1] {
            let err = DomainTable::new(&[spec(A, None, Some(id))], None).unwrap_err();
            assert_eq!(
                err,
                DomainError::ReservedId {
                    vpc_id: A.into(),
                    id
                }
            );
            assert!(err.to_string().contains("reserved"), "{err}");
        }
    }

    #[test]
    fn persisted_assignments_never_move_whatever_the_order() {
        // A small pool so that addresses collide and order would matter without the file.
        let pool = (Ipv4Addr::new(10, 0, 0, 0), 29); // 6 hosts
        // Six VPCs, the first two hashing to the same address.
        let candidates: Vec<String> = (1..100u32)
            .map(|i| format!("vpc-{:017x}", i * 7919))
            .collect();
        let first_slot = fnv1a(&candidates[0]) % 6;
        let twin = candidates[1..]
            .iter()
            .find(|v| fnv1a(v) % 6 == first_slot)
            .unwrap();
        let mut vpcs = vec![candidates[0].clone(), twin.clone()];
        vpcs.extend(
            candidates[1..]
                .iter()
                .filter(|v| *v != twin)
                .take(4)
                .cloned(),
        );

        let mut first = DomainTable::new(&[], Some(pool)).unwrap();
        for v in &vpcs {
            first.resolve(Some(v));
        }
        let names: Vec<&str> = vpcs.iter().map(String::as_str).collect();
        let before = ids(&first, &names);
        let json = first.to_json();

        // Restart: seen in the reverse order, plus a new VPC that finds the pool full.
        let mut second = DomainTable::from_json(&[], Some(pool), &json).unwrap();
        assert!(!second.is_dirty(), "nothing changed");
        for v in vpcs.iter().rev() {
            second.resolve(Some(v));
        }
        assert_eq!(ids(&second, &names), before);
        assert!(!second.is_dirty());
        let extra = second.resolve(Some("vpc-ffff")).clone();
        assert_eq!(extra.exporter_ipv4, None, "pool exhausted");
        assert!(second.is_dirty());
        assert_eq!(ids(&second, &names), before);
        // Its output parses back to the same table.
        let third = DomainTable::from_json(&[], Some(pool), &second.to_json()).unwrap();
        assert_eq!(third.get("vpc-ffff").unwrap().id, extra.id);
        assert_eq!(ids(&third, &names), before);

        // Without the file the reverse order gives some VPC another address.
        let mut fresh = DomainTable::new(&[], Some(pool)).unwrap();
        for v in vpcs.iter().rev() {
            fresh.resolve(Some(v));
        }
        assert_ne!(ids(&fresh, &names), before);
    }

    #[test]
    fn pool_exhaustion_and_pool_edges() {
        let pool = (Ipv4Addr::new(10, 0, 0, 6), 30); // 10.0.0.4/30: hosts .5 and .6
        let mut taken = HashSet::new();
        for _ in 0..2 {
            let ip = assign_from_pool(A, pool, &taken).unwrap();
            assert!(ip == Ipv4Addr::new(10, 0, 0, 5) || ip == Ipv4Addr::new(10, 0, 0, 6));
            assert!(taken.insert(ip));
        }
        // An address outside the pool does not use it up.
        taken.insert(Ipv4Addr::new(10, 0, 0, 9));
        taken.insert(Ipv4Addr::new(10, 0, 0, 4));
        let err = assign_from_pool(B, pool, &taken).unwrap_err();
        assert_eq!(
            err,
            DomainError::PoolExhausted {
                vpc_id: B.into(),
                pool
            }
        );
        assert_eq!(
            err.to_string(),
            "exporter_pool 10.0.0.6/30 has no free address for vpc-0b1b2c3d4e5f60718: exported without an exporter address; widen the pool or add an [exporter vpc-0b1b2c3d4e5f60718] ip"
        );
        let mut t = DomainTable::new(&[], Some(pool)).unwrap();
        let got: Vec<Option<Ipv4Addr>> = [A, B, C]
            .iter()
            .map(|v| t.resolve(Some(v)).exporter_ipv4)
            .collect();
        assert_eq!(got.iter().filter(|ip| ip.is_some()).count(), 2);
        assert_eq!(got[2], None);
        // Network and broadcast addresses are never handed out.
        assert!(!pool_contains(Some(pool), Ipv4Addr::new(10, 0, 0, 4)));
        assert!(!pool_contains(Some(pool), Ipv4Addr::new(10, 0, 0, 7)));
        assert!(pool_contains(Some(pool), Ipv4Addr::new(10, 0, 0, 6)));
        assert!(!pool_contains(None, Ipv4Addr::new(10, 0, 0, 6)));
        assert_eq!(pool_hosts((Ipv4Addr::new(10, 0, 0, 0), 31)), None);
        assert_eq!(
            pool_hosts((Ipv4Addr::new(10, 1, 2, 3), 8)),
            Some((0x0a00_0000, (1 << 24) - 2))
        );
    }

    #[test]
    fn a_changed_pool_reassigns_addresses_outside_it() {
        let saved = format!(
            r#"{{"version":1,"domains":[{{"vpc_id":"{A}","domain_id":42,"exporter_ipv4":"10.255.0.9"}}]}}"#
        );
        let t = DomainTable::from_json(
            &[],
            Some((Ipv4Addr::new(10, 254, 0, 0), 24)),
            saved.as_bytes(),
        )
        .unwrap();
        let a = t.get(A).unwrap();
        assert_eq!(a.id.0, 42, "the id stays");
        let ip = a.exporter_ipv4.unwrap();
        assert_eq!(ip.octets()[..3], [10, 254, 0]);
        assert!(t.is_dirty());
        let t = DomainTable::from_json(&[], None, saved.as_bytes()).unwrap();
        assert_eq!(
            (t.get(A).unwrap().id.0, t.get(A).unwrap().exporter_ipv4),
            (42, None)
        );
        let t = DomainTable::from_json(&[], Some(POOL), saved.as_bytes()).unwrap();
        assert_eq!(
            t.get(A).unwrap().exporter_ipv4,
            Some(Ipv4Addr::new(10, 255, 0, 9))
        );
        assert!(!t.is_dirty());
    }

    #[test]
    fn state_file_format_and_errors() {
        let mut t =
            DomainTable::new(&[spec(B, Some([10, 255, 0, 1]), Some(1001))], Some(POOL)).unwrap();
        assert!(t.is_dirty(), "config values are persisted too");
        t.resolve(Some(A));
        let json = String::from_utf8(t.to_json()).unwrap();
        let a = t.get(A).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(v["domains"][0]["vpc_id"], A, "sorted by VPC id");
        assert_eq!(v["domains"][0]["domain_id"], a.id.0);
        assert_eq!(
            v["domains"][0]["exporter_ipv4"],
            a.exporter_ipv4.unwrap().to_string()
        );
        assert_eq!(v["domains"][1]["vpc_id"], B);
        assert_eq!(v["domains"][1]["domain_id"], 1001);
        assert_eq!(v["domains"].as_array().unwrap().len(), 2);
        assert!(json.ends_with("}\n"));

        for (bad, what) in [
            (&b"not json"[..], "invalid"),
            (br#"{"version":1}"#, "missing field"),
            (br#"{"version":1,"domains":[{"vpc_id":"vpc-1","domain_id":1}]}"#, "reserved"),
            (br#"{"version":1,"domains":[{"vpc_id":"vpc-1","domain_id":5},{"vpc_id":"vpc-2","domain_id":5}]}"#, "id used twice"),
            (br#"{"version":1,"domains":[{"vpc_id":"vpc-1","domain_id":5},{"vpc_id":"vpc-1","domain_id":6}]}"#, "VPC listed twice"),
            (br#"{"version":1,"domains":[{"vpc_id":"vpc-1","domain_id":5,"exporter_ipv4":"10.0.0.1"},{"vpc_id":"vpc-2","domain_id":6,"exporter_ipv4":"10.0.0.1"}]}"#, "address used twice"),
            (br#"{"version":1,"domains":[{"vpc_id":"eni-1","domain_id":5}]}"#, "not a VPC id"),
            (br#"{"version":1,"domains":[{"vpc_id":"vpc-1","domain_id":5,"exporter_ipv4":"::1"}]}"#, "invalid"),
        ] {
            let err = DomainTable::from_json(&[], None, bad).unwrap_err();
            assert!(matches!(err, DomainError::BadState { .. }), "{err:?}");
            assert!(err.to_string().contains(what), "{err}");
        }
        let err = DomainTable::from_json(&[], None, br#"{"version":2,"domains":[]}"#).unwrap_err();
        assert_eq!(err, DomainError::StateVersion { found: 2 });
        // An empty file from an agent that saw no VPC.
        let t = DomainTable::from_json(&[], None, br#"{"version":1,"domains":[]}"#).unwrap();
        assert_eq!(t.domains().len(), 1);
        assert!(!t.is_dirty());
    }

    #[test]
    fn vpc_names() {
        let mut t = DomainTable::new(&[], None).unwrap();
        t.resolve(Some(A));
        assert!(t.set_vpc_name(A, Some("prod")));
        assert_eq!(t.get(A).unwrap().name, format!("{A} prod"));
        assert!(!t.set_vpc_name(A, Some(" prod ")));
        assert!(t.set_vpc_name(A, Some("")));
        assert_eq!(t.get(A).unwrap().name, A);
        assert!(!t.set_vpc_name(B, Some("x")), "unknown VPC");
    }
}
