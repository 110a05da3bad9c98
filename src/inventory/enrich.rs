//! Enrichment tables: an [`Inventory`] turned into lookups for the per-record hot path, and the
//! [`Enrichment`] of one flow record (names, AZ, Region, the remote side's AWS service and the
//! path the flow takes).
//!
//! Built once per inventory (at start from `inventory.json`, then at every scheduled refresh),
//! read for every record. Every lookup is a hash probe keyed by `&str` (ENI, VPC, subnet,
//! instance ids) or by `(VPC, address)`, or a longest-prefix match that is one binary search
//! plus a short walk up enclosing prefixes ([`PrefixTable`]); none allocates, and every string
//! of the result borrows from the tables (or from the `IpRanges`).
//!
//! The path kind of a flow, first source first:
//! 1. the record's `traffic-path` (egress records, spec A.3): 2 → internet gateway or, when the
//!    remote address is S3/DynamoDB of the Region and the subnet routes to a gateway endpoint
//!    of that service, vpc-endpoint; 3 → virtual private gateway; 4, 5 → peering; 6 → local
//!    gateway; 7 → vpc-endpoint; 8 → internet gateway; 1 ("another resource in the same VPC",
//!    which includes NAT gateways and endpoints) → what the inventory says below, `local` when
//!    that is nothing more specific;
//! 2. the ENI itself: a NAT gateway's, a VPC endpoint's (interface / Gateway Load Balancer) or
//!    a transit gateway attachment's;
//! 3. the remote address inside the VPC: a NAT gateway's private address, an endpoint's or a
//!    transit gateway attachment's interface, else any address of the VPC's CIDRs → `local`;
//! 4. a gateway endpoint (S3, DynamoDB: prefix-list routes, matched through `ip-ranges.json`);
//! 5. the subnet's route table (explicit association, else the VPC's main table), longest
//!    prefix: `local`, `nat-`, `tgw-`, `pcx-`, `vpce-`, `igw-`/`eigw-` (public remote only),
//!    `vgw-`, `lgw-`;
//! 6. the CIDRs of VPCs peered with this one → `peering`;
//! 7. else `unknown`.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::flowlog::{Field, FlowDirection, FlowRecord};
use crate::inventory::ip_ranges::IpRanges;
use crate::inventory::model::Inventory;
use crate::pipeline::map::Enrichment;

#[path = "enrich/record.rs"]
mod record;
pub use record::enrichment_for;

/// How a flow leaves or enters the VPC (the `pathKind` element's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathKind {
    Local,
    NatGateway,
    VpcEndpoint,
    Peering,
    TransitGateway,
    InternetGateway,
    VirtualPrivateGateway,
    LocalGateway,
    Unknown,
}

impl PathKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PathKind::Local => "local",
            PathKind::NatGateway => "nat-gateway",
            PathKind::VpcEndpoint => "vpc-endpoint",
            PathKind::Peering => "peering",
            PathKind::TransitGateway => "transit-gateway",
            PathKind::InternetGateway => "internet-gateway",
            PathKind::VirtualPrivateGateway => "virtual-private-gateway",
            PathKind::LocalGateway => "local-gateway",
            PathKind::Unknown => "unknown",
        }
    }

    /// The kind a route target names (`local`, `igw-…`, …); `None` for targets that say
    /// nothing about the path (an instance or ENI appliance, a carrier gateway, none).
    fn of_target(target: &str) -> Option<PathKind> {
        let kind = match target.split('-').next().unwrap_or("") {
            "local" => PathKind::Local,
            "nat" => PathKind::NatGateway,
            "tgw" => PathKind::TransitGateway,
            "pcx" => PathKind::Peering,
            "vpce" => PathKind::VpcEndpoint,
            "igw" | "eigw" => PathKind::InternetGateway,
            "vgw" => PathKind::VirtualPrivateGateway,
            "lgw" => PathKind::LocalGateway,
            _ => return None,
        };
        Some(kind)
    }
}

/// A set of CIDRs with a value each; longest-prefix lookup. Entries sorted by start (outer
/// before inner on equal starts); each knows its innermost enclosing entry, so a lookup is a
/// binary search for the last entry starting at or before the address, then a walk up the
/// enclosing entries (CIDRs nest or are disjoint) to the first that contains it.
#[derive(Debug)]
struct PrefixTable<T> {
    v4: Vec<Node<T>>,
    v6: Vec<Node<T>>,
}

