//! The consent registry: purposes, subject tables, purposes allowed to roles, and the append-only
//! history of consent grants and withdrawals, with the current state derived from it.
//!
//! Tables are extension configuration tables, so pg_dump keeps them (the history is the proof of
//! consent a regulator asks for). The current-state tables are not dumped: the trigger that
//! maintains them from `privacy.consent_event` rebuilds them when a restore reloads the history.
//!
//! **Subject ids.** The registry keeps an id as given, and records each event under every typed
//! reading of it ([`privacy_core::subject`]): as bigint, as uuid, and as text. Filters compare a
//! subject column with the reading of its own type, so `'045'` and `'45'` are one subject for an
//! integer column, a UUID is one subject whatever its spelling, and a later withdrawal always
//! wins over an earlier grant of the same subject. An id no subject column could hold is refused
//! when consent is recorded.
//!
//! **Roles** are kept by OID (`regrole`: dumped and restored by name), so renaming a role keeps
//! its purposes and a new role with an old name gets none; a dropped role's entries go with it.
//!
//! **Who may change it.** The configuration functions (`create_purpose`, `set_subject`,
//! `allow_purpose`, ...) run as their caller and check `privacy.require_admin()` first (see
//! `crate::admin`); privacy admins hold the table privileges they need. Consent itself is
//! recorded by `grant_consent`/`withdraw_consent` (SECURITY DEFINER, search_path pinned), whose
//! EXECUTE privilege is the gate: privacy_admin has it, and a DBA may grant it to an application.

use std::collections::HashMap;
use std::ffi::CStr;
use std::rc::Rc;

use pgrx::pg_sys;
use pgrx::prelude::*;
use privacy_core::subject::{format_uuid, parse_bigint, parse_uuid};

use crate::pg::cache::{watch_relation, Cached, Class};
use crate::pg::catalog;

/// The typed reading of subject ids a subject column is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Bigint,
    Uuid,
    Text,
    /// A `privacy.pseudonym` column: compared with the keyed pseudonym of the subject's canonical
    /// id (its 32 bytes, as `bytea`), the `subject_key` the ledger records.
    Pseudonym,
}

impl KeyKind {
    /// The current-state table holding this reading.
    pub fn state_table(self) -> &'static CStr {
        match self {
            KeyKind::Bigint => c"consent_bigint",
            KeyKind::Uuid => c"consent_uuid",
            KeyKind::Text => c"consent_text",
            KeyKind::Pseudonym => c"consent_pseudonym",
        }
    }

    /// The reading a column of type `typid` is compared with, if it can hold subject ids.
    pub fn of_type(typid: pg_sys::Oid) -> Option<KeyKind> {
        match typid {
            t if t == pg_sys::INT2OID || t == pg_sys::INT4OID || t == pg_sys::INT8OID => Some(KeyKind::Bigint),
            t if t == pg_sys::UUIDOID => Some(KeyKind::Uuid),
            t if t == pg_sys::TEXTOID || t == pg_sys::VARCHAROID || t == pg_sys::BPCHAROID => Some(KeyKind::Text),
            t if t != pg_sys::InvalidOid && t == crate::pseudonym::type_oid() => Some(KeyKind::Pseudonym),
            _ => None,
        }
    }

    /// How the kind is named to users.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Bigint => "integer",
            KeyKind::Uuid => "uuid",
            KeyKind::Text => "text",
            KeyKind::Pseudonym => "pseudonym",
        }
    }

    /// The type the reading is stored as.
    pub fn type_oid(self) -> pg_sys::Oid {
        match self {
            KeyKind::Bigint => pg_sys::INT8OID,
            KeyKind::Uuid => pg_sys::UUIDOID,
            KeyKind::Text => pg_sys::TEXTOID,
            KeyKind::Pseudonym => pg_sys::BYTEAOID,
        }
    }
}

/// A declared subject table. `kind` is None when its subject column no longer exists or no
/// longer has a type that holds subject ids: filtered sessions then get an error, not rows.
#[derive(Clone, Debug)]
pub struct SubjectTable {
    pub column: String,
    pub attno: i16,
    pub kind: Option<KeyKind>,
}

/// A purpose as declared.
#[derive(Clone, Debug)]
pub struct Purpose {
    pub requires_consent: bool,
    pub description: Option<String>,
    /// How long a consent for it lasts at most after it was given (GDPR storage limitation).
    pub retention: Option<pgrx::datum::Interval>,
    pub created_at: Option<pgrx::datum::TimestampWithTimeZone>,
    pub created_by: Option<String>,
}

