//! Credentials and time: refresh on ExpiredToken and before expiry, refused roles, account
//! ids, the instance role through IMDS, clock-skew correction.

use super::*;

/// STS says ExpiredToken: the role's credentials are refreshed (AssumeRole again) and the
/// call is re-signed with the new ones and succeeds.
#[test]
fn expired_token_refreshes_credentials_then_succeeds() {
    let (client, _base, role) = role_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let assumed = fx!("responses/sts_AssumeRole.response.txt");
    fake.expect(Expect::Op("sts", "AssumeRole"), fixture(assumed))
        .expect_after(
            Expect::Op("sts", "GetCallerIdentity"),
            fixture(fx!("responses/sts_error_ExpiredToken.response.txt")),
            RTT,
        )
        .expect_after(
            Expect::Op("sts", "AssumeRole"),
            fixture(fx!("responses/moto_sts_AssumeRole.response.txt")),
            RTT,
        )
        .expect_after(
            Expect::Op("sts", "GetCallerIdentity"),
            fixture(fx!("responses/moto_sts_GetCallerIdentity.response.txt")),
            RTT,
        );
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(
        role,
        "us-east-1",
        sts::get_caller_identity(),
        CallOptions::default(),
    );
    sim.settle();
    let events = sim.take_events();
    assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    let sent = &sim.fake.sent;
    let keys: Vec<(&str, Option<&str>)> = sent
        .iter()
        .map(|s| (s.label.as_str(), s.access_key()))
        .collect();
    assert_eq!(
        keys,
        [
            ("sts:GetCallerIdentity", Some("AKIDEXAMPLE")),
            ("sts:AssumeRole", Some("AKIDEXAMPLE")),
            ("sts:GetCallerIdentity", Some("ASIAIOSFODNN7EXAMPLE")),
            ("sts:AssumeRole", Some("AKIDEXAMPLE")),
            ("sts:GetCallerIdentity", Some("ASIATCH6YDSYTUTJMZIY")),
        ]
    );
    // No backoff: the refresh goes out when the error arrives, the retry when it is answered.
    assert_eq!(sent[3].at - t0, RTT);
    assert_eq!(sent[4].at - t0, RTT + RTT);
    assert!(sent[4].header("x-amz-security-token").is_some());
    sim.finish();
}

/// An assumed role's credentials (sample: valid until 13:00, fetched at 12:00) are refreshed at
/// 12:45, 15 min before expiry; calls before and after never fail and switch keys.
#[test]
fn assumed_role_refreshes_before_expiry_without_failures() {
    let (client, _base, role) = role_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let page = || fixture(fx!("responses/logs_GetLogEvents.response.txt"));
    let op = Expect::Op("logs", "GetLogEvents");
    fake.expect(
        Expect::Op("sts", "AssumeRole"),
        fixture(fx!("responses/sts_AssumeRole.response.txt")),
    )
    .expect_after(op, page(), RTT)
    .expect_after(op, page(), RTT)
    .expect_after(
        Expect::Op("sts", "AssumeRole"),
        fixture(fx!("responses/moto_sts_AssumeRole.response.txt")),
        RTT,
    )
    .expect_after(op, page(), RTT)
    .expect_after(op, page(), RTT);
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let mut calls = Vec::new();
    for minute in [10, 44, 46, 70] {
        sim.run_until(t0 + Duration::from_secs(60 * minute));
        calls.push(sim.submit(role, "us-east-1", get_log_events(), CallOptions::default()));
        sim.settle();
    }
    let events = sim.take_events();
    for call in calls {
        assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    }
    let sent = &sim.fake.sent;
    let log: Vec<(Duration, &str, Option<&str>)> = sent
        .iter()
        .map(|s| (s.at - t0, s.label.as_str(), s.access_key()))
        .collect();
    let min = |m: u64| Duration::from_secs(60 * m);
    assert_eq!(
        log,
        [
            (Duration::ZERO, "sts:GetCallerIdentity", Some("AKIDEXAMPLE")),
            (Duration::ZERO, "sts:AssumeRole", Some("AKIDEXAMPLE")),
            (min(10), "logs:GetLogEvents", Some("ASIAIOSFODNN7EXAMPLE")),
            (min(44), "logs:GetLogEvents", Some("ASIAIOSFODNN7EXAMPLE")),
            (min(45), "sts:AssumeRole", Some("AKIDEXAMPLE")),
            (min(46), "logs:GetLogEvents", Some("ASIATCH6YDSYTUTJMZIY")),
            (min(70), "logs:GetLogEvents", Some("ASIATCH6YDSYTUTJMZIY")),
        ]
    );
    sim.finish();
}

/// S3 says RequestTimeTooSkewed (server 20 min ahead, in `<ServerTime>` and `Date`): the skew
/// is adopted and the request re-signed at once with the corrected `x-amz-date`.
#[test]
fn skewed_clock_is_corrected_and_the_request_resigned() {
    let (client, account) = static_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    let path = "/AWSLogs/123456789012/vpcflowlogs/x.log.gz";
    fake.expect_after(
        Expect::Http("GET", path),
        fixture(fx!("responses/s3_error_RequestTimeTooSkewed.response.txt"))
            .with_header("date", "Thu, 15 Jan 2026 12:20:01 GMT"),
        RTT,
    )
    .expect_after(
        Expect::Http("GET", path),
        fixture(fx!("responses/s3_GetObject.response.txt")),
        RTT,
    );
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(account, "us-east-1", s3_get(""), CallOptions::streamed());
    sim.settle();
    let sent = sim.fake.sent_as(&format!("GET {path}"));
    let dates: Vec<_> = sent.iter().map(|s| s.header("x-amz-date")).collect();
    // 12:00:00.040 + 20 min 0.960 s (measured at the reply) = 12:20:01.
    assert_eq!(dates, [Some("20260115T120000Z"), Some("20260115T122001Z")]);
    assert_eq!(sent[1].at - t0, RTT, "re-signed at once");
    assert_eq!(sim.client.clock_skew().offset_ms, 1_200_960);
    let events = sim.take_events();
    assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    sim.finish();
}

