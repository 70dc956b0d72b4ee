//! Consent-aware row filters: which purpose a session acts for, and the row-security policy that
//! hides the rows of data subjects without active consent for it.
//!
//! The filter is PostgreSQL row security, supplied through `row_security_policy_hook_restrictive`:
//! for each subject table (RLS enabled and forced by `privacy.set_subject`), the hook returns a
//! restrictive policy whose condition is
//! `EXISTS (SELECT 1 FROM privacy.consent c WHERE c.purpose = <purpose> AND c.<key> = <subject
//! column> AND c.active_until > now())`, an indexed semi-join evaluated at execution time, so a
//! withdrawal committed elsewhere hides rows from the next statement, cached plans included. The
//! condition is built from a constant template and node trees (no SQL text from user data) and
//! analysed with a pinned search_path.
//!
//! The purpose comes from `privacy.purpose` (a GUC): a role allowed exactly one purpose acts for
//! it without setting anything; a role allowed several must choose (SET or SET LOCAL) and sees no
//! subject rows until it does; a role allowed none is not filtered. Whatever way the GUC is set
//! (SET, set_config, PGOPTIONS, ALTER ROLE/DATABASE SET, function SET clauses), the purpose is
//! checked against the role where it is used, in the policy hook, so no path can act for a
//! purpose the role was not allowed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use pgrx::PgList;

use crate::catalog_scan::scan_catalog;
use crate::errors::raise;

/// Storage of the `privacy.purpose` GUC (owned by PostgreSQL's GUC machinery).
static mut PURPOSE_GUC: *mut std::ffi::c_char = std::ptr::null_mut();
static mut PREV_RESTRICTIVE_HOOK: pg_sys::row_security_policy_hook_type = None;

#[derive(Clone, Debug)]
struct Registry {
    /// purpose name -> requires consent
    purposes: HashMap<String, bool>,
    /// subject table -> subject column
    subjects: HashMap<pg_sys::Oid, String>,
    /// (role name, purpose)
    role_purposes: Vec<(String, String)>,
}

thread_local! {
    static REGISTRY: RefCell<Option<Rc<Registry>>> = const { RefCell::new(None) };
    /// Purposes allowed per role, computed from the registry and role memberships.
    static ALLOWED: RefCell<HashMap<pg_sys::Oid, Vec<String>>> = RefCell::new(HashMap::new());
    /// Analysed filter conditions per (subject table, purpose, locking), kept in CONDITION_MEMORY
    /// and copied out for each use: parsing the template on every rewrite would cost more than the
    /// queries it filters (simple-protocol lookups).
    static CONDITIONS: RefCell<HashMap<(pg_sys::Oid, String, bool), usize>> = RefCell::new(HashMap::new());
    static CONDITION_MEMORY: std::cell::Cell<pg_sys::MemoryContext> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// Drops the registry and everything derived from it (registry changes, role changes, DDL).
pub fn reset() {
    REGISTRY.with(|r| r.borrow_mut().take());
    ALLOWED.with(|a| a.borrow_mut().clear());
    CONDITIONS.with(|c| c.borrow_mut().clear());
    let memory = CONDITION_MEMORY.with(|m| m.get());
    if !memory.is_null() {
        // SAFETY: the context holds only the cached conditions, whose map was just cleared;
        // callers always received copies.
        unsafe { pg_sys::MemoryContextReset(memory) };
    }
}

/// A copy of the cached condition for `key`, building and caching it on first use.
unsafe fn cached_condition(
    key: (pg_sys::Oid, String, bool),
    build: impl FnOnce() -> *mut pg_sys::Expr,
) -> *mut pg_sys::Expr {
    if let Some(ptr) = CONDITIONS.with(|c| c.borrow().get(&key).copied()) {
        // SAFETY: ptr is a node tree in CONDITION_MEMORY, valid until the next reset.
        return unsafe { pg_sys::copyObjectImpl(ptr as *const std::ffi::c_void).cast() };
    }
    let built = build();
    // SAFETY: the context is created once under CacheMemoryContext; the copy is made in it.
    unsafe {
        let mut memory = CONDITION_MEMORY.with(|m| m.get());
        if memory.is_null() {
            memory = pg_sys::AllocSetContextCreateInternal(
                pg_sys::CacheMemoryContext,
                c"pg_privacy consent conditions".as_ptr(),
                0,
                8 * 1024,
                8 * 1024 * 1024,
            );
            CONDITION_MEMORY.with(|m| m.set(memory));
        }
        let old = pg_sys::MemoryContextSwitchTo(memory);
        let kept = pg_sys::copyObjectImpl(built as *const std::ffi::c_void);
        pg_sys::MemoryContextSwitchTo(old);
        CONDITIONS.with(|c| c.borrow_mut().insert(key, kept as usize));
    }
    built
}

#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    // Registry changes send a relcache-wide invalidation; DDL on a subject table one for it.
    let relevant = relid == pg_sys::InvalidOid
        || REGISTRY.with(|r| r.borrow().as_ref().map(|reg| reg.subjects.contains_key(&relid)).unwrap_or(false));
    if relevant {
        reset();
    }
}