#[derive(Default)]
pub struct Registry {
    /// purpose name -> requires consent
    pub purposes: HashMap<String, bool>,
    pub purpose_details: Vec<(String, Purpose)>,
    pub subjects: HashMap<pg_sys::Oid, SubjectTable>,
    /// (role, purpose)
    pub role_purposes: Vec<(pg_sys::Oid, String)>,
    /// The readings the subject columns use, by name (the current-state tables kept).
    pub kinds: Vec<KeyKind>,
}

backend_local! {
    static REGISTRY: Cached<Registry> = const { Cached::new(Class::Relations) };
}

/// The registry of this database (empty where the extension is not installed).
pub fn registry() -> Rc<Registry> {
    REGISTRY.with(|c| c.get(load))
}

fn load() -> Registry {
    let mut reg = Registry::default();
    let (Some(purpose), Some(subject), Some(role)) = (
        catalog::extension_table(c"purpose"),
        catalog::extension_table(c"subject_table"),
        catalog::extension_table(c"role_purpose"),
    ) else {
        return reg;
    };
    for rel in [purpose, subject, role] {
        watch_relation(rel, Class::Relations);
    }
    catalog::scan(purpose, None, |row| {
        let (name, requires) = (row.column(c"name"), row.column(c"requires_consent"));
        if let Some(n) = row.text(name) {
            reg.purposes.insert(n.clone(), row.bool(requires));
            reg.purpose_details.push((
                n,
                Purpose {
                    requires_consent: row.bool(requires),
                    description: row.text(row.column(c"description")),
                    retention: row.interval(row.column(c"retention")),
                    created_at: row.timestamptz(row.column(c"created_at")),
                    created_by: row.name(row.column(c"created_by")),
                },
            ));
        }
    });
    reg.purpose_details.sort_by(|a, b| a.0.cmp(&b.0));
    catalog::scan(subject, None, |row| {
        let (rel, col) = (row.column(c"relation"), row.column(c"subject_column"));
        let relid = row.oid(rel);
        if let Some(column) = row.name(col) {
            let attno = catalog::attribute_number(relid, &column);
            // SAFETY: lsyscache lookup; InvalidOid for a missing attribute.
            let typid = if attno > 0 { unsafe { pg_sys::get_atttype(relid, attno) } } else { pg_sys::InvalidOid };
            watch_relation(relid, Class::Relations);
            reg.subjects.insert(relid, SubjectTable { column, attno, kind: KeyKind::of_type(typid) });
        }
    });
    // Partitions and inheritance children of a subject table are subject tables too, by the same
    // column, so reading one directly is filtered like reading it through its parent.
    let declared: Vec<(pg_sys::Oid, String)> = reg.subjects.iter().map(|(r, s)| (*r, s.column.clone())).collect();
    for (relid, column) in declared {
        for child in catalog::descendants_of(relid) {
            if reg.subjects.contains_key(&child) {
                continue;
            }
            let attno = catalog::attribute_number(child, &column);
            // SAFETY: lsyscache lookup; InvalidOid for a missing attribute.
            let typid = if attno > 0 { unsafe { pg_sys::get_atttype(child, attno) } } else { pg_sys::InvalidOid };
            watch_relation(child, Class::Relations);
            reg.subjects.insert(child, SubjectTable { column: column.clone(), attno, kind: KeyKind::of_type(typid) });
        }
    }
    catalog::scan(role, None, |row| {
        let (r, p) = (row.column(c"role"), row.column(c"purpose"));
        let oid = row.oid(r);
        // A role dropped from another database leaves its row here until this database cleans
        // up: it is ignored (and its OID cannot act anyway).
        // SAFETY: syscache existence check of a role OID.
        let exists = unsafe { pg_sys::SearchSysCacheExists(pg_sys::SysCacheIdentifier::AUTHOID as i32, pg_sys::Datum::from(oid), 0.into(), 0.into(), 0.into()) };
        if let (true, Some(purpose)) = (exists, row.text(p)) {
            reg.role_purposes.push((oid, purpose));
        }
    });
    reg.kinds = reg.subjects.values().filter_map(|s| s.kind).collect();
    reg.kinds.sort_by_key(|k| k.name());
    reg.kinds.dedup();
    reg
}

