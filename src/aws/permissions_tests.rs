//! Tests of `aws::permissions`: the probe table against the seed's policy, the probes' safety,
//! and the reading of real outcomes (moto with IAM enforcement, AWS-shaped denials).

use super::*;
use crate::aws::client::{ApiResponse, AwsCallError, LastFailure};
use crate::aws::error::tests::parse_response;
use crate::aws::request::Protocol;
use crate::aws::retry::{self, Failure, Verdict};
use std::time::{Duration, UNIX_EPOCH};

macro_rules! fx {
    ($name:literal) => {
        &include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/permissions/",
            $name,
            ".response.txt"
        ))[..]
    };
}

const TARGETS: ProbeTargets<'static> = ProbeTargets {
    region: "us-east-1",
    account_id: "123456789012",
    log_group: None,
    queue_url: None,
    bucket: None,
    bucket_region: None,
    object_key: None,
    stream: None,
};

fn configured() -> ProbeTargets<'static> {
    ProbeTargets {
        region: "us-east-1",
        account_id: "123456789012",
        log_group: Some("arn:aws:logs:eu-west-1:123456789012:log-group:NFLVpcFlowLogGroup:*"),
        queue_url: Some("https://sqs.eu-west-1.amazonaws.com/123456789012/flowlogs"),
        bucket: Some("my-flow-bucket"),
        bucket_region: Some("eu-west-1"),
        object_key: Some("AWSLogs/123456789012/vpcflowlogs/eu-west-1/x y.log.gz"),
        stream: Some("arn:aws:kinesis:eu-west-1:123456789012:stream/NFLVpcKinesisStream"),
    }
}

/// What the client reports for a response: success, or the error the retry rules end with
/// (fatal codes at once; retryable ones after the default three attempts).
fn outcome_of(probe: &Probe, text: &[u8]) -> Result<ApiResponse, AwsCallError> {
    let (status, headers, body) = parse_response(text);
    if (200..300).contains(&status) {
        return Ok(ApiResponse {
            status,
            headers,
            body: body.to_vec(),
        });
    }
    let error = Box::new(AwsError::from_parts(
        probe.request.service.protocol(),
        probe.request.method,
        status,
        &headers,
        body,
    ));
    let wall = UNIX_EPOCH + Duration::from_secs(1_768_478_400);
    let action = probe.action;
    Err(match retry::classify(Failure::Aws(&error), wall) {
        Verdict::Retry { .. } => AwsCallError::Exhausted {
            action,
            attempts: 3,
            quota_empty: false,
            last: LastFailure::Aws(error),
        },
        _ => AwsCallError::Rejected { action, error },
    })
}

fn read(probe: &Probe, text: &[u8]) -> ProbeVerdict {
    probe.interpret(outcome_of(probe, text).as_ref())
}

fn probe<'a>(all: &'a [Probe], action: &str) -> &'a Probe {
    all.iter()
        .find(|p| p.action.to_string() == action)
        .unwrap_or_else(|| panic!("no probe for {action}"))
}

/// Every action of the seed's policy (fixtures/aws/permissions/seed-policy.json, copied from the
/// seed document) has a probe, and every probe tests an action of the policy.
#[test]
fn probes_cover_the_seed_policy() {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/permissions/seed-policy.json"
    ));
    let policy: Value = serde_json::from_str(text).expect("seed policy is JSON");
    let actions: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().expect("actions"))
        .map(|a| a.as_str().expect("action string"))
        .collect();
    assert_eq!(actions, SEED_POLICY_ACTIONS);
    for targets in [TARGETS, configured()] {
        let all = probes(&targets);
        for pattern in actions.iter().copied() {
            assert!(
                all.iter().any(|p| p.action.is_matched_by(pattern)),
                "no probe for {pattern}"
            );
        }
        for p in &all {
            assert!(
                actions.iter().any(|a| p.action.is_matched_by(a)),
                "{} is not in the policy",
                p.action
            );
        }
        let mut seen: Vec<String> = all.iter().map(|p| p.action.to_string()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), all.len(), "one probe per action");
    }
}

