//! CloudWatch Logs (JSON 1.1, target `Logs_20140328.<Op>`, camelCase members): find the flow
//! log groups and streams, poll events, and see subscription filters.
//!
//! Timestamps are `long` epoch milliseconds in this API (not JSON `timestamp` shapes).
//! Paging (spec D.4):
//! - `GetLogEvents`: pass `nextForwardToken` back with `startFromHead=true`; when the returned
//!   `nextForwardToken` equals the token sent, the stream is caught up (pages may be empty
//!   mid-stream). Tokens are never null and expire after 24 h.
//! - `FilterLogEvents`: finished only when `nextToken` is absent; pages may be empty.
//! - `DescribeLogGroups` / `DescribeLogStreams` / `DescribeSubscriptionFilters`: `nextToken`
//!   until absent, at most 50 per page.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use crate::aws::api::json::{BodyError, JsonWriter, de_opt_cow, json_request, parse_body};
use crate::aws::request::{ApiRequest, Service};

const TARGET_PREFIX: &str = "Logs_20140328";

/// Most events one `GetLogEvents`/`FilterLogEvents` page holds: "The maximum number of log
/// events returned … up to 10,000 log events" (CloudWatch Logs API Reference, GetLogEvents
/// `limit`, FilterLogEvents `limit`).
pub const MAX_EVENTS_PER_PAGE: u32 = 10_000;
/// "the response can contain up to 1 MB of log events" (API Reference, GetLogEvents).
pub const MAX_EVENT_BYTES_PER_PAGE: usize = 1 << 20;
/// `limit` of DescribeLogGroups / DescribeLogStreams / DescribeSubscriptionFilters: "Valid
/// Range: Minimum value of 1. Maximum value of 50." (API Reference).
pub const MAX_DESCRIBE_LIMIT: u32 = 50;
/// Cap on an events page: 1 MB of messages plus per-event JSON overhead (timestamps, ids,
/// escaping) for 10 000 events stays under 8 MiB.
pub const MAX_EVENTS_RESPONSE_BYTES: usize = 8 << 20;
/// Cap on a describe page: 50 entries of well under 4 KiB each.
pub const MAX_DESCRIBE_RESPONSE_BYTES: usize = 4 << 20;

/// Which log group an operation reads: by name (this account) or identifier (name or ARN,
/// needed for cross-account groups). The API takes one, never both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogGroupRef<'a> {
    Name(&'a str),
    Identifier(&'a str),
}

impl LogGroupRef<'_> {
    fn write(&self, w: &mut JsonWriter) {
        match self {
            LogGroupRef::Name(n) => w.str_field("logGroupName", n),
            LogGroupRef::Identifier(i) => w.str_field("logGroupIdentifier", i),
        }
    }
}

/// Why a CloudWatch Logs response could not be read.
#[derive(Debug)]
pub enum LogsError {
    Body {
        operation: &'static str,
        source: BodyError,
    },
}

impl fmt::Display for LogsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogsError::Body { operation, source } => {
                write!(f, "logs {operation} response: {source}")
            }
        }
    }
}

impl std::error::Error for LogsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LogsError::Body { source, .. } => Some(source),
        }
    }
}

