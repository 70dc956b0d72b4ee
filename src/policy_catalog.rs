//! The policy catalog: masking rules declared with `SECURITY LABEL FOR privacy`, validated when
//! they are set and compiled once per backend into expression trees bound to OIDs.
//!
//! PostgreSQL's own catalog holds the rules (pg_seclabel, pg_shseclabel), so they follow the
//! objects they label (dropped with them, shown by `\dt+`, dumped by pg_dump) and need no table of
//! ours. This module owns:
//! - the label provider callback, which validates every label and refuses bad ones (the old label
//!   stays, since the command fails);
//! - rule compilation: PostgreSQL's parser and analyzer, under a pinned
//!   `search_path = pg_catalog, pg_temp`, turn the rule text into an expression whose functions and
//!   operators are OIDs, so nothing on a user's search_path can replace them later;
//! - the per-backend cache of compiled rules per relation, dropped on relcache invalidation (label
//!   changes send a relcache-wide invalidation, DDL sends one for the relation).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::PgList;
use privacy_core::label::{parse_column_label, parse_role_label, parse_schema_label, ColumnRule};

use crate::catalog_scan::{any_column_label, children_of, column_labels_of, parents_of, trusted_schemas};
use crate::errors::{or_raise, raise};
use crate::tree::walk;

/// `location` given to calls of keyed functions placed by a masking rule. Parse locations are
/// never negative except -1 ("unknown"), so no query a user writes can carry it; keyed functions
/// use it to tell a rule's call from a direct call (see `crate::masking_functions`).
pub const RULE_CALL_LOCATION: i32 = -7077;

/// Names of the keyed functions a masked role may not call on input of its choice.
pub const KEYED_FUNCTIONS: &[&str] =
    &["hash", "pseudo_email", "pseudo_first_name", "pseudo_last_name", "pseudo_phone", "pseudo_city", "pseudonymize"];

/// How a relation is protected for masked readers.
#[derive(Clone)]
pub enum Protection {
    /// No masking rule applies.
    None,
    /// Column rules: (attribute number, compiled expression over Vars of varno 1).
    Masked(Rc<MaskedRelation>),
    /// A materialized view derived from a protected relation: masked roles may not read it.
    DerivedMatview,
}

pub struct MaskedRelation {
    pub relid: pg_sys::Oid,
    /// Expressions live in `_context`; copy before use.
    pub rules: Vec<(i16, *mut pg_sys::Node)>,
    /// Keeps the memory of `rules` alive while anyone holds this relation, even across a cache
    /// reset caused by an invalidation in the middle of planning.
    _context: Rc<RuleContext>,
}

/// A memory context under CacheMemoryContext holding compiled rules, deleted with its last user.
pub struct RuleContext(pg_sys::MemoryContext);

impl RuleContext {
    fn new() -> Self {
        // SAFETY: creates an AllocSet under CacheMemoryContext (a backend-lifetime context).
        RuleContext(unsafe {
            pg_sys::AllocSetContextCreateInternal(
                pg_sys::CacheMemoryContext,
                c"pg_privacy masking rules".as_ptr(),
                0,
                8 * 1024,
                8 * 1024 * 1024,
            )
        })
    }
}

impl Drop for RuleContext {
    fn drop(&mut self) {
        // SAFETY: the context was created by RuleContext::new and is deleted exactly once.
        unsafe { pg_sys::MemoryContextDelete(self.0) };
    }
}

impl MaskedRelation {
    pub fn masks(&self, attno: i16) -> bool {
        self.rules.iter().any(|(a, _)| *a == attno)
    }
}

