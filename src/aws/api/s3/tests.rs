//! S3 builders against botocore's captured requests (virtual-hosted samples and path-style moto
//! captures), parsers against botocore's parse of the same responses.

use super::*;
use crate::aws::api::json::test_support::{assert_prefixes_fail, botocore, header, split_http};
use ureq_proto::http::{HeaderName, HeaderValue};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/aws/", $name))
    };
}

/// Method, bucket-relative path, query and operation headers equal the captured request's.
fn assert_same_s3_request(ours: &ApiRequest, captured: &[u8]) {
    let (start, headers, body) = split_http(captured);
    assert!(body.is_empty() && ours.body.is_empty());
    let mut parts = start.split(' ');
    assert_eq!(parts.next(), Some(ours.method));
    let target = parts.next().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let host = header(&headers, "host").unwrap_or("127.0.0.1");
    let path = match &ours.bucket {
        // Virtual-hosted: the bucket is in the host.
        Some(b) if host.starts_with(&format!("{b}.")) => path.to_string(),
        // Path style: the path starts with the bucket.
        Some(b) => {
            let rest = path
                .strip_prefix(&format!("/{b}"))
                .expect("path-style path starts with the bucket");
            if rest.is_empty() {
                "/".to_string()
            } else {
                rest.to_string()
            }
        }
        None => path.to_string(),
    };
    assert_eq!(ours.path, path, "path");
    assert_eq!(ours.query, query, "query");
    for name in ["range", "if-match", "x-amz-checksum-mode"] {
        let ours_v = ours
            .headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str());
        assert_eq!(ours_v, header(&headers, name), "header {name}");
    }
}

fn header_map(raw: &[u8]) -> HeaderMap {
    let (_, headers, _) = split_http(raw);
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(&v).unwrap(),
        );
    }
    map
}

const KEY: &str = "prefix/AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0fedcba9876543210_20260115T1155Z_1a2b3c4d.log.gz";

#[test]
fn requests_match_botocore() {
    let range = Some(ByteRange {
        first: 0,
        last: Some(1_048_575),
    });
    assert_same_s3_request(
        &get_object(&GetObjectInput {
            bucket: "my-flow-log-bucket",
            key: KEY,
            range,
            if_match: None,
        }),
        fixture!("requests/s3_GetObject.request.txt"),
    );
    assert_same_s3_request(
        &get_object(&GetObjectInput {
            bucket: "my-flow-log-bucket",
            key: "a/b.log.gz",
            range: None,
            if_match: None,
        }),
        fixture!("requests/s3_GetObject_euwest1.request.txt"),
    );
    // Spec C: the key as decoded from the event, re-encoded RFC 3986 style with `/` kept.
    let key = "dir with space/a+b.log.gz";
    assert_same_s3_request(
        &get_object(&GetObjectInput {
            bucket: "my-flow-log-bucket",
            key,
            range: None,
            if_match: None,
        }),
        fixture!("requests/s3_GetObject_keyEncoding.request.txt"),
    );
    assert_same_s3_request(
        &get_object(&GetObjectInput {
            bucket: "flow-bucket-use1",
            key,
            range: Some(ByteRange {
                first: 10,
                last: Some(29),
            }),
            if_match: None,
        }),
        fixture!("requests/moto_s3_GetObject_range.request.txt"),
    );
    assert_same_s3_request(
        &get_bucket_location("my-flow-log-bucket"),
        fixture!("requests/s3_GetBucketLocation.request.txt"),
    );
    assert_same_s3_request(
        &get_bucket_location("flow-bucket-euw1"),
        fixture!("requests/moto_s3_GetBucketLocation_euWest1.request.txt"),
    );
    assert_same_s3_request(
        &get_bucket_notification_configuration("my-flow-log-bucket"),
        fixture!("requests/s3_GetBucketNotificationConfiguration.request.txt"),
    );
    assert_same_s3_request(
        &head_bucket("flow-bucket-euw1"),
        fixture!("requests/moto_s3_HeadBucket.request.txt"),
    );
    assert_same_s3_request(
        &list_buckets(&ListBucketsInput::default()),
        fixture!("requests/moto_s3_ListBuckets.request.txt"),
    );
}

