//! The masking function library without a key: `privacy.partial`, `mask_*`, `redact`,
//! `regex_redact`, `generalize_date`, `bucket`, `noise` and `fake_*` (the keyed ones are in
//! [`super::keyed`]).
//!
//! Each SQL function converts its arguments, calls the algorithm in `privacy_core` and reports
//! its errors through [`crate::errors`]. Volatility is honest: IMMUTABLE where the result depends
//! on the arguments alone, STABLE for keyed functions (the key can be replaced), VOLATILE for
//! random ones. All are STRICT (NULL in, NULL out) and PARALLEL SAFE.
//!
//! search_path: these C functions resolve no names at run time, so no search_path can change
//! what they do. A `SET
//! search_path` clause would make PostgreSQL save and restore the GUC on every call, measured at
//! 3.3x the cost of `upper()` per row (docs/BENCHMARKS.md), so only the SQL-language functions,
//! which do resolve names, pin it. A `#[pg_test]` checks that rule for every function.

use std::cell::RefCell;

use pgrx::datum::{Date, Inet};
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use privacy_core::generalize::{bucket_f64, bucket_i64, generalize_date as generalize_days, DateUnit};
use privacy_core::random::Rng;
use privacy_core::regex_redact::CompiledPattern;
use privacy_core::{fake_values, ip, noise as core_noise, partial as core_partial};

use crate::pg::errors::{or_raise, raise};


// ---------------------------------------------------------------- partial masking

/// Keeps `prefix` leading and `suffix` trailing characters with `padding` between.
#[pg_extern(immutable, strict, parallel_safe)]
fn partial(value: &str, prefix: i32, padding: &str, suffix: i32) -> String {
    or_raise(core_partial::partial(value, prefix, padding, suffix))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn mask_email(value: &str) -> String {
    core_partial::mask_email(value)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn mask_phone(value: &str) -> String {
    core_partial::mask_phone(value)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn mask_card(value: &str) -> String {
    core_partial::mask_card(value)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn mask_iban(value: &str) -> String {
    core_partial::mask_iban(value)
}

#[pg_extern(immutable, strict, parallel_safe)]
fn mask_ip(value: Inet) -> Inet {
    Inet(or_raise(ip::mask_ip_text(&value.0)))
}

#[pg_extern(immutable, strict, parallel_safe)]
fn redact(value: &str) -> &'static str {
    core_partial::redact(value)
}

// ---------------------------------------------------------------- regular expressions

backend_local! {
    /// Last compiled pattern: rules and queries pass the same constant pattern on every row.
    static LAST_PATTERN: RefCell<Option<CompiledPattern>> = const { RefCell::new(None) };
}

#[pg_extern(immutable, strict, parallel_safe)]
fn regex_redact(value: &str, pattern: &str, replacement: &str) -> String {
    LAST_PATTERN.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.as_ref().map(|c| c.source.as_str()) != Some(pattern) {
            *cached = Some(or_raise(CompiledPattern::compile(pattern)));
        }
        match cached.as_ref() {
            Some(compiled) => or_raise(compiled.redact(value, replacement)),
            None => unreachable!("pattern was compiled just above"),
        }
    })
}

// ---------------------------------------------------------------- generalization

#[pg_extern(immutable, strict, parallel_safe)]
fn generalize_date(value: Date, unit: &str) -> Date {
    let unit = or_raise(DateUnit::parse(unit));
    let days = or_raise(generalize_days(value.to_pg_epoch_days(), unit));
    // SAFETY: generalize_days returns either the (valid) input's infinity marker or the first
    // day of a period that contains the input, which lies inside PostgreSQL's date range.
    unsafe { Date::from_pg_epoch_days(days) }
}

#[pg_extern(immutable, strict, parallel_safe, name = "bucket")]
fn bucket_int4(value: i32, width: i32) -> i32 {
    let b = or_raise(bucket_i64(value as i64, width as i64));
    i32::try_from(b).unwrap_or_else(|_| {
        raise(PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "bucket lower bound is out of range for integer", "Use a smaller bucket width.")
    })
}

#[pg_extern(immutable, strict, parallel_safe, name = "bucket")]
fn bucket_int8(value: i64, width: i64) -> i64 {
    or_raise(bucket_i64(value, width))
}

#[pg_extern(immutable, strict, parallel_safe, name = "bucket")]
fn bucket_float8(value: f64, width: f64) -> f64 {
    or_raise(bucket_f64(value, width))
}

/// Returns `width` if it is positive, else raises the same error as the other `bucket`s.
#[pg_extern(immutable, strict, parallel_safe)]
fn positive_bucket_width(width: AnyNumeric) -> AnyNumeric {
    if width <= AnyNumeric::from(0) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("bucket width must be positive, got {width}"),
            "Pass the size of the ranges values are rounded down to, e.g. bucket(age, 10).",
        );
    }
    width
}