#[derive(Default)]
struct Cache {
    /// Whether any column label exists in this database (None = not looked up yet).
    any_rules: Option<bool>,
    relations: HashMap<(pg_sys::Oid, bool), Protection>,
    keyed_functions: Option<Rc<Vec<pg_sys::Oid>>>,
    /// Memory context holding the compiled expressions of this cache generation.
    context: Option<Rc<RuleContext>>,
    generation: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// Drops everything cached (label change, relcache reset, DDL on a cached relation).
pub fn reset() {
    let old_context = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let generation = cache.generation + 1;
        let old = std::mem::take(&mut *cache);
        *cache = Cache { generation, ..Cache::default() };
        old.context
    });
    // The context is freed when the last MaskedRelation using it is dropped.
    drop(old_context);
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let relevant = relid == pg_sys::InvalidOid
        || CACHE.with(|c| {
            let cache = c.borrow();
            cache.relations.contains_key(&(relid, false)) || cache.relations.contains_key(&(relid, true))
        });
    if relevant {
        reset();
    }
}

pub fn init() {
    // SAFETY: registering callbacks during library load; both functions have the signatures
    // PostgreSQL expects and live as long as the library.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_invalidation), pg_sys::Datum::from(0));
        pg_sys::register_label_provider(c"privacy".as_ptr(), Some(check_label));
    }
}

/// Whether any masking rule exists in this database (cached).
pub fn any_rules() -> bool {
    if let Some(any) = CACHE.with(|c| c.borrow().any_rules) {
        return any;
    }
    let generation = CACHE.with(|c| c.borrow().generation);
    let any = any_column_label();
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.generation == generation {
            cache.any_rules = Some(any);
        }
    });
    any
}

// ------------------------------------------------------------------ label provider

/// Only superusers and members of privacy_admin may change privacy labels: PostgreSQL lets the
/// owner of an object label it, which would let a table owner (or a masked role that owns a table)
/// switch masking off behind the DBA's back.
fn require_label_admin() {
    // SAFETY: reads backend globals and role catalogs.
    unsafe {
        if pg_sys::superuser() {
            return;
        }
        let admin = pg_sys::get_role_oid(c"privacy_admin".as_ptr(), true);
        if admin != pg_sys::InvalidOid && pg_sys::has_privs_of_role(pg_sys::GetUserId(), admin) {
            return;
        }
    }
    raise(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        "only superusers and members of privacy_admin can set or remove privacy labels",
        "Ask a DBA to run the SECURITY LABEL command, or to GRANT privacy_admin to you.",
    )
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_label(object: *const pg_sys::ObjectAddress, seclabel: *const std::ffi::c_char) {
    require_label_admin();
    // SAFETY: PostgreSQL passes a valid object address and a NUL-terminated label or NULL.
    let (object, label) = unsafe {
        (*object, if seclabel.is_null() { None } else { Some(CStr::from_ptr(seclabel).to_string_lossy().into_owned()) })
    };
    if object.classId == pg_sys::RelationRelationId {
        check_column_label(object, label.as_deref());
        // Every backend recompiles its rules from the next statement; cached plans are dropped too.
        // SAFETY: queues an invalidation message sent at commit.
        unsafe { pg_sys::CacheInvalidateRelcacheAll() };
    } else if object.classId == pg_sys::AuthIdRelationId {
        if let Some(l) = &label {
            or_raise(parse_role_label(l));
        }
        invalidate_role(object.objectId);
    } else if object.classId == pg_sys::NamespaceRelationId {
        // SAFETY: reads a backend global.
        if !unsafe { pg_sys::superuser() } {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                "only superusers can mark a schema TRUSTED for masking rules",
                "Functions in a trusted schema run inside every masked query: trust only schemas you control.",
            );
        }
        if let Some(l) = &label {
            or_raise(parse_schema_label(l));
        }
        // SAFETY: as above.
        unsafe { pg_sys::CacheInvalidateRelcacheAll() };
    } else {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "privacy labels can be set on columns, roles and schemas only",
            "Label a table's columns with MASKED WITH ..., a role with MASKED or UNMASKED, a schema with TRUSTED.",
        );
    }
}

