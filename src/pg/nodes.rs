//! Query trees: walkers that visit every node with a Rust closure, and builders of the few nodes
//! pg_privacy makes itself (always nodes, never SQL text built from names or data).

use std::ffi::{CStr, CString};

use pgrx::pg_sys;
use pgrx::PgList;

use super::version;

struct WalkContext<'a> {
    visit: &'a mut dyn FnMut(*mut pg_sys::Node, i32) -> bool,
    depth: i32,
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn walker(node: *mut pg_sys::Node, context: *mut std::ffi::c_void) -> bool {
    if node.is_null() {
        return false;
    }
    // SAFETY: context is the WalkContext passed by `walk`, alive for the whole walk.
    let ctx = unsafe { &mut *(context as *mut WalkContext) };
    if (ctx.visit)(node, ctx.depth) {
        return true;
    }
    // SAFETY: node is a valid Node of the tree being walked; tags are checked before casts.
    unsafe {
        // Range-table entries are shown to `visit` (QTW_EXAMINE_RTES_BEFORE); their contents are
        // walked by range_table_walker itself.
        if pgrx::is_a(node, pg_sys::NodeTag::T_RangeTblEntry) {
            return false;
        }
        // The walkers below are called without pgrx's guard (a setjmp per node was about a
        // quarter of pg_privacy's planning work for a governed statement). That is sound because this frame holds nothing to drop
        // across the call (a reference and integers): an ERROR raised below (stack depth, an
        // unknown node) longjmps past it to the guarded call in `walk`, which turns it into a
        // panic where the walk's owner can unwind; a panic in a nested `visit` is caught by the
        // nested `walker`'s own guard and travels the same way.
        if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
            ctx.depth += 1;
            let stop = version::query_tree_walker_unguarded(node.cast(), Some(walker), context, pg_sys::QTW_EXAMINE_RTES_BEFORE as i32);
            ctx.depth -= 1;
            return stop;
        }
        version::expression_tree_walker_unguarded(node, Some(walker), context)
    }
}

/// Visits every node below `node` (a Query or an expression), range-table entries, sub-queries,
/// CTEs, sub-links and security quals included. `visit` gets each node and its query depth
/// relative to `node` (0 = the top query's own expressions) and returns true to stop. Returns
/// whether a visit stopped the walk.
///
/// # Safety
/// `node` must be a valid node tree.
pub unsafe fn walk(node: *mut pg_sys::Node, mut visit: impl FnMut(*mut pg_sys::Node, i32) -> bool) -> bool {
    let mut ctx = WalkContext { visit: &mut visit, depth: 0 };
    let ptr = &mut ctx as *mut WalkContext as *mut std::ffi::c_void;
    // SAFETY: ptr points at ctx, which outlives the walk; node is valid (caller's promise).
    unsafe {
        // Both calls are guarded: this is where an ERROR raised inside the walk, below the
        // unguarded calls of `walker`, is caught and becomes a panic this frame can unwind.
        if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
            pg_sys::query_tree_walker(node.cast(), Some(walker), ptr, pg_sys::QTW_EXAMINE_RTES_BEFORE as i32)
        } else {
            pg_sys::submodules::ffi::pg_guard_ffi_boundary(|| walker(node, ptr))
        }
    }
}

/// Every Query in `query`'s tree, `query` first (sub-queries in FROM, CTEs, sub-links, and the
/// sub-links of security quals).
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn queries(query: *mut pg_sys::Query) -> Vec<*mut pg_sys::Query> {
    let mut out = vec![query];
    // SAFETY: walking a valid tree; Query nodes are tag-checked before the cast.
    unsafe {
        // Fast path (most statements): other Query nodes live only in sub-links, CTEs and
        // sub-query range-table entries; without any, walking every expression finds nothing.
        let nested = (*query).hasSubLinks
            || !(*query).cteList.is_null()
            || PgList::<pg_sys::RangeTblEntry>::from_pg((*query).rtable)
                .iter_ptr()
                .any(|rte| (*rte).rtekind == pg_sys::RTEKind::RTE_SUBQUERY);
        if !nested {
            return out;
        }
        walk(query.cast(), |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
                out.push(node.cast());
            }
            false
        });
    }
    out
}

/// Range-table entries of a query, with their 1-based index.
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn rtable(query: *mut pg_sys::Query) -> Vec<(i32, *mut pg_sys::RangeTblEntry)> {
    // SAFETY: rtable is a List of RangeTblEntry pointers.
    let list = unsafe { PgList::<pg_sys::RangeTblEntry>::from_pg((*query).rtable) };
    list.iter_ptr().enumerate().map(|(i, rte)| (i as i32 + 1, rte)).collect()
}