#[derive(Debug)]
struct Node<T> {
    start: u128,
    end: u128,
    parent: Option<u32>,
    value: T,
}

impl<T> Default for PrefixTable<T> {
    fn default() -> Self {
        PrefixTable {
            v4: Vec::new(),
            v6: Vec::new(),
        }
    }
}

/// `10.0.0.0/16` or `2001:db8::/56` → (is IPv6, first, last); IPv4 in the low 32 bits.
fn parse_cidr(text: &str) -> Option<(bool, u128, u128)> {
    let (addr, len) = text.trim().split_once('/')?;
    let len: u32 = len.parse().ok()?;
    let (v6, bits, value) = match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => (false, 32, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, 128, u128::from(a)),
    };
    if len > bits {
        return None;
    }
    let host = bits - len;
    let mask = if host == 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    Some((v6, value & !mask, (value & !mask) | mask))
}

fn key(addr: IpAddr) -> (bool, u128) {
    match addr {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

impl<T> PrefixTable<T> {
    /// Unparseable CIDRs are skipped (they come from AWS; a bad one must not stop the rest).
    fn build<'s>(entries: impl IntoIterator<Item = (&'s str, T)>) -> PrefixTable<T> {
        let mut t = PrefixTable::default();
        for (cidr, value) in entries {
            if let Some((v6, start, end)) = parse_cidr(cidr) {
                let list = if v6 { &mut t.v6 } else { &mut t.v4 };
                list.push(Node {
                    start,
                    end,
                    parent: None,
                    value,
                });
            }
        }
        for list in [&mut t.v4, &mut t.v6] {
            list.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
            let mut stack: Vec<u32> = Vec::new();
            for i in 0..list.len() {
                while let Some(&top) = stack.last() {
                    if list[top as usize].end >= list[i].start {
                        break;
                    }
                    stack.pop();
                }
                list[i].parent = stack.last().copied();
                stack.push(i as u32);
            }
        }
        t
    }

    fn lookup(&self, addr: IpAddr) -> Option<&T> {
        let (v6, k) = key(addr);
        let list = if v6 { &self.v6 } else { &self.v4 };
        let mut i = list.partition_point(|n| n.start <= k).checked_sub(1)?;
        loop {
            let n = list.get(i)?;
            if k <= n.end {
                return Some(&n.value);
            }
            i = n.parent? as usize;
        }
    }
}

/// What an ENI's own kind says about every flow through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Plain,
    Kind(PathKind),
}

#[derive(Debug)]
struct Eni {
    id: Box<str>,
    interface_type: Option<Box<str>>,
    instance: Option<usize>,
    vpc: Option<usize>,
    subnet: Option<usize>,
    az: Option<Box<str>>,
    az_id: Option<Box<str>>,
    account_id: Option<Box<str>>,
    region: usize,
    addrs: Box<[IpAddr]>,
    role: Role,
}

#[derive(Debug)]
struct Vpc {
    id: Box<str>,
    name: Option<Box<str>>,
    region: usize,
    main_route_table: Option<usize>,
    /// Own CIDRs → local, peered VPCs' CIDRs → peering.
    space: PrefixTable<PathKind>,
}

#[derive(Debug)]
struct Subnet {
    id: Box<str>,
    name: Option<Box<str>>,
    az_id: Option<Box<str>>,
    route_table: Option<usize>,
}

#[derive(Debug, Default)]
struct RouteTable {
    routes: PrefixTable<PathKind>,
    /// Prefix-list routes to gateway endpoints, by the ip-ranges service they serve.
    gateway_endpoint_s3: bool,
    gateway_endpoint_dynamodb: bool,
}

/// What the inventory knows about one ENI, borrowed from the tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EniInfo<'a> {
    pub eni_id: &'a str,
    pub interface_type: Option<&'a str>,
    pub instance_id: Option<&'a str>,
    pub instance_name: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
    pub vpc_name: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub subnet_name: Option<&'a str>,
    pub az: Option<&'a str>,
    pub az_id: Option<&'a str>,
    pub region: &'a str,
    pub account_id: Option<&'a str>,
}

/// See the module doc.
#[derive(Debug, Default)]
pub struct EnrichTables {
    regions: Vec<Box<str>>,
    enis: Vec<Eni>,
    by_eni: HashMap<Box<str>, usize>,
    vpcs: Vec<Vpc>,
    by_vpc: HashMap<Box<str>, usize>,
    subnets: Vec<Subnet>,
    by_subnet: HashMap<Box<str>, usize>,
    /// (id, Name tag).
    instances: Vec<(Box<str>, Option<Box<str>>)>,
    route_tables: Vec<RouteTable>,
    /// Addresses inside a VPC that belong to a NAT gateway, an endpoint or a transit gateway.
    special: HashMap<(usize, IpAddr), PathKind>,
}

