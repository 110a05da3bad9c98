//! CRC-32 as gzip uses it (IEEE 802.3, reflected polynomial 0xEDB88320; RFC 1952 §8).
//!
//! Every inflated byte passes through it, so it is built for speed: on x86_64 CPUs with
//! carry-less multiplication (PCLMULQDQ, every x86_64 CPU since 2010) long inputs are folded
//! 64 bytes per step (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
//! Instruction", 2009; the constants are the ones Linux's crc32-pclmul uses); the rest, and
//! other CPUs, use slicing-by-16 tables.
#![allow(unsafe_code)] // SIMD intrinsics, in `folded` only, after the CPU was checked.

/// Continues a CRC-32 over `data` (start with 0; the result of one call continues in the next).
pub fn crc32_update(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= folded::MIN_LEN
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("sse4.1")
    {
        // SAFETY: the CPU has the features `update` is compiled for (checked just above).
        let (crc, rest) = unsafe { folded::update(crc, data) };
        return update_by_tables(crc, rest);
    }
    update_by_tables(crc, data)
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as gzip uses it, slicing-by-16:
/// table `k` advances a byte's contribution by `k` more bytes, so 16 input bytes cost 16
/// independent lookups instead of a chain of 16 dependent ones.
const fn crc_tables() -> [[u32; 256]; 16] {
    let mut t = [[0u32; 256]; 16];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][n] = c;
        n += 1;
    }
    let mut n = 0;
    while n < 256 {
        let mut k = 1;
        while k < 16 {
            let prev = t[k - 1][n];
            t[k][n] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            k += 1;
        }
        n += 1;
    }
    t
}

static CRC_TABLES: [[u32; 256]; 16] = crc_tables();

