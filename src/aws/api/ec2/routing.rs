//! Where traffic goes: `DescribeRouteTables`, `DescribeVpcPeeringConnections`,
//! `DescribeTransitGatewayAttachments` and `SearchTransitGatewayRoutes`.

use std::borrow::Cow;

use super::{
    API_VERSION, DescribeInput, Ec2Error, Filter, Tags, describe_request, parse_tags, push_filters,
    push_paging,
};
use crate::aws::api::query::{self, FormBody};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::{ApiRequest, Service};

/// `routeSet/item`: one destination and the target it goes to (exactly one target is set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route<'a> {
    pub destination_cidr_block: Option<&'a str>,
    pub destination_ipv6_cidr_block: Option<&'a str>,
    pub destination_prefix_list_id: Option<&'a str>,
    /// `igw-…`, `vgw-…`, `vpce-…` (gateway endpoints) or `local`.
    pub gateway_id: Option<&'a str>,
    pub nat_gateway_id: Option<&'a str>,
    pub transit_gateway_id: Option<&'a str>,
    pub vpc_peering_connection_id: Option<&'a str>,
    pub network_interface_id: Option<&'a str>,
    pub instance_id: Option<&'a str>,
    pub egress_only_internet_gateway_id: Option<&'a str>,
    pub local_gateway_id: Option<&'a str>,
    pub carrier_gateway_id: Option<&'a str>,
    pub core_network_arn: Option<Cow<'a, str>>,
    /// `active` or `blackhole`.
    pub state: Option<&'a str>,
    pub origin: Option<&'a str>,
}

/// `associationSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTableAssociation<'a> {
    pub route_table_association_id: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub gateway_id: Option<&'a str>,
    /// The VPC's main route table (applies to subnets without an explicit association).
    pub main: bool,
}

/// `routeTableSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteTable<'a> {
    pub route_table_id: &'a str,
    pub vpc_id: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub routes: Vec<Route<'a>>,
    pub associations: Vec<RouteTableAssociation<'a>>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeRouteTablesOutput<'a> {
    pub route_tables: Vec<RouteTable<'a>>,
    pub next_token: Option<&'a str>,
}

/// `requesterVpcInfo` / `accepterVpcInfo`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeeringVpcInfo<'a> {
    pub owner_id: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
    pub region: Option<&'a str>,
    pub cidr_block: Option<&'a str>,
    /// `cidrBlockSet/item/cidrBlock`
    pub cidr_blocks: Vec<&'a str>,
    /// `ipv6CidrBlockSet/item/ipv6CidrBlock`
    pub ipv6_cidr_blocks: Vec<&'a str>,
}

/// `vpcPeeringConnectionSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VpcPeeringConnection<'a> {
    pub vpc_peering_connection_id: &'a str,
    pub requester: PeeringVpcInfo<'a>,
    pub accepter: PeeringVpcInfo<'a>,
    /// `status/code`: `active`, `pending-acceptance`, `deleted`, …
    pub status_code: Option<&'a str>,
    pub status_message: Option<Cow<'a, str>>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeVpcPeeringConnectionsOutput<'a> {
    pub vpc_peering_connections: Vec<VpcPeeringConnection<'a>>,
    pub next_token: Option<&'a str>,
}

/// `transitGatewayAttachments/item` (no `Set` suffix on this list, spec H.9).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransitGatewayAttachment<'a> {
    pub transit_gateway_attachment_id: &'a str,
    pub transit_gateway_id: Option<&'a str>,
    pub transit_gateway_owner_id: Option<&'a str>,
    pub resource_owner_id: Option<&'a str>,
    /// `vpc`, `vpn`, `direct-connect-gateway`, `connect`, `peering`, …
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub state: Option<&'a str>,
    /// `association/transitGatewayRouteTableId`
    pub association_route_table_id: Option<&'a str>,
    pub association_state: Option<&'a str>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeTransitGatewayAttachmentsOutput<'a> {
    pub transit_gateway_attachments: Vec<TransitGatewayAttachment<'a>>,
    pub next_token: Option<&'a str>,
}

