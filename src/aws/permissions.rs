//! IAM, as the agent meets it: the action each API call needs ([`IamAction`]), what an
//! access-denied error looks like ([`is_access_denied`]), and the probes `check-aws` sends to
//! test the seed's IAM policy ([`SEED_POLICY_ACTIONS`], [`probes`]).
//!
//! A probe is one harmless request per policy action, and the rule that reads its outcome:
//! - EC2 probes carry `DryRun=true`: AWS answers `DryRunOperation` (412) when the call would
//!   have been allowed and `UnauthorizedOperation` when not, and does nothing either way.
//! - Other probes read (with tiny limits) or name resources that do not exist
//!   (`vpcflow-ipfix-permission-probe`): CloudWatch Logs, Kinesis, DynamoDB and SQS evaluate
//!   IAM on the resource's ARN before they look the resource up, so a not-found or validation
//!   error proves the action was authorized. Writes never reach real data: DynamoDB probes
//!   target a table that does not exist (CreateTable with a key attribute left undefined, which
//!   validation refuses), RegisterStreamConsumer a stream that does not exist, ReceiveMessage a
//!   queue that does not exist, SQS visibility/delete calls an invalid receipt handle, and
//!   PutMetricData an empty metric list.
//! - S3 answers `NoSuchBucket` before checking permissions, and `AccessDenied` for a missing key
//!   unless `s3:ListBucket` is allowed: such outcomes are reported as unknown, with what to
//!   configure to get an answer.
//!
//! The outcome of a probe sent through the [`AwsClient`](crate::aws::client::AwsClient) is
//! read by [`Probe::interpret`]; nothing here does I/O.

use std::fmt;

use serde_json::{Value, json};

use crate::aws::api::query::{self, FormBody};
use crate::aws::client::{ApiResponse, AwsCallError};
use crate::aws::error::{AwsError, ErrorKind};
use crate::aws::request::{ApiRequest, Service};

/// An IAM action: `prefix:Name` (`ec2:DescribeInstances`, `cloudwatch:PutMetricData`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IamAction {
    pub prefix: &'static str,
    pub name: &'static str,
}

impl fmt::Display for IamAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.prefix, self.name)
    }
}

impl IamAction {
    /// The action `operation` of `service` needs (Service Authorization Reference): mostly the
    /// operation's own name; S3 and the SQS batch calls differ.
    pub fn of(service: Service, operation: &'static str) -> IamAction {
        let name = match (service, operation) {
            (Service::S3, "GetBucketNotificationConfiguration") => "GetBucketNotification",
            (Service::S3, "HeadBucket" | "ListObjects" | "ListObjectsV2") => "ListBucket",
            (Service::S3, "HeadObject") => "GetObject",
            (Service::S3, "ListBuckets") => "ListAllMyBuckets",
            (Service::Sqs, "ChangeMessageVisibilityBatch") => "ChangeMessageVisibility",
            (Service::Sqs, "DeleteMessageBatch") => "DeleteMessage",
            (Service::Sqs, "SendMessageBatch") => "SendMessage",
            _ => operation,
        };
        IamAction {
            prefix: iam_prefix(service),
            name,
        }
    }

    pub fn for_request(req: &ApiRequest) -> IamAction {
        IamAction::of(req.service, req.operation)
    }

    /// Whether a policy's `Action` entry covers this action: case-insensitive, `*` and `?`
    /// wildcards (IAM policy grammar).
    pub fn is_matched_by(&self, pattern: &str) -> bool {
        let Some((prefix, name)) = pattern.split_once(':') else {
            return pattern == "*";
        };
        prefix.eq_ignore_ascii_case(self.prefix) && wildcard_match(name, self.name)
    }
}

/// The IAM service prefix: the signing name, except CloudWatch metrics (`monitoring`).
pub fn iam_prefix(service: Service) -> &'static str {
    match service {
        Service::Monitoring => "cloudwatch",
        other => other.signing_name(),
    }
}

/// Case-insensitive glob with `*` (any run) and `?` (one character).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == b'?' || c.eq_ignore_ascii_case(&t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|c| *c == b'*')
}

