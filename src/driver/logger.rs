//! A minimal `log` backend: one line per record on stderr, UTC timestamp, level, message.
//!
//! The level comes from `--log-level` / `VPCFLOW_LOG` (read by main.rs). Lines are written whole
//! with one `write` so they don't interleave with progress output.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::inventory::cron::civil_from_days;

struct StderrLogger {
    level: LevelFilter,
}

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = t.as_secs();
        let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        let level = match record.level() {
            Level::Error => "ERROR",
            Level::Warn => "WARN ",
            Level::Info => "INFO ",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        };
        let line = format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z {level} {}\n",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            t.subsec_millis(),
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Installs the logger once; later calls only change nothing.
pub fn init(level: LevelFilter) {
    if log::set_logger(Box::leak(Box::new(StderrLogger { level }))).is_ok() {
        log::set_max_level(level);
    }
}

/// `error`, `warn`, `info`, `debug`, `trace` or `off`.
pub fn parse_level(text: &str) -> Option<LevelFilter> {
    text.parse().ok()
}
