//! SigV4 signing of an [`ApiRequest`] for a resolved [`Endpoint`], with aws-sigv4.
//!
//! The output is the `Request<()>` that ureq-proto sends, plus its body. Headers:
//! - signed: `host`, the request's own headers (`content-type`, `x-amz-target`, `range`, …),
//!   `x-amz-date`, `x-amz-security-token` (temporary credentials; spec E.1 step 6) and, for S3,
//!   `x-amz-content-sha256` = hex SHA-256 of the body (aws-sigv4 `PayloadChecksumKind::XAmzSha256`);
//! - not signed: `authorization`, `content-length` (always set, so ureq-proto never goes chunked;
//!   botocore adds it after signing too, so signatures match its captures) and `user-agent`
//!   (botocore never signs it).
//!
//! S3 canonical URIs are the wire path as sent: no normalisation and no second encoding
//! (botocore `S3SigV4Auth`); every other service double-encodes (aws-sigv4's default).
//! The wall time is a parameter: the caller passes `wall + clock skew`.

use std::fmt;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign as sigv4_sign,
};
use aws_sigv4::sign::v4;
use ureq_proto::http::{HeaderName, HeaderValue, Request};

use crate::aws::credentials::Credentials;
use crate::aws::endpoint::{self, Endpoint, EndpointError};
use crate::aws::request::{ApiRequest, Service};

/// Sent on every request (unsigned).
pub const USER_AGENT: &str = concat!("vpcflow-ipfix/", env!("CARGO_PKG_VERSION"));

/// A request ready for ureq-proto: headers final, body alongside.
#[derive(Debug)]
pub struct SignedRequest {
    /// Where to connect (and what TLS verifies): [`endpoint::Target::connect_host`].
    pub connect_host: String,
    pub request: Request<()>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum SignError {
    Endpoint(EndpointError),
    /// A header name or value the HTTP types refuse (control characters).
    BadHeader {
        name: String,
    },
    /// aws-sigv4 refused the request (e.g. an unparseable URI).
    Signing {
        operation: &'static str,
        reason: String,
    },
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Endpoint(e) => write!(f, "cannot address request: {e}"),
            SignError::BadHeader { name } => {
                write!(f, "cannot sign request: invalid header {name:?}")
            }
            SignError::Signing { operation, reason } => {
                write!(f, "cannot sign {operation}: {reason}")
            }
        }
    }
}

impl std::error::Error for SignError {}

impl From<EndpointError> for SignError {
    fn from(e: EndpointError) -> Self {
        SignError::Endpoint(e)
    }
}

