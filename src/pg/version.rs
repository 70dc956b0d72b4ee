//! Differences between the PostgreSQL versions pg_privacy builds for, in one place.
//!
//! Every `cfg(feature = "pgNN")` of the crate is here; the rest of the code calls these.
//! PostgreSQL 18 references are to the headers of 18.6 (`include/server/...`).

use pgrx::pg_sys;

// ------------------------------------------------------------------ tree walkers

/// A node walker callback (nodes/nodeFuncs.h).
pub type TreeWalker = Option<unsafe extern "C-unwind" fn(*mut pg_sys::Node, *mut std::ffi::c_void) -> bool>;

// SAFETY (for the block): PostgreSQL's own exported walkers with the signatures of
// nodes/nodeFuncs.h, declared without pgrx's guard for `crate::pg::nodes::walk`'s inner calls
// (why that is sound is explained there). In 15 the functions carry these names.
#[cfg(feature = "pg15")]
unsafe extern "C-unwind" {
    #[link_name = "expression_tree_walker"]
    pub fn expression_tree_walker_unguarded(node: *mut pg_sys::Node, walker: TreeWalker, context: *mut std::ffi::c_void) -> bool;
    #[link_name = "query_tree_walker"]
    pub fn query_tree_walker_unguarded(
        query: *mut pg_sys::Query,
        walker: TreeWalker,
        context: *mut std::ffi::c_void,
        flags: std::ffi::c_int,
    ) -> bool;
}

// SAFETY (for the block): as above; since 16 the exported functions are the `_impl` ones
// (nodes/nodeFuncs.h:152-180, the old names are macros).
#[cfg(feature = "pg18")]
unsafe extern "C-unwind" {
    #[link_name = "expression_tree_walker_impl"]
    pub fn expression_tree_walker_unguarded(node: *mut pg_sys::Node, walker: TreeWalker, context: *mut std::ffi::c_void) -> bool;
    #[link_name = "query_tree_walker_impl"]
    pub fn query_tree_walker_unguarded(
        query: *mut pg_sys::Query,
        walker: TreeWalker,
        context: *mut std::ffi::c_void,
        flags: std::ffi::c_int,
    ) -> bool;
}

// ------------------------------------------------------------------ ExecutorRun

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

// SAFETY (for the block): as above; PostgreSQL 18 dropped `execute_once`
// (executor/executor.h:235-236).
#[cfg(feature = "pg18")]
unsafe extern "C-unwind" {
    pub fn standard_ExecutorRun(query_desc: *mut pg_sys::QueryDesc, direction: pg_sys::ScanDirection::Type, count: u64);
}

/// The arguments of `ExecutorRun` after the QueryDesc, passed on unchanged.
#[derive(Clone, Copy)]
pub struct ExecutorRunArgs {
    direction: pg_sys::ScanDirection::Type,
    count: u64,
    #[cfg(feature = "pg15")]
    execute_once: bool,
}

impl ExecutorRunArgs {
    /// Calls `prev`, or `standard_ExecutorRun` when there is none, raw (see `crate::pg::ffi`).
    ///
    /// # Safety
    /// `query_desc` is the QueryDesc the hook was given; the calling frames hold nothing that
    /// needs dropping.
    #[inline(always)]
    pub unsafe fn pass_on(self, prev: pg_sys::ExecutorRun_hook_type, query_desc: *mut pg_sys::QueryDesc) {
        // SAFETY: caller's promise; the arguments are those PostgreSQL passed.
        unsafe {
            #[cfg(feature = "pg15")]
            match prev {
                Some(prev) => prev(query_desc, self.direction, self.count, self.execute_once),
                None => standard_ExecutorRun(query_desc, self.direction, self.count, self.execute_once),
            }
            #[cfg(feature = "pg18")]
            match prev {
                Some(prev) => prev(query_desc, self.direction, self.count),
                None => standard_ExecutorRun(query_desc, self.direction, self.count),
            }
        }
    }
}

/// pg_privacy's `ExecutorRun_hook`: `crate::hooks::executor_run` with the arguments bundled.
#[cfg(feature = "pg15")]
#[link_section = ".text.hot.pg_privacy"]
pub unsafe extern "C-unwind" fn executor_run_hook(
    query_desc: *mut pg_sys::QueryDesc,
    direction: pg_sys::ScanDirection::Type,
    count: u64,
    execute_once: bool,
) {
    // SAFETY: forwarded from PostgreSQL; this frame holds plain values only.
    unsafe { crate::hooks::executor_run(query_desc, ExecutorRunArgs { direction, count, execute_once }) }
}