#[test]
fn iam_actions_of_operations() {
    let cases = [
        (
            Service::Monitoring,
            "PutMetricData",
            "cloudwatch:PutMetricData",
        ),
        (
            Service::S3,
            "GetBucketNotificationConfiguration",
            "s3:GetBucketNotification",
        ),
        (Service::S3, "HeadBucket", "s3:ListBucket"),
        (Service::S3, "HeadObject", "s3:GetObject"),
        (Service::S3, "ListBuckets", "s3:ListAllMyBuckets"),
        (Service::Sqs, "DeleteMessageBatch", "sqs:DeleteMessage"),
        (
            Service::Sqs,
            "ChangeMessageVisibilityBatch",
            "sqs:ChangeMessageVisibility",
        ),
        (
            Service::Kinesis,
            "DescribeStreamSummary",
            "kinesis:DescribeStreamSummary",
        ),
        (Service::Ec2, "DescribeVpcs", "ec2:DescribeVpcs"),
    ];
    for (service, op, want) in cases {
        assert_eq!(IamAction::of(service, op).to_string(), want);
    }
    let a = IamAction::of(Service::Kinesis, "DescribeStreamConsumer");
    for yes in [
        "kinesis:DescribeStream*",
        "KINESIS:describestream*",
        "kinesis:*",
        "*",
        "kinesis:Describe?tream*",
    ] {
        assert!(a.is_matched_by(yes), "{yes}");
    }
    for no in [
        "kinesis:DescribeStream",
        "logs:*",
        "kinesis:Describe?Stream*",
        "kinesis",
    ] {
        assert!(!a.is_matched_by(no), "{no}");
    }
}

