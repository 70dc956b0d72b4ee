//! Row-level security guards on protected tables.
//!
//! When a table gets its first masking rule, pg_privacy turns on row-level security for it (and
//! its partitions and inheritance children) with two policies:
//! - `privacy_all_rows`, permissive, `USING (true)`: every row stays visible, so enabling RLS
//!   changes no result (added only when pg_privacy is the one enabling RLS; a table that already
//!   has RLS keeps its own permissive policies);
//! - `privacy_preloaded`, restrictive, `USING (privacy.enforcement_active())`: an IMMUTABLE
//!   function the planner folds to `true` in a backend where pg_privacy was preloaded, and which
//!   raises an error in a backend where it was not, so the table fails closed instead of showing
//!   raw data to a masked role.
//!
//! Why RLS at all, beyond fail-closed: PostgreSQL hides its own side channels (pg_stats rows,
//! constraint-violation details, statistics given to leaky operators) only when row security is
//! active for the reader. The policies are created from node trees, never from SQL text.
//! FORCE ROW LEVEL SECURITY is not set for masking: it would make the owner's own pg_dump fail.
//!
//! `privacy_preloaded` is recorded as a member of the extension, like the objects CREATE
//! EXTENSION makes, so DROP EXTENSION removes it without CASCADE; `privacy_all_rows` stays with
//! the table. On restore, the labels and registry re-create the guards before the dump's own
//! CREATE POLICY statements, which the utility hook then skips (enforcement.rs).

use std::ffi::CString;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgList;

use crate::catalog_scan::{children_of, policy_names};
use crate::errors::raise;

pub const ALL_ROWS_POLICY: &str = "privacy_all_rows";
pub const PRELOADED_POLICY: &str = "privacy_preloaded";

/// `privacy.enforcement_active()`: true where pg_privacy was preloaded, an error elsewhere.
#[pg_extern(immutable, parallel_safe)]
fn enforcement_active() -> bool {
    if !crate::loaded_at_preload() {
        raise(
            pg_sys::errcodes::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "pg_privacy is not preloaded in this server, so protected tables are closed",
            "Add pg_privacy to shared_preload_libraries in postgresql.conf and restart the server.",
        );
    }
    true
}

use crate::tree::make_node as node;

fn cstring(s: &str) -> *mut std::ffi::c_char {
    let c = CString::new(s).unwrap_or_default();
    // SAFETY: pstrdup copies a NUL-terminated string into the current memory context.
    unsafe { pg_sys::pstrdup(c.as_ptr()) }
}

/// Turns on the guards for a consent subject table, and FORCE ROW LEVEL SECURITY, so the table's
/// owner and views owned by it are filtered too (consent binds everyone acting for a purpose).
pub fn protect_forced(relid: pg_sys::Oid) {
    protect_with(relid, c"SELECT privacy.set_subject(...)".as_ptr(), true);
}

/// Turns on the guards for `relid` and every partition or child below it.
pub fn protect(relid: pg_sys::Oid, query_string: *const std::ffi::c_char) {
    protect_with(relid, query_string, false);
}

fn protect_with(relid: pg_sys::Oid, query_string: *const std::ffi::c_char, force: bool) {
    let mut queue = vec![relid];
    let mut seen = Vec::new();
    while let Some(rel) = queue.pop() {
        if seen.contains(&rel) {
            continue;
        }
        seen.push(rel);
        // SAFETY: rel is an existing relation (from pg_inherits or the labelled column).
        unsafe { protect_one(rel, query_string, force) };
        queue.extend(children_of(rel));
    }
}