/// pg_privacy's `ExecutorRun_hook` (executor/executor.h:79-81 in 18: no `execute_once`).
#[cfg(feature = "pg18")]
#[link_section = ".text.hot.pg_privacy"]
pub unsafe extern "C-unwind" fn executor_run_hook(query_desc: *mut pg_sys::QueryDesc, direction: pg_sys::ScanDirection::Type, count: u64) {
    // SAFETY: forwarded from PostgreSQL; this frame holds plain values only.
    unsafe { crate::hooks::executor_run(query_desc, ExecutorRunArgs { direction, count }) }
}

// ------------------------------------------------------------------ permissions

/// The integer members of a PostgreSQL List, read without building a PgList (no destructor in an
/// unguarded frame).
///
/// # Safety
/// `list` is NIL or a valid integer List.
unsafe fn int_list_member(list: *mut pg_sys::List, i: i32) -> i32 {
    // SAFETY: caller's promise; i is below the list's length.
    unsafe { (*(*list).elements.add(i as usize)).int_value }
}

#[cfg(feature = "pg15")]
unsafe extern "C-unwind" {
    fn ExecCheckRTPerms(range_table: *mut pg_sys::List, ereport_on_violation: bool) -> bool;
}

#[cfg(feature = "pg18")]
unsafe extern "C-unwind" {
    fn lappend(list: *mut pg_sys::List, datum: *mut std::ffi::c_void) -> *mut pg_sys::List;
    fn ExecCheckPermissions(range_table: *mut pg_sys::List, rteperminfos: *mut pg_sys::List, ereport_on_violation: bool) -> bool;
}

/// DoCopy's privilege check for `COPY ... FROM`: INSERT on the table, or on each column copied
/// into (`attnums`, from CopyGetAttnums), as the current user; raises PostgreSQL's own error.
/// Up to 15 the requirement is on the range-table entry (commands/copy.c in 15). Unguarded, for
/// `crate::pg::copy`: only raw pointers and integers in this frame.
///
/// # Safety
/// `pstate`'s range table holds `nsitem`, just added for the open relation; `attnums` is NIL or
/// an integer List.
#[cfg(feature = "pg15")]
pub unsafe fn check_insert_privileges(pstate: *mut pg_sys::ParseState, nsitem: *mut pg_sys::ParseNamespaceItem, attnums: *mut pg_sys::List) {
    // SAFETY: caller's promise; PostgreSQL's own functions, declared unguarded.
    unsafe {
        let rte = (*nsitem).p_rte;
        (*rte).requiredPerms = pg_sys::ACL_INSERT as pg_sys::AclMode;
        let count = if attnums.is_null() { 0 } else { (*attnums).length };
        for i in 0..count {
            let member = int_list_member(attnums, i) - pg_sys::FirstLowInvalidHeapAttributeNumber;
            (*rte).insertedCols = super::ffi::bms_add_member((*rte).insertedCols, member);
        }
        ExecCheckRTPerms((*pstate).p_rtable, true);
    }
}

/// DoCopy's privilege check for `COPY ... FROM` (see the 15 version); since 16 the requirement is
/// in the entry's RTEPermissionInfo (commands/copy.c in 18).
///
/// # Safety
/// `pstate`'s range table holds `nsitem`, just added for the open relation; `attnums` is NIL or
/// an integer List.
#[cfg(feature = "pg18")]
pub unsafe fn check_insert_privileges(pstate: *mut pg_sys::ParseState, nsitem: *mut pg_sys::ParseNamespaceItem, attnums: *mut pg_sys::List) {
    // SAFETY: caller's promise; PostgreSQL's own functions, declared unguarded; the one-element
    // list is built in the current memory context like DoCopy's list_make1.
    unsafe {
        let perminfo = (*nsitem).p_perminfo;
        (*perminfo).requiredPerms = pg_sys::ACL_INSERT as pg_sys::AclMode;
        let count = if attnums.is_null() { 0 } else { (*attnums).length };
        for i in 0..count {
            let member = int_list_member(attnums, i) - pg_sys::FirstLowInvalidHeapAttributeNumber;
            (*perminfo).insertedCols = super::ffi::bms_add_member((*perminfo).insertedCols, member);
        }
        let perminfos = lappend(std::ptr::null_mut(), perminfo.cast());
        ExecCheckPermissions((*pstate).p_rtable, perminfos, true);
    }
}

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

