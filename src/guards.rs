//! Row-level security guards on protected tables (masked columns) and subject tables (consent).
//!
//! A table that gets its first masking rule, or is declared a subject table, gets row-level
//! security (and so do its partitions and inheritance children) with two policies:
//! - `privacy_all_rows`, permissive, `USING (privacy.enforcement_active())`: every row stays
//!   visible, so enabling row security changes no result (added only when pg_privacy is the one
//!   enabling it);
//! - `privacy_preloaded`, restrictive, `USING (privacy.enforcement_active())`.
//!
//! `privacy.enforcement_active()` is an IMMUTABLE function the planner folds to `true` where
//! pg_privacy was preloaded, and which raises an error where it was not, so the table fails closed
//! instead of showing raw data. Both policies call it, so the guard holds even where a copy of the
//! policies lost `AS RESTRICTIVE` (Citus copies policies to shards as permissive ones): two
//! permissive policies that both raise still raise.
//!
//! Why row security at all, beyond failing closed: PostgreSQL hides its own side channels (pg_stats
//! rows, constraint-violation details, statistics given to leaky operators) only when row
//! security is active for the reader. Subject tables also get FORCE ROW LEVEL SECURITY, so their
//! owners and the owners' views are filtered too. The policies are created from node trees, never
//! from SQL text.
//!
//! The guards are what the fail-closed promise rests on, so only privacy admins may take them off:
//! disabling or un-forcing row security on such a table, or dropping, altering or renaming a guard
//! policy, is refused to anyone else ([`check_change`]).
//!
//! The guards belong to their tables (dropped with them; pg_dump dumps them). DROP EXTENSION
//! removes `privacy_preloaded` first ([`before_drop_extension`]); `privacy_all_rows` stays with
//! the table. On restore, the labels and registry re-create the guards before the dump's own
//! CREATE POLICY statements, which are then skipped.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

use crate::pg::catalog;
use crate::pg::errors::{raise, refuse};
use crate::pg::nodes::{self, make_node};

pub const ALL_ROWS_POLICY: &str = "privacy_all_rows";


pub const PRELOADED_POLICY: &str = "privacy_preloaded";

/// Why a table is guarded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// It has masking rules: row security enabled, not forced (the owner's pg_dump keeps working).
    Masking,
    /// It is a consent subject table: row security enabled and forced.
    Consent,
}

/// Whether pg_privacy was preloaded into this backend.
static mut LOADED_AT_PRELOAD: bool = false;

/// Records at load time whether the library is being preloaded.
pub fn init() {
    // SAFETY: reading a PostgreSQL global flag during library load, on the backend's only thread;
    // the static is written once, before any query runs.
    unsafe { LOADED_AT_PRELOAD = pg_sys::process_shared_preload_libraries_in_progress };
    crate::pg::catalog::register_own_policy(is_guard_policy);
}

/// Refuses the statement while this database holds pg_privacy's SQL objects of another version
/// than the library's (the library was upgraded, `ALTER EXTENSION pg_privacy UPDATE` has not run
/// here yet), unless the session and the current user are superusers, who are never masked or
/// filtered and run the update. The library cannot read an older schema's registry, so it could
/// not tell who is filtered; refusing everyone else fails closed until the update.
pub fn refuse_outdated_schema() {
    let Some(installed) = catalog::outdated_schema() else { return };
    // SAFETY: superuser checks of the session's and current role.
    let superusers = unsafe { pg_sys::superuser_arg(pg_sys::GetSessionUserId()) && pg_sys::superuser() };
    if !superusers {
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "pg_privacy's objects in this database are version {installed}, the loaded library is version {}",
                catalog::LIBRARY_VERSION
            ),
            "A superuser runs ALTER EXTENSION pg_privacy UPDATE in this database; until then only superusers' statements run here.",
        );
    }
}

