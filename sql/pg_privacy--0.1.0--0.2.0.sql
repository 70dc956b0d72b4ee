-- pg_privacy 0.1.0 -> 0.2.0 (ALTER EXTENSION pg_privacy UPDATE runs it, in one transaction).
--
-- What changes: the consent registry is reshaped (roles are kept as regrole, purposes get a
-- retention, the current state is kept per reading of the subject id, the history becomes a
-- hash-chained ledger); the guard policies take their 0.2.0 form; 0.2.0's new objects arrive
-- (break-glass, access log, rights, tools, rule variants, privacy.rule_call). What is kept as it
-- is: the key (privacy.key), the privacy.pseudonym type with its functions, operators and
-- classes (so columns of that type and their indexes are untouched), every function whose
-- signature stays (replaced in place, so user views and defaults that call them keep working),
-- the labels (pg_seclabel is PostgreSQL's).
--
-- The registry's rows are carried over: purposes, subject tables (whose table still exists),
-- role purposes (whose role still exists; a dropped role's rows are reported and left out),
-- and the whole consent history, event ids and times kept, chained into the ledger in event
-- order. Nothing here builds SQL text from names or data.

\echo Use "ALTER EXTENSION pg_privacy UPDATE TO '0.2.0'" to load this file. \quit

-- 1. The registry's rows, kept while its tables are rebuilt.
CREATE TEMPORARY TABLE upgrade_purpose AS SELECT * FROM privacy.purpose;
CREATE TEMPORARY TABLE upgrade_subject_table AS SELECT * FROM privacy.subject_table;
CREATE TEMPORARY TABLE upgrade_role_purpose AS SELECT * FROM privacy.role_purpose;
CREATE TEMPORARY TABLE upgrade_consent_event AS SELECT * FROM privacy.consent_event;

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT u.role_name, u.purpose FROM pg_temp.upgrade_role_purpose u
             WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles a WHERE a.rolname = u.role_name) LOOP
        RAISE WARNING 'pg_privacy update: role "%" no longer exists; its purpose "%" is not carried over', r.role_name, r.purpose;
    END LOOP;
END $$;

-- 2. 0.1.0's objects that 0.2.0 shapes differently.
DROP VIEW privacy.purposes, privacy.subject_tables, privacy.role_purposes, privacy.masking_rules, privacy.masked_roles;
-- out of the extension first, which also takes them off its list of configuration tables
ALTER EXTENSION pg_privacy DROP SEQUENCE privacy.consent_event_event_id_seq;
ALTER EXTENSION pg_privacy DROP TABLE privacy.consent;
ALTER EXTENSION pg_privacy DROP TABLE privacy.consent_event;
ALTER EXTENSION pg_privacy DROP TABLE privacy.role_purpose;
ALTER EXTENSION pg_privacy DROP TABLE privacy.subject_table;
ALTER EXTENSION pg_privacy DROP TABLE privacy.purpose;
DROP TABLE privacy.consent, privacy.consent_event, privacy.role_purpose, privacy.subject_table, privacy.purpose;
-- 0.1.0 functions that 0.2.0 does not have, or has with other privileges (made afresh below)
DROP FUNCTION privacy.create_purpose(text, boolean, text), privacy.require_registry_admin(),
    privacy.allow_purpose(name, text), privacy.disallow_purpose(name, text), privacy.set_subject(regclass, name);
-- The key table leaves the extension for a moment, so that it is a configuration table in the
-- place 0.2.0 gives it (pg_dump keeps its row either way).
ALTER EXTENSION pg_privacy DROP TABLE privacy.key;
DROP TRIGGER key_replaces_previous ON privacy.key;
DROP TRIGGER key_changed ON privacy.key;
-- From here on: 0.2.0's install script (as pgrx generated it at the release), with functions
-- replaced in place and the kept objects (key table, pseudonym type) left as they are.

-- src/keys.rs:181
-- bootstrap

DO $$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'pg_privacy needs a UTF8 database, this one is %', pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Create the database with ENCODING ''UTF8''.';
    END IF;
END $$;

-- privacy.key is kept, with its key: back into the extension, where 0.2.0 creates it
ALTER EXTENSION pg_privacy ADD TABLE privacy.key;

REVOKE ALL ON privacy.key FROM PUBLIC;

COMMENT ON TABLE privacy.key IS
  'pg_privacy''s secret key (superusers only). Losing or replacing it changes every hash and pseudonym.';

CREATE OR REPLACE FUNCTION privacy.key_replaces_previous() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM privacy.key;
    RETURN NEW;
END $$;

REVOKE ALL ON FUNCTION privacy.key_replaces_previous() FROM PUBLIC;

CREATE TRIGGER key_replaces_previous BEFORE INSERT ON privacy.key
    FOR EACH ROW EXECUTE FUNCTION privacy.key_replaces_previous();

-- src/pg/marker.rs:79

CREATE TYPE privacy.rule_call;

CREATE OR REPLACE FUNCTION privacy.rule_call_in(cstring) RETURNS privacy.rule_call
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_call_in';

CREATE OR REPLACE FUNCTION privacy.rule_call_out(privacy.rule_call) RETURNS cstring
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_call_out';

CREATE OR REPLACE FUNCTION privacy.rule_call_recv(internal) RETURNS privacy.rule_call
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_call_recv';

CREATE TYPE privacy.rule_call (
    INPUT = privacy.rule_call_in, OUTPUT = privacy.rule_call_out, RECEIVE = privacy.rule_call_recv,
    INTERNALLENGTH = 37, ALIGNMENT = char, STORAGE = plain
);

COMMENT ON TYPE privacy.rule_call IS
  'Marks calls pg_privacy places in masking rules and consent filters; no SQL can make a value of it.';

-- src/functions/keyed.rs:183
-- requires:
--   rule_call_type


CREATE OR REPLACE FUNCTION privacy.hash(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_hash_rule';

CREATE OR REPLACE FUNCTION privacy.pseudo_email(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_email_rule';

CREATE OR REPLACE FUNCTION privacy.pseudo_first_name(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_first_name_rule';

CREATE OR REPLACE FUNCTION privacy.pseudo_last_name(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_last_name_rule';

CREATE OR REPLACE FUNCTION privacy.pseudo_phone(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_phone_rule';

CREATE OR REPLACE FUNCTION privacy.pseudo_city(privacy.rule_call, text) RETURNS text
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_pseudo_city_rule';

CREATE OR REPLACE FUNCTION privacy.noise(privacy.rule_call, double precision, double precision, text, text)
    RETURNS double precision LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_noise_rule';

CREATE OR REPLACE FUNCTION privacy.noise(privacy.rule_call, integer, double precision, text, text)
    RETURNS integer LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_noise_rule';

CREATE OR REPLACE FUNCTION privacy.noise(privacy.rule_call, bigint, double precision, text, text)
    RETURNS bigint LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_noise_rule';

-- src/consent/filter.rs:446
-- requires:
--   rule_call_type


CREATE OR REPLACE FUNCTION privacy.has_active_consent(privacy.rule_call, text, bigint) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';

CREATE OR REPLACE FUNCTION privacy.has_active_consent(privacy.rule_call, text, uuid) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';

CREATE OR REPLACE FUNCTION privacy.has_active_consent(privacy.rule_call, text, text) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';

CREATE OR REPLACE FUNCTION privacy.has_active_consent(privacy.rule_call, text, bytea) RETURNS boolean
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_has_active_consent';

-- src/masking/side_channels.rs:224

CREATE OR REPLACE FUNCTION privacy.rule_begin(rule text, anchor "any") RETURNS boolean
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_begin';

CREATE OR REPLACE FUNCTION privacy.rule_value(started boolean, value anyelement) RETURNS anyelement
    LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'privacy_rule_value';

COMMENT ON FUNCTION privacy.rule_begin(text, "any") IS
  'Internal: placed by masking rules that may raise errors quoting their input (see docs/masking.md).';

COMMENT ON FUNCTION privacy.rule_value(boolean, anyelement) IS
  'Internal: placed by masking rules that may raise errors quoting their input (see docs/masking.md).';

-- src/consent/registry.rs:246

-- privacy_admin: privacy admins besides superusers (a role is cluster-wide, so it may already
-- exist from another database).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_admin') THEN
        CREATE ROLE privacy_admin NOLOGIN;
    END IF;
END $$;

GRANT USAGE ON SCHEMA privacy TO PUBLIC;

CREATE OR REPLACE FUNCTION privacy.pseudonym_in(cstring) RETURNS privacy.pseudonym
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_in';

CREATE OR REPLACE FUNCTION privacy.pseudonym_out(privacy.pseudonym) RETURNS cstring
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_out';

CREATE OR REPLACE FUNCTION privacy.pseudonym_recv(internal) RETURNS privacy.pseudonym
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_recv';

CREATE OR REPLACE FUNCTION privacy.pseudonym_send(privacy.pseudonym) RETURNS bytea
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_send';

COMMENT ON TYPE privacy.pseudonym IS
  'Keyed HMAC-SHA256 pseudonym of an identifier (32 bytes); text form psn_<base32>. Plaintext input is pseudonymized.';

CREATE OR REPLACE FUNCTION privacy.pseudonym_eq(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_eq';

CREATE OR REPLACE FUNCTION privacy.pseudonym_ne(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_ne';

CREATE OR REPLACE FUNCTION privacy.pseudonym_lt(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_lt';

CREATE OR REPLACE FUNCTION privacy.pseudonym_le(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_le';

CREATE OR REPLACE FUNCTION privacy.pseudonym_gt(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_gt';

CREATE OR REPLACE FUNCTION privacy.pseudonym_ge(privacy.pseudonym, privacy.pseudonym) RETURNS boolean
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_ge';

CREATE OR REPLACE FUNCTION privacy.pseudonym_cmp(privacy.pseudonym, privacy.pseudonym) RETURNS integer
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_cmp';

CREATE OR REPLACE FUNCTION privacy.pseudonym_hash(privacy.pseudonym) RETURNS integer
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_hash';

CREATE OR REPLACE FUNCTION privacy.pseudonymize(text) RETURNS privacy.pseudonym
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_from_text';

COMMENT ON FUNCTION privacy.pseudonymize(text) IS
  'The pseudonym of a plaintext identifier: the value a privacy.pseudonym column stores for it.';

-- The 32 stored bytes (the binary send form): how the consent registry keys a pseudonym subject.
CREATE OR REPLACE FUNCTION privacy.pseudonym_key(privacy.pseudonym) RETURNS bytea
    LANGUAGE c STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF AS 'MODULE_PATHNAME', 'pseudonym_send';

CREATE CAST (privacy.pseudonym AS bytea) WITH FUNCTION privacy.pseudonym_key(privacy.pseudonym);

CREATE OR REPLACE FUNCTION privacy.pseudonymize(privacy.rule_call, text) RETURNS privacy.pseudonym
    LANGUAGE c STRICT STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pseudonym_from_text_rule';

-- src/tools/anonymize.rs:22
-- pg_privacy::tools::anonymize::anonymizable_columns
CREATE OR REPLACE FUNCTION "anonymizable_columns"(
	"relid" oid /* pg_sys :: Oid */
) RETURNS TEXT[] /* Vec < String > */
STRICT STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'rewritable_columns_wrapper';

-- src/tools/anonymize.rs:53
-- pg_privacy::tools::anonymize::anonymize_pages
CREATE OR REPLACE FUNCTION "anonymize_pages"(
	"relation" oid, /* pg_sys :: Oid */
	"first_page" bigint, /* i64 */
	"end_page" bigint /* i64 */
) RETURNS bigint /* i64 */
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'anonymize_pages_wrapper';

-- pg_privacy::tools::anonymize::anonymize_prepare
CREATE OR REPLACE FUNCTION "anonymize_prepare"(
	"relation" oid /* pg_sys :: Oid */
) RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'anonymize_prepare_wrapper';

-- src/tools/policy.rs:169
-- pg_privacy::tools::policy::apply_policy_text
CREATE OR REPLACE FUNCTION "apply_policy_text"(
	"policy" TEXT, /* & str */
	"dry_run" bool /* bool */
) RETURNS TABLE (
	"action" TEXT,  /* String */
	"object_type" TEXT,  /* String */
	"object" TEXT,  /* String */
	"value" TEXT  /* Option < String > */
)
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'apply_policy_text_wrapper';

-- src/rights/mod.rs:31
-- pg_privacy::rights::begin_anonymizing
CREATE OR REPLACE FUNCTION "begin_anonymizing"() RETURNS INT /* i32 */
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'begin_anonymizing_wrapper';

-- src/masking/break_glass.rs:293
-- pg_privacy::masking::break_glass::break_glass_close
CREATE OR REPLACE FUNCTION "break_glass_close"() RETURNS bool /* bool */
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'break_glass_close_wrapper';

-- src/masking/break_glass.rs:237
-- pg_privacy::masking::break_glass::break_glass_open
CREATE OR REPLACE FUNCTION "break_glass_open"(
	"reason" TEXT, /* & str */
	"duration" interval /* Interval */
) RETURNS timestamp with time zone /* TimestampWithTimeZone */
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'break_glass_open_wrapper';

-- src/masking/break_glass.rs:305
-- pg_privacy::masking::break_glass::break_glass_until
CREATE OR REPLACE FUNCTION "break_glass_until"() RETURNS timestamp with time zone /* Option < TimestampWithTimeZone > */
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'break_glass_until_wrapper';

-- src/masking/break_glass.rs:350
-- requires:
--   admin_role
--   break_glass_open
--   break_glass_close
--   break_glass_until


-- privacy_break_glass: members may open a break-glass window (a role is cluster-wide, so it may
-- already exist from another database).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'privacy_break_glass') THEN
        CREATE ROLE privacy_break_glass NOLOGIN;
    END IF;
END $$;

-- Every break-glass window, append-only: who, when, why, until when.
CREATE TABLE privacy.access_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT pg_catalog.statement_timestamp(),
    login       name NOT NULL DEFAULT session_user,
    backend_pid integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    event       text NOT NULL CHECK (event IN ('begin', 'end')),
    reason      text,
    until       timestamptz
);

REVOKE ALL ON privacy.access_log FROM PUBLIC;

GRANT SELECT ON privacy.access_log TO privacy_admin;

CREATE OR REPLACE FUNCTION privacy.access_log_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'privacy.access_log is append-only'
        USING ERRCODE = '42501', HINT = 'Break-glass records cannot be changed or removed.';
END $$;

CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON privacy.access_log
    FOR EACH ROW EXECUTE FUNCTION privacy.access_log_append_only();

CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON privacy.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.access_log_append_only();

REVOKE ALL ON FUNCTION privacy.break_glass_open(text, interval) FROM PUBLIC;

REVOKE ALL ON FUNCTION privacy.break_glass_close() FROM PUBLIC;

CREATE OR REPLACE FUNCTION privacy.break_glass(reason text, duration interval) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    until timestamptz := privacy.break_glass_open(reason, duration);
BEGIN
    INSERT INTO privacy.access_log (login, event, reason, until)
    VALUES (session_user, 'begin', btrim(reason), until);
    PERFORM pg_notify('privacy_break_glass', json_build_object(
        'event', 'begin', 'login', session_user, 'reason', btrim(reason), 'until', until,
        'backend_pid', pg_backend_pid())::text);
    RETURN until;
END $$;

REVOKE ALL ON FUNCTION privacy.break_glass(text, interval) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION privacy.break_glass(text, interval) TO privacy_break_glass;

CREATE OR REPLACE FUNCTION privacy.end_break_glass() RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT privacy.break_glass_close() THEN
        RETURN false;
    END IF;
    INSERT INTO privacy.access_log (login, event) VALUES (session_user, 'end');
    PERFORM pg_notify('privacy_break_glass', json_build_object(
        'event', 'end', 'login', session_user, 'backend_pid', pg_backend_pid())::text);
    RETURN true;
END $$;

GRANT EXECUTE ON FUNCTION privacy.end_break_glass() TO PUBLIC;

GRANT EXECUTE ON FUNCTION privacy.break_glass_until() TO PUBLIC;

-- src/functions/masking.rs:112
-- pg_privacy::functions::masking::bucket
CREATE OR REPLACE FUNCTION "bucket"(
	"value" double precision, /* f64 */
	"width" double precision /* f64 */
) RETURNS double precision /* f64 */
IMMUTABLE STRICT PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'bucket_float8_wrapper';

-- src/functions/masking.rs:99
-- pg_privacy::functions::masking::bucket
CREATE OR REPLACE FUNCTION "bucket"(
	"value" INT, /* i32 */
	"width" INT /* i32 */
) RETURNS INT /* i32 */
IMMUTABLE STRICT PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'bucket_int4_wrapper';

-- src/functions/masking.rs:107
-- pg_privacy::functions::masking::bucket
CREATE OR REPLACE FUNCTION "bucket"(
	"value" bigint, /* i64 */
	"width" bigint /* i64 */
) RETURNS bigint /* i64 */
IMMUTABLE STRICT PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'bucket_int8_wrapper';

-- src/tools/discover.rs:158
-- pg_privacy::tools::discover::discover_columns
CREATE OR REPLACE FUNCTION "discover_columns"(
	"schemas" TEXT[], /* :: std :: option :: Option < Vec < String > > */
	"sample_rows" INT /* i32 */
) RETURNS TABLE (
	"schema_name" TEXT,  /* String */
	"table_name" TEXT,  /* String */
	"column_name" TEXT,  /* String */
	"data_type" TEXT,  /* String */
	"kind" TEXT,  /* String */
	"found_by" TEXT,  /* String */
	"match_share" double precision,  /* f64 */
	"sampled_values" bigint,  /* i64 */
	"covered" bool,  /* bool */
	"suggested_label" TEXT  /* String */
)
VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'discover_columns_wrapper';

-- src/tools/discover.rs:225
-- requires:
--   discover_columns


CREATE OR REPLACE FUNCTION privacy.discover(schemas text[] DEFAULT NULL, sample_rows integer DEFAULT 1000)
RETURNS TABLE (schema_name text, table_name text, column_name text, data_type text, kind text,
               found_by text, match_share float8, sampled_values bigint, covered boolean,
               suggested_label text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM privacy.discover_columns(schemas, sample_rows) $$;

-- src/rights/mod.rs:39
-- pg_privacy::rights::end_anonymizing
CREATE OR REPLACE FUNCTION "end_anonymizing"(
	"depth" INT /* i32 */
) RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'end_anonymizing_wrapper';

-- src/guards.rs:145
-- pg_privacy::guards::enforcement_active
CREATE OR REPLACE FUNCTION "enforcement_active"() RETURNS bool /* bool */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'enforcement_active_wrapper';

-- src/tools/policy.rs:108
-- pg_privacy::tools::policy::export_policy_text
CREATE OR REPLACE FUNCTION "export_policy_text"() RETURNS TEXT /* String */
STRICT STABLE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'export_policy_text_wrapper';

-- src/tools/policy.rs:199
-- requires:
--   export_policy_text
--   apply_policy_text


-- IntervalStyle is pinned too: retention is written and compared as ISO 8601 (P2Y), whatever
-- the session's style.
CREATE OR REPLACE FUNCTION privacy.export_policy() RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET intervalstyle = 'iso_8601'
AS $$ SELECT privacy.export_policy_text()::jsonb $$;

CREATE OR REPLACE FUNCTION privacy.apply_policy(policy jsonb, dry_run boolean DEFAULT true)
RETURNS TABLE (action text, object_type text, object text, value text)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp SET intervalstyle = 'iso_8601'
AS $$ SELECT * FROM privacy.apply_policy_text(policy::text, dry_run) $$;

-- src/functions/masking.rs:207
-- pg_privacy::functions::masking::fake_city
CREATE OR REPLACE FUNCTION "fake_city"() RETURNS TEXT /* String */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_city_wrapper';

-- src/functions/masking.rs:217
-- pg_privacy::functions::masking::fake_country
CREATE OR REPLACE FUNCTION "fake_country"() RETURNS TEXT /* & '_ str */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_country_wrapper';

-- src/functions/masking.rs:197
-- pg_privacy::functions::masking::fake_email
CREATE OR REPLACE FUNCTION "fake_email"() RETURNS TEXT /* String */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_email_wrapper';

-- src/functions/masking.rs:187
-- pg_privacy::functions::masking::fake_first_name
CREATE OR REPLACE FUNCTION "fake_first_name"() RETURNS TEXT /* & '_ str */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_first_name_wrapper';

-- src/functions/masking.rs:192
-- pg_privacy::functions::masking::fake_last_name
CREATE OR REPLACE FUNCTION "fake_last_name"() RETURNS TEXT /* & '_ str */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_last_name_wrapper';

-- src/functions/masking.rs:202
-- pg_privacy::functions::masking::fake_phone
CREATE OR REPLACE FUNCTION "fake_phone"() RETURNS TEXT /* String */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_phone_wrapper';

-- src/functions/masking.rs:212
-- pg_privacy::functions::masking::fake_street_address
CREATE OR REPLACE FUNCTION "fake_street_address"() RETURNS TEXT /* String */
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'fake_street_address_wrapper';

-- src/functions/masking.rs:90
-- pg_privacy::functions::masking::generalize_date
CREATE OR REPLACE FUNCTION "generalize_date"(
	"value" date, /* Date */
	"unit" TEXT /* & str */
) RETURNS date /* Date */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'generalize_date_wrapper';

-- src/guards.rs:175
-- pg_privacy::guards::guard_subject_table
CREATE OR REPLACE FUNCTION "guard_subject_table"(
	"relation" oid /* pg_sys :: Oid */
) RETURNS void
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'guard_subject_table_wrapper';

-- src/guards.rs:182
-- requires:
--   guard_subject_table
--   admin_role


REVOKE ALL ON FUNCTION privacy.guard_subject_table(oid) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION privacy.guard_subject_table(oid) TO privacy_admin;

-- src/functions/keyed.rs:55
-- pg_privacy::functions::keyed::hash
CREATE OR REPLACE FUNCTION "hash"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'hash_wrapper';

-- src/admin.rs:45
-- pg_privacy::admin::is_admin
CREATE OR REPLACE FUNCTION "is_admin"() RETURNS bool /* bool */
STRICT STABLE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'is_admin_sql_wrapper';

-- src/keys.rs:146
-- pg_privacy::keys::key_fingerprint
CREATE OR REPLACE FUNCTION "key_fingerprint"() RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'key_fingerprint_wrapper';

-- src/consent/ledger.rs:81
-- pg_privacy::consent::ledger::ledger_anchor_digest
CREATE OR REPLACE FUNCTION "ledger_anchor_digest"(
	"previous" bytea, /* Option < & [u8] > */
	"watermark" bigint, /* i64 */
	"keys" bytea[], /* :: std :: option :: Option < pgrx :: Array < '_, & [u8] > > */
	"event_ids" bigint[], /* :: std :: option :: Option < pgrx :: Array < '_, i64 > > */
	"hashes" bytea[] /* :: std :: option :: Option < pgrx :: Array < '_, & [u8] > > */
) RETURNS bytea /* Vec < u8 > */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ledger_anchor_digest_wrapper';

-- src/consent/ledger.rs:44
-- pg_privacy::consent::ledger::ledger_event_hash
CREATE OR REPLACE FUNCTION "ledger_event_hash"(
	"previous" bytea, /* Option < & [u8] > */
	"event_id" bigint, /* Option < i64 > */
	"subject_key" bytea, /* Option < & [u8] > */
	"purpose" TEXT, /* Option < & str > */
	"state" TEXT, /* Option < & str > */
	"valid_until" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"recorded_at" timestamp with time zone, /* Option < TimestampWithTimeZone > */
	"recorded_by" TEXT, /* Option < & str > */
	"source" TEXT /* Option < & str > */
) RETURNS bytea /* Vec < u8 > */
IMMUTABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ledger_event_hash_wrapper';

-- src/consent/ledger.rs:73
-- pg_privacy::consent::ledger::ledger_subject_key
CREATE OR REPLACE FUNCTION "ledger_subject_key"(
	"subject" TEXT /* & str */
) RETURNS bytea /* Vec < u8 > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'ledger_subject_key_wrapper';

-- src/functions/masking.rs:47
-- pg_privacy::functions::masking::mask_card
CREATE OR REPLACE FUNCTION "mask_card"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'mask_card_wrapper';

-- src/functions/masking.rs:37
-- pg_privacy::functions::masking::mask_email
CREATE OR REPLACE FUNCTION "mask_email"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'mask_email_wrapper';

-- src/functions/masking.rs:52
-- pg_privacy::functions::masking::mask_iban
CREATE OR REPLACE FUNCTION "mask_iban"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'mask_iban_wrapper';

-- src/functions/masking.rs:57
-- pg_privacy::functions::masking::mask_ip
CREATE OR REPLACE FUNCTION "mask_ip"(
	"value" inet /* Inet */
) RETURNS inet /* Inet */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'mask_ip_wrapper';

-- src/functions/masking.rs:42
-- pg_privacy::functions::masking::mask_phone
CREATE OR REPLACE FUNCTION "mask_phone"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'mask_phone_wrapper';

-- src/masking/roles.rs:98
-- pg_privacy::masking::roles::masked_role_list
CREATE OR REPLACE FUNCTION "masked_role_list"() RETURNS TABLE (
	"role" TEXT,  /* String */
	"reason" TEXT  /* String */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'masked_role_list_wrapper';

-- src/masking/roles.rs:122
-- requires:
--   masked_role_list


CREATE VIEW privacy.masked_roles AS SELECT * FROM privacy.masked_role_list();

GRANT SELECT ON privacy.masked_roles TO PUBLIC;

-- src/masking/rules.rs:209
-- pg_privacy::masking::rules::masking_rule_list
CREATE OR REPLACE FUNCTION "masking_rule_list"() RETURNS TABLE (
	"relation" oid,  /* pg_sys :: Oid */
	"column_name" TEXT,  /* String */
	"rule" TEXT,  /* String */
	"source" oid,  /* pg_sys :: Oid */
	"applies_to" TEXT  /* String */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'masking_rule_list_wrapper';

-- src/masking/rules.rs:251
-- requires:
--   masking_rule_list


-- Every rule in force, computed by the same resolver the query rewriting uses. A rule a table
-- inherits from an ancestor names it in inherited_from; a rule found on a child table applies to
-- the parent's column only in reads that include child tables.
CREATE VIEW privacy.masking_rules AS
SELECT relation::pg_catalog.regclass AS "table",
       column_name AS "column",
       rule,
       CASE WHEN source = relation THEN NULL ELSE source::pg_catalog.regclass END AS inherited_from,
       applies_to
FROM privacy.masking_rule_list();

GRANT SELECT ON privacy.masking_rules TO PUBLIC;

-- src/functions/masking.rs:172
-- pg_privacy::functions::masking::noise
CREATE OR REPLACE FUNCTION "noise"(
	"value" double precision, /* f64 */
	"ratio" double precision /* f64 */
) RETURNS double precision /* f64 */
STRICT VOLATILE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'noise_float8_wrapper';

-- src/functions/masking.rs:177
-- pg_privacy::functions::masking::noise
CREATE OR REPLACE FUNCTION "noise"(
	"value" INT, /* i32 */
	"ratio" double precision /* f64 */
) RETURNS INT /* i32 */
STRICT VOLATILE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'noise_int4_wrapper';

-- src/functions/masking.rs:182
-- pg_privacy::functions::masking::noise
CREATE OR REPLACE FUNCTION "noise"(
	"value" bigint, /* i64 */
	"ratio" double precision /* f64 */
) RETURNS bigint /* i64 */
STRICT VOLATILE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'noise_int8_wrapper';

-- src/functions/masking.rs:32
-- pg_privacy::functions::masking::partial
CREATE OR REPLACE FUNCTION "partial"(
	"value" TEXT, /* & str */
	"prefix" INT, /* i32 */
	"padding" TEXT, /* & str */
	"suffix" INT /* i32 */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'partial_wrapper';

-- src/functions/masking.rs:118
-- pg_privacy::functions::masking::positive_bucket_width
CREATE OR REPLACE FUNCTION "positive_bucket_width"(
	"width" NUMERIC /* AnyNumeric */
) RETURNS NUMERIC /* AnyNumeric */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'positive_bucket_width_wrapper';

-- src/functions/masking.rs:130
-- requires:
--   positive_bucket_width


CREATE OR REPLACE FUNCTION privacy.bucket(value numeric, width numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT floor(value / privacy.positive_bucket_width(width)) * width
$$;

COMMENT ON FUNCTION privacy.bucket(numeric, numeric) IS
  'Lower bound of the width-sized bucket holding value (numeric version).';

-- src/tools/preview.rs:94
-- pg_privacy::tools::preview::preview_access_rows
CREATE OR REPLACE FUNCTION "preview_access_rows"(
	"role" oid, /* pg_sys :: Oid */
	"relation" oid, /* pg_sys :: Oid */
	"purpose" TEXT /* Option < & str > */
) RETURNS TABLE (
	"column_name" TEXT,  /* String */
	"sees" TEXT,  /* String */
	"rule" TEXT,  /* Option < String > */
	"row_filter" TEXT,  /* String */
	"visible_rows" bigint  /* Option < i64 > */
)
STABLE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'preview_access_rows_wrapper';

-- src/functions/keyed.rs:85
-- pg_privacy::functions::keyed::pseudo_city
CREATE OR REPLACE FUNCTION "pseudo_city"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'pseudo_city_wrapper';

-- src/functions/keyed.rs:61
-- pg_privacy::functions::keyed::pseudo_email
CREATE OR REPLACE FUNCTION "pseudo_email"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'pseudo_email_wrapper';

-- src/functions/keyed.rs:67
-- pg_privacy::functions::keyed::pseudo_first_name
CREATE OR REPLACE FUNCTION "pseudo_first_name"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'pseudo_first_name_wrapper';

-- src/functions/keyed.rs:73
-- pg_privacy::functions::keyed::pseudo_last_name
CREATE OR REPLACE FUNCTION "pseudo_last_name"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'pseudo_last_name_wrapper';

-- src/functions/keyed.rs:79
-- pg_privacy::functions::keyed::pseudo_phone
CREATE OR REPLACE FUNCTION "pseudo_phone"(
	"value" TEXT /* & str */
) RETURNS TEXT /* String */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'pseudo_phone_wrapper';

-- src/consent/registry.rs:638
-- pg_privacy::consent::registry::purpose_list
CREATE OR REPLACE FUNCTION "purpose_list"() RETURNS TABLE (
	"name" TEXT,  /* String */
	"requires_consent" bool,  /* bool */
	"description" TEXT,  /* Option < String > */
	"retention" interval,  /* Option < pgrx :: datum :: Interval > */
	"created_at" timestamp with time zone,  /* Option < pgrx :: datum :: TimestampWithTimeZone > */
	"created_by" TEXT  /* Option < String > */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'purpose_list_wrapper';

-- src/keys.rs:153
-- pg_privacy::keys::random_key
CREATE OR REPLACE FUNCTION "random_key"() RETURNS bytea /* Vec < u8 > */
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'random_key_wrapper';

-- src/functions/masking.rs:62
-- pg_privacy::functions::masking::redact
CREATE OR REPLACE FUNCTION "redact"(
	"value" TEXT /* & str */
) RETURNS TEXT /* & '_ str */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'redact_wrapper';

-- src/functions/masking.rs:74
-- pg_privacy::functions::masking::regex_redact
CREATE OR REPLACE FUNCTION "regex_redact"(
	"value" TEXT, /* & str */
	"pattern" TEXT, /* & str */
	"replacement" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'regex_redact_wrapper';

-- src/admin.rs:39
-- pg_privacy::admin::require_admin
CREATE OR REPLACE FUNCTION "require_admin"(
	"what" TEXT /* & str */
) RETURNS void
STRICT VOLATILE PARALLEL SAFE 
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'require_admin_sql_wrapper';

-- src/admin.rs:50
-- requires:
--   require_admin_sql
--   is_admin_sql

-- privacy.require_admin() and privacy.is_admin() are defined above

-- src/consent/registry.rs:680
-- pg_privacy::consent::registry::role_purpose_list
CREATE OR REPLACE FUNCTION "role_purpose_list"() RETURNS TABLE (
	"role_name" TEXT,  /* String */
	"purpose" TEXT,  /* String */
	"requires_consent" bool  /* bool */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'role_purpose_list_wrapper';

-- src/consent/record.rs
-- pg_privacy::consent::record::event_being_recorded
CREATE OR REPLACE FUNCTION "event_being_recorded"() RETURNS bigint /* i64 */
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'event_being_recorded_wrapper';

-- src/consent/registry.rs:208
-- pg_privacy::consent::registry::subject_as_bigint
CREATE OR REPLACE FUNCTION "subject_as_bigint"(
	"subject" TEXT /* & str */
) RETURNS bigint /* Option < i64 > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_as_bigint_wrapper';

-- src/consent/registry.rs:214
-- pg_privacy::consent::registry::subject_as_uuid
CREATE OR REPLACE FUNCTION "subject_as_uuid"(
	"subject" TEXT /* & str */
) RETURNS uuid /* Option < pgrx :: Uuid > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_as_uuid_wrapper';

-- src/consent/registry.rs:261
-- requires:
--   admin_role
--   subject_as_bigint
--   subject_as_uuid


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

CREATE OR REPLACE FUNCTION privacy.consent_event_is_append_only() RETURNS trigger
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
CREATE OR REPLACE FUNCTION privacy.consent_until(state text, valid_until timestamptz, recorded_at timestamptz, retention interval)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN state = 'withdrawn' THEN '-infinity'::timestamptz
                ELSE least(coalesce(valid_until, 'infinity'::timestamptz),
                           CASE WHEN retention IS NULL THEN 'infinity'::timestamptz ELSE recorded_at + retention END) END
$$;

CREATE OR REPLACE FUNCTION privacy.consent_event_applied() RETURNS trigger
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
CREATE OR REPLACE FUNCTION privacy.rebuild_consent_state() RETURNS void
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
CREATE OR REPLACE FUNCTION privacy.subject_tables_changed() RETURNS trigger
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

-- src/tools/preview.rs:194
-- requires:
--   preview_access_rows
--   consent_tables


-- Admins preview consent filters by counting rows the way the filter finds them; they already
-- read the consent history (privacy.consent_event).
GRANT SELECT ON privacy.consent_bigint, privacy.consent_uuid, privacy.consent_text, privacy.consent_pseudonym TO privacy_admin;

CREATE OR REPLACE FUNCTION privacy.preview_access(role regrole, relation regclass, purpose text DEFAULT NULL)
RETURNS TABLE (column_name text, sees text, rule text, row_filter text, visible_rows bigint)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM privacy.preview_access_rows(role, relation, purpose) $$;

-- src/consent/ledger.rs:112
-- requires:
--   consent_tables
--   ledger_event_hash
--   ledger_subject_key
--   ledger_anchor_digest
--   admin_functions


-- Anchors: digests over every chain's last hash up to a watermark, chained to each other. Copy
-- each one somewhere the database's superusers cannot rewrite.
CREATE TABLE privacy.ledger_anchor (
    anchor_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    watermark bigint NOT NULL,
    chains    bigint NOT NULL,
    previous  bytea,
    digest    bytea NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    taken_by  name NOT NULL DEFAULT session_user,
    -- anchors form one chain: no two follow the same anchor (nor two start it)
    UNIQUE NULLS NOT DISTINCT (previous)
);

REVOKE ALL ON privacy.ledger_anchor FROM PUBLIC;

GRANT SELECT ON privacy.ledger_anchor TO privacy_admin;

SELECT pg_catalog.pg_extension_config_dump('privacy.ledger_anchor', '');
-- After a restore's COPY (a statement), numbering goes on after the restored anchors. The identity's
-- sequence is not an extension configuration object: pg_dump would read it for every role that
-- dumps the database, and fail for those that may not.
CREATE FUNCTION privacy.anchor_numbering() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    seq regclass := pg_get_serial_sequence('privacy.ledger_anchor', 'anchor_id')::regclass;
    top bigint;
BEGIN
    SELECT max(t.anchor_id) INTO top FROM privacy.ledger_anchor t;
    IF top > coalesce(pg_sequence_last_value(seq), 0) THEN
        PERFORM setval(seq, top);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER numbering AFTER INSERT ON privacy.ledger_anchor FOR EACH STATEMENT EXECUTE FUNCTION privacy.anchor_numbering();

REVOKE ALL ON FUNCTION privacy.ledger_subject_key(text) FROM PUBLIC;

-- Locks the subject's chain and returns its last hash, NULL for a new subject (consent/record.rs);
-- refuses an event id not above the chain's last one.
CREATE OR REPLACE FUNCTION privacy.ledger_lock(key bytea, event_id bigint) RETURNS bytea
LANGUAGE c VOLATILE STRICT PARALLEL UNSAFE AS 'MODULE_PATHNAME', 'ledger_lock';

REVOKE ALL ON FUNCTION privacy.ledger_lock(bytea, bigint) FROM PUBLIC;

-- Chains each new event to its subject's previous one. Events that arrive with a hash (a restore)
-- are kept as they are.
CREATE OR REPLACE FUNCTION privacy.consent_event_chained() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.subject IS NULL THEN
        RAISE EXCEPTION 'a consent event needs its subject'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the data subject''s id.';
    END IF;
    NEW.subject_key := privacy.ledger_subject_key(NEW.subject);
    NEW.prev_hash := privacy.ledger_lock(NEW.subject_key, NEW.event_id);
    NEW.hash := privacy.ledger_event_hash(NEW.prev_hash, NEW.event_id, NEW.subject_key, NEW.purpose, NEW.state,
                                          NEW.valid_until, NEW.recorded_at, NEW.recorded_by, NEW.source);
    RETURN NEW;
END $$;

CREATE TRIGGER chained BEFORE INSERT ON privacy.consent_event
    FOR EACH ROW WHEN (NEW.hash IS NULL) EXECUTE FUNCTION privacy.consent_event_chained();

-- Records an anchor over the whole ledger and returns it as hex, to be kept outside the database.
-- New events wait while it is taken, so no event with a smaller id can commit after it; so does
-- another anchor (SHARE ROW EXCLUSIVE conflicts with itself, where SHARE did not: two anchors
-- taken at once both followed the same previous one), which then follows this one.
CREATE OR REPLACE FUNCTION privacy.ledger_anchor() RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w bigint;
    prev bytea;
    n bigint;
    d bytea;
BEGIN
    PERFORM privacy.require_admin('anchor the consent ledger');
    LOCK TABLE privacy.consent_event IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(max(event_id), 0) INTO w FROM privacy.consent_event;
    SELECT a.digest INTO prev FROM privacy.ledger_anchor a ORDER BY a.anchor_id DESC LIMIT 1;
    SELECT count(*), privacy.ledger_anchor_digest(prev, w, array_agg(t.subject_key), array_agg(t.event_id), array_agg(t.hash))
    INTO n, d
    FROM privacy.ledger_heads_at(w) t;
    BEGIN
        INSERT INTO privacy.ledger_anchor (watermark, chains, previous, digest) VALUES (w, n, prev, d);
    EXCEPTION WHEN unique_violation THEN
        -- a REPEATABLE READ snapshot older than the last anchor: following the anchor it sees
        -- would fork the chain (the unique constraint on previous refuses that)
        RAISE EXCEPTION 'another anchor was taken after this transaction''s snapshot'
            USING ERRCODE = 'serialization_failure',
                  HINT = 'Take the anchor in a new transaction.';
    END;
    RETURN encode(d, 'hex');
END $$;

-- Every chain's last event among events up to a watermark.
CREATE OR REPLACE FUNCTION privacy.ledger_heads_at(watermark bigint)
RETURNS TABLE (subject_key bytea, event_id bigint, hash bytea)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.subject_key, e.event_id, e.hash
    FROM privacy.consent_event e
    WHERE e.event_id <= watermark
      AND NOT EXISTS (SELECT FROM privacy.consent_event n
                      WHERE n.subject_key = e.subject_key AND n.prev_hash = e.hash AND n.event_id <= watermark)
$$;

-- Checks the whole ledger: every hash, every link, one chain per subject, every anchor, and (if
-- given) that an anchor kept outside the database is one the ledger still produces. One row: the
-- counts, and the first problem found (NULL when the ledger is intact).
CREATE OR REPLACE FUNCTION privacy.verify_ledger(expected_anchor text DEFAULT NULL)
RETURNS TABLE (intact boolean, events bigint, chains bigint, anchors bigint, event_id bigint, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad bigint;
    a record;
    prev bytea;
    recomputed bytea;
    matched boolean := expected_anchor IS NULL;
BEGIN
    PERFORM privacy.require_admin('verify the consent ledger');
    SELECT count(*), count(DISTINCT e.subject_key) INTO events, chains FROM privacy.consent_event e;
    SELECT count(*) INTO anchors FROM privacy.ledger_anchor;
    intact := false;

    SELECT min(e.event_id) INTO bad FROM privacy.consent_event e
    WHERE e.hash IS DISTINCT FROM privacy.ledger_event_hash(e.prev_hash, e.event_id, e.subject_key, e.purpose, e.state,
                                                           e.valid_until, e.recorded_at, e.recorded_by, e.source);
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'the event''s contents do not match its hash: it was changed';
        RETURN NEXT; RETURN;
    END IF;
    -- an event follows an earlier event of its subject: chains follow id order (recording takes
    -- the id after the chain's lock), so one that follows a later event was added out of order
    SELECT min(e.event_id) INTO bad FROM privacy.consent_event e
    WHERE e.prev_hash IS NOT NULL
      AND NOT EXISTS (SELECT FROM privacy.consent_event p
                      WHERE p.subject_key = e.subject_key AND p.event_id < e.event_id AND p.hash = e.prev_hash);
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'the event does not follow any earlier event of its subject: an event before it was changed or removed, or it was added out of order';
        RETURN NEXT; RETURN;
    END IF;
    SELECT min(s.first_event) INTO bad FROM (
        SELECT min(e.event_id) AS first_event FROM privacy.consent_event e GROUP BY e.subject_key
        HAVING count(*) FILTER (WHERE e.prev_hash IS NULL) <> 1) s;
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'the subject''s events do not start one chain: its first event was removed or a chain was added';
        RETURN NEXT; RETURN;
    END IF;
    SELECT min(f.last_event) INTO bad FROM (
        SELECT max(e.event_id) AS last_event FROM privacy.consent_event e WHERE e.prev_hash IS NOT NULL
        GROUP BY e.subject_key, e.prev_hash HAVING count(*) > 1) f;
    IF bad IS NOT NULL THEN
        event_id := bad; problem := 'two events follow the same event: an event was inserted or the chain was rebuilt';
        RETURN NEXT; RETURN;
    END IF;

    FOR a IN SELECT * FROM privacy.ledger_anchor ORDER BY anchor_id LOOP
        IF a.previous IS DISTINCT FROM prev THEN
            event_id := a.watermark; problem := format('anchor %s does not follow the anchor before it: anchors were changed or removed', a.anchor_id);
            RETURN NEXT; RETURN;
        END IF;
        SELECT privacy.ledger_anchor_digest(a.previous, a.watermark, array_agg(t.subject_key), array_agg(t.event_id), array_agg(t.hash))
        INTO recomputed FROM privacy.ledger_heads_at(a.watermark) t;
        IF recomputed IS DISTINCT FROM a.digest THEN
            event_id := a.watermark;
            problem := format('the history up to event %s no longer produces anchor %s: events before it were changed, removed or added', a.watermark, a.anchor_id);
            RETURN NEXT; RETURN;
        END IF;
        IF expected_anchor IS NOT NULL AND encode(a.digest, 'hex') = lower(expected_anchor) THEN
            matched := true;
        END IF;
        prev := a.digest;
    END LOOP;
    IF NOT matched THEN
        problem := 'the anchor given is not one this ledger produces: the history or its anchors were rewritten';
        RETURN NEXT; RETURN;
    END IF;
    intact := true;
    RETURN NEXT;
END $$;

REVOKE ALL ON FUNCTION privacy.ledger_anchor(), privacy.verify_ledger(text), privacy.ledger_heads_at(bigint) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION privacy.ledger_anchor(), privacy.verify_ledger(text) TO privacy_admin;

-- src/consent/registry.rs:220
-- pg_privacy::consent::registry::subject_canonical
CREATE OR REPLACE FUNCTION "subject_canonical"(
	"subject" TEXT /* & str */
) RETURNS TEXT /* String */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_canonical_wrapper';

-- src/consent/registry.rs:237
-- pg_privacy::consent::registry::subject_id_kinds
CREATE OR REPLACE FUNCTION "subject_id_kinds"() RETURNS TEXT[] /* Vec < String > */
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_id_kinds_wrapper';

-- src/rights/mod.rs:146
-- pg_privacy::rights::subject_map
CREATE OR REPLACE FUNCTION "subject_map"() RETURNS TABLE (
	"step" INT,  /* i32 */
	"relation" oid,  /* pg_sys :: Oid */
	"subject_column" TEXT,  /* String */
	"id_kind" TEXT,  /* Option < String > */
	"subject_column_nullable" bool,  /* bool */
	"subject_column_masked" bool,  /* bool */
	"masked_columns" TEXT[]  /* Vec < String > */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_map_wrapper';

-- src/rights/mod.rs:496
-- pg_privacy::rights::subject_match
CREATE OR REPLACE FUNCTION "subject_match"(
	"kind" TEXT /* & str */
) RETURNS TEXT /* Option < & '_ str > */
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_match_wrapper';

-- src/consent/registry.rs:662
-- pg_privacy::consent::registry::subject_table_list
CREATE OR REPLACE FUNCTION "subject_table_list"() RETURNS TABLE (
	"relation" oid,  /* pg_sys :: Oid */
	"subject_column" TEXT,  /* String */
	"id_kind" TEXT,  /* Option < String > */
	"filtered_for" TEXT[]  /* Vec < String > */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'subject_table_list_wrapper';

-- src/rights/mod.rs:170
-- pg_privacy::rights::unmapped_subject_references
CREATE OR REPLACE FUNCTION "unmapped_subject_references"() RETURNS TABLE (
	"relation" oid,  /* pg_sys :: Oid */
	"constraint_name" TEXT,  /* String */
	"references_table" oid  /* pg_sys :: Oid */
)
STRICT STABLE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'unmapped_subject_references_wrapper';

-- src/guards.rs:321
-- pg_privacy::guards::upgrade_guards
CREATE OR REPLACE FUNCTION "upgrade_guards"() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'upgrade_guards_wrapper';

-- src/guards.rs:362
-- requires:
--   upgrade_guards

REVOKE ALL ON FUNCTION privacy.upgrade_guards() FROM PUBLIC;

-- src/tools/anonymize.rs:87
-- pg_privacy::tools::anonymize::written_by_this_transaction
CREATE OR REPLACE FUNCTION "written_by_this_transaction"(
	"xmin" bigint /* i64 */
) RETURNS bool /* bool */
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'written_by_this_transaction_wrapper';

-- src/tools/anonymize.rs:94
-- requires:
--   written_by_this_transaction
--   anonymize_pages
--   rewritable_columns
--   masking_rules_view
--   admin_role



REVOKE ALL ON FUNCTION privacy.anonymize_pages(oid, bigint, bigint) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION privacy.anonymize_pages(oid, bigint, bigint) TO privacy_admin;
REVOKE ALL ON FUNCTION privacy.anonymize_prepare(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION privacy.anonymize_prepare(oid) TO privacy_admin;

CREATE OR REPLACE FUNCTION privacy.anonymize_table(relation regclass, confirm_database text, batch_pages integer DEFAULT 1000)
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

-- src/consent/registry.rs:694
-- pg_privacy::consent::registry::consent_config_changed
CREATE OR REPLACE FUNCTION "consent_config_changed"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'consent_config_changed_wrapper';

-- src/consent/registry.rs:444
-- requires:
--   consent_tables
--   guard_subject_table_privileges
--   subject_id_kinds
--   consent_config_changed
--   admin_functions
--   purpose_list
--   subject_table_list
--   role_purpose_list


CREATE OR REPLACE FUNCTION privacy.create_purpose(name text, requires_consent boolean, description text DEFAULT NULL,
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
CREATE OR REPLACE FUNCTION privacy.set_retention(purpose text, retention interval)
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

CREATE OR REPLACE FUNCTION privacy.set_subject(relation regclass, subject_column name)
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

CREATE OR REPLACE FUNCTION privacy.allow_purpose(role_name name, purpose text)
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

CREATE OR REPLACE FUNCTION privacy.disallow_purpose(role_name name, purpose text)
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
CREATE OR REPLACE FUNCTION privacy.grant_consent(subject text, purpose text, expires_at timestamptz DEFAULT NULL, source text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'grant_consent';

CREATE OR REPLACE FUNCTION privacy.withdraw_consent(subject text, purpose text, source text DEFAULT NULL)
RETURNS bigint LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'withdraw_consent';

-- 0.1.0's SQL-level recorder, which they no longer call
DROP FUNCTION privacy.record_consent_event(text, text, text, timestamptz, text);

-- Every event of the subject, whatever spelling of its id each was recorded under.
CREATE OR REPLACE FUNCTION privacy.consent_history(subject text)
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

-- src/rights/mod.rs:185
-- requires:
--   consent_api
--   consent_ledger
--   pseudonym_type
--   subject_map
--   subject_match
--   unmapped_subject_references
--   begin_anonymizing
--   end_anonymizing


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

CREATE OR REPLACE FUNCTION privacy.set_controller(name text, contact text DEFAULT NULL, jurisdiction text DEFAULT NULL)
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
CREATE OR REPLACE FUNCTION privacy.subject_column_usable(relation oid, subject_column text, id_kind text) RETURNS void
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
CREATE OR REPLACE FUNCTION privacy.subject_data(subject text) RETURNS jsonb
LANGUAGE c STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'subject_data';

-- The rows of one subject table about a subject, deleted (rights/plans.rs). Runs with the
-- caller's rights.
CREATE OR REPLACE FUNCTION privacy.delete_subject_rows(relation oid, subject text) RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'delete_subject_rows';

-- Removes a subject's consent state and its id from the consent history (the ledger keeps the
-- events under the subject's keyed pseudonym, so its chains stay valid). Returns the counts.
CREATE OR REPLACE FUNCTION privacy.erase_consent_records(subject text, OUT state_rows bigint, OUT events bigint)
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
CREATE OR REPLACE FUNCTION privacy.anonymize_subject_rows(subject text) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION privacy.erase_subject(subject text, mode text DEFAULT 'delete', reason text DEFAULT NULL) RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS 'MODULE_PATHNAME', 'erase_subject';

-- Subjects whose every consent has lapsed (expired, withdrawn, or past its purpose's retention):
-- data kept for them has no purpose left.
CREATE OR REPLACE FUNCTION privacy.retention_due()
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
CREATE OR REPLACE FUNCTION privacy.enforce_retention(mode text DEFAULT 'delete', batch_size integer DEFAULT 100)
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
CREATE OR REPLACE FUNCTION privacy.consent_receipt(subject text, purpose text) RETURNS jsonb
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

-- src/keys.rs:169
-- pg_privacy::keys::key_changed
CREATE OR REPLACE FUNCTION "key_changed"()
	RETURNS TRIGGER
	LANGUAGE c
	AS 'MODULE_PATHNAME', 'key_changed_wrapper';

-- src/keys.rs:216
-- finalize

CREATE TRIGGER key_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON privacy.key
    FOR EACH STATEMENT EXECUTE FUNCTION privacy.key_changed();

SELECT pg_catalog.pg_extension_config_dump('privacy.key', '');

REVOKE ALL ON FUNCTION privacy.key_changed() FROM PUBLIC;

REVOKE ALL ON FUNCTION privacy.random_key() FROM PUBLIC;

-- 3. The registry's rows in 0.2.0's tables.
INSERT INTO privacy.purpose (name, requires_consent, description, created_at, created_by)
SELECT name, requires_consent, description, created_at, created_by FROM pg_temp.upgrade_purpose;
INSERT INTO privacy.subject_table (relation, subject_column)
SELECT u.relation, u.subject_column FROM pg_temp.upgrade_subject_table u
WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = u.relation);
INSERT INTO privacy.role_purpose (role, purpose)
SELECT a.oid::regrole, u.purpose FROM pg_temp.upgrade_role_purpose u JOIN pg_catalog.pg_roles a ON a.rolname = u.role_name;
-- The history in event order: each event is chained to its subject's previous one (trigger
-- "chained") and updates the current state (trigger "applied"), as if recorded now, but with
-- its own id, times and recorder.
INSERT INTO privacy.consent_event (event_id, subject, purpose, state, valid_until, recorded_at, recorded_by, source)
OVERRIDING SYSTEM VALUE
SELECT event_id, subject, purpose, state, valid_until, recorded_at, recorded_by, source
FROM pg_temp.upgrade_consent_event ORDER BY event_id;

-- 4. Guards made by 0.1.0 take their 0.2.0 form.
SELECT privacy.upgrade_guards();

DROP TABLE pg_temp.upgrade_purpose, pg_temp.upgrade_subject_table, pg_temp.upgrade_role_purpose, pg_temp.upgrade_consent_event;
