//! Every PostgreSQL hook pg_privacy installs, and nothing else: each hook asks the concerns
//! (`masking`, `consent`, `guards`, `context`) what to do and passes the statement on.
//!
//! **Code every statement runs sits together.** The hook entry points and the checks every
//! statement makes are placed in one section, `.text.hot.pg_privacy`, so that within each
//! codegen unit they are laid out next to each other whatever the order of the source: an
//! ungoverned statement touches a few adjacent cache lines of pg_privacy's code, and for it cache
//! misses cost more than the instructions themselves (docs/BENCHMARKS.md, issue 11). (The linker
//! keeps these sections in input order among the others; it does not gather them elsewhere.)
//!
//! **Errors pass through untouched.** A hook's own work runs in a guarded function that returns
//! before the hook calls the next hook or PostgreSQL's standard function, which it calls through
//! `crate::pg::ffi` without pgrx's guard. An ERROR raised below therefore reaches PostgreSQL's
//! handler with every field it had (position, CONTEXT, QUERY, DETAIL, schema/table/column names):
//! pg_privacy is invisible to errors it did not cause. The hook functions themselves hold only raw
//! pointers and plain values across those calls (see `crate::pg::ffi` for why that matters).
//!
//! | hook | what it dispatches |
//! |---|---|
//! | planner | role-switch check; masking of masked statements; consent filters row security cannot apply; counters refused to filtered statements; no parallel plans inside scopes |
//! | ProcessUtility | `SET ROLE`, ownership, trigger-author and guard checks; COPY as a query; COPY FROM, TRUNCATE, EXPLAIN ANALYZE checks; guards for new partitions and children |
//! | ExecutorStart / Run / Finish | role-switch check; scopes for code of governed roles; the error context of masked statements |
//! | needs_fmgr / fmgr | no inlining of SQL functions for masked statements; scopes for TRUSTED functions and functions of governed roles |
//! | emit_log | constraint details kept from masked sessions |
//! | object_access | foreign keys to masked columns; dropped roles' purposes |
//! | row_security_policy_hook_restrictive | consent filters |
//! | transaction callback | freeing retired plans (`rights::plans`); break-glass windows opening at commit; scopes left open by an abort (`context`) |

use std::cell::Cell;


use pgrx::pg_sys;
use pgrx::PgList;

use crate::context::{self, Scope};
use crate::pg::ffi;
use crate::pg::version::ExecutorRunArgs;
use crate::{consent, guards, masking};

static mut PREV_PLANNER: pg_sys::planner_hook_type = None;
static mut PREV_UTILITY: pg_sys::ProcessUtility_hook_type = None;
static mut PREV_EXECUTOR_START: pg_sys::ExecutorStart_hook_type = None;
static mut PREV_EXECUTOR_RUN: pg_sys::ExecutorRun_hook_type = None;
static mut PREV_EXECUTOR_FINISH: pg_sys::ExecutorFinish_hook_type = None;
static mut PREV_NEEDS_FMGR: pg_sys::needs_fmgr_hook_type = None;
static mut PREV_FMGR: pg_sys::fmgr_hook_type = None;
static mut PREV_EMIT_LOG: pg_sys::emit_log_hook_type = None;
static mut PREV_OBJECT_ACCESS: pg_sys::object_access_hook_type = None;
static mut PREV_RESTRICTIVE: pg_sys::row_security_policy_hook_type = None;

backend_local! {
    /// Whether the statement being planned is masked (read by needs_fmgr while planning).
    static PLANNING_MASKED: Cell<bool> = const { Cell::new(false) };
}

pub fn init() {
    // SAFETY: hooks are installed once, in _PG_init, on the backend's only thread; each previous
    // hook is kept and called.
    unsafe {
        PREV_PLANNER = pg_sys::planner_hook;
        pg_sys::planner_hook = Some(planner);
        PREV_UTILITY = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(process_utility);
        PREV_EXECUTOR_START = pg_sys::ExecutorStart_hook;
        pg_sys::ExecutorStart_hook = Some(executor_start);
        PREV_EXECUTOR_RUN = pg_sys::ExecutorRun_hook;
        pg_sys::ExecutorRun_hook = Some(crate::pg::version::executor_run_hook);
        PREV_EXECUTOR_FINISH = pg_sys::ExecutorFinish_hook;
        pg_sys::ExecutorFinish_hook = Some(executor_finish);
        PREV_NEEDS_FMGR = pg_sys::needs_fmgr_hook;
        pg_sys::needs_fmgr_hook = Some(needs_fmgr);
        PREV_FMGR = pg_sys::fmgr_hook;
        pg_sys::fmgr_hook = Some(fmgr);
        PREV_EMIT_LOG = pg_sys::emit_log_hook;
        pg_sys::emit_log_hook = Some(emit_log);
        PREV_OBJECT_ACCESS = pg_sys::object_access_hook;
        pg_sys::object_access_hook = Some(object_access);
        PREV_RESTRICTIVE = pg_sys::row_security_policy_hook_restrictive;
        pg_sys::row_security_policy_hook_restrictive = Some(restrictive_policies);
        pg_sys::RegisterXactCallback(Some(xact_callback), std::ptr::null_mut());
    }
}

