//! `privacy.anonymize_table(relation, confirm_database)`: static anonymization for staging copies.
//! Rewrites every stored value of the table's masked columns with the column's masking rule,
//! table by table of its inheritance tree, in batches of pages, reusing erasure's anonymizing
//! scope (`crate::context::Scope::Anonymizing`): the statement `UPDATE ONLY t SET c = c` is masked
//! whoever runs it, so the rule's value is what gets stored. The statement names the table and
//! columns from the catalog, quoted by PostgreSQL, and runs as the table's owner in a
//! security-restricted operation (as CLUSTER and REFRESH MATERIALIZED VIEW run): the table's
//! triggers, checks and index expressions never run with the privacy admin's rights.
//!
//! What the caller may do is checked once, by `privacy.anonymize_prepare` after the plpgsql
//! function locked the tree: a table the caller may read and update whole (so an error's DETAIL,
//! built for the owner, shows nothing the caller could not `SELECT`), row security not hiding
//! rows of it from the caller, and no trigger or rule that could keep or copy the raw values. Only
//! trees prepared so in the current transaction, and still locked, can be rewritten by
//! `privacy.anonymize_pages`: a privacy admin calling it directly gets an error, not a rewrite
//! of a table it may not touch.

use pgrx::pg_sys;
use pgrx::pg_sys::errcodes::PgSqlErrorCode;
use pgrx::prelude::*;

use std::cell::RefCell;

use crate::context::{self, Scope};
use crate::masking::rules::{resolve, Applies};
use crate::pg::catalog::{self, qualified_name, quote_ident};
use crate::pg::errors::raise;

/// `privacy.anonymizable_columns(relation)`: masked columns of one table the rewrite can store
/// (rules for all its reads; not generated, not GENERATED ALWAYS identity), in column order. The
/// one list both `anonymize_pages` and `privacy.anonymize_table`'s report use.
#[pg_extern(stable, parallel_safe, name = "anonymizable_columns")]
fn rewritable_columns(relid: pg_sys::Oid) -> Vec<String> {
    let mut rules = resolve(relid, false);
    rules.sort_by_key(|r| r.attno);
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.applies == Applies::Always) {
        // SAFETY: syscache lookups of one attribute, read and released before returning.
        let (generated, identity) = unsafe {
            let tuple = pg_sys::SearchSysCache2(
                pg_sys::SysCacheIdentifier::ATTNUM as i32,
                pg_sys::Datum::from(relid),
                pg_sys::Datum::from(r.attno),
            );
            if tuple.is_null() {
                continue;
            }
            let attr = pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_attribute>(tuple);
            let v = ((*attr).attgenerated as u8, (*attr).attidentity as u8);
            pg_sys::ReleaseSysCache(tuple);
            v
        };
        if generated == 0 && identity != b'a' {
            out.push(r.column.clone());
        }
    }
    out
}

backend_local! {
    /// The tables `privacy.anonymize_prepare` checked in the current transaction (their trees may
    /// be rewritten); emptied at its end.
    static PREPARED: RefCell<Vec<pg_sys::Oid>> = const { RefCell::new(Vec::new()) };
}

/// At the end of every transaction (from `hooks::xact_callback`).
#[inline]
pub fn on_xact() {
    PREPARED.with(|p| {
        if !p.borrow().is_empty() {
            p.borrow_mut().clear();
        }
    });
}

/// A trigger or rule on `relid` that an `UPDATE` of it runs and that could keep the old values or
/// copy them elsewhere: an enabled trigger a user made (not a foreign key's internal ones) that
/// fires on UPDATE, or a rule on UPDATE. Its name, if any.
fn update_code(relid: pg_sys::Oid) -> Option<String> {
    // SAFETY: the relcache entry is held open while its trigger and rule descriptors are read.
    unsafe {
        let rel = pg_sys::RelationIdGetRelation(relid);
        if rel.is_null() {
            return None;
        }
        let mut found = None;
        let td = (*rel).trigdesc;
        for i in 0..if td.is_null() { 0 } else { (*td).numtriggers as usize } {
            let tg = &*(*td).triggers.add(i);
            if !tg.tgisinternal && tg.tgenabled as u8 != b'D' && (tg.tgtype as u32) & pg_sys::TRIGGER_TYPE_UPDATE != 0 {
                found = Some(format!("trigger \"{}\"", std::ffi::CStr::from_ptr(tg.tgname).to_string_lossy()));
                break;
            }
        }
        let rules = (*rel).rd_rules;
        for i in 0..if rules.is_null() || found.is_some() { 0 } else { (*rules).numLocks as usize } {
            let rule = &**(*rules).rules.add(i);
            if rule.event == pg_sys::CmdType::CMD_UPDATE {
                found = Some("rule".to_string());
                break;
            }
        }
        pg_sys::RelationClose(rel);
        found
    }
}

