//! Citus tables: what pg_privacy guarantees on a distributed cluster, and refusing what it cannot
//! guarantee yet rather than failing open.
//!
//! On a Citus cluster the rows of a distributed or reference table live in shards: ordinary tables
//! on the worker nodes (and sometimes on the coordinator) that Citus queries with the session's own
//! role. pg_privacy is preloaded on every node, so:
//!
//! - **Masking happens where the rows are read.** A shard is masked with its table's rules
//!   (`masking::rules::resolve` follows a shard to its table, whose labels Citus keeps on every
//!   node), for the queries Citus sends it and for a masked role that connects to a worker and
//!   reads the shard directly alike; a node cannot tell those apart, so it treats them the same.
//!   The coordinator leaves Citus tables to the shards (masking there too would mask twice), and
//!   [`check_plan`] refuses any plan that would read a Citus table's own, local rows instead of
//!   going through Citus (a table keeps its pre-distribution rows until
//!   `truncate_local_data_after_distributing_table`).
//!   Citus has one shortcut that plans a query on a local shard without the planner hook: the
//!   "local fast path" (`CheckAndBuildDelayedFastPathPlan` calls `standard_planner` itself). For
//!   masked statements it is switched off while Citus plans ([`before_citus_plans_masked`]), and
//!   every plan a masked statement runs must carry the mark pg_privacy puts on the plans it masked
//!   if it reads a shard with rules ([`check_executed_plan`]): a shortcut found later fails
//!   closed.
//! - **Masked as the role that reads.** A node masks a shard for the role Citus connects as (the
//!   current user), and knows no other reason a statement is masked (the login, the owner of the
//!   view, function or trigger it reads through). A masked statement whose current user is not
//!   masked is refused on Citus tables with rules ([`check_connecting_role`]).
//! - Shards are recognised by name (`<table>_<shardid>`), so renaming or moving a shard of a table
//!   with rules to another schema is for privacy admins only ([`check_shard_rename`]).
//! - **Consent filters are refused for now.** They are row-security conditions reading the consent
//!   registry, which exists on the coordinator only; Citus's distributed planner ignores the
//!   conditions added on the coordinator. Until the registry lives on every node (docs/citus.md),
//!   a statement governed by a consent-filtered role that reads a Citus subject table, or a shard
//!   of one on any node, is refused with an error that names the table. Since a worker does not
//!   know which roles are filtered (that, too, is in the coordinator's registry), a Citus table
//!   cannot become a subject table and a subject table cannot be distributed
//!   ([`check_new_subject_table`], [`refuse_distributing_subject_tables`] for the direct calls, and
//!   at commit [`before_commit`] for every other path): the refusal on the coordinator is then the
//!   only way in, and it is closed. Citus tables that are not subject
//!   tables, and every role pg_privacy does not govern, are untouched.

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;

use crate::consent::registry::is_subject_table;
use crate::masking::rules::is_protected;
use crate::pg::catalog;
use crate::pg::citus::{is_citus_table, shard_of};
use crate::pg::errors::raise;
use crate::pg::nodes;

/// Refuses a statement governed by consent filters (`filtered`) that reads a Citus subject table
/// or a shard of one: the filters cannot be enforced there yet.
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn refuse_unguaranteed(query: *mut pg_sys::Query, filtered: bool) {
    if !filtered {
        return;
    }
    // SAFETY: walking a valid query's range tables.
    unsafe {
        for q in nodes::queries(query) {
            for (_, rte) in nodes::rtable(q) {
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION {
                    check_consent((*rte).relid);
                }
            }
        }
    }
}

/// Whether `COPY relid TO` by a governed session must become a query, so that the planner's
/// checks and masking see it (Citus runs a table's COPY per shard, beneath the planner).
pub fn copy_needs_query(relid: pg_sys::Oid) -> bool {
    is_citus_table(relid) || shard_of(relid).is_some()
}