/// The role whose privileges a range-table entry is read with (a view's or rule's owner), or
/// InvalidOid for the current user. Since PostgreSQL 16 it is in the RTEPermissionInfo the entry
/// points at (`perminfoindex`, 1-based, 0 = none) in the query's `rteperminfos`
/// (nodes/parsenodes.h:1125, 1314-1325).
///
/// # Safety
/// `rte` must be a valid entry of `query`'s range table.
#[cfg(feature = "pg18")]
pub unsafe fn check_as_user(query: *mut pg_sys::Query, rte: *mut pg_sys::RangeTblEntry) -> pg_sys::Oid {
    // SAFETY: caller's promise; rteperminfos is a List of RTEPermissionInfo.
    unsafe { perm_info_check_as_user((*query).rteperminfos, rte) }
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

/// Like [`check_as_user`], for a plan's flattened range table, whose entries point into the
/// plan's `permInfos` (nodes/plannodes.h:100-102).
///
/// # Safety
/// `rte` must be a valid entry of `stmt`'s range table.
#[cfg(feature = "pg18")]
pub unsafe fn plan_check_as_user(stmt: *mut pg_sys::PlannedStmt, rte: *mut pg_sys::RangeTblEntry) -> pg_sys::Oid {
    // SAFETY: caller's promise; permInfos is a List of RTEPermissionInfo.
    unsafe { perm_info_check_as_user((*stmt).permInfos, rte) }
}

#[cfg(feature = "pg18")]
unsafe fn perm_info_check_as_user(perm_infos: *mut pg_sys::List, rte: *mut pg_sys::RangeTblEntry) -> pg_sys::Oid {
    // SAFETY: rte is valid; perminfoindex indexes perm_infos (checked against its length, where
    // PostgreSQL's getRTEPermissionInfo would raise an error).
    unsafe {
        let index = (*rte).perminfoindex as usize;
        if index == 0 {
            return pg_sys::InvalidOid;
        }
        match pgrx::PgList::<pg_sys::RTEPermissionInfo>::from_pg(perm_infos).get_ptr(index - 1) {
            Some(info) => (*info).checkAsUser,
            None => pg_sys::InvalidOid,
        }
    }
}

/// Lets the relations read by the sub-queries of `expr` (a condition pg_privacy builds itself:
/// the consent registry read by a filter) be read without checking the reader's privileges: the
/// reader learns only which rows it may see.
///
/// PostgreSQL 15: the entries' `requiredPerms` are cleared (no check at all); nothing undoes it.
///
/// # Safety
/// `expr` must be a valid, freshly analysed expression tree pg_privacy owns.
#[cfg(feature = "pg15")]
pub unsafe fn skip_permission_checks(expr: *mut pg_sys::Node) {
    // SAFETY: walking a valid tree; RangeTblEntry nodes are tag-checked before the cast.
    unsafe {
        crate::pg::nodes::walk(expr, |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_RangeTblEntry) {
                let rte = node as *mut pg_sys::RangeTblEntry;
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION {
                    (*rte).requiredPerms = 0;
                }
            }
            false
        });
    }
}

/// PostgreSQL 16 and later: the check lives in each query's RTEPermissionInfo list
/// (nodes/parsenodes.h:1314-1325). It cannot be dropped (an entry with `perminfoindex` 0 makes
/// get_row_security_policies() raise "invalid perminfoindex", rewrite/rowsecurity.c) nor emptied
/// (ExecCheckOneRelPerms asserts `requiredPerms != 0`, executor/execMain.c), so it is made as
/// PostgreSQL makes a view's: checked as the relation's owner (`checkAsUser`), who can always
/// read it. The rewriter may put the reader back (see [`restore_skipped_permission_checks`]), so
/// each entry is also marked: `insertedCols` = {whole row}, which parse analysis never produces
/// and the executor reads only for ACL_INSERT.
///
/// # Safety
/// `expr` must be a valid, freshly analysed expression tree pg_privacy owns.
#[cfg(feature = "pg18")]
pub unsafe fn skip_permission_checks(expr: *mut pg_sys::Node) {
    // SAFETY: walking a valid tree; Query nodes are tag-checked before the cast; rteperminfos is
    // a List of RTEPermissionInfo.
    unsafe {
        crate::pg::nodes::walk(expr, |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
                let query = node as *mut pg_sys::Query;
                for info in pgrx::PgList::<pg_sys::RTEPermissionInfo>::from_pg((*query).rteperminfos).iter_ptr() {
                    (*info).checkAsUser = crate::pg::catalog::relation_owner((*info).relid);
                    (*info).insertedCols = pg_sys::bms_make_singleton(SKIPPED_CHECK_MARK);
                }
            }
            false
        });
    }
}

