//! What a consent-filtered statement may not do besides reading hidden rows: count them, destroy
//! them, or read them from a copy.
//!
//! - `EXPLAIN ANALYZE` is refused: "Rows Removed by Filter" would count hidden rows.
//! - Statistics counters are refused (functions named `pg_stat_get_*` in pg_catalog, behind
//!   `pg_stat_user_tables` and friends, and `pg_stat_statements`): `tuples_fetched` of an index
//!   rises for a hidden id and not for an absent one; `seq_tup_read` gives the true row count.
//!   The check looks at every function a statement may call, operators and aggregates' support
//!   functions included.
//! - `TRUNCATE` of a subject table (named, reached through a partitioned or inheritance parent, or
//!   by CASCADE) is refused: row security does not cover it, and it would delete hidden rows.
//! - A materialized view whose query reads a subject table stores whatever rows its owner saw
//!   when it was refreshed: filtered statements may not read it.
//! - `COPY subject_table TO` becomes a query when row security would not apply to it (a
//!   BYPASSRLS current user), so the filter does.
//! - A dropped role's allowed purposes are deleted with it (in the database where it is dropped;
//!   other databases ignore rows of roles that no longer exist).

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::PgList;

use super::registry::{is_subject_table, registry};
use crate::pg::catalog;
use crate::pg::errors::refuse;
use crate::pg::nodes;

/// EXPLAIN ANALYZE counts the rows a filter removed.
///
/// # Safety
/// `stmt` must be a valid ExplainStmt.
pub unsafe fn refuse_explain_analyze(stmt: *mut pg_sys::ExplainStmt) {
    // SAFETY: options of a valid ExplainStmt are DefElems.
    unsafe {
        let analyze = PgList::<pg_sys::DefElem>::from_pg((*stmt).options)
            .iter_ptr()
            .any(|opt| CStr::from_ptr((*opt).defname).to_bytes() == b"analyze" && pg_sys::defGetBoolean(opt));
        if analyze {
            refuse(
                "EXPLAIN ANALYZE is not available to sessions filtered by consent",
                "Its row counters would count the rows of subjects without consent. Use EXPLAIN without ANALYZE.",
            );
        }
    }
}

/// Refuses statistics counters and materialized views derived from subject tables.
///
/// # Safety
/// `query` must be a valid Query being planned.
pub unsafe fn refuse_counters_and_copies(query: *mut pg_sys::Query) {
    // SAFETY: walking a valid tree; lsyscache lookups per function.
    unsafe {
        for f in nodes::functions_called(query.cast()) {
            if is_counter_function(f) {
                refuse(
                    format!("sessions filtered by consent cannot call {}", catalog::function_name(f)),
                    "Statistics counters count the rows of subjects without consent too.",
                );
            }
        }
        for q in nodes::queries(query) {
            for (_, rte) in nodes::rtable(q) {
                // planner statistics: most common values and histograms of every table, matviews
                // that store hidden subjects' rows included (pg_stats hides only tables with row
                // security active)
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION
                    && ((*rte).relid == pg_sys::StatisticRelationId || (*rte).relid == catalog::oid(catalog::PG_STATISTIC_EXT_DATA))
                {
                    refuse(
                        "sessions filtered by consent cannot read planner statistics (pg_stats, pg_stats_ext)",
                        "Statistics hold values of the rows of subjects without consent too, as most common values and histograms.",
                    );
                }
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION
                    && catalog::relkind((*rte).relid) == pg_sys::RELKIND_MATVIEW
                    && matview_reads_subject_table((*rte).relid)
                {
                    refuse(
                        format!(
                            "materialized view {} stores rows of subject tables and sessions filtered by consent cannot read it",
                            catalog::relation_name((*rte).relid)
                        ),
                        "It holds the rows its owner saw at its last refresh, consent withdrawn since included. Use a plain view.",
                    );
                }
            }
        }
    }
}

fn is_counter_function(f: pg_sys::Oid) -> bool {
    // SAFETY: lsyscache lookups returning palloc'd names or NULL.
    let (name, nsp) = unsafe { (pg_sys::get_func_name(f), pg_sys::get_func_namespace(f)) };
    if name.is_null() {
        return false;
    }
    // SAFETY: a NUL-terminated name from the syscache.
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    (nsp == pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE) && name.starts_with("pg_stat_get_")) || name.starts_with("pg_stat_statements")
}

/// Whether a materialized view's stored query may read a subject table: directly, through a
/// partition's parent, through views and other materialized views (their queries, recursively),
/// or through a function whose body cannot be seen from here (see
/// [`crate::context::calls_opaque_function`]).
fn matview_reads_subject_table(relid: pg_sys::Oid) -> bool {
    stored_query_reads_subject_table(relid)
}

