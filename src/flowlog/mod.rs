//! VPC Flow Logs text records: the field table, the column layout, the zero-copy line parser,
//! the byte-stream → lines reader (plain or gzip) and parse statistics.
//!
//! All three inputs (S3 objects, CloudWatch Logs events, Kinesis payloads) end up here as lines
//! of text; this module knows nothing about where they came from (sans-IO).

pub mod fields;
pub mod layout;
pub mod layout_set;
pub mod lines;
pub mod record;
pub mod stats;

pub use fields::{FIELD_COUNT, Field, FieldKind};
pub use layout::{Column, Layout, LayoutError, MAX_COLUMNS};
pub use lines::{DEFAULT_CAPACITY, Line, LineReader, LineTooLong, ReadError};
pub use record::{
    Action, DefaultV2Flow, FlowDirection, FlowRecord, IpType, LineError, LogStatus,
    parse_default_v2_flow, parse_line,
};
pub use stats::{MalformedLine, ParseStats};
