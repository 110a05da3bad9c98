//! `ApiRequest`: one AWS API call as plain data, before it has a host or a signature.
//!
//! The API modules (`aws::api::*`) build these from typed inputs; the endpoint resolver
//! decides the host (and, for S3, virtual-hosted or path style); the signer adds the
//! SigV4 headers. Keeping the request as data is what lets every layer be tested alone.

/// The AWS services the agent calls, named by their SigV4 signing names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Ec2,
    Sts,
    Sqs,
    Logs,
    Kinesis,
    S3,
    DynamoDb,
    Monitoring,
}

/// Wire protocol of a service (botocore's `metadata.protocol`): decides how errors are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// EC2's own query dialect: form body in, `<Response><Errors>` out.
    Ec2Query,
    /// AWS query (STS): form body in, `<ErrorResponse>` out.
    Query,
    /// JSON 1.0 (SQS, DynamoDB, CloudWatch metrics).
    Json10,
    /// JSON 1.1 (CloudWatch Logs, Kinesis).
    Json11,
    /// REST-XML (S3).
    RestXml,
}

impl Service {
    /// The SigV4 signing name, which is also the endpoint prefix (`{name}.{region}.amazonaws.com`).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Sts => "sts",
            Service::Sqs => "sqs",
            Service::Logs => "logs",
            Service::Kinesis => "kinesis",
            Service::S3 => "s3",
            Service::DynamoDb => "dynamodb",
            Service::Monitoring => "monitoring",
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Service::Ec2 => Protocol::Ec2Query,
            Service::Sts => Protocol::Query,
            Service::Sqs | Service::DynamoDb | Service::Monitoring => Protocol::Json10,
            Service::Logs | Service::Kinesis => Protocol::Json11,
            Service::S3 => Protocol::RestXml,
        }
    }

    /// The suffix of `AWS_ENDPOINT_URL_<SERVICE>` (the SDKs' service id, upper snake case).
    pub fn env_suffix(self) -> &'static str {
        match self {
            Service::Ec2 => "EC2",
            Service::Sts => "STS",
            Service::Sqs => "SQS",
            Service::Logs => "CLOUDWATCH_LOGS",
            Service::Kinesis => "KINESIS",
            Service::S3 => "S3",
            Service::DynamoDb => "DYNAMODB",
            Service::Monitoring => "CLOUDWATCH",
        }
    }
}

/// One API call, unsigned and without a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRequest {
    pub service: Service,
    /// The operation name as in the API reference (`DescribeInstances`): for logs, metrics and
    /// for naming the IAM action that was refused.
    pub operation: &'static str,
    /// `GET`, `POST`, `PUT`, `HEAD`.
    pub method: &'static str,
    /// S3 only: the bucket. The endpoint puts it in the host (virtual-hosted) or the path (path style).
    pub bucket: Option<String>,
    /// The wire path, already percent-encoded, starting with `/` (after the bucket for S3).
    pub path: String,
    /// The wire query string, already encoded, without the leading `?` (S3 `notification=` etc.).
    pub query: String,
    /// Headers the operation needs (`content-type`, `x-amz-target`, `x-amzn-query-mode`, `range`),
    /// lower-case names. Host, date, content length and signature headers are added later.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}