fn check_column_label(object: pg_sys::ObjectAddress, label: Option<&str>) {
    let relid = object.objectId;
    if object.objectSubId <= 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "privacy labels go on columns, not on whole tables",
            "Use SECURITY LABEL FOR privacy ON COLUMN schema.table.column IS 'MASKED WITH ...'.",
        );
    }
    // SAFETY: catalog lookup of an existing relation (PostgreSQL resolved and locked it).
    let relkind = unsafe { pg_sys::get_rel_relkind(relid) } as u8;
    if !matches!(relkind, b'r' | b'p' | b'f') {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("masking rules go on table columns; \"{}\" is not a table", relation_name(relid)),
            "Label the column of the table the view or materialized view reads from: the rule applies through every view.",
        );
    }
    if let Some(label) = label {
        let rule = or_raise(parse_column_label(label));
        // Compile now: syntax, types, trust. An error here rejects the label. Errors raised by
        // PostgreSQL's parser ("function ... does not exist", "syntax error") are re-raised with
        // the column they concern, keeping their SQLSTATE.
        let attno = object.objectSubId as i16;
        let column = format!("{}.{}", relation_name(relid), attribute_name(relid, attno).unwrap_or_default());
        let compiled = pgrx::PgTryBuilder::new(std::panic::AssertUnwindSafe(|| {
            // SAFETY: relid/attnum name an existing column (PostgreSQL checked it).
            unsafe { compile_rule(relid, attno, &rule) }.map(|_| ())
        }))
        .catch_others(|caught| match caught {
            pgrx::pg_sys::panic::CaughtError::PostgresError(report) | pgrx::pg_sys::panic::CaughtError::ErrorReport(report) => {
                raise(
                    report.sql_error_code(),
                    format!("invalid masking rule for column {column}: {}", report.message()),
                    report.hint().unwrap_or("Check the rule's syntax, function names and argument types.").to_owned(),
                )
            }
            other => other.rethrow(),
        })
        .execute();
        if let Err(RuleError(message, hint)) = compiled {
            raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("invalid masking rule for column {column}: {message}"), hint);
        }
    }
}

/// Sends an invalidation for a role's pg_authid row: pg_authid is shared, so backends of every
/// database drop their masked-role decisions and cached plans.
fn invalidate_role(role: pg_sys::Oid) {
    // SAFETY: syscache lookup and release; CacheInvalidateHeapTuple queues a message for commit.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::AUTHOID as i32, pg_sys::Datum::from(role));
        if tuple.is_null() {
            return;
        }
        let rel = pg_sys::table_open(pg_sys::AuthIdRelationId, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        pg_sys::CacheInvalidateHeapTuple(rel, tuple, std::ptr::null_mut());
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        pg_sys::ReleaseSysCache(tuple);
    }
}

pub fn relation_name(relid: pg_sys::Oid) -> String {
    // SAFETY: lsyscache lookups returning palloc'd strings or NULL.
    unsafe {
        let name = pg_sys::get_rel_name(relid);
        if name.is_null() {
            return relid.to_u32().to_string();
        }
        let nsp = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid));
        let rel = CStr::from_ptr(name).to_string_lossy();
        if nsp.is_null() {
            rel.into_owned()
        } else {
            format!("{}.{}", CStr::from_ptr(nsp).to_string_lossy(), rel)
        }
    }
}

fn attribute_name(relid: pg_sys::Oid, attno: i16) -> Option<String> {
    // SAFETY: get_attname with missing_ok returns NULL for a missing attribute.
    unsafe {
        let p = pg_sys::get_attname(relid, attno, true);
        if p.is_null() { None } else { Some(CStr::from_ptr(p).to_string_lossy().into_owned()) }
    }
}

// ------------------------------------------------------------------ rule compilation

/// A rule that cannot be compiled: (message, hint).
pub struct RuleError(pub String, pub String);

fn rule_error(message: impl Into<String>, hint: impl Into<String>) -> RuleError {
    RuleError(message.into(), hint.into())
}