/// `privacy.anonymize_prepare(relation)`: checks that the caller may have `relation`'s tree
/// rewritten (it is locked by then) and lets `anonymize_pages` rewrite it in this transaction.
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn anonymize_prepare(relation: pg_sys::Oid) {
    crate::admin::require_admin("anonymize a table");
    let name = catalog::relation_name(relation);
    // SAFETY: privilege lookups for the current user; they raise nothing here.
    let (select, update) = unsafe {
        let user = pg_sys::GetUserId();
        (
            pg_sys::pg_class_aclcheck(relation, user, pg_sys::ACL_SELECT as pg_sys::AclMode) == pg_sys::AclResult::ACLCHECK_OK,
            pg_sys::pg_class_aclcheck(relation, user, pg_sys::ACL_UPDATE as pg_sys::AclMode) == pg_sys::AclResult::ACLCHECK_OK,
        )
    };
    if !select || !update {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied to anonymize {name}: it needs SELECT and UPDATE on the whole table"),
            "anonymize_table rewrites every row as the table's owner, and an error (a unique or NOT NULL clash) shows the \
             row: ask the owner to GRANT SELECT, UPDATE on it, or run it as the owner or a superuser.",
        );
    }
    let mut tree = vec![relation];
    tree.extend(catalog::descendants_of(relation));
    for &table in &tree {
        if let Some(code) = update_code(table) {
            raise(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!("{} has a {code} that runs on UPDATE, which could keep or copy the values being anonymized", catalog::relation_name(table)),
                "Disable it for the rewrite (ALTER TABLE ... DISABLE TRIGGER, or drop the rule) and enable it again afterwards.",
            );
        }
    }
    if catalog::owner_row_security_restricts_current_user(relation) {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("row security hides rows of {name} from you, and anonymize_table would rewrite them all"),
            "Run it as a role row security does not restrict there: the table's owner (without FORCE ROW LEVEL SECURITY), \
             a superuser or a BYPASSRLS role.",
        );
    }
    PREPARED.with(|p| p.borrow_mut().push(relation));
}

/// Whether `relation` belongs to a tree `anonymize_prepare` checked in this transaction and is
/// still locked as `anonymize_table` locks it (a lock taken in a subtransaction that was rolled
/// back is gone, and so is the permission).
fn prepared(relation: pg_sys::Oid) -> bool {
    let roots = PREPARED.with(|p| p.borrow().clone());
    if roots.is_empty() {
        return false;
    }
    // SAFETY: the relcache entry is held open while the backend's own lock table is asked.
    let locked = unsafe {
        let rel = pg_sys::RelationIdGetRelation(relation);
        if rel.is_null() {
            return false;
        }
        let held = pg_sys::CheckRelationLockedByMe(rel, pg_sys::ShareRowExclusiveLock as pg_sys::LOCKMODE, true);
        pg_sys::RelationClose(rel);
        held
    };
    locked && (roots.contains(&relation) || catalog::ancestors_of(relation).iter().any(|a| roots.contains(a)))
}

/// `privacy.anonymize_pages(relation, first_page, end_page)`: rewrites the masked columns of the
/// rows stored in pages [first, end) of one table (not its children) with their rules; returns
/// how many rows. Called by `privacy.anonymize_table` (EXECUTE only for privacy admins).
#[pg_extern(volatile, parallel_unsafe)]
#[search_path(pg_catalog, pg_temp)]
fn anonymize_pages(relation: pg_sys::Oid, first_page: i64, end_page: i64) -> i64 {
    crate::admin::require_admin("anonymize a table");
    if !prepared(relation) {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("privacy.anonymize_pages rewrites {} only for privacy.anonymize_table", catalog::relation_name(relation)),
            "Call privacy.anonymize_table(relation, confirm_database): it checks your rights on the table and locks it first.",
        );
    }
    if catalog::relkind(relation) != pg_sys::RELKIND_RELATION {
        raise(PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE, format!("{} is not a table", catalog::relation_name(relation)), "Pass one table that holds rows.");
    }
    let columns = rewritable_columns(relation);
    if columns.is_empty() || first_page < 0 || end_page <= first_page {
        return 0;
    }
    let set_list = columns.iter().map(|c| format!("{0} = {0}", quote_ident(c))).collect::<Vec<_>>().join(", ");
    let text = format!(
        "UPDATE ONLY {} r SET {set_list} WHERE r.ctid >= $1::tid AND r.ctid < $2::tid \
         AND NOT privacy.written_by_this_transaction(r.xmin::text::bigint)",
        qualified_name(relation)
    );
    let (from, to) = (format!("({first_page},0)"), format!("({end_page},0)"));
    let depth = context::enter(Scope::Anonymizing);
    let rows = catalog::as_relation_owner(relation, || {
        Spi::connect_mut(|client| {
            let args = [pgrx::datum::DatumWithOid::from(from.as_str()), pgrx::datum::DatumWithOid::from(to.as_str())];
            client.update(&text, None, &args).map(|t| t.len() as i64)
        })
    });
    context::leave(depth);
    rows.unwrap_or_else(|e| {
        raise(PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("could not anonymize {}: {e}", catalog::relation_name(relation)), "Nothing was changed.")
    })
}

