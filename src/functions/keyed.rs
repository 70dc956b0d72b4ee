//! Keyed functions: `privacy.hash` and the `pseudo_*` family (HMAC-SHA256 with the database's key),
//! and the keyed noise masking rules use.
//!
//! Each keyed function has two forms:
//! - the direct call, `privacy.hash(text)`, which anyone unmasked may use, and which refuses a
//!   caller governed by a masked role in the function itself, for every call, in the leader and in
//!   parallel workers (a keyed value of input of the caller's choice is a dictionary oracle);
//! - the rule variant, `privacy.hash(privacy.rule_call, text)`, which masking rules are compiled to
//!   call: its first argument can only come from pg_privacy (see `crate::pg::marker`), so nobody
//!   can call it on input of their choice, and it makes no check.
//!
//! `noise` has a rule variant too: its noise is drawn from a keyed hash of the column, the row's
//! primary key (or nothing) and the value, so every read of a row gives the same noisy value.

use pgrx::prelude::*;
use privacy_core::keyed::Keyring;
use privacy_core::random::Rng;
use privacy_core::{noise as core_noise, pseudo};

use crate::keys::with_keyring;
use crate::masking::side_channels::refuse_keyed_oracle;
use crate::pg::errors::or_raise;

#[derive(Clone, Copy)]
enum Keyed {
    Hash,
    PseudoEmail,
    PseudoFirstName,
    PseudoLastName,
    PseudoPhone,
    PseudoCity,
}

fn compute(f: Keyed, value: &str) -> String {
    with_keyring(|k: &Keyring| match f {
        Keyed::Hash => k.hash_hex(value.as_bytes()),
        Keyed::PseudoEmail => pseudo::pseudo_email(k, value),
        Keyed::PseudoFirstName => pseudo::pseudo_first_name(k, value).to_owned(),
        Keyed::PseudoLastName => pseudo::pseudo_last_name(k, value).to_owned(),
        Keyed::PseudoPhone => pseudo::pseudo_phone(k, value),
        Keyed::PseudoCity => pseudo::pseudo_city(k, value),
    })
}

fn check(fcinfo: pg_sys::FunctionCallInfo) {
    // SAFETY: fcinfo and its flinfo are valid for the duration of the call.
    let funcid = unsafe {
        let flinfo = (*fcinfo).flinfo;
        if flinfo.is_null() { pg_sys::InvalidOid } else { (*flinfo).fn_oid }
    };
    refuse_keyed_oracle(funcid);
}

/// Keyed HMAC-SHA256 of the value, as 64 hex digits.
#[pg_extern(stable, strict, parallel_safe)]
fn hash(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check(fcinfo);
    compute(Keyed::Hash, value)
}

#[pg_extern(stable, strict, parallel_safe)]
fn pseudo_email(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check(fcinfo);
    compute(Keyed::PseudoEmail, value)
}

#[pg_extern(stable, strict, parallel_safe)]
fn pseudo_first_name(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check(fcinfo);
    compute(Keyed::PseudoFirstName, value)
}

#[pg_extern(stable, strict, parallel_safe)]
fn pseudo_last_name(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check(fcinfo);
    compute(Keyed::PseudoLastName, value)
}

#[pg_extern(stable, strict, parallel_safe)]
fn pseudo_phone(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check(fcinfo);
    compute(Keyed::PseudoPhone, value)
}

#[pg_extern(stable, strict, parallel_safe)]
fn pseudo_city(value: &str, fcinfo: pg_sys::FunctionCallInfo) -> String {
    check(fcinfo);
    compute(Keyed::PseudoCity, value)
}

/// Argument `n` of a STRICT function taking text there.
unsafe fn text_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> String {
    // SAFETY: the caller's function is STRICT and takes text at position n; detoasted before
    // reading.
    unsafe {
        let datum = (*fcinfo).args.as_slice(n + 1)[n].value;
        let t = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        let len = pgrx::varsize_any_exhdr(t);
        String::from_utf8_lossy(std::slice::from_raw_parts(pgrx::vardata_any(t) as *const u8, len)).into_owned()
    }
}

fn text_datum(s: String) -> pg_sys::Datum {
    s.into_datum().unwrap_or(pg_sys::Datum::from(0))
}

