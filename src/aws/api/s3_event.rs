//! S3 event notifications as they arrive in SQS message bodies (spec C), in the three shapes
//! S3 produces:
//!
//! ```text
//! {"Records":[…]}                                   direct S3 → SQS (or SNS with raw delivery)
//! {"Type":"Notification","Message":"<S3 JSON>",…}   S3 → SNS → SQS: parse `Message` again
//! {"Event":"s3:TestEvent",…}                        sent once when the notification is set up
//! ```
//!
//! Object keys arrive form-encoded (`+` is a space, `%XX` a byte): [`S3EventRecord::key`] is
//! the decoded key, ready for `s3::get_object` (which encodes it again for the path).
//! Events can repeat and arrive out of order; `sequencer` orders events of one key.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use crate::aws::api::json::de_opt_cow;

/// Cap on a message body: SQS messages are at most 1 MiB ("The maximum is 1,048,576 bytes",
/// SQS quotas).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Why a message body is not an S3 notification.
#[derive(Debug)]
pub enum S3EventError {
    TooLarge {
        len: usize,
    },
    /// Not JSON, or a known shape with missing/mistyped members.
    Malformed(serde_json::Error),
    /// JSON, but none of the three shapes (EventBridge-routed events, foreign messages).
    UnknownShape,
    /// An object key whose `%XX` escapes are invalid or decode to non-UTF-8.
    BadKey {
        key: String,
    },
}

impl fmt::Display for S3EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3EventError::TooLarge { len } => {
                write!(
                    f,
                    "S3 notification body of {len} bytes exceeds the {MAX_BODY_BYTES}-byte SQS limit"
                )
            }
            S3EventError::Malformed(e) => write!(f, "S3 notification body is malformed: {e}"),
            S3EventError::UnknownShape => {
                write!(
                    f,
                    "SQS message is not an S3 notification (no Records, SNS Message or s3:TestEvent)"
                )
            }
            S3EventError::BadKey { key } => write!(
                f,
                "S3 notification carries an undecodable object key {key:?}"
            ),
        }
    }
}

impl std::error::Error for S3EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            S3EventError::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// One record of `Records` (only the members the agent uses).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3EventRecord<'a> {
    /// `2.1`, `2.2`, … (compare the major version exactly).
    pub event_version: Option<Cow<'a, str>>,
    /// `aws:s3`
    pub event_source: Option<Cow<'a, str>>,
    pub aws_region: Option<Cow<'a, str>>,
    /// ISO-8601 with milliseconds.
    pub event_time: Option<Cow<'a, str>>,
    /// Without the `s3:` prefix: `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`, …
    pub event_name: Cow<'a, str>,
    pub bucket: Cow<'a, str>,
    pub bucket_arn: Option<Cow<'a, str>>,
    /// Decoded (`flow+logs/…` arrives, `flow logs/…` is stored here).
    pub key: Cow<'a, str>,
    pub size: Option<u64>,
    pub etag: Option<Cow<'a, str>>,
    pub version_id: Option<Cow<'a, str>>,
    /// Hex; for one key, right-pad the shorter with `0`s and compare as text.
    pub sequencer: Option<Cow<'a, str>>,
}

impl S3EventRecord<'_> {
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }

    /// Detaches the record from the body it was parsed from.
    pub fn into_owned(self) -> S3EventRecord<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        S3EventRecord {
            event_version: self.event_version.map(own),
            event_source: self.event_source.map(own),
            aws_region: self.aws_region.map(own),
            event_time: self.event_time.map(own),
            event_name: own(self.event_name),
            bucket: own(self.bucket),
            bucket_arn: self.bucket_arn.map(own),
            key: own(self.key),
            size: self.size,
            etag: self.etag.map(own),
            version_id: self.version_id.map(own),
            sequencer: self.sequencer.map(own),
        }
    }
}

/// What an SQS message from an S3 notification says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S3Notification<'a> {
    /// Object events; `via_sns` when they came wrapped in an SNS envelope.
    Records {
        records: Vec<S3EventRecord<'a>>,
        via_sns: bool,
    },
    /// The `s3:TestEvent` S3 sends when a notification is configured: acknowledge and ignore.
    Test {
        bucket: Option<Cow<'a, str>>,
        via_sns: bool,
    },
}

