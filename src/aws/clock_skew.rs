//! Server time: the date formats AWS sends, and the offset between AWS's clock and ours.
//!
//! SigV4 requests are rejected when `x-amz-date` is more than 15 minutes from the server's clock
//! (spec.md D.2, E.1 step 7). When that happens the error names a clock-skew code and the
//! response carries the server's time (`Date` header, or S3's `<ServerTime>`); the signer then
//! uses `wall + offset` for every later request.
//!
//! Formats parsed here (all UTC): ISO 8601 `2026-01-15T13:00:00Z` with optional fraction
//! (STS/IMDS `Expiration`, S3 `ServerTime`), IMF-fixdate `Thu, 15 Jan 2026 12:20:01 GMT`
//! (HTTP `Date`, RFC 9110 §5.6.7) and the SigV4 basic form `20260115T120000Z`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Skew smaller than this is not worth correcting: aws-sdk-js-v3 `isClockSkewed` uses a
/// 5-minute window (`middleware-signing/src/utils/isClockSkewed.ts`, `SKEW_WINDOW`); SigV4 itself
/// allows 15 minutes.
pub const SKEW_THRESHOLD: Duration = Duration::from_secs(5 * 60);

/// The server's clock minus ours, in milliseconds (positive: AWS is ahead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockSkew {
    pub offset_ms: i64,
}

impl ClockSkew {
    pub const ZERO: ClockSkew = ClockSkew { offset_ms: 0 };

    /// The offset between `server` (from a response) and `wall` (when we received it).
    pub fn measure(server: SystemTime, wall: SystemTime) -> ClockSkew {
        let offset_ms = match server.duration_since(wall) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_millis()).unwrap_or(i64::MAX),
        };
        ClockSkew { offset_ms }
    }

    /// Whether the offset is large enough to explain a signature rejected for its time.
    pub fn is_significant(self) -> bool {
        self.offset_ms.unsigned_abs() >= SKEW_THRESHOLD.as_millis() as u64
    }

    /// `wall` corrected to the server's clock: what the signer should use.
    pub fn apply(self, wall: SystemTime) -> SystemTime {
        let d = Duration::from_millis(self.offset_ms.unsigned_abs());
        if self.offset_ms >= 0 {
            wall.checked_add(d).unwrap_or(wall)
        } else {
            wall.checked_sub(d).unwrap_or(wall)
        }
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)`.
pub fn parse_iso8601(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (hour, min, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix(b".") {
        let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, d) in frac[..digits].iter().enumerate().take(9) {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &frac[digits..];
    }
    if !matches!(rest, b"Z" | b"z" | b"+00:00") {
        return None;
    }
    to_system_time(year, month, day, hour, min, sec, nanos)
}

/// Parses an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let b = s.trim().as_bytes();
    if b.len() != 29
        || &b[3..5] != b", "
        || b[7] != b' '
        || b[11] != b' '
        || b[16] != b' '
        || &b[25..] != b" GMT"
    {
        return None;
    }
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| m[..] == b[8..11])? as u32 + 1;
    if b[19] != b':' || b[22] != b':' {
        return None;
    }
    let (day, year) = (num(&b[5..7])?, num(&b[12..16])?);
    let (hour, min, sec) = (num(&b[17..19])?, num(&b[20..22])?, num(&b[23..25])?);
    to_system_time(year, month, day, hour, min, sec, 0)
}

/// Parses the SigV4 `x-amz-date` form `20260115T120000Z`.
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    to_system_time(
        num(&b[0..4])?,
        num(&b[4..6])?,
        num(&b[6..8])?,
        num(&b[9..11])?,
        num(&b[11..13])?,
        num(&b[13..15])?,
        0,
    )
}

fn num(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

fn to_system_time(
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
) -> Option<SystemTime> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    if day == 0 || day > month_days[month as usize - 1] {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Formats `t` as ISO 8601 UTC seconds (`2026-01-15T13:00:00Z`), for logs.
pub fn format_iso8601(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil_from_days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn iso8601_forms() {
        // STS AssumeRole Expiration in samples/aws-api/sts_AssumeRole.response.txt.
        assert_eq!(
            parse_iso8601("2026-01-15T13:00:00Z"),
            Some(at(1_768_482_000))
        );
        // moto's Expiration carries microseconds.
        assert_eq!(
            parse_iso8601("2026-11-26T17:39:25.656650Z"),
            Some(at(1_795_714_765) + Duration::from_micros(656_650))
        );
        assert_eq!(
            parse_iso8601("2026-01-15T13:00:00.000+00:00"),
            Some(at(1_768_482_000))
        );
        assert_eq!(
            parse_iso8601("2024-02-29T00:00:00Z"),
            Some(at(1_709_164_800))
        );
        for bad in [
            "",
            "2026-01-15 13:00:00Z",
            "2026-01-15T13:00:00",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-15T13:00:00.Z",
            "2026-01-15T13:00:00+01:00",
            "20x6-01-15T13:00:00Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_and_amz_dates() {
        assert_eq!(
            parse_http_date("Thu, 15 Jan 2026 12:20:01 GMT"),
            Some(at(1_768_479_601))
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(at(784_111_777))
        );
        assert_eq!(parse_http_date("Thu, 15 Foo 2026 12:20:01 GMT"), None);
        assert_eq!(parse_http_date("Thursday, 15-Jan-26 12:20:01 GMT"), None);
        assert_eq!(parse_amz_date("20260115T120000Z"), Some(at(1_768_478_400)));
        assert_eq!(parse_amz_date("20260115T1200Z"), None);
    }

    #[test]
    fn format_round_trips() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2026-01-15T13:00:00Z",
            "2024-02-29T23:59:59Z",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(parse_iso8601(s).map(format_iso8601).as_deref(), Some(s));
        }
    }

    #[test]
    fn skew_measure_and_apply() {
        // S3 RequestTimeTooSkewed fixture: request at 12:00:00, ServerTime 12:20:01.
        let wall = at(1_768_478_400);
        let server = parse_iso8601("2026-01-15T12:20:01Z").expect("time");
        let skew = ClockSkew::measure(server, wall);
        assert_eq!(skew.offset_ms, 1_201_000);
        assert!(skew.is_significant());
        assert_eq!(skew.apply(wall), server);
        let behind = ClockSkew::measure(wall, server);
        assert_eq!(behind.offset_ms, -1_201_000);
        assert_eq!(behind.apply(server), wall);
        assert!(!ClockSkew::measure(at(1000 + 299), at(1000)).is_significant());
        assert!(ClockSkew::measure(at(1000 + 300), at(1000)).is_significant());
        assert_eq!(ClockSkew::ZERO.apply(wall), wall);
    }
}
