//! Enhanced fan-out: the stream consumer this input registers when `[kinesis]
//! enhanced_fan_out = true` (the seed's "Enhanced Fan-Out" option; its agent registers
//! `EDFN_KINESIS_VPC_FLOW_LOG_CONSUMER`).
//!
//! Reading through the consumer needs `SubscribeToShard`, which is HTTP/2 with an
//! `application/vnd.amazon.eventstream` body (spec.md §D.5); this build speaks HTTP/1.1 and has
//! no event-stream decoder. So the consumer is registered and waited for until ACTIVE — the
//! setting is honoured as far as this build can, and the consumer is there for the operator to
//! see or deregister — while records are read with GetRecords polling. The log says so once.
//!
//! ```text
//!  Registering ── RegisterStreamConsumer ──► ACTIVE ──────────────────────────────► Active
//!     ▲  │ already registered (ResourceInUseException) │ CREATING              ▲
//!     │  ▼                                              ▼                       │
//!     │  Describing ── DescribeStreamConsumer every 2 s until ACTIVE ───────────┘
//!     └── not found (deleted meanwhile) ─┘
//!   any failure: the same call again after 1 s … 5 min
//! ```

use std::time::{Duration, Instant};

use super::shard::{RETRY_MAX, RETRY_MIN, backoff};

/// While the consumer is CREATING, ask again this often ("it takes a few seconds",
/// RegisterStreamConsumer).
pub const DESCRIBE_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerPhase {
    Registering,
    Describing,
    Active,
}

/// The consumer's registration. See the module doc.
#[derive(Debug)]
pub struct ConsumerReg {
    pub phase: ConsumerPhase,
    pub due: Instant,
    pub in_flight: bool,
    pub failures: u32,
    pub arn: Option<String>,
    /// Status as last reported (`CREATING`, `ACTIVE`, …).
    pub status: Option<String>,
}

impl ConsumerReg {
    pub fn new(now: Instant) -> ConsumerReg {
        ConsumerReg {
            phase: ConsumerPhase::Registering,
            due: now,
            in_flight: false,
            failures: 0,
            arn: None,
            status: None,
        }
    }

    pub fn is_due(&self, now: Instant) -> bool {
        self.phase != ConsumerPhase::Active && !self.in_flight && self.due <= now
    }

    /// When the next call is due (for `poll_timeout`).
    pub fn next_at(&self) -> Option<Instant> {
        (self.phase != ConsumerPhase::Active && !self.in_flight).then_some(self.due)
    }

    /// The consumer as the service reports it; true when it just became ACTIVE.
    pub fn reported(&mut self, arn: &str, status: &str, now: Instant) -> bool {
        self.in_flight = false;
        self.failures = 0;
        self.arn = Some(arn.to_string());
        self.status = Some(status.to_string());
        if status == "ACTIVE" {
            let was = self.phase;
            self.phase = ConsumerPhase::Active;
            return was != ConsumerPhase::Active;
        }
        self.phase = ConsumerPhase::Describing;
        self.due = now + DESCRIBE_INTERVAL;
        false
    }

    /// Go to `phase` at once (already registered → describe; not found → register).
    pub fn switch(&mut self, phase: ConsumerPhase, now: Instant) {
        self.in_flight = false;
        self.phase = phase;
        self.due = now;
    }

    pub fn failed(&mut self, now: Instant) {
        self.in_flight = false;
        self.failures = self.failures.saturating_add(1);
        self.due = now + backoff(self.failures, RETRY_MIN, RETRY_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creating_is_described_until_active_failures_back_off() {
        #[allow(clippy::disallowed_methods)] // a virtual clock starts somewhere
        let t = Instant::now();
        let mut c = ConsumerReg::new(t);
        assert!(c.is_due(t));
        c.in_flight = true;
        assert!(!c.is_due(t));
        assert!(!c.reported("arn:c", "CREATING", t));
        assert_eq!(c.phase, ConsumerPhase::Describing);
        assert_eq!(c.next_at(), Some(t + DESCRIBE_INTERVAL));
        c.in_flight = true;
        c.failed(t);
        c.in_flight = true;
        c.failed(t);
        assert_eq!(c.due, t + Duration::from_secs(2));
        assert!(c.reported("arn:c", "ACTIVE", t));
        assert!(!c.reported("arn:c", "ACTIVE", t), "only once");
        assert!(!c.is_due(t + RETRY_MAX));
        assert_eq!(c.next_at(), None);
    }
}
