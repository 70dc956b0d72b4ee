//! Policy as code: `privacy.export_policy()` and `privacy.apply_policy(policy, dry_run)`.
//!
//! The document model, its checks and the difference between two documents are pure
//! (`privacy_core::policy`). This module reads the database's current policy from the catalogs
//! and pg_privacy's tables, and applies a difference with PostgreSQL's own statements:
//! `SECURITY LABEL` for rules and labels (so every rule is validated exactly as when a DBA writes
//! it) and the extension's SQL API for purposes, subject tables and allowed purposes. Identifiers
//! are quoted by PostgreSQL (`quote_identifier`), literals by `quote_literal`, other values are
//! parameters; everything runs with the caller's rights, in the caller's transaction, so an
//! error anywhere leaves the database as it was.

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;
use privacy_core::policy::{diff, AllowedPurpose, Change, MaskingRule, Policy, Purpose, RoleLabelEntry, SubjectTable, FORMAT, VERSION};

use crate::pg::catalog::{quote_ident, quote_literal};
use crate::pg::errors::{or_raise, raise};

fn spi_failed(what: &str, e: pgrx::spi::SpiError) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("could not {what}: {e}"), "Check that you are a privacy admin and can read the catalogs.")
}

/// Rows of a catalog query as strings (NULL as None).
fn rows(query: &str, width: usize) -> Vec<Vec<Option<String>>> {
    Spi::connect(|client| {
        let mut out = Vec::new();
        for row in client.select(query, None, &[])? {
            let mut r = Vec::with_capacity(width);
            for i in 1..=width {
                r.push(row.get::<String>(i)?);
            }
            out.push(r);
        }
        Ok::<_, pgrx::spi::SpiError>(out)
    })
    .unwrap_or_else(|e| spi_failed("read the current policy", e))
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The database's policy as a document.
fn current_policy() -> Policy {
    let mut p = Policy { format: FORMAT.to_owned(), version: VERSION, ..Policy::default() };
    for r in rows(
        "SELECT c.oid::text, n.nspname::text, c.relname::text, a.attname::text, l.label \
         FROM pg_catalog.pg_seclabel l \
         JOIN pg_catalog.pg_class c ON c.oid = l.objoid \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = l.objsubid \
         WHERE l.provider = 'privacy' AND l.classoid = 'pg_catalog.pg_class'::regclass AND l.objsubid > 0",
        5,
    ) {
        let relid = s(&r[0]).parse::<u32>().map(pg_sys::Oid::from).unwrap_or(pg_sys::InvalidOid);
        // Citus keeps copies of the labels on shards; the policy is the table's.
        if crate::pg::citus::shard_of(relid).is_some() {
            continue;
        }
        p.masking_rules.push(MaskingRule { schema: s(&r[1]), table: s(&r[2]), column: s(&r[3]), rule: s(&r[4]) });
    }
    for r in rows(
        "SELECT r.rolname::text, l.label FROM pg_catalog.pg_shseclabel l JOIN pg_catalog.pg_roles r ON r.oid = l.objoid \
         WHERE l.provider = 'privacy' AND l.classoid = 'pg_catalog.pg_authid'::regclass",
        2,
    ) {
        p.role_labels.push(RoleLabelEntry { role: s(&r[0]), label: s(&r[1]) });
    }
    for r in rows(
        "SELECT n.nspname::text FROM pg_catalog.pg_seclabel l JOIN pg_catalog.pg_namespace n ON n.oid = l.objoid \
         WHERE l.provider = 'privacy' AND l.classoid = 'pg_catalog.pg_namespace'::regclass",
        1,
    ) {
        p.trusted_schemas.push(s(&r[0]));
    }
    for r in rows(
        "SELECT l.objoid::pg_catalog.regprocedure::text FROM pg_catalog.pg_seclabel l \
         WHERE l.provider = 'privacy' AND l.classoid = 'pg_catalog.pg_proc'::regclass",
        1,
    ) {
        p.trusted_functions.push(s(&r[0]));
    }
    for r in rows("SELECT name, requires_consent::text, description, retention::text FROM privacy.purpose", 4) {
        p.purposes.push(Purpose { name: s(&r[0]), requires_consent: s(&r[1]) == "true", description: r[2].clone(), retention: r[3].clone() });
    }
    for r in rows(
        "SELECT n.nspname::text, c.relname::text, t.subject_column::text FROM privacy.subject_table t \
         JOIN pg_catalog.pg_class c ON c.oid = t.relation JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
        3,
    ) {
        p.subject_tables.push(SubjectTable { schema: s(&r[0]), table: s(&r[1]), column: s(&r[2]) });
    }
    for r in rows("SELECT r.rolname::text, p.purpose FROM privacy.role_purpose p JOIN pg_catalog.pg_roles r ON r.oid = p.role", 2) {
        p.allowed_purposes.push(AllowedPurpose { role: s(&r[0]), purpose: s(&r[1]) });
    }
    p.normalize();
    p
}

/// `privacy.export_policy_text()`: the database's policy document (behind `privacy.export_policy`).
#[pg_extern(stable, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn export_policy_text() -> String {
    crate::admin::require_admin("export the policy");
    current_policy().to_json()
}

