//! JSON request bodies written exactly as botocore writes them, and the size-capped body parse
//! every JSON-protocol response goes through.
//!
//! Why not `serde_json::to_vec`: botocore sends `json.dumps(body)`, i.e. `", "` and `": "`
//! separators, non-ASCII escaped as `\uXXXX` and floats in Python's `repr`. Writing the same
//! bytes lets the golden signed requests in `fixtures/aws/requests/` (captured from botocore)
//! be reproduced byte for byte, signature included. AWS accepts any valid JSON, so nothing is
//! lost by matching botocore. Members are written in the order the builder calls them, which the
//! builders keep equal to the order of the captured requests.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

/// Writes one JSON object (nested objects and arrays allowed) into a `Vec<u8>`.
pub(crate) struct JsonWriter {
    buf: Vec<u8>,
    /// No member/element written yet in the innermost open container.
    first: bool,
}

impl JsonWriter {
    /// Starts the top-level object.
    pub(crate) fn new() -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.push(b'{');
        JsonWriter { buf, first: true }
    }

    /// Closes the top-level object and returns the body.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(b'}');
        self.buf
    }

    fn sep(&mut self) {
        if !self.first {
            self.buf.extend_from_slice(b", ");
        }
        self.first = false;
    }

    fn key(&mut self, key: &str) {
        self.sep();
        write_json_string(&mut self.buf, key);
        self.buf.extend_from_slice(b": ");
    }

    pub(crate) fn str_field(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(&mut self.buf, value);
    }

    pub(crate) fn opt_str_field(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str_field(key, v);
        }
    }

    pub(crate) fn u64_field(&mut self, key: &str, value: u64) {
        self.key(key);
        self.buf.extend_from_slice(value.to_string().as_bytes());
    }

    pub(crate) fn opt_u64_field(&mut self, key: &str, value: Option<u64>) {
        if let Some(v) = value {
            self.u64_field(key, v);
        }
    }

    pub(crate) fn i64_field(&mut self, key: &str, value: i64) {
        self.key(key);
        self.buf.extend_from_slice(value.to_string().as_bytes());
    }

    pub(crate) fn opt_i64_field(&mut self, key: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.i64_field(key, v);
        }
    }

    pub(crate) fn bool_field(&mut self, key: &str, value: bool) {
        self.key(key);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    pub(crate) fn opt_bool_field(&mut self, key: &str, value: Option<bool>) {
        if let Some(v) = value {
            self.bool_field(key, v);
        }
    }

    /// A `double` member, formatted like Python's `repr(float)`. Callers reject non-finite values.
    pub(crate) fn f64_field(&mut self, key: &str, value: f64) {
        self.key(key);
        write_python_float(&mut self.buf, value);
    }

    /// A `timestamp` member: epoch seconds, an integer when whole, else up to millisecond decimals.
    pub(crate) fn epoch_ms_as_seconds_field(&mut self, key: &str, epoch_ms: i64) {
        self.key(key);
        write_epoch_seconds(&mut self.buf, epoch_ms);
    }

    pub(crate) fn begin_object_field(&mut self, key: &str) {
        self.key(key);
        self.buf.push(b'{');
        self.first = true;
    }

    pub(crate) fn begin_array_field(&mut self, key: &str) {
        self.key(key);
        self.buf.push(b'[');
        self.first = true;
    }

    /// An object as the next array element.
    pub(crate) fn begin_object_elem(&mut self) {
        self.sep();
        self.buf.push(b'{');
        self.first = true;
    }

    pub(crate) fn str_elem(&mut self, value: &str) {
        self.sep();
        write_json_string(&mut self.buf, value);
    }

    pub(crate) fn end_object(&mut self) {
        self.buf.push(b'}');
        self.first = false;
    }

    pub(crate) fn end_array(&mut self) {
        self.buf.push(b']');
        self.first = false;
    }

    /// `key: [v1, v2, ...]`, skipped when `values` is empty (botocore omits unset lists).
    pub(crate) fn str_array_field(&mut self, key: &str, values: &[&str]) {
        if values.is_empty() {
            return;
        }
        self.begin_array_field(key);
        for v in values {
            self.str_elem(v);
        }
        self.end_array();
    }
}

/// A JSON string with Python's `ensure_ascii=True` escaping: `"` `\` and the five short escapes,
/// every other byte outside `' '..='~'` as `\uXXXX` (lower-case hex, UTF-16 surrogate pairs).
pub(crate) fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{unit:04x}").as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