/// Continues a CRC-32 over `data`, 16 bytes per step through the tables.
fn update_by_tables(crc: u32, data: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut c = !crc;
    let mut chunks = data.chunks_exact(16);
    for ch in &mut chunks {
        let w = |k: usize| u32::from_le_bytes([ch[k], ch[k + 1], ch[k + 2], ch[k + 3]]);
        let (a, b, d, e) = (w(0) ^ c, w(4), w(8), w(12));
        let lut = |table: usize, word: u32, shift: u32| t[table][((word >> shift) & 0xff) as usize];
        c = lut(15, a, 0)
            ^ lut(14, a, 8)
            ^ lut(13, a, 16)
            ^ lut(12, a, 24)
            ^ lut(11, b, 0)
            ^ lut(10, b, 8)
            ^ lut(9, b, 16)
            ^ lut(8, b, 24)
            ^ lut(7, d, 0)
            ^ lut(6, d, 8)
            ^ lut(5, d, 16)
            ^ lut(4, d, 24)
            ^ lut(3, e, 0)
            ^ lut(2, e, 8)
            ^ lut(1, e, 16)
            ^ lut(0, e, 24);
    }
    for &b in chunks.remainder() {
        c = t[0][((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// Folding with carry-less multiplication: four 128-bit lanes absorb 64 bytes per step, then
/// fold into one lane, then a Barrett reduction gives the 32-bit remainder.
#[cfg(target_arch = "x86_64")]
mod folded {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_clmulepi64_si128, _mm_cvtsi32_si128, _mm_extract_epi32,
        _mm_loadu_si128, _mm_set_epi32, _mm_set_epi64x, _mm_srli_si128, _mm_xor_si128,
    };

    /// Below this, the set-up costs more than the tables.
    pub const MIN_LEN: usize = 128;

    // x^(4·128+64) mod P, x^(4·128) mod P (fold by 4 lanes); x^(128+64), x^128 (fold by 1);
    // x^64 (128 → 64 bits); P and µ = x^64 / P (Barrett). All bit-reflected, shifted left 1.
    const K1: i64 = 0x1_5444_2bd4;
    const K2: i64 = 0x1_c6e4_1596;
    const K3: i64 = 0x1_7519_97d0;
    const K4: i64 = 0x0_ccaa_009e;
    const K5: i64 = 0x1_63cd_6124;
    const P: i64 = 0x1_db71_0641;
    const MU: i64 = 0x1_f701_1641;

    /// Continues `crc` over the longest multiple of 16 bytes at the start of `data`
    /// (`data.len() ≥ MIN_LEN`) and returns it with the bytes left over.
    /// Call only on a CPU with PCLMULQDQ and SSE4.1 (`target_feature` makes that the
    /// caller's promise).
    #[target_feature(enable = "pclmulqdq,sse2,sse4.1")]
    pub fn update(crc: u32, data: &[u8]) -> (u32, &[u8]) {
        debug_assert!(data.len() >= MIN_LEN);
        let mut blocks = data.chunks_exact(16);
        // SAFETY (every `load`): a chunk is 16 readable bytes; loadu has no alignment need.
        let mut load =
            || unsafe { _mm_loadu_si128(blocks.next().unwrap_or(&[0; 16]).as_ptr().cast()) };
        let mut lanes = [load(), load(), load(), load()];
        lanes[0] = _mm_xor_si128(lanes[0], _mm_cvtsi32_si128(!crc as i32));
        let mut left = data.len() / 16 - 4;
        let by4 = _mm_set_epi64x(K2, K1);
        while left >= 4 {
            for lane in &mut lanes {
                *lane = fold(*lane, load(), by4);
            }
            left -= 4;
        }
        let by1 = _mm_set_epi64x(K4, K3);
        let mut x = fold(lanes[0], lanes[1], by1);
        x = fold(x, lanes[2], by1);
        x = fold(x, lanes[3], by1);
        while left > 0 {
            x = fold(x, load(), by1);
            left -= 1;
        }
        // 128 → 64 bits: x = (x[0:63] · K4) ^ x[64:127], then (x[0:31] · K5) ^ x[32:95].
        let low32 = _mm_set_epi32(0, 0, 0, !0);
        let x = _mm_xor_si128(_mm_clmulepi64_si128(x, by1, 0x10), _mm_srli_si128(x, 8));
        let x = _mm_xor_si128(
            _mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, K5), 0x00),
            _mm_srli_si128(x, 4),
        );
        // Barrett: T1 = (x mod x^32) · µ, T2 = (T1 mod x^32) · P, crc = (x ^ T2) / x^32.
        let pu = _mm_set_epi64x(MU, P);
        let t1 = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pu, 0x10);
        let t2 = _mm_clmulepi64_si128(_mm_and_si128(t1, low32), pu, 0x00);
        let c = _mm_extract_epi32(_mm_xor_si128(x, t2), 1) as u32;
        let done = data.len() / 16 * 16;
        (!c, data.get(done..).unwrap_or_default())
    }

    /// a · x^k (the two 64-bit halves by their constants) folded into b.
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn fold(a: __m128i, b: __m128i, keys: __m128i) -> __m128i {
        let low = _mm_clmulepi64_si128(a, keys, 0x00);
        let high = _mm_clmulepi64_si128(a, keys, 0x11);
        _mm_xor_si128(_mm_xor_si128(b, low), high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($path:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/flowlogs/",
                $path
            ))
        };
    }

    /// Flow-log files and the CRC-32 GNU gzip wrote in their `.gz` trailers.
    fn gzip_pairs() -> [(&'static [u8], u32); 3] {
        let trailer = |gz: &[u8]| {
            let t = &gz[gz.len() - 8..];
            u32::from_le_bytes([t[0], t[1], t[2], t[3]])
        };
        [
            (
                fixture!("default-v2.log"),
                trailer(fixture!("default-v2.log.gz")),
            ),
            (
                fixture!("custom-v5.log"),
                trailer(fixture!("custom-v5.log.gz")),
            ),
            (
                fixture!("aws-doc-custom-v3-tcp-flags.log"),
                trailer(fixture!("aws-doc-custom-v3-tcp-flags.log.gz")),
            ),
        ]
    }

    #[test]
    fn known_values() {
        assert_eq!(crc32_update(0, b""), 0);
        // The CRC-32 "check" value (the CRC of the nine ASCII digits).
        assert_eq!(crc32_update(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(
            crc32_update(0, b"The quick brown fox jumps over the lazy dog"),
            0x414f_a339
        );
    }

    /// Whatever the split, continuing over the second part gives gzip's CRC of the whole: every
    /// mix of folded blocks (64-byte steps, 16-byte steps) and table bytes is taken somewhere.
    #[test]
    fn every_split_gives_gzips_crc() {
        for (data, want) in gzip_pairs() {
            assert!(data.len() > 3 * folded_min(), "{} bytes", data.len());
            assert_eq!(crc32_update(0, data), want, "CRC-32 differs from gzip's");
            for cut in 0..=data.len() {
                let (a, b) = data.split_at(cut);
                assert_eq!(crc32_update(crc32_update(0, a), b), want, "cut at {cut}");
            }
        }
    }

    /// The tables alone (what CPUs without PCLMULQDQ run) give gzip's CRC too.
    #[test]
    fn tables_alone_give_gzips_crc() {
        for (data, want) in gzip_pairs() {
            assert_eq!(update_by_tables(0, data), want);
            let (a, b) = data.split_at(data.len() / 3);
            assert_eq!(update_by_tables(update_by_tables(0, a), b), want);
        }
    }

    fn folded_min() -> usize {
        #[cfg(target_arch = "x86_64")]
        return folded::MIN_LEN;
        #[cfg(not(target_arch = "x86_64"))]
        return 128;
    }
}