/// Error codes meaning "this identity may not do that" (EC2 `UnauthorizedOperation`, JSON
/// services `AccessDeniedException`, query/S3/SQS `AccessDenied`, SNS-style
/// `AuthorizationError`).
const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "AuthorizationErrorException",
];

/// Whether `e` says the caller lacks permission (a bodiless 403 counts: S3 HEAD).
pub fn is_access_denied(e: &AwsError) -> bool {
    ACCESS_DENIED_CODES.iter().any(|c| e.is_code(c))
        || (e.kind == ErrorKind::StatusOnly && e.status == 403)
}

/// The actions of the seed's "AWS Permissions Policy" (nfo-aws-vpc-flow-logs-input.txt), in
/// its order; `check-aws` probes every one of them.
pub const SEED_POLICY_ACTIONS: [&str; 37] = [
    "ec2:DescribeRegions",
    "ec2:DescribeInstances",
    "ec2:DescribeFlowLogs",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeNatGateways",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeTransitGatewayAttachments",
    "ec2:SearchTransitGatewayRoutes",
    "logs:DescribeSubscriptionFilters",
    "logs:GetLogEvents",
    "logs:DescribeLogStreams",
    "s3:GetBucketLocation",
    "s3:GetBucketNotification",
    "s3:GetObject",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ChangeMessageVisibility*",
    "sqs:DeleteMessage*",
    "sqs:ReceiveMessage",
    "cloudwatch:PutMetricData",
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:Scan",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:ListStreamConsumers",
    "kinesis:SubscribeToShard",
    "kinesis:DescribeStream*",
    "kinesis:RegisterStreamConsumer",
];

/// The name every made-up probe resource carries.
pub const PROBE_NAME: &str = "vpcflow-ipfix-permission-probe";
/// A well-formed transit gateway route table id that does not exist.
const PROBE_TGW_ROUTE_TABLE: &str = "tgw-rtb-0123456789abcdef0";
/// The first shard id of every stream.
const FIRST_SHARD: &str = "shardId-000000000000";
/// EC2 API version (spec D.0).
const EC2_VERSION: &str = "2016-11-15";

/// What the probes may touch: the configured inputs (any may be absent) and where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeTargets<'a> {
    /// The region probes go to when their resource does not name one.
    pub region: &'a str,
    /// The account the credentials act in (GetCallerIdentity), for made-up ARNs and URLs.
    pub account_id: &'a str,
    /// A configured log group: name or ARN.
    pub log_group: Option<&'a str>,
    /// A configured SQS queue URL.
    pub queue_url: Option<&'a str>,
    /// A configured S3 bucket, and its region if known.
    pub bucket: Option<&'a str>,
    pub bucket_region: Option<&'a str>,
    /// An object key known to exist in `bucket` (lets s3:GetObject get a definite answer).
    pub object_key: Option<&'a str>,
    /// A configured Kinesis stream: name or ARN.
    pub stream: Option<&'a str>,
}

/// How a probe's outcome reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// Authorization passed (a success, or an error the service only gives after it).
    Allowed,
    /// The identity lacks `action`; `detail` is the service's message.
    Denied { action: IamAction, detail: String },
    /// The outcome proves neither (throttled, unreachable, a resource S3 will not discuss…).
    Unknown(String),
}

/// One harmless request testing one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub action: IamAction,
    /// What it touches, for the report (`log group vpcflow-ipfix-permission-probe (made up)`).
    pub resource: String,
    /// Where to send it.
    pub region: String,
    pub request: ApiRequest,
    /// Error codes that prove authorization passed (`*.NotFound` matches by suffix).
    proves: &'static [&'static str],
    /// Error codes whose meaning is ambiguous for this probe, with the explanation to report.
    ambiguous: &'static [(&'static str, &'static str)],
}

