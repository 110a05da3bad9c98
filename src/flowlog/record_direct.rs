//! The direct path for the commonest line there is: a default-format (v2) `OK` flow between two
//! IPv4 addresses, read in one pass into a small [`DefaultV2Flow`] (no [`FlowRecord`]).
//!
//! Most flow logs are in the default format, and most of their lines look alike: fourteen
//! values, one space apart, every value present, addresses IPv4, `log-status` `OK`. For those
//! lines the general parser's work (positions of every column, `Option` per field, a UTF-8
//! check of the line, then the mapping looking fields up by column) is most of the cost of a
//! record. [`parse_default_v2_flow`] reads exactly such a line and nothing else: anything
//! unusual (two spaces, a tab, a `-`, IPv6, `NODATA`/`SKIPDATA`, a trailing `\r`, a byte that is
//! not printable ASCII, a value the general parser would reject, a `start`/`end` whose
//! milliseconds overflow) gives `None`, and the caller hands the line to the general parser,
//! which accepts it, counts it or reports it as it always does. So this path needs no errors
//! of its own, and on the lines it takes it must agree with the general path value for value:
//! numbers go through the general parser's conversion (`record_values.rs`), addresses are
//! tested against `Ipv4Addr::from_str`, and the tests compare both paths on every fixture line
//! and on mutated lines.
//!
//! [`FlowRecord`]: super::FlowRecord

use core::net::Ipv4Addr;

use super::Action;
use super::values::digits_value;

/// The values of one default-format line that [`parse_default_v2_flow`] took. `version` is
/// read (it must be a number, as the general parser requires) but not kept: nothing maps it.
/// The two text values are ASCII (the parser takes no line with another byte), kept as bytes:
/// turning them into `&str` would mean a UTF-8 check per value for nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultV2Flow<'a> {
    pub account_id: &'a [u8],
    pub interface_id: &'a [u8],
    pub srcaddr: Ipv4Addr,
    pub dstaddr: Ipv4Addr,
    pub srcport: u16,
    pub dstport: u16,
    pub protocol: u8,
    pub packets: u64,
    pub bytes: u64,
    /// Unix seconds, at most `u64::MAX / 1000` (its milliseconds fit).
    pub start: u64,
    /// Unix seconds, at most `u64::MAX / 1000`.
    pub end: u64,
    pub action: Action,
}

/// Largest `start`/`end` whose milliseconds fit in a u64 (the mapping multiplies by 1000).
const MAX_SECONDS: u64 = u64::MAX / 1000;

/// 10^m for the `m ≤ 8` digits of a number's second word (a lookup, not `pow`'s loop).
const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

const LO: u64 = u64::from_le_bytes([0x01; 8]);
const HI: u64 = u64::from_le_bytes([0x80; 8]);

/// Reads `line` if it is a default-format `OK` IPv4 flow written the way AWS writes one (see
/// the module doc); `None` means "use the general parser", never "malformed".
///
/// Each value ends at the first byte below 0x21 or above 0x7f, found eight bytes at a time;
/// that byte must be one space (or the end of the line, after the last value), so a line with
/// a tab, a `\r`, a control byte, a non-ASCII byte or an empty value goes the general way.
/// Numbers are found and converted from the same words (the general parser's conversion),
/// addresses in one pass byte by byte (tested against `Ipv4Addr::from_str`).
#[inline]
pub fn parse_default_v2_flow(line: &[u8]) -> Option<DefaultV2Flow<'_>> {
    let mut v = Values { line, at: 0 };
    v.number(3).filter(|&n| n <= u64::from(u8::MAX))?; // version
    let account_id = text(line, v.next()?)?;
    let interface_id = text(line, v.next()?)?;
    let srcaddr = v.ipv4()?;
    let dstaddr = v.ipv4()?;
    let srcport = u16::try_from(v.number(5)?).ok()?;
    let dstport = u16::try_from(v.number(5)?).ok()?;
    let protocol = u8::try_from(v.number(3)?).ok()?;
    let packets = v.number(16)?;
    let bytes = v.number(16)?;
    let start = v.number(16).filter(|&t| t <= MAX_SECONDS)?;
    let end = v.number(16).filter(|&t| t <= MAX_SECONDS)?;
    let (s, e) = v.next()?;
    let action = match line.get(s..e)? {
        b"ACCEPT" => Action::Accept,
        b"REJECT" => Action::Reject,
        _ => return None,
    };
    // The last value: it must end the line.
    let (s, e) = v.next()?;
    if e != line.len() || line.get(s..e)? != b"OK" {
        return None;
    }
    Some(DefaultV2Flow {
        account_id,
        interface_id,
        srcaddr,
        dstaddr,
        srcport,
        dstport,
        protocol,
        packets,
        bytes,
        start,
        end,
        action,
    })
}

