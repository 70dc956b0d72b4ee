//! Who is a privacy admin: the one check, with one meaning.
//!
//! A privacy admin is a superuser or a role with the privileges of `privacy_admin` (a role
//! `CREATE EXTENSION` creates). The check is made on the role a request runs as, `current_user`,
//! where the request reaches pg_privacy: for `SECURITY LABEL`, the role running the command; for
//! the `privacy.*` admin functions (SECURITY INVOKER), their caller. So a `SECURITY DEFINER`
//! function owned by an admin can delegate one admin task, and `SET ROLE` to an admin role gives
//! its powers, as everywhere in PostgreSQL. `CREATEROLE` alone is not enough (a role that has it
//! can grant itself `privacy_admin`, which is then visible in `pg_auth_members`).

use pgrx::prelude::*;

use crate::pg::errors::refuse;

/// Whether `role` is a privacy admin.
pub fn is_admin(role: pg_sys::Oid) -> bool {
    // SAFETY: catalog lookups on role OIDs; get_role_oid with missing_ok.
    unsafe {
        if pg_sys::superuser_arg(role) {
            return true;
        }
        let admin = pg_sys::get_role_oid(c"privacy_admin".as_ptr(), true);
        admin != pg_sys::InvalidOid && pg_sys::has_privs_of_role(role, admin)
    }
}

/// Refuses the request unless `current_user` is a privacy admin. `what` completes "only privacy
/// admins can ...".
pub fn require_admin(what: &str) {
    if !is_admin(crate::context::current_user()) {
        refuse(
            format!("only superusers and members of privacy_admin can {what}"),
            "Ask a DBA to do it, or to grant you the privacy_admin role.",
        );
    }
}

/// `privacy.require_admin(what)`: the same check for the extension's SQL functions.
#[pg_extern(name = "require_admin", volatile, parallel_safe)]
fn require_admin_sql(what: &str) {
    require_admin(what);
}

/// `privacy.is_admin()`: whether the current user is a privacy admin.
#[pg_extern(name = "is_admin", stable, parallel_safe)]
fn is_admin_sql() -> bool {
    is_admin(crate::context::current_user())
}

extension_sql!("-- privacy.require_admin() and privacy.is_admin() are defined above\n", name = "admin_functions", requires = [require_admin_sql, is_admin_sql]);