/// OIDs of the keyed functions (privacy.hash, privacy.pseudo_*), looked up once per generation.
pub fn keyed_functions() -> Rc<Vec<pg_sys::Oid>> {
    if let Some(k) = CACHE.with(|c| c.borrow().keyed_functions.clone()) {
        return k;
    }
    let mut oids = Vec::new();
    for name in KEYED_FUNCTIONS {
        // SAFETY: builds a qualified name list and looks the function up by argument types.
        unsafe {
            let mut names = PgList::<pg_sys::String>::new();
            names.push(pg_sys::makeString(pg_sys::pstrdup(c"privacy".as_ptr())));
            let cname = CString::new(*name).unwrap_or_default();
            names.push(pg_sys::makeString(pg_sys::pstrdup(cname.as_ptr())));
            let argtypes = [pg_sys::TEXTOID];
            let oid = pg_sys::LookupFuncName(names.into_pg(), 1, argtypes.as_ptr(), true);
            if oid != pg_sys::InvalidOid {
                oids.push(oid);
            }
        }
    }
    let oids = Rc::new(oids);
    CACHE.with(|c| c.borrow_mut().keyed_functions = Some(oids.clone()));
    oids
}

/// Whether `funcid` lives in a schema masking rules may call: pg_catalog, privacy, or a schema a
/// superuser labelled TRUSTED.
fn trusted_function(funcid: pg_sys::Oid, trusted: &[pg_sys::Oid]) -> bool {
    // SAFETY: lsyscache lookups.
    unsafe {
        let nsp = pg_sys::get_func_namespace(funcid);
        if nsp == pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE) {
            return true;
        }
        let privacy = pg_sys::get_namespace_oid(c"privacy".as_ptr(), true);
        nsp == privacy || trusted.contains(&nsp)
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn collect_function(funcid: pg_sys::Oid, context: *mut std::ffi::c_void) -> bool {
    // SAFETY: context is the Vec passed by compile_rule.
    unsafe { (*(context as *mut Vec<pg_sys::Oid>)).push(funcid) };
    false
}

/// Compiles one rule for column `attno` of `relid`: parse, analyse against the relation, check,
/// coerce to the column's type. The result is in the current memory context; its Vars have
/// varno 1.
///
/// # Safety
/// `relid` and `attno` must name an existing column.
pub unsafe fn compile_rule(relid: pg_sys::Oid, attno: i16, rule: &ColumnRule) -> Result<*mut pg_sys::Node, RuleError> {
    let column = attribute_name(relid, attno).unwrap_or_default();
    let sql = CString::new(format!("SELECT {}", rule.expression()))
        .map_err(|_| rule_error("masking rule contains a NUL character", "Remove it."))?;
    let trusted = trusted_schemas();
    // SAFETY: standard parse-analysis sequence on a relation opened and closed inside.
    crate::tree::with_pinned_search_path(|| unsafe { compile_under_pinned_path(relid, attno, &column, rule, &sql, &trusted) })
}

unsafe fn compile_under_pinned_path(
    relid: pg_sys::Oid,
    attno: i16,
    column: &str,
    rule: &ColumnRule,
    sql: &CStr,
    trusted: &[pg_sys::Oid],
) -> Result<*mut pg_sys::Node, RuleError> {
    let shape_hint = "A rule is one expression: a function call, an operator expression, a CASE, a literal; no SELECT, FROM or ';'.";
    // SAFETY: raw_parser returns a List of RawStmt; every node is tag-checked before use.
    unsafe {
        let stmts = PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(sql.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
        let single = if stmts.len() == 1 { stmts.get_ptr(0) } else { None };
        let select = match single {
            Some(raw) if pgrx::is_a((*raw).stmt, pg_sys::NodeTag::T_SelectStmt) => (*raw).stmt as *mut pg_sys::SelectStmt,
            _ => return Err(rule_error(format!("masking rule for column \"{column}\" is not a single expression"), shape_hint)),
        };
        let s = &*select;
        let targets = PgList::<pg_sys::ResTarget>::from_pg(s.targetList);
        if targets.len() != 1
            || !s.fromClause.is_null()
            || !s.whereClause.is_null()
            || !s.groupClause.is_null()
            || !s.havingClause.is_null()
            || !s.windowClause.is_null()
            || !s.valuesLists.is_null()
            || !s.sortClause.is_null()
            || !s.limitCount.is_null()
            || !s.limitOffset.is_null()
            || !s.lockingClause.is_null()
            || !s.withClause.is_null()
            || !s.distinctClause.is_null()
            || !s.intoClause.is_null()
            || s.op != pg_sys::SetOperation::SETOP_NONE
        {
            return Err(rule_error(format!("masking rule for column \"{column}\" is not a single expression"), shape_hint));
        }
        let target = targets.get_ptr(0).ok_or_else(|| rule_error("empty masking rule", shape_hint))?;
        if !(*target).name.is_null() {
            return Err(rule_error(format!("masking rule for column \"{column}\" has an alias"), "Remove the AS clause."));
        }

        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        (*pstate).p_sourcetext = sql.as_ptr();
        let nsitem = pg_sys::addRangeTableEntryForRelation(
            pstate,
            rel,
            pg_sys::AccessShareLock as i32,
            std::ptr::null_mut(),
            false,
            false,
        );
        pg_sys::addNSItemToQuery(pstate, nsitem, false, true, true);
        let mut expr = pg_sys::transformExpr(pstate, (*target).val, pg_sys::ParseExprKind::EXPR_KIND_SELECT_TARGET);
        pg_sys::assign_expr_collations(pstate, expr);

        let attr = *(*(*rel).rd_att).attrs.as_ptr().add(attno as usize - 1);
        let result = (|| {
            let forbidden = walk(expr, |node, _| {
                pgrx::is_a(node, pg_sys::NodeTag::T_SubLink)
                    || pgrx::is_a(node, pg_sys::NodeTag::T_Aggref)
                    || pgrx::is_a(node, pg_sys::NodeTag::T_WindowFunc)
                    || pgrx::is_a(node, pg_sys::NodeTag::T_GroupingFunc)
                    || pgrx::is_a(node, pg_sys::NodeTag::T_Param)
            });
            if forbidden || pg_sys::expression_returns_set(expr) {
                return Err(rule_error(
                    format!("masking rule for column \"{column}\" uses a subquery, aggregate, window or set-returning function"),
                    "Rules are computed row by row from the row's own columns; move other logic into a function in a trusted schema.",
                ));
            }
            if matches!(rule, ColumnRule::Value(_)) && pg_sys::contain_var_clause(expr) {
                return Err(rule_error(
                    format!("MASKED WITH VALUE for column \"{column}\" refers to a column"),
                    "VALUE takes a constant; use MASKED WITH FUNCTION to compute from columns.",
                ));
            }
            let source_type = pg_sys::exprType(expr);
            let coerced = pg_sys::coerce_to_target_type(
                pstate,
                expr,
                source_type,
                attr.atttypid,
                -1,
                pg_sys::CoercionContext::COERCION_ASSIGNMENT,
                pg_sys::CoercionForm::COERCE_IMPLICIT_CAST,
                -1,
            );
            if coerced.is_null() {
                return Err(rule_error(
                    format!(
                        "masking rule for column \"{column}\" returns type {}, which cannot be assigned to the column's type {}",
                        type_name(source_type),
                        type_name(attr.atttypid)
                    ),
                    "Cast the rule's result, or use a masking function that returns the column's type.",
                ));
            }
            expr = coerced;
            // Keep the column's collation, so ORDER BY and comparisons on the masked value behave
            // as on the column.
            if pg_sys::type_is_collatable(attr.atttypid) && pg_sys::exprCollation(expr) != attr.attcollation {
                expr = pg_sys::makeRelabelType(expr.cast(), attr.atttypid, -1, attr.attcollation, pg_sys::CoercionForm::COERCE_IMPLICIT_CAST).cast();
            }
            // Every function, operator and cast must come from a trusted schema.
            let mut functions: Vec<pg_sys::Oid> = Vec::new();
            let fptr = &mut functions as *mut Vec<pg_sys::Oid> as *mut std::ffi::c_void;
            walk(expr, |node, _| {
                if pgrx::is_a(node, pg_sys::NodeTag::T_OpExpr)
                    || pgrx::is_a(node, pg_sys::NodeTag::T_DistinctExpr)
                    || pgrx::is_a(node, pg_sys::NodeTag::T_NullIfExpr)
                {
                    pg_sys::set_opfuncid(node.cast());
                }
                pg_sys::check_functions_in_node(node, Some(collect_function), fptr);
                false
            });
            if let Some(untrusted) = functions.iter().find(|f| !trusted_function(**f, trusted)) {
                return Err(rule_error(
                    format!(
                        "masking rule for column \"{column}\" calls {}, which is not in a trusted schema",
                        function_name(*untrusted)
                    ),
                    "Rules may call functions in pg_catalog, privacy, and schemas a superuser labels TRUSTED \
                     (SECURITY LABEL FOR privacy ON SCHEMA s IS 'TRUSTED').",
                ));
            }
            // Mark calls of keyed functions as the rule's own (see RULE_CALL_LOCATION).
            let keyed = keyed_functions();
            walk(expr, |node, _| {
                if pgrx::is_a(node, pg_sys::NodeTag::T_FuncExpr) {
                    let f = node as *mut pg_sys::FuncExpr;
                    if keyed.contains(&(*f).funcid) {
                        (*f).location = RULE_CALL_LOCATION;
                    }
                }
                false
            });
            Ok(expr)
        })();
        pg_sys::free_parsestate(pstate);
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        result
    }
}

fn type_name(typid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd string for any type OID.
    unsafe { CStr::from_ptr(pg_sys::format_type_be(typid)).to_string_lossy().into_owned() }
}

fn function_name(funcid: pg_sys::Oid) -> String {
    // SAFETY: format_procedure returns a palloc'd string for any OID.
    unsafe { CStr::from_ptr(pg_sys::format_procedure(funcid)).to_string_lossy().into_owned() }
}

// ------------------------------------------------------------------ effective rules per relation

/// The label on the column called `name` of `rel`, if that column exists and is labelled.
fn column_label(rel: pg_sys::Oid, name: &str) -> Option<String> {
    let cname = CString::new(name).unwrap_or_default();
    // SAFETY: get_attnum returns InvalidAttrNumber when the column does not exist.
    let attno = unsafe { pg_sys::get_attnum(rel, cname.as_ptr()) };
    if attno <= 0 {
        return None;
    }
    column_labels_of(rel).into_iter().find(|(a, _)| *a == attno as i32).map(|(_, label)| label)
}

/// Visits `start` and the relations reached from it through `next` (parents or children),
/// breadth first, each once, until `visit` returns false.
fn walk_relations(start: Vec<pg_sys::Oid>, next: fn(pg_sys::Oid) -> Vec<pg_sys::Oid>, mut visit: impl FnMut(pg_sys::Oid) -> bool) {
    let mut queue = std::collections::VecDeque::from(start);
    let mut seen = Vec::new();
    while let Some(rel) = queue.pop_front() {
        if seen.contains(&rel) {
            continue;
        }
        seen.push(rel);
        if !visit(rel) {
            return;
        }
        queue.extend(next(rel));
    }
}

/// The rule text that applies to column `name` of `relid`: its own label, else the nearest
/// ancestor's (inheritance or partitioning). Returns (rule text, relation it comes from).
pub fn inherited_rule(relid: pg_sys::Oid, name: &str) -> Option<(String, pg_sys::Oid)> {
    let mut found = None;
    walk_relations(vec![relid], parents_of, |rel| {
        found = column_label(rel, name).map(|label| (label, rel));
        found.is_none()
    });
    found
}

/// Rules found on descendants of `relid` for column `name` (reading through a parent must not
/// bypass a rule set on a child).
fn descendant_rules(relid: pg_sys::Oid, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    walk_relations(children_of(relid), children_of, |rel| {
        out.extend(column_label(rel, name));
        true
    });
    out
}

/// The protection of `relid` when read with (`inh`) or without its descendants. Cached.
pub fn protection(relid: pg_sys::Oid, inh: bool) -> Protection {
    if let Some(p) = CACHE.with(|c| c.borrow().relations.get(&(relid, inh)).cloned()) {
        return p;
    }
    let generation = CACHE.with(|c| c.borrow().generation);
    let computed = if any_rules() { compute_protection(relid, inh) } else { Protection::None };
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.generation == generation {
            cache.relations.insert((relid, inh), computed.clone());
        }
    });
    computed
}

