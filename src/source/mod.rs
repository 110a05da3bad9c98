//! The three inputs — S3 via SQS notifications, CloudWatch Logs polling, Kinesis shards — and the
//! interface the agent drives them through.
//!
//! An input is a sans-IO state machine. The agent (one per process) owns the `AwsClient`, the
//! `Pipeline` and the state files; it asks each input for API calls, hands it their results,
//! routes streamed bodies (S3 objects) into it, and tells it how far export has delivered:
//!
//! ```text
//!            poll_request ──► (tag, ApiRequest, CallOptions) ──► AwsClient ──► driver
//!   Input ◄─ handle_response(tag, Ok(ApiResponse) | Err(AwsCallError)) ◄──────────┘
//!     │   ◄─ handle_stream_start(tag, status, headers)          (streamed calls: S3 GetObject)
//!     │   ◄─ stream_buffer(tag) → &mut [u8]; handle_stream_data(tag, n)   (body bytes, backpressured)
//!     │   ◄─ handle_stream_end(tag, Ok | Err)
//!     ├──► Pipeline::handle_line(...) → Exported(serial)       (records go out as they are parsed)
//!     │   ◄─ handle_acked(serial)    every record ≤ serial is on every collector's socket:
//!     │                              delete the SQS message / advance the checkpoint
//!     └──► checkpoint() → JSON       persisted atomically by the agent when `is_dirty`
//! ```
//!
//! Rules every input follows (design.md, "Delivery guarantees"):
//! - A unit (SQS message, CloudWatch Logs page, Kinesis GetRecords batch) is acknowledged —
//!   deleted, or its position checkpointed — only after `handle_acked` covers the serial of its
//!   last exported record (a unit with no exported record is acknowledged once handled).
//! - Before handing a line to the pipeline, check `ctx.pipeline.can_accept(now)`; when it is
//!   false, stop where you are (keep the line for later) and ask for nothing new: that is
//!   backpressure, and memory stays bounded whatever the backlog.
//! - Nothing panics on input; a bad object, page or record is logged with where it came from
//!   and does not stop the others.
//!
//! - `budget`: the CloudWatch Logs request budget shared per account and region.
//! - `cwl`: the CloudWatch Logs polling input (GetLogEvents per stream of one log group).
//! - `cwl_payload`: CloudWatch Logs subscription payloads as they arrive in Kinesis records.
//! - `kinesis`: the Kinesis Data Streams input (GetRecords per shard, parents before children,
//!   checkpoints after delivery).
//! - `kinesis_metrics`: the Kinesis input's CloudWatch metrics at `[kinesis] metrics_level`.
//! - `s3_key`: what a flow-log S3 object key says (account, region, flow log, format).
//! - `s3_sqs`: the S3 + SQS input (notifications on a queue, objects streamed, messages deleted
//!   after delivery).

pub mod budget;
pub mod cwl;
pub mod cwl_payload;
pub mod kinesis;
pub mod kinesis_metrics;
pub mod s3_key;
pub mod s3_sqs;
#[cfg(test)]
pub mod testkit;

use std::time::{Instant, SystemTime};

use ureq_proto::http::HeaderMap;

use crate::aws::client::{ApiResponse, AwsCallError, CallOptions};
use crate::aws::request::ApiRequest;
use crate::export::Serial;
use crate::pipeline::Pipeline;

/// An input's own handle for one of its requests (the agent maps it to the AwsClient call).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u64);

/// A call an input wants made, in its own account and region (fixed when the input is built).
#[derive(Debug)]
pub struct Outgoing {
    pub tag: Tag,
    pub request: ApiRequest,
    pub options: CallOptions,
}

/// What an input may use while handling an event.
pub struct Ctx<'a> {
    pub now: Instant,
    pub wall: SystemTime,
    pub pipeline: &'a mut Pipeline,
}

/// Counters for the status file and the periodic log line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputStatus {
    /// Lines handed to the pipeline.
    pub lines_in: u64,
    /// Records exported.
    pub records_out: u64,
    /// Units (messages, pages, batches) acknowledged.
    pub units_acked: u64,
    /// Failed calls, bad objects, undecodable records.
    pub errors: u64,
    /// How far behind: SQS approximate backlog, CloudWatch ms behind the newest event,
    /// Kinesis MillisBehindLatest (max over shards). `None` until known.
    pub lag: Option<u64>,
    /// One line of what is going on, e.g. `2 objects in flight, 14 messages waiting`.
    pub detail: String,
}

/// One input. See the module doc for the protocol.
pub trait Input {
    /// `s3:BUCKET`, `cwl:GROUP`, `kinesis:STREAM`: in logs, status and checkpoint keys.
    fn name(&self) -> &str;

    /// The next call this input wants made now, if any.
    fn poll_request(&mut self, ctx: &mut Ctx<'_>) -> Option<Outgoing>;

    /// The result of a buffered call (or a streamed call that failed before its body started).
    fn handle_response(
        &mut self,
        tag: Tag,
        result: Result<ApiResponse, AwsCallError>,
        ctx: &mut Ctx<'_>,
    );

    /// A streamed call's 2xx head: its body follows through `stream_buffer`/`handle_stream_data`.
    fn handle_stream_start(
        &mut self,
        tag: Tag,
        status: u16,
        headers: &HeaderMap,
        ctx: &mut Ctx<'_>,
    ) {
        let _ = (tag, status, headers, ctx);
    }

    /// Where the agent may copy the next body bytes of a streamed call: an empty slice means
    /// "not now" (the input is full), and the agent stops reading that body — TCP then pushes
    /// back on S3.
    fn stream_buffer(&mut self, tag: Tag) -> &mut [u8] {
        let _ = tag;
        &mut []
    }

    /// `n` bytes were copied into the slice `stream_buffer` returned.
    fn handle_stream_data(&mut self, tag: Tag, n: usize, ctx: &mut Ctx<'_>) {
        let _ = (tag, n, ctx);
    }

    /// The body of a streamed call ended: complete (`Ok`), or broken after some bytes (`Err`:
    /// the input resumes with a `Range` request from what it has, or gives up on the object).
    fn handle_stream_end(&mut self, tag: Tag, result: Result<(), AwsCallError>, ctx: &mut Ctx<'_>) {
        let _ = (tag, result, ctx);
    }

    /// Every record with a serial ≤ `acked` has been written to every collector's socket.
    fn handle_acked(&mut self, acked: Serial, ctx: &mut Ctx<'_>);

    /// When `handle_timeout` has work (poll intervals, visibility extensions, rate limits).
    fn poll_timeout(&self) -> Option<Instant>;

    fn handle_timeout(&mut self, ctx: &mut Ctx<'_>);

    /// The state to persist (checkpoints), as JSON. The agent writes all inputs' states to one
    /// file atomically when any `is_dirty`, then calls `mark_saved`.
    fn checkpoint(&self) -> serde_json::Value;

    fn is_dirty(&self) -> bool;

    fn mark_saved(&mut self);

    fn status(&self) -> InputStatus;

    /// Shutting down: stop asking for new work; true once nothing is in flight that could still
    /// be acknowledged (the agent then flushes export, waits for acks, and saves state).
    fn handle_stop(&mut self, ctx: &mut Ctx<'_>) -> bool;
}
