//! Differences between the PostgreSQL versions pg_privacy builds for, in one place.
//!
//! Every `cfg(feature = "pgNN")` of the crate is here; the rest of the code calls these.

use pgrx::pg_sys;

// SAFETY (for the block): PostgreSQL's own exported function, with the signature of the
// version being built for.
#[cfg(feature = "pg15")]
unsafe extern "C-unwind" {
    pub fn standard_ExecutorRun(
        query_desc: *mut pg_sys::QueryDesc,
        direction: pg_sys::ScanDirection::Type,
        count: u64,
        execute_once: bool,
    );
}

/// The `ExecutorRun_hook` signature of this version.
#[cfg(feature = "pg15")]
pub type ExecutorRunHook = unsafe extern "C-unwind" fn(*mut pg_sys::QueryDesc, pg_sys::ScanDirection::Type, u64, bool);

/// The role whose privileges a range-table entry is read with (a view's or rule's owner), or
/// InvalidOid for the current user.
///
/// # Safety
/// `rte` must be a valid entry of `query`'s range table.
#[cfg(feature = "pg15")]
pub unsafe fn check_as_user(_query: *mut pg_sys::Query, rte: *mut pg_sys::RangeTblEntry) -> pg_sys::Oid {
    // SAFETY: caller's promise.
    unsafe { (*rte).checkAsUser }
}

/// Like [`check_as_user`], for a plan's range table.
///
/// # Safety
/// `rte` must be a valid entry of `stmt`'s range table.
#[cfg(feature = "pg15")]
pub unsafe fn plan_check_as_user(_stmt: *mut pg_sys::PlannedStmt, rte: *mut pg_sys::RangeTblEntry) -> pg_sys::Oid {
    // SAFETY: caller's promise.
    unsafe { (*rte).checkAsUser }
}

/// Clears the permission check of a range-table entry pg_privacy adds itself (the consent
/// registry read by a filter condition: the reader learns only which rows it may see).
///
/// # Safety
/// `rte` must be a valid RangeTblEntry.
#[cfg(feature = "pg15")]
pub unsafe fn skip_permission_check(rte: *mut pg_sys::RangeTblEntry) {
    // SAFETY: caller's promise.
    unsafe { (*rte).requiredPerms = 0 };
}

/// The integer syntax the server's `int8in` accepts.
#[cfg(feature = "pg15")]
pub const INTEGER_SYNTAX: privacy_core::subject::IntegerSyntax = privacy_core::subject::IntegerSyntax::Decimal;

/// Whether reading a range-table entry checks SELECT privilege against the current user (a read
/// the statement's author wrote, not one through a view or one pg_privacy added).
///
/// # Safety
/// `rte` must be a valid entry of `query`'s range table.
#[cfg(feature = "pg15")]
pub unsafe fn read_checked_as_current_user(_query: *mut pg_sys::Query, rte: *mut pg_sys::RangeTblEntry) -> bool {
    // SAFETY: caller's promise.
    unsafe { (*rte).requiredPerms & pg_sys::ACL_SELECT as pg_sys::AclMode != 0 && (*rte).checkAsUser == pg_sys::InvalidOid }
}