/// The one transaction callback: each concern's end-of-transaction work in one call per event
/// (every transaction of every session passes here twice; one callback instead of one per
/// concern keeps that to one call and a few cache lines of code). Unguarded: each part returns at
/// once when it has nothing to do, and enters guarded code itself when it has. At the `PRE_*`
/// events only the last check before commit runs (`distributed::before_commit`, which may still
/// refuse the commit); every other part's work belongs to the end of the transaction (commit,
/// abort, prepare), and no statement runs between a `PRE_*` event and that end.
#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn xact_callback(event: pg_sys::XactEvent::Type, _arg: *mut std::ffi::c_void) {
    if matches!(
        event,
        pg_sys::XactEvent::XACT_EVENT_PRE_COMMIT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_PRE_COMMIT | pg_sys::XactEvent::XACT_EVENT_PRE_PREPARE
    ) {
        if event != pg_sys::XactEvent::XACT_EVENT_PARALLEL_PRE_COMMIT {
            crate::distributed::before_commit();
        }
        return;
    }
    crate::rights::on_xact(event);
    masking::break_glass::on_xact(event);
    context::on_xact(event);
    consent::record::on_xact();
    crate::tools::anonymize::on_xact();
}

/// Whether anything in this database or cluster could be governed (the fast path for everyone
/// else: a few cached booleans).
fn anything_governed() -> bool {
    masking::rules::any_rules()
        || masking::roles::any_masked_role()
        || !consent::registry::registry().subjects.is_empty()
        || crate::pg::catalog::outdated_schema().is_some()
}

/// Whether any role at all is masked or filtered (cheaper than asking per role).
fn any_governed_role() -> bool {
    masking::roles::any_masked_role() || !consent::registry::registry().role_purposes.is_empty()
}

/// The roles governing a statement: the session's, and the owners of code it runs.
fn statement_roles(code_owners: Vec<pg_sys::Oid>) -> Vec<pg_sys::Oid> {
    let mut roles = context::governing_roles();
    for owner in code_owners {
        if !roles.contains(&owner) {
            roles.push(owner);
        }
    }
    roles
}

// ------------------------------------------------------------------ planner

#[repr(C)]
#[derive(Clone, Copy)]
struct Planning {
    parse: *mut pg_sys::Query,
    cursor_options: i32,
    governed: bool,
    masked: bool,
    was_masked: bool,
    /// GUC nest level of settings changed for the planners after ours, or 0.
    guc_level: i32,
    /// A foreign-key statement of PostgreSQL's (`context::foreign_key_statement`).
    foreign_key: bool,
}

#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn planner(
    parse: *mut pg_sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: pg_sys::ParamListInfo,
) -> *mut pg_sys::PlannedStmt {
    // SAFETY: parse is the valid Query handed to the planner; our work is guarded and returns
    // before the raw call; this frame holds only plain values across it.
    unsafe {
        if let Some(idle) = idle_statement() {
            // Nothing governs the statement: the planner runs as without pg_privacy. What the
            // full path would still do for it is done here without a guard frame, or by the
            // guarded after_planning when the plan reads a relation not known to be neutral.
            let was_masked = PLANNING_MASKED.with(|m| m.replace(false));
            masking::side_channels::set_statement_masked(false);
            let stmt = match PREV_PLANNER {
                Some(prev) => prev(parse, query_string, cursor_options, bound_params),
                None => ffi::standard_planner(parse, query_string, cursor_options, bound_params),
            };
            PLANNING_MASKED.with(|m| m.set(was_masked));
            if idle.policies_in_force && !context::plan_reads_only_neutral(stmt) {
                after_planning(stmt, false, was_masked, 0, true);
            }
            return stmt;
        }
        let p = before_planning(parse, cursor_options);
        let stmt = match PREV_PLANNER {
            Some(prev) => prev(p.parse, query_string, p.cursor_options, bound_params),
            None => ffi::standard_planner(p.parse, query_string, p.cursor_options, bound_params),
        };
        if p.foreign_key {
            context::foreign_key_planning(false);
        }
        if p.governed {
            after_planning(stmt, p.masked, p.was_masked, p.guc_level, false);
        }
        stmt
    }
}

/// [`context::idle`], and no break-glass window recorded (one opens at a commit, which
/// invalidates no cache). Cannot raise.
#[link_section = ".text.hot.pg_privacy"]
fn idle_statement() -> Option<context::Idle> {
    context::idle().filter(|_| !masking::break_glass::window_recorded())
}

