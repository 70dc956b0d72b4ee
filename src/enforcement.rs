//! Enforcement hooks: where masking rules are applied to every query path.
//!
//! - `planner_hook`: the query is final here (views expanded, rules applied), so every reference to
//!   a masked column, in any clause, sub-query, CTE or sub-link, is replaced by the rule's
//!   expression before planning. Row-security quals and WITH CHECK options are set aside during
//!   the replacement so they keep seeing raw values. Plans touching a protected relation are marked
//!   `dependsOnRole`, so PREPARE, PL/pgSQL and generic plans are re-planned for another role.
//! - `needs_fmgr_hook`: for masked roles, SQL-language functions are not inlined, so their bodies
//!   are planned on their own, through this hook (PostgreSQL checks this hook before inlining).
//! - `ProcessUtility_hook`: `COPY table TO` does not plan a query for a plain table, so for masked
//!   roles it becomes `COPY (SELECT ... FROM ONLY table) TO`; `SET ROLE` from a masked login to an
//!   unmasked role is refused.
//! - `ExecutorStart_hook`: the role-switch check also for cached plans that skip the planner.
//! - `emit_log_hook`: constraint-violation DETAIL lines, which quote raw rows, are kept out of
//!   masked sessions' error messages (they stay in the server log).

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::PgList;

use crate::errors::raise;
use crate::policy_catalog::{self, any_rules, keyed_functions, protection, substitute, MaskedRelation, Protection};
use crate::roles;
use crate::tree::{references_columns, rtable, walk};

static mut PREV_PLANNER: pg_sys::planner_hook_type = None;
static mut PREV_UTILITY: pg_sys::ProcessUtility_hook_type = None;
static mut PREV_EXECUTOR_START: pg_sys::ExecutorStart_hook_type = None;
static mut PREV_NEEDS_FMGR: pg_sys::needs_fmgr_hook_type = None;
static mut PREV_EMIT_LOG: pg_sys::emit_log_hook_type = None;
/// Whether the statement being run belongs to a masked role (read by emit_log_hook, which must not
/// touch catalogs).
static mut MASKED_STATEMENT: bool = false;

pub fn init() {
    // SAFETY: hooks are installed once, in _PG_init, on the backend's only thread; the previous
    // hook values are kept and called.
    unsafe {
        PREV_PLANNER = pg_sys::planner_hook;
        pg_sys::planner_hook = Some(planner);
        PREV_UTILITY = pg_sys::ProcessUtility_hook;
        pg_sys::ProcessUtility_hook = Some(process_utility);
        PREV_EXECUTOR_START = pg_sys::ExecutorStart_hook;
        pg_sys::ExecutorStart_hook = Some(executor_start);
        PREV_NEEDS_FMGR = pg_sys::needs_fmgr_hook;
        pg_sys::needs_fmgr_hook = Some(needs_fmgr);
        PREV_EMIT_LOG = pg_sys::emit_log_hook;
        pg_sys::emit_log_hook = Some(emit_log);
    }
}

fn set_masked_statement(masked: bool) {
    // SAFETY: single-threaded backend global.
    unsafe { MASKED_STATEMENT = masked };
}

// ------------------------------------------------------------------ planner

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn planner(
    parse: *mut pg_sys::Query,
    query_string: *const std::ffi::c_char,
    cursor_options: i32,
    bound_params: pg_sys::ParamListInfo,
) -> *mut pg_sys::PlannedStmt {
    let mut parse = parse;
    let rules = any_rules();
    if rules {
        roles::check_role_switch();
        let masked = roles::current_user_masked();
        set_masked_statement(masked);
        if masked {
            // SAFETY: parse is the valid Query handed to the planner; the rewritten tree is
            // allocated in the planner's memory context like the original.
            unsafe {
                refuse_keyed_calls(parse.cast());
                refuse_statistics(parse.cast());
                parse = mask_query(parse);
            }
        }
    }
    // SAFETY: parse is the valid Query handed to the planner.
    unsafe { crate::consent::add_bypassed_filters(parse) };
    // SAFETY: calling the previous hook or the standard planner with the arguments we were given.
    let stmt = unsafe {
        match PREV_PLANNER {
            Some(prev) => prev(parse, query_string, cursor_options, bound_params),
            None => pg_sys::standard_planner(parse, query_string, cursor_options, bound_params),
        }
    };
    // SAFETY: stmt is the PlannedStmt just made; its rtable lists every relation it reads.
    if rules && unsafe { touches_protected(stmt) } {
        unsafe { (*stmt).dependsOnRole = true };
    }
    stmt
}

