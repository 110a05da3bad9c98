//! Credential refresh schedule on a virtual clock (fixtures: STS and IMDS captures).

use super::*;
use crate::aws::credentials::test_epoch;
use crate::aws::error::tests::parse_response;
use crate::aws::request::Service;
use crate::aws::retry::TransportFailure;
use std::time::UNIX_EPOCH;
use ureq_proto::http::Response;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $path))
    };
}

/// 2026-01-15T12:00:00Z: the sample AssumeRole credentials expire one hour later.
fn noon() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_768_478_400)
}

fn response(text: &[u8]) -> (Response<()>, &[u8]) {
    let (status, headers, body) = parse_response(text);
    let mut r = Response::builder()
        .status(status)
        .body(())
        .expect("response");
    *r.headers_mut() = headers;
    (r, body)
}

fn ok(body: &[u8]) -> (Response<()>, &[u8]) {
    (
        Response::builder().status(200).body(()).expect("response"),
        body,
    )
}

fn base_creds() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
    )
}

fn role(secs: u64) -> CredentialCache {
    let cfg = AssumeRoleConfig::new(
        "arn:aws:iam::210987654321:role/FlowReader",
        Some("ext-1234"),
        Duration::from_secs(secs),
        1,
        "eu-west-1",
    )
    .expect("valid");
    CredentialCache::assume_role(cfg, 7)
}

fn reply(c: &mut CredentialCache, now: Instant, wall: SystemTime, r: &(Response<()>, &[u8])) {
    c.handle_response(
        now,
        wall,
        CallOutcome::Response {
            response: &r.0,
            body: r.1,
        },
    );
}

const ASSUME_ROLE_OK: &[u8] = fixture!("responses/sts_AssumeRole.response.txt");

#[test]
fn static_keys_identify_their_account_once() {
    let t0 = test_epoch();
    let mut c = CredentialCache::fixed("profile collector", base_creds(), "eu-west-1", 1);
    assert_eq!(
        c.current().map(Credentials::access_key_id),
        Some("AKIDEXAMPLE")
    );
    let Some(CredentialCall::Sts {
        request,
        region,
        signer,
    }) = c.poll_request(t0, noon())
    else {
        panic!("expected GetCallerIdentity")
    };
    assert_eq!(
        (request.service, request.operation, region.as_str()),
        (Service::Sts, "GetCallerIdentity", "eu-west-1")
    );
    assert_eq!(signer.access_key_id(), "AKIDEXAMPLE");
    assert!(c.poll_request(t0, noon()).is_none(), "one call at a time");
    reply(
        &mut c,
        t0,
        noon(),
        &response(fixture!(
            "responses/moto_sts_GetCallerIdentity.response.txt"
        )),
    );
    assert_eq!(c.account_id(), Some("123456789012"));
    assert!(c.poll_request(t0, noon()).is_none());
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.force_refresh(t0), ForceRefresh::NotRefreshable);
}

#[test]
fn static_keys_refused_back_off_then_ask_again() {
    let t0 = test_epoch();
    let mut c = CredentialCache::fixed("env", base_creds(), "us-east-1", 1);
    assert!(c.poll_request(t0, noon()).is_some());
    reply(
        &mut c,
        t0,
        noon(),
        &response(fixture!("responses/sts_error_AccessDenied.response.txt")),
    );
    assert!(matches!(c.last_error(), Some(CredentialError::Sts(e)) if e.code == "AccessDenied"));
    assert_eq!(c.poll_timeout(), Some(t0 + FATAL_RETRY_INTERVAL));
    assert!(
        c.poll_request(t0 + FATAL_RETRY_INTERVAL - Duration::from_secs(1), noon())
            .is_none()
    );
    assert!(matches!(
        c.poll_request(t0 + FATAL_RETRY_INTERVAL, noon()),
        Some(CredentialCall::Sts { .. })
    ));
    // The keys stay usable meanwhile: they may still work for other APIs.
    assert!(c.current().is_some());
}