fn run(text: &str, args: &[pgrx::datum::DatumWithOid]) {
    if let Err(e) = Spi::connect_mut(|client| client.update(text, None, args).map(|_| ())) {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("could not apply the policy: {e}"), "Nothing was changed.");
    }
}

fn column_target(r: &MaskingRule) -> String {
    format!("{}.{}.{}", quote_ident(&r.schema), quote_ident(&r.table), quote_ident(&r.column))
}

/// Applies one change with PostgreSQL's statements (see the module comment).
fn apply(change: &Change) {
    use pgrx::datum::DatumWithOid as A;
    match change {
        Change::SetRule(r) => run(&format!("SECURITY LABEL FOR privacy ON COLUMN {} IS {}", column_target(r), quote_literal(&r.rule)), &[]),
        Change::DropRule(r) => run(&format!("SECURITY LABEL FOR privacy ON COLUMN {} IS NULL", column_target(r)), &[]),
        Change::SetRoleLabel(l) => run(&format!("SECURITY LABEL FOR privacy ON ROLE {} IS {}", quote_ident(&l.role), quote_literal(&l.label)), &[]),
        Change::DropRoleLabel(l) => run(&format!("SECURITY LABEL FOR privacy ON ROLE {} IS NULL", quote_ident(&l.role)), &[]),
        Change::TrustSchema(n) => run(&format!("SECURITY LABEL FOR privacy ON SCHEMA {} IS 'TRUSTED'", quote_ident(n)), &[]),
        Change::UntrustSchema(n) => run(&format!("SECURITY LABEL FOR privacy ON SCHEMA {} IS NULL", quote_ident(n)), &[]),
        Change::TrustFunction(f) | Change::UntrustFunction(f) => {
            // The signature is resolved by PostgreSQL; its own rendering names the function.
            let resolved = Spi::get_one_with_args::<String>("SELECT $1::pg_catalog.regprocedure::text", &[A::from(f.as_str())])
                .unwrap_or_else(|e| spi_failed(&format!("find function {f}"), e))
                .unwrap_or_default();
            let value = if matches!(change, Change::TrustFunction(_)) { "'TRUSTED'" } else { "NULL" };
            run(&format!("SECURITY LABEL FOR privacy ON FUNCTION {resolved} IS {value}"), &[]);
        }
        Change::CreatePurpose(p) => run(
            "SELECT privacy.create_purpose($1, $2, $3, $4::interval)",
            &[A::from(p.name.as_str()), A::from(p.requires_consent), A::from(p.description.clone()), A::from(p.retention.clone())],
        ),
        Change::ChangePurpose { old, new } => {
            if (old.requires_consent, &old.description) != (new.requires_consent, &new.description) {
                run(
                    "UPDATE privacy.purpose SET requires_consent = $2, description = $3 WHERE name = $1",
                    &[A::from(new.name.as_str()), A::from(new.requires_consent), A::from(new.description.clone())],
                );
            }
            if old.retention != new.retention {
                run("SELECT privacy.set_retention($1, $2::interval)", &[A::from(new.name.as_str()), A::from(new.retention.clone())]);
            }
        }
        Change::SetSubject(t) => run(
            "SELECT privacy.set_subject(pg_catalog.format('%I.%I', $1, $2)::regclass, $3)",
            &[A::from(t.schema.as_str()), A::from(t.table.as_str()), A::from(t.column.as_str())],
        ),
        Change::Allow(a) => run("SELECT privacy.allow_purpose($1, $2)", &[A::from(a.role.as_str()), A::from(a.purpose.as_str())]),
        Change::Disallow(a) => run("SELECT privacy.disallow_purpose($1, $2)", &[A::from(a.role.as_str()), A::from(a.purpose.as_str())]),
        Change::KeepPurpose(_) | Change::KeepSubject(_) => {}
    }
}