/// `SearchTransitGatewayRoutes` input. EC2 requires at least one filter (`type`, `state`,
/// `route-search.exact-match`, `attachment.resource-id`, …).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SearchTransitGatewayRoutesInput<'a> {
    pub transit_gateway_route_table_id: &'a str,
    pub filters: &'a [Filter<'a>],
    pub max_results: Option<u32>,
    pub next_token: Option<&'a str>,
}

/// `routeSet/item/transitGatewayAttachments/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransitGatewayRouteAttachment<'a> {
    pub resource_id: Option<&'a str>,
    pub transit_gateway_attachment_id: Option<&'a str>,
    pub resource_type: Option<&'a str>,
}

/// `routeSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransitGatewayRoute<'a> {
    pub destination_cidr_block: Option<&'a str>,
    pub prefix_list_id: Option<&'a str>,
    /// `static`, `propagated` or `system`.
    pub route_type: Option<&'a str>,
    /// `active`, `blackhole`, …
    pub state: Option<&'a str>,
    pub attachments: Vec<TransitGatewayRouteAttachment<'a>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchTransitGatewayRoutesOutput<'a> {
    pub routes: Vec<TransitGatewayRoute<'a>>,
    /// `true`: more routes matched than were returned; narrow the filter (older API versions
    /// signal truncation only this way).
    pub additional_routes_available: bool,
    pub next_token: Option<&'a str>,
}

/// `DescribeRouteTables` (ids are `RouteTableId.N`; pages hold at most
/// [`ROUTE_TABLES_MAX_RESULTS`](super::ROUTE_TABLES_MAX_RESULTS)).
pub fn describe_route_tables(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeRouteTables", "RouteTableId", input)
}

/// `DescribeVpcPeeringConnections` (ids are `VpcPeeringConnectionId.N`).
pub fn describe_vpc_peering_connections(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request(
        "DescribeVpcPeeringConnections",
        "VpcPeeringConnectionId",
        input,
    )
}

/// `DescribeTransitGatewayAttachments` (ids are `TransitGatewayAttachmentIds.N`).
pub fn describe_transit_gateway_attachments(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request(
        "DescribeTransitGatewayAttachments",
        "TransitGatewayAttachmentIds",
        input,
    )
}

pub fn search_transit_gateway_routes(input: &SearchTransitGatewayRoutesInput<'_>) -> ApiRequest {
    let mut form = FormBody::new("SearchTransitGatewayRoutes", API_VERSION);
    form.push(
        "TransitGatewayRouteTableId",
        input.transit_gateway_route_table_id,
    );
    push_filters(&mut form, input.filters);
    push_paging(&mut form, input.max_results, input.next_token);
    query::post(Service::Ec2, "SearchTransitGatewayRoutes", form.finish())
}

pub fn parse_describe_route_tables(body: &[u8]) -> Result<DescribeRouteTablesOutput<'_>, Ec2Error> {
    let mut route_tables = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeRouteTables",
        "DescribeRouteTablesResponse",
        |r, child| {
            if child.name() == "routeTableSet" {
                route_tables = r.items(child, parse_route_table)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeRouteTablesOutput {
        route_tables,
        next_token,
    })
}

pub fn parse_describe_vpc_peering_connections(
    body: &[u8],
) -> Result<DescribeVpcPeeringConnectionsOutput<'_>, Ec2Error> {
    let mut vpc_peering_connections = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeVpcPeeringConnections",
        "DescribeVpcPeeringConnectionsResponse",
        |r, child| {
            if child.name() == "vpcPeeringConnectionSet" {
                vpc_peering_connections = r.items(child, parse_peering)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeVpcPeeringConnectionsOutput {
        vpc_peering_connections,
        next_token,
    })
}

pub fn parse_describe_transit_gateway_attachments(
    body: &[u8],
) -> Result<DescribeTransitGatewayAttachmentsOutput<'_>, Ec2Error> {
    let mut transit_gateway_attachments = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeTransitGatewayAttachments",
        "DescribeTransitGatewayAttachmentsResponse",
        |r, child| {
            if child.name() == "transitGatewayAttachments" {
                transit_gateway_attachments = r.items(child, parse_tgw_attachment)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeTransitGatewayAttachmentsOutput {
        transit_gateway_attachments,
        next_token,
    })
}

