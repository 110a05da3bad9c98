//! Where a request goes: the host, port and scheme for a (service, region), and the final URI of
//! an [`ApiRequest`] there.
//!
//! Rules (botocore `data/endpoints.json` / `partitions.json`, spec.md D.0):
//! - Partition by region prefix: `cn-*` → `amazonaws.com.cn` (aws-cn), `us-gov-*` →
//!   `amazonaws.com` (aws-us-gov), everything else → `amazonaws.com` (aws).
//! - Every service, STS included, uses the regional host `{signing name}.{region}.{suffix}`
//!   (botocore's STS default is regional; the legacy global `sts.amazonaws.com` is never used).
//! - S3 is virtual-hosted (`{bucket}.s3.{region}.{suffix}`) unless the bucket name cannot be a
//!   DNS label under the certificate's wildcard (dots, upper case, `_`): then path style
//!   (`s3.{region}.{suffix}/{bucket}/…`).
//! - `AWS_ENDPOINT_URL_<SERVICE>` beats `AWS_ENDPOINT_URL`; with either, S3 is path style (local
//!   emulators such as moto need it) and plain `http://` is allowed. The caller reads the
//!   environment and passes the values in [`EndpointOverrides`].

use std::fmt;

use crate::aws::request::{ApiRequest, Service};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    Https,
    /// Only from an override (a local emulator).
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Https => 443,
            Scheme::Http => 80,
        }
    }
}

/// A resolved service endpoint in one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub scheme: Scheme,
    /// DNS name or IP literal (IPv6 without brackets), without the bucket.
    pub host: String,
    pub port: u16,
    /// Path of an override URL (`http://host:4566/prefix` → `/prefix`), `""` normally.
    pub path_prefix: String,
    /// S3 only: put the bucket in the path for every bucket.
    pub s3_path_style: bool,
    /// Region of the SigV4 credential scope.
    pub signing_region: String,
}

/// Endpoint URLs from `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (the caller reads them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    pub global: Option<String>,
    pub per_service: Vec<(Service, String)>,
}

impl EndpointOverrides {
    /// The override for `service`: its own first, then the global one.
    pub fn for_service(&self, service: Service) -> Option<&str> {
        self.per_service
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, url)| url.as_str())
            .or(self.global.as_deref())
    }
}

/// Where an [`ApiRequest`] goes on an [`Endpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The name (or IP literal, IPv6 without brackets) to connect to and verify TLS against:
    /// the endpoint host, prefixed with the bucket for virtual-hosted S3.
    pub connect_host: String,
    /// `Host` header value: host, plus `:port` when not the scheme's default.
    pub host_header: String,
    /// Origin-form request target: the wire path, then `?query` if any.
    pub path_and_query: String,
    /// Absolute URI (`scheme://host_header/path?query`), what the signer and ureq-proto take.
    pub uri: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointError {
    /// A region that cannot be part of a host name.
    BadRegion { region: String },
    /// An `AWS_ENDPOINT_URL*` value we cannot use.
    BadOverride { url: String, reason: &'static str },
    /// A bucket name with characters that cannot appear in a host or path unescaped.
    BadBucket { bucket: String },
    /// A bucket on a request to a service other than S3.
    BucketMismatch {
        service: Service,
        operation: &'static str,
    },
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::BadRegion { region } => {
                write!(
                    f,
                    "invalid AWS region {region:?}: expected lower-case letters, digits and '-'"
                )
            }
            EndpointError::BadOverride { url, reason } => {
                write!(f, "invalid endpoint URL {url:?}: {reason}")
            }
            EndpointError::BadBucket { bucket } => write!(f, "invalid S3 bucket name {bucket:?}"),
            EndpointError::BucketMismatch { service, operation } => {
                write!(
                    f,
                    "{}:{operation}: only S3 requests may name a bucket",
                    service.signing_name()
                )
            }
        }
    }
}

impl std::error::Error for EndpointError {}

