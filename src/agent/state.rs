//! What the agent persists in `[agent] state_dir`, as bytes for the driver's store to write
//! atomically (temp file, fsync, rename, fsync dir):
//!
//! - `checkpoints.json`: every input's `checkpoint()` in one document, keyed by input name:
//!   `{"version": 1, "inputs": {"s3:BUCKET": …, "cwl:GROUP": …}}`. Entries of inputs that are not
//!   enabled now are carried over unchanged, so disabling an input for a while does not lose
//!   its place.
//! - `exporters.json`: the VPC → observation domain table (`pipeline::domains`).
//! - `status.json`: counters for operators and monitoring, refreshed every few seconds.
//!
//! One document for all checkpoints, not a file per input: one atomic write makes the inputs'
//! positions consistent with each other, and there is one fsync per save, not one per input.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::export::ExportStats;
use crate::flowlog::stats::ParseStats;
use crate::source::InputStatus;

/// The checkpoint document's format version.
pub const CHECKPOINTS_VERSION: u64 = 1;
pub const CHECKPOINTS_FILE: &str = "checkpoints.json";
pub const EXPORTERS_FILE: &str = "exporters.json";
pub const STATUS_FILE: &str = "status.json";

/// Which state file a write is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateFile {
    Checkpoints,
    Exporters,
    Status,
    /// `inventory.json` of the last completed refresh.
    Inventory,
}

impl StateFile {
    /// The file name in `state_dir`.
    pub fn name(self) -> &'static str {
        match self {
            StateFile::Checkpoints => CHECKPOINTS_FILE,
            StateFile::Exporters => EXPORTERS_FILE,
            StateFile::Status => STATUS_FILE,
            StateFile::Inventory => crate::inventory::model::INVENTORY_FILE,
        }
    }
}

/// A state file for the driver to write atomically, then report with `Agent::handle_written`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateWrite {
    pub file: StateFile,
    pub bytes: Vec<u8>,
}

/// A state file that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateError {
    pub file: &'static str,
    pub reason: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (move it away to start from the configured initial positions)",
            self.file, self.reason
        )
    }
}

impl std::error::Error for StateError {}

/// The per-input entries of a `checkpoints.json` (empty when there is none yet). A damaged
/// file is an error, not a fresh start: starting over would re-read (TRIM_HORIZON) or skip
/// (LATEST) everything since the last run.
pub fn parse_checkpoints(bytes: Option<&[u8]>) -> Result<Map<String, Value>, StateError> {
    let Some(bytes) = bytes else {
        return Ok(Map::new());
    };
    let bad = |reason: String| StateError {
        file: CHECKPOINTS_FILE,
        reason,
    };
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    match doc.get("version").and_then(Value::as_u64) {
        Some(CHECKPOINTS_VERSION) => {}
        Some(v) => return Err(bad(format!("version {v}, this build reads version 1"))),
        None => return Err(bad("no version".into())),
    }
    match doc.get("inputs") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(bad("no `inputs` object".into())),
    }
}

/// The `checkpoints.json` document: `retained` entries (inputs not running now), then every
/// running input's, which win.
pub fn checkpoints_doc<'a>(
    retained: &Map<String, Value>,
    inputs: impl Iterator<Item = (&'a str, Value)>,
) -> Vec<u8> {
    let mut all = retained.clone();
    for (name, v) in inputs {
        all.insert(name.to_string(), v);
    }
    let doc = json!({ "version": CHECKPOINTS_VERSION, "inputs": all });
    // A `Value` always serializes; the fallback is never used.
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}

/// Transport counters the driver keeps (datagrams, losses, reconnects).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    pub datagrams: u64,
    pub bytes: u64,
    /// UDP datagrams the network refused (all collectors).
    pub lost: u64,
    pub reconnects: u64,
    /// Per collector (by `CollectorId`): UDP datagrams lost and the flow records they held.
    pub lost_by_collector: Vec<CollectorLoss>,
}

/// One collector's losses: UDP datagrams the network refused and the flow records in them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectorLoss {
    pub datagrams: u64,
    pub records: u64,
}

/// One input as the status file shows it.
pub struct InputView<'a> {
    pub name: &'a str,
    pub account_id: &'a str,
    pub region: Option<&'a str>,
    /// Credentials for its account are known and it runs.
    pub active: bool,
    pub status: InputStatus,
}

/// Everything the status file and the log line report.
pub struct StatusView<'a> {
    pub wall: SystemTime,
    pub uptime: Duration,
    pub stopping: bool,
    pub inputs: Vec<InputView<'a>>,
    /// Collector addresses, in config order (`CollectorId` order).
    pub collectors: &'a [String],
    pub export: &'a ExportStats,
    pub acked_through: u64,
    pub parse: &'a ParseStats,
    pub transport: &'a TransportStats,
    /// The scheduled inventory refresh, when the agent runs one.
    pub inventory: Option<InventoryStatus>,
}

