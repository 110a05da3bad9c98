//! Byte stream → lines, sans-IO, in one buffer allocated once; gzip handled on the way in.
//!
//! The caller pushes raw bytes as they arrive (`handle_input`), pulls complete lines
//! (`next_line`), and says when the stream ended (`handle_eof`). If the stream starts with the
//! gzip magic (1f 8b; never decided by file name) the input is inflated straight into the
//! buffer's free space, so there is one copy of the text and no second buffer. Lines borrow the
//! buffer; when no complete line is left, the partial tail moves to the front to make room.
//! A reader of at least [`IN_PLACE_MIN`] bytes inflates in place: the buffer has room for the
//! deflate window ([`WINDOW`]) besides its capacity, compaction keeps the window's worth of
//! latest output in front of the tail, and the inflater reads its matches from there instead
//! of keeping (and copying out of) a window of its own. Either way at most `capacity` bytes of
//! unread text are buffered, so the longest line is the same.
//! Memory is the buffer plus, for gzip, one inflater — whatever the input size. A caller may
//! stop pulling at any point (its downstream is full) and resume later: the reader just stops
//! accepting input until lines are taken.
//!
//! A line that does not fit in the buffer is reported once (`LineTooLong`, with its number)
//! and skipped up to its newline; the lines after it are unaffected.
//!
//! ```text
//!            first bytes 1f 8b            ┌─────────────────────────────────────┐
//!  Undecided ─────────────────► Gzip ─┐   │ next_line():                        │
//!      │ │  anything else              ├──►│  '\n' in buffer  → Some(Ok(line))   │
//!      │ └────────────────────► Plain ─┘   │  none, room left → compact, None    │
//!      │ only "1f" so far                  │  none, buffer full → Some(Err(..)), │
//!      └─► Magic1f (decided by the next    │     then Skipping to the next '\n'  │
//!            byte, or Plain at EOF)        │  EOF → the last unterminated line   │
//!                                          └─────────────────────────────────────┘
//! ```

use std::fmt;

use crate::gzip::{GzipDecoder, GzipError, WINDOW};

/// Default buffer size: a line is at most a few KiB (54 fields, tag values ≤ 256 characters),
/// and 256 KiB lets each `handle_input` take a large chunk of inflated data.
pub const DEFAULT_CAPACITY: usize = 256 * 1024;
/// Smallest buffer accepted (smaller requests are rounded up).
pub const MIN_CAPACITY: usize = 16;
/// Readers at least this large inflate gzip in place (see the module doc); smaller ones would
/// spend most of their buffer on the window.
pub const IN_PLACE_MIN: usize = 2 * WINDOW;

/// One line, without its `\n` or `\r\n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based; counts every line of the stream, skipped ones included.
    pub number: u64,
    pub bytes: &'a [u8],
}

/// A line longer than the buffer: it is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    pub number: u64,
    /// The buffer size the line did not fit in.
    pub limit: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is longer than the {}-byte buffer, skipped",
            self.number, self.limit
        )
    }
}

impl std::error::Error for LineTooLong {}

/// The stream itself is broken; no more lines will come from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    Gzip(GzipError),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Gzip(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Gzip(e) => Some(e),
        }
    }
}