/// The refresh schedule on a virtual clock: fetch, refresh 15 min before expiry, retry on
/// failure with backoff, drop the credentials at expiry if no refresh succeeded.
#[test]
fn assume_role_refresh_schedule() {
    let t0 = test_epoch();
    let mut c = role(3600);
    assert_eq!(c.account_id(), Some("210987654321"));
    assert!(
        c.poll_request(t0, noon()).is_none(),
        "no base credentials yet"
    );
    c.set_base(Some(base_creds()));
    let Some(CredentialCall::Sts {
        request,
        region,
        signer,
    }) = c.poll_request(t0, noon())
    else {
        panic!("expected AssumeRole")
    };
    assert_eq!(
        (request.operation, region.as_str(), signer.access_key_id()),
        ("AssumeRole", "eu-west-1", "AKIDEXAMPLE")
    );
    reply(&mut c, t0, noon(), &response(ASSUME_ROLE_OK));
    assert_eq!(
        c.current().map(Credentials::access_key_id),
        Some("ASIAIOSFODNN7EXAMPLE")
    );
    assert_eq!(c.generation(), 1);
    // Expires at 13:00 (1 h): refresh at 12:45.
    let refresh = t0 + Duration::from_secs(45 * 60);
    assert_eq!(c.poll_timeout(), Some(refresh));
    assert!(
        c.poll_request(refresh - Duration::from_millis(1), noon())
            .is_none()
    );
    c.handle_timeout(refresh);
    let wall = noon() + Duration::from_secs(45 * 60);
    assert!(matches!(
        c.poll_request(refresh, wall),
        Some(CredentialCall::Sts { .. })
    ));
    // The refresh fails: old credentials stay, retry within the first backoff window (≤ 1 s).
    c.handle_response(
        refresh,
        wall,
        CallOutcome::Failed(TransportFailure::Connect),
    );
    assert!(c.current().is_some());
    let retry_at = c.poll_timeout().expect("retry timer");
    assert!(
        retry_at >= refresh && retry_at < refresh + Duration::from_secs(1),
        "{:?}",
        retry_at - refresh
    );
    // Keep failing until expiry: the credentials are dropped at 13:00 exactly.
    let expiry = t0 + Duration::from_secs(3600);
    let mut now = retry_at;
    while now < expiry {
        c.handle_timeout(now);
        if c.poll_request(now, wall).is_some() {
            c.handle_response(now, wall, CallOutcome::Failed(TransportFailure::Timeout));
            assert!(
                c.last_error_is_retryable(),
                "a timeout is worth a quick retry"
            );
        }
        now = c.poll_timeout().expect("timer");
        assert!(now <= expiry);
    }
    c.handle_timeout(expiry);
    assert!(c.current().is_none());
    // Recovery installs new credentials.
    let late = expiry + Duration::from_secs(60);
    c.handle_timeout(late);
    assert!(c.poll_request(late, noon()).is_some());
    reply(&mut c, late, noon(), &response(ASSUME_ROLE_OK));
    assert!(c.current().is_some());
    assert_eq!(c.generation(), 2);
    assert!(c.last_error().is_none());
}

#[test]
fn short_sessions_refresh_at_half_life() {
    let t0 = test_epoch();
    let mut c = role(900);
    c.set_base(Some(base_creds()));
    assert!(c.poll_request(t0, noon()).is_some());
    // moto's answer expires 15 min after it was issued.
    let text = fixture!("responses/moto_sts_AssumeRole.response.txt");
    let expiry = clock_skew::parse_iso8601("2026-11-26T17:39:25.656650Z").expect("time");
    reply(
        &mut c,
        t0,
        expiry - Duration::from_secs(900),
        &response(text),
    );
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(450)));
    // Credentials that arrive with 20 s left: refresh after 30 s, not in a loop.
    let mut c = role(900);
    c.set_base(Some(base_creds()));
    assert!(c.poll_request(t0, noon()).is_some());
    reply(
        &mut c,
        t0,
        expiry - Duration::from_secs(20),
        &response(text),
    );
    assert_eq!(
        c.poll_timeout(),
        Some(t0 + Duration::from_secs(20)),
        "expiry comes first"
    );
    c.handle_timeout(t0 + Duration::from_secs(20));
    assert!(c.current().is_none());
    assert_eq!(c.poll_timeout(), Some(t0 + MIN_REFRESH_DELAY));
}

#[test]
fn forced_refresh_once_per_minute() {
    let t0 = test_epoch();
    let mut c = role(3600);
    c.set_base(Some(base_creds()));
    assert!(c.poll_request(t0, noon()).is_some());
    reply(&mut c, t0, noon(), &response(ASSUME_ROLE_OK));
    let t1 = t0 + Duration::from_secs(600);
    assert_eq!(c.force_refresh(t1), ForceRefresh::Started);
    assert!(
        c.current().is_none(),
        "callers wait for the new credentials"
    );
    assert_eq!(
        c.force_refresh(t1 + Duration::from_secs(1)),
        ForceRefresh::RateLimited
    );
    assert!(c.poll_request(t1, noon()).is_some());
    reply(&mut c, t1, noon(), &response(ASSUME_ROLE_OK));
    assert_eq!(c.generation(), 2);
    assert_eq!(
        c.force_refresh(t1 + Duration::from_secs(59)),
        ForceRefresh::RateLimited
    );
    assert!(c.current().is_some());
    let t2 = t1 + FORCE_REFRESH_LIMIT;
    assert_eq!(c.force_refresh(t2), ForceRefresh::Started);
    assert!(c.poll_request(t2, noon()).is_some());
    // A failed forced refresh gives the old credentials back.
    c.handle_response(t2, noon(), CallOutcome::Failed(TransportFailure::Closed));
    assert!(c.current().is_some());
    // In flight already: no second fetch.
    let t3 = t2 + FORCE_REFRESH_LIMIT;
    c.handle_timeout(t3);
    assert!(c.poll_request(t3, noon()).is_some());
    assert_eq!(c.force_refresh(t3), ForceRefresh::AlreadyInFlight);
}

