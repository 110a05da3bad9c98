//! Base64 decoding (RFC 4648 §4, standard alphabet) for JSON `blob` members such as Kinesis
//! `Record.Data`.
//!
//! Hand-written because it is forty lines: it decodes into a caller-owned buffer that is reused
//! from record to record (no allocation once the buffer has grown), four input bytes per step.
//! Padding is accepted but not required (RFC 4648 §3.2); whitespace and other bytes are errors.

use std::fmt;

/// Why a base64 text did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base64Error {
    /// A byte outside the alphabet at this offset of the input.
    InvalidByte { offset: usize, byte: u8 },
    /// A length that no encoding produces (4n+1 symbols, or padding in the wrong place).
    InvalidLength { len: usize },
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::InvalidByte { offset, byte } => {
                write!(f, "invalid base64: byte 0x{byte:02x} at offset {offset}")
            }
            Base64Error::InvalidLength { len } => {
                write!(f, "invalid base64: impossible length {len}")
            }
        }
    }
}

impl std::error::Error for Base64Error {}

const INVALID: u8 = 0xff;

/// Symbol value per byte; `INVALID` for bytes outside the alphabet.
const DECODE: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The number of bytes `input` decodes to (an upper bound when `input` is invalid).
pub fn decoded_len(input: &[u8]) -> usize {
    let symbols = input.len()
        - input
            .iter()
            .rev()
            .take(2)
            .take_while(|b| **b == b'=')
            .count();
    symbols / 4 * 3 + (symbols % 4) * 3 / 4
}

/// Appends the bytes `input` encodes to `out`; returns how many were appended. On error `out`
/// is left as it was.
pub fn decode_into(input: &[u8], out: &mut Vec<u8>) -> Result<usize, Base64Error> {
    let start = out.len();
    let result = decode_inner(input, out);
    if result.is_err() {
        out.truncate(start);
    }
    result.map(|()| out.len() - start)
}

fn decode_inner(input: &[u8], out: &mut Vec<u8>) -> Result<(), Base64Error> {
    let pad = input
        .iter()
        .rev()
        .take(2)
        .take_while(|b| **b == b'=')
        .count();
    if pad > 0 && !input.len().is_multiple_of(4) {
        return Err(Base64Error::InvalidLength { len: input.len() });
    }
    let symbols = &input[..input.len() - pad];
    if symbols.len() % 4 == 1 {
        return Err(Base64Error::InvalidLength { len: input.len() });
    }
    out.reserve(decoded_len(input));
    let value = |i: usize| -> Result<u32, Base64Error> {
        let byte = symbols[i];
        match DECODE[byte as usize] {
            INVALID => Err(Base64Error::InvalidByte { offset: i, byte }),
            v => Ok(u32::from(v)),
        }
    };
    let full = symbols.len() / 4 * 4;
    let mut i = 0;
    while i < full {
        let n = value(i)? << 18 | value(i + 1)? << 12 | value(i + 2)? << 6 | value(i + 3)?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        i += 4;
    }
    match symbols.len() - full {
        2 => {
            let n = value(i)? << 18 | value(i + 1)? << 12;
            out.push((n >> 16) as u8);
        }
        3 => {
            let n = value(i)? << 18 | value(i + 1)? << 12 | value(i + 2)? << 6;
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> Result<Vec<u8>, Base64Error> {
        let mut out = Vec::new();
        decode_into(s.as_bytes(), &mut out).map(|_| out)
    }

    #[test]
    fn rfc4648_test_vectors() {
        // RFC 4648 §10.
        for (enc, dec) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(decode(enc).unwrap(), dec.as_bytes(), "{enc}");
            assert_eq!(decoded_len(enc.as_bytes()), dec.len());
            let unpadded = enc.trim_end_matches('=');
            assert_eq!(decode(unpadded).unwrap(), dec.as_bytes(), "{unpadded}");
        }
    }

    #[test]
    fn all_byte_values_round_trip_through_the_alphabet() {
        // "AAECAwQF...+/w==" is base64 of 0..=255, produced by `base64` (GNU coreutils).
        let enc = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
        let want: Vec<u8> = (0..=255u8).collect();
        assert_eq!(decode(enc).unwrap(), want);
    }

    #[test]
    fn invalid_input_is_an_error_and_leaves_the_buffer_alone() {
        let mut out = b"keep".to_vec();
        assert_eq!(
            decode_into(b"Zm9v!mFy", &mut out),
            Err(Base64Error::InvalidByte {
                offset: 4,
                byte: b'!'
            })
        );
        assert_eq!(out, b"keep");
        assert_eq!(decode("Zm9vY"), Err(Base64Error::InvalidLength { len: 5 }));
        assert_eq!(decode("Zm9=="), Err(Base64Error::InvalidLength { len: 5 }));
        assert!(decode("Zm 9v").is_err());
        assert!(decode("Zg=a").is_err());
    }
}