/// After `CREATE`, `ALTER` or `DROP EXTENSION pg_privacy`: every backend of the database drops
/// its caches at commit, so none keeps reading the objects of the version it knew (an update
/// script need not touch a table, which is what would otherwise invalidate them).
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn after_extension_change(stmt: *mut pg_sys::Node) {
    // SAFETY: tags checked before casts; extension names are C strings of valid nodes.
    unsafe {
        let named = if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterExtensionStmt) {
            nodes::cstr((*(stmt as *mut pg_sys::AlterExtensionStmt)).extname) == "pg_privacy"
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateExtensionStmt) {
            nodes::cstr((*(stmt as *mut pg_sys::CreateExtensionStmt)).extname) == "pg_privacy"
        } else {
            false
        };
        if named {
            pg_sys::CacheInvalidateRelcacheAll();
        }
    }
}

/// Whether a table's row-security policy is one of pg_privacy's guards: a guard's name, read for
/// every command, with `USING (privacy.enforcement_active())` (or `USING (true)`, what
/// `privacy_all_rows` becomes when the extension is dropped) and no WITH CHECK. A policy an owner
/// named like a guard but wrote otherwise is the owner's code.
///
/// # Safety
/// `policy` must be a valid RowSecurityPolicy of an open relation.
unsafe fn is_guard_policy(policy: *mut pg_sys::RowSecurityPolicy) -> bool {
    // SAFETY: fields of a valid policy; nodes are tag-checked before casts; lsyscache lookups.
    unsafe {
        let name = crate::pg::nodes::cstr((*policy).policy_name);
        if (name != ALL_ROWS_POLICY && name != PRELOADED_POLICY) || !(*policy).with_check_qual.is_null() || (*policy).polcmd != b'*' as std::ffi::c_char {
            return false;
        }
        let qual = (*policy).qual as *mut pg_sys::Node;
        if pgrx::is_a(qual, pg_sys::NodeTag::T_Const) {
            let c = qual as *mut pg_sys::Const;
            return (*c).consttype == pg_sys::BOOLOID && !(*c).constisnull && (*c).constvalue.value() != 0;
        }
        if !pgrx::is_a(qual, pg_sys::NodeTag::T_FuncExpr) {
            return false;
        }
        let funcid = (*(qual as *mut pg_sys::FuncExpr)).funcid;
        let fname = pg_sys::get_func_name(funcid);
        !fname.is_null()
            && std::ffi::CStr::from_ptr(fname).to_bytes() == b"enforcement_active"
            && Some(pg_sys::get_func_namespace(funcid)) == crate::pg::catalog::extension_schema()
    }
}

fn loaded_at_preload() -> bool {
    // SAFETY: written once in init before any query runs; backends are single-threaded.
    unsafe { LOADED_AT_PRELOAD }
}

/// Whether PostgreSQL would refuse `COPY relid FROM ...` by the current user only because of the
/// guards: row security is on, every policy on the table is a guard, a permissive one applies to
/// every role, and the current user is neither the owner nor BYPASSRLS (for whom PostgreSQL skips
/// row security). `crate::pg::copy` then runs the COPY itself.
pub fn only_guards_refuse_copy_from(relid: pg_sys::Oid) -> bool {
    // Every policy a guard, and a permissive one among them for every role: the guards' USING
    // is true where the library is preloaded, so the policies admit every row. Without a
    // permissive policy for everyone (an owner who enabled row security with no policy before the
    // first rule, or wrote a guard-named policy for some roles only) they admit none, and
    // PostgreSQL's refusal stands (found by an attack pass).
    loaded_at_preload()
        && matches!(
            catalog::row_security_for_current_user(relid),
            Some(catalog::RowSecurity { any_policies: true, owner_policies: false, permissive_for_public: true })
        )
}

/// `privacy.enforcement_active()`: true where pg_privacy was preloaded, an error elsewhere.
#[pg_extern(immutable, parallel_safe)]
fn enforcement_active() -> bool {
    if !loaded_at_preload() {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "pg_privacy is not preloaded in this server, so protected tables are closed",
            "Add pg_privacy to shared_preload_libraries in postgresql.conf and restart the server.",
        );
    }
    true
}

/// Turns on the guards for `relid` and every partition or child below it.
pub fn protect(relid: pg_sys::Oid, reason: Reason) {
    let mut all = vec![relid];
    all.extend(catalog::descendants_of(relid));
    // A Citus table's rows live in its shards: those on this node get the guards too (every node
    // with pg_privacy does this when the label reaches it), so a node that later runs without the
    // library fails closed on them as well.
    let shards: Vec<pg_sys::Oid> = all.iter().flat_map(|rel| crate::pg::citus::local_shards(*rel)).collect();
    all.extend(shards);
    for rel in all {
        // SAFETY: rel is an existing relation (the labelled one, from pg_inherits or a local shard).
        unsafe { protect_one(rel, reason) };
    }
}

