//! Number and address values of flow-log tokens, read a machine word at a time.
//!
//! The record parser (`record.rs`) hands each typed token over as a position in its line:
//! numbers and IPv4 addresses are decoded from the 8 or 16 bytes loaded at once from there
//! (SWAR: every byte is classified in one operation, digits combined by multiplication),
//! instead of a loop with a branch per byte. The bytes after the token are masked off, so
//! what follows it in the line never matters; a token at the end of the line is copied into
//! a zero-padded word. Accepted syntax is exactly that of the byte-by-byte parsers they
//! replace: unsigned decimals of at most 20 digits (`u8`/`u16` fields: 3/5), and dotted quads
//! as `Ipv4Addr::from_str` takes them; IPv6 goes to `Ipv6Addr::from_str`.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Byte `k` of every lane.
pub(super) const fn lanes64(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

pub(super) const fn lanes128(b: u8) -> u128 {
    u128::from_le_bytes([b; 16])
}

/// The `len ≤ 8` bytes of `line` from `start` as the low bytes of a little-endian word, the
/// others zero. One load when the line has 8 bytes there (the common case: a token inside a
/// line).
#[inline(always)]
pub(super) fn load8(line: &[u8], start: usize, len: usize) -> u64 {
    let word = match line.get(start..start + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or_default()),
        None => {
            let mut b = [0u8; 8];
            let rest = line.get(start..).unwrap_or_default();
            b.iter_mut().zip(rest).for_each(|(d, s)| *d = *s);
            u64::from_le_bytes(b)
        }
    };
    match len {
        8.. => word,
        _ => word & ((1u64 << (8 * len)) - 1),
    }
}

/// Same as [`load8`] for `len ≤ 16` bytes.
#[inline(always)]
pub(super) fn load16(line: &[u8], start: usize, len: usize) -> u128 {
    let word = match line.get(start..start + 16) {
        Some(w) => u128::from_le_bytes(w.try_into().unwrap_or_default()),
        None => {
            let mut b = [0u8; 16];
            let rest = line.get(start..).unwrap_or_default();
            b.iter_mut().zip(rest).for_each(|(d, s)| *d = *s);
            u128::from_le_bytes(b)
        }
    };
    match len {
        16.. => word,
        _ => word & ((1u128 << (8 * len)) - 1),
    }
}

/// `1 ≤ len ≤ 8` decimal digits at `line[start..]`, eight at a time: every byte is checked
/// to be a digit, then pairs, quads and halves are combined by multiplication (SWAR).
#[inline(always)]
pub(super) fn eight_digits(line: &[u8], start: usize, len: usize) -> Option<u64> {
    let keep = match len {
        8.. => u64::MAX,
        _ => (1u64 << (8 * len)) - 1,
    };
    // A digit is 0x30..=0x39: after `^ 0x30` its high nibble is 0 and its low nibble ≤ 9
    // (adding 6 keeps it below 0x10). A carry out of a byte only comes from a byte whose high
    // nibble is already non-zero, so it cannot hide a bad byte.
    let d = load8(line, start, len) ^ (lanes64(b'0') & keep);
    let bad = (d | d.wrapping_add(lanes64(6) & keep)) & lanes64(0xf0) & keep;
    if len == 0 || bad != 0 {
        return None;
    }
    Some(digits_value(d, len))
}

/// The value of the `1 ≤ len ≤ 8` digits whose values (`^ 0x30`) are the low bytes of `d`,
/// the first digit lowest; the bytes above them are ignored.
#[inline(always)]
pub(super) fn digits_value(d: u64, len: usize) -> u64 {
    // Shift so the digits are the high bytes, leading zeros below, then 10·a+b per byte
    // pair, 100·ab+cd per pair of pairs, and so on.
    let mut v = d << (8 * (8 - len.clamp(1, 8)));
    v = ((v & lanes64(0x0f)).wrapping_mul(1 + (10 << 8))) >> 8;
    v = ((v & 0x00ff_00ff_00ff_00ff).wrapping_mul(1 + (100 << 16))) >> 16;
    v = ((v & 0x0000_ffff_0000_ffff).wrapping_mul(1 + (10_000 << 32))) >> 32;
    v
}

/// Decimal digits only (no sign) at `line[start..end]`; `None` on overflow.
#[inline(always)]
pub(super) fn parse_u64_at(line: &[u8], start: usize, end: usize) -> Option<u64> {
    let len = end.checked_sub(start)?;
    match len {
        0 => None,
        1..=8 => eight_digits(line, start, len),
        9..=16 => {
            let high = eight_digits(line, start, len - 8)?;
            let low = eight_digits(line, end - 8, 8)?;
            Some(high * 100_000_000 + low)
        }
        // Up to 19 digits cannot overflow; 20 need checked arithmetic; more always do.
        17..=20 => {
            let mut v: u64 = 0;
            for &b in line.get(start..end)? {
                let d = b.wrapping_sub(b'0');
                if d > 9 {
                    return None;
                }
                v = v.checked_mul(10)?.checked_add(u64::from(d))?;
            }
            Some(v)
        }
        _ => None,
    }
}