/// The values of a line, one after the other.
struct Values<'a> {
    line: &'a [u8],
    /// Where the next value starts.
    at: usize,
}

impl Values<'_> {
    /// The next value's `(start, end)`: it ends at the first byte that is not printable ASCII,
    /// which must be a space (the next value starts after it) or the end of the line.
    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        let line = self.line;
        let start = self.at;
        let mut p = start;
        let end = loop {
            let x = word_at(line, p);
            // Exact per byte (no carry crosses a byte): high bit set where the byte is below
            // 0x21 or above 0x7f.
            let stop = (!(((x & !HI) + LO * (0x80 - 0x21)) | x) | x) & HI;
            if stop != 0 {
                break (p + (stop.trailing_zeros() / 8) as usize).min(line.len());
            }
            p += 8;
        };
        if end < line.len() && line.get(end) != Some(&b' ') {
            return None;
        }
        self.at = end + 1;
        Some((start, end))
    }

    /// The next value as a dotted quad, the syntax `Ipv4Addr::from_str` takes (four decimal
    /// octets ≤ 255 without leading zeros), followed by one space: read byte by byte, so
    /// finding its end and its value is one pass.
    #[inline(always)]
    fn ipv4(&mut self) -> Option<Ipv4Addr> {
        let line = self.line;
        let digit = |p: usize| {
            line.get(p)
                .map(|b| b.wrapping_sub(b'0'))
                .filter(|&d| d <= 9)
        };
        let mut p = self.at;
        let mut addr = 0u32;
        for octet in 0..4 {
            let first = digit(p)?;
            let mut value = u32::from(first);
            p += 1;
            if let Some(d) = digit(p) {
                if first == 0 {
                    return None;
                }
                value = value * 10 + u32::from(d);
                p += 1;
                if let Some(d) = digit(p) {
                    value = value * 10 + u32::from(d);
                    p += 1;
                }
            }
            if value > 255 {
                return None;
            }
            addr = addr << 8 | value;
            // After the first three octets a dot; after the last one the separator.
            let after = line.get(p);
            if octet < 3 {
                if after != Some(&b'.') {
                    return None;
                }
                p += 1;
            } else if after.is_some_and(|&b| b != b' ') {
                return None;
            }
        }
        self.at = p + 1;
        Some(Ipv4Addr::from(addr))
    }

    /// The next value as an unsigned decimal of 1 to `max` (≤ 16) digits, followed by one
    /// space or the end of the line. The digits are found and converted from the same words
    /// (`record_values::digits_value`, the general parser's conversion); a longer number goes
    /// the general way (it takes up to 20 digits).
    #[inline(always)]
    fn number(&mut self, max: usize) -> Option<u64> {
        let (high, n) = self.digits(self.at);
        if n < 8 {
            return self.number_end(n, max, high);
        }
        // Sixteen digits at most: a seventeenth is no separator (`number_end` declines).
        let (low, m) = self.digits(self.at + 8);
        let value = high * POW10[m] + low;
        self.number_end(8 + m, max, value)
    }

    /// The value of the digits at `p` (up to eight) and how many there are.
    #[inline(always)]
    fn digits(&self, p: usize) -> (u64, usize) {
        let d = word_at(self.line, p) ^ (LO * u64::from(b'0'));
        // High nibble set at a byte that is not a digit; the first one is exact (a carry only
        // comes out of a byte that is already not a digit).
        let not_digit = (d | d.wrapping_add(LO * 6)) & (LO * 0xf0);
        let n = if not_digit == 0 {
            8
        } else {
            (not_digit.trailing_zeros() / 8) as usize
        };
        let value = if n == 0 { 0 } else { digits_value(d, n) };
        (value, n)
    }

    /// A number of `n` digits from `self.at`: in range, and followed by one space (or the end
    /// of the line: `word_at` reads spaces there).
    #[inline(always)]
    fn number_end(&mut self, n: usize, max: usize, value: u64) -> Option<u64> {
        if n == 0 || n > max {
            return None;
        }
        let end = self.at + n;
        if end < self.line.len() && self.line.get(end) != Some(&b' ') {
            return None;
        }
        self.at = end + 1;
        Some(value)
    }
}

