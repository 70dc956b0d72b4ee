//! What a masked statement must not learn besides the values it reads: error details that quote
//! raw rows, error messages that quote a raw value a rule could not compute with, and keyed values
//! of input of its choice.
//!
//! - **Error DETAILs by class.** Constraint and check-option violations (SQLSTATE classes 23 and
//!   44) quote the row or key in their DETAIL. PostgreSQL hides those itself when row security is
//!   active for the table, which pg_privacy's guards make the case for every reader but the owner
//!   (and code running as the owner: a DBA's SECURITY DEFINER function). Whatever the language of
//!   the server's messages, an error of those classes raised while a masked statement runs has its
//!   DETAIL replaced at raise time ([`masked_error_context`]), so an exception handler cannot read
//!   it either; the original goes to the server log (`detail_log`). The emit_log hook does the
//!   same for such errors raised elsewhere in a masked session; it cannot read catalogs, so the
//!   decision is made at statement start ([`set_statement_masked`]).
//! - **Errors inside a rule.** A rule that calls a function which may quote its input in an error
//!   (a cast, an input function) is compiled as `rule_value(rule_begin('t.c', col), expr)`:
//!   `rule_begin` notes which rule is being computed, `rule_value` clears it. An error context
//!   callback, pushed while a masked statement runs, replaces the message of an error raised
//!   in between by one naming the rule, and keeps the original for the server log. It works in
//!   errfinish, before the error leaves, so an exception handler in the same session sees the
//!   replaced text too.
//! - **Keyed oracles.** [`refuse_keyed_oracle`] is called by every keyed function for every call,
//!   in the leader and in parallel workers, with or without rules in the database.

use std::cell::{Cell, RefCell};
use std::ffi::CString;

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::pg::errors::refuse;
use crate::pg::ffi;

backend_local! {
    static STATEMENT_MASKED: Cell<bool> = const { Cell::new(false) };
    /// The rule being computed, set by rule_begin and cleared by rule_value or by an error.
    static RULE_IN_PROGRESS: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records whether the statement starting now is masked (for the emit_log hook).
pub fn set_statement_masked(masked: bool) {
    STATEMENT_MASKED.with(|s| s.set(masked));
}

pub fn statement_masked() -> bool {
    STATEMENT_MASKED.with(|s| s.get())
}

/// emit_log_hook part: keeps constraint-violation details out of masked sessions' messages.
///
/// # Safety
/// `edata` must be the error being reported.
pub unsafe fn hide_row_details(edata: *mut pg_sys::ErrorData) {
    // SAFETY: edata is the error being reported; only its string fields are read and moved.
    unsafe {
        if edata.is_null() || !statement_masked() || (*edata).elevel < pgrx::PgLogLevel::ERROR as i32 || (*edata).detail.is_null() {
            return;
        }
        // Classes 23 (integrity constraint violation) and 44 (WITH CHECK OPTION violation): their
        // DETAILs quote the row or key. The class is the first two characters of the SQLSTATE,
        // the low 12 bits of its encoding.
        if !quotes_rows((*edata).sqlerrcode) {
            return;
        }
        // The server log keeps it for the DBA; the masked client does not see it.
        if (*edata).detail_log.is_null() {
            (*edata).detail_log = (*edata).detail;
        }
        (*edata).detail = std::ptr::null_mut();
    }
}

/// Refuses a keyed function's call on input of the caller's choice (a dictionary oracle against
/// masked values) when any role governing what runs now is masked. Calls placed by masking rules
/// go to the rule variants, which do not call this.
pub fn refuse_keyed_oracle(funcid: pg_sys::Oid) {
    if super::masked_now() {
        let name = if funcid == pg_sys::InvalidOid { "keyed functions".to_owned() } else { crate::pg::catalog::function_name(funcid) };
        refuse(
            format!("masked roles cannot call {name} directly"),
            "Keyed functions on input of your choice would reveal masked values by comparison. \
             Masking rules that use them still apply to the columns you read.",
        );
    }
}

/// Whether an SQLSTATE is of a class whose DETAIL quotes rows or keys (23, 44).
fn quotes_rows(sqlerrcode: i32) -> bool {
    let class = sqlerrcode & 0xFFF;
    [
        pgrx::PgSqlErrorCode::ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION as i32,
        pgrx::PgSqlErrorCode::ERRCODE_WITH_CHECK_OPTION_VIOLATION as i32,
    ]
    .iter()
    .any(|c| c & 0xFFF == class)
}

/// The error context callback of masked statements, pushed by the executor and utility hooks
/// while a masked statement runs. It runs in errfinish, before the error leaves, so what it
/// changes is what an exception handler in the session sees too (the emit_log hook only sees
/// errors that reach the client):
/// - an error raised while a rule is computed names the rule instead of the value;
/// - an error of class 23 or 44 loses its DETAIL (the row or key), which goes to the server log.
///
/// # Safety
/// Called by PostgreSQL's errfinish while an error is being raised.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn masked_error_context(_arg: *mut std::ffi::c_void) {
    let Some(rule) = RULE_IN_PROGRESS.with(|r| r.borrow_mut().take()) else {
        // SAFETY: called inside errfinish (see rule_error).
        unsafe { hide_row_detail_at_raise() };
        return;
    };
    // SAFETY: as above.
    unsafe { rule_error(rule) }
}

