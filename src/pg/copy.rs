//! `COPY table FROM STDIN` run by pg_privacy itself, for the one case PostgreSQL refuses only
//! because of pg_privacy's guards.
//!
//! PostgreSQL refuses `COPY ... FROM` into a table with row security on for every role that is
//! not the table's owner and has no BYPASSRLS ("COPY FROM not supported with row-level
//! security"), whatever the policies say. The guards (`crate::guards`) turn row security on for
//! every protected table and subject table; with the library preloaded they let every row
//! through (`privacy_all_rows` is `true`, `privacy_preloaded` is `privacy.enforcement_active()`,
//! neither has a WITH CHECK), so an `INSERT` of the same rows passes them. Without this, every
//! bulk load by a role other than the owner failed once a table had a rule, roles pg_privacy does
//! not govern included (found by an attack pass on the Citus cluster, where `INSERT ... SELECT`
//! goes through COPY too).
//!
//! [`copy_from`] takes PostgreSQL's own steps for `COPY table [(columns)] FROM STDIN [WITH ...]`
//! (commands/copy.c, DoCopy): open and lock the table, check INSERT on the listed columns as the
//! current user, refuse in a read-only transaction, then `BeginCopyFrom` / `CopyFrom` /
//! `EndCopyFrom`, which apply the options, defaults, constraints, triggers and partition routing
//! as always. Only the row-security refusal is left out. It runs only where
//! `crate::guards::only_guards_refuse_copy_from` says so; a file, a program or a `WHERE` clause
//! keeps PostgreSQL's path (and its refusal).

use pgrx::pg_sys;

use super::ffi;

/// Runs `COPY relid FROM STDIN` for `pstmt` (a CopyStmt with a relation, no file, no WHERE; `relid`
/// the table the checks were made on, opened by OID so that no other table of the same name can
/// take its place) and fills `qc` as PostgreSQL's utility processing does.
///
/// Unguarded, like the hooks' calls in `crate::pg::ffi`: an ERROR (a bad row, a constraint, a
/// privilege) longjmps through this frame to PostgreSQL's handler with COPY's own context (the
/// line and column of the row), as without pg_privacy. The frame holds only raw pointers and
/// integers.
///
/// # Safety
/// `pstmt` must be the valid utility statement handed to the ProcessUtility hook, `query_string`
/// its text, `query_env` and `qc` as PostgreSQL passed them (qc may be null).
pub unsafe fn copy_from(
    pstmt: *mut pg_sys::PlannedStmt,
    relid: pg_sys::Oid,
    query_string: *const std::ffi::c_char,
    query_env: *mut pg_sys::QueryEnvironment,
    qc: *mut pg_sys::QueryCompletion,
) {
    // SAFETY: the statement is a CopyStmt (checked by the caller); each call below is the one
    // DoCopy makes at the same point, with the same arguments; the relation stays locked until the
    // transaction ends (closed with NoLock, as DoCopy does).
    unsafe {
        let copy = (*pstmt).utilityStmt as *mut pg_sys::CopyStmt;
        let pstate = ffi::make_parsestate(std::ptr::null_mut());
        (*pstate).p_sourcetext = query_string;
        (*pstate).p_queryEnv = query_env;
        let lockmode = pg_sys::RowExclusiveLock as pg_sys::LOCKMODE;
        let rel = ffi::table_open(relid, lockmode);
        let nsitem = ffi::addRangeTableEntryForRelation(pstate, rel, lockmode, std::ptr::null_mut(), false, false);
        let attnums = ffi::CopyGetAttnums((*rel).rd_att, rel, (*copy).attlist);
        crate::pg::version::check_insert_privileges(pstate, nsitem, attnums);
        if pg_sys::XactReadOnly && !(*rel).rd_islocaltemp {
            ffi::PreventCommandIfReadOnly(c"COPY FROM".as_ptr());
        }
        let cstate = ffi::BeginCopyFrom(pstate, rel, std::ptr::null_mut(), std::ptr::null(), false, None, (*copy).attlist, (*copy).options);
        let processed = ffi::CopyFrom(cstate);
        ffi::EndCopyFrom(cstate);
        ffi::table_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        if !qc.is_null() {
            (*qc).commandTag = pg_sys::CommandTag::CMDTAG_COPY;
            (*qc).nprocessed = processed;
        }
        ffi::free_parsestate(pstate);
    }
}