impl Probe {
    /// Reads the outcome of the probe's call.
    pub fn interpret(&self, outcome: Result<&ApiResponse, &AwsCallError>) -> ProbeVerdict {
        let e = match outcome {
            Ok(_) => return ProbeVerdict::Allowed,
            Err(e) => e,
        };
        let Some(error) = e.aws_error() else {
            return ProbeVerdict::Unknown(e.to_string());
        };
        if let Some((_, why)) = self.ambiguous.iter().find(|(c, _)| error.is_code(c)) {
            return ProbeVerdict::Unknown(format!("{why} ({error})"));
        }
        if !matches!(e, AwsCallError::Rejected { .. }) {
            // Retries ran out: throttling, 5xx.
            return ProbeVerdict::Unknown(e.to_string());
        }
        if is_access_denied(error) {
            return ProbeVerdict::Denied {
                action: self.action,
                detail: error.to_string(),
            };
        }
        let proven = self.proves.iter().any(|p| match p.strip_prefix('*') {
            Some(suffix) => error.code.ends_with(suffix),
            None => error.is_code(p),
        });
        if proven {
            ProbeVerdict::Allowed
        } else {
            ProbeVerdict::Unknown(e.to_string())
        }
    }
}

const DRY_RUN_OK: &[&str] = &["DryRunOperation", "*.NotFound", "*.Malformed"];
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const SQS_OK: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ReceiptHandleIsInvalid",
    "InvalidParameterValue",
];
const KINESIS_OK: &[&str] = &[
    "ResourceNotFoundException",
    "InvalidArgumentException",
    "ExpiredIteratorException",
];
const DYNAMODB_OK: &[&str] = &["ResourceNotFoundException", "ValidationException"];
const METRICS_OK: &[&str] = &[
    "MissingParameter",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "ValidationError",
];
const S3_OK: &[&str] = &["NoSuchKey", "InvalidRange"];
const S3_NO_BUCKET: &[(&str, &str)] = &[(
    "NoSuchBucket",
    "S3 reports a missing bucket before it checks permissions: configure the real bucket",
)];
const S3_MISSING_KEY: &[(&str, &str)] = &[
    (
        "NoSuchBucket",
        "S3 reports a missing bucket before it checks permissions: configure the real bucket",
    ),
    (
        "AccessDenied",
        "S3 refuses a missing key with AccessDenied unless s3:ListBucket is allowed: name an existing object to test s3:GetObject",
    ),
];

/// The probes for every action of [`SEED_POLICY_ACTIONS`] (wildcards expanded to the actions
/// the agent uses), against `t`'s resources or made-up ones.
pub fn probes(t: &ProbeTargets<'_>) -> Vec<Probe> {
    let mut out = Vec::with_capacity(40);
    ec2_probes(t, &mut out);
    logs_probes(t, &mut out);
    s3_probes(t, &mut out);
    sqs_probes(t, &mut out);
    out.push(Probe {
        action: IamAction::of(Service::Monitoring, "PutMetricData"),
        resource: "an empty metric list (nothing is written)".to_string(),
        region: t.region.to_string(),
        request: json_request(
            Service::Monitoring,
            "PutMetricData",
            json!({"Namespace": "vpcflow-ipfix/permission-probe", "MetricData": []}),
        ),
        proves: METRICS_OK,
        ambiguous: &[],
    });
    dynamodb_probes(t, &mut out);
    kinesis_probes(t, &mut out);
    out
}

fn ec2_probes(t: &ProbeTargets<'_>, out: &mut Vec<Probe>) {
    const DESCRIBE: [&str; 10] = [
        "DescribeRegions",
        "DescribeInstances",
        "DescribeFlowLogs",
        "DescribeNetworkInterfaces",
        "DescribeVpcs",
        "DescribeNatGateways",
        "DescribeVpcEndpoints",
        "DescribeRouteTables",
        "DescribeVpcPeeringConnections",
        "DescribeTransitGatewayAttachments",
    ];
    for op in DESCRIBE {
        let mut f = FormBody::new(op, EC2_VERSION);
        f.push_bool("DryRun", true);
        if op != "DescribeRegions" {
            f.push_u64("MaxResults", 5);
        }
        out.push(ec2_probe(t, op, "dry run".to_string(), f));
    }
    let op = "SearchTransitGatewayRoutes";
    let mut f = FormBody::new(op, EC2_VERSION);
    f.push("TransitGatewayRouteTableId", PROBE_TGW_ROUTE_TABLE);
    f.push("Filter.1.Name", "state");
    f.push("Filter.1.Value.1", "active");
    f.push_u64("MaxResults", 5);
    f.push_bool("DryRun", true);
    let resource = format!("dry run on route table {PROBE_TGW_ROUTE_TABLE} (made up)");
    out.push(ec2_probe(t, op, resource, f));
}