/// Replaces the DETAIL of a class 23/44 error being raised (see masked_error_context).
unsafe fn hide_row_detail_at_raise() {
    // SAFETY: inside errfinish the error being raised is on top of the error stack: geterrcode
    // reads it, CopyErrorData (outside ErrorContext) copies it, errdetail/errdetail_log replace
    // its fields.
    unsafe {
        if !quotes_rows(pg_sys::geterrcode()) {
            return;
        }
        let old = pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
        let original = pg_sys::CopyErrorData();
        pg_sys::MemoryContextSwitchTo(old);
        let detail = crate::pg::nodes::cstr((*original).detail);
        pg_sys::FreeErrorData(original);
        if detail.is_empty() {
            return;
        }
        let log_detail = CString::new(detail).unwrap_or_default();
        ffi::errdetail(c"%s".as_ptr(), c"Row and key values are not shown to masked sessions.".as_ptr());
        pg_sys::errdetail_log(c"%s".as_ptr(), log_detail.as_ptr());
    }
}

/// Replaces the message of an error raised while `rule` was being computed.
unsafe fn rule_error(rule: String) {
    // SAFETY: called inside errfinish: the error being raised is on top of the error stack, so
    // CopyErrorData (outside ErrorContext) reads it and errmsg/errdetail/errhint replace its
    // fields, as they do while an ereport is being built.
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo(pg_sys::TopMemoryContext);
        let original = pg_sys::CopyErrorData();
        pg_sys::MemoryContextSwitchTo(old);
        let message = crate::pg::nodes::cstr((*original).message);
        let detail = crate::pg::nodes::cstr((*original).detail);
        pg_sys::FreeErrorData(original);
        let new_message = CString::new(format!("the masking rule of column {rule} could not be computed for a stored value"))
            .unwrap_or_default();
        let public_detail = c"The value is not shown to masked roles; the server log has the original error.";
        let log_detail = CString::new(format!("original error: {message}{}{}", if detail.is_empty() { "" } else { "; " }, detail))
            .unwrap_or_default();
        let hint = c"A privacy admin should fix the rule or the stored value.";
        ffi::errmsg(c"%s".as_ptr(), new_message.as_ptr());
        ffi::errdetail(c"%s".as_ptr(), public_detail.as_ptr());
        pg_sys::errdetail_log(c"%s".as_ptr(), log_detail.as_ptr());
        ffi::errhint(c"%s".as_ptr(), hint.as_ptr());
    }
}

/// Forgets a rule left marked by an error raised outside a masked statement's context callback.
/// Cannot raise or panic (the hooks call it from unguarded code): a borrow held elsewhere, which
/// nothing does at a statement's start, leaves the mark for the next statement.
pub fn clear_rule_in_progress() {
    RULE_IN_PROGRESS.with(|r| {
        if let Ok(mut rule) = r.try_borrow_mut() {
            if rule.is_some() {
                rule.take();
            }
        }
    });
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

fmgr_v1!(pg_finfo_privacy_rule_begin, pg_finfo_privacy_rule_value);

/// `privacy.rule_begin(rule text, anchor "any") RETURNS boolean`: notes that the rule is being
/// computed. The anchor (a column of the row) keeps the planner from computing it once for all
/// rows.
#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_rule_begin(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: argument 0 is text (possibly NULL); detoasted before reading.
    let rule = unsafe {
        let args = (*fcinfo).args.as_slice(2);
        if args[0].isnull {
            String::new()
        } else {
            let t = pg_sys::pg_detoast_datum_packed(args[0].value.cast_mut_ptr());
            let len = pgrx::varsize_any_exhdr(t);
            String::from_utf8_lossy(std::slice::from_raw_parts(pgrx::vardata_any(t) as *const u8, len)).into_owned()
        }
    };
    RULE_IN_PROGRESS.with(|r| *r.borrow_mut() = Some(rule));
    pg_sys::Datum::from(true)
}

/// `privacy.rule_value(started boolean, value anyelement) RETURNS anyelement`: the rule's value;
/// the rule is done.
#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_rule_value(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    RULE_IN_PROGRESS.with(|r| r.borrow_mut().take());
    // SAFETY: argument 1 is the rule's value; NULL is passed on as NULL (the function is not
    // STRICT, so that it always runs and clears the marker).
    unsafe {
        let args = (*fcinfo).args.as_slice(2);
        if args[1].isnull {
            (*fcinfo).isnull = true;
            return pg_sys::Datum::from(0);
        }
        args[1].value
    }
}

