//! The `privacy.pseudonym` type: a keyed HMAC-SHA256 digest of an identifier, stored as 32 bytes
//! (fixed length, no varlena header), printed as a `psn_...` token.
//!
//! Its functions are plain fmgr (version 1) C functions, declared in SQL below, because a
//! fixed-length pass-by-reference type needs hand-written I/O. Input is either a well-formed
//! token or plaintext, which is pseudonymized with the database's key (subkey "pseudonym"). A
//! masked role cannot pseudonymize plaintext of its choice (input, cast or
//! `privacy.pseudonymize`): that would be a dictionary oracle. It can read, compare, group and
//! join the pseudonyms it already has.
//! Comparisons are bytewise; they are LEAKPROOF (they reveal nothing but the comparison), so the
//! planner may use them under row-security quals and for index scans.

use pgrx::pg_sys;
use pgrx::prelude::*;
use privacy_core::pseudonym::{encode, parse_input, Input, DIGEST_LEN};

use crate::pg::cache::{Cached, Class};
use crate::pg::errors::{or_raise, raise};

backend_local! {
    static TYPE_OID: Cached<pg_sys::Oid> = const { Cached::new(Class::Relations) };
}

/// The OID of `privacy.pseudonym` in this database (InvalidOid without the extension).
pub fn type_oid() -> pg_sys::Oid {
    *TYPE_OID.with(|c| c.get(|| crate::pg::catalog::extension_type(c"pseudonym")))
}

fmgr_v1!(
    pg_finfo_pseudonym_in,
    pg_finfo_pseudonym_out,
    pg_finfo_pseudonym_recv,
    pg_finfo_pseudonym_send,
    pg_finfo_pseudonym_eq,
    pg_finfo_pseudonym_ne,
    pg_finfo_pseudonym_lt,
    pg_finfo_pseudonym_le,
    pg_finfo_pseudonym_gt,
    pg_finfo_pseudonym_ge,
    pg_finfo_pseudonym_cmp,
    pg_finfo_pseudonym_hash,
    pg_finfo_pseudonym_from_text,
    pg_finfo_pseudonym_from_text_rule,
);

/// Argument `n` of a pseudonym function, as the 32 stored bytes.
unsafe fn digest_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [u8; DIGEST_LEN] {
    // SAFETY: callers are declared STRICT and take privacy.pseudonym at position n, a
    // pass-by-reference fixed-length type of exactly DIGEST_LEN bytes.
    unsafe { &*(pgrx::pg_getarg_datum_raw(fcinfo, n).cast_mut_ptr::<[u8; DIGEST_LEN]>()) }
}

/// A palloc'd copy of a digest, as a Datum.
fn digest_datum(digest: &[u8; DIGEST_LEN]) -> pg_sys::Datum {
    // SAFETY: palloc returns DIGEST_LEN writable bytes in the current memory context.
    unsafe {
        let p = pg_sys::palloc(DIGEST_LEN) as *mut u8;
        std::ptr::copy_nonoverlapping(digest.as_ptr(), p, DIGEST_LEN);
        pg_sys::Datum::from(p)
    }
}

/// `privacy.pseudonymize(text)` as the extension's own statements need it (no caller to refuse:
/// the rights functions refuse governed sessions first): a `psn_` token stands for its own digest;
/// other text for `digest_of_text`, the caller's keyed digest of the same bytes (the consent
/// ledger's subject key is that digest of the canonical id, computed once for both).
pub fn pseudonym_datum(text: &[u8], digest_of_text: &[u8]) -> Option<pg_sys::Datum> {
    if let Some(digest) = token_of(text) {
        return Some(digest_datum(&digest));
    }
    let digest: &[u8; DIGEST_LEN] = digest_of_text.try_into().ok()?;
    Some(digest_datum(digest))
}

/// Refuses masked roles turning chosen plaintext into a pseudonym (dictionary oracle).
fn refuse_masked_role() {
    if crate::masking::masked_now() {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "masked roles cannot turn plaintext into a pseudonym",
            "Compare with pseudonyms you read (psn_... tokens); pseudonymizing chosen text would reveal whose pseudonym is whose.",
        );
    }
}

