-- A determined consent-filtered login (mk, allowed the purpose 'outreach') against the filters,
-- item by item (issue 9), each next to the same attempt by an unfiltered login (rep).
\set SHOW_CONTEXT never
SELECT privacy.create_purpose('outreach', requires_consent => true, description => 'sales outreach');
CREATE ROLE mk LOGIN;
CREATE ROLE rep LOGIN;
CREATE ROLE reporting NOLOGIN;
CREATE ROLE bypasser NOLOGIN BYPASSRLS;
GRANT reporting, bypasser, pg_read_all_data, pg_read_all_stats TO mk;
GRANT pg_read_all_stats TO rep;
CREATE SCHEMA leads;
CREATE SCHEMA mk AUTHORIZATION mk;
CREATE SCHEMA rep AUTHORIZATION rep;
CREATE TABLE leads.accounts (id int PRIMARY KEY);
INSERT INTO leads.accounts VALUES (1);
CREATE TABLE leads.people (id int PRIMARY KEY, name text, account_id int REFERENCES leads.accounts);
INSERT INTO leads.people VALUES (1, 'Una', 1), (2, 'Duo', 1), (45, 'Quarantacinque', 1);
CREATE TABLE leads.devices (device uuid PRIMARY KEY, label text);
INSERT INTO leads.devices VALUES ('c0ffee00-0000-4000-8000-000000000001', 'laptop');
CREATE TABLE leads.scratch (x int);
GRANT USAGE ON SCHEMA leads TO mk, rep, reporting, bypasser;
GRANT SELECT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA leads TO mk, rep, reporting, bypasser;
SELECT privacy.set_subject('leads.people', 'id');
SELECT privacy.set_subject('leads.devices', 'device');
SELECT privacy.allow_purpose('mk', 'outreach');
SELECT privacy.grant_consent('1', 'outreach', source => 'trade fair') > 0 AS ok;
SELECT privacy.grant_consent('C0FFEE00-0000-4000-8000-000000000001', 'outreach', source => 'app') > 0 AS ok;
-- control: the unfiltered login sees everyone
\c - rep
SELECT id FROM leads.people ORDER BY id;

-- 1. The filter follows the login whatever role it reaches.
\c - mk
SELECT id FROM leads.people ORDER BY id;
SET ROLE reporting;
SELECT id FROM leads.people ORDER BY id;
SET ROLE pg_read_all_data;
SELECT id FROM leads.people ORDER BY id;
SET ROLE bypasser;
SELECT id FROM leads.people ORDER BY id;
COPY leads.people (id) TO STDOUT;
RESET ROLE;
SELECT set_config('role', 'reporting', false) IS NOT NULL AS switched;
SELECT id FROM leads.people ORDER BY id;
RESET ROLE;
CREATE FUNCTION mk.as_reporting() RETURNS bigint LANGUAGE sql SET role = 'reporting' AS $$ SELECT count(*) FROM leads.people $$;
SELECT mk.as_reporting() AS rows_seen_with_set_role_clause;
\! PGOPTIONS='-c role=bypasser' psql -X -At -U mk -d privacy_e2e -c 'SELECT count(*) FROM leads.people' 2>&1

-- 2. Spellings that read as the same typed value are the same subject; a withdrawal wins.
\c - postgres
SELECT privacy.grant_consent('045', 'outreach', source => 'form') > 0 AS ok;
\c - mk
SELECT id FROM leads.people ORDER BY id;
\c - postgres
SELECT privacy.withdraw_consent('45', 'outreach', source => 'unsubscribe') > 0 AS ok;
SELECT privacy.withdraw_consent('c0ffee00-0000-4000-8000-000000000001', 'outreach', source => 'app settings') > 0 AS ok;
SELECT event_id > 0 AS ok, purpose, state, source FROM privacy.consent_history('0045') ORDER BY event_id;
SELECT state, source FROM privacy.consent_history('{c0ffee00-0000-4000-8000-000000000001}') ORDER BY event_id;
\c - mk
SELECT id FROM leads.people ORDER BY id;
SELECT label FROM leads.devices;
-- an id that no subject column can hold is refused (a database whose subject ids are integers)
\c - postgres
CREATE DATABASE privacy_ids;
\c privacy_ids postgres
CREATE EXTENSION pg_privacy;
CREATE TABLE people (id bigint PRIMARY KEY);
SELECT privacy.create_purpose('newsletter', true);
-- before any subject column is declared every id is readable, yet an id too long for the text
-- reading's index is refused: declaring a text column later would fill that index from the
-- history (control: declaring a subject column right after works)
SELECT privacy.grant_consent(repeat('x', 2001), 'newsletter');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.set_subject('people', 'id');
SELECT privacy.grant_consent('0x2D', 'newsletter');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.grant_consent('alice', 'newsletter');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a long id is shown by its start and length, not whole
SELECT privacy.grant_consent(repeat('x', 100000), 'newsletter');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.grant_consent(' +0045 ', 'newsletter') > 0 AS accepted;
\c privacy_e2e postgres
DROP DATABASE privacy_ids;

