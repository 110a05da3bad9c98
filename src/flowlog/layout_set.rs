//! The layouts of the flow logs that write to one CloudWatch Logs log group, and which one a
//! line belongs to.
//!
//! Several flow logs may deliver to the same log group, and an ENI covered by several of them
//! gets one combined stream, so lines of different formats can be interleaved in one stream
//! with no header to say which is which (spec.md §A.7). A line says two things about its
//! format: its number of values, and — if the format has `version` — the value of that column,
//! which is the highest version among the format's fields (§A.1). [`LayoutSet::choose`] uses
//! both:
//!
//! 1. layouts whose column count differs from the line's value count are out;
//! 2. of the rest, a layout with a `version` column is out when the line's token there is not
//!    its version (for a layout with fields this build does not know, any version at least its
//!    known maximum passes: the unknown fields may be newer); a `-` there proves nothing;
//! 3. one layout left: [`Choice::One`]; several: [`Choice::Ambiguous`] with the first one
//!    whose version token matched (else the first left), which the caller may use or refuse;
//!    none: [`Choice::None`].
//!
//! A set of one layout is no exception: a line is only given to it when the count (and the
//! version) fit. [`LayoutSet::conflicts`] tells at setup which formats of a group cannot always
//! be told apart, so the agent can warn or refuse the configuration.
//!
//! `choose` runs per line, before the record parser: one pass over the line, no allocation.

use crate::flowlog::fields::Field;
use crate::flowlog::layout::{Layout, LayoutError, MAX_COLUMNS};

/// Which layout a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice<'a> {
    /// Exactly one layout fits.
    One(&'a Layout),
    /// Several fit; this is the most likely (see the module doc).
    Ambiguous(&'a Layout),
    /// None fits: a line of a format not in the set, or damaged.
    None,
}

/// What a line's `version` token says about one layout.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    /// The token is the layout's version.
    Matches,
    /// The layout has no `version` column, or the token is `-`.
    Unknown,
    /// The token is some other value: not this layout.
    Differs,
}

/// The layouts of one log group. See the module doc.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayoutSet {
    layouts: Vec<Layout>,
    /// Longest layout: a line with more values fits none.
    max_len: usize,
}

impl LayoutSet {
    /// A set of layouts; duplicates (two flow logs with the same format) are kept once.
    pub fn new(layouts: impl IntoIterator<Item = Layout>) -> LayoutSet {
        let mut set = LayoutSet::default();
        for layout in layouts {
            if !set.layouts.contains(&layout) {
                set.max_len = set.max_len.max(layout.len());
                set.layouts.push(layout);
            }
        }
        set
    }

    /// A set from the `LogFormat` strings of the group's flow logs (DescribeFlowLogs).
    pub fn from_log_formats<'s>(
        formats: impl IntoIterator<Item = &'s str>,
    ) -> Result<LayoutSet, LayoutError> {
        let layouts = formats
            .into_iter()
            .map(Layout::from_log_format)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LayoutSet::new(layouts))
    }

    /// The distinct layouts, in the order given.
    pub fn layouts(&self) -> &[Layout] {
        &self.layouts
    }

    pub fn len(&self) -> usize {
        self.layouts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layouts.is_empty()
    }

    /// The layout `line` (one record, no `\n`) belongs to.
    pub fn choose(&self, line: &[u8]) -> Choice<'_> {
        // Token positions, enough for the longest layout.
        let mut spans = [(0usize, 0usize); MAX_COLUMNS];
        let mut count = 0;
        let mut i = 0;
        loop {
            while line.get(i).is_some_and(|&b| is_space(b)) {
                i += 1;
            }
            if i >= line.len() {
                break;
            }
            let start = i;
            while line.get(i).is_some_and(|&b| !is_space(b)) {
                i += 1;
            }
            if count >= self.max_len {
                // More values than any layout has columns.
                return Choice::None;
            }
            if let Some(s) = spans.get_mut(count) {
                *s = (start, i);
            }
            count += 1;
        }
        let token = |col: usize| {
            spans
                .get(col)
                .and_then(|&(a, b)| line.get(a..b))
                .unwrap_or_default()
        };
        let (mut fits, mut first, mut first_matching) = (0, None, None);
        for layout in self.layouts.iter().filter(|l| l.len() == count) {
            let version = match layout.column_of(Field::Version) {
                Some(col) => version_says(layout, token(col)),
                None => Version::Unknown,
            };
            match version {
                Version::Differs => continue,
                Version::Matches => {
                    first_matching.get_or_insert(layout);
                }
                Version::Unknown => {}
            }
            first.get_or_insert(layout);
            fits += 1;
        }
        match (fits, first_matching.or(first)) {
            (1, Some(layout)) => Choice::One(layout),
            (_, Some(layout)) => Choice::Ambiguous(layout),
            (_, None) => Choice::None,
        }
    }

    /// Pairs of layouts (indexes into [`LayoutSet::layouts`]) that some line could fit both:
    /// same column count, and not both with `version` in the same column and versions that
    /// cannot be equal. Setup-time check; empty means every line has at most one layout.
    pub fn conflicts(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (j, b) in self.layouts.iter().enumerate() {
            for (i, a) in self.layouts[..j].iter().enumerate() {
                if a.len() == b.len() && !versions_tell_apart(a, b) {
                    out.push((i, j));
                }
            }
        }
        out
    }
}