/// Range-table entries of a plan's flattened range table (RTE_RELATION only): (index, relid).
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
pub unsafe fn plan_relations(stmt: *mut pg_sys::PlannedStmt) -> Vec<(*mut pg_sys::RangeTblEntry, pg_sys::Oid)> {
    // SAFETY: rtable of a valid PlannedStmt is a List of RangeTblEntry.
    let list = unsafe { PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable) };
    list.iter_ptr()
        // SAFETY: each element is a RangeTblEntry.
        .filter(|rte| unsafe { (**rte).rtekind == pg_sys::RTEKind::RTE_RELATION })
        // SAFETY: as above.
        .map(|rte| (rte, unsafe { (*rte).relid }))
        .collect()
}

/// Whether `f` holds for the OID of every relation in a plan's range table. Walks the list by
/// hand: no allocation, no pgrx list wrapper (whose thread check costs more than the walk), nothing
/// that can raise, for the unguarded path of the planner hook.
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
pub unsafe fn every_plan_relation(stmt: *mut pg_sys::PlannedStmt, mut f: impl FnMut(pg_sys::Oid) -> bool) -> bool {
    // SAFETY: rtable of a valid PlannedStmt is NIL or a List of `length` RangeTblEntry pointers.
    unsafe {
        let list = (*stmt).rtable;
        if list.is_null() {
            return true;
        }
        for i in 0..(*list).length.max(0) as usize {
            let rte = (*(*list).elements.add(i)).ptr_value as *mut pg_sys::RangeTblEntry;
            if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION && !f((*rte).relid) {
                return false;
            }
        }
        true
    }
}

/// Whether `node` contains a Var of range-table entry `varno` at query depth `depth` whose column
/// is accepted by `column` (0 = whole row).
///
/// # Safety
/// `node` must be a valid node tree.
pub unsafe fn references_columns(node: *mut pg_sys::Node, varno: i32, depth: i32, column: impl Fn(i16) -> bool) -> bool {
    // SAFETY: forwarded; each visited node is checked for its tag before being cast.
    unsafe {
        walk(node, |n, d| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_Var) {
                let var = n as *mut pg_sys::Var;
                return (*var).varno == varno && (*var).varlevelsup as i32 == d + depth && column((*var).varattno);
            }
            false
        })
    }
}

/// Columns of range-table entry `varno` of `node` (a Query) that its Vars reference, at any
/// depth (0 = a whole-row reference), each once. The walk is the one PostgreSQL's own
/// replacement of Vars makes (query and expression tree walkers, range tables included).
///
/// # Safety
/// `node` must be a valid node tree.
pub unsafe fn columns_referenced(node: *mut pg_sys::Node, varno: i32) -> Vec<i16> {
    let mut out = Vec::new();
    // SAFETY: walking a valid tree; Var nodes are tag-checked before the cast.
    unsafe {
        walk(node, |n, d| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_Var) {
                let var = n as *mut pg_sys::Var;
                if (*var).varno == varno && (*var).varlevelsup as i32 == d && !out.contains(&(*var).varattno) {
                    out.push((*var).varattno);
                }
            }
            false
        });
    }
    out
}

