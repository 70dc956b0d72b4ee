//! Planner-time masking: every reference to a masked column, in any clause of any query level,
//! is replaced by the column's rule before planning.
//!
//! The query is final here (views expanded, rules and row-security policies applied), so masking
//! follows the data through views, sub-queries, CTEs, sub-links, RETURNING and DML conditions.
//! Replacement uses PostgreSQL's own helper for view expansion (`ReplaceVarsFromTargetList`),
//! which also rewrites whole-row references and outer references from sub-queries.
//!
//! Only expressions the table owner or a privacy admin wrote see raw values: row-security policy
//! conditions (the owner's policies, pg_privacy's own guards and consent filters) and their
//! row-security WITH CHECK options. They are told apart from a security-barrier view's
//! conditions, which the rewriter puts in the same list for UPDATE and DELETE, by computing the
//! table's policy conditions again (PostgreSQL puts them first) and checking that they match;
//! anything else on the list, and a view's WITH CHECK OPTION, is masked like the rest of the query.
//!
//! Writes by a masked statement are checked too ("writing is reading"): it may not store a value
//! computed from masked columns into a masked column (it would overwrite the real value), may not
//! change a column another column's rule reads (it would flip a conditional rule), and may not
//! write the input of a keyed rule (reading it back would hash a value of its choice).

use pgrx::pg_sys;
use pgrx::PgList;

use super::rules::{protection, MaskedRelation, Protection};
use crate::pg::catalog;
use crate::pg::errors::{raise, refuse};
use crate::pg::nodes::{self, rtable, walk};

/// Masks `query` (a masked statement: see `crate::context` for who decides). Returns the new tree.
///
/// # Safety
/// `query` must be the valid Query handed to the planner.
pub unsafe fn mask_statement(query: *mut pg_sys::Query) -> *mut pg_sys::Query {
    // SAFETY: forwarded.
    unsafe {
        refuse_statistics(query.cast());
        let reads_only = reads_only(query);
        mask_query(query, reads_only)
    }
}

/// Whether a statement, as the planner gets it, came from a plain SELECT of the user's with no
/// data-modifying CTE. In such a statement every security condition of a table is a row-security
/// policy: the only other source is the condition of a security-barrier view a statement writes
/// through (`rewriteTargetView`, rewrite/rewriteHandler.c), which goes on the write's target and
/// is copied by rules into their actions — and a rule action can be a SELECT, or hold one
/// (`DO ALSO SELECT`, `DO ALSO INSERT ... SELECT`: their queries come with another
/// `querySource`, or below a write). An independent review found that shape leaking through a
/// shortcut that trusted every SELECT level.
unsafe fn reads_only(query: *mut pg_sys::Query) -> bool {
    // SAFETY: fields of a valid Query.
    unsafe {
        (*query).commandType == pg_sys::CmdType::CMD_SELECT
            && (*query).querySource == pg_sys::QuerySource::QSRC_ORIGINAL
            && !(*query).hasModifyingCTE
    }
}

/// Planner statistics (pg_statistic behind pg_stats, extended statistics) hold raw column values:
/// most common values, histogram bounds. Masked statements may not read them.
unsafe fn refuse_statistics(node: *mut pg_sys::Node) {
    let statistic = pg_sys::StatisticRelationId;
    let ext = catalog::oid(catalog::PG_STATISTIC_EXT_DATA);
    // SAFETY: walking a valid tree; RangeTblEntry nodes are tag-checked before the cast.
    let reads = unsafe {
        walk(node, |n, _| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_RangeTblEntry) {
                let relid = (*(n as *mut pg_sys::RangeTblEntry)).relid;
                return relid == statistic || relid == ext;
            }
            false
        })
    };
    if reads {
        refuse(
            "masked roles cannot read planner statistics (pg_stats, pg_stats_ext)",
            "Statistics hold raw column values such as most common values. Ask an unmasked role.",
        );
    }
}

/// What a query level set aside while it is masked: its row-security conditions and checks.
struct SetAside {
    /// Per range-table index (0-based): the policy conditions taken off the entry.
    quals: Vec<*mut pg_sys::List>,
    with_check: *mut pg_sys::List,
    arbiter_elems: *mut pg_sys::List,
    arbiter_where: *mut pg_sys::Node,
}