pub fn parse_search_transit_gateway_routes(
    body: &[u8],
) -> Result<SearchTransitGatewayRoutesOutput<'_>, Ec2Error> {
    let mut routes = Vec::new();
    let mut additional_routes_available = false;
    let next_token = super::parse_page(
        body,
        "SearchTransitGatewayRoutes",
        "SearchTransitGatewayRoutesResponse",
        |r, child| {
            match child.name() {
                "routeSet" => routes = r.items(child, parse_tgw_route)?,
                "additionalRoutesAvailable" => additional_routes_available = r.bool(child)?,
                _ => {}
            }
            Ok(())
        },
    )?;
    Ok(SearchTransitGatewayRoutesOutput {
        routes,
        additional_routes_available,
        next_token,
    })
}

fn parse_route_table<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<RouteTable<'a>, XmlError> {
    let mut rt = RouteTable::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "routeTableId" => rt.route_table_id = r.text_str(&c)?,
            "vpcId" => rt.vpc_id = r.opt_str(&c)?,
            "ownerId" => rt.owner_id = r.opt_str(&c)?,
            "routeSet" => rt.routes = r.items(&c, parse_route)?,
            "associationSet" => rt.associations = r.items(&c, parse_association)?,
            "tagSet" => rt.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(rt)
}

fn parse_route<'a>(r: &mut XmlReader<'a>, item: &Element<'a>) -> Result<Route<'a>, XmlError> {
    let mut route = Route::default();
    while let Some(c) = r.next_child(item)? {
        let slot = match c.name() {
            "destinationCidrBlock" => &mut route.destination_cidr_block,
            "destinationIpv6CidrBlock" => &mut route.destination_ipv6_cidr_block,
            "destinationPrefixListId" => &mut route.destination_prefix_list_id,
            "gatewayId" => &mut route.gateway_id,
            "natGatewayId" => &mut route.nat_gateway_id,
            "transitGatewayId" => &mut route.transit_gateway_id,
            "vpcPeeringConnectionId" => &mut route.vpc_peering_connection_id,
            "networkInterfaceId" => &mut route.network_interface_id,
            "instanceId" => &mut route.instance_id,
            "egressOnlyInternetGatewayId" => &mut route.egress_only_internet_gateway_id,
            "localGatewayId" => &mut route.local_gateway_id,
            "carrierGatewayId" => &mut route.carrier_gateway_id,
            "state" => &mut route.state,
            "origin" => &mut route.origin,
            "coreNetworkArn" => {
                route.core_network_arn = r.opt_text(&c)?;
                continue;
            }
            _ => continue,
        };
        *slot = r.opt_str(&c)?;
    }
    Ok(route)
}

fn parse_association<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<RouteTableAssociation<'a>, XmlError> {
    let mut a = RouteTableAssociation::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "routeTableAssociationId" => a.route_table_association_id = r.opt_str(&c)?,
            "subnetId" => a.subnet_id = r.opt_str(&c)?,
            "gatewayId" => a.gateway_id = r.opt_str(&c)?,
            "main" => a.main = r.bool(&c)?,
            _ => {}
        }
    }
    Ok(a)
}

fn parse_peering<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<VpcPeeringConnection<'a>, XmlError> {
    let mut p = VpcPeeringConnection::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "vpcPeeringConnectionId" => p.vpc_peering_connection_id = r.text_str(&c)?,
            "requesterVpcInfo" => p.requester = parse_peering_vpc(r, &c)?,
            "accepterVpcInfo" => p.accepter = parse_peering_vpc(r, &c)?,
            "status" => {
                while let Some(s) = r.next_child(&c)? {
                    match s.name() {
                        "code" => p.status_code = r.opt_str(&s)?,
                        "message" => p.status_message = r.opt_text(&s)?,
                        _ => {}
                    }
                }
            }
            "tagSet" => p.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(p)
}

