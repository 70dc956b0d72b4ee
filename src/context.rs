//! Who governs what runs now: the roles whose masking and consent filters apply.
//!
//! Restrictions follow roles, and a statement can involve several:
//! - the **login** (the session user): a session that logged in as a masked or filtered role stays
//!   so for everything it runs, whatever role it reaches (`SET ROLE`, `set_config('role')`,
//!   PGOPTIONS, SECURITY DEFINER code), except inside functions a privacy admin labelled
//!   `TRUSTED`;
//! - the **current user** (`current_user`), through views, functions and `SET ROLE`;
//! - the **owners of code that is running**: a function owned by a governed role, or a statement
//!   that reads or writes a relation whose triggers, rules, policies, defaults or checks such a
//!   role wrote ("code planted for others to run") adds its owner for as long as it runs;
//! - per range-table entry, the role whose privileges read it (a view's owner, a rule's owner):
//!   handled where range tables are walked (`masking::rewrite`, `consent::filter`).
//!
//! The stricter wins: masking applies if any governing role is masked, every governing role's
//! consent filter applies.
//!
//! Scopes (trusted functions, running code) are pushed by the fmgr and executor hooks and popped
//! when they end; errors unwind them at (sub)transaction abort. When the set of governing roles
//! changes, cached plans are dropped (they were made for another set), and while any scope is
//! open queries are planned without parallel workers, which could not know about it.

use std::cell::RefCell;

use pgrx::pg_sys;
use privacy_core::label::parse_function_label;

use crate::pg::cache::{Cached, Class};
use crate::pg::catalog;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Inside a function a privacy admin labelled TRUSTED: the login's restrictions are lifted.
    Trusted,
    /// Code owned by a governed role is running.
    CodeOf(pg_sys::Oid),
    /// `privacy.erase_subject(..., mode => 'anonymize')` is rewriting rows: every statement is
    /// masked (whoever runs it), and may store the masked values it reads back into the row.
    Anonymizing,
}

backend_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
    /// Scope depth, foreign-key statements running and whether one was being planned, at the
    /// start of each open subtransaction (restored when it aborts: an error caught by an
    /// exception block skips the counting down, found by an attack pass).
    static SUBXACT_DEPTHS: RefCell<Vec<(pg_sys::SubTransactionId, usize, u32, bool)>> = const { RefCell::new(Vec::new()) };
    static TRUSTED_FUNCTIONS: Cached<Vec<pg_sys::Oid>> = const { Cached::new(Class::Functions) };
}

/// The role the session logged in as.
pub fn login() -> pg_sys::Oid {
    // SAFETY: reads a backend global; cannot raise.
    unsafe { crate::pg::ffi::GetSessionUserId() }
}

/// The current user.
pub fn current_user() -> pg_sys::Oid {
    // SAFETY: reads a backend global; cannot raise.
    unsafe { crate::pg::ffi::GetUserId() }
}

/// Whether rows are being anonymized (see [`Scope::Anonymizing`]).
pub fn anonymizing() -> bool {
    SCOPES.with(|s| s.borrow().contains(&Scope::Anonymizing))
}

/// Whether any scope is open (queries are then planned without parallel workers).
pub fn scoped() -> bool {
    SCOPES.with(|s| !s.borrow().is_empty())
}

/// The roles that govern a statement planned or run now (range-table owners aside), login first.
pub fn governing_roles() -> Vec<pg_sys::Oid> {
    let mut roles = Vec::with_capacity(4);
    let (login, user) = (login(), current_user());
    SCOPES.with(|s| {
        let scopes = s.borrow();
        if !scopes.contains(&Scope::Trusted) {
            roles.push(login);
        }
        if !roles.contains(&user) {
            roles.push(user);
        }
        for scope in scopes.iter() {
            if let Scope::CodeOf(owner) = *scope {
                if !roles.contains(&owner) {
                    roles.push(owner);
                }
            }
        }
    });
    roles
}

/// Whether `pred` holds for any role that governs what runs now (without allocating: the keyed
/// functions ask this for every row they compute).
pub fn any_governing(pred: impl Fn(pg_sys::Oid) -> bool) -> bool {
    SCOPES.with(|s| {
        let s = s.borrow();
        if !s.contains(&Scope::Trusted) && pred(login()) {
            return true;
        }
        if pred(current_user()) {
            return true;
        }
        s.iter().any(|sc| matches!(sc, Scope::CodeOf(owner) if pred(*owner)))
    })
}