fn compute_protection(relid: pg_sys::Oid, inh: bool) -> Protection {
    // SAFETY: lsyscache lookup.
    let relkind = unsafe { pg_sys::get_rel_relkind(relid) } as u8;
    if relkind == b'm' {
        return if matview_reads_protected(relid) { Protection::DerivedMatview } else { Protection::None };
    }
    if !matches!(relkind, b'r' | b'p' | b'f') {
        return Protection::None;
    }
    // SAFETY: the relation exists (the planner or COPY has it locked); attributes are read from
    // its descriptor while it is open.
    let columns: Vec<(i16, String, u8)> = unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let desc = (*rel).rd_att;
        let mut cols = Vec::new();
        for i in 0..(*desc).natts as usize {
            let attr = *(*desc).attrs.as_ptr().add(i);
            if !attr.attisdropped {
                let name = CStr::from_ptr(attr.attname.data.as_ptr()).to_string_lossy().into_owned();
                cols.push((attr.attnum, name, attr.attgenerated as u8));
            }
        }
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        cols
    };
    let mut texts: Vec<(i16, ColumnRule)> = Vec::new();
    for (attno, name, _) in &columns {
        let text = match inherited_rule(relid, name) {
            Some((label, _)) => Some(label),
            None if inh => {
                let mut found = descendant_rules(relid, name);
                found.sort();
                found.dedup();
                match found.len() {
                    0 => None,
                    1 => found.pop(),
                    // Children disagree: reading through the parent hides the column entirely.
                    _ => Some("MASKED WITH VALUE NULL".to_owned()),
                }
            }
            None => None,
        };
        if let Some(text) = text {
            texts.push((*attno, or_raise(parse_column_label(&text))));
        }
    }
    if texts.is_empty() {
        return Protection::None;
    }
    let context_owner = CACHE.with(|c| c.borrow_mut().context.get_or_insert_with(|| Rc::new(RuleContext::new())).clone());
    let context = context_owner.0;
    let mut rules = Vec::new();
    for (attno, rule) in &texts {
        // SAFETY: the column exists; compilation happens in the current context and the result
        // is copied into the cache's context.
        let compiled = unsafe { compile_rule(relid, *attno, rule) };
        match compiled {
            // SAFETY: copyObjectImpl deep-copies a valid node tree into `context`.
            Ok(expr) => rules.push((*attno, unsafe { copy_into(context, expr) })),
            Err(RuleError(message, hint)) => raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("masking rule on {} is no longer valid: {message}", relation_name(relid)),
                format!("{hint} Fix or drop the rule (SECURITY LABEL FOR privacy ON COLUMN ... IS NULL)."),
            ),
        }
    }
    // Stored generated columns computed from masked columns are masked too: masked readers see
    // the generation expression evaluated over the masked values.
    for (attno, _, generated) in &columns {
        if *generated != b's' || rules.iter().any(|(a, _)| a == attno) {
            continue;
        }
        // SAFETY: generation_expression returns a node tree or NULL; rules hold valid trees.
        unsafe {
            let expr = generation_expression(relid, *attno);
            if expr.is_null() {
                continue;
            }
            let masked: Vec<i16> = rules.iter().map(|(a, _)| *a).collect();
            if !crate::tree::references_columns(expr, 1, 0, |a| a == 0 || masked.contains(&a)) {
                continue;
            }
            // Generation expressions cannot hold whole-row Vars, so no RTE is needed.
            let substituted = substitute(expr, 1, std::ptr::null_mut(), &rules);
            rules.push((*attno, copy_into(context, substituted)));
        }
    }
    Protection::Masked(Rc::new(MaskedRelation { relid, rules, _context: context_owner }))
}

