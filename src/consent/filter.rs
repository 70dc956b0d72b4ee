//! The consent filter: a condition on each subject table read, for each purpose that governs the
//! statement, that hides the rows of subjects without active consent.
//!
//! **Condition.** For reads: `EXISTS (SELECT 1 FROM privacy.consent_<kind> c WHERE c.purpose =
//! <purpose> AND c.subject = <subject column> AND c.active_until > statement_timestamp())`, an
//! indexed semi-join evaluated when the statement runs: a withdrawal committed elsewhere hides the
//! rows from the next statement (of a READ COMMITTED transaction; a REPEATABLE READ or
//! SERIALIZABLE transaction keeps reading its snapshot until it ends), and an expiry takes effect
//! at the first statement after it, however long the transaction has been open.
//! For rows a statement locks or changes (UPDATE, DELETE, SELECT ... FOR UPDATE/SHARE):
//! `privacy.has_active_consent(<marker>, <purpose>, <subject column>)`, which reads the latest
//! committed consent without taking any lock. A row PostgreSQL re-checks after waiting for a
//! concurrent update (READ COMMITTED) is thus checked against the consent as it now stands — the
//! race PostgreSQL's row-security documentation describes — and a withdrawal never waits for a
//! reader, however long the reader's transaction stays open.
//! Conditions are built from a constant template and nodes (no SQL text from names or data), with
//! a pinned search_path, and cached per (table, purpose, kind).
//!
//! **Where it is applied.** As a restrictive row-security policy (`row_security_policy_hook_
//! restrictive`) for the roles governing the session when the statement is rewritten (its login,
//! unless inside a TRUSTED function, the current user, owners of running code); and, at planning,
//! as security-barrier conditions for what row security cannot see: the roles whose privileges a
//! view or rule reads the table with, the owners of code the statement runs, and reads that skip
//! row security (a superuser's or BYPASSRLS role's view, a BYPASSRLS current user).

use std::collections::HashMap;
use std::ffi::CString;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

use super::purpose::{filters_for, Filter};
use super::registry::{registry, KeyKind, SubjectTable};
use crate::context;
use crate::pg::catalog;
use crate::pg::errors::raise;
use crate::pg::nodes::{self, OwnedContext};

/// Analysed conditions per (table, purpose, locking), kept in their own memory context and copied
/// out for each use: parsing the template on every rewrite would cost more than the queries it
/// filters (simple-protocol lookups). The whole set belongs to one generation of
/// [`Class::Relations`](crate::pg::cache::Class) and is dropped with it.
struct Conditions {
    generation: u64,
    memory: OwnedContext,
    by_key: HashMap<(pg_sys::Oid, String, bool), *mut pg_sys::Node>,
}

backend_local! {
    static CONDITIONS: std::cell::RefCell<Option<Conditions>> = const { std::cell::RefCell::new(None) };
}

/// The governing roles of the session and how many of them it acts as (login, current user).
fn session_roles() -> (Vec<pg_sys::Oid>, usize) {
    let roles = context::governing_roles();
    let acting = acting_count(&roles);
    (roles, acting)
}

/// A copy of the condition for (relation, purpose, locking), built and cached on first use.
unsafe fn condition(relation: pg_sys::Relation, subject: &SubjectTable, purpose: &str, locking: bool) -> *mut pg_sys::Expr {
    // SAFETY: relation is open (the rewriter or planner holds it).
    let relid = unsafe { (*relation).rd_id };
    let key = (relid, purpose.to_owned(), locking);
    let generation = crate::pg::cache::generation(crate::pg::cache::Class::Relations);
    let cached = CONDITIONS.with(|c| {
        c.borrow().as_ref().filter(|set| set.generation == generation).and_then(|set| set.by_key.get(&key).copied())
    });
    if let Some(tree) = cached {
        // SAFETY: tree lives in the set's memory context, which lives as long as its generation.
        return unsafe { pg_sys::copyObjectImpl(tree as *const std::ffi::c_void).cast() };
    }
    // SAFETY: forwarded.
    let built = unsafe { build_condition(relation, subject, purpose, locking) };
    // Keep a copy only if no invalidation arrived while it was built.
    if crate::pg::cache::generation(crate::pg::cache::Class::Relations) == generation {
        CONDITIONS.with(|c| {
            let mut c = c.borrow_mut();
            if c.as_ref().map(|set| set.generation) != Some(generation) {
                *c = Some(Conditions { generation, memory: OwnedContext::new(c"pg_privacy consent conditions"), by_key: HashMap::new() });
            }
            if let Some(set) = c.as_mut() {
                // SAFETY: built is a valid tree; the set's context is live.
                let kept = unsafe { nodes::copy_into(set.memory.get(), built.cast()) };
                set.by_key.insert(key, kept);
            }
        });
    }
    built
}