/// The `insertedCols` member marking a read whose check [`skip_permission_checks`] moved to the
/// owner: the whole-row "column" (InvalidAttrNumber, offset as in every column set).
#[cfg(feature = "pg18")]
const SKIPPED_CHECK_MARK: i32 = -pg_sys::FirstLowInvalidHeapAttributeNumber;

/// Whether [`skip_permission_checks`] marked this permission entry.
#[cfg(feature = "pg18")]
unsafe fn skipped_check_marked(info: *mut pg_sys::RTEPermissionInfo) -> bool {
    // SAFETY: info is a valid RTEPermissionInfo; insertedCols is a Bitmapset or NULL.
    unsafe {
        (*info).requiredPerms == pg_sys::ACL_SELECT as pg_sys::AclMode
            && pg_sys::bms_num_members((*info).insertedCols) == 1
            && pg_sys::bms_is_member(SKIPPED_CHECK_MARK, (*info).insertedCols)
    }
}

/// PostgreSQL 15: nothing to restore (`requiredPerms` survives the rewriter and planner).
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
#[cfg(feature = "pg15")]
pub unsafe fn restore_skipped_permission_checks(_stmt: *mut pg_sys::PlannedStmt, _allowed: impl Fn(pg_sys::Oid) -> bool) {}

/// PostgreSQL 16 and later: when a condition is applied as a row-security policy,
/// get_row_security_policies() copies the protected table's `checkAsUser` into every sub-query
/// of the policy (rewrite/rowsecurity.c: `setRuleCheckAsUser(*securityQuals, ...)`, declared in
/// rewrite/rewriteDefine.h:39), which puts the reader's check back; the planner does the same for
/// the SQL functions it inlines (it rewrites their bodies itself, after planner_hook). So, on the
/// finished plan, every permission entry [`skip_permission_checks`] marked that reads only a
/// SELECT of a relation `allowed` accepts is checked as the relation's owner again
/// (`PlannedStmt.permInfos`, nodes/plannodes.h:100-102, is what ExecCheckPermissions reads).
///
/// # Safety
/// `stmt` must be the valid PlannedStmt the planner just made.
#[cfg(feature = "pg18")]
pub unsafe fn restore_skipped_permission_checks(stmt: *mut pg_sys::PlannedStmt, allowed: impl Fn(pg_sys::Oid) -> bool) {
    // SAFETY: permInfos of a valid PlannedStmt is a List of RTEPermissionInfo.
    unsafe {
        for info in pgrx::PgList::<pg_sys::RTEPermissionInfo>::from_pg((*stmt).permInfos).iter_ptr() {
            if skipped_check_marked(info) && allowed((*info).relid) {
                (*info).checkAsUser = crate::pg::catalog::relation_owner((*info).relid);
            }
        }
    }
}

// ------------------------------------------------------------------ relations and trees

/// The `i`-th (0-based) attribute of a tuple descriptor, as `TupleDescAttr()`.
///
/// # Safety
/// `desc` must be a valid TupleDesc and `i < natts`.
#[cfg(feature = "pg15")]
pub unsafe fn tuple_desc_attr(desc: pg_sys::TupleDesc, i: usize) -> *mut pg_sys::FormData_pg_attribute {
    // SAFETY: caller's promise; attrs is the descriptor's trailing attribute array.
    unsafe { (*desc).attrs.as_mut_ptr().add(i) }
}

/// The `i`-th (0-based) attribute of a tuple descriptor, as `TupleDescAttr()`. In PostgreSQL 18
/// the FormData_pg_attribute array follows `compact_attrs[natts]` (access/tupdesc.h:141-165).
///
/// # Safety
/// `desc` must be a valid TupleDesc and `i < natts`.
#[cfg(feature = "pg18")]
pub unsafe fn tuple_desc_attr(desc: pg_sys::TupleDesc, i: usize) -> *mut pg_sys::FormData_pg_attribute {
    // SAFETY: caller's promise; the address is TupleDescAttrAddress(desc) + i.
    unsafe {
        let natts = (*desc).natts as usize;
        (*desc).compact_attrs.as_mut_ptr().add(natts).cast::<pg_sys::FormData_pg_attribute>().add(i)
    }
}

