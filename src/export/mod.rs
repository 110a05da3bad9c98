//! The IPFIX export engine: per collector × per observation domain (one per VPC), sans-IO.
//!
//! [`Export`] takes flow records ([`crate::ipfix::ExportRecord`]) and hands out finished
//! messages for the driver to write to each collector's socket; the driver reports back when a
//! message is fully written (`handle_sent`) and when a TCP connection came back
//! (`handle_reconnect`). It owns, for every (collector, domain) session, the sequence number,
//! the templates announced, and the open message; for delivery tracking, the serial of every
//! record ([`Export::acked_through`]). Buffers come from a fixed pool: when it is used up the
//! engine refuses records (`can_accept` is false) — that is the backpressure, memory never grows.
//!
//! - `exporter`: the engine.
//! - `session`: one (collector, domain) session writing into its open message.
//! - `domain`: per-VPC state: name, exporter address, the ENIs to name in options records
//!   (`if_index_table`: their ifIndex → list position, looked up per record).
//! - `outbox`: the buffer pool and each collector's queue of finished messages.
//! - `rate`: the records/s token bucket.

mod domain;
pub mod exporter;
mod if_index_table;
mod outbox;
pub mod rate;
mod session;

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

pub use exporter::Export;

/// Index of a configured collector (`[ipfix] collector`, in config order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CollectorId(pub usize);

/// An observation domain id (one per VPC): the message header's ODID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainId(pub u32);

/// The serial of a pushed record: increasing from 1 in push order. `Serial(0)` is "none".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Serial(pub u64);

/// What collectors are told about a domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DomainInfo {
    /// observationDomainName (IE 300) in a domain options record, e.g. `vpc-0a1b2c3d4e5f60718
    /// prod`. Empty: no domain options record.
    pub name: String,
    /// exporterIPv4Address (IE 130) added to every record that has none (`exporter_identity =
    /// element`). `None` in `bind` mode, where the socket's source address says it.
    pub exporter_ipv4: Option<Ipv4Addr>,
}

/// The engine refuses the record now: the buffer pool is used up or the rate limit is reached.
/// Retry after the driver has written queued messages or at `poll_timeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backpressure;

impl fmt::Display for Backpressure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IPFIX export is full: wait for queued messages to be sent")
    }
}

impl std::error::Error for Backpressure {}

/// Message buffers per collector when the config does not say.
pub const DEFAULT_BUFFERS_PER_COLLECTOR: usize = 64;
/// A queued message older than this is closed and sent even if not full, so a slow trickle of
/// records still reaches the collector promptly.
pub const DEFAULT_IDLE_FLUSH: Duration = Duration::from_millis(100);
/// RFC 7011 §3.1: the Length field is 16 bits.
pub const MAX_MESSAGE_SIZE: usize = 65_535;
/// Below this even a short record with its template cannot fit; such records are dropped.
pub const MIN_MESSAGE_SIZE: usize = 64;

/// Engine settings (from `[ipfix]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportConfig {
    /// Number of collectors; they are `CollectorId(0..collectors)`.
    pub collectors: usize,
    /// Largest message (= UDP payload) in octets: `MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE`.
    pub max_packet_size: usize,
    /// Size of the message buffer pool, at least 2 per collector. Memory = buffers ×
    /// max_packet_size, allocated once.
    pub buffers: usize,
    /// Records per second, 0 = unlimited.
    pub rate_limit: u32,
    /// Templates (and options records) are sent again this often (RFC 6728 default 600 s).
    pub template_refresh: Duration,
    /// Open messages older than this are sent.
    pub idle_flush: Duration,
    /// PEN of our enterprise elements.
    pub enterprise_number: u32,
    /// Send options records naming each ENI's synthetic ifIndex.
    pub name_interfaces: bool,
}

impl ExportConfig {
    /// Defaults for everything but the collector count and message size.
    pub fn new(collectors: usize, max_packet_size: usize) -> Self {
        ExportConfig {
            collectors,
            max_packet_size,
            buffers: DEFAULT_BUFFERS_PER_COLLECTOR * collectors.max(1),
            rate_limit: 0,
            template_refresh: Duration::from_secs(600),
            idle_flush: DEFAULT_IDLE_FLUSH,
            enterprise_number: crate::ipfix::DOCUMENTATION_PEN,
            name_interfaces: true,
        }
    }
}

/// An `ExportConfig` the engine cannot run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportError {
    PacketSize { size: usize },
    TooFewBuffers { buffers: usize, needed: usize },
    ZeroDuration { what: &'static str },
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::PacketSize { size } => write!(
                f,
                "IPFIX max_packet_size {size} is outside {MIN_MESSAGE_SIZE}..={MAX_MESSAGE_SIZE}"
            ),
            ExportError::TooFewBuffers { buffers, needed } => {
                write!(
                    f,
                    "IPFIX export needs at least {needed} message buffers (2 per collector), got {buffers}"
                )
            }
            ExportError::ZeroDuration { what } => {
                write!(f, "IPFIX {what} must be greater than zero")
            }
        }
    }
}

impl std::error::Error for ExportError {}

/// A finished message for one collector: write `bytes` to the collector's socket (in `bind`
/// mode, the socket of `domain`), then call `handle_sent(collector)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit<'a> {
    pub collector: CollectorId,
    pub domain: DomainId,
    pub bytes: &'a [u8],
}

/// Counters per collector, from `handle_sent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// Messages written (including template-only messages sent after a reconnect).
    pub messages: u64,
    /// Flow data records written.
    pub flow_records: u64,
    /// Options data records written.
    pub options_records: u64,
    pub bytes: u64,
}

/// Counters per domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainStats {
    pub domain: DomainId,
    /// Records pushed (and not dropped).
    pub records: u64,
}

/// Engine counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Indexed by `CollectorId`.
    pub collectors: Vec<CollectorStats>,
    /// In the order domains were first seen.
    pub domains: Vec<DomainStats>,
    /// Records that do not fit in an empty message (a tiny max_packet_size, or tens of long
    /// strings such as ECS ARNs and tags in one record).
    pub dropped_too_large: u64,
    /// Records without any field.
    pub dropped_empty: u64,
    /// Records that needed a new template when all `MAX_TEMPLATES` were in use.
    pub dropped_no_template: u64,
    /// ENIs not named by options records because the domain's list was full.
    pub interfaces_unnamed: u64,
}