/// `privacy.guard_subject_table(regclass)`: the guards of a subject table, created as the
/// extension's owner (the privacy admin declaring it need not own the table). EXECUTE is granted
/// to privacy_admin only.
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn guard_subject_table(relation: pg_sys::Oid) {
    crate::distributed::check_new_subject_table(relation);
    protect(relation, Reason::Consent);
}

extension_sql!(
    r#"
REVOKE ALL ON FUNCTION privacy.guard_subject_table(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.guard_subject_table(oid) TO privacy_admin;
"#,
    name = "guard_subject_table_privileges",
    requires = [guard_subject_table, "admin_role"]
);

unsafe fn protect_one(relid: pg_sys::Oid, reason: Reason) {
    // SAFETY: catalog lookups; node construction in the current context; AlterTableInternal and
    // ProcessUtility run as the current user, who passed the label or admin checks.
    unsafe {
        if !matches!(catalog::relkind(relid), pg_sys::RELKIND_RELATION | pg_sys::RELKIND_PARTITIONED_TABLE) {
            return;
        }
        let (enabled, forced) = catalog::row_security_flags(relid);
        let existing: Vec<String> = catalog::policies(relid).into_iter().map(|(_, n)| n).collect();
        let range = pg_sys::makeRangeVar(pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)), pg_sys::get_rel_name(relid), -1);
        if !enabled {
            alter_row_security(relid, pg_sys::AlterTableType::AT_EnableRowSecurity);
            if !existing.iter().any(|p| p == ALL_ROWS_POLICY) {
                create_policy(range, ALL_ROWS_POLICY, true, nodes::privacy_call("enforcement_active").cast());
            }
        }
        if reason == Reason::Consent && !forced {
            alter_row_security(relid, pg_sys::AlterTableType::AT_ForceRowSecurity);
        }
        if !existing.iter().any(|p| p == PRELOADED_POLICY) {
            create_policy(range, PRELOADED_POLICY, false, nodes::privacy_call("enforcement_active").cast());
        }
    }
}

unsafe fn alter_row_security(relid: pg_sys::Oid, subtype: pg_sys::AlterTableType::Type) {
    // SAFETY: a one-command ALTER TABLE on an existing relation, as PostgreSQL's own callers do.
    unsafe {
        let cmd = make_node::<pg_sys::AlterTableCmd>(pg_sys::NodeTag::T_AlterTableCmd);
        (*cmd).subtype = subtype;
        let mut cmds = PgList::<pg_sys::AlterTableCmd>::new();
        cmds.push(cmd);
        pg_sys::AlterTableInternal(relid, cmds.into_pg(), false);
        pg_sys::CommandCounterIncrement();
    }
}

