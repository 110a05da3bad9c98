//! Retries: throttling, server errors and resets at exact backoff instants (seed 42), the
//! attempt limit, fatal errors, endless throttling retries for pollers.

use super::*;

/// CloudWatch Logs ThrottlingException twice, then success: retried after full-jitter
/// backoffs drawn from [0, 1 s) and [0, 2 s).
#[test]
fn throttling_exception_is_retried_with_backoff() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let throttled = fx!("responses/logs_error_ThrottlingException.response.txt");
    let page = fx!("responses/logs_GetLogEvents.response.txt");
    fake.expect_after(Expect::Op("logs", "GetLogEvents"), fixture(throttled), RTT)
        .expect_after(Expect::Op("logs", "GetLogEvents"), fixture(throttled), RTT)
        .expect_after(Expect::Op("logs", "GetLogEvents"), fixture(page), RTT);
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::default(),
    );
    sim.settle();
    let (d1, d2) = (
        Duration::from_nanos(D_LOGS.0),
        Duration::from_nanos(D_LOGS.1),
    );
    assert!(d1 < Duration::from_secs(1) && d2 < Duration::from_secs(2));
    assert_eq!(
        send_times(&sim, "logs:GetLogEvents", t0),
        [Duration::ZERO, RTT + d1, RTT + d1 + RTT + d2]
    );
    let events = sim.take_events();
    let AwsEvent::Done { response, .. } = outcome(&events, call) else {
        panic!("expected success: {events:?}")
    };
    assert_eq!((response.status, &response.body), (200, &body_of(page)));
    sim.finish();
}
const D_LOGS: (u64, u64) = (339_085_264, 1_564_511_695);

/// EC2 RequestLimitExceeded (HTTP 503) is throttling too.
#[test]
fn request_limit_exceeded_is_retried_with_backoff() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let limited = fx!("responses/ec2_error_RequestLimitExceeded.response.txt");
    let page = fx!("responses/ec2_DescribeInstances.response.txt");
    fake.expect_after(
        Expect::Op("ec2", "DescribeInstances"),
        fixture(limited),
        RTT,
    )
    .expect_after(Expect::Op("ec2", "DescribeInstances"), fixture(page), RTT);
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(
        account,
        "us-east-1",
        ec2("DescribeInstances"),
        CallOptions::default(),
    );
    sim.settle();
    let d1 = Duration::from_nanos(D_EC2);
    assert!(d1 < Duration::from_secs(1));
    assert_eq!(
        send_times(&sim, "ec2:DescribeInstances", t0),
        [Duration::ZERO, RTT + d1]
    );
    let events = sim.take_events();
    assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    sim.finish();
}
const D_EC2: u64 = 339_085_264;

/// S3 SlowDown on a streamed GetObject: the error body is collected, the call retried, and
/// the successful body streamed to the owner.
#[test]
fn slow_down_on_a_streamed_object_is_retried_before_the_stream() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let slow = fx!("responses/s3_error_SlowDown.response.txt");
    let object = fx!("responses/s3_GetObject.response.txt");
    fake.expect_after(
        Expect::Http("GET", "/AWSLogs/123456789012/vpcflowlogs/x.log.gz"),
        fixture(slow),
        RTT,
    )
    .expect_after(
        Expect::Http("GET", "/AWSLogs/123456789012/vpcflowlogs/x.log.gz"),
        fixture(object),
        RTT,
    );
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(account, "us-east-1", s3_get(""), CallOptions::streamed());
    sim.settle();
    let sent = sim
        .fake
        .sent_as("GET /AWSLogs/123456789012/vpcflowlogs/x.log.gz");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].out.endpoint,
        HttpTarget {
            scheme: Scheme::Https,
            host: "my-flow-log-bucket.s3.us-east-1.amazonaws.com".to_string(),
            port: 443
        }
    );
    assert_eq!(sent[0].out.body_mode, BodyMode::Streamed);
    let d1 = Duration::from_nanos(D_S3);
    assert!(d1 < Duration::from_secs(1));
    assert_eq!(sent[1].at - t0, RTT + d1);
    let events = sim.take_events();
    let starts: Vec<_> = events
        .iter()
        .filter_map(|(_, e)| match e {
            AwsEvent::StreamStart {
                call: c, status, ..
            } => Some((*c, *status)),
            _ => None,
        })
        .collect();
    // The sample answers a ranged GET: 206 Partial Content.
    assert_eq!(starts, [(call, 206)], "one stream start, for the 2xx only");
    let AwsEvent::Done { response, .. } = outcome(&events, call) else {
        panic!("expected success")
    };
    assert!(response.body.is_empty(), "the body went to the owner");
    assert_eq!(sim.streamed, [(call, body_of(object))]);
    sim.finish();
}
const D_S3: u64 = 339_085_264;