fn ec2_probe(t: &ProbeTargets<'_>, op: &'static str, resource: String, f: FormBody) -> Probe {
    Probe {
        action: IamAction::of(Service::Ec2, op),
        resource,
        region: t.region.to_string(),
        request: query::post(Service::Ec2, op, f.finish()),
        proves: DRY_RUN_OK,
        ambiguous: &[],
    }
}

fn logs_probes(t: &ProbeTargets<'_>, out: &mut Vec<Probe>) {
    let (group, region, real) = match t.log_group {
        Some(g) => match parse_log_group_arn(g) {
            Some((region, name)) => (name, region, true),
            None => (g, t.region, true),
        },
        None => (PROBE_NAME, t.region, false),
    };
    let resource = |what: &str| format!("{what} {}", described(group, real));
    let mut probe = |op: &'static str, what: String, body: Value| {
        out.push(Probe {
            action: IamAction::of(Service::Logs, op),
            resource: what,
            region: region.to_string(),
            request: json_request(Service::Logs, op, body),
            proves: NOT_FOUND,
            ambiguous: &[],
        })
    };
    probe(
        "DescribeSubscriptionFilters",
        resource("log group"),
        json!({"logGroupName": group, "limit": 1}),
    );
    probe(
        "GetLogEvents",
        format!(
            "log stream {PROBE_NAME} (made up) in log group {}",
            described(group, real)
        ),
        json!({"logGroupName": group, "logStreamName": PROBE_NAME, "limit": 1, "startFromHead": true}),
    );
    probe(
        "DescribeLogStreams",
        resource("log group"),
        json!({"logGroupName": group, "limit": 1}),
    );
}

fn s3_probes(t: &ProbeTargets<'_>, out: &mut Vec<Probe>) {
    let (bucket, real) = match t.bucket {
        Some(b) => (b, true),
        None => (PROBE_NAME, false),
    };
    let region = t.bucket_region.unwrap_or(t.region).to_string();
    let bucket_request = |op: &'static str, sub: &str| ApiRequest {
        service: Service::S3,
        operation: op,
        method: "GET",
        bucket: Some(bucket.to_string()),
        path: "/".to_string(),
        query: sub.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    for (op, sub) in [
        ("GetBucketLocation", "location"),
        ("GetBucketNotificationConfiguration", "notification"),
    ] {
        out.push(Probe {
            action: IamAction::of(Service::S3, op),
            resource: format!("bucket {}", described(bucket, real)),
            region: region.clone(),
            request: bucket_request(op, sub),
            proves: &[],
            ambiguous: S3_NO_BUCKET,
        });
    }
    let (key, key_real) = match t.object_key {
        Some(k) => (k, true),
        None => (PROBE_NAME, false),
    };
    let mut get = bucket_request("GetObject", "");
    get.path = format!("/{}", encode_s3_key(key));
    // One byte is enough to be authorized; an empty object answers 416 InvalidRange.
    get.headers.push(("range", "bytes=0-0".to_string()));
    out.push(Probe {
        action: IamAction::of(Service::S3, "GetObject"),
        resource: format!(
            "object {} in bucket {}",
            described(key, key_real),
            described(bucket, real)
        ),
        region,
        request: get,
        proves: S3_OK,
        ambiguous: if key_real {
            S3_NO_BUCKET
        } else {
            S3_MISSING_KEY
        },
    });
}