/// Decides whether a role is governed at all (masked, or allowed purposes): installed by masking
/// and consent at load time, so this module needs neither.
pub type GovernedPredicate = fn(pg_sys::Oid) -> bool;

backend_local! {
    static GOVERNED: RefCell<Vec<GovernedPredicate>> = const { RefCell::new(Vec::new()) };
}

pub fn register_governed(pred: GovernedPredicate) {
    GOVERNED.with(|g| g.borrow_mut().push(pred));
}

/// Whether `role` is masked or filtered by consent.
pub fn is_governed(role: pg_sys::Oid) -> bool {
    if role == pg_sys::InvalidOid {
        return false;
    }
    // The predicates are plain functions registered at load time; none registers another, so the
    // shared borrow held while they run cannot conflict.
    GOVERNED.with(|g| g.borrow().iter().any(|p| p(role)))
}

backend_local! {
    /// The last answer of [`session_ungoverned`]: (generations of roles and relations,
    /// privacy.masked_by_default, login, current user, answer).
    static SESSION_FREE: std::cell::Cell<Option<(u64, bool, pg_sys::Oid, pg_sys::Oid, bool)>> = const { std::cell::Cell::new(None) };
}

/// Whether neither the login nor the current user is governed (masked or filtered), remembered
/// until a role, label, registry or setting change: the question every statement of an
/// ungoverned session asks first, so that it costs a comparison, not a map lookup per role.
pub fn session_ungoverned() -> bool {
    let generation = crate::pg::cache::Deps::of(&[Class::Roles, Class::Relations]).generation();
    let by_default = crate::guc::masked_by_default();
    let (login, user) = (login(), current_user());
    if let Some((g, d, l, u, answer)) = SESSION_FREE.with(|c| c.get()) {
        if (g, d, l, u) == (generation, by_default, login, user) {
            return answer;
        }
    }
    let answer = !is_governed(login) && !is_governed(user);
    // stored only if no invalidation arrived while the answer was computed
    if crate::pg::cache::Deps::of(&[Class::Roles, Class::Relations]).generation() == generation {
        SESSION_FREE.with(|c| c.set(Some((generation, by_default, login, user, answer))));
    }
    answer
}

/// What the hooks may skip for a statement nothing governs (see [`idle`]).
#[derive(Clone, Copy)]
pub struct Idle {
    /// Whether pg_privacy has anything in force in this database at all. When it has, plans still
    /// need a look: one that reads a protected relation must not serve another role later
    /// (`dependsOnRole`), unless it reads only relations known neutral ([`plan_reads_only_neutral`]).
    pub policies_in_force: bool,
}

/// What [`idle`] compares: the generation of every cache class, `privacy.masked_by_default`, the
/// login, the outer user (what `SET ROLE` sets) and the current user.
#[derive(Clone, Copy, PartialEq, Eq)]
struct IdleKey {
    generation: u64,
    masked_by_default: bool,
    login: pg_sys::Oid,
    outer: pg_sys::Oid,
    user: pg_sys::Oid,
}

impl IdleKey {
    fn now(generation: u64) -> IdleKey {
        // SAFETY: reads backend globals; cannot raise.
        let outer = unsafe { crate::pg::ffi::GetOuterUserId() };
        IdleKey { generation, masked_by_default: crate::guc::masked_by_default(), login: login(), outer, user: current_user() }
    }
}

backend_local! {
    /// The last time the full path found that nothing governs this session's statements, and
    /// under what (see [`learn_idle`]).
    static IDLE: std::cell::Cell<Option<(IdleKey, Idle)>> = const { std::cell::Cell::new(None) };
    /// Relations whose plans may serve any role, under the generation they were found in.
    static NEUTRAL: RefCell<(u64, crate::pg::cache::OidMap<pg_sys::Oid, ()>)> =
        RefCell::new((0, crate::pg::cache::OidMap::with_hasher(std::hash::BuildHasherDefault::new())));
}

/// Whether the hooks can pass this statement on untouched: the full path found nothing governing
/// this session (no masked or filtered login or user, no governed role owning relations whose code
/// it could run, no outdated schema, see `hooks::learn_if_idle`), and nothing it depends on has
/// changed since: no cache was invalidated, the same login, outer and current user, the same
/// `privacy.masked_by_default`, and no scope is open. It cannot raise and does not allocate: the
/// hooks ask it before entering any guarded code, which is what makes pg_privacy cost an
/// ungoverned statement a few comparisons (docs/BENCHMARKS.md, issue 11).
#[inline]
pub fn idle() -> Option<Idle> {
    let (key, idle) = IDLE.with(|i| i.get())?;
    if key != IdleKey::now(crate::pg::cache::any_generation()) {
        return None;
    }
    // an open scope (a trusted function, code of a governed role) changes who governs
    let no_scope = SCOPES.with(|s| s.try_borrow().is_ok_and(|s| s.is_empty()));
    no_scope.then_some(idle)
}

