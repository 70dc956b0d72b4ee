//! Data-subject rights inside the database: access and portability (`privacy.subject_data`),
//! erasure (`privacy.erase_subject`), retention bound to purpose (`privacy.retention_due`,
//! `privacy.enforce_retention`) and consent receipts (`privacy.consent_receipt`).
//!
//! pg_privacy already knows where each subject's rows are (the subject tables of the consent
//! registry) and why each session reads them; these functions act on that map. They are
//! privacy-admin functions that run with the **caller's** rights (PostgreSQL's own table
//! privileges, triggers, foreign keys and row security apply), written in SQL so that errors keep
//! all their fields. They address tables by identifiers read from the catalog and quoted by
//! PostgreSQL (`regclass` output, `format('%I')`), pass every value as a parameter, and never build
//! SQL from labels or data. Rust provides the map: which tables, in which order, which columns
//! have rules, and the anonymizing scope.
//!
//! **Anonymizing** a row writes each masked column's rule back into it: the statement
//! `UPDATE t SET c = c WHERE ctid = ANY(...)` runs inside [`Scope::Anonymizing`], where pg_privacy
//! masks every statement whoever runs it, so `c = c` stores the masked value. The rows are found
//! and locked first by their subject column, compared raw.

mod plans;
mod receipt;

use std::collections::{HashMap, HashSet};

use pgrx::prelude::*;

use crate::consent::registry::registry;
use crate::context::{self, Scope};
use crate::masking::rules::resolve;
use crate::pg::cache::{watch_relation, Cached, Class};
use crate::pg::catalog;

/// At each transaction event: frees the statements retired during the transaction.
#[inline]
pub fn on_xact(event: pgrx::pg_sys::XactEvent::Type) {
    plans::on_xact(event);
}

/// `privacy.begin_anonymizing()`: opens the anonymizing scope; returns the depth to close.
#[pg_extern(volatile, parallel_unsafe)]
fn begin_anonymizing() -> i32 {
    crate::admin::require_admin("anonymize rows");
    context::enter(Scope::Anonymizing) as i32
}

/// `privacy.end_anonymizing(depth)`: closes what `begin_anonymizing` opened (an error closes it
/// too, at transaction or savepoint abort).
#[pg_extern(volatile, parallel_unsafe)]
fn end_anonymizing(depth: i32) {
    if depth >= 0 {
        context::leave(depth as usize);
    }
}

/// Foreign keys between user tables: (referencing table, referenced table, constraint name).
fn foreign_keys() -> Vec<(pg_sys::Oid, pg_sys::Oid, String)> {
    let cat = catalog::oid(catalog::PG_CONSTRAINT);
    let (a_type, a_rel, a_frel, a_name) =
        (catalog::attnum(cat, c"contype"), catalog::attnum(cat, c"conrelid"), catalog::attnum(cat, c"confrelid"), catalog::attnum(cat, c"conname"));
    let mut out = Vec::new();
    catalog::scan(cat, None, |row| {
        // contype is a "char": the first byte of its datum.
        let is_fk = row.char(a_type) == b'f';
        if is_fk {
            out.push((row.oid(a_rel), row.oid(a_frel), row.name(a_name).unwrap_or_default()));
        }
    });
    out
}

/// Subject tables to act on (a partition or child whose parent is a subject table is reached
/// through the parent), ordered so that a table referencing another by foreign key comes first.
fn erase_order() -> Vec<pg_sys::Oid> {
    let reg = registry();
    let subjects: HashSet<pg_sys::Oid> = reg.subjects.keys().copied().collect();
    let mut tables: Vec<pg_sys::Oid> = subjects
        .iter()
        .copied()
        .filter(|r| !catalog::ancestors_of(*r).iter().any(|a| subjects.contains(a)))
        .collect();
    tables.sort_by_key(|r| catalog::relation_name(*r));
    // parent -> children referencing it (among the tables acted on)
    let mut referencing: HashMap<pg_sys::Oid, HashSet<pg_sys::Oid>> = HashMap::new();
    let top = |r: pg_sys::Oid| -> pg_sys::Oid {
        catalog::ancestors_of(r).into_iter().rev().find(|a| subjects.contains(a)).unwrap_or(r)
    };
    for (child, parent, _) in foreign_keys() {
        let (child, parent) = (top(child), top(parent));
        if child != parent && tables.contains(&child) && tables.contains(&parent) {
            referencing.entry(parent).or_default().insert(child);
        }
    }
    let mut ordered = Vec::new();
    let mut remaining = tables;
    while !remaining.is_empty() {
        // tables no remaining table references go next; a cycle takes the rest in name order
        // (its foreign keys then decide, with an error if they refuse)
        let ready: Vec<pg_sys::Oid> = remaining
            .iter()
            .copied()
            .filter(|t| referencing.get(t).is_none_or(|children| !children.iter().any(|c| remaining.contains(c) && c != t)))
            .collect();
        let step = if ready.is_empty() { remaining.clone() } else { ready };
        remaining.retain(|t| !step.contains(t));
        ordered.extend(step);
    }
    ordered
}