#[test]
fn expired_signer_asks_for_a_base_refresh() {
    let t0 = test_epoch();
    let mut c = role(3600);
    c.set_base(Some(base_creds()));
    assert!(c.poll_request(t0, noon()).is_some());
    reply(
        &mut c,
        t0,
        noon(),
        &response(fixture!("responses/sts_error_ExpiredToken.response.txt")),
    );
    assert!(c.take_wants_base_refresh());
    assert!(!c.take_wants_base_refresh());
    assert!(matches!(c.last_error(), Some(CredentialError::Sts(e)) if e.code == "ExpiredToken"));
    assert!(
        c.poll_timeout()
            .is_some_and(|t| t < t0 + Duration::from_secs(1))
    );
}

#[test]
fn instance_role_through_imds() {
    let t0 = test_epoch();
    let mut c = CredentialCache::instance_role(ImdsBase::default(), 3);
    let bodies: [&[u8]; 4] = [
        fixture!("imds/token.body"),
        fixture!("imds/role-name.body"),
        fixture!("imds/credentials.json"),
        fixture!("imds/identity-document.json"),
    ];
    let paths = [
        "/latest/api/token",
        "/latest/meta-data/iam/security-credentials/",
        "/latest/meta-data/iam/security-credentials/vpcflow-agent-role",
        "/latest/dynamic/instance-identity/document",
    ];
    // IMDS credentials last until 17:55:36; fetched at 12:00:00.
    for (body, path) in bodies.iter().zip(paths) {
        let Some(CredentialCall::Imds { request, timeout }) = c.poll_request(t0, noon()) else {
            panic!("expected an IMDS call for {path}")
        };
        assert_eq!(
            (request.uri().path(), timeout),
            (path, Duration::from_secs(1))
        );
        reply(&mut c, t0, noon(), &ok(body));
    }
    assert_eq!(
        c.current().map(Credentials::access_key_id),
        Some("ASIAIOSFODNN7EXAMPLE")
    );
    assert_eq!(
        (c.account_id(), c.imds_region()),
        (Some("123456789012"), Some("us-east-1"))
    );
    assert!(c.poll_request(t0, noon()).is_none());
    // 5 h 55 min 36 s left: refresh 15 min before.
    assert_eq!(
        c.poll_timeout(),
        Some(t0 + Duration::from_secs(21_336 - 900))
    );
    let later = t0 + Duration::from_secs(21_336 - 900);
    c.handle_timeout(later);
    let Some(CredentialCall::Imds { request, .. }) = c.poll_request(later, noon()) else {
        panic!("refresh")
    };
    assert_eq!(
        request.uri().path(),
        paths[2],
        "token, role and identity are reused"
    );
}

#[test]
fn imds_disabled_is_a_slow_retry() {
    let t0 = test_epoch();
    let mut c = CredentialCache::instance_role(ImdsBase::default(), 3);
    assert!(c.poll_request(t0, noon()).is_some());
    assert!(c.last_error_is_retryable(), "no failure yet");
    let r = (
        Response::builder().status(403).body(()).expect("response"),
        &b""[..],
    );
    reply(&mut c, t0, noon(), &r);
    assert_eq!(c.poll_timeout(), Some(t0 + FATAL_RETRY_INTERVAL));
    assert!(!c.last_error_is_retryable());
    assert!(
        c.last_error()
            .is_some_and(|e| e.to_string().contains("IMDSv2 token request refused"))
    );
}

#[test]
fn stray_response_is_ignored() {
    let t0 = test_epoch();
    let mut c = CredentialCache::fixed("env", base_creds(), "us-east-1", 1);
    reply(&mut c, t0, noon(), &ok(b"<x/>"));
    assert!(c.current().is_some());
    assert!(c.last_error().is_none());
}