/// The same for a view's or materialized view's stored query.
fn stored_query_reads_subject_table(relid: pg_sys::Oid) -> bool {
    // SAFETY: get_view_query returns the view's stored query, read while the relation is open.
    unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let query = pg_sys::get_view_query(rel);
        let reads = crate::context::calls_opaque_function(query)
            || nodes::queries(query).into_iter().any(|q| {
                nodes::rtable(q).into_iter().any(|(_, rte)| {
                    (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION
                        && (*rte).relid != relid
                        && (is_subject_table((*rte).relid)
                            || catalog::ancestors_of((*rte).relid).into_iter().any(is_subject_table)
                            || (matches!(catalog::relkind((*rte).relid), pg_sys::RELKIND_MATVIEW | pg_sys::RELKIND_VIEW)
                                && stored_query_reads_subject_table((*rte).relid)))
                })
            });
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        reads
    }
}

backend_local! {
    /// Per relation: code on it (a trigger, CHECK constraint, generated column or index
    /// expression) calling a function a filtered role owns, if it is a subject table.
    static FILTERED_CODE: crate::pg::cache::CachedMap<pg_sys::Oid, Option<(String, pg_sys::Oid)>> =
        crate::pg::cache::CachedMap::depending_on(crate::pg::cache::Deps::of(&[
            crate::pg::cache::Class::Relations,
            crate::pg::cache::Class::Roles,
            crate::pg::cache::Class::Functions,
        ]));
}

/// A write to a subject table (or a partition or child of one) whose code calls a function a
/// consent-filtered role owns would hand that role every row written, hidden subjects' included
/// (`OLD` and `NEW` of a trigger, the values a CHECK or index expression sees), whoever writes and
/// however (a cascade the filtered session sets off): refused, whoever runs it, as masking
/// refuses masked roles' code on protected tables (found by an attack pass).
pub fn refuse_filtered_code(relid: pg_sys::Oid) {
    let reg = registry();
    if reg.subjects.is_empty() || reg.role_purposes.is_empty() {
        return;
    }
    let family = catalog::descendants_cached(relid);
    for rel in std::iter::once(relid).chain(family.iter().copied()) {
        let found = FILTERED_CODE.with(|c| {
            c.get(rel, |rel| {
                crate::pg::cache::watch_relation(rel, crate::pg::cache::Class::Relations);
                if !(is_subject_table(rel) || catalog::ancestors_of(rel).into_iter().any(is_subject_table)) {
                    return None;
                }
                catalog::code_functions(rel).into_iter().find_map(|(what, f)| {
                    catalog::function_info(f).map(|i| i.owner).filter(|o| super::purpose::is_filtered_role(*o)).map(|o| (what, o))
                })
            })
        });
        if let Some((what, owner)) = found {
            refuse(
                format!(
                    "{what} on {} runs a function of role \"{}\", which is filtered by consent and would see hidden rows",
                    catalog::relation_name(rel),
                    catalog::role_name(owner)
                ),
                "A privacy admin should drop it, or give its function to an unfiltered owner who vouches for it.",
            );
        }
    }
}

/// Refuses, to everyone, making a subject table (or a table with one among its partitions or
/// children) a partition or child of a table that is not a subject table (`ATTACH PARTITION`,
/// `INHERIT`): row security applies to the table a statement names, so reads through that parent
/// would not be filtered (found by an attack pass, for partitions declared subject tables).
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn refuse_subject_under_plain_parent(stmt: *mut pg_sys::Node) {
    // SAFETY: the tag is checked before the cast.
    if !unsafe { pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterTableStmt) } || registry().subjects.is_empty() {
        return;
    }
    let relid = crate::pg::nodes::range_relid;
    // SAFETY: fields of a valid AlterTableStmt; tags are checked before casts.
    unsafe {
        let at = stmt as *mut pg_sys::AlterTableStmt;
        let named = relid((*at).relation);
        for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*at).cmds).iter_ptr() {
            let def = (*cmd).def;
            let (parent, child) = match (*cmd).subtype {
                pg_sys::AlterTableType::AT_AttachPartition if !def.is_null() && pgrx::is_a(def, pg_sys::NodeTag::T_PartitionCmd) => {
                    (named, relid((*(def as *mut pg_sys::PartitionCmd)).name))
                }
                pg_sys::AlterTableType::AT_AddInherit if !def.is_null() && pgrx::is_a(def, pg_sys::NodeTag::T_RangeVar) => (relid(def.cast()), named),
                _ => continue,
            };
            if parent == pg_sys::InvalidOid || child == pg_sys::InvalidOid {
                continue;
            }
            let child_subject = is_subject_table(child) || catalog::descendants_of(child).into_iter().any(is_subject_table);
            let parent_subject = is_subject_table(parent) || catalog::ancestors_of(parent).into_iter().any(is_subject_table);
            if child_subject && !parent_subject {
                refuse(
                    format!(
                        "{} holds a subject table and cannot become a partition or child of {}, which is not a subject table",
                        catalog::relation_name(child),
                        catalog::relation_name(parent)
                    ),
                    "Reads through the parent would not be filtered. Declare the parent a subject table first (privacy.set_subject).",
                );
            }
        }
    }
}

