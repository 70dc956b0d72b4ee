//! `privacy.preview_access(role, relation, purpose)`: what a role would see of a table, column by
//! column, and which consent filter would apply, computed by the same decisions enforcement uses
//! (`masking::roles`, `masking::rules::resolve`, `consent::purpose`), so a DBA checks a policy
//! before a user finds its holes.

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::consent::purpose::allowed_purposes;
use crate::consent::registry::{registry, KeyKind};
use crate::masking::roles::is_masked;
use crate::masking::rules::resolve;
use crate::pg::catalog::{self, qualified_name, quote_ident};
use crate::pg::errors::raise;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;

/// The filter a role acting for `purpose` (or for its only allowed purpose) gets on a subject
/// table: (description, purpose whose consent is required). `Some(None)` = no rows.
fn preview_filter(role: pg_sys::Oid, purpose: Option<&str>) -> (String, Option<Option<String>>) {
    // SAFETY: catalog lookup on a role OID.
    let superuser = unsafe { pg_sys::superuser_arg(role) };
    let allowed = allowed_purposes(role);
    if superuser {
        return ("none: superusers are not filtered by consent".to_owned(), None);
    }
    if allowed.is_empty() {
        return ("none: the role is not filtered by consent (no purpose allowed to it)".to_owned(), None);
    }
    let chosen = match purpose {
        Some(p) if !allowed.iter().any(|a| a == p) => {
            return (
                format!("refused: the role may not act for purpose \"{p}\" (allowed: {})", allowed.join(", ")),
                Some(None),
            )
        }
        Some(p) => p.to_owned(),
        None if allowed.len() == 1 => allowed[0].clone(),
        None => {
            return (
                format!("no rows until the session sets privacy.purpose (allowed: {})", allowed.join(", ")),
                Some(None),
            )
        }
    };
    match registry().purposes.get(&chosen) {
        Some(true) => (format!("rows of subjects with active consent for \"{chosen}\""), Some(Some(chosen))),
        _ => (format!("none: purpose \"{chosen}\" does not require consent"), None),
    }
}

/// Rows of `relid` whose subjects have active consent for `purpose` (as the caller counts them).
fn consenting_rows(relid: pg_sys::Oid, column: &str, kind: KeyKind, purpose: &str) -> i64 {
    let cast = match kind {
        KeyKind::Bigint => "bigint",
        KeyKind::Uuid => "uuid",
        KeyKind::Text => "text",
        KeyKind::Pseudonym => "bytea",
    };
    // The statement names the table and column from the catalog, quoted by PostgreSQL, and runs
    // with the caller's (a privacy admin's) rights; the purpose is a parameter.
    let text = format!(
        "SELECT count(*) FROM {} r WHERE EXISTS (SELECT 1 FROM privacy.{} c WHERE c.purpose = $1 \
         AND c.subject = (r.{})::{cast} AND c.active_until > pg_catalog.statement_timestamp())",
        qualified_name(relid),
        kind.state_table().to_string_lossy(),
        quote_ident(column)
    );
    count(&text, &[pgrx::datum::DatumWithOid::from(purpose)])
}

/// Whether the rows can be counted without running code the table's owner wrote with the
/// caller's rights: the count reads the table as the caller, so it is skipped when row-security
/// policies would apply to the caller (their expressions would run as the caller) and when the
/// count would read a foreign table: the table itself or any partition or child of it, which
/// the count reads too (their wrapper reads a remote source, with the caller's user mapping).
/// Row security of partitions and children does not apply when they are read through the table.
fn countable(relation: pg_sys::Oid, kind: u8) -> bool {
    // SAFETY: check_enable_rls with noError reports, for the current user, whether row security
    // applies to the relation (utils/misc/rls.c); it raises nothing with noError = true.
    let rls = unsafe { pg_sys::check_enable_rls(relation, pg_sys::InvalidOid, true) };
    if kind == pg_sys::RELKIND_FOREIGN_TABLE || rls == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32 {
        return false;
    }
    // The partitions and children found here must be the ones the count reads: each table is
    // locked before its children are read (as PostgreSQL's find_all_inheritors does), with a
    // lock that attaching, detaching or adding a partition or child under it takes too, so the
    // tree does not change until the transaction ends.
    let lock = |relid: pg_sys::Oid| {
        // SAFETY: a lock on a relation OID, released at transaction end.
        unsafe { pg_sys::LockRelationOid(relid, pg_sys::ShareUpdateExclusiveLock as pg_sys::LOCKMODE) }
    };
    lock(relation);
    let mut queue = vec![relation];
    while let Some(parent) = queue.pop() {
        for child in catalog::children_of(parent) {
            lock(child);
            if catalog::relkind(child) == pg_sys::RELKIND_FOREIGN_TABLE {
                return false;
            }
            queue.push(child);
        }
    }
    true
}