/// Columns of range-table entry 1 an expression (over one relation) reads.
///
/// # Safety
/// `node` must be a valid expression tree.
pub unsafe fn columns_read(node: *mut pg_sys::Node) -> Vec<i16> {
    let mut out = Vec::new();
    // SAFETY: walking a valid tree; Var nodes are tag-checked.
    unsafe {
        walk(node, |n, d| {
            if d == 0 && pgrx::is_a(n, pg_sys::NodeTag::T_Var) {
                let attno = (*(n as *mut pg_sys::Var)).varattno;
                if !out.contains(&attno) {
                    out.push(attno);
                }
            }
            false
        });
    }
    out
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn collect_function(funcid: pg_sys::Oid, context: *mut std::ffi::c_void) -> bool {
    // SAFETY: context is the Vec passed by functions_called.
    unsafe { (*(context as *mut Vec<pg_sys::Oid>)).push(funcid) };
    false
}

/// Every function a tree may call: function calls, operators (set to their function first),
/// casts and type I/O coercions, and the support functions of aggregates and window functions
/// (their transition, final and combine functions run user code too).
///
/// # Safety
/// `node` must be a valid tree (a Query or an expression).
pub unsafe fn functions_called(node: *mut pg_sys::Node) -> Vec<pg_sys::Oid> {
    let mut functions: Vec<pg_sys::Oid> = Vec::new();
    let fptr = &mut functions as *mut Vec<pg_sys::Oid> as *mut std::ffi::c_void;
    // SAFETY: walking a valid tree; nodes are tag-checked before casts; check_functions_in_node
    // reads only the node it is given.
    unsafe {
        walk(node, |n, _| {
            if pgrx::is_a(n, pg_sys::NodeTag::T_OpExpr)
                || pgrx::is_a(n, pg_sys::NodeTag::T_DistinctExpr)
                || pgrx::is_a(n, pg_sys::NodeTag::T_NullIfExpr)
            {
                pg_sys::set_opfuncid(n.cast());
            } else if pgrx::is_a(n, pg_sys::NodeTag::T_ScalarArrayOpExpr) {
                pg_sys::set_sa_opfuncid(n.cast());
            }
            pg_sys::check_functions_in_node(n, Some(collect_function), fptr);
            let aggregate = if pgrx::is_a(n, pg_sys::NodeTag::T_Aggref) {
                Some((*(n as *mut pg_sys::Aggref)).aggfnoid)
            } else if pgrx::is_a(n, pg_sys::NodeTag::T_WindowFunc) {
                Some((*(n as *mut pg_sys::WindowFunc)).winfnoid)
            } else {
                None
            };
            if let Some(agg) = aggregate {
                (*(fptr as *mut Vec<pg_sys::Oid>)).extend(aggregate_support_functions(agg));
            }
            false
        });
    }
    functions
}

/// Transition, final, combine, serial and moving-aggregate functions of an aggregate
/// (pg_aggregate, whose header pgrx does not bind: its columns are read by name).
fn aggregate_support_functions(aggfnoid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let cat = crate::pg::catalog::oid(crate::pg::catalog::PG_AGGREGATE);
    let columns = [
        c"aggtransfn", c"aggfinalfn", c"aggcombinefn", c"aggserialfn", c"aggdeserialfn", c"aggmtransfn", c"aggminvtransfn", c"aggmfinalfn",
    ];
    // SAFETY: syscache lookup of a pg_aggregate row; regproc columns read with SysCacheGetAttr
    // before the row is released.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::AGGFNOID as i32, pg_sys::Datum::from(aggfnoid));
        if tuple.is_null() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for column in columns {
            let attno = crate::pg::catalog::attnum(cat, column);
            if attno <= 0 {
                continue;
            }
            let mut isnull = false;
            let d = pg_sys::SysCacheGetAttr(pg_sys::SysCacheIdentifier::AGGFNOID as i32, tuple, attno, &mut isnull);
            let f = pg_sys::Oid::from(d.value() as u32);
            if !isnull && f != pg_sys::InvalidOid {
                out.push(f);
            }
        }
        pg_sys::ReleaseSysCache(tuple);
        out
    }
}

struct ParamContext<'a> {
    replacements: &'a [*mut pg_sys::Node],
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn replace_params_walker(node: *mut pg_sys::Node, context: *mut std::ffi::c_void) -> bool {
    if node.is_null() {
        return false;
    }
    // SAFETY: context is the ParamContext of replace_param_refs; nodes are tag-checked.
    unsafe {
        let ctx = &*(context as *mut ParamContext);
        if pgrx::is_a(node, pg_sys::NodeTag::T_A_Expr) {
            let expr = node as *mut pg_sys::A_Expr;
            for side in [&mut (*expr).lexpr, &mut (*expr).rexpr] {
                if !side.is_null() && pgrx::is_a(*side, pg_sys::NodeTag::T_ParamRef) {
                    let number = (*(*side as *mut pg_sys::ParamRef)).number as usize;
                    if number >= 1 && number <= ctx.replacements.len() {
                        *side = ctx.replacements[number - 1];
                    }
                }
            }
        }
        pg_sys::raw_expression_tree_walker(node, Some(replace_params_walker), context)
    }
}

/// In a raw (unanalysed) parse tree, replaces each `$n` operand of an operator by
/// `replacements[n - 1]`. Used to put nodes, never text, into constant SQL templates.
///
/// # Safety
/// `node` must be a valid raw parse tree; the replacements valid raw nodes.
pub unsafe fn replace_param_refs(node: *mut pg_sys::Node, replacements: &[*mut pg_sys::Node]) {
    let mut ctx = ParamContext { replacements };
    // SAFETY: ctx outlives the walk; node is a valid raw tree.
    unsafe { replace_params_walker(node, &mut ctx as *mut ParamContext as *mut std::ffi::c_void) };
}