unsafe fn set_aside(query: *mut pg_sys::Query, reads_only: bool) -> SetAside {
    // SAFETY: fields of a valid Query; lists are split, not copied.
    unsafe {
        let mut quals = Vec::new();
        // In a statement that only reads (see `reads_only`) every security condition is a
        // row-security policy. Any other statement re-derives the policies to tell them from view
        // conditions, which runs every policy (the consent filters too) a second time.
        for (index, rte) in rtable(query) {
            if (*rte).securityQuals.is_null() {
                quals.push(std::ptr::null_mut());
                continue;
            }
            let n = if reads_only { usize::MAX } else { policy_condition_count(query, index, rte) };
            let all = PgList::<pg_sys::Node>::from_pg((*rte).securityQuals);
            let mut policy = PgList::<pg_sys::Node>::new();
            let mut rest = PgList::<pg_sys::Node>::new();
            for (i, q) in all.iter_ptr().enumerate() {
                if i < n {
                    policy.push(q);
                } else {
                    rest.push(q);
                }
            }
            refuse_masked_owners_policy_reads((*rte).relid, policy.iter_ptr());
            quals.push(policy.into_pg());
            (*rte).securityQuals = rest.into_pg();
        }
        let mut policy_checks = PgList::<pg_sys::WithCheckOption>::new();
        let mut view_checks = PgList::<pg_sys::WithCheckOption>::new();
        for wco in PgList::<pg_sys::WithCheckOption>::from_pg((*query).withCheckOptions).iter_ptr() {
            if (*wco).kind == pg_sys::WCOKind::WCO_VIEW_CHECK {
                view_checks.push(wco);
            } else {
                policy_checks.push(wco);
            }
        }
        // policies' WITH CHECK conditions are on the statement's target: the same rule as USING
        let target = (*query).resultRelation;
        if target > 0 && !policy_checks.is_empty() {
            let rte = pg_sys::rt_fetch(target as u32, (*query).rtable);
            refuse_masked_owners_policy_reads((*rte).relid, policy_checks.iter_ptr().map(|wco| (*wco).qual));
        }
        (*query).withCheckOptions = view_checks.into_pg();
        let oc = (*query).onConflict;
        let (arbiter_elems, arbiter_where) = if oc.is_null() {
            (std::ptr::null_mut(), std::ptr::null_mut())
        } else {
            let saved = ((*oc).arbiterElems, (*oc).arbiterWhere);
            (*oc).arbiterElems = std::ptr::null_mut();
            (*oc).arbiterWhere = std::ptr::null_mut();
            saved
        };
        SetAside { quals, with_check: policy_checks.into_pg(), arbiter_elems, arbiter_where }
    }
}

/// Policy conditions (USING and WITH CHECK) are set aside to see raw values because their
/// author, the table's owner (or a privacy admin), may. When the owner is a masked role, or a
/// masked role is a member of the owner (members can write the owner's policies), a policy that
/// reads a protected table would hand a masked role raw values (which rows its table shows or
/// accepts, what a function in the policy is passed): refused, whoever runs the statement.
/// Conditions that read no protected table reveal nothing masking hides; pg_privacy's own
/// conditions (guards, consent filters) read only its registry.
///
/// The owner is looked up once per table, and the conditions are walked only when it is suspect.
///
/// # Safety
/// `conditions` must be valid expressions (or NULL) of row-security policies of `relid`.
unsafe fn refuse_masked_owners_policy_reads(relid: pg_sys::Oid, conditions: impl Iterator<Item = *mut pg_sys::Node>) {
    let mut conditions = conditions.filter(|c| !c.is_null()).peekable();
    if conditions.peek().is_none() {
        return;
    }
    let owner = catalog::relation_owner(relid);
    if !crate::masking::roles::masked_or_has_masked_member(owner) {
        return;
    }
    let mut protected = None;
    // SAFETY: walking valid trees; RangeTblEntry nodes are tag-checked before the cast.
    unsafe {
        conditions.any(|condition| walk(condition, |n, _| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_RangeTblEntry) {
                let rte = n as *mut pg_sys::RangeTblEntry;
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION && crate::masking::rules::is_protected((*rte).relid, (*rte).inh) {
                    protected = Some((*rte).relid);
                    return true;
                }
            }
            false
        }));
    }
    if let Some(read) = protected {
        refuse(
            format!(
                "a row-security policy of {} reads {}, and its owner \"{}\" is masked or has a masked member",
                catalog::relation_name(relid),
                catalog::relation_name(read),
                catalog::role_name(owner)
            ),
            "Policies see raw values, so policies a masked role owns or could have written may not read tables with masking rules. A privacy admin can drop the policy, or give the table to an owner no masked role is a member of.",
        );
    }
}

