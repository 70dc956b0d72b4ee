//! Break-glass access: a member of `privacy_break_glass` sees unmasked values in its own session
//! for a bounded, logged time.
//!
//! `privacy.break_glass(reason, duration)` (SQL, SECURITY DEFINER) validates the request here
//! ([`break_glass_open`]), writes the `begin` row of `privacy.access_log` and sends a NOTIFY, all
//! in one transaction; the window opens only when that transaction commits (a transaction
//! callback), so no raw value can be read without a committed log row, and a rolled-back request
//! opens nothing. It must run as a statement of its own, like VACUUM, so that the window's start
//! is the commit the caller sees.
//!
//! While the window is open the session only reads ([`check_statement`], [`check_utility`]): a
//! write anywhere, a temporary table, `CREATE TABLE AS`, a cursor `WITH HOLD` or `COPY` to a file
//! would keep raw values beyond the window.
//!
//! While the window is open the login alone is not masked ([`lifts`]): roles it switches to and
//! owners of code it runs (a masked role's view or function) keep their masking, and its consent
//! filters stay. Ownership and role-switch checks keep using the login's label, so nothing done
//! in the window (handing a function to an unmasked role, `SET ROLE`) outlives it.
//!
//! The window ends by itself: every statement's first hook checks the clock ([`tick`]), and
//! `privacy.end_break_glass()` ends it early. Either way every cached plan is dropped. A plan made
//! in the window carries a mark (the OID of `privacy.access_log`'s row type in its dependency list); a
//! marked plan that reaches the executor after the window ended (a protocol-level Bind reuses a
//! cached plan before any hook of ours runs) is refused, so it never runs unmasked. Queries are
//! planned without parallel workers during the window: workers do not share the leader's
//! session state.

use std::cell::Cell;

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;

use crate::guc::BREAK_GLASS_MAX_DURATION as MAX_DURATION;
use crate::pg::catalog;
use crate::pg::errors::{raise, refuse};

/// The role whose members may break the glass.
const ROLE: &std::ffi::CStr = c"privacy_break_glass";

backend_local! {
    /// End of the open window (TimestampTz), if one is open.
    static OPEN_UNTIL: Cell<Option<pg_sys::TimestampTz>> = const { Cell::new(None) };
    /// Whether this session ever opened a window: plans are per session, so a session that never
    /// did has no marked plan to look for (and looks up no mark).
    static EVER_OPENED: Cell<bool> = const { Cell::new(false) };
    /// A window requested in the current transaction: (end, subtransaction that asked).
    static PENDING: Cell<Option<(pg_sys::TimestampTz, pg_sys::SubTransactionId)>> = const { Cell::new(None) };
}

pub fn init() {
    // SAFETY: registering transaction callbacks at load time; they live as long as the library.
    unsafe {
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
    }
}

fn now() -> pg_sys::TimestampTz {
    // SAFETY: reads the clock; cannot raise.
    unsafe { pg_sys::GetCurrentTimestamp() }
}

/// Whether this session's window is open now.
pub fn active() -> bool {
    OPEN_UNTIL.with(|u| u.get()).is_some_and(|until| now() < until)
}

/// Whether this session has a window recorded, open or expired but not yet closed (cannot raise:
/// the hooks' unguarded check for statements nothing governs).
#[inline]
pub fn window_recorded() -> bool {
    OPEN_UNTIL.with(|u| u.get()).is_some()
}

/// Whether the window lifts `role`'s masking: it is the login and the window is open.
pub fn lifts(role: pg_sys::Oid) -> bool {
    // SAFETY: reads a backend global; cannot raise.
    OPEN_UNTIL.with(|u| u.get()).is_some() && role == unsafe { crate::pg::ffi::GetSessionUserId() } && active()
}

/// Closes a window whose time is up (called at the start of every governed statement).
pub fn tick() {
    if OPEN_UNTIL.with(|u| u.get()).is_some() && !active() {
        close();
    }
}

fn close() {
    OPEN_UNTIL.with(|u| u.set(None));
    // SAFETY: ResetPlanCache only marks cached plans invalid.
    unsafe { pg_sys::ResetPlanCache() };
}

