//! `DescribeNetworkInterfaces`, and the network interface shape that `DescribeInstances`
//! nests too: every address an ENI has (primary and secondary private IPv4, IPv6, the public
//! IPv4 of each association) plus what says who owns it (`interfaceType`, `requesterId`,
//! `description`, `attachment.instanceId`).

use std::borrow::Cow;

use super::{DescribeInput, Ec2Error, Tags, describe_request, parse_tags};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::ApiRequest;

/// `privateIpAddressesSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrivateIpAddress<'a> {
    pub private_ip_address: &'a str,
    pub primary: bool,
    /// The public IPv4 (Elastic IP or auto-assigned) mapped to this private address.
    pub public_ip: Option<&'a str>,
}

/// `association`: the public IPv4 of the primary private address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpAssociation<'a> {
    pub public_ip: Option<&'a str>,
    pub ip_owner_id: Option<&'a str>,
    pub allocation_id: Option<&'a str>,
}

/// `attachment`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfaceAttachment<'a> {
    pub attachment_id: Option<&'a str>,
    /// Absent for interfaces of AWS services (NAT gateways, endpoints, load balancers).
    pub instance_id: Option<&'a str>,
    pub instance_owner_id: Option<&'a str>,
    pub device_index: Option<u64>,
    pub status: Option<&'a str>,
}

/// `operator`: set on interfaces a service manages for you.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Operator<'a> {
    pub managed: bool,
    pub principal: Option<&'a str>,
}

/// One network interface (`networkInterfaceSet/item`), as `DescribeNetworkInterfaces` returns
/// it or as nested in an instance (then AZ, requester and tags are absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkInterface<'a> {
    pub network_interface_id: &'a str,
    /// `interface`, `nat_gateway`, `vpc_endpoint`, `network_load_balancer`, `lambda`, … — an
    /// open set (the model's enum spells some differently from the wire, spec H.10).
    pub interface_type: Option<&'a str>,
    pub description: Option<Cow<'a, str>>,
    /// The service or account that created the interface (`amazon-elb`, an account id, …).
    pub requester_id: Option<&'a str>,
    pub requester_managed: bool,
    pub owner_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub subnet_id: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
    pub availability_zone: Option<&'a str>,
    pub availability_zone_id: Option<&'a str>,
    pub mac_address: Option<&'a str>,
    /// The primary private IPv4.
    pub private_ip_address: Option<&'a str>,
    pub private_dns_name: Option<&'a str>,
    /// Every private IPv4, primary first as EC2 lists them.
    pub private_ip_addresses: Vec<PrivateIpAddress<'a>>,
    /// `ipv6AddressesSet/item/ipv6Address`
    pub ipv6_addresses: Vec<&'a str>,
    pub association: Option<IpAssociation<'a>>,
    pub attachment: Option<InterfaceAttachment<'a>>,
    pub operator: Option<Operator<'a>>,
    pub tags: Tags<'a>,
}

impl<'a> NetworkInterface<'a> {
    /// Every public IPv4 mapped to the interface (primary association first, no duplicates).
    pub fn public_ips(&self) -> Vec<&'a str> {
        let mut out: Vec<&'a str> = Vec::new();
        let first = self.association.as_ref().and_then(|a| a.public_ip);
        for ip in first
            .into_iter()
            .chain(self.private_ip_addresses.iter().filter_map(|p| p.public_ip))
        {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
        out
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeNetworkInterfacesOutput<'a> {
    pub network_interfaces: Vec<NetworkInterface<'a>>,
    pub next_token: Option<&'a str>,
}

/// `DescribeNetworkInterfaces` (ids are `NetworkInterfaceId.N`).
pub fn describe_network_interfaces(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeNetworkInterfaces", "NetworkInterfaceId", input)
}

pub fn parse_describe_network_interfaces(
    body: &[u8],
) -> Result<DescribeNetworkInterfacesOutput<'_>, Ec2Error> {
    let mut network_interfaces = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeNetworkInterfaces",
        "DescribeNetworkInterfacesResponse",
        |r, child| {
            if child.name() == "networkInterfaceSet" {
                network_interfaces = r.items(child, parse_network_interface)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeNetworkInterfacesOutput {
        network_interfaces,
        next_token,
    })
}

pub(super) fn parse_network_interface<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<NetworkInterface<'a>, XmlError> {
    let mut eni = NetworkInterface::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "networkInterfaceId" => eni.network_interface_id = r.text_str(&c)?,
            "interfaceType" => eni.interface_type = r.opt_str(&c)?,
            "description" => eni.description = r.opt_text(&c)?,
            "requesterId" => eni.requester_id = r.opt_str(&c)?,
            "requesterManaged" => eni.requester_managed = r.bool(&c)?,
            "ownerId" => eni.owner_id = r.opt_str(&c)?,
            "status" => eni.status = r.opt_str(&c)?,
            "subnetId" => eni.subnet_id = r.opt_str(&c)?,
            "vpcId" => eni.vpc_id = r.opt_str(&c)?,
            "availabilityZone" => eni.availability_zone = r.opt_str(&c)?,
            "availabilityZoneId" => eni.availability_zone_id = r.opt_str(&c)?,
            "macAddress" => eni.mac_address = r.opt_str(&c)?,
            "privateIpAddress" => eni.private_ip_address = r.opt_str(&c)?,
            "privateDnsName" => eni.private_dns_name = r.opt_str(&c)?,
            "privateIpAddressesSet" => eni.private_ip_addresses = r.items(&c, parse_private_ip)?,
            "ipv6AddressesSet" => eni.ipv6_addresses = r.member_items(&c, "ipv6Address")?,
            "association" => eni.association = Some(parse_association(r, &c)?),
            "attachment" => eni.attachment = Some(parse_attachment(r, &c)?),
            "operator" => eni.operator = Some(parse_operator(r, &c)?),
            "tagSet" => eni.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(eni)
}

