//! Form bodies for the AWS query protocols (EC2 and STS): `Action=X&Version=Y&k=v…`.
//!
//! botocore's `QuerySerializer`/`EC2Serializer` percent-encode every name and value with
//! `urllib.parse.quote(s, safe='-_.~')`: RFC 3986 unreserved characters stay, every other byte
//! of the UTF-8 text becomes `%XX` (upper-case hex; space is `%20`, never `+`). Fields keep the
//! order they are pushed in; the signature covers the body bytes, so order only has to be stable.
//!
//! ```text
//! let mut f = FormBody::new("DescribeInstances", "2016-11-15");
//! f.push("Filter.1.Name", "vpc-id");
//! f.finish() == b"Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=vpc-id"
//! let request = query::post(Service::Ec2, "DescribeInstances", body); // POST / + content-type
//! ```

use crate::aws::request::{ApiRequest, Service};

/// `Content-Type` of every query-protocol request (what botocore sends, byte for byte).
pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// An `application/x-www-form-urlencoded` body under construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormBody {
    buf: Vec<u8>,
}

impl FormBody {
    /// Starts a body with `Action=<action>&Version=<version>`.
    pub fn new(action: &str, version: &str) -> FormBody {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(b"Action=");
        percent_encode_into(&mut buf, action);
        buf.extend_from_slice(b"&Version=");
        percent_encode_into(&mut buf, version);
        FormBody { buf }
    }

    /// Appends `&key=value`, both percent-encoded.
    pub fn push(&mut self, key: &str, value: &str) {
        self.buf.push(b'&');
        percent_encode_into(&mut self.buf, key);
        self.buf.push(b'=');
        percent_encode_into(&mut self.buf, value);
    }

    /// Appends `&key=<decimal>`.
    pub fn push_u64(&mut self, key: &str, value: u64) {
        self.push(key, &value.to_string());
    }

    /// Appends `&key=true|false` (the query protocols' boolean spelling).
    pub fn push_bool(&mut self, key: &str, value: bool) {
        self.push(key, if value { "true" } else { "false" });
    }

    /// The finished body.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// A `POST /` query-protocol request carrying `body` (built with [`FormBody`]).
pub fn post(service: Service, operation: &'static str, body: Vec<u8>) -> ApiRequest {
    ApiRequest {
        service,
        operation,
        method: "POST",
        bucket: None,
        path: "/".to_string(),
        query: String::new(),
        headers: vec![("content-type", CONTENT_TYPE.to_string())],
        body,
    }
}

/// Appends `text` percent-encoded as botocore does (`quote(text, safe='-_.~')`).
pub fn percent_encode_into(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body of a request fixture captured from botocore (everything after the blank line,
    /// `Content-Length` bytes long).
    fn fixture_body(file: &str) -> Vec<u8> {
        let text = match file {
            "sts_AssumeRole" => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/sts_AssumeRole.request.txt"
            )),
            "ec2_DescribeInstances" => include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/aws/requests/ec2_DescribeInstances.request.txt"
            )),
            _ => unreachable!("unknown fixture"),
        };
        let (head, body) = text.split_once("\n\n").expect("blank line");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("content-length")
            .parse()
            .expect("number");
        body.as_bytes()[..len].to_vec()
    }

    #[test]
    fn matches_botocore_assume_role_body() {
        let mut f = FormBody::new("AssumeRole", "2011-06-15");
        f.push("RoleArn", "arn:aws:iam::210987654321:role/FlowReader");
        f.push("RoleSessionName", "vpcflow-agent");
        f.push("ExternalId", "ext-1234");
        f.push_u64("DurationSeconds", 3600);
        assert_eq!(f.finish(), fixture_body("sts_AssumeRole"));
    }

    #[test]
    fn matches_botocore_describe_instances_body() {
        let mut f = FormBody::new("DescribeInstances", "2016-11-15");
        f.push("Filter.1.Name", "vpc-id");
        f.push("Filter.1.Value.1", "vpc-0a1b2c3d4e5f60718");
        f.push("Filter.2.Name", "instance-state-name");
        f.push("Filter.2.Value.1", "running");
        f.push("Filter.2.Value.2", "stopped");
        f.push_u64("MaxResults", 100);
        f.push("NextToken", "eyJ2IjoiMiIsImMiOiJ0b2tlbiJ9");
        assert_eq!(f.finish(), fixture_body("ec2_DescribeInstances"));
    }

    #[test]
    fn encodes_reserved_space_plus_and_utf8() {
        let mut out = Vec::new();
        percent_encode_into(&mut out, "a b+c/d=e&f~g_h.i-jé*");
        assert_eq!(out, b"a%20b%2Bc%2Fd%3De%26f~g_h.i-j%C3%A9%2A");
    }

    #[test]
    fn post_request_shape() {
        let r = post(
            Service::Sts,
            "GetCallerIdentity",
            FormBody::new("GetCallerIdentity", "2011-06-15").finish(),
        );
        assert_eq!(
            (r.method, r.path.as_str(), r.query.as_str()),
            ("POST", "/", "")
        );
        assert_eq!(r.headers, [("content-type", CONTENT_TYPE.to_string())]);
        assert_eq!(r.body, b"Action=GetCallerIdentity&Version=2011-06-15");
    }
}