/// The mark of plans made during a window (see the module comment), or InvalidOid: the OID of
/// `privacy.access_log`'s row type. A type OID never appears among a plan's relation OIDs
/// otherwise (the table's own OID would: plans that write the log carry it).
fn plan_mark() -> pg_sys::Oid {
    catalog::extension_type(c"access_log")
}

/// After planning: marks a plan made while the window is open.
///
/// # Safety
/// `stmt` must be the PlannedStmt just made, in the planner's memory context.
pub unsafe fn mark_plan(stmt: *mut pg_sys::PlannedStmt) {
    if !active() {
        return;
    }
    let mark = plan_mark();
    if mark != pg_sys::InvalidOid {
        // SAFETY: appending to the new plan's own dependency list (caller's promise).
        unsafe { (*stmt).relationOids = pg_sys::lappend_oid((*stmt).relationOids, mark) };
    }
}

/// Before a plan runs: refuses a plan made during a window that has ended.
///
/// # Safety
/// `stmt` must be a valid PlannedStmt about to run.
pub unsafe fn check_plan(stmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: reads a backend global.
    if !EVER_OPENED.with(|e| e.get()) || active() || unsafe { pg_sys::ParallelWorkerNumber } >= 0 {
        return;
    }
    let mark = plan_mark();
    // SAFETY: relationOids of a valid plan is an OID list.
    let marked = mark != pg_sys::InvalidOid
        && unsafe { pgrx::PgList::<std::ffi::c_void>::from_pg((*stmt).relationOids).iter_oid().any(|o| o == mark) };
    if marked {
        close();
        refuse(
            "this plan was made during a break-glass window that has ended",
            "Run the statement again: it is planned afresh, with masking.",
        );
    }
}

fn refuse_in_window(what: &str) -> ! {
    refuse(
        format!("{what} is not allowed during a break-glass window"),
        "A break-glass window is for reading: raw values must not be stored, copied or kept beyond it. \
         End it with privacy.end_break_glass() first.",
    )
}

/// While the window is open the session only reads: a statement that writes anywhere (tables,
/// temporary tables, a masked role's table, through a function or a data-modifying WITH) would
/// let raw values outlive the window. Checked for every statement the planner sees, functions'
/// statements included. Writing the window's own log row is the one write allowed.
///
/// # Safety
/// `parse` must be a valid Query.
pub unsafe fn check_statement(parse: *mut pg_sys::Query) {
    if !active() {
        return;
    }
    // SAFETY: fields of a valid Query; the result relation's entry is in its range table.
    unsafe {
        if (*parse).hasModifyingCTE {
            refuse_in_window("a data-modifying WITH");
        }
        if (*parse).commandType == pg_sys::CmdType::CMD_SELECT || (*parse).commandType == pg_sys::CmdType::CMD_UTILITY {
            return;
        }
        let target = if (*parse).resultRelation > 0 {
            pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*parse).rtable)
                .get_ptr((*parse).resultRelation as usize - 1)
                .map_or(pg_sys::InvalidOid, |rte| (*rte).relid)
        } else {
            pg_sys::InvalidOid
        };
        if target != pg_sys::InvalidOid && Some(target) == catalog::extension_table(c"access_log") {
            return;
        }
        refuse_in_window("writing data");
    }
}

/// The utility statements a window allows: transaction control, settings, cursors that end with
/// their transaction, prepared statements (their queries are checked when planned), EXPLAIN,
/// COPY TO the client, CALL and DO (their statements are checked), LISTEN.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn check_utility(stmt: *mut pg_sys::Node) {
    if !active() {
        return;
    }
    use pg_sys::NodeTag::*;
    // SAFETY: the node's tag is read first; casts follow the tag.
    unsafe {
        let allowed = match (*stmt).type_ {
            // EXPLAIN runs its statement; EXPLAIN ANALYZE CREATE TABLE AS would store rows
            T_ExplainStmt => !explains_utility(stmt as *mut pg_sys::ExplainStmt),
            T_TransactionStmt | T_VariableSetStmt | T_VariableShowStmt | T_FetchStmt | T_ClosePortalStmt
            | T_PrepareStmt | T_ExecuteStmt | T_DeallocateStmt | T_CallStmt | T_DoStmt | T_ListenStmt | T_UnlistenStmt => true,
            T_DeclareCursorStmt => (*(stmt as *mut pg_sys::DeclareCursorStmt)).options & pg_sys::CURSOR_OPT_HOLD as i32 == 0,
            T_CopyStmt => {
                let copy = stmt as *mut pg_sys::CopyStmt;
                !(*copy).is_from && (*copy).filename.is_null()
            }
            _ => false,
        };
        if !allowed {
            let what = match (*stmt).type_ {
                T_DeclareCursorStmt => "a cursor WITH HOLD",
                T_CopyStmt => "COPY other than COPY ... TO STDOUT",
                T_CreateTableAsStmt => "CREATE TABLE AS (or SELECT INTO)",
                T_ExplainStmt => "EXPLAIN of CREATE TABLE AS (or SELECT INTO)",
                _ => "this statement",
            };
            refuse_in_window(what);
        }
    }
}