/// Runs `f` with `search_path = pg_catalog, pg_temp`, so names in what it parses resolve to
/// PostgreSQL's own objects only. The previous path is restored afterwards, or by the transaction
/// abort if an ERROR escapes `f`.
pub fn with_pinned_search_path<T>(f: impl FnOnce() -> T) -> T {
    let nest = open_pinned_search_path();
    let result = f();
    // SAFETY: closes the nest level opened above, as function SET clauses do.
    unsafe { pg_sys::AtEOXact_GUC(true, nest) };
    result
}

/// The search_path the extension's own statements are parsed under.
pub const PINNED_SEARCH_PATH: &std::ffi::CStr = c"pg_catalog, pg_temp";

/// Opens a GUC nest level with `search_path` = [`PINNED_SEARCH_PATH`]; returns the level for
/// `AtEOXact_GUC(true, level)` to close (a transaction's abort closes it too).
pub fn open_pinned_search_path() -> i32 {
    // SAFETY: a new nest level and a session-source SET saved at it, as function SET clauses do.
    unsafe {
        let nest = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            PINNED_SEARCH_PATH.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        nest
    }
}

/// A zeroed node of type `T` with its tag set, in the current memory context.
///
/// # Safety
/// `tag` must be the node tag of `T`.
pub unsafe fn make_node<T>(tag: pg_sys::NodeTag) -> *mut T {
    // SAFETY: palloc0 returns zeroed memory of the node's size; the tag is its first field.
    unsafe {
        let n = pg_sys::palloc0(std::mem::size_of::<T>()) as *mut pg_sys::Node;
        (*n).type_ = tag;
        n.cast()
    }
}

/// A palloc'd copy of `s` (a name or constant pg_privacy puts into a node).
pub fn pstrdup(s: &str) -> *mut std::ffi::c_char {
    let c = CString::new(s.replace('\0', "")).unwrap_or_default();
    // SAFETY: pstrdup copies a NUL-terminated string into the current memory context.
    unsafe { pg_sys::pstrdup(c.as_ptr()) }
}

/// A raw-parse-tree string constant.
pub fn string_const(s: &str) -> *mut pg_sys::A_Const {
    // SAFETY: a zeroed A_Const filled in as the grammar would for a string literal.
    unsafe {
        let c = make_node::<pg_sys::A_Const>(pg_sys::NodeTag::T_A_Const);
        (*c).val.sval.type_ = pg_sys::NodeTag::T_String;
        (*c).val.sval.sval = pstrdup(s);
        (*c).location = -1;
        c
    }
}

/// A raw-parse-tree boolean constant.
pub fn bool_const(b: bool) -> *mut pg_sys::A_Const {
    // SAFETY: a zeroed A_Const filled in as the grammar would for TRUE/FALSE.
    unsafe {
        let c = make_node::<pg_sys::A_Const>(pg_sys::NodeTag::T_A_Const);
        (*c).val.boolval.type_ = pg_sys::NodeTag::T_Boolean;
        (*c).val.boolval.boolval = b;
        (*c).location = -1;
        c
    }
}

/// A raw `ColumnRef` made of `fields` (String nodes, or an A_Star).
pub fn column_ref(fields: Vec<*mut pg_sys::Node>) -> *mut pg_sys::ColumnRef {
    // SAFETY: builds a ColumnRef as the grammar would.
    unsafe {
        let colref = make_node::<pg_sys::ColumnRef>(pg_sys::NodeTag::T_ColumnRef);
        let mut list = PgList::<pg_sys::Node>::new();
        for f in fields {
            list.push(f);
        }
        (*colref).fields = list.into_pg();
        (*colref).location = -1;
        colref
    }
}

/// A raw `ResTarget` selecting `val`.
pub fn res_target(val: *mut pg_sys::Node) -> *mut pg_sys::ResTarget {
    // SAFETY: builds a ResTarget as the grammar would.
    unsafe {
        let target = make_node::<pg_sys::ResTarget>(pg_sys::NodeTag::T_ResTarget);
        (*target).val = val;
        (*target).location = -1;
        target
    }
}

/// A String value node.
pub fn string_node(s: &str) -> *mut pg_sys::Node {
    // SAFETY: makeString wraps a palloc'd copy.
    unsafe { pg_sys::makeString(pstrdup(s)).cast() }
}

/// A raw `FuncCall` of `privacy.<name>()` with no arguments.
pub fn privacy_call(name: &str) -> *mut pg_sys::FuncCall {
    // SAFETY: builds a FuncCall as the grammar would for a qualified call.
    unsafe {
        let call = make_node::<pg_sys::FuncCall>(pg_sys::NodeTag::T_FuncCall);
        let mut names = PgList::<pg_sys::Node>::new();
        names.push(string_node("privacy"));
        names.push(string_node(name));
        (*call).funcname = names.into_pg();
        (*call).funcformat = pg_sys::CoercionForm::COERCE_EXPLICIT_CALL;
        (*call).location = -1;
        call
    }
}