// The wire shapes. One struct covers all three; which members are present tells the shape.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<WireRecord<'a>>>,
    #[serde(rename = "Type", borrow, default, deserialize_with = "de_opt_cow")]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow, default, deserialize_with = "de_opt_cow")]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "Event", borrow, default, deserialize_with = "de_opt_cow")]
    event: Option<Cow<'a, str>>,
    #[serde(rename = "Bucket", borrow, default, deserialize_with = "de_opt_cow")]
    bucket: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRecord<'a> {
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Cow<'a, str>,
    #[serde(borrow)]
    s3: WireS3<'a>,
}

#[derive(Deserialize)]
struct WireS3<'a> {
    #[serde(borrow)]
    bucket: WireBucket<'a>,
    #[serde(borrow)]
    object: WireObject<'a>,
}

#[derive(Deserialize)]
struct WireBucket<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    arn: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireObject<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    e_tag: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    version_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "de_opt_cow")]
    sequencer: Option<Cow<'a, str>>,
}

/// Parses an SQS message body carrying an S3 notification.
pub fn parse_s3_notification(body: &str) -> Result<S3Notification<'_>, S3EventError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(S3EventError::TooLarge { len: body.len() });
    }
    let outer: Body<'_> = serde_json::from_str(body).map_err(S3EventError::Malformed)?;
    if outer.kind.as_deref() == Some("Notification")
        && let Some(message) = outer.message
    {
        // The inner document borrows from `message`, which this function owns when it
        // was escaped (always, in practice): detach the result from it.
        return Ok(match parse_direct(&message, true)? {
            S3Notification::Records { records, via_sns } => S3Notification::Records {
                records: records.into_iter().map(S3EventRecord::into_owned).collect(),
                via_sns,
            },
            S3Notification::Test { bucket, via_sns } => S3Notification::Test {
                bucket: bucket.map(|b| Cow::Owned(b.into_owned())),
                via_sns,
            },
        });
    }
    from_body(outer, false)
}

fn parse_direct(body: &str, via_sns: bool) -> Result<S3Notification<'_>, S3EventError> {
    let inner: Body<'_> = serde_json::from_str(body).map_err(S3EventError::Malformed)?;
    from_body(inner, via_sns)
}

