//! SQL face of the role decisions: `privacy.masked_role_list()` behind the `privacy.masked_roles`
//! view, computed by the same code the enforcement uses, so the view cannot disagree with it.

use pgrx::prelude::*;

use crate::catalog_scan::scan_catalog;
use crate::roles::{masked_because, role_name, MaskedBecause};

/// Every masked role and why it is masked.
#[pg_extern(stable, parallel_safe)]
fn masked_role_list() -> TableIterator<'static, (name!(role, String), name!(reason, String))> {
    let mut roles = Vec::new();
    // pg_authid: oid (1), rolname (2)
    scan_catalog(pg_sys::AuthIdRelationId, None, |row| roles.push(row.oid(1)));
    let mut out: Vec<(String, String)> = roles
        .into_iter()
        .filter_map(|role| {
            masked_because(role).map(|why| {
                let reason = match why {
                    MaskedBecause::Labelled => "labelled MASKED".to_owned(),
                    MaskedBecause::MemberOf(group) => format!("member of masked role {}", role_name(group)),
                    MaskedBecause::MaskedByDefault => "privacy.masked_by_default is on".to_owned(),
                };
                (role_name(role), reason)
            })
        })
        .filter(|(name, _)| !name.starts_with("pg_"))
        .collect();
    out.sort();
    TableIterator::new(out)
}

// A named anchor for the catalog view that selects from this function.
extension_sql!("-- privacy.masked_role_list() is defined above\n", name = "masked_role_list_sql", requires = [masked_role_list]);