/// The text of a C string field, or "" for NULL.
///
/// # Safety
/// `p` must be NULL or a NUL-terminated string.
pub unsafe fn cstr(p: *const std::ffi::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: caller's promise.
        unsafe { CStr::from_ptr(p).to_string_lossy().into_owned() }
    }
}

/// Copies a node tree into `context`.
///
/// # Safety
/// `node` must be a valid tree and `context` a live memory context.
pub unsafe fn copy_into(context: pg_sys::MemoryContext, node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: switching memory contexts around a deep copy of a valid tree.
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo(context);
        let copy = pg_sys::copyObjectImpl(node.cast()).cast();
        pg_sys::MemoryContextSwitchTo(old);
        copy
    }
}

/// A memory context under CacheMemoryContext, deleted when dropped (cached node trees live in one
/// and are copied out for each use).
pub struct OwnedContext(pg_sys::MemoryContext);

impl OwnedContext {
    pub fn new(name: &'static CStr) -> Self {
        // SAFETY: creates an AllocSet under CacheMemoryContext (backend lifetime).
        OwnedContext(unsafe {
            pg_sys::AllocSetContextCreateInternal(pg_sys::CacheMemoryContext, name.as_ptr(), 0, 8 * 1024, 8 * 1024 * 1024)
        })
    }

    pub fn get(&self) -> pg_sys::MemoryContext {
        self.0
    }
}

impl Drop for OwnedContext {
    fn drop(&mut self) {
        // SAFETY: the context was created by OwnedContext::new and is deleted exactly once.
        unsafe { pg_sys::MemoryContextDelete(self.0) };
    }
}

/// Replaces, in `node`, every Var of range-table entry `varno` (at the top level and, as outer
/// references, in nested queries) whose column has a replacement by a copy of it (its Vars, of
/// varno 1, renumbered to `varno`); a whole-row Var becomes a ROW() of the replaced columns.
/// Returns the new tree. This is PostgreSQL's own helper for view expansion.
///
/// # Safety
/// `node` must be a valid tree; the replacements valid expressions over varno 1. `rte` is the
/// entry's RangeTblEntry, needed to expand whole-row Vars; it may be NULL only for expressions
/// that cannot contain whole-row Vars (generation expressions). `result_relation` is the
/// query's result relation when `node` is a query whose RETURNING may read `old.`/`new.` (0
/// otherwise).
pub unsafe fn replace_vars(
    node: *mut pg_sys::Node,
    varno: i32,
    rte: *mut pg_sys::RangeTblEntry,
    replacements: &[(i16, *mut pg_sys::Node)],
    result_relation: i32,
) -> *mut pg_sys::Node {
    // SAFETY: builds a target list of copied replacement expressions and lets
    // ReplaceVarsFromTargetList do the replacement, including whole-row Vars and outer references.
    unsafe {
        let mut tlist = PgList::<pg_sys::TargetEntry>::new();
        for (attno, expr) in replacements {
            let copy = pg_sys::copyObjectImpl((*expr).cast()) as *mut pg_sys::Node;
            if varno != 1 {
                pg_sys::ChangeVarNodes(copy, 1, varno, 0);
            }
            tlist.push(pg_sys::makeTargetEntry(copy.cast(), *attno, std::ptr::null_mut(), false));
        }
        let mut has_sublinks = false;
        crate::pg::version::replace_vars_from_target_list(node, varno, rte, tlist.into_pg(), result_relation, &mut has_sublinks)
    }
}

// ------------------------------------------------------------------ COPY and SET