/// Signs `req` for `endpoint` with `creds` at `wall` (already skew-corrected).
pub fn sign(
    req: &ApiRequest,
    endpoint: &Endpoint,
    creds: &Credentials,
    wall: SystemTime,
) -> Result<SignedRequest, SignError> {
    let target = endpoint::target(req, endpoint)?;
    let fail = |reason: String| SignError::Signing {
        operation: req.operation,
        reason,
    };

    let mut settings = SigningSettings::default();
    if req.service == Service::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity = creds.sdk().clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&endpoint.signing_region)
        .name(req.service.signing_name())
        .time(wall)
        .settings(settings)
        .build()
        .map_err(|e| fail(e.to_string()))?
        .into();

    // Exactly the headers to sign; content-length and user-agent are added afterwards.
    let signed = std::iter::once(("host", target.host_header.as_str()))
        .chain(req.headers.iter().map(|(k, v)| (*k, v.as_str())));
    let signable = SignableRequest::new(
        req.method,
        target.uri.as_str(),
        signed,
        SignableBody::Bytes(&req.body),
    )
    .map_err(|e| fail(e.to_string()))?;
    let (instructions, _signature) = sigv4_sign(signable, &params)
        .map_err(|e| fail(e.to_string()))?
        .into_parts();
    let (sig_headers, _query) = instructions.into_parts();

    let mut request = Request::builder()
        .method(req.method)
        .uri(target.uri.as_str())
        .body(())
        .map_err(|e| fail(e.to_string()))?;
    let headers = request.headers_mut();
    let mut put = |name: &str, value: &str, sensitive: bool| -> Result<(), SignError> {
        let bad = || SignError::BadHeader {
            name: name.to_string(),
        };
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut v = HeaderValue::from_str(value).map_err(|_| bad())?;
        v.set_sensitive(sensitive);
        headers.append(n, v);
        Ok(())
    };
    put("host", &target.host_header, false)?;
    for (name, value) in &req.headers {
        put(name, value, false)?;
    }
    for h in &sig_headers {
        put(h.name(), h.value(), h.sensitive())?;
    }
    put("content-length", &req.body.len().to_string(), false)?;
    put("user-agent", USER_AGENT, false)?;
    Ok(SignedRequest {
        connect_host: target.connect_host,
        request,
        body: req.body.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::endpoint::Scheme;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-01-15T12:00:00Z, the clock botocore was frozen at for the captures.
    fn capture_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_768_478_400)
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    macro_rules! fixtures {
        ($($name:literal),* $(,)?) => {
            [$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/requests/", $name, ".request.txt")))),*]
        };
    }

    const REQUESTS: [(&str, &str); 50] = fixtures!(
        "cloudwatch_PutMetricData",
        "dynamodb_GetItem",
        "ec2_DescribeFlowLogs",
        "ec2_DescribeInstances",
        "ec2_DescribeNatGateways",
        "ec2_DescribeNetworkInterfaces",
        "ec2_DescribeRegions",
        "ec2_DescribeRegions_cn",
        "ec2_DescribeRouteTables",
        "ec2_DescribeTransitGatewayAttachments",
        "ec2_DescribeVpcEndpoints",
        "ec2_DescribeVpcPeeringConnections",
        "ec2_DescribeVpcs",
        "ec2_SearchTransitGatewayRoutes",
        "ec2_error_RequestLimitExceeded",
        "kinesis_DescribeStreamSummary",
        "kinesis_GetRecords",
        "kinesis_GetRecords_closedShardEnd",
        "kinesis_GetRecords_withStreamARN",
        "kinesis_GetShardIterator",
        "kinesis_ListShards",
        "kinesis_ListShards_withStreamARN",
        "kinesis_error_ExpiredIterator",
        "kinesis_error_ProvisionedThroughputExceeded",
        "logs_DescribeLogStreams",
        "logs_DescribeSubscriptionFilters",
        "logs_FilterLogEvents",
        "logs_GetLogEvents",
        "logs_error_ResourceNotFound",
        "logs_error_ThrottlingException",
        "s3_GetBucketLocation",
        "s3_GetBucketLocation_usEast1",
        "s3_GetBucketNotificationConfiguration",
        "s3_GetObject",
        "s3_GetObject_euwest1",
        "s3_GetObject_keyEncoding",
        "s3_error_RequestTimeTooSkewed",
        "s3_error_SlowDown",
        "sqs_ChangeMessageVisibility",
        "sqs_DeleteMessageBatch",
        "sqs_GetQueueUrl",
        "sqs_ReceiveMessage",
        "sqs_ReceiveMessage_empty",
        "sqs_ReceiveMessage_euwest1",
        "sqs_error_QueueDoesNotExist",
        "sts_AssumeRole",
        "sts_GetCallerIdentity",
        "sts_GetCallerIdentity_euwest1",
        "sts_error_AccessDenied",
        "sts_error_ExpiredToken",
    );

    /// A botocore capture taken apart: what we rebuild the request from, and what it must equal.
    struct Capture<'a> {
        method: &'static str,
        path: &'a str,
        query: &'a str,
        host: &'a str,
        headers: Vec<(&'static str, String)>,
        session_token: Option<&'a str>,
        content_sha256: Option<&'a str>,
        authorization: &'a str,
        body: &'a [u8],
    }

    /// Header names as `&'static str` (ApiRequest's type): every name the captures carry that the
    /// operation itself sets.
    fn static_name(lower: &str) -> &'static str {
        match lower {
            "content-type" => "content-type",
            "x-amz-target" => "x-amz-target",
            "x-amzn-query-mode" => "x-amzn-query-mode",
            "range" => "range",
            "x-amz-checksum-mode" => "x-amz-checksum-mode",
            other => panic!("capture has an unexpected header {other}"),
        }
    }

    fn parse_capture(text: &str) -> Capture<'_> {
        let (head, rest) = text.split_once("\n\n").expect("blank line after headers");
        let mut lines = head.lines();
        let request_line = lines.next().expect("request line");
        let mut parts = request_line.split(' ');
        let method = match parts.next() {
            Some("GET") => "GET",
            Some("POST") => "POST",
            other => panic!("method {other:?}"),
        };
        let target = parts.next().expect("target");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut c = Capture {
            method,
            path,
            query,
            host: "",
            headers: Vec::new(),
            session_token: None,
            content_sha256: None,
            authorization: "",
            body: b"",
        };
        let mut len = 0;
        for line in lines {
            let (name, value) = line.split_once(": ").expect("header line");
            match name.to_ascii_lowercase().as_str() {
                "host" => c.host = value,
                "x-amz-date" => assert_eq!(value, "20260115T120000Z"),
                "authorization" => c.authorization = value,
                "content-length" => len = value.parse().expect("length"),
                "x-amz-security-token" => c.session_token = Some(value),
                "x-amz-content-sha256" => c.content_sha256 = Some(value),
                lower => c.headers.push((static_name(lower), value.to_string())),
            }
        }
        c.body = &rest.as_bytes()[..len];
        c
    }

    fn service_of(file: &str) -> Service {
        match file.split('_').next() {
            Some("cloudwatch") => Service::Monitoring,
            Some("dynamodb") => Service::DynamoDb,
            Some("ec2") => Service::Ec2,
            Some("kinesis") => Service::Kinesis,
            Some("logs") => Service::Logs,
            Some("s3") => Service::S3,
            Some("sqs") => Service::Sqs,
            Some("sts") => Service::Sts,
            other => panic!("service {other:?}"),
        }
    }

    /// The region of the capture's credential scope (`Credential=AKID/date/REGION/svc/...`).
    fn scope_region(authorization: &str) -> &str {
        authorization.split('/').nth(2).expect("scope")
    }

    /// The ApiRequest, Endpoint and credentials a capture was made from.
    fn rebuild(file: &str, c: &Capture<'_>) -> (ApiRequest, Endpoint, Credentials) {
        let service = service_of(file);
        // S3: the bucket is the first host label (virtual-hosted) or the first path segment
        // (botocore's path-style GetBucketLocation); the rest is the endpoint host.
        let (bucket, path, host) = match (service, c.host.split_once(".s3.")) {
            (Service::S3, Some((bucket, _))) => (
                Some(bucket),
                c.path.to_string(),
                &c.host[bucket.len() + 1..],
            ),
            (Service::S3, None) => {
                let rest = &c.path[1..];
                let (bucket, key) = rest
                    .split_once('/')
                    .map_or((rest, "/".to_string()), |(b, k)| (b, format!("/{k}")));
                (Some(bucket), key, c.host)
            }
            _ => (None, c.path.to_string(), c.host),
        };
        let req = ApiRequest {
            service,
            operation: "Golden",
            method: c.method,
            bucket: bucket.map(str::to_string),
            path,
            query: c.query.to_string(),
            headers: c.headers.clone(),
            body: c.body.to_vec(),
        };
        let endpoint = Endpoint {
            scheme: Scheme::Https,
            host: host.to_string(),
            port: 443,
            path_prefix: String::new(),
            s3_path_style: bucket.is_some_and(|b| !c.host.starts_with(b)),
            signing_region: scope_region(c.authorization).to_string(),
        };
        let token = c.session_token.map(str::to_string);
        (
            req,
            endpoint,
            Credentials::new("AKIDEXAMPLE", SECRET, token, None),
        )
    }

    /// Rebuilds each capture as an ApiRequest on an Endpoint and signs it: the `authorization`
    /// header must equal botocore's byte for byte, for every request in samples/aws-api.
    #[test]
    fn golden_signatures_match_botocore() {
        for (file, text) in REQUESTS {
            let c = parse_capture(text);
            let (req, endpoint, creds) = rebuild(file, &c);
            let signed = sign(&req, &endpoint, &creds, capture_time()).expect("signs");
            let h = signed.request.headers();
            let get = |n: &str| h.get(n).map(|v| v.to_str().expect("ascii"));
            assert_eq!(get("authorization"), Some(c.authorization), "{file}");
            assert_eq!(get("host"), Some(c.host), "{file}");
            assert_eq!(signed.request.uri().path(), c.path, "{file}");
            assert_eq!(
                signed.request.uri().query().unwrap_or(""),
                c.query,
                "{file}"
            );
            assert_eq!(get("x-amz-date"), Some("20260115T120000Z"), "{file}");
            assert_eq!(get("x-amz-security-token"), c.session_token, "{file}");
            assert_eq!(get("x-amz-content-sha256"), c.content_sha256, "{file}");
            assert_eq!(
                get("content-length"),
                Some(c.body.len().to_string().as_str()),
                "{file}"
            );
            assert_eq!(get("user-agent"), Some(USER_AGENT), "{file}");
            assert_eq!(signed.body, c.body, "{file}");
        }
    }

    /// What ureq-proto puts on the wire for our signed requests: the capture's request line and
    /// headers (names lower-cased), plus `user-agent` and, on bodiless GETs, `content-length: 0`;
    /// never chunked.
    #[test]
    fn ureq_proto_writes_the_captured_head() {
        use ureq_proto::client::Call;
        for (file, text) in REQUESTS {
            let c = parse_capture(text);
            let (head, _) = text.split_once("\n\n").expect("head");
            let (req, endpoint, creds) = rebuild(file, &c);
            let signed = sign(&req, &endpoint, &creds, capture_time()).expect("signs");
            let mut call = Call::new(signed.request)
                .expect("ureq-proto accepts it")
                .proceed();
            let mut out = vec![0; 8192];
            let n = call.write(&mut out).expect("head fits");
            let wire = std::str::from_utf8(&out[..n]).expect("ascii");
            let mut ours: Vec<String> = wire.trim_end().split("\r\n").map(str::to_string).collect();
            let mut want: Vec<String> = head
                .lines()
                .enumerate()
                .map(|(i, l)| match (i, l.split_once(": ")) {
                    (0, _) | (_, None) => l.to_string(),
                    (_, Some((k, v))) => format!("{}: {v}", k.to_ascii_lowercase()),
                })
                .collect();
            want.push(format!("user-agent: {USER_AGENT}"));
            if c.method == "GET" {
                want.push("content-length: 0".to_string()); // botocore omits it on S3 GETs
            }
            assert_eq!(ours.remove(0), want.remove(0), "{file}: request line");
            ours.sort();
            want.sort();
            assert_eq!(ours, want, "{file}");
        }
    }

    #[test]
    fn token_header_is_sensitive_and_secret_absent() {
        let req = crate::aws::api::query::post(
            Service::Sts,
            "GetCallerIdentity",
            b"Action=GetCallerIdentity&Version=2011-06-15".to_vec(),
        );
        let ep = endpoint::resolve(Service::Sts, "us-east-1", &Default::default()).expect("ep");
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            SECRET,
            Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN".to_string()),
            None,
        );
        let signed = sign(&req, &ep, &creds, capture_time()).expect("signs");
        let token = signed
            .request
            .headers()
            .get("x-amz-security-token")
            .expect("token");
        assert!(token.is_sensitive());
        // The worked example in samples/misc/sigv4-worked-examples.txt (temporary credentials).
        assert_eq!(
            signed
                .request
                .headers()
                .get("authorization")
                .map(|v| v.to_str().expect("ascii")),
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260115/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=60f315ed95f86409e3944ffa49b4ae74125b712a1ae50b322355a7d631ec6d37"
            )
        );
        let all = format!("{:?}", signed.request.headers());
        assert!(!all.contains(SECRET));
    }

    #[test]
    fn override_port_goes_into_host_and_signature_scope() {
        let o = crate::aws::endpoint::EndpointOverrides {
            global: Some("http://127.0.0.1:5000".to_string()),
            per_service: Vec::new(),
        };
        let ep = endpoint::resolve(Service::Sqs, "eu-west-1", &o).expect("ep");
        let mut req = crate::aws::api::query::post(Service::Sqs, "GetQueueUrl", b"{}".to_vec());
        req.headers = vec![("content-type", "application/x-amz-json-1.0".to_string())];
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None, None);
        let signed = sign(&req, &ep, &creds, capture_time()).expect("signs");
        assert_eq!(signed.request.uri().to_string(), "http://127.0.0.1:5000/");
        assert_eq!(
            signed
                .request
                .headers()
                .get("host")
                .map(|v| v.to_str().expect("ascii")),
            Some("127.0.0.1:5000")
        );
        let auth = signed
            .request
            .headers()
            .get("authorization")
            .expect("auth")
            .to_str()
            .expect("ascii");
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260115/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, "), "{auth}");
    }

    #[test]
    fn control_characters_in_a_header_are_an_error_not_a_panic() {
        let mut req = crate::aws::api::query::post(Service::Sts, "GetCallerIdentity", Vec::new());
        req.headers.push(("range", "bytes=0-1\r\nx: y".to_string()));
        let ep = endpoint::resolve(Service::Sts, "us-east-1", &Default::default()).expect("ep");
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None, None);
        assert!(sign(&req, &ep, &creds, capture_time()).is_err());
    }
}