fn boxed(s: Option<&String>) -> Option<Box<str>> {
    s.filter(|s| !s.is_empty()).map(|s| s.as_str().into())
}

impl EnrichTables {
    pub fn from_inventory(inv: &Inventory) -> EnrichTables {
        let mut t = EnrichTables::default();
        let mut instance_of: HashMap<&str, usize> = HashMap::new();
        // Pass 1: ids → indexes, so that pass 2 can link in any order.
        for a in &inv.accounts {
            for r in &a.regions {
                let region = t.regions.len();
                t.regions.push(r.region.as_str().into());
                for v in &r.vpcs {
                    if t.by_vpc.contains_key(v.id.as_str()) {
                        continue; // shared VPCs appear in every participant account
                    }
                    t.by_vpc.insert(v.id.as_str().into(), t.vpcs.len());
                    t.vpcs.push(Vpc {
                        id: v.id.as_str().into(),
                        name: boxed(v.name.as_ref()),
                        region,
                        main_route_table: None,
                        space: PrefixTable::default(),
                    });
                }
                for i in &r.instances {
                    instance_of
                        .entry(i.id.as_str())
                        .or_insert(t.instances.len());
                    t.instances
                        .push((i.id.as_str().into(), boxed(i.name.as_ref())));
                }
            }
        }
        let mut region = 0;
        for a in &inv.accounts {
            for r in &a.regions {
                t.add_region(a.account_id.as_deref(), r, region, &instance_of);
                region += 1;
            }
        }
        t
    }

