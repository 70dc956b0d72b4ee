//! Safe-ish wrappers over PostgreSQL's tree walkers, so the rest of the code can visit every node
//! of a query (sub-queries, CTEs, sub-links, range-table functions included) with a Rust closure.

use pgrx::pg_sys;
use pgrx::PgList;

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
    // SAFETY: node is a valid Node from the tree being walked.
    unsafe {
        // Range-table entries are shown to `visit` (QTW_EXAMINE_RTES_BEFORE); their contents are
        // walked by range_table_walker itself.
        if pgrx::is_a(node, pg_sys::NodeTag::T_RangeTblEntry) {
            return false;
        }
        if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
            ctx.depth += 1;
            let stop = pg_sys::query_tree_walker(node.cast(), Some(walker), context, pg_sys::QTW_EXAMINE_RTES_BEFORE as i32);
            ctx.depth -= 1;
            return stop;
        }
        pg_sys::expression_tree_walker(node, Some(walker), context)
    }
}

/// Visits every node below `node` (a Query or an expression). `visit` gets each node and its
/// query depth relative to `node` (0 = the top query's own expressions, 1 = inside a sub-query,
/// ...) and returns true to stop. Returns whether a visit stopped the walk.
///
/// # Safety
/// `node` must be a valid node tree.
pub unsafe fn walk(node: *mut pg_sys::Node, mut visit: impl FnMut(*mut pg_sys::Node, i32) -> bool) -> bool {
    let mut ctx = WalkContext { visit: &mut visit, depth: 0 };
    let ptr = &mut ctx as *mut WalkContext as *mut std::ffi::c_void;
    // SAFETY: ptr points at ctx, which outlives the walk.
    unsafe {
        if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
            pg_sys::query_tree_walker(node.cast(), Some(walker), ptr, pg_sys::QTW_EXAMINE_RTES_BEFORE as i32)
        } else {
            walker(node, ptr)
        }
    }
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
    // SAFETY: ctx outlives the walk.
    unsafe { replace_params_walker(node, &mut ctx as *mut ParamContext as *mut std::ffi::c_void) };
}

/// Runs `f` with `search_path = pg_catalog, pg_temp`, so names in what it parses resolve to
/// PostgreSQL's own objects only. The previous path is restored afterwards, or by the transaction
/// abort if an ERROR escapes `f`.
pub fn with_pinned_search_path<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: a GUC nest level opened and closed around `f`, as function SET clauses do.
    unsafe {
        let nest = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            c"search_path".as_ptr(),
            c"pg_catalog, pg_temp".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        let result = f();
        pg_sys::AtEOXact_GUC(true, nest);
        result
    }
}

/// A zeroed parse or plan node of type `T` with its tag set, in the current memory context.
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