/// `privacy.apply_policy_text(policy, dry_run)`: the rows behind `privacy.apply_policy`.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
#[allow(clippy::type_complexity)]
fn apply_policy_text(
    policy: &str,
    dry_run: bool,
) -> TableIterator<'static, (name!(action, String), name!(object_type, String), name!(object, String), name!(value, Option<String>))> {
    crate::admin::require_admin("apply a policy");
    let mut desired = or_raise(Policy::parse(policy));
    // Retention as PostgreSQL spells it under the wrapper's IntervalStyle (ISO 8601), so that
    // "2 years" and "P2Y" are the same retention.
    for p in desired.purposes.iter_mut() {
        if let Some(r) = &p.retention {
            let canonical = Spi::get_one_with_args::<String>("SELECT $1::interval::text", &[pgrx::datum::DatumWithOid::from(r.as_str())])
                .unwrap_or_else(|e| spi_failed(&format!("read retention {r:?} of purpose {}", p.name), e));
            p.retention = canonical;
        }
    }
    // Trusted functions as PostgreSQL renders their signatures (as the export writes them), so
    // that another spelling of a trusted function is that function, not a new one beside an old
    // one to remove.
    for f in desired.trusted_functions.iter_mut() {
        let resolved = Spi::get_one_with_args::<String>("SELECT $1::pg_catalog.regprocedure::text", &[pgrx::datum::DatumWithOid::from(f.as_str())])
            .unwrap_or_else(|e| spi_failed(&format!("find function {f}"), e));
        if let Some(r) = resolved {
            *f = r;
        }
    }
    desired.normalize();
    let changes = diff(&current_policy(), &desired);
    if !dry_run {
        for change in &changes {
            apply(change);
        }
    }
    TableIterator::new(changes.iter().map(|c| {
        let (action, kind, object, value) = c.describe();
        (action.to_owned(), kind.to_owned(), object, value)
    }).collect::<Vec<_>>())
}

extension_sql!(
    r#"
-- IntervalStyle is pinned too: retention is written and compared as ISO 8601 (P2Y), whatever
-- the session's style.
CREATE FUNCTION privacy.export_policy() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET intervalstyle = 'iso_8601'
AS $$ SELECT privacy.export_policy_text()::jsonb $$;

CREATE FUNCTION privacy.apply_policy(policy jsonb, dry_run boolean DEFAULT true)
RETURNS TABLE (action text, object_type text, object text, value text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp SET intervalstyle = 'iso_8601'
AS $$ SELECT * FROM privacy.apply_policy_text(policy::text, dry_run) $$;
"#,
    name = "policy_as_code",
    requires = [export_policy_text, apply_policy_text]
);