unsafe fn build_condition(relation: pg_sys::Relation, subject: &SubjectTable, purpose: &str, locking: bool) -> *mut pg_sys::Expr {
    // SAFETY: relation is open; the subject column is checked to exist before use.
    unsafe {
        let relid = (*relation).rd_id;
        if catalog::attribute_number(relid, &subject.column) <= 0 || subject.kind.is_none() {
            raise(
                pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
                format!(
                    "subject column \"{}\" of {} no longer exists or cannot hold subject ids",
                    subject.column,
                    catalog::relation_name(relid)
                ),
                "A privacy admin must run privacy.set_subject() again with the column that holds the subject's id.",
            );
        }
        nodes::with_pinned_search_path(|| {
            if locking {
                latest_consent_call(relation, subject, purpose)
            } else {
                exists_condition(relation, subject, purpose)
            }
        })
    }
}

/// The subject column of `relation` (varno 1) as the registry's reading of its type.
unsafe fn subject_key(relation: pg_sys::Relation, subject: &SubjectTable) -> *mut pg_sys::Node {
    // SAFETY: the column exists (checked by the caller); coerce_to_target_type adds the implicit
    // cast to bigint or text where the column's type is narrower.
    unsafe {
        let attr = *crate::pg::version::tuple_desc_attr((*relation).rd_att, subject.attno as usize - 1);
        let var = pg_sys::makeVar(1, subject.attno, attr.atttypid, attr.atttypmod, attr.attcollation, 0);
        let kind = subject.kind.unwrap_or(KeyKind::Text);
        let target = kind.type_oid();
        if attr.atttypid == target {
            return var.cast();
        }
        // A pseudonym becomes its 32 bytes only by an explicit cast (pseudonym_key).
        let context = if kind == KeyKind::Pseudonym { pg_sys::CoercionContext::COERCION_EXPLICIT } else { pg_sys::CoercionContext::COERCION_IMPLICIT };
        pg_sys::coerce_to_target_type(
            std::ptr::null_mut(),
            var.cast(),
            attr.atttypid,
            target,
            -1,
            context,
            pg_sys::CoercionForm::COERCE_IMPLICIT_CAST,
            -1,
        )
    }
}

/// `privacy.has_active_consent(<marker>, purpose, key)`.
unsafe fn latest_consent_call(relation: pg_sys::Relation, subject: &SubjectTable, purpose: &str) -> *mut pg_sys::Expr {
    // SAFETY: builds a FuncExpr over constants and the subject column, as the parser would.
    unsafe {
        let target = subject.kind.unwrap_or(KeyKind::Text).type_oid();
        let names = {
            let mut l = PgList::<pg_sys::Node>::new();
            l.push(nodes::string_node("privacy"));
            l.push(nodes::string_node("has_active_consent"));
            l.into_pg()
        };
        let argtypes = [crate::pg::marker::type_oid(), pg_sys::TEXTOID, target];
        let funcid = pg_sys::LookupFuncName(names, 3, argtypes.as_ptr(), false);
        let cpurpose = CString::new(purpose).unwrap_or_default();
        let purpose_const = pg_sys::makeConst(
            pg_sys::TEXTOID,
            -1,
            pg_sys::DEFAULT_COLLATION_OID,
            -1,
            pg_sys::Datum::from(pg_sys::cstring_to_text(cpurpose.as_ptr())),
            false,
            false,
        );
        let mut args = PgList::<pg_sys::Node>::new();
        args.push(crate::pg::marker::constant().cast());
        args.push(purpose_const.cast());
        args.push(subject_key(relation, subject));
        pg_sys::makeFuncExpr(
            funcid,
            pg_sys::BOOLOID,
            args.into_pg(),
            pg_sys::InvalidOid,
            pg_sys::DEFAULT_COLLATION_OID,
            pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
        )
        .cast()
    }
}