fn request(operation: &'static str, w: JsonWriter) -> ApiRequest {
    json_request(
        Service::Logs,
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
) -> Result<T, LogsError> {
    parse_body(body, max).map_err(|source| LogsError::Body { operation, source })
}

// ---------------------------------------------------------------- DescribeLogGroups

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DescribeLogGroupsInput<'a> {
    pub log_group_name_prefix: Option<&'a str>,
    /// Case-insensitive substring match; not together with the prefix.
    pub log_group_name_pattern: Option<&'a str>,
    /// 1..=50
    pub limit: Option<u32>,
    pub next_token: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroup<'a> {
    #[serde(borrow)]
    pub log_group_name: Cow<'a, str>,
    /// The ARN with a trailing `:*`.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub arn: Option<Cow<'a, str>>,
    /// The ARN without `:*` (what subscription filters and IAM use).
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub log_group_arn: Option<Cow<'a, str>>,
    #[serde(default)]
    pub creation_time: Option<i64>,
    #[serde(default)]
    pub retention_in_days: Option<u32>,
    #[serde(default)]
    pub stored_bytes: Option<u64>,
    /// `STANDARD`, `INFREQUENT_ACCESS`, `DELIVERY`.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub log_group_class: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogGroupsOutput<'a> {
    #[serde(borrow, default)]
    pub log_groups: Vec<LogGroup<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

pub fn describe_log_groups(input: &DescribeLogGroupsInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.opt_str_field("logGroupNamePrefix", input.log_group_name_prefix);
    w.opt_str_field("logGroupNamePattern", input.log_group_name_pattern);
    w.opt_u64_field("limit", input.limit.map(u64::from));
    w.opt_str_field("nextToken", input.next_token);
    request("DescribeLogGroups", w)
}

pub fn parse_describe_log_groups(body: &[u8]) -> Result<DescribeLogGroupsOutput<'_>, LogsError> {
    parse("DescribeLogGroups", body, MAX_DESCRIBE_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- DescribeLogStreams

/// `orderBy`
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogStreamOrder {
    LogStreamName,
    /// Cannot be combined with a name prefix; `lastEventTimestamp` lags up to an hour.
    LastEventTime,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescribeLogStreamsInput<'a> {
    pub log_group: LogGroupRef<'a>,
    pub log_stream_name_prefix: Option<&'a str>,
    pub order_by: Option<LogStreamOrder>,
    pub descending: Option<bool>,
    /// 1..=50
    pub limit: Option<u32>,
    pub next_token: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStream<'a> {
    #[serde(borrow)]
    pub log_stream_name: Cow<'a, str>,
    #[serde(default)]
    pub creation_time: Option<i64>,
    #[serde(default)]
    pub first_event_timestamp: Option<i64>,
    /// Eventually consistent (usually < 1 h): not a freshness signal.
    #[serde(default)]
    pub last_event_timestamp: Option<i64>,
    #[serde(default)]
    pub last_ingestion_time: Option<i64>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub arn: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeLogStreamsOutput<'a> {
    #[serde(borrow, default)]
    pub log_streams: Vec<LogStream<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

pub fn describe_log_streams(input: &DescribeLogStreamsInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    input.log_group.write(&mut w);
    w.opt_str_field("logStreamNamePrefix", input.log_stream_name_prefix);
    if let Some(order) = input.order_by {
        let v = match order {
            LogStreamOrder::LogStreamName => "LogStreamName",
            LogStreamOrder::LastEventTime => "LastEventTime",
        };
        w.str_field("orderBy", v);
    }
    w.opt_bool_field("descending", input.descending);
    w.opt_u64_field("limit", input.limit.map(u64::from));
    w.opt_str_field("nextToken", input.next_token);
    request("DescribeLogStreams", w)
}

pub fn parse_describe_log_streams(body: &[u8]) -> Result<DescribeLogStreamsOutput<'_>, LogsError> {
    parse("DescribeLogStreams", body, MAX_DESCRIBE_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- GetLogEvents

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetLogEventsInput<'a> {
    pub log_group: LogGroupRef<'a>,
    pub log_stream_name: &'a str,
    /// Epoch ms, inclusive.
    pub start_time: Option<i64>,
    /// Epoch ms, exclusive.
    pub end_time: Option<i64>,
    /// Must be `Some(true)` when `next_token` is a forward token.
    pub start_from_head: Option<bool>,
    /// 1..=10 000
    pub limit: Option<u32>,
    pub next_token: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputLogEvent<'a> {
    #[serde(default)]
    pub timestamp: i64,
    /// One flow-log record per event.
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    #[serde(default)]
    pub ingestion_time: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEventsOutput<'a> {
    #[serde(borrow, default)]
    pub events: Vec<OutputLogEvent<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_forward_token: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_backward_token: Option<Cow<'a, str>>,
}

impl GetLogEventsOutput<'_> {
    /// The stream is read to its end when the forward token comes back unchanged.
    pub fn is_caught_up(&self, sent_token: Option<&str>) -> bool {
        sent_token.is_some() && self.next_forward_token.as_deref() == sent_token
    }
}

pub fn get_log_events(input: &GetLogEventsInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    input.log_group.write(&mut w);
    w.str_field("logStreamName", input.log_stream_name);
    w.opt_i64_field("startTime", input.start_time);
    w.opt_i64_field("endTime", input.end_time);
    w.opt_bool_field("startFromHead", input.start_from_head);
    w.opt_u64_field("limit", input.limit.map(u64::from));
    w.opt_str_field("nextToken", input.next_token);
    request("GetLogEvents", w)
}

pub fn parse_get_log_events(body: &[u8]) -> Result<GetLogEventsOutput<'_>, LogsError> {
    parse("GetLogEvents", body, MAX_EVENTS_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- FilterLogEvents

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterLogEventsInput<'a> {
    pub log_group: LogGroupRef<'a>,
    pub log_stream_names: &'a [&'a str],
    pub log_stream_name_prefix: Option<&'a str>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub filter_pattern: Option<&'a str>,
    pub start_from_head: Option<bool>,
    pub limit: Option<u32>,
    pub next_token: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilteredLogEvent<'a> {
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub log_stream_name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    #[serde(default)]
    pub ingestion_time: Option<i64>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub event_id: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLogEventsOutput<'a> {
    #[serde(borrow, default)]
    pub events: Vec<FilteredLogEvent<'a>>,
    /// Absent when the search is complete.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

pub fn filter_log_events(input: &FilterLogEventsInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    input.log_group.write(&mut w);
    w.str_array_field("logStreamNames", input.log_stream_names);
    w.opt_str_field("logStreamNamePrefix", input.log_stream_name_prefix);
    w.opt_i64_field("startTime", input.start_time);
    w.opt_i64_field("endTime", input.end_time);
    w.opt_str_field("filterPattern", input.filter_pattern);
    w.opt_bool_field("startFromHead", input.start_from_head);
    w.opt_u64_field("limit", input.limit.map(u64::from));
    w.opt_str_field("nextToken", input.next_token);
    request("FilterLogEvents", w)
}

pub fn parse_filter_log_events(body: &[u8]) -> Result<FilterLogEventsOutput<'_>, LogsError> {
    parse("FilterLogEvents", body, MAX_EVENTS_RESPONSE_BYTES)
}

// ---------------------------------------------------------------- DescribeSubscriptionFilters

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescribeSubscriptionFiltersInput<'a> {
    pub log_group_name: &'a str,
    pub filter_name_prefix: Option<&'a str>,
    pub limit: Option<u32>,
    pub next_token: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter<'a> {
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub filter_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub log_group_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub filter_pattern: Option<Cow<'a, str>>,
    /// The Kinesis stream (or Firehose, Lambda, destination) ARN.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub destination_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub role_arn: Option<Cow<'a, str>>,
    /// `ByLogStream` or `Random`.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub distribution: Option<Cow<'a, str>>,
    #[serde(default)]
    pub creation_time: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSubscriptionFiltersOutput<'a> {
    #[serde(borrow, default)]
    pub subscription_filters: Vec<SubscriptionFilter<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

pub fn describe_subscription_filters(input: &DescribeSubscriptionFiltersInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.str_field("logGroupName", input.log_group_name);
    w.opt_str_field("filterNamePrefix", input.filter_name_prefix);
    w.opt_u64_field("limit", input.limit.map(u64::from));
    w.opt_str_field("nextToken", input.next_token);
    request("DescribeSubscriptionFilters", w)
}

pub fn parse_describe_subscription_filters(
    body: &[u8],
) -> Result<DescribeSubscriptionFiltersOutput<'_>, LogsError> {
    parse(
        "DescribeSubscriptionFilters",
        body,
        MAX_DESCRIBE_RESPONSE_BYTES,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore, split_http,
    };
    use serde_json::Value;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
        };
    }

    fn body(raw: &[u8]) -> &[u8] {
        split_http(raw).2
    }

    #[test]
    fn requests_match_botocore() {
        let group = LogGroupRef::Name("/vpc/flow-logs");
        assert_same_request(
            &get_log_events(&GetLogEventsInput {
                log_group: group,
                log_stream_name: "eni-0123456789abcdef0-all",
                start_time: None,
                end_time: None,
                start_from_head: Some(true),
                limit: Some(10_000),
                next_token: Some("f/39412345678901234567890123456789012345678901234567890/s"),
            }),
            fixture!("requests/logs_GetLogEvents.request.txt"),
        );
        assert_same_request(
            &filter_log_events(&FilterLogEventsInput {
                log_group: group,
                log_stream_names: &[],
                log_stream_name_prefix: Some("eni-"),
                start_time: Some(1_768_478_000_000),
                end_time: Some(1_768_478_400_000),
                filter_pattern: None,
                start_from_head: None,
                limit: Some(10_000),
                next_token: None,
            }),
            fixture!("requests/logs_FilterLogEvents.request.txt"),
        );
        assert_same_request(
            &describe_log_streams(&DescribeLogStreamsInput {
                log_group: group,
                log_stream_name_prefix: None,
                order_by: Some(LogStreamOrder::LastEventTime),
                descending: Some(true),
                limit: Some(50),
                next_token: None,
            }),
            fixture!("requests/logs_DescribeLogStreams.request.txt"),
        );
        assert_same_request(
            &describe_subscription_filters(&DescribeSubscriptionFiltersInput {
                log_group_name: "/vpc/flow-logs",
                filter_name_prefix: None,
                limit: None,
                next_token: None,
            }),
            fixture!("requests/logs_DescribeSubscriptionFilters.request.txt"),
        );
        assert_same_request(
            &describe_log_groups(&DescribeLogGroupsInput {
                log_group_name_prefix: Some("/vpc/"),
                limit: Some(50),
                ..Default::default()
            }),
            fixture!("requests/moto_logs_DescribeLogGroups.request.txt"),
        );
    }

    fn opt(v: &Value) -> Option<&str> {
        v.as_str()
    }

    #[test]
    fn get_log_events_matches_botocore() {
        for (raw, parsed, sent) in [
            (
                &fixture!("responses/logs_GetLogEvents.response.txt")[..],
                &fixture!("responses/logs_GetLogEvents.parsed-by-botocore.json")[..],
                "f/39412345678901234567890123456789012345678901234567890/s",
            ),
            (
                fixture!("responses/moto_logs_GetLogEvents.response.txt"),
                fixture!("responses/moto_logs_GetLogEvents.parsed-by-botocore.json"),
                "f/00000000000000000000000000000000000000000000000000000001",
            ),
        ] {
            let out = parse_get_log_events(body(raw)).unwrap();
            let want = botocore(parsed);
            assert_eq!(
                out.next_forward_token.as_deref(),
                opt(&want["nextForwardToken"])
            );
            assert_eq!(
                out.next_backward_token.as_deref(),
                opt(&want["nextBackwardToken"])
            );
            let events = want["events"].as_array().unwrap();
            assert_eq!(out.events.len(), events.len());
            for (g, w) in out.events.iter().zip(events) {
                assert_eq!(Some(g.timestamp), w["timestamp"].as_i64());
                assert_eq!(g.message, w["message"].as_str().unwrap());
                assert_eq!(g.ingestion_time, w["ingestionTime"].as_i64());
            }
            // Nothing in these bodies is escaped: every string borrows from the body.
            assert!(matches!(out.next_forward_token, Some(Cow::Borrowed(_))));
            assert!(
                out.events
                    .iter()
                    .all(|e| matches!(e.message, Cow::Borrowed(_)))
            );
            // The moto page was read to the end: its forward token is the one sent next time.
            let caught_up = out.next_forward_token.as_deref() == Some(sent);
            assert_eq!(out.is_caught_up(Some(sent)), caught_up);
            assert_prefixes_fail(body(raw), |b| parse_get_log_events(b).is_ok());
        }
    }

    #[test]
    fn filter_log_events_matches_botocore() {
        let raw = fixture!("responses/logs_FilterLogEvents.response.txt");
        let out = parse_filter_log_events(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/logs_FilterLogEvents.parsed-by-botocore.json"
        ));
        assert_eq!(out.next_token.as_deref(), opt(&want["nextToken"]));
        let events = want["events"].as_array().unwrap();
        assert_eq!(out.events.len(), events.len());
        for (g, w) in out.events.iter().zip(events) {
            assert_eq!(g.log_stream_name.as_deref(), opt(&w["logStreamName"]));
            assert_eq!(Some(g.timestamp), w["timestamp"].as_i64());
            assert_eq!(g.message, w["message"].as_str().unwrap());
            assert_eq!(g.event_id.as_deref(), opt(&w["eventId"]));
        }
        assert_prefixes_fail(body(raw), |b| parse_filter_log_events(b).is_ok());
    }

    #[test]
    fn describe_log_streams_matches_botocore() {
        let raw = fixture!("responses/logs_DescribeLogStreams.response.txt");
        let out = parse_describe_log_streams(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/logs_DescribeLogStreams.parsed-by-botocore.json"
        ));
        assert_eq!(out.next_token.as_deref(), opt(&want["nextToken"]));
        let streams = want["logStreams"].as_array().unwrap();
        assert_eq!(out.log_streams.len(), streams.len());
        for (g, w) in out.log_streams.iter().zip(streams) {
            assert_eq!(g.log_stream_name, w["logStreamName"].as_str().unwrap());
            assert_eq!(g.creation_time, w["creationTime"].as_i64());
            assert_eq!(g.first_event_timestamp, w["firstEventTimestamp"].as_i64());
            assert_eq!(g.last_event_timestamp, w["lastEventTimestamp"].as_i64());
            assert_eq!(g.last_ingestion_time, w["lastIngestionTime"].as_i64());
            assert_eq!(g.arn.as_deref(), opt(&w["arn"]));
        }
        assert_prefixes_fail(body(raw), |b| parse_describe_log_streams(b).is_ok());
    }

    #[test]
    fn describe_log_groups_matches_botocore() {
        let raw = fixture!("responses/moto_logs_DescribeLogGroups.response.txt");
        let out = parse_describe_log_groups(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/moto_logs_DescribeLogGroups.parsed-by-botocore.json"
        ));
        assert_eq!(out.next_token.as_deref(), opt(&want["nextToken"]));
        let groups = want["logGroups"].as_array().unwrap();
        assert_eq!(out.log_groups.len(), groups.len());
        for (g, w) in out.log_groups.iter().zip(groups) {
            assert_eq!(g.log_group_name, w["logGroupName"].as_str().unwrap());
            assert_eq!(g.arn.as_deref(), opt(&w["arn"]));
            assert_eq!(g.log_group_arn.as_deref(), opt(&w["logGroupArn"]));
            assert_eq!(g.creation_time, w["creationTime"].as_i64());
            assert_eq!(g.stored_bytes, w["storedBytes"].as_u64());
            assert_eq!(
                g.retention_in_days.map(u64::from),
                w["retentionInDays"].as_u64()
            );
        }
        assert_prefixes_fail(body(raw), |b| parse_describe_log_groups(b).is_ok());
    }

    #[test]
    fn describe_subscription_filters_matches_botocore() {
        let raw = fixture!("responses/logs_DescribeSubscriptionFilters.response.txt");
        let out = parse_describe_subscription_filters(body(raw)).unwrap();
        let want = botocore(fixture!(
            "responses/logs_DescribeSubscriptionFilters.parsed-by-botocore.json"
        ));
        let filters = want["subscriptionFilters"].as_array().unwrap();
        assert_eq!(out.subscription_filters.len(), filters.len());
        for (g, w) in out.subscription_filters.iter().zip(filters) {
            assert_eq!(g.filter_name.as_deref(), opt(&w["filterName"]));
            assert_eq!(g.log_group_name.as_deref(), opt(&w["logGroupName"]));
            assert_eq!(g.filter_pattern.as_deref(), opt(&w["filterPattern"]));
            assert_eq!(g.destination_arn.as_deref(), opt(&w["destinationArn"]));
            assert_eq!(g.role_arn.as_deref(), opt(&w["roleArn"]));
            assert_eq!(g.distribution.as_deref(), opt(&w["distribution"]));
            assert_eq!(g.creation_time, w["creationTime"].as_i64());
        }
        assert_prefixes_fail(body(raw), |b| {
            parse_describe_subscription_filters(b).is_ok()
        });
    }

    #[test]
    fn identifier_replaces_the_group_name() {
        let req = get_log_events(&GetLogEventsInput {
            log_group: LogGroupRef::Identifier(
                "arn:aws:logs:us-east-1:210987654321:log-group:/vpc/x",
            ),
            log_stream_name: "eni-1",
            start_time: Some(1),
            end_time: Some(2),
            start_from_head: None,
            limit: None,
            next_token: None,
        });
        assert_eq!(
            std::str::from_utf8(&req.body).unwrap(),
            r#"{"logGroupIdentifier": "arn:aws:logs:us-east-1:210987654321:log-group:/vpc/x", "logStreamName": "eni-1", "startTime": 1, "endTime": 2}"#
        );
        assert_eq!(
            req.headers[0],
            ("x-amz-target", "Logs_20140328.GetLogEvents".to_string())
        );
    }

    #[test]
    fn oversized_and_wrong_shapes_are_typed_errors() {
        let big = vec![b' '; MAX_EVENTS_RESPONSE_BYTES + 1];
        let err = parse_get_log_events(&big).unwrap_err();
        assert!(matches!(
            err,
            LogsError::Body {
                operation: "GetLogEvents",
                source: BodyError::TooLarge { .. }
            }
        ));
        assert!(parse_get_log_events(br#"{"events": [{"message": 5}]}"#).is_err());
    }
}