/// Whether an EXPLAIN's statement is itself a utility statement that could store rows
/// (`EXPLAIN ANALYZE CREATE TABLE AS`); EXPLAIN EXECUTE's query is checked when it is planned.
///
/// # Safety
/// `explain` must be a valid ExplainStmt.
unsafe fn explains_utility(explain: *mut pg_sys::ExplainStmt) -> bool {
    // SAFETY: the statement's query is a Query node after parse analysis (or a raw node before);
    // tags are checked before casts.
    unsafe {
        let q = (*explain).query;
        if q.is_null() {
            return false;
        }
        if pgrx::is_a(q, pg_sys::NodeTag::T_Query) {
            let query = q as *mut pg_sys::Query;
            return (*query).commandType == pg_sys::CmdType::CMD_UTILITY
                && !pgrx::is_a((*query).utilityStmt, pg_sys::NodeTag::T_ExecuteStmt);
        }
        !pgrx::is_a(q, pg_sys::NodeTag::T_ExecuteStmt) && !pgrx::is_a(q, pg_sys::NodeTag::T_SelectStmt)
    }
}

/// `privacy.break_glass_open(reason, duration)`: checks a break-glass request of the session's
/// login and records it for the commit of the current transaction; returns the window's end.
/// Called by `privacy.break_glass()` only (EXECUTE is revoked from PUBLIC).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn break_glass_open(reason: &str, duration: Interval) -> TimestampWithTimeZone {
    // SAFETY: backend globals and catalog lookups; get_role_oid with missing_ok.
    let (login, allowed) = unsafe {
        let login = crate::pg::ffi::GetSessionUserId();
        let role = pg_sys::get_role_oid(ROLE.as_ptr(), true);
        (login, role != pg_sys::InvalidOid && pg_sys::is_member_of_role(login, role))
    };
    if !allowed {
        refuse(
            format!("role \"{}\" may not break the glass", catalog::role_name(login)),
            "Only members of privacy_break_glass can; a DBA grants it to the people on call.",
        );
    }
    // SAFETY: reads the transaction state; cannot raise.
    if unsafe { pg_sys::IsTransactionBlock() } {
        raise(
            PgSqlErrorCode::ERRCODE_ACTIVE_SQL_TRANSACTION,
            "privacy.break_glass() cannot run inside a transaction block",
            "Run it as a statement of its own; the window opens when it commits.",
        );
    }
    let reason = reason.trim();
    if reason.chars().count() < 3 || reason.len() > 1000 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "a break-glass reason must say why, in 3 to 1000 characters",
            "Name the ticket or incident, for example: 'INC-1234: customer 42 cannot log in'.",
        );
    }
    let micros = duration.as_micros();
    let max = i128::from(MAX_DURATION.get()) * 1_000_000;
    if micros <= 0 || micros > max {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("a break-glass window lasts more than 0 and at most {} seconds", MAX_DURATION.get()),
            "Ask for a shorter window; privacy.break_glass_max_duration (superuser) sets the limit.",
        );
    }
    // SAFETY: reads the statement's start time and the current subtransaction id.
    let (until, subxact) =
        unsafe { (pg_sys::GetCurrentStatementStartTimestamp() + micros as i64, pg_sys::GetCurrentSubTransactionId()) };
    PENDING.with(|p| p.set(Some((until, subxact))));
    match TimestampWithTimeZone::try_from(until) {
        Ok(t) => t,
        Err(_) => raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            "the break-glass window's end is out of range",
            "Ask for a shorter window.",
        ),
    }
}