    fn add_region(
        &mut self,
        account_id: Option<&str>,
        r: &crate::inventory::model::RegionInventory,
        region: usize,
        instance_of: &HashMap<&str, usize>,
    ) {
        // Route tables, and which subnets and VPCs use them.
        let mut subnet_table: HashMap<&str, usize> = HashMap::new();
        for rt in &r.route_tables {
            let index = self.route_tables.len();
            let endpoint_service = |target: &str| {
                r.vpc_endpoints
                    .iter()
                    .find(|e| e.id == target)
                    .and_then(|e| e.service_name.as_deref())
                    .map(|s| s.rsplit('.').next().unwrap_or(""))
            };
            let mut table = RouteTable {
                routes: PrefixTable::build(
                    rt.routes
                        .iter()
                        .filter(|x| x.state.as_deref() != Some("blackhole"))
                        .filter_map(|x| {
                            Some((x.destination.as_str(), PathKind::of_target(&x.target)?))
                        }),
                ),
                ..RouteTable::default()
            };
            for x in rt
                .routes
                .iter()
                .filter(|x| x.destination.starts_with("pl-"))
            {
                match endpoint_service(&x.target) {
                    Some("s3") => table.gateway_endpoint_s3 = true,
                    Some("dynamodb") => table.gateway_endpoint_dynamodb = true,
                    _ => {}
                }
            }
            self.route_tables.push(table);
            for s in &rt.subnet_ids {
                subnet_table.insert(s, index);
            }
            if let Some(vpc) = rt
                .vpc_id
                .as_deref()
                .filter(|_| rt.main)
                .and_then(|v| self.by_vpc.get(v).copied())
                .and_then(|vi| self.vpcs.get_mut(vi))
            {
                vpc.main_route_table.get_or_insert(index);
            }
        }
        // Address space of each VPC: its own CIDRs, then its active peers'.
        for v in &r.vpcs {
            let Some(&vi) = self.by_vpc.get(v.id.as_str()) else {
                continue;
            };
            let mut entries: Vec<(&str, PathKind)> = v
                .cidrs_v4
                .iter()
                .chain(&v.cidrs_v6)
                .map(|c| (c.as_str(), PathKind::Local))
                .collect();
            for p in r
                .peering_connections
                .iter()
                .filter(|p| p.status.as_deref() == Some("active"))
            {
                let peer = if p.requester.vpc_id.as_deref() == Some(&v.id) {
                    &p.accepter
                } else if p.accepter.vpc_id.as_deref() == Some(&v.id) {
                    &p.requester
                } else {
                    continue;
                };
                entries.extend(
                    peer.cidrs_v4
                        .iter()
                        .chain(&peer.cidrs_v6)
                        .map(|c| (c.as_str(), PathKind::Peering)),
                );
            }
            if let Some(vpc) = self.vpcs.get_mut(vi) {
                vpc.space = PrefixTable::build(entries);
            }
        }
        for s in &r.subnets {
            if self.by_subnet.contains_key(s.id.as_str()) {
                continue;
            }
            let vpc = s
                .vpc_id
                .as_deref()
                .and_then(|v| self.by_vpc.get(v))
                .copied();
            let route_table = subnet_table
                .get(s.id.as_str())
                .copied()
                .or_else(|| vpc.and_then(|v| self.vpcs.get(v)?.main_route_table));
            self.by_subnet
                .insert(s.id.as_str().into(), self.subnets.len());
            self.subnets.push(Subnet {
                id: s.id.as_str().into(),
                name: boxed(s.name.as_ref()),
                az_id: boxed(s.az_id.as_ref()),
                route_table,
            });
        }
        // What each service-owned ENI is.
        let mut roles: HashMap<&str, PathKind> = HashMap::new();
        for g in &r.nat_gateways {
            for e in &g.network_interface_ids {
                roles.insert(e, PathKind::NatGateway);
            }
        }
        for e in &r.vpc_endpoints {
            for n in &e.network_interface_ids {
                roles.insert(n, PathKind::VpcEndpoint);
            }
        }
        for n in &r.network_interfaces {
            if self.by_eni.contains_key(n.id.as_str()) {
                continue;
            }
            let by_type = match n.interface_type.as_deref() {
                Some("nat_gateway" | "natGateway") => Some(PathKind::NatGateway),
                Some("vpc_endpoint" | "gateway_load_balancer_endpoint") => {
                    Some(PathKind::VpcEndpoint)
                }
                Some("transit_gateway") => Some(PathKind::TransitGateway),
                _ => None,
            };
            let role = roles.get(n.id.as_str()).copied().or(by_type);
            let vpc = n
                .vpc_id
                .as_deref()
                .and_then(|v| self.by_vpc.get(v))
                .copied();
            let addrs: Vec<IpAddr> = n
                .private_ips
                .iter()
                .chain(&n.ipv6_ips)
                .chain(&n.public_ips)
                .filter_map(|a| a.parse().ok())
                .collect();
            if let (Some(kind), Some(v)) = (role, vpc) {
                for a in &addrs {
                    self.special.insert((v, *a), kind);
                }
            }
            let instance = n
                .instance_id
                .as_deref()
                .and_then(|i| instance_of.get(i))
                .copied()
                .or_else(|| {
                    let owner = r
                        .instances
                        .iter()
                        .find(|i| i.network_interface_ids.contains(&n.id))?;
                    instance_of.get(owner.id.as_str()).copied()
                });
            self.by_eni.insert(n.id.as_str().into(), self.enis.len());
            self.enis.push(Eni {
                id: n.id.as_str().into(),
                interface_type: boxed(n.interface_type.as_ref()),
                instance,
                vpc,
                subnet: n
                    .subnet_id
                    .as_deref()
                    .and_then(|s| self.by_subnet.get(s))
                    .copied(),
                az: boxed(n.az.as_ref()),
                az_id: boxed(n.az_id.as_ref()),
                account_id: n.owner_id.as_deref().or(account_id).map(Into::into),
                region,
                addrs: addrs.into(),
                role: role.map_or(Role::Plain, Role::Kind),
            });
        }
        // NAT gateway addresses even when its ENI was not listed (another account's view).
        for g in &r.nat_gateways {
            if let Some(&v) = g.vpc_id.as_deref().and_then(|v| self.by_vpc.get(v)) {
                for a in g.private_ips.iter().filter_map(|a| a.parse().ok()) {
                    self.special.insert((v, a), PathKind::NatGateway);
                }
            }
        }
    }

    /// Number of ENIs known.
    pub fn len(&self) -> usize {
        self.enis.len()
    }

    pub fn is_empty(&self) -> bool {
        self.enis.is_empty()
    }

