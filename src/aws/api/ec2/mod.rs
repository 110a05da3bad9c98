//! EC2 (protocol `ec2`, API version 2016-11-15): request builders and borrowing parsers for
//! the `Describe*` calls `discover` and the inventory refresh make.
//!
//! Requests are form bodies (`Action=…&Version=2016-11-15&…`, [`crate::aws::api::query`]) where
//! every list is flattened with a 1-based index: `Filter.N.Name` / `Filter.N.Value.M`, id lists
//! `VpcId.N` and so on (spec D.3; botocore `EC2Serializer`). Responses are
//! `<{Op}Response><requestId/>…<xxxSet><item>…</item></xxxSet><nextToken/></{Op}Response>`;
//! paging ends when `nextToken` is absent or empty. Parsers keep only what the agent uses (the
//! spec D.3 table), in any element order, ignoring unknown elements.
//!
//! One file per resource family: `regions` (regions), `network` (VPCs, subnets), `instances`,
//! `interfaces` (ENIs), `flow_logs`, `gateways` (NAT gateways, VPC endpoints), `routing` (route
//! tables, peering, transit gateway attachments and routes).

use std::borrow::Cow;
use std::fmt;

use crate::aws::api::query::{self, FormBody};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::{ApiRequest, Service};

mod flow_logs;
mod gateways;
mod instances;
mod interfaces;
mod network;
mod regions;
mod routing;

pub use flow_logs::*;
pub use gateways::*;
pub use instances::*;
pub use interfaces::*;
pub use network::*;
pub use regions::*;
pub use routing::*;

/// The EC2 API version every request names (`Version=`).
pub const API_VERSION: &str = "2016-11-15";

/// Largest `MaxResults` the paged `Describe*` calls accept ("Valid Range: Minimum value of 5.
/// Maximum value of 1000." — EC2 API Reference, DescribeVpcs/DescribeNetworkInterfaces/
/// DescribeNatGateways/DescribeVpcPeeringConnections/DescribeTransitGatewayAttachments/
/// DescribeSubnets/DescribeInstances, and DescribeVpcEndpoints/DescribeFlowLogs in practice).
pub const MAX_RESULTS: u32 = 1000;
/// Smallest `MaxResults` the paged calls accept (same references).
pub const MIN_RESULTS: u32 = 5;
/// `DescribeRouteTables` pages are smaller: "Valid Range: Minimum value of 5. Maximum value of
/// 100." (EC2 API Reference, DescribeRouteTables).
pub const ROUTE_TABLES_MAX_RESULTS: u32 = 100;
/// Cap on a response body. AWS documents no byte limit for EC2 responses; 1000 items of the
/// largest kind (instances, a few KiB of XML each) stay far below this.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// One `Filter.N`: a filter name (`vpc-id`, `tag:Name`, …) and the values it matches (OR-ed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter<'a> {
    pub name: &'a str,
    pub values: &'a [&'a str],
}

/// The input every paged `Describe*` call shares: resource ids, filters and paging.
///
/// `DescribeInstances` refuses `MaxResults` together with instance ids (EC2 API Reference).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescribeInput<'a> {
    /// `VpcId.N`, `InstanceId.N`, … (the id list of the operation).
    pub ids: &'a [&'a str],
    pub filters: &'a [Filter<'a>],
    /// 5..=1000 (5..=100 for route tables); `None` lets EC2 choose.
    pub max_results: Option<u32>,
    /// The previous page's `next_token`.
    pub next_token: Option<&'a str>,
}

/// Why an EC2 response could not be read.
#[derive(Debug)]
pub enum Ec2Error {
    Xml {
        operation: &'static str,
        source: XmlError,
    },
}

impl fmt::Display for Ec2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ec2Error::Xml { operation, source } => write!(f, "ec2 {operation} response: {source}"),
        }
    }
}

impl std::error::Error for Ec2Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Ec2Error::Xml { source, .. } => Some(source),
        }
    }
}

/// One `<tagSet><item><key/><value/></item>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag<'a> {
    pub key: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// A resource's tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags<'a>(pub Vec<Tag<'a>>);

impl<'a> Tags<'a> {
    /// The value of tag `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|t| t.key == key).map(|t| &*t.value)
    }

    /// The `Name` tag, which the console shows as the resource's name.
    pub fn name(&self) -> Option<&str> {
        self.get("Name")
    }
}

/// Form body for a paged `Describe*`: `[ids][filters][MaxResults][NextToken]`.
fn describe_request(
    operation: &'static str,
    id_key: &str,
    input: &DescribeInput<'_>,
) -> ApiRequest {
    let mut form = FormBody::new(operation, API_VERSION);
    push_list(&mut form, id_key, input.ids);
    push_filters(&mut form, input.filters);
    push_paging(&mut form, input.max_results, input.next_token);
    query::post(Service::Ec2, operation, form.finish())
}

