//! S3 (REST-XML): read flow-log objects and find out where buckets live and which queue their
//! notifications go to (spec D.7, C).
//!
//! Requests carry the bucket separately ([`ApiRequest::bucket`]); the endpoint resolver puts it
//! in the host (virtual-hosted style) or in front of the path (path style). Keys are encoded
//! once, RFC 3986 style with `/` kept (`dir with space/a+b` → `dir%20with%20space/a%2Bb`), and
//! S3's SigV4 canonical URI is that path as-is.
//!
//! `GetObject` bodies are streamed by the driver: only the request and the response headers
//! are handled here. `GetBucketLocation`'s root element itself holds the region (empty means
//! `us-east-1`, the legacy `EU` means `eu-west-1`); `HeadBucket`'s `x-amz-bucket-region` is the
//! preferred source and is present even on 301/403 answers. `ListBuckets` pages with
//! `continuation-token` while `ContinuationToken` is returned.

use std::borrow::Cow;
use std::fmt;

use ureq_proto::http::HeaderMap;

use crate::aws::api::xml::{Element, XmlError, XmlReader};
use crate::aws::request::{ApiRequest, Service};

/// Cap on the small XML answers (location, notification configuration): documents of a few KiB.
pub const MAX_CONFIG_RESPONSE_BYTES: usize = 1 << 20;
/// `ListBuckets` `max-buckets`: "Valid Range: Minimum value of 1. Maximum value of 10000."
/// (S3 API Reference, ListBuckets).
pub const LIST_BUCKETS_MAX: u32 = 10_000;
/// Cap on a `ListBuckets` body: 10 000 buckets of ~250 bytes of XML.
pub const MAX_LIST_BUCKETS_RESPONSE_BYTES: usize = 16 << 20;
/// `x-amz-checksum-mode: ENABLED`, sent by botocore on every GetObject (response checksums).
const CHECKSUM_MODE: &str = "ENABLED";

/// Why an S3 response could not be read.
#[derive(Debug)]
pub enum S3Error {
    Xml {
        operation: &'static str,
        source: XmlError,
    },
    /// A response header that does not parse.
    Header {
        operation: &'static str,
        name: &'static str,
        value: String,
    },
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Error::Xml { operation, source } => write!(f, "s3 {operation} response: {source}"),
            S3Error::Header {
                operation,
                name,
                value,
            } => {
                write!(
                    f,
                    "s3 {operation} response: header {name}: {value:?} does not parse"
                )
            }
        }
    }
}

impl std::error::Error for S3Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            S3Error::Xml { source, .. } => Some(source),
            S3Error::Header { .. } => None,
        }
    }
}

/// Appends `s` percent-encoded: every byte outside `A-Za-z0-9-._~` as `%XX`, and `/` too
/// unless `keep_slash`.
fn percent_encode(out: &mut String, s: &str, keep_slash: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// The wire path of an object key: `/` + the key encoded with `/` kept.
pub fn object_path(key: &str) -> String {
    let mut path = String::with_capacity(key.len() + 16);
    path.push('/');
    percent_encode(&mut path, key, true);
    path
}

fn bucket_request(
    operation: &'static str,
    method: &'static str,
    bucket: &str,
    path: String,
    query: &str,
) -> ApiRequest {
    ApiRequest {
        service: Service::S3,
        operation,
        method,
        bucket: Some(bucket.to_string()),
        path,
        query: query.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

// ---------------------------------------------------------------- GetObject

/// `Range: bytes=first-last` (inclusive), or `bytes=first-` to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetObjectInput<'a> {
    pub bucket: &'a str,
    /// The decoded key (as `s3_event` returns it).
    pub key: &'a str,
    pub range: Option<ByteRange>,
    /// The ETag of the first response, so later ranges fail (412) if the object changed.
    pub if_match: Option<&'a str>,
}

pub fn get_object(input: &GetObjectInput<'_>) -> ApiRequest {
    let mut req = bucket_request("GetObject", "GET", input.bucket, object_path(input.key), "");
    if let Some(r) = input.range {
        let value = match r.last {
            Some(last) => format!("bytes={}-{last}", r.first),
            None => format!("bytes={}-", r.first),
        };
        req.headers.push(("range", value));
    }
    if let Some(etag) = input.if_match {
        req.headers.push(("if-match", etag.to_string()));
    }
    req.headers
        .push(("x-amz-checksum-mode", CHECKSUM_MODE.to_string()));
    req
}

/// `Content-Range: bytes first-last/complete` (complete `*` when unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub complete_length: Option<u64>,
}

/// The headers of a GetObject response that matter for streaming it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectHeaders<'a> {
    pub content_length: Option<u64>,
    /// Present on 206 answers.
    pub content_range: Option<ContentRange>,
    /// With its quotes, as `If-Match` wants it back.
    pub etag: Option<&'a str>,
    /// Informational only: flow-log objects are gzip whatever these say.
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    pub last_modified: Option<&'a str>,
}

fn header<'a>(
    operation: &'static str,
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, S3Error> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| S3Error::Header {
            operation,
            name,
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        }),
    }
}