    /// What the inventory knows about `eni_id`.
    pub fn eni(&self, eni_id: &str) -> Option<EniInfo<'_>> {
        let e = self.enis.get(*self.by_eni.get(eni_id)?)?;
        let vpc = e.vpc.and_then(|v| self.vpcs.get(v));
        let subnet = e.subnet.and_then(|s| self.subnets.get(s));
        let instance = e.instance.and_then(|i| self.instances.get(i));
        Some(EniInfo {
            eni_id: &e.id,
            interface_type: e.interface_type.as_deref(),
            instance_id: instance.map(|i| &*i.0),
            instance_name: instance.and_then(|i| i.1.as_deref()),
            vpc_id: vpc.map(|v| &*v.id),
            vpc_name: vpc.and_then(|v| v.name.as_deref()),
            subnet_id: subnet.map(|s| &*s.id),
            subnet_name: subnet.and_then(|s| s.name.as_deref()),
            az: e.az.as_deref(),
            az_id: e
                .az_id
                .as_deref()
                .or_else(|| subnet.and_then(|s| s.az_id.as_deref())),
            region: self.regions.get(e.region).map_or("", |r| r),
            account_id: e.account_id.as_deref(),
        })
    }

    /// The `Name` tag of a VPC.
    pub fn vpc_name(&self, vpc_id: &str) -> Option<&str> {
        self.vpcs.get(*self.by_vpc.get(vpc_id)?)?.name.as_deref()
    }

    /// Every known VPC with its name (for the domain table's observationDomainName).
    pub fn vpc_names(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.vpcs.iter().map(|v| (&*v.id, v.name.as_deref()))
    }

    /// The path of a flow between an ENI (or, unknown ENI, a VPC and subnet) and `remote`.
    pub fn path_kind(
        &self,
        eni_id: Option<&str>,
        vpc_id: Option<&str>,
        subnet_id: Option<&str>,
        remote: IpAddr,
        traffic_path: Option<u8>,
        ranges: Option<&IpRanges>,
    ) -> PathKind {
        let eni = eni_id.and_then(|id| self.enis.get(*self.by_eni.get(id)?));
        let vpc = eni
            .and_then(|e| e.vpc)
            .or_else(|| self.by_vpc.get(vpc_id?).copied());
        let subnet = eni
            .and_then(|e| e.subnet)
            .or_else(|| self.by_subnet.get(subnet_id?).copied());
        let place = Place {
            vpc,
            route_table: subnet
                .and_then(|s| self.subnets.get(s)?.route_table)
                .or_else(|| self.vpcs.get(vpc?)?.main_route_table),
        };
        let from_inventory = || self.inventory_path(eni.map(|e| e.role), place, remote, ranges);
        match traffic_path {
            Some(1) => match from_inventory() {
                k @ (PathKind::NatGateway | PathKind::VpcEndpoint | PathKind::TransitGateway) => k,
                _ => PathKind::Local,
            },
            Some(2) if self.via_gateway_endpoint(place, remote, ranges) => PathKind::VpcEndpoint,
            Some(2 | 8) => PathKind::InternetGateway,
            Some(3) => PathKind::VirtualPrivateGateway,
            Some(4 | 5) => PathKind::Peering,
            Some(6) => PathKind::LocalGateway,
            Some(7) => PathKind::VpcEndpoint,
            _ => from_inventory(),
        }
    }

    fn inventory_path(
        &self,
        role: Option<Role>,
        place: Place,
        remote: IpAddr,
        ranges: Option<&IpRanges>,
    ) -> PathKind {
        if let Some(Role::Kind(k)) = role {
            return k;
        }
        let Some(v) = place.vpc else {
            return PathKind::Unknown;
        };
        if let Some(&k) = self.special.get(&(v, remote)) {
            return k;
        }
        let space = self
            .vpcs
            .get(v)
            .and_then(|vpc| vpc.space.lookup(remote))
            .copied();
        if space == Some(PathKind::Local) {
            return PathKind::Local;
        }
        if self.via_gateway_endpoint(place, remote, ranges) {
            return PathKind::VpcEndpoint;
        }
        let routed = place
            .route_table
            .and_then(|t| self.route_tables.get(t)?.routes.lookup(remote))
            .copied();
        match routed {
            Some(PathKind::InternetGateway) if !is_public(remote) => {
                space.unwrap_or(PathKind::Unknown)
            }
            Some(k) => k,
            None => space.unwrap_or(PathKind::Unknown),
        }
    }

    /// `remote` is S3 or DynamoDB of the VPC's Region and the route table sends that service
    /// to a gateway endpoint.
    fn via_gateway_endpoint(
        &self,
        place: Place,
        remote: IpAddr,
        ranges: Option<&IpRanges>,
    ) -> bool {
        let (Some(ranges), Some(t), Some(v)) = (ranges, place.route_table, place.vpc) else {
            return false;
        };
        let (Some(t), Some(vpc), Some(aws)) = (
            self.route_tables.get(t),
            self.vpcs.get(v),
            ranges.lookup(remote),
        ) else {
            return false;
        };
        let same_region = self
            .regions
            .get(vpc.region)
            .is_some_and(|r| **r == *aws.region);
        same_region
            && match aws.service {
                "S3" => t.gateway_endpoint_s3,
                "DYNAMODB" => t.gateway_endpoint_dynamodb,
                _ => false,
            }
    }

    /// The [`Enrichment`] of one record (without `exporter_ipv4`, which is the domain's).
    pub fn enrich<'a>(
        &'a self,
        rec: &FlowRecord<'_>,
        ranges: Option<&'a IpRanges>,
    ) -> Enrichment<'a> {
        let eni_id = rec.text(Field::InterfaceId);
        let info = eni_id.and_then(|id| self.eni(id));
        let rec_vpc = rec.text(Field::VpcId);
        let remote = self.remote_address(rec, eni_id);
        // No inventory yet: no path is claimed (every one would be `unknown`).
        let known = !(self.enis.is_empty() && self.vpcs.is_empty());
        let path = remote.filter(|_| known).map(|addr| {
            self.path_kind(
                eni_id,
                rec_vpc,
                rec.text(Field::SubnetId),
                addr,
                rec.traffic_path(),
                ranges,
            )
        });
        let remote_range = remote.and_then(|a| ranges?.lookup(a));
        let vpc_name = match info {
            Some(i) if i.vpc_id.is_some() => i.vpc_name,
            _ => rec_vpc.and_then(|v| self.vpc_name(v)),
        };
        Enrichment {
            instance_name: info.and_then(|i| i.instance_name),
            vpc_name,
            subnet_name: info.and_then(|i| i.subnet_name).or_else(|| {
                self.subnets
                    .get(*self.by_subnet.get(rec.text(Field::SubnetId)?)?)?
                    .name
                    .as_deref()
            }),
            remote_aws_service: remote_range.map(|r| r.service),
            remote_aws_region: remote_range.map(|r| r.region),
            path_kind: path.map(PathKind::as_str),
            availability_zone: info.and_then(|i| i.az),
            vpc_id: info.and_then(|i| i.vpc_id),
            subnet_id: info.and_then(|i| i.subnet_id),
            instance_id: info.and_then(|i| i.instance_id),
            az_id: info.and_then(|i| i.az_id),
            region: info.map(|i| i.region).filter(|r| !r.is_empty()),
            account_id: info.and_then(|i| i.account_id),
            exporter_ipv4: None,
        }
    }

    /// The address on the far side of the ENI: by `flow-direction`, else the one that is not
    /// the ENI's own (packet-level addresses preferred: behind a NAT gateway they are the real
    /// endpoints).
    fn remote_address(&self, rec: &FlowRecord<'_>, eni_id: Option<&str>) -> Option<IpAddr> {
        let src = rec.pkt_srcaddr().or(rec.srcaddr());
        let dst = rec.pkt_dstaddr().or(rec.dstaddr());
        match rec.flow_direction() {
            Some(FlowDirection::Egress) => return dst,
            Some(FlowDirection::Ingress) => return src,
            None => {}
        }
        let eni = eni_id.and_then(|id| self.enis.get(*self.by_eni.get(id)?));
        let mine = |a: Option<IpAddr>| a.is_some_and(|a| eni.is_some_and(|e| e.addrs.contains(&a)));
        if mine(rec.srcaddr()) || mine(rec.pkt_srcaddr()) {
            dst
        } else if mine(rec.dstaddr()) || mine(rec.pkt_dstaddr()) {
            src
        } else {
            // Not knowing the ENI's addresses: the side outside the VPC, else the destination.
            let vpc = eni.and_then(|e| e.vpc).and_then(|v| self.vpcs.get(v));
            let inside = |a: Option<IpAddr>| {
                a.is_some_and(|a| vpc.is_some_and(|v| v.space.lookup(a) == Some(&PathKind::Local)))
            };
            if inside(dst) && !inside(src) {
                src
            } else {
                dst
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Place {
    vpc: Option<usize>,
    route_table: Option<usize>,
}

/// Not private, shared, loopback, link-local or documentation space: an address an internet
/// gateway can route.
fn is_public(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(a) => {
            let s = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
#[path = "enrich/tests.rs"]
mod tests;