#[test]
fn optional_request_parts() {
    let req = get_object(&GetObjectInput {
        bucket: "b",
        key: "k",
        range: Some(ByteRange {
            first: 5,
            last: None,
        }),
        if_match: Some("\"a1b2\""),
    });
    assert_eq!(
        req.headers,
        vec![
            ("range", "bytes=5-".to_string()),
            ("if-match", "\"a1b2\"".to_string()),
            ("x-amz-checksum-mode", "ENABLED".to_string())
        ]
    );
    assert_eq!(object_path("é~x/ y+z=%"), "/%C3%A9~x/%20y%2Bz%3D%25");
    let req = list_buckets(&ListBucketsInput {
        max_buckets: Some(100),
        continuation_token: Some("a+b/c="),
        prefix: Some("flow"),
        bucket_region: None,
    });
    assert_eq!(
        req.query,
        "continuation-token=a%2Bb%2Fc%3D&max-buckets=100&prefix=flow"
    );
    assert_eq!((req.bucket, req.path.as_str()), (None, "/"));
}

#[test]
fn get_object_headers_match_botocore() {
    for (raw, want_range) in [
        (
            &fixture!("responses/s3_GetObject.response.txt")[..],
            ContentRange {
                first: 0,
                last: 1838,
                complete_length: Some(1839),
            },
        ),
        (
            fixture!("responses/moto_s3_GetObject_range.response.txt"),
            ContentRange {
                first: 10,
                last: 29,
                complete_length: Some(100),
            },
        ),
    ] {
        let map = header_map(raw);
        let got = parse_get_object_headers(&map).unwrap();
        assert_eq!(got.content_range, Some(want_range));
        assert_eq!(
            got.content_length,
            Some(want_range.last - want_range.first + 1)
        );
    }
    let map = header_map(fixture!("responses/s3_GetObject.response.txt"));
    let got = parse_get_object_headers(&map).unwrap();
    let want = botocore(fixture!("responses/s3_GetObject.parsed-by-botocore.json"));
    assert_eq!(got.content_length, want["ContentLength"].as_u64());
    assert_eq!(got.etag, want["ETag"].as_str());
    assert_eq!(got.content_type, want["ContentType"].as_str());
    assert_eq!(got.content_encoding, None);
    assert_eq!(got.last_modified, Some("Thu, 15 Jan 2026 11:58:12 GMT"));
    let range = want["ContentRange"].as_str().unwrap();
    assert_eq!(parse_content_range(range), got.content_range);

    let mut bad = HeaderMap::new();
    bad.insert("content-range", HeaderValue::from_static("bytes 9-3/10"));
    assert!(matches!(
        parse_get_object_headers(&bad),
        Err(S3Error::Header {
            name: "content-range",
            ..
        })
    ));
    bad.insert("content-range", HeaderValue::from_static("bytes 0-3/*"));
    bad.insert("content-length", HeaderValue::from_static("-1"));
    assert!(matches!(
        parse_get_object_headers(&bad),
        Err(S3Error::Header {
            name: "content-length",
            ..
        })
    ));
}

#[test]
fn head_bucket_reads_the_region_header() {
    let map = header_map(fixture!("responses/moto_s3_HeadBucket.response.txt"));
    assert_eq!(
        parse_head_bucket_headers(&map).unwrap().bucket_region,
        Some("eu-west-1")
    );
    assert_eq!(
        parse_head_bucket_headers(&HeaderMap::new())
            .unwrap()
            .bucket_region,
        None
    );
}

#[test]
fn bucket_location_matches_botocore() {
    for (raw, parsed, region) in [
        (
            &fixture!("responses/s3_GetBucketLocation.response.txt")[..],
            &fixture!("responses/s3_GetBucketLocation.parsed-by-botocore.json")[..],
            "eu-west-1",
        ),
        (
            fixture!("responses/s3_GetBucketLocation_usEast1.response.txt"),
            fixture!("responses/s3_GetBucketLocation_usEast1.parsed-by-botocore.json"),
            "us-east-1",
        ),
        (
            fixture!("responses/moto_s3_GetBucketLocation_euWest1.response.txt"),
            fixture!("responses/moto_s3_GetBucketLocation_euWest1.parsed-by-botocore.json"),
            "eu-west-1",
        ),
        (
            fixture!("responses/moto_s3_GetBucketLocation_usEast1.response.txt"),
            fixture!("responses/moto_s3_GetBucketLocation_usEast1.parsed-by-botocore.json"),
            "us-east-1",
        ),
    ] {
        let body = split_http(raw).2;
        let out = parse_get_bucket_location(body).unwrap();
        assert_eq!(
            out.location_constraint,
            botocore(parsed)["LocationConstraint"].as_str()
        );
        assert_eq!(out.region(), region);
        assert_prefixes_fail(body, |b| parse_get_bucket_location(b).is_ok());
    }
    let legacy = parse_get_bucket_location(b"<LocationConstraint>EU</LocationConstraint>").unwrap();
    assert_eq!(legacy.region(), "eu-west-1");
}

