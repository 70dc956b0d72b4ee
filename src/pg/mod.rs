//! PostgreSQL helpers every concern shares: named catalog OIDs and catalog reads ([`catalog`]),
//! Citus's metadata when Citus is there ([`citus`]),
//! query-tree walkers and node builders ([`nodes`]), error reporting ([`errors`]), the one owner of
//! cache invalidation and its cache types ([`cache`]), writing rows without a statement
//! ([`rows`]), `jsonb` built from Rust values ([`jsonb`]), per-backend statics ([`local`]), how a
//! governed backend's heap is settled ([`heap`]), the raw entry points the hooks pass
//! statements on to ([`ffi`]) and the differences between PostgreSQL versions ([`version`]).
//!
//! Nothing here knows about masking or consent; the concern modules build on it.

#[macro_use]
pub mod local;
pub mod cache;
pub mod catalog;
pub mod citus;
pub mod copy;
pub mod errors;
#[macro_use]
pub mod ffi;
pub mod heap;
pub mod marker;
pub mod jsonb;
pub mod nodes;
pub mod rows;
pub mod version;
