//! Who is masked.
//!
//! A role is masked if it is labelled `MASKED`, or has the privileges of (inherits from) a role
//! labelled `MASKED`, unless it is itself labelled `UNMASKED`; with `privacy.masked_by_default`
//! every unlabelled non-superuser role is masked. Superusers are never masked (they can read the
//! key and switch anything off; masking them would be theatre).
//!
//! Decisions are cached per backend and dropped when pg_authid or pg_auth_members change (syscache
//! callbacks) or when a role label changes: the label hook sends a pg_authid invalidation for the
//! labelled role, which reaches every backend of every database (pg_authid is shared).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::pg_sys;
use privacy_core::label::{parse_role_label, RoleLabel};

use crate::catalog_scan::role_labels;
use crate::guc::MASKED_BY_DEFAULT;

/// Why a role is masked (for `privacy.masked_roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaskedBecause {
    Labelled,
    MemberOf(pg_sys::Oid),
    MaskedByDefault,
}

#[derive(Default)]
struct RoleCache {
    /// Role labels, loaded once per cache generation.
    labels: Option<Rc<HashMap<pg_sys::Oid, RoleLabel>>>,
    decisions: HashMap<pg_sys::Oid, Option<MaskedBecause>>,
    /// The masked_by_default value the decisions were made under.
    by_default: bool,
    /// Bumped by every reset, so a decision computed across an invalidation is not stored.
    generation: u64,
}

thread_local! {
    static CACHE: RefCell<RoleCache> = RefCell::new(RoleCache::default());
    /// The last decision, (role, masked_by_default, masked): the common case asks about the same
    /// role many times per statement (hooks, keyed-function checks), so it skips the map.
    static LAST: std::cell::Cell<Option<(pg_sys::Oid, bool, bool)>> = const { std::cell::Cell::new(None) };
}

/// Drops every cached decision (invalidation callbacks, label changes).
pub fn reset() {
    LAST.with(|l| l.set(None));
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let generation = cache.generation + 1;
        *cache = RoleCache { generation, ..RoleCache::default() };
    });
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn on_role_change(_arg: pg_sys::Datum, _cacheid: i32, _hash: u32) {
    reset();
    // Purposes allowed through role membership change with it.
    crate::consent::reset();
    // Plans made for a role depend on its masked status, which a membership or label change can
    // flip without changing the role's OID: drop cached plans (PostgreSQL's plan cache does not
    // watch pg_authid itself).
    // SAFETY: ResetPlanCache only marks cached plans invalid; safe inside an invalidation callback.
    unsafe { pg_sys::ResetPlanCache() };
}

pub fn init() {
    // SAFETY: registering syscache callbacks during library load, with valid cache ids and an
    // `extern "C-unwind"` function of the expected signature that lives as long as the library.
    unsafe {
        for cache in [pg_sys::SysCacheIdentifier::AUTHOID, pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM] {
            pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(on_role_change), pg_sys::Datum::from(0));
        }
    }
}

fn load_labels() -> HashMap<pg_sys::Oid, RoleLabel> {
    role_labels()
        .into_iter()
        .filter_map(|(role, label)| parse_role_label(&label).ok().map(|l| (role, l)))
        .collect()
}

fn decide(role: pg_sys::Oid, labels: &HashMap<pg_sys::Oid, RoleLabel>, by_default: bool) -> Option<MaskedBecause> {
    // SAFETY: catalog lookups on a role OID; both functions handle unknown roles.
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
    if by_default {
        return Some(MaskedBecause::MaskedByDefault);
    }
    None
}

/// Why `role` is masked, or None if it is not.
///
/// No RefCell borrow is held while catalogs are read: reading them can process invalidation
/// messages, whose callbacks reset this cache.
pub fn masked_because(role: pg_sys::Oid) -> Option<MaskedBecause> {
    let by_default = MASKED_BY_DEFAULT.get();
    let (cached, labels, generation) = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.by_default != by_default {
            cache.decisions.clear();
            cache.by_default = by_default;
        }
        (cache.decisions.get(&role).cloned(), cache.labels.clone(), cache.generation)
    });
    if let Some(decision) = cached {
        return decision;
    }
    let labels = match labels {
        Some(l) => l,
        None => {
            let l = Rc::new(load_labels());
            CACHE.with(|c| {
                let mut cache = c.borrow_mut();
                if cache.generation == generation {
                    cache.labels = Some(l.clone());
                }
            });
            l
        }
    };
    let decision = decide(role, &labels, by_default);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.generation == generation && cache.by_default == by_default {
            cache.decisions.insert(role, decision.clone());
        }
    });
    decision
}

pub fn is_masked(role: pg_sys::Oid) -> bool {
    let by_default = MASKED_BY_DEFAULT.get();
    if let Some((last_role, last_default, masked)) = LAST.with(|l| l.get()) {
        if last_role == role && last_default == by_default {
            return masked;
        }
    }
    let generation = CACHE.with(|c| c.borrow().generation);
    let masked = masked_because(role).is_some();
    // Only remember a decision no invalidation arrived during.
    if CACHE.with(|c| c.borrow().generation) == generation {
        LAST.with(|l| l.set(Some((role, by_default, masked))));
    }
    masked
}

/// Whether the current user (current_user) is masked.
pub fn current_user_masked() -> bool {
    // SAFETY: GetUserId reads a backend global.
    is_masked(unsafe { pg_sys::GetUserId() })
}

/// Refuses a session whose login role is masked acting as an unmasked role (SET ROLE,
/// set_config('role'), ...). SECURITY DEFINER functions change the current user but not the
/// outer user, so they are not affected (documented limit: they run as their owner).
pub fn check_role_switch() {
    // SAFETY: reads backend globals.
    let (login, outer) = unsafe { (pg_sys::GetSessionUserId(), pg_sys::GetOuterUserId()) };
    if login != outer && is_masked(login) && !is_masked(outer) {
        refuse_switch(login, outer);
    }
}

/// Raises the error for a masked login trying to act as `target`.
pub fn refuse_switch(login: pg_sys::Oid, target: pg_sys::Oid) -> ! {
    crate::errors::raise(
        pgrx::pg_sys::errcodes::PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!(
            "role \"{}\" is masked and cannot act as unmasked role \"{}\"",
            role_name(login),
            role_name(target)
        ),
        "A session that logged in as a masked role stays masked. Log in as the other role instead.",
    )
}

pub fn role_name(role: pg_sys::Oid) -> String {
    // SAFETY: GetUserNameFromId with noerr=true returns NULL for an unknown role.
    unsafe {
        let p = pg_sys::GetUserNameFromId(role, true);
        if p.is_null() {
            format!("{}", role.to_u32())
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}