unsafe fn put_back(query: *mut pg_sys::Query, saved: SetAside) {
    // SAFETY: the range table of the masked copy has the same length and order as the original.
    unsafe {
        for ((_, rte), policy) in rtable(query).into_iter().zip(saved.quals) {
            if !policy.is_null() {
                (*rte).securityQuals = pg_sys::list_concat(policy, (*rte).securityQuals);
            }
        }
        (*query).withCheckOptions = pg_sys::list_concat(saved.with_check, (*query).withCheckOptions);
        let oc = (*query).onConflict;
        if !oc.is_null() {
            (*oc).arbiterElems = saved.arbiter_elems;
            (*oc).arbiterWhere = saved.arbiter_where;
        }
    }
}

/// How many of an entry's security conditions are its row-security policy conditions: the
/// rewriter puts them first, before any security-barrier view's conditions. They are computed
/// again and compared; if they do not match, the query is refused rather than guessed at.
unsafe fn policy_condition_count(query: *mut pg_sys::Query, index: i32, rte: *mut pg_sys::RangeTblEntry) -> usize {
    // SAFETY: get_row_security_policies reads the query, the entry and the relation's policies;
    // it returns new lists and changes nothing.
    unsafe {
        if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
            return 0;
        }
        let mut quals: *mut pg_sys::List = std::ptr::null_mut();
        let mut checks: *mut pg_sys::List = std::ptr::null_mut();
        let mut has_row_security = false;
        let mut has_sublinks = false;
        pg_sys::get_row_security_policies(query, rte, index, &mut quals, &mut checks, &mut has_row_security, &mut has_sublinks);
        let expected = PgList::<pg_sys::Node>::from_pg(quals);
        let actual = PgList::<pg_sys::Node>::from_pg((*rte).securityQuals);
        let matches = expected.len() <= actual.len()
            && expected.iter_ptr().zip(actual.iter_ptr()).all(|(e, a)| pg_sys::equal(e.cast(), a.cast()));
        if !matches {
            raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!(
                    "pg_privacy could not tell the row-security policies of {} from other conditions",
                    catalog::relation_name((*rte).relid)
                ),
                "The query is refused rather than masked wrongly. Please report it with the query.",
            );
        }
        expected.len()
    }
}

/// Masks `query` and every query nested in it; returns the new tree.
unsafe fn mask_query(query: *mut pg_sys::Query, reads_only: bool) -> *mut pg_sys::Query {
    // SAFETY: all pointers come from the valid query tree; nodes are tag-checked before casts.
    unsafe {
        let saved = set_aside(query, reads_only);
        // Nested queries first, each masking its own range table: sub-queries in FROM, CTEs and
        // sub-links (including those of view conditions; policy conditions are set aside). The
        // replacement below then copies them as they are.
        for (_, rte) in rtable(query) {
            if (*rte).rtekind == pg_sys::RTEKind::RTE_SUBQUERY && !(*rte).subquery.is_null() {
                (*rte).subquery = mask_query((*rte).subquery, reads_only);
            }
        }
        for cte in PgList::<pg_sys::CommonTableExpr>::from_pg((*query).cteList).iter_ptr() {
            if !(*cte).ctequery.is_null() && pgrx::is_a((*cte).ctequery, pg_sys::NodeTag::T_Query) {
                (*cte).ctequery = mask_query((*cte).ctequery.cast(), reads_only).cast();
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
                (*sublink).subselect = mask_query((*sublink).subselect.cast(), reads_only).cast();
            }
        }

        check_foreign_key_writes(query);
        let mut query = query;
        for (index, rte) in rtable(query) {
            if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                continue;
            }
            let on_conflict = (*query).onConflict;
            if !on_conflict.is_null() && (*on_conflict).exclRelIndex == index {
                continue; // EXCLUDED holds the values being inserted, not stored ones
            }
            if crate::pg::citus::is_citus_table((*rte).relid) {
                // Its rows live in shards, which every node masks where it reads them (the query
                // reaches the shards as this same role); masking here too would mask twice.
                // `crate::distributed::check_plan` makes sure no plan reads the table itself.
                continue;
            }
            match protection((*rte).relid, (*rte).inh) {
                Protection::None => {}
                Protection::DerivedMatview => refuse(
                    format!(
                        "materialized view {} is derived from masked columns and masked roles cannot read it",
                        catalog::relation_name((*rte).relid)
                    ),
                    "A materialized view stores its owner's view of the data. Give masked roles a plain view instead.",
                ),
                Protection::Masked(rules) => {
                    // Anonymizing (privacy.erase_subject) stores masked values on purpose.
                    if !crate::context::anonymizing() {
                        check_writes(query, index, &rules);
                    }
                    query = mask_columns(query, index, rte, &rules);
                }
            }
        }
        put_back(query, saved);
        query
    }
}

