//! `DescribeRegions`: which regions the account can use (not paged).

use super::{API_VERSION, Ec2Error, Filter, push_filters, push_list};
use crate::aws::api::query::{self, FormBody};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::{ApiRequest, Service};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescribeRegionsInput<'a> {
    /// `Some(true)` lists opted-out regions too (with `optInStatus=not-opted-in`).
    pub all_regions: Option<bool>,
    /// `RegionName.N`
    pub region_names: &'a [&'a str],
    pub filters: &'a [Filter<'a>],
}

/// `regionInfo/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Region<'a> {
    pub region_name: &'a str,
    pub region_endpoint: Option<&'a str>,
    /// `opt-in-not-required`, `opted-in` or `not-opted-in`.
    pub opt_in_status: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeRegionsOutput<'a> {
    pub regions: Vec<Region<'a>>,
}

pub fn describe_regions(input: &DescribeRegionsInput<'_>) -> ApiRequest {
    let mut form = FormBody::new("DescribeRegions", API_VERSION);
    if let Some(all) = input.all_regions {
        form.push_bool("AllRegions", all);
    }
    push_list(&mut form, "RegionName", input.region_names);
    push_filters(&mut form, input.filters);
    query::post(Service::Ec2, "DescribeRegions", form.finish())
}

pub fn parse_describe_regions(body: &[u8]) -> Result<DescribeRegionsOutput<'_>, Ec2Error> {
    let mut out = DescribeRegionsOutput::default();
    super::parse_page(
        body,
        "DescribeRegions",
        "DescribeRegionsResponse",
        |r, child| {
            if child.name() == "regionInfo" {
                out.regions = r.items(child, parse_region)?;
            }
            Ok(())
        },
    )?;
    Ok(out)
}

fn parse_region<'a>(r: &mut XmlReader<'a>, item: &Element<'a>) -> Result<Region<'a>, XmlError> {
    let mut region = Region::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "regionName" => region.region_name = r.text_str(&c)?,
            "regionEndpoint" => region.region_endpoint = r.opt_str(&c)?,
            "optInStatus" => region.opt_in_status = r.opt_str(&c)?,
            _ => {}
        }
    }
    Ok(region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::ec2::test_fixtures::body;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore,
    };

    const RESPONSE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/ec2_DescribeRegions.response.txt"
    ));
    const MOTO: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/moto_ec2_DescribeRegions.response.txt"
    ));

    #[test]
    fn request_matches_botocore() {
        let req = describe_regions(&DescribeRegionsInput {
            all_regions: Some(false),
            ..Default::default()
        });
        assert_same_request(
            &req,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/ec2_DescribeRegions.request.txt"
            )),
        );
        assert_same_request(
            &describe_regions(&DescribeRegionsInput::default()),
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/ec2_DescribeRegions_cn.request.txt"
            )),
        );
        let moto = describe_regions(&DescribeRegionsInput {
            region_names: &["us-east-1", "eu-west-1"],
            ..Default::default()
        });
        assert_same_request(
            &moto,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/moto_ec2_DescribeRegions.request.txt"
            )),
        );
    }

    fn check(raw: &[u8], parsed: &[u8]) {
        let out = parse_describe_regions(body(raw)).unwrap();
        let want = botocore(parsed);
        let want = want["Regions"].as_array().unwrap();
        assert_eq!(out.regions.len(), want.len());
        for (got, want) in out.regions.iter().zip(want) {
            assert_eq!(got.region_name, want["RegionName"]);
            assert_eq!(got.region_endpoint, want["Endpoint"].as_str());
            assert_eq!(got.opt_in_status, want["OptInStatus"].as_str());
        }
    }

    #[test]
    fn response_matches_botocore() {
        check(
            RESPONSE,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/responses/ec2_DescribeRegions.parsed-by-botocore.json"
            )),
        );
        check(
            MOTO,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/responses/moto_ec2_DescribeRegions.parsed-by-botocore.json"
            )),
        );
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert_prefixes_fail(body(RESPONSE), |b| parse_describe_regions(b).is_ok());
    }
}
