//! `DescribeInstances`: instance names, placement and every address of every interface.

use std::borrow::Cow;

use super::interfaces::{NetworkInterface, parse_network_interface};
use super::{DescribeInput, Ec2Error, Tags, describe_request, parse_tags};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::ApiRequest;

/// `reservationSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reservation<'a> {
    pub reservation_id: Option<&'a str>,
    pub owner_id: Option<&'a str>,
    pub instances: Vec<Instance<'a>>,
}

/// `instancesSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Instance<'a> {
    pub instance_id: &'a str,
    pub instance_type: Option<&'a str>,
    /// `instanceState/name`: `pending`, `running`, `stopped`, …
    pub state: Option<&'a str>,
    pub state_code: Option<u64>,
    pub private_ip_address: Option<&'a str>,
    /// `ipAddress`: the public IPv4.
    pub public_ip_address: Option<&'a str>,
    /// `ipv6Address`: the primary IPv6, when the instance has one.
    pub ipv6_address: Option<&'a str>,
    pub private_dns_name: Option<&'a str>,
    /// `dnsName`: the public DNS name.
    pub public_dns_name: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
    pub availability_zone: Option<&'a str>,
    pub availability_zone_id: Option<&'a str>,
    pub iam_instance_profile_arn: Option<Cow<'a, str>>,
    pub tags: Tags<'a>,
    pub network_interfaces: Vec<NetworkInterface<'a>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeInstancesOutput<'a> {
    pub reservations: Vec<Reservation<'a>>,
    pub next_token: Option<&'a str>,
}

impl<'a> DescribeInstancesOutput<'a> {
    /// All instances of the page, across reservations.
    pub fn instances(&self) -> impl Iterator<Item = &Instance<'a>> {
        self.reservations.iter().flat_map(|r| r.instances.iter())
    }
}

/// `DescribeInstances` (ids are `InstanceId.N`; EC2 refuses them together with `MaxResults`).
pub fn describe_instances(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeInstances", "InstanceId", input)
}

pub fn parse_describe_instances(body: &[u8]) -> Result<DescribeInstancesOutput<'_>, Ec2Error> {
    let mut reservations = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeInstances",
        "DescribeInstancesResponse",
        |r, child| {
            if child.name() == "reservationSet" {
                reservations = r.items(child, parse_reservation)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeInstancesOutput {
        reservations,
        next_token,
    })
}

fn parse_reservation<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<Reservation<'a>, XmlError> {
    let mut res = Reservation::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "reservationId" => res.reservation_id = r.opt_str(&c)?,
            "ownerId" => res.owner_id = r.opt_str(&c)?,
            "instancesSet" => res.instances = r.items(&c, parse_instance)?,
            _ => {}
        }
    }
    Ok(res)
}