/// Replaces, in `query`, every reference to a masked column of range-table entry `index` by its
/// rule. Only the columns the query references are compiled (their rules compile on first use);
/// the replacement is then checked: if a masked column whose rule was not part of it is still
/// referenced anywhere (a place the pre-pass did not look, or a rule reading another masked
/// column), the replacement is redone with every rule, so no reference is ever left raw.
unsafe fn mask_columns(query: *mut pg_sys::Query, index: i32, rte: *mut pg_sys::RangeTblEntry, rules: &MaskedRelation) -> *mut pg_sys::Query {
    // SAFETY: walking and mutating a valid tree; the mutator returns a new tree and leaves the
    // original as it was, so it can be replaced again.
    unsafe {
        let wanted = nodes::columns_referenced(query.cast(), index);
        let pairs = rules.expressions_for(&wanted);
        let done: Vec<i16> = pairs.iter().map(|(a, _)| *a).collect();
        let masked = nodes::replace_vars(query.cast(), index, rte, &pairs, (*query).resultRelation);
        if !nodes::references_columns(masked, index, 0, |attno| rules.masks(attno) && !done.contains(&attno)) {
            return masked.cast();
        }
        nodes::replace_vars(query.cast(), index, rte, &rules.expressions(), (*query).resultRelation).cast()
    }
}

