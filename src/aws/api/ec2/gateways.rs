//! `DescribeNatGateways` and `DescribeVpcEndpoints`: the gateways traffic can leave through,
//! with the interfaces and addresses that identify them in flow records.

use super::{DescribeInput, Ec2Error, Tags, describe_request, parse_tags};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::ApiRequest;

/// `natGatewayAddressSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NatGatewayAddress<'a> {
    pub network_interface_id: Option<&'a str>,
    pub private_ip: Option<&'a str>,
    pub public_ip: Option<&'a str>,
    pub allocation_id: Option<&'a str>,
    pub is_primary: Option<bool>,
    pub status: Option<&'a str>,
}

/// `natGatewaySet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NatGateway<'a> {
    pub nat_gateway_id: &'a str,
    pub vpc_id: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub state: Option<&'a str>,
    /// `public` or `private`.
    pub connectivity_type: Option<&'a str>,
    /// `zonal` or `regional`.
    pub availability_mode: Option<&'a str>,
    pub addresses: Vec<NatGatewayAddress<'a>>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeNatGatewaysOutput<'a> {
    pub nat_gateways: Vec<NatGateway<'a>>,
    pub next_token: Option<&'a str>,
}

/// `dnsEntrySet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsEntry<'a> {
    pub dns_name: Option<&'a str>,
    pub hosted_zone_id: Option<&'a str>,
}

/// `vpcEndpointSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VpcEndpoint<'a> {
    pub vpc_endpoint_id: &'a str,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, `Resource`, `ServiceNetwork`, …
    pub vpc_endpoint_type: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
    /// `com.amazonaws.us-east-1.s3`, …
    pub service_name: Option<&'a str>,
    pub state: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub requester_managed: Option<bool>,
    /// Interface endpoints: their ENIs.
    pub network_interface_ids: Vec<&'a str>,
    /// Gateway endpoints: the route tables that route to them.
    pub route_table_ids: Vec<&'a str>,
    pub subnet_ids: Vec<&'a str>,
    pub dns_entries: Vec<DnsEntry<'a>>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeVpcEndpointsOutput<'a> {
    pub vpc_endpoints: Vec<VpcEndpoint<'a>>,
    pub next_token: Option<&'a str>,
}

/// `DescribeNatGateways` (ids are `NatGatewayId.N`).
pub fn describe_nat_gateways(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeNatGateways", "NatGatewayId", input)
}

/// `DescribeVpcEndpoints` (ids are `VpcEndpointId.N`).
pub fn describe_vpc_endpoints(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeVpcEndpoints", "VpcEndpointId", input)
}

pub fn parse_describe_nat_gateways(body: &[u8]) -> Result<DescribeNatGatewaysOutput<'_>, Ec2Error> {
    let mut nat_gateways = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeNatGateways",
        "DescribeNatGatewaysResponse",
        |r, child| {
            if child.name() == "natGatewaySet" {
                nat_gateways = r.items(child, parse_nat_gateway)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeNatGatewaysOutput {
        nat_gateways,
        next_token,
    })
}

pub fn parse_describe_vpc_endpoints(
    body: &[u8],
) -> Result<DescribeVpcEndpointsOutput<'_>, Ec2Error> {
    let mut vpc_endpoints = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeVpcEndpoints",
        "DescribeVpcEndpointsResponse",
        |r, child| {
            if child.name() == "vpcEndpointSet" {
                vpc_endpoints = r.items(child, parse_vpc_endpoint)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeVpcEndpointsOutput {
        vpc_endpoints,
        next_token,
    })
}

fn parse_nat_gateway<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<NatGateway<'a>, XmlError> {
    let mut nat = NatGateway::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "natGatewayId" => nat.nat_gateway_id = r.text_str(&c)?,
            "vpcId" => nat.vpc_id = r.opt_str(&c)?,
            "subnetId" => nat.subnet_id = r.opt_str(&c)?,
            "state" => nat.state = r.opt_str(&c)?,
            "connectivityType" => nat.connectivity_type = r.opt_str(&c)?,
            "availabilityMode" => nat.availability_mode = r.opt_str(&c)?,
            "natGatewayAddressSet" => nat.addresses = r.items(&c, parse_nat_address)?,
            "tagSet" => nat.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(nat)
}

fn parse_nat_address<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<NatGatewayAddress<'a>, XmlError> {
    let mut a = NatGatewayAddress::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "networkInterfaceId" => a.network_interface_id = r.opt_str(&c)?,
            "privateIp" => a.private_ip = r.opt_str(&c)?,
            "publicIp" => a.public_ip = r.opt_str(&c)?,
            "allocationId" => a.allocation_id = r.opt_str(&c)?,
            "isPrimary" => a.is_primary = Some(r.bool(&c)?),
            "status" => a.status = r.opt_str(&c)?,
            _ => {}
        }
    }
    Ok(a)
}

