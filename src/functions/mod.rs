//! The `privacy.*` masking function library: SQL wrappers over `privacy_core`'s algorithms.
//! [`masking`] holds the functions without a key, [`keyed`] the keyed ones and the variants
//! masking rules call.

pub mod keyed;
pub mod masking;