/// Records that this session's statements can pass the hooks untouched (see [`context::idle`])
/// when everything the full path checks for an ungoverned statement holds for the session as a
/// whole, not just for this statement. `since`: the cache generation read before any of it.
fn learn_if_idle(since: u64) {
    if !anything_governed() {
        context::learn_idle(since, context::Idle { policies_in_force: false });
        return;
    }
    // statements of such a session look for code of governed roles relation by relation
    let owners_to_look_for = any_governed_role() && context::governed_roles_own_relations();
    let idle = crate::pg::catalog::outdated_schema().is_none()
        && !masking::break_glass::window_recorded()
        && !owners_to_look_for
        && !context::scoped()
        && context::session_ungoverned()
        // statements that distribute subject tables are refused to everyone (planner)
        && (consent::registry::registry().subjects.is_empty() || !crate::pg::citus::in_database());
    if idle {
        context::learn_idle(since, context::Idle { policies_in_force: true });
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn before_planning(parse: *mut pg_sys::Query, cursor_options: i32) -> Planning {
    let since = crate::pg::cache::any_generation();
    let was_masked = PLANNING_MASKED.with(|m| m.get());
    let mut p = Planning { parse, cursor_options, governed: false, masked: false, was_masked, guc_level: 0, foreign_key: false };
    if !anything_governed() {
        PLANNING_MASKED.with(|m| m.set(false));
        learn_if_idle(since);
        return p;
    }
    guards::refuse_outdated_schema();
    // SAFETY: parse is a valid Query (the planner's argument).
    if unsafe { context::foreign_key_statement(parse) } {
        // PostgreSQL's own foreign-key statement: neither masked nor filtered (see context); an
        // action a masked session set off (a cascade) is checked as its own writes are
        if masking::rules::any_rules() && masking::masked_for(&context::governing_roles()) {
            // SAFETY: parse is a valid Query.
            unsafe { masking::rewrite::check_foreign_key_writes(parse) };
        }
        PLANNING_MASKED.with(|m| m.set(false));
        context::foreign_key_planning(true);
        p.foreign_key = true;
        p.governed = true;
        return p;
    }
    masking::break_glass::tick();
    masking::utility::check_role_switch();
    // SAFETY: parse is a valid Query (the planner's argument).
    unsafe {
        masking::break_glass::check_statement(parse);
        let owners = if any_governed_role() && context::governed_roles_own_relations() { context::code_owners_of_query(parse) } else { Vec::new() };
        if owners.is_empty() && !context::scoped() && context::session_ungoverned() {
            // Nothing governs this statement (no governed login, user or code owner, no scope):
            // only the checks that hold for everyone; the plan is still marked below.
            crate::distributed::refuse_distributing_subject_tables(p.parse);
            PLANNING_MASKED.with(|m| m.set(false));
            masking::side_channels::set_statement_masked(false);
            learn_if_idle(since);
            p.governed = true;
            return p;
        }
        let roles = statement_roles(owners);
        let masked = masking::rules::any_rules() && (masking::masked_for(&roles) || context::anonymizing());
        let filtered = consent::filter::filtered(&roles);
        crate::distributed::refuse_unguaranteed(p.parse, filtered);
        crate::distributed::refuse_distributing_subject_tables(p.parse);
        if masked || filtered {
            crate::pg::heap::settle_for_governed();
        }
        PLANNING_MASKED.with(|m| m.set(masked));
        p.masked = masked;
        masking::side_channels::set_statement_masked(masked || masking::roles::masks_now(context::login()));
        if masked {
            p.parse = masking::rewrite::mask_statement(p.parse);
            p.guc_level = crate::distributed::before_citus_plans_masked();
        }
        if masked || filtered {
            crate::keys::refuse_secret_reads(p.parse);
        }
        if masked {
            masking::side_channels::refuse_cursor_readers(p.parse);
        }
        consent::filter::add_missing_filters(p.parse, &roles);
        if filtered {
            consent::utility::refuse_counters_and_copies(p.parse);
        }
        if context::scoped() || masking::break_glass::active() {
            p.cursor_options &= !(pg_sys::CURSOR_OPT_PARALLEL_OK as i32);
        }
    }
    p.governed = true;
    p
}

#[pgrx::pg_guard]
/// `learn_neutral`: called for a statement nothing governs, whose later plans may skip this
/// function for relations found neutral here (the full path has no use for that answer).
unsafe extern "C-unwind" fn after_planning(stmt: *mut pg_sys::PlannedStmt, masked: bool, was_masked: bool, guc_level: i32, learn_neutral: bool) {
    let since = crate::pg::cache::any_generation();
    PLANNING_MASKED.with(|m| m.set(was_masked));
    crate::distributed::after_citus_plans_masked(guc_level);
    // SAFETY: stmt is the PlannedStmt just made; its range table lists every relation it reads.
    unsafe {
        if masked {
            crate::distributed::check_plan(stmt);
            crate::distributed::mark_masked_plan(stmt);
        }
        consent::filter::restore_registry_reads(stmt);
        let mut touches = false;
        for (_, relid) in crate::pg::nodes::plan_relations(stmt) {
            if masking::rules::is_protected(relid, false) || consent::registry::is_subject_table(relid) || crate::pg::catalog::carries_code(relid) {
                touches = true;
                break;
            }
            // Remembered for the unguarded path of statements nothing governs; not the
            // extension's own tables (the registry's reads are restored above), nor relations
            // named like Citus shards whose metadata is not here yet (the answer may change
            // without an invalidation).
            if learn_neutral && !crate::pg::catalog::is_extension_table(relid) && crate::pg::citus::shard_answer_is_final(relid) {
                context::note_neutral(since, relid);
            }
        }
        if touches {
            // A plan made for one role's masking and filters must not serve another.
            (*stmt).dependsOnRole = true;
            masking::break_glass::mark_plan(stmt);
        }
    }
}

// ------------------------------------------------------------------ utility statements

#[repr(C)]
#[derive(Clone, Copy)]
struct Utility {
    pstmt: *mut pg_sys::PlannedStmt,
    skip: bool,
    /// Scope depth to return to afterwards, or -1.
    scope_depth: isize,
    governed: bool,
    /// Whether the statement is masked: errors it raises get the masked error context.
    masked: bool,
    /// A `COPY ... FROM STDIN` that only pg_privacy's guards would make PostgreSQL refuse: the
    /// table, which `pg::copy::copy_from` copies into instead of the utility chain; else InvalidOid.
    copy_from: pg_sys::Oid,
}

#[allow(clippy::too_many_arguments)]
#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn process_utility(
    pstmt: *mut pg_sys::PlannedStmt,
    query_string: *const std::ffi::c_char,
    read_only_tree: bool,
    context: pg_sys::ProcessUtilityContext::Type,
    params: pg_sys::ParamListInfo,
    query_env: *mut pg_sys::QueryEnvironment,
    dest: *mut pg_sys::DestReceiver,
    qc: *mut pg_sys::QueryCompletion,
) {
    // SAFETY: pstmt is the valid statement handed to the hook; our work is guarded and returns
    // before the raw call; this frame holds only plain values across it.
    unsafe {
        // Transaction control (BEGIN, COMMIT: two per explicit transaction) has nothing to check
        // (see before_utility) and passes without a guard frame.
        let u = if pgrx::is_a((*pstmt).utilityStmt, pg_sys::NodeTag::T_TransactionStmt) {
            Utility { pstmt, skip: false, scope_depth: -1, governed: false, masked: false, copy_from: pg_sys::InvalidOid }
        } else {
            before_utility(pstmt)
        };
        if u.skip {
            return;
        }
        let mut callback: pg_sys::ErrorContextCallback = std::mem::zeroed();
        if u.masked {
            callback.callback = Some(masking::side_channels::masked_error_context);
            callback.previous = pg_sys::error_context_stack;
            pg_sys::error_context_stack = &mut callback;
        }
        if u.copy_from != pg_sys::InvalidOid {
            crate::pg::copy::copy_from(u.pstmt, u.copy_from, query_string, query_env, qc);
        } else {
            match PREV_UTILITY {
                Some(prev) => prev(u.pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
                None => ffi::standard_ProcessUtility(u.pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
            }
        }
        if u.masked {
            pg_sys::error_context_stack = callback.previous;
        }
        if u.governed {
            after_utility(pstmt, u.scope_depth);
        }
    }
}

/// Whether a statement is one a masked login may still run while acting as an unmasked role
/// (to get back, or to end the transaction).
unsafe fn allowed_while_switched(stmt: *mut pg_sys::Node) -> bool {
    // SAFETY: tag checks only.
    unsafe {
        pgrx::is_a(stmt, pg_sys::NodeTag::T_VariableSetStmt)
            || pgrx::is_a(stmt, pg_sys::NodeTag::T_TransactionStmt)
            || pgrx::is_a(stmt, pg_sys::NodeTag::T_DiscardStmt)
            || pgrx::is_a(stmt, pg_sys::NodeTag::T_ClosePortalStmt)
            || pgrx::is_a(stmt, pg_sys::NodeTag::T_DeallocateStmt)
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn before_utility(pstmt: *mut pg_sys::PlannedStmt) -> Utility {
    let mut u = Utility { pstmt, skip: false, scope_depth: -1, governed: false, masked: false, copy_from: pg_sys::InvalidOid };
    // SAFETY: utilityStmt is a valid node; tags are checked before casts; statements are copied
    // before they are changed (the tree may be read-only).
    unsafe {
        let stmt = (*pstmt).utilityStmt;
        // Transaction control runs in aborted transactions too, where no catalog may be read;
        // there is nothing to check in it anyway.
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_TransactionStmt) || pg_sys::IsAbortedTransactionBlockState() {
            return u;
        }
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreatePolicyStmt) {
            u.pstmt = crate::distributed::keep_guard_restrictive(pstmt);
        }
        let stmt = (*u.pstmt).utilityStmt;
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreatePolicyStmt) && guards::guard_policy_exists(stmt.cast()) {
            // A restore re-creates pg_privacy's guard policies before the dump's CREATE POLICY
            // for them runs (labels and registry come first): keep the existing one.
            pgrx::notice!("pg_privacy guard policy already exists, kept");
            u.skip = true;
            return u;
        }
        guards::before_drop_extension(stmt);
        guards::after_extension_change(stmt);
        if !anything_governed() {
            return u;
        }
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_CopyStmt) {
            // COPY TO of a table reads it without the planner (where everything else is refused)
            guards::refuse_outdated_schema();
        }
        u.governed = true;
        consent::utility::refuse_subject_under_plain_parent(stmt);
        masking::break_glass::tick();
        masking::break_glass::check_utility(stmt);
        if !allowed_while_switched(stmt) {
            masking::utility::check_role_switch();
        }
        let roles = context::governing_roles();
        let masked = masking::masked_for(&roles);
        // SET, RESET, DISCARD and transaction control are the way out of a purpose the current
        // role was not allowed: they are not refused for it (row security stays on regardless).
        let filtered =
            if allowed_while_switched(stmt) { consent::filter::filtered_quietly(&roles) } else { consent::filter::filtered(&roles) };
        u.masked = masked;
        masking::side_channels::set_statement_masked(masked || masking::roles::masks_now(context::login()));
        context::check_new_owner(stmt);
        context::check_trigger_author(stmt);
        context::check_role_management(stmt);
        crate::distributed::check_shard_rename(stmt);
        guards::check_change(stmt, |rel| {
            masking::rules::is_protected(rel, false) || consent::registry::is_subject_table(rel)
        });
        // (not pg_privacy's own guard policy on a new partition: it is named and made here)
        let own_guard = guards::is_own_guard_statement(stmt)
            && [guards::ALL_ROWS_POLICY, guards::PRELOADED_POLICY]
                .contains(&crate::pg::nodes::cstr((*(stmt as *mut pg_sys::CreatePolicyStmt)).policy_name).as_str());
        if (masked || filtered) && !own_guard {
            check_expressions_over_rows(stmt, masked, filtered);
        }
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_VariableSetStmt) {
            masking::utility::check_set_role(stmt.cast());
            if masked || filtered {
                u.pstmt = crate::pg::nodes::with_row_security_kept_on(u.pstmt);
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_FetchStmt) && masked {
            masking::side_channels::check_fetch(stmt.cast());
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_ExplainStmt) && filtered {
            consent::utility::refuse_explain_analyze(stmt.cast());
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_TruncateStmt) && filtered {
            consent::utility::refuse_truncate(stmt.cast());
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CopyStmt) {
            let copy = stmt as *mut pg_sys::CopyStmt;
            if let Some(relid) = crate::pg::nodes::copy_relation(copy) {
                if (*copy).is_from {
                    masking::utility::refuse_masked_triggers(relid);
                    consent::utility::refuse_filtered_code(relid);
                    if masked {
                        masking::utility::check_copy_from(relid, &crate::pg::nodes::copy_columns(copy, relid));
                    }
                    let owners = context::code_owners_of_relation(relid);
                    if let Some(owner) = owners.into_iter().find(|o| !roles.contains(o)) {
                        u.scope_depth = context::enter(Scope::CodeOf(owner)) as isize;
                    }
                    // Filtered sessions keep PostgreSQL's refusal on subject tables (consent is
                    // row security there too); a Citus table's COPY belongs to Citus, which sends
                    // it to the shards.
                    if !(filtered && consent::registry::is_subject_table(relid))
                        && (*copy).filename.is_null()
                        && (*copy).whereClause.is_null()
                        && !crate::pg::citus::is_citus_table(relid)
                        && guards::only_guards_refuse_copy_from(relid)
                    {
                        u.copy_from = relid;
                    }
                } else if crate::pg::catalog::is_extension_table(relid) && !crate::pg::nodes::may_select(relid) {
                    // pg_dump copies extension configuration tables: the key (superusers only) and
                    // the consent registry. For a role that may not read one, it dumps as empty,
                    // so that role's dumps work and carry neither the key nor the registry.
                    u.pstmt = crate::pg::nodes::copy_as_empty_query(pstmt, copy);
                } else if (masked && masking::utility::copy_needs_query(relid))
                    || (filtered && consent::utility::copy_needs_query(relid))
                    || ((masked || filtered) && crate::distributed::copy_needs_query(relid))
                {
                    u.pstmt = crate::pg::nodes::copy_as_query(pstmt, copy);
                }
            }
        }
    }
    u
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn after_utility(pstmt: *mut pg_sys::PlannedStmt, scope_depth: isize) {
    if scope_depth >= 0 {
        context::leave(scope_depth as usize);
    }
    // SAFETY: the statement just succeeded; its relations exist.
    unsafe {
        for child in guards::new_children((*pstmt).utilityStmt) {
            let masked_parent = masking::rules::is_protected(child, false);
            if masked_parent {
                guards::protect(child, guards::Reason::Masking);
            }
            let subject_parent = crate::pg::catalog::ancestors_of(child).into_iter().any(consent::registry::is_subject_table);
            if subject_parent {
                guards::protect(child, guards::Reason::Consent);
            }
        }
    }
}

/// Refuses a masked or filtered statement that would run an expression it brings over every
/// stored row of a table with masking rules or a subject table (see
/// `crate::pg::nodes::expressions_over_rows`): the expression would see raw values and hidden
/// rows (found by an attack pass: a masked owner copied a masked column into another with
/// `ALTER COLUMN ... TYPE ... USING`, and printed raw values from an index expression).
///
/// # Safety
/// `stmt` must be a valid utility statement node.
unsafe fn check_expressions_over_rows(stmt: *mut pg_sys::Node, masked: bool, filtered: bool) {
    // A domain's new CHECK runs over the values of every column of the domain, wherever they are
    // (finding whether one is a protected table's would read pg_depend for every such statement;
    // masked and filtered sessions have no need to change domains' checks).
    // SAFETY: forwarded.
    if unsafe { crate::pg::nodes::checks_domain_values(stmt) } {
        crate::pg::errors::refuse(
            "masked or filtered sessions cannot add or validate a domain's CHECK constraint",
            "It runs over every stored value of the domain's columns, raw values and rows of subjects without consent included. \
             Ask an unmasked, unfiltered owner or a privacy admin.",
        );
    }
    // SAFETY: forwarded.
    let Some((relid, what)) = (unsafe { crate::pg::nodes::expressions_over_rows(stmt) }) else { return };
    if relid == pg_sys::InvalidOid {
        return;
    }
    // the table, and the partitions and children a statement on it reaches (a partition may
    // have rules, or be a subject table, of its own)
    let tree: Vec<pg_sys::Oid> = std::iter::once(relid).chain(crate::pg::catalog::descendants_of(relid)).collect();
    let subject = || {
        tree.iter().any(|r| consent::registry::is_subject_table(*r))
            || crate::pg::catalog::ancestors_of(relid).into_iter().any(consent::registry::is_subject_table)
    };
    let who = if masked && tree.iter().any(|r| masking::rules::is_protected(*r, false)) {
        "masked sessions"
    } else if filtered && subject() {
        "sessions filtered by consent"
    } else {
        return;
    };
    crate::pg::errors::refuse(
        format!("{who} cannot {what} on {}", crate::pg::catalog::relation_name(relid)),
        "The expression would run over every stored row, raw values and rows of subjects without consent included. \
         Ask an unmasked, unfiltered owner or a privacy admin.",
    );
}

// ------------------------------------------------------------------ executor

#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    // SAFETY: our check is guarded and returns before the raw call; the plan's command type is
    // read from the valid QueryDesc PostgreSQL passed.
    unsafe {
        // A statement nothing governs needs the checks below only when it writes.
        let stmt = (*query_desc).plannedstmt;
        let reads_only = !stmt.is_null() && (*stmt).commandType == pg_sys::CmdType::CMD_SELECT && !(*stmt).hasModifyingCTE;
        if !(reads_only && idle_statement().is_some()) {
            before_executor_start(query_desc, eflags);
        }
        match PREV_EXECUTOR_START {
            Some(prev) => prev(query_desc, eflags),
            None => ffi::standard_ExecutorStart(query_desc, eflags),
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn before_executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if anything_governed() {
        // Cached plans skip the planner: the role-switch check runs here too.
        masking::break_glass::tick();
        masking::utility::check_role_switch();
        // SAFETY: query_desc and its plannedstmt are valid at ExecutorStart.
        unsafe {
            let stmt = (*query_desc).plannedstmt;
            // a write about to run (plain EXPLAIN runs nothing)
            let explain_only = eflags & pg_sys::EXEC_FLAG_EXPLAIN_ONLY as i32 != 0;
            if !explain_only && !stmt.is_null() && (*stmt).commandType != pg_sys::CmdType::CMD_SELECT {
                for index in pgrx::PgList::<std::ffi::c_void>::from_pg((*stmt).resultRelations).iter_int() {
                    if let Some(rte) = pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable).get_ptr(index as usize - 1) {
                        masking::utility::refuse_masked_triggers((*rte).relid);
                        consent::utility::refuse_filtered_code((*rte).relid);
                    }
                }
            }
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Running {
    /// Scope depth to return to afterwards, or -1.
    scope_depth: isize,
    /// Whether masking rules may run: their errors get the masked error context.
    rule_errors: bool,
}

/// What the executor hooks do before passing a statement on: nothing beyond two flags for a
/// statement nothing governs (no guard frame), [`enter_executor`] otherwise.
///
/// # Safety
/// `query_desc` must be the valid QueryDesc PostgreSQL passed to the hook.
#[link_section = ".text.hot.pg_privacy"]
unsafe fn running(query_desc: *mut pg_sys::QueryDesc) -> Running {
    if idle_statement().is_some() {
        masking::side_channels::clear_rule_in_progress();
        masking::side_channels::set_statement_masked(false);
        return Running { scope_depth: -1, rule_errors: false };
    }
    // SAFETY: forwarded.
    unsafe { enter_executor(query_desc) }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn enter_executor(query_desc: *mut pg_sys::QueryDesc) -> Running {
    let since = crate::pg::cache::any_generation();
    let mut r = Running { scope_depth: -1, rule_errors: false };
    masking::side_channels::clear_rule_in_progress();
    if !anything_governed() {
        learn_if_idle(since);
        return r;
    }
    // SAFETY: query_desc and its plannedstmt are valid while the executor runs.
    unsafe {
        let stmt = (*query_desc).plannedstmt;
        let owners = if any_governed_role() && !stmt.is_null() && context::governed_roles_own_relations() {
            context::code_owners_of_plan(stmt)
        } else {
            Vec::new()
        };
        if owners.is_empty() && !context::scoped() && context::session_ungoverned() {
            // nothing governs this plan (see before_planning)
            masking::side_channels::set_statement_masked(false);
            learn_if_idle(since);
            return r;
        }
        if !owners.is_empty() {
            let session = context::governing_roles();
            for owner in owners.iter().filter(|o| !session.contains(o)) {
                let depth = context::enter(Scope::CodeOf(*owner)) as isize;
                if r.scope_depth < 0 {
                    r.scope_depth = depth;
                }
            }
        }
        // The owners are now governing roles (the session's already, or open scopes), so this
        // asks about every role governing the statement without building a list of them.
        let masked = masking::rules::any_rules() && masking::roles::any_masked_role() && context::any_governing(masking::roles::masks_now);
        masking::side_channels::set_statement_masked(masked || masking::roles::masks_now(context::login()));
        r.rule_errors = masked;
        if masked && !stmt.is_null() {
            crate::distributed::check_executed_plan(stmt);
            masking::break_glass::check_plan(stmt);
            masking::side_channels::check_plan_was_masked(stmt);
        }
    }
    r
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn leave_executor(scope_depth: isize) {
    if scope_depth >= 0 {
        context::leave(scope_depth as usize);
    }
}

/// The ExecutorRun hook's body; `crate::pg::version::executor_run_hook` is the entry point with
/// the signature of the version built for.
///
/// # Safety
/// Called only by that entry point, with what PostgreSQL passed.
#[inline(always)]
pub(crate) unsafe fn executor_run(query_desc: *mut pg_sys::QueryDesc, args: ExecutorRunArgs) {
    // SAFETY: our work is guarded and returns before the raw call. The error context callback is
    // a plain struct on this frame, linked into error_context_stack only while the call runs
    // (PostgreSQL restores the stack itself when an error leaves).
    unsafe {
        let r = running(query_desc);
        let mut callback: pg_sys::ErrorContextCallback = std::mem::zeroed();
        if r.rule_errors {
            callback.callback = Some(masking::side_channels::masked_error_context);
            callback.previous = pg_sys::error_context_stack;
            pg_sys::error_context_stack = &mut callback;
        }
        let foreign_key = context::foreign_key_statement_running();
        args.pass_on(PREV_EXECUTOR_RUN, query_desc);
        context::foreign_key_statement_done(foreign_key);
        if r.rule_errors {
            pg_sys::error_context_stack = callback.previous;
        }
        if r.scope_depth >= 0 {
            leave_executor(r.scope_depth);
        }
    }
}

#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn executor_finish(query_desc: *mut pg_sys::QueryDesc) {
    // SAFETY: as in executor_run: AFTER triggers fire here, inside the statement's scopes.
    unsafe {
        // A plain SELECT has nothing left to run here (no AFTER triggers, no data-modifying WITH):
        // it passes through without the statement's scopes being opened again, and without being
        // counted as a running foreign-key statement, since no statement can start inside it.
        let stmt = (*query_desc).plannedstmt;
        if !stmt.is_null() && (*stmt).commandType == pg_sys::CmdType::CMD_SELECT && !(*stmt).hasModifyingCTE {
            match PREV_EXECUTOR_FINISH {
                Some(prev) => prev(query_desc),
                None => ffi::standard_ExecutorFinish(query_desc),
            }
            return;
        }
        let r = running(query_desc);
        let mut callback: pg_sys::ErrorContextCallback = std::mem::zeroed();
        if r.rule_errors {
            callback.callback = Some(masking::side_channels::masked_error_context);
            callback.previous = pg_sys::error_context_stack;
            pg_sys::error_context_stack = &mut callback;
        }
        let foreign_key = context::foreign_key_statement_running();
        match PREV_EXECUTOR_FINISH {
            Some(prev) => prev(query_desc),
            None => ffi::standard_ExecutorFinish(query_desc),
        }
        context::foreign_key_statement_done(foreign_key);
        if r.rule_errors {
            pg_sys::error_context_stack = callback.previous;
        }
        if r.scope_depth >= 0 {
            leave_executor(r.scope_depth);
        }
    }
}

// ------------------------------------------------------------------ functions

/// Asked for every function PostgreSQL looks up, many times per statement: built-in functions
/// (owned by the bootstrap superuser, never governed) return at once without a guard frame when no
/// function is known to be labelled TRUSTED.
#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn needs_fmgr(fn_oid: pg_sys::Oid) -> bool {
    // SAFETY: the previous hook was stored once at load time.
    if let Some(prev) = unsafe { PREV_NEEDS_FMGR } {
        // SAFETY: calling the previous hook with the argument we were given.
        if unsafe { prev(fn_oid) } {
            return true;
        }
    }
    if fn_oid.to_u32() < pg_sys::FirstNormalObjectId && context::surely_no_trusted_function() {
        return false;
    }
    // SAFETY: forwarding the argument to the guarded body.
    unsafe { needs_fmgr_checked(fn_oid) }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn needs_fmgr_checked(fn_oid: pg_sys::Oid) -> bool {
    // (asked first: it also keeps the answer the unguarded fast path above peeks at current)
    let any_trusted = context::any_trusted_function();
    if !any_trusted && (!anything_governed() || fn_oid.to_u32() < pg_sys::FirstNormalObjectId) {
        return false;
    }
    let Some(info) = crate::pg::catalog::function_info(fn_oid) else { return false };
    // For masked statements, SQL functions are not inlined, so their bodies are planned (and
    // masked) on their own; PostgreSQL asks this hook before inlining.
    if info.sql_language && PLANNING_MASKED.with(|m| m.get()) {
        return true;
    }
    context::is_trusted_function(fn_oid) || (any_governed_role() && context::is_governed(info.owner)) || info.citus_remote_command
}

/// What fmgr_hook keeps between a function's start and end.
#[repr(C)]
struct FmgrState {
    prev_private: pg_sys::Datum,
    /// Scope depth to return to, or -1.
    depth: isize,
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn fmgr(event: pg_sys::FmgrHookEventType::Type, flinfo: *mut pg_sys::FmgrInfo, private: *mut pg_sys::Datum) {
    // SAFETY: PostgreSQL passes the function's FmgrInfo and a per-call-site slot; the state is
    // palloc'd in TopMemoryContext at START and freed at END or ABORT.
    unsafe {
        match event {
            pg_sys::FmgrHookEventType::FHET_START => {
                let state = pg_sys::MemoryContextAllocZero(pg_sys::TopMemoryContext, std::mem::size_of::<FmgrState>()) as *mut FmgrState;
                (*state).depth = -1;
                let fn_oid = (*flinfo).fn_oid;
                if context::is_trusted_function(fn_oid) {
                    (*state).depth = context::enter(Scope::Trusted) as isize;
                }
                if let Some(info) = crate::pg::catalog::function_info(fn_oid) {
                    if info.citus_remote_command {
                        crate::distributed::check_remote_command(fn_oid);
                    }
                    if any_governed_role() && context::is_governed(info.owner) && !context::governing_roles().contains(&info.owner) {
                        let d = context::enter(Scope::CodeOf(info.owner)) as isize;
                        if (*state).depth < 0 {
                            (*state).depth = d;
                        }
                    }
                }
                if let Some(prev) = PREV_FMGR {
                    prev(event, flinfo, &mut (*state).prev_private);
                }
                *private = pg_sys::Datum::from(state);
            }
            _ => {
                let state = (*private).cast_mut_ptr::<FmgrState>();
                if state.is_null() {
                    return;
                }
                if let Some(prev) = PREV_FMGR {
                    prev(event, flinfo, &mut (*state).prev_private);
                }
                if (*state).depth >= 0 {
                    context::leave((*state).depth as usize);
                }
                pg_sys::pfree(state.cast());
                *private = pg_sys::Datum::from(0);
            }
        }
    }
}

// ------------------------------------------------------------------ errors, objects, policies

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn emit_log(edata: *mut pg_sys::ErrorData) {
    // SAFETY: edata is the error being reported.
    unsafe {
        masking::side_channels::hide_row_details(edata);
        if let Some(prev) = PREV_EMIT_LOG {
            prev(edata);
        }
    }
}

#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn object_access(
    access: pg_sys::ObjectAccessType::Type,
    class_id: pg_sys::Oid,
    object_id: pg_sys::Oid,
    sub_id: i32,
    arg: *mut std::ffi::c_void,
) {
    // SAFETY: our work is guarded and returns before the previous hook is called raw.
    unsafe {
        // Only two events concern pg_privacy; the others (a function about to run, a namespace
        // searched: several per statement) pass without a guard frame.
        let new_constraint = access == pg_sys::ObjectAccessType::OAT_POST_CREATE && class_id == crate::pg::catalog::oid(crate::pg::catalog::PG_CONSTRAINT);
        let dropped_role = access == pg_sys::ObjectAccessType::OAT_DROP && class_id == pg_sys::AuthIdRelationId;
        if new_constraint || dropped_role {
            on_object_access(access, class_id, object_id);
        }
        if let Some(prev) = PREV_OBJECT_ACCESS {
            prev(access, class_id, object_id, sub_id, arg);
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_object_access(access: pg_sys::ObjectAccessType::Type, class_id: pg_sys::Oid, object_id: pg_sys::Oid) {
    if access == pg_sys::ObjectAccessType::OAT_POST_CREATE
        && class_id == crate::pg::catalog::oid(crate::pg::catalog::PG_CONSTRAINT)
        && masking::rules::any_rules()
        && masking::masked_now()
    {
        masking::utility::check_new_constraint(object_id);
    } else if access == pg_sys::ObjectAccessType::OAT_DROP && class_id == pg_sys::AuthIdRelationId {
        consent::utility::forget_role(object_id);
    }
}

#[link_section = ".text.hot.pg_privacy"]
unsafe extern "C-unwind" fn restrictive_policies(cmd: pg_sys::CmdType::Type, relation: pg_sys::Relation) -> *mut pg_sys::List {
    // SAFETY: relation is open (the rewriter holds it); the previous hook is called with the same
    // arguments and our policies appended to its list.
    unsafe {
        let list = match PREV_RESTRICTIVE {
            Some(prev) => prev(cmd, relation),
            None => std::ptr::null_mut(),
        };
        consent_policies(cmd, relation, list)
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn consent_policies(cmd: pg_sys::CmdType::Type, relation: pg_sys::Relation, list: *mut pg_sys::List) -> *mut pg_sys::List {
    // SAFETY: relation is open; the list is extended with new policies.
    unsafe {
        let mut policies = PgList::<pg_sys::RowSecurityPolicy>::from_pg(list);
        for p in consent::filter::session_policies(cmd, relation) {
            policies.push(p);
        }
        policies.into_pg()
    }
}