/// Eight bytes of `line` from `p` as a little-endian word; past the end of the line the bytes
/// read as spaces (the last value ends there).
#[inline(always)]
fn word_at(line: &[u8], p: usize) -> u64 {
    match line.get(p..p + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or([b' '; 8])),
        None => {
            let mut w = [b' '; 8];
            let rest = line.get(p..).unwrap_or_default();
            w.iter_mut().zip(rest).for_each(|(d, s)| *d = *s);
            u64::from_le_bytes(w)
        }
    }
}

/// A text value other than `-` (printable ASCII: `Values::next` stops at anything else).
#[inline(always)]
fn text(line: &[u8], (start, end): (usize, usize)) -> Option<&[u8]> {
    let token = line.get(start..end)?;
    if token.is_empty() || token == b"-" {
        return None;
    }
    Some(token)
}

#[cfg(test)]
pub(crate) mod tests {
    use core::net::IpAddr;

    use super::*;
    use crate::flowlog::record::tests::ipv4_cases;
    use crate::flowlog::{FlowRecord, Layout, LogStatus};

    /// The default-format fixtures' records (header lines are not records).
    pub(crate) fn fixture_lines() -> Vec<Vec<u8>> {
        let files: [&[u8]; 3] = [
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/flowlogs/default-v2.log"
            )),
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/flowlogs/aws-doc-default-v2.log"
            )),
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/flowlogs/default-v2-crlf.log"
            )),
        ];
        files
            .iter()
            .flat_map(|f| f.split(|&b| b == b'\n'))
            .filter(|l| !l.is_empty() && !Layout::is_header_line(l))
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Each line altered at every position: a byte replaced by one of the bytes that decide
    /// between the paths (separators, `-`, digits at the edges of ranges, `:`, a non-ASCII
    /// byte…), a byte removed, a byte doubled.
    pub(crate) fn mutations(line: &[u8]) -> Vec<Vec<u8>> {
        const BYTES: &[u8] = b" \t\r-09:.AZ\x00\x7f\x80\xff";
        let mut out = Vec::new();
        for i in 0..line.len() {
            for &b in BYTES {
                let mut m = line.to_vec();
                m[i] = b;
                out.push(m);
            }
            let mut removed = line.to_vec();
            removed.remove(i);
            out.push(removed);
            let mut doubled = line.to_vec();
            doubled.insert(i, line[i]);
            out.push(doubled);
        }
        out
    }

    /// What the general parser makes of a line the direct path took: the same values.
    fn assert_agrees(line: &[u8], flow: &DefaultV2Flow<'_>) {
        let layout = Layout::default_v2();
        let shown = String::from_utf8_lossy(line);
        let rec = FlowRecord::parse(&layout, line)
            .unwrap_or_else(|e| panic!("direct took a line the parser rejects: {shown}: {e}"));
        assert_eq!(rec.log_status(), Some(LogStatus::Ok), "{shown}");
        assert!(rec.version().is_some(), "{shown}");
        assert_eq!(
            rec.account_id().map(str::as_bytes),
            Some(flow.account_id),
            "{shown}"
        );
        assert_eq!(
            rec.interface_id().map(str::as_bytes),
            Some(flow.interface_id),
            "{shown}"
        );
        assert_eq!(rec.srcaddr(), Some(IpAddr::V4(flow.srcaddr)), "{shown}");
        assert_eq!(rec.dstaddr(), Some(IpAddr::V4(flow.dstaddr)), "{shown}");
        assert_eq!(rec.srcport(), Some(flow.srcport), "{shown}");
        assert_eq!(rec.dstport(), Some(flow.dstport), "{shown}");
        assert_eq!(rec.protocol(), Some(flow.protocol), "{shown}");
        assert_eq!(rec.packets(), Some(flow.packets), "{shown}");
        assert_eq!(rec.bytes(), Some(flow.bytes), "{shown}");
        assert_eq!(rec.start(), Some(flow.start), "{shown}");
        assert_eq!(rec.end(), Some(flow.end), "{shown}");
        assert_eq!(rec.action(), Some(flow.action), "{shown}");
    }

    #[test]
    fn takes_the_usual_lines_with_the_general_parsers_values() {
        let lines = fixture_lines();
        let taken: Vec<_> = lines
            .iter()
            .filter_map(|l| parse_default_v2_flow(l).map(|f| (l, f)))
            .collect();
        for (line, flow) in &taken {
            assert_agrees(line, flow);
        }
        // Every OK line of the LF fixtures; none of the CRLF ones (`\r` ends them), no
        // NODATA/SKIPDATA line, no line with `-` or IPv6.
        let expected = lines
            .iter()
            .filter(|l| {
                l.ends_with(b" OK") && !l.windows(3).any(|w| w == b" - ") && !l.contains(&b':')
            })
            .count();
        assert_eq!(taken.len(), expected);
        assert!(expected >= 8, "the fixtures have usual lines: {expected}");
    }

    /// Whatever a mutated line looks like, the direct path either declines it or reads what
    /// the general parser reads; and it takes some (the mutations keep many lines valid).
    #[test]
    fn mutated_lines_are_declined_or_read_alike() {
        let (mut taken, mut total) = (0, 0);
        for line in fixture_lines() {
            for m in mutations(&line) {
                total += 1;
                if let Some(flow) = parse_default_v2_flow(&m) {
                    taken += 1;
                    assert_agrees(&m, &flow);
                }
            }
        }
        assert!(taken > total / 20, "taken {taken} of {total}");
        assert!(taken < total, "some mutations must be declined");
    }

    #[test]
    fn declines_what_only_the_general_parser_handles() {
        let base = "2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK";
        assert!(parse_default_v2_flow(base.as_bytes()).is_some());
        for (what, line) in [
            ("two spaces", base.replacen(' ', "  ", 1)),
            ("leading space", format!(" {base}")),
            ("trailing space", format!("{base} ")),
            ("CR", format!("{base}\r")),
            ("tab", base.replacen(' ', "\t", 1)),
            ("NODATA", base.replace(" OK", " NODATA")),
            ("SKIPDATA", base.replace(" OK", " SKIPDATA")),
            ("dash", base.replace(" 10 1420 ", " - 1420 ")),
            ("dash account", base.replace("123456789012", "-")),
            ("IPv6", base.replace("10.0.1.5", "2600:1f18::1")),
            ("15 fields", format!("{base} x")),
            ("13 fields", base.replace(" OK", "")),
            ("port 65536", base.replace(" 443 ", " 65536 ")),
            ("protocol 256", base.replace(" 6 10 ", " 256 10 ")),
            (
                "start ms overflow",
                base.replace("1768478340", "18446744073709552"),
            ),
            ("non-ASCII eni", base.replace("eni-0123", "eni-\u{e9}123")),
            ("action", base.replace("ACCEPT", "accept")),
            ("empty", String::new()),
            (
                "17-digit bytes",
                base.replace(" 1420 ", " 12345678901234567 "),
            ),
            ("4-digit version", format!("000{base}")),
            ("version 256", base.replacen('2', "256", 1)),
            ("6-digit port", base.replace(" 443 ", " 000443 ")),
            ("number then tab", base.replace(" 1420 ", " 1420\t")),
            ("number then letter", base.replace(" 1420 ", " 1420x ")),
        ] {
            assert_eq!(parse_default_v2_flow(line.as_bytes()), None, "{what}");
        }
    }

    /// The address reader takes what `Ipv4Addr::from_str` takes and nothing else, on the
    /// cases the general parser's address reader is tested on.
    #[test]
    fn addresses_read_as_from_str_does() {
        for s in ipv4_cases() {
            let want = s.parse::<Ipv4Addr>().ok();
            for tail in ["", " x"] {
                let line = format!("{s}{tail}");
                let mut v = Values {
                    line: line.as_bytes(),
                    at: 0,
                };
                assert_eq!(v.ipv4(), want, "{line:?}");
            }
        }
    }

    /// Numbers at the edges of what the direct path reads give the general parser's values.
    #[test]
    fn numbers_at_the_edges_read_alike() {
        let base = "2 123456789012 eni-0123456789abcdef0 10.0.1.5 203.0.113.5 49152 443 6 10 1420 1768478340 1768478399 ACCEPT OK";
        let mut taken = 0;
        for (from, to) in [
            (" 49152 ", " 65535 "),
            (" 49152 ", " 0 "),
            (" 443 ", " 00443 "),
            (" 6 10 ", " 255 10 "),
            (" 6 10 ", " 007 10 "),
            (" 10 1420 ", " 99999999 1420 "),
            (" 10 1420 ", " 100000000 1420 "),
            (" 1420 ", " 1234567890123456 "),
            (" 1420 ", " 0000000000000001 "),
            ("1768478340", "9999999999999999"),
            ("1768478399", "0"),
        ] {
            let line = base.replacen(from, to, 1);
            let flow = parse_default_v2_flow(line.as_bytes());
            let flow = flow.unwrap_or_else(|| panic!("declined {line}"));
            assert_agrees(line.as_bytes(), &flow);
            taken += 1;
        }
        assert_eq!(taken, 11);
    }
}