impl From<GzipError> for ReadError {
    fn from(e: GzipError) -> Self {
        ReadError::Gzip(e)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Undecided,
    /// The stream so far is the single byte 1f.
    Magic1f,
    Plain,
    Gzip,
}

/// See the module doc.
pub struct LineReader {
    /// `capacity` bytes, plus [`WINDOW`] for in-place inflating.
    buf: Box<[u8]>,
    /// Most unread bytes held at once: a line and its newline must fit.
    capacity: usize,
    /// Inflate in place, keeping the window in `buf` (capacity ≥ [`IN_PLACE_MIN`]).
    in_place: bool,
    /// `buf[start..end]` holds data not yet returned as lines; `end ≤ start + capacity`. In
    /// place, `buf[..start]` may hold already returned output: the inflater's window.
    start: usize,
    end: usize,
    /// `buf[start..scanned]` is known to hold no `\n`.
    scanned: usize,
    line_no: u64,
    format: Format,
    /// Kept across `reset` so a reader allocates its inflater at most once.
    gzip: Option<GzipDecoder>,
    bytes_in: u64,
    /// Discarding the rest of an over-long line.
    skipping: bool,
    eof: bool,
}

impl fmt::Debug for LineReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineReader")
            .field("capacity", &self.buf.len())
            .field("buffered", &(self.end - self.start))
            .field("line_no", &self.line_no)
            .field("format", &self.format)
            .field("bytes_in", &self.bytes_in)
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

impl LineReader {
    /// A reader whose buffer holds `capacity` bytes (at least [`MIN_CAPACITY`]); a line and
    /// its newline must fit in it.
    pub fn new(capacity: usize) -> LineReader {
        let capacity = capacity.max(MIN_CAPACITY);
        let in_place = capacity >= IN_PLACE_MIN;
        let window = if in_place { WINDOW } else { 0 };
        LineReader {
            buf: vec![0; capacity + window].into_boxed_slice(),
            capacity,
            in_place,
            start: 0,
            end: 0,
            scanned: 0,
            line_no: 0,
            format: Format::Undecided,
            gzip: None,
            bytes_in: 0,
            skipping: false,
            eof: false,
        }
    }

    /// Gets ready for a new stream, keeping the buffer and the inflater.
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.scanned = 0;
        self.line_no = 0;
        self.format = Format::Undecided;
        if let Some(d) = &mut self.gzip {
            d.reset();
        }
        self.bytes_in = 0;
        self.skipping = false;
        self.eof = false;
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Where buffered data may end now: unread data stays within `capacity`.
    fn limit(&self) -> usize {
        self.buf.len().min(self.start + self.capacity)
    }

    /// Raw (possibly compressed) bytes consumed so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }

    /// True once the stream is known to be gzip.
    pub fn is_gzip(&self) -> bool {
        self.format == Format::Gzip
    }

    /// Number of the last line returned or skipped.
    pub fn line_number(&self) -> u64 {
        self.line_no
    }