fn parse_content_range(v: &str) -> Option<ContentRange> {
    let (range, complete) = v.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let complete_length = if complete == "*" {
        None
    } else {
        Some(complete.parse().ok()?)
    };
    let (first, last) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last).then_some(ContentRange {
        first,
        last,
        complete_length,
    })
}

/// Reads the GetObject response headers (status 200 or 206).
pub fn parse_get_object_headers(headers: &HeaderMap) -> Result<ObjectHeaders<'_>, S3Error> {
    const OP: &str = "GetObject";
    let bad = |name: &'static str, value: &str| S3Error::Header {
        operation: OP,
        name,
        value: value.to_string(),
    };
    let content_length = match header(OP, headers, "content-length")? {
        Some(v) => Some(v.parse().map_err(|_| bad("content-length", v))?),
        None => None,
    };
    let content_range = match header(OP, headers, "content-range")? {
        Some(v) => Some(parse_content_range(v).ok_or_else(|| bad("content-range", v))?),
        None => None,
    };
    Ok(ObjectHeaders {
        content_length,
        content_range,
        etag: header(OP, headers, "etag")?,
        content_type: header(OP, headers, "content-type")?,
        content_encoding: header(OP, headers, "content-encoding")?,
        last_modified: header(OP, headers, "last-modified")?,
    })
}

// ---------------------------------------------------------------- HeadBucket

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeadBucketOutput<'a> {
    /// `x-amz-bucket-region`: also on 301 and 403 answers.
    pub bucket_region: Option<&'a str>,
}

/// `HEAD /` on the bucket: whether it exists and may be read, and its region.
pub fn head_bucket(bucket: &str) -> ApiRequest {
    bucket_request("HeadBucket", "HEAD", bucket, "/".to_string(), "")
}

/// Reads the HeadBucket answer's headers (any status: the region header is the point).
pub fn parse_head_bucket_headers(headers: &HeaderMap) -> Result<HeadBucketOutput<'_>, S3Error> {
    Ok(HeadBucketOutput {
        bucket_region: header("HeadBucket", headers, "x-amz-bucket-region")?
            .filter(|r| !r.is_empty()),
    })
}

// ---------------------------------------------------------------- GetBucketLocation

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetBucketLocationOutput<'a> {
    /// The root element's text: `None` when empty.
    pub location_constraint: Option<&'a str>,
}

impl GetBucketLocationOutput<'_> {
    /// The bucket's region: empty is `us-east-1`, `EU` is `eu-west-1`.
    pub fn region(&self) -> &str {
        match self.location_constraint {
            None => "us-east-1",
            Some("EU") => "eu-west-1",
            Some(r) => r,
        }
    }
}

pub fn get_bucket_location(bucket: &str) -> ApiRequest {
    bucket_request(
        "GetBucketLocation",
        "GET",
        bucket,
        "/".to_string(),
        "location",
    )
}

pub fn parse_get_bucket_location(body: &[u8]) -> Result<GetBucketLocationOutput<'_>, S3Error> {
    let inner = || -> Result<GetBucketLocationOutput<'_>, XmlError> {
        let mut r = XmlReader::new(body, MAX_CONFIG_RESPONSE_BYTES)?;
        let root = r.root("LocationConstraint")?;
        let location_constraint = r.opt_str(&root)?;
        r.finish()?;
        Ok(GetBucketLocationOutput {
            location_constraint,
        })
    };
    inner().map_err(|source| S3Error::Xml {
        operation: "GetBucketLocation",
        source,
    })
}

// ---------------------------------------------------------------- GetBucketNotificationConfiguration

/// `Filter/S3Key/FilterRule`: `Name` is `prefix` or `suffix` (any case).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterRule<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
}

/// One `QueueConfiguration`, `TopicConfiguration` or `CloudFunctionConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationTarget<'a> {
    pub id: Option<Cow<'a, str>>,
    /// The queue, topic or function ARN.
    pub arn: Cow<'a, str>,
    /// `s3:ObjectCreated:*`, `s3:ObjectCreated:Put`, …
    pub events: Vec<Cow<'a, str>>,
    pub filter_rules: Vec<FilterRule<'a>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationConfiguration<'a> {
    pub queue_configurations: Vec<NotificationTarget<'a>>,
    pub topic_configurations: Vec<NotificationTarget<'a>>,
    pub lambda_function_configurations: Vec<NotificationTarget<'a>>,
    /// `<EventBridgeConfiguration/>` present: events also go to EventBridge.
    pub event_bridge_enabled: bool,
}

pub fn get_bucket_notification_configuration(bucket: &str) -> ApiRequest {
    bucket_request(
        "GetBucketNotificationConfiguration",
        "GET",
        bucket,
        "/".to_string(),
        "notification",
    )
}

