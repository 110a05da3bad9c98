//! Tests of `gzip.rs` (kept apart to keep that file short): samples at every split point and
//! output size, multi-member, header fields, corrupt / truncated / trailing data, mutations.

use super::*;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $path))
    };
}

const V2: &[u8] = fixture!("flowlogs/default-v2.log");
const V2_GZ: &[u8] = fixture!("flowlogs/default-v2.log.gz");
const V5: &[u8] = fixture!("flowlogs/custom-v5.log");
const V5_GZ: &[u8] = fixture!("flowlogs/custom-v5.log.gz");
const TCP: &[u8] = fixture!("flowlogs/aws-doc-custom-v3-tcp-flags.log");
const TCP_GZ: &[u8] = fixture!("flowlogs/aws-doc-custom-v3-tcp-flags.log.gz");
const MULTI: &[u8] = fixture!("gzip/default-v2+custom-v5.log.gz");
const EMPTY: &[u8] = fixture!("gzip/empty.gz");
const EMPTY_V2_EMPTY: &[u8] = fixture!("gzip/empty+default-v2+empty.gz");
const BIG: &[u8] = fixture!("gzip/custom-v5-2000-lines.log.gz");

/// Feeds `chunks` in order through one decoder with an output buffer of `out_size` bytes,
/// failing the test if a call makes no progress while it could.
fn decode_chunks(chunks: &[&[u8]], out_size: usize) -> Result<Vec<u8>, GzipError> {
    let mut d = GzipDecoder::new();
    decode_with(&mut d, chunks, out_size)
}

fn decode_with(
    d: &mut GzipDecoder,
    chunks: &[&[u8]],
    out_size: usize,
) -> Result<Vec<u8>, GzipError> {
    let mut out = vec![0; out_size];
    let mut result = Vec::new();
    for chunk in chunks {
        let mut rest = *chunk;
        loop {
            let (c, w) = d.decode(rest, &mut out)?;
            result.extend_from_slice(&out[..w]);
            rest = &rest[c..];
            if rest.is_empty() && w == 0 {
                break;
            }
            assert!(c > 0 || w > 0, "no progress with input and output space");
        }
    }
    d.finish()?;
    Ok(result)
}

fn decode(input: &[u8]) -> Result<Vec<u8>, GzipError> {
    decode_chunks(&[input], 64 * 1024)
}

/// xorshift64*: deterministic pseudo-random numbers for the mutation tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn samples_decode_with_every_output_size() {
    for (gz, plain) in [(V2_GZ, V2), (V5_GZ, V5), (TCP_GZ, TCP)] {
        assert!(is_gzip(gz));
        assert!(!is_gzip(plain));
        for out_size in 1..=plain.len() + 1 {
            assert_eq!(decode_chunks(&[gz], out_size).unwrap(), plain, "{out_size}");
        }
    }
}

#[test]
fn samples_decode_at_every_split_point() {
    let both: Vec<u8> = [V2, V5].concat();
    for (gz, plain) in [(V2_GZ, V2), (V5_GZ, V5), (MULTI, &both[..])] {
        for cut in 0..=gz.len() {
            let (a, b) = gz.split_at(cut);
            assert_eq!(decode_chunks(&[a, b], 4096).unwrap(), plain, "cut {cut}");
            assert_eq!(decode_chunks(&[a, b], 13).unwrap(), plain, "cut {cut}");
        }
        // One byte in, one byte out.
        let bytes: Vec<&[u8]> = gz.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes, 1).unwrap(), plain);
    }
}

#[test]
fn multi_member_and_empty_members() {
    let mut d = GzipDecoder::new();
    let out = decode_with(&mut d, &[MULTI], 1 << 16).unwrap();
    assert_eq!(out, [V2, V5].concat());
    assert_eq!(d.members(), 2);
    assert_eq!(d.offset(), MULTI.len() as u64);

    assert_eq!(EMPTY.len(), 20);
    assert_eq!(decode(EMPTY).unwrap(), b"");
    let mut d = GzipDecoder::new();
    assert_eq!(decode_with(&mut d, &[EMPTY_V2_EMPTY], 100).unwrap(), V2);
    assert_eq!(d.members(), 3);
    for cut in 0..=EMPTY_V2_EMPTY.len() {
        let (a, b) = EMPTY_V2_EMPTY.split_at(cut);
        assert_eq!(decode_chunks(&[a, b], 50).unwrap(), V2);
    }
}

