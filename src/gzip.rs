//! Streaming multi-member gzip (RFC 1952) decoder on `miniz_oxide`'s raw-deflate inflater.
//!
//! S3 flow-log objects are gzip; CloudWatch Logs payloads in Kinesis are gzip, and when Firehose
//! sits in between a payload can be several members back to back (spec.md §B). We parse the
//! member header and trailer ourselves (miniz only does deflate), check CRC32 and ISIZE of every
//! member, and keep memory constant: one boxed `InflateState` (~43 KiB, its 32 KiB window
//! included), reused for every member and every stream (`reset`). The caller owns input and
//! output buffers; the decoder never allocates after `new`.
//!
//! An in-place decoder (`new_in_place`, for a caller that keeps its output in one buffer, like
//! the line reader) has no window of its own: it inflates straight into the caller's buffer
//! and reads back-references from the output already there (`decode_into`), which saves
//! copying every byte out of a window. The caller keeps the member's last [`WINDOW`] bytes of
//! output in front of where the next output goes.
//!
//! ```text
//!  start ─► Header ─────► Inflate ─────► Trailer ─────► MemberEnd ──(00)──► Padding ─┐
//!            ▲ 10 bytes,    deflate data   CRC32 and      │                ▲  00     │
//!            │ then FEXTRA, to its last    ISIZE of the   │                └─────────┘
//!            │ FNAME,       block          member checked │
//!            │ FCOMMENT,                                  │ any other byte: trailing garbage
//!            │ FHCRC if set                               │ (in Padding: any non-zero byte)
//!            └─────────────────(1f: next member)──────────┘
//! ```
//! The input may end only in MemberEnd or Padding (`finish`); anywhere else it is truncated.
//! Errors are sticky: every later call returns the same error.

use std::fmt;

pub use crate::crc32::crc32_update;

use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{DecompressorOxide, decompress};
use miniz_oxide::inflate::stream::{InflateState, ZeroReset, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// RFC 1951 §3.2.5: a back-reference reaches at most 32768 bytes back. An in-place decoder's
/// caller keeps this much of the member's latest output before the next output position.
pub const WINDOW: usize = 32 * 1024;

/// RFC 1952 §2.3.1: ID1, ID2.
const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// RFC 1952 §2.3.1: CM = 8 is deflate, the only method defined.
const CM_DEFLATE: u8 = 8;
/// RFC 1952 §2.3.1 FLG bits.
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;
/// Fixed part of a member header.
const HEADER_LEN: usize = 10;
/// CRC32 + ISIZE.
const TRAILER_LEN: usize = 8;

/// True if `data` starts with the gzip magic bytes.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// What is wrong with a gzip stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GzipErrorKind {
    /// The first two bytes of a member are not 1f 8b.
    BadMagic { found: u8 },
    /// CM is not 8 (deflate).
    BadMethod { method: u8 },
    /// A reserved FLG bit is set.
    ReservedFlags { flags: u8 },
    /// FHCRC does not match the header.
    HeaderCrcMismatch { expected: u16, actual: u16 },
    /// The deflate data is invalid.
    CorruptDeflate,
    /// The trailer's CRC32 is not the CRC32 of the data.
    CrcMismatch { expected: u32, actual: u32 },
    /// The trailer's ISIZE is not the data length mod 2^32.
    IsizeMismatch { expected: u32, actual: u32 },
    /// A byte after the last member that is neither a new member nor zero padding.
    TrailingGarbage { found: u8 },
    /// The input ended inside a member (`part` says where) or before any member.
    Truncated { part: &'static str },
}

/// A gzip error with where it was detected: `offset` counts compressed bytes from the start of
/// the stream, `member` is the 1-based member number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GzipError {
    pub offset: u64,
    pub member: u64,
    pub kind: GzipErrorKind,
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gzip member {} at byte {}: ", self.member, self.offset)?;
        match &self.kind {
            GzipErrorKind::BadMagic { found } => {
                write!(f, "not gzip (byte 0x{found:02x} where 1f 8b was expected)")
            }
            GzipErrorKind::BadMethod { method } => {
                write!(
                    f,
                    "unsupported compression method {method} (only 8, deflate)"
                )
            }
            GzipErrorKind::ReservedFlags { flags } => {
                write!(f, "reserved header flags set (FLG 0x{flags:02x})")
            }
            GzipErrorKind::HeaderCrcMismatch { expected, actual } => write!(
                f,
                "header CRC16 mismatch: header says 0x{expected:04x}, computed 0x{actual:04x}"
            ),
            GzipErrorKind::CorruptDeflate => f.write_str("corrupt deflate data"),
            GzipErrorKind::CrcMismatch { expected, actual } => write!(
                f,
                "CRC32 mismatch: trailer says 0x{expected:08x}, data has 0x{actual:08x}"
            ),
            GzipErrorKind::IsizeMismatch { expected, actual } => write!(
                f,
                "length mismatch: trailer says {expected} bytes (mod 2^32), data has {actual}"
            ),
            GzipErrorKind::TrailingGarbage { found } => {
                write!(
                    f,
                    "trailing garbage after the last member (byte 0x{found:02x})"
                )
            }
            GzipErrorKind::Truncated { part } => write!(f, "truncated: input ended in the {part}"),
        }
    }
}

