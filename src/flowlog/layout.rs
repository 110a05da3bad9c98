//! The column map of a flow log: which field is in which column.
//!
//! A record says nothing about its own field order (spec.md §A.1): the order comes from the
//! flow log's `LogFormat` (`${version} ${account-id} …`, from DescribeFlowLogs) or, for S3 text
//! objects, from the header line each object starts with (`version account-id …`, §A.6).
//! Names this build does not know are kept as [`Column::Unknown`] so that a format with a field
//! newer than us still parses; their values are carried as opaque text.
//!
//! A `Layout` precomputes what the record parser needs (per column: the field or nothing; per
//! field: its column), so parsing a line is one pass with no lookups by name.

use std::fmt;

use crate::flowlog::fields::{FIELD_COUNT, Field, is_field_name_syntax};

/// Most columns a layout may have. AWS has 54 fields today; the cap bounds the per-record span
/// table (`record.rs`) and leaves room for fields added after this build.
pub const MAX_COLUMNS: usize = 128;

/// `col_of` entry for a field that is not in the layout.
const NO_COLUMN: u8 = u8::MAX;

/// One column of a layout.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Known(Field),
    /// A `${name}` this build does not know; its values are kept as text.
    Unknown(Box<str>),
}

impl Column {
    pub fn name(&self) -> &str {
        match self {
            Column::Known(f) => f.name(),
            Column::Unknown(name) => name,
        }
    }

    pub fn field(&self) -> Option<Field> {
        match self {
            Column::Known(f) => Some(*f),
            Column::Unknown(_) => None,
        }
    }
}

/// The ordered columns of a flow log, plus the tables the parser uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    columns: Box<[Column]>,
    /// Per column: the known field, or `None` for an unknown column.
    slots: Box<[Option<Field>]>,
    /// Per field (by `Field::index`): its column, or `NO_COLUMN`.
    col_of: [u8; FIELD_COUNT],
    max_version: u8,
    /// The columns are the default format's, in its order: the parser's straight-line path
    /// (decided once here rather than by comparing the columns on every line).
    default_v2: bool,
}

/// Why a `LogFormat` string or header line is not a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// No columns at all.
    Empty,
    /// A `LogFormat` token that is not `${name}` (column is 1-based).
    BadFormatToken { column: usize, token: String },
    /// A header-line token that is not a field name (column is 1-based).
    BadHeaderToken { column: usize, token: String },
    /// The same field named twice.
    Duplicate { name: String },
    /// More than [`MAX_COLUMNS`] columns.
    TooManyColumns { count: usize },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Empty => f.write_str("flow-log format has no fields"),
            LayoutError::BadFormatToken { column, token } => write!(
                f,
                "flow-log format column {column}: expected ${{field-name}}, found {token:?}"
            ),
            LayoutError::BadHeaderToken { column, token } => write!(
                f,
                "flow-log header column {column}: expected a field name, found {token:?}"
            ),
            LayoutError::Duplicate { name } => {
                write!(f, "flow-log format names field {name:?} twice")
            }
            LayoutError::TooManyColumns { count } => write!(
                f,
                "flow-log format has {count} fields, more than the {MAX_COLUMNS} supported"
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// Shortens untrusted text quoted in an error.
fn quote(token: &[u8]) -> String {
    const MAX: usize = 64;
    let s = String::from_utf8_lossy(token);
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.into_owned(),
    }
}

/// Splits on runs of ASCII whitespace.
fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
}

impl Layout {
    /// Builds a layout from columns; the shared end of every constructor.
    pub fn from_columns(columns: Vec<Column>) -> Result<Layout, LayoutError> {
        if columns.is_empty() {
            return Err(LayoutError::Empty);
        }
        if columns.len() > MAX_COLUMNS {
            return Err(LayoutError::TooManyColumns {
                count: columns.len(),
            });
        }
        let mut col_of = [NO_COLUMN; FIELD_COUNT];
        let mut slots = Vec::with_capacity(columns.len());
        let mut max_version = 0;
        for (i, column) in columns.iter().enumerate() {
            match column {
                Column::Known(field) => {
                    let slot = &mut col_of[field.index()];
                    if *slot != NO_COLUMN {
                        return Err(LayoutError::Duplicate {
                            name: field.name().to_owned(),
                        });
                    }
                    // i < MAX_COLUMNS (checked above) < NO_COLUMN, so it fits.
                    *slot = i as u8;
                    max_version = max_version.max(field.version());
                    slots.push(Some(*field));
                }
                Column::Unknown(name) => {
                    if columns[..i].iter().any(|c| c.name() == &**name) {
                        return Err(LayoutError::Duplicate {
                            name: name.to_string(),
                        });
                    }
                    slots.push(None);
                }
            }
        }
        let default_v2 = slots.len() == 14
            && slots
                .iter()
                .zip(Field::ALL.iter())
                .all(|(slot, field)| *slot == Some(*field));
        Ok(Layout {
            columns: columns.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
            col_of,
            max_version,
            default_v2,
        })
    }