pub fn init() {
    // SAFETY: defining a GUC and installing a hook during library load; the storage and
    // callbacks live as long as the library.
    unsafe {
        pg_sys::DefineCustomStringVariable(
            c"privacy.purpose".as_ptr(),
            c"The purpose this session acts for (consent-aware row filters).".as_ptr(),
            c"Only purposes allowed to the role with privacy.allow_purpose() take effect.".as_ptr(),
            &raw mut PURPOSE_GUC,
            c"".as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            0,
            Some(check_purpose),
            Some(assign_purpose),
            None,
        );
        pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_invalidation), pg_sys::Datum::from(0));
        PREV_RESTRICTIVE_HOOK = pg_sys::row_security_policy_hook_restrictive;
        pg_sys::row_security_policy_hook_restrictive = Some(consent_policies);
    }
}

/// The purpose the session asked for ("" = none).
fn requested_purpose() -> String {
    // SAFETY: the GUC storage is a NUL-terminated string or NULL.
    unsafe {
        if PURPOSE_GUC.is_null() {
            String::new()
        } else {
            CStr::from_ptr(PURPOSE_GUC).to_string_lossy().trim().to_owned()
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn check_purpose(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: newval points at the proposed value; catalog access only inside a transaction
    // (outside one, e.g. at connection start from PGOPTIONS, the value is checked where it is
    // used instead).
    unsafe {
        if newval.is_null() || (*newval).is_null() || !pg_sys::IsTransactionState() {
            return true;
        }
        let wanted = CStr::from_ptr(*newval).to_string_lossy().trim().to_owned();
        if wanted.is_empty() || crate::catalog_scan::extension_installed().is_none() {
            return true;
        }
        let user = pg_sys::GetUserId();
        if allowed_purposes(user).contains(&wanted) {
            return true;
        }
        // Superusers may store any existing purpose (ALTER ROLE/DATABASE ... SET); the role
        // that uses it is checked when it acts.
        if pg_sys::superuser() && registry().purposes.contains_key(&wanted) {
            return true;
        }
        let message = CString::new(format!(
            "role \"{}\" is not allowed to act for purpose \"{}\"",
            crate::roles::role_name(user),
            wanted
        ))
        .unwrap_or_default();
        pg_sys::GUC_check_errcode(PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE as i32);
        pg_sys::GUC_check_errmsg_string = pg_sys::pstrdup(message.as_ptr());
        pg_sys::GUC_check_errhint_string =
            pg_sys::pstrdup(c"A DBA allows purposes with privacy.allow_purpose(role, purpose); see privacy.role_purposes.".as_ptr());
        false
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_purpose(_newval: *const std::ffi::c_char, _extra: *mut std::ffi::c_void) {
    // Plans embed the purpose's filter: drop cached plans when the purpose changes (SET, SET
    // LOCAL and its rollback, function SET clauses). ResetPlanCache only marks plans invalid.
    // SAFETY: safe in an assign hook; touches no catalog.
    unsafe { pg_sys::ResetPlanCache() };
}

fn load_registry() -> Registry {
    let mut purposes = HashMap::new();
    let mut subjects = HashMap::new();
    let mut role_purposes = Vec::new();
    if let Some(nsp) = crate::catalog_scan::extension_installed() {
        // SAFETY: catalog lookups of the extension's own tables in its schema.
        let relid = |name: &CStr| unsafe { pg_sys::get_relname_relid(name.as_ptr(), nsp) };
        let purpose_rel = relid(c"purpose");
        let subject_rel = relid(c"subject_table");
        let role_rel = relid(c"role_purpose");
        if purpose_rel != pg_sys::InvalidOid {
            // purpose: name (1), requires_consent (2)
            scan_catalog(purpose_rel, None, |row| {
                if let Some(name) = row.text(1) {
                    purposes.insert(name, row.bool(2));
                }
            });
        }
        if subject_rel != pg_sys::InvalidOid {
            // subject_table: relation (1), subject_column (2)
            scan_catalog(subject_rel, None, |row| {
                if let Some(col) = row.name(2) {
                    subjects.insert(row.oid(1), col);
                }
            });
        }
        if role_rel != pg_sys::InvalidOid {
            // role_purpose: role_name (1), purpose (2)
            scan_catalog(role_rel, None, |row| {
                if let (Some(role), Some(purpose)) = (row.name(1), row.text(2)) {
                    role_purposes.push((role, purpose));
                }
            });
        }
    }
    Registry { purposes, subjects, role_purposes }
}

fn registry() -> Rc<Registry> {
    if let Some(r) = REGISTRY.with(|r| r.borrow().clone()) {
        return r;
    }
    let loaded = Rc::new(load_registry());
    REGISTRY.with(|r| *r.borrow_mut() = Some(loaded.clone()));
    loaded
}

/// Purposes allowed to `role`: those allowed to it or to a role whose privileges it has.
fn allowed_purposes(role: pg_sys::Oid) -> Vec<String> {
    if let Some(found) = ALLOWED.with(|a| a.borrow().get(&role).cloned()) {
        return found;
    }
    let computed = compute_allowed_purposes(role);
    ALLOWED.with(|a| a.borrow_mut().insert(role, computed.clone()));
    computed
}

fn compute_allowed_purposes(role: pg_sys::Oid) -> Vec<String> {
    let reg = registry();
    let mut out: Vec<String> = reg
        .role_purposes
        .iter()
        .filter(|(name, _)| {
            let cname = CString::new(name.as_str()).unwrap_or_default();
            // SAFETY: role lookup by name (missing_ok) and membership check.
            unsafe {
                let granted_to = pg_sys::get_role_oid(cname.as_ptr(), true);
                granted_to != pg_sys::InvalidOid && (granted_to == role || pg_sys::has_privs_of_role(role, granted_to))
            }
        })
        .map(|(_, p)| p.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What a session's reads of subject tables are filtered by.
enum Filter {
    /// The role is allowed no purpose, or acts for one that needs no consent.
    None,
    /// Rows of subjects with active consent for this purpose.
    ConsentFor(String),
    /// The role must choose among several purposes and has not: no rows.
    NoRows,
}

fn session_filter(user: pg_sys::Oid) -> Filter {
    // SAFETY: reads a backend global.
    if unsafe { pg_sys::superuser_arg(user) } {
        return Filter::None;
    }
    let allowed = allowed_purposes(user);
    let requested = requested_purpose();
    let purpose = if !requested.is_empty() {
        if !allowed.contains(&requested) {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!(
                    "role \"{}\" is not allowed to act for purpose \"{requested}\"",
                    crate::roles::role_name(user)
                ),
                "A DBA allows purposes with privacy.allow_purpose(role, purpose); see privacy.role_purposes.",
            );
        }
        requested
    } else {
        match allowed.len() {
            0 => return Filter::None,
            1 => allowed[0].clone(),
            _ => return Filter::NoRows,
        }
    };
    match registry().purposes.get(&purpose) {
        Some(true) => Filter::ConsentFor(purpose),
        _ => Filter::None,
    }
}

/// Whether the session is filtered by consent at all (used to keep row_security on for it).
pub fn session_is_filtered() -> bool {
    if registry().subjects.is_empty() {
        return false;
    }
    // SAFETY: reads a backend global.
    !allowed_purposes(unsafe { pg_sys::GetUserId() }).is_empty()
}

#[pg_guard]
unsafe extern "C-unwind" fn consent_policies(cmd: pg_sys::CmdType::Type, relation: pg_sys::Relation) -> *mut pg_sys::List {
    // SAFETY: relation is open (the rewriter holds it); the previous hook is called with the
    // same arguments and its list extended.
    unsafe {
        let mut policies = match PREV_RESTRICTIVE_HOOK {
            Some(prev) => PgList::<pg_sys::RowSecurityPolicy>::from_pg(prev(cmd, relation)),
            None => PgList::<pg_sys::RowSecurityPolicy>::new(),
        };
        let relid = (*relation).rd_id;
        let reg = registry();
        if let Some(column) = reg.subjects.get(&relid) {
            match session_filter(pg_sys::GetUserId()) {
                Filter::None => {}
                Filter::NoRows => policies.push(policy(pg_sys::makeBoolConst(false, false).cast(), false)),
                Filter::ConsentFor(purpose) => {
                    let locking = cmd != pg_sys::CmdType::CMD_SELECT;
                    let condition = cached_condition((relid, purpose.clone(), locking), || {
                        consent_condition(relation, column, &purpose, locking)
                    });
                    policies.push(policy(condition, true))
                }
            }
        }
        policies.into_pg()
    }
}

unsafe fn policy(qual: *mut pg_sys::Expr, has_sublinks: bool) -> *mut pg_sys::RowSecurityPolicy {
    // SAFETY: palloc0'd struct filled in full; roles = {PUBLIC} so it applies to every role.
    unsafe {
        let p = pg_sys::palloc0(std::mem::size_of::<pg_sys::RowSecurityPolicy>()) as *mut pg_sys::RowSecurityPolicy;
        (*p).policy_name = pg_sys::pstrdup(c"privacy_consent".as_ptr());
        (*p).polcmd = b'*' as std::ffi::c_char;
        let public = [pg_sys::Datum::from(pg_sys::Oid::from(pg_sys::ACL_ID_PUBLIC))];
        (*p).roles = pg_sys::construct_array_builtin(public.as_ptr().cast_mut(), 1, pg_sys::OIDOID);
        (*p).permissive = false;
        (*p).qual = qual;
        (*p).with_check_qual = std::ptr::null_mut();
        (*p).hassublinks = has_sublinks;
        p
    }
}

/// Builds `EXISTS (SELECT 1 FROM privacy.consent c WHERE c.purpose = <purpose> AND c.<key> =
/// <subject column> AND c.active_until > now())` over Vars of varno 1, for `relation`.
///
/// With `locking` (UPDATE, DELETE, and the UPDATE check of SELECT ... FOR UPDATE/SHARE) the
/// sub-select reads the consent row FOR SHARE: in READ COMMITTED, a row re-fetched after waiting
/// for a concurrent transaction is then checked against the consent as that transaction left it,
/// not as the statement's snapshot saw it (the race described in PostgreSQL's row-security
/// documentation), and a withdrawal waits for statements that are locking rows under the consent.
unsafe fn consent_condition(relation: pg_sys::Relation, column: &str, purpose: &str, locking: bool) -> *mut pg_sys::Expr {
    // SAFETY: parse-analysis of a constant template in a parse state holding the subject table;
    // placeholders are replaced by nodes, never by text; the search_path is pinned around it.
    unsafe {
        let relid = (*relation).rd_id;
        let ccol = CString::new(column).unwrap_or_default();
        let attno = pg_sys::get_attnum(relid, ccol.as_ptr());
        if attno <= 0 {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!("subject column \"{column}\" of {} no longer exists", crate::policy_catalog::relation_name(relid)),
                "Run privacy.set_subject() again with the column that holds the subject's id.",
            );
        }
        let typid = pg_sys::get_atttype(relid, attno);
        let (key, cast_to) = match typid {
            t if t == pg_sys::INT2OID || t == pg_sys::INT4OID || t == pg_sys::INT8OID => ("subject_bigint", pg_sys::INT8OID),
            t if t == pg_sys::UUIDOID => ("subject_uuid", pg_sys::UUIDOID),
            _ => ("subject", pg_sys::TEXTOID),
        };
        let template = CString::new(format!(
            "SELECT EXISTS (SELECT 1 FROM privacy.consent c WHERE c.purpose = $1 AND c.{key} = $2 \
             AND c.active_until > pg_catalog.now(){})",
            if locking { " FOR SHARE" } else { "" }
        ))
        .unwrap_or_default();
        crate::tree::with_pinned_search_path(|| analyse_condition(relation, &template, &ccol, cast_to, purpose))
    }
}

/// Parses and analyses the consent condition template for `relation` (see consent_condition).
unsafe fn analyse_condition(
    relation: pg_sys::Relation,
    template: &CStr,
    ccol: &CStr,
    cast_to: pg_sys::Oid,
    purpose: &str,
) -> *mut pg_sys::Expr {
    // SAFETY: parse-analysis of a constant template in a parse state holding the subject table;
    // placeholders are replaced by nodes, never by text.
    unsafe {
        let stmts = PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(template.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
        let raw = stmts.get_ptr(0).unwrap_or(std::ptr::null_mut());
        let select = (*raw).stmt as *mut pg_sys::SelectStmt;
        let target = PgList::<pg_sys::ResTarget>::from_pg((*select).targetList).get_ptr(0).unwrap_or(std::ptr::null_mut());
        let expr = (*target).val;
        // Replace $1 by the purpose (a constant) and $2 by the subject column (cast to the key type).
        let cpurpose = CString::new(purpose).unwrap_or_default();
        let purpose_const = crate::tree::make_node::<pg_sys::A_Const>(pg_sys::NodeTag::T_A_Const);
        (*purpose_const).val.sval.type_ = pg_sys::NodeTag::T_String;
        (*purpose_const).val.sval.sval = pg_sys::pstrdup(cpurpose.as_ptr());
        (*purpose_const).location = -1;
        let colref = crate::tree::make_node::<pg_sys::ColumnRef>(pg_sys::NodeTag::T_ColumnRef);
        let mut fields = PgList::<pg_sys::Node>::new();
        fields.push(pg_sys::makeString(pg_sys::pstrdup(c"privacy_subject_row".as_ptr())).cast());
        fields.push(pg_sys::makeString(pg_sys::pstrdup(ccol.as_ptr())).cast());
        (*colref).fields = fields.into_pg();
        (*colref).location = -1;
        let cast = crate::tree::make_node::<pg_sys::TypeCast>(pg_sys::NodeTag::T_TypeCast);
        (*cast).arg = colref.cast();
        (*cast).typeName = pg_sys::makeTypeNameFromOid(cast_to, -1);
        (*cast).location = -1;
        let replacements: [*mut pg_sys::Node; 2] = [purpose_const.cast(), cast.cast()];
        crate::tree::replace_param_refs(expr, &replacements);

        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        (*pstate).p_sourcetext = template.as_ptr();
        let alias = pg_sys::makeAlias(c"privacy_subject_row".as_ptr(), std::ptr::null_mut());
        let nsitem = pg_sys::addRangeTableEntryForRelation(pstate, relation, pg_sys::AccessShareLock as i32, alias, false, false);
        pg_sys::addNSItemToQuery(pstate, nsitem, false, true, true);
        let analysed = pg_sys::transformExpr(pstate, expr, pg_sys::ParseExprKind::EXPR_KIND_POLICY);
        pg_sys::assign_expr_collations(pstate, analysed);
        pg_sys::free_parsestate(pstate);
        // The condition reads privacy.consent, which no application role may read. The reader
        // learns nothing from it but which rows it may see, so the access is not checked against
        // the reader (requiredPerms = 0), as PostgreSQL does for a view's own range-table entry.
        crate::tree::walk(analysed, |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_RangeTblEntry) {
                let rte = node as *mut pg_sys::RangeTblEntry;
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION {
                    (*rte).requiredPerms = 0;
                }
            }
            false
        });
        analysed.cast()
    }
}

/// `privacy.consent_config_changed()`: trigger on the registry tables; every backend reloads the
/// registry and drops cached plans from its next statement.
#[pg_trigger]
fn consent_config_changed<'a>(
    _trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, std::convert::Infallible> {
    // SAFETY: queues a relcache-wide invalidation, sent at commit (and applied locally at the
    // next command).
    unsafe { pg_sys::CacheInvalidateRelcacheAll() };
    // Every subject table has its row-security guards; this also re-creates them when a restore
    // reloads privacy.subject_table (the policies are extension members, not dumped).
    for relid in load_registry().subjects.keys() {
        crate::row_security::protect_forced(*relid);
    }
    Ok(None)
}

/// `privacy.guard_subject_table(regclass)`: row security on, forced, with the permissive
/// all-rows policy and the fail-closed policy (see row_security.rs). Called by set_subject.
#[pg_extern(volatile, parallel_unsafe)]
fn guard_subject_table(relation: pg_sys::Oid) {
    crate::row_security::protect_forced(relation);
}

extension_sql!(
    "REVOKE ALL ON FUNCTION privacy.guard_subject_table(oid) FROM PUBLIC;\n",
    name = "guard_subject_table_privileges",
    requires = [guard_subject_table]
);

/// Whether the current session's reads of subject tables are filtered (a purpose needing consent,
/// or none chosen among several).
pub fn session_filtered() -> bool {
    if registry().subjects.is_empty() {
        return false;
    }
    // SAFETY: reads a backend global.
    !matches!(session_filter(unsafe { pg_sys::GetUserId() }), Filter::None)
}

/// Row security is skipped for tables read through a view owned by a superuser or a BYPASSRLS
/// role (the view's owner is the checking role). Consent binds the session, not the view's owner:
/// for a filtered session, such subject-table reads get the same condition as security quals at
/// planning time.
///
/// # Safety
/// `query` must be a valid Query being planned.
pub unsafe fn add_bypassed_filters(query: *mut pg_sys::Query) {
    let reg = registry();
    if reg.subjects.is_empty() {
        return;
    }
    // SAFETY: reads a backend global.
    let filter = session_filter(unsafe { pg_sys::GetUserId() });
    if matches!(filter, Filter::None) {
        return;
    }
    let mut queries: Vec<*mut pg_sys::Query> = vec![query];
    // SAFETY: walking a valid tree; Query nodes are tag-checked.
    unsafe {
        crate::tree::walk(query.cast(), |node, _| {
            if pgrx::is_a(node, pg_sys::NodeTag::T_Query) {
                queries.push(node.cast());
            }
            false
        });
        for q in queries {
            for (index, rte) in crate::tree::rtable(q) {
                if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                    continue;
                }
                let Some(column) = reg.subjects.get(&(*rte).relid) else { continue };
                let checker = (*rte).checkAsUser;
                if checker == pg_sys::InvalidOid || !(pg_sys::superuser_arg(checker) || pg_sys::has_bypassrls_privilege(checker)) {
                    continue; // row security applied to this read already
                }
                let qual: *mut pg_sys::Node = match &filter {
                    Filter::None => continue,
                    Filter::NoRows => pg_sys::makeBoolConst(false, false),
                    Filter::ConsentFor(purpose) => {
                        let rel = pg_sys::relation_open((*rte).relid, pg_sys::NoLock as pg_sys::LOCKMODE);
                        let locking = (*q).resultRelation == index || !(*q).rowMarks.is_null();
                        let cond = consent_condition(rel, column, purpose, locking) as *mut pg_sys::Node;
                        pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
                        (*q).hasSubLinks = true;
                        cond
                    }
                };
                if index != 1 {
                    pg_sys::ChangeVarNodes(qual, 1, index, 0);
                }
                (*rte).securityQuals = pg_sys::lappend((*rte).securityQuals, qual.cast());
            }
        }
    }
}