    /// True after `handle_eof` once `next_line` has returned `None`: every line is out.
    pub fn is_done(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Takes raw bytes; returns how many were consumed. Fewer than `raw.len()` means the
    /// buffer is full: take lines with `next_line`, then offer the rest again. Input after
    /// `handle_eof` is ignored (0 consumed).
    pub fn handle_input(&mut self, raw: &[u8]) -> Result<usize, ReadError> {
        if self.eof || raw.is_empty() {
            return Ok(0);
        }
        let mut used = 0;
        if self.format == Format::Undecided {
            match raw {
                [0x1f] => {
                    self.format = Format::Magic1f;
                    self.bytes_in += 1;
                    return Ok(1);
                }
                [0x1f, 0x8b, ..] => self.start_gzip(),
                _ => self.format = Format::Plain,
            }
        } else if self.format == Format::Magic1f {
            if raw.first() == Some(&0x8b) {
                self.start_gzip();
                if let Some(d) = &mut self.gzip {
                    d.decode(&[0x1f], &mut [])?;
                }
            } else {
                self.format = Format::Plain;
                self.push_plain(&[0x1f]);
            }
        }
        while used < raw.len() {
            if self.end == self.limit() {
                if self.end - self.start >= self.capacity {
                    // Full of unread lines: moving them would make no room (the limit moves
                    // with them), only copy up to `capacity` bytes.
                    break;
                }
                self.compact();
            }
            let rest = raw.get(used..).unwrap_or_default();
            let n = match self.format {
                Format::Gzip => {
                    let Some(d) = &mut self.gzip else { break };
                    let limit = self.buf.len().min(self.start + self.capacity);
                    let buf = self.buf.get_mut(..limit).unwrap_or_default();
                    let (consumed, written) = d.decode_into(rest, buf, self.end)?;
                    self.end += written;
                    if consumed == 0 && written == 0 {
                        break;
                    }
                    consumed
                }
                _ => {
                    let n = self.push_plain(rest);
                    if n == 0 {
                        break;
                    }
                    n
                }
            };
            used += n;
        }
        self.bytes_in += used as u64;
        Ok(used)
    }

    /// The input ended. Fails if it ended inside a gzip member (truncated object); in every
    /// case the lines still buffered, and a last line without `\n`, remain available.
    pub fn handle_eof(&mut self) -> Result<(), ReadError> {
        if self.eof {
            return Ok(());
        }
        self.eof = true;
        if self.format == Format::Magic1f {
            // A one-byte stream 1f: plain text, not gzip.
            self.format = Format::Plain;
            self.push_plain(&[0x1f]);
        }
        match (&self.format, &self.gzip) {
            (Format::Gzip, Some(d)) => Ok(d.finish()?),
            _ => Ok(()),
        }
    }

    /// The next complete line, a report of a skipped over-long line, or `None` when more
    /// input is needed (or, after `handle_eof`, when the stream is done).
    pub fn next_line(&mut self) -> Option<Result<Line<'_>, LineTooLong>> {
        loop {
            let data = self.buf.get(self.scanned..self.end).unwrap_or_default();
            if let Some(p) = find_newline(data) {
                let nl = self.scanned + p;
                let begin = self.start;
                self.start = nl + 1;
                self.scanned = self.start;
                if self.skipping {
                    self.skipping = false;
                    continue;
                }
                self.line_no += 1;
                return Some(Ok(self.line_at(begin, nl)));
            }
            self.scanned = self.end;
            if self.skipping {
                // Nothing unread is worth keeping.
                self.start = self.end;
            }
            self.compact();
            if self.refill() {
                continue;
            }
            if self.start == self.end {
                return None;
            }
            if self.eof && !(self.end == self.limit() && self.has_pending_gzip_output()) {
                // The last line has no newline.
                let (begin, stop) = (self.start, self.end);
                self.start = stop;
                self.scanned = stop;
                self.line_no += 1;
                return Some(Ok(self.line_at(begin, stop)));
            }
            if self.end == self.limit() {
                // Full and no newline: the line cannot fit. Drop what we have of it.
                self.line_no += 1;
                self.skipping = true;
                self.start = self.end;
                self.scanned = self.end;
                self.compact();
                return Some(Err(LineTooLong {
                    number: self.line_no,
                    limit: self.capacity,
                }));
            }
            return None;
        }
    }

    /// `buf[begin..stop]` without a trailing `\r`, as line number `line_no`.
    fn line_at(&self, begin: usize, stop: usize) -> Line<'_> {
        let bytes = self.buf.get(begin..stop).unwrap_or_default();
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        Line {
            number: self.line_no,
            bytes,
        }
    }

    fn start_gzip(&mut self) {
        self.format = Format::Gzip;
        match &mut self.gzip {
            // `reset` already cleared it.
            Some(_) => {}
            None if self.in_place => self.gzip = Some(GzipDecoder::new_in_place()),
            None => self.gzip = Some(GzipDecoder::new()),
        }
    }