fn parse_private_ip<'a>(
    r: &mut XmlReader<'a>,
    item: &Element<'a>,
) -> Result<PrivateIpAddress<'a>, XmlError> {
    let mut ip = PrivateIpAddress::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "privateIpAddress" => ip.private_ip_address = r.text_str(&c)?,
            "primary" => ip.primary = r.bool(&c)?,
            "association" => ip.public_ip = parse_association(r, &c)?.public_ip,
            _ => {}
        }
    }
    Ok(ip)
}

fn parse_association<'a>(
    r: &mut XmlReader<'a>,
    el: &Element<'a>,
) -> Result<IpAssociation<'a>, XmlError> {
    let mut a = IpAssociation::default();
    while let Some(c) = r.next_child(el)? {
        match c.name() {
            "publicIp" => a.public_ip = r.opt_str(&c)?,
            "ipOwnerId" => a.ip_owner_id = r.opt_str(&c)?,
            "allocationId" => a.allocation_id = r.opt_str(&c)?,
            _ => {}
        }
    }
    Ok(a)
}

fn parse_attachment<'a>(
    r: &mut XmlReader<'a>,
    el: &Element<'a>,
) -> Result<InterfaceAttachment<'a>, XmlError> {
    let mut a = InterfaceAttachment::default();
    while let Some(c) = r.next_child(el)? {
        match c.name() {
            "attachmentId" => a.attachment_id = r.opt_str(&c)?,
            "instanceId" => a.instance_id = r.opt_str(&c)?,
            "instanceOwnerId" => a.instance_owner_id = r.opt_str(&c)?,
            "deviceIndex" => a.device_index = Some(r.u64(&c)?),
            "status" => a.status = r.opt_str(&c)?,
            _ => {}
        }
    }
    Ok(a)
}

fn parse_operator<'a>(r: &mut XmlReader<'a>, el: &Element<'a>) -> Result<Operator<'a>, XmlError> {
    let mut o = Operator::default();
    while let Some(c) = r.next_child(el)? {
        match c.name() {
            "managed" => o.managed = r.bool(&c)?,
            "principal" => o.principal = r.opt_str(&c)?,
            _ => {}
        }
    }
    Ok(o)
}

#[cfg(test)]
pub(super) mod tests {
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