/// AssumeRole refused: calls waiting for the role's credentials fail, naming STS's error.
#[test]
fn refused_role_fails_the_calls_waiting_for_it() {
    let (client, _base, role) = role_client();
    let mut fake = FakeAws::default();
    expect_identity(&mut fake);
    fake.expect_after(
        Expect::Op("sts", "AssumeRole"),
        fixture(fx!("responses/sts_error_AccessDenied.response.txt")),
        RTT,
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    let call = sim.submit(role, "us-east-1", get_log_events(), CallOptions::default());
    sim.run_until(sim.now + Duration::from_secs(1));
    let events = sim.take_events();
    let AwsEvent::Failed { error, .. } = outcome(&events, call) else {
        panic!("expected failure")
    };
    let shown = error.to_string();
    assert!(
        shown.starts_with(
            "logs:GetLogEvents: no credentials from role arn:aws:iam::210987654321:role/FlowReader: STS: HTTP 403 AccessDenied"
        ),
        "{shown}"
    );
    // Later calls fail at once while the role stays refused.
    let again = sim.submit(role, "us-east-1", get_log_events(), CallOptions::default());
    let events = sim.take_events();
    assert!(matches!(
        outcome(&events, again),
        AwsEvent::Failed {
            error: AwsCallError::Credentials { .. },
            ..
        }
    ));
    sim.finish();
}

/// Account ids: static keys through GetCallerIdentity, a role from its ARN.
#[test]
fn account_ids_are_announced() {
    let (client, base, role) = role_client();
    let mut fake = FakeAws::default();
    fake.expect_after(
        Expect::Op("sts", "GetCallerIdentity"),
        fixture(fx!("responses/moto_sts_GetCallerIdentity.response.txt")),
        RTT,
    )
    .expect_after(
        Expect::Op("sts", "AssumeRole"),
        fixture(fx!("responses/sts_AssumeRole.response.txt")),
        RTT,
    );
    let mut sim = Sim::new(client, fake, test_epoch(), noon());
    assert_eq!(sim.client.account_by_id("210987654321"), Some(role));
    assert_eq!(sim.client.account_by_id("123456789012"), None);
    sim.run_until(sim.now + RTT);
    assert_eq!(sim.client.account_by_id("123456789012"), Some(base));
    let known: Vec<(CacheId, String)> = sim
        .take_events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            AwsEvent::AccountKnown {
                account,
                account_id,
            } => Some((account, account_id)),
            _ => None,
        })
        .collect();
    assert_eq!(
        known,
        [
            (role, "210987654321".to_string()),
            (base, "123456789012".to_string())
        ]
    );
    sim.finish();
}

/// The instance role: IMDSv2 calls come out of `poll_http` as plain HTTP to 169.254.169.254.
#[test]
fn instance_role_credentials_come_through_the_driver() {
    let mut set = CredentialSet::new();
    let id = set.add(CredentialCache::instance_role(ImdsBase::default(), 5), None);
    let client = AwsClient::new(set, EndpointOverrides::default(), SEED);
    let mut fake = FakeAws::default();
    fake.expect(
        Expect::Http("PUT", "/latest/api/token"),
        ok_body(fx!("imds/token.body")),
    )
    .expect(
        Expect::Http("GET", "/latest/meta-data/iam/security-credentials/"),
        ok_body(fx!("imds/role-name.body")),
    )
    .expect(
        Expect::Http(
            "GET",
            "/latest/meta-data/iam/security-credentials/vpcflow-agent-role",
        ),
        ok_body(fx!("imds/credentials.json")),
    )
    .expect(
        Expect::Http("GET", "/latest/dynamic/instance-identity/document"),
        ok_body(fx!("imds/identity-document.json")),
    )
    .expect(
        Expect::Op("ec2", "DescribeRegions"),
        fixture(fx!("responses/ec2_DescribeRegions.response.txt")),
    );
    let t0 = test_epoch();
    let mut sim = Sim::new(client, fake, t0, noon());
    let call = sim.submit(
        id,
        "us-east-1",
        ec2("DescribeRegions"),
        CallOptions::default(),
    );
    sim.settle();
    let imds = &sim.fake.sent[0].out;
    assert_eq!(
        imds.endpoint,
        HttpTarget {
            scheme: Scheme::Http,
            host: "169.254.169.254".to_string(),
            port: 80
        }
    );
    assert_eq!(imds.deadline, t0 + crate::aws::api::imds::TIMEOUT);
    assert_eq!(sim.fake.sent[4].access_key(), Some("ASIAIOSFODNN7EXAMPLE"));
    let events = sim.take_events();
    assert!(matches!(outcome(&events, call), AwsEvent::Done { .. }));
    assert_eq!(sim.client.account_id(id), Some("123456789012"));
    sim.finish();
}
