//! pg_privacy: customer-data policies enforced inside PostgreSQL.
//!
//! The tree shows the architecture (docs/ARCHITECTURE.md is the map):
//! - [`hooks`]: every PostgreSQL hook, dispatch only;
//! - [`masking`]: masking rules (labels, compiled rules, query rewriting, roles, side channels);
//! - [`consent`]: consent-aware row filters (purposes, the registry, the filter);
//! - [`pseudonym`]: the `privacy.pseudonym` type;
//! - [`rights`]: data-subject rights (access, erasure, retention, consent receipts);
//! - [`functions`]: the masking function library;
//! - [`context`]: who governs what runs now (login, current user, code owners, trusted functions);
//! - [`guards`]: the row-security guards protected and subject tables rely on;
//! - [`distributed`]: what holds on Citus tables (shards masked where they are read);
//! - [`keys`], [`admin`], [`guc`]: the key, the admin check, the settings;
//! - [`pg`]: PostgreSQL helpers, including the one owner of cache invalidation;
//! - `crates/privacy_core`: the algorithms and grammars, pure Rust with `unsafe` forbidden.

use pgrx::prelude::*;

#[macro_use]
mod pg;
mod admin;
mod consent;
mod context;
mod distributed;
mod functions;
mod guards;
mod guc;
mod hooks;
mod keys;
mod masking;
mod pseudonym;
mod rights;
mod tools;

/// Name of our security label provider.
pub const PROVIDER: &str = "privacy";

::pgrx::pg_module_magic!();

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guards::init();
    guc::init();
    pg::cache::init();
    context::init();
    masking::init();
    consent::init();
    hooks::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'pg_privacy'"]
    }
}
