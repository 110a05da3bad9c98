//! One INI parser for our own config file and for `~/.aws/credentials` / `~/.aws/config`.
//!
//! The dialect is the one botocore reads (Python `configparser` as used by
//! `botocore.configloader.raw_config_parse`), restricted to what those files contain:
//!
//! - `[section]` headers; the name is trimmed (`[profile x]` keeps its inner space). A comment may
//!   follow the `]`.
//! - `key = value` or `key=value`; key and value are trimmed. Repeated keys are kept, in order
//!   (our `role =` is repeatable); repeated sections are kept too.
//! - Comments: a line whose first non-blank character is `;` or `#`, and inline comments that
//!   start with `;` or `#` *preceded by whitespace* (so `a#b` is a value, `a #b` is `a`).
//! - The AWS config nesting `s3 =\n  max_concurrent_requests = 10`: lines indented deeper than an
//!   entry become that entry's `nested` entries (botocore parses exactly these as a sub-section).
//!   An indented line that is not deeper than the previous entry is an ordinary entry, so a
//!   uniformly indented section still parses flat.
//! - Entries before the first header go into a section with an empty name (line 0); the typed
//!   layer decides whether that is an error.
//!
//! The parser borrows every name and value from the input and reports the first syntax error
//! with its line number. It reads no files: callers hand it text.

use std::fmt;

/// A parsed INI document: sections in file order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Ini<'a> {
    pub sections: Vec<Section<'a>>,
}

/// One `[name]` section (or the unnamed preamble, `name == ""`, `line == 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section<'a> {
    pub name: &'a str,
    /// 1-based line of the header.
    pub line: usize,
    pub entries: Vec<Entry<'a>>,
}

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: &'a str,
    /// 1-based line number.
    pub line: usize,
    /// Deeper-indented `k = v` lines that followed this entry (AWS config sub-sections).
    pub nested: Vec<Entry<'a>>,
}

/// What is wrong with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IniErrorKind {
    /// `[name` without `]`, or text after `]` that is not a comment.
    BadSectionHeader,
    /// `[]` or `[   ]`.
    EmptySectionName,
    /// A line that is neither a header, a comment nor `key = value`.
    MissingEquals,
    /// `= value`.
    EmptyKey,
}

impl fmt::Display for IniErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IniErrorKind::BadSectionHeader => "malformed section header: expected `[name]`",
            IniErrorKind::EmptySectionName => "empty section name `[]`",
            IniErrorKind::MissingEquals => {
                "expected `key = value`, a `[section]` or a `;`/`#` comment"
            }
            IniErrorKind::EmptyKey => "missing key before `=`",
        })
    }
}

/// The first syntax error in a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IniError {
    /// 1-based line number.
    pub line: usize,
    pub message: IniErrorKind,
}

impl fmt::Display for IniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for IniError {}

impl<'a> Ini<'a> {
    /// The first section with this exact name.
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }
}

impl<'a> Section<'a> {
    /// The last value of `key` (later lines override earlier ones, as in configparser).
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value)
    }

    /// Every value of a repeatable `key`, in file order.
    pub fn get_all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.entries
            .iter()
            .filter(move |e| e.key == key)
            .map(|e| e.value)
    }
}

/// Parses a whole document. `\r\n` line ends and a leading UTF-8 BOM are accepted.
pub fn parse(text: &str) -> Result<Ini<'_>, IniError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut ini = Ini::default();
    // Indentation of the last top-level entry of the current section, for nesting decisions.
    let mut last_indent: Option<usize> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let trimmed_start = raw.trim_start();
        let indent = raw.len() - trimmed_start.len();
        let content = strip_inline_comment(trimmed_start).trim_end();
        if content.is_empty() || content.starts_with(';') || content.starts_with('#') {
            continue;
        }
        if let Some(rest) = content.strip_prefix('[') {
            let Some(close) = rest.find(']') else {
                return Err(IniError {
                    line: line_no,
                    message: IniErrorKind::BadSectionHeader,
                });
            };
            if !rest[close + 1..].trim().is_empty() {
                return Err(IniError {
                    line: line_no,
                    message: IniErrorKind::BadSectionHeader,
                });
            }
            let name = rest[..close].trim();
            if name.is_empty() {
                return Err(IniError {
                    line: line_no,
                    message: IniErrorKind::EmptySectionName,
                });
            }
            ini.sections.push(Section {
                name,
                line: line_no,
                entries: Vec::new(),
            });
            last_indent = None;
            continue;
        }
        let entry = parse_entry(content, line_no)?;
        if ini.sections.is_empty() {
            ini.sections.push(Section {
                name: "",
                line: 0,
                entries: Vec::new(),
            });
        }
        let Some(section) = ini.sections.last_mut() else {
            continue; // unreachable: pushed above
        };
        match (last_indent, section.entries.last_mut()) {
            (Some(parent_indent), Some(parent)) if indent > parent_indent => {
                parent.nested.push(entry)
            }
            _ => {
                section.entries.push(entry);
                last_indent = Some(indent);
            }
        }
    }
    Ok(ini)
}