/// Refuses TRUNCATE reaching a subject table.
///
/// # Safety
/// `stmt` must be a valid TruncateStmt.
pub unsafe fn refuse_truncate(stmt: *mut pg_sys::TruncateStmt) {
    if registry().subjects.is_empty() {
        return;
    }
    // SAFETY: relations of a valid TruncateStmt are RangeVars; lookups are missing_ok.
    unsafe {
        let mut relids: Vec<pg_sys::Oid> = Vec::new();
        for range in PgList::<pg_sys::RangeVar>::from_pg((*stmt).relations).iter_ptr() {
            let relid = pg_sys::RangeVarGetRelidExtended(range, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
            if relid == pg_sys::InvalidOid {
                continue;
            }
            relids.push(relid);
            if (*range).inh {
                relids.extend(catalog::descendants_of(relid));
            }
        }
        if (*stmt).behavior == pg_sys::DropBehavior::DROP_CASCADE {
            // Tables referencing these by foreign key are truncated too, transitively.
            loop {
                let mut list: *mut pg_sys::List = std::ptr::null_mut();
                for r in &relids {
                    list = pg_sys::lappend_oid(list, *r);
                }
                let referencing = PgList::<std::ffi::c_void>::from_pg(pg_sys::heap_truncate_find_FKs(list));
                let before = relids.len();
                for r in referencing.iter_oid() {
                    if !relids.contains(&r) {
                        relids.push(r);
                        relids.extend(catalog::descendants_of(r));
                    }
                }
                if relids.len() == before {
                    break;
                }
            }
        }
        if let Some(subject) = relids.into_iter().find(|r| is_subject_table(*r) || catalog::ancestors_of(*r).into_iter().any(is_subject_table)) {
            refuse(
                format!("sessions filtered by consent cannot truncate subject table {}", catalog::relation_name(subject)),
                "TRUNCATE would remove the rows of subjects the session may not see. Use DELETE, which the filter applies to.",
            );
        }
    }
}

/// Whether `COPY relid TO` must become a query for a filtered session: row security would not
/// apply to it for the current user.
pub fn copy_needs_query(relid: pg_sys::Oid) -> bool {
    // a materialized view that stores rows of subject tables: as a query, the planner refuses it
    // as it refuses a SELECT of it
    if catalog::relkind(relid) == pg_sys::RELKIND_MATVIEW {
        return matview_reads_subject_table(relid);
    }
    if !is_subject_table(relid) {
        return false;
    }
    // SAFETY: check_enable_rls with noError reads the relation's flags and the user's attributes.
    unsafe { pg_sys::check_enable_rls(relid, pg_sys::InvalidOid, true) != pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32 }
}

/// After a role is dropped: its allowed purposes go with it (object-access hook, OAT_DROP on
/// pg_authid). The rows are deleted with the extension owner's rights by a constant statement.
pub fn forget_role(role: pg_sys::Oid) {
    let Some(table) = catalog::extension_table(c"role_purpose") else { return };
    // SAFETY: a heap scan of the extension's table in the current snapshot, deleting the rows of
    // `role` with simple_heap_delete (catalog-style maintenance, as PostgreSQL does for pg_depend);
    // the relation is opened with RowExclusiveLock and closed on every path.
    unsafe {
        let rel = pg_sys::table_open(table, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
        let attno = catalog::attnum(table, c"role");
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let scan = pg_sys::systable_beginscan(rel, pg_sys::InvalidOid, false, snapshot, 0, std::ptr::null_mut());
        loop {
            let tuple = pg_sys::systable_getnext(scan);
            if tuple.is_null() {
                break;
            }
            let mut isnull = false;
            let d = pg_sys::heap_getattr(tuple, attno as i32, (*rel).rd_att, &mut isnull);
            if !isnull && pg_sys::Oid::from(d.value() as u32) == role {
                pg_sys::simple_heap_delete(rel, &mut (*tuple).t_self);
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, pg_sys::RowExclusiveLock as pg_sys::LOCKMODE);
        pg_sys::CacheInvalidateRelcacheAll();
        pg_sys::CommandCounterIncrement();
    }
}