fn sqs_probes(t: &ProbeTargets<'_>, out: &mut Vec<Probe>) {
    let parsed = t.queue_url.and_then(parse_queue_url);
    let (region, account, name) = match parsed {
        Some((region, account, name)) => (region.unwrap_or(t.region), account, name),
        None => (t.region, t.account_id, PROBE_NAME),
    };
    let real_url = t.queue_url.filter(|_| parsed.is_some());
    let made_up_url = format!(
        "https://sqs.{region}.{}/{account}/{PROBE_NAME}",
        crate::aws::endpoint::dns_suffix(region)
    );
    let url = real_url.unwrap_or(&made_up_url);
    let queue = |real: bool, url: &str| format!("queue {}", described(url, real));
    let mut probe = |op: &'static str, resource: String, body: Value| {
        out.push(Probe {
            action: IamAction::of(Service::Sqs, op),
            resource,
            region: region.to_string(),
            request: json_request(Service::Sqs, op, body),
            proves: SQS_OK,
            ambiguous: &[],
        })
    };
    let real = real_url.is_some();
    probe(
        "GetQueueUrl",
        queue(real, name),
        json!({"QueueName": name, "QueueOwnerAWSAccountId": account}),
    );
    probe(
        "GetQueueAttributes",
        queue(real, url),
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
    );
    // Receiving would hide a real message and count a receive: only ever a made-up queue.
    probe(
        "ReceiveMessage",
        queue(false, &made_up_url),
        json!({"QueueUrl": made_up_url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 0, "VisibilityTimeout": 0}),
    );
    probe(
        "ChangeMessageVisibility",
        format!("an invalid receipt handle on {}", queue(real, url)),
        json!({"QueueUrl": url, "ReceiptHandle": PROBE_NAME, "VisibilityTimeout": 0}),
    );
    probe(
        "DeleteMessage",
        format!("an invalid receipt handle on {}", queue(real, url)),
        json!({"QueueUrl": url, "ReceiptHandle": PROBE_NAME}),
    );
}

fn dynamodb_probes(t: &ProbeTargets<'_>, out: &mut Vec<Probe>) {
    let key = json!({"probe": {"S": PROBE_NAME}});
    let ops: [(&'static str, Value); 7] = [
        // No attribute definition for the key: validation refuses it, no table is created.
        (
            "CreateTable",
            json!({"TableName": PROBE_NAME, "KeySchema": [{"AttributeName": "probe", "KeyType": "HASH"}],
                   "AttributeDefinitions": [], "BillingMode": "PAY_PER_REQUEST"}),
        ),
        ("DescribeTable", json!({"TableName": PROBE_NAME})),
        ("GetItem", json!({"TableName": PROBE_NAME, "Key": key})),
        ("PutItem", json!({"TableName": PROBE_NAME, "Item": key})),
        ("DeleteItem", json!({"TableName": PROBE_NAME, "Key": key})),
        ("UpdateItem", json!({"TableName": PROBE_NAME, "Key": key})),
        ("Scan", json!({"TableName": PROBE_NAME, "Limit": 1})),
    ];
    for (op, body) in ops {
        out.push(Probe {
            action: IamAction::of(Service::DynamoDb, op),
            resource: format!("table {PROBE_NAME} (made up)"),
            region: t.region.to_string(),
            request: json_request(Service::DynamoDb, op, body),
            proves: DYNAMODB_OK,
            ambiguous: &[],
        });
    }
}

fn kinesis_probes(t: &ProbeTargets<'_>, out: &mut Vec<Probe>) {
    let (region, account, name, real) = match t.stream {
        Some(s) => match parse_stream_arn(s) {
            Some((region, account, name)) => (region, account, name, true),
            None => (t.region, t.account_id, s, true),
        },
        None => (t.region, t.account_id, PROBE_NAME, false),
    };
    let arn = format!("arn:aws:kinesis:{region}:{account}:stream/{name}");
    let made_up_arn = format!("arn:aws:kinesis:{region}:{account}:stream/{PROBE_NAME}");
    let stream = format!("stream {}", described(name, real));
    let mut probe = |op: &'static str, resource: String, body: Value| {
        out.push(Probe {
            action: IamAction::of(Service::Kinesis, op),
            resource,
            region: region.to_string(),
            request: json_request(Service::Kinesis, op, body),
            proves: KINESIS_OK,
            ambiguous: &[],
        })
    };
    probe(
        "GetRecords",
        format!("an invalid shard iterator on {stream}"),
        json!({"ShardIterator": PROBE_NAME, "Limit": 1, "StreamARN": arn}),
    );
    probe(
        "GetShardIterator",
        format!("{FIRST_SHARD} of {stream}"),
        json!({"StreamName": name, "ShardId": FIRST_SHARD, "ShardIteratorType": "LATEST"}),
    );
    probe(
        "ListShards",
        stream.clone(),
        json!({"StreamName": name, "MaxResults": 1}),
    );
    probe(
        "ListStreamConsumers",
        stream.clone(),
        json!({"StreamARN": arn, "MaxResults": 1}),
    );
    probe(
        "SubscribeToShard",
        format!("consumer {PROBE_NAME} (made up) of {stream}"),
        json!({"ConsumerARN": format!("{arn}/consumer/{PROBE_NAME}:1"), "ShardId": FIRST_SHARD,
               "StartingPosition": {"Type": "LATEST"}}),
    );
    probe(
        "DescribeStream",
        stream.clone(),
        json!({"StreamName": name, "Limit": 1}),
    );
    probe(
        "DescribeStreamSummary",
        stream.clone(),
        json!({"StreamName": name}),
    );
    probe(
        "DescribeStreamConsumer",
        format!("consumer {PROBE_NAME} (made up) of {stream}"),
        json!({"StreamARN": arn, "ConsumerName": PROBE_NAME}),
    );
    // Registering on the real stream would create a consumer: only ever a made-up stream.
    probe(
        "RegisterStreamConsumer",
        format!("stream {PROBE_NAME} (made up)"),
        json!({"StreamARN": made_up_arn, "ConsumerName": PROBE_NAME}),
    );
}