/// Records that statements of this session need nothing from pg_privacy until something changes
/// (see [`idle`]); `since` is [`crate::pg::cache::any_generation`] read before the answers it rests on
/// were computed, so an invalidation that arrived meanwhile leaves nothing recorded.
pub fn learn_idle(since: u64, idle: Idle) {
    if crate::pg::cache::any_generation() == since {
        IDLE.with(|i| i.set(Some((IdleKey::now(since), idle))));
    }
}

/// Whether every relation a new plan reads is known [`neutral`], so the plan may serve any role.
/// Cannot raise and does not allocate (the unguarded path of the planner hook); false when it
/// cannot tell.
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
#[link_section = ".text.hot.pg_privacy"]
pub unsafe fn plan_reads_only_neutral(stmt: *mut pg_sys::PlannedStmt) -> bool {
    let generation = crate::pg::cache::any_generation();
    NEUTRAL.with(|n| {
        let Ok(neutral) = n.try_borrow() else { return false };
        if neutral.0 != generation {
            return false;
        }
        // SAFETY: the caller's promise; the relation entries are read only.
        unsafe { crate::pg::nodes::every_plan_relation(stmt, |relid| neutral.1.contains_key(&relid)) }
    })
}

/// Records that plans reading `relid` may serve any role: no masking rule, consent registry entry
/// or governed owner's code concerns it (the caller found that out under `since`, as in
/// [`learn_idle`]).
pub fn note_neutral(since: u64, relid: pg_sys::Oid) {
    if crate::pg::cache::any_generation() != since {
        return;
    }
    NEUTRAL.with(|n| {
        let mut neutral = n.borrow_mut();
        if neutral.0 != since {
            neutral.1.clear();
            neutral.0 = since;
        }
        neutral.1.insert(relid, ());
    });
}

backend_local! {
    /// The last answer of [`governed_roles_own_relations`]: (generations of roles, relations and
    /// owners, privacy.masked_by_default, answer).
    static GOVERNED_OWNERS: std::cell::Cell<Option<(u64, bool, bool)>> = const { std::cell::Cell::new(None) };
}

/// Whether some governed role owns a relation of this database, and so may have written code
/// (views, triggers, rules, policies, defaults) that statements of other roles run. When none
/// does, statements need not look for such code relation by relation: the question every
/// statement of an ungoverned session would otherwise ask about each relation it reads.
/// Remembered until a role, label, registry or `pg_class` change (a relation created or given
/// to another owner in any session is a `pg_class` change).
pub fn governed_roles_own_relations() -> bool {
    let deps = crate::pg::cache::Deps::of(&[Class::Roles, Class::Relations, Class::Owners]);
    let generation = deps.generation();
    let by_default = crate::guc::masked_by_default();
    if let Some((g, d, answer)) = GOVERNED_OWNERS.with(|c| c.get()) {
        if (g, d) == (generation, by_default) {
            return answer;
        }
    }
    // PostgreSQL records no ownership in pg_shdepend for pinned roles (the bootstrap superuser
    // and the predefined roles, pg_monitor, pg_database_owner...), which can be masked or
    // filtered like any other: if one of them is governed, assume it owns relations.
    let cat = pg_sys::AuthIdRelationId;
    let a_oid = catalog::attnum(cat, c"oid");
    let mut roles = Vec::new();
    catalog::scan(cat, None, |row| roles.push(row.oid(a_oid)));
    let answer = roles.into_iter().any(|role| {
        // SAFETY: IsPinnedObject reads constants of this build (the pinned OID range).
        let pinned = unsafe { pg_sys::IsPinnedObject(pg_sys::AuthIdRelationId, role) };
        is_governed(role) && (pinned || catalog::role_owns_relations_here(role))
    });
    if deps.generation() == generation {
        GOVERNED_OWNERS.with(|c| c.set(Some((generation, by_default, answer))));
    }
    answer
}

