//! The only place the agent reads the clock.
//!
//! Everything outside `driver/` takes time as a parameter (design.md, "Rules of the boundary"):
//! `mono` drives deadlines and timers, `wall` goes into SigV4, IPFIX export times and
//! credential expiry. The loop reads both once per iteration and passes the pair down.
#![allow(clippy::disallowed_methods)]

use std::time::{Instant, SystemTime};

#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub mono: Instant,
    pub wall: SystemTime,
}

impl Now {
    pub fn read() -> Now {
        Now {
            mono: Instant::now(),
            wall: SystemTime::now(),
        }
    }
}
