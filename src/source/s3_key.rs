//! The object key of a flow-log file in S3 → account, Region, flow log, time and file format.
//!
//! VPC Flow Logs write to S3 under one of four layouts (spec.md §A.6), after an optional
//! prefix (the path part of the flow log's `LogDestination` ARN):
//!
//! ```text
//! [prefix/]AWSLogs/{account}/vpcflowlogs/{region}/{YYYY}/{MM}/{DD}/[{HH}/]FILE
//! [prefix/]AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
//!          year={YYYY}/month={MM}/day={DD}/[hour={HH}/]FILE                  (Hive-compatible)
//! FILE = {account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDD}T{HHmm}Z_{hash}{suffix}
//! ```
//!
//! The suffix says the format: `.log.gz` is gzip text (what this agent reads), `.log.parquet`
//! (or any `….parquet`) is Parquet, which it does not read — [`FlowLogKey::check_supported`]
//! says so by name rather than feeding Parquet bytes to the text parser. Anything else is
//! reported as unknown.
//!
//! The bucket's other objects (CloudTrail, ELB logs, …, also under `AWSLogs/`) are not flow-log
//! keys and are refused, as are keys whose path and file name disagree on the account or
//! Region. The key must already be decoded (S3 event notifications form-encode it, spec.md
//! §H.8). Parsing borrows the key and allocates nothing unless it fails.

use std::fmt;

/// Longest part of a key quoted in an error.
const MAX_QUOTED: usize = 200;

/// How an object's bytes are encoded, from its suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectFormat {
    /// `.log.gz`: gzip text with a header line.
    Text,
    /// `.log.parquet` / `.parquet`.
    Parquet,
    /// Any other suffix.
    Unknown,
}

impl ObjectFormat {
    pub fn name(self) -> &'static str {
        match self {
            ObjectFormat::Text => "gzip text",
            ObjectFormat::Parquet => "Parquet",
            ObjectFormat::Unknown => "unknown",
        }
    }

    /// True if the agent can read it.
    pub fn is_supported(self) -> bool {
        self == ObjectFormat::Text
    }
}

/// Which of the documented folder layouts the key uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partitioning {
    /// `aws-account-id=…/…` folders (`HiveCompatiblePartitions`).
    pub hive: bool,
    /// An hour folder (`PerHourPartition`).
    pub hourly: bool,
}

/// The UTC time in a file name (`20260115T1155Z`): the end of the 5-minute delivery window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
}

impl KeyTime {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> u64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        // Years from 0000 are accepted by the parser; clamp the few before 1970 to 0.
        let secs = days * 86_400 + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60;
        u64::try_from(secs).unwrap_or(0)
    }
}

impl fmt::Display for KeyTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

/// A parsed flow-log object key; every string borrows the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowLogKey<'a> {
    /// The part before `AWSLogs/`, without its trailing `/`; empty when there is none.
    pub prefix: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// `fl-…`.
    pub flow_log_id: &'a str,
    pub time: KeyTime,
    /// The random part before the suffix.
    pub hash: &'a str,
    pub partitioning: Partitioning,
    pub format: ObjectFormat,
    /// The whole file name.
    pub file_name: &'a str,
}

impl FlowLogKey<'_> {
    /// `Ok` for a format the agent reads; else the error to log before skipping the object.
    pub fn check_supported(&self) -> Result<(), S3KeyError> {
        if self.format.is_supported() {
            return Ok(());
        }
        Err(S3KeyError::new(
            self.file_name,
            S3KeyErrorKind::Unsupported {
                format: self.format,
            },
        ))
    }
}