/// The DNS suffix of the partition `region` belongs to.
pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        // aws and aws-us-gov share the suffix.
        "amazonaws.com"
    }
}

/// Resolves the endpoint of `service` in `region`, honouring overrides.
pub fn resolve(
    service: Service,
    region: &str,
    overrides: &EndpointOverrides,
) -> Result<Endpoint, EndpointError> {
    let region_ok = !region.is_empty()
        && region.len() <= 63
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(EndpointError::BadRegion {
            region: region.to_string(),
        });
    }
    if let Some(url) = overrides.for_service(service) {
        return parse_override(url, region);
    }
    Ok(Endpoint {
        scheme: Scheme::Https,
        host: format!("{}.{region}.{}", service.signing_name(), dns_suffix(region)),
        port: 443,
        path_prefix: String::new(),
        s3_path_style: false,
        signing_region: region.to_string(),
    })
}

fn parse_override(url: &str, region: &str) -> Result<Endpoint, EndpointError> {
    let bad = |reason| EndpointError::BadOverride {
        url: url.to_string(),
        reason,
    };
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else {
        return Err(bad("expected http:// or https://"));
    };
    if rest.contains(['?', '#']) {
        return Err(bad("query and fragment are not allowed"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(bad("user info is not allowed"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed '[' in IPv6 host"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(bad("unexpected text after ']'")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
    {
        return Err(bad("missing or invalid host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("invalid port"))?,
        None => scheme.default_port(),
    };
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("invalid path"));
    }
    Ok(Endpoint {
        scheme,
        host: host.to_string(),
        port,
        path_prefix: path.trim_end_matches('/').to_string(),
        s3_path_style: true,
        signing_region: region.to_string(),
    })
}

/// Whether `bucket` can be the first label of `{bucket}.s3.{region}.amazonaws.com` and still
/// match the `*.s3.{region}.amazonaws.com` certificate: one DNS label of lower-case letters,
/// digits and '-', 3–63 long (S3 bucket naming rules; names with dots need path style).
pub fn is_virtual_hostable(bucket: &str) -> bool {
    let b = bucket.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(|c| *c != b'-')
        && b.last().is_some_and(|c| *c != b'-')
}

/// The host header, path and URI of `req` sent to `ep`.
pub fn target(req: &ApiRequest, ep: &Endpoint) -> Result<Target, EndpointError> {
    let mismatch = || EndpointError::BucketMismatch {
        service: req.service,
        operation: req.operation,
    };
    let mut host = String::with_capacity(ep.host.len() + 70);
    let mut path = String::with_capacity(ep.path_prefix.len() + req.path.len() + 70);
    path.push_str(&ep.path_prefix);
    match (&req.bucket, req.service == Service::S3) {
        (Some(bucket), true) => {
            // Legacy us-east-1 names may hold upper case and '_': still path-safe.
            let path_safe = !bucket.is_empty()
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
            if !path_safe {
                return Err(EndpointError::BadBucket {
                    bucket: bucket.clone(),
                });
            }
            if ep.s3_path_style || !is_virtual_hostable(bucket) {
                path.push('/');
                path.push_str(bucket);
                // `/{Bucket}` for bucket operations, `/{Bucket}/{Key+}` for objects (botocore).
                if req.path != "/" {
                    path.push_str(&req.path);
                }
            } else {
                host.push_str(bucket);
                host.push('.');
                path.push_str(&req.path);
            }
        }
        // Service-level S3 operations (ListBuckets) have no bucket.
        (None, _) => path.push_str(&req.path),
        (Some(_), false) => return Err(mismatch()),
    }
    if path.is_empty() {
        path.push('/');
    }
    let v6 = ep.host.contains(':');
    let connect_host = format!("{host}{}", ep.host);
    if v6 {
        host.push('[');
    }
    host.push_str(&ep.host);
    if v6 {
        host.push(']');
    }
    if ep.port != ep.scheme.default_port() {
        host.push(':');
        host.push_str(&ep.port.to_string());
    }
    if !req.query.is_empty() {
        path.push('?');
        path.push_str(&req.query);
    }
    let uri = format!("{}://{host}{path}", ep.scheme.as_str());
    Ok(Target {
        connect_host,
        host_header: host,
        path_and_query: path,
        uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> EndpointOverrides {
        EndpointOverrides::default()
    }

    fn req(service: Service, bucket: Option<&str>, path: &str, query: &str) -> ApiRequest {
        ApiRequest {
            service,
            operation: "Op",
            method: "GET",
            bucket: bucket.map(str::to_string),
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn partitions_and_services() {
        let table = [
            (Service::Ec2, "us-east-1", "ec2.us-east-1.amazonaws.com"),
            (
                Service::Ec2,
                "cn-north-1",
                "ec2.cn-north-1.amazonaws.com.cn",
            ),
            (Service::Sts, "us-east-1", "sts.us-east-1.amazonaws.com"),
            (Service::Sts, "eu-west-1", "sts.eu-west-1.amazonaws.com"),
            (
                Service::Sts,
                "cn-northwest-1",
                "sts.cn-northwest-1.amazonaws.com.cn",
            ),
            (
                Service::Sts,
                "us-gov-west-1",
                "sts.us-gov-west-1.amazonaws.com",
            ),
            (
                Service::Logs,
                "us-gov-east-1",
                "logs.us-gov-east-1.amazonaws.com",
            ),
            (Service::Sqs, "eu-west-1", "sqs.eu-west-1.amazonaws.com"),
            (
                Service::Kinesis,
                "ap-southeast-2",
                "kinesis.ap-southeast-2.amazonaws.com",
            ),
            (
                Service::DynamoDb,
                "us-east-1",
                "dynamodb.us-east-1.amazonaws.com",
            ),
            (
                Service::Monitoring,
                "us-east-1",
                "monitoring.us-east-1.amazonaws.com",
            ),
            (Service::S3, "eu-west-1", "s3.eu-west-1.amazonaws.com"),
            (Service::S3, "cn-north-1", "s3.cn-north-1.amazonaws.com.cn"),
        ];
        for (service, region, host) in table {
            let ep = resolve(service, region, &none()).expect("resolves");
            assert_eq!(ep.host, host);
            assert_eq!(
                (ep.scheme, ep.port, ep.path_prefix.as_str()),
                (Scheme::Https, 443, "")
            );
            assert_eq!(ep.signing_region, region);
            assert!(!ep.s3_path_style);
        }
    }

    #[test]
    fn bad_regions_are_rejected() {
        for r in ["", "US-EAST-1", "us-east-1.evil.com", "us east", "a/b"] {
            assert!(
                matches!(
                    resolve(Service::Ec2, r, &none()),
                    Err(EndpointError::BadRegion { .. })
                ),
                "{r}"
            );
        }
    }

    #[test]
    fn overrides_service_beats_global() {
        let o = EndpointOverrides {
            global: Some("http://localhost:4566".to_string()),
            per_service: vec![(Service::S3, "https://s3.local.test/base/".to_string())],
        };
        let sqs = resolve(Service::Sqs, "eu-west-1", &o).expect("sqs");
        assert_eq!(
            sqs,
            Endpoint {
                scheme: Scheme::Http,
                host: "localhost".to_string(),
                port: 4566,
                path_prefix: String::new(),
                s3_path_style: true,
                signing_region: "eu-west-1".to_string(),
            }
        );
        let s3 = resolve(Service::S3, "eu-west-1", &o).expect("s3");
        assert_eq!(
            (
                s3.scheme,
                s3.host.as_str(),
                s3.port,
                s3.path_prefix.as_str()
            ),
            (Scheme::Https, "s3.local.test", 443, "/base")
        );
        assert!(s3.s3_path_style);
        let t = target(
            &req(Service::S3, Some("my-flow-log-bucket"), "/a/b.log.gz", ""),
            &s3,
        )
        .expect("target");
        assert_eq!(
            t.uri,
            "https://s3.local.test/base/my-flow-log-bucket/a/b.log.gz"
        );
        assert_eq!(t.host_header, "s3.local.test");
    }

    #[test]
    fn override_ipv6_and_errors() {
        let o = EndpointOverrides {
            global: Some("http://[::1]:5000".to_string()),
            per_service: Vec::new(),
        };
        let ep = resolve(Service::Sts, "us-east-1", &o).expect("v6");
        assert_eq!((ep.host.as_str(), ep.port), ("::1", 5000));
        let t = target(&req(Service::Sts, None, "/", ""), &ep).expect("target");
        assert_eq!(t.host_header, "[::1]:5000");
        assert_eq!(t.uri, "http://[::1]:5000/");
        assert_eq!(t.connect_host, "::1", "connect to the bare address");
        for bad in [
            "ftp://x",
            "localhost:4566",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://u@h",
            "http://h/?q",
            "http://[::1",
        ] {
            let o = EndpointOverrides {
                global: Some(bad.to_string()),
                per_service: Vec::new(),
            };
            assert!(
                matches!(
                    resolve(Service::Sts, "us-east-1", &o),
                    Err(EndpointError::BadOverride { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn s3_virtual_hosted_and_path_style() {
        let ep = resolve(Service::S3, "us-east-1", &none()).expect("s3");
        let t = target(
            &req(
                Service::S3,
                Some("my-flow-log-bucket"),
                "/dir%20with%20space/a%2Bb.log.gz",
                "",
            ),
            &ep,
        )
        .expect("t");
        assert_eq!(
            t.host_header,
            "my-flow-log-bucket.s3.us-east-1.amazonaws.com"
        );
        assert_eq!(t.path_and_query, "/dir%20with%20space/a%2Bb.log.gz");
        assert_eq!(
            t.connect_host, t.host_header,
            "the bucket is part of the host"
        );
        let t = target(
            &req(Service::S3, Some("my-flow-log-bucket"), "/", "notification"),
            &ep,
        )
        .expect("t");
        assert_eq!(
            t.uri,
            "https://my-flow-log-bucket.s3.us-east-1.amazonaws.com/?notification"
        );
        // Dots (and legacy upper case) go path style: `/{Bucket}` for bucket operations.
        let t = target(
            &req(Service::S3, Some("flow.logs.example"), "/", "location"),
            &ep,
        )
        .expect("t");
        assert_eq!(
            t.uri,
            "https://s3.us-east-1.amazonaws.com/flow.logs.example?location"
        );
        let t = target(&req(Service::S3, Some("Legacy_Bucket"), "/k", ""), &ep).expect("t");
        assert_eq!(t.uri, "https://s3.us-east-1.amazonaws.com/Legacy_Bucket/k");
        assert!(matches!(
            target(&req(Service::S3, Some("a/b"), "/", ""), &ep),
            Err(EndpointError::BadBucket { .. })
        ));
        let t = target(&req(Service::S3, None, "/", "max-buckets=10"), &ep).expect("ListBuckets");
        assert_eq!(t.uri, "https://s3.us-east-1.amazonaws.com/?max-buckets=10");
        let ec2 = resolve(Service::Ec2, "us-east-1", &none()).expect("ec2");
        assert!(matches!(
            target(&req(Service::Ec2, Some("b"), "/", ""), &ec2),
            Err(EndpointError::BucketMismatch { .. })
        ));
    }

    #[test]
    fn virtual_hostable_names() {
        for (name, ok) in [
            ("abc", true),
            ("my-flow-log-bucket", true),
            ("ab", false),
            ("a.b.c", false),
            ("-ab", false),
            ("ab-", false),
            ("Abc", false),
            ("a_b", false),
        ] {
            assert_eq!(is_virtual_hostable(name), ok, "{name}");
        }
    }
}
