//! CloudWatch metrics (JSON 1.0, target `GraniteServiceVersion20100801.<Op>`,
//! `x-amzn-query-mode: true`; spec D.0 — the service also speaks query and RPC-v2-CBOR, JSON
//! is what botocore 1.44 picks): `PutMetricData` for the agent's own metrics
//! (`[kinesis] metrics_level`), and `GetMetricData` so tests can read them back.
//!
//! `PutMetricData` answers an empty body on success (`{}`); nothing to parse.
//! `GetMetricData` pages with `NextToken` until it is absent.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use crate::aws::api::json::{
    BodyError, JsonWriter, de_epoch_ms_list, de_opt_cow, json_request, parse_body,
};
use crate::aws::request::{ApiRequest, Service};

const TARGET_PREFIX: &str = "GraniteServiceVersion20100801";

/// "Each request is also limited to no more than 1000 different metrics" (CloudWatch API
/// Reference, PutMetricData).
pub const MAX_METRIC_DATA_PER_CALL: usize = 1000;
/// "Each PutMetricData request is limited to 1 MB in size for HTTP POST requests" (same page).
pub const MAX_PUT_METRIC_DATA_BYTES: usize = 1 << 20;
/// "You can assign up to 30 dimensions to a metric" (CloudWatch User Guide, Dimensions).
pub const MAX_DIMENSIONS: usize = 30;
/// "A single GetMetricData call can include up to 500 MetricDataQuery structures" and returns
/// up to 100 800 data points (API Reference, GetMetricData).
pub const MAX_METRIC_DATA_QUERIES: usize = 500;
/// Cap on a `GetMetricData` body: 100 800 points of (timestamp, value) at ~40 bytes each.
pub const MAX_GET_METRIC_DATA_RESPONSE_BYTES: usize = 16 << 20;

/// Why a metrics request could not be built or a response not read.
#[derive(Debug)]
pub enum MonitoringError {
    /// More than [`MAX_METRIC_DATA_PER_CALL`] data, or none.
    TooManyMetrics { len: usize },
    /// More than [`MAX_DIMENSIONS`] dimensions on one datum.
    TooManyDimensions { metric: String, len: usize },
    /// NaN and infinities are refused by CloudWatch.
    NotFinite { metric: String },
    /// The JSON body would exceed [`MAX_PUT_METRIC_DATA_BYTES`].
    RequestTooLarge { len: usize },
    Body {
        operation: &'static str,
        source: BodyError,
    },
}

impl fmt::Display for MonitoringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MonitoringError::TooManyMetrics { len } => {
                write!(
                    f,
                    "cloudwatch PutMetricData: {len} data, a call takes 1 to {MAX_METRIC_DATA_PER_CALL}"
                )
            }
            MonitoringError::TooManyDimensions { metric, len } => {
                write!(
                    f,
                    "cloudwatch PutMetricData: metric {metric} has {len} dimensions, at most {MAX_DIMENSIONS}"
                )
            }
            MonitoringError::NotFinite { metric } => {
                write!(
                    f,
                    "cloudwatch PutMetricData: metric {metric} has a NaN or infinite value"
                )
            }
            MonitoringError::RequestTooLarge { len } => write!(
                f,
                "cloudwatch PutMetricData: body of {len} bytes exceeds the {MAX_PUT_METRIC_DATA_BYTES}-byte limit"
            ),
            MonitoringError::Body { operation, source } => {
                write!(f, "cloudwatch {operation} response: {source}")
            }
        }
    }
}

