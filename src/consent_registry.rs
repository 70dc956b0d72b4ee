//! The consent registry and its SQL API: purposes, subject tables, purposes allowed to roles, and
//! the append-only history of consent grants and withdrawals with the current state derived
//! from it.
//!
//! Tables are extension configuration tables, so pg_dump keeps them (the history is the proof of
//! consent a regulator asks for). `privacy.consent` (the current state) is not dumped: the
//! trigger that maintains it from `privacy.consent_event` rebuilds it when a restore reloads the
//! history. Only superusers and privacy_admin members may change the registry, through the API
//! functions (SECURITY DEFINER, search_path pinned, EXECUTE granted to privacy_admin only); a DBA
//! may GRANT EXECUTE on grant_consent/withdraw_consent to an application role explicitly.

use pgrx::prelude::*;

extension_sql!(
    r#"
CREATE TABLE privacy.purpose (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    requires_consent boolean NOT NULL,
    description      text,
    created_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    created_by       name NOT NULL DEFAULT session_user
);
CREATE TABLE privacy.subject_table (
    relation       regclass PRIMARY KEY,
    subject_column name NOT NULL
);
CREATE TABLE privacy.role_purpose (
    role_name name NOT NULL,
    purpose   text NOT NULL REFERENCES privacy.purpose ON DELETE CASCADE,
    PRIMARY KEY (role_name, purpose)
);
-- Append-only history: every grant and withdrawal, who recorded it, when, and from where.
CREATE TABLE privacy.consent_event (
    event_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject     text NOT NULL,
    purpose     text NOT NULL REFERENCES privacy.purpose,
    state       text NOT NULL CHECK (state IN ('granted', 'withdrawn')),
    valid_until timestamptz,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    recorded_by name NOT NULL DEFAULT session_user,
    source      text
);
CREATE INDEX consent_event_subject ON privacy.consent_event (subject, event_id);
-- Current state, one row per (purpose, subject): consent is active while active_until > now()
-- (infinity without expiry, -infinity once withdrawn). Typed copies of the subject key let the
-- filter compare integer and uuid keys without converting every row of the subject table.
CREATE TABLE privacy.consent (
    purpose        text NOT NULL,
    subject        text NOT NULL,
    active_until   timestamptz NOT NULL,
    event_id       bigint NOT NULL,
    subject_bigint bigint GENERATED ALWAYS AS (
        CASE WHEN subject ~ '^-?[0-9]{1,18}$' THEN subject::bigint END) STORED,
    subject_uuid   uuid GENERATED ALWAYS AS (
        CASE WHEN subject ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN subject::uuid END) STORED,
    PRIMARY KEY (purpose, subject)
);
CREATE INDEX consent_bigint ON privacy.consent (purpose, subject_bigint) INCLUDE (active_until);
CREATE INDEX consent_uuid ON privacy.consent (purpose, subject_uuid) INCLUDE (active_until);
CREATE INDEX consent_text ON privacy.consent (purpose, subject) INCLUDE (active_until);

REVOKE ALL ON privacy.purpose, privacy.subject_table, privacy.role_purpose,
              privacy.consent_event, privacy.consent FROM PUBLIC;

CREATE FUNCTION privacy.consent_event_is_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'the consent history is append-only'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new grant or withdrawal with privacy.grant_consent() or privacy.withdraw_consent().';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON privacy.consent_event
    FOR EACH ROW EXECUTE FUNCTION privacy.consent_event_is_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON privacy.consent_event
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.consent_event_is_append_only();

-- Keeps privacy.consent in step with the history; a later event always wins, so a restore that
-- replays the history in any order ends in the same state.
CREATE FUNCTION privacy.consent_event_applied() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    until timestamptz := CASE WHEN NEW.state = 'withdrawn' THEN '-infinity'::timestamptz
                              ELSE coalesce(NEW.valid_until, 'infinity'::timestamptz) END;
BEGIN
    INSERT INTO privacy.consent AS c (purpose, subject, active_until, event_id)
    VALUES (NEW.purpose, NEW.subject, until, NEW.event_id)
    ON CONFLICT (purpose, subject) DO UPDATE
        SET active_until = EXCLUDED.active_until, event_id = EXCLUDED.event_id
        WHERE c.event_id < EXCLUDED.event_id;
    RETURN NULL;
END $$;
CREATE TRIGGER applied AFTER INSERT ON privacy.consent_event
    FOR EACH ROW EXECUTE FUNCTION privacy.consent_event_applied();

SELECT pg_catalog.pg_extension_config_dump('privacy.purpose', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.subject_table', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.role_purpose', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.consent_event', '');
SELECT pg_catalog.pg_extension_config_dump('privacy.consent_event_event_id_seq', '');
-- pg_dump reads the sequence of every configuration table; its value (a count of events) is all
-- it reveals, so anyone may read it and non-superusers' dumps work.
GRANT SELECT ON SEQUENCE privacy.consent_event_event_id_seq TO PUBLIC;
"#,
    name = "consent_tables",
    requires = ["key_table"]
);

extension_sql!(
    r#"

CREATE FUNCTION privacy.require_registry_admin() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- SECURITY DEFINER callers run as the extension owner; session_user is who asked.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)
       AND NOT pg_has_role(session_user, 'privacy_admin', 'USAGE') THEN
        RAISE EXCEPTION 'only superusers and members of privacy_admin can change purposes and subject tables'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Ask a DBA, or to GRANT privacy_admin to you.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION privacy.require_registry_admin() FROM PUBLIC;

CREATE FUNCTION privacy.create_purpose(name text, requires_consent boolean, description text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_registry_admin();
    INSERT INTO privacy.purpose (name, requires_consent, description)
    VALUES (create_purpose.name, create_purpose.requires_consent, create_purpose.description);
EXCEPTION WHEN check_violation THEN
    RAISE EXCEPTION 'invalid purpose name "%"', create_purpose.name
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'A purpose name is lower-case letters, digits and underscores, starting with a letter.';
WHEN unique_violation THEN
    RAISE EXCEPTION 'purpose "%" already exists', create_purpose.name
        USING ERRCODE = 'duplicate_object', HINT = 'Choose another name, or keep the existing purpose.';
END $$;

CREATE FUNCTION privacy.set_subject(relation regclass, subject_column name)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE coltype regtype;
BEGIN
    PERFORM privacy.require_registry_admin();
    SELECT a.atttypid::regtype INTO coltype FROM pg_attribute a
    WHERE a.attrelid = set_subject.relation AND a.attname = set_subject.subject_column
      AND a.attnum > 0 AND NOT a.attisdropped;
    IF coltype IS NULL THEN
        RAISE EXCEPTION 'column "%" of % does not exist', set_subject.subject_column, set_subject.relation
            USING ERRCODE = 'undefined_column', HINT = 'Name the column that holds the data subject''s id.';
    END IF;
    INSERT INTO privacy.subject_table VALUES (set_subject.relation, set_subject.subject_column)
    ON CONFLICT ON CONSTRAINT subject_table_pkey DO UPDATE SET subject_column = EXCLUDED.subject_column;
    PERFORM privacy.guard_subject_table(set_subject.relation);
END $$;

CREATE FUNCTION privacy.allow_purpose(role_name name, purpose text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_registry_admin();
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = allow_purpose.role_name) THEN
        RAISE EXCEPTION 'role "%" does not exist', allow_purpose.role_name
            USING ERRCODE = 'undefined_object', HINT = 'Create the role first.';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.purpose p WHERE p.name = allow_purpose.purpose) THEN
        RAISE EXCEPTION 'purpose "%" does not exist', allow_purpose.purpose
            USING ERRCODE = 'undefined_object', HINT = 'Create it with privacy.create_purpose().';
    END IF;
    INSERT INTO privacy.role_purpose VALUES (allow_purpose.role_name, allow_purpose.purpose)
    ON CONFLICT DO NOTHING;
END $$;

CREATE FUNCTION privacy.disallow_purpose(role_name name, purpose text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM privacy.require_registry_admin();
    DELETE FROM privacy.role_purpose r WHERE r.role_name = disallow_purpose.role_name AND r.purpose = disallow_purpose.purpose;
END $$;

CREATE FUNCTION privacy.record_consent_event(subject text, purpose text, state text, valid_until timestamptz, source text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE id bigint;
BEGIN
    IF subject IS NULL OR purpose IS NULL THEN
        RAISE EXCEPTION 'subject and purpose are required' USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the data subject''s id and a purpose name.';
    END IF;
    IF NOT EXISTS (SELECT FROM privacy.purpose p WHERE p.name = record_consent_event.purpose) THEN
        RAISE EXCEPTION 'purpose "%" does not exist', record_consent_event.purpose
            USING ERRCODE = 'undefined_object', HINT = 'See SELECT * FROM privacy.purposes.';
    END IF;
    IF valid_until IS NOT NULL AND valid_until <= pg_catalog.now() AND state = 'granted' THEN
        RAISE EXCEPTION 'consent would expire before it is recorded'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass a future expires_at, or none.';
    END IF;
    INSERT INTO privacy.consent_event (subject, purpose, state, valid_until, source)
    VALUES (record_consent_event.subject, record_consent_event.purpose, record_consent_event.state,
            record_consent_event.valid_until, record_consent_event.source)
    RETURNING event_id INTO id;
    RETURN id;
END $$;
REVOKE ALL ON FUNCTION privacy.record_consent_event(text, text, text, timestamptz, text) FROM PUBLIC;

CREATE FUNCTION privacy.grant_consent(subject text, purpose text, expires_at timestamptz DEFAULT NULL, source text DEFAULT NULL)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT privacy.record_consent_event(subject, purpose, 'granted', expires_at, source) $$;

CREATE FUNCTION privacy.withdraw_consent(subject text, purpose text, source text DEFAULT NULL)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT privacy.record_consent_event(subject, purpose, 'withdrawn', NULL, source) $$;

CREATE FUNCTION privacy.consent_history(subject text)
RETURNS TABLE (event_id bigint, purpose text, state text, valid_until timestamptz,
               recorded_at timestamptz, recorded_by name, source text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.event_id, e.purpose, e.state, e.valid_until, e.recorded_at, e.recorded_by, e.source
    FROM privacy.consent_event e WHERE e.subject = consent_history.subject ORDER BY e.event_id
$$;

REVOKE ALL ON FUNCTION privacy.create_purpose(text, boolean, text), privacy.set_subject(regclass, name),
    privacy.allow_purpose(name, text), privacy.disallow_purpose(name, text),
    privacy.grant_consent(text, text, timestamptz, text), privacy.withdraw_consent(text, text, text),
    privacy.consent_history(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.create_purpose(text, boolean, text), privacy.set_subject(regclass, name),
    privacy.allow_purpose(name, text), privacy.disallow_purpose(name, text),
    privacy.grant_consent(text, text, timestamptz, text), privacy.withdraw_consent(text, text, text),
    privacy.consent_history(text) TO privacy_admin;

CREATE VIEW privacy.purposes AS
    SELECT name, requires_consent, description, created_at, created_by FROM privacy.purpose;
CREATE VIEW privacy.subject_tables AS
    SELECT s.relation, s.subject_column,
           coalesce(array_agg(p.name ORDER BY p.name) FILTER (WHERE p.requires_consent), '{}') AS filtered_for
    FROM privacy.subject_table s LEFT JOIN privacy.purpose p ON p.requires_consent GROUP BY 1, 2;
CREATE VIEW privacy.role_purposes AS
    SELECT r.role_name, r.purpose, p.requires_consent FROM privacy.role_purpose r JOIN privacy.purpose p ON p.name = r.purpose;
GRANT SELECT ON privacy.purposes, privacy.subject_tables, privacy.role_purposes TO PUBLIC;
"#,
    name = "consent_api",
    requires = ["consent_tables", "guard_subject_table_privileges"]
);
