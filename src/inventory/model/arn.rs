//! ARNs as the inventory meets them: parsed into their parts, and turned into what the config
//! and the APIs take (a bucket and key prefix, an SQS queue URL, a partition for new ARNs).

/// The AWS partition of a Region (`aws`, `aws-cn`, `aws-us-gov`), for building ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` (the resource keeps
/// its own colons and slashes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut it = text.splitn(6, ':');
        if it.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: it.next()?,
            service: it.next()?,
            region: it.next()?,
            account: it.next()?,
            resource: it.next()?,
        })
    }
}

/// The queue URL of an SQS queue ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME` →
/// `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`), the form the SQS API takes.
pub fn queue_url_from_arn(arn: &str) -> Option<String> {
    let a = Arn::parse(arn)?;
    if a.service != "sqs" || a.region.is_empty() || a.account.is_empty() || a.resource.is_empty() {
        return None;
    }
    Some(format!(
        "https://sqs.{}.{}/{}/{}",
        a.region,
        crate::aws::endpoint::dns_suffix(a.region),
        a.account,
        a.resource
    ))
}

/// Bucket and key prefix of an S3 destination ARN (`arn:aws:s3:::bucket/some/prefix/`).
pub fn bucket_of_arn(arn: &str) -> Option<(&str, &str)> {
    let a = Arn::parse(arn)?;
    if a.service != "s3" {
        return None;
    }
    let (bucket, prefix) = a.resource.split_once('/').unwrap_or((a.resource, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket, prefix.trim_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_queue_urls_and_buckets() {
        assert_eq!(
            queue_url_from_arn("arn:aws:sqs:eu-west-1:222222222222:flow-logs-b-events").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/222222222222/flow-logs-b-events")
        );
        assert_eq!(
            queue_url_from_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q").as_deref(),
            Some("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q")
        );
        assert_eq!(
            queue_url_from_arn("arn:aws:sns:us-east-1:123456789012:t"),
            None
        );
        assert_eq!(queue_url_from_arn("arn:aws:sqs:us-east-1::q"), None);
        assert_eq!(queue_url_from_arn("not an arn"), None);
        assert_eq!(
            bucket_of_arn("arn:aws:s3:::my-flow-log-bucket/prefix"),
            Some(("my-flow-log-bucket", "prefix"))
        );
        assert_eq!(bucket_of_arn("arn:aws:s3:::b/a/b/"), Some(("b", "a/b")));
        assert_eq!(bucket_of_arn("arn:aws:s3:::b"), Some(("b", "")));
        assert_eq!(bucket_of_arn("arn:aws:s3:::"), None);
        assert_eq!(bucket_of_arn("arn:aws:logs:us-east-1:1:log-group:x"), None);
        let a = Arn::parse("arn:aws:logs:us-east-1:123456789012:log-group:/vpc/a:b").unwrap();
        assert_eq!(
            (a.service, a.region, a.account),
            ("logs", "us-east-1", "123456789012")
        );
        assert_eq!(a.resource, "log-group:/vpc/a:b");
        assert_eq!(
            (
                partition("cn-north-1"),
                partition("us-gov-west-1"),
                partition("eu-west-1")
            ),
            ("aws-cn", "aws-us-gov", "aws")
        );
    }
}
