//! Deterministic, keyed, format-keeping pseudonyms (`pseudo_*`).
//!
//! The same input always gives the same output under one key, so joins and counts on the
//! pseudonymized column still work; without the key the output says nothing about the input.
//! Each function hashes its input with its own domain label (see [`crate::keyed`]) and picks
//! dictionary entries or digits from the digest.

use crate::dictionary::{city_suffixes, first_names, last_names, EMAIL_DOMAINS};
use crate::keyed::Keyring;

/// Reads 8 digest bytes starting at `at` as an index below `n` (bias below n/2^64).
fn pick(digest: &[u8; 32], at: usize, n: usize) -> usize {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[at..at + 8]);
    ((u64::from_le_bytes(b) as u128 * n as u128) >> 64) as usize
}

pub fn pseudo_first_name(keys: &Keyring, value: &str) -> &'static str {
    let d = keys.pseudo_digest("first_name", value.as_bytes());
    first_names()[pick(&d, 0, first_names().len())]
}

pub fn pseudo_last_name(keys: &Keyring, value: &str) -> &'static str {
    let d = keys.pseudo_digest("last_name", value.as_bytes());
    last_names()[pick(&d, 0, last_names().len())]
}

pub fn pseudo_city(keys: &Keyring, value: &str) -> String {
    let d = keys.pseudo_digest("city", value.as_bytes());
    let mut out = String::from(last_names()[pick(&d, 0, last_names().len())]);
    out.push_str(city_suffixes()[pick(&d, 8, city_suffixes().len())]);
    out
}

/// `pseudo_email(value)`: `first.last<6 digits>@example.{com,net,org}`.
///
/// E-mail addresses are compared case-insensitively in practice, so the input is trimmed and
/// lower-cased first: `Alice@X.com` and `alice@x.com` get the same pseudonym. The output space
/// (about 4·10^12 addresses) makes a collision among 100k distinct inputs unlikely (p ≈ 0.1 %);
/// the unit tests check that none occurs over 100k inputs.
pub fn pseudo_email(keys: &Keyring, value: &str) -> String {
    let normalized = value.trim().to_lowercase();
    let d = keys.pseudo_digest("email", normalized.as_bytes());
    let first = first_names()[pick(&d, 0, first_names().len())];
    let last = last_names()[pick(&d, 8, last_names().len())];
    let number = pick(&d, 16, 1_000_000);
    let domain = EMAIL_DOMAINS[pick(&d, 24, EMAIL_DOMAINS.len())];
    let mut out = String::with_capacity(first.len() + last.len() + 8 + domain.len() + 1);
    for c in first.chars().chain(std::iter::once('.')).chain(last.chars()) {
        // Dictionary names are ASCII letters plus the odd apostrophe: keep letters only.
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        }
    }
    out.push_str(&format!("{number:06}@{domain}"));
    out
}

/// `pseudo_phone(value)`: every digit (of any script) is replaced by a keyed ASCII digit, everything else
/// (`+`, spaces, dashes, parentheses) stays, so the layout is kept. The digits are derived from the
/// input's digits only, so `+1 555-0100` and `+15550100` get the same digits.
pub fn pseudo_phone(keys: &Keyring, value: &str) -> String {
    let digits: String = value.chars().filter(|c| c.is_numeric()).collect();
    let seed = keys.pseudo_digest("phone", digits.as_bytes());
    let mut block = seed;
    let mut block_no = 0u32;
    let mut used = 0usize;
    value
        .chars()
        .map(|c| {
            if !c.is_numeric() {
                return c;
            }
            if used == block.len() {
                block_no += 1;
                block = keys.pseudo_block(&seed, block_no);
                used = 0;
            }
            // 250 is the largest multiple of 10 under 256; bytes above it are rare and reused
            // modulo, a bias of under 0.3 % that does not matter for a stand-in digit.
            let digit = block[used] % 10;
            used += 1;
            char::from(b'0' + digit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn keys() -> Keyring {
        Keyring::from_master(&[42u8; 32]).unwrap()
    }

    #[test]
    fn deterministic_and_keyed() {
        let k = keys();
        let other = Keyring::from_master(&[43u8; 32]).unwrap();
        assert_eq!(pseudo_email(&k, "alice@example.com"), pseudo_email(&k, "  ALICE@example.com "));
        assert_ne!(pseudo_email(&k, "alice@example.com"), pseudo_email(&other, "alice@example.com"));
        assert_eq!(pseudo_first_name(&k, "Alice"), pseudo_first_name(&k, "Alice"));
        assert_eq!(pseudo_city(&k, "Paris"), pseudo_city(&k, "Paris"));
    }

    #[test]
    fn email_shape() {
        let e = pseudo_email(&keys(), "bob@corp.example");
        let (local, domain) = e.split_once('@').unwrap();
        assert!(EMAIL_DOMAINS.contains(&domain), "{e}");
        assert!(local.contains('.'), "{e}");
        assert!(local.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.'), "{e}");
    }

    #[test]
    fn email_collision_free_over_100k_inputs() {
        let k = keys();
        let mut seen = HashSet::with_capacity(100_000);
        for i in 0..100_000 {
            let out = pseudo_email(&k, &format!("customer{i}@shop.example"));
            assert!(seen.insert(out.clone()), "collision at input {i}: {out}");
        }
    }

    #[test]
    fn phone_keeps_layout() {
        let k = keys();
        let p = pseudo_phone(&k, "+1 (555) 010-4477");
        assert_eq!(p.len(), "+1 (555) 010-4477".len());
        assert_eq!(&p[0..1], "+");
        assert_eq!(&p[2..4], " (");
        assert_eq!(pseudo_phone(&k, "+1 (555) 010-4477").replace(|c: char| !c.is_ascii_digit(), ""),
                   pseudo_phone(&k, "15550104477"));
        assert_ne!(p, "+1 (555) 010-4477");
        // Longer than one digest: still digits all the way.
        let long = "9".repeat(100);
        let out = pseudo_phone(&k, &long);
        assert_eq!(out.len(), 100);
        assert!(out.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(pseudo_phone(&k, ""), "");
        assert!(pseudo_phone(&k, "０１２３").bytes().all(|b| b.is_ascii_digit()));
    }
}
