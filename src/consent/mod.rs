//! Consent-aware row filters: rows of data subjects who have not consented to the purpose a
//! session acts for are invisible to it.
//!
//! Flow: `privacy.grant_consent('42', 'marketing')` records an event in the [`registry`] (whose
//! trigger updates the current state under every typed reading of the id) → a session governed
//! by a role allowed `marketing` ([`purpose`]) reads a subject table → [`filter`] adds the
//! condition "subject 42 has active consent for marketing" to every read of that table, as a
//! row-security policy and, where row security cannot see, at planning → the row of subject 42 is
//! visible from the next statement after the grant commits. [`utility`] closes what a filter
//! cannot: counters, TRUNCATE, materialized copies. [`ledger`] makes the history tamper-evident.

pub mod filter;
pub mod ledger;
pub mod purpose;
pub mod record;
pub mod registry;
pub mod utility;

pub fn init() {
    crate::guc::set_purpose_hooks(purpose::check_purpose_value, purpose::purpose_assigned);
    crate::context::register_governed(purpose::is_filtered_role);
    record::init();
}
