//! `DescribeVpcs` and `DescribeSubnets`: the address plan and the names the enrichment shows.

use std::borrow::Cow;

use super::{DescribeInput, Ec2Error, Tags, describe_request, parse_tags};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::ApiRequest;

/// `vpcSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vpc<'a> {
    pub vpc_id: &'a str,
    pub owner_id: Option<&'a str>,
    pub state: Option<&'a str>,
    /// The primary IPv4 CIDR.
    pub cidr_block: Option<&'a str>,
    /// Every associated IPv4 CIDR (`cidrBlockAssociationSet/item/cidrBlock`), primary included.
    pub cidr_blocks: Vec<&'a str>,
    /// `ipv6CidrBlockAssociationSet/item/ipv6CidrBlock`
    pub ipv6_cidr_blocks: Vec<&'a str>,
    pub is_default: bool,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeVpcsOutput<'a> {
    pub vpcs: Vec<Vpc<'a>>,
    pub next_token: Option<&'a str>,
}

/// `subnetSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subnet<'a> {
    pub subnet_id: &'a str,
    pub vpc_id: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub state: Option<&'a str>,
    pub cidr_block: Option<&'a str>,
    /// `ipv6CidrBlockAssociationSet/item/ipv6CidrBlock`
    pub ipv6_cidr_blocks: Vec<&'a str>,
    pub availability_zone: Option<&'a str>,
    pub availability_zone_id: Option<&'a str>,
    pub subnet_arn: Option<Cow<'a, str>>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeSubnetsOutput<'a> {
    pub subnets: Vec<Subnet<'a>>,
    pub next_token: Option<&'a str>,
}

/// `DescribeVpcs` (ids are `VpcId.N`).
pub fn describe_vpcs(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeVpcs", "VpcId", input)
}

/// `DescribeSubnets` (ids are `SubnetId.N`).
pub fn describe_subnets(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeSubnets", "SubnetId", input)
}

pub fn parse_describe_vpcs(body: &[u8]) -> Result<DescribeVpcsOutput<'_>, Ec2Error> {
    let mut vpcs = Vec::new();
    let next_token =
        super::parse_page(body, "DescribeVpcs", "DescribeVpcsResponse", |r, child| {
            if child.name() == "vpcSet" {
                vpcs = r.items(child, parse_vpc)?;
            }
            Ok(())
        })?;
    Ok(DescribeVpcsOutput { vpcs, next_token })
}

pub fn parse_describe_subnets(body: &[u8]) -> Result<DescribeSubnetsOutput<'_>, Ec2Error> {
    let mut subnets = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeSubnets",
        "DescribeSubnetsResponse",
        |r, child| {
            if child.name() == "subnetSet" {
                subnets = r.items(child, parse_subnet)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeSubnetsOutput {
        subnets,
        next_token,
    })
}

fn parse_vpc<'a>(r: &mut XmlReader<'a>, item: &Element<'a>) -> Result<Vpc<'a>, XmlError> {
    let mut vpc = Vpc::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "vpcId" => vpc.vpc_id = r.text_str(&c)?,
            "ownerId" => vpc.owner_id = r.opt_str(&c)?,
            "state" => vpc.state = r.opt_str(&c)?,
            "cidrBlock" => vpc.cidr_block = r.opt_str(&c)?,
            "cidrBlockAssociationSet" => vpc.cidr_blocks = r.member_items(&c, "cidrBlock")?,
            "ipv6CidrBlockAssociationSet" => {
                vpc.ipv6_cidr_blocks = r.member_items(&c, "ipv6CidrBlock")?
            }
            "isDefault" => vpc.is_default = r.bool(&c)?,
            "tagSet" => vpc.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(vpc)
}