/// Refuses a masked statement's plan that reads the local rows of a Citus table with masking
/// rules (not through Citus): the coordinator does not mask Citus tables, their shards are.
///
/// # Safety
/// `stmt` must be the valid PlannedStmt of a masked statement.
pub unsafe fn check_plan(stmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: forwarded.
    let read = unsafe {
        nodes::plan_reads_relation(stmt, |relid| is_citus_table(relid) && is_protected(relid, true))
    };
    if let Some(relid) = read {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("this plan would read Citus table {} without going through Citus", catalog::relation_name(relid)),
            "pg_privacy masks a Citus table's rows in its shards, so masked roles may only read it through Citus's distributed plans.",
        );
    }
}

fn check_consent(relid: pg_sys::Oid) {
    if is_subject_table(relid) {
        if is_citus_table(relid) {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("pg_privacy does not enforce consent filters on Citus table {} yet", catalog::relation_name(relid)),
                "Its rows live in shards, where the consent registry is not available yet, so roles acting for a purpose \
                 cannot read it. Read it as a role pg_privacy does not filter, or keep the table local (see docs/citus.md).",
            );
        }
        return;
    }
    if let Some(table) = shard_of(relid) {
        if is_subject_table(table) {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("relation {} is a shard of Citus table {}, which has consent filters", catalog::relation_name(relid), catalog::relation_name(table)),
                "Roles that pg_privacy filters by consent cannot read shards of subject tables. Ask a role it does not filter.",
            );
        }
    }
}

/// `privacy.set_subject` on a Citus table: refused (see the module header).
pub fn check_new_subject_table(relid: pg_sys::Oid) {
    if is_citus_table(relid) || shard_of(relid).is_some() {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{} is a Citus table, and pg_privacy does not enforce consent filters on Citus tables yet", catalog::relation_name(relid)),
            "Keep subject tables local to the coordinator for now (see docs/citus.md).",
        );
    }
}

/// Citus's functions that turn a local table into a Citus table (first argument: the table).
const DISTRIBUTING_FUNCTIONS: &[&str] = &[
    "create_distributed_table",
    "create_distributed_table_concurrently",
    "create_reference_table",
    "citus_add_local_table_to_metadata",
];

/// Refuses `SELECT create_distributed_table('subject_table', ...)` and its siblings: a subject
/// table that became a Citus table would be filtered nowhere on the workers.
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn refuse_distributing_subject_tables(query: *mut pg_sys::Query) {
    // SAFETY: fields of a valid Query; nodes are tag-checked before casts.
    unsafe {
        if (*query).commandType != pg_sys::CmdType::CMD_SELECT || crate::consent::registry::registry().subjects.is_empty() {
            return;
        }
        for entry in pgrx::PgList::<pg_sys::TargetEntry>::from_pg((*query).targetList).iter_ptr() {
            let expr = (*entry).expr as *mut pg_sys::Node;
            if !pgrx::is_a(expr, pg_sys::NodeTag::T_FuncExpr) {
                continue;
            }
            let call = expr as *mut pg_sys::FuncExpr;
            if pg_sys::get_func_namespace((*call).funcid) != catalog::oid(pg_sys::PG_CATALOG_NAMESPACE) {
                continue;
            }
            let name = pg_sys::get_func_name((*call).funcid);
            if name.is_null() || !DISTRIBUTING_FUNCTIONS.iter().any(|f| std::ffi::CStr::from_ptr(name).to_bytes() == f.as_bytes()) {
                continue;
            }
            let Some(first) = pgrx::PgList::<pg_sys::Node>::from_pg((*call).args).get_ptr(0) else { continue };
            if !pgrx::is_a(first, pg_sys::NodeTag::T_Const) || (*(first as *mut pg_sys::Const)).constisnull {
                continue;
            }
            let relid = pg_sys::Oid::from((*(first as *mut pg_sys::Const)).constvalue.value() as u32);
            let mut family = vec![relid];
            family.extend(catalog::descendants_of(relid));
            if let Some(subject) = family.into_iter().find(|r| is_subject_table(*r)) {
                raise(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!("{} is a consent subject table, and pg_privacy does not enforce consent filters on Citus tables yet", catalog::relation_name(subject)),
                    "Keep subject tables local to the coordinator for now (see docs/citus.md).",
                );
            }
        }
    }
}

/// Citus's GUC for the shortcut that plans a local shard's query with `standard_planner`, around
/// every planner hook (including pg_privacy's).
const LOCAL_FAST_PATH: &std::ffi::CStr = c"citus.enable_local_fast_path_query_optimization";