impl std::error::Error for GzipError {}

/// Where we are inside a member header.
#[derive(Clone, Copy, Debug)]
enum HeaderStep {
    Fixed { got: u8 },
    ExtraLen { got: u8, len: u16 },
    Extra { left: u16 },
    Name,
    Comment,
    Hcrc { got: u8, value: u16 },
}

#[derive(Clone, Copy, Debug)]
enum State {
    Header(HeaderStep),
    Inflate,
    Trailer { got: u8 },
    MemberEnd,
    Padding,
}

/// The deflate decoder proper.
enum Inflater {
    /// Inflates into its own window and copies out (`decode` into any buffer).
    Window(Box<InflateState>),
    /// Inflates into the caller's buffer, after the output already there (`decode_into`).
    InPlace(Box<DecompressorOxide>),
}

/// A resumable gzip decoder. See the module doc for the states.
pub struct GzipDecoder {
    inflater: Inflater,
    /// Output of the current member so far (how much history an in-place decoder may use).
    member_out: u64,
    state: State,
    /// Compressed bytes consumed since the start of the stream.
    offset: u64,
    /// Members started so far (the current one included).
    member: u64,
    /// FLG of the current member.
    flags: u8,
    /// CRC32 of the current member's header bytes so far (for FHCRC).
    header_crc: u32,
    /// CRC32 and length (mod 2^32) of the current member's data so far.
    crc: u32,
    size: u32,
    trailer: [u8; TRAILER_LEN],
    /// Stream offset of the current member's trailer.
    trailer_at: u64,
    error: Option<GzipError>,
}

impl Default for GzipDecoder {
    fn default() -> Self {
        GzipDecoder::new()
    }
}

