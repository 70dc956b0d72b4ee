//! Masking: what masked roles see instead of a column's real values.
//!
//! Flow: `SECURITY LABEL ... IS 'MASKED WITH ...'` → [`labels`] validates it (compiling it with
//! [`rules`]) and puts the row-security guards on the table (`crate::guards`) → every backend's
//! rule cache is invalidated → when a statement governed by a masked role is planned, [`rewrite`]
//! replaces each reference to a masked column by its rule, [`utility`] covers statements that are
//! not planned (COPY, ownership, role switches), and [`side_channels`] keeps errors and keyed
//! functions from revealing what the rules hide.
//!
//! Who is masked is [`roles`]; who governs a statement is `crate::context`.

pub mod break_glass;
pub mod labels;
pub mod rewrite;
pub mod roles;
pub mod rules;
pub mod side_channels;
pub mod utility;

use pgrx::pg_sys;

pub fn init() {
    labels::init();
    break_glass::init();
    // Whether a role is governed at all follows its label, not an open break-glass window: the
    // ownership and role-switch checks built on it must hold after the window.
    crate::context::register_governed(roles::is_masked);
}

/// Whether any role governing what runs now is masked (functions' own checks use this).
pub fn masked_now() -> bool {
    if !roles::any_masked_role() {
        return false;
    }
    crate::context::any_governing(roles::masks_now)
}

/// Whether a statement governed by `roles` (the session's governing roles and the owners of code
/// it runs) is masked.
pub fn masked_for(roles: &[pg_sys::Oid]) -> bool {
    roles::any_masked_role() && roles.iter().any(|r| roles::masks_now(*r))
}