/// `privacy.written_by_this_transaction(xmin)`: whether a row version was written by the current
/// transaction or one of its subtransactions (so a batch never rewrites a row twice when its new
/// version lands in a page still to come).
#[pg_extern(volatile, parallel_unsafe)]
fn written_by_this_transaction(xmin: i64) -> bool {
    let Ok(xid) = u32::try_from(xmin) else { return false };
    // SAFETY: a lookup in the backend's own transaction state; cannot raise.
    unsafe { pgrx::pg_sys::TransactionIdIsCurrentTransactionId(pgrx::pg_sys::TransactionId::from(xid)) }
}

extension_sql!(
    r#"

REVOKE ALL ON FUNCTION privacy.anonymize_pages(oid, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.anonymize_pages(oid, bigint, bigint) TO privacy_admin;
REVOKE ALL ON FUNCTION privacy.anonymize_prepare(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.anonymize_prepare(oid) TO privacy_admin;

CREATE FUNCTION privacy.anonymize_table(relation regclass, confirm_database text, batch_pages integer DEFAULT 1000)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    part regclass;
    cols text[];
    pages bigint;
    first bigint;
    n bigint;
    part_rows bigint;
    total bigint := 0;
    done jsonb := '[]';
    started timestamptz := clock_timestamp();
BEGIN
    PERFORM privacy.require_admin('anonymize a table');
    IF confirm_database IS DISTINCT FROM current_database() THEN
        RAISE EXCEPTION 'anonymize_table would rewrite % in database "%", but confirm_database is %',
                        relation, current_database(), coalesce(quote_literal(confirm_database), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass confirm_database => the name of the database you mean to change (a staging copy): a guard against running it on production.';
    END IF;
    IF batch_pages IS NULL OR batch_pages < 1 THEN
        RAISE EXCEPTION 'batch_pages must be at least 1' USING ERRCODE = 'invalid_parameter_value',
            HINT = 'It is how many table pages each UPDATE rewrites; the default is 1000.';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = relation) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '% is not a table', relation USING ERRCODE = 'wrong_object_type',
            HINT = 'Anonymize the tables a view or materialized view reads, then refresh it.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM privacy.masking_rules m WHERE m."table" = relation) THEN
        RAISE EXCEPTION '% has no masking rules', relation USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Declare rules first: SECURITY LABEL FOR privacy ON COLUMN ... IS ''MASKED WITH ...''.';
    END IF;
    -- nobody else writes the tables while they are rewritten (reads go on)
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', relation);
    -- what the caller may have rewritten, checked once the tree can no longer change
    PERFORM privacy.anonymize_prepare(relation);
    FOR part IN
        WITH RECURSIVE tree(oid) AS (
            SELECT relation::oid
            UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
        SELECT t.oid::regclass FROM tree t JOIN pg_class c ON c.oid = t.oid
        WHERE c.relkind = 'r' ORDER BY t.oid
    LOOP
        cols := privacy.anonymizable_columns(part);
        part_rows := 0;
        IF cardinality(cols) > 0 THEN
            pages := pg_relation_size(part) / current_setting('block_size')::bigint;
            first := 0;
            WHILE first < pages LOOP
                n := privacy.anonymize_pages(part, first, least(first + batch_pages, pages));
                part_rows := part_rows + n;
                first := first + batch_pages;
                RAISE NOTICE 'anonymize_table: %: % of % pages, % rows', part, least(first, pages), pages, part_rows;
            END LOOP;
        END IF;
        total := total + part_rows;
        done := done || jsonb_build_object('table', part::text, 'columns', to_jsonb(coalesce(cols, '{}')), 'rows', part_rows);
    END LOOP;
    RETURN jsonb_build_object('relation', relation::text, 'database', current_database(), 'tables', done,
                              'rows', total, 'started_at', started, 'finished_at', clock_timestamp());
END $$;
"#,
    name = "anonymize_table",
    requires = [written_by_this_transaction, anonymize_pages, anonymize_prepare, rewritable_columns, "masking_rules_view", "admin_role"]
);