fn parse_subnet<'a>(r: &mut XmlReader<'a>, item: &Element<'a>) -> Result<Subnet<'a>, XmlError> {
    let mut subnet = Subnet::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "subnetId" => subnet.subnet_id = r.text_str(&c)?,
            "vpcId" => subnet.vpc_id = r.opt_str(&c)?,
            "ownerId" => subnet.owner_id = r.opt_str(&c)?,
            "state" => subnet.state = r.opt_str(&c)?,
            "cidrBlock" => subnet.cidr_block = r.opt_str(&c)?,
            "ipv6CidrBlockAssociationSet" => {
                subnet.ipv6_cidr_blocks = r.member_items(&c, "ipv6CidrBlock")?
            }
            "availabilityZone" => subnet.availability_zone = r.opt_str(&c)?,
            "availabilityZoneId" => subnet.availability_zone_id = r.opt_str(&c)?,
            "subnetArn" => subnet.subnet_arn = r.opt_text(&c)?,
            "tagSet" => subnet.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(subnet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::ec2::Filter;
    use crate::aws::api::ec2::test_fixtures::body;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore,
    };

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
        };
    }

    fn strs(v: &serde_json::Value, list: &str, member: &str) -> Vec<String> {
        v[list].as_array().map_or(Vec::new(), |a| {
            a.iter()
                .map(|i| i[member].as_str().unwrap().to_string())
                .collect()
        })
    }

    #[test]
    fn requests_match_botocore() {
        assert_same_request(
            &describe_vpcs(&DescribeInput {
                max_results: Some(1000),
                ..Default::default()
            }),
            fixture!("requests/ec2_DescribeVpcs.request.txt"),
        );
        assert_same_request(
            &describe_vpcs(&DescribeInput {
                filters: &[Filter {
                    name: "is-default",
                    values: &["true"],
                }],
                ..Default::default()
            }),
            fixture!("requests/moto_ec2_DescribeVpcs.request.txt"),
        );
        assert_same_request(
            &describe_subnets(&DescribeInput {
                filters: &[Filter {
                    name: "vpc-id",
                    values: &["vpc-3b6ee60c1f0042a75"],
                }],
                max_results: Some(5),
                ..Default::default()
            }),
            fixture!("requests/moto_ec2_DescribeSubnets.request.txt"),
        );
    }

    fn check_vpcs(raw: &[u8], parsed: &[u8]) {
        let out = parse_describe_vpcs(body(raw)).unwrap();
        let want = botocore(parsed);
        assert_eq!(out.next_token, want["NextToken"].as_str());
        let want = want["Vpcs"].as_array().unwrap();
        assert_eq!(out.vpcs.len(), want.len());
        for (got, want) in out.vpcs.iter().zip(want) {
            assert_eq!(got.vpc_id, want["VpcId"]);
            assert_eq!(got.owner_id, want["OwnerId"].as_str());
            assert_eq!(got.state, want["State"].as_str());
            assert_eq!(got.cidr_block, want["CidrBlock"].as_str());
            assert_eq!(
                got.cidr_blocks,
                strs(want, "CidrBlockAssociationSet", "CidrBlock")
            );
            assert_eq!(
                got.ipv6_cidr_blocks,
                strs(want, "Ipv6CidrBlockAssociationSet", "Ipv6CidrBlock")
            );
            assert_eq!(got.is_default, want["IsDefault"].as_bool().unwrap());
            let tags: Vec<(String, String)> = got
                .tags
                .0
                .iter()
                .map(|t| (t.key.to_string(), t.value.to_string()))
                .collect();
            assert_eq!(
                tags,
                strs(want, "Tags", "Key")
                    .into_iter()
                    .zip(strs(want, "Tags", "Value"))
                    .collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn vpcs_match_botocore() {
        check_vpcs(
            fixture!("responses/ec2_DescribeVpcs.response.txt"),
            fixture!("responses/ec2_DescribeVpcs.parsed-by-botocore.json"),
        );
        check_vpcs(
            fixture!("responses/moto_ec2_DescribeVpcs.response.txt"),
            fixture!("responses/moto_ec2_DescribeVpcs.parsed-by-botocore.json"),
        );
        let out =
            parse_describe_vpcs(body(fixture!("responses/ec2_DescribeVpcs.response.txt"))).unwrap();
        assert_eq!(out.vpcs[0].tags.name(), Some("prod-vpc"));
    }

    #[test]
    fn subnets_match_botocore() {
        let out = parse_describe_subnets(body(fixture!(
            "responses/moto_ec2_DescribeSubnets.response.txt"
        )))
        .unwrap();
        let want = botocore(fixture!(
            "responses/moto_ec2_DescribeSubnets.parsed-by-botocore.json"
        ));
        assert_eq!(out.next_token, want["NextToken"].as_str());
        let want = want["Subnets"].as_array().unwrap();
        assert_eq!(out.subnets.len(), want.len());
        for (got, want) in out.subnets.iter().zip(want) {
            assert_eq!(got.subnet_id, want["SubnetId"]);
            assert_eq!(got.vpc_id, want["VpcId"].as_str());
            assert_eq!(got.owner_id, want["OwnerId"].as_str());
            assert_eq!(got.cidr_block, want["CidrBlock"].as_str());
            assert_eq!(got.availability_zone, want["AvailabilityZone"].as_str());
            assert_eq!(
                got.availability_zone_id,
                want["AvailabilityZoneId"].as_str()
            );
            assert_eq!(got.subnet_arn.as_deref(), want["SubnetArn"].as_str());
            assert_eq!(
                got.ipv6_cidr_blocks,
                strs(want, "Ipv6CidrBlockAssociationSet", "Ipv6CidrBlock")
            );
        }
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert_prefixes_fail(
            body(fixture!("responses/ec2_DescribeVpcs.response.txt")),
            |b| parse_describe_vpcs(b).is_ok(),
        );
        assert_prefixes_fail(
            body(fixture!("responses/moto_ec2_DescribeSubnets.response.txt")),
            |b| parse_describe_subnets(b).is_ok(),
        );
    }
}