fn parse_entry(content: &str, line: usize) -> Result<Entry<'_>, IniError> {
    let Some((key, value)) = content.split_once('=') else {
        return Err(IniError {
            line,
            message: IniErrorKind::MissingEquals,
        });
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(IniError {
            line,
            message: IniErrorKind::EmptyKey,
        });
    }
    Ok(Entry {
        key,
        value: value.trim(),
        line,
        nested: Vec::new(),
    })
}

/// Cuts `text` at the first `;` or `#` that follows whitespace.
fn strip_inline_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    for i in 1..bytes.len() {
        if (bytes[i] == b';' || bytes[i] == b'#') && bytes[i - 1].is_ascii_whitespace() {
            return &text[..i];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_CREDENTIALS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/misc/aws-credentials.ini"
    ));
    const AWS_CONFIG: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/aws/misc/aws-config.ini"
    ));
    const DESIGN_EXAMPLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/config/design-example.ini"
    ));

    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).expect("fixture is UTF-8")
    }

    fn kv<'a>(s: &Section<'a>) -> Vec<(&'a str, &'a str, usize)> {
        s.entries.iter().map(|e| (e.key, e.value, e.line)).collect()
    }

    #[test]
    fn aws_credentials_sample() {
        let ini = parse(text(AWS_CREDENTIALS)).expect("parses");
        let names: Vec<_> = ini.sections.iter().map(|s| (s.name, s.line)).collect();
        assert_eq!(names, [("default", 2), ("collector", 6)]);
        assert_eq!(
            kv(&ini.sections[0]),
            [
                ("aws_access_key_id", "AKIDEXAMPLE", 3),
                (
                    "aws_secret_access_key",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    4
                ),
            ]
        );
        let collector = ini.section("collector").expect("collector");
        assert_eq!(
            collector.get("aws_session_token"),
            Some("IQoJb3JpZ2luX2VjEXAMPLETOKEN")
        );
        assert_eq!(
            collector.get("aws_secret_access_key"),
            Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY")
        );
    }

    #[test]
    fn aws_config_sample() {
        let ini = parse(text(AWS_CONFIG)).expect("parses");
        let names: Vec<_> = ini.sections.iter().map(|s| s.name).collect();
        assert_eq!(names, ["default", "profile collector", "profile crossacct"]);
        let x = ini.section("profile crossacct").expect("crossacct");
        assert_eq!(
            x.get("role_arn"),
            Some("arn:aws:iam::210987654321:role/FlowReader")
        );
        assert_eq!(x.get("source_profile"), Some("collector"));
        assert_eq!(x.get("duration_seconds"), Some("3600"));
        assert_eq!(x.get("region"), Some("us-west-2"));
        assert_eq!(
            ini.section("profile collector")
                .and_then(|s| s.get("sts_regional_endpoints")),
            Some("regional")
        );
    }

    #[test]
    fn design_example_keeps_order_repeats_and_strips_inline_comments() {
        let ini = parse(text(DESIGN_EXAMPLE)).expect("parses");
        let names: Vec<_> = ini.sections.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "agent",
                "aws",
                "cloudwatch",
                "s3",
                "kinesis",
                "ipfix",
                "exporter vpc-0a1b2c3d4e5f60718",
                "input kinesis:arn:aws:kinesis:us-east-1:123456789012:stream/NFLVpcKinesisStream",
                "input cwl:arn:aws:logs:us-east-1:123456789012:log-group:NFLVpcFlowLogGroup",
                "input s3:arn:aws:s3:::my-flow-bucket",
            ]
        );
        let agent = ini.section("agent").expect("agent");
        assert_eq!(agent.get("state_dir"), Some("/var/lib/vpcflow-ipfix"));
        // `*/4` is not a comment: `#`/`;` only start one after whitespace.
        assert_eq!(agent.get("inventory_refresh"), Some("0 */4 * * *"));
        let aws = ini.section("aws").expect("aws");
        let roles: Vec<_> = aws.get_all("role").collect();
        assert_eq!(
            roles,
            [
                "arn:aws:iam::999999999999:role/Role1",
                "arn:aws:iam::999999999997:role/Role2, externalID-2"
            ]
        );
        assert_eq!(aws.get("session_duration"), Some("1h"));
        let exporter = ini
            .section("exporter vpc-0a1b2c3d4e5f60718")
            .expect("exporter");
        assert_eq!(exporter.line, 26);
        assert_eq!(
            kv(exporter),
            [("ip", "10.255.0.1", 27), ("domain_id", "1001", 28)]
        );
        let s3 = ini.sections.last().expect("s3 input");
        assert_eq!(
            s3.get("queue"),
            Some("https://sqs.us-east-1.amazonaws.com/123456789012/flowlogs")
        );
    }

    #[test]
    fn nested_aws_subsections() {
        let text = "[default]\nregion = us-east-1\ns3 =\n  max_concurrent_requests = 10\n  addressing_style=path\noutput = json\n";
        let ini = parse(text).expect("parses");
        let s = &ini.sections[0];
        assert_eq!(
            kv(s),
            [
                ("region", "us-east-1", 2),
                ("s3", "", 3),
                ("output", "json", 6)
            ]
        );
        let nested: Vec<_> = s.entries[1]
            .nested
            .iter()
            .map(|e| (e.key, e.value, e.line))
            .collect();
        assert_eq!(
            nested,
            [
                ("max_concurrent_requests", "10", 4),
                ("addressing_style", "path", 5)
            ]
        );
    }

    #[test]
    fn uniformly_indented_section_is_flat() {
        let ini = parse("[aws]\n    credentials_file =\n    role = a\n").expect("parses");
        assert_eq!(
            kv(&ini.sections[0]),
            [("credentials_file", "", 2), ("role", "a", 3)]
        );
        assert!(ini.sections[0].entries[0].nested.is_empty());
    }

    #[test]
    fn comments_whitespace_crlf_bom_and_preamble() {
        let text = "\u{feff}top=1\r\n; full\r\n  # indented full\r\n[ s ]  # after header\r\nk=v;not-a-comment\r\nq = a b ; comment\r\nempty =\r\n";
        let ini = parse(text).expect("parses");
        assert_eq!(ini.sections[0].name, "");
        assert_eq!(ini.sections[0].line, 0);
        assert_eq!(kv(&ini.sections[0]), [("top", "1", 1)]);
        assert_eq!(ini.sections[1].name, "s");
        assert_eq!(ini.sections[1].line, 4);
        assert_eq!(
            kv(&ini.sections[1]),
            [
                ("k", "v;not-a-comment", 5),
                ("q", "a b", 6),
                ("empty", "", 7)
            ]
        );
    }

    #[test]
    fn value_may_contain_equals() {
        let ini = parse("[a]\ntoken = abc==\n").expect("parses");
        assert_eq!(ini.sections[0].get("token"), Some("abc=="));
    }

    #[test]
    fn errors_carry_line_numbers() {
        let cases = [
            ("[a]\nk = v\n[broken\n", 3, IniErrorKind::BadSectionHeader),
            ("[a] trailing\n", 1, IniErrorKind::BadSectionHeader),
            ("\n\n[  ]\n", 3, IniErrorKind::EmptySectionName),
            ("[a]\njust words\n", 2, IniErrorKind::MissingEquals),
            ("[a]\n = v\n", 2, IniErrorKind::EmptyKey),
        ];
        for (text, line, kind) in cases {
            assert_eq!(
                parse(text),
                Err(IniError {
                    line,
                    message: kind
                }),
                "{text:?}"
            );
        }
        let shown = parse("[a]\njust words\n").expect_err("error").to_string();
        assert!(
            shown.starts_with("line 2: expected `key = value`"),
            "{shown}"
        );
    }

    #[test]
    fn empty_document() {
        assert_eq!(parse("").expect("parses").sections, []);
        assert_eq!(parse("; only a comment\n\n").expect("parses").sections, []);
    }
}