fn count(text: &str, args: &[pgrx::datum::DatumWithOid]) -> i64 {
    match Spi::get_one_with_args::<i64>(text, args) {
        Ok(n) => n.unwrap_or(0),
        Err(e) => raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("could not count the rows: {e}"),
            "Check that you can read the table and the consent registry.",
        ),
    }
}

/// `privacy.preview_access_rows(role, relation, purpose)`: the rows behind `privacy.preview_access`.
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn preview_access_rows(
    role: pg_sys::Oid,
    relation: pg_sys::Oid,
    purpose: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(column_name, String),
        name!(sees, String),
        name!(rule, Option<String>),
        name!(row_filter, String),
        name!(visible_rows, Option<i64>),
    ),
> {
    crate::admin::require_admin("preview another role's access");
    let kind = catalog::relkind(relation);
    if ![pg_sys::RELKIND_RELATION, pg_sys::RELKIND_PARTITIONED_TABLE, pg_sys::RELKIND_MATVIEW, pg_sys::RELKIND_FOREIGN_TABLE]
        .contains(&kind)
    {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("{} is not a table", catalog::relation_name(relation)),
            "Preview the tables a view reads: masking and consent filters apply to them, as their owner's or the reader's.",
        );
    }
    let masked = is_masked(role);
    let derived = matches!(crate::masking::rules::protection_kind(relation, true), crate::masking::rules::ProtectionKind::DerivedMatview);
    let rules = resolve(relation, true);

    let reg = registry();
    // (description, rows counted under the filter; None = unfiltered, count them all)
    let (row_filter, filtered_rows): (String, Option<i64>) = match reg.subjects.get(&relation) {
        None => ("none: not a subject table".to_owned(), None),
        Some(subject) => {
            let (text, consent) = preview_filter(role, purpose);
            match (consent, subject.kind) {
                (None, _) => (text, None),
                (Some(None), _) => (text, Some(0)),
                // filtered sessions get an error, not rows
                (Some(Some(_)), None) => (format!("error: subject column {} cannot hold subject ids", subject.column), Some(0)),
                (Some(Some(p)), Some(kind)) => {
                    let n = if countable(relation, catalog::relkind(relation)) { consenting_rows(relation, &subject.column, kind, &p) } else { 0 };
                    (text, Some(n))
                }
            }
        }
    };
    let visible = if !countable(relation, kind) {
        None
    } else {
        Some(match filtered_rows {
            Some(n) => n,
            None => count(&format!("SELECT count(*) FROM {}", qualified_name(relation)), &[]),
        })
    };

    // Columns and the role's SELECT privilege on each, from the catalog.
    let columns: Vec<(i16, String, bool)> = Spi::connect(|client| {
        let args = [pgrx::datum::DatumWithOid::from(relation), pgrx::datum::DatumWithOid::from(role)];
        let rows = client.select(
            "SELECT a.attnum, a.attname::text, pg_catalog.has_column_privilege($2, $1, a.attnum, 'SELECT') \
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            None,
            &args,
        )?;
        let mut out = Vec::new();
        for row in rows {
            let attnum = row.get::<i16>(1)?.unwrap_or(0);
            let name = row.get::<String>(2)?.unwrap_or_default();
            let privilege = row.get::<bool>(3)?.unwrap_or(false);
            out.push((attnum, name, privilege));
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .unwrap_or_else(|e| {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("could not read the columns: {e}"), "Report this.")
    });

    let out: Vec<_> = columns
        .into_iter()
        .map(|(attno, name, privilege)| {
            let rule = rules.iter().find(|r| r.attno == attno).map(|r| r.text.clone());
            let sees = if !privilege {
                "no privilege"
            } else if masked && derived {
                "refused (materialized view derived from masked columns)"
            } else if masked && rule.is_some() {
                "masked"
            } else {
                "raw"
            };
            (name, sees.to_owned(), rule, row_filter.clone(), visible)
        })
        .collect();
    TableIterator::new(out)
}

extension_sql!(
    r#"
-- Admins preview consent filters by counting rows the way the filter finds them; they already
-- read the consent history (privacy.consent_event).
GRANT SELECT ON privacy.consent_bigint, privacy.consent_uuid, privacy.consent_text, privacy.consent_pseudonym TO privacy_admin;

CREATE FUNCTION privacy.preview_access(role regrole, relation regclass, purpose text DEFAULT NULL)
RETURNS TABLE (column_name text, sees text, rule text, row_filter text, visible_rows bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM privacy.preview_access_rows(role, relation, purpose) $$;
"#,
    name = "preview_access",
    requires = [preview_access_rows, "consent_tables"]
);