/// Governed roles whose code a statement runs, besides the session's governing roles: owners of
/// views and rules it reads through (the role a range-table entry is checked as), and owners of
/// relations it touches that carry code they wrote (triggers, rules, policies, defaults, checks,
/// generated columns, index expressions).
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn code_owners_of_query(query: *mut pg_sys::Query) -> Vec<pg_sys::Oid> {
    let mut owners = Vec::new();
    // SAFETY: walking a valid tree's range tables.
    unsafe {
        for q in crate::pg::nodes::queries(query) {
            for (_, rte) in crate::pg::nodes::rtable(q) {
                if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                    continue;
                }
                let checker = crate::pg::version::check_as_user(q, rte);
                consider_code_owner(&mut owners, checker, (*rte).relid);
            }
        }
    }
    owners
}

/// Like [`code_owners_of_query`], for a plan about to run.
///
/// # Safety
/// `stmt` must be a valid PlannedStmt.
pub unsafe fn code_owners_of_plan(stmt: *mut pg_sys::PlannedStmt) -> Vec<pg_sys::Oid> {
    let mut owners = Vec::new();
    // SAFETY: the plan's flattened range table, a List of RangeTblEntry.
    unsafe {
        for rte in pgrx::PgList::<pg_sys::RangeTblEntry>::from_pg((*stmt).rtable).iter_ptr() {
            if (*rte).rtekind != pg_sys::RTEKind::RTE_RELATION {
                continue;
            }
            let checker = crate::pg::version::plan_check_as_user(stmt, rte);
            consider_code_owner(&mut owners, checker, (*rte).relid);
        }
    }
    owners
}

/// Governed owners of code a write into `relid` runs (COPY FROM fires its triggers and defaults).
pub fn code_owners_of_relation(relid: pg_sys::Oid) -> Vec<pg_sys::Oid> {
    let mut owners = Vec::new();
    consider_code_owner(&mut owners, pg_sys::InvalidOid, relid);
    owners
}

/// Whether `other` escapes a restriction `role` is under (masked, or filtered by consent).
fn less_restricted(role: pg_sys::Oid, other: pg_sys::Oid) -> bool {
    let preds = GOVERNED.with(|g| g.borrow().clone());
    preds.iter().any(|p| p(role) && !p(other))
}

/// Refuses a governed login giving an object to a role with fewer restrictions (`ALTER ... OWNER
/// TO`, `REASSIGN OWNED`, `CREATE SCHEMA ... AUTHORIZATION`): code it wrote would then run with
/// that role's freedom for whoever uses it.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn check_new_owner(stmt: *mut pg_sys::Node) {
    let login = login();
    if !is_governed(login) {
        return;
    }
    let mut targets: Vec<*mut pg_sys::RoleSpec> = Vec::new();
    // SAFETY: tags are checked before casts; fields of valid parse nodes.
    unsafe {
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterOwnerStmt) {
            targets.push((*(stmt as *mut pg_sys::AlterOwnerStmt)).newowner);
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_ReassignOwnedStmt) {
            targets.push((*(stmt as *mut pg_sys::ReassignOwnedStmt)).newrole);
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateSchemaStmt) {
            targets.push((*(stmt as *mut pg_sys::CreateSchemaStmt)).authrole);
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterTableStmt) {
            for cmd in pgrx::PgList::<pg_sys::AlterTableCmd>::from_pg((*(stmt as *mut pg_sys::AlterTableStmt)).cmds).iter_ptr() {
                if (*cmd).subtype == pg_sys::AlterTableType::AT_ChangeOwner {
                    targets.push((*cmd).newowner);
                }
            }
        }
        for spec in targets {
            if spec.is_null() {
                continue;
            }
            let target = pg_sys::get_rolespec_oid(spec, true);
            if target == pg_sys::InvalidOid || target == login {
                continue;
            }
            if less_restricted(login, target) {
                crate::pg::errors::refuse(
                    format!(
                        "role \"{}\" cannot give objects to role \"{}\", which is not restricted as it is",
                        catalog::role_name(login),
                        catalog::role_name(target)
                    ),
                    "Code a masked or filtered login writes stays under its restrictions. Ask a privacy admin to transfer it.",
                );
            }
        }
    }
}