/// One subject table as the rights functions act on it.
#[derive(Clone)]
struct MapEntry {
    relid: pg_sys::Oid,
    column: String,
    kind: Option<String>,
    nullable: bool,
    subject_masked: bool,
    masked: Vec<String>,
}

backend_local! {
    /// The map, computed once per backend and again after a change to a subject table (rules,
    /// foreign keys, columns: each sends a relcache invalidation of the table) or the registry.
    static MAP: Cached<Vec<MapEntry>> = const { Cached::new(Class::Relations) };
}

fn map() -> std::rc::Rc<Vec<MapEntry>> {
    MAP.with(|c| {
        c.get(|| {
            let reg = registry();
            erase_order()
                .into_iter()
                .filter_map(|relid| {
                    // a dropped table holds nothing about anyone (its registry row stays until a
                    // privacy admin removes it); a column that no longer holds ids is an error
                    if catalog::relkind(relid) == 0 {
                        return None;
                    }
                    let subject = reg.subjects.get(&relid)?;
                    watch_relation(relid, Class::Relations);
                    let masked: Vec<String> = resolve(relid, true).into_iter().map(|r| r.column).collect();
                    Some(MapEntry {
                        relid,
                        column: subject.column.clone(),
                        kind: subject.kind.map(|k| k.name().to_owned()),
                        nullable: !catalog::attribute_not_null(relid, subject.attno),
                        subject_masked: masked.contains(&subject.column),
                        masked,
                    })
                })
                .collect()
        })
    })
}

/// `privacy.subject_map()`: every subject table pg_privacy acts on for a data subject, in the
/// order erasure deletes from them (tables referencing others first), with how the subject is
/// found there and what anonymizing can rewrite.
#[allow(clippy::type_complexity)] // the SQL signature, as pgrx spells it
#[pg_extern(stable, parallel_safe)]
fn subject_map() -> TableIterator<
    'static,
    (
        name!(step, i32),
        name!(relation, pg_sys::Oid),
        name!(subject_column, String),
        name!(id_kind, Option<String>),
        name!(subject_column_nullable, bool),
        name!(subject_column_masked, bool),
        name!(masked_columns, Vec<String>),
    ),
> {
    let rows: Vec<_> = map()
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i32 + 1, e.relid, e.column.clone(), e.kind.clone(), e.nullable, e.subject_masked, e.masked.clone()))
        .collect();
    TableIterator::new(rows)
}

/// `privacy.unmapped_subject_references()`: foreign keys from tables that are not subject tables
/// to subject tables. Their rows are about the same subjects, and a request would miss them (an
/// erasure is then refused by the foreign key, or cascades where it says so).
#[pg_extern(stable, parallel_safe)]
fn unmapped_subject_references() -> TableIterator<
    'static,
    (name!(relation, pg_sys::Oid), name!(constraint_name, String), name!(references_table, pg_sys::Oid)),
> {
    let reg = registry();
    let mut rows: Vec<(pg_sys::Oid, String, pg_sys::Oid)> = foreign_keys()
        .into_iter()
        .filter(|(child, parent, _)| reg.subjects.contains_key(parent) && !reg.subjects.contains_key(child))
        .map(|(child, parent, name)| (child, name, parent))
        .collect();
    rows.sort_by_key(|(child, name, _)| (catalog::relation_name(*child), name.clone()));
    TableIterator::new(rows)
}

