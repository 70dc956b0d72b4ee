//! pg_privacy's settings. Every `privacy.*` name is reserved, so a misspelt or invented setting is
//! an error instead of a silently accepted placeholder.
//!
//! - `privacy.masked_by_default` (superuser): every unlabelled non-superuser role is masked.
//! - `privacy.break_glass_max_duration` (superuser): the longest break-glass window.
//! - `privacy.purpose` (any role): the purpose the session acts for. Which purposes a role may
//!   act for is consent's business; its check is installed by `consent::init` so that this module
//!   does not depend on consent.

use std::cell::Cell;
use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

/// `privacy.masked_by_default`. Superuser-only (PGC_SUSET): no masked role can switch it off.
pub static MASKED_BY_DEFAULT: GucSetting<bool> = GucSetting::<bool>::new(false);

/// `privacy.masked_by_default` without pgrx's thread check (`GucSetting::get` makes one, a call
/// through thread-local storage): the hooks read it on every statement, from unguarded code.
#[inline]
pub fn masked_by_default() -> bool {
    // SAFETY: the variable lives as long as the library; PostgreSQL writes it only on this
    // backend's one thread (GUC assignment), which is the thread reading it.
    unsafe { *MASKED_BY_DEFAULT.as_ptr() }
}

/// `privacy.break_glass_max_duration`: the longest break-glass window, in seconds. Superuser-only,
/// so the people allowed to break the glass cannot lengthen their own windows.
pub static BREAK_GLASS_MAX_DURATION: GucSetting<i32> = GucSetting::<i32>::new(3600);

/// Storage of `privacy.purpose` (owned by PostgreSQL's GUC machinery).
static mut PURPOSE: *mut std::ffi::c_char = std::ptr::null_mut();

/// Decides whether the session may set `privacy.purpose` to a value: Ok, or Err((message, hint)).
pub type PurposeCheck = fn(&str) -> Result<(), (String, String)>;

backend_local! {
    static PURPOSE_CHECK: Cell<Option<PurposeCheck>> = const { Cell::new(None) };
    static PURPOSE_ASSIGNED: Cell<Option<fn()>> = const { Cell::new(None) };
}

/// Installs the check of `privacy.purpose` values and what to do after one is assigned.
pub fn set_purpose_hooks(check: PurposeCheck, assigned: fn()) {
    PURPOSE_CHECK.with(|c| c.set(Some(check)));
    PURPOSE_ASSIGNED.with(|c| c.set(Some(assigned)));
}

/// The purpose the session asked for ("" = none).
pub fn purpose() -> String {
    // SAFETY: the GUC storage is NULL or a NUL-terminated string owned by the GUC machinery.
    unsafe {
        let p = PURPOSE;
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().trim().to_owned()
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_purpose(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: newval points at the proposed value. Catalogs are only read inside a transaction;
    // outside one (connection start, PGOPTIONS) the value is checked where it is used instead.
    unsafe {
        if newval.is_null() || (*newval).is_null() || !pg_sys::IsTransactionState() {
            return true;
        }
        let wanted = CStr::from_ptr(*newval).to_string_lossy().trim().to_owned();
        let Some(check) = PURPOSE_CHECK.with(|c| c.get()) else { return true };
        match check(&wanted) {
            Ok(()) => true,
            Err((message, hint)) => {
                pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32);
                pg_sys::GUC_check_errmsg_string = crate::pg::nodes::pstrdup(&message);
                pg_sys::GUC_check_errhint_string = crate::pg::nodes::pstrdup(&hint);
                false
            }
        }
    }
}

/// A change of `privacy.masked_by_default` (SET by a superuser, or a reload) changes who is masked
/// without any catalog change: plans cached for the old answer must not be reused.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn assign_masked_by_default(_newval: bool, _extra: *mut std::ffi::c_void) {
    // SAFETY: ResetPlanCache only marks cached plans invalid; safe in an assign hook.
    unsafe { pg_sys::ResetPlanCache() };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn assign_purpose(_newval: *const std::ffi::c_char, _extra: *mut std::ffi::c_void) {
    if let Some(assigned) = PURPOSE_ASSIGNED.with(|c| c.get()) {
        assigned();
    }
}

pub fn init() {
    // SAFETY: defining a bool GUC during library load over pgrx's storage for it; the assign hook
    // lives as long as the library.
    unsafe {
        pg_sys::DefineCustomBoolVariable(
            c"privacy.masked_by_default".as_ptr(),
            c"Masks every role that has no privacy label (superusers excepted).".as_ptr(),
            c"When on, roles without a MASKED or UNMASKED label are masked. Only superusers can change it.".as_ptr(),
            MASKED_BY_DEFAULT.as_ptr(),
            false,
            pg_sys::GucContext::PGC_SUSET,
            0,
            None,
            Some(assign_masked_by_default),
            None,
        );
    }
    GucRegistry::define_int_guc(
        c"privacy.break_glass_max_duration",
        c"Longest break-glass window privacy.break_glass() may open.",
        c"Only superusers can change it.",
        &BREAK_GLASS_MAX_DURATION,
        1,
        7 * 24 * 3600,
        GucContext::Suset,
        GucFlags::UNIT_S,
    );
    // SAFETY: defining a string GUC during library load; the storage and callbacks live as long
    // as the library. Then the prefix is reserved, after every privacy.* GUC is defined.
    unsafe {
        pg_sys::DefineCustomStringVariable(
            c"privacy.purpose".as_ptr(),
            c"The purpose this session acts for (consent-aware row filters).".as_ptr(),
            c"Only purposes allowed to the session's roles with privacy.allow_purpose() take effect.".as_ptr(),
            &raw mut PURPOSE,
            c"".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            0,
            Some(check_purpose),
            Some(assign_purpose),
            None,
        );
        pg_sys::MarkGUCPrefixReserved(c"privacy".as_ptr());
    }
}
