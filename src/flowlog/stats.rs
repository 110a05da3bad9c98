//! Counters for a run of flow-log lines, and a short report of the lines that did not parse.
//!
//! A bad line must not stop a file (one malformed line in a 75 MB object is not a reason to
//! drop the rest), but it must be visible: the first [`MAX_SAMPLES`] are kept with where they
//! came from, the rest are only counted, so memory stays bounded whatever the input. The
//! source name is the caller's (`/path/file.log.gz`, `s3://bucket/key`, `cwl:group/stream`).

use std::fmt;

use crate::flowlog::record::{FlowRecord, LogStatus};

/// Bad lines kept with their text; the rest are counted.
pub const MAX_SAMPLES: usize = 20;

/// One bad line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedLine {
    pub source: String,
    /// 1-based line number in the source.
    pub line_no: u64,
    pub error: String,
}

impl fmt::Display for MalformedLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}: {}", self.source, self.line_no, self.error)
    }
}

/// What happened to each line. Every line is counted by exactly one `count_*` call, so
/// `lines = records + header_lines + blank_lines + malformed + overlong_lines`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParseStats {
    pub lines: u64,
    /// Lines that parsed, whatever their `log-status`.
    pub records: u64,
    /// Of `records`: `log-status` NODATA.
    pub nodata: u64,
    /// Of `records`: `log-status` SKIPDATA.
    pub skipdata: u64,
    pub malformed: u64,
    pub header_lines: u64,
    pub blank_lines: u64,
    /// Lines longer than the reader's buffer, skipped.
    pub overlong_lines: u64,
    samples: Vec<MalformedLine>,
}

impl ParseStats {
    pub fn new() -> ParseStats {
        ParseStats::default()
    }

    /// Records that describe flows (`log-status` OK or absent).
    pub fn flows(&self) -> u64 {
        self.records - self.nodata - self.skipdata
    }

    pub fn count_record(&mut self, rec: &FlowRecord<'_>) {
        self.lines += 1;
        self.records += 1;
        match rec.log_status() {
            Some(LogStatus::NoData) => self.nodata += 1,
            Some(LogStatus::SkipData) => self.skipdata += 1,
            _ => {}
        }
    }

    /// A record known to be a flow (`log-status` `OK`), without its `FlowRecord`.
    pub fn count_flow(&mut self) {
        self.lines += 1;
        self.records += 1;
    }

    pub fn count_header(&mut self) {
        self.lines += 1;
        self.header_lines += 1;
    }

    pub fn count_blank(&mut self) {
        self.lines += 1;
        self.blank_lines += 1;
    }

    /// A line that did not parse. Allocates only while fewer than [`MAX_SAMPLES`] are kept.
    pub fn count_malformed(&mut self, source: &str, line_no: u64, error: &dyn fmt::Display) {
        self.lines += 1;
        self.malformed += 1;
        self.sample(source, line_no, error);
    }

    /// A line longer than the reader's buffer (`lines::LineTooLong`).
    pub fn count_overlong(&mut self, source: &str, line_no: u64, error: &dyn fmt::Display) {
        self.lines += 1;
        self.overlong_lines += 1;
        self.sample(source, line_no, error);
    }

    fn sample(&mut self, source: &str, line_no: u64, error: &dyn fmt::Display) {
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(MalformedLine {
                source: source.to_owned(),
                line_no,
                error: error.to_string(),
            });
        }
    }

    /// The first bad lines (malformed or over-long), in order.
    pub fn samples(&self) -> &[MalformedLine] {
        &self.samples
    }

    /// Bad lines counted but not kept.
    pub fn unreported(&self) -> u64 {
        (self.malformed + self.overlong_lines).saturating_sub(self.samples.len() as u64)
    }

    /// Adds `other`'s counts (per-source stats into a total); samples are kept up to the cap.
    pub fn merge(&mut self, other: &ParseStats) {
        self.lines += other.lines;
        self.records += other.records;
        self.nodata += other.nodata;
        self.skipdata += other.skipdata;
        self.malformed += other.malformed;
        self.header_lines += other.header_lines;
        self.blank_lines += other.blank_lines;
        self.overlong_lines += other.overlong_lines;
        let room = MAX_SAMPLES.saturating_sub(self.samples.len());
        self.samples
            .extend(other.samples.iter().take(room).cloned());
    }
}