unsafe fn protect_one(relid: pg_sys::Oid, query_string: *const std::ffi::c_char, force: bool) {
    // SAFETY: catalog lookups; node construction in the current context; AlterTableInternal and
    // ProcessUtility run as the current user, who just passed the label permission checks.
    unsafe {
        let relkind = pg_sys::get_rel_relkind(relid) as u8;
        if !matches!(relkind, b'r' | b'p') {
            return;
        }
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, pg_sys::Datum::from(relid));
        if tuple.is_null() {
            return;
        }
        let class = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple);
        let rls_enabled = (*class).relrowsecurity;
        let rls_forced = (*class).relforcerowsecurity;
        pg_sys::ReleaseSysCache(tuple);
        let existing = policy_names(relid);

        let range = pg_sys::makeRangeVar(
            pg_sys::get_namespace_name(pg_sys::get_rel_namespace(relid)),
            pg_sys::get_rel_name(relid),
            -1,
        );
        if !rls_enabled {
            let cmd = node::<pg_sys::AlterTableCmd>(pg_sys::NodeTag::T_AlterTableCmd);
            (*cmd).subtype = pg_sys::AlterTableType::AT_EnableRowSecurity;
            let mut cmds = PgList::<pg_sys::AlterTableCmd>::new();
            cmds.push(cmd);
            pg_sys::AlterTableInternal(relid, cmds.into_pg(), false);
            pg_sys::CommandCounterIncrement();
            if !existing.iter().any(|p| p == ALL_ROWS_POLICY) {
                let always = node::<pg_sys::A_Const>(pg_sys::NodeTag::T_A_Const);
                (*always).val.boolval.type_ = pg_sys::NodeTag::T_Boolean;
                (*always).val.boolval.boolval = true;
                (*always).location = -1;
                create_policy(range, ALL_ROWS_POLICY, true, always.cast(), query_string);
            }
        }
        if force && !rls_forced {
            let cmd = node::<pg_sys::AlterTableCmd>(pg_sys::NodeTag::T_AlterTableCmd);
            (*cmd).subtype = pg_sys::AlterTableType::AT_ForceRowSecurity;
            let mut cmds = PgList::<pg_sys::AlterTableCmd>::new();
            cmds.push(cmd);
            pg_sys::AlterTableInternal(relid, cmds.into_pg(), false);
            pg_sys::CommandCounterIncrement();
        }
        if !existing.iter().any(|p| p == PRELOADED_POLICY) {
            let call = node::<pg_sys::FuncCall>(pg_sys::NodeTag::T_FuncCall);
            let mut name = PgList::<pg_sys::String>::new();
            name.push(pg_sys::makeString(cstring("privacy")));
            name.push(pg_sys::makeString(cstring("enforcement_active")));
            (*call).funcname = name.into_pg();
            (*call).funcformat = pg_sys::CoercionForm::COERCE_EXPLICIT_CALL;
            (*call).location = -1;
            create_policy(range, PRELOADED_POLICY, false, call.cast(), query_string);
        }
    }
}

unsafe fn create_policy(
    table: *mut pg_sys::RangeVar,
    name: &str,
    permissive: bool,
    qual: *mut pg_sys::Node,
    query_string: *const std::ffi::c_char,
) {
    // SAFETY: a fully initialised CreatePolicyStmt wrapped in a utility PlannedStmt, executed as
    // a sub-command of the SECURITY LABEL statement.
    unsafe {
        let stmt = node::<pg_sys::CreatePolicyStmt>(pg_sys::NodeTag::T_CreatePolicyStmt);
        (*stmt).policy_name = cstring(name);
        (*stmt).table = pg_sys::copyObjectImpl(table.cast()).cast();
        (*stmt).cmd_name = cstring("all");
        (*stmt).permissive = permissive;
        let public = node::<pg_sys::RoleSpec>(pg_sys::NodeTag::T_RoleSpec);
        (*public).roletype = pg_sys::RoleSpecType::ROLESPEC_PUBLIC;
        (*public).location = -1;
        let mut roles = PgList::<pg_sys::RoleSpec>::new();
        roles.push(public);
        (*stmt).roles = roles.into_pg();
        (*stmt).qual = qual;
        let planned = node::<pg_sys::PlannedStmt>(pg_sys::NodeTag::T_PlannedStmt);
        (*planned).commandType = pg_sys::CmdType::CMD_UTILITY;
        (*planned).utilityStmt = stmt.cast();
        (*planned).stmt_location = -1;
        pg_sys::ProcessUtility(
            planned,
            query_string,
            false,
            pg_sys::ProcessUtilityContext::PROCESS_UTILITY_SUBCOMMAND,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            pg_sys::None_Receiver,
            std::ptr::null_mut(),
        );
        pg_sys::CommandCounterIncrement();
        // Only the fail-closed policy belongs to the extension: DROP EXTENSION removes it, while
        // privacy_all_rows stays so the table's rows remain visible without pg_privacy.
        if name == PRELOADED_POLICY {
            record_as_extension_member(table, name);
        }
    }
}

/// Makes the policy `name` on `table` a member of the pg_privacy extension.
unsafe fn record_as_extension_member(table: *mut pg_sys::RangeVar, name: &str) {
    // SAFETY: the relation exists (the policy was just created on it); recordDependencyOn writes
    // a pg_depend row for two existing objects.
    unsafe {
        let relid = pg_sys::RangeVarGetRelidExtended(table, pg_sys::NoLock as i32, 0, None, std::ptr::null_mut());
        let ext = pg_sys::get_extension_oid(c"pg_privacy".as_ptr(), true);
        let Some((policy, _)) = crate::catalog_scan::policies(relid).into_iter().find(|(_, n)| n == name) else {
            return;
        };
        if ext == pg_sys::InvalidOid {
            return;
        }
        let member = pg_sys::ObjectAddress {
            classId: pg_sys::Oid::from(crate::catalog_scan::POLICY_CLASS_ID),
            objectId: policy,
            objectSubId: 0,
        };
        let extension = pg_sys::ObjectAddress { classId: pg_sys::ExtensionRelationId, objectId: ext, objectSubId: 0 };
        pg_sys::recordDependencyOn(&member, &extension, pg_sys::DependencyType::DEPENDENCY_EXTENSION);
        pg_sys::CommandCounterIncrement();
    }
}