fn pseudonymize_plaintext(plaintext: &[u8]) -> [u8; DIGEST_LEN] {
    crate::keys::with_keyring(|k| k.pseudonym_digest(plaintext))
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_in(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: argument 0 of a type input function is a NUL-terminated C string.
    let text = unsafe { std::ffi::CStr::from_ptr(pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<std::ffi::c_char>()) };
    let Ok(text) = text.to_str() else {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            "pseudonym input is not valid UTF-8",
            "pg_privacy needs a UTF8 database.",
        )
    };
    match or_raise(parse_input(text)) {
        Input::Token(digest) => digest_datum(&digest),
        Input::Plaintext(plain) => {
            refuse_masked_role();
            digest_datum(&pseudonymize_plaintext(plain.as_bytes()))
        }
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_out(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: STRICT output function of privacy.pseudonym.
    let token = encode(unsafe { digest_arg(fcinfo, 0) });
    let c = std::ffi::CString::new(token).unwrap_or_default();
    // SAFETY: pstrdup copies the NUL-terminated token into the current context.
    pg_sys::Datum::from(unsafe { pg_sys::pstrdup(c.as_ptr()) })
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_recv(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: argument 0 of a receive function is the message StringInfo; pq_getmsgbytes checks
    // bounds and raises on a short message.
    unsafe {
        let buf = pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
        let remaining = (*buf).len - (*buf).cursor;
        if remaining != DIGEST_LEN as i32 {
            raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
                format!("a binary pseudonym is {DIGEST_LEN} bytes, got {remaining}"),
                "Send the value privacy.pseudonym's send function produced.",
            );
        }
        let bytes = pg_sys::pq_getmsgbytes(buf, DIGEST_LEN as i32) as *const [u8; DIGEST_LEN];
        digest_datum(&*bytes)
    }
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_send(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: StringInfo built by PostgreSQL's pq_* helpers around the 32 stored bytes.
    unsafe {
        let digest = digest_arg(fcinfo, 0);
        let mut buf: pg_sys::StringInfoData = std::mem::zeroed();
        pg_sys::pq_begintypsend(&mut buf);
        pg_sys::pq_sendbytes(&mut buf, digest.as_ptr().cast(), DIGEST_LEN as i32);
        pg_sys::Datum::from(pg_sys::pq_endtypsend(&mut buf))
    }
}

/// Bytewise comparison of the two pseudonym arguments.
unsafe fn compare(fcinfo: pg_sys::FunctionCallInfo) -> std::cmp::Ordering {
    // SAFETY: both arguments are pseudonyms (STRICT binary functions).
    unsafe { digest_arg(fcinfo, 0).cmp(digest_arg(fcinfo, 1)) }
}

macro_rules! comparison {
    ($name:ident, $test:expr) => {
        #[no_mangle]
        #[pg_guard]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            // SAFETY: see `compare`.
            let ordering = unsafe { compare(fcinfo) };
            let test: fn(std::cmp::Ordering) -> bool = $test;
            pg_sys::Datum::from(test(ordering))
        }
    };
}

comparison!(pseudonym_eq, |o| o.is_eq());
comparison!(pseudonym_ne, |o| o.is_ne());
comparison!(pseudonym_lt, |o| o.is_lt());
comparison!(pseudonym_le, |o| o.is_le());
comparison!(pseudonym_gt, |o| o.is_gt());
comparison!(pseudonym_ge, |o| o.is_ge());

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_cmp(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: see `compare`.
    let ordering = unsafe { compare(fcinfo) };
    pg_sys::Datum::from(ordering as i32)
}

#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_hash(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // The digest is already uniformly distributed: its first four bytes are a good hash.
    // SAFETY: STRICT, one pseudonym argument.
    let d = unsafe { digest_arg(fcinfo, 0) };
    pg_sys::Datum::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))
}

/// The bytes of text argument `n`, detoasted.
unsafe fn text_bytes<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [u8] {
    // SAFETY: the caller's function is STRICT and takes text at position n.
    unsafe {
        let text = pg_sys::pg_detoast_datum_packed(pgrx::pg_getarg_datum_raw(fcinfo, n).cast_mut_ptr());
        let len = pgrx::varsize_any_exhdr(text);
        std::slice::from_raw_parts(pgrx::vardata_any(text) as *const u8, len)
    }
}

/// A `psn_` token stands for itself (so a token cast to text and back is unchanged).
fn token_of(data: &[u8]) -> Option<[u8; DIGEST_LEN]> {
    // Only text starting with psn_ can be a token; everything else skips UTF-8 checks.
    if data.starts_with(privacy_core::pseudonym::PREFIX.as_bytes()) {
        if let Input::Token(digest) = or_raise(parse_input(&String::from_utf8_lossy(data))) {
            return Some(digest);
        }
    }
    None
}

/// `privacy.pseudonymize(text)`: the pseudonym of a plaintext (also the text → pseudonym cast).
/// It follows the type's input rules: a `psn_` token stands for itself; any other text is
/// pseudonymized, which a session governed by a masked role may not do (a dictionary oracle).
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_from_text(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: STRICT, argument 0 is text.
    let data = unsafe { text_bytes(fcinfo, 0) };
    if let Some(digest) = token_of(data) {
        return digest_datum(&digest);
    }
    // SAFETY: flinfo is valid for the duration of the call.
    let funcid = unsafe { if (*fcinfo).flinfo.is_null() { pg_sys::InvalidOid } else { (*(*fcinfo).flinfo).fn_oid } };
    crate::masking::side_channels::refuse_keyed_oracle(funcid);
    digest_datum(&pseudonymize_plaintext(data))
}

/// `privacy.pseudonymize(privacy.rule_call, text)`: the rule variant (see `crate::functions::keyed`).
#[no_mangle]
#[pg_guard]
pub unsafe extern "C-unwind" fn pseudonym_from_text_rule(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: STRICT, argument 1 is text.
    let data = unsafe { text_bytes(fcinfo, 1) };
    if let Some(digest) = token_of(data) {
        return digest_datum(&digest);
    }
    digest_datum(&pseudonymize_plaintext(data))
}

