//! `DescribeFlowLogs`: which flow logs exist, where they deliver and in which record format
//! (spec A.5: `logFormat` is the `${field}` list the parser needs).

use std::borrow::Cow;

use super::{DescribeInput, Ec2Error, Tags, describe_request, parse_tags};
use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::ApiRequest;

/// `destinationOptions` (S3 destinations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DestinationOptions<'a> {
    /// `plain-text` or `parquet`.
    pub file_format: Option<&'a str>,
    pub hive_compatible_partitions: Option<bool>,
    pub per_hour_partition: Option<bool>,
}

/// `flowLogSet/item`
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowLog<'a> {
    pub flow_log_id: &'a str,
    /// `ACTIVE` once created.
    pub flow_log_status: Option<&'a str>,
    /// The vpc-/subnet-/eni-/tgw-… the flow log covers.
    pub resource_id: Option<&'a str>,
    /// `ACCEPT`, `REJECT` or `ALL`.
    pub traffic_type: Option<&'a str>,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    pub log_destination_type: Option<&'a str>,
    /// The destination ARN (log group, `arn:aws:s3:::bucket/prefix`, Firehose stream).
    pub log_destination: Option<Cow<'a, str>>,
    /// CloudWatch Logs destinations: the log group.
    pub log_group_name: Option<Cow<'a, str>>,
    /// `${version} ${account-id} …`
    pub log_format: Option<Cow<'a, str>>,
    /// 60 or 600 seconds.
    pub max_aggregation_interval: Option<u64>,
    pub destination_options: Option<DestinationOptions<'a>>,
    /// `SUCCESS` or `FAILED`.
    pub deliver_logs_status: Option<&'a str>,
    pub deliver_logs_error_message: Option<Cow<'a, str>>,
    pub deliver_logs_permission_arn: Option<Cow<'a, str>>,
    pub deliver_cross_account_role: Option<Cow<'a, str>>,
    pub tags: Tags<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribeFlowLogsOutput<'a> {
    pub flow_logs: Vec<FlowLog<'a>>,
    pub next_token: Option<&'a str>,
}

/// `DescribeFlowLogs` (ids are `FlowLogId.N`; useful filters: `resource-id`,
/// `log-destination-type`, `log-group-name`, `deliver-log-status`).
pub fn describe_flow_logs(input: &DescribeInput<'_>) -> ApiRequest {
    describe_request("DescribeFlowLogs", "FlowLogId", input)
}

pub fn parse_describe_flow_logs(body: &[u8]) -> Result<DescribeFlowLogsOutput<'_>, Ec2Error> {
    let mut flow_logs = Vec::new();
    let next_token = super::parse_page(
        body,
        "DescribeFlowLogs",
        "DescribeFlowLogsResponse",
        |r, child| {
            if child.name() == "flowLogSet" {
                flow_logs = r.items(child, parse_flow_log)?;
            }
            Ok(())
        },
    )?;
    Ok(DescribeFlowLogsOutput {
        flow_logs,
        next_token,
    })
}

