//! Five-field cron schedules (UTC), for the seed's "Cron Schedule" of enrichment refreshes.
//!
//! `minute hour day-of-month month day-of-week`, each a `*`, a number, a range `a-b`, a step
//! `*/n` or `a-b/n`, or a comma list of those; months and weekdays also by name (`jan`, `mon`);
//! weekday 7 is Sunday like 0. As in Vixie cron, when both day-of-month and day-of-week are
//! restricted a day matches if EITHER matches. Times are UTC: a flow collector appliance has no
//! business with daylight saving. `next_after` walks months, days, hours and minutes, skipping
//! whole units that cannot match, so it is fast even for rare schedules.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64, // bits 0..=59
    hours: u32,   // bits 0..=23
    days: u32,    // bits 1..=31
    months: u16,  // bits 1..=12
    weekdays: u8, // bits 0..=6, Sunday = 0
    days_restricted: bool,
    weekdays_restricted: bool,
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError {
    pub expression: String,
    pub message: String,
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cron schedule {:?}: {}", self.expression, self.message)
    }
}

impl std::error::Error for CronError {}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let fail = |message: String| CronError {
            expression: text.to_string(),
            message,
        };
        let fields: Vec<&str> = text.split_ascii_whitespace().collect();
        if fields.len() != 5 {
            return Err(fail(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        }
        let minutes =
            parse_field(fields[0], 0, 59, &[]).map_err(|m| fail(format!("minute: {m}")))?;
        let hours = parse_field(fields[1], 0, 23, &[]).map_err(|m| fail(format!("hour: {m}")))?;
        let days =
            parse_field(fields[2], 1, 31, &[]).map_err(|m| fail(format!("day of month: {m}")))?;
        let months =
            parse_field(fields[3], 1, 12, &MONTHS).map_err(|m| fail(format!("month: {m}")))?;
        let mut weekdays = parse_field(fields[4], 0, 7, &WEEKDAYS)
            .map_err(|m| fail(format!("day of week: {m}")))?;
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays | 1) & 0x7f; // 7 is Sunday too
        }
        Ok(Cron {
            minutes,
            hours: hours as u32,
            days: days as u32,
            months: months as u16,
            weekdays: weekdays as u8,
            days_restricted: !fields[2].starts_with('*'),
            weekdays_restricted: !fields[4].starts_with('*'),
            text: text.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire time strictly after `after`, at a whole minute; `None` if the schedule can
    /// never fire (e.g. `0 0 30 2 *`, February 30th) — checked over 8 years, a full leap cycle
    /// with margin.
    pub fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        let secs = after.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let mut minute_index = secs / 60 + 1; // minutes since the epoch
        let limit = minute_index + 8 * 366 * 24 * 60;
        while minute_index < limit {
            let day_index = minute_index / 1440;
            let (y, m, d) = civil_from_days(day_index as i64);
            if self.months & (1 << m) == 0 {
                // Jump to the first minute of the next month.
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                minute_index = days_from_civil(ny, nm, 1) as u64 * 1440;
                continue;
            }
            if !self.day_matches(d, weekday(day_index as i64)) {
                minute_index = (day_index + 1) * 1440;
                continue;
            }
            let minute_of_day = minute_index % 1440;
            let (h, min) = (minute_of_day / 60, minute_of_day % 60);
            if self.hours & (1 << h) == 0 {
                minute_index = day_index * 1440 + (h + 1) * 60;
                continue;
            }
            if self.minutes & (1 << min) == 0 {
                minute_index += 1;
                continue;
            }
            return Some(UNIX_EPOCH + Duration::from_secs(minute_index * 60));
        }
        None
    }

    fn day_matches(&self, day: u32, weekday: u32) -> bool {
        let dom = self.days & (1 << day) != 0;
        let dow = self.weekdays & (1 << weekday) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }
}