impl fmt::Debug for GzipDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GzipDecoder")
            .field("state", &self.state)
            .field("offset", &self.offset)
            .field("member", &self.member)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl GzipDecoder {
    /// Allocates the inflater (the only allocation).
    pub fn new() -> GzipDecoder {
        GzipDecoder::with(Inflater::Window(InflateState::new_boxed(DataFormat::Raw)))
    }

    /// A decoder without a window of its own, for `decode_into` (see the module doc); ~11 KiB.
    pub fn new_in_place() -> GzipDecoder {
        GzipDecoder::with(Inflater::InPlace(Box::default()))
    }

    fn with(inflater: Inflater) -> GzipDecoder {
        GzipDecoder {
            inflater,
            member_out: 0,
            state: State::Header(HeaderStep::Fixed { got: 0 }),
            offset: 0,
            member: 1,
            flags: 0,
            header_crc: 0,
            crc: 0,
            size: 0,
            trailer: [0; TRAILER_LEN],
            trailer_at: 0,
            error: None,
        }
    }

    /// Gets ready for a new stream, keeping the allocation (the inflater itself is reset at
    /// the start of every member's data).
    pub fn reset(&mut self) {
        self.state = State::Header(HeaderStep::Fixed { got: 0 });
        self.offset = 0;
        self.member = 1;
        self.flags = 0;
        self.header_crc = 0;
        self.crc = 0;
        self.size = 0;
        self.error = None;
    }

    /// Compressed bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Complete members decoded so far.
    pub fn members(&self) -> u64 {
        match self.state {
            State::MemberEnd | State::Padding => self.member,
            _ => self.member - 1,
        }
    }

    /// True between members: all output of every member has been written and checked, so the
    /// input may end here.
    pub fn is_at_member_end(&self) -> bool {
        self.error.is_none() && matches!(self.state, State::MemberEnd | State::Padding)
    }

    /// Decodes from `input` into `out`; returns `(consumed, written)`. Makes progress whenever
    /// it can: it stops only when `input` is exhausted, `out` is full, or on an error. Call with
    /// empty `input` to collect output still held in the inflater's window.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), GzipError> {
        self.decode_into(input, out, 0)
    }

    /// Decodes from `input` into `buf[pos..]`; returns `(consumed, written)` as `decode` does.
    /// An in-place decoder reads back-references from `buf[..pos]`, which must end with the
    /// current member's output so far — all of it, or at least its last [`WINDOW`] bytes (a
    /// reference to output that is not there is reported as corrupt data). A decoder from
    /// `new` ignores `buf[..pos]`.
    pub fn decode_into(
        &mut self,
        input: &[u8],
        buf: &mut [u8],
        pos: usize,
    ) -> Result<(usize, usize), GzipError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let mut i = 0;
        let mut o = 0;
        let result = self.run(input, buf, pos, &mut i, &mut o);
        self.offset += i as u64;
        match result {
            Ok(()) => Ok((i, o)),
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Checks that the stream ended at a member boundary. Call after the last `decode`.
    pub fn finish(&self) -> Result<(), GzipError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let part = match self.state {
            State::MemberEnd | State::Padding => return Ok(()),
            State::Header(HeaderStep::Fixed { got: 0 }) if self.member == 1 => "empty stream",
            State::Header(_) => "header",
            State::Inflate => "deflate data",
            State::Trailer { .. } => "trailer",
        };
        Err(self.error_at(self.offset, GzipErrorKind::Truncated { part }))
    }

    fn error_at(&self, offset: u64, kind: GzipErrorKind) -> GzipError {
        GzipError {
            offset,
            member: self.member,
            kind,
        }
    }

    /// The state machine. `input[k]` is at stream offset `self.offset + k`.
    fn run(
        &mut self,
        input: &[u8],
        buf: &mut [u8],
        pos: usize,
        i: &mut usize,
        o: &mut usize,
    ) -> Result<(), GzipError> {
        loop {
            let at = self.offset + *i as u64;
            match self.state {
                State::Header(step) => {
                    let Some(&b) = input.get(*i) else {
                        return Ok(());
                    };
                    self.state = self
                        .header_byte(step, b)
                        .map_err(|kind| self.error_at(at, kind))?;
                    *i += 1;
                }
                State::Inflate => {
                    let rest_in = input.get(*i..).unwrap_or_default();
                    let at = pos + *o;
                    let (step, written) = match &mut self.inflater {
                        Inflater::Window(st) => {
                            let rest_out = buf.get_mut(at..).unwrap_or_default();
                            let r = inflate(st, rest_in, rest_out, MZFlush::None);
                            let step = match r.status {
                                Ok(MZStatus::StreamEnd) => Step::End,
                                Ok(_) | Err(MZError::Buf) => Step::More,
                                Err(_) => Step::Corrupt,
                            };
                            let written = rest_out.get(..r.bytes_written).unwrap_or_default();
                            ((step, r.bytes_consumed), written)
                        }
                        Inflater::InPlace(d) => {
                            // The member's output before `at` that a match may reach.
                            let history = usize::try_from(self.member_out)
                                .unwrap_or(usize::MAX)
                                .min(WINDOW)
                                .min(at);
                            let window = buf.get_mut(at - history..).unwrap_or_default();
                            let flags = TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF
                                | TINFL_FLAG_HAS_MORE_INPUT;
                            let (status, consumed, n) =
                                decompress(d, rest_in, window, history, flags);
                            let step = match status {
                                TINFLStatus::Done => Step::End,
                                TINFLStatus::NeedsMoreInput | TINFLStatus::HasMoreOutput => {
                                    Step::More
                                }
                                _ => Step::Corrupt,
                            };
                            let written = window.get(history..history + n).unwrap_or_default();
                            ((step, consumed), written)
                        }
                    };
                    let (step, consumed) = step;
                    self.crc = crc32_update(self.crc, written);
                    // ISIZE is the length mod 2^32 (RFC 1952 §2.3.1).
                    self.size = self.size.wrapping_add(written.len() as u32);
                    self.member_out += written.len() as u64;
                    let progress = consumed > 0 || !written.is_empty();
                    *i += consumed;
                    *o += written.len();
                    match step {
                        Step::End => {
                            self.trailer_at = self.offset + *i as u64;
                            self.state = State::Trailer { got: 0 };
                        }
                        Step::More if progress => {}
                        // No progress: the input is exhausted or the output full.
                        Step::More => return Ok(()),
                        Step::Corrupt => {
                            let at = self.offset + *i as u64;
                            return Err(self.error_at(at, GzipErrorKind::CorruptDeflate));
                        }
                    }
                }
                State::Trailer { got } => {
                    let Some(&b) = input.get(*i) else {
                        return Ok(());
                    };
                    *i += 1;
                    let got = usize::from(got);
                    if let Some(slot) = self.trailer.get_mut(got) {
                        *slot = b;
                    }
                    if got + 1 < TRAILER_LEN {
                        self.state = State::Trailer {
                            got: (got + 1) as u8,
                        };
                        continue;
                    }
                    let [c0, c1, c2, c3, s0, s1, s2, s3] = self.trailer;
                    let expected = u32::from_le_bytes([c0, c1, c2, c3]);
                    if expected != self.crc {
                        let kind = GzipErrorKind::CrcMismatch {
                            expected,
                            actual: self.crc,
                        };
                        return Err(self.error_at(self.trailer_at, kind));
                    }
                    let expected = u32::from_le_bytes([s0, s1, s2, s3]);
                    if expected != self.size {
                        let kind = GzipErrorKind::IsizeMismatch {
                            expected,
                            actual: self.size,
                        };
                        return Err(self.error_at(self.trailer_at + 4, kind));
                    }
                    self.state = State::MemberEnd;
                }
                State::MemberEnd => {
                    let Some(&b) = input.get(*i) else {
                        return Ok(());
                    };
                    match b {
                        0x1f => {
                            self.member += 1;
                            self.state = State::Header(HeaderStep::Fixed { got: 0 });
                            continue; // the header step consumes the byte
                        }
                        0x00 => self.state = State::Padding,
                        found => {
                            let kind = GzipErrorKind::TrailingGarbage { found };
                            return Err(self.error_at(at, kind));
                        }
                    }
                    *i += 1;
                }
                State::Padding => {
                    let rest = input.get(*i..).unwrap_or_default();
                    match rest.iter().position(|&b| b != 0) {
                        Some(p) => {
                            *i += p;
                            let found = rest.get(p).copied().unwrap_or_default();
                            let at = self.offset + *i as u64;
                            let kind = GzipErrorKind::TrailingGarbage { found };
                            return Err(self.error_at(at, kind));
                        }
                        None => {
                            *i = input.len();
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    /// Consumes one header byte; returns the next state.
    fn header_byte(&mut self, step: HeaderStep, b: u8) -> Result<State, GzipErrorKind> {
        if !matches!(step, HeaderStep::Hcrc { .. }) {
            self.header_crc = crc32_update(self.header_crc, &[b]);
        }
        Ok(match step {
            HeaderStep::Fixed { got } => {
                match got {
                    0 if b != MAGIC[0] => return Err(GzipErrorKind::BadMagic { found: b }),
                    1 if b != MAGIC[1] => return Err(GzipErrorKind::BadMagic { found: b }),
                    2 if b != CM_DEFLATE => return Err(GzipErrorKind::BadMethod { method: b }),
                    3 if b & FRESERVED != 0 => {
                        return Err(GzipErrorKind::ReservedFlags { flags: b });
                    }
                    3 => self.flags = b,
                    _ => {}
                }
                if usize::from(got) + 1 < HEADER_LEN {
                    State::Header(HeaderStep::Fixed { got: got + 1 })
                } else {
                    self.after(Part::Fixed)
                }
            }
            HeaderStep::ExtraLen { got: 0, .. } => State::Header(HeaderStep::ExtraLen {
                got: 1,
                len: u16::from(b),
            }),
            HeaderStep::ExtraLen { len, .. } => match len | u16::from(b) << 8 {
                0 => self.after(Part::Extra),
                left => State::Header(HeaderStep::Extra { left }),
            },
            HeaderStep::Extra { left } if left > 1 => {
                State::Header(HeaderStep::Extra { left: left - 1 })
            }
            HeaderStep::Extra { .. } => self.after(Part::Extra),
            HeaderStep::Name if b != 0 => State::Header(HeaderStep::Name),
            HeaderStep::Name => self.after(Part::Name),
            HeaderStep::Comment if b != 0 => State::Header(HeaderStep::Comment),
            HeaderStep::Comment => self.after(Part::Comment),
            HeaderStep::Hcrc { got: 0, .. } => State::Header(HeaderStep::Hcrc {
                got: 1,
                value: u16::from(b),
            }),
            HeaderStep::Hcrc { value, .. } => {
                let expected = value | u16::from(b) << 8;
                // The low 16 bits of the CRC32 of the header up to here (RFC 1952 §2.3.1).
                let actual = (self.header_crc & 0xffff) as u16;
                if expected != actual {
                    return Err(GzipErrorKind::HeaderCrcMismatch { expected, actual });
                }
                self.start_member_data()
            }
        })
    }

    /// The state after header part `done`: the optional parts come in RFC 1952 order
    /// (FEXTRA, FNAME, FCOMMENT, FHCRC), each only if its flag is set.
    fn after(&mut self, done: Part) -> State {
        let f = self.flags;
        if done < Part::Extra && f & FEXTRA != 0 {
            State::Header(HeaderStep::ExtraLen { got: 0, len: 0 })
        } else if done < Part::Name && f & FNAME != 0 {
            State::Header(HeaderStep::Name)
        } else if done < Part::Comment && f & FCOMMENT != 0 {
            State::Header(HeaderStep::Comment)
        } else if f & FHCRC != 0 {
            State::Header(HeaderStep::Hcrc { got: 0, value: 0 })
        } else {
            self.start_member_data()
        }
    }

    fn start_member_data(&mut self) -> State {
        match &mut self.inflater {
            Inflater::Window(st) => st.reset_as(ZeroReset),
            Inflater::InPlace(d) => d.init(),
        }
        self.member_out = 0;
        self.crc = 0;
        self.size = 0;
        self.header_crc = 0;
        State::Inflate
    }
}

/// What one inflate call says about the member's deflate data.
#[derive(Clone, Copy)]
enum Step {
    /// Its last block ended.
    End,
    /// More to come (input, or room for output).
    More,
    Corrupt,
}

/// Header parts, in the order they appear.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Fixed,
    Extra,
    Name,
    Comment,
}

#[cfg(test)]
#[path = "gzip_tests.rs"]
mod tests;
