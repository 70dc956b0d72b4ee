//! Keyed HMAC-SHA256 behind `privacy.hash`, the `pseudo_*` functions, keyed noise and the
//! `privacy.pseudonym` type.
//!
//! One per-database master key (32 random bytes made at `CREATE EXTENSION`) is never used
//! directly: each purpose gets its own subkey, `HMAC(master, label)`, so a value's `hash` cannot
//! be matched against its pseudonym and a future purpose can be added without weakening others.
//! The HMAC states are keyed once and cloned per call, which saves two SHA-256 compressions on
//! every row.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::MaskError;

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of a master key and of a digest.
pub const KEY_LEN: usize = 32;

/// Domain-separation labels of the subkeys. Changing one changes every value derived from it.
const LABEL_HASH: &[u8] = b"pg_privacy/v1/hash";
const LABEL_PSEUDO: &[u8] = b"pg_privacy/v1/pseudo";
const LABEL_PSEUDONYM: &[u8] = b"pg_privacy/v1/pseudonym";
const LABEL_NOISE: &[u8] = b"pg_privacy/v1/noise";
const LABEL_FINGERPRINT: &[u8] = b"pg_privacy/v1/fingerprint";

/// The keyed states derived from one master key. Holds no copy of the master key itself.
#[derive(Clone)]
pub struct Keyring {
    hash: HmacSha256,
    pseudo: HmacSha256,
    pseudonym: HmacSha256,
    noise: HmacSha256,
    /// A public name for the key: equal on two nodes exactly when their keys are equal.
    fingerprint: [u8; 8],
}

impl std::fmt::Debug for Keyring {
    // Never print key material, even in a debug dump.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(<secret>)")
    }
}

fn subkey(master: &[u8], label: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC accepts keys of any length");
    mac.update(label);
    let derived = mac.finalize().into_bytes();
    <HmacSha256 as Mac>::new_from_slice(&derived).expect("HMAC accepts keys of any length")
}

impl Keyring {
    /// Builds the keyring from the stored master key, which must be exactly [`KEY_LEN`] bytes.
    pub fn from_master(master: &[u8]) -> Result<Self, MaskError> {
        if master.len() != KEY_LEN {
            return Err(MaskError::invalid(
                format!("the pg_privacy key must be {KEY_LEN} bytes, the stored one has {}", master.len()),
                "The key table was altered by hand. Restore it from a backup of this database.",
            ));
        }
        Ok(Keyring {
            hash: subkey(master, LABEL_HASH),
            pseudo: subkey(master, LABEL_PSEUDO),
            pseudonym: subkey(master, LABEL_PSEUDONYM),
            noise: subkey(master, LABEL_NOISE),
            fingerprint: {
                let digest = subkey(master, LABEL_FINGERPRINT).finalize().into_bytes();
                let mut out = [0u8; 8];
                out.copy_from_slice(&digest[..8]);
                out
            },
        })
    }

    /// The key's fingerprint (16 hex digits): shows whether two databases (the nodes of a
    /// cluster, a restored copy) hold the same key, and reveals nothing else about it (a subkey
    /// of its own, truncated).
    pub fn fingerprint(&self) -> String {
        to_hex(&self.fingerprint)
    }

    /// Digest of `privacy.hash(value)`.
    pub fn hash_digest(&self, value: &[u8]) -> [u8; 32] {
        let mut mac = self.hash.clone();
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// `privacy.hash(value)`: lowercase hex of the keyed digest (64 characters).
    pub fn hash_hex(&self, value: &[u8]) -> String {
        to_hex(&self.hash_digest(value))
    }

    /// Digest used by one `pseudo_*` function; `domain` separates the functions from each other.
    pub fn pseudo_digest(&self, domain: &str, value: &[u8]) -> [u8; 32] {
        let mut mac = self.pseudo.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// Further keyed bytes for a `pseudo_*` function that needs more than one digest
    /// (long phone numbers): block `n` of a counter-mode expansion of `seed`.
    pub fn pseudo_block(&self, seed: &[u8; 32], n: u32) -> [u8; 32] {
        let mut mac = self.pseudo.clone();
        mac.update(b"expand\0");
        mac.update(seed);
        mac.update(&n.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The seed of a masking rule's noise for one stored value: keyed on the column and on the
    /// row (its key or the value), so the same row always gets the same noise and repeating a
    /// read cannot average it away. Each part is length-prefixed, so parts cannot run together.
    pub fn noise_seed(&self, column: &[u8], row: &[u8], value: &[u8]) -> [u8; 32] {
        let mut mac = self.noise.clone();
        for part in [column, row, value] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Digest stored by the `privacy.pseudonym` type.
    pub fn pseudonym_digest(&self, value: &[u8]) -> [u8; 32] {
        let mut mac = self.pseudonym.clone();
        mac.update(value);
        mac.finalize().into_bytes().into()
    }
}

/// Lowercase hexadecimal of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 0x0f) as usize]);
    }
    // Only ASCII hex digits were pushed.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(byte: u8) -> Keyring {
        Keyring::from_master(&[byte; 32]).unwrap()
    }

    #[test]
    fn fingerprint_names_the_key_and_no_value() {
        assert_eq!(ring(1).fingerprint(), ring(1).fingerprint());
        assert_ne!(ring(1).fingerprint(), ring(2).fingerprint());
        assert_eq!(ring(1).fingerprint().len(), 16);
        // Not a prefix of any other derived value of the same key.
        assert!(!ring(1).hash_hex(b"").starts_with(&ring(1).fingerprint()));
    }

    #[test]
    fn hash_matches_rfc4231_style_hmac_with_derived_key() {
        // Independent recomputation with the hmac crate, to pin the derivation.
        let master = [7u8; 32];
        let mut k = <HmacSha256 as Mac>::new_from_slice(&master).unwrap();
        k.update(LABEL_HASH);
        let derived = k.finalize().into_bytes();
        let mut m = <HmacSha256 as Mac>::new_from_slice(&derived).unwrap();
        m.update(b"alice");
        let expected = to_hex(&m.finalize().into_bytes());
        assert_eq!(ring(7).hash_hex(b"alice"), expected);
        assert_eq!(expected.len(), 64);
    }

    #[test]
    fn keys_and_domains_separate() {
        let a = ring(1);
        let b = ring(2);
        assert_ne!(a.hash_hex(b"x"), b.hash_hex(b"x"));
        assert_ne!(a.hash_digest(b"x"), a.pseudonym_digest(b"x"));
        assert_ne!(a.pseudo_digest("email", b"x"), a.pseudo_digest("phone", b"x"));
        assert_eq!(a.hash_hex(b"x"), ring(1).hash_hex(b"x"));
        assert_eq!(a.noise_seed(b"c", b"r", b"v"), ring(1).noise_seed(b"c", b"r", b"v"));
        assert_ne!(a.noise_seed(b"c", b"r", b"v"), a.noise_seed(b"c", b"rv", b""));
        assert_ne!(a.noise_seed(b"c", b"r", b"v"), b.noise_seed(b"c", b"r", b"v"));
    }

    #[test]
    fn wrong_key_length_is_an_error_without_key_bytes() {
        let e = Keyring::from_master(&[9u8; 5]).unwrap_err();
        assert_eq!(e.kind.sqlstate(), "22023");
        assert!(!format!("{e:?}").contains("9, 9"));
        assert_eq!(format!("{:?}", ring(3)), "Keyring(<secret>)");
    }

    #[test]
    fn hex() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