/// The relation a `COPY table ...` names (None for `COPY (query)`).
///
/// # Safety
/// `copy` must be a valid CopyStmt.
pub unsafe fn copy_relation(copy: *mut pg_sys::CopyStmt) -> Option<pg_sys::Oid> {
    // SAFETY: fields of a valid CopyStmt; the lookup takes the lock COPY would take.
    unsafe {
        if (*copy).relation.is_null() || !(*copy).query.is_null() {
            return None;
        }
        let lock = if (*copy).is_from { pg_sys::RowExclusiveLock } else { pg_sys::AccessShareLock };
        let relid = pg_sys::RangeVarGetRelidExtended((*copy).relation, lock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
        (relid != pg_sys::InvalidOid).then_some(relid)
    }
}

/// The columns a `COPY table (cols) FROM` writes (every live column when none is listed).
///
/// # Safety
/// `copy` must be a valid CopyStmt of relation `relid`.
pub unsafe fn copy_columns(copy: *mut pg_sys::CopyStmt, relid: pg_sys::Oid) -> Vec<i16> {
    // SAFETY: attlist is a List of String nodes.
    unsafe {
        let names = PgList::<pg_sys::String>::from_pg((*copy).attlist);
        if names.is_empty() {
            let rel = pg_sys::relation_open(relid, pg_sys::NoLock as pg_sys::LOCKMODE);
            let desc = (*rel).rd_att;
            let out = (0..(*desc).natts as usize)
                .map(|i| crate::pg::version::tuple_desc_attr(desc, i))
                .filter(|a| !(**a).attisdropped)
                .map(|a| (*a).attnum)
                .collect();
            pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
            return out;
        }
        names.iter_ptr().map(|n| crate::pg::catalog::attribute_number(relid, &cstr((*n).sval))).filter(|a| *a > 0).collect()
    }
}

/// Whether the current user may SELECT from `relid`.
pub fn may_select(relid: pg_sys::Oid) -> bool {
    // SAFETY: an ACL check on an existing relation.
    unsafe {
        pg_sys::pg_class_aclcheck(relid, pg_sys::GetUserId(), pg_sys::ACL_SELECT as pg_sys::AclMode) == pg_sys::AclResult::ACLCHECK_OK
    }
}

/// A copy of the COPY statement reading from `select` instead of its relation.
unsafe fn copy_with_query(pstmt: *mut pg_sys::PlannedStmt, copy: *mut pg_sys::CopyStmt, select: *mut pg_sys::SelectStmt) -> *mut pg_sys::PlannedStmt {
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

/// `COPY table TO` as `COPY (SELECT cols FROM ONLY table) TO`: a planned query, which the planner
/// hook masks and filters (PostgreSQL reads a plain table's file directly otherwise).
///
/// # Safety
/// `copy` must be the valid CopyStmt of `pstmt`, naming a relation.
pub unsafe fn copy_as_query(pstmt: *mut pg_sys::PlannedStmt, copy: *mut pg_sys::CopyStmt) -> *mut pg_sys::PlannedStmt {
    // SAFETY: builds a SelectStmt as the grammar would; the relation is copied from the COPY.
    unsafe {
        let select = make_node::<pg_sys::SelectStmt>(pg_sys::NodeTag::T_SelectStmt);
        let mut targets = PgList::<pg_sys::ResTarget>::new();
        let columns = PgList::<pg_sys::Node>::from_pg((*copy).attlist);
        if columns.is_empty() {
            let star = make_node::<pg_sys::A_Star>(pg_sys::NodeTag::T_A_Star);
            targets.push(res_target(column_ref(vec![star.cast()]).cast()));
        } else {
            for column in columns.iter_ptr() {
                targets.push(res_target(column_ref(vec![pg_sys::copyObjectImpl(column.cast()).cast()]).cast()));
            }
        }
        (*select).targetList = targets.into_pg();
        let range = pg_sys::copyObjectImpl((*copy).relation.cast()) as *mut pg_sys::RangeVar;
        (*range).inh = false;
        let mut from = PgList::<pg_sys::RangeVar>::new();
        from.push(range);
        (*select).fromClause = from.into_pg();
        copy_with_query(pstmt, copy, select)
    }
}

/// `COPY table TO` as `COPY (SELECT WHERE false) TO`: nothing.
///
/// # Safety
/// `copy` must be the valid CopyStmt of `pstmt`.
pub unsafe fn copy_as_empty_query(pstmt: *mut pg_sys::PlannedStmt, copy: *mut pg_sys::CopyStmt) -> *mut pg_sys::PlannedStmt {
    // SAFETY: builds a SelectStmt as the grammar would.
    unsafe {
        let select = make_node::<pg_sys::SelectStmt>(pg_sys::NodeTag::T_SelectStmt);
        (*select).whereClause = bool_const(false).cast();
        copy_with_query(pstmt, copy, select)
    }
}

/// pg_dump starts with `SET row_security = off`, which makes any query on a table with row
/// security fail for roles subject to it. For a governed session the setting is kept on, so its
/// dumps work, with masking and filters applied. Returns the (copied, changed) statement.
///
/// # Safety
/// `pstmt` must be a valid utility statement whose utilityStmt is a VariableSetStmt.
pub unsafe fn with_row_security_kept_on(pstmt: *mut pg_sys::PlannedStmt) -> *mut pg_sys::PlannedStmt {
    // SAFETY: fields of a valid VariableSetStmt; the statement is copied before it is changed.
    unsafe {
        let stmt = (*pstmt).utilityStmt as *mut pg_sys::VariableSetStmt;
        if (*stmt).kind != pg_sys::VariableSetKind::VAR_SET_VALUE || (*stmt).name.is_null() {
            return pstmt;
        }
        if CStr::from_ptr((*stmt).name).to_bytes() != b"row_security" {
            return pstmt;
        }
        let new_pstmt = pg_sys::copyObjectImpl(pstmt.cast()) as *mut pg_sys::PlannedStmt;
        let new_stmt = (*new_pstmt).utilityStmt as *mut pg_sys::VariableSetStmt;
        let mut args = PgList::<pg_sys::A_Const>::new();
        args.push(string_const("on"));
        (*new_stmt).args = args.into_pg();
        new_pstmt
    }
}

/// The first relation of `stmt`'s range table that `pred` accepts and that a node of the plan (its
/// main tree or a sub-plan) scans or modifies. Relations reached only through a custom scan
/// that does not expose them as child plans (Citus's distributed scans) are not scanned here.
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
pub unsafe fn plan_reads_relation(stmt: *mut pg_sys::PlannedStmt, pred: impl Fn(pg_sys::Oid) -> bool) -> Option<pg_sys::Oid> {
    use pg_sys::NodeTag::*;
    // SAFETY: a valid plan tree: every node is tag-checked before the cast to its struct, and
    // range-table indexes are checked against the range table's length.
    unsafe {
        let rtable = PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable);
        let relation_at = |index: u32| -> Option<pg_sys::Oid> {
            let rte = rtable.get_ptr((index as usize).checked_sub(1)?)?;
            ((*rte).rtekind == pg_sys::RTEKind::RTE_RELATION).then_some((*rte).relid)
        };
        let mut stack: Vec<*mut pg_sys::Plan> = vec![(*stmt).planTree];
        stack.extend(PgList::<pg_sys::Plan>::from_pg((*stmt).subplans).iter_ptr());
        let lists = |plans: *mut pg_sys::List| PgList::<pg_sys::Plan>::from_pg(plans).iter_ptr().collect::<Vec<_>>();
        while let Some(plan) = stack.pop() {
            if plan.is_null() {
                continue;
            }
            match (*plan).type_ {
                T_SeqScan | T_SampleScan | T_IndexScan | T_IndexOnlyScan | T_BitmapIndexScan | T_BitmapHeapScan | T_TidScan
                | T_TidRangeScan | T_ForeignScan => {
                    if let Some(relid) = relation_at((*(plan as *mut pg_sys::Scan)).scanrelid).filter(|r| pred(*r)) {
                        return Some(relid);
                    }
                }
                T_ModifyTable => {
                    let results = PgList::<std::ffi::c_void>::from_pg((*(plan as *mut pg_sys::ModifyTable)).resultRelations);
                    let hit = results.iter_int().filter_map(|index| relation_at(index as u32)).find(|r| pred(*r));
                    if hit.is_some() {
                        return hit;
                    }
                }
                T_Append => stack.extend(lists((*(plan as *mut pg_sys::Append)).appendplans)),
                T_MergeAppend => stack.extend(lists((*(plan as *mut pg_sys::MergeAppend)).mergeplans)),
                T_BitmapAnd => stack.extend(lists((*(plan as *mut pg_sys::BitmapAnd)).bitmapplans)),
                T_BitmapOr => stack.extend(lists((*(plan as *mut pg_sys::BitmapOr)).bitmapplans)),
                T_SubqueryScan => stack.push((*(plan as *mut pg_sys::SubqueryScan)).subplan),
                T_CustomScan => stack.extend(lists((*(plan as *mut pg_sys::CustomScan)).custom_plans)),
                _ => {}
            }
            stack.push((*plan).lefttree);
            stack.push((*plan).righttree);
        }
        None
    }
}

/// What a DDL statement would evaluate over every stored row of a table with an expression the
/// statement brings (an index on an expression or with a predicate, a column's type changed (its
/// USING expression, cast or domain CHECK), a CHECK or exclusion constraint added or validated, a
/// generated column added or changed, statistics on expressions, the table attached as a
/// partition, a row-security policy): the table and the words for it. Such an expression runs over the
/// raw values and every row, outside any query pg_privacy masks or filters (ANALYZE, CLUSTER and
/// REINDEX run it again later).
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn expressions_over_rows(stmt: *mut pg_sys::Node) -> Option<(pg_sys::Oid, &'static str)> {
    let relid = range_relid;
    // SAFETY: tags are checked before casts; fields of valid parse nodes.
    unsafe {
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_IndexStmt) {
            let index = stmt as *mut pg_sys::IndexStmt;
            let on_expression = PgList::<pg_sys::IndexElem>::from_pg((*index).indexParams).iter_ptr().any(|e| !(*e).expr.is_null());
            if on_expression || !(*index).whereClause.is_null() {
                return Some((relid((*index).relation), "create an index on an expression or with a predicate"));
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateStatsStmt) {
            let stats = stmt as *mut pg_sys::CreateStatsStmt;
            let on_expression = PgList::<pg_sys::StatsElem>::from_pg((*stats).exprs).iter_ptr().any(|e| !(*e).expr.is_null());
            let from = PgList::<pg_sys::Node>::from_pg((*stats).relations).get_ptr(0);
            if let Some(range) = from.filter(|n| on_expression && pgrx::is_a(*n, pg_sys::NodeTag::T_RangeVar)) {
                return Some((relid(range.cast()), "create statistics on expressions"));
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreatePolicyStmt) {
            // an owner's policy runs over every row a statement reads, before the consent filter
            return Some((relid((*(stmt as *mut pg_sys::CreatePolicyStmt)).table), "create a row-security policy"));
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterPolicyStmt) {
            return Some((relid((*(stmt as *mut pg_sys::AlterPolicyStmt)).table), "change a row-security policy"));
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterTableStmt) {
            let at = stmt as *mut pg_sys::AlterTableStmt;
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*at).cmds).iter_ptr() {
                let def = (*cmd).def;
                let what = match (*cmd).subtype {
                    // with USING or not: the conversion (a cast's function, a domain's CHECK) runs
                    // over every stored value
                    pg_sys::AlterTableType::AT_AlterColumnType => Some("change a column's type"),
                    pg_sys::AlterTableType::AT_AttachPartition => {
                        // the partition's rows are checked against the bound (partition keys may be
                        // expressions): the partition is the table whose rows are read
                        let part = def as *mut pg_sys::PartitionCmd;
                        if !part.is_null() && pgrx::is_a(def, pg_sys::NodeTag::T_PartitionCmd) {
                            return Some((relid((*part).name), "attach it as a partition"));
                        }
                        None
                    }
                    pg_sys::AlterTableType::AT_AddConstraint if !def.is_null() && pgrx::is_a(def, pg_sys::NodeTag::T_Constraint) => {
                        match (*(def as *mut pg_sys::Constraint)).contype {
                            pg_sys::ConstrType::CONSTR_CHECK => Some("add a CHECK constraint"),
                            pg_sys::ConstrType::CONSTR_EXCLUSION => Some("add an exclusion constraint"),
                            _ => None,
                        }
                    }
                    pg_sys::AlterTableType::AT_ValidateConstraint => Some("validate a constraint"),
                    t if Some(t) == version::AT_SET_EXPRESSION => Some("change a generated column's expression"),
                    pg_sys::AlterTableType::AT_AddColumn if !def.is_null() && pgrx::is_a(def, pg_sys::NodeTag::T_ColumnDef) => {
                        // a column's CHECK may name the table's other columns
                        let runs = PgList::<pg_sys::Constraint>::from_pg((*(def as *mut pg_sys::ColumnDef)).constraints)
                            .iter_ptr()
                            .any(|c| matches!((*c).contype, pg_sys::ConstrType::CONSTR_GENERATED | pg_sys::ConstrType::CONSTR_CHECK));
                        runs.then_some("add a generated column or a column with a CHECK constraint")
                    }
                    _ => None,
                };
                if let Some(what) = what {
                    return Some((relid((*at).relation), what));
                }
            }
        }
    }
    None
}

/// Whether a statement adds or validates a domain's CHECK constraint: PostgreSQL then runs it over
/// every stored value of every column of that domain, in whatever table.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn checks_domain_values(stmt: *mut pg_sys::Node) -> bool {
    // SAFETY: the tag is checked before the cast.
    unsafe {
        pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterDomainStmt) && matches!((*(stmt as *mut pg_sys::AlterDomainStmt)).subtype as u8, b'C' | b'V')
    }
}

/// The relation a parse tree's RangeVar names, or InvalidOid (NULL, or no such relation): looked
/// up without a lock, as the utility hooks' checks do before PostgreSQL runs the statement.
pub fn range_relid(range: *mut pg_sys::RangeVar) -> pg_sys::Oid {
    if range.is_null() {
        return pg_sys::InvalidOid;
    }
    // SAFETY: a missing_ok lookup of a RangeVar from a parse tree.
    unsafe { pg_sys::RangeVarGetRelidExtended(range, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut()) }
}