/// The relation's primary-key index, or InvalidOid; a deferrable primary key does not count
/// (PostgreSQL 15's only behaviour; `deferrable_ok = false` from 17 on, utils/relcache.h:57).
///
/// # Safety
/// `rel` must be open.
pub unsafe fn primary_key_index(rel: pg_sys::Relation) -> pg_sys::Oid {
    // SAFETY: caller's promise.
    unsafe {
        #[cfg(feature = "pg15")]
        return pg_sys::RelationGetPrimaryKeyIndex(rel);
        #[cfg(feature = "pg18")]
        return pg_sys::RelationGetPrimaryKeyIndex(rel, false);
    }
}

/// `ReplaceVarsFromTargetList(node, varno, 0, rte, tlist, [result_relation,]
/// REPLACEVARS_CHANGE_VARNO, varno, has_sublinks)`. From PostgreSQL 18, Vars of RETURNING
/// `old.`/`new.` must know the query's result relation (rewrite/rewriteManip.h:113-120): a
/// replaced column keeps its OLD/NEW reading, and with 0 the server raises "variable returning
/// old/new found outside RETURNING list".
///
/// # Safety
/// As `ReplaceVarsFromTargetList`.
pub unsafe fn replace_vars_from_target_list(
    node: *mut pg_sys::Node,
    varno: i32,
    rte: *mut pg_sys::RangeTblEntry,
    tlist: *mut pg_sys::List,
    result_relation: i32,
    has_sublinks: &mut bool,
) -> *mut pg_sys::Node {
    let nomatch = pg_sys::ReplaceVarsNoMatchOption::REPLACEVARS_CHANGE_VARNO;
    // SAFETY: caller's promise.
    unsafe {
        #[cfg(feature = "pg15")]
        {
            let _ = result_relation;
            pg_sys::ReplaceVarsFromTargetList(node, varno, 0, rte, tlist, nomatch, varno, has_sublinks)
        }
        #[cfg(feature = "pg18")]
        pg_sys::ReplaceVarsFromTargetList(node, varno, 0, rte, tlist, result_relation, nomatch as _, varno, has_sublinks)
    }
}

/// Whether a column of this `attgenerated` kind is computed from other columns of its row.
/// PostgreSQL 18 adds virtual generated columns (the default kind), computed when read and
/// expanded by the planner *after* planner_hook (optimizer/prep.h:28
/// expand_virtual_generated_columns), so masking must treat them like stored ones.
pub fn is_generated(attgenerated: u8) -> bool {
    #[cfg(feature = "pg15")]
    return attgenerated == pg_sys::ATTRIBUTE_GENERATED_STORED;
    #[cfg(feature = "pg18")]
    return attgenerated == pg_sys::ATTRIBUTE_GENERATED_STORED || attgenerated == pg_sys::ATTRIBUTE_GENERATED_VIRTUAL;
}

// ------------------------------------------------------------------ input syntax

/// The integer syntax the server's `int8in` accepts.
#[cfg(feature = "pg15")]
pub const INTEGER_SYNTAX: privacy_core::subject::IntegerSyntax = privacy_core::subject::IntegerSyntax::Decimal;

/// The integer syntax the server's `int8in` accepts: since PostgreSQL 16 also `0x`/`0o`/`0b`
/// prefixes and `_` between digits (utils/adt/numutils.c pg_strtoint64_safe).
#[cfg(feature = "pg18")]
pub const INTEGER_SYNTAX: privacy_core::subject::IntegerSyntax = privacy_core::subject::IntegerSyntax::NonDecimalAndUnderscores;

// ------------------------------------------------------------------ reads the author wrote

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