unsafe fn touches_protected(stmt: *mut pg_sys::PlannedStmt) -> bool {
    // SAFETY: rtable of a valid PlannedStmt.
    let list = unsafe { PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable) };
    let touches = list.iter_ptr().any(|rte| {
        // SAFETY: each element is a RangeTblEntry.
        unsafe {
            (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION
                && !matches!(protection((*rte).relid, (*rte).inh), Protection::None)
        }
    });
    touches
}

/// Planner statistics (pg_statistic behind pg_stats, and extended statistics) hold raw column
/// values: most common values, histogram bounds. Masked roles may not read them.
unsafe fn refuse_statistics(node: *mut pg_sys::Node) {
    const STATISTIC: u32 = 2619;
    const STATISTIC_EXT_DATA: u32 = 3429;
    // SAFETY: walking a valid tree; RangeTblEntry nodes are tag-checked before the cast.
    let reads = unsafe {
        walk(node, |n, _| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_RangeTblEntry) {
                let relid = (*(n as *mut pg_sys::RangeTblEntry)).relid;
                return relid == pg_sys::Oid::from(STATISTIC) || relid == pg_sys::Oid::from(STATISTIC_EXT_DATA);
            }
            false
        })
    };
    if reads {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "masked roles cannot read planner statistics (pg_stats, pg_stats_ext)",
            "Statistics hold raw column values such as most common values. Ask an unmasked role.",
        );
    }
}

/// Masked roles may not call keyed functions (hash, pseudo_*) themselves: with chosen input they
/// would be a dictionary oracle against the masked values.
unsafe fn refuse_keyed_calls(node: *mut pg_sys::Node) {
    let keyed = keyed_functions();
    let mut found = None;
    // SAFETY: walking a valid tree; FuncExpr nodes are tag-checked before the cast.
    unsafe {
        walk(node, |n, _| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_FuncExpr) && keyed.contains(&(*(n as *mut pg_sys::FuncExpr)).funcid) {
                found = Some((*(n as *mut pg_sys::FuncExpr)).funcid);
                return true;
            }
            false
        });
    }
    if let Some(funcid) = found {
        raise_keyed_call(funcid);
    }
}

pub fn raise_keyed_call(funcid: pg_sys::Oid) -> ! {
    // SAFETY: format_procedure returns a palloc'd string for any OID.
    let name = unsafe { CStr::from_ptr(pg_sys::format_procedure(funcid)).to_string_lossy().into_owned() };
    raise(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!("masked roles cannot call {name} directly"),
        "Keyed functions on input of your choice would reveal masked values by comparison. \
         Masking rules that use them still apply to the columns you read.",
    )
}