extension_sql!(
    r#"
CREATE FUNCTION privacy.rule_begin(rule text, anchor "any") RETURNS boolean
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_begin';
CREATE FUNCTION privacy.rule_value(started boolean, value anyelement) RETURNS anyelement
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_value';
COMMENT ON FUNCTION privacy.rule_begin(text, "any") IS
  'Internal: placed by masking rules that may raise errors quoting their input (see docs/masking.md).';
COMMENT ON FUNCTION privacy.rule_value(boolean, anyelement) IS
  'Internal: placed by masking rules that may raise errors quoting their input (see docs/masking.md).';
"#,
    name = "rule_error_functions"
);

/// Whether a plan was made for a masked statement (`crate::distributed::mark_masked_plan`).
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
unsafe fn made_masked(stmt: *mut pg_sys::PlannedStmt) -> bool {
    let marker = crate::pg::marker::type_oid();
    // SAFETY: reading a valid plan's dependency list.
    marker != pg_sys::InvalidOid && unsafe { pgrx::PgList::<std::ffi::c_void>::from_pg((*stmt).relationOids).iter_oid().any(|o| o == marker) }
}

fn refuse_unmasked_plan() -> ! {
    refuse(
        "a plan made without masking would run for code of a masked role".to_owned(),
        "An unmasked statement's open cursor cannot be read by a masked role's trigger, view or function. Close the cursor first, or ask an unmasked role.",
    )
}

/// Refuses to run, in a masked context, a plan that was not made masked (it lacks the mark
/// `crate::distributed::mark_masked_plan` puts on masked plans). Code of a masked role that the
/// session sets off (a trigger, a view's function) plans its own statements masked, and a change
/// of scope drops cached plans, so such a plan is one the session made unmasked: an open cursor,
/// whose name is in `pg_cursors` (found by attack passes: the cursor's rows, or those a function
/// it calls returns, came back raw). PostgreSQL's own foreign-key statements are planned unmasked
/// on purpose (`crate::context::foreign_key_statement`) and pass; so do parallel workers (their
/// leader checked the plan, and their copy lacks the dependency list).
///
/// # Safety
/// `stmt` must be the valid PlannedStmt about to run.
pub unsafe fn check_plan_was_masked(stmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: reads a backend global; the plan is valid (caller's promise).
    unsafe {
        if pg_sys::ParallelWorkerNumber >= 0 || made_masked(stmt) || crate::context::foreign_key_statement_starting() {
            return;
        }
        if (*stmt).commandType == pg_sys::CmdType::CMD_UTILITY || crate::pg::marker::type_oid() == pg_sys::InvalidOid {
            return;
        }
    }
    refuse_unmasked_plan();
}

/// `FETCH` in a masked context from a cursor the session opened unmasked: refused like running
/// its plan ([`check_plan_was_masked`]). Checked here too because PostgreSQL reads some cursors'
/// rows from a store filled when they were first read, without running the plan again (the
/// executor hook never sees them): a `WITH HOLD` cursor after its transaction committed, a cursor
/// over `UPDATE ... RETURNING` or a data-modifying `WITH`, a cursor over `EXECUTE` of a prepared
/// statement.
///
/// # Safety
/// `stmt` must be a valid FetchStmt.
pub unsafe fn check_fetch(stmt: *mut pg_sys::FetchStmt) {
    // SAFETY: fields of a valid FetchStmt; the portal and its statement list (in the portal's own
    // memory context, kept for held portals) are read while the portal exists.
    unsafe {
        if (*stmt).ismove || (*stmt).portalname.is_null() {
            return;
        }
        let portal = pg_sys::GetPortalByName((*stmt).portalname);
        if portal.is_null() {
            return;
        }
        let all_masked = pgrx::PgList::<pg_sys::Node>::from_pg((*portal).stmts)
            .iter_ptr()
            .all(|planned| pgrx::is_a(planned, pg_sys::NodeTag::T_PlannedStmt) && made_masked(planned.cast()));
        if !all_masked {
            refuse_unmasked_plan();
        }
    }
}

/// `cursor_to_xml` / `cursor_to_xmlschema` in a masked statement: they read a cursor by name, from
/// its stored rows where it has them, without the executor; refused to masked statements (a
/// masked role's own cursors are read with FETCH).
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn refuse_cursor_readers(query: *mut pg_sys::Query) {
    // SAFETY: walking a valid tree; get_func_name returns a palloc'd name or NULL.
    unsafe {
        for f in crate::pg::nodes::functions_called(query.cast()) {
            let name = pg_sys::get_func_name(f);
            if !name.is_null() && std::ffi::CStr::from_ptr(name).to_bytes().starts_with(b"cursor_to_xml") {
                refuse(
                    format!("masked roles cannot call {}", crate::pg::catalog::function_name(f)),
                    "It reads a cursor by name, which could be one a session opened unmasked. Read your own cursors with FETCH.",
                );
            }
        }
    }
}