macro_rules! rule_variants {
    ($($symbol:ident, $info:ident => $which:expr;)*) => {
        $(
            #[no_mangle]
            #[doc(hidden)]
            pub extern "C" fn $info() -> &'static pg_sys::Pg_finfo_record {
                const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }

            /// Rule variant (see the module header): `(privacy.rule_call, text) RETURNS text`.
            #[no_mangle]
            #[pgrx::pg_guard]
            pub unsafe extern "C-unwind" fn $symbol(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
                // SAFETY: declared STRICT with (rule_call, text).
                let value = unsafe { text_arg(fcinfo, 1) };
                text_datum(compute($which, &value))
            }
        )*
    };
}

rule_variants! {
    privacy_hash_rule, pg_finfo_privacy_hash_rule => Keyed::Hash;
    privacy_pseudo_email_rule, pg_finfo_privacy_pseudo_email_rule => Keyed::PseudoEmail;
    privacy_pseudo_first_name_rule, pg_finfo_privacy_pseudo_first_name_rule => Keyed::PseudoFirstName;
    privacy_pseudo_last_name_rule, pg_finfo_privacy_pseudo_last_name_rule => Keyed::PseudoLastName;
    privacy_pseudo_phone_rule, pg_finfo_privacy_pseudo_phone_rule => Keyed::PseudoPhone;
    privacy_pseudo_city_rule, pg_finfo_privacy_pseudo_city_rule => Keyed::PseudoCity;
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_privacy_noise_rule() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// Keyed noise of a masking rule: `(privacy.rule_call, value, ratio float8, column text, row
/// text)`, value float8, int4 or int8 (told by the argument's declared type).
#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_noise_rule(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: declared STRICT with the signature above; datums are read by their declared types.
    unsafe {
        let args = (*fcinfo).args.as_slice(5);
        let value_type = pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, 1);
        let ratio = f64::from_datum(args[2].value, false).unwrap_or(0.0);
        let column = text_arg(fcinfo, 3).into_bytes();
        let row = text_arg(fcinfo, 4);
        let (value_bytes, as_f64, int_range): (Vec<u8>, f64, Option<(i64, i64)>) = match value_type {
            t if t == pg_sys::INT4OID => {
                let v = i32::from_datum(args[1].value, false).unwrap_or(0);
                (v.to_be_bytes().to_vec(), v as f64, Some((i32::MIN as i64, i32::MAX as i64)))
            }
            t if t == pg_sys::INT8OID => {
                let v = i64::from_datum(args[1].value, false).unwrap_or(0);
                (v.to_be_bytes().to_vec(), v as f64, Some((i64::MIN, i64::MAX)))
            }
            _ => {
                let v = f64::from_datum(args[1].value, false).unwrap_or(0.0);
                (v.to_be_bytes().to_vec(), v, None)
            }
        };
        let seed = with_keyring(|k| k.noise_seed(&column, row.as_bytes(), &value_bytes));
        let mut rng = Rng::from_seed(seed);
        match int_range {
            Some((min, max)) => {
                let v = or_raise(core_noise::noise_i64(&mut rng, as_f64 as i64, ratio, min, max));
                if value_type == pg_sys::INT4OID { (v as i32).into_datum() } else { v.into_datum() }.unwrap_or(pg_sys::Datum::from(0))
            }
            None => or_raise(core_noise::noise_f64(&mut rng, as_f64, ratio)).into_datum().unwrap_or(pg_sys::Datum::from(0)),
        }
    }
}

extension_sql!(
    r#"
CREATE FUNCTION privacy.hash(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_hash_rule';
CREATE FUNCTION privacy.pseudo_email(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_email_rule';
CREATE FUNCTION privacy.pseudo_first_name(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_first_name_rule';
CREATE FUNCTION privacy.pseudo_last_name(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_last_name_rule';
CREATE FUNCTION privacy.pseudo_phone(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_phone_rule';
CREATE FUNCTION privacy.pseudo_city(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_city_rule';
CREATE FUNCTION privacy.noise(privacy.rule_call, double precision, double precision, text, text)
    RETURNS double precision LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_noise_rule';
CREATE FUNCTION privacy.noise(privacy.rule_call, integer, double precision, text, text)
    RETURNS integer LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_noise_rule';
CREATE FUNCTION privacy.noise(privacy.rule_call, bigint, double precision, text, text)
    RETURNS bigint LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_noise_rule';
"#,
    name = "keyed_rule_variants",
    requires = ["rule_call_type"]
);