backend_local! {
    /// How many statements started under `SECURITY_NOFORCE_RLS` (PostgreSQL's foreign-key
    /// checks and actions, ri_triggers.c) are running now (see [`foreign_key_statement`]).
    /// Counted up and down around ExecutorRun and ExecutorFinish; an error skips the count down
    /// and leaves it high (which only governs more) until the transaction ends.
    static FOREIGN_KEY_STATEMENTS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Whether a foreign-key statement is being planned now: what is planned meanwhile (a query
    /// a function runs while the planner folds a constant, e.g. an IMMUTABLE column default of
    /// `ON DELETE SET DEFAULT`) is not one. Left set by an error until the transaction ends.
    static FOREIGN_KEY_PLANNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the statement being planned now is one of PostgreSQL's own foreign-key statements
/// (the check that a referenced row exists, that no row still references one, and the ON
/// DELETE/UPDATE actions): ri_triggers.c plans and runs them as the table's owner with
/// `SECURITY_NOFORCE_RLS`, which nothing else sets, and which PostgreSQL uses to exempt them from
/// row security. pg_privacy exempts them from masking and consent filters for the same reason:
/// they enforce the owner's declared constraint over every row (found by an attack pass: a
/// filtered session deleted a customer a hidden subject's row still referenced, and a masked
/// session's insert was checked against masked keys, both committing dangling references).
/// Statements that run inside one (a trigger fired by a cascaded delete, a function it calls)
/// are planned while the flag is still set: they are recognised by the count of foreign-key
/// statements running and governed as usual. What a masked session could learn from a check
/// against raw keys is closed where it writes (`masking::utility`: no writes of columns that
/// reference masked columns).
///
/// Only the statement ri_triggers.c wrote is exempt: `query` must be the original query, not one
/// a rule of the table added or put in its place (the rewriter expands rules before planning, so
/// they are planned in the same state), and nothing may be planned inside its planning (found by
/// an attack pass: a rule fired by a cascade, and an IMMUTABLE function folded while planning a
/// SET DEFAULT action, ran ungoverned).
///
/// # Safety
/// `query` must be a valid Query.
///
/// A table with rules is never exempt: a conditional `DO INSTEAD` rule puts its condition into a
/// copy of the original query, which keeps the original's source (found by the next attack
/// pass: the condition then ran ungoverned). ri_triggers.c's queries have no sub-queries.
pub unsafe fn foreign_key_statement(query: *mut pg_sys::Query) -> bool {
    // SAFETY: reads a backend global and fields of a valid Query.
    let (no_force, original, sublinks) =
        unsafe { (pg_sys::InNoForceRLSOperation(), (*query).querySource == pg_sys::QuerySource::QSRC_ORIGINAL, (*query).hasSubLinks) };
    if !no_force || !original || sublinks || FOREIGN_KEY_STATEMENTS.with(|c| c.get()) != 0 || FOREIGN_KEY_PLANNING.with(|p| p.get()) {
        return false;
    }
    // SAFETY: the range table of a valid Query.
    unsafe { crate::pg::nodes::rtable(query) }.into_iter().all(|(_, rte)| {
        // SAFETY: a range-table entry of a valid Query.
        let (kind, relid) = unsafe { ((*rte).rtekind, (*rte).relid) };
        kind == pg_sys::RTEKind::RTE_RELATION && !catalog::has_rules(relid)
    })
}

/// Around the planning of a foreign-key statement (`hooks::planner`).
pub fn foreign_key_planning(planning: bool) {
    FOREIGN_KEY_PLANNING.with(|p| p.set(planning));
}

/// Whether the plan about to run (before [`foreign_key_statement_running`] counts it) is one of
/// PostgreSQL's own foreign-key statements: run under `SECURITY_NOFORCE_RLS`, and not inside
/// another running foreign-key statement (where a trigger's statements also run under it).
pub fn foreign_key_statement_starting() -> bool {
    // SAFETY: reads a backend global.
    let no_force = unsafe { pg_sys::InNoForceRLSOperation() };
    no_force && FOREIGN_KEY_STATEMENTS.with(|c| c.get()) == 0
}

/// Around ExecutorRun and ExecutorFinish (`hooks`): whether the statement runs under
/// `SECURITY_NOFORCE_RLS`, counted while it runs; returns what [`foreign_key_statement_done`]
/// takes.
#[inline]
pub fn foreign_key_statement_running() -> bool {
    // SAFETY: reads a backend global.
    let running = unsafe { pg_sys::InNoForceRLSOperation() };
    if running {
        FOREIGN_KEY_STATEMENTS.with(|c| c.set(c.get() + 1));
    }
    running
}

#[inline]
pub fn foreign_key_statement_done(running: bool) {
    if running {
        FOREIGN_KEY_STATEMENTS.with(|c| c.set(c.get().saturating_sub(1)));
    }
}

/// Refuses a governed login making, changing, dropping or granting roles (`CREATE ROLE`, `ALTER
/// ROLE` of another role, `ALTER ROLE ... SET` of another, `DROP ROLE`, `GRANT role`, renaming a
/// role), which CREATEROLE or ADMIN OPTION allow: a role it makes is not governed as it is, and one whose
/// password or LOGIN it sets can be logged in as, so the login could read through it what it may
/// not (found by an attack pass: a masked login with CREATEROLE made an unmasked login and granted
/// it its tables). Changing its own attributes (a password) is its own business.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn check_role_management(stmt: *mut pg_sys::Node) {
    // SAFETY: tags are checked before casts (and before any role is looked up).
    let target = unsafe {
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateRoleStmt)
            || pgrx::is_a(stmt, pg_sys::NodeTag::T_DropRoleStmt)
            // granting roles: a CREATEROLE login could grant itself privacy_admin and label itself
            // UNMASKED, or grant others what it holds (found by an attack pass)
            || pgrx::is_a(stmt, pg_sys::NodeTag::T_GrantRoleStmt)
            || (pgrx::is_a(stmt, pg_sys::NodeTag::T_RenameStmt) && (*(stmt as *mut pg_sys::RenameStmt)).renameType == pg_sys::ObjectType::OBJECT_ROLE)
        {
            None
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterRoleStmt) {
            Some((*(stmt as *mut pg_sys::AlterRoleStmt)).role)
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterRoleSetStmt) {
            Some((*(stmt as *mut pg_sys::AlterRoleSetStmt)).role)
        } else {
            return;
        }
    };
    let login = login();
    if !is_governed(login) {
        return;
    }
    if let Some(spec) = target {
        // its own attributes and settings (ALTER ROLE ... SET role is refused elsewhere); NULL:
        // ALTER ROLE ALL SET
        // SAFETY: a RoleSpec of a valid statement; missing_ok.
        let role = if spec.is_null() { pg_sys::InvalidOid } else { unsafe { pg_sys::get_rolespec_oid(spec, true) } };
        if role == login {
            return;
        }
    }
    crate::pg::errors::refuse(
        format!("role \"{}\" is masked or filtered and cannot create, change, drop or grant roles", catalog::role_name(login)),
        "A role it made or changed would not be restricted as it is, and could be logged in as. Ask a DBA.",
    );
}

