//! Kinesis Data Streams (JSON 1.1, target `Kinesis_20131202.<Op>`, PascalCase members): list
//! shards, read them with shard iterators, and the enhanced fan-out consumer calls.
//!
//! Paging and limits (spec D.5):
//! - `ListShards`: follow `NextToken` (valid 300 s). AWS refuses `StreamName` together with
//!   `NextToken`; moto's emulator needs it, so [`ListShardsInput::stream_with_next_token`]
//!   sends both.
//! - `GetRecords`: `NextShardIterator` is absent/null only when a closed shard is read to its
//!   end, and that last response lists the `ChildShards`. Empty `Records` is not the end;
//!   `MillisBehindLatest == 0` means caught up. Iterators expire 5 minutes after issue.
//! - `ListStreamConsumers`: follow `NextToken`.
//!
//! `Data` stays base64 text in [`Record`]; [`Record::decode_data`] decodes it into a buffer the
//! caller reuses. JSON timestamps are epoch seconds (possibly `1.768478702456E9`) and are
//! returned as epoch milliseconds.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use crate::aws::api::base64::{self, Base64Error};
use crate::aws::api::json::{
    BodyError, JsonWriter, de_opt_cow, de_opt_epoch_ms, de_vec_cow, json_request, parse_body,
};
use crate::aws::request::{ApiRequest, Service};

const TARGET_PREFIX: &str = "Kinesis_20131202";

/// `GetRecords` `Limit`: "The maximum number of records to return. Specify a value of up to
/// 10,000." (Kinesis API Reference, GetRecords).
pub const GET_RECORDS_MAX_LIMIT: u32 = 10_000;
/// "The size of the data returned by GetRecords varies depending on the utilization of the
/// shard. It can return up to 10 MiB of data" (API Reference, GetRecords).
pub const GET_RECORDS_MAX_DATA_BYTES: usize = 10 << 20;
/// Cap on a `GetRecords` body: 10 MiB of data grows by 4/3 in base64 (13.4 MiB), plus up to
/// 10 000 records of JSON framing (~200 bytes each).
pub const GET_RECORDS_MAX_RESPONSE_BYTES: usize = 20 << 20;
/// `ListShards` `MaxResults`: "Valid Range: Minimum value of 1. Maximum value of 10000."
pub const LIST_SHARDS_MAX_RESULTS: u32 = 10_000;
/// Cap on the control-plane responses (10 000 shards of ~300 bytes each).
pub const MAX_CONTROL_RESPONSE_BYTES: usize = 8 << 20;
/// Shard iterators "expire five minutes after they are returned" (API Reference,
/// GetShardIterator).
pub const SHARD_ITERATOR_LIFETIME_SECS: u64 = 300;

/// Which stream: by name (host `kinesis.{region}`) or ARN (account-prefixed hosts, spec D.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamRef<'a> {
    Name(&'a str),
    Arn(&'a str),
}

impl StreamRef<'_> {
    fn write(&self, w: &mut JsonWriter) {
        match self {
            StreamRef::Name(n) => w.str_field("StreamName", n),
            StreamRef::Arn(a) => w.str_field("StreamARN", a),
        }
    }
}

/// Why a Kinesis response could not be read.
#[derive(Debug)]
pub enum KinesisError {
    Body {
        operation: &'static str,
        source: BodyError,
    },
}

impl fmt::Display for KinesisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KinesisError::Body { operation, source } => {
                write!(f, "kinesis {operation} response: {source}")
            }
        }
    }
}

impl std::error::Error for KinesisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KinesisError::Body { source, .. } => Some(source),
        }
    }
}

fn request(operation: &'static str, w: JsonWriter) -> ApiRequest {
    json_request(
        Service::Kinesis,
        TARGET_PREFIX,
        operation,
        "1.1",
        false,
        w.finish(),
    )
}

fn parse<'a, T: Deserialize<'a>>(
    operation: &'static str,
    body: &'a [u8],
    max: usize,
) -> Result<T, KinesisError> {
    parse_body(body, max).map_err(|source| KinesisError::Body { operation, source })
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HashKeyRange<'a> {
    /// Decimal, up to 2^128 − 1.
    #[serde(borrow)]
    pub starting_hash_key: Cow<'a, str>,
    #[serde(borrow)]
    pub ending_hash_key: Cow<'a, str>,
}