/// Whether `relid` is a declared subject table.
pub fn is_subject_table(relid: pg_sys::Oid) -> bool {
    registry().subjects.contains_key(&relid)
}

/// The syntax the server's int8 input accepts (it grew in PostgreSQL 16).
fn integer_syntax() -> privacy_core::subject::IntegerSyntax {
    crate::pg::version::INTEGER_SYNTAX
}

/// `privacy.subject_as_bigint(text)`: the bigint reading of a subject id, or NULL.
#[pg_extern(immutable, strict, parallel_safe)]
fn subject_as_bigint(subject: &str) -> Option<i64> {
    parse_bigint(subject, integer_syntax())
}

/// `privacy.subject_as_uuid(text)`: the uuid reading of a subject id, or NULL.
#[pg_extern(immutable, strict, parallel_safe)]
fn subject_as_uuid(subject: &str) -> Option<pgrx::Uuid> {
    parse_uuid(subject).map(pgrx::Uuid::from_bytes)
}

/// `privacy.subject_canonical(text)`: how pg_privacy spells a subject id in messages.
#[pg_extern(immutable, strict, parallel_safe)]
fn subject_canonical(subject: &str) -> String {
    canonical_subject(subject)
}

/// The canonical spelling of a subject id: the integer or UUID it reads as, else the text.
pub(crate) fn canonical_subject(subject: &str) -> String {
    if let Some(v) = parse_bigint(subject, integer_syntax()) {
        v.to_string()
    } else if let Some(u) = parse_uuid(subject) {
        format_uuid(&u)
    } else {
        subject.to_owned()
    }
}

/// `privacy.subject_id_kinds()`: the readings the declared subject columns use.
#[pg_extern(stable, parallel_safe)]
fn subject_id_kinds() -> Vec<String> {
    registry().kinds.iter().map(|k| k.name().to_owned()).collect()
}

extension_sql!(
    r#"
-- privacy_admin: privacy admins besides superusers (a role is cluster-wide, so it may already
-- exist from another database).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_admin') THEN
        CREATE ROLE privacy_admin NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA privacy TO PUBLIC;
"#,
    name = "admin_role"
);

extension_sql!(
    r#"
CREATE TABLE privacy.purpose (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    requires_consent boolean NOT NULL,
    description      text,
    -- consent for the purpose lapses this long after it was given, whatever its own expiry
    retention        interval CHECK (retention > '0'::interval),
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by       name NOT NULL DEFAULT current_user
);
CREATE TABLE privacy.subject_table (
    relation       regclass PRIMARY KEY,
    subject_column name NOT NULL
);
CREATE TABLE privacy.role_purpose (
    role    regrole NOT NULL,
    purpose text NOT NULL REFERENCES privacy.purpose ON DELETE CASCADE,
    PRIMARY KEY (role, purpose)
);
-- Append-only history (the consent ledger, consent/ledger.rs): every grant and withdrawal, who
-- recorded it, when, and from where, with the typed readings of the subject id, chained per
-- subject by hashes over everything but the id itself (`subject_key` names the subject by its
-- keyed pseudonym), so erasing a subject (its id set to NULL here) keeps the chain valid.
-- The states an event records. A domain, not a CHECK on the column: a plain INSERT (a restore)
-- is checked as its values are converted to the domain, and grant_consent/withdraw_consent,
-- which write only these two values, do not have PostgreSQL read a CHECK back from the catalog
-- and plan it at every recording (docs/BENCHMARKS.md).
CREATE DOMAIN privacy.consent_state AS text CHECK (VALUE IN ('granted', 'withdrawn'));
CREATE TABLE privacy.consent_event (
    event_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject        text,
    purpose        text NOT NULL REFERENCES privacy.purpose,
    state          privacy.consent_state NOT NULL,
    valid_until    timestamptz,
    recorded_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    recorded_by    name NOT NULL DEFAULT session_user,
    source         text,
    subject_key    bytea NOT NULL,
    prev_hash      bytea,
    hash           bytea NOT NULL
);
-- a subject's events in order (its chain's tail, per-subject checks), and who follows whom
CREATE INDEX consent_event_key ON privacy.consent_event (subject_key, event_id);
-- who follows whom (verify_ledger's links and forks, the anchors' chain heads); a subject's first
-- event follows no one and is left out: the queries compare prev_hash with a hash, never NULL,
-- and first events are most of a ledger's events (a first grant writes one index entry less)
CREATE INDEX consent_event_links ON privacy.consent_event (subject_key, prev_hash) WHERE prev_hash IS NOT NULL;
-- Current state, one row per (purpose, reading of the subject): consent is active while
-- active_until > statement_timestamp() (infinity without expiry, -infinity once withdrawn).
CREATE TABLE privacy.consent_bigint (
    purpose text NOT NULL, subject bigint NOT NULL, active_until timestamptz NOT NULL, event_id bigint NOT NULL,
    PRIMARY KEY (purpose, subject) INCLUDE (active_until)
);
CREATE TABLE privacy.consent_uuid (
    purpose text NOT NULL, subject uuid NOT NULL, active_until timestamptz NOT NULL, event_id bigint NOT NULL,
    PRIMARY KEY (purpose, subject) INCLUDE (active_until)
);
CREATE TABLE privacy.consent_text (
    purpose text NOT NULL, subject text NOT NULL, active_until timestamptz NOT NULL, event_id bigint NOT NULL,
    PRIMARY KEY (purpose, subject) INCLUDE (active_until)
);
-- keyed by the subject's pseudonym (the ledger's subject_key), for privacy.pseudonym subject columns
CREATE TABLE privacy.consent_pseudonym (
    purpose text NOT NULL, subject bytea NOT NULL, active_until timestamptz NOT NULL, event_id bigint NOT NULL,
    PRIMARY KEY (purpose, subject) INCLUDE (active_until)
);