impl std::error::Error for MonitoringError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MonitoringError::Body { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn request(operation: &'static str, body: Vec<u8>) -> ApiRequest {
    json_request(
        Service::Monitoring,
        TARGET_PREFIX,
        operation,
        "1.0",
        true,
        body,
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dimension<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

/// One `MetricData` entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDatum<'a> {
    pub metric_name: &'a str,
    pub value: f64,
    /// `Count`, `Bytes`, `Seconds`, `Count/Second`, … (`StandardUnit`).
    pub unit: Option<&'a str>,
    pub dimensions: &'a [Dimension<'a>],
    /// Epoch ms; `None` = time of receipt.
    pub timestamp: Option<i64>,
    /// 1 for high resolution, 60 (default) for standard.
    pub storage_resolution: Option<u32>,
}

fn write_dimensions(w: &mut JsonWriter, dimensions: &[Dimension<'_>]) {
    if dimensions.is_empty() {
        return;
    }
    w.begin_array_field("Dimensions");
    for d in dimensions {
        w.begin_object_elem();
        w.str_field("Name", d.name);
        w.str_field("Value", d.value);
        w.end_object();
    }
    w.end_array();
}

/// `PutMetricData` with 1..=1000 data (split larger sets over several calls).
pub fn put_metric_data(
    namespace: &str,
    data: &[MetricDatum<'_>],
) -> Result<ApiRequest, MonitoringError> {
    if data.is_empty() || data.len() > MAX_METRIC_DATA_PER_CALL {
        return Err(MonitoringError::TooManyMetrics { len: data.len() });
    }
    let mut w = JsonWriter::new();
    w.str_field("Namespace", namespace);
    w.begin_array_field("MetricData");
    for d in data {
        if !d.value.is_finite() {
            return Err(MonitoringError::NotFinite {
                metric: d.metric_name.to_string(),
            });
        }
        if d.dimensions.len() > MAX_DIMENSIONS {
            return Err(MonitoringError::TooManyDimensions {
                metric: d.metric_name.to_string(),
                len: d.dimensions.len(),
            });
        }
        w.begin_object_elem();
        w.str_field("MetricName", d.metric_name);
        w.f64_field("Value", d.value);
        w.opt_str_field("Unit", d.unit);
        if let Some(t) = d.timestamp {
            w.epoch_ms_as_seconds_field("Timestamp", t);
        }
        write_dimensions(&mut w, d.dimensions);
        w.opt_u64_field("StorageResolution", d.storage_resolution.map(u64::from));
        w.end_object();
    }
    w.end_array();
    let body = w.finish();
    if body.len() > MAX_PUT_METRIC_DATA_BYTES {
        return Err(MonitoringError::RequestTooLarge { len: body.len() });
    }
    Ok(request("PutMetricData", body))
}

// ---------------------------------------------------------------- GetMetricData

/// One `MetricDataQuery` with a `MetricStat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricQuery<'a> {
    /// Lower-case first letter, unique in the call (`m0`).
    pub id: &'a str,
    pub namespace: &'a str,
    pub metric_name: &'a str,
    pub dimensions: &'a [Dimension<'a>],
    pub period_secs: u32,
    /// `Sum`, `Average`, `Maximum`, `SampleCount`, `p99`, …
    pub stat: &'a str,
    pub unit: Option<&'a str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetMetricDataInput<'a> {
    pub queries: &'a [MetricQuery<'a>],
    /// Epoch ms, inclusive.
    pub start_time: i64,
    /// Epoch ms, exclusive.
    pub end_time: i64,
    pub next_token: Option<&'a str>,
    pub max_datapoints: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataResult<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub label: Option<Cow<'a, str>>,
    /// Epoch ms, parallel to `values`.
    #[serde(default, deserialize_with = "de_epoch_ms_list")]
    pub timestamps: Vec<i64>,
    #[serde(default)]
    pub values: Vec<f64>,
    /// `Complete`, `PartialData` (more pages), `InternalError`, `Forbidden`.
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub status_code: Option<Cow<'a, str>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetMetricDataOutput<'a> {
    #[serde(borrow, default)]
    pub metric_data_results: Vec<MetricDataResult<'a>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    pub next_token: Option<Cow<'a, str>>,
}

pub fn get_metric_data(input: &GetMetricDataInput<'_>) -> ApiRequest {
    let mut w = JsonWriter::new();
    w.begin_array_field("MetricDataQueries");
    for q in input.queries {
        w.begin_object_elem();
        w.str_field("Id", q.id);
        w.begin_object_field("MetricStat");
        w.begin_object_field("Metric");
        w.str_field("Namespace", q.namespace);
        w.str_field("MetricName", q.metric_name);
        write_dimensions(&mut w, q.dimensions);
        w.end_object();
        w.u64_field("Period", u64::from(q.period_secs));
        w.str_field("Stat", q.stat);
        w.opt_str_field("Unit", q.unit);
        w.end_object();
        w.bool_field("ReturnData", true);
        w.end_object();
    }
    w.end_array();
    w.epoch_ms_as_seconds_field("StartTime", input.start_time);
    w.epoch_ms_as_seconds_field("EndTime", input.end_time);
    w.opt_str_field("NextToken", input.next_token);
    w.opt_u64_field("MaxDatapoints", input.max_datapoints.map(u64::from));
    request("GetMetricData", w.finish())
}

pub fn parse_get_metric_data(body: &[u8]) -> Result<GetMetricDataOutput<'_>, MonitoringError> {
    parse_body(body, MAX_GET_METRIC_DATA_RESPONSE_BYTES).map_err(|source| MonitoringError::Body {
        operation: "GetMetricData",
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::api::json::test_support::{
        assert_prefixes_fail, assert_same_request, botocore, botocore_datetime_ms, split_http,
    };

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
        };
    }

    const REGION: [Dimension<'static>; 1] = [Dimension {
        name: "Region",
        value: "us-east-1",
    }];