    /// Compares one parsed interface with botocore's (used by the instance tests too).
    pub(in crate::aws::api::ec2) fn check_interface(got: &NetworkInterface<'_>, want: &Value) {
        assert_eq!(got.network_interface_id, want["NetworkInterfaceId"]);
        assert_eq!(got.interface_type, want["InterfaceType"].as_str());
        assert_eq!(
            got.description.as_deref(),
            want["Description"].as_str().filter(|s| !s.is_empty())
        );
        assert_eq!(got.requester_id, want["RequesterId"].as_str());
        assert_eq!(
            got.requester_managed,
            want["RequesterManaged"].as_bool().unwrap_or(false)
        );
        assert_eq!(got.owner_id, want["OwnerId"].as_str());
        assert_eq!(got.subnet_id, want["SubnetId"].as_str());
        assert_eq!(got.vpc_id, want["VpcId"].as_str());
        assert_eq!(got.availability_zone, want["AvailabilityZone"].as_str());
        assert_eq!(
            got.availability_zone_id,
            want["AvailabilityZoneId"].as_str()
        );
        assert_eq!(got.mac_address, want["MacAddress"].as_str());
        assert_eq!(got.private_ip_address, want["PrivateIpAddress"].as_str());
        let ips = want["PrivateIpAddresses"].as_array().unwrap();
        assert_eq!(got.private_ip_addresses.len(), ips.len());
        for (g, w) in got.private_ip_addresses.iter().zip(ips) {
            assert_eq!(g.private_ip_address, w["PrivateIpAddress"]);
            assert_eq!(g.primary, w["Primary"].as_bool().unwrap());
            assert_eq!(g.public_ip, w["Association"]["PublicIp"].as_str());
        }
        let v6: Vec<&str> = want["Ipv6Addresses"].as_array().map_or(Vec::new(), |a| {
            a.iter()
                .map(|i| i["Ipv6Address"].as_str().unwrap())
                .collect()
        });
        assert_eq!(got.ipv6_addresses, v6);
        let assoc = &want["Association"];
        assert_eq!(
            got.association.as_ref().and_then(|a| a.public_ip),
            assoc["PublicIp"].as_str()
        );
        assert_eq!(
            got.association.as_ref().and_then(|a| a.ip_owner_id),
            assoc["IpOwnerId"].as_str()
        );
        assert_eq!(
            got.association.as_ref().and_then(|a| a.allocation_id),
            assoc["AllocationId"].as_str()
        );
        let att = &want["Attachment"];
        assert_eq!(
            got.attachment.as_ref().and_then(|a| a.attachment_id),
            att["AttachmentId"].as_str()
        );
        assert_eq!(
            got.attachment.as_ref().and_then(|a| a.instance_id),
            att["InstanceId"].as_str()
        );
        assert_eq!(
            got.attachment.as_ref().and_then(|a| a.device_index),
            att["DeviceIndex"].as_u64()
        );
        assert_eq!(
            got.attachment.as_ref().and_then(|a| a.status),
            att["Status"].as_str()
        );
    }

    #[test]
    fn requests_match_botocore() {
        assert_same_request(
            &describe_network_interfaces(&DescribeInput {
                filters: &[Filter {
                    name: "vpc-id",
                    values: &["vpc-0a1b2c3d4e5f60718"],
                }],
                max_results: Some(1000),
                ..Default::default()
            }),
            fixture!("requests/ec2_DescribeNetworkInterfaces.request.txt"),
        );
        assert_same_request(
            &describe_network_interfaces(&DescribeInput {
                ids: &["eni-6f61aab6b87686b77"],
                ..Default::default()
            }),
            fixture!("requests/moto_ec2_DescribeNetworkInterfaces.request.txt"),
        );
    }

    fn check(raw: &[u8], parsed: &[u8]) {
        let out = parse_describe_network_interfaces(body(raw)).unwrap();
        let want = botocore(parsed);
        assert_eq!(out.next_token, want["NextToken"].as_str());
        let want = want["NetworkInterfaces"].as_array().unwrap();
        assert_eq!(out.network_interfaces.len(), want.len());
        for (got, want) in out.network_interfaces.iter().zip(want) {
            check_interface(got, want);
        }
    }

    #[test]
    fn responses_match_botocore() {
        check(
            fixture!("responses/ec2_DescribeNetworkInterfaces.response.txt"),
            fixture!("responses/ec2_DescribeNetworkInterfaces.parsed-by-botocore.json"),
        );
        check(
            fixture!("responses/moto_ec2_DescribeNetworkInterfaces.response.txt"),
            fixture!("responses/moto_ec2_DescribeNetworkInterfaces.parsed-by-botocore.json"),
        );
        let out = parse_describe_network_interfaces(body(fixture!(
            "responses/ec2_DescribeNetworkInterfaces.response.txt"
        )))
        .unwrap();
        assert_eq!(out.network_interfaces[0].public_ips(), vec!["203.0.113.10"]);
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert_prefixes_fail(
            body(fixture!(
                "responses/ec2_DescribeNetworkInterfaces.response.txt"
            )),
            |b| parse_describe_network_interfaces(b).is_ok(),
        );
    }
}