extension_sql!(
    r#"
-- Who the controller is, for exports and consent receipts (set once by a privacy admin).
CREATE TABLE privacy.controller (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    name         text NOT NULL,
    contact      text,
    jurisdiction text
);
-- Every erasure: the subject by its keyed pseudonym (never its id), what was done where.
CREATE TABLE privacy.erasure_receipt (
    receipt_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_key bytea NOT NULL,
    -- 'delete' or 'anonymize': erase_subject checks the mode before writing (the only writer; a
    -- CHECK here was read back from the catalog and planned at every erasure: docs/BENCHMARKS.md)
    mode        text NOT NULL,
    reason      text,
    tables      jsonb NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    erased_by   name NOT NULL DEFAULT session_user
);
REVOKE ALL ON privacy.controller, privacy.erasure_receipt FROM PUBLIC;
GRANT SELECT ON privacy.controller, privacy.erasure_receipt TO privacy_admin;
-- privacy admins read the consent history (subject_data); governed sessions never may
-- (keys::SECRET_TABLES), whatever they are granted
GRANT SELECT ON privacy.consent_event TO privacy_admin;
SELECT pg_catalog.pg_extension_config_dump('privacy.controller', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.erasure_receipt', '');
-- After a restore's COPY (a statement; erase_subject writes its receipt without one), numbering goes on after the restored receipts. The identity's
-- sequence is not an extension configuration object: pg_dump would read it for every role that
-- dumps the database, and fail for those that may not.
CREATE FUNCTION privacy.receipt_numbering() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seq regclass := pg_get_serial_sequence('privacy.erasure_receipt', 'receipt_id')::regclass;
    top bigint;
BEGIN
    SELECT max(t.receipt_id) INTO top FROM privacy.erasure_receipt t;
    IF top > coalesce(pg_sequence_last_value(seq), 0) THEN
        PERFORM setval(seq, top);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER numbering AFTER INSERT ON privacy.erasure_receipt FOR EACH STATEMENT EXECUTE FUNCTION privacy.receipt_numbering();

CREATE FUNCTION privacy.set_controller(name text, contact text DEFAULT NULL, jurisdiction text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_admin('name the controller');
    IF name IS NULL THEN
        RAISE EXCEPTION 'the controller needs a name' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the legal name of the organisation responsible for the data.';
    END IF;
    INSERT INTO privacy.controller VALUES (true, set_controller.name, set_controller.contact, set_controller.jurisdiction)
    ON CONFLICT (singleton) DO UPDATE SET name = EXCLUDED.name, contact = EXCLUDED.contact, jurisdiction = EXCLUDED.jurisdiction;
END $$;

-- A subject column that no longer exists or no longer holds ids: an error, never a silent skip.
CREATE FUNCTION privacy.subject_column_usable(relation oid, subject_column text, id_kind text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF id_kind IS NULL THEN
        RAISE EXCEPTION 'subject column "%" of % no longer exists or cannot hold subject ids', subject_column, relation::regclass
            USING ERRCODE = 'invalid_object_definition',
                  HINT = 'A privacy admin must run privacy.set_subject() again with the column that holds the subject''s id.';
    END IF;
END $$;


-- Everything about one data subject (GDPR Art. 15 and 20): every row of every subject table that
-- is about it, grouped by table, and its consent history, as one statement prepared once per
-- subject map (rights/plans.rs). Runs with the caller's rights.
CREATE FUNCTION privacy.subject_data(subject text) RETURNS jsonb
LANGUAGE c STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'subject_data';

-- The rows of one subject table about a subject, deleted (rights/plans.rs). Runs with the
-- caller's rights.
CREATE FUNCTION privacy.delete_subject_rows(relation oid, subject text) RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'delete_subject_rows';

-- Removes a subject's consent state and its id from the consent history (the ledger keeps the
-- events under the subject's keyed pseudonym, so its chains stay valid). Returns the counts.
CREATE FUNCTION privacy.erase_consent_records(subject text, OUT state_rows bigint, OUT events bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    k bytea := privacy.ledger_subject_key(subject);
    n bigint;
BEGIN
    PERFORM privacy.require_admin('erase a data subject''s consent records');
    DELETE FROM privacy.consent_bigint c WHERE c.subject = privacy.subject_as_bigint(erase_consent_records.subject);
    GET DIAGNOSTICS state_rows = ROW_COUNT;
    DELETE FROM privacy.consent_uuid c WHERE c.subject = privacy.subject_as_uuid(erase_consent_records.subject);
    GET DIAGNOSTICS n = ROW_COUNT; state_rows := state_rows + n;
    DELETE FROM privacy.consent_text c WHERE c.subject IN (SELECT e.subject FROM privacy.consent_event e WHERE e.subject_key = k);
    GET DIAGNOSTICS n = ROW_COUNT; state_rows := state_rows + n;
    DELETE FROM privacy.consent_pseudonym c WHERE c.subject = k;
    GET DIAGNOSTICS n = ROW_COUNT; state_rows := state_rows + n;
    UPDATE privacy.consent_event e SET subject = NULL WHERE e.subject_key = k AND e.subject IS NOT NULL;
    GET DIAGNOSTICS events = ROW_COUNT;
END $$;

-- The anonymize mode of privacy.erase_subject (rights/plans.rs): rewrites the subject's rows with
-- each column's masking rule, keeping rows whose subject column can be masked or emptied and
-- deleting the subject's own rows (whose subject column is their NOT NULL key). Returns what was
-- done where. Runs with the caller's rights.
CREATE FUNCTION privacy.anonymize_subject_rows(subject text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
    done jsonb := '[]';
    n bigint;
    rewritten bigint;
    action text;
    rows_found record;
    set_list text;
    depth int;
BEGIN
    PERFORM privacy.require_admin('erase a data subject''s data');
    FOR m IN SELECT * FROM privacy.subject_map() ORDER BY step LOOP
        -- The function's search_path again before its own expressions: a subject table's trigger
        -- may have SET another for the session (a plain SET outlives the statement), under which
        -- format(), cardinality() or || would find the table owner's functions.
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        PERFORM privacy.subject_column_usable(m.relation, m.subject_column, m.id_kind);
        IF m.subject_column_masked OR m.subject_column_nullable THEN
            -- the rows, found by their raw subject column and locked, then rewritten by row address
            EXECUTE format('SELECT array_agg(s.tableoid) AS rels, array_agg(s.ctid) AS tids FROM (SELECT r.tableoid, r.ctid FROM %s r WHERE r.%I = %s FOR UPDATE) s',
                           m.relation::regclass, m.subject_column, privacy.subject_match(m.id_kind))
                USING subject INTO rows_found;
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            n := coalesce(cardinality(rows_found.tids), 0);
            IF n > 0 THEN
                SELECT string_agg(format('%I = %I', c, c), ', ') INTO set_list FROM unnest(m.masked_columns) c;
                IF NOT m.subject_column_masked THEN
                    set_list := concat_ws(', ', set_list, format('%I = NULL', m.subject_column));
                END IF;
                depth := privacy.begin_anonymizing();
                EXECUTE format('UPDATE %s r SET %s WHERE (r.tableoid, r.ctid) IN (SELECT * FROM unnest($1::oid[], $2::tid[]))',
                               m.relation::regclass, set_list)
                    USING rows_found.rels, rows_found.tids;
                GET DIAGNOSTICS rewritten = ROW_COUNT;
                PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
                PERFORM privacy.end_anonymizing(depth);
                -- every row found is rewritten, or nothing is erased: a trigger that skips a row's
                -- UPDATE (RETURN NULL) or a rule must not leave it behind a receipt that counts it
                IF rewritten <> n THEN
                    RAISE EXCEPTION 'rows of % about the data subject were not erased', m.relation::regclass
                        USING ERRCODE = 'triggered_action_exception',
                              DETAIL = format('%s rows were found and %s rewritten: a trigger or rule of the table (or of one of its partitions or child tables) skipped the others. Nothing was erased.', n, rewritten),
                              HINT = 'Let the table''s triggers update a subject''s rows during erasure, then erase again.';
                END IF;
            END IF;
            action := 'anonymized';
        ELSE
            n := privacy.delete_subject_rows(m.relation, subject);
            PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
            action := 'deleted';
        END IF;
        done := done || jsonb_build_object('table', m.relation::regclass::text, 'action', action, 'rows', n);
    END LOOP;
    RETURN done;
END $$;

-- Erases a data subject (GDPR Art. 17) in the caller's transaction: deletes its rows from every
-- subject table, tables referencing others first (one prepared DELETE each), or (mode =>
-- 'anonymize') rewrites them with privacy.anonymize_subject_rows; records a receipt without the
-- erased data (with the extension's rights) and removes the subject's consent state and its id
-- from the consent history (erase_consent_records).
CREATE FUNCTION privacy.erase_subject(subject text, mode text DEFAULT 'delete', reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'erase_subject';

-- Subjects whose every consent has lapsed (expired, withdrawn, or past its purpose's retention):
-- data kept for them has no purpose left.
CREATE FUNCTION privacy.retention_due()
RETURNS TABLE (subject text, lapsed_since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    -- from the ledger (the current-state tables keep only the readings subject columns use): each
    -- purpose's latest event of each subject, its consent lapsing as privacy.consent_until says
    SELECT privacy.subject_canonical(l.subject), max(l.active_until)
    FROM (SELECT DISTINCT ON (e.subject_key, e.purpose) e.subject,
                 privacy.consent_until(e.state, e.valid_until, e.recorded_at, p.retention) AS active_until
          FROM privacy.consent_event e JOIN privacy.purpose p ON p.name = e.purpose
          WHERE e.subject IS NOT NULL
          ORDER BY e.subject_key, e.purpose, e.event_id DESC) l
    WHERE privacy.is_admin()
    GROUP BY 1
    HAVING max(l.active_until) <= statement_timestamp()
    ORDER BY 2, 1
$$;

-- Erases (or anonymizes) up to batch_size subjects whose consents have all lapsed, one
-- erase_subject each, with progress in NOTICEs; call it again (a scheduler) until it reports 0.
CREATE FUNCTION privacy.enforce_retention(mode text DEFAULT 'delete', batch_size integer DEFAULT 100)
RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s record;
    r jsonb;
    receipts bigint[] := '{}';
    total bigint;
BEGIN
    PERFORM privacy.require_admin('enforce retention');
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1, got %', batch_size USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass how many subjects to erase in this call.';
    END IF;
    SELECT count(*) INTO total FROM privacy.retention_due();
    FOR s IN SELECT * FROM privacy.retention_due() LIMIT batch_size LOOP
        r := privacy.erase_subject(s.subject, mode, 'retention: every consent has lapsed');
        -- (the function's search_path again: see anonymize_subject_rows)
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        receipts := receipts || (r->>'receipt_id')::bigint;
        RAISE NOTICE 'retention: erased subject %/% (receipt %)', cardinality(receipts), least(total, batch_size), r->>'receipt_id';
    END LOOP;
    RETURN jsonb_build_object('mode', mode, 'subjects', cardinality(receipts), 'remaining', total - cardinality(receipts), 'receipts', to_jsonb(receipts));
END $$;

-- The record of one subject's consent for one purpose as an ISO/IEC TS 27560:2023 consent record,
-- in the JSON-LD profile the W3C Data Privacy Vocabulary (DPV) group publishes for it
-- (https://w3id.org/dpv/schema/dpv-27560#record). NULL if nothing was ever recorded.
CREATE FUNCTION privacy.consent_receipt(subject text, purpose text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p privacy.purpose;
    k bytea;
    history jsonb;
    last_event privacy.consent_event;
    first_at timestamptz;
    until timestamptz;
    status text;
BEGIN
    PERFORM privacy.require_admin('issue consent receipts');
    IF subject IS NULL OR purpose IS NULL THEN
        RAISE EXCEPTION 'a consent receipt needs a subject and a purpose' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the data subject''s id and a purpose name.';
    END IF;
    SELECT * INTO p FROM privacy.purpose x WHERE x.name = consent_receipt.purpose;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purpose "%" does not exist', purpose USING ERRCODE = 'undefined_object', HINT = 'See SELECT * FROM privacy.purposes.';
    END IF;
    k := privacy.ledger_subject_key(subject);
    SELECT * INTO last_event FROM privacy.consent_event e
    WHERE e.subject_key = k AND e.purpose = consent_receipt.purpose AND e.subject IS NOT NULL
    ORDER BY e.event_id DESC LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT min(e.recorded_at),
           jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'dpv:hasConsentStatus', CASE e.state WHEN 'granted' THEN 'dpv:ConsentGiven' ELSE 'dpv:ConsentWithdrawn' END,
               'dct:date', e.recorded_at,
               'dpv:hasExpiry', e.valid_until,
               'dpv:isIndicatedBy', e.recorded_by,
               'dpv:hasIndicationMethod', e.source,
               'dct:identifier', e.event_id)) ORDER BY e.event_id)
    INTO first_at, history
    FROM privacy.consent_event e WHERE e.subject_key = k AND e.purpose = consent_receipt.purpose AND e.subject IS NOT NULL;
    until := privacy.consent_until(last_event.state, last_event.valid_until, last_event.recorded_at, p.retention);
    status := CASE WHEN last_event.state = 'withdrawn' THEN 'dpv:ConsentWithdrawn'
                   WHEN until <= statement_timestamp() THEN 'dpv:ConsentExpired'
                   ELSE 'dpv:ConsentGiven' END;
    RETURN jsonb_strip_nulls(jsonb_build_object(
        '@context', jsonb_build_object('dpv', 'https://w3id.org/dpv#', 'dct', 'http://purl.org/dc/terms/'),
        '@type', 'dpv:ConsentRecord',
        'dct:identifier', 'urn:pg_privacy:consent:' || encode(k, 'hex') || ':' || p.name,
        'dct:conformsTo', 'https://w3id.org/dpv/schema/dpv-27560#record',
        'dct:created', first_at,
        'dct:modified', last_event.recorded_at,
        'dpv:hasDataSubject', jsonb_build_object('@id', privacy.subject_canonical(subject), '@type', 'dpv:DataSubject'),
        'dpv:hasDataController', (SELECT jsonb_strip_nulls(jsonb_build_object('@type', 'dpv:DataController', 'dpv:hasName', c.name,
                                                                             'dpv:hasContact', c.contact, 'dpv:hasJurisdiction', c.jurisdiction))
                                  FROM privacy.controller c),
        'dpv:hasPurpose', jsonb_strip_nulls(jsonb_build_object('@id', 'urn:pg_privacy:purpose:' || p.name, 'dct:title', p.name,
                                                               'dct:description', p.description)),
        'dpv:hasLegalBasis', 'dpv:Consent',
        'dpv:hasConsentStatus', status,
        'dpv:isIndicatedAtTime', last_event.recorded_at,
        'dpv:isIndicatedBy', last_event.recorded_by,
        'dpv:hasIndicationMethod', last_event.source,
        'dpv:hasExpiry', CASE WHEN until IN ('infinity', '-infinity') THEN NULL ELSE until END,
        'dpv:hasStorageCondition', CASE WHEN p.retention IS NULL THEN NULL
                                        ELSE jsonb_build_object('@type', 'dpv:StorageDuration', 'dpv:hasDuration', p.retention) END,
        'dct:provenance', history,
        'dct:source', jsonb_build_object('ledger_event_hash', encode(last_event.hash, 'hex'))));
END $$;

REVOKE ALL ON FUNCTION privacy.set_controller(text, text, text), privacy.subject_data(text), privacy.erase_subject(text, text, text),
    privacy.erase_consent_records(text), privacy.retention_due(),
    privacy.enforce_retention(text, integer), privacy.consent_receipt(text, text), privacy.subject_map(),
    privacy.unmapped_subject_references(), privacy.begin_anonymizing(), privacy.end_anonymizing(integer),
    privacy.delete_subject_rows(oid, text), privacy.anonymize_subject_rows(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.ledger_subject_key(text) TO privacy_admin;
GRANT EXECUTE ON FUNCTION privacy.set_controller(text, text, text), privacy.subject_data(text), privacy.erase_subject(text, text, text),
    privacy.erase_consent_records(text), privacy.retention_due(),
    privacy.enforce_retention(text, integer), privacy.consent_receipt(text, text), privacy.subject_map(),
    privacy.unmapped_subject_references(), privacy.begin_anonymizing(), privacy.end_anonymizing(integer),
    privacy.delete_subject_rows(oid, text), privacy.anonymize_subject_rows(text) TO privacy_admin;
"#,
    name = "subject_rights",
    requires = ["consent_api", "consent_ledger", "pseudonym_type", subject_map, subject_match, unmapped_subject_references, begin_anonymizing, end_anonymizing]
);

// ------------------------------------------------------------------ per-table statements

/// `privacy.subject_match(id_kind)`: how a subject id is compared with a subject column of each
/// kind, as a constant SQL expression over the id `$1` (NULL for an unknown kind).
#[pg_extern(immutable, parallel_safe)]
fn subject_match(kind: &str) -> Option<&'static str> {
    match kind {
        "integer" => Some("privacy.subject_as_bigint($1)"),
        "uuid" => Some("privacy.subject_as_uuid($1)"),
        "text" => Some("$1"),
        "pseudonym" => Some("privacy.pseudonymize(privacy.subject_canonical($1))"),
        _ => None,
    }
}