backend_local! {
    /// The guard policy statement pg_privacy is running now (see [`is_own_guard_statement`]).
    static OWN_STATEMENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether `stmt` is the CREATE POLICY of a guard that pg_privacy itself is running now (the
/// utility hook's refusal of policies by masked or filtered sessions does not apply to it: a
/// masked owner's new partition gets its guards).
pub fn is_own_guard_statement(stmt: *mut pg_sys::Node) -> bool {
    !stmt.is_null() && OWN_STATEMENT.with(|s| s.get()) == stmt as usize
}

unsafe fn create_policy(table: *mut pg_sys::RangeVar, name: &str, permissive: bool, qual: *mut pg_sys::Node) {
    // SAFETY: a fully initialised CreatePolicyStmt wrapped in a utility PlannedStmt, executed as
    // a sub-command of the statement being run.
    unsafe {
        let stmt = make_node::<pg_sys::CreatePolicyStmt>(pg_sys::NodeTag::T_CreatePolicyStmt);
        (*stmt).policy_name = nodes::pstrdup(name);
        (*stmt).table = pg_sys::copyObjectImpl(table.cast()).cast();
        (*stmt).cmd_name = nodes::pstrdup("all");
        (*stmt).permissive = permissive;
        let public = make_node::<pg_sys::RoleSpec>(pg_sys::NodeTag::T_RoleSpec);
        (*public).roletype = pg_sys::RoleSpecType::ROLESPEC_PUBLIC;
        (*public).location = -1;
        let mut roles = PgList::<pg_sys::RoleSpec>::new();
        roles.push(public);
        (*stmt).roles = roles.into_pg();
        (*stmt).qual = qual;
        let planned = make_node::<pg_sys::PlannedStmt>(pg_sys::NodeTag::T_PlannedStmt);
        (*planned).commandType = pg_sys::CmdType::CMD_UTILITY;
        (*planned).utilityStmt = stmt.cast();
        (*planned).stmt_location = -1;
        // cleared when the statement returns; an error leaves a pointer no later statement is at
        // (the node is freed with the transaction's memory and a new statement is a new node
        // checked by its own policy name too, see is_own_guard_statement's caller)
        OWN_STATEMENT.with(|s| s.set(stmt as usize));
        pg_sys::ProcessUtility(
            planned,
            c"CREATE POLICY (pg_privacy guard)".as_ptr(),
            false,
            pg_sys::ProcessUtilityContext::PROCESS_UTILITY_SUBCOMMAND,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            pg_sys::None_Receiver,
            std::ptr::null_mut(),
        );
        OWN_STATEMENT.with(|s| s.set(0));
        pg_sys::CommandCounterIncrement();
    }
}

/// `DROP EXTENSION pg_privacy` in a backend with the library: the fail-closed policies call the
/// extension's `privacy.enforcement_active()`, so `privacy_preloaded` is dropped first and
/// `privacy_all_rows` becomes `USING (true)`, and the tables stay readable. They are deliberately not members of the
/// extension: a member cannot be dropped with its table, and every protected table could then
/// only be dropped with CASCADE. Without the library loaded, DROP EXTENSION needs CASCADE, which
/// drops them too.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn before_drop_extension(stmt: *mut pg_sys::Node) {
    // SAFETY: tag checked before the cast; objects of a DropStmt for extensions are String nodes.
    unsafe {
        if !pgrx::is_a(stmt, pg_sys::NodeTag::T_DropStmt) {
            return;
        }
        let drop = stmt as *mut pg_sys::DropStmt;
        if (*drop).removeType != pg_sys::ObjectType::OBJECT_EXTENSION {
            return;
        }
        let names = PgList::<pg_sys::String>::from_pg((*drop).objects);
        // at any version: an outdated schema's guards are the same policies
        if !names.iter_ptr().any(|n| nodes::cstr((*n).sval) == "pg_privacy") || !catalog::extension_installed() {
            return;
        }
        let cat = catalog::oid(catalog::PG_POLICY);
        let (a_oid, a_name) = (catalog::attnum(cat, c"oid"), catalog::attnum(cat, c"polname"));
        let a_rel = catalog::attnum(cat, c"polrelid");
        let (mut guards, mut all_rows) = (Vec::new(), Vec::new());
        catalog::scan(cat, None, |row| match row.name(a_name).as_deref() {
            Some(PRELOADED_POLICY) => guards.push(row.oid(a_oid)),
            Some(ALL_ROWS_POLICY) => all_rows.push(row.oid(a_rel)),
            _ => {}
        });
        for policy in guards {
            let address = pg_sys::ObjectAddress { classId: cat, objectId: policy, objectSubId: 0 };
            pg_sys::performDeletion(&address, pg_sys::DropBehavior::DROP_RESTRICT, 0);
        }
        // privacy_all_rows stays, with the extension's function taken out of it: the tables stay
        // readable by the roles granted them.
        for relid in all_rows {
            let stmt = make_node::<pg_sys::AlterPolicyStmt>(pg_sys::NodeTag::T_AlterPolicyStmt);
            (*stmt).policy_name = nodes::pstrdup(ALL_ROWS_POLICY);
            (*stmt).table = pg_sys::makeRangeVar(pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)), pg_sys::get_rel_name(relid), -1);
            (*stmt).qual = nodes::bool_const(true).cast();
            // ALTER POLICY called directly (not through ProcessUtility), so that DROP EXTENSION
            // need not pass its own guard-change check; guarded like every pg_sys call, so an
            // error becomes a normal PostgreSQL error.
            pg_sys::submodules::ffi::pg_guard_ffi_boundary(|| crate::pg::ffi::AlterPolicy(stmt));
        }
        pg_sys::CommandCounterIncrement();
    }
}