/// `EXISTS (SELECT 1 FROM privacy.consent_<kind> c WHERE ...)`, parsed from a constant template
/// whose `$1` and `$2` are replaced by nodes, then analysed against the subject table.
unsafe fn exists_condition(relation: pg_sys::Relation, subject: &SubjectTable, purpose: &str) -> *mut pg_sys::Expr {
    let template = match subject.kind.unwrap_or(KeyKind::Text) {
        KeyKind::Bigint => c"SELECT EXISTS (SELECT 1 FROM privacy.consent_bigint c WHERE c.purpose = $1 AND c.subject = $2 AND c.active_until > pg_catalog.statement_timestamp())",
        KeyKind::Uuid => c"SELECT EXISTS (SELECT 1 FROM privacy.consent_uuid c WHERE c.purpose = $1 AND c.subject = $2 AND c.active_until > pg_catalog.statement_timestamp())",
        KeyKind::Text => c"SELECT EXISTS (SELECT 1 FROM privacy.consent_text c WHERE c.purpose = $1 AND c.subject = $2 AND c.active_until > pg_catalog.statement_timestamp())",
        KeyKind::Pseudonym => c"SELECT EXISTS (SELECT 1 FROM privacy.consent_pseudonym c WHERE c.purpose = $1 AND c.subject = $2 AND c.active_until > pg_catalog.statement_timestamp())",
    };
    // SAFETY: parse-analysis of a constant template in a parse state holding the subject table;
    // placeholders are replaced by nodes, never by text.
    unsafe {
        let stmts = PgList::<pg_sys::RawStmt>::from_pg(pg_sys::raw_parser(template.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT));
        let raw = stmts.get_ptr(0).unwrap_or(std::ptr::null_mut());
        let select = (*raw).stmt as *mut pg_sys::SelectStmt;
        let target = PgList::<pg_sys::ResTarget>::from_pg((*select).targetList).get_ptr(0).unwrap_or(std::ptr::null_mut());
        let expr = (*target).val;
        let colref = nodes::column_ref(vec![nodes::string_node("privacy_subject_row"), nodes::string_node(&subject.column)]);
        let cast = nodes::make_node::<pg_sys::TypeCast>(pg_sys::NodeTag::T_TypeCast);
        (*cast).arg = colref.cast();
        (*cast).typeName = pg_sys::makeTypeNameFromOid(subject.kind.unwrap_or(KeyKind::Text).type_oid(), -1);
        (*cast).location = -1;
        let replacements: [*mut pg_sys::Node; 2] = [nodes::string_const(purpose).cast(), cast.cast()];
        nodes::replace_param_refs(expr, &replacements);

        let pstate = pg_sys::make_parsestate(std::ptr::null_mut());
        (*pstate).p_sourcetext = template.as_ptr();
        let alias = pg_sys::makeAlias(c"privacy_subject_row".as_ptr(), std::ptr::null_mut());
        let nsitem = pg_sys::addRangeTableEntryForRelation(pstate, relation, pg_sys::AccessShareLock as i32, alias, false, false);
        pg_sys::addNSItemToQuery(pstate, nsitem, false, true, true);
        let analysed = pg_sys::transformExpr(pstate, expr, pg_sys::ParseExprKind::EXPR_KIND_POLICY);
        pg_sys::assign_expr_collations(pstate, analysed);
        pg_sys::free_parsestate(pstate);
        // The condition reads the consent registry, which no application role may read. The
        // reader learns nothing from it but which rows it may see, so the access is not checked
        // against the reader (how differs by version: see version::skip_permission_checks).
        crate::pg::version::skip_permission_checks(analysed);
        analysed.cast()
    }
}