/// Before Citus plans a masked statement: switches its local fast path off for that planning, in
/// a GUC nest level of its own. Returns the level to pass to [`after_citus_plans_masked`], or 0
/// where Citus is not in the database.
pub fn before_citus_plans_masked() -> i32 {
    if catalog::pg_catalog_relation(c"pg_dist_partition") == pg_sys::InvalidOid {
        return 0;
    }
    // SAFETY: the pattern PostgreSQL uses for functions with SET clauses: a new nest level, a
    // saved setting, undone by AtEOXact_GUC (or by transaction abort if planning fails).
    unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            LOCAL_FAST_PATH.as_ptr(),
            c"off".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        level
    }
}

/// Undoes [`before_citus_plans_masked`].
pub fn after_citus_plans_masked(level: i32) {
    if level > 0 {
        // SAFETY: closes the nest level opened before planning, restoring the setting.
        unsafe { pg_sys::AtEOXact_GUC(true, level) };
    }
}

/// Marks a plan pg_privacy masked: the `privacy.rule_call` type's OID in its dependencies, where
/// nothing else puts it (it costs at most an extra plan invalidation).
///
/// # Safety
/// `stmt` must be a valid PlannedStmt just made for a masked statement.
pub unsafe fn mark_masked_plan(stmt: *mut pg_sys::PlannedStmt) {
    let marker = crate::pg::marker::type_oid();
    if marker != pg_sys::InvalidOid {
        // SAFETY: appending to the plan's own list in the current (planner's) memory context.
        unsafe { (*stmt).relationOids = pg_sys::lappend_oid((*stmt).relationOids, marker) };
    }
}

/// Before a masked statement runs a plan: if the plan reads a Citus shard of a table with rules,
/// pg_privacy must have masked it ([`mark_masked_plan`]); a plan some shortcut made without the
/// planner hook is refused instead of returning raw values.
///
/// # Safety
/// `stmt` must be a valid PlannedStmt about to run.
pub unsafe fn check_executed_plan(stmt: *mut pg_sys::PlannedStmt) {
    // A parallel worker runs a copy of its leader's plan without the plan's dependency list
    // (where the mark is); the leader checked the plan before starting it.
    // SAFETY: reads a backend global.
    if unsafe { pg_sys::ParallelWorkerNumber } >= 0 || catalog::pg_catalog_relation(c"pg_dist_partition") == pg_sys::InvalidOid {
        return;
    }
    // SAFETY: forwarded.
    unsafe { check_connecting_role(stmt) };
    let marker = crate::pg::marker::type_oid();
    // SAFETY: reading a valid plan's lists.
    unsafe {
        if pgrx::PgList::<std::ffi::c_void>::from_pg((*stmt).relationOids).iter_oid().any(|o| o == marker) {
            return;
        }
        let shard = nodes::plan_reads_relation(stmt, |relid| shard_of(relid).is_some_and(|table| is_protected(table, true)));
        if let Some(shard) = shard {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("a plan for shard {} was made without pg_privacy's masking", catalog::relation_name(shard)),
                "A Citus shortcut planned this query without the planner hook. Report it; meanwhile \
                 SET citus.enable_local_fast_path_query_optimization = off or ask an unmasked role.",
            );
        }
    }
}

/// Refuses a masked statement that reads a Citus table with rules while the current user is not
/// masked itself. Citus reads the shards over connections that log in as the current user, and
/// the node holding a shard masks it for that role alone: it cannot know the session's login, the
/// owner of the view, function or trigger the read comes from, or any other reason the statement
/// is masked here. So a masked login's read through a SECURITY DEFINER function of an unmasked
/// owner, or an unmasked role's read through a masked role's view, function or trigger, would come
/// back raw (found by an attack pass on the Citus cluster). Checked where the plan is about to
/// run, so plans made earlier in another context are covered too.
///
/// # Safety
/// `stmt` must be the valid PlannedStmt of a masked statement.
unsafe fn check_connecting_role(stmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: reads the backend's current user.
    let connecting = unsafe { pg_sys::GetUserId() };
    if crate::masking::roles::is_masked(connecting) {
        return;
    }
    let distributed_with_rules = |relid: pg_sys::Oid| is_citus_table(relid) && is_protected(relid, true);
    // SAFETY: reading a valid plan's range table and dependency list.
    let table = unsafe {
        pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable)
            .iter_ptr()
            .filter(|rte| (**rte).rtekind == pg_sys::RTEKind::RTE_RELATION)
            .map(|rte| (*rte).relid)
            .chain(pgrx::PgList::<std::ffi::c_void>::from_pg((*stmt).relationOids).iter_oid())
            .find(|relid| distributed_with_rules(*relid))
    };
    if let Some(table) = table {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "pg_privacy cannot mask Citus table {} for this statement: it is masked, but runs as role \"{}\", which is not",
                catalog::relation_name(table),
                catalog::role_name(connecting)
            ),
            "Citus reads the shards as the current role, and each node masks them for that role only. On Citus, read masked \
             tables as the masked role itself: not through a SECURITY DEFINER function of an unmasked owner, nor through a masked \
             role's view, function or trigger run by someone else (see docs/citus.md).",
        );
    }
}

