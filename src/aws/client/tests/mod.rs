//! Simulation tests of `AwsClient` against `FakeAws` on a virtual clock: retries and their
//! instants (fixed seed), credential refresh, clock skew, streams, cancellation, failures.
//! Replies are fixtures: botocore-model samples, moto captures, AWS-shaped denials
//! (`fixtures/aws/ORIGIN.md`, `fixtures/aws/permissions/ORIGIN.md`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::fake::{Expect, FakeAws, Reply, Sim, fixture, ok_body, status};
use super::*;
use crate::aws::api::imds::ImdsBase;
use crate::aws::api::query::{self, FormBody};
use crate::aws::api::sts;
use crate::aws::credentials::assume_role::AssumeRoleConfig;
use crate::aws::credentials::{CredentialCache, Credentials, test_epoch};

macro_rules! fx {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $path))
    };
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The backoff jitter seed of every test: retry instants below are exact for it.
const SEED: u64 = 42;
/// Time the fake takes to answer.
const RTT: Duration = Duration::from_millis(40);

/// 2026-01-15T12:00:00Z, the capture clock of the samples.
fn noon() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_768_478_400)
}

fn static_client() -> (AwsClient, CacheId) {
    let mut set = CredentialSet::new();
    let creds = Credentials::new("AKIDEXAMPLE", SECRET, None, None);
    let id = set.add(
        CredentialCache::fixed("profile default", creds, "us-east-1", 1),
        None,
    );
    (AwsClient::new(set, EndpointOverrides::default(), SEED), id)
}

/// Static keys as the base of `arn:aws:iam::210987654321:role/FlowReader`.
fn role_client() -> (AwsClient, CacheId, CacheId) {
    let mut set = CredentialSet::new();
    let creds = Credentials::new("AKIDEXAMPLE", SECRET, None, None);
    let base = set.add(
        CredentialCache::fixed("profile default", creds, "us-east-1", 1),
        None,
    );
    let cfg = AssumeRoleConfig::new(
        "arn:aws:iam::210987654321:role/FlowReader",
        None,
        Duration::from_secs(3600),
        1,
        "us-east-1",
    )
    .expect("valid role");
    let role = set.add(CredentialCache::assume_role(cfg, 2), Some(base));
    (
        AwsClient::new(set, EndpointOverrides::default(), SEED),
        base,
        role,
    )
}

/// Static keys look their account up first.
fn expect_identity(fake: &mut FakeAws) {
    fake.expect(
        Expect::Op("sts", "GetCallerIdentity"),
        fixture(fx!("responses/moto_sts_GetCallerIdentity.response.txt")),
    );
}

fn json_request(service: Service, target: &str, op: &'static str, body: &str) -> ApiRequest {
    ApiRequest {
        service,
        operation: op,
        method: "POST",
        bucket: None,
        path: "/".to_string(),
        query: String::new(),
        headers: vec![
            ("x-amz-target", format!("{target}.{op}")),
            ("content-type", "application/x-amz-json-1.1".to_string()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn get_log_events() -> ApiRequest {
    json_request(
        Service::Logs,
        "Logs_20140328",
        "GetLogEvents",
        r#"{"logGroupName": "/vpc/flow-logs", "logStreamName": "eni-x", "startFromHead": true}"#,
    )
}

fn ec2(op: &'static str) -> ApiRequest {
    let mut f = FormBody::new(op, "2016-11-15");
    f.push_u64("MaxResults", 5);
    query::post(Service::Ec2, op, f.finish())
}

fn s3_get(query: &str) -> ApiRequest {
    ApiRequest {
        service: Service::S3,
        operation: if query.is_empty() {
            "GetObject"
        } else {
            "GetBucketNotificationConfiguration"
        },
        method: "GET",
        bucket: Some("my-flow-log-bucket".to_string()),
        path: if query.is_empty() {
            "/AWSLogs/123456789012/vpcflowlogs/x.log.gz".to_string()
        } else {
            "/".to_string()
        },
        query: query.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// Send instants of `label`, relative to `t0`.
fn send_times(sim: &Sim, label: &str, t0: Instant) -> Vec<Duration> {
    sim.fake.sent_as(label).iter().map(|s| s.at - t0).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Asserts the call's only outcome and returns it.
fn outcome(events: &[(Instant, AwsEvent)], call: CallId) -> &AwsEvent {
    let mine: Vec<&AwsEvent> = events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| match e {
            AwsEvent::Done { call: c, .. } | AwsEvent::Failed { call: c, .. } => *c == call,
            _ => false,
        })
        .collect();
    assert_eq!(mine.len(), 1, "exactly one outcome: {events:?}");
    mine[0]
}

fn body_of(fixture_text: &[u8]) -> Vec<u8> {
    match fixture(fixture_text) {
        Reply::Response(r) => r.body,
        _ => unreachable!("fixture() builds a response"),
    }
}

mod credentials;
mod lifecycle;
mod retries;
