//! Test kit for inputs: a pipeline with a real export engine, a virtual clock, and helpers to
//! answer an input's calls with fixtures and to "send" what it exported (so acks advance).
//!
//! Inputs are tested by playing AWS at them: take their `Outgoing` calls, answer each with a
//! real response body (from `fixtures/aws/…` or built like one), move time, drain export, and
//! assert what was acknowledged and what the decoded IPFIX contains.
#![allow(clippy::disallowed_methods)] // tests start their virtual clock from the real one

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use ureq_proto::http::HeaderMap;

use super::{Ctx, Input, Outgoing, Tag};
use crate::aws::client::ApiResponse;
use crate::export::{Export, ExportConfig};
use crate::ipfix::reader::{DecodedRecord, Reader};
use crate::pipeline::domains::DomainTable;
use crate::pipeline::{Identity, Pipeline};

pub struct Harness {
    pub pipeline: Pipeline,
    pub now: Instant,
    pub wall: SystemTime,
    /// Every datagram "sent" so far, in order.
    pub sent: Vec<Vec<u8>>,
    reader: Reader,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new(ExportConfig::new(1, 1400))
    }
}

impl Harness {
    pub fn new(cfg: ExportConfig) -> Harness {
        let export = Export::new(cfg).expect("export config");
        let domains = DomainTable::new(&[], None).expect("domains");
        Harness {
            pipeline: Pipeline::new(export, domains, Identity::Element),
            now: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_768_478_400),
            sent: Vec::new(),
            reader: Reader::new(crate::ipfix::ie::DOCUMENTATION_PEN),
        }
    }

    pub fn ctx(&mut self) -> Ctx<'_> {
        Ctx {
            now: self.now,
            wall: self.wall,
            pipeline: &mut self.pipeline,
        }
    }

    /// Moves the virtual clock (monotonic and wall) forward.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.wall += d;
    }

    /// Moves the clock to the input's next timeout (if any, and if later) and runs it.
    pub fn run_timeout(&mut self, input: &mut dyn Input) -> bool {
        let Some(at) = input.poll_timeout() else {
            return false;
        };
        if at > self.now {
            let d = at - self.now;
            self.advance(d);
        }
        let mut ctx = self.ctx();
        input.handle_timeout(&mut ctx);
        true
    }

    /// Every call the input wants now.
    pub fn poll_all(&mut self, input: &mut dyn Input) -> Vec<Outgoing> {
        let mut out = Vec::new();
        loop {
            let mut ctx = self.ctx();
            match input.poll_request(&mut ctx) {
                Some(o) => out.push(o),
                None => return out,
            }
        }
    }

    /// Answers a buffered call with `status` and `body`.
    pub fn respond(&mut self, input: &mut dyn Input, tag: Tag, status: u16, body: &[u8]) {
        let resp = api_response(status, body);
        let mut ctx = self.ctx();
        input.handle_response(tag, Ok(resp), &mut ctx);
    }

    /// Feeds a streamed body to the input through `stream_buffer`, `chunk` bytes at a time,
    /// draining export whenever the input has no room (as the real loop would). Returns how
    /// many bytes the input took (less than `body.len()` only if it stayed full).
    pub fn stream(&mut self, input: &mut dyn Input, tag: Tag, body: &[u8], chunk: usize) -> usize {
        {
            let headers = HeaderMap::new();
            let mut ctx = self.ctx();
            input.handle_stream_start(tag, 200, &headers, &mut ctx);
        }
        let mut at = 0;
        let mut stalls = 0;
        while at < body.len() {
            let room = input.stream_buffer(tag);
            if room.is_empty() {
                stalls += 1;
                if stalls > 10_000 {
                    return at;
                }
                self.deliver(input);
                self.advance(Duration::from_millis(1));
                continue;
            }
            let n = room.len().min(chunk).min(body.len() - at);
            room[..n].copy_from_slice(&body[at..at + n]);
            at += n;
            let mut ctx = self.ctx();
            input.handle_stream_data(tag, n, &mut ctx);
        }
        let mut ctx = self.ctx();
        input.handle_stream_end(tag, Ok(()), &mut ctx);
        at
    }

    /// Flushes export, "sends" every finished message, and tells the input how far delivery got.
    pub fn deliver(&mut self, input: &mut dyn Input) {
        let (now, wall) = (self.now, self.wall);
        self.pipeline.export.flush(now, wall);
        while let Some(t) = self.pipeline.export.poll_transmit() {
            let c = t.collector;
            self.sent.push(t.bytes.to_vec());
            self.pipeline.export.handle_sent(c);
        }
        let acked = self.pipeline.export.acked_through();
        let mut ctx = self.ctx();
        input.handle_acked(acked, &mut ctx);
    }

    /// The flow records in everything sent so far, decoded by our reader.
    pub fn flows(&mut self) -> Vec<DecodedRecord> {
        let from: SocketAddr = "127.0.0.1:4739".parse().expect("addr");
        let mut reader = std::mem::replace(
            &mut self.reader,
            Reader::new(crate::ipfix::ie::DOCUMENTATION_PEN),
        );
        let mut out = Vec::new();
        for d in &self.sent {
            if let Ok(m) = reader.handle_message(from, d) {
                out.extend(m.records.into_iter().filter(|r| !r.is_options()));
            }
        }
        out
    }
}

pub fn api_response(status: u16, body: &[u8]) -> ApiResponse {
    ApiResponse {
        status,
        headers: HeaderMap::new(),
        body: body.to_vec(),
    }
}

/// A fixture file's bytes.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The body of a `*.response.txt` fixture (an HTTP response as on the wire): after the blank line.
pub fn response_body(path: &str) -> Vec<u8> {
    let raw = fixture(path);
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2));
    raw[at.unwrap_or(0)..].to_vec()
}
