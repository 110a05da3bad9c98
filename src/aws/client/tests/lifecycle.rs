//! A call's life outside retries: streams, cancellation, calls that cannot be made, and the
//! fake's own checks (unexpected and unused expectations).

use super::*;

/// A stream that breaks after its head is the owner's to resume: no retry.
#[test]
fn broken_stream_is_not_retried() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let Reply::Response(head) = fixture(fx!("responses/s3_GetObject.response.txt")) else {
        unreachable!()
    };
    fake.expect_after(
        Expect::Http("GET", "/AWSLogs/123456789012/vpcflowlogs/x.log.gz"),
        Reply::HeadThenFail(head, TransportFailure::Closed),
        RTT,
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    let call = sim.submit(account, "us-east-1", s3_get(""), CallOptions::streamed());
    sim.settle();
    let events = sim.take_events();
    assert!(
        events
            .iter()
            .any(|(_, e)| matches!(e, AwsEvent::StreamStart { call: c, .. } if *c == call))
    );
    let AwsEvent::Failed { error, .. } = outcome(&events, call) else {
        panic!("expected failure")
    };
    assert!(
        matches!(
            error,
            AwsCallError::StreamBroken {
                failure: TransportFailure::Closed,
                ..
            }
        ),
        "{error:?}"
    );
    sim.finish();
}

/// Canceling a call in flight hands its attempt to the driver to abort; nothing is reported.
#[test]
fn cancel_aborts_the_attempt_and_silences_the_call() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    fake.expect_after(
        Expect::Op("logs", "GetLogEvents"),
        fixture(fx!("responses/logs_GetLogEvents.response.txt")),
        ms(500),
    )
    .expect_after(
        Expect::Op("logs", "GetLogEvents"),
        fixture(fx!("responses/logs_error_ThrottlingException.response.txt")),
        RTT,
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    let first = sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::default(),
    );
    let attempt = sim.fake.sent_as("logs:GetLogEvents")[0].out.attempt;
    assert_eq!(sim.client.call_of(attempt), Some(first));
    sim.cancel(first);
    assert_eq!(sim.canceled, [attempt]);
    assert_eq!(sim.client.call_of(attempt), None);
    // A call canceled while it backs off never goes out again.
    let second = sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::default(),
    );
    sim.run_until(sim.now + RTT);
    assert!(sim.client.poll_timeout().is_some(), "backing off");
    sim.cancel(second);
    sim.run_until(sim.now + Duration::from_secs(30));
    let events = sim.take_events();
    assert!(
        events
            .iter()
            .all(|(_, e)| matches!(e, AwsEvent::AccountKnown { .. })),
        "{events:?}"
    );
    assert_eq!(sim.client.pending_calls(), 0);
    sim.finish();
}

/// A body over its cap is final (the same body would come back), and so are requests that
/// cannot be addressed.
#[test]
fn oversized_bodies_and_bad_regions_fail_at_once() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    fake.expect(
        Expect::Op("logs", "GetLogEvents"),
        Reply::Transport(TransportFailure::TooLarge),
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    let big = sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::buffered(16),
    );
    let bad = sim.submit(account, "US East", get_log_events(), CallOptions::default());
    let nobody = sim.submit(
        CacheId(7),
        "us-east-1",
        get_log_events(),
        CallOptions::default(),
    );
    sim.settle();
    let events = sim.take_events();
    assert!(matches!(
        outcome(&events, big),
        AwsEvent::Failed {
            error: AwsCallError::Transport {
                failure: TransportFailure::TooLarge,
                ..
            },
            ..
        }
    ));
    assert!(matches!(
        outcome(&events, bad),
        AwsEvent::Failed {
            error: AwsCallError::Unroutable { .. },
            ..
        }
    ));
    assert!(matches!(
        outcome(&events, nobody),
        AwsEvent::Failed {
            error: AwsCallError::Credentials { .. },
            ..
        }
    ));
    sim.finish();
}

#[test]
#[should_panic(expected = "unexpected request logs:GetLogEvents")]
fn unexpected_request_fails_the_test() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    fake.expect(
        Expect::Op("ec2", "DescribeRegions"),
        fixture(fx!("responses/ec2_DescribeRegions.response.txt")),
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    sim.submit(
        account,
        "us-east-1",
        get_log_events(),
        CallOptions::default(),
    );
}

#[test]
#[should_panic(expected = "unused expectation")]
fn unused_expectation_fails_the_test() {
    let (client, _account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    fake.expect(
        Expect::Op("ec2", "DescribeRegions"),
        fixture(fx!("responses/ec2_DescribeRegions.response.txt")),
    );
    let sim = Sim::new(client, fake, test_epoch(), noon());
    sim.finish();
}