/// Whether reading a range-table entry checks SELECT privilege against the current user (a read
/// the statement's author wrote, not one through a view or one pg_privacy added). From
/// PostgreSQL 16 the check is the entry's RTEPermissionInfo; pg_privacy's own reads are told by
/// the mark [`skip_permission_checks`] leaves, since the rewriter resets their `checkAsUser` to
/// the reader's when they come in as row-security policies (see
/// [`restore_skipped_permission_checks`]).
///
/// # Safety
/// `rte` must be a valid entry of `query`'s range table.
#[cfg(feature = "pg18")]
pub unsafe fn read_checked_as_current_user(query: *mut pg_sys::Query, rte: *mut pg_sys::RangeTblEntry) -> bool {
    // SAFETY: caller's promise; perminfoindex indexes the query's rteperminfos (checked).
    unsafe {
        let index = (*rte).perminfoindex as usize;
        if index == 0 {
            return false;
        }
        match pgrx::PgList::<pg_sys::RTEPermissionInfo>::from_pg((*query).rteperminfos).get_ptr(index - 1) {
            Some(info) => {
                (*info).requiredPerms & pg_sys::ACL_SELECT as pg_sys::AclMode != 0
                    && (*info).checkAsUser == pg_sys::InvalidOid
                    && !skipped_check_marked(info)
            }
            None => false,
        }
    }
}

/// `ExecInitRangeTable` for an executor state made outside a plan (`crate::consent::record`):
/// PostgreSQL 16 added the permission infos and 18 the unpruned relations.
///
/// # Safety
/// `estate` fresh from CreateExecutorState; `rtable` a list of relation RTEs.
#[cfg(feature = "pg15")]
pub unsafe fn init_range_table(estate: *mut pg_sys::EState, rtable: *mut pg_sys::List) {
    // SAFETY: forwarded.
    unsafe { pg_sys::ExecInitRangeTable(estate, rtable) }
}

/// See the PostgreSQL 15 version.
///
/// # Safety
/// As there.
#[cfg(feature = "pg18")]
pub unsafe fn init_range_table(estate: *mut pg_sys::EState, rtable: *mut pg_sys::List) {
    // SAFETY: each RTE gets its permission info (no permission is required: perminfo's
    // requiredPerms stays 0) and every index is unpruned.
    unsafe {
        let mut perminfos: *mut pg_sys::List = std::ptr::null_mut();
        let mut unpruned: *mut pg_sys::Bitmapset = std::ptr::null_mut();
        let n = if rtable.is_null() { 0 } else { (*rtable).length };
        for i in 0..n {
            let rte = pg_sys::list_nth(rtable, i).cast::<pg_sys::RangeTblEntry>();
            pg_sys::addRTEPermissionInfo(&mut perminfos, rte);
            unpruned = pg_sys::bms_add_member(unpruned, i + 1);
        }
        pg_sys::ExecInitRangeTable(estate, rtable, perminfos, unpruned);
    }
}

/// `EvalPlanQualInit` without a plan (single-row updates): PostgreSQL 16 added the result
/// relations argument.
///
/// # Safety
/// `epq` points to writable memory for an EPQState; `estate` is live.
pub unsafe fn eval_plan_qual_init(epq: *mut pg_sys::EPQState, estate: *mut pg_sys::EState) {
    // SAFETY: forwarded.
    unsafe {
        #[cfg(feature = "pg15")]
        pg_sys::EvalPlanQualInit(epq, estate, std::ptr::null_mut(), std::ptr::null_mut(), -1);
        #[cfg(feature = "pg18")]
        pg_sys::EvalPlanQualInit(epq, estate, std::ptr::null_mut(), std::ptr::null_mut(), -1, std::ptr::null_mut());
    }
}

/// `index_beginscan` with no orderings: PostgreSQL 18 added the instrumentation argument.
///
/// # Safety
/// Relations open, snapshot registered.
pub unsafe fn index_beginscan(heap: pg_sys::Relation, index: pg_sys::Relation, snapshot: pg_sys::Snapshot, nkeys: i32) -> pg_sys::IndexScanDesc {
    // SAFETY: forwarded (without instrumentation on 18).
    unsafe {
        #[cfg(feature = "pg15")]
        return pg_sys::index_beginscan(heap, index, snapshot, nkeys, 0);
        #[cfg(feature = "pg18")]
        return pg_sys::index_beginscan(heap, index, snapshot, std::ptr::null_mut(), nkeys, 0);
    }
}

/// `ALTER COLUMN ... SET EXPRESSION` (PostgreSQL 17+), which recomputes a generated column over
/// every stored row; none on 15.
#[cfg(feature = "pg15")]
pub const AT_SET_EXPRESSION: Option<pg_sys::AlterTableType::Type> = None;
#[cfg(feature = "pg18")]
pub const AT_SET_EXPRESSION: Option<pg_sys::AlterTableType::Type> = Some(pg_sys::AlterTableType::AT_SetExpression);
