//! The `privacy` security-label provider: every label is validated here before PostgreSQL stores
//! it, and a bad one is refused with an error (the old label stays, since the command fails).
//!
//! | object | label | who may set it |
//! |---|---|---|
//! | column | `MASKED WITH FUNCTION expr` / `MASKED WITH VALUE const` | privacy admins (and, on a Citus shard, anyone copying its table's rule: see [`copies_table_rule`]) |
//! | role | `MASKED` / `UNMASKED` | privacy admins |
//! | function | `TRUSTED` | privacy admins |
//! | schema | `TRUSTED` | superusers (its functions run inside every masked query) |
//!
//! PostgreSQL's own rule applies first: one must own the labelled object (or have CREATEROLE for
//! roles). Each accepted change tells every backend: column and schema labels send a relcache
//! reset, role labels a pg_authid invalidation (shared, so every database hears it), function
//! labels a pg_proc invalidation. A column's first rule also puts the row-security guards on its
//! table (`crate::guards`), inside the same command, so a failure leaves nothing half-applied.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use privacy_core::label::{parse_column_label, parse_function_label, parse_role_label, parse_schema_label};

use crate::admin::require_admin;
use crate::pg::catalog;
use crate::pg::errors::{or_raise, raise, refuse};

pub fn init() {
    // SAFETY: registering the provider during library load; the callback lives as long as the
    // library and has the signature PostgreSQL expects.
    unsafe { pg_sys::register_label_provider(c"privacy".as_ptr(), Some(check_label)) };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn check_label(object: *const pg_sys::ObjectAddress, seclabel: *const std::ffi::c_char) {
    // SAFETY: PostgreSQL passes a valid object address and a NUL-terminated label or NULL.
    let (object, label) = unsafe {
        (*object, if seclabel.is_null() { None } else { Some(CStr::from_ptr(seclabel).to_string_lossy().into_owned()) })
    };
    match object.classId {
        c if c == pg_sys::RelationRelationId => column_label(object, label.as_deref()),
        c if c == pg_sys::AuthIdRelationId => {
            require_admin("set or remove privacy labels");
            if let Some(l) = &label {
                or_raise(parse_role_label(l));
            }
            invalidate_syscache_row(pg_sys::AuthIdRelationId, pg_sys::SysCacheIdentifier::AUTHOID, object.objectId);
        }
        c if c == pg_sys::ProcedureRelationId => {
            require_admin("mark functions TRUSTED");
            require_extension();
            if let Some(l) = &label {
                or_raise(parse_function_label(l));
            }
            invalidate_syscache_row(pg_sys::ProcedureRelationId, pg_sys::SysCacheIdentifier::PROCOID, object.objectId);
        }
        c if c == pg_sys::NamespaceRelationId => {
            // SAFETY: reads a backend global.
            if !unsafe { pg_sys::superuser() } {
                refuse(
                    "only superusers can mark a schema TRUSTED for masking rules",
                    "Functions in a trusted schema run inside every masked query: trust only schemas you control.",
                );
            }
            if let Some(l) = &label {
                or_raise(parse_schema_label(l));
            }
            // SAFETY: queues an invalidation message sent at commit.
            unsafe { pg_sys::CacheInvalidateRelcacheAll() };
        }
        _ => raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "privacy labels can be set on columns, roles, functions and schemas only",
            "Label a table's columns with MASKED WITH ..., a role with MASKED or UNMASKED, a function or schema with TRUSTED.",
        ),
    }
}

fn require_extension() {
    if catalog::extension_schema().is_none() {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "pg_privacy is not installed in this database",
            "Run CREATE EXTENSION pg_privacy first.",
        );
    }
}

fn column_label(object: pg_sys::ObjectAddress, label: Option<&str>) {
    let relid = object.objectId;
    if !copies_table_rule(relid, object.objectSubId as i16, label) {
        require_admin("set or remove privacy labels");
    }
    require_extension();
    if object.objectSubId <= 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            "privacy labels go on columns, not on whole tables",
            "Use SECURITY LABEL FOR privacy ON COLUMN schema.table.column IS 'MASKED WITH ...'.",
        );
    }
    if !matches!(catalog::relkind(relid), pg_sys::RELKIND_RELATION | pg_sys::RELKIND_PARTITIONED_TABLE | pg_sys::RELKIND_FOREIGN_TABLE) {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("masking rules go on table columns; \"{}\" is not a table", catalog::relation_name(relid)),
            "Label the column of the table the view or materialized view reads from: the rule applies through every view.",
        );
    }
    if let Some(label) = label {
        let rule = or_raise(parse_column_label(label));
        // Compile now: syntax, types, trust. An error here rejects the label.
        super::rules::validate(relid, object.objectSubId as i16, &rule);
        crate::guards::protect(relid, crate::guards::Reason::Masking);
    }
    // Every backend recompiles its rules from its next statement; cached plans are dropped too.
    // SAFETY: queues an invalidation message sent at commit.
    unsafe { pg_sys::CacheInvalidateRelcacheAll() };
}

/// Whether the label puts on a Citus shard's column exactly the rule its table already has on the
/// column of the same name. Citus copies a table's labels when it creates a shard, and when it
/// moves or copies one it does so as the table's owner, who need not be a privacy admin; such a
/// copy changes no policy (the shard is masked with its table's rule either way), so it is let
/// through. Anything else on a shard, including removing a label, needs a privacy admin.
fn copies_table_rule(relid: pg_sys::Oid, attno: i16, label: Option<&str>) -> bool {
    let (Some(label), Some(table)) = (label, crate::pg::citus::shard_of(relid)) else { return false };
    let Some(column) = catalog::attribute_name(relid, attno) else { return false };
    catalog::column_labels_of(table)
        .into_iter()
        .any(|(a, rule)| rule == label && catalog::attribute_name(table, a).as_deref() == Some(column.as_str()))
}

/// Sends an invalidation for one row of a syscache'd catalog (pg_authid is shared, so backends
/// of every database hear it).
fn invalidate_syscache_row(catalog_id: pg_sys::Oid, cache: pg_sys::SysCacheIdentifier::Type, oid: pg_sys::Oid) {
    // SAFETY: syscache lookup and release; CacheInvalidateHeapTuple queues a message for commit.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(cache as i32, pg_sys::Datum::from(oid));
        if tuple.is_null() {
            return;
        }
        let rel = pg_sys::table_open(catalog_id, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        pg_sys::CacheInvalidateHeapTuple(rel, tuple, std::ptr::null_mut());
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        pg_sys::ReleaseSysCache(tuple);
    }
}