fn described(name: &str, real: bool) -> String {
    if real {
        name.to_string()
    } else {
        format!("{name} (made up)")
    }
}

/// A JSON-protocol request (spec D.0): target prefix, JSON version, query-compatible header.
fn json_request(service: Service, operation: &'static str, body: Value) -> ApiRequest {
    let (target, version, query_mode) = match service {
        Service::Logs => ("Logs_20140328", "1.1", false),
        Service::Kinesis => ("Kinesis_20131202", "1.1", false),
        Service::DynamoDb => ("DynamoDB_20120810", "1.0", false),
        Service::Sqs => ("AmazonSQS", "1.0", true),
        _ => ("GraniteServiceVersion20100801", "1.0", true),
    };
    let mut headers = vec![
        ("x-amz-target", format!("{target}.{operation}")),
        ("content-type", format!("application/x-amz-json-{version}")),
    ];
    if query_mode {
        headers.push(("x-amzn-query-mode", "true".to_string()));
    }
    ApiRequest {
        service,
        operation,
        method: "POST",
        bucket: None,
        path: "/".to_string(),
        query: String::new(),
        headers,
        body: body.to_string().into_bytes(),
    }
}

/// S3 key → wire path: every byte outside `A-Za-z0-9-._~/` percent-encoded (spec D.7).
fn encode_s3_key(key: &str) -> String {
    let mut out = Vec::with_capacity(key.len() + 8);
    for (i, part) in key.split('/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        query::percent_encode_into(&mut out, part);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]` → (region, name).
fn parse_log_group_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let (_partition, service, region, _account, kind) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = parts.next()?;
    let name = name.strip_suffix(":*").unwrap_or(name);
    (service == "logs" && kind == "log-group" && !region.is_empty() && !name.is_empty())
        .then_some((region, name))
}

/// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME` → (region, account, name).
fn parse_stream_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("stream/")?;
    (service == "kinesis" && !region.is_empty() && !account.is_empty() && !name.is_empty())
        .then_some((region, account, name))
}

/// `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME` (also the legacy
/// `https://REGION.queue.amazonaws.com/…`, and an emulator's `http://host:port/ACCOUNT/NAME`,
/// whose region is unknown) → (region, account, name).
fn parse_queue_url(url: &str) -> Option<(Option<&str>, &str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let (account, name) = path.trim_end_matches('/').split_once('/')?;
    let region = match host.strip_prefix("sqs.") {
        Some(r) => r.split('.').next(),
        None => host.split_once(".queue.").map(|(r, _)| r),
    };
    let ok = |s: &str| !s.is_empty() && !s.contains('/');
    (ok(account) && ok(name)).then_some((region.filter(|r| ok(r)), account, name))
}

#[cfg(test)]
#[path = "permissions_tests.rs"]
mod tests;