fn parse_flow_log<'a>(r: &mut XmlReader<'a>, item: &Element<'a>) -> Result<FlowLog<'a>, XmlError> {
    let mut fl = FlowLog::default();
    while let Some(c) = r.next_child(item)? {
        match c.name() {
            "flowLogId" => fl.flow_log_id = r.text_str(&c)?,
            "flowLogStatus" => fl.flow_log_status = r.opt_str(&c)?,
            "resourceId" => fl.resource_id = r.opt_str(&c)?,
            "trafficType" => fl.traffic_type = r.opt_str(&c)?,
            "logDestinationType" => fl.log_destination_type = r.opt_str(&c)?,
            "logDestination" => fl.log_destination = r.opt_text(&c)?,
            "logGroupName" => fl.log_group_name = r.opt_text(&c)?,
            "logFormat" => fl.log_format = r.opt_text(&c)?,
            "maxAggregationInterval" => fl.max_aggregation_interval = Some(r.u64(&c)?),
            "destinationOptions" => {
                let mut o = DestinationOptions::default();
                while let Some(d) = r.next_child(&c)? {
                    match d.name() {
                        "fileFormat" => o.file_format = r.opt_str(&d)?,
                        "hiveCompatiblePartitions" => {
                            o.hive_compatible_partitions = Some(r.bool(&d)?)
                        }
                        "perHourPartition" => o.per_hour_partition = Some(r.bool(&d)?),
                        _ => {}
                    }
                }
                fl.destination_options = Some(o);
            }
            "deliverLogsStatus" => fl.deliver_logs_status = r.opt_str(&c)?,
            "deliverLogsErrorMessage" => fl.deliver_logs_error_message = r.opt_text(&c)?,
            "deliverLogsPermissionArn" => fl.deliver_logs_permission_arn = r.opt_text(&c)?,
            "deliverCrossAccountRole" => fl.deliver_cross_account_role = r.opt_text(&c)?,
            "tagSet" => fl.tags = parse_tags(r, &c)?,
            _ => {}
        }
    }
    Ok(fl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::ec2::Filter;
    use crate::aws::api::ec2::test_fixtures::body;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore,
    };

    const RESPONSE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/ec2_DescribeFlowLogs.response.txt"
    ));
    const PARSED: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/responses/ec2_DescribeFlowLogs.parsed-by-botocore.json"
    ));

    #[test]
    fn request_matches_botocore() {
        let req = describe_flow_logs(&DescribeInput {
            filters: &[Filter {
                name: "resource-id",
                values: &["vpc-0a1b2c3d4e5f60718"],
            }],
            ..Default::default()
        });
        assert_same_request(
            &req,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/ec2_DescribeFlowLogs.request.txt"
            )),
        );
    }

    #[test]
    fn response_matches_botocore() {
        let out = parse_describe_flow_logs(body(RESPONSE)).unwrap();
        let want = botocore(PARSED);
        assert_eq!(out.next_token, want["NextToken"].as_str());
        let want = want["FlowLogs"].as_array().unwrap();
        assert_eq!(out.flow_logs.len(), want.len());
        for (got, w) in out.flow_logs.iter().zip(want) {
            assert_eq!(got.flow_log_id, w["FlowLogId"]);
            assert_eq!(got.flow_log_status, w["FlowLogStatus"].as_str());
            assert_eq!(got.resource_id, w["ResourceId"].as_str());
            assert_eq!(got.traffic_type, w["TrafficType"].as_str());
            assert_eq!(got.log_destination_type, w["LogDestinationType"].as_str());
            assert_eq!(got.log_destination.as_deref(), w["LogDestination"].as_str());
            assert_eq!(got.log_group_name.as_deref(), w["LogGroupName"].as_str());
            assert_eq!(got.log_format.as_deref(), w["LogFormat"].as_str());
            assert_eq!(
                got.max_aggregation_interval,
                w["MaxAggregationInterval"].as_u64()
            );
            assert_eq!(got.deliver_logs_status, w["DeliverLogsStatus"].as_str());
            assert_eq!(
                got.deliver_logs_permission_arn.as_deref(),
                w["DeliverLogsPermissionArn"].as_str()
            );
            let opts = &w["DestinationOptions"];
            let got_opts = got.destination_options.as_ref();
            assert_eq!(
                got_opts.and_then(|o| o.file_format),
                opts["FileFormat"].as_str()
            );
            assert_eq!(
                got_opts.and_then(|o| o.hive_compatible_partitions),
                opts["HiveCompatiblePartitions"].as_bool()
            );
            assert_eq!(
                got_opts.and_then(|o| o.per_hour_partition),
                opts["PerHourPartition"].as_bool()
            );
            assert_eq!(got.tags.0.len(), w["Tags"].as_array().unwrap().len());
        }
        assert_eq!(out.flow_logs[1].tags.get("team"), Some("netops"));
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert_prefixes_fail(body(RESPONSE), |b| parse_describe_flow_logs(b).is_ok());
    }
}