fn from_body(body: Body<'_>, via_sns: bool) -> Result<S3Notification<'_>, S3EventError> {
    if let Some(records) = body.records {
        let records = records
            .into_iter()
            .map(record)
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(S3Notification::Records { records, via_sns });
    }
    if body.event.as_deref() == Some("s3:TestEvent") {
        return Ok(S3Notification::Test {
            bucket: body.bucket,
            via_sns,
        });
    }
    Err(S3EventError::UnknownShape)
}

fn record(w: WireRecord<'_>) -> Result<S3EventRecord<'_>, S3EventError> {
    let key = form_decode(w.s3.object.key)?;
    Ok(S3EventRecord {
        event_version: w.event_version,
        event_source: w.event_source,
        aws_region: w.aws_region,
        event_time: w.event_time,
        event_name: w.event_name,
        bucket: w.s3.bucket.name,
        bucket_arn: w.s3.bucket.arn,
        key,
        size: w.s3.object.size,
        etag: w.s3.object.e_tag,
        version_id: w.s3.object.version_id,
        sequencer: w.s3.object.sequencer,
    })
}

/// `application/x-www-form-urlencoded` decoding of a key: `+` → space, then `%XX` → byte.
/// Borrows when there is nothing to decode.
pub fn form_decode(key: Cow<'_, str>) -> Result<Cow<'_, str>, S3EventError> {
    if !key.bytes().any(|b| b == b'+' || b == b'%') {
        return Ok(key);
    }
    let bad = || S3EventError::BadKey {
        key: key.to_string(),
    };
    let src = key.as_bytes();
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = src.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/s3-events/",
                $name
            ))
        };
    }

    const EXPECTED_KEY: &str = fixture!("expected-decoded-key.txt");

    fn check_records(n: &S3Notification<'_>, want_sns: bool) {
        let S3Notification::Records { records, via_sns } = n else {
            panic!("not records: {n:?}")
        };
        assert_eq!(*via_sns, want_sns);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!(r.key, EXPECTED_KEY.trim_end_matches('\n'));
        assert_eq!(r.bucket, "my-flow-log-bucket");
        assert_eq!(
            r.bucket_arn.as_deref(),
            Some("arn:aws:s3:::my-flow-log-bucket")
        );
        assert_eq!(r.event_name, "ObjectCreated:Put");
        assert!(r.is_object_created());
        assert_eq!(r.event_version.as_deref(), Some("2.1"));
        assert_eq!(r.event_source.as_deref(), Some("aws:s3"));
        assert_eq!(r.aws_region.as_deref(), Some("us-east-1"));
        assert_eq!(r.event_time.as_deref(), Some("2026-01-15T11:58:12.345Z"));
        assert_eq!(r.size, Some(1839));
        assert_eq!(r.etag.as_deref(), Some("a1b2c3d4e5f60718293a4b5c6d7e8f90"));
        assert_eq!(r.sequencer.as_deref(), Some("0065A50E2F4B1C3D2E"));
        assert_eq!(r.version_id, None);
    }

    #[test]
    fn direct_and_sns_wrapped_records() {
        check_records(
            &parse_s3_notification(fixture!("sqs-body-direct.json")).unwrap(),
            false,
        );
        check_records(
            &parse_s3_notification(fixture!("sqs-body-sns-wrapped.json")).unwrap(),
            true,
        );
    }

    #[test]
    fn test_events_direct_and_wrapped() {
        for (body, sns) in [
            (fixture!("sqs-body-s3-test-event.json"), false),
            (fixture!("sqs-body-sns-wrapped-test-event.json"), true),
        ] {
            let n = parse_s3_notification(body).unwrap();
            assert_eq!(
                n,
                S3Notification::Test {
                    bucket: Some(Cow::Borrowed("my-flow-log-bucket")),
                    via_sns: sns
                }
            );
        }
    }

    #[test]
    fn the_sqs_sample_body_parses() {
        // The body inside samples/aws-api/sqs_ReceiveMessage (the unwrapped, key-without-`+` case).
        let raw = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/responses/sqs_ReceiveMessage.response.txt"
        ));
        let body = crate::aws::api::json::test_support::split_http(raw).2;
        let out = crate::aws::api::sqs::parse_receive_message(body).unwrap();
        let n = parse_s3_notification(&out.messages[0].body).unwrap();
        let S3Notification::Records { records, .. } = n else {
            panic!("not records")
        };
        assert!(matches!(records[0].key, Cow::Borrowed(_)));
        assert!(records[0].key.ends_with("_1a2b3c4d.log.gz"));
    }

    #[test]
    fn keys_are_form_decoded() {
        let d = |s: &'static str| form_decode(Cow::Borrowed(s)).map(|c| c.into_owned());
        assert_eq!(d("red+flower.jpg").unwrap(), "red flower.jpg");
        assert_eq!(d("a%2Bb+c%2Fd").unwrap(), "a+b c/d");
        assert_eq!(d("caf%C3%A9").unwrap(), "café");
        assert!(d("bad%2").is_err());
        assert!(d("bad%zz").is_err());
        assert!(d("bad%FF").is_err());
    }

    #[test]
    fn other_shapes_and_truncations_are_errors() {
        assert!(matches!(
            parse_s3_notification(r#"{"detail-type": "Object Created"}"#),
            Err(S3EventError::UnknownShape)
        ));
        assert!(matches!(
            parse_s3_notification(r#"{"Type": "Notification", "Message": "not json"}"#),
            Err(S3EventError::Malformed(_))
        ));
        assert!(parse_s3_notification(r#"{"Records": [{"eventName": "x"}]}"#).is_err());
        for body in [
            fixture!("sqs-body-direct.json"),
            fixture!("sqs-body-sns-wrapped.json"),
            fixture!("sqs-body-s3-test-event.json"),
        ] {
            let end = body.trim_end().len();
            for cut in (0..end).filter(|c| body.is_char_boundary(*c)) {
                assert!(
                    parse_s3_notification(&body[..cut]).is_err(),
                    "prefix of {cut} bytes parsed"
                );
            }
        }
        let huge = " ".repeat(MAX_BODY_BYTES + 1);
        assert!(matches!(
            parse_s3_notification(&huge),
            Err(S3EventError::TooLarge { .. })
        ));
    }
}