/// 463 046 bytes in several deflate blocks: the 32 KiB window wraps many times.
#[test]
fn large_member() {
    let expect_len = 463_046;
    for (step, out_size) in [(BIG.len(), 1 << 18), (4096, 1 << 16), (1009, 3000)] {
        let chunks: Vec<&[u8]> = BIG.chunks(step).collect();
        let out = decode_chunks(&chunks, out_size).unwrap();
        assert_eq!(out.len(), expect_len);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 2001);
        assert!(out.starts_with(&V5[..V5.iter().position(|&b| b == b'\n').unwrap()]));
    }
}

/// The member of default-v2.log.gz re-framed with FEXTRA, FNAME, FCOMMENT and FHCRC
/// (GNU gzip writes only FNAME): `hcrc` = None computes the right CRC16.
fn with_all_header_fields(hcrc: Option<u16>) -> Vec<u8> {
    assert_eq!(V2_GZ[3], FNAME);
    let name_end = 10 + V2_GZ[10..].iter().position(|&b| b == 0).unwrap() + 1;
    let mut h = V2_GZ[..10].to_vec();
    h[3] = FEXTRA | FNAME | FCOMMENT | FHCRC;
    h.extend_from_slice(&[6, 0, b'A', b'B', 2, 0, b'x', b'y']); // XLEN=6, one subfield
    h.extend_from_slice(&V2_GZ[10..name_end]);
    h.extend_from_slice(b"a comment\0");
    let crc = hcrc.unwrap_or((crc32_update(0, &h) & 0xffff) as u16);
    h.extend_from_slice(&crc.to_le_bytes());
    h.extend_from_slice(&V2_GZ[name_end..]);
    h
}

#[test]
fn optional_header_fields() {
    let gz = with_all_header_fields(None);
    for cut in 0..=gz.len() {
        let (a, b) = gz.split_at(cut);
        assert_eq!(decode_chunks(&[a, b], 100).unwrap(), V2, "cut {cut}");
    }
    let bad = with_all_header_fields(Some(0x1234));
    let e = decode(&bad).unwrap_err();
    assert!(matches!(
        e.kind,
        GzipErrorKind::HeaderCrcMismatch {
            expected: 0x1234,
            ..
        }
    ));
    let hcrc_end =
        gz.len() - (V2_GZ.len() - 10 - V2_GZ[10..].iter().position(|&b| b == 0).unwrap() - 1);
    assert_eq!(e.offset, hcrc_end as u64 - 1);
}

fn with_byte(data: &[u8], at: usize, value: u8) -> Vec<u8> {
    let mut v = data.to_vec();
    v[at] = value;
    v
}

#[test]
fn header_errors_carry_offsets() {
    let e = decode(&with_byte(V2_GZ, 0, 0x1e)).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (0, GzipErrorKind::BadMagic { found: 0x1e })
    );
    let e = decode(&with_byte(V2_GZ, 1, 0x8c)).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (1, GzipErrorKind::BadMagic { found: 0x8c })
    );
    let e = decode(V2).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (0, GzipErrorKind::BadMagic { found: b'v' })
    );
    let e = decode(&with_byte(V2_GZ, 2, 7)).unwrap_err();
    assert_eq!(
        (e.offset, e.kind),
        (2, GzipErrorKind::BadMethod { method: 7 })
    );
    let e = decode(&with_byte(V2_GZ, 3, FNAME | 0x20)).unwrap_err();
    assert_eq!(
        (e.offset, &e.kind),
        (3, &GzipErrorKind::ReservedFlags { flags: 0x28 })
    );
    assert_eq!(
        e.to_string(),
        "gzip member 1 at byte 3: reserved header flags set (FLG 0x28)"
    );
    // The second member's header is checked too.
    let e = decode(&with_byte(MULTI, V2_GZ.len() + 2, 9)).unwrap_err();
    assert_eq!(e.member, 2);
    assert_eq!(e.offset, V2_GZ.len() as u64 + 2);
}

