//! Text form of the `privacy.pseudonym` type: `psn_` followed by the 32-byte keyed digest in
//! lower-case base32 (RFC 4648 alphabet, no padding): 52 characters, 56 in all.
//!
//! Input that starts with `psn_` must be a well-formed token (an error otherwise, never silently
//! taken as plaintext); any other input is plaintext, which the extension pseudonymizes.

use crate::{ErrorKind, MaskError};

pub const PREFIX: &str = "psn_";
pub const DIGEST_LEN: usize = 32;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Base32 characters for 32 bytes (256 bits / 5, rounded up).
pub const TOKEN_CHARS: usize = 52;

/// What a pseudonym's text input is.
#[derive(Debug, PartialEq, Eq)]
pub enum Input<'a> {
    Token([u8; DIGEST_LEN]),
    Plaintext(&'a str),
}

pub fn encode(digest: &[u8; DIGEST_LEN]) -> String {
    let mut out = String::with_capacity(PREFIX.len() + TOKEN_CHARS);
    out.push_str(PREFIX);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in digest {
        buffer = (buffer << 8) | byte as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn malformed(why: &str) -> MaskError {
    MaskError::new(
        ErrorKind::InvalidTextRepresentation,
        format!("malformed pseudonym token: {why}"),
        "A token is psn_ followed by 52 characters a-z and 2-7, as privacy.pseudonym prints it. \
         Text that does not start with psn_ is taken as plaintext and pseudonymized.",
    )
}

/// Decodes the base32 part of a token.
pub fn decode(token: &str) -> Result<[u8; DIGEST_LEN], MaskError> {
    let body = token.strip_prefix(PREFIX).ok_or_else(|| malformed("it does not start with psn_"))?;
    if body.len() != TOKEN_CHARS {
        return Err(malformed(&format!("expected {TOKEN_CHARS} characters after psn_, found {}", body.chars().count())));
    }
    let mut out = [0u8; DIGEST_LEN];
    let mut buffer: u32 = 0;
    let mut bits = 0;
    let mut n = 0;
    for c in body.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c).ok_or_else(|| malformed("it holds a character outside a-z and 2-7"))?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out[n] = (buffer >> bits) as u8;
            n += 1;
        }
    }
    // 52 characters carry 260 bits: the last 4 must be zero, so each digest has one token.
    if buffer & ((1 << bits) - 1) != 0 {
        return Err(malformed("its last character is not canonical"));
    }
    Ok(out)
}

/// Classifies a pseudonym's text input.
pub fn parse_input(input: &str) -> Result<Input<'_>, MaskError> {
    if input.starts_with(PREFIX) {
        decode(input).map(Input::Token)
    } else {
        Ok(Input::Plaintext(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shape() {
        for seed in 0u8..=255 {
            let d = [seed; 32];
            let t = encode(&d);
            assert_eq!(t.len(), 56);
            assert!(t.starts_with("psn_"));
            assert_eq!(decode(&t).unwrap(), d);
        }
        let mut d = [0u8; 32];
        d[31] = 1;
        assert_eq!(decode(&encode(&d)).unwrap(), d);
    }

    #[test]
    fn inputs() {
        assert_eq!(parse_input("alice@example.com").unwrap(), Input::Plaintext("alice@example.com"));
        assert_eq!(parse_input("PSN_not_a_token").unwrap(), Input::Plaintext("PSN_not_a_token"));
        assert_eq!(parse_input("").unwrap(), Input::Plaintext(""));
        let e = parse_input("psn_short").unwrap_err();
        assert_eq!(e.kind.sqlstate(), "22P02");
        assert!(parse_input(&format!("psn_{}", "1".repeat(52))).is_err());
        // non-canonical last character (trailing bits set)
        let mut t = encode(&[0u8; 32]);
        t.pop();
        t.push('b');
        assert!(decode(&t).unwrap_err().message.contains("canonical"));
        // multi-byte characters in a would-be token are an error, not a panic
        assert!(parse_input(&format!("psn_{}é", "a".repeat(50))).is_err());
    }
}