fn parse_instance<'a>(r: &mut XmlReader<'a>, item: &Element<'a>) -> Result<Instance<'a>, XmlError> {
    let mut i = Instance::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "instanceId" => i.instance_id = r.text_str(&c)?,
            "instanceType" => i.instance_type = r.opt_str(&c)?,
            "instanceState" => {
                while let Some(s) = r.next_child(&c)? {
                    match s.name() {
                        "name" => i.state = r.opt_str(&s)?,
                        "code" => i.state_code = Some(r.u64(&s)?),
                        _ => {}
                    }
                }
            }
            "privateIpAddress" => i.private_ip_address = r.opt_str(&c)?,
            "ipAddress" => i.public_ip_address = r.opt_str(&c)?,
            "ipv6Address" => i.ipv6_address = r.opt_str(&c)?,
            "privateDnsName" => i.private_dns_name = r.opt_str(&c)?,
            "dnsName" => i.public_dns_name = r.opt_str(&c)?,
            "subnetId" => i.subnet_id = r.opt_str(&c)?,
            "vpcId" => i.vpc_id = r.opt_str(&c)?,
            "placement" => {
                while let Some(p) = r.next_child(&c)? {
                    match p.name() {
                        "availabilityZone" => i.availability_zone = r.opt_str(&p)?,
                        "availabilityZoneId" => i.availability_zone_id = r.opt_str(&p)?,
                        _ => {}
                    }
                }
            }
            "iamInstanceProfile" => {
                while let Some(p) = r.next_child(&c)? {
                    if p.name() == "arn" {
                        i.iam_instance_profile_arn = r.opt_text(&p)?;
                    }
                }
            }
            "tagSet" => i.tags = parse_tags(r, &c)?,
            "networkInterfaceSet" => i.network_interfaces = r.items(&c, parse_network_interface)?,
            _ => {}
        }
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::ec2::Filter;
    use crate::aws::api::ec2::interfaces::tests::check_interface;
    use crate::aws::api::ec2::test_fixtures::body;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore,
    };

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
        };
    }

    fn check<'a>(raw: &'a [u8], parsed: &[u8]) -> DescribeInstancesOutput<'a> {
        let out = parse_describe_instances(body(raw)).unwrap();
        let want = botocore(parsed);
        assert_eq!(out.next_token, want["NextToken"].as_str());
        let want_res = want["Reservations"].as_array().unwrap();
        assert_eq!(out.reservations.len(), want_res.len());
        for (got, want) in out.reservations.iter().zip(want_res) {
            assert_eq!(got.reservation_id, want["ReservationId"].as_str());
            assert_eq!(got.owner_id, want["OwnerId"].as_str());
            let want_inst = want["Instances"].as_array().unwrap();
            assert_eq!(got.instances.len(), want_inst.len());
            for (i, w) in got.instances.iter().zip(want_inst) {
                assert_eq!(i.instance_id, w["InstanceId"]);
                assert_eq!(i.instance_type, w["InstanceType"].as_str());
                assert_eq!(i.state, w["State"]["Name"].as_str());
                assert_eq!(i.state_code, w["State"]["Code"].as_u64());
                assert_eq!(i.private_ip_address, w["PrivateIpAddress"].as_str());
                assert_eq!(i.public_ip_address, w["PublicIpAddress"].as_str());
                assert_eq!(
                    i.private_dns_name,
                    w["PrivateDnsName"].as_str().filter(|s| !s.is_empty())
                );
                assert_eq!(
                    i.public_dns_name,
                    w["PublicDnsName"].as_str().filter(|s| !s.is_empty())
                );
                assert_eq!(i.subnet_id, w["SubnetId"].as_str());
                assert_eq!(i.vpc_id, w["VpcId"].as_str());
                assert_eq!(
                    i.availability_zone,
                    w["Placement"]["AvailabilityZone"].as_str()
                );
                assert_eq!(
                    i.availability_zone_id,
                    w["Placement"]["AvailabilityZoneId"].as_str()
                );
                let tags = w["Tags"].as_array().unwrap();
                assert_eq!(i.tags.0.len(), tags.len());
                for (t, wt) in i.tags.0.iter().zip(tags) {
                    assert_eq!(t.key, wt["Key"].as_str().unwrap());
                    assert_eq!(t.value, wt["Value"].as_str().unwrap());
                }
                let enis = w["NetworkInterfaces"].as_array().unwrap();
                assert_eq!(i.network_interfaces.len(), enis.len());
                for (g, w) in i.network_interfaces.iter().zip(enis) {
                    check_interface(g, w);
                }
            }
        }
        out
    }

    #[test]
    fn sample_matches_botocore() {
        let out = check(
            fixture!("responses/ec2_DescribeInstances.response.txt"),
            fixture!("responses/ec2_DescribeInstances.parsed-by-botocore.json"),
        );
        let inst = out.instances().next().unwrap();
        assert_eq!(inst.tags.name(), Some("web-1"));
        let addrs: Vec<&str> = inst.network_interfaces[0]
            .private_ip_addresses
            .iter()
            .map(|p| p.private_ip_address)
            .collect();
        assert_eq!(addrs, ["10.0.1.5", "10.0.1.77"]);
    }

    #[test]
    fn moto_response_with_escaped_tags_matches_botocore() {
        // moto's XML differs in order and detail from the hand-built sample, and its tag
        // values carry `&amp;`, `&lt;`, `&quot;`.
        let out = check(
            fixture!("responses/moto_ec2_DescribeInstances.response.txt"),
            fixture!("responses/moto_ec2_DescribeInstances.parsed-by-botocore.json"),
        );
        let inst = out.instances().next().unwrap();
        assert_eq!(inst.tags.name(), Some("web & db <1>"));
        assert!(matches!(inst.tags.0[0].value, Cow::Owned(_)));
    }

    #[test]
    fn requests_match_botocore() {
        assert_same_request(
            &describe_instances(&DescribeInput {
                filters: &[
                    Filter {
                        name: "vpc-id",
                        values: &["vpc-3b6ee60c1f0042a75"],
                    },
                    Filter {
                        name: "instance-state-name",
                        values: &["running", "stopped"],
                    },
                ],
                ..Default::default()
            }),
            fixture!("requests/moto_ec2_DescribeInstances.request.txt"),
        );
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert_prefixes_fail(
            body(fixture!("responses/ec2_DescribeInstances.response.txt")),
            |b| parse_describe_instances(b).is_ok(),
        );
        assert_prefixes_fail(
            body(fixture!(
                "responses/moto_ec2_DescribeInstances.response.txt"
            )),
            |b| parse_describe_instances(b).is_ok(),
        );
    }
}