REVOKE ALL ON privacy.purpose, privacy.subject_table, privacy.role_purpose, privacy.consent_event,
              privacy.consent_bigint, privacy.consent_uuid, privacy.consent_text, privacy.consent_pseudonym FROM PUBLIC;
REVOKE ALL ON SEQUENCE privacy.consent_event_event_id_seq FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON privacy.purpose, privacy.subject_table, privacy.role_purpose TO privacy_admin;

CREATE FUNCTION privacy.consent_event_is_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- The one change allowed: erasing the subject's id (privacy.erase_subject), which no hash covers.
    IF TG_OP = 'UPDATE' AND NEW.subject IS NULL
       AND to_jsonb(NEW) - 'subject' = to_jsonb(OLD) - 'subject' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the consent history is append-only'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new grant or withdrawal with privacy.grant_consent() or privacy.withdraw_consent().';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON privacy.consent_event
    FOR EACH ROW EXECUTE FUNCTION privacy.consent_event_is_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON privacy.consent_event
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_event_is_append_only();

-- Keeps the current state in step with the history, under every reading of the subject id; a
-- later event always wins, so a restore that replays the history in any order ends in the same
-- state. A restore loads events with their ids, so the id sequence is moved past them (its value
-- is not dumped: only superusers may read it).
-- Until when a consent event keeps consent active: never once withdrawn; else until its own
-- expiry and its purpose's retention after it was recorded, whichever comes first.
CREATE FUNCTION privacy.consent_until(state text, valid_until timestamptz, recorded_at timestamptz, retention interval)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN state = 'withdrawn' THEN '-infinity'::timestamptz
                ELSE least(coalesce(valid_until, 'infinity'::timestamptz),
                           CASE WHEN retention IS NULL THEN 'infinity'::timestamptz ELSE recorded_at + retention END) END
$$;

CREATE FUNCTION privacy.consent_event_applied() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    until timestamptz := privacy.consent_until(NEW.state, NEW.valid_until, NEW.recorded_at,
                                               (SELECT p.retention FROM privacy.purpose p WHERE p.name = NEW.purpose));
    -- only the readings some subject column uses are kept current (set_subject fills in a new one)
    kinds text[] := privacy.subject_id_kinds();
    as_bigint bigint := privacy.subject_as_bigint(NEW.subject);
    as_uuid uuid := privacy.subject_as_uuid(NEW.subject);
