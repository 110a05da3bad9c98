//! What to do after a failed AWS call: the classification table, the backoff schedule and the
//! retry budget. Pure: time and randomness come in as parameters.
//!
//! - [`classify`] maps an [`AwsError`] or a [`TransportFailure`] to a [`Verdict`], using the code
//!   sets of spec.md D.2 (botocore `retries/standard.py` throttling/transient sets, the
//!   aws-sdk-java-v2 clock-skew set, botocore's `special.py` for STS `IDPCommunicationError`).
//! - [`Backoff`] is the SDKs' "standard" mode as botocore 1.43 ships it (`ExponentialBackoff`
//!   with `NEW_RETRIES_ENABLED` off): delay after the n-th failed attempt is
//!   `uniform(0, 1) × min(base · 2^(n−1), 20 s)` with base 1 s (full jitter), and at most 3
//!   attempts in all (`DEFAULT_MAX_ATTEMPTS`). Long-running pollers raise `max_attempts`.
//!   botocore's opt-in 2026 variant (`AWS_NEW_RETRIES_2026`) uses a 50 ms base for non-throttling
//!   errors; [`Backoff::base`] vs [`Backoff::throttle_base`] lets a caller choose that.
//! - [`RetryQuota`] is botocore's retry token bucket (`retries/quota.py`, `RetryQuotaChecker`):
//!   500 tokens; a retry costs 5 (10 after a timeout); a success refunds what its retry took,
//!   or adds 1 when it needed none. An empty bucket means "stop retrying, fail the call".

use std::time::{Duration, SystemTime};

use crate::aws::clock_skew::ClockSkew;
use crate::aws::error::AwsError;

/// A call that failed below HTTP: reported by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFailure {
    /// DNS, TCP connect or connection refused.
    Connect,
    /// The exchange's deadline passed.
    Timeout,
    /// The peer closed or reset the connection before the response was complete.
    Closed,
    /// TLS handshake or record failure.
    Tls,
    /// An HTTP response we could not parse.
    Http,
    /// A buffered response body over its cap: sending again brings the same body.
    TooLarge,
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportFailure::Connect => "could not connect",
            TransportFailure::Timeout => "timed out",
            TransportFailure::Closed => "connection closed before the response was complete",
            TransportFailure::Tls => "TLS failure",
            TransportFailure::Http => "invalid HTTP response",
            TransportFailure::TooLarge => "response body over its size cap",
        })
    }
}

/// What failed.
#[derive(Clone, Copy, Debug)]
pub enum Failure<'a> {
    Aws(&'a AwsError),
    Transport(TransportFailure),
}

/// What to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Back off and send again; `throttle` = the service asked us to slow down.
    Retry { throttle: bool },
    /// The credentials were refused as expired: refresh them (rate-limited), then retry.
    RefreshCredentials,
    /// Our clock is off by `skew`: sign with `wall + skew` from now on, then retry.
    CorrectClockSkew { skew: ClockSkew },
    /// Retrying cannot help (bad request, access denied, not found…).
    Fatal,
}

/// botocore `ThrottledRetryableChecker._THROTTLED_ERROR_CODES` + spec D.2's KMS throttles.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "KMSThrottlingException",
    "KmsThrottled",
];

/// botocore `TransientRetryableChecker._TRANSIENT_ERROR_CODES`, STS `IDPCommunicationError`
/// (`special.py`), and the spec's service-specific transient codes.
const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ReplicatedWriteConflictException",
];

/// botocore `_TRANSIENT_STATUS_CODES` plus 509 (spec D.2).
const TRANSIENT_STATUS: &[u16] = &[500, 502, 503, 504, 509];

/// Codes that mean "the request's time was wrong" (aws-sdk-java-v2 `AwsErrorCode` clock-skew set).
const CLOCK_SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "RequestInTheFuture",
];

/// Credentials the service calls expired (spec D.2), and signature rejections that a fresh key
/// from a rotating source (IMDS, AssumeRole) can cure once no clock skew explains them.
const REFRESH_CODES: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
];

