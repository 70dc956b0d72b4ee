//! Governance tools a DBA reaches for beside the enforcement: checking a role's access before a
//! user finds its holes ([`preview`]), finding personal data nobody mapped ([`discover`]) and
//! anonymizing a staging copy ([`anonymize`]). They reuse the enforcement's own decisions (rules,
//! role labels, consent filters, the anonymizing scope), so what they report or store cannot
//! disagree with what queries get.

pub mod anonymize;
pub mod discover;
pub mod preview;
pub mod policy;