extension_sql!(
    r#"
CREATE FUNCTION privacy.bucket(value numeric, width numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT floor(value / privacy.positive_bucket_width(width)) * width
$$;
COMMENT ON FUNCTION privacy.bucket(numeric, numeric) IS
  'Lower bound of the width-sized bucket holding value (numeric version).';
"#,
    name = "bucket_numeric",
    requires = [positive_bucket_width]
);

// ---------------------------------------------------------------- noise and fake values

backend_local! {
    /// Per-backend generator for the VOLATILE functions, seeded from pg_strong_random.
    static RNG: RefCell<Option<Rng>> = const { RefCell::new(None) };
}

pub(super) fn with_rng<T>(f: impl FnOnce(&mut Rng) -> T) -> T {
    RNG.with(|cell| {
        let mut slot = cell.borrow_mut();
        let rng = slot.get_or_insert_with(|| {
            let mut seed = [0u8; 32];
            // SAFETY: seed is a writable 32-byte buffer.
            let ok = unsafe { pg_sys::pg_strong_random(seed.as_mut_ptr().cast(), seed.len()) };
            if !ok {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    "could not seed pg_privacy's random generator",
                    "PostgreSQL's strong random source failed; check the server's OpenSSL or /dev/urandom.",
                );
            }
            Rng::from_seed(seed)
        });
        f(rng)
    })
}

#[pg_extern(volatile, strict, parallel_safe, name = "noise")]
fn noise_float8(value: f64, ratio: f64) -> f64 {
    with_rng(|r| or_raise(core_noise::noise_f64(r, value, ratio)))
}

#[pg_extern(volatile, strict, parallel_safe, name = "noise")]
fn noise_int4(value: i32, ratio: f64) -> i32 {
    with_rng(|r| or_raise(core_noise::noise_i64(r, value as i64, ratio, i32::MIN as i64, i32::MAX as i64)) as i32)
}

#[pg_extern(volatile, strict, parallel_safe, name = "noise")]
fn noise_int8(value: i64, ratio: f64) -> i64 {
    with_rng(|r| or_raise(core_noise::noise_i64(r, value, ratio, i64::MIN, i64::MAX)))
}

#[pg_extern(volatile, parallel_safe)]
fn fake_first_name() -> &'static str {
    with_rng(fake_values::fake_first_name)
}

#[pg_extern(volatile, parallel_safe)]
fn fake_last_name() -> &'static str {
    with_rng(fake_values::fake_last_name)
}

#[pg_extern(volatile, parallel_safe)]
fn fake_email() -> String {
    with_rng(fake_values::fake_email)
}

#[pg_extern(volatile, parallel_safe)]
fn fake_phone() -> String {
    with_rng(fake_values::fake_phone)
}

#[pg_extern(volatile, parallel_safe)]
fn fake_city() -> String {
    with_rng(fake_values::fake_city)
}

#[pg_extern(volatile, parallel_safe)]
fn fake_street_address() -> String {
    with_rng(fake_values::fake_street_address)
}

#[pg_extern(volatile, parallel_safe)]
fn fake_country() -> &'static str {
    with_rng(fake_values::fake_country)
}