fn parse_peering_vpc<'a>(
    r: &mut XmlReader<'a>,
    el: &Element<'a>,
) -> Result<PeeringVpcInfo<'a>, XmlError> {
    let mut v = PeeringVpcInfo::default();
    while let Some(c) = r.next_child(el)? {
        match c.name() {
            "ownerId" => v.owner_id = r.opt_str(&c)?,
            "vpcId" => v.vpc_id = r.opt_str(&c)?,
            "region" => v.region = r.opt_str(&c)?,
            "cidrBlock" => v.cidr_block = r.opt_str(&c)?,
            "cidrBlockSet" => v.cidr_blocks = r.member_items(&c, "cidrBlock")?,
            "ipv6CidrBlockSet" => v.ipv6_cidr_blocks = r.member_items(&c, "ipv6CidrBlock")?,
            _ => {}
        }
    }
    Ok(v)
}

fn parse_tgw_attachment<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<TransitGatewayAttachment<'a>, XmlError> {
    let mut a = TransitGatewayAttachment::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "transitGatewayAttachmentId" => a.transit_gateway_attachment_id = r.text_str(&c)?,
            "transitGatewayId" => a.transit_gateway_id = r.opt_str(&c)?,
            "transitGatewayOwnerId" => a.transit_gateway_owner_id = r.opt_str(&c)?,
            "resourceOwnerId" => a.resource_owner_id = r.opt_str(&c)?,
            "resourceType" => a.resource_type = r.opt_str(&c)?,
            "resourceId" => a.resource_id = r.opt_str(&c)?,
            "state" => a.state = r.opt_str(&c)?,
            "association" => {
                while let Some(s) = r.next_child(&c)? {
                    match s.name() {
                        "transitGatewayRouteTableId" => {
                            a.association_route_table_id = r.opt_str(&s)?
                        }
                        "state" => a.association_state = r.opt_str(&s)?,
                        _ => {}
                    }
                }
            }
            "tagSet" => a.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(a)
}

