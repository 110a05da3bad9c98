//! SQS (JSON 1.0, target `AmazonSQS.<Op>`, `x-amzn-query-mode: true` because the service is
//! awsQueryCompatible): the S3-notification queue — receive, keep invisible while an object is
//! processed, delete once every record from it was exported (spec D.6).
//!
//! Not paged. `ReceiveMessage` with no message answers `{}` (no `Messages` key). The batch
//! calls answer HTTP 200 even when some entries failed: check [`BatchResult::failed`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::aws::api::json::{BodyError, JsonWriter, de_opt_cow, json_request, parse_body};
use crate::aws::request::{ApiRequest, Service};

const TARGET_PREFIX: &str = "AmazonSQS";

/// "MaxNumberOfMessages … Valid values: 1 to 10. Default: 1." (SQS API Reference, ReceiveMessage).
pub const MAX_RECEIVE_MESSAGES: u32 = 10;
/// "WaitTimeSeconds … The maximum is 20 seconds" (ReceiveMessage): set the HTTP read timeout above it.
pub const MAX_WAIT_TIME_SECS: u32 = 20;
/// "The maximum is 12 hours" (43 200 s) for a visibility timeout (ChangeMessageVisibility).
pub const MAX_VISIBILITY_TIMEOUT_SECS: u32 = 43_200;
/// Entries per batch call: "You can send up to 10 … requests" (DeleteMessageBatch,
/// ChangeMessageVisibilityBatch; `TooManyEntriesInBatchRequest`).
pub const MAX_BATCH_ENTRIES: usize = 10;
/// Largest message body: 1 MiB ("The maximum is 1,048,576 bytes (1 MiB)", SQS quotas, since
/// August 2025; it was 256 KiB before).
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// Cap on a `ReceiveMessage` body: 10 messages of 1 MiB, doubled for JSON escaping of the
/// body (S3 notifications are JSON in a JSON string), plus attributes and receipt handles.
pub const MAX_RECEIVE_RESPONSE_BYTES: usize = 24 << 20;
/// Cap on the other responses (queue URL, attributes, batch results).
pub const MAX_SMALL_RESPONSE_BYTES: usize = 1 << 20;

/// Why an SQS request could not be built or a response not read.
#[derive(Debug)]
pub enum SqsError {
    /// A batch needs 1..=10 entries.
    BatchSize { operation: &'static str, len: usize },
    Body {
        operation: &'static str,
        source: BodyError,
    },
}

impl fmt::Display for SqsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqsError::BatchSize { operation, len } => {
                write!(
                    f,
                    "sqs {operation}: {len} entries, a batch takes 1 to {MAX_BATCH_ENTRIES}"
                )
            }
            SqsError::Body { operation, source } => write!(f, "sqs {operation} response: {source}"),
        }
    }
}

impl std::error::Error for SqsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SqsError::Body { source, .. } => Some(source),
            SqsError::BatchSize { .. } => None,
        }
    }
}

fn request(operation: &'static str, w: JsonWriter) -> ApiRequest {
    json_request(
        Service::Sqs,
        TARGET_PREFIX,
        operation,
        "1.0",
        true,
        w.finish(),
    )
}

fn parse<'a, T: Deserialize<'a>>(
    operation: &'static str,
    body: &'a [u8],
    max: usize,
) -> Result<T, SqsError> {
    parse_body(body, max).map_err(|source| SqsError::Body { operation, source })
}

fn check_batch(operation: &'static str, len: usize) -> Result<(), SqsError> {
    if len == 0 || len > MAX_BATCH_ENTRIES {
        return Err(SqsError::BatchSize { operation, len });
    }
    Ok(())
}

// ---------------------------------------------------------------- GetQueueUrl

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlOutput<'a> {
    /// The queue's region is the host of this URL.
    #[serde(borrow)]
    pub queue_url: Cow<'a, str>,
}

/// `GetQueueUrl`; `owner_account_id` for another account's queue.
pub fn get_queue_url(queue_name: &str, owner_account_id: Option<&str>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("QueueName", queue_name);
    w.opt_str_field("QueueOwnerAWSAccountId", owner_account_id);
    request("GetQueueUrl", w)
}