/// 500 (moto's HTML error page), a bodiless 503, a connection reset and a timeout, then
/// success: each retried after a full-jitter backoff from a window doubling from 1 s.
#[test]
fn server_errors_and_resets_are_retried() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let op = Expect::Op("logs", "GetLogEvents");
    fake.expect_after(
        op,
        fixture(fx!(
            "permissions/moto_kinesis_GetRecords_allowed.response.txt"
        )),
        RTT,
    )
    .expect_after(op, status(503), RTT)
    .expect_after(op, Reply::Transport(TransportFailure::Closed), RTT)
    .expect_after(op, Reply::Transport(TransportFailure::Timeout), ms(2000))
    .expect_after(
        op,
        fixture(fx!("responses/logs_GetLogEvents.response.txt")),
        RTT,
    );
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::default().with_max_attempts(5),
    );
    sim.settle();
    let times = send_times(&sim, "logs:GetLogEvents", t0);
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let replies = [RTT, RTT, RTT, ms(2000)];
    let delays: Vec<u64> = gaps
        .iter()
        .zip(replies)
        .map(|(g, r)| (*g - r).as_nanos() as u64)
        .collect();
    assert_eq!(delays, D_SERVER);
    for (n, d) in delays.iter().enumerate() {
        assert!(*d < (1u64 << n) * 1_000_000_000, "window of retry {n}");
    }
    let events = sim.take_events();
    assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    sim.finish();
}
const D_SERVER: [u64; 4] = [339_085_264, 1_564_511_695, 3_160_548_181, 7_552_341_079];

/// Three 500s with the default three attempts: the call fails with the last error.
#[test]
fn attempts_exhausted_fail_with_the_last_error() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let op = Expect::Op("logs", "GetLogEvents");
    let err = fx!("permissions/moto_kinesis_GetRecords_allowed.response.txt");
    fake.expect_after(op, fixture(err), RTT)
        .expect_after(op, fixture(err), RTT)
        .expect_after(op, fixture(err), RTT);
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    let call = sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::default(),
    );
    sim.settle();
    let events = sim.take_events();
    let AwsEvent::Failed { error, .. } = outcome(&events, call) else {
        panic!("expected failure")
    };
    let AwsCallError::Exhausted {
        attempts,
        quota_empty,
        last: LastFailure::Aws(e),
        ..
    } = error
    else {
        panic!("expected exhaustion: {error:?}")
    };
    assert_eq!((*attempts, *quota_empty, e.status), (3, false, 500));
    let shown = error.to_string();
    assert!(
        shown.starts_with("logs:GetLogEvents: failed after 3 attempts, last: HTTP 500"),
        "{shown}"
    );
    assert!(!shown.contains('\n'));
    sim.finish();
}

/// Access denied is final at once, and the error names the IAM action to grant.
#[test]
fn access_denied_fails_at_once_naming_the_action() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    fake.expect(
        Expect::Op("ec2", "DescribeFlowLogs"),
        fixture(fx!(
            "permissions/aws_ec2_error_UnauthorizedOperation.response.txt"
        )),
    )
    .expect(
        Expect::Http("GET", "/"),
        fixture(fx!("permissions/aws_s3_error_AccessDenied.response.txt")),
    )
    .expect(
        Expect::Op("logs", "GetLogEvents"),
        fixture(fx!(
            "permissions/moto_logs_GetLogEvents_denied.response.txt"
        )),
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    let calls = [
        sim.submit(
            account,
            "us-east-1",
            ec2("DescribeFlowLogs"),
            CallOptions::default(),
        ),
        sim.submit(
            account,
            "us-east-1",
            s3_get("notification"),
            CallOptions::default(),
        ),
        sim.submit(
            account,
            "us-east-1",
            get_log_events(),
            CallOptions::default(),
        ),
    ];
    sim.settle();
    let events = sim.take_events();
    let want = [
        "ec2:DescribeFlowLogs",
        "s3:GetBucketNotification",
        "logs:GetLogEvents",
    ];
    for (call, action) in calls.into_iter().zip(want) {
        let AwsEvent::Failed { error, .. } = outcome(&events, call) else {
            panic!("expected failure")
        };
        assert!(error.is_access_denied(), "{error:?}");
        assert_eq!(error.action().to_string(), action);
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("{action}: access denied (HTTP 403 "))
                && shown.ends_with(&format!("the IAM policy must allow {action}")),
            "{shown}"
        );
    }
    assert_eq!(sim.fake.sent.len(), 4, "no retries");
    sim.finish();
}

/// Pollers retry throttling without limit; the window grows to the 20 s cap.
#[test]
fn pollers_retry_throttling_forever() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let op = Expect::Op("kinesis", "GetRecords");
    let throttled = fx!("responses/kinesis_error_ProvisionedThroughputExceeded.response.txt");
    for _ in 0..8 {
        fake.expect_after(op, fixture(throttled), RTT);
    }
    fake.expect_after(
        op,
        fixture(fx!("responses/kinesis_GetRecords.response.txt")),
        RTT,
    );
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let request = json_request(
        Service::Kinesis,
        "Kinesis_20131202",
        "GetRecords",
        r#"{"ShardIterator": "AAAA", "Limit": 10000}"#,
    );
    let call = sim.submit(
        account,
        "us-east-1",
        request,
        CallOptions::default()
            .with_max_attempts(2)
            .retrying_throttling_forever(),
    );
    sim.settle();
    let times = send_times(&sim, "kinesis:GetRecords", t0);
    assert_eq!(times.len(), 9);
    for (n, w) in times.windows(2).enumerate() {
        let backoff = w[1] - w[0] - RTT;
        let window = Duration::from_secs(1u64 << n.min(5)).min(Duration::from_secs(20));
        assert!(backoff < window, "retry {n}: {backoff:?} ≥ {window:?}");
    }
    let events = sim.take_events();
    assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    sim.finish();
}
