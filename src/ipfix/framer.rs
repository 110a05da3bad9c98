//! Cuts a TCP byte stream into IPFIX messages (RFC 7011 §10.4.1: messages follow each other
//! back to back; each header says its length), for `collect` over TCP and for tests.
//!
//! ```text
//!   feed(bytes) ──► buffer ──► next_message(): a whole message, or None (need more bytes),
//!                                              or an error (not IPFIX: close the connection)
//! ```

use super::wire::{MESSAGE_HEADER_LEN, MessageHeader, VERSION, WireError};

/// Cuts a byte stream into whole messages. A stream whose next header is not IPFIX cannot be
/// resynchronized: the caller should close the connection.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: Vec<u8>,
    start: usize,
}

impl StreamFramer {
    pub fn new() -> Self {
        StreamFramer {
            buf: Vec::with_capacity(2 * usize::from(u16::MAX)),
            start: 0,
        }
    }

    /// Appends bytes read from the stream.
    pub fn feed(&mut self, data: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, if one is buffered.
    pub fn next_message(&mut self) -> Option<Result<&[u8], WireError>> {
        let rest = self.buf.get(self.start..)?;
        let h = MessageHeader::new_checked(rest).ok()?;
        if h.version() != VERSION {
            return Some(Err(WireError::Version(h.version())));
        }
        let len = usize::from(h.length());
        if len < MESSAGE_HEADER_LEN {
            return Some(Err(WireError::Length {
                what: "message",
                length: len,
                available: rest.len(),
            }));
        }
        if rest.len() < len {
            return None;
        }
        let s = self.start;
        self.start += len;
        self.buf.get(s..s + len).map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::ipfix::ie::DOCUMENTATION_PEN;
    use crate::ipfix::reader::Reader;

    macro_rules! fixture {
        ($f:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ipfix/", $f))
        };
    }
    const MSG1: &[u8] = fixture!("msg1-template+2records.bin");
    const MSG2: &[u8] = fixture!("msg2-1record-seq2.bin");
    const WITHDRAW: &[u8] = fixture!("withdrawal-template256-TCP-only.bin");

    fn peer() -> SocketAddr {
        "192.0.2.10:50000".parse().unwrap()
    }

    #[test]
    fn framer_gives_the_same_messages_at_every_split_point() {
        let stream: Vec<u8> = [MSG1, MSG2, WITHDRAW].concat();
        let decode_all = |parts: &[&[u8]]| {
            let mut f = StreamFramer::new();
            let mut rd = Reader::new(DOCUMENTATION_PEN);
            let mut out = Vec::new();
            for p in parts {
                f.feed(p);
                while let Some(m) = f.next_message() {
                    out.push(rd.handle_message(peer(), m.unwrap()).unwrap());
                }
            }
            out
        };
        let whole = decode_all(&[&stream]);
        assert_eq!(whole.len(), 3);
        for cut in 0..=stream.len() {
            assert_eq!(
                decode_all(&[&stream[..cut], &stream[cut..]]),
                whole,
                "split at {cut}"
            );
        }
        let mut f = StreamFramer::new();
        f.feed(&[0, 9, 0, 16]);
        f.feed(&[0; 12]);
        assert_eq!(f.next_message(), Some(Err(WireError::Version(9))));
    }
}