    fn datum(value: f64, timestamp: Option<i64>) -> MetricDatum<'static> {
        MetricDatum {
            metric_name: "RecordsExported",
            value,
            unit: Some("Count"),
            dimensions: &REGION,
            timestamp,
            storage_resolution: None,
        }
    }

    #[test]
    fn put_metric_data_matches_botocore() {
        assert_same_request(
            &put_metric_data("VpcFlowAgent", &[datum(123.0, None)]).unwrap(),
            fixture!("requests/cloudwatch_PutMetricData.request.txt"),
        );
        // The moto capture has timestamps; its order (Unit, Timestamp, Dimensions) is ours.
        let t = 1_795_713_780_000;
        assert_same_request(
            &put_metric_data(
                "VpcFlowAgent",
                &[datum(123.0, Some(t)), datum(7.5, Some(t + 1000))],
            )
            .unwrap(),
            fixture!("requests/moto_monitoring_PutMetricData.request.txt"),
        );
    }

    #[test]
    fn put_metric_data_enforces_the_limits() {
        let d = datum(1.0, None);
        assert!(matches!(
            put_metric_data("N", &[]),
            Err(MonitoringError::TooManyMetrics { len: 0 })
        ));
        assert!(put_metric_data("N", &vec![d; MAX_METRIC_DATA_PER_CALL]).is_ok());
        assert!(matches!(
            put_metric_data("N", &vec![d; MAX_METRIC_DATA_PER_CALL + 1]),
            Err(MonitoringError::TooManyMetrics { len: 1001 })
        ));
        assert!(matches!(
            put_metric_data("N", &[datum(f64::NAN, None)]),
            Err(MonitoringError::NotFinite { .. })
        ));
        let dims = [Dimension {
            name: "d",
            value: "v",
        }; MAX_DIMENSIONS + 1];
        let many = MetricDatum {
            dimensions: &dims,
            ..d
        };
        assert!(matches!(
            put_metric_data("N", &[many]),
            Err(MonitoringError::TooManyDimensions { len: 31, .. })
        ));
        let long_value = "v".repeat(1024);
        let big_dims: Vec<Dimension<'_>> = (0..MAX_DIMENSIONS)
            .map(|_| Dimension {
                name: "d",
                value: &long_value,
            })
            .collect();
        let big = MetricDatum {
            dimensions: &big_dims,
            ..d
        };
        assert!(matches!(
            put_metric_data("N", &[big; 40]),
            Err(MonitoringError::RequestTooLarge { .. })
        ));
    }

    #[test]
    fn get_metric_data_matches_botocore() {
        let captured = fixture!("requests/moto_monitoring_GetMetricData.request.txt");
        let sent: serde_json::Value = serde_json::from_slice(split_http(captured).2).unwrap();
        let start = sent["StartTime"].as_i64().unwrap() * 1000;
        let end = sent["EndTime"].as_i64().unwrap() * 1000;
        let req = get_metric_data(&GetMetricDataInput {
            queries: &[MetricQuery {
                id: "m0",
                namespace: "VpcFlowAgent",
                metric_name: "RecordsExported",
                dimensions: &REGION,
                period_secs: 60,
                stat: "Sum",
                unit: None,
            }],
            start_time: start,
            end_time: end,
            next_token: None,
            max_datapoints: None,
        });
        assert_same_request(&req, captured);

        let raw = fixture!("responses/moto_monitoring_GetMetricData.response.txt");
        let out = parse_get_metric_data(split_http(raw).2).unwrap();
        let want = botocore(fixture!(
            "responses/moto_monitoring_GetMetricData.parsed-by-botocore.json"
        ));
        let results = want["MetricDataResults"].as_array().unwrap();
        assert_eq!(out.metric_data_results.len(), results.len());
        for (g, w) in out.metric_data_results.iter().zip(results) {
            assert_eq!(g.id, w["Id"].as_str().unwrap());
            assert_eq!(g.label.as_deref(), w["Label"].as_str());
            assert_eq!(g.status_code.as_deref(), w["StatusCode"].as_str());
            let values: Vec<f64> = w["Values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(g.values, values);
            // The hand-built JSON request's response was parsed by json.loads: epoch seconds.
            let ts: Vec<i64> = w["Timestamps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    t.as_i64()
                        .map_or_else(|| botocore_datetime_ms(t.as_str().unwrap()), |s| s * 1000)
                })
                .collect();
            assert_eq!(g.timestamps, ts);
        }
        // 123.0 + 7.5 summed into one minute.
        assert_eq!(out.metric_data_results[0].values, vec![130.5]);
        assert_prefixes_fail(split_http(raw).2, |b| parse_get_metric_data(b).is_ok());
    }
}