/// Copies a node tree into `context`.
unsafe fn copy_into(context: pg_sys::MemoryContext, node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    // SAFETY: switching memory contexts around a deep copy of a valid tree.
    unsafe {
        let old = pg_sys::MemoryContextSwitchTo(context);
        let copy = pg_sys::copyObjectImpl(node.cast()).cast();
        pg_sys::MemoryContextSwitchTo(old);
        copy
    }
}

/// The generation expression of a stored generated column (Vars of varno 1), or NULL.
unsafe fn generation_expression(relid: pg_sys::Oid, attno: i16) -> *mut pg_sys::Node {
    // SAFETY: build_column_default on an open relation returns the generation expression of a
    // generated column.
    unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let expr = pg_sys::build_column_default(rel, attno as i32);
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        expr
    }
}

/// Replaces, in `node`, every Var of range-table entry `varno` (at the top level and in nested
/// queries) whose column has a rule by a copy of the rule's expression (Vars renumbered to
/// `varno`); a whole-row Var becomes a ROW() of masked columns. Returns the new tree.
///
/// # Safety
/// `node` must be a valid tree; `rules` valid expressions over varno 1.
/// `rte` is the entry's RangeTblEntry, needed to expand whole-row Vars; it may be NULL only for
/// expressions that cannot contain whole-row Vars (generation expressions).
pub unsafe fn substitute(
    node: *mut pg_sys::Node,
    varno: i32,
    rte: *mut pg_sys::RangeTblEntry,
    rules: &[(i16, *mut pg_sys::Node)],
) -> *mut pg_sys::Node {
    // SAFETY: builds a target list of copied rule expressions and lets PostgreSQL's rewriter
    // helper (the one view expansion uses) do the replacement, including whole-row Vars and
    // outer references from sub-queries.
    unsafe {
        let mut tlist = PgList::<pg_sys::TargetEntry>::new();
        for (attno, expr) in rules {
            let copy = pg_sys::copyObjectImpl((*expr).cast()) as *mut pg_sys::Node;
            if varno != 1 {
                pg_sys::ChangeVarNodes(copy, 1, varno, 0);
            }
            tlist.push(pg_sys::makeTargetEntry(copy.cast(), *attno, std::ptr::null_mut(), false));
        }
        let mut has_sublinks = false;
        pg_sys::ReplaceVarsFromTargetList(
            node,
            varno,
            0,
            rte,
            tlist.into_pg(),
            pg_sys::ReplaceVarsNoMatchOption::REPLACEVARS_CHANGE_VARNO,
            varno,
            &mut has_sublinks,
        )
    }
}

/// Whether a materialized view's defining query uses a masked column (directly or through views
/// and other materialized views): its stored data would then be the owner's unmasked view.
fn matview_reads_protected(relid: pg_sys::Oid) -> bool {
    // SAFETY: get_view_query returns the matview's stored query (owned by the relcache entry; it
    // is only read while the relation is open). Nodes are tag-checked before casts.
    unsafe {
        let rel = pg_sys::relation_open(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let query = pg_sys::get_view_query(rel);
        let mut queries: Vec<*mut pg_sys::Query> = vec![query];
        walk(query.cast(), |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
                queries.push(node.cast());
            }
            false
        });
        let mut uses_masked = false;
        for q in queries {
            for (index, rte) in crate::tree::rtable(q) {
                if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION || (*rte).relid == relid {
                    continue;
                }
                match protection((*rte).relid, (*rte).inh) {
                    Protection::None => {}
                    Protection::DerivedMatview => uses_masked = true,
                    Protection::Masked(rules) => {
                        uses_masked |= crate::tree::references_columns(q.cast(), index, 0, |a| a == 0 || rules.masks(a));
                    }
                }
            }
        }
        pg_sys::relation_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        uses_masked
    }
}
