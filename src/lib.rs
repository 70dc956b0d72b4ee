//! pg_privacy: customer-data policies enforced inside PostgreSQL.
//!
//! Module map (each module's header says what it owns):
//! - [`errors`]: turns the pure core's errors into `ereport`s with SQLSTATE and hint;
//! - [`keys`]: the per-database secret key behind keyed hashing and pseudonyms;
//! - [`masking_functions`]: the `privacy.*` masking function library (SQL wrappers over
//!   `privacy_core`, the plain-Rust crate in `src/core/`);
//! - [`schema`]: the extension's own SQL objects (schema privileges, key table).
//!
//! Later capabilities slot in beside these without a reshuffle: the policy catalog and label
//! provider, the enforcement hooks, consent and the pseudonym type each get a module and a line
//! in [`_PG_init`].

use pgrx::prelude::*;

mod catalog_scan;
mod consent;
mod consent_registry;
mod enforcement;
mod errors;
mod guc;
mod keys;
mod masking_functions;
mod policy_catalog;
mod pseudonym_type;
mod roles;
mod roles_sql;
mod row_security;
mod schema;
mod tree;

/// Name of our security label provider.
pub const PROVIDER: &str = "privacy";

::pgrx::pg_module_magic!();

/// Whether this backend loaded the library through `shared_preload_libraries`. Enforcement code
/// (next issues) refuses to run policies in a backend where it could not install its hooks.
static mut LOADED_AT_PRELOAD: bool = false;

/// True if the library was preloaded into this backend (see [`LOADED_AT_PRELOAD`]).
pub fn loaded_at_preload() -> bool {
    // SAFETY: written once in _PG_init before any query runs; backends are single-threaded.
    unsafe { LOADED_AT_PRELOAD }
}

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // SAFETY: reading a PostgreSQL global flag during library load, on the backend's only thread.
    unsafe {
        LOADED_AT_PRELOAD = pg_sys::process_shared_preload_libraries_in_progress;
    }
    guc::init();
    keys::init();
    roles::init();
    policy_catalog::init();
    enforcement::init();
    consent::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod in_backend_tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'pg_privacy'"]
    }
}