/// A field as a bit set over `min..=max`.
fn parse_field(field: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let mut set = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("bad step {s:?}"))?;
                if step == 0 {
                    return Err("a step of 0".into());
                }
                (r, step)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, max, names)?, value(b, min, max, names)?)
        } else {
            let v = value(range, min, max, names)?;
            // `5/15` means 5, 20, 35, 50 in most crons: a start with a step runs to the end.
            (v, if step > 1 { max } else { v })
        };
        if lo > hi {
            return Err(format!("range {range:?} runs backwards"));
        }
        let mut v = lo;
        while v <= hi {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        // Month names are 1-based, weekday names 0-based: both equal `min + index`.
        return Ok(min + i as u32);
    }
    match text.parse::<u32>() {
        Ok(v) if (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is outside {min}-{max}")),
        Err(_) => Err(format!(
            "{text:?} is not a number{}",
            if names.is_empty() { "" } else { " or a name" }
        )),
    }
}

/// Days since 1970-01-01 → (year, month 1..=12, day 1..=31), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Sunday = 0. 1970-01-01 was a Thursday.
fn weekday(day_index: i64) -> u32 {
    (day_index + 4).rem_euclid(7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, mo: u32, d: u32, h: u64, mi: u64) -> SystemTime {
        UNIX_EPOCH
            + Duration::from_secs(days_from_civil(y, mo, d) as u64 * 86_400 + h * 3600 + mi * 60)
    }

    /// Next fire times worked out by hand from a calendar (2026-11-26 is a Thursday).
    #[test]
    fn next_fire_table() {
        let now = at(2026, 11, 26, 17, 6) + Duration::from_secs(34);
        let table: &[(&str, SystemTime)] = &[
            ("* * * * *", at(2026, 11, 26, 17, 7)),
            ("0 */4 * * *", at(2026, 11, 26, 20, 0)),
            ("30 2 * * *", at(2026, 11, 27, 2, 30)),
            ("0 0 1 * *", at(2026, 12, 1, 0, 0)),
            ("0 0 * * mon", at(2026, 11, 30, 0, 0)),
            ("0 0 * * 7", at(2026, 11, 29, 0, 0)),
            ("15,45 9-17 * * 1-5", at(2026, 11, 26, 17, 15)),
            ("15,45 9-16 * * 1-5", at(2026, 11, 27, 9, 15)),
            ("*/20 18 * * *", at(2026, 11, 26, 18, 0)),
            ("5/20 * * * *", at(2026, 11, 26, 17, 25)),
            ("0 12 29 2 *", at(2028, 2, 29, 12, 0)),
            ("0 0 13 * fri", at(2026, 11, 27, 0, 0)), // either: Friday the 27th comes first
            ("0 0 1 jan *", at(2027, 1, 1, 0, 0)),
            ("59 23 31 12 *", at(2026, 12, 31, 23, 59)),
            // November Thursdays at 06:00: today's has passed and it is the last Thursday of
            // November 2026, so the next is the first Thursday of November 2027.
            ("0 6 * 11 4", at(2027, 11, 4, 6, 0)),
        ];
        for (expr, want) in table {
            let got = Cron::parse(expr).unwrap().next_after(now);
            assert_eq!(got, Some(*want), "{expr}");
        }
    }

    #[test]
    fn fires_strictly_after_the_given_time() {
        let c = Cron::parse("0 * * * *").unwrap();
        assert_eq!(
            c.next_after(at(2026, 1, 1, 5, 0)),
            Some(at(2026, 1, 1, 6, 0))
        );
    }

    #[test]
    fn impossible_schedules_never_fire() {
        assert_eq!(
            Cron::parse("0 0 30 2 *")
                .unwrap()
                .next_after(at(2026, 1, 1, 0, 0)),
            None
        );
    }

    #[test]
    fn errors_name_the_field() {
        for (expr, needle) in [
            ("* * * *", "expected 5 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day of month"),
            ("* * * foo *", "month"),
            ("* * * * 8", "day of week"),
            ("*/0 * * * *", "step of 0"),
            ("5-1 * * * *", "backwards"),
        ] {
            let e = Cron::parse(expr).unwrap_err().to_string();
            assert!(e.contains(needle), "{expr}: {e}");
        }
    }

    #[test]
    fn civil_conversions_round_trip() {
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