/// Applies masking rules to `query` and every query nested in it; returns the new tree.
unsafe fn mask_query(query: *mut pg_sys::Query) -> *mut pg_sys::Query {
    // SAFETY: all pointers come from the valid query tree; nodes are tag-checked before casts.
    unsafe {
        // Nested queries first, each masking its own range table: sub-queries in FROM, CTEs and
        // sub-links. The replacement below then copies them as they are.
        for (_, rte) in rtable(query) {
            if (*rte).rtekind == pg_sys::RTEKind::RTE_SUBQUERY && !(*rte).subquery.is_null() {
                (*rte).subquery = mask_query((*rte).subquery);
            }
        }
        let ctes = PgList::<pg_sys::CommonTableExpr>::from_pg((*query).cteList);
        for cte in ctes.iter_ptr() {
            if !(*cte).ctequery.is_null() && pgrx::is_a((*cte).ctequery, pg_sys::NodeTag::T_Query) {
                (*cte).ctequery = mask_query((*cte).ctequery.cast()).cast();
            }
        }
        let mut sublinks: Vec<*mut pg_sys::SubLink> = Vec::new();
        walk(query.cast(), |n, depth| {
            if depth == 0 && pgrx::is_a(n, pg_sys::NodeTag::T_SubLink) {
                sublinks.push(n.cast());
            }
            false
        });
        for sublink in sublinks {
            if !(*sublink).subselect.is_null() && pgrx::is_a((*sublink).subselect, pg_sys::NodeTag::T_Query) {
                (*sublink).subselect = mask_query((*sublink).subselect.cast()).cast();
            }
        }

        let mut query = query;
        for (index, rte) in rtable(query) {
            if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                continue;
            }
            let on_conflict = (*query).onConflict;
            if !on_conflict.is_null() && (*on_conflict).exclRelIndex == index {
                continue; // EXCLUDED holds the values being inserted, not stored ones
            }
            match protection((*rte).relid, (*rte).inh) {
                Protection::None => {}
                Protection::DerivedMatview => raise(
                    PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                    format!(
                        "materialized view {} is derived from masked columns and masked roles cannot read it",
                        policy_catalog::relation_name((*rte).relid)
                    ),
                    "A materialized view stores its owner's view of the data. Give masked roles a plain view instead.",
                ),
                Protection::Masked(rules) => {
                    refuse_self_derived_writes(query, index, &rules);
                    query = replace_in_query(query, index, &rules);
                }
            }
        }
        query
    }
}

/// A masked role writing into a masked column a value computed from masked columns would store
/// the masked value over the real one: refuse it.
unsafe fn refuse_self_derived_writes(query: *mut pg_sys::Query, index: i32, rules: &MaskedRelation) {
    // SAFETY: target lists of a valid query; TargetEntry pointers.
    unsafe {
        if (*query).resultRelation != index {
            return;
        }
        let mut lists = Vec::new();
        match (*query).commandType {
            pg_sys::CmdType::CMD_UPDATE => lists.push((*query).targetList),
            pg_sys::CmdType::CMD_MERGE => {
                for action in PgList::<pg_sys::MergeAction>::from_pg((*query).mergeActionList).iter_ptr() {
                    if (*action).commandType == pg_sys::CmdType::CMD_UPDATE {
                        lists.push((*action).targetList);
                    }
                }
            }
            _ => {}
        }
        let oc = (*query).onConflict;
        if !oc.is_null() && (*oc).action == pg_sys::OnConflictAction::ONCONFLICT_UPDATE {
            lists.push((*oc).onConflictSet);
        }
        for list in lists {
            for tle in PgList::<pg_sys::TargetEntry>::from_pg(list).iter_ptr() {
                if (*tle).resjunk || !rules.masks((*tle).resno) {
                    continue;
                }
                if references_columns((*tle).expr.cast(), index, 0, |a| a == 0 || rules.masks(a)) {
                    let column = CStr::from_ptr(pg_sys::get_attname((*rules).relid, (*tle).resno, false)).to_string_lossy().into_owned();
                    raise(
                        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                        format!("masked roles cannot write a value computed from masked columns into masked column \"{column}\""),
                        "It would overwrite the real value with a masked one. Write a new value, or ask an unmasked role.",
                    );
                }
            }
        }
    }
}

