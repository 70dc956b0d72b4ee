//! `privacy.rule_call`: the proof that a function call was placed by pg_privacy itself.
//!
//! Some functions must run inside the expressions pg_privacy builds (masking rules computing keyed
//! values, consent checks reading the registry) but would be oracles if a user could call them on
//! input of their choice. Such functions take a first argument of type `privacy.rule_call`. No SQL
//! can make a value of that type: its input and binary-input functions refuse everything, nothing
//! casts to it, and its layout (37 bytes, by reference, char-aligned) matches no type a user can
//! create, so even `CREATE CAST ... WITHOUT FUNCTION` cannot produce one. pg_privacy puts a
//! constant of the type into the expressions it builds; it travels with the plan to parallel
//! workers like any constant.

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::pg::errors::refuse;

/// The type's length in bytes.
pub const LEN: i32 = 37;

backend_local! {
    static TYPE_OID: crate::pg::cache::Cached<pg_sys::Oid> = const { crate::pg::cache::Cached::new(crate::pg::cache::Class::Relations) };
}

/// The OID of `privacy.rule_call` in this database (InvalidOid without the extension).
pub fn type_oid() -> pg_sys::Oid {
    *TYPE_OID.with(|c| c.get(|| crate::pg::catalog::extension_type(c"rule_call")))
}

/// A constant of type `privacy.rule_call` (its bytes are zero; only its type matters).
pub fn constant() -> *mut pg_sys::Const {
    // SAFETY: a by-reference fixed-length constant whose palloc0'd value has the type's length.
    unsafe {
        let value = pg_sys::palloc0(LEN as usize);
        pg_sys::makeConst(type_oid(), -1, pg_sys::InvalidOid, LEN, pg_sys::Datum::from(value), false, false)
    }
}

fn no_values() -> ! {
    refuse(
        "values of type privacy.rule_call cannot be made",
        "It marks calls pg_privacy places in masking rules and consent filters; call the function without it.",
    )
}

macro_rules! fmgr_v1 {
    ($($info:ident),* $(,)?) => {
        $(
            #[no_mangle]
            #[doc(hidden)]
            pub extern "C" fn $info() -> &'static pg_sys::Pg_finfo_record {
                const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
                &V1
            }
        )*
    };
}

fmgr_v1!(pg_finfo_privacy_rule_call_in, pg_finfo_privacy_rule_call_out, pg_finfo_privacy_rule_call_recv);

#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_rule_call_in(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    no_values()
}

#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_rule_call_recv(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    no_values()
}

#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_rule_call_out(_fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: pstrdup copies a constant into the current memory context.
    pg_sys::Datum::from(unsafe { pg_sys::pstrdup(c"(rule call)".as_ptr()) })
}

extension_sql!(
    r#"
CREATE TYPE privacy.rule_call;
CREATE FUNCTION privacy.rule_call_in(cstring) RETURNS privacy.rule_call
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_call_in';
CREATE FUNCTION privacy.rule_call_out(privacy.rule_call) RETURNS cstring
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_call_out';
CREATE FUNCTION privacy.rule_call_recv(internal) RETURNS privacy.rule_call
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_call_recv';
CREATE TYPE privacy.rule_call (
    INPUT = privacy.rule_call_in, OUTPUT = privacy.rule_call_out, RECEIVE = privacy.rule_call_recv,
    INTERNALLENGTH = 37, ALIGNMENT = char, STORAGE = plain
);
COMMENT ON TYPE privacy.rule_call IS
  'Marks calls pg_privacy places in masking rules and consent filters; no SQL can make a value of it.';
"#,
    name = "rule_call_type"
);