/// `privacy.upgrade_guards()`, run by the update script from 0.1.0 (and refused anywhere else):
/// the guards 0.1.0 made take the form this version makes. 0.1.0 recorded `privacy_preloaded` as
/// a member of the extension (a protected table could not be dropped on its own) and wrote
/// `privacy_all_rows` as `USING (true)` (which a permissive copy on a Citus shard leaves open);
/// both become what [`protect`] creates now. Policies are changed through PostgreSQL's own
/// functions and node trees, never SQL text.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn upgrade_guards() {
    // SAFETY: reading PostgreSQL's flag for "an extension script is running" on this backend.
    if !unsafe { pg_sys::creating_extension } {
        raise(
            pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "privacy.upgrade_guards() runs only inside ALTER EXTENSION pg_privacy UPDATE",
            "Run ALTER EXTENSION pg_privacy UPDATE.",
        );
    }
    let cat = catalog::oid(catalog::PG_POLICY);
    let (a_oid, a_name, a_rel) = (catalog::attnum(cat, c"oid"), catalog::attnum(cat, c"polname"), catalog::attnum(cat, c"polrelid"));
    let (mut preloaded, mut all_rows) = (Vec::new(), Vec::new());
    catalog::scan(cat, None, |row| match row.name(a_name).as_deref() {
        Some(PRELOADED_POLICY) => preloaded.push((row.oid(a_oid), row.oid(a_rel))),
        Some(ALL_ROWS_POLICY) => all_rows.push(row.oid(a_rel)),
        _ => {}
    });
    // SAFETY: catalog updates through PostgreSQL's functions inside the update script's
    // transaction; relations come from pg_policy and exist; ALTER POLICY gets a complete node.
    unsafe {
        for (policy, _) in &preloaded {
            pg_sys::deleteDependencyRecordsForClass(
                catalog::oid(catalog::PG_POLICY),
                *policy,
                pg_sys::ExtensionRelationId,
                pg_sys::DependencyType::DEPENDENCY_EXTENSION as std::ffi::c_char,
            );
        }
        for relid in all_rows.into_iter().filter(|rel| preloaded.iter().any(|(_, r)| r == rel)) {
            let stmt = make_node::<pg_sys::AlterPolicyStmt>(pg_sys::NodeTag::T_AlterPolicyStmt);
            (*stmt).policy_name = nodes::pstrdup(ALL_ROWS_POLICY);
            (*stmt).table = pg_sys::makeRangeVar(pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)), pg_sys::get_rel_name(relid), -1);
            (*stmt).qual = nodes::privacy_call("enforcement_active").cast();
            pg_sys::submodules::ffi::pg_guard_ffi_boundary(|| crate::pg::ffi::AlterPolicy(stmt));
        }
        pg_sys::CommandCounterIncrement();
    }
}

extension_sql!(
    "REVOKE ALL ON FUNCTION privacy.upgrade_guards() FROM PUBLIC;\n",
    name = "upgrade_guards_privileges",
    requires = [upgrade_guards]
);

/// Whether a CREATE POLICY names one of pg_privacy's guard policies that already exists (a
/// restore re-creates the guards from labels and registry before the dump's CREATE POLICY).
///
/// # Safety
/// `stmt` must be a valid CreatePolicyStmt.
pub unsafe fn guard_policy_exists(stmt: *mut pg_sys::CreatePolicyStmt) -> bool {
    // SAFETY: fields of a valid CreatePolicyStmt; the relation lookup may find nothing.
    unsafe {
        let name = CStr::from_ptr((*stmt).policy_name).to_string_lossy();
        if name != ALL_ROWS_POLICY && name != PRELOADED_POLICY {
            return false;
        }
        let relid = pg_sys::RangeVarGetRelidExtended((*stmt).table, pg_sys::NoLock as i32, pg_sys::RVROption::RVR_MISSING_OK, None, std::ptr::null_mut());
        relid != pg_sys::InvalidOid && catalog::policies(relid).iter().any(|(_, p)| *p == name)
    }
}