/// `{key}.1=v1&{key}.2=v2…`
fn push_list(form: &mut FormBody, key: &str, values: &[&str]) {
    for (i, v) in values.iter().enumerate() {
        form.push(&format!("{key}.{}", i + 1), v);
    }
}

/// `Filter.N.Name=…&Filter.N.Value.M=…`
fn push_filters(form: &mut FormBody, filters: &[Filter<'_>]) {
    for (i, f) in filters.iter().enumerate() {
        let n = i + 1;
        form.push(&format!("Filter.{n}.Name"), f.name);
        push_list(form, &format!("Filter.{n}.Value"), f.values);
    }
}

fn push_paging(form: &mut FormBody, max_results: Option<u32>, next_token: Option<&str>) {
    if let Some(m) = max_results {
        form.push_u64("MaxResults", u64::from(m));
    }
    if let Some(t) = next_token {
        form.push("NextToken", t);
    }
}

/// Reads `<{root}>`, hands every child except `requestId`/`nextToken` to `on_child`, and
/// returns the page's `nextToken` (`None` when absent or empty).
fn parse_page<'a>(
    body: &'a [u8],
    operation: &'static str,
    root: &'static str,
    mut on_child: impl FnMut(&mut XmlReader<'a>, &Element<'a>) -> Result<(), XmlError>,
) -> Result<Option<&'a str>, Ec2Error> {
    let mut inner = move || -> Result<Option<&'a str>, XmlError> {
        let mut r = XmlReader::new(body, MAX_RESPONSE_BYTES)?;
        let root = r.root(root)?;
        let mut next_token = None;
        while let Some(child) = r.next_child(&root)? {
            match child.name() {
                "nextToken" => next_token = r.opt_str(&child)?,
                "requestId" => {}
                _ => on_child(&mut r, &child)?,
            }
        }
        r.finish()?;
        Ok(next_token)
    };
    inner().map_err(|source| Ec2Error::Xml { operation, source })
}

fn parse_tags<'a>(r: &mut XmlReader<'a>, list: &Element<'a>) -> Result<Tags<'a>, XmlError> {
    let tags = r.items(list, |r, item| {
        let mut tag = Tag::default();
        while let Some(c) = r.next_child(item)? {
            match c.name() {
                "key" => tag.key = r.text(&c)?,
                "value" => tag.value = r.text(&c)?,
                _ => {}
            }
        }
        Ok(tag)
    })?;
    Ok(Tags(tags))
}

#[cfg(test)]
mod test_fixtures {
    //! Fixture access shared by the EC2 tests.
    use crate::aws::api::json::test_support::split_http;

    pub(crate) fn body(raw: &[u8]) -> &[u8] {
        split_http(raw).2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::json::test_support::assert_same_request;

    #[test]
    fn filters_ids_and_paging_are_flattened_with_one_based_indexes() {
        let req = describe_request(
            "DescribeVpcs",
            "VpcId",
            &DescribeInput {
                ids: &["vpc-1", "vpc-2"],
                filters: &[Filter {
                    name: "tag:Name",
                    values: &["a b", "c/d"],
                }],
                max_results: Some(5),
                next_token: Some("x+y="),
            },
        );
        assert_eq!(
            std::str::from_utf8(&req.body).unwrap(),
            "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1&VpcId.2=vpc-2&Filter.1.Name=tag%3AName\
             &Filter.1.Value.1=a%20b&Filter.1.Value.2=c%2Fd&MaxResults=5&NextToken=x%2By%3D"
        );
        assert_eq!(
            (req.method, req.path.as_str(), req.service),
            ("POST", "/", Service::Ec2)
        );
    }

    #[test]
    fn describe_instances_matches_botocore() {
        let req = describe_instances(&DescribeInput {
            filters: &[
                Filter {
                    name: "vpc-id",
                    values: &["vpc-0a1b2c3d4e5f60718"],
                },
                Filter {
                    name: "instance-state-name",
                    values: &["running", "stopped"],
                },
            ],
            max_results: Some(100),
            next_token: Some("eyJ2IjoiMiIsImMiOiJ0b2tlbiJ9"),
            ..Default::default()
        });
        assert_same_request(
            &req,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/ec2_DescribeInstances.request.txt"
            )),
        );
    }

    #[test]
    fn error_names_the_operation() {
        let err = parse_describe_vpcs(b"<DescribeVpcsResponse><vpcSet>").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ec2 DescribeVpcs response: XML body ends before its root element is closed"
        );
    }
}