/// What is wrong with a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S3KeyErrorKind {
    /// No `AWSLogs/{account}/vpcflowlogs/…` (or Hive) path: not a flow-log object.
    NotFlowLogPath,
    /// The folders after `AWSLogs/` are not one of the documented layouts.
    BadFolders { reason: &'static str },
    /// The file name is not `{account}_vpcflowlogs_{region}_{flow-log-id}_{time}_{hash}.…`.
    BadFileName { reason: &'static str },
    /// The folders and the file name name different accounts or Regions.
    Mismatch { what: &'static str },
    /// Parquet or unknown: the agent only reads gzip text.
    Unsupported { format: ObjectFormat },
}

/// A key that is not a readable flow-log object, with the key (shortened) for context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3KeyError {
    pub key: String,
    pub kind: S3KeyErrorKind,
}

impl S3KeyError {
    fn new(key: &str, kind: S3KeyErrorKind) -> S3KeyError {
        let key = match key.char_indices().nth(MAX_QUOTED) {
            Some((cut, _)) => format!("{}…", &key[..cut]),
            None => key.to_string(),
        };
        S3KeyError { key, kind }
    }
}

impl fmt::Display for S3KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3 object {:?}: ", self.key)?;
        match &self.kind {
            S3KeyErrorKind::NotFlowLogPath => {
                f.write_str("not a VPC flow-log key (no AWSLogs/{account}/vpcflowlogs/ path)")
            }
            S3KeyErrorKind::BadFolders { reason } => {
                write!(f, "not a VPC flow-log folder layout: {reason}")
            }
            S3KeyErrorKind::BadFileName { reason } => {
                write!(f, "not a VPC flow-log file name: {reason}")
            }
            S3KeyErrorKind::Mismatch { what } => {
                write!(f, "folders and file name name different {what}s")
            }
            S3KeyErrorKind::Unsupported {
                format: ObjectFormat::Parquet,
            } => f.write_str(
                "Parquet flow-log files are not supported; recreate the flow log with file format plain-text",
            ),
            S3KeyErrorKind::Unsupported { format } => write!(
                f,
                "{} object type, only .log.gz flow-log files are read",
                format.name()
            ),
        }
    }
}

impl std::error::Error for S3KeyError {}

/// Parses a decoded S3 object key. See the module doc.
pub fn parse_key(key: &str) -> Result<FlowLogKey<'_>, S3KeyError> {
    let err = |kind| S3KeyError::new(key, kind);
    let start = find_awslogs(key).ok_or_else(|| err(S3KeyErrorKind::NotFlowLogPath))?;
    let prefix = key.get(..start).unwrap_or("").trim_end_matches('/');
    let rest = key.get(start + "AWSLogs/".len()..).unwrap_or("");
    let (folders, file_name) = rest.rsplit_once('/').ok_or_else(|| {
        err(S3KeyErrorKind::BadFolders {
            reason: "no folders after AWSLogs/",
        })
    })?;
    let dir = parse_folders(folders).map_err(err)?;
    let file = parse_file_name(file_name).map_err(err)?;
    if dir.account != file.account_id {
        return Err(err(S3KeyErrorKind::Mismatch { what: "account" }));
    }
    if dir.region != file.region {
        return Err(err(S3KeyErrorKind::Mismatch { what: "Region" }));
    }
    Ok(FlowLogKey {
        prefix,
        partitioning: dir.partitioning,
        ..file
    })
}

/// Offset of the `AWSLogs/` folder: the last one that starts a path segment (a prefix may
/// itself contain one; nothing after the real one can).
fn find_awslogs(key: &str) -> Option<usize> {
    key.rmatch_indices("AWSLogs/")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || key.as_bytes().get(i - 1) == Some(&b'/'))
}

struct Folders<'a> {
    account: &'a str,
    region: &'a str,
    partitioning: Partitioning,
}

fn parse_folders(folders: &str) -> Result<Folders<'_>, S3KeyErrorKind> {
    let bad = |reason| S3KeyErrorKind::BadFolders { reason };
    let mut it = folders.split('/');
    let first = it.next().unwrap_or("");
    let hive = first.starts_with("aws-account-id=");
    let account = field(first, hive, "aws-account-id")?;
    let service = field(
        it.next().ok_or(bad("too few folders"))?,
        hive,
        "aws-service",
    )?;
    if service != "vpcflowlogs" {
        return Err(S3KeyErrorKind::NotFlowLogPath);
    }
    let region = field(it.next().ok_or(bad("too few folders"))?, hive, "aws-region")?;
    if !is_account_id(account) {
        return Err(bad("account folder is not a 12-digit account id"));
    }
    if !is_region(region) {
        return Err(bad("Region folder is not a Region name"));
    }
    let parts: [(&str, usize); 4] = [("year", 4), ("month", 2), ("day", 2), ("hour", 2)];
    let mut hourly = false;
    for (i, (name, width)) in parts.iter().enumerate() {
        let Some(segment) = it.next() else {
            if i < 3 {
                return Err(bad("too few date folders"));
            }
            break;
        };
        let v = field(segment, hive, name)?;
        if v.len() != *width || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("date folder is not a zero-padded number"));
        }
        hourly = i == 3;
    }
    if it.next().is_some() {
        return Err(bad("too many folders"));
    }
    Ok(Folders {
        account,
        region,
        partitioning: Partitioning { hive, hourly },
    })
}