    /// Builds a layout of known fields (tests, `--format` shorthands).
    pub fn from_fields(fields: &[Field]) -> Result<Layout, LayoutError> {
        Layout::from_columns(fields.iter().map(|&f| Column::Known(f)).collect())
    }

    /// The default format: the 14 version-2 fields in table order (spec.md §A.1).
    pub fn default_v2() -> Layout {
        let columns = Field::ALL[..14].iter().map(|&f| Column::Known(f)).collect();
        match Layout::from_columns(columns) {
            Ok(layout) => layout,
            // 14 distinct known fields always make a layout.
            Err(_) => unreachable!("the default format is a valid layout"),
        }
    }

    /// Parses a `LogFormat` as DescribeFlowLogs returns it: `${field}` tokens separated by
    /// spaces (spec.md §A.5). Unknown names are kept; anything else is an error.
    pub fn from_log_format(format: &str) -> Result<Layout, LayoutError> {
        let mut columns = Vec::new();
        for (i, token) in tokens(format.as_bytes()).enumerate() {
            let name = token
                .strip_prefix(b"${")
                .and_then(|t| t.strip_suffix(b"}"))
                .filter(|n| {
                    !n.is_empty()
                        && n.iter()
                            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
                .ok_or_else(|| LayoutError::BadFormatToken {
                    column: i + 1,
                    token: quote(token),
                })?;
            columns.push(column_for(name));
        }
        Layout::from_columns(columns)
    }

    /// Parses the header line of an S3 text object: field names separated by spaces, in the
    /// file's column order (spec.md §A.6). A trailing `\r` is tolerated.
    pub fn from_header_line(line: &[u8]) -> Result<Layout, LayoutError> {
        let mut columns = Vec::new();
        for (i, token) in tokens(line).enumerate() {
            if !is_field_name_syntax(token) {
                return Err(LayoutError::BadHeaderToken {
                    column: i + 1,
                    token: quote(token),
                });
            }
            columns.push(column_for(token));
        }
        Layout::from_columns(columns)
    }

    /// True for a line made only of field names, with at least one known field: the header of
    /// an S3 object rather than a record. Values such as `-`, numbers, addresses, `ACCEPT` or
    /// `OK` are not name-shaped, and name-shaped values (`vpc-…`, `unknown`) are not field names.
    #[inline]
    pub fn is_header_line(line: &[u8]) -> bool {
        // Every line of a file is asked: a record starts with a digit (its version) or `-`,
        // which no field name does, so most lines stop here.
        match line.first() {
            Some(b) if b.is_ascii_digit() || *b == b'-' => false,
            Some(_) => Layout::is_header_tokens(line),
            None => false,
        }
    }

    fn is_header_tokens(line: &[u8]) -> bool {
        let mut any_known = false;
        for token in tokens(line) {
            if !is_field_name_syntax(token) {
                return false;
            }
            any_known |= Field::from_name_bytes(token).is_some();
        }
        any_known
    }

    /// The columns in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Number of columns: the number of values every record of this layout has.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Never true for a constructed layout (a layout has at least one column).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column holding `field`, if the layout has it.
    pub fn column_of(&self, field: Field) -> Option<usize> {
        match self.col_of[field.index()] {
            NO_COLUMN => None,
            c => Some(usize::from(c)),
        }
    }

    pub fn contains(&self, field: Field) -> bool {
        self.column_of(field).is_some()
    }

    /// The `version` value records of this layout carry: the highest version among its known
    /// fields (spec.md §A.1). Unknown fields are not counted (their version is unknown).
    pub fn max_version(&self) -> u8 {
        self.max_version
    }

    /// True if some column is not a known field.
    pub fn has_unknown(&self) -> bool {
        self.slots.iter().any(Option::is_none)
    }

    /// Per column: the known field or `None`; what the parser dispatches on.
    pub(crate) fn slots(&self) -> &[Option<Field>] {
        &self.slots
    }

    /// The default format's 14 columns in their order (`default_v2`, or a header or format
    /// naming the same fields).
    pub(crate) fn is_default_v2(&self) -> bool {
        self.default_v2
    }
}

fn column_for(name: &[u8]) -> Column {
    match Field::from_name_bytes(name) {
        Some(f) => Column::Known(f),
        // Callers checked that `name` is ASCII, so the lossy conversion is exact.
        None => Column::Unknown(String::from_utf8_lossy(name).into()),
    }
}

/// Writes the layout as a `LogFormat` string (`${a} ${b} …`).
impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "${{{}}}", c.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

    fn first_line(bytes: &[u8]) -> &[u8] {
        bytes.split(|&b| b == b'\n').next().unwrap_or_default()
    }

    #[test]
    fn default_v2_is_the_documented_format() {
        let layout = Layout::default_v2();
        assert_eq!(layout, Layout::from_log_format(DEFAULT_FORMAT).unwrap());
        assert_eq!(layout.to_string(), DEFAULT_FORMAT);
        assert_eq!(layout.len(), 14);
        assert_eq!(layout.max_version(), 2);
        assert_eq!(layout.column_of(Field::Version), Some(0));
        assert_eq!(layout.column_of(Field::SrcAddr), Some(3));
        assert_eq!(layout.column_of(Field::LogStatus), Some(13));
        assert_eq!(layout.column_of(Field::VpcId), None);
        assert!(!layout.has_unknown());
    }

    #[test]
    fn header_of_every_sample_file() {
        let v2 = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/flowlogs/default-v2.log"
        ));
        let v5 = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/flowlogs/custom-v5.log"
        ));
        let v8 = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/flowlogs/custom-v8-reject-reason.log"
        ));
        assert!(Layout::is_header_line(first_line(v2)));
        assert_eq!(
            Layout::from_header_line(first_line(v2)).unwrap(),
            Layout::default_v2()
        );

        let l5 = Layout::from_header_line(first_line(v5)).unwrap();
        assert_eq!(l5.len(), 27);
        assert_eq!(l5.max_version(), 5);
        assert_eq!(l5.column_of(Field::VpcId), Some(1));
        assert_eq!(l5.column_of(Field::Bytes), Some(14));
        assert_eq!(l5.column_of(Field::Packets), Some(15));
        assert_eq!(l5.column_of(Field::PktDstAwsService), Some(26));
        assert_eq!(
            l5.to_string(),
            "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${region} ${az-id} ${flow-direction} ${traffic-path} ${pkt-src-aws-service} ${pkt-dst-aws-service}"
        );
        // The LogFormat written from a header parses back to the same layout.
        assert_eq!(Layout::from_log_format(&l5.to_string()).unwrap(), l5);

        let l8 = Layout::from_header_line(first_line(v8)).unwrap();
        assert_eq!(l8.max_version(), 8);
        assert_eq!(l8.column_of(Field::RejectReason), Some(15));

        // The second line of each file is a record, not a header.
        for file in [&v2[..], &v5[..], &v8[..]] {
            let second = file.split(|&b| b == b'\n').nth(1).unwrap();
            assert!(!Layout::is_header_line(second));
        }
    }

    #[test]
    fn unknown_fields_are_kept() {
        let layout =
            Layout::from_log_format("${version} ${future-field} ${srcaddr} ${x2}").unwrap();
        assert_eq!(
            layout.columns(),
            &[
                Column::Known(Field::Version),
                Column::Unknown("future-field".into()),
                Column::Known(Field::SrcAddr),
                Column::Unknown("x2".into()),
            ]
        );
        assert!(layout.has_unknown());
        assert_eq!(layout.column_of(Field::SrcAddr), Some(2));
        assert_eq!(layout.max_version(), 2);
        assert_eq!(
            layout.slots(),
            &[Some(Field::Version), None, Some(Field::SrcAddr), None]
        );
        let header = Layout::from_header_line(b"version future-field srcaddr x2\r").unwrap();
        assert_eq!(header, layout);
        assert!(Layout::is_header_line(b"version future-field srcaddr x2"));
    }

    #[test]
    fn max_version_is_the_highest_field_version() {
        let l = Layout::from_log_format("${srcaddr} ${region} ${vpc-id}").unwrap();
        assert_eq!(l.max_version(), 4);
        let l = Layout::from_log_format("${next-hop-vpc-id} ${version}").unwrap();
        assert_eq!(l.max_version(), 11);
        let l = Layout::from_log_format("${ecs-task-id}").unwrap();
        assert_eq!(l.max_version(), 7);
        let all = Layout::from_fields(&Field::ALL).unwrap();
        assert_eq!(all.max_version(), 11);
        for f in Field::ALL {
            assert_eq!(all.column_of(f), Some(f.index()));
        }
    }

    #[test]
    fn tolerant_spacing_in_log_format() {
        let a = Layout::from_log_format("  ${version}\t${srcaddr}   ${dstaddr} ").unwrap();
        let b = Layout::from_fields(&[Field::Version, Field::SrcAddr, Field::DstAddr]).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn log_format_errors() {
        assert_eq!(Layout::from_log_format(""), Err(LayoutError::Empty));
        assert_eq!(Layout::from_log_format("   "), Err(LayoutError::Empty));
        for (format, column, token) in [
            ("${version} srcaddr", 2, "srcaddr"),
            ("${version} ${}", 2, "${}"),
            ("${Version}", 1, "${Version}"),
            ("${version}${srcaddr}", 1, "${version}${srcaddr}"),
            ("${version} ${src addr}", 2, "${src"),
            ("${version} {srcaddr}", 2, "{srcaddr}"),
            ("${version} $srcaddr", 2, "$srcaddr"),
            ("${a_b}", 1, "${a_b}"),
        ] {
            assert_eq!(
                Layout::from_log_format(format),
                Err(LayoutError::BadFormatToken {
                    column,
                    token: token.into()
                }),
                "{format}"
            );
        }
        assert_eq!(
            Layout::from_log_format("${srcaddr} ${dstaddr} ${srcaddr}"),
            Err(LayoutError::Duplicate {
                name: "srcaddr".into()
            })
        );
        assert_eq!(
            Layout::from_log_format("${new-one} ${new-one}"),
            Err(LayoutError::Duplicate {
                name: "new-one".into()
            })
        );
        let many: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("${{f{i}}}")).collect();
        assert_eq!(
            Layout::from_log_format(&many.join(" ")),
            Err(LayoutError::TooManyColumns {
                count: MAX_COLUMNS + 1
            })
        );
        let ok: Vec<String> = (0..MAX_COLUMNS).map(|i| format!("${{f{i}}}")).collect();
        assert_eq!(
            Layout::from_log_format(&ok.join(" ")).unwrap().len(),
            MAX_COLUMNS
        );
        let err = Layout::from_log_format("${version} srcaddr").unwrap_err();
        assert_eq!(
            err.to_string(),
            "flow-log format column 2: expected ${field-name}, found \"srcaddr\""
        );
        let long = format!("${{version}} {}", "x".repeat(200));
        let msg = Layout::from_log_format(&long).unwrap_err().to_string();
        assert!(msg.len() < 140, "{msg}");
    }

    #[test]
    fn header_errors_and_detection() {
        assert_eq!(Layout::from_header_line(b""), Err(LayoutError::Empty));
        assert_eq!(Layout::from_header_line(b"\r"), Err(LayoutError::Empty));
        assert_eq!(
            Layout::from_header_line(b"version 2 srcaddr"),
            Err(LayoutError::BadHeaderToken {
                column: 2,
                token: "2".into()
            })
        );
        assert_eq!(
            Layout::from_header_line(b"version \xff"),
            Err(LayoutError::BadHeaderToken {
                column: 2,
                token: "\u{fffd}".into()
            })
        );
        // Records, blank lines and name-shaped values are not headers.
        for line in [
            &b""[..],
            b"   ",
            b"2 123456789012 eni-0123456789abcdef0 - - - - - - - 1768478340 1768478399 - NODATA",
            b"- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5",
            b"vpc-0a1b2c3d4e5f60718 subnet-0a1b2c3d4e5f60001 unknown",
            b"version account-id ACCEPT",
        ] {
            assert!(
                !Layout::is_header_line(line),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert!(Layout::is_header_line(
            b"instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr\r"
        ));
    }
}