fn parse_tgw_route<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<TransitGatewayRoute<'a>, XmlError> {
    let mut route = TransitGatewayRoute::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "destinationCidrBlock" => route.destination_cidr_block = r.opt_str(&c)?,
            "prefixListId" => route.prefix_list_id = r.opt_str(&c)?,
            "type" => route.route_type = r.opt_str(&c)?,
            "state" => route.state = r.opt_str(&c)?,
            "transitGatewayAttachments" => {
                route.attachments = r.items(&c, |r, item| {
                    let mut a = TransitGatewayRouteAttachment::default();
                    while let Some(e) = r.next_child(item)? {
                        match e.name() {
                            "resourceId" => a.resource_id = r.opt_str(&e)?,
                            "transitGatewayAttachmentId" => {
                                a.transit_gateway_attachment_id = r.opt_str(&e)?
                            }
                            "resourceType" => a.resource_type = r.opt_str(&e)?,
                            _ => {}
                        }
                    }
                    Ok(a)
                })?
            }
            _ => {}
        }
    }
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::ec2::test_fixtures::body;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore,
    };
    use serde_json::Value;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
        };
    }

    fn members<'v>(v: &'v Value, list: &str, member: &str) -> Vec<&'v str> {
        v[list].as_array().map_or(Vec::new(), |a| {
            a.iter().map(|i| i[member].as_str().unwrap()).collect()
        })
    }

    #[test]
    fn requests_match_botocore() {
        let vpc = [Filter {
            name: "vpc-id",
            values: &["vpc-0a1b2c3d4e5f60718"],
        }];
        assert_same_request(
            &describe_route_tables(&DescribeInput {
                filters: &vpc,
                ..Default::default()
            }),
            fixture!("requests/ec2_DescribeRouteTables.request.txt"),
        );
        assert_same_request(
            &describe_vpc_peering_connections(&DescribeInput::default()),
            fixture!("requests/ec2_DescribeVpcPeeringConnections.request.txt"),
        );
        assert_same_request(
            &describe_transit_gateway_attachments(&DescribeInput {
                filters: &[Filter {
                    name: "resource-type",
                    values: &["vpc"],
                }],
                ..Default::default()
            }),
            fixture!("requests/ec2_DescribeTransitGatewayAttachments.request.txt"),
        );
        assert_same_request(
            &search_transit_gateway_routes(&SearchTransitGatewayRoutesInput {
                transit_gateway_route_table_id: "tgw-rtb-0123456789abcdef0",
                filters: &[Filter {
                    name: "type",
                    values: &["static", "propagated"],
                }],
                max_results: Some(1000),
                next_token: None,
            }),
            fixture!("requests/ec2_SearchTransitGatewayRoutes.request.txt"),
        );
    }

    fn check_route_tables(raw: &[u8], parsed: &[u8]) {
        let out = parse_describe_route_tables(body(raw)).unwrap();
        let want = botocore(parsed);
        let want = want["RouteTables"].as_array().unwrap();
        assert_eq!(out.route_tables.len(), want.len());
        for (got, w) in out.route_tables.iter().zip(want) {
            assert_eq!(got.route_table_id, w["RouteTableId"]);
            assert_eq!(got.vpc_id, w["VpcId"].as_str());
            assert_eq!(got.owner_id, w["OwnerId"].as_str());
            let routes = w["Routes"].as_array().unwrap();
            assert_eq!(got.routes.len(), routes.len());
            for (r, wr) in got.routes.iter().zip(routes) {
                assert_eq!(
                    r.destination_cidr_block,
                    wr["DestinationCidrBlock"].as_str()
                );
                assert_eq!(
                    r.destination_prefix_list_id,
                    wr["DestinationPrefixListId"].as_str()
                );
                assert_eq!(r.gateway_id, wr["GatewayId"].as_str());
                assert_eq!(r.nat_gateway_id, wr["NatGatewayId"].as_str());
                assert_eq!(r.transit_gateway_id, wr["TransitGatewayId"].as_str());
                assert_eq!(
                    r.vpc_peering_connection_id,
                    wr["VpcPeeringConnectionId"].as_str()
                );
                assert_eq!(r.state, wr["State"].as_str());
                assert_eq!(r.origin, wr["Origin"].as_str());
            }
            let assocs = w["Associations"].as_array().unwrap();
            assert_eq!(got.associations.len(), assocs.len());
            for (a, wa) in got.associations.iter().zip(assocs) {
                assert_eq!(
                    a.route_table_association_id,
                    wa["RouteTableAssociationId"].as_str()
                );
                assert_eq!(a.subnet_id, wa["SubnetId"].as_str());
                assert_eq!(a.main, wa["Main"].as_bool().unwrap());
            }
        }
        assert_prefixes_fail(body(raw), |b| parse_describe_route_tables(b).is_ok());
    }

    #[test]
    fn route_tables_match_botocore() {
        check_route_tables(
            fixture!("responses/ec2_DescribeRouteTables.response.txt"),
            fixture!("responses/ec2_DescribeRouteTables.parsed-by-botocore.json"),
        );
        check_route_tables(
            fixture!("responses/moto_ec2_DescribeRouteTables.response.txt"),
            fixture!("responses/moto_ec2_DescribeRouteTables.parsed-by-botocore.json"),
        );
    }

    #[test]
    fn peering_matches_botocore() {
        let raw = fixture!("responses/ec2_DescribeVpcPeeringConnections.response.txt");
        let out = parse_describe_vpc_peering_connections(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/ec2_DescribeVpcPeeringConnections.parsed-by-botocore.json"
        ));
        let want = want["VpcPeeringConnections"].as_array().unwrap();
        assert_eq!(out.vpc_peering_connections.len(), want.len());
        for (got, w) in out.vpc_peering_connections.iter().zip(want) {
            assert_eq!(got.vpc_peering_connection_id, w["VpcPeeringConnectionId"]);
            assert_eq!(got.status_code, w["Status"]["Code"].as_str());
            assert_eq!(
                got.status_message.as_deref(),
                w["Status"]["Message"].as_str()
            );
            for (info, wi) in [
                (&got.requester, &w["RequesterVpcInfo"]),
                (&got.accepter, &w["AccepterVpcInfo"]),
            ] {
                assert_eq!(info.owner_id, wi["OwnerId"].as_str());
                assert_eq!(info.vpc_id, wi["VpcId"].as_str());
                assert_eq!(info.region, wi["Region"].as_str());
                assert_eq!(info.cidr_block, wi["CidrBlock"].as_str());
                assert_eq!(info.cidr_blocks, members(wi, "CidrBlockSet", "CidrBlock"));
                assert_eq!(
                    info.ipv6_cidr_blocks,
                    members(wi, "Ipv6CidrBlockSet", "Ipv6CidrBlock")
                );
            }
        }
        assert_eq!(
            out.vpc_peering_connections[0].accepter.region,
            Some("us-west-2")
        );
        assert_prefixes_fail(body(raw), |b| {
            parse_describe_vpc_peering_connections(b).is_ok()
        });
    }

    #[test]
    fn transit_gateway_attachments_match_botocore() {
        let raw = fixture!("responses/ec2_DescribeTransitGatewayAttachments.response.txt");
        let out = parse_describe_transit_gateway_attachments(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/ec2_DescribeTransitGatewayAttachments.parsed-by-botocore.json"
        ));
        let want = want["TransitGatewayAttachments"].as_array().unwrap();
        assert_eq!(out.transit_gateway_attachments.len(), want.len());
        for (got, w) in out.transit_gateway_attachments.iter().zip(want) {
            assert_eq!(
                got.transit_gateway_attachment_id,
                w["TransitGatewayAttachmentId"]
            );
            assert_eq!(got.transit_gateway_id, w["TransitGatewayId"].as_str());
            assert_eq!(
                got.transit_gateway_owner_id,
                w["TransitGatewayOwnerId"].as_str()
            );
            assert_eq!(got.resource_owner_id, w["ResourceOwnerId"].as_str());
            assert_eq!(got.resource_type, w["ResourceType"].as_str());
            assert_eq!(got.resource_id, w["ResourceId"].as_str());
            assert_eq!(got.state, w["State"].as_str());
            assert_eq!(
                got.association_route_table_id,
                w["Association"]["TransitGatewayRouteTableId"].as_str()
            );
            assert_eq!(got.association_state, w["Association"]["State"].as_str());
        }
        assert_prefixes_fail(body(raw), |b| {
            parse_describe_transit_gateway_attachments(b).is_ok()
        });
    }

    #[test]
    fn transit_gateway_routes_match_botocore() {
        let raw = fixture!("responses/ec2_SearchTransitGatewayRoutes.response.txt");
        let out = parse_search_transit_gateway_routes(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/ec2_SearchTransitGatewayRoutes.parsed-by-botocore.json"
        ));
        assert_eq!(
            out.additional_routes_available,
            want["AdditionalRoutesAvailable"].as_bool().unwrap()
        );
        let want = want["Routes"].as_array().unwrap();
        assert_eq!(out.routes.len(), want.len());
        for (got, w) in out.routes.iter().zip(want) {
            assert_eq!(
                got.destination_cidr_block,
                w["DestinationCidrBlock"].as_str()
            );
            assert_eq!(got.route_type, w["Type"].as_str());
            assert_eq!(got.state, w["State"].as_str());
            let atts = w["TransitGatewayAttachments"].as_array().unwrap();
            assert_eq!(got.attachments.len(), atts.len());
            for (a, wa) in got.attachments.iter().zip(atts) {
                assert_eq!(a.resource_id, wa["ResourceId"].as_str());
                assert_eq!(
                    a.transit_gateway_attachment_id,
                    wa["TransitGatewayAttachmentId"].as_str()
                );
                assert_eq!(a.resource_type, wa["ResourceType"].as_str());
            }
        }
        assert_prefixes_fail(body(raw), |b| {
            parse_search_transit_gateway_routes(b).is_ok()
        });
    }
}