/// At the call of one of Citus's functions that run SQL text on nodes (`run_command_on_workers`
/// and its family, [`crate::pg::citus::REMOTE_COMMAND_FUNCTIONS`]): refused where the statement
/// is masked or consent-filtered but its current user is not. The command runs in new sessions
/// logged in as the current user, which know nothing of the login or the code owner the
/// restriction comes from (an attack pass read raw values through a SECURITY DEFINER helper and a
/// masked role's trigger, and unfiltered rows through `run_command_on_coordinator`). Checked at
/// each call (the fmgr hook), so cached plans are covered.
pub fn check_remote_command(fn_oid: pg_sys::Oid) {
    // SAFETY: reads the backend's current user.
    let current = unsafe { pg_sys::GetUserId() };
    let masked = crate::masking::rules::any_rules()
        && crate::context::any_governing(crate::masking::roles::masks_now)
        && !crate::masking::roles::is_masked(current);
    let filtered = crate::context::any_governing(crate::consent::purpose::is_filtered_role) && !crate::consent::purpose::is_filtered_role(current);
    if masked || filtered {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!(
                "{} runs its command as role \"{}\", which is not {} as this statement is",
                catalog::function_name(fn_oid),
                catalog::role_name(current),
                if masked { "masked" } else { "filtered by consent" }
            ),
            "Citus runs the command in new sessions as the current role, where pg_privacy cannot apply the login's or the code \
             owner's restrictions. Run it as the restricted role itself (see docs/citus.md).",
        );
    }
}

