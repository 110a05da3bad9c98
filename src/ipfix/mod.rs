//! IPFIX (RFC 7011) encoding and decoding for VPC flow records.
//!
//! - `ie`: the Information Elements we send (IANA + ours under a configurable PEN): the one
//!   table that the writer, the reader and the third-party element files are built from.
//! - `record`: `ExportRecord`, the IPFIX view of one flow that the flow-log mapper fills.
//! - `basic_record`: `BasicRecord`, a default-format IPv4 flow encoded without an
//!   `ExportRecord` (the pipeline's direct path); `data_record`: the trait the export engine
//!   takes, implemented by both.
//! - `wire`: smoltcp-style views of the message, set and template headers.
//! - `template`: templates chosen by which fields a record has, cached by field mask.
//! - `writer`: messages written straight into preallocated buffers.
//! - `reader`: a decoder for `collect` and the tests; `framer` cuts a TCP stream into messages.
//!
//! Sessions, sequence numbers, refresh and delivery tracking live in `crate::export`.

pub mod basic_record;
pub mod data_record;
pub mod element_docs;
pub mod framer;
pub mod ie;
pub mod reader;
pub mod record;
pub mod template;
pub mod wire;
pub mod writer;

pub use basic_record::BasicRecord;
pub use data_record::DataRecord;
pub use ie::{DOCUMENTATION_PEN, IeKey};
pub use record::{ExportRecord, synthetic_if_index};