/// `privacy.break_glass_close()`: ends this session's window; whether one was open. Called by
/// `privacy.end_break_glass()`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn break_glass_close() -> bool {
    let was_open = active();
    PENDING.with(|p| p.set(None));
    if OPEN_UNTIL.with(|u| u.get()).is_some() {
        close();
    }
    was_open
}

/// `privacy.break_glass_until()`: the end of this session's open window, or NULL.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn break_glass_until() -> Option<TimestampWithTimeZone> {
    if !active() {
        return None;
    }
    OPEN_UNTIL.with(|u| u.get()).and_then(|until| TimestampWithTimeZone::try_from(until).ok())
}

/// At each transaction event (from `hooks`' one transaction callback). Unguarded: it touches only
/// this module's cells and ResetPlanCache, none of which can raise, and it runs at every commit.
#[inline]
pub fn on_xact(event: pg_sys::XactEvent::Type) {
    match event {
        pg_sys::XactEvent::XACT_EVENT_COMMIT => {
            if let Some((until, _)) = PENDING.with(|p| p.take()) {
                OPEN_UNTIL.with(|u| u.set(Some(until)));
                EVER_OPENED.with(|e| e.set(true));
                // SAFETY: ResetPlanCache only marks cached plans invalid.
                unsafe { pg_sys::ResetPlanCache() };
            }
        }
        pg_sys::XactEvent::XACT_EVENT_ABORT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT => {
            PENDING.with(|p| p.set(None));
        }
        _ => {}
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    if event == pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB {
        // A request made in (or under) the aborted subtransaction is gone with its log row.
        PENDING.with(|p| {
            if p.get().is_some_and(|(_, asked)| asked >= my_subid) {
                p.set(None);
            }
        });
    }
}

extension_sql!(
    r#"
-- privacy_break_glass: members may open a break-glass window (a role is cluster-wide, so it may
-- already exist from another database).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_break_glass') THEN
        CREATE ROLE privacy_break_glass NOLOGIN;
    END IF;
END $$;

-- Every break-glass window, append-only: who, when, why, until when.
CREATE TABLE privacy.access_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    login       name NOT NULL DEFAULT session_user,
    backend_pid integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    event       text NOT NULL CHECK (event IN ('begin', 'end')),
    reason      text,
    until       timestamptz
);
REVOKE ALL ON privacy.access_log FROM PUBLIC;
GRANT SELECT ON privacy.access_log TO privacy_admin;

CREATE FUNCTION privacy.access_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'privacy.access_log is append-only'
        USING ERRCODE = '42501', HINT = 'Break-glass records cannot be changed or removed.';
END $$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON privacy.access_log
    FOR EACH ROW EXECUTE FUNCTION privacy.access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON privacy.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.access_log_append_only();

REVOKE ALL ON FUNCTION privacy.break_glass_open(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION privacy.break_glass_close() FROM PUBLIC;

CREATE FUNCTION privacy.break_glass(reason text, duration interval) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    until timestamptz := privacy.break_glass_open(reason, duration);
BEGIN
    INSERT INTO privacy.access_log (login, event, reason, until)
    VALUES (session_user, 'begin', btrim(reason), until);
    PERFORM pg_notify('privacy_break_glass', json_build_object(
        'event', 'begin', 'login', session_user, 'reason', btrim(reason), 'until', until,
        'backend_pid', pg_backend_pid())::text);
    RETURN until;
END $$;
REVOKE ALL ON FUNCTION privacy.break_glass(text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.break_glass(text, interval) TO privacy_break_glass;

CREATE FUNCTION privacy.end_break_glass() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT privacy.break_glass_close() THEN
        RETURN false;
    END IF;
    INSERT INTO privacy.access_log (login, event) VALUES (session_user, 'end');
    PERFORM pg_notify('privacy_break_glass', json_build_object(
        'event', 'end', 'login', session_user, 'backend_pid', pg_backend_pid())::text);
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION privacy.end_break_glass() TO PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.break_glass_until() TO PUBLIC;
"#,
    name = "break_glass",
    requires = ["admin_role", break_glass_open, break_glass_close, break_glass_until]
);