pub fn parse_get_queue_url(body: &[u8]) -> Result<GetQueueUrlOutput<'_>, SqsError> {
    parse("GetQueueUrl", body, MAX_SMALL_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- GetQueueAttributes

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesOutput<'a> {
    /// Attribute name → value (values are strings, numbers included).
    #[serde(borrow, default)]
    pub attributes: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
}

impl GetQueueAttributesOutput<'_> {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(|v| &**v)
    }
}

/// `GetQueueAttributes` (`["All"]` or names such as `QueueArn`, `VisibilityTimeout`, `RedrivePolicy`).
pub fn get_queue_attributes(queue_url: &str, attribute_names: &[&str]) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("QueueUrl", queue_url);
    w.str_array_field("AttributeNames", attribute_names);
    request("GetQueueAttributes", w)
}

pub fn parse_get_queue_attributes(body: &[u8]) -> Result<GetQueueAttributesOutput<'_>, SqsError> {
    parse("GetQueueAttributes", body, MAX_SMALL_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- ReceiveMessage

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiveMessageInput<'a> {
    pub queue_url: &'a str,
    /// 1..=10
    pub max_number_of_messages: Option<u32>,
    /// 0..=20: long polling.
    pub wait_time_seconds: Option<u32>,
    pub visibility_timeout: Option<u32>,
    /// `ApproximateReceiveCount`, `SentTimestamp`, `All`, …
    pub message_system_attribute_names: &'a [&'a str],
    pub message_attribute_names: &'a [&'a str],
    /// FIFO queues only.
    pub receive_request_attempt_id: Option<&'a str>,
}

/// `Attributes` of a message: the system attributes the agent uses (values arrive as strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MessageSystemAttributes<'a> {
    #[serde(
        rename = "ApproximateReceiveCount",
        borrow,
        default,
        deserialize_with = "de_opt_cow"
    )]
    pub approximate_receive_count: Option<Cow<'a, str>>,
    /// Epoch ms.
    #[serde(
        rename = "SentTimestamp",
        borrow,
        default,
        deserialize_with = "de_opt_cow"
    )]
    pub sent_timestamp: Option<Cow<'a, str>>,
    /// Epoch ms.
    #[serde(
        rename = "ApproximateFirstReceiveTimestamp",
        borrow,
        default,
        deserialize_with = "de_opt_cow"
    )]
    pub approximate_first_receive_timestamp: Option<Cow<'a, str>>,
}

impl MessageSystemAttributes<'_> {
    /// How often the message was received: above a threshold it is a poison message.
    pub fn receive_count(&self) -> Option<u32> {
        self.approximate_receive_count.as_deref()?.parse().ok()
    }

    pub fn sent_timestamp_ms(&self) -> Option<i64> {
        self.sent_timestamp.as_deref()?.parse().ok()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Message<'a> {
    #[serde(borrow)]
    pub message_id: Cow<'a, str>,
    /// What `DeleteMessage` and `ChangeMessageVisibility` need (valid for this receive only).
    #[serde(borrow)]
    pub receipt_handle: Cow<'a, str>,
    #[serde(rename = "MD5OfBody", borrow, default, deserialize_with = "de_opt_cow")]
    pub md5_of_body: Option<Cow<'a, str>>,
    /// The S3 notification JSON (see `s3_event`); usually owned, since it is escaped JSON.
    #[serde(borrow)]
    pub body: Cow<'a, str>,
    #[serde(borrow, default)]
    pub attributes: MessageSystemAttributes<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageOutput<'a> {
    /// Empty when no message arrived within the wait time.
    #[serde(borrow, default)]
    pub messages: Vec<Message<'a>>,
}

pub fn receive_message(input: &ReceiveMessageInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("QueueUrl", input.queue_url);
    w.opt_u64_field(
        "MaxNumberOfMessages",
        input.max_number_of_messages.map(u64::from),
    );
    w.opt_u64_field("WaitTimeSeconds", input.wait_time_seconds.map(u64::from));
    w.opt_u64_field("VisibilityTimeout", input.visibility_timeout.map(u64::from));
    w.str_array_field(
        "MessageSystemAttributeNames",
        input.message_system_attribute_names,
    );
    w.str_array_field("MessageAttributeNames", input.message_attribute_names);
    w.opt_str_field("ReceiveRequestAttemptId", input.receive_request_attempt_id);
    request("ReceiveMessage", w)
}