BEGIN
    IF NEW.subject IS NULL THEN
        RETURN NULL;  -- an erased subject (a restore reloads its events): no consent state
    END IF;
    IF as_bigint IS NOT NULL AND 'integer' = ANY (kinds) THEN
        INSERT INTO privacy.consent_bigint AS c VALUES (NEW.purpose, as_bigint, until, NEW.event_id)
        ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
            WHERE c.event_id < EXCLUDED.event_id;
    END IF;
    IF as_uuid IS NOT NULL AND 'uuid' = ANY (kinds) THEN
        INSERT INTO privacy.consent_uuid AS c VALUES (NEW.purpose, as_uuid, until, NEW.event_id)
        ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
            WHERE c.event_id < EXCLUDED.event_id;
    END IF;
    IF 'text' = ANY (kinds) THEN
        INSERT INTO privacy.consent_text AS c VALUES (NEW.purpose, NEW.subject, until, NEW.event_id)
        ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
            WHERE c.event_id < EXCLUDED.event_id;
    END IF;
    IF 'pseudonym' = ANY (kinds) THEN
        INSERT INTO privacy.consent_pseudonym AS c VALUES (NEW.purpose, NEW.subject_key, until, NEW.event_id)
        ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
            WHERE c.event_id < EXCLUDED.event_id;
    END IF;
    IF NEW.event_id > coalesce(pg_catalog.pg_sequence_last_value('privacy.consent_event_event_id_seq'::pg_catalog.regclass), 0) THEN
        PERFORM pg_catalog.setval('privacy.consent_event_event_id_seq'::pg_catalog.regclass, NEW.event_id);
    END IF;
    RETURN NULL;
END $$;
-- (not for the event privacy.grant_consent/withdraw_consent is inserting: they write its state)
CREATE TRIGGER applied AFTER INSERT ON privacy.consent_event
    FOR EACH ROW WHEN (NEW.event_id <> privacy.event_being_recorded())
    EXECUTE FUNCTION privacy.consent_event_applied();

-- Fills in the current state under every reading from the history (set_subject calls it when a
-- subject column brings a reading into use); a later event always wins, so it may run any time.
CREATE FUNCTION privacy.rebuild_consent_state() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- grants insert state rows without ON CONFLICT (they hold the subject's chain lock, which
    -- this does not take): keep them out while the state is rebuilt
    LOCK TABLE privacy.consent_bigint, privacy.consent_uuid, privacy.consent_text, privacy.consent_pseudonym
        IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO privacy.consent_bigint AS c
    SELECT DISTINCT ON (e.purpose, e.subject_bigint) e.purpose, e.subject_bigint,
           privacy.consent_until(e.state, e.valid_until, e.recorded_at, p.retention), e.event_id
    FROM (SELECT h.*, privacy.subject_as_bigint(h.subject) AS subject_bigint FROM privacy.consent_event h) e
         JOIN privacy.purpose p ON p.name = e.purpose
    WHERE e.subject_bigint IS NOT NULL ORDER BY e.purpose, e.subject_bigint, e.event_id DESC
    ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
        WHERE c.event_id < EXCLUDED.event_id;
    INSERT INTO privacy.consent_uuid AS c
    SELECT DISTINCT ON (e.purpose, e.subject_uuid) e.purpose, e.subject_uuid,
           privacy.consent_until(e.state, e.valid_until, e.recorded_at, p.retention), e.event_id
    FROM (SELECT h.*, privacy.subject_as_uuid(h.subject) AS subject_uuid FROM privacy.consent_event h) e
         JOIN privacy.purpose p ON p.name = e.purpose
    WHERE e.subject_uuid IS NOT NULL ORDER BY e.purpose, e.subject_uuid, e.event_id DESC
    ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
        WHERE c.event_id < EXCLUDED.event_id;
    INSERT INTO privacy.consent_text AS c
    SELECT DISTINCT ON (e.purpose, e.subject) e.purpose, e.subject,
           privacy.consent_until(e.state, e.valid_until, e.recorded_at, p.retention), e.event_id
    FROM privacy.consent_event e JOIN privacy.purpose p ON p.name = e.purpose
    WHERE e.subject IS NOT NULL ORDER BY e.purpose, e.subject, e.event_id DESC
    ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
        WHERE c.event_id < EXCLUDED.event_id;
    INSERT INTO privacy.consent_pseudonym AS c
    SELECT DISTINCT ON (e.purpose, e.subject_key) e.purpose, e.subject_key,
           privacy.consent_until(e.state, e.valid_until, e.recorded_at, p.retention), e.event_id
    FROM privacy.consent_event e JOIN privacy.purpose p ON p.name = e.purpose
    WHERE e.subject IS NOT NULL ORDER BY e.purpose, e.subject_key, e.event_id DESC
    ON CONFLICT (purpose, subject) DO UPDATE SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
        WHERE c.event_id < EXCLUDED.event_id;