pub fn parse_get_bucket_notification_configuration(
    body: &[u8],
) -> Result<NotificationConfiguration<'_>, S3Error> {
    let inner = || -> Result<NotificationConfiguration<'_>, XmlError> {
        let mut r = XmlReader::new(body, MAX_CONFIG_RESPONSE_BYTES)?;
        let root = r.root("NotificationConfiguration")?;
        let mut out = NotificationConfiguration::default();
        while let Some(c) = r.next_child(&root)? {
            match c.name() {
                "QueueConfiguration" => out
                    .queue_configurations
                    .push(parse_target(&mut r, &c, "Queue")?),
                "TopicConfiguration" => out
                    .topic_configurations
                    .push(parse_target(&mut r, &c, "Topic")?),
                "CloudFunctionConfiguration" => out
                    .lambda_function_configurations
                    .push(parse_target(&mut r, &c, "CloudFunction")?),
                "EventBridgeConfiguration" => out.event_bridge_enabled = true,
                _ => {}
            }
        }
        r.finish()?;
        Ok(out)
    };
    inner().map_err(|source| S3Error::Xml {
        operation: "GetBucketNotificationConfiguration",
        source,
    })
}

fn parse_target<'a>(
    r: &mut XmlReader<'a>,
    el: &Element<'a>,
    arn_element: &str,
) -> Result<NotificationTarget<'a>, XmlError> {
    let mut t = NotificationTarget::default();
    while let Some(c) = r.next_child(el)? {
        let name = c.name();
        if name == arn_element {
            t.arn = r.text(&c)?;
            continue;
        }
        match name {
            "Id" => t.id = r.opt_text(&c)?,
            "Event" => t.events.push(r.text(&c)?),
            "Filter" => {
                while let Some(key) = r.next_child(&c)? {
                    if key.name() != "S3Key" {
                        continue;
                    }
                    while let Some(rule) = r.next_child(&key)? {
                        if rule.name() != "FilterRule" {
                            continue;
                        }
                        let mut fr = FilterRule::default();
                        while let Some(f) = r.next_child(&rule)? {
                            match f.name() {
                                "Name" => fr.name = r.text(&f)?,
                                "Value" => fr.value = r.text(&f)?,
                                _ => {}
                            }
                        }
                        t.filter_rules.push(fr);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

// ---------------------------------------------------------------- ListBuckets

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListBucketsInput<'a> {
    /// 1..=10 000; without it S3 returns up to 10 000 buckets unpaged.
    pub max_buckets: Option<u32>,
    pub continuation_token: Option<&'a str>,
    pub prefix: Option<&'a str>,
    pub bucket_region: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketEntry<'a> {
    pub name: Cow<'a, str>,
    pub creation_date: Option<&'a str>,
    pub bucket_region: Option<&'a str>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListBucketsOutput<'a> {
    pub buckets: Vec<BucketEntry<'a>>,
    pub owner_id: Option<&'a str>,
    pub continuation_token: Option<Cow<'a, str>>,
}

/// `GET /` on the service endpoint (no bucket).
pub fn list_buckets(input: &ListBucketsInput<'_>) -> ApiRequest {
    // Parameters in canonical (sorted) order, values encoded once.
    let mut query = String::new();
    let mut param = |name: &str, value: &str| {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(name);
        query.push('=');
        percent_encode(&mut query, value, false);
    };
    if let Some(r) = input.bucket_region {
        param("bucket-region", r);
    }
    if let Some(t) = input.continuation_token {
        param("continuation-token", t);
    }
    if let Some(m) = input.max_buckets {
        param("max-buckets", &m.to_string());
    }
    if let Some(p) = input.prefix {
        param("prefix", p);
    }
    ApiRequest {
        service: Service::S3,
        operation: "ListBuckets",
        method: "GET",
        bucket: None,
        path: "/".to_string(),
        query,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

pub fn parse_list_buckets(body: &[u8]) -> Result<ListBucketsOutput<'_>, S3Error> {
    let inner = || -> Result<ListBucketsOutput<'_>, XmlError> {
        let mut r = XmlReader::new(body, MAX_LIST_BUCKETS_RESPONSE_BYTES)?;
        let root = r.root("ListAllMyBucketsResult")?;
        let mut out = ListBucketsOutput::default();
        while let Some(c) = r.next_child(&root)? {
            match c.name() {
                "Buckets" => {
                    while let Some(b) = r.next_child(&c)? {
                        if b.name() != "Bucket" {
                            continue;
                        }
                        let mut entry = BucketEntry::default();
                        while let Some(f) = r.next_child(&b)? {
                            match f.name() {
                                "Name" => entry.name = r.text(&f)?,
                                "CreationDate" => entry.creation_date = r.opt_str(&f)?,
                                "BucketRegion" => entry.bucket_region = r.opt_str(&f)?,
                                _ => {}
                            }
                        }
                        out.buckets.push(entry);
                    }
                }
                "Owner" => {
                    while let Some(o) = r.next_child(&c)? {
                        if o.name() == "ID" {
                            out.owner_id = r.opt_str(&o)?;
                        }
                    }
                }
                "ContinuationToken" => out.continuation_token = r.opt_text(&c)?,
                _ => {}
            }
        }
        r.finish()?;
        Ok(out)
    };
    inner().map_err(|source| S3Error::Xml {
        operation: "ListBuckets",
        source,
    })
}

#[cfg(test)]
#[path = "s3/tests.rs"]
mod tests;
