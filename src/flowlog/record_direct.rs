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
//! it uses the same number and address readers (`record_values.rs`), and the tests compare
//! both on every fixture line and on mutated lines.
//!
//! [`FlowRecord`]: super::FlowRecord

use core::net::Ipv4Addr;

use super::Action;
use super::values::{parse_ipv4_at, parse_u8_at, parse_u16_at, parse_u64_at};

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
/// Longest line the direct path reads (its separator bitmap has this many bits). A default
/// line with IPv4 addresses is at most about 160 bytes, most are near 110.
const MAX_LINE: usize = 256;
/// Values in a default-format line.
const VALUES: usize = 14;

const LO: u64 = u64::from_le_bytes([0x01; 8]);
const HI: u64 = u64::from_le_bytes([0x80; 8]);

/// Reads `line` if it is a default-format `OK` IPv4 flow written the way AWS writes one (see
/// the module doc); `None` means "use the general parser", never "malformed".
///
/// One pass over the line, eight bytes at a time, finds every byte below 0x21 (a separator,
/// or a byte that makes the line unusual) and every byte above 0x7f; the thirteen separators
/// are then read off the bitmap, and each value is converted by the general parser's readers.
#[inline]
pub fn parse_default_v2_flow(line: &[u8]) -> Option<DefaultV2Flow<'_>> {
    let ends = value_ends(line)?;
    // Value `k` is `line[start(k)..ends[k]]`; an empty one (two spaces, a leading space) is
    // rejected by its reader.
    let start = |k: usize| if k == 0 { 0 } else { ends[k - 1] + 1 };
    let span = |k: usize| (start(k), ends[k]);
    let (s, e) = span(0);
    parse_u8_at(line, s, e)?; // version
    let account_id = text(line, span(1))?;
    let interface_id = text(line, span(2))?;
    let (s, e) = span(3);
    let srcaddr = parse_ipv4_at(line, s, e)?;
    let (s, e) = span(4);
    let dstaddr = parse_ipv4_at(line, s, e)?;
    let (s, e) = span(5);
    let srcport = parse_u16_at(line, s, e)?;
    let (s, e) = span(6);
    let dstport = parse_u16_at(line, s, e)?;
    let (s, e) = span(7);
    let protocol = parse_u8_at(line, s, e)?;
    let (s, e) = span(8);
    let packets = parse_u64_at(line, s, e)?;
    let (s, e) = span(9);
    let bytes = parse_u64_at(line, s, e)?;
    let (s, e) = span(10);
    let start_s = parse_u64_at(line, s, e).filter(|&v| v <= MAX_SECONDS)?;
    let (s, e) = span(11);
    let end_s = parse_u64_at(line, s, e).filter(|&v| v <= MAX_SECONDS)?;
    let (s, e) = span(12);
    let action = match line.get(s..e)? {
        b"ACCEPT" => Action::Accept,
        b"REJECT" => Action::Reject,
        _ => return None,
    };
    let (s, e) = span(13);
    if line.get(s..e)? != b"OK" {
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
        start: start_s,
        end: end_s,
        action,
    })
}

/// Where each of the 14 values ends (the last one at the end of the line), if the line is
/// short enough, all printable ASCII but for its separators, and those are exactly thirteen
/// single spaces (`\t`, `\r` or any other control byte sends the line the general way).
#[inline(always)]
fn value_ends(line: &[u8]) -> Option<[usize; VALUES]> {
    if line.len() > MAX_LINE {
        return None;
    }
    let mut ends = [line.len(); VALUES];
    let mut found = 0;
    let mut unusual = 0u64;
    for (w, chunk) in line.chunks(8).enumerate() {
        let x = word(chunk);
        // Exact per byte (no carry crosses a byte): high bit set where the byte is < 0x21.
        let below = !(((x & !HI) + LO * (0x80 - 0x21)) | x) & HI;
        let spaces = zero_bytes(x ^ (LO * u64::from(b' ')));
        // A byte < 0x21 that is not a space, or a byte ≥ 0x80.
        unusual |= (below ^ spaces) | (x & HI);
        let mut m = spaces;
        while m != 0 {
            let at = w * 8 + (m.trailing_zeros() / 8) as usize;
            *ends.get_mut(found)? = at;
            found += 1;
            m &= m - 1;
        }
    }
    // Thirteen separators: the fourteenth value ends at the end of the line (where `ends`
    // already says it does).
    (unusual == 0 && found == VALUES - 1).then_some(ends)
}

/// Up to eight bytes as a little-endian word; a short last chunk is padded with `A`, which is
/// neither a separator nor unusual.
#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(chunk) {
        Ok(w) => u64::from_le_bytes(w),
        Err(_) => {
            let mut w = [b'A'; 8];
            w.iter_mut().zip(chunk).for_each(|(d, s)| *d = *s);
            u64::from_le_bytes(w)
        }
    }
}

/// High bit of every byte of `x` that is zero, exactly.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    !(((x & !HI) + !HI) | x) & HI
}

/// A text value other than `-` (the line is ASCII: checked by `value_ends`).
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
        ] {
            assert_eq!(parse_default_v2_flow(line.as_bytes()), None, "{what}");
        }
    }
}