/// Replaces the masked columns of range-table entry `index` throughout `query`, keeping
/// row-security quals, WITH CHECK options and ON CONFLICT arbiters on raw values.
unsafe fn replace_in_query(query: *mut pg_sys::Query, index: i32, rules: &MaskedRelation) -> *mut pg_sys::Query {
    // SAFETY: the fields set aside are restored on the copy ReplaceVarsFromTargetList returns,
    // whose range table has the same length and order.
    unsafe {
        let entries = rtable(query);
        let security_quals: Vec<*mut pg_sys::List> = entries
            .iter()
            .map(|(_, rte)| {
                let q = (**rte).securityQuals;
                (**rte).securityQuals = std::ptr::null_mut();
                q
            })
            .collect();
        let with_check = (*query).withCheckOptions;
        (*query).withCheckOptions = std::ptr::null_mut();
        let oc = (*query).onConflict;
        let (arbiter_elems, arbiter_where) = if oc.is_null() {
            (std::ptr::null_mut(), std::ptr::null_mut())
        } else {
            let saved = ((*oc).arbiterElems, (*oc).arbiterWhere);
            (*oc).arbiterElems = std::ptr::null_mut();
            (*oc).arbiterWhere = std::ptr::null_mut();
            saved
        };
        let target_rte = entries[(index - 1) as usize].1;

        let new_query = substitute(query.cast(), index, target_rte, &rules.rules) as *mut pg_sys::Query;

        for ((_, rte), quals) in rtable(new_query).into_iter().zip(security_quals) {
            (*rte).securityQuals = quals;
        }
        (*new_query).withCheckOptions = with_check;
        let new_oc = (*new_query).onConflict;
        if !new_oc.is_null() {
            (*new_oc).arbiterElems = arbiter_elems;
            (*new_oc).arbiterWhere = arbiter_where;
        }
        new_query
    }
}

// ------------------------------------------------------------------ functions and execution

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn needs_fmgr(fn_oid: pg_sys::Oid) -> bool {
    // SAFETY: calling the previous hook with the same argument.
    if let Some(prev) = unsafe { PREV_NEEDS_FMGR } {
        if unsafe { prev(fn_oid) } {
            return true;
        }
    }
    if !any_rules() || !roles::current_user_masked() {
        return false;
    }
    // SAFETY: syscache lookup of a function's pg_proc row, released before returning.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::PROCOID as i32, pg_sys::Datum::from(fn_oid));
        if tuple.is_null() {
            return false;
        }
        let form = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_proc>(tuple);
        let sql = (*form).prolang == pg_sys::Oid::from(crate::catalog_scan::SQL_LANGUAGE_ID);
        pg_sys::ReleaseSysCache(tuple);
        sql
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn executor_start(query_desc: *mut pg_sys::QueryDesc, eflags: i32) {
    if any_rules() {
        roles::check_role_switch();
        set_masked_statement(roles::current_user_masked());
    }
    // SAFETY: forwarding to the previous hook or the standard implementation.
    unsafe {
        match PREV_EXECUTOR_START {
            Some(prev) => prev(query_desc, eflags),
            None => pg_sys::standard_ExecutorStart(query_desc, eflags),
        }
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn emit_log(edata: *mut pg_sys::ErrorData) {
    // SAFETY: edata is the error being reported; only its string fields are read and moved.
    unsafe {
        if MASKED_STATEMENT && !edata.is_null() && (*edata).elevel >= pgrx::PgLogLevel::ERROR as i32 && !(*edata).detail.is_null() {
            let detail = CStr::from_ptr((*edata).detail).to_bytes();
            let quotes_row = [&b"Failing row contains"[..], b"Key (", b"Partition key of the failing row contains"]
                .iter()
                .any(|p| detail.starts_with(p));
            if quotes_row {
                // The server log keeps it for the DBA; the masked client does not see it.
                if (*edata).detail_log.is_null() {
                    (*edata).detail_log = (*edata).detail;
                }
                (*edata).detail = std::ptr::null_mut();
            }
        }
        if let Some(prev) = PREV_EMIT_LOG {
            prev(edata);
        }
    }
}

// ------------------------------------------------------------------ utility statements

#[pgrx::pg_guard]
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
    let mut pstmt = pstmt;
    // SAFETY: utilityStmt is a valid node; tags are checked before casts.
    unsafe {
        let stmt = (*pstmt).utilityStmt;
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_VariableSetStmt) {
            check_set_role(stmt.cast());
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_ExplainStmt) {
            refuse_counting_hidden_rows(stmt.cast());
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreatePolicyStmt) && guard_policy_exists(stmt.cast()) {
            // A restore re-creates pg_privacy's own guard policies before the dump's CREATE
            // POLICY for them runs (labels and registry come first): keep the existing one.
            pgrx::notice!("pg_privacy guard policy already exists, kept");
            return;
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CopyStmt) {
            if let Some(rewritten) = masked_copy(pstmt, stmt.cast()) {
                pstmt = rewritten;
            }
        }
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_VariableSetStmt) {
            force_row_security_on(stmt.cast());
        }
        match PREV_UTILITY {
            Some(prev) => prev(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
            None => pg_sys::standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc),
        }
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_SecLabelStmt) {
            guard_labelled_table(stmt.cast(), query_string);
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateStmt) {
            guard_new_child((*(stmt as *mut pg_sys::CreateStmt)).relation, query_string);
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterTableStmt) {
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*(stmt as *mut pg_sys::AlterTableStmt)).cmds).iter_ptr() {
                if (*cmd).subtype == pg_sys::AlterTableType::AT_AttachPartition && !(*cmd).def.is_null() {
                    guard_new_child((*((*cmd).def as *mut pg_sys::PartitionCmd)).name, query_string);
                }
            }
        }
    }
}