/// Classifies a failure. `wall` is our clock when the response arrived (for skew detection).
pub fn classify(failure: Failure<'_>, wall: SystemTime) -> Verdict {
    let e = match failure {
        Failure::Transport(TransportFailure::TooLarge) => return Verdict::Fatal,
        Failure::Transport(_) => return Verdict::Retry { throttle: false },
        Failure::Aws(e) => e,
    };
    let is_any = |codes: &[&str]| codes.iter().any(|c| e.is_code(c));
    if is_any(CLOCK_SKEW_CODES)
        && let Some(server) = e.server_time
    {
        let skew = ClockSkew::measure(server, wall);
        if skew.is_significant() {
            return Verdict::CorrectClockSkew { skew };
        }
    }
    if is_any(REFRESH_CODES) {
        return Verdict::RefreshCredentials;
    }
    if e.is_code("RequestTimeTooSkewed") || e.is_code("RequestInTheFuture") {
        // A time complaint we cannot measure: one more attempt, bounded by the attempt budget.
        return Verdict::Retry { throttle: false };
    }
    if e.status == 429 || is_any(THROTTLING_CODES) {
        return Verdict::Retry { throttle: true };
    }
    if is_any(TRANSIENT_CODES) || TRANSIENT_STATUS.contains(&e.status) {
        return Verdict::Retry { throttle: false };
    }
    Verdict::Fatal
}

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators"):
/// small, fast, good enough for jitter. Seeded by the caller (main: from the OS; tests: fixed).
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // The all-zero state is a fixed point; replace it with any odd constant.
        Rng {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, max)` (`0` when `max` is zero), at nanosecond resolution.
    pub fn duration_below(&mut self, max: Duration) -> Duration {
        let max_ns = max.as_nanos().min(u128::from(u64::MAX));
        let ns = (u128::from(self.next_u64()) * max_ns) >> 64;
        Duration::from_nanos(ns as u64)
    }
}

/// Full-jitter exponential backoff with an attempt limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Scale for non-throttling failures.
    pub base: Duration,
    /// Scale for throttling failures.
    pub throttle_base: Duration,
    /// Upper bound of the jitter window (botocore `_MAX_BACKOFF` = 20 s).
    pub cap: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Backoff {
    /// botocore 1.43 "standard" mode.
    pub const STANDARD: Backoff = Backoff {
        base: Duration::from_secs(1),
        throttle_base: Duration::from_secs(1),
        cap: Duration::from_secs(20),
        max_attempts: 3,
    };

    pub fn with_max_attempts(self, max_attempts: u32) -> Backoff {
        Backoff {
            max_attempts,
            ..self
        }
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    pub fn allows_retry_after(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The delay after attempt number `attempt` (1-based) failed:
    /// `uniform(0, min(cap, scale · 2^(attempt−1)))`.
    pub fn delay(&self, attempt: u32, throttle: bool, rng: &mut Rng) -> Duration {
        let scale = if throttle {
            self.throttle_base
        } else {
            self.base
        };
        let exp = attempt.saturating_sub(1).min(31);
        let window = scale
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap);
        rng.duration_below(window)
    }
}

/// botocore's retry token bucket (`retries/quota.py` + `RetryQuotaChecker`, legacy costs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryQuota {
    available: u32,
    max: u32,
}

impl RetryQuota {
    /// `RetryQuota.INITIAL_CAPACITY`.
    pub const INITIAL_CAPACITY: u32 = 500;
    /// `RetryQuotaChecker._RETRY_COST`.
    pub const RETRY_COST: u32 = 5;
    /// `RetryQuotaChecker._TIMEOUT_RETRY_REQUEST`.
    pub const TIMEOUT_RETRY_COST: u32 = 10;
    /// `RetryQuotaChecker._NO_RETRY_INCREMENT`.
    pub const NO_RETRY_INCREMENT: u32 = 1;

    pub fn new() -> RetryQuota {
        RetryQuota {
            available: Self::INITIAL_CAPACITY,
            max: Self::INITIAL_CAPACITY,
        }
    }

    pub fn available(&self) -> u32 {
        self.available
    }

    /// Takes the cost of one retry; `None` = the bucket is empty, do not retry.
    /// Keep the returned cost and hand it to [`RetryQuota::on_success`].
    pub fn acquire(&mut self, after_timeout: bool) -> Option<u32> {
        let cost = if after_timeout {
            Self::TIMEOUT_RETRY_COST
        } else {
            Self::RETRY_COST
        };
        self.available = self.available.checked_sub(cost)?;
        Some(cost)
    }

    /// A call succeeded: refund the cost of its last retry, or add a token when it needed none.
    pub fn on_success(&mut self, last_retry_cost: Option<u32>) {
        let refund = last_retry_cost.unwrap_or(Self::NO_RETRY_INCREMENT);
        self.available = (self.available + refund).min(self.max);
    }
}

impl Default for RetryQuota {
    fn default() -> Self {
        RetryQuota::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::error::{ErrorKind, tests::parse_response};
    use crate::aws::request::Protocol;
    use std::time::UNIX_EPOCH;

    fn wall() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_768_478_400) // 2026-01-15T12:00:00Z
    }

    fn err(status: u16, code: &str) -> AwsError {
        AwsError {
            status,
            code: code.to_string(),
            message: String::new(),
            request_id: None,
            kind: ErrorKind::Service,
            fault: None,
            json_code: None,
            bucket_region: None,
            server_time: None,
        }
    }

    #[test]
    fn classification_table() {
        let table = [
            (
                503,
                "RequestLimitExceeded",
                Verdict::Retry { throttle: true },
            ),
            (
                400,
                "ThrottlingException",
                Verdict::Retry { throttle: true },
            ),
            (
                400,
                "ProvisionedThroughputExceededException",
                Verdict::Retry { throttle: true },
            ),
            (503, "SlowDown", Verdict::Retry { throttle: true }),
            (403, "RequestThrottled", Verdict::Retry { throttle: true }),
            (
                400,
                "LimitExceededException",
                Verdict::Retry { throttle: true },
            ),
            (429, "SomethingNew", Verdict::Retry { throttle: true }),
            (400, "RequestTimeout", Verdict::Retry { throttle: false }),
            (500, "InternalError", Verdict::Retry { throttle: false }),
            (
                503,
                "ServiceUnavailableException",
                Verdict::Retry { throttle: false },
            ),
            (502, "502", Verdict::Retry { throttle: false }),
            (509, "BandwidthExceeded", Verdict::Retry { throttle: false }),
            (
                400,
                "IDPCommunicationError",
                Verdict::Retry { throttle: false },
            ),
            (403, "ExpiredToken", Verdict::RefreshCredentials),
            (400, "ExpiredTokenException", Verdict::RefreshCredentials),
            (400, "RequestExpired", Verdict::RefreshCredentials),
            (403, "SignatureDoesNotMatch", Verdict::RefreshCredentials),
            (
                400,
                "InvalidSignatureException",
                Verdict::RefreshCredentials,
            ),
            (
                403,
                "RequestTimeTooSkewed",
                Verdict::Retry { throttle: false },
            ),
            (403, "InvalidClientTokenId", Verdict::Fatal),
            (400, "UnrecognizedClientException", Verdict::Fatal),
            (403, "InvalidAccessKeyId", Verdict::Fatal),
            (401, "AuthFailure", Verdict::Fatal),
            (403, "AccessDenied", Verdict::Fatal),
            (400, "AccessDeniedException", Verdict::Fatal),
            (403, "UnauthorizedOperation", Verdict::Fatal),
            (400, "ResourceNotFoundException", Verdict::Fatal),
            (400, "ExpiredIteratorException", Verdict::Fatal),
            (404, "NotFound", Verdict::Fatal),
            (501, "NotImplemented", Verdict::Fatal),
        ];
        for (status, code, want) in table {
            assert_eq!(
                classify(Failure::Aws(&err(status, code)), wall()),
                want,
                "{status} {code}"
            );
        }
        for t in [
            TransportFailure::Connect,
            TransportFailure::Timeout,
            TransportFailure::Closed,
            TransportFailure::Tls,
            TransportFailure::Http,
        ] {
            assert_eq!(
                classify(Failure::Transport(t), wall()),
                Verdict::Retry { throttle: false }
            );
        }
        assert_eq!(
            classify(Failure::Transport(TransportFailure::TooLarge), wall()),
            Verdict::Fatal,
            "the same body comes back on every attempt"
        );
    }

    #[test]
    fn fixtures_classify() {
        let cases: [(Protocol, &[u8], Verdict); 5] = [
            (
                Protocol::Ec2Query,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/aws/responses/ec2_error_RequestLimitExceeded.response.txt"
                )),
                Verdict::Retry { throttle: true },
            ),
            (
                Protocol::Json10,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/aws/responses/sqs_error_QueueDoesNotExist.response.txt"
                )),
                Verdict::Fatal,
            ),
            (
                Protocol::Query,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/aws/responses/sts_error_ExpiredToken.response.txt"
                )),
                Verdict::RefreshCredentials,
            ),
            (
                Protocol::RestXml,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/aws/responses/s3_error_RequestTimeTooSkewed.response.txt"
                )),
                Verdict::CorrectClockSkew {
                    skew: ClockSkew {
                        offset_ms: 1_201_000,
                    },
                },
            ),
            (
                Protocol::Json11,
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/aws/responses/kinesis_error_ProvisionedThroughputExceeded.response.txt"
                )),
                Verdict::Retry { throttle: true },
            ),
        ];
        for (protocol, text, want) in cases {
            let (status, headers, body) = parse_response(text);
            let e = AwsError::from_parts(protocol, "POST", status, &headers, body);
            assert_eq!(classify(Failure::Aws(&e), wall()), want, "{}", e.code);
        }
    }

    #[test]
    fn skew_codes_need_measurable_skew() {
        let mut e = err(403, "SignatureDoesNotMatch");
        e.server_time = Some(wall() + Duration::from_secs(60)); // 1 min: not skew, a bad signature
        assert_eq!(
            classify(Failure::Aws(&e), wall()),
            Verdict::RefreshCredentials
        );
        e.server_time = Some(wall() - Duration::from_secs(16 * 60));
        assert_eq!(
            classify(Failure::Aws(&e), wall()),
            Verdict::CorrectClockSkew {
                skew: ClockSkew {
                    offset_ms: -960_000
                }
            }
        );
        let mut e = err(401, "AuthFailure");
        e.server_time = Some(wall() + Duration::from_secs(20 * 60));
        assert!(matches!(
            classify(Failure::Aws(&e), wall()),
            Verdict::CorrectClockSkew { .. }
        ));
        // SQS in JSON mode: the JSON code is checked too.
        let mut e = err(400, "AWS.SimpleQueueService.Whatever");
        e.json_code = Some("ThrottlingException".to_string());
        assert_eq!(
            classify(Failure::Aws(&e), wall()),
            Verdict::Retry { throttle: true }
        );
    }

    #[test]
    fn rng_is_deterministic_and_spreads() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], xs[1]);
        let mut z = Rng::new(0);
        assert_ne!(z.next_u64(), 0);
        let mut r = Rng::new(7);
        let max = Duration::from_secs(4);
        let samples: Vec<Duration> = (0..1000).map(|_| r.duration_below(max)).collect();
        assert!(samples.iter().all(|d| *d < max));
        assert!(samples.iter().any(|d| *d < Duration::from_secs(1)));
        assert!(samples.iter().any(|d| *d > Duration::from_secs(3)));
        assert_eq!(r.duration_below(Duration::ZERO), Duration::ZERO);
    }

    /// Backoff instants with a fixed seed: each delay is inside its window `[0, min(20 s, 2^(n-1) s))`,
    /// and the sequence is the same on every run.
    #[test]
    fn backoff_instants_with_fixed_seed() {
        let b = Backoff::STANDARD.with_max_attempts(8);
        let mut rng = Rng::new(0x5eed);
        let delays: Vec<Duration> = (1..=7).map(|n| b.delay(n, false, &mut rng)).collect();
        let mut again = Rng::new(0x5eed);
        let replay: Vec<Duration> = (1..=7).map(|n| b.delay(n, false, &mut again)).collect();
        assert_eq!(delays, replay);
        for (i, d) in delays.iter().enumerate() {
            let window = Duration::from_secs(1 << i).min(Duration::from_secs(20));
            assert!(*d < window, "attempt {}: {d:?} >= {window:?}", i + 1);
        }
        // The exact schedule, computed independently by a 10-line Python xorshift64* with the same
        // `(x * window_ns) >> 64` scaling.
        let ms: Vec<u128> = delays.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, PINNED_MS);
        assert!(b.allows_retry_after(7));
        assert!(!b.allows_retry_after(8));
        assert!(Backoff::STANDARD.allows_retry_after(2));
        assert!(!Backoff::STANDARD.allows_retry_after(3));
        // The 2026 variant: a 50 ms base for non-throttling errors only.
        let fast = Backoff {
            base: Duration::from_millis(50),
            ..Backoff::STANDARD
        };
        let mut r = Rng::new(1);
        assert!(fast.delay(1, false, &mut r) < Duration::from_millis(50));
        // Huge attempt numbers saturate at the cap instead of overflowing.
        assert!(b.delay(1000, true, &mut r) < Duration::from_secs(20));
    }

    const PINNED_MS: [u128; 7] = [590, 1561, 3641, 648, 1574, 8230, 3969];

    #[test]
    fn retry_quota_like_botocore() {
        let mut q = RetryQuota::new();
        assert_eq!(q.acquire(false), Some(5));
        assert_eq!(q.acquire(true), Some(10));
        assert_eq!(q.available(), 485);
        q.on_success(Some(10));
        assert_eq!(q.available(), 495);
        q.on_success(None);
        q.on_success(None);
        assert_eq!(q.available(), 497);
        q.on_success(Some(5));
        assert_eq!(q.available(), 500); // never above the initial capacity
        let mut drained = 0;
        while q.acquire(false).is_some() {
            drained += 1;
        }
        assert_eq!(drained, 100);
        assert_eq!(q.acquire(false), None);
    }
}