#[test]
fn corrupt_data_and_trailer() {
    let n = V2_GZ.len();
    let e = decode(&with_byte(V2_GZ, n - 8, V2_GZ[n - 8] ^ 1)).unwrap_err();
    let actual = crc32_update(0, V2);
    assert_eq!(e.offset, n as u64 - 8);
    assert_eq!(
        e.kind,
        GzipErrorKind::CrcMismatch {
            expected: actual ^ 1,
            actual
        }
    );
    let e = decode(&with_byte(V2_GZ, n - 1, 1)).unwrap_err();
    assert_eq!(e.offset, n as u64 - 4);
    assert_eq!(
        e.kind,
        GzipErrorKind::IsizeMismatch {
            expected: V2.len() as u32 | 1 << 24,
            actual: V2.len() as u32
        }
    );
    // Deflate block type 3 is reserved (RFC 1951 §3.2.3).
    let data_at = 10 + V2_GZ[10..].iter().position(|&b| b == 0).unwrap() + 1;
    let e = decode(&with_byte(V2_GZ, data_at, V2_GZ[data_at] | 0x06)).unwrap_err();
    assert_eq!(e.kind, GzipErrorKind::CorruptDeflate);
    assert!(e.offset >= data_at as u64 && e.offset <= n as u64, "{e}");
    // Errors are sticky.
    let mut d = GzipDecoder::new();
    let mut out = [0; 64];
    let first = d.decode(b"PK\x03\x04", &mut out).unwrap_err();
    assert_eq!(d.decode(V2_GZ, &mut out).unwrap_err(), first);
    assert_eq!(d.finish().unwrap_err(), first);
}

#[test]
fn truncated_at_every_length() {
    for len in 0..V2_GZ.len() {
        let mut d = GzipDecoder::new();
        let e = decode_with(&mut d, &[&V2_GZ[..len]], 4096).unwrap_err();
        let part = match len {
            0 => "empty stream",
            l if l < 25 => "header", // 10 fixed bytes + "default-v2.log\0"
            l if l < V2_GZ.len() - 8 => "deflate data",
            _ => "trailer",
        };
        assert_eq!(e.kind, GzipErrorKind::Truncated { part }, "len {len}");
        assert_eq!(e.offset, len as u64);
    }
    // Cut in the second member.
    let e = decode(&MULTI[..V2_GZ.len() + 1]).unwrap_err();
    assert_eq!(e.member, 2);
    assert_eq!(e.kind, GzipErrorKind::Truncated { part: "header" });
}

#[test]
fn trailing_bytes() {
    let n = V2_GZ.len() as u64;
    let padded = [V2_GZ, &[0; 100]].concat();
    assert_eq!(decode(&padded).unwrap(), V2);
    for tail in [&b"x"[..], b"\n", b"\x1e\x8b"] {
        let e = decode(&[V2_GZ, tail].concat()).unwrap_err();
        assert_eq!(e.offset, n);
        assert_eq!(e.kind, GzipErrorKind::TrailingGarbage { found: tail[0] });
    }
    let e = decode(&[&padded[..], b"\0x"].concat()).unwrap_err();
    assert_eq!(e.offset, n + 101);
    // Padding cannot be followed by another member.
    let e = decode(&[V2_GZ, &[0], V2_GZ].concat()).unwrap_err();
    assert_eq!(e.kind, GzipErrorKind::TrailingGarbage { found: 0x1f });
    let e = decode(&[V2_GZ, &[0x1f, 0]].concat()).unwrap_err();
    assert_eq!(e.offset, n + 1);
    assert_eq!(e.kind, GzipErrorKind::BadMagic { found: 0 });
}

#[test]
fn reset_reuses_the_decoder() {
    let mut d = GzipDecoder::new();
    assert_eq!(decode_with(&mut d, &[V2_GZ], 300).unwrap(), V2);
    d.reset();
    assert_eq!(decode_with(&mut d, &[V5_GZ], 300).unwrap(), V5);
    d.reset();
    assert!(decode_with(&mut d, &[b"garbage"], 300).is_err());
    d.reset();
    assert_eq!(decode_with(&mut d, &[TCP_GZ], 300).unwrap(), TCP);
}