/// The value of one folder: `name=value` in Hive layouts, the folder itself otherwise.
fn field<'a>(segment: &'a str, hive: bool, name: &str) -> Result<&'a str, S3KeyErrorKind> {
    if !hive {
        return Ok(segment);
    }
    segment
        .strip_prefix(name)
        .and_then(|v| v.strip_prefix('='))
        .ok_or(S3KeyErrorKind::BadFolders {
            reason: "Hive folder is not the expected name=value",
        })
}

fn parse_file_name(name: &str) -> Result<FlowLogKey<'_>, S3KeyErrorKind> {
    let bad = |reason| S3KeyErrorKind::BadFileName { reason };
    let mut it = name.splitn(6, '_');
    let mut next = || it.next().ok_or(bad("fewer than six _-separated parts"));
    let account_id = next()?;
    let service = next()?;
    let region = next()?;
    let flow_log_id = next()?;
    let time = next()?;
    let last = next()?;
    if !is_account_id(account_id) {
        return Err(bad("does not start with a 12-digit account id"));
    }
    if service != "vpcflowlogs" {
        return Err(bad("second part is not vpcflowlogs"));
    }
    if !is_region(region) {
        return Err(bad("third part is not a Region name"));
    }
    if !flow_log_id
        .strip_prefix("fl-")
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(bad("fourth part is not a flow log id (fl-…)"));
    }
    let time = parse_time(time).ok_or(bad("fifth part is not a time like 20260115T1155Z"))?;
    let (hash, suffix) = match last.find('.') {
        Some(dot) => (&last[..dot], &last[dot..]),
        None => (last, ""),
    };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("last part is not a hash followed by the file suffix"));
    }
    let format = if suffix == ".log.gz" {
        ObjectFormat::Text
    } else if suffix.ends_with(".parquet") {
        ObjectFormat::Parquet
    } else {
        ObjectFormat::Unknown
    };
    Ok(FlowLogKey {
        prefix: "",
        account_id,
        region,
        flow_log_id,
        time,
        hash,
        partitioning: Partitioning {
            hive: false,
            hourly: false,
        },
        format,
        file_name: name,
    })
}

