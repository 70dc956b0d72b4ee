//! Who is masked.
//!
//! A role is masked if it is labelled `MASKED`, or has the privileges of (inherits from) a role
//! labelled `MASKED`, unless it is itself labelled `UNMASKED`; with `privacy.masked_by_default`
//! every unlabelled non-superuser role is masked. Superusers are never masked (they can read the
//! key and switch anything off; masking them would be theatre).
//!
//! Decisions are cached per backend ([`Class::Roles`]): a role label change sends a pg_authid
//! invalidation for the labelled role (see `masking::labels`), which reaches every backend of every
//! database, and membership changes send their own.

use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use privacy_core::label::{parse_role_label, RoleLabel};

use crate::pg::cache::{Cached, CachedMap, Class};
use crate::pg::catalog;

/// Why a role is masked (for `privacy.masked_roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaskedBecause {
    Labelled,
    MemberOf(pg_sys::Oid),
    MaskedByDefault,
}

backend_local! {
    static LABELS: Cached<HashMap<pg_sys::Oid, RoleLabel>> = const { Cached::new(Class::Roles) };
    static ANY_MASKED_LABEL: Cached<bool> = const { Cached::new(Class::Roles) };
    /// Decisions per (role, masked_by_default).
    static DECISIONS: CachedMap<(pg_sys::Oid, bool), Option<MaskedBecause>> = CachedMap::new(Class::Roles);
    /// Per (role, masked_by_default): whether a masked role is a member of the role.
    static MASKED_MEMBERS: CachedMap<(pg_sys::Oid, bool), bool> = CachedMap::new(Class::Roles);
}

fn labels() -> Rc<HashMap<pg_sys::Oid, RoleLabel>> {
    LABELS.with(|c| {
        c.get(|| {
            catalog::role_labels()
                .into_iter()
                .filter_map(|(role, label)| parse_role_label(&label).ok().map(|l| (role, l)))
                .collect()
        })
    })
}

/// Whether any role could be masked at all (no labels and masked_by_default off: none can).
pub fn any_masked_role() -> bool {
    crate::guc::masked_by_default() || *ANY_MASKED_LABEL.with(|c| c.get(|| labels().values().any(|l| *l == RoleLabel::Masked)))
}

fn decide(role: pg_sys::Oid, labels: &HashMap<pg_sys::Oid, RoleLabel>, by_default: bool) -> Option<MaskedBecause> {
    if role == pg_sys::InvalidOid {
        return None;
    }
    // SAFETY: catalog lookup on a role OID; handles unknown roles.
    if unsafe { pg_sys::superuser_arg(role) } {
        return None;
    }
    match labels.get(&role) {
        Some(RoleLabel::Unmasked) => return None,
        Some(RoleLabel::Masked) => return Some(MaskedBecause::Labelled),
        None => {}
    }
    let mut masked_groups: Vec<pg_sys::Oid> =
        labels.iter().filter(|(r, l)| **l == RoleLabel::Masked && **r != role).map(|(r, _)| *r).collect();
    masked_groups.sort_by_key(|o| o.to_u32());
    for group in masked_groups {
        // SAFETY: membership check between two role OIDs (respects NOINHERIT).
        if unsafe { pg_sys::has_privs_of_role(role, group) } {
            return Some(MaskedBecause::MemberOf(group));
        }
    }
    by_default.then_some(MaskedBecause::MaskedByDefault)
}

/// Why `role` is masked, or None if it is not.
pub fn masked_because(role: pg_sys::Oid) -> Option<MaskedBecause> {
    let by_default = crate::guc::masked_by_default();
    DECISIONS.with(|d| d.get((role, by_default), |(role, by_default)| decide(role, &labels(), by_default)))
}

/// Whether `role` is masked by its labels (what ownership and role-switch checks ask).
pub fn is_masked(role: pg_sys::Oid) -> bool {
    masked_because(role).is_some()
}

/// Whether `role` is masked or a masked role is a member of it (with or without its privileges:
/// a member can `SET ROLE` to it), so that code `role` owns may have been written by a masked
/// role: row-security policies on its tables, which see raw values.
pub fn masked_or_has_masked_member(role: pg_sys::Oid) -> bool {
    if is_masked(role) {
        return true;
    }
    let by_default = crate::guc::masked_by_default();
    MASKED_MEMBERS.with(|c| {
        c.get((role, by_default), |(role, _)| {
            let cat = pg_sys::AuthIdRelationId;
            let a_oid = catalog::attnum(cat, c"oid");
            let mut members = Vec::new();
            catalog::scan(cat, None, |row| members.push(row.oid(a_oid)));
            members
                .into_iter()
                // SAFETY: membership check between two role OIDs (catalog lookups only).
                .any(|member| member != role && is_masked(member) && unsafe { pg_sys::is_member_of_role(member, role) })
        })
    })
}

/// Whether what `role` reads now is masked: [`is_masked`], unless the role is the login and its
/// break-glass window is open (`masking::break_glass`).
pub fn masks_now(role: pg_sys::Oid) -> bool {
    is_masked(role) && !super::break_glass::lifts(role)
}

/// Every masked role and why: the function behind the `privacy.masked_roles` view, computed by the
/// same code the enforcement uses, so the view cannot disagree with it.
#[pg_extern(stable, parallel_safe)]
fn masked_role_list() -> TableIterator<'static, (name!(role, String), name!(reason, String))> {
    let mut roles = Vec::new();
    let cat = pg_sys::AuthIdRelationId;
    let a_oid = catalog::attnum(cat, c"oid");
    catalog::scan(cat, None, |row| roles.push(row.oid(a_oid)));
    let mut out: Vec<(String, String)> = roles
        .into_iter()
        .filter_map(|role| {
            masked_because(role).map(|why| {
                let reason = match why {
                    MaskedBecause::Labelled => "labelled MASKED".to_owned(),
                    MaskedBecause::MemberOf(group) => format!("member of masked role {}", catalog::role_name(group)),
                    MaskedBecause::MaskedByDefault => "privacy.masked_by_default is on".to_owned(),
                };
                (catalog::role_name(role), reason)
            })
        })
        .filter(|(name, _)| !name.starts_with("pg_"))
        .collect();
    out.sort();
    TableIterator::new(out)
}

extension_sql!(
    r#"
CREATE VIEW privacy.masked_roles AS SELECT * FROM privacy.masked_role_list();
GRANT SELECT ON privacy.masked_roles TO PUBLIC;
"#,
    name = "masked_roles_view",
    requires = [masked_role_list]
);