/// A summary line, then one line per kept bad line.
impl fmt::Display for ParseStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lines: {} records ({} flows, {} NODATA, {} SKIPDATA), {} header, {} blank, \
             {} malformed, {} over-long",
            self.lines,
            self.records,
            self.flows(),
            self.nodata,
            self.skipdata,
            self.header_lines,
            self.blank_lines,
            self.malformed,
            self.overlong_lines
        )?;
        for s in &self.samples {
            write!(f, "\n  {s}")?;
        }
        match self.unreported() {
            0 => Ok(()),
            n => write!(f, "\n  … and {n} more bad lines not shown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::layout::Layout;
    use crate::flowlog::record::parse_line;

    const V2: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/flowlogs/default-v2.log"
    ));

    /// Classifies every line of the sample the way a source does.
    fn count(source: &str, text: &[u8], stats: &mut ParseStats) {
        let layout = Layout::default_v2();
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = i as u64 + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                stats.count_blank();
            } else if Layout::is_header_line(line) {
                stats.count_header();
            } else {
                match parse_line(&layout, line) {
                    Ok(rec) => stats.count_record(&rec),
                    Err(e) => stats.count_malformed(source, line_no, &e),
                }
            }
        }
    }

    #[test]
    fn counts_the_sample() {
        let mut stats = ParseStats::new();
        // The split leaves one empty piece after the final newline.
        count("default-v2.log", V2, &mut stats);
        assert_eq!(stats.lines, 10);
        assert_eq!(stats.header_lines, 1);
        assert_eq!(stats.blank_lines, 1);
        assert_eq!(stats.records, 8);
        assert_eq!((stats.nodata, stats.skipdata, stats.flows()), (1, 1, 6));
        assert_eq!(stats.malformed, 0);
        assert_eq!(
            stats.to_string(),
            "10 lines: 8 records (6 flows, 1 NODATA, 1 SKIPDATA), 1 header, 1 blank, \
             0 malformed, 0 over-long"
        );
    }

    #[test]
    fn keeps_the_first_bad_lines_only() {
        let mut stats = ParseStats::new();
        let bad: Vec<u8> = (0..30)
            .flat_map(|i| format!("2 x{i} eni-1 10.0.0.1\n").into_bytes())
            .collect();
        count("s3://bucket/key.log.gz", &bad, &mut stats);
        assert_eq!(stats.malformed, 30);
        assert_eq!(stats.samples().len(), MAX_SAMPLES);
        assert_eq!(stats.unreported(), 10);
        assert_eq!(
            stats.samples()[0],
            MalformedLine {
                source: "s3://bucket/key.log.gz".into(),
                line_no: 1,
                error: "wrong field count: expected 14, got 4".into(),
            }
        );
        assert_eq!(stats.samples()[19].line_no, 20);
        let text = stats.to_string();
        assert!(text.contains("\n  s3://bucket/key.log.gz line 2: wrong field count"));
        assert!(
            text.ends_with("\n  … and 10 more bad lines not shown"),
            "{text}"
        );

        let mut total = ParseStats::new();
        count("a", V2, &mut total);
        total.count_overlong("b", 7, &"line 7 is longer than the 64-byte buffer");
        total.merge(&stats);
        assert_eq!(total.lines, 10 + 1 + 31);
        assert_eq!(total.malformed, 30);
        assert_eq!(total.overlong_lines, 1);
        assert_eq!(total.samples().len(), MAX_SAMPLES);
        assert_eq!(total.samples()[0].source, "b");
        assert_eq!(total.unreported(), 11);
    }
}