/// The inventory refresh in the status file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InventoryStatus {
    /// Refresh runs started, and skipped because the previous one was still going.
    pub runs: u64,
    pub skipped: u64,
    pub running: bool,
    /// When the last refresh completed (wall clock), and what it found.
    pub completed_at: Option<SystemTime>,
    pub vpcs: usize,
    pub enis: usize,
    /// An ip-ranges table is in use.
    pub ip_ranges: bool,
}

fn unix_ms(wall: SystemTime) -> u64 {
    wall.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `status.json`.
pub fn status_doc(v: &StatusView<'_>) -> Vec<u8> {
    let inputs: Vec<Value> = v
        .inputs
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "account_id": i.account_id,
                "region": i.region,
                "active": i.active,
                "lines_in": i.status.lines_in,
                "records_out": i.status.records_out,
                "units_acked": i.status.units_acked,
                "errors": i.status.errors,
                "lag": i.status.lag,
                "detail": i.status.detail,
            })
        })
        .collect();
    let collectors: Vec<Value> = v
        .collectors
        .iter()
        .enumerate()
        .map(|(c, addr)| {
            let s = v.export.collectors.get(c).copied().unwrap_or_default();
            let lost = v
                .transport
                .lost_by_collector
                .get(c)
                .copied()
                .unwrap_or_default();
            json!({
                "address": addr,
                "messages": s.messages,
                "records": s.flow_records,
                "options_records": s.options_records,
                "bytes": s.bytes,
                "datagrams_lost": lost.datagrams,
                "records_lost": lost.records,
            })
        })
        .collect();
    let e = v.export;
    let p = v.parse;
    let doc = json!({
        "updated_unix_ms": unix_ms(v.wall),
        "uptime_s": v.uptime.as_secs(),
        "stopping": v.stopping,
        "inputs": inputs,
        "collectors": collectors,
        "export": {
            "acked_through": v.acked_through,
            "datagrams": v.transport.datagrams,
            "bytes": v.transport.bytes,
            "datagrams_lost": v.transport.lost,
            "reconnects": v.transport.reconnects,
            "dropped_too_large": e.dropped_too_large,
            "dropped_empty": e.dropped_empty,
            "dropped_no_template": e.dropped_no_template,
        },
        "inventory": v.inventory.map(|i| json!({
            "refreshes": i.runs,
            "skipped": i.skipped,
            "running": i.running,
            "completed_unix_ms": i.completed_at.map(unix_ms),
            "vpcs": i.vpcs,
            "enis": i.enis,
            "ip_ranges": i.ip_ranges,
        })),
        "lines": {
            "total": p.lines,
            "flows": p.flows(),
            "nodata": p.nodata,
            "skipdata": p.skipdata,
            "malformed": p.malformed,
            "overlong": p.overlong_lines,
        },
    });
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}

/// The periodic one-line summary: totals, then each input in brackets.
pub fn status_line(v: &StatusView<'_>) -> String {
    use std::fmt::Write as _;
    let sum = |f: fn(&InputStatus) -> u64| v.inputs.iter().map(|i| f(&i.status)).sum::<u64>();
    let e = v.export;
    let messages: u64 = e.collectors.iter().map(|c| c.messages).sum();
    let records: u64 = e.collectors.iter().map(|c| c.flow_records).sum();
    let dropped = e.dropped_too_large + e.dropped_empty + e.dropped_no_template;
    let mut s = format!(
        "inputs={} active={} lines_in={} records_out={} units_acked={} errors={} malformed={} \
         sent_messages={} sent_records={} datagrams_lost={} records_dropped={}",
        v.inputs.len(),
        v.inputs.iter().filter(|i| i.active).count(),
        sum(|s| s.lines_in),
        sum(|s| s.records_out),
        sum(|s| s.units_acked),
        sum(|s| s.errors),
        v.parse.malformed,
        messages,
        records,
        v.transport.lost,
        dropped,
    );
    for i in &v.inputs {
        let lag = i.status.lag.map_or("-".to_string(), |l| l.to_string());
        let _ = write!(
            s,
            " [{} in={} out={} acked={} errors={} lag={}{}]",
            i.name,
            i.status.lines_in,
            i.status.records_out,
            i.status.units_acked,
            i.status.errors,
            lag,
            if i.active { "" } else { " waiting-for-account" }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_retained_entries_survive() {
        let mut retained = Map::new();
        retained.insert("cwl:old".into(), json!({"since": 5}));
        let bytes = checkpoints_doc(
            &retained,
            [("s3:b", json!({"completed": ["k"]}))].into_iter(),
        );
        let back = parse_checkpoints(Some(&bytes)).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back["cwl:old"], json!({"since": 5}));
        assert_eq!(back["s3:b"], json!({"completed": ["k"]}));
    }

    #[test]
    fn a_damaged_or_foreign_checkpoint_file_is_an_error_naming_the_file() {
        assert!(parse_checkpoints(None).unwrap().is_empty());
        for bad in [
            &b"{\"version\":1,\"inputs\":{"[..],
            b"{\"version\":2,\"inputs\":{}}",
            b"{\"inputs\":{}}",
            b"{\"version\":1}",
        ] {
            let e = parse_checkpoints(Some(bad)).unwrap_err();
            assert!(e.to_string().starts_with("checkpoints.json: "), "{e}");
        }
    }
}