pub fn parse_receive_message(body: &[u8]) -> Result<ReceiveMessageOutput<'_>, SqsError> {
    parse("ReceiveMessage", body, MAX_RECEIVE_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- visibility and delete

/// `ChangeMessageVisibility`: 0..=43 200 s from now (0 makes the message visible again).
pub fn change_message_visibility(
    queue_url: &str,
    receipt_handle: &str,
    visibility_timeout: u32,
) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("QueueUrl", queue_url);
    w.str_field("ReceiptHandle", receipt_handle);
    w.u64_field("VisibilityTimeout", u64::from(visibility_timeout));
    request("ChangeMessageVisibility", w)
}

pub fn delete_message(queue_url: &str, receipt_handle: &str) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("QueueUrl", queue_url);
    w.str_field("ReceiptHandle", receipt_handle);
    request("DeleteMessage", w)
}

/// The body of `DeleteMessage` / `ChangeMessageVisibility` answers: `{}`. Checks it is JSON.
pub fn parse_empty(operation: &'static str, body: &[u8]) -> Result<(), SqsError> {
    parse::<serde::de::IgnoredAny>(operation, body, MAX_SMALL_RESPONSE_BYTES).map(|_| ())
}

/// One `ChangeMessageVisibilityBatch` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VisibilityEntry<'a> {
    /// Unique within the batch; echoed in the result.
    pub id: &'a str,
    pub receipt_handle: &'a str,
    pub visibility_timeout: u32,
}

/// One `DeleteMessageBatch` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeleteEntry<'a> {
    pub id: &'a str,
    pub receipt_handle: &'a str,
}

pub fn change_message_visibility_batch(
    queue_url: &str,
    entries: &[VisibilityEntry<'_>],
) -> Result<ApiRequest, SqsError> {
    check_batch("ChangeMessageVisibilityBatch", entries.len())?;
    let mut w = JsonWriter::new();
    w.str_field("QueueUrl", queue_url);
    w.begin_array_field("Entries");
    for e in entries {
        w.begin_object_elem();
        w.str_field("Id", e.id);
        w.str_field("ReceiptHandle", e.receipt_handle);
        w.u64_field("VisibilityTimeout", u64::from(e.visibility_timeout));
        w.end_object();
    }
    w.end_array();
    Ok(request("ChangeMessageVisibilityBatch", w))
}

pub fn delete_message_batch(
    queue_url: &str,
    entries: &[DeleteEntry<'_>],
) -> Result<ApiRequest, SqsError> {
    check_batch("DeleteMessageBatch", entries.len())?;
    let mut w = JsonWriter::new();
    w.str_field("QueueUrl", queue_url);
    w.begin_array_field("Entries");
    for e in entries {
        w.begin_object_elem();
        w.str_field("Id", e.id);
        w.str_field("ReceiptHandle", e.receipt_handle);
        w.end_object();
    }
    w.end_array();
    Ok(request("DeleteMessageBatch", w))
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSuccess<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchFailure<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// `true`: the request was wrong (e.g. `ReceiptHandleIsInvalid`), retrying will not help.
    #[serde(default)]
    pub sender_fault: bool,
    #[serde(borrow)]
    pub code: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub message: Option<Cow<'a, str>>,
}

/// `DeleteMessageBatch` / `ChangeMessageVisibilityBatch` result: per entry, success or failure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult<'a> {
    #[serde(borrow, default)]
    pub successful: Vec<BatchSuccess<'a>>,
    #[serde(borrow, default)]
    pub failed: Vec<BatchFailure<'a>>,
}

pub fn parse_delete_message_batch(body: &[u8]) -> Result<BatchResult<'_>, SqsError> {
    parse("DeleteMessageBatch", body, MAX_SMALL_RESPONSE_BYTES)
}

pub fn parse_change_message_visibility_batch(body: &[u8]) -> Result<BatchResult<'_>, SqsError> {
    parse(
        "ChangeMessageVisibilityBatch",
        body,
        MAX_SMALL_RESPONSE_BYTES,
    )
}

#[cfg(test)]
#[path = "sqs/tests.rs"]
mod tests;