/// Bytes the record parser splits on (record.rs): space, `\t`, `\n`, `\v`, `\f`, `\r`.
#[inline]
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

fn version_says(layout: &Layout, token: &[u8]) -> Version {
    if token == b"-" {
        return Version::Unknown;
    }
    let Some(v) = parse_version(token) else {
        return Version::Differs;
    };
    let fits = if layout.has_unknown() {
        v >= u32::from(layout.max_version())
    } else {
        v == u32::from(layout.max_version())
    };
    if fits {
        Version::Matches
    } else {
        Version::Differs
    }
}

/// A short decimal number (versions are 2..=11 today).
fn parse_version(token: &[u8]) -> Option<u32> {
    if token.is_empty() || token.len() > 3 {
        return None;
    }
    token.iter().try_fold(0u32, |v, &b| {
        b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0'))
    })
}

/// True if no line can show the version of both layouts in its `version` column.
fn versions_tell_apart(a: &Layout, b: &Layout) -> bool {
    let (Some(ca), Some(cb)) = (a.column_of(Field::Version), b.column_of(Field::Version)) else {
        return false;
    };
    if ca != cb {
        return false;
    }
    let (va, vb) = (a.max_version(), b.max_version());
    match (a.has_unknown(), b.has_unknown()) {
        (false, false) => va != vb,
        // Any version ≥ the known maximum: disjoint only if the other is exact and lower.
        (true, false) => vb < va,
        (false, true) => va < vb,
        (true, true) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/flowlogs/",
                $name
            )) as &[u8]
        };
    }

    fn split(file: &[u8]) -> (Layout, Vec<&[u8]>) {
        let mut lines = file.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        let header = lines.next().unwrap();
        (Layout::from_header_line(header).unwrap(), lines.collect())
    }

    /// Lines of five formats interleaved, as in a combined stream, each back to its layout.
    #[test]
    fn mixed_format_lines_find_their_layout() {
        let files = [
            fixture!("default-v2.log"),
            fixture!("custom-v5.log"),
            fixture!("custom-v8-reject-reason.log"),
            fixture!("aws-doc-custom-v3-transit-gateway.log"),
            fixture!("custom-v11-all-fields.log"),
        ];
        let parsed: Vec<(Layout, Vec<&[u8]>)> = files.iter().map(|f| split(f)).collect();
        // The group's LogFormat strings, in another order than the files, plus a duplicate.
        let formats: Vec<String> = [4, 2, 0, 3, 1, 0]
            .iter()
            .map(|&i| parsed[i].0.to_string())
            .collect();
        let set = LayoutSet::from_log_formats(formats.iter().map(String::as_str)).unwrap();
        assert_eq!(set.len(), 5);
        assert!(set.conflicts().is_empty(), "{:?}", set.conflicts());
        let longest = parsed.iter().map(|p| p.1.len()).max().unwrap();
        let mut seen = 0;
        for n in 0..longest {
            for (layout, lines) in &parsed {
                let Some(line) = lines.get(n) else { continue };
                assert_eq!(
                    set.choose(line),
                    Choice::One(layout),
                    "{}",
                    String::from_utf8_lossy(line)
                );
                // CRLF and extra spaces do not change the count.
                let mut padded = b"  ".to_vec();
                padded.extend_from_slice(line);
                padded.extend_from_slice(b" \r");
                assert_eq!(set.choose(&padded), Choice::One(layout));
                seen += 1;
            }
        }
        assert_eq!(seen, 8 + 8 + 3 + 4 + 5);
        // Lines of formats the group does not have.
        for file in [
            fixture!("custom-v4-sublocation.log"),
            fixture!("aws-doc-custom-v5-traffic-path.log"),
        ] {
            for line in split(file).1 {
                assert_eq!(set.choose(line), Choice::None);
            }
        }
        assert_eq!(set.choose(b""), Choice::None);
        assert_eq!(set.choose(b" \r"), Choice::None);
        assert_eq!(set.choose("x ".repeat(300).as_bytes()), Choice::None);
    }

    #[test]
    fn same_count_told_apart_by_version() {
        // 14 columns each: the default format (version 2) and a v3 one.
        let v3 = "${version} ${vpc-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";
        let set = LayoutSet::new([Layout::default_v2(), Layout::from_log_format(v3).unwrap()]);
        assert!(set.conflicts().is_empty());
        let v2_line = b"2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK";
        let v3_line = b"3 vpc-0a1b2c3d4e5f60718 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK";
        assert_eq!(set.choose(v2_line), Choice::One(&set.layouts()[0]));
        assert_eq!(set.choose(v3_line), Choice::One(&set.layouts()[1]));
        // Version 4 is neither; `-` is both.
        assert_eq!(set.choose(&[b"4", &v2_line[1..]].concat()), Choice::None);
        assert_eq!(
            set.choose(&[b"-", &v2_line[1..]].concat()),
            Choice::Ambiguous(&set.layouts()[0])
        );
        assert_eq!(set.choose(&[b"x2", &v2_line[1..]].concat()), Choice::None);
    }

    #[test]
    fn indistinguishable_formats_are_ambiguous_and_reported() {
        let a = "${version} ${srcaddr} ${dstaddr} ${action}";
        let b = "${version} ${dstaddr} ${srcaddr} ${action}"; // same count and version
        let c = "${account-id} ${srcaddr} ${dstaddr} ${action}"; // no version column
        let set = LayoutSet::from_log_formats([a, b, c]).unwrap();
        assert_eq!(set.conflicts(), vec![(0, 1), (0, 2), (1, 2)]);
        let line = b"2 10.0.0.1 10.0.0.2 ACCEPT";
        assert_eq!(set.choose(line), Choice::Ambiguous(&set.layouts()[0]));
        // A version-matching layout is preferred over one that cannot check it.
        let set = LayoutSet::from_log_formats([c, a]).unwrap();
        assert_eq!(set.choose(line), Choice::Ambiguous(&set.layouts()[1]));
        // Only the layout without a version column fits a non-numeric first token.
        assert_eq!(
            set.choose(b"123456789012 10.0.0.1 10.0.0.2 ACCEPT"),
            Choice::One(&set.layouts()[0])
        );
    }

    #[test]
    fn single_layout_takes_a_line_only_if_it_fits() {
        let set = LayoutSet::new([Layout::default_v2()]);
        let (_, lines) = split(fixture!("default-v2.log"));
        for line in &lines {
            assert_eq!(set.choose(line), Choice::One(&set.layouts()[0]));
        }
        // One value short, one too many, wrong version.
        let line = lines[0];
        let short = &line[..line.iter().rposition(|&b| b == b' ').unwrap()];
        assert_eq!(set.choose(short), Choice::None);
        assert_eq!(set.choose(&[line, b" extra"].concat()), Choice::None);
        assert_eq!(set.choose(&[b"3", &line[1..]].concat()), Choice::None);
        assert_eq!(LayoutSet::default().choose(line), Choice::None);
        assert!(LayoutSet::default().is_empty());
    }

    #[test]
    fn unknown_fields_accept_newer_versions() {
        let (layout, lines) = split(fixture!("custom-unknown-field.log"));
        assert!(layout.has_unknown());
        let set = LayoutSet::new([layout]);
        for line in &lines {
            assert_eq!(set.choose(line), Choice::One(&set.layouts()[0]));
        }
        // A format with a field newer than this build says a higher version.
        let newer = [b"12", &lines[0][1..]].concat();
        assert_eq!(set.choose(&newer), Choice::One(&set.layouts()[0]));
        let older = [b"1", &lines[0][1..]].concat();
        assert_eq!(set.choose(&older), Choice::None);
        // Conflicts with unknown fields: such a layout takes any version from its known
        // maximum up, so only an exact layout of a lower version is told apart from it.
        let set = LayoutSet::from_log_formats([
            "${version} ${flow-direction} ${zz-new} ${srcaddr}", // ≥ 5
            "${version} ${vpc-id} ${srcaddr} ${dstaddr}",        // 3
            "${version} ${ecs-task-id} ${srcaddr} ${dstaddr}",   // 7
        ])
        .unwrap();
        assert_eq!(set.conflicts(), vec![(0, 2)]);
        assert_eq!(
            set.choose(b"7 egress x 10.0.0.1"),
            Choice::Ambiguous(&set.layouts()[0])
        );
        assert_eq!(
            set.choose(b"3 vpc-1 10.0.0.1 10.0.0.2"),
            Choice::One(&set.layouts()[1])
        );
        assert_eq!(
            set.choose(b"5 egress x 10.0.0.1"),
            Choice::One(&set.layouts()[0])
        );
    }

    #[test]
    fn version_tokens() {
        assert_eq!(parse_version(b"2"), Some(2));
        assert_eq!(parse_version(b"11"), Some(11));
        assert_eq!(parse_version(b"011"), Some(11));
        assert_eq!(parse_version(b""), None);
        assert_eq!(parse_version(b"1234"), None);
        assert_eq!(parse_version(b"2a"), None);
        assert_eq!(parse_version(b"-"), None);
    }
}