    /// Copies as much of `data` as fits after `end`.
    fn push_plain(&mut self, data: &[u8]) -> usize {
        let limit = self.limit();
        let free = self.buf.get_mut(self.end..limit).unwrap_or_default();
        let n = free.len().min(data.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.end += n;
        n
    }

    /// Moves the unread tail to the front of the buffer; inflating in place, with the window
    /// (the last [`WINDOW`] bytes of output) in front of it.
    fn compact(&mut self) {
        let keep_from = if self.in_place && self.format == Format::Gzip {
            self.start.min(self.end.saturating_sub(WINDOW))
        } else {
            self.start
        };
        if keep_from == 0 {
            return;
        }
        self.buf.copy_within(keep_from..self.end, 0);
        self.end -= keep_from;
        self.scanned -= keep_from;
        self.start -= keep_from;
    }

    /// Moves output the inflater still holds into free space; true if any came.
    fn refill(&mut self) -> bool {
        if self.format != Format::Gzip {
            return false;
        }
        let Some(d) = &mut self.gzip else {
            return false;
        };
        let limit = self.buf.len().min(self.start + self.capacity);
        if self.end >= limit {
            return false;
        }
        let buf = self.buf.get_mut(..limit).unwrap_or_default();
        // An error here is sticky in the decoder and reported by handle_input / handle_eof.
        match d.decode_into(&[], buf, self.end) {
            Ok((_, written)) if written > 0 => {
                self.end += written;
                true
            }
            _ => false,
        }
    }

    /// True if the inflater may still hold output (the stream is not at a member boundary).
    fn has_pending_gzip_output(&self) -> bool {
        match (&self.format, &self.gzip) {
            (Format::Gzip, Some(d)) => !d.is_at_member_end(),
            _ => false,
        }
    }
}

/// Position of the first `\n`: sixteen bytes per compare (SSE2, part of every x86_64), the
/// rest eight bytes at a time.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[allow(unsafe_code)]
fn find_newline(hay: &[u8]) -> Option<usize> {
    // SAFETY: this build's target has SSE2 (the cfg above).
    unsafe { find_newline_sse2(hay) }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[allow(unsafe_code)] // one unaligned 16-byte load from a 16-byte chunk
fn find_newline_sse2(hay: &[u8]) -> Option<usize> {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let nl = _mm_set1_epi8(b'\n' as i8);
    let mut chunks = hay.chunks_exact(16);
    let mut base = 0;
    for chunk in &mut chunks {
        // SAFETY: `chunk` is 16 readable bytes; `loadu` needs no alignment.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
        let hits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)) as u32;
        if hits != 0 {
            return Some(base + hits.trailing_zeros() as usize);
        }
        base += 16;
    }
    find_newline_by_words(chunks.remainder()).map(|p| base + p)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn find_newline(hay: &[u8]) -> Option<usize> {
    find_newline_by_words(hay)
}

/// Position of the first `\n`, eight bytes at a time.
fn find_newline_by_words(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        // Sets the high bit of the first zero byte of x (bytes above it may be wrong, which
        // trailing_zeros does not look at).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(base + (zero.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($path:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $path))
        };
    }

    const V2: &[u8] = fixture!("flowlogs/default-v2.log");
    const V2_GZ: &[u8] = fixture!("flowlogs/default-v2.log.gz");
    const V2_CRLF: &[u8] = fixture!("flowlogs/default-v2-crlf.log");
    const V5: &[u8] = fixture!("flowlogs/custom-v5.log");
    const V5_GZ: &[u8] = fixture!("flowlogs/custom-v5.log.gz");
    const MULTI: &[u8] = fixture!("gzip/default-v2+custom-v5.log.gz");
    const BIG: &[u8] = fixture!("gzip/custom-v5-2000-lines.log.gz");

    type Item = Result<(u64, Vec<u8>), LineTooLong>;

    /// Pulls everything available.
    fn drain(r: &mut LineReader, out: &mut Vec<Item>) {
        while let Some(item) = r.next_line() {
            out.push(item.map(|l| (l.number, l.bytes.to_vec())));
        }
    }

    /// Pushes `chunks` in order, pulling lines whenever the reader is full.
    fn read_all(capacity: usize, chunks: &[&[u8]]) -> Result<Vec<Item>, ReadError> {
        let mut r = LineReader::new(capacity);
        let mut out = Vec::new();
        for chunk in chunks {
            let mut rest = *chunk;
            while !rest.is_empty() {
                let n = r.handle_input(rest)?;
                rest = &rest[n..];
                drain(&mut r, &mut out);
            }
        }
        r.handle_eof()?;
        drain(&mut r, &mut out);
        assert!(r.is_done());
        assert_eq!(
            r.bytes_in(),
            chunks.iter().map(|c| c.len() as u64).sum::<u64>()
        );
        Ok(out)
    }

    /// The reference: `split` on `\n`, `\r` trimmed, numbered from 1.
    fn expected(text: &[u8]) -> Vec<Item> {
        let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        if lines.last() == Some(&&b""[..]) {
            lines.pop();
        }
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| Ok((i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l).to_vec())))
            .collect()
    }

    #[test]
    fn every_split_point_plain_and_gzip() {
        let both = [V2, V5].concat();
        for (input, text) in [
            (V2, V2),
            (V2_GZ, V2),
            (V5, V5),
            (V5_GZ, V5),
            (MULTI, &both[..]),
            (V2_CRLF, V2),
        ] {
            let want = expected(text);
            for capacity in [400, 4096] {
                for cut in 0..=input.len() {
                    let (a, b) = input.split_at(cut);
                    assert_eq!(read_all(capacity, &[a, b]).unwrap(), want, "cut {cut}");
                }
            }
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(read_all(400, &bytes).unwrap(), want);
        }
    }

    #[test]
    fn detects_gzip_by_content() {
        let mut r = LineReader::new(1024);
        r.handle_input(&V2_GZ[..1]).unwrap();
        assert!(!r.is_gzip());
        r.handle_input(&V2_GZ[1..]).unwrap();
        assert!(r.is_gzip());
        let mut plain = LineReader::new(1024);
        plain.handle_input(V2).unwrap();
        assert!(!plain.is_gzip());
        // A stream that is only the byte 1f is text.
        assert_eq!(read_all(64, &[&[0x1f]]).unwrap(), vec![Ok((1, vec![0x1f]))]);
        assert_eq!(
            read_all(64, &[&[0x1f], b"a\nb"]).unwrap(),
            vec![Ok((1, b"\x1fa".to_vec())), Ok((2, b"b".to_vec()))]
        );
    }

    #[test]
    fn large_gzip_through_a_small_buffer() {
        // Longest line of the file is under 300 bytes.
        for (capacity, step) in [(300, 777), (4096, 1 << 20), (DEFAULT_CAPACITY, 65536)] {
            let chunks: Vec<&[u8]> = BIG.chunks(step).collect();
            let lines = read_all(capacity, &chunks).unwrap();
            assert_eq!(lines.len(), 2001);
            assert!(lines.iter().all(Result::is_ok));
            let Ok((n, last)) = &lines[2000] else {
                unreachable!()
            };
            assert_eq!(*n, 2001);
            assert!(last.ends_with(b" NODATA us-east-1 use1-az6 - - - -"));
        }
    }

    #[test]
    fn final_line_without_newline_and_blank_lines() {
        let text = b"a\n\nlast";
        let want = vec![
            Ok((1, b"a".to_vec())),
            Ok((2, vec![])),
            Ok((3, b"last".to_vec())),
        ];
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(read_all(16, &[a, b]).unwrap(), want);
        }
        assert_eq!(
            read_all(16, &[b"x\r\n\r\n"]).unwrap(),
            vec![Ok((1, b"x".to_vec())), Ok((2, vec![]))]
        );
        // A line and its newline must fit in the buffer.
        assert_eq!(
            read_all(16, &[&[b'z'; 15]]).unwrap(),
            vec![Ok((1, vec![b'z'; 15]))]
        );
        assert_eq!(
            read_all(16, &[&[b'z'; 16], b"\nnext"]).unwrap(),
            vec![
                Err(LineTooLong {
                    number: 1,
                    limit: 16
                }),
                Ok((2, b"next".to_vec()))
            ]
        );
        assert_eq!(read_all(16, &[]).unwrap(), vec![]);
    }

    #[test]
    fn overlong_line_is_reported_once_and_skipped() {
        let long = vec![b'x'; 1000];
        let text = [b"first\n", &long[..], b"\nthird\n", &long[..], b"\r\nfifth"].concat();
        let want = vec![
            Ok((1, b"first".to_vec())),
            Err(LineTooLong {
                number: 2,
                limit: 64,
            }),
            Ok((3, b"third".to_vec())),
            Err(LineTooLong {
                number: 4,
                limit: 64,
            }),
            Ok((5, b"fifth".to_vec())),
        ];
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(read_all(64, &[a, b]).unwrap(), want, "cut {cut}");
        }
        // An unterminated over-long last line.
        assert_eq!(
            read_all(64, &[b"ok\n", &long]).unwrap(),
            vec![
                Ok((1, b"ok".to_vec())),
                Err(LineTooLong {
                    number: 2,
                    limit: 64
                })
            ]
        );
        assert_eq!(
            LineTooLong {
                number: 2,
                limit: 64
            }
            .to_string(),
            "line 2 is longer than the 64-byte buffer, skipped"
        );
        // Inside gzip: default-v2's IPv6 line (149 bytes) with a 120-byte buffer.
        let lines = read_all(120, &[V2_GZ]).unwrap();
        let mut want = expected(V2);
        want[5] = Err(LineTooLong {
            number: 6,
            limit: 120,
        });
        assert_eq!(lines, want);
    }

    /// The caller takes one line at a time and pushes only when asked: the buffer never grows
    /// and the lines come out the same.
    #[test]
    fn backpressure_stop_and_resume() {
        for (input, text) in [(V5_GZ, V5), (V5, V5), (BIG, &[][..])] {
            let mut r = LineReader::new(512);
            let mut rest = input;
            let mut got = Vec::new();
            let mut stalls = 0;
            loop {
                // Take at most one line, then push again.
                if let Some(item) = r.next_line() {
                    got.push(item.map(|l| (l.number, l.bytes.to_vec())));
                    continue;
                }
                if rest.is_empty() {
                    break;
                }
                let n = r.handle_input(rest).unwrap();
                if n < rest.len() {
                    stalls += 1;
                }
                rest = &rest[n..];
                assert_eq!(r.capacity(), 512);
            }
            r.handle_eof().unwrap();
            drain(&mut r, &mut got);
            assert!(stalls > 0, "the buffer never filled");
            if text.is_empty() {
                assert_eq!(got.len(), 2001);
            } else {
                assert_eq!(got, expected(text));
            }
        }
        // Pushing without pulling just stops consuming.
        let mut r = LineReader::new(64);
        assert_eq!(r.handle_input(V2).unwrap(), 64);
        assert_eq!(r.handle_input(&V2[64..]).unwrap(), 0);
        assert!(r.next_line().is_some());
    }

    #[test]
    fn truncated_and_corrupt_gzip() {
        let cut = &V2_GZ[..V2_GZ.len() - 3];
        let mut r = LineReader::new(4096);
        assert_eq!(r.handle_input(cut).unwrap(), cut.len());
        let e = r.handle_eof().unwrap_err();
        let ReadError::Gzip(g) = &e;
        assert_eq!(g.offset, cut.len() as u64);
        assert!(e.to_string().contains("truncated"), "{e}");
        // The lines inflated before the end are still there.
        let mut out = Vec::new();
        drain(&mut r, &mut out);
        assert_eq!(out, expected(V2));

        let mut bad = V2_GZ.to_vec();
        let n = bad.len();
        bad[n - 6] ^= 0xff;
        assert!(matches!(read_all(4096, &[&bad]), Err(ReadError::Gzip(_))));
    }

    #[test]
    fn reset_reads_a_new_stream() {
        let mut r = LineReader::new(4096);
        r.handle_input(V2_GZ).unwrap();
        r.handle_eof().unwrap();
        let mut a = Vec::new();
        drain(&mut r, &mut a);
        r.reset();
        assert_eq!(r.line_number(), 0);
        r.handle_input(V5).unwrap();
        r.handle_eof().unwrap();
        let mut b = Vec::new();
        drain(&mut r, &mut b);
        assert!(!r.is_gzip());
        assert_eq!((a, b), (expected(V2), expected(V5)));
    }

    /// A one-member gzip of `text` (miniz's deflate, level 6).
    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(miniz_oxide::deflate::compress_to_vec(text, 6));
        out.extend(crate::gzip::crc32_update(0, text).to_le_bytes());
        out.extend((text.len() as u32).to_le_bytes());
        out
    }

    /// Readers large enough to inflate in place give the same lines as small ones, at every
    /// split point, across members, through many refills of the window, and with over-long
    /// lines skipped at the same capacity.
    #[test]
    fn in_place_inflating_gives_the_same_lines() {
        let both = [V2, V5].concat();
        for (input, text) in [(V2_GZ, V2), (MULTI, &both[..])] {
            let want = expected(text);
            for cut in 0..=input.len() {
                let (a, b) = input.split_at(cut);
                assert_eq!(read_all(IN_PLACE_MIN, &[a, b]).unwrap(), want, "cut {cut}");
            }
        }
        let big = read_all(4096, &[BIG]).unwrap();
        for (capacity, step) in [
            (IN_PLACE_MIN, 777),
            (IN_PLACE_MIN + 1, 1 << 16),
            (DEFAULT_CAPACITY, 3),
        ] {
            let chunks: Vec<&[u8]> = BIG.chunks(step).collect();
            assert_eq!(
                read_all(capacity, &chunks).unwrap(),
                big,
                "{capacity} {step}"
            );
        }
        // Lines just under, at and over the capacity, between ordinary ones; several members.
        let cap = IN_PLACE_MIN;
        let mut text = Vec::new();
        let mut want = Vec::new();
        let mut n = 0;
        for (i, len) in [10, cap - 1, 20, cap, 30, cap + 5000, 40, 3 * cap, 50]
            .into_iter()
            .enumerate()
        {
            n += 1;
            let line: Vec<u8> = (0..len).map(|k| b'a' + ((k * 7 + i) % 26) as u8).collect();
            text.extend_from_slice(&line);
            text.push(b'\n');
            want.push(if len < cap {
                Ok((n, line))
            } else {
                Err(LineTooLong {
                    number: n,
                    limit: cap,
                })
            });
        }
        let input = [gzip(&text[..text.len() / 3]), gzip(&text[text.len() / 3..])].concat();
        for step in [input.len(), 4096, 333] {
            let chunks: Vec<&[u8]> = input.chunks(step).collect();
            assert_eq!(read_all(cap, &chunks).unwrap(), want, "{step}");
            assert_eq!(read_all(cap, &[&text]).unwrap(), want, "plain");
        }
        assert_eq!(LineReader::new(cap).capacity(), cap);
    }

    #[test]
    fn newline_search() {
        let mut hay = vec![b'a'; 40];
        assert_eq!(find_newline(&hay), None);
        for at in 0..40 {
            hay[at] = b'\n';
            assert_eq!(find_newline(&hay), Some(at));
            hay[at] = 0x8a; // high bit set, low bits of '\n'
            assert_eq!(find_newline(&hay), None);
            hay[at] = b'a';
        }
        for (first, second) in [(5, 20), (17, 18), (33, 39), (0, 15)] {
            hay[first] = b'\n';
            hay[second] = b'\n';
            assert_eq!(find_newline(&hay), Some(first));
            hay[first] = b'a';
            assert_eq!(find_newline(&hay), Some(second));
            hay[second] = b'a';
        }
        assert_eq!(find_newline(b"\x0b\x0a"), Some(1));
        assert_eq!(find_newline(b"\x09\x09\x09\x09\x09\x09\x09\x0b\n"), Some(8));
    }
}
