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
//! - **Consent filters are refused for now.** They are row-security conditions reading the consent
//!   registry, which exists on the coordinator only; Citus's distributed planner ignores the
//!   conditions added on the coordinator. Until the registry lives on every node (docs/citus.md),
//!   a statement governed by a consent-filtered role that reads a Citus subject table, or a shard
//!   of one on any node, is refused with an error that names the table. Since a worker does not
//!   know which roles are filtered (that, too, is in the coordinator's registry), a Citus table
//!   cannot become a subject table and a subject table cannot be distributed
//!   ([`check_new_subject_table`], [`refuse_distributing_subject_tables`]): the refusal on the
//!   coordinator is then the only way in, and it is closed. Citus tables that are not subject
//!   tables, and every role pg_privacy does not govern, are untouched.

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;

use crate::consent::registry::is_subject_table;
use crate::masking::rules::{protection, Protection};
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
        nodes::plan_reads_relation(stmt, |relid| is_citus_table(relid) && !matches!(protection(relid, true), Protection::None))
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