extension_sql!(
    r#"
CREATE TYPE privacy.pseudonym;
CREATE FUNCTION privacy.pseudonym_in(cstring) RETURNS privacy.pseudonym
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_in';
CREATE FUNCTION privacy.pseudonym_out(privacy.pseudonym) RETURNS cstring
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_out';
CREATE FUNCTION privacy.pseudonym_recv(internal) RETURNS privacy.pseudonym
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_recv';
CREATE FUNCTION privacy.pseudonym_send(privacy.pseudonym) RETURNS bytea
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_send';
CREATE TYPE privacy.pseudonym (
    INPUT = privacy.pseudonym_in, OUTPUT = privacy.pseudonym_out,
    RECEIVE = privacy.pseudonym_recv, SEND = privacy.pseudonym_send,
    INTERNALLENGTH = 32, ALIGNMENT = char, STORAGE = plain
);
COMMENT ON TYPE privacy.pseudonym IS
  'Keyed HMAC-SHA256 pseudonym of an identifier (32 bytes); text form psn_<base32>. Plaintext input is pseudonymized.';

CREATE FUNCTION privacy.pseudonym_eq(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_eq';
CREATE FUNCTION privacy.pseudonym_ne(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_ne';
CREATE FUNCTION privacy.pseudonym_lt(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_lt';
CREATE FUNCTION privacy.pseudonym_le(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_le';
CREATE FUNCTION privacy.pseudonym_gt(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_gt';
CREATE FUNCTION privacy.pseudonym_ge(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_ge';
CREATE FUNCTION privacy.pseudonym_cmp(privacy.pseudonym, privacy.pseudonym) RETURNS integer
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_cmp';
CREATE FUNCTION privacy.pseudonym_hash(privacy.pseudonym) RETURNS integer
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_hash';
CREATE FUNCTION privacy.pseudonymize(text) RETURNS privacy.pseudonym
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_from_text';
COMMENT ON FUNCTION privacy.pseudonymize(text) IS
  'The pseudonym of a plaintext identifier: the value a privacy.pseudonym column stores for it.';

-- Operators live in pg_catalog, which every search_path includes: `customer = 'alice@...'`
-- then works in any application unchanged. They apply only to privacy.pseudonym operands.
CREATE OPERATOR pg_catalog.= (LEFTARG = privacy.pseudonym, RIGHTARG = privacy.pseudonym,
    FUNCTION = privacy.pseudonym_eq, COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
    RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR pg_catalog.<> (LEFTARG = privacy.pseudonym, RIGHTARG = privacy.pseudonym,
    FUNCTION = privacy.pseudonym_ne, COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
    RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR pg_catalog.< (LEFTARG = privacy.pseudonym, RIGHTARG = privacy.pseudonym,
    FUNCTION = privacy.pseudonym_lt, COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
    RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR pg_catalog.<= (LEFTARG = privacy.pseudonym, RIGHTARG = privacy.pseudonym,
    FUNCTION = privacy.pseudonym_le, COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
    RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR pg_catalog.> (LEFTARG = privacy.pseudonym, RIGHTARG = privacy.pseudonym,
    FUNCTION = privacy.pseudonym_gt, COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
    RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR pg_catalog.>= (LEFTARG = privacy.pseudonym, RIGHTARG = privacy.pseudonym,
    FUNCTION = privacy.pseudonym_ge, COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
    RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS privacy.pseudonym_ops DEFAULT FOR TYPE privacy.pseudonym USING btree AS
    OPERATOR 1 pg_catalog.<, OPERATOR 2 pg_catalog.<=, OPERATOR 3 pg_catalog.=,
    OPERATOR 4 pg_catalog.>=, OPERATOR 5 pg_catalog.>,
    FUNCTION 1 privacy.pseudonym_cmp(privacy.pseudonym, privacy.pseudonym);
CREATE OPERATOR CLASS privacy.pseudonym_hash_ops DEFAULT FOR TYPE privacy.pseudonym USING hash AS
    OPERATOR 1 pg_catalog.=,
    FUNCTION 1 privacy.pseudonym_hash(privacy.pseudonym);

CREATE CAST (text AS privacy.pseudonym) WITH FUNCTION privacy.pseudonymize(text) AS ASSIGNMENT;
-- The 32 stored bytes (the binary send form): how the consent registry keys a pseudonym subject.
CREATE FUNCTION privacy.pseudonym_key(privacy.pseudonym) RETURNS bytea
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_send';
CREATE CAST (privacy.pseudonym AS bytea) WITH FUNCTION privacy.pseudonym_key(privacy.pseudonym);
CREATE FUNCTION privacy.pseudonymize(privacy.rule_call, text) RETURNS privacy.pseudonym
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_from_text_rule';
"#,
    name = "pseudonym_type",
    requires = ["key_table", "rule_call_type"]
);