/// `YYYYMMDDTHHmmZ`, a real calendar date and time.
fn parse_time(s: &str) -> Option<KeyTime> {
    let b = s.as_bytes();
    if b.len() != 14 || b.get(8) != Some(&b'T') || b.get(13) != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u16, |v, &d| {
            d.is_ascii_digit().then(|| v * 10 + u16::from(d - b'0'))
        })
    };
    let t = KeyTime {
        year: num(0..4)?,
        month: u8::try_from(num(4..6)?).ok()?,
        day: u8::try_from(num(6..8)?).ok()?,
        hour: u8::try_from(num(9..11)?).ok()?,
        minute: u8::try_from(num(11..13)?).ok()?,
    };
    let ok = (1..=12).contains(&t.month)
        && t.day >= 1
        && t.day <= days_in_month(t.year, t.month)
        && t.hour < 24
        && t.minute < 60;
    ok.then_some(t)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`, `eu-isoe-west-1`: lowercase letters, digits
/// and dashes, with at least one dash.
fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.contains('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/flowlogs/s3-object-keys.txt"
    ));
    const DECODED_EVENT_KEY: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/s3-events/expected-decoded-key.txt"
    ));

    const TIME: KeyTime = KeyTime {
        year: 2026,
        month: 1,
        day: 15,
        hour: 11,
        minute: 55,
    };

    #[test]
    fn every_documented_layout() {
        let keys: Vec<&str> = KEYS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        assert_eq!(keys.len(), 5);
        let expect = [
            (false, false, ObjectFormat::Text),
            (false, true, ObjectFormat::Text),
            (true, false, ObjectFormat::Text),
            (true, true, ObjectFormat::Text),
            (false, false, ObjectFormat::Parquet),
        ];
        for (key, (hive, hourly, format)) in keys.iter().zip(expect) {
            let k = parse_key(key).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(k.prefix, "prefix");
            assert_eq!(k.account_id, "123456789012");
            assert_eq!(k.region, "us-east-1");
            assert_eq!(k.flow_log_id, "fl-0fedcba9876543210");
            assert_eq!(k.time, TIME);
            assert_eq!(k.hash, "1a2b3c4d");
            assert_eq!(k.partitioning, Partitioning { hive, hourly }, "{key}");
            assert_eq!(k.format, format);
            assert!(key.ends_with(k.file_name));
            assert!(k.file_name.starts_with("123456789012_vpcflowlogs_"));
        }
        let parquet = parse_key(keys[4]).unwrap();
        let err = parquet.check_supported().unwrap_err();
        assert_eq!(
            err.kind,
            S3KeyErrorKind::Unsupported {
                format: ObjectFormat::Parquet
            }
        );
        assert_eq!(
            err.to_string(),
            "S3 object \"123456789012_vpcflowlogs_us-east-1_fl-0fedcba9876543210_20260115T1155Z_1a2b3c4d.log.parquet\": Parquet flow-log files are not supported; recreate the flow log with file format plain-text"
        );
        assert_eq!(parse_key(keys[0]).unwrap().check_supported(), Ok(()));
    }

    #[test]
    fn key_from_an_s3_event_and_other_prefixes() {
        let k = parse_key(DECODED_EVENT_KEY.trim_end()).unwrap();
        assert_eq!(k.prefix, "flow logs");
        assert_eq!(
            (k.account_id, k.region, k.time),
            ("123456789012", "us-east-1", TIME)
        );
        let file = "123456789012_vpcflowlogs_eu-west-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz";
        // No prefix; a prefix of several folders, one of them called AWSLogs.
        let key = format!("AWSLogs/123456789012/vpcflowlogs/eu-west-1/2018/06/20/{file}");
        let k = parse_key(&key).unwrap();
        assert_eq!(
            (k.prefix, k.region, k.flow_log_id),
            ("", "eu-west-1", "fl-1234abcd")
        );
        assert_eq!(
            k.time,
            KeyTime {
                year: 2018,
                month: 6,
                day: 20,
                hour: 16,
                minute: 20
            }
        );
        let key =
            format!("a/AWSLogs/b/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2018/06/20/{file}");
        let k = parse_key(&key).unwrap();
        assert_eq!(k.prefix, "a/AWSLogs/b");
        let key = format!("xAWSLogs/AWSLogs/123456789012/vpcflowlogs/eu-west-1/2018/06/20/{file}");
        let k = parse_key(&key).unwrap();
        assert_eq!(k.prefix, "xAWSLogs");
    }

    #[test]
    fn time_in_the_file_name() {
        // 2018-06-20T16:20Z = 1529511600 (date -u -d 2018-06-20T16:20Z +%s).
        assert_eq!(
            KeyTime {
                year: 2018,
                month: 6,
                day: 20,
                hour: 16,
                minute: 20
            }
            .unix_seconds(),
            1_529_511_600
        );
        // 2026-01-15T11:55Z = 1768478100.
        assert_eq!(TIME.unix_seconds(), 1_768_478_100);
        assert_eq!(
            KeyTime {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0
            }
            .unix_seconds(),
            0
        );
        assert_eq!(
            KeyTime {
                year: 2024,
                month: 2,
                day: 29,
                hour: 23,
                minute: 59
            }
            .unix_seconds(),
            1_709_251_140
        );
        assert_eq!(TIME.to_string(), "2026-01-15T11:55Z");
        assert!(parse_time("20240229T2359Z").is_some());
        for bad in [
            "20230229T0000Z",
            "20261301T0000Z",
            "20260100T0000Z",
            "20260115T2400Z",
            "20260115T1160Z",
            "20260115 1155Z",
            "20260115T1155",
            "2026011T11550Z",
            "+0260115T1155Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn other_suffixes() {
        let base = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0fedcba9876543210_20260115T1155Z_1a2b3c4d";
        for (suffix, format) in [
            (".log.gz", ObjectFormat::Text),
            (".parquet", ObjectFormat::Parquet),
            (".log", ObjectFormat::Unknown),
            ("", ObjectFormat::Unknown),
            (".log.gz.tmp", ObjectFormat::Unknown),
        ] {
            let key = format!("{base}{suffix}");
            let k = parse_key(&key).unwrap();
            assert_eq!(k.format, format, "{suffix}");
            assert_eq!(k.format.is_supported(), suffix == ".log.gz");
        }
        let key = format!("{base}.log");
        let k = parse_key(&key).unwrap();
        assert!(
            k.check_supported()
                .unwrap_err()
                .to_string()
                .ends_with(": unknown object type, only .log.gz flow-log files are read")
        );
    }

    #[test]
    fn not_flow_log_keys() {
        use S3KeyErrorKind::*;
        let file = "123456789012_vpcflowlogs_us-east-1_fl-0fedcba9876543210_20260115T1155Z_1a2b3c4d.log.gz";
        let cases: Vec<(String, S3KeyErrorKind)> = vec![
            ("".into(), NotFlowLogPath),
            (file.into(), NotFlowLogPath),
            ("AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/15/123456789012_CloudTrail_us-east-1_20260115T1155Z_abc.json.gz".into(), NotFlowLogPath),
            ("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/01/15/x.log.gz".into(), NotFlowLogPath),
            ("AWSLogs/".into(), BadFolders { reason: "no folders after AWSLogs/" }),
            (format!("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/{file}"), BadFolders { reason: "too few date folders" }),
            (format!("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/11/00/{file}"), BadFolders { reason: "too many folders" }),
            (format!("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/1/15/{file}"), BadFolders { reason: "date folder is not a zero-padded number" }),
            (format!("AWSLogs/12345/vpcflowlogs/us-east-1/2026/01/15/{file}"), BadFolders { reason: "account folder is not a 12-digit account id" }),
            (format!("AWSLogs/123456789012/vpcflowlogs/US_EAST/2026/01/15/{file}"), BadFolders { reason: "Region folder is not a Region name" }),
            (format!("AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/region=us-east-1/year=2026/month=01/day=15/{file}"), BadFolders { reason: "Hive folder is not the expected name=value" }),
            (format!("AWSLogs/123456789013/vpcflowlogs/us-east-1/2026/01/15/{file}"), Mismatch { what: "account" }),
            (format!("AWSLogs/123456789012/vpcflowlogs/us-west-2/2026/01/15/{file}"), Mismatch { what: "Region" }),
            ("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0fedcba9876543210_20260115T1155Z".into(), BadFileName { reason: "fewer than six _-separated parts" }),
            ("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_cloudtrail_us-east-1_fl-0_20260115T1155Z_1.log.gz".into(), BadFileName { reason: "second part is not vpcflowlogs" }),
            ("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_eni-0_20260115T1155Z_1.log.gz".into(), BadFileName { reason: "fourth part is not a flow log id (fl-…)" }),
            ("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0_20260115T1195Z_1.log.gz".into(), BadFileName { reason: "fifth part is not a time like 20260115T1155Z" }),
            ("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0_20260115T1155Z_.log.gz".into(), BadFileName { reason: "last part is not a hash followed by the file suffix" }),
            ("AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/15/123456789012_vpcflowlogs_us-east-1_fl-0_20260115T1155Z_a_b.log.gz".into(), BadFileName { reason: "last part is not a hash followed by the file suffix" }),
        ];
        for (key, kind) in cases {
            let err = parse_key(&key).unwrap_err();
            assert_eq!(err.kind, kind, "{key}");
            assert_eq!(err.key, key);
            assert!(err.to_string().starts_with("S3 object \""), "{err}");
        }
        // Long keys are quoted short.
        let long = format!("{}/x", "p".repeat(5000));
        let err = parse_key(&long).unwrap_err();
        assert!(err.to_string().len() < 400);
    }

    /// A key cut anywhere is an error or (at a suffix boundary) a key of another format;
    /// never a panic.
    #[test]
    fn every_prefix_of_a_key() {
        for key in KEYS.lines().filter(|l| !l.starts_with('#')) {
            for cut in 0..key.len() {
                if let Ok(k) = parse_key(&key[..cut]) {
                    assert_ne!(k.format, ObjectFormat::Text, "{}", &key[..cut]);
                }
            }
        }
    }
}