/// The target lists that write into the result relation: (list, is an update).
unsafe fn written_lists(query: *mut pg_sys::Query) -> Vec<(*mut pg_sys::List, bool)> {
    let mut lists = Vec::new();
    // SAFETY: fields of a valid Query.
    unsafe {
        match (*query).commandType {
            pg_sys::CmdType::CMD_UPDATE => lists.push(((*query).targetList, true)),
            pg_sys::CmdType::CMD_INSERT => lists.push(((*query).targetList, false)),
            pg_sys::CmdType::CMD_MERGE => {
                for action in PgList::<pg_sys::MergeAction>::from_pg((*query).mergeActionList).iter_ptr() {
                    match (*action).commandType {
                        pg_sys::CmdType::CMD_UPDATE => lists.push(((*action).targetList, true)),
                        pg_sys::CmdType::CMD_INSERT => lists.push(((*action).targetList, false)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        let oc = (*query).onConflict;
        if !oc.is_null() && (*oc).action == pg_sys::OnConflictAction::ONCONFLICT_UPDATE {
            lists.push(((*oc).onConflictSet, true));
        }
    }
    lists
}

/// The columns a masked statement gives a value in its result relation, checked against the
/// relation's foreign keys to masked columns (`super::utility::check_foreign_key_writes`),
/// whether or not the relation itself has rules; and the rows it deletes or re-keys, against
/// masked columns that reference them. Also run for the foreign-key actions a masked session
/// sets off (`hooks`): a cascade reaches the same tables.
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn check_foreign_key_writes(query: *mut pg_sys::Query) {
    // SAFETY: fields of a valid Query; the result relation's entry and target lists.
    unsafe {
        let index = (*query).resultRelation;
        if index <= 0 {
            return;
        }
        let Some(rte) = PgList::<pg_sys::RangeTblEntry>::from_pg((*query).rtable).get_ptr(index as usize - 1) else { return };
        if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION || crate::pg::citus::is_citus_table((*rte).relid) {
            return;
        }
        let relid = (*rte).relid;
        let mut written = Vec::new();
        let mut updated = Vec::new();
        for (list, is_update) in written_lists(query) {
            for tle in PgList::<pg_sys::TargetEntry>::from_pg(list).iter_ptr() {
                if (*tle).resjunk || (!is_update && is_default_or_null(relid, (*tle).resno, (*tle).expr.cast())) {
                    continue;
                }
                written.push((*tle).resno);
                if is_update {
                    updated.push((*tle).resno);
                }
            }
        }
        super::utility::check_foreign_key_writes(relid, &written);
        // the other side: keys of this table that masked columns elsewhere reference
        let deletes = (*query).commandType == pg_sys::CmdType::CMD_DELETE
            || ((*query).commandType == pg_sys::CmdType::CMD_MERGE
                && PgList::<pg_sys::MergeAction>::from_pg((*query).mergeActionList)
                    .iter_ptr()
                    .any(|a| (*a).commandType == pg_sys::CmdType::CMD_DELETE));
        if deletes {
            super::utility::check_referenced_writes(relid, None);
        }
        if !updated.is_empty() {
            super::utility::check_referenced_writes(relid, Some(&updated));
        }
    }
}

/// "Writing is reading": the checks on what a masked statement writes into masked relation
/// `rules` (range-table entry `index`).
unsafe fn check_writes(query: *mut pg_sys::Query, index: i32, rules: &MaskedRelation) {
    // SAFETY: target lists of a valid query; TargetEntry pointers.
    unsafe {
        if (*query).resultRelation != index {
            return;
        }
        let column = |attno: i16| catalog::attribute_name(rules.relid, attno).unwrap_or_default();
        for (list, is_update) in written_lists(query) {
            for tle in PgList::<pg_sys::TargetEntry>::from_pg(list).iter_ptr() {
                if (*tle).resjunk {
                    continue;
                }
                let attno = (*tle).resno;
                if !is_update && is_default_or_null(rules.relid, attno, (*tle).expr.cast()) {
                    continue; // not a value the statement chose
                }
                if rules.masks(attno) && nodes::references_columns((*tle).expr.cast(), index, 0, |a| a == 0 || rules.masks(a)) {
                    refuse(
                        format!("masked roles cannot write a value computed from masked columns into masked column \"{}\"", column(attno)),
                        "It would overwrite the real value with a masked one. Write a new value, or ask an unmasked role.",
                    );
                }
                for rule in rules.rules().iter() {
                    if rule.keyed && rule.inputs.iter().any(|a| *a == attno || *a == 0) {
                        refuse(
                            format!(
                                "masked roles cannot write column \"{}\": the masking rule of \"{}\" computes a keyed value from it",
                                column(attno),
                                column(rule.attno)
                            ),
                            "Reading the row back would reveal the keyed value of a value of your choice. Ask an unmasked role.",
                        );
                    }
                    if is_update && rule.seed.contains(&attno) {
                        refuse(
                            format!(
                                "masked roles cannot change column \"{}\": the keyed noise of \"{}\" is drawn from it",
                                column(attno),
                                column(rule.attno)
                            ),
                            "Each new value would draw the noise afresh, and many draws average it away. Ask an unmasked role.",
                        );
                    }
                    if is_update && rule.attno != attno && rule.inputs.contains(&attno) {
                        refuse(
                            format!(
                                "masked roles cannot change column \"{}\": the masking rule of \"{}\" depends on it",
                                column(attno),
                                column(rule.attno)
                            ),
                            "Changing it could unmask the row. Ask an unmasked role.",
                        );
                    }
                }
            }
        }
    }
}

/// Whether an INSERT's value for a column is NULL or the column's default (not chosen).
unsafe fn is_default_or_null(relid: pg_sys::Oid, attno: i16, expr: *mut pg_sys::Node) -> bool {
    // SAFETY: expr is a valid expression; build_column_default reads the open relation.
    unsafe {
        if pgrx::is_a(expr, pg_sys::NodeTag::T_Const) && (*(expr as *mut pg_sys::Const)).constisnull {
            return true;
        }
        let rel = pg_sys::relation_open(relid, pg_sys::NoLock as pg_sys::LOCKMODE);
        let default = pg_sys::build_column_default(rel, attno as i32);
        pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
        if default.is_null() {
            return false;
        }
        let strip = |mut e: *mut pg_sys::Node| {
            while !e.is_null() && pgrx::is_a(e, pg_sys::NodeTag::T_RelabelType) {
                e = (*(e as *mut pg_sys::RelabelType)).arg.cast();
            }
            e
        };
        pg_sys::equal(strip(default).cast(), strip(expr).cast())
    }
}