/// With IAM enforced, moto answers each probe of the identity holding the seed's policy with a
/// success or an error that comes after authorization; the identity without policy is denied.
/// moto quirks are kept as such: it checks CloudWatch as `monitoring:*` (so the seed policy is
/// denied there) and answers some Kinesis ARN probes with HTTP 500.
#[test]
fn moto_outcomes() {
    let made_up = probes(&TARGETS);
    let real = probes(&ProbeTargets {
        log_group: Some("flowlogs-probe-real"),
        queue_url: Some("http://127.0.0.1:5991/123456789012/flowlogs-probe-real"),
        bucket: Some("flowlogs-probe-real"),
        ..TARGETS
    });
    use ProbeVerdict::Allowed;
    let allowed: [(&[Probe], &str, &[u8]); 30] = [
        (
            &made_up,
            "ec2:DescribeRegions",
            fx!("moto_ec2_DescribeRegions_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeInstances",
            fx!("moto_ec2_DescribeInstances_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeFlowLogs",
            fx!("moto_ec2_DescribeFlowLogs_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeNetworkInterfaces",
            fx!("moto_ec2_DescribeNetworkInterfaces_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeVpcs",
            fx!("moto_ec2_DescribeVpcs_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeNatGateways",
            fx!("moto_ec2_DescribeNatGateways_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeVpcEndpoints",
            fx!("moto_ec2_DescribeVpcEndpoints_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeRouteTables",
            fx!("moto_ec2_DescribeRouteTables_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeVpcPeeringConnections",
            fx!("moto_ec2_DescribeVpcPeeringConnections_allowed"),
        ),
        (
            &made_up,
            "ec2:DescribeTransitGatewayAttachments",
            fx!("moto_ec2_DescribeTransitGatewayAttachments_allowed"),
        ),
        (
            &made_up,
            "ec2:SearchTransitGatewayRoutes",
            fx!("moto_ec2_SearchTransitGatewayRoutes_allowed"),
        ),
        (
            &made_up,
            "logs:DescribeLogStreams",
            fx!("moto_logs_DescribeLogStreams_allowed"),
        ),
        (
            &real,
            "logs:DescribeLogStreams",
            fx!("moto_logs_DescribeLogStreams_allowed_real"),
        ),
        (
            &made_up,
            "logs:GetLogEvents",
            fx!("moto_logs_GetLogEvents_allowed"),
        ),
        (
            &made_up,
            "logs:DescribeSubscriptionFilters",
            fx!("moto_logs_DescribeSubscriptionFilters_allowed"),
        ),
        (
            &real,
            "s3:GetBucketLocation",
            fx!("moto_s3_GetBucketLocation_allowed_real"),
        ),
        (
            &real,
            "s3:GetBucketNotification",
            fx!("moto_s3_GetBucketNotificationConfiguration_allowed_real"),
        ),
        (&real, "s3:GetObject", fx!("moto_s3_GetObject_allowed_real")),
        (
            &made_up,
            "sqs:GetQueueUrl",
            fx!("moto_sqs_GetQueueUrl_allowed"),
        ),
        (
            &made_up,
            "sqs:GetQueueAttributes",
            fx!("moto_sqs_GetQueueAttributes_allowed"),
        ),
        (
            &real,
            "sqs:GetQueueAttributes",
            fx!("moto_sqs_GetQueueAttributes_allowed_real"),
        ),
        (
            &made_up,
            "sqs:ReceiveMessage",
            fx!("moto_sqs_ReceiveMessage_allowed"),
        ),
        (
            &real,
            "sqs:ChangeMessageVisibility",
            fx!("moto_sqs_ChangeMessageVisibility_allowed_real"),
        ),
        (
            &real,
            "sqs:DeleteMessage",
            fx!("moto_sqs_DeleteMessage_allowed_real"),
        ),
        (
            &made_up,
            "sqs:DeleteMessage",
            fx!("moto_sqs_DeleteMessage_allowed"),
        ),
        (
            &made_up,
            "kinesis:ListShards",
            fx!("moto_kinesis_ListShards_allowed"),
        ),
        (
            &made_up,
            "kinesis:GetShardIterator",
            fx!("moto_kinesis_GetShardIterator_allowed"),
        ),
        (
            &made_up,
            "kinesis:DescribeStream",
            fx!("moto_kinesis_DescribeStream_allowed"),
        ),
        (
            &made_up,
            "dynamodb:CreateTable",
            fx!("moto_dynamodb_CreateTable_allowed"),
        ),
        (
            &made_up,
            "cloudwatch:PutMetricData",
            fx!("moto_monitoring_PutMetricData_allowed_motoaction"),
        ),
    ];
    for (set, action, text) in allowed {
        assert_eq!(read(probe(set, action), text), Allowed, "{action}");
    }
    for (action, text) in [
        (
            "kinesis:DescribeStreamSummary",
            fx!("moto_kinesis_DescribeStreamSummary_allowed"),
        ),
        (
            "dynamodb:DescribeTable",
            fx!("moto_dynamodb_DescribeTable_allowed"),
        ),
        ("dynamodb:GetItem", fx!("moto_dynamodb_GetItem_allowed")),
        ("dynamodb:PutItem", fx!("moto_dynamodb_PutItem_allowed")),
        (
            "dynamodb:DeleteItem",
            fx!("moto_dynamodb_DeleteItem_allowed"),
        ),
        (
            "dynamodb:UpdateItem",
            fx!("moto_dynamodb_UpdateItem_allowed"),
        ),
        ("dynamodb:Scan", fx!("moto_dynamodb_Scan_allowed")),
    ] {
        assert_eq!(read(probe(&made_up, action), text), Allowed, "{action}");
    }
    // moto's HTTP 500 on Kinesis ARN probes proves nothing.
    for (action, text) in [
        ("kinesis:GetRecords", fx!("moto_kinesis_GetRecords_allowed")),
        (
            "kinesis:GetRecords",
            fx!("moto_kinesis_GetRecords_allowed_real"),
        ),
        (
            "kinesis:DescribeStreamConsumer",
            fx!("moto_kinesis_DescribeStreamConsumer_allowed"),
        ),
        (
            "kinesis:ListStreamConsumers",
            fx!("moto_kinesis_ListStreamConsumers_allowed"),
        ),
        (
            "kinesis:RegisterStreamConsumer",
            fx!("moto_kinesis_RegisterStreamConsumer_allowed"),
        ),
    ] {
        let ProbeVerdict::Unknown(why) = read(probe(&made_up, action), text) else {
            panic!("{action}: expected unknown")
        };
        assert!(
            why.contains("failed after 3 attempts, last: HTTP 500"),
            "{why}"
        );
    }
    // moto checks monitoring:PutMetricData, which the seed policy does not name.
    assert!(matches!(
        read(
            probe(&made_up, "cloudwatch:PutMetricData"),
            fx!("moto_monitoring_PutMetricData_allowed")
        ),
        ProbeVerdict::Denied { .. }
    ));
}

/// Every probe of the identity without a policy, as moto refuses it.
#[test]
fn moto_denials_name_the_action() {
    let made_up = probes(&TARGETS);
    let real = probes(&ProbeTargets {
        log_group: Some("flowlogs-probe-real"),
        queue_url: Some("http://127.0.0.1:5991/123456789012/flowlogs-probe-real"),
        bucket: Some("flowlogs-probe-real"),
        stream: Some("flowlogs-probe-real"),
        ..TARGETS
    });
    let denied: [(&[Probe], &str, &[u8]); 41] = [
        (
            &made_up,
            "ec2:DescribeRegions",
            fx!("moto_ec2_DescribeRegions_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeInstances",
            fx!("moto_ec2_DescribeInstances_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeFlowLogs",
            fx!("moto_ec2_DescribeFlowLogs_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeNetworkInterfaces",
            fx!("moto_ec2_DescribeNetworkInterfaces_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeVpcs",
            fx!("moto_ec2_DescribeVpcs_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeNatGateways",
            fx!("moto_ec2_DescribeNatGateways_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeVpcEndpoints",
            fx!("moto_ec2_DescribeVpcEndpoints_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeRouteTables",
            fx!("moto_ec2_DescribeRouteTables_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeVpcPeeringConnections",
            fx!("moto_ec2_DescribeVpcPeeringConnections_denied"),
        ),
        (
            &made_up,
            "ec2:DescribeTransitGatewayAttachments",
            fx!("moto_ec2_DescribeTransitGatewayAttachments_denied"),
        ),
        (
            &made_up,
            "ec2:SearchTransitGatewayRoutes",
            fx!("moto_ec2_SearchTransitGatewayRoutes_denied"),
        ),
        (
            &made_up,
            "logs:DescribeLogStreams",
            fx!("moto_logs_DescribeLogStreams_denied"),
        ),
        (
            &real,
            "logs:DescribeLogStreams",
            fx!("moto_logs_DescribeLogStreams_denied_real"),
        ),
        (
            &made_up,
            "logs:GetLogEvents",
            fx!("moto_logs_GetLogEvents_denied"),
        ),
        (
            &made_up,
            "logs:DescribeSubscriptionFilters",
            fx!("moto_logs_DescribeSubscriptionFilters_denied"),
        ),
        (
            &made_up,
            "s3:GetBucketLocation",
            fx!("moto_s3_GetBucketLocation_denied"),
        ),
        (
            &real,
            "s3:GetBucketLocation",
            fx!("moto_s3_GetBucketLocation_denied_real"),
        ),
        (
            &real,
            "s3:GetBucketNotification",
            fx!("moto_s3_GetBucketNotificationConfiguration_denied_real"),
        ),
        (
            &made_up,
            "sqs:GetQueueUrl",
            fx!("moto_sqs_GetQueueUrl_denied"),
        ),
        (
            &made_up,
            "sqs:GetQueueAttributes",
            fx!("moto_sqs_GetQueueAttributes_denied"),
        ),
        (
            &real,
            "sqs:GetQueueAttributes",
            fx!("moto_sqs_GetQueueAttributes_denied_real"),
        ),
        (
            &made_up,
            "sqs:ReceiveMessage",
            fx!("moto_sqs_ReceiveMessage_denied"),
        ),
        (
            &real,
            "sqs:ChangeMessageVisibility",
            fx!("moto_sqs_ChangeMessageVisibility_denied_real"),
        ),
        (
            &made_up,
            "sqs:DeleteMessage",
            fx!("moto_sqs_DeleteMessage_denied"),
        ),
        (
            &real,
            "sqs:DeleteMessage",
            fx!("moto_sqs_DeleteMessage_denied_real"),
        ),
        (
            &made_up,
            "kinesis:ListShards",
            fx!("moto_kinesis_ListShards_denied"),
        ),
        (
            &made_up,
            "kinesis:GetShardIterator",
            fx!("moto_kinesis_GetShardIterator_denied"),
        ),
        (
            &made_up,
            "kinesis:GetRecords",
            fx!("moto_kinesis_GetRecords_denied"),
        ),
        (
            &real,
            "kinesis:GetRecords",
            fx!("moto_kinesis_GetRecords_denied_real"),
        ),
        (
            &made_up,
            "kinesis:ListStreamConsumers",
            fx!("moto_kinesis_ListStreamConsumers_denied"),
        ),
        (
            &made_up,
            "kinesis:DescribeStream",
            fx!("moto_kinesis_DescribeStream_denied"),
        ),
        (
            &made_up,
            "kinesis:DescribeStreamSummary",
            fx!("moto_kinesis_DescribeStreamSummary_denied"),
        ),
        (
            &made_up,
            "kinesis:DescribeStreamConsumer",
            fx!("moto_kinesis_DescribeStreamConsumer_denied"),
        ),
        (
            &made_up,
            "kinesis:RegisterStreamConsumer",
            fx!("moto_kinesis_RegisterStreamConsumer_denied"),
        ),
        (
            &made_up,
            "dynamodb:CreateTable",
            fx!("moto_dynamodb_CreateTable_denied"),
        ),
        (
            &made_up,
            "dynamodb:DescribeTable",
            fx!("moto_dynamodb_DescribeTable_denied"),
        ),
        (
            &made_up,
            "dynamodb:GetItem",
            fx!("moto_dynamodb_GetItem_denied"),
        ),
        (
            &made_up,
            "dynamodb:PutItem",
            fx!("moto_dynamodb_PutItem_denied"),
        ),
        (
            &made_up,
            "dynamodb:DeleteItem",
            fx!("moto_dynamodb_DeleteItem_denied"),
        ),
        (
            &made_up,
            "dynamodb:UpdateItem",
            fx!("moto_dynamodb_UpdateItem_denied"),
        ),
        (&made_up, "dynamodb:Scan", fx!("moto_dynamodb_Scan_denied")),
    ];
    for (set, action, text) in denied {
        let ProbeVerdict::Denied { action: a, detail } = read(probe(set, action), text) else {
            panic!("{action}: expected denied")
        };
        assert_eq!(a.to_string(), action);
        assert!(detail.starts_with("HTTP 403 AccessDenied"), "{detail}");
    }
    // moto answers CloudWatch's JSON protocol with query XML; it is still read as a denial.
    let text = fx!("moto_monitoring_PutMetricData_denied");
    assert!(matches!(
        read(probe(&made_up, "cloudwatch:PutMetricData"), text),
        ProbeVerdict::Denied { .. }
    ));
}

/// AWS's own shapes of "denied", one per protocol, and an EC2 not-found after a dry run.
#[test]
fn aws_denials_and_not_found() {
    let made_up = probes(&TARGETS);
    let denied: [(&str, &[u8], &str); 6] = [
        (
            "ec2:DescribeFlowLogs",
            fx!("aws_ec2_error_UnauthorizedOperation"),
            "HTTP 403 UnauthorizedOperation",
        ),
        (
            "logs:DescribeLogStreams",
            fx!("aws_logs_error_AccessDeniedException"),
            "HTTP 400 AccessDeniedException",
        ),
        (
            "kinesis:ListShards",
            fx!("aws_kinesis_error_AccessDeniedException"),
            "HTTP 400 AccessDeniedException",
        ),
        (
            "dynamodb:DescribeTable",
            fx!("aws_dynamodb_error_AccessDeniedException"),
            "HTTP 400 AccessDeniedException",
        ),
        (
            "sqs:ReceiveMessage",
            fx!("aws_sqs_error_AccessDenied"),
            "HTTP 403 AccessDenied",
        ),
        (
            "s3:GetBucketNotification",
            fx!("aws_s3_error_AccessDenied"),
            "HTTP 403 AccessDenied",
        ),
    ];
    for (action, text, code) in denied {
        let ProbeVerdict::Denied { action: a, detail } = read(probe(&made_up, action), text) else {
            panic!("{action}: expected denied")
        };
        assert_eq!(a.to_string(), action);
        assert!(detail.starts_with(code), "{detail}");
    }
    assert_eq!(
        read(
            probe(&made_up, "ec2:SearchTransitGatewayRoutes"),
            fx!("aws_ec2_error_InvalidRouteTableID.NotFound")
        ),
        ProbeVerdict::Allowed
    );
}

/// S3 will not say whether a missing bucket or key would be readable: reported as unknown,
/// with what to configure.
#[test]
fn s3_ambiguities_are_unknown() {
    let made_up = probes(&TARGETS);
    let ProbeVerdict::Unknown(why) = read(
        probe(&made_up, "s3:GetBucketLocation"),
        fx!("moto_s3_GetBucketLocation_allowed"),
    ) else {
        panic!("NoSuchBucket proves nothing")
    };
    assert!(why.starts_with("S3 reports a missing bucket"), "{why}");
    let real_bucket = probes(&ProbeTargets {
        bucket: Some("flowlogs-probe-real"),
        ..TARGETS
    });
    let ProbeVerdict::Unknown(why) = read(
        probe(&real_bucket, "s3:GetObject"),
        fx!("moto_s3_GetObject_denied_real"),
    ) else {
        panic!("AccessDenied on a made-up key is ambiguous")
    };
    assert!(why.contains("name an existing object"), "{why}");
    // With a real key, AccessDenied is a denial.
    let real_key = probes(&ProbeTargets {
        bucket: Some("flowlogs-probe-real"),
        object_key: Some("AWSLogs/x.log.gz"),
        ..TARGETS
    });
    assert!(matches!(
        read(
            probe(&real_key, "s3:GetObject"),
            fx!("moto_s3_GetObject_denied_real")
        ),
        ProbeVerdict::Denied { .. }
    ));
}

/// Nothing a probe sends can change real data.
#[test]
fn probes_are_harmless() {
    let t = configured();
    for p in probes(&t) {
        let body = String::from_utf8(p.request.body.clone()).expect("text body");
        match p.request.service {
            Service::Ec2 => assert!(body.contains("&DryRun=true"), "{body}"),
            Service::DynamoDb => {
                let v: Value = serde_json::from_str(&body).expect("json");
                assert_eq!(v["TableName"], PROBE_NAME);
                if p.request.operation == "CreateTable" {
                    assert_eq!(v["AttributeDefinitions"], json!([]), "must fail validation");
                }
            }
            Service::Monitoring => {
                let v: Value = serde_json::from_str(&body).expect("json");
                assert_eq!(v["MetricData"], json!([]));
            }
            Service::Sqs if p.request.operation == "ReceiveMessage" => {
                assert!(
                    body.contains(PROBE_NAME) && !body.contains("/flowlogs\""),
                    "{body}"
                );
            }
            Service::Sqs
                if p.request.operation != "GetQueueUrl"
                    && p.request.operation != "GetQueueAttributes" =>
            {
                let v: Value = serde_json::from_str(&body).expect("json");
                assert_eq!(v["ReceiptHandle"], PROBE_NAME, "an invalid receipt handle");
            }
            Service::Kinesis if p.request.operation == "RegisterStreamConsumer" => {
                assert!(!body.contains("NFLVpcKinesisStream"), "{body}");
            }
            Service::S3 => assert_eq!(p.request.method, "GET"),
            _ => {}
        }
        assert!(
            matches!(p.request.method, "GET" | "POST"),
            "{} {}",
            p.action,
            p.request.method
        );
    }
}

/// Configured resources are probed where they are, with the right wire form.
#[test]
fn probes_use_the_configured_resources() {
    let all = probes(&configured());
    let logs = probe(&all, "logs:DescribeLogStreams");
    assert_eq!(logs.region, "eu-west-1");
    assert_eq!(
        logs.request.body,
        br#"{"limit":1,"logGroupName":"NFLVpcFlowLogGroup"}"#
    );
    assert_eq!(
        logs.request.headers,
        [
            (
                "x-amz-target",
                "Logs_20140328.DescribeLogStreams".to_string()
            ),
            ("content-type", "application/x-amz-json-1.1".to_string()),
        ]
    );
    let sqs = probe(&all, "sqs:GetQueueAttributes");
    assert_eq!(sqs.region, "eu-west-1");
    assert!(
        sqs.request
            .headers
            .contains(&("x-amzn-query-mode", "true".to_string()))
    );
    assert_eq!(
        sqs.request.body,
        br#"{"AttributeNames":["QueueArn"],"QueueUrl":"https://sqs.eu-west-1.amazonaws.com/123456789012/flowlogs"}"#
    );
    let receive = probe(&all, "sqs:ReceiveMessage");
    assert!(String::from_utf8_lossy(&receive.request.body).contains(
        "https://sqs.eu-west-1.amazonaws.com/123456789012/vpcflow-ipfix-permission-probe"
    ));
    let get = probe(&all, "s3:GetObject");
    assert_eq!(
        (
            get.region.as_str(),
            get.request.bucket.as_deref(),
            get.request.path.as_str()
        ),
        (
            "eu-west-1",
            Some("my-flow-bucket"),
            "/AWSLogs/123456789012/vpcflowlogs/eu-west-1/x%20y.log.gz"
        )
    );
    assert_eq!(get.request.headers, [("range", "bytes=0-0".to_string())]);
    let records = probe(&all, "kinesis:GetRecords");
    assert_eq!(records.region, "eu-west-1");
    assert!(String::from_utf8_lossy(&records.request.body).contains(
        r#""StreamARN":"arn:aws:kinesis:eu-west-1:123456789012:stream/NFLVpcKinesisStream""#
    ));
    let tgw = probe(&all, "ec2:SearchTransitGatewayRoutes");
    assert_eq!(
        tgw.request.body,
        b"Action=SearchTransitGatewayRoutes&Version=2016-11-15&TransitGatewayRouteTableId=tgw-rtb-0123456789abcdef0&Filter.1.Name=state&Filter.1.Value.1=active&MaxResults=5&DryRun=true"
    );
    assert!(all.iter().all(|p| !p.resource.is_empty()));
}

#[test]
fn resource_parsing() {
    assert_eq!(
        parse_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/q"),
        Some((Some("us-east-1"), "123456789012", "q"))
    );
    assert_eq!(
        parse_queue_url("https://eu-west-1.queue.amazonaws.com/123456789012/q/"),
        Some((Some("eu-west-1"), "123456789012", "q"))
    );
    assert_eq!(
        parse_queue_url("http://localhost:4566/000000000000/q"),
        Some((None, "000000000000", "q"))
    );
    for bad in [
        "sqs.us-east-1.amazonaws.com/1/q",
        "https://h/only",
        "https://h/a/b/c",
        "https://h//q",
    ] {
        assert_eq!(parse_queue_url(bad), None, "{bad}");
    }
    assert_eq!(
        parse_stream_arn("arn:aws:kinesis:us-east-1:123456789012:stream/s"),
        Some(("us-east-1", "123456789012", "s"))
    );
    assert_eq!(
        parse_stream_arn("arn:aws:kinesis:us-east-1:123456789012:s"),
        None
    );
    assert_eq!(
        parse_log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow:*"),
        Some(("us-east-1", "/vpc/flow"))
    );
    assert_eq!(parse_log_group_arn("NFLVpcFlowLogGroup"), None);
    assert_eq!(encode_s3_key("a b/c+d/"), "a%20b/c%2Bd/");
    // A denial without a body (S3 HEAD) counts.
    let e = AwsError::from_parts(
        Protocol::RestXml,
        "HEAD",
        403,
        &ureq_proto::http::HeaderMap::new(),
        b"",
    );
    assert!(is_access_denied(&e));
}
