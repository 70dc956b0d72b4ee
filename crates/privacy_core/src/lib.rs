//! privacy_core: the plain-Rust heart of pg_privacy.
//!
//! Owns every algorithm that does not need a running PostgreSQL: the masking functions
//! (partial masking, redaction, generalization, noise, regular-expression redaction), the keyed
//! HMAC-SHA256 machinery behind `hash` and the `pseudo_*` functions, the fake-value generators and
//! the dictionaries they draw from. The extension crate (`pg_privacy`) only converts PostgreSQL
//! datums to Rust values, calls into this crate and turns [`MaskError`] into `ereport`s.
//!
//! Keeping this crate free of pgrx means `cargo test -p privacy_core` runs the unit and property
//! tests with no PostgreSQL installed, and the fuzz/property tests exercise exactly the code the
//! backend runs.

#![forbid(unsafe_code)]

pub mod dictionary;
pub mod discover;
pub mod error;
pub mod fake_values;
pub mod generalize;
pub mod ip;
pub mod keyed;
pub mod label;
pub mod ledger;
pub mod noise;
pub mod partial;
pub mod policy;
pub mod pseudonym;
pub mod pseudo;
pub mod random;
pub mod regex_redact;
pub mod subject;

pub use error::{ErrorKind, MaskError};

/// Largest text value the library will build (PostgreSQL's 1 GB varlena limit, minus header room).
/// Results above it are refused with `ErrorKind::ProgramLimitExceeded` instead of failing inside
/// the allocator.
pub const MAX_RESULT_BYTES: usize = 0x3FFF_FFFF - 4;

/// Checks a result size before it is built, so an oversized request fails with a clear error.
pub fn check_result_size(bytes: usize) -> Result<(), MaskError> {
    if bytes > MAX_RESULT_BYTES {
        return Err(MaskError::new(
            ErrorKind::ProgramLimitExceeded,
            format!("masked value would be {bytes} bytes, over the 1 GB limit of a text value"),
            "Use a shorter padding or replacement, or apply the function to smaller values.",
        ));
    }
    Ok(())
}