backend_local! {
    /// `crate::pg::cache::any_generation()` when [`before_commit`] last found nothing to refuse.
    static SUBJECTS_CHECKED_AT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// At `PRE_COMMIT` / `PRE_PREPARE`: refuses to commit a transaction that made a consent subject
/// table a Citus table, by whatever path (a distributing function called with a computed name,
/// `ALTER TABLE ... SET SCHEMA` into a distributed schema, `citus_schema_distribute`, a reference
/// table's foreign key that turns it into a Citus local table; an attack pass found the last
/// three). Consent filters are not enforced on a Citus table's shards, so it must not become one.
/// Cheap when nothing changed: the subject tables are watched, so a change to one of them (Citus
/// invalidates a table whose metadata it writes), or to the registry, moves the generation.
#[inline]
pub fn before_commit() {
    // Processes without a database (the autovacuum launcher, the logical replication launcher)
    // commit transactions too, and cannot read catalogs.
    // SAFETY: reads a backend global.
    if unsafe { pg_sys::MyDatabaseId } == pg_sys::InvalidOid {
        return;
    }
    if SUBJECTS_CHECKED_AT.with(|c| c.get()) == Some(crate::pg::cache::any_generation()) {
        return;
    }
    // SAFETY: a guarded call with no arguments.
    unsafe { check_subjects_stay_local() };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_subjects_stay_local() {
    let since = crate::pg::cache::any_generation();
    let registry = crate::consent::registry::registry();
    if !registry.subjects.is_empty() && catalog::pg_catalog_relation(c"pg_dist_partition") != pg_sys::InvalidOid {
        for relid in registry.subjects.keys() {
            crate::pg::cache::watch_relation(*relid, crate::pg::cache::Class::Relations);
            if crate::pg::citus::made_citus_table_in_this_transaction(*relid) {
                raise(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!(
                        "this transaction made consent subject table {} a Citus table, and pg_privacy does not enforce consent filters on Citus tables yet",
                        catalog::relation_name(*relid)
                    ),
                    "The transaction is rolled back. Keep subject tables local to the coordinator (see docs/citus.md).",
                );
            }
        }
    }
    SUBJECTS_CHECKED_AT.with(|c| c.set(Some(since)));
}

/// `CREATE POLICY privacy_preloaded ... USING (privacy.enforcement_active())`, as Citus repeats it
/// on the nodes for a Citus table or a shard: made restrictive, as pg_privacy made it on the table. Citus writes the command it sends
/// without `AS RESTRICTIVE`; a permissive `privacy_preloaded` (true where the library is
/// preloaded) is OR-ed with the owner's own permissive policies and so opened every row to every
/// role once the table had a rule (found by an attack pass). Returns the statement to run.
///
/// # Safety
/// `pstmt` must be a valid utility PlannedStmt.
pub unsafe fn keep_guard_restrictive(pstmt: *mut pg_sys::PlannedStmt) -> *mut pg_sys::PlannedStmt {
    // SAFETY: the tag is checked before the cast; the statement is copied before it is changed
    // (the tree may be read-only).
    unsafe {
        let stmt = (*pstmt).utilityStmt;
        if !pgrx::is_a(stmt, pg_sys::NodeTag::T_CreatePolicyStmt) {
            return pstmt;
        }
        let policy = stmt as *mut pg_sys::CreatePolicyStmt;
        if !(*policy).permissive || nodes::cstr((*policy).policy_name) != crate::guards::PRELOADED_POLICY {
            return pstmt;
        }
        // Whatever the table: Citus sends the policies of a table it is distributing to the
        // nodes before their metadata says what the new tables are (an attack pass found a table
        // labelled before distribution with a permissive guard on every node). A policy of that
        // name calling privacy.enforcement_active() is pg_privacy's guard, restrictive by design.
        let qual = (*policy).qual;
        if qual.is_null() || !pgrx::is_a(qual, pg_sys::NodeTag::T_FuncCall) {
            return pstmt;
        }
        let names = pgrx::PgList::<pg_sys::Node>::from_pg((*(qual as *mut pg_sys::FuncCall)).funcname);
        let last = names.get_ptr(names.len().saturating_sub(1));
        if !last.is_some_and(|n| pgrx::is_a(n, pg_sys::NodeTag::T_String) && nodes::cstr((*(n as *mut pg_sys::String)).sval) == "enforcement_active") {
            return pstmt;
        }
        let copy = pg_sys::copyObjectImpl(pstmt.cast()) as *mut pg_sys::PlannedStmt;
        (*((*copy).utilityStmt as *mut pg_sys::CreatePolicyStmt)).permissive = false;
        copy
    }
}

/// ALTER TABLE ... RENAME / SET SCHEMA of a shard of a table with rules: privacy admins only. A
/// shard is known by its name; renamed, it would no longer be masked.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn check_shard_rename(stmt: *mut pg_sys::Node) {
    // SAFETY: tags checked before casts; RangeVars resolved without locking, missing is fine.
    unsafe {
        let relation = if pgrx::is_a(stmt, pg_sys::NodeTag::T_RenameStmt) {
            let rename = stmt as *mut pg_sys::RenameStmt;
            if (*rename).renameType != pg_sys::ObjectType::OBJECT_TABLE {
                return;
            }
            (*rename).relation
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterObjectSchemaStmt) {
            let alter = stmt as *mut pg_sys::AlterObjectSchemaStmt;
            if (*alter).objectType != pg_sys::ObjectType::OBJECT_TABLE {
                return;
            }
            (*alter).relation
        } else {
            return;
        };
        if relation.is_null() {
            return;
        }
        let relid = pg_sys::RangeVarGetRelidExtended(relation, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
        if relid == pg_sys::InvalidOid {
            return;
        }
        let Some(table) = shard_of(relid) else { return };
        if is_protected(table, true) || is_subject_table(table) {
            crate::admin::require_admin("rename or move shards of tables with masking rules");
        }
    }
}