fn check_targets(got: &[NotificationTarget<'_>], want: &serde_json::Value, arn_key: &str) {
    let want = want.as_array().map_or(&[][..], |a| a.as_slice());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.id.as_deref(), w["Id"].as_str());
        assert_eq!(g.arn, w[arn_key].as_str().unwrap());
        let events: Vec<&str> = w["Events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert_eq!(g.events, events);
        let rules = w["Filter"]["Key"]["FilterRules"]
            .as_array()
            .map_or(&[][..], |a| a.as_slice());
        assert_eq!(g.filter_rules.len(), rules.len());
        for (r, wr) in g.filter_rules.iter().zip(rules) {
            assert_eq!(r.name, wr["Name"].as_str().unwrap());
            assert_eq!(r.value, wr["Value"].as_str().unwrap());
        }
    }
}

#[test]
fn notification_configuration_matches_botocore() {
    for (raw, parsed) in [
        (
            &fixture!("responses/s3_GetBucketNotificationConfiguration.response.txt")[..],
            &fixture!("responses/s3_GetBucketNotificationConfiguration.parsed-by-botocore.json")[..],
        ),
        (
            fixture!("responses/moto_s3_GetBucketNotificationConfiguration.response.txt"),
            fixture!(
                "responses/moto_s3_GetBucketNotificationConfiguration.parsed-by-botocore.json"
            ),
        ),
    ] {
        let body = split_http(raw).2;
        let out = parse_get_bucket_notification_configuration(body).unwrap();
        let want = botocore(parsed);
        check_targets(
            &out.queue_configurations,
            &want["QueueConfigurations"],
            "QueueArn",
        );
        check_targets(
            &out.topic_configurations,
            &want["TopicConfigurations"],
            "TopicArn",
        );
        check_targets(
            &out.lambda_function_configurations,
            &want["LambdaFunctionConfigurations"],
            "LambdaFunctionArn",
        );
        assert_eq!(
            out.event_bridge_enabled,
            !want["EventBridgeConfiguration"].is_null()
        );
        assert_prefixes_fail(body, |b| {
            parse_get_bucket_notification_configuration(b).is_ok()
        });
    }
}

#[test]
fn list_buckets_matches_botocore() {
    let raw = fixture!("responses/moto_s3_ListBuckets.response.txt");
    let body = split_http(raw).2;
    let out = parse_list_buckets(body).unwrap();
    let want = botocore(fixture!(
        "responses/moto_s3_ListBuckets.parsed-by-botocore.json"
    ));
    let buckets = want["Buckets"].as_array().unwrap();
    assert_eq!(out.buckets.len(), buckets.len());
    for (g, w) in out.buckets.iter().zip(buckets) {
        assert_eq!(g.name, w["Name"].as_str().unwrap());
        assert_eq!(g.bucket_region, w["BucketRegion"].as_str());
        assert!(g.creation_date.is_some());
    }
    assert_eq!(out.owner_id, want["Owner"]["ID"].as_str());
    assert_eq!(
        out.continuation_token.as_deref(),
        want["ContinuationToken"].as_str()
    );
    assert_prefixes_fail(body, |b| parse_list_buckets(b).is_ok());
}

#[test]
fn error_bodies_are_not_mistaken_for_answers() {
    let body = split_http(fixture!("responses/s3_error_SlowDown.response.txt")).2;
    let err = parse_get_bucket_location(body).unwrap_err();
    assert_eq!(
        err.to_string(),
        "s3 GetBucketLocation response: XML root element is <Error>, expected <LocationConstraint>"
    );
}