/// Python `repr(float)`: shortest round-trip digits; fixed notation with at least one decimal
/// when the decimal exponent is in `-4..16`, else `d.ddde+XX` with two or more exponent digits.
pub(crate) fn write_python_float(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        // Python would write NaN/Infinity, which is not JSON; callers reject these first.
        out.extend_from_slice(b"null");
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e3", "1e16", "0e0".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if neg {
        out.push(b'-');
    }
    if (-4..16).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            out.extend_from_slice(digits.as_bytes());
        } else {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits.as_bytes());
                out.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits.as_bytes()[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits.as_bytes()[int_len..]);
            }
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.extend_from_slice(first.as_bytes());
        if !rest.is_empty() {
            out.push(b'.');
            out.extend_from_slice(rest.as_bytes());
        }
        let sign = if exp < 0 { '-' } else { '+' };
        out.extend_from_slice(format!("e{sign}{:02}", exp.unsigned_abs()).as_bytes());
    }
}

fn write_epoch_seconds(out: &mut Vec<u8>, epoch_ms: i64) {
    let secs = epoch_ms.div_euclid(1000);
    let ms = epoch_ms.rem_euclid(1000);
    out.extend_from_slice(secs.to_string().as_bytes());
    if ms != 0 {
        let frac = format!("{ms:03}");
        out.push(b'.');
        out.extend_from_slice(frac.trim_end_matches('0').as_bytes());
    }
}

/// Epoch seconds as JSON sends them (`1768478702.456`, `1.768478702456E9`) to epoch milliseconds.
pub(crate) fn seconds_to_ms(secs: f64) -> i64 {
    // `as` saturates; a NaN cannot come out of serde_json.
    (secs * 1000.0).round() as i64
}

/// `deserialize_with` for an optional JSON `timestamp` member (epoch seconds) into epoch ms.
pub(crate) fn de_opt_epoch_ms<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<i64>, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.map(seconds_to_ms))
}

/// `deserialize_with` for a list of JSON `timestamp`s (epoch seconds) into epoch ms.
pub(crate) fn de_epoch_ms_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<i64>, D::Error> {
    Ok(Vec::<f64>::deserialize(d)?
        .into_iter()
        .map(seconds_to_ms)
        .collect())
}

/// A JSON string that borrows from the body unless it holds escapes. serde's own `Cow<str>`
/// impl always allocates; only a direct `#[serde(borrow)] Cow<'a, str>` field borrows, so
/// `Option`s and `Vec`s of strings go through this.
pub(crate) struct CowStr<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `deserialize_with` for `Option<Cow<'a, str>>` members (borrowing; `null` is `None`).
pub(crate) fn de_opt_cow<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<CowStr<'a>>::deserialize(d)?.map(|c| c.0))
}

/// `deserialize_with` for `Vec<Cow<'a, str>>` members (borrowing; `null` is empty).
pub(crate) fn de_vec_cow<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<Cow<'a, str>>, D::Error> {
    Ok(Option::<Vec<CowStr<'a>>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.0)
        .collect())
}

/// Why a JSON response body could not be turned into an output.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than the operation's cap: a broken or hostile peer, never a real AWS answer.
    TooLarge { len: usize, max: usize },
    /// Not JSON, truncated, or not the documented shape.
    Malformed(serde_json::Error),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge { len, max } => {
                write!(f, "body of {len} bytes exceeds the {max}-byte limit")
            }
            BodyError::Malformed(e) => write!(f, "malformed JSON body: {e}"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::Malformed(e) => Some(e),
            BodyError::TooLarge { .. } => None,
        }
    }
}

/// Parses a JSON response body after checking it against `max` bytes. Unknown members are
/// ignored by every output type (serde's default).
pub(crate) fn parse_body<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    max: usize,
) -> Result<T, BodyError> {
    if body.len() > max {
        return Err(BodyError::TooLarge {
            len: body.len(),
            max,
        });
    }
    serde_json::from_slice(body).map_err(BodyError::Malformed)
}