/// Refuses a governed login creating a trigger on a relation whose owner is less restricted than
/// it. PostgreSQL records no author for a trigger (the TRIGGER privilege lets others than the
/// owner create one): its WHEN condition and arguments count as the owner's code, and would run
/// with the owner's freedom for whoever writes the table (a WHEN calling `pg_notify` with
/// `NEW` values hands them to a masked listener).
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn check_trigger_author(stmt: *mut pg_sys::Node) {
    // SAFETY: the tag is checked before the cast (and before any role is looked up: every
    // utility statement passes here).
    if !unsafe { pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateTrigStmt) } {
        return;
    }
    let login = login();
    if !is_governed(login) {
        return;
    }
    // SAFETY: a valid CreateTrigStmt. The relation is locked as CREATE TRIGGER locks it, so the
    // name cannot come to mean another table before the trigger is made (a missing one is
    // reported by PostgreSQL itself when it runs the statement).
    let (relid, row_level) = unsafe {
        let trigger = stmt as *mut pg_sys::CreateTrigStmt;
        let relid = pg_sys::RangeVarGetRelidExtended(
            (*trigger).relation,
            pg_sys::ShareRowExclusiveLock as pg_sys::LOCKMODE,
            pg_sys::RVROption::RVR_MISSING_OK,
            None,
            std::ptr::null_mut(),
        );
        (relid, (*trigger).row)
    };
    if relid == pg_sys::InvalidOid {
        return;
    }
    // A row-level trigger on a partitioned table is cloned onto its partitions, each its owner's
    // code (inheritance children and statement-level triggers get no copy).
    let partitions = if row_level && catalog::relkind(relid) == pg_sys::RELKIND_PARTITIONED_TABLE {
        catalog::descendants_cached(relid)
    } else {
        std::rc::Rc::new(Vec::new())
    };
    for rel in std::iter::once(relid).chain(partitions.iter().copied()) {
        let owner = catalog::relation_owner(rel);
        if owner != login && less_restricted(login, owner) {
            crate::pg::errors::refuse(
                format!(
                    "role \"{}\" cannot create triggers on {}, whose owner \"{}\" is not restricted as it is",
                    catalog::role_name(login),
                    catalog::relation_name(rel),
                    catalog::role_name(owner)
                ),
                "A trigger's condition runs as its table owner's code. Ask the owner or a privacy admin to create it.",
            );
        }
    }
}