fn parse_vpc_endpoint<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<VpcEndpoint<'a>, XmlError> {
    let mut ep = VpcEndpoint::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "vpcEndpointId" => ep.vpc_endpoint_id = r.text_str(&c)?,
            "vpcEndpointType" => ep.vpc_endpoint_type = r.opt_str(&c)?,
            "vpcId" => ep.vpc_id = r.opt_str(&c)?,
            "serviceName" => ep.service_name = r.opt_str(&c)?,
            "state" => ep.state = r.opt_str(&c)?,
            "ownerId" => ep.owner_id = r.opt_str(&c)?,
            "requesterManaged" => ep.requester_managed = Some(r.bool(&c)?),
            "networkInterfaceIdSet" => ep.network_interface_ids = r.str_items(&c)?,
            "routeTableIdSet" => ep.route_table_ids = r.str_items(&c)?,
            "subnetIdSet" => ep.subnet_ids = r.str_items(&c)?,
            "dnsEntrySet" => {
                ep.dns_entries = r.items(&c, |r, item| {
                    let mut d = DnsEntry::default();
                    while let Some(e) = r.next_child(item)? {
                        match e.name() {
                            "dnsName" => d.dns_name = r.opt_str(&e)?,
                            "hostedZoneId" => d.hosted_zone_id = r.opt_str(&e)?,
                            _ => {}
                        }
                    }
                    Ok(d)
                })?
            }
            "tagSet" => ep.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(ep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::ec2::Filter;
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

    const VPC_FILTER: &[Filter<'static>] = &[Filter {
        name: "vpc-id",
        values: &["vpc-0a1b2c3d4e5f60718"],
    }];

    fn strs(v: &Value) -> Vec<&str> {
        v.as_array().map_or(Vec::new(), |a| {
            a.iter().map(|s| s.as_str().unwrap()).collect()
        })
    }

    #[test]
    fn requests_match_botocore() {
        let input = DescribeInput {
            filters: VPC_FILTER,
            ..Default::default()
        };
        assert_same_request(
            &describe_nat_gateways(&input),
            fixture!("requests/ec2_DescribeNatGateways.request.txt"),
        );
        assert_same_request(
            &describe_vpc_endpoints(&input),
            fixture!("requests/ec2_DescribeVpcEndpoints.request.txt"),
        );
    }

    #[test]
    fn nat_gateways_match_botocore() {
        let raw = fixture!("responses/ec2_DescribeNatGateways.response.txt");
        let out = parse_describe_nat_gateways(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/ec2_DescribeNatGateways.parsed-by-botocore.json"
        ));
        let want = want["NatGateways"].as_array().unwrap();
        assert_eq!(out.nat_gateways.len(), want.len());
        for (got, w) in out.nat_gateways.iter().zip(want) {
            assert_eq!(got.nat_gateway_id, w["NatGatewayId"]);
            assert_eq!(got.vpc_id, w["VpcId"].as_str());
            assert_eq!(got.subnet_id, w["SubnetId"].as_str());
            assert_eq!(got.state, w["State"].as_str());
            assert_eq!(got.connectivity_type, w["ConnectivityType"].as_str());
            let addrs = w["NatGatewayAddresses"].as_array().unwrap();
            assert_eq!(got.addresses.len(), addrs.len());
            for (a, wa) in got.addresses.iter().zip(addrs) {
                assert_eq!(a.network_interface_id, wa["NetworkInterfaceId"].as_str());
                assert_eq!(a.private_ip, wa["PrivateIp"].as_str());
                assert_eq!(a.public_ip, wa["PublicIp"].as_str());
                assert_eq!(a.allocation_id, wa["AllocationId"].as_str());
                assert_eq!(a.is_primary, wa["IsPrimary"].as_bool());
                assert_eq!(a.status, wa["Status"].as_str());
            }
        }
        assert_prefixes_fail(body(raw), |b| parse_describe_nat_gateways(b).is_ok());
    }

    #[test]
    fn vpc_endpoints_match_botocore() {
        let raw = fixture!("responses/ec2_DescribeVpcEndpoints.response.txt");
        let out = parse_describe_vpc_endpoints(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/ec2_DescribeVpcEndpoints.parsed-by-botocore.json"
        ));
        let want = want["VpcEndpoints"].as_array().unwrap();
        assert_eq!(out.vpc_endpoints.len(), want.len());
        for (got, w) in out.vpc_endpoints.iter().zip(want) {
            assert_eq!(got.vpc_endpoint_id, w["VpcEndpointId"]);
            assert_eq!(got.vpc_endpoint_type, w["VpcEndpointType"].as_str());
            assert_eq!(got.vpc_id, w["VpcId"].as_str());
            assert_eq!(got.service_name, w["ServiceName"].as_str());
            assert_eq!(got.state, w["State"].as_str());
            assert_eq!(got.owner_id, w["OwnerId"].as_str());
            assert_eq!(got.requester_managed, w["RequesterManaged"].as_bool());
            assert_eq!(got.network_interface_ids, strs(&w["NetworkInterfaceIds"]));
            assert_eq!(got.route_table_ids, strs(&w["RouteTableIds"]));
            assert_eq!(got.subnet_ids, strs(&w["SubnetIds"]));
            let dns = w["DnsEntries"].as_array().unwrap();
            assert_eq!(got.dns_entries.len(), dns.len());
            for (d, wd) in got.dns_entries.iter().zip(dns) {
                assert_eq!(d.dns_name, wd["DnsName"].as_str());
                assert_eq!(d.hosted_zone_id, wd["HostedZoneId"].as_str());
            }
        }
        assert_prefixes_fail(body(raw), |b| parse_describe_vpc_endpoints(b).is_ok());
    }
}