#[inline(always)]
pub(super) fn parse_u16_at(line: &[u8], start: usize, end: usize) -> Option<u16> {
    if end.checked_sub(start)? > 5 {
        return None;
    }
    u16::try_from(parse_u64_at(line, start, end)?).ok()
}

#[inline(always)]
pub(super) fn parse_u8_at(line: &[u8], start: usize, end: usize) -> Option<u8> {
    if end.checked_sub(start)? > 3 {
        return None;
    }
    u8::try_from(parse_u64_at(line, start, end)?).ok()
}

/// Decimal digits only (no sign); `None` on overflow.
#[cfg(test)]
pub(super) fn parse_u64(token: &[u8]) -> Option<u64> {
    parse_u64_at(token, 0, token.len())
}

/// High bit of every byte of `v` that is zero, exactly (no borrow between bytes).
#[inline(always)]
pub(super) fn zero_bytes(v: u128) -> u128 {
    let low7 = lanes128(0x7f);
    !(((v & low7) + low7) | v) & lanes128(0x80)
}

/// Dotted quad at `line[start..end]`, the same syntax `Ipv4Addr::from_str` accepts (four
/// decimal octets ≤ 255, no leading zeros). The token is read as one 16-byte word: the dots
/// and the non-digits are found for every byte at once, then each octet is 1–3 digits.
#[inline(always)]
pub(super) fn parse_ipv4_at(line: &[u8], start: usize, end: usize) -> Option<Ipv4Addr> {
    let len = end.checked_sub(start)?;
    if !(7..=15).contains(&len) {
        return None;
    }
    let keep = lanes128(0x80) & ((1u128 << (8 * len)) - 1);
    let x = load16(line, start, len);
    let dots = zero_bytes(x ^ lanes128(b'.')) & keep;
    let d = x ^ lanes128(b'0');
    // Not a digit: high nibble set after `^ 0x30`, or low nibble above 9 (see `eight_digits`).
    let not_digit = !zero_bytes((d | d.wrapping_add(lanes128(6))) & lanes128(0xf0)) & keep;
    if not_digit != dots {
        return None;
    }
    // The digit values, after three zero bytes: `digit[k + 3]` is byte `k` of the token, and
    // the up to three bytes before an octet's last digit can be read without going below 0.
    let mut digit = [0u8; 19];
    if let Some(dst) = digit.get_mut(3..) {
        dst.copy_from_slice(&d.to_le_bytes());
    }
    // Built in a register: four byte stores read back as one word would stall the load.
    let mut addr = 0u32;
    let mut from = 0;
    let mut rest = dots;
    for i in 0..4 {
        // The end of this octet: the next dot (the first three), the end of the token (the
        // last one, when no dot is left).
        let to = if i < 3 {
            if rest == 0 {
                return None;
            }
            (rest.trailing_zeros() / 8) as usize
        } else {
            if rest != 0 {
                return None;
            }
            len
        };
        rest &= rest.wrapping_sub(1);
        let n = to.wrapping_sub(from);
        let at = |k: usize| u16::from(digit.get(k).copied().unwrap_or(0) & 0x0f);
        let first = at(from + 3);
        if !(1..=3).contains(&n) || (n > 1 && first == 0) {
            return None;
        }
        // Without branches on the octet's length (it varies from address to address).
        let value =
            at(to) * 100 * u16::from(n == 3) + at(to + 1) * 10 * u16::from(n >= 2) + at(to + 2);
        addr = addr << 8 | u32::from(u8::try_from(value).ok()?);
        from = to + 1;
    }
    Some(Ipv4Addr::from(addr))
}

/// Dotted quad, the same syntax `Ipv4Addr::from_str` accepts (no leading zeros).
#[cfg(test)]
pub(super) fn parse_ipv4(token: &[u8]) -> Option<Ipv4Addr> {
    parse_ipv4_at(token, 0, token.len())
}

#[inline(always)]
pub(super) fn parse_addr_at(line: &[u8], start: usize, end: usize) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4_at(line, start, end) {
        return Some(IpAddr::V4(v4));
    }
    let token = line.get(start..end)?;
    if token.contains(&b':') {
        let text = std::str::from_utf8(token).ok()?;
        return text.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}