-- Partitions of a subject table are subject tables too: reading one directly is filtered, and
-- so is one attached later.
\c - postgres
CREATE TABLE leads.visits (person int, at date) PARTITION BY RANGE (at);
CREATE TABLE leads.visits_2025 PARTITION OF leads.visits FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO leads.visits VALUES (1, '2025-03-01'), (2, '2025-04-01');
SELECT privacy.set_subject('leads.visits', 'person');
CREATE TABLE leads.visits_2026 (person int, at date);
INSERT INTO leads.visits_2026 VALUES (1, '2026-03-01'), (2, '2026-04-01');
ALTER TABLE leads.visits ATTACH PARTITION leads.visits_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
GRANT SELECT ON leads.visits, leads.visits_2025, leads.visits_2026 TO mk, rep;
SELECT relation, subject_column FROM privacy.subject_tables WHERE relation::text LIKE 'leads.visits%' ORDER BY 1;
\c - mk
SELECT person FROM leads.visits ORDER BY 1;
SELECT person FROM leads.visits_2025;
SELECT person FROM leads.visits_2026;
TRUNCATE leads.visits_2026;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - rep
SELECT count(*) FROM leads.visits_2026;

-- 3. Statistics counters would count hidden rows.
\c - mk
SELECT pg_stat_get_xact_tuples_fetched('leads.people_pkey'::regclass);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = 'people';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE OPERATOR mk.## (RIGHTARG = oid, FUNCTION = pg_stat_get_xact_tuples_fetched);
SELECT OPERATOR(mk.##) 'leads.people_pkey'::regclass::oid;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - rep
SELECT pg_stat_get_xact_tuples_fetched('leads.people_pkey'::regclass) >= 0 AS unfiltered_may_count;

-- 4. A filtered role's objects hand no hidden row to others.
\c - mk
CREATE VIEW mk.v AS SELECT id FROM leads.people;
CREATE FUNCTION mk.count_people() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; BEGIN SELECT count(*) INTO n FROM leads.people; RETURN n; END $$;
GRANT USAGE ON SCHEMA mk TO PUBLIC;
GRANT SELECT ON mk.v TO PUBLIC;
\c - rep
SELECT id FROM mk.v ORDER BY id;
SELECT mk.count_people();
CREATE VIEW rep.v AS SELECT id FROM leads.people;
SELECT id FROM rep.v ORDER BY id;
\c - mk
ALTER VIEW mk.v OWNER TO rep;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- 5. An owner of a subject table cannot switch its filter off.
\c - postgres
CREATE TABLE mk.mine (id int PRIMARY KEY);
ALTER TABLE mk.mine OWNER TO mk;
INSERT INTO mk.mine VALUES (1), (2);
SELECT privacy.set_subject('mk.mine', 'id');
\c - mk
SELECT id FROM mk.mine ORDER BY id;
ALTER TABLE mk.mine NO FORCE ROW LEVEL SECURITY;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE mk.mine DISABLE ROW LEVEL SECURITY;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP POLICY privacy_preloaded ON mk.mine;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER POLICY privacy_all_rows ON mk.mine USING (false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT id FROM mk.mine ORDER BY id;
-- control: on its own table that is not a subject table, the owner may
CREATE TABLE mk.free (id int);
ALTER TABLE mk.free ENABLE ROW LEVEL SECURITY;
ALTER TABLE mk.free DISABLE ROW LEVEL SECURITY;

-- 6. Roles are known by OID: a rename keeps the purposes, a new role with the old name has none,
--    and a dropped role's entries go with it.
\c - postgres
ALTER ROLE mk RENAME TO mk_renamed;
SELECT role_name, purpose FROM privacy.role_purposes WHERE purpose = 'outreach';
\c - mk_renamed
SELECT id FROM leads.people ORDER BY id;
\c - postgres
CREATE ROLE mk LOGIN;
GRANT USAGE ON SCHEMA leads TO mk;
GRANT SELECT ON leads.people TO mk;
\c - mk
SELECT count(*) AS rows_for_the_new_mk FROM leads.people;
\c - postgres
DROP OWNED BY mk;
DROP ROLE mk;
ALTER ROLE mk_renamed RENAME TO mk;
CREATE ROLE short_lived;
SELECT privacy.allow_purpose('short_lived', 'outreach');
DROP ROLE short_lived;
SELECT count(*) AS rows_of_dropped_roles FROM privacy.role_purpose r WHERE NOT EXISTS (SELECT FROM pg_roles WHERE oid = r.role);

-- 7. A DBA's materialized view over a subject table holds rows its readers may not see.
CREATE MATERIALIZED VIEW leads.people_snapshot AS SELECT id FROM leads.people;
GRANT SELECT ON leads.people_snapshot TO mk, rep;
\c - mk
SELECT id FROM leads.people_snapshot ORDER BY id;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - rep
SELECT count(*) FROM leads.people_snapshot;

-- 9. Expiry is judged at each statement, not at transaction start: a transaction opened before
--    a consent expires stops seeing the subject at its next statement.
\c - postgres
BEGIN;
INSERT INTO privacy.consent_event (subject, purpose, state, valid_until, source)
VALUES ('2', 'outreach', 'granted', now() + interval '1 microsecond', 'expires right after this transaction began');
SET LOCAL ROLE mk;
SELECT now() < (SELECT valid_until FROM privacy.consent_event WHERE subject = '2' AND purpose = 'outreach') AS still_valid_at_transaction_start;
SELECT id FROM leads.people ORDER BY id;
ROLLBACK;

-- 10. TRUNCATE would delete hidden rows: refused when it reaches a subject table.
\c - mk
TRUNCATE leads.people;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE leads.accounts CASCADE;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE leads.scratch;
\c - rep
TRUNCATE leads.scratch;

-- 11. The consent event sequence counts every grant and withdrawal: not readable by others, nor
--     (like the key and the consent records) by a governed login holding pg_read_all_data.
\c - mk
SELECT last_value FROM privacy.consent_event_event_id_seq;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM privacy.consent_text;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT octet_length(key) FROM privacy.key;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - rep
SELECT last_value FROM privacy.consent_event_event_id_seq;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - postgres
SELECT last_value > 0 AS superuser_reads FROM privacy.consent_event_event_id_seq;

-- 12. A superuser who set a purpose and then switched to a role not allowed it: every read is
--     refused, but SET, RESET, DISCARD and transaction control still run, so there is a way out.
SET privacy.purpose = 'billing';
SET ROLE marketing_app;
SELECT count(*) FROM shop.customers;
BEGIN;
ROLLBACK;
RESET ROLE;
SELECT current_user AS back_to, current_setting('privacy.purpose') AS purpose;
SET ROLE marketing_app;
RESET privacy.purpose;
SELECT count(*) AS marketing_rows FROM shop.customers;
RESET ROLE;
SET privacy.purpose = 'billing';
SET ROLE marketing_app;
DISCARD ALL;
SELECT current_user AS after_discard, count(*) AS all_rows FROM shop.customers;

-- 13. The owner of a view, not allowed the purpose the session acts for, sees no rows through
--     its view (an error is for the session's own roles only); the control reads the table.
CREATE ROLE billing_views;
SELECT privacy.allow_purpose('billing_views', 'billing');
CREATE SCHEMA billing_views AUTHORIZATION billing_views;
GRANT USAGE ON SCHEMA shop TO billing_views;
GRANT SELECT ON shop.customers TO billing_views;
SET ROLE billing_views;
CREATE VIEW billing_views.customers AS SELECT id, name FROM shop.customers;
GRANT USAGE ON SCHEMA billing_views TO marketing_app;
GRANT SELECT ON billing_views.customers TO marketing_app;
RESET ROLE;
SET ROLE marketing_app;
SET privacy.purpose = 'marketing';
SELECT count(*) AS through_billing_owners_view FROM billing_views.customers;
SELECT count(*) AS control_table FROM shop.customers;
RESET privacy.purpose;
RESET ROLE;
DROP SCHEMA billing_views CASCADE;
SELECT privacy.disallow_purpose('billing_views', 'billing');
REVOKE ALL ON shop.customers FROM billing_views;
REVOKE ALL ON SCHEMA shop FROM billing_views;
DROP ROLE billing_views;
