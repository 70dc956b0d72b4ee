//! Which purpose a session acts for, and what that means for each role governing it.
//!
//! A role is *filtered* if purposes are allowed to it (or to a role whose privileges it has) and
//! the database has subject tables. For a filtered role, the purpose in force is `privacy.purpose`
//! if set, else its only allowed purpose; a role allowed several must choose and sees no subject
//! rows until it does (fail closed). A purpose that needs no consent filters nothing.
//!
//! `privacy.purpose` may be set only to a purpose allowed to the login or the current user; a
//! value that arrives another way (PGOPTIONS, `ALTER ROLE/DATABASE ... SET`) is checked again where
//! it is used: the session's own roles get an error, other governing roles (owners of views and
//! code the statement runs) see no rows for a purpose they were not allowed.

use std::rc::Rc;

use pgrx::pg_sys;

use super::registry::registry;
use crate::pg::cache::{CachedMap, Class, Deps};
use crate::pg::catalog;
use crate::pg::errors::refuse;

/// What a role's reads of subject tables are filtered by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Not filtered (no purpose allowed, a purpose without consent, a superuser).
    None,
    /// Rows of subjects with active consent for this purpose.
    ConsentFor(String),
    /// The role must choose among several purposes and has not, or acts for a purpose it was not
    /// allowed: no rows.
    NoRows,
}

backend_local! {
    static ALLOWED: CachedMap<pg_sys::Oid, Rc<Vec<String>>> =
        CachedMap::depending_on(Deps::of(&[Class::Roles, Class::Relations]));
}

/// Purposes allowed to `role`: those allowed to it or to a role whose privileges it has.
pub fn allowed_purposes(role: pg_sys::Oid) -> Rc<Vec<String>> {
    ALLOWED.with(|a| {
        a.get(role, |role| {
            let reg = registry();
            let mut out: Vec<String> = reg
                .role_purposes
                .iter()
                // SAFETY: membership check between two role OIDs (respects NOINHERIT).
                .filter(|(granted_to, _)| *granted_to == role || unsafe { pg_sys::has_privs_of_role(role, *granted_to) })
                .map(|(_, p)| p.clone())
                .collect();
            out.sort();
            out.dedup();
            Rc::new(out)
        })
    })
}

/// Whether `role` is filtered by consent at all.
pub fn is_filtered_role(role: pg_sys::Oid) -> bool {
    if registry().subjects.is_empty() || role == pg_sys::InvalidOid {
        return false;
    }
    // SAFETY: catalog lookup on a role OID.
    !unsafe { pg_sys::superuser_arg(role) } && !allowed_purposes(role).is_empty()
}

/// The filter `role` imposes. `acting` says the session acts as this role (its login or current
/// user): for those a requested purpose they were not allowed is an error, for other governing
/// roles it means no rows.
pub fn filter_for(role: pg_sys::Oid, acting: bool) -> Filter {
    // A statement asks this several times per role (the planner, the row-security hook, each
    // subject table read): the answer is kept for the same role, requested purpose and cache
    // generation (roles, purposes and the registry invalidate it like every other cache).
    let requested = crate::guc::purpose();
    let generation = FILTER_DEPS.generation();
    let known = RECENT_FILTERS.with(|r| {
        r.borrow()
            .iter()
            .find(|(g, ro, a, p, _)| *g == generation && *ro == role && *a == acting && *p == requested)
            .map(|(.., f)| f.clone())
    });
    if let Some(filter) = known {
        return filter;
    }
    let filter = decide_filter(role, acting, requested.clone(), true);
    RECENT_FILTERS.with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|(g, ..)| *g == generation);
        if r.len() >= 16 {
            r.remove(0);
        }
        r.push((generation, role, acting, requested, filter.clone()));
    });
    filter
}

/// What the recent answers of [`filter_for`] depend on.
const FILTER_DEPS: Deps = Deps::of(&[Class::Roles, Class::Relations]);

backend_local! {
    /// Recent answers of [`filter_for`]: (generation, role, acting, requested purpose, filter).
    static RECENT_FILTERS: std::cell::RefCell<Vec<(u64, pg_sys::Oid, bool, String, Filter)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`filter_for`] for the statements that must run whatever the purpose (`SET`, `RESET`,
/// `DISCARD`, transaction control: the way out of a purpose the current role was not allowed),
/// never raising: such a purpose means no rows. Not remembered.
pub fn filter_for_quietly(role: pg_sys::Oid, acting: bool) -> Filter {
    decide_filter(role, acting, crate::guc::purpose(), false)
}

/// [`filter_for`] without the memory of recent answers. With `raise`, an acting role asking for a
/// purpose it was not allowed gets an error (so such an answer is never kept); without, no rows.
fn decide_filter(role: pg_sys::Oid, acting: bool, requested: String, raise: bool) -> Filter {
    if !is_filtered_role(role) {
        return Filter::None;
    }
    let allowed = allowed_purposes(role);
    let purpose = if !requested.is_empty() {
        if !allowed.contains(&requested) {
            if acting && raise {
                refuse(
                    format!("role \"{}\" is not allowed to act for purpose \"{requested}\"", catalog::role_name(role)),
                    "A privacy admin allows purposes with privacy.allow_purpose(role, purpose); see privacy.role_purposes.",
                );
            }
            return Filter::NoRows;
        }
        requested
    } else {
        match allowed.len() {
            1 => allowed[0].clone(),
            _ => return Filter::NoRows,
        }
    };
    match registry().purposes.get(&purpose) {
        Some(true) => Filter::ConsentFor(purpose),
        _ => Filter::None,
    }
}

/// The filters of `roles` (the first `acting` of them are the session's own), without duplicates.
pub fn filters_for(roles: &[pg_sys::Oid], acting: usize) -> Vec<Filter> {
    let mut out = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let f = filter_for(*role, i < acting);
        if f != Filter::None && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// The GUC check of `privacy.purpose` (see `crate::guc`).
pub fn check_purpose_value(wanted: &str) -> Result<(), (String, String)> {
    if wanted.is_empty() || crate::pg::catalog::extension_schema().is_none() {
        return Ok(());
    }
    let (login, user) = (crate::context::login(), crate::context::current_user());
    if allowed_purposes(login).iter().any(|p| p == wanted) || allowed_purposes(user).iter().any(|p| p == wanted) {
        return Ok(());
    }
    // Superusers may store any existing purpose (ALTER ROLE/DATABASE ... SET); the roles that use
    // it are checked when they act.
    // SAFETY: reads a backend global.
    if unsafe { pg_sys::superuser() } && registry().purposes.contains_key(wanted) {
        return Ok(());
    }
    Err((
        format!("role \"{}\" is not allowed to act for purpose \"{wanted}\"", catalog::role_name(user)),
        "A privacy admin allows purposes with privacy.allow_purpose(role, purpose); see privacy.role_purposes.".to_owned(),
    ))
}

/// After `privacy.purpose` changes (SET, SET LOCAL and its rollback, function SET clauses):
/// plans embed the purpose's filter, so cached plans are dropped.
pub fn purpose_assigned() {
    // SAFETY: ResetPlanCache only marks plans invalid; safe in an assign hook.
    unsafe { pg_sys::ResetPlanCache() };
}