/// After a column gets a rule, its table gets the row-security guards (see row_security.rs).
unsafe fn guard_labelled_table(stmt: *mut pg_sys::SecLabelStmt, query_string: *const std::ffi::c_char) {
    // SAFETY: fields of a valid SecLabelStmt; get_object_address resolves the column the command
    // just labelled (it exists, the command succeeded).
    unsafe {
        if (*stmt).objtype != pg_sys::ObjectType::OBJECT_COLUMN || (*stmt).label.is_null() {
            return;
        }
        if !(*stmt).provider.is_null() && CStr::from_ptr((*stmt).provider).to_bytes() != crate::PROVIDER.as_bytes() {
            return;
        }
        let mut rel: pg_sys::Relation = std::ptr::null_mut();
        let address = pg_sys::get_object_address(
            (*stmt).objtype,
            (*stmt).object,
            &mut rel,
            pg_sys::AccessShareLock as pg_sys::LOCKMODE,
            false,
        );
        if !rel.is_null() {
            pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        }
        crate::row_security::protect(address.objectId, query_string);
    }
}

/// A partition or inheritance child created or attached under a table with masking rules
/// inherits the rules (policy_catalog) and gets the same row-security guards here.
unsafe fn guard_new_child(relation: *mut pg_sys::RangeVar, query_string: *const std::ffi::c_char) {
    // SAFETY: the statement just succeeded, so the relation exists; lookups are missing_ok.
    unsafe {
        if relation.is_null() || !any_rules() {
            return;
        }
        let relid = pg_sys::RangeVarGetRelidExtended(relation, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
        if relid == pg_sys::InvalidOid || crate::catalog_scan::parents_of(relid).is_empty() {
            return;
        }
        if !matches!(protection(relid, false), Protection::None) {
            crate::row_security::protect(relid, query_string);
        }
    }
}

/// pg_dump starts with `SET row_security = off`, which makes any query on a table with row
/// security fail for roles subject to it. Masked roles and roles filtered by consent are always
/// subject to row security, so for them the setting is kept on: their dumps work, with masking
/// and policies applied.
unsafe fn force_row_security_on(stmt: *mut pg_sys::VariableSetStmt) {
    // SAFETY: fields of a valid VariableSetStmt; the replacement argument is a new A_Const.
    unsafe {
        if (*stmt).kind != pg_sys::VariableSetKind::VAR_SET_VALUE || (*stmt).name.is_null() {
            return;
        }
        if CStr::from_ptr((*stmt).name).to_bytes() != b"row_security" {
            return;
        }
        if !((any_rules() && roles::current_user_masked()) || crate::consent::session_is_filtered()) {
            return;
        }
        let on = node::<pg_sys::A_Const>(pg_sys::NodeTag::T_A_Const);
        (*on).val.sval.type_ = pg_sys::NodeTag::T_String;
        (*on).val.sval.sval = pg_sys::pstrdup(c"on".as_ptr());
        (*on).location = -1;
        let mut args = PgList::<pg_sys::A_Const>::new();
        args.push(on);
        (*stmt).args = args.into_pg();
    }
}

/// Whether a CREATE POLICY names one of pg_privacy's guard policies that already exists.
unsafe fn guard_policy_exists(stmt: *mut pg_sys::CreatePolicyStmt) -> bool {
    // SAFETY: fields of a valid CreatePolicyStmt; the relation lookup may find nothing.
    unsafe {
        let name = CStr::from_ptr((*stmt).policy_name).to_string_lossy();
        if name != crate::row_security::ALL_ROWS_POLICY && name != crate::row_security::PRELOADED_POLICY {
            return false;
        }
        let relid = pg_sys::RangeVarGetRelidExtended((*stmt).table, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
        relid != pg_sys::InvalidOid && crate::catalog_scan::policy_names(relid).iter().any(|p| *p == name)
    }
}

/// EXPLAIN ANALYZE counts the rows a filter removed ("Rows Removed by Filter"), so for a
/// session filtered by consent it would count the rows of subjects who did not consent.
unsafe fn refuse_counting_hidden_rows(stmt: *mut pg_sys::ExplainStmt) {
    // SAFETY: options of a valid ExplainStmt are DefElems.
    unsafe {
        let analyze = PgList::<pg_sys::DefElem>::from_pg((*stmt).options).iter_ptr().any(|opt| {
            CStr::from_ptr((*opt).defname).to_bytes() == b"analyze" && pg_sys::defGetBoolean(opt)
        });
        if analyze && crate::consent::session_filtered() {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                "EXPLAIN ANALYZE is not available to sessions filtered by consent",
                "Its row counters would count the rows of subjects without consent. Use EXPLAIN without ANALYZE.",
            );
        }
    }
}

/// `SET ROLE x` from a session whose login role is masked: refused if x is unmasked.
unsafe fn check_set_role(stmt: *mut pg_sys::VariableSetStmt) {
    // SAFETY: fields of a valid VariableSetStmt; args is a list of A_Const.
    unsafe {
        if (*stmt).kind != pg_sys::VariableSetKind::VAR_SET_VALUE || (*stmt).name.is_null() {
            return;
        }
        if CStr::from_ptr((*stmt).name).to_bytes() != b"role" {
            return;
        }
        let args = PgList::<pg_sys::Node>::from_pg((*stmt).args);
        let Some(arg) = args.get_ptr(0) else { return };
        if !pgrx::is_a(arg, pg_sys::NodeTag::T_A_Const) {
            return;
        }
        let aconst = arg as *mut pg_sys::A_Const;
        if (*aconst).isnull || (*aconst).val.node.type_ != pg_sys::NodeTag::T_String {
            return;
        }
        let name = (*aconst).val.sval.sval;
        if name.is_null() || CStr::from_ptr(name).to_bytes() == b"none" {
            return;
        }
        let target = pg_sys::get_role_oid(name, true);
        let login = pg_sys::GetSessionUserId();
        if target != pg_sys::InvalidOid && target != login && roles::is_masked(login) && !roles::is_masked(target) {
            roles::refuse_switch(login, target);
        }
    }
}

/// For a masked role, `COPY table TO` becomes `COPY (SELECT cols FROM ONLY table) TO`, which is
/// planned and so masked. Returns the new statement, or None to run the original.
unsafe fn masked_copy(pstmt: *mut pg_sys::PlannedStmt, copy: *mut pg_sys::CopyStmt) -> Option<*mut pg_sys::PlannedStmt> {
    // SAFETY: fields of a valid CopyStmt; the new nodes are palloc'd in the current context and
    // fully initialised (palloc0 + tag) before use.
    unsafe {
        if (*copy).is_from || (*copy).relation.is_null() || !(*copy).query.is_null() {
            return None;
        }
        let relid = pg_sys::RangeVarGetRelidExtended((*copy).relation, pg_sys::AccessShareLock as i32, 0, None, std::ptr::null_mut());
        // pg_dump copies extension configuration tables: the key table (superusers only) and the
        // consent registry. For a role that may not read one, it dumps as empty (COPY (SELECT
        // WHERE false)) instead of failing, so that role's dumps work and carry neither the key
        // nor the registry. A restore of such a dump gets a new key and an empty registry.
        if crate::keys::is_extension_table(relid)
            && pg_sys::pg_class_aclcheck(relid, pg_sys::GetUserId(), pg_sys::ACL_SELECT as pg_sys::AclMode)
                != pg_sys::AclResult::ACLCHECK_OK
        {
            let select = node::<pg_sys::SelectStmt>(pg_sys::NodeTag::T_SelectStmt);
            let never = node::<pg_sys::A_Const>(pg_sys::NodeTag::T_A_Const);
            (*never).val.boolval.type_ = pg_sys::NodeTag::T_Boolean;
            (*never).val.boolval.boolval = false;
            (*never).location = -1;
            (*select).whereClause = never.cast();
            return Some(with_query(pstmt, copy, select));
        }
        if pg_sys::get_rel_relkind(relid) as u8 != b'r' {
            return None; // COPY TO of other relation kinds is refused by PostgreSQL itself
        }
        if !any_rules() || !roles::current_user_masked() {
            return None;
        }
        if matches!(protection(relid, false), Protection::None) {
            return None;
        }
        let select = node::<pg_sys::SelectStmt>(pg_sys::NodeTag::T_SelectStmt);
        let mut targets = PgList::<pg_sys::ResTarget>::new();
        let columns = PgList::<pg_sys::Node>::from_pg((*copy).attlist);
        if columns.is_empty() {
            let star = node::<pg_sys::A_Star>(pg_sys::NodeTag::T_A_Star);
            targets.push(res_target(star.cast()));
        } else {
            for column in columns.iter_ptr() {
                targets.push(res_target(pg_sys::copyObjectImpl(column.cast()).cast()));
            }
        }
        (*select).targetList = targets.into_pg();
        let range = pg_sys::copyObjectImpl((*copy).relation.cast()) as *mut pg_sys::RangeVar;
        (*range).inh = false;
        let mut from = PgList::<pg_sys::RangeVar>::new();
        from.push(range);
        (*select).fromClause = from.into_pg();

        Some(with_query(pstmt, copy, select))
    }
}

/// A copy of the COPY statement reading from `select` instead of its relation.
unsafe fn with_query(
    pstmt: *mut pg_sys::PlannedStmt,
    copy: *mut pg_sys::CopyStmt,
    select: *mut pg_sys::SelectStmt,
) -> *mut pg_sys::PlannedStmt {
    // SAFETY: deep copies of valid nodes, then field assignments on the copies.
    unsafe {
        let new_copy = pg_sys::copyObjectImpl(copy.cast()) as *mut pg_sys::CopyStmt;
        (*new_copy).relation = std::ptr::null_mut();
        (*new_copy).attlist = std::ptr::null_mut();
        (*new_copy).query = select.cast();
        let new_pstmt = pg_sys::copyObjectImpl(pstmt.cast()) as *mut pg_sys::PlannedStmt;
        (*new_pstmt).utilityStmt = new_copy.cast();
        new_pstmt
    }
}

use crate::tree::make_node as node;

/// A ResTarget selecting a column reference made of `field` (a String column name or A_Star).
unsafe fn res_target(field: *mut pg_sys::Node) -> *mut pg_sys::ResTarget {
    // SAFETY: builds ColumnRef and ResTarget nodes as the grammar would.
    unsafe {
        let colref = node::<pg_sys::ColumnRef>(pg_sys::NodeTag::T_ColumnRef);
        let mut fields = PgList::<pg_sys::Node>::new();
        fields.push(field);
        (*colref).fields = fields.into_pg();
        (*colref).location = -1;
        let target = node::<pg_sys::ResTarget>(pg_sys::NodeTag::T_ResTarget);
        (*target).val = colref.cast();
        (*target).location = -1;
        target
    }
}