unsafe fn policy(qual: *mut pg_sys::Expr, has_sublinks: bool) -> *mut pg_sys::RowSecurityPolicy {
    // SAFETY: palloc0'd struct filled in full; roles = {PUBLIC} so it applies to every role.
    unsafe {
        let p = pg_sys::palloc0(std::mem::size_of::<pg_sys::RowSecurityPolicy>()) as *mut pg_sys::RowSecurityPolicy;
        (*p).policy_name = nodes::pstrdup("privacy_consent");
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

/// The restrictive policies for `relation` (the row-security hook): the consent filters of the
/// roles governing the session.
///
/// # Safety
/// `relation` must be open.
pub unsafe fn session_policies(cmd: pg_sys::CmdType::Type, relation: pg_sys::Relation) -> Vec<*mut pg_sys::RowSecurityPolicy> {
    // SAFETY: relation is open (caller's promise).
    let relid = unsafe { (*relation).rd_id };
    let reg = registry();
    let Some(subject) = reg.subjects.get(&relid) else { return Vec::new() };
    let (roles, acting) = session_roles();
    let locking = cmd != pg_sys::CmdType::CMD_SELECT;
    let mut out = Vec::new();
    for filter in filters_for(&roles, acting) {
        // SAFETY: forwarded; the condition is a new tree.
        unsafe {
            match filter {
                Filter::None => {}
                Filter::NoRows => out.push(policy(pg_sys::makeBoolConst(false, false).cast(), false)),
                Filter::ConsentFor(purpose) => out.push(policy(condition(relation, subject, &purpose, locking), !locking)),
            }
        }
    }
    out
}

/// Adds, at planning, the consent conditions row security did not apply (see the module header).
/// `statement_roles` are the statement's governing roles (the session's and its code owners').
///
/// # Safety
/// `query` must be a valid Query being planned.
pub unsafe fn add_missing_filters(query: *mut pg_sys::Query, statement_roles: &[pg_sys::Oid]) {
    let reg = registry();
    if reg.subjects.is_empty() {
        return;
    }
    let (session, acting) = session_roles();
    let mut applied_by_policy: HashMap<bool, Vec<Filter>> = HashMap::new();
    // SAFETY: walking a valid query tree; range-table entries and relations are valid.
    unsafe {
        for q in nodes::queries(query) {
            for (index, rte) in nodes::rtable(q) {
                if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                    continue;
                }
                let Some(subject) = reg.subjects.get(&(*rte).relid) else { continue };
                let checker = crate::pg::version::check_as_user(q, rte);
                let mut roles = statement_roles.to_vec();
                if checker != pg_sys::InvalidOid && !roles.contains(&checker) {
                    roles.push(checker);
                }
                let needed = filters_for(&roles, acting);
                if needed.is_empty() {
                    continue;
                }
                let rls = pg_sys::check_enable_rls((*rte).relid, checker, true) == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32;
                let applied = if rls {
                    applied_by_policy.entry(true).or_insert_with(|| filters_for(&session, acting)).clone()
                } else {
                    Vec::new()
                };
                let locking = (*q).resultRelation == index || !pg_sys::get_parse_rowmark(q, index as u32).is_null();
                for filter in needed.iter().filter(|f| !applied.contains(f)) {
                    let qual: *mut pg_sys::Node = match filter {
                        Filter::None => continue,
                        Filter::NoRows => pg_sys::makeBoolConst(false, false),
                        Filter::ConsentFor(purpose) => {
                            let rel = pg_sys::relation_open((*rte).relid, pg_sys::NoLock as pg_sys::LOCKMODE);
                            let cond = condition(rel, subject, purpose, locking) as *mut pg_sys::Node;
                            pg_sys::relation_close(rel, pg_sys::NoLock as pg_sys::LOCKMODE);
                            if !locking {
                                (*q).hasSubLinks = true;
                            }
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
}

/// Lets the read conditions in a new plan read the consent registry without the reader's
/// privileges again, where the rewriter or planner put the reader's back (PostgreSQL 16 and
/// later: see `crate::pg::version::restore_skipped_permission_checks`).
///
/// # Safety
/// `stmt` must be the valid PlannedStmt the planner just made.
pub unsafe fn restore_registry_reads(stmt: *mut pg_sys::PlannedStmt) {
    // SAFETY: forwarded.
    unsafe { crate::pg::version::restore_skipped_permission_checks(stmt, is_state_table) }
}

/// Whether `relid` is one of the registry's state tables (what read conditions read).
fn is_state_table(relid: pg_sys::Oid) -> bool {
    [KeyKind::Bigint, KeyKind::Uuid, KeyKind::Text, KeyKind::Pseudonym]
        .into_iter()
        .any(|kind| catalog::extension_table(kind.state_table()) == Some(relid))
}

/// Whether any filter governs a statement with these roles (EXPLAIN ANALYZE, counters, ...).
/// The roles the session acts as (its login, its current user) lead the list; a purpose they were
/// not allowed is an error, for the others (owners of code the statement runs) it means no rows.
pub fn filtered(roles: &[pg_sys::Oid]) -> bool {
    if registry().subjects.is_empty() {
        return false;
    }
    !filters_for(roles, acting_count(roles)).is_empty()
}

/// [`filtered`] for the statements that must run whatever the purpose (see
/// `purpose::filter_for_quietly`): never raises.
pub fn filtered_quietly(roles: &[pg_sys::Oid]) -> bool {
    if registry().subjects.is_empty() {
        return false;
    }
    let acting = acting_count(roles);
    roles.iter().enumerate().any(|(i, role)| super::purpose::filter_for_quietly(*role, i < acting) != Filter::None)
}

/// How many of `roles`, from the front, are roles the session acts as (login, current user).
fn acting_count(roles: &[pg_sys::Oid]) -> usize {
    let (login, user) = (context::login(), context::current_user());
    roles.iter().take_while(|r| **r == login || **r == user).count()
}

// ------------------------------------------------------------------ latest consent, no locks

fn has_active(purpose: &str, kind: KeyKind, key: pg_sys::Datum) -> bool {
    let Some(table) = catalog::extension_table(kind.state_table()) else { return false };
    let cpurpose = CString::new(purpose).unwrap_or_default();
    // SAFETY: an index scan of the state table with the latest snapshot: the relation and its
    // primary-key index are opened and closed here, scan keys fully initialised, the snapshot
    // registered and unregistered; the tuple's attributes are read with the relation's own
    // descriptor before the scan ends. No row lock is taken.
    unsafe {
        let rel = pg_sys::table_open(table, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        let index = crate::pg::version::primary_key_index(rel);
        let mut keys: [pg_sys::ScanKeyData; 2] = std::mem::zeroed();
        let purpose_datum = pg_sys::Datum::from(pg_sys::cstring_to_text(cpurpose.as_ptr()));
        pg_sys::ScanKeyEntryInitialize(
            &mut keys[0],
            0,
            1,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::InvalidOid,
            pg_sys::DEFAULT_COLLATION_OID,
            pg_sys::Oid::from(pg_sys::F_TEXTEQ),
            purpose_datum,
        );
        let (eq, collation) = match kind {
            KeyKind::Bigint => (pg_sys::F_INT8EQ, pg_sys::InvalidOid),
            KeyKind::Uuid => (pg_sys::F_UUID_EQ, pg_sys::InvalidOid),
            KeyKind::Text => (pg_sys::F_TEXTEQ, pg_sys::DEFAULT_COLLATION_OID),
            KeyKind::Pseudonym => (pg_sys::F_BYTEAEQ, pg_sys::InvalidOid),
        };
        pg_sys::ScanKeyEntryInitialize(
            &mut keys[1],
            0,
            2,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::InvalidOid,
            collation,
            pg_sys::Oid::from(eq),
            key,
        );
        let snapshot = pg_sys::RegisterSnapshot(pg_sys::GetLatestSnapshot());
        let scan = pg_sys::systable_beginscan(rel, index, index != pg_sys::InvalidOid, snapshot, 2, keys.as_mut_ptr());
        let tuple = pg_sys::systable_getnext(scan);
        let mut active = false;
        if !tuple.is_null() {
            let attno = catalog::attnum(table, c"active_until");
            let mut isnull = false;
            let until = pg_sys::heap_getattr(tuple, attno as i32, (*rel).rd_att, &mut isnull);
            if !isnull {
                let until = until.value() as i64;
                active = until > pg_sys::GetCurrentStatementStartTimestamp();
            }
        }
        pg_sys::systable_endscan(scan);
        pg_sys::UnregisterSnapshot(snapshot);
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        active
    }
}


/// `privacy.has_active_consent(rule_call, purpose, subject bigint)`.
#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn privacy_has_active_consent(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: declared STRICT with (rule_call, text, <kind>); the kind is told by the third
    // argument's declared type.
    unsafe {
        let args = (*fcinfo).args.as_slice(3);
        let t = pg_sys::pg_detoast_datum_packed(args[1].value.cast_mut_ptr());
        let len = pgrx::varsize_any_exhdr(t);
        let purpose = String::from_utf8_lossy(std::slice::from_raw_parts(pgrx::vardata_any(t) as *const u8, len)).into_owned();
        let argtype = pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, 2);
        let kind = match argtype {
            t if t == pg_sys::INT8OID => KeyKind::Bigint,
            t if t == pg_sys::UUIDOID => KeyKind::Uuid,
            t if t == pg_sys::BYTEAOID => KeyKind::Pseudonym,
            _ => KeyKind::Text,
        };
        pg_sys::Datum::from(has_active(&purpose, kind, args[2].value))
    }
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_privacy_has_active_consent() -> &'static pg_sys::Pg_finfo_record {
    const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}


extension_sql!(
    r#"
CREATE FUNCTION privacy.has_active_consent(privacy.rule_call, text, bigint) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';
CREATE FUNCTION privacy.has_active_consent(privacy.rule_call, text, uuid) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';
CREATE FUNCTION privacy.has_active_consent(privacy.rule_call, text, text) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';
CREATE FUNCTION privacy.has_active_consent(privacy.rule_call, text, bytea) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';
"#,
    name = "has_active_consent",
    requires = ["rule_call_type"]
);