fn consider_code_owner(owners: &mut Vec<pg_sys::Oid>, checker: pg_sys::Oid, relid: pg_sys::Oid) {
    if checker != pg_sys::InvalidOid && !owners.contains(&checker) && is_governed(checker) {
        owners.push(checker);
    }
    // A statement on a parent reads and writes its partitions and children too (routing, UPDATE
    // and DELETE through the parent), and their code runs: their owners count as the parent's.
    for owner in crate::pg::catalog::code_owners(relid).iter().copied() {
        if !owners.contains(&owner) && is_governed(owner) {
            owners.push(owner);
        }
    }
}

/// Opens a scope; returns the depth to [`leave`] to.
pub fn enter(scope: Scope) -> usize {
    let before = governing_signature();
    let depth = SCOPES.with(|s| {
        let mut s = s.borrow_mut();
        s.push(scope);
        s.len() - 1
    });
    drop_plans_if_changed(before);
    depth
}

/// Closes the scopes opened at `depth` and above.
pub fn leave(depth: usize) {
    let before = governing_signature();
    SCOPES.with(|s| s.borrow_mut().truncate(depth));
    drop_plans_if_changed(before);
}

/// The scopes that change who governs (the current user is PostgreSQL's own plan-cache concern).
fn governing_signature() -> (bool, bool, Vec<pg_sys::Oid>) {
    SCOPES.with(|s| {
        let s = s.borrow();
        let trusted = s.contains(&Scope::Trusted);
        let anonymizing = s.contains(&Scope::Anonymizing);
        let mut owners: Vec<pg_sys::Oid> =
            s.iter().filter_map(|sc| if let Scope::CodeOf(o) = sc { Some(*o) } else { None }).collect();
        owners.sort_by_key(|o| o.to_u32());
        owners.dedup();
        (trusted, anonymizing, owners)
    })
}

fn drop_plans_if_changed(before: (bool, bool, Vec<pg_sys::Oid>)) {
    if governing_signature() != before {
        // A plan made for one set of governing roles must not serve another (a PL/pgSQL function
        // planned unmasked and then called by a masked role's trigger). Scopes open and close
        // rarely: only around code of governed roles and trusted functions.
        // SAFETY: ResetPlanCache only marks cached plans invalid.
        unsafe { pg_sys::ResetPlanCache() };
    }
}

/// Whether a stored query (of a view or materialized view) calls a function whose body could
/// read tables that the query does not name: a function in SQL or a procedural language made in
/// this database, not one of an extension's (pg_privacy's included: their code came with the
/// installation) and not labelled TRUSTED by a privacy admin; or one of the functions that run a
/// query or read a table they are given (`query_to_xml` and its family, `ts_stat`, `ts_rewrite`,
/// tablefunc's `crosstab` and `connectby`, dblink's, Citus's `run_command_on_*`). Built-in and C functions cannot be
/// made by ordinary roles. Materialized views whose query does are treated as derived from masked
/// columns and subject tables: what the function read cannot be known here.
///
/// # Safety
/// `query` must be a valid Query.
pub unsafe fn calls_opaque_function(query: *mut pg_sys::Query) -> bool {
    // SAFETY: walking a valid tree; syscache and pg_depend lookups per function (get_func_name
    // returns a palloc'd name or NULL).
    unsafe {
        crate::pg::nodes::functions_called(query.cast()).into_iter().any(|f| {
            // built-in and extension functions that run a query given as text or read a table
            // given by name (found by an attack pass: a materialized view over table_to_xml)
            let name = pg_sys::get_func_name(f);
            let bare = if name.is_null() { String::new() } else { std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned() };
            let bare = bare.as_str();
            if bare.ends_with("_to_xml")
                || bare.ends_with("_to_xmlschema")
                || bare.ends_with("_to_xml_and_xmlschema")
                || matches!(bare, "ts_stat" | "ts_rewrite" | "connectby")
                || bare.starts_with("crosstab")
                || bare.starts_with("dblink")
                || crate::pg::catalog::function_info(f).is_some_and(|i| i.citus_remote_command)
            {
                return true;
            }
            if f.to_u32() < pg_sys::FirstNormalObjectId {
                return false;
            }
            let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::PROCOID as i32, pg_sys::Datum::from(f));
            if tuple.is_null() {
                return false;
            }
            let lang = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_proc>(tuple)).prolang;
            pg_sys::ReleaseSysCache(tuple);
            if lang == catalog::oid(catalog::INTERNAL_LANGUAGE) || lang == catalog::oid(catalog::C_LANGUAGE) {
                return false;
            }
            pg_sys::getExtensionOfObject(pg_sys::ProcedureRelationId, f) == pg_sys::InvalidOid && !is_trusted_function(f)
        })
    }
}