fn refuse_guard_change(relid: pg_sys::Oid, what: &str) -> ! {
    refuse(
        format!("only privacy admins can {what} on {}", catalog::relation_name(relid)),
        "pg_privacy's masking rules or consent filters rely on row-level security there. Ask a privacy admin.",
    )
}

use crate::pg::nodes::range_relid as relid_of;

/// Refuses non-admins taking the guards off a guarded table: `guarded(relid)` says whether a
/// table is guarded (protected or a subject table). Called before the statement runs.
///
/// # Safety
/// `stmt` must be a valid utility statement node.
pub unsafe fn check_change(stmt: *mut pg_sys::Node, guarded: impl Fn(pg_sys::Oid) -> bool) {
    // SAFETY: tag checks only.
    let may_change_guards = unsafe {
        [pg_sys::NodeTag::T_AlterTableStmt, pg_sys::NodeTag::T_DropStmt, pg_sys::NodeTag::T_AlterPolicyStmt, pg_sys::NodeTag::T_RenameStmt]
            .into_iter()
            .any(|tag| pgrx::is_a(stmt, tag))
    };
    // the admin check reads memberships: only for the statements that could touch a guard
    if !may_change_guards || crate::admin::is_admin(crate::context::current_user()) {
        return;
    }
    // SAFETY: tags are checked before casts; fields of valid parse nodes.
    unsafe {
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterTableStmt) {
            let at = stmt as *mut pg_sys::AlterTableStmt;
            let relid = relid_of((*at).relation);
            if relid == pg_sys::InvalidOid {
                return;
            }
            // Taking a partition or child out of a guarded tree takes it out of the rules and
            // filters it inherits (found by an attack pass: a masked owner detached a partition
            // and read it raw): for privacy admins only, as is switching row security off. The
            // partition's or child's side is checked too (`ALTER TABLE child NO INHERIT parent`).
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*at).cmds).iter_ptr() {
                let in_tree = |r: pg_sys::Oid| r != pg_sys::InvalidOid && (guarded(r) || catalog::ancestors_of(r).into_iter().any(&guarded));
                match (*cmd).subtype {
                    // A second parent, then the masked column dropped from the labelled one: the
                    // child keeps the column without its rule (found by an attack pass). So a
                    // table in a guarded tree gets no other parent, and a labelled column of a
                    // table with children is not dropped, except by privacy admins.
                    pg_sys::AlterTableType::AT_AddInherit if in_tree(relid) => refuse(
                        format!("only privacy admins can give {} another parent", catalog::relation_name(relid)),
                        "It could then keep a column its protected parent drops, without the column's masking rule. Ask a privacy admin.",
                    ),
                    pg_sys::AlterTableType::AT_DropColumn if catalog::has_subclass(relid) && !(*cmd).name.is_null() => {
                        let attno = catalog::attribute_number(relid, &nodes::cstr((*cmd).name));
                        if attno > 0 && catalog::column_labels_of(relid).iter().any(|(a, _)| *a == attno) {
                            refuse(
                                format!("only privacy admins can drop a column with a masking rule from {}, which has children", catalog::relation_name(relid)),
                                "A child that keeps the column (its own, or from another parent) would keep it without the rule. Ask a privacy admin.",
                            );
                        }
                        continue;
                    }
                    _ => {}
                }
                let other = match (*cmd).subtype {
                    pg_sys::AlterTableType::AT_DetachPartition | pg_sys::AlterTableType::AT_DetachPartitionFinalize => {
                        let part = (*cmd).def as *mut pg_sys::PartitionCmd;
                        if part.is_null() { pg_sys::InvalidOid } else { relid_of((*part).name) }
                    }
                    pg_sys::AlterTableType::AT_DropInherit => relid_of((*cmd).def as *mut pg_sys::RangeVar),
                    _ => continue,
                };
                if in_tree(relid) || in_tree(other) {
                    refuse(
                        format!("only privacy admins can take a partition or child out of {}", catalog::relation_name(relid)),
                        "It would no longer be covered by the masking rules or consent filters it inherits. Ask a privacy admin.",
                    );
                }
            }
            if !guarded(relid) {
                return;
            }
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*at).cmds).iter_ptr() {
                match (*cmd).subtype {
                    pg_sys::AlterTableType::AT_DisableRowSecurity => refuse_guard_change(relid, "disable row-level security"),
                    pg_sys::AlterTableType::AT_NoForceRowSecurity if catalog::row_security_flags(relid).1 => {
                        refuse_guard_change(relid, "stop forcing row-level security")
                    }
                    _ => {}
                }
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_DropStmt) {
            let drop = stmt as *mut pg_sys::DropStmt;
            if (*drop).removeType != pg_sys::ObjectType::OBJECT_POLICY {
                return;
            }
            for object in PgList::<pg_sys::List>::from_pg((*drop).objects).iter_ptr() {
                // (table name parts..., policy name)
                let parts = PgList::<pg_sys::String>::from_pg(object);
                let Some(last) = parts.get_ptr(parts.len().saturating_sub(1)) else { continue };
                let policy = nodes::cstr((*last).sval);
                if policy != ALL_ROWS_POLICY && policy != PRELOADED_POLICY {
                    continue;
                }
                let mut names = PgList::<pg_sys::String>::new();
                for p in parts.iter_ptr().take(parts.len() - 1) {
                    names.push(p);
                }
                let range = pg_sys::makeRangeVarFromNameList(names.into_pg());
                let relid = relid_of(range);
                if relid != pg_sys::InvalidOid && guarded(relid) {
                    refuse_guard_change(relid, "drop pg_privacy's guard policies");
                }
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterPolicyStmt) {
            let alter = stmt as *mut pg_sys::AlterPolicyStmt;
            let name = nodes::cstr((*alter).policy_name);
            let relid = relid_of((*alter).table);
            if (name == ALL_ROWS_POLICY || name == PRELOADED_POLICY) && relid != pg_sys::InvalidOid && guarded(relid) {
                refuse_guard_change(relid, "alter pg_privacy's guard policies");
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_RenameStmt) {
            let rename = stmt as *mut pg_sys::RenameStmt;
            if (*rename).renameType != pg_sys::ObjectType::OBJECT_POLICY {
                return;
            }
            let name = nodes::cstr((*rename).subname);
            let relid = relid_of((*rename).relation);
            if (name == ALL_ROWS_POLICY || name == PRELOADED_POLICY) && relid != pg_sys::InvalidOid && guarded(relid) {
                refuse_guard_change(relid, "rename pg_privacy's guard policies");
            }
        }
    }
}