/// The JSON-protocol request: `POST /`, the operation target and content type, and for the
/// awsQueryCompatible services (SQS, CloudWatch) `x-amzn-query-mode: true` (spec D.0).
pub(crate) fn json_request(
    service: crate::aws::request::Service,
    target_prefix: &str,
    operation: &'static str,
    json_version: &str,
    query_mode: bool,
    body: Vec<u8>,
) -> crate::aws::request::ApiRequest {
    let mut headers = vec![
        ("x-amz-target", format!("{target_prefix}.{operation}")),
        (
            "content-type",
            format!("application/x-amz-json-{json_version}"),
        ),
    ];
    if query_mode {
        headers.push(("x-amzn-query-mode", "true".to_string()));
    }
    crate::aws::request::ApiRequest {
        service,
        operation,
        method: "POST",
        bucket: None,
        path: "/".to_string(),
        query: String::new(),
        headers,
        body,
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Reading the captured `*.request.txt` / `*.response.txt` fixtures.

    /// Splits a captured HTTP message (LF line ends) into its start line, headers and body.
    /// Request captures end the body with one `\n` that is not part of it; `Content-Length`
    /// (when present) says where the body ends.
    pub(crate) fn split_http(raw: &[u8]) -> (String, Vec<(String, String)>, &[u8]) {
        let text_end = raw
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("fixture has a blank line after the headers");
        let head = std::str::from_utf8(&raw[..text_end]).expect("fixture head is UTF-8");
        let mut lines = head.lines();
        let start = lines.next().expect("start line").to_string();
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').expect("header line has a colon");
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let mut body = &raw[text_end + 2..];
        match headers.iter().find(|(k, _)| k == "content-length") {
            Some((_, len)) if start.starts_with("POST") || start.starts_with("GET") => {
                body = &body[..len.parse::<usize>().expect("numeric content-length")];
            }
            _ => {
                while let [rest @ .., b'\n'] = body {
                    body = rest;
                }
            }
        }
        (start, headers, body)
    }

    pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the request built by us carries the captured request's body and operation headers.
    pub(crate) fn assert_same_request(ours: &crate::aws::request::ApiRequest, captured: &[u8]) {
        let (start, headers, body) = split_http(captured);
        assert_eq!(
            std::str::from_utf8(&ours.body).expect("our body is UTF-8"),
            std::str::from_utf8(body).expect("captured body is UTF-8"),
            "body differs from the captured request"
        );
        let mut parts = start.split(' ');
        assert_eq!(Some(ours.method), parts.next(), "method");
        for name in [
            "x-amz-target",
            "content-type",
            "x-amzn-query-mode",
            "range",
            "if-match",
        ] {
            let ours_v = ours
                .headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str());
            assert_eq!(ours_v, header(&headers, name), "header {name}");
        }
    }

    /// Every strict prefix of `body` must fail to parse (and not panic); the whole body must parse.
    /// `parses` tells whether a body parsed.
    pub(crate) fn assert_prefixes_fail(body: &[u8], parses: impl Fn(&[u8]) -> bool) {
        let mut end = body.len();
        while end > 0 && body[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        for cut in 0..end {
            assert!(
                !parses(&body[..cut]),
                "prefix of {cut} bytes parsed as complete"
            );
        }
        for cut in end..=body.len() {
            assert!(
                parses(&body[..cut]),
                "complete body ({cut} of {} bytes) does not parse",
                body.len()
            );
        }
    }

    /// botocore's `str(datetime)` ("2026-01-15 12:05:02.456000+00:00") as epoch milliseconds.
    pub(crate) fn botocore_datetime_ms(s: &str) -> i64 {
        let num = |r: std::ops::Range<usize>| -> i64 { s[r].parse().expect("datetime digits") };
        let (y, m, d) = (num(0..4), num(5..7), num(8..10));
        let (hh, mm, ss) = (num(11..13), num(14..16), num(17..19));
        let micros = if s.as_bytes().get(19) == Some(&b'.') {
            num(20..26)
        } else {
            0
        };
        // Days from civil (Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + micros / 1000
    }

    /// The botocore parse of a fixture.
    pub(crate) fn botocore(json: &[u8]) -> serde_json::Value {
        serde_json::from_slice(json).expect("parsed-by-botocore fixture is JSON")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(v: f64) -> String {
        let mut out = Vec::new();
        write_python_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_match_python_repr() {
        // Expected strings are what CPython 3.11 `repr()` prints for the same values.
        let cases = [
            (123.0, "123.0"),
            (7.5, "7.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (1768478702.456, "1768478702.456"),
            (1e300, "1e+300"),
            (123456.789, "123456.789"),
        ];
        for (v, want) in cases {
            assert_eq!(py(v), want, "repr of {v:e}");
        }
    }

    #[test]
    fn strings_escape_like_python_ensure_ascii() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"b\\c\n\t\u{7f}é😀/");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\"b\\c\n\t\u007f\u00e9\ud83d\ude00/""#
        );
    }

    #[test]
    fn writer_uses_botocore_separators() {
        let mut w = JsonWriter::new();
        w.str_field("QueueUrl", "https://q");
        w.begin_array_field("Entries");
        w.begin_object_elem();
        w.str_field("Id", "m0");
        w.end_object();
        w.begin_object_elem();
        w.str_field("Id", "m1");
        w.end_object();
        w.end_array();
        w.bool_field("X", true);
        w.epoch_ms_as_seconds_field("T", 1_768_478_000_500);
        w.epoch_ms_as_seconds_field("U", 1_768_478_000_000);
        let body = String::from_utf8(w.finish()).unwrap();
        assert_eq!(
            body,
            r#"{"QueueUrl": "https://q", "Entries": [{"Id": "m0"}, {"Id": "m1"}], "X": true, "T": 1768478000.5, "U": 1768478000}"#
        );
    }

    #[test]
    fn exponent_timestamps_become_milliseconds() {
        let v: f64 = serde_json::from_str("1.768478702456E9").unwrap();
        assert_eq!(seconds_to_ms(v), 1_768_478_702_456);
    }

    #[test]
    fn oversized_body_is_refused_before_parsing() {
        let err = parse_body::<serde_json::Value>(b"{\"a\": 1}", 4).unwrap_err();
        assert!(matches!(err, BodyError::TooLarge { len: 8, max: 4 }));
    }
}