/// Random damage never panics, never loops, and every error carries an offset inside
/// the input.
#[test]
fn mutations_never_panic() {
    let sources = [
        V2_GZ,
        V5_GZ,
        MULTI,
        TCP_GZ,
        &with_all_header_fields(None)[..],
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut errors = 0;
    for round in 0..3000 {
        let mut data = sources[round % sources.len()].to_vec();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 | 1 => {
                    let at = rng.below(data.len());
                    data[at] = rng.next() as u8;
                }
                2 => {
                    let at = rng.below(data.len());
                    data[at] ^= 1 << rng.below(8);
                }
                3 => data.truncate(rng.below(data.len() + 1)),
                _ => {
                    let at = rng.below(data.len() + 1);
                    data.insert(at, rng.next() as u8);
                }
            }
            if data.is_empty() {
                data.push(0x1f);
            }
        }
        let step = 1 + rng.below(data.len());
        let chunks: Vec<&[u8]> = data.chunks(step).collect();
        match decode_chunks(&chunks, 1 + rng.below(5000)) {
            Ok(_) => {}
            Err(e) => {
                errors += 1;
                assert!(e.offset <= data.len() as u64, "{e} (len {})", data.len());
                assert!(e.member >= 1);
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(
        errors > 2500,
        "only {errors} of 3000 damaged streams failed"
    );
}

/// A caller of an in-place decoder, as the line reader is: one buffer of `room` bytes plus
/// the window; when it is full, everything but the last `WINDOW` bytes is taken out.
fn decode_in_place(chunks: &[&[u8]], room: usize) -> Result<Vec<u8>, GzipError> {
    let mut d = GzipDecoder::new_in_place();
    let mut buf = vec![0; room + WINDOW];
    let (mut start, mut end) = (0, 0); // buf[start..end]: not taken out yet
    let mut result = Vec::new();
    for chunk in chunks {
        let mut rest = *chunk;
        loop {
            if end == buf.len() {
                result.extend_from_slice(&buf[start..end]);
                buf.copy_within(end - WINDOW..end, 0);
                (start, end) = (WINDOW, WINDOW);
            }
            let (c, w) = d.decode_into(rest, &mut buf, end)?;
            end += w;
            rest = &rest[c..];
            if rest.is_empty() && w == 0 {
                break;
            }
            assert!(c > 0 || w > 0, "no progress with input and output space");
        }
    }
    d.finish()?;
    result.extend_from_slice(&buf[start..end]);
    Ok(result)
}

/// In place, the output is the same as through the decoder's own window, whatever the
/// input and output steps, across members and across the window's refills.
#[test]
fn in_place_matches_the_window_decoder() {
    let big = decode(BIG).unwrap();
    let both = [V2, V5].concat();
    let cases: [(&[u8], &[u8]); 5] = [
        (BIG, &big),
        (MULTI, &both),
        (EMPTY_V2_EMPTY, V2),
        (EMPTY, b""),
        (V5_GZ, V5),
    ];
    for (input, text) in cases {
        for (step, room) in [
            (input.len(), 1 << 18),
            (4096, 1 << 16),
            (1009, 3000),
            (7, 1),
        ] {
            let chunks: Vec<&[u8]> = input.chunks(step).collect();
            assert_eq!(
                decode_in_place(&chunks, room).unwrap(),
                text,
                "{step} {room}"
            );
        }
    }
    for cut in 0..=MULTI.len() {
        let (a, b) = MULTI.split_at(cut);
        assert_eq!(decode_in_place(&[a, b], 100).unwrap(), both, "cut {cut}");
    }
    // Members back to back, the second starting inside the first one's window.
    let twice = [BIG, BIG].concat();
    let out = decode_in_place(&[&twice], 50_000).unwrap();
    assert_eq!(out, [&big[..], &big[..]].concat());
}

/// An in-place decoder given less history than a match needs reports corrupt data (a
/// caller that dropped its window), and never reads outside the member's output.
#[test]
fn in_place_without_history_is_an_error_not_a_panic() {
    let mut d = GzipDecoder::new_in_place();
    let mut out = vec![0; BIG.len() * 40];
    let mut total = 0;
    let mut err = None;
    // Hand it a fresh buffer every 4096 bytes, without the output before.
    for chunk in BIG.chunks(512) {
        let mut rest = chunk;
        while !rest.is_empty() {
            match d.decode_into(rest, &mut out[..4096], 0) {
                Ok((c, w)) => {
                    rest = &rest[c..];
                    total += w;
                    if c == 0 && w == 0 {
                        break;
                    }
                }
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        if err.is_some() {
            break;
        }
    }
    let e = err.expect("matches reach back past the output it was given");
    assert_eq!(e.kind, GzipErrorKind::CorruptDeflate);
    assert!(total < 463_046);
}

/// Damaged streams in place: errors with offsets, never a panic or a loop.
#[test]
fn in_place_mutations_never_panic() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..1000 {
        let mut data = [V2_GZ, V5_GZ, MULTI, TCP_GZ][round % 4].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len());
            data[at] ^= 1 << rng.below(8);
        }
        let step = 1 + rng.below(data.len());
        let chunks: Vec<&[u8]> = data.chunks(step).collect();
        if let Err(e) = decode_in_place(&chunks, 1 + rng.below(3000)) {
            assert!(e.offset <= data.len() as u64, "{e}");
        }
    }
}