/// Functions a privacy admin labelled TRUSTED in this database.
pub fn is_trusted_function(funcid: pg_sys::Oid) -> bool {
    TRUSTED_FUNCTIONS.with(|c| c.get(load_trusted_functions)).contains(&funcid)
}

/// Whether any function is labelled TRUSTED (cheap check for the fmgr hook).
/// Whether it is known, without reading any catalog, that no function is labelled TRUSTED (the
/// cached answer is current). False when unknown.
pub fn surely_no_trusted_function() -> bool {
    TRUSTED_FUNCTIONS.with(|c| c.peek().is_some_and(|v| v.is_empty()))
}

pub fn any_trusted_function() -> bool {
    !TRUSTED_FUNCTIONS.with(|c| c.get(load_trusted_functions)).is_empty()
}

fn load_trusted_functions() -> Vec<pg_sys::Oid> {
    if catalog::extension_schema().is_none() {
        return Vec::new();
    }
    catalog::label_summary().functions.iter().filter(|(_, label)| parse_function_label(label).is_ok()).map(|(function, _)| *function).collect()
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_subxact(
    event: pg_sys::SubXactEvent::Type,
    my_subid: pg_sys::SubTransactionId,
    _parent: pg_sys::SubTransactionId,
    _arg: *mut std::ffi::c_void,
) {
    match event {
        pg_sys::SubXactEvent::SUBXACT_EVENT_START_SUB => {
            let depth = SCOPES.with(|s| s.borrow().len());
            let (running, planning) = (FOREIGN_KEY_STATEMENTS.with(|c| c.get()), FOREIGN_KEY_PLANNING.with(|p| p.get()));
            SUBXACT_DEPTHS.with(|d| d.borrow_mut().push((my_subid, depth, running, planning)));
        }
        pg_sys::SubXactEvent::SUBXACT_EVENT_ABORT_SUB => {
            let saved = SUBXACT_DEPTHS.with(|d| {
                let mut d = d.borrow_mut();
                let pos = d.iter().position(|(id, ..)| *id == my_subid);
                pos.map(|p| {
                    let saved = (d[p].1, d[p].2, d[p].3);
                    d.truncate(p);
                    saved
                })
            });
            if let Some((depth, running, planning)) = saved {
                FOREIGN_KEY_STATEMENTS.with(|c| c.set(running));
                FOREIGN_KEY_PLANNING.with(|p| p.set(planning));
                if SCOPES.with(|s| s.borrow().len()) > depth {
                    leave(depth);
                }
            }
        }
        pg_sys::SubXactEvent::SUBXACT_EVENT_COMMIT_SUB => {
            SUBXACT_DEPTHS.with(|d| {
                let mut d = d.borrow_mut();
                if let Some(p) = d.iter().position(|(id, ..)| *id == my_subid) {
                    d.truncate(p);
                }
            });
        }
        _ => {}
    }
}

/// At each transaction event (from `hooks`' one transaction callback): every transaction's commit
/// passes here, so the common case returns at once, without a guard frame; only an abort does work.
#[inline]
pub fn on_xact(event: pg_sys::XactEvent::Type) {
    FOREIGN_KEY_STATEMENTS.with(|c| {
        if c.get() != 0 {
            c.set(0)
        }
    });
    FOREIGN_KEY_PLANNING.with(|p| p.set(false));
    if matches!(event, pg_sys::XactEvent::XACT_EVENT_ABORT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT) {
        // SAFETY: forwarding the event to the guarded body.
        unsafe { on_xact_abort(event) };
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_xact_abort(event: pg_sys::XactEvent::Type) {
    if matches!(event, pg_sys::XactEvent::XACT_EVENT_ABORT | pg_sys::XactEvent::XACT_EVENT_PARALLEL_ABORT) {
        SUBXACT_DEPTHS.with(|d| d.borrow_mut().clear());
        if scoped() {
            leave(0);
        }
    }
}

pub fn init() {
    // SAFETY: registering transaction callbacks during library load; the functions have the
    // signatures PostgreSQL expects and live as long as the library.
    unsafe {
        pg_sys::RegisterSubXactCallback(Some(on_subxact), std::ptr::null_mut());
    }
}