/// Relations a statement just made children of another (CREATE TABLE ... INHERITS / PARTITION
/// OF, ALTER TABLE ... INHERIT / ATTACH PARTITION): they may need the guards their parent has.
///
/// # Safety
/// `stmt` must be a valid utility statement node, after it ran.
pub unsafe fn new_children(stmt: *mut pg_sys::Node) -> Vec<pg_sys::Oid> {
    let mut out = Vec::new();
    // SAFETY: tags are checked before casts; fields of valid parse nodes.
    unsafe {
        if pgrx::is_a(stmt, pg_sys::NodeTag::T_CreateStmt) {
            let create = stmt as *mut pg_sys::CreateStmt;
            if !(*create).inhRelations.is_null() || !(*create).partbound.is_null() {
                out.push(relid_of((*create).relation));
            }
        } else if pgrx::is_a(stmt, pg_sys::NodeTag::T_AlterTableStmt) {
            let at = stmt as *mut pg_sys::AlterTableStmt;
            for cmd in PgList::<pg_sys::AlterTableCmd>::from_pg((*at).cmds).iter_ptr() {
                match (*cmd).subtype {
                    pg_sys::AlterTableType::AT_AttachPartition if !(*cmd).def.is_null() => {
                        out.push(relid_of((*((*cmd).def as *mut pg_sys::PartitionCmd)).name));
                    }
                    pg_sys::AlterTableType::AT_AddInherit => out.push(relid_of((*at).relation)),
                    _ => {}
                }
            }
        }
    }
    out.retain(|r| *r != pg_sys::InvalidOid);
    out
}