// ---------------------------------------------------------------- ListShards

/// `ShardFilter.Type` (with its `ShardId` / `Timestamp` where the type needs one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardFilter<'a> {
    AfterShardId(&'a str),
    AtTrimHorizon,
    FromTrimHorizon,
    AtLatest,
    /// Epoch ms.
    AtTimestamp(i64),
    FromTimestamp(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListShardsInput<'a> {
    pub stream: StreamRef<'a>,
    /// A previous page's `next_token`: then the stream, start shard and filter are not sent.
    pub next_token: Option<&'a str>,
    /// Also send the stream with `next_token` (moto needs it; AWS refuses it).
    pub stream_with_next_token: bool,
    pub exclusive_start_shard_id: Option<&'a str>,
    pub shard_filter: Option<ShardFilter<'a>>,
    /// 1..=10 000
    pub max_results: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange<'a> {
    #[serde(borrow)]
    pub starting_sequence_number: Cow<'a, str>,
    /// Set once the shard is closed (after a reshard).
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub ending_sequence_number: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard<'a> {
    #[serde(borrow)]
    pub shard_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub parent_shard_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub adjacent_parent_shard_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hash_key_range: HashKeyRange<'a>,
    #[serde(borrow)]
    pub sequence_number_range: SequenceNumberRange<'a>,
}

impl Shard<'_> {
    /// A closed shard takes no new records; read it to its end before its children.
    pub fn is_closed(&self) -> bool {
        self.sequence_number_range.ending_sequence_number.is_some()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsOutput<'a> {
    #[serde(borrow, default)]
    pub shards: Vec<Shard<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

pub fn list_shards(input: &ListShardsInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    match input.next_token {
        Some(token) => {
            if input.stream_with_next_token {
                input.stream.write(&mut w);
            }
            w.str_field("NextToken", token);
        }
        None => {
            input.stream.write(&mut w);
            w.opt_str_field("ExclusiveStartShardId", input.exclusive_start_shard_id);
            if let Some(filter) = input.shard_filter {
                w.begin_object_field("ShardFilter");
                let (kind, shard, ts) = match filter {
                    ShardFilter::AfterShardId(s) => ("AFTER_SHARD_ID", Some(s), None),
                    ShardFilter::AtTrimHorizon => ("AT_TRIM_HORIZON", None, None),
                    ShardFilter::FromTrimHorizon => ("FROM_TRIM_HORIZON", None, None),
                    ShardFilter::AtLatest => ("AT_LATEST", None, None),
                    ShardFilter::AtTimestamp(t) => ("AT_TIMESTAMP", None, Some(t)),
                    ShardFilter::FromTimestamp(t) => ("FROM_TIMESTAMP", None, Some(t)),
                };
                w.str_field("Type", kind);
                w.opt_str_field("ShardId", shard);
                if let Some(t) = ts {
                    w.epoch_ms_as_seconds_field("Timestamp", t);
                }
                w.end_object();
            }
        }
    }
    w.opt_u64_field("MaxResults", input.max_results.map(u64::from));
    request("ListShards", w)
}

pub fn parse_list_shards(body: &[u8]) -> Result<ListShardsOutput<'_>, KinesisError> {
    parse("ListShards", body, MAX_CONTROL_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- DescribeStreamSummary

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails<'a> {
    /// `PROVISIONED` or `ON_DEMAND`.
    #[serde(borrow)]
    pub stream_mode: Cow<'a, str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescriptionSummary<'a> {
    #[serde(borrow)]
    pub stream_name: Cow<'a, str>,
    #[serde(rename = "StreamARN", borrow)]
    pub stream_arn: Cow<'a, str>,
    /// `CREATING`, `DELETING`, `ACTIVE`, `UPDATING`.
    #[serde(borrow)]
    pub stream_status: Cow<'a, str>,
    #[serde(borrow, default)]
    pub stream_mode_details: Option<StreamModeDetails<'a>>,
    #[serde(default)]
    pub retention_period_hours: Option<u32>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "de_opt_epoch_ms")]
    pub stream_creation_timestamp: Option<i64>,
    /// `NONE` or `KMS`.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub encryption_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub key_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub open_shard_count: Option<u32>,
    #[serde(default)]
    pub consumer_count: Option<u32>,
    /// 1024..=10240 when the stream accepts records above 1 MiB.
    #[serde(rename = "MaxRecordSizeInKiB", default)]
    pub max_record_size_in_kib: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryOutput<'a> {
    #[serde(borrow)]
    pub stream_description_summary: StreamDescriptionSummary<'a>,
}

pub fn describe_stream_summary(stream: StreamRef<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    stream.write(&mut w);
    request("DescribeStreamSummary", w)
}

pub fn parse_describe_stream_summary(
    body: &[u8],
) -> Result<DescribeStreamSummaryOutput<'_>, KinesisError> {
    parse("DescribeStreamSummary", body, MAX_CONTROL_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- GetShardIterator

/// Where in the shard an iterator starts (`ShardIteratorType` and its argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardPosition<'a> {
    AtSequenceNumber(&'a str),
    /// Resume after the last checkpointed record.
    AfterSequenceNumber(&'a str),
    TrimHorizon,
    Latest,
    /// Epoch ms.
    AtTimestamp(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetShardIteratorInput<'a> {
    pub stream: StreamRef<'a>,
    pub shard_id: &'a str,
    pub position: ShardPosition<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput<'a> {
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub shard_iterator: Option<Cow<'a, str>>,
}

pub fn get_shard_iterator(input: &GetShardIteratorInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    input.stream.write(&mut w);
    w.str_field("ShardId", input.shard_id);
    match input.position {
        ShardPosition::AtSequenceNumber(s) => {
            w.str_field("ShardIteratorType", "AT_SEQUENCE_NUMBER");
            w.str_field("StartingSequenceNumber", s);
        }
        ShardPosition::AfterSequenceNumber(s) => {
            w.str_field("ShardIteratorType", "AFTER_SEQUENCE_NUMBER");
            w.str_field("StartingSequenceNumber", s);
        }
        ShardPosition::TrimHorizon => w.str_field("ShardIteratorType", "TRIM_HORIZON"),
        ShardPosition::Latest => w.str_field("ShardIteratorType", "LATEST"),
        ShardPosition::AtTimestamp(t) => {
            w.str_field("ShardIteratorType", "AT_TIMESTAMP");
            w.epoch_ms_as_seconds_field("Timestamp", t);
        }
    }
    request("GetShardIterator", w)
}

pub fn parse_get_shard_iterator(body: &[u8]) -> Result<GetShardIteratorOutput<'_>, KinesisError> {
    parse("GetShardIterator", body, MAX_CONTROL_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- GetRecords

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetRecordsInput<'a> {
    pub shard_iterator: &'a str,
    /// 1..=10 000
    pub limit: Option<u32>,
    /// Sent when the stream is addressed by ARN (then the request goes to the data host).
    pub stream_arn: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record<'a> {
    /// Decimal, ~56 digits: compare by (length, text).
    #[serde(borrow)]
    pub sequence_number: Cow<'a, str>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "de_opt_epoch_ms")]
    pub approximate_arrival_timestamp: Option<i64>,
    /// The blob, base64 as on the wire (CWL subscription data is gzip inside).
    #[serde(borrow)]
    pub data: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub partition_key: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub encryption_type: Option<Cow<'a, str>>,
}

impl Record<'_> {
    /// Appends the decoded `Data` to `out` (reuse one buffer across records); returns its length.
    pub fn decode_data(&self, out: &mut Vec<u8>) -> Result<usize, Base64Error> {
        base64::decode_into(self.data.as_bytes(), out)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildShard<'a> {
    #[serde(borrow)]
    pub shard_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "de_vec_cow")]
    pub parent_shards: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub hash_key_range: HashKeyRange<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput<'a> {
    #[serde(borrow, default)]
    pub records: Vec<Record<'a>>,
    /// `None` once a closed shard has been read to its end.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_shard_iterator: Option<Cow<'a, str>>,
    #[serde(default)]
    pub millis_behind_latest: Option<u64>,
    /// The successors, in the last response of a closed shard.
    #[serde(borrow, default)]
    pub child_shards: Option<Vec<ChildShard<'a>>>,
}

impl GetRecordsOutput<'_> {
    /// The shard is closed and fully read: continue with `child_shards`.
    pub fn is_shard_end(&self) -> bool {
        self.next_shard_iterator.is_none()
    }
}

pub fn get_records(input: &GetRecordsInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("ShardIterator", input.shard_iterator);
    w.opt_u64_field("Limit", input.limit.map(u64::from));
    w.opt_str_field("StreamARN", input.stream_arn);
    request("GetRecords", w)
}

pub fn parse_get_records(body: &[u8]) -> Result<GetRecordsOutput<'_>, KinesisError> {
    parse("GetRecords", body, GET_RECORDS_MAX_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- consumers (enhanced fan-out)

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer<'a> {
    #[serde(borrow)]
    pub consumer_name: Cow<'a, str>,
    #[serde(rename = "ConsumerARN", borrow)]
    pub consumer_arn: Cow<'a, str>,
    /// `CREATING`, `ACTIVE`, `DELETING`: subscribe only when `ACTIVE`.
    #[serde(borrow)]
    pub consumer_status: Cow<'a, str>,
    /// Epoch ms.
    #[serde(default, deserialize_with = "de_opt_epoch_ms")]
    pub consumer_creation_timestamp: Option<i64>,
    /// Set by `DescribeStreamConsumer`.
    #[serde(rename = "StreamARN", borrow, default, deserialize_with = "de_opt_cow")]
    pub stream_arn: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerOutput<'a> {
    #[serde(borrow)]
    pub consumer: Consumer<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamConsumerOutput<'a> {
    #[serde(borrow)]
    pub consumer_description: Consumer<'a>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersOutput<'a> {
    #[serde(borrow, default)]
    pub consumers: Vec<Consumer<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

/// Which consumer `DescribeStreamConsumer` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerRef<'a> {
    Arn(&'a str),
    Name {
        stream_arn: &'a str,
        consumer_name: &'a str,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListStreamConsumersInput<'a> {
    pub stream_arn: &'a str,
    pub next_token: Option<&'a str>,
    /// 1..=10 000
    pub max_results: Option<u32>,
}

pub fn register_stream_consumer(stream_arn: &str, consumer_name: &str) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("StreamARN", stream_arn);
    w.str_field("ConsumerName", consumer_name);
    request("RegisterStreamConsumer", w)
}

pub fn parse_register_stream_consumer(
    body: &[u8],
) -> Result<RegisterStreamConsumerOutput<'_>, KinesisError> {
    parse("RegisterStreamConsumer", body, MAX_CONTROL_RESPONSE_BYTES)
}

pub fn describe_stream_consumer(consumer: ConsumerRef<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    match consumer {
        ConsumerRef::Arn(arn) => w.str_field("ConsumerARN", arn),
        ConsumerRef::Name {
            stream_arn,
            consumer_name,
        } => {
            w.str_field("StreamARN", stream_arn);
            w.str_field("ConsumerName", consumer_name);
        }
    }
    request("DescribeStreamConsumer", w)
}

pub fn parse_describe_stream_consumer(
    body: &[u8],
) -> Result<DescribeStreamConsumerOutput<'_>, KinesisError> {
    parse("DescribeStreamConsumer", body, MAX_CONTROL_RESPONSE_BYTES)
}

pub fn list_stream_consumers(input: &ListStreamConsumersInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("StreamARN", input.stream_arn);
    w.opt_str_field("NextToken", input.next_token);
    w.opt_u64_field("MaxResults", input.max_results.map(u64::from));
    request("ListStreamConsumers", w)
}

pub fn parse_list_stream_consumers(
    body: &[u8],
) -> Result<ListStreamConsumersOutput<'_>, KinesisError> {
    parse("ListStreamConsumers", body, MAX_CONTROL_RESPONSE_BYTES)
}

#[cfg(test)]
#[path = "kinesis/tests.rs"]
mod tests;