END $$;
REVOKE ALL ON FUNCTION privacy.rebuild_consent_state() FROM PUBLIC;
-- set_subject's trigger calls it with the privacy admin's rights (it only recomputes the state
-- from the history, whoever runs it)
GRANT EXECUTE ON FUNCTION privacy.rebuild_consent_state() TO privacy_admin;
-- A subject column may bring a reading into use (set_subject, or a restore loading the subject
-- tables after the history): fill in its state.
CREATE FUNCTION privacy.subject_tables_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.rebuild_consent_state();
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION privacy.subject_tables_changed() FROM PUBLIC;
CREATE TRIGGER rebuild_state AFTER INSERT OR UPDATE ON privacy.subject_table
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.subject_tables_changed();

SELECT pg_catalog.pg_extension_config_dump('privacy.purpose', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_table', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.role_purpose', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.consent_event', '');
"#,
    name = "consent_tables",
    requires = ["admin_role", subject_as_bigint, subject_as_uuid, record::event_being_recorded]
);

extension_sql!(
    r#"
CREATE FUNCTION privacy.create_purpose(name text, requires_consent boolean, description text DEFAULT NULL,
                                       retention interval DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_admin('create purposes');
    IF retention IS NOT NULL AND retention <= '0'::interval THEN
        RAISE EXCEPTION 'retention must be positive, got %', retention
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass how long consent for the purpose may last, e.g. interval ''2 years''.';
    END IF;
    INSERT INTO privacy.purpose (name, requires_consent, description, retention)
    VALUES (create_purpose.name, create_purpose.requires_consent, create_purpose.description, create_purpose.retention);
EXCEPTION WHEN check_violation THEN
    RAISE EXCEPTION 'invalid purpose name "%"', create_purpose.name
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'A purpose name is lower-case letters, digits and underscores, starting with a letter.';
WHEN unique_violation THEN
    RAISE EXCEPTION 'purpose "%" already exists', create_purpose.name
        USING ERRCODE = 'duplicate_object', HINT = 'Choose another name, or keep the existing purpose.';
END $$;

-- Changes a purpose's retention (NULL: none); consents already given lapse by the new rule from
-- the next statement.
CREATE FUNCTION privacy.set_retention(purpose text, retention interval)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_admin('change retention');
    IF retention IS NOT NULL AND retention <= '0'::interval THEN
        RAISE EXCEPTION 'retention must be positive, got %', retention
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass how long consent for the purpose may last, or NULL for no limit.';
    END IF;
    UPDATE privacy.purpose p SET retention = set_retention.retention WHERE p.name = set_retention.purpose;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'purpose "%" does not exist', set_retention.purpose
            USING ERRCODE = 'undefined_object', HINT = 'See SELECT * FROM privacy.purposes.';
    END IF;
    UPDATE privacy.consent_bigint c SET active_until = privacy.consent_until(e.state, e.valid_until, e.recorded_at, set_retention.retention)
    FROM privacy.consent_event e WHERE c.event_id = e.event_id AND c.purpose = set_retention.purpose;
    UPDATE privacy.consent_uuid c SET active_until = privacy.consent_until(e.state, e.valid_until, e.recorded_at, set_retention.retention)
    FROM privacy.consent_event e WHERE c.event_id = e.event_id AND c.purpose = set_retention.purpose;
    UPDATE privacy.consent_text c SET active_until = privacy.consent_until(e.state, e.valid_until, e.recorded_at, set_retention.retention)
    FROM privacy.consent_event e WHERE c.event_id = e.event_id AND c.purpose = set_retention.purpose;
    UPDATE privacy.consent_pseudonym c SET active_until = privacy.consent_until(e.state, e.valid_until, e.recorded_at, set_retention.retention)
    FROM privacy.consent_event e WHERE c.event_id = e.event_id AND c.purpose = set_retention.purpose;
END $$;
REVOKE ALL ON FUNCTION privacy.set_retention(text, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.set_retention(text, interval) TO privacy_admin;

CREATE FUNCTION privacy.set_subject(relation regclass, subject_column name)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE coltype regtype;
BEGIN
    PERFORM privacy.require_admin('declare subject tables');
    SELECT a.atttypid::regtype INTO coltype FROM pg_attribute a
    WHERE a.attrelid = set_subject.relation AND a.attname = set_subject.subject_column
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF coltype IS NULL THEN
        RAISE EXCEPTION 'column "%" of % does not exist', set_subject.subject_column, set_subject.relation
            USING ERRCODE = 'undefined_column', HINT = 'Name the column that holds the data subject''s id.';
    END IF;
    IF coltype NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'uuid'::regtype,
                       'text'::regtype, 'character varying'::regtype, 'character'::regtype, 'privacy.pseudonym'::regtype) THEN
        RAISE EXCEPTION 'subject column "%" of % has type %, which cannot hold subject ids', set_subject.subject_column,
              set_subject.relation, coltype
            USING ERRCODE = 'datatype_mismatch',
                  HINT = 'Subject columns are integers, uuid, text or privacy.pseudonym.';
    END IF;
    -- Row security, and so the consent filter, applies to the table a statement names: a partition
    -- or child read through a parent that is not a subject table would not be filtered.
    IF EXISTS (SELECT FROM pg_inherits i WHERE i.inhrelid = set_subject.relation
               AND NOT EXISTS (SELECT FROM privacy.subject_table s WHERE s.relation = i.inhparent)) THEN
        RAISE EXCEPTION '% is a partition or child of a table that is not a subject table', set_subject.relation
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Declare its partitioned table or parent: reads through it are filtered for every partition and child.';
    END IF;
    INSERT INTO privacy.subject_table VALUES (set_subject.relation, set_subject.subject_column)
    ON CONFLICT ON CONSTRAINT subject_table_pkey DO UPDATE SET subject_column = EXCLUDED.subject_column;
    PERFORM privacy.guard_subject_table(set_subject.relation);
END $$;

CREATE FUNCTION privacy.allow_purpose(role_name name, purpose text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_admin('allow purposes to roles');
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = allow_purpose.role_name) THEN
        RAISE EXCEPTION 'role "%" does not exist', allow_purpose.role_name
            USING ERRCODE = 'undefined_object', HINT = 'Create the role first.';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.purpose p WHERE p.name = allow_purpose.purpose) THEN
        RAISE EXCEPTION 'purpose "%" does not exist', allow_purpose.purpose
            USING ERRCODE = 'undefined_object', HINT = 'Create it with privacy.create_purpose().';
    END IF;
    INSERT INTO privacy.role_purpose VALUES (pg_catalog.quote_ident(allow_purpose.role_name)::regrole, allow_purpose.purpose)
    ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION privacy.disallow_purpose(role_name name, purpose text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_admin('change the purposes allowed to roles');
    DELETE FROM privacy.role_purpose r
    WHERE r.role = (SELECT oid FROM pg_roles WHERE rolname = disallow_purpose.role_name)
      AND r.purpose = disallow_purpose.purpose;
END $$;

-- Consent is recorded by C functions (consent/record.rs) that write the event and the current
-- state rows through PostgreSQL's single-row executor routines, with the subject's chain locked:
-- a SQL version spends most of a grant starting statements. They need no privilege on the
-- tables (EXECUTE is the gate) and resolve no names, so they are neither SECURITY DEFINER nor
-- pinned to a search_path, which would cost a GUC save and restore per call.
CREATE FUNCTION privacy.grant_consent(subject text, purpose text, expires_at timestamptz DEFAULT NULL, source text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'grant_consent';

CREATE FUNCTION privacy.withdraw_consent(subject text, purpose text, source text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'withdraw_consent';

-- Every event of the subject, whatever spelling of its id each was recorded under.
CREATE FUNCTION privacy.consent_history(subject text)
RETURNS TABLE (event_id bigint, purpose text, state text, valid_until timestamptz,
               recorded_at timestamptz, recorded_by name, source text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.event_id, e.purpose, e.state, e.valid_until, e.recorded_at, e.recorded_by, e.source
    FROM privacy.consent_event e
    WHERE e.subject_key = privacy.ledger_subject_key(consent_history.subject) AND e.subject IS NOT NULL
    ORDER BY e.event_id
$$;

REVOKE ALL ON FUNCTION privacy.grant_consent(text, text, timestamptz, text), privacy.withdraw_consent(text, text, text),
    privacy.consent_history(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.grant_consent(text, text, timestamptz, text), privacy.withdraw_consent(text, text, text),
    privacy.consent_history(text) TO privacy_admin;

-- The catalog views show the registry as the filters see it (the same Rust loader).
CREATE VIEW privacy.purposes AS SELECT * FROM privacy.purpose_list();
CREATE VIEW privacy.subject_tables AS
    SELECT relation::pg_catalog.regclass AS relation, subject_column, id_kind, filtered_for FROM privacy.subject_table_list();
CREATE VIEW privacy.role_purposes AS SELECT * FROM privacy.role_purpose_list();
GRANT SELECT ON privacy.purposes, privacy.subject_tables, privacy.role_purposes TO PUBLIC;

-- Registry changes change what every session filters: tell all backends (cached plans too), and
-- put the guards back on every subject table (a restore reloads privacy.subject_table).
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.purpose
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.role_purpose
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_config_changed();
CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.subject_table
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_config_changed();
-- It re-creates guards on tables the admin may not own: it runs as the extension's owner.
ALTER FUNCTION privacy.consent_config_changed() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE ALL ON FUNCTION privacy.consent_config_changed() FROM PUBLIC;
"#,
    name = "consent_api",
    requires = ["consent_tables", "guard_subject_table_privileges", subject_id_kinds, consent_config_changed, "admin_functions",
                purpose_list, subject_table_list, role_purpose_list]
);

/// Every purpose: the function behind `privacy.purposes`.
#[allow(clippy::type_complexity)] // the SQL signature, as pgrx spells it
#[pg_extern(stable, parallel_safe)]
fn purpose_list() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(requires_consent, bool),
        name!(description, Option<String>),
        name!(retention, Option<pgrx::datum::Interval>),
        name!(created_at, Option<pgrx::datum::TimestampWithTimeZone>),
        name!(created_by, Option<String>),
    ),
> {
    let reg = registry();
    let rows: Vec<_> = reg
        .purpose_details
        .iter()
        .map(|(n, p)| (n.clone(), p.requires_consent, p.description.clone(), p.retention, p.created_at, p.created_by.clone()))
        .collect();
    TableIterator::new(rows)
}

/// Every subject table as the filter sees it: the function behind `privacy.subject_tables`.
/// `id_kind` is NULL when the subject column is gone or has a type that cannot hold ids (filtered
/// sessions then get an error from the table instead of rows).
#[pg_extern(stable, parallel_safe)]
fn subject_table_list() -> TableIterator<
    'static,
    (name!(relation, pg_sys::Oid), name!(subject_column, String), name!(id_kind, Option<String>), name!(filtered_for, Vec<String>)),
> {
    let reg = registry();
    let mut filtered_for: Vec<String> = reg.purposes.iter().filter(|(_, r)| **r).map(|(n, _)| n.clone()).collect();
    filtered_for.sort();
    let mut rows: Vec<_> = reg
        .subjects
        .iter()
        .map(|(relid, s)| (*relid, s.column.clone(), s.kind.map(|k| k.name().to_owned()), filtered_for.clone()))
        .collect();
    rows.sort_by_key(|r| catalog::relation_name(r.0));
    TableIterator::new(rows)
}

/// Every purpose allowed to an existing role: the function behind `privacy.role_purposes`.
#[pg_extern(stable, parallel_safe)]
fn role_purpose_list() -> TableIterator<'static, (name!(role_name, String), name!(purpose, String), name!(requires_consent, bool))> {
    let reg = registry();
    let mut rows: Vec<_> = reg
        .role_purposes
        .iter()
        .map(|(role, p)| (catalog::role_name(*role), p.clone(), reg.purposes.get(p).copied().unwrap_or(false)))
        .collect();
    rows.sort();
    TableIterator::new(rows)
}

/// `privacy.consent_config_changed()`: trigger on the registry tables; every backend reloads the
/// registry and drops cached plans from its next statement, and subject tables get their guards.
#[pg_trigger]
fn consent_config_changed<'a>(
    _trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, pgrx::AllocatedByPostgres>>, std::convert::Infallible> {
    // SAFETY: queues a relcache-wide invalidation, sent at commit (applied locally at the next
    // command as well).
    unsafe { pg_sys::CacheInvalidateRelcacheAll() };
    crate::pg::cache::bump(Class::Relations);
    for relid in load().subjects.keys() {
        crate::guards::protect(*relid, crate::guards::Reason::Consent);
    }
    Ok(None)
}
