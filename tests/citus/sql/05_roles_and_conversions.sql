-- Paths an attack pass on the Citus cluster found open (2026-12-07), each closed and shown next to
-- its control.
-- 1. Citus reads shards as the current role, and a node masks a shard for that role alone. A
--    statement masked for another reason (the login is masked but runs a SECURITY DEFINER
--    function of an unmasked owner; an unmasked role runs a masked role's view, function or
--    trigger) is refused on Citus tables with rules instead of coming back raw.
-- 2. A transaction that makes a consent subject table a Citus table, by any path, is refused at
--    commit (the shards would not be filtered anywhere).
\set SHOW_CONTEXT never
\getenv w1 W1_PORT
\getenv coord COORD_PORT
CREATE SCHEMA ana AUTHORIZATION analyst;
GRANT USAGE ON SCHEMA ana TO support;
CREATE SCHEMA dba;
GRANT USAGE ON SCHEMA dba TO analyst, support, marketing_app;
CREATE TABLE dba.local_customers (id bigint PRIMARY KEY, ssn text);
INSERT INTO dba.local_customers VALUES (3, '003-45-6789');
SECURITY LABEL FOR privacy ON COLUMN dba.local_customers.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
GRANT SELECT ON dba.local_customers TO analyst, support;
-- a DBA's helper: SECURITY DEFINER, owned by the unmasked support role, not TRUSTED
CREATE FUNCTION dba.lookup(i bigint) RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT ssn FROM crm.customers WHERE id = i $$;
CREATE FUNCTION dba.lookup_local(i bigint) RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT ssn FROM dba.local_customers WHERE id = i $$;
ALTER FUNCTION dba.lookup(bigint) OWNER TO support;
ALTER FUNCTION dba.lookup_local(bigint) OWNER TO support;
GRANT EXECUTE ON FUNCTION dba.lookup(bigint), dba.lookup_local(bigint) TO analyst;

\c - analyst
-- the local table: masked inside the function (the login stays masked); the Citus table: refused
SELECT dba.lookup_local(3);
SELECT dba.lookup(3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the same read as the masked role itself: masked on the workers
SELECT ssn FROM crm.customers WHERE id = 3;
-- code the masked role owns, for others to run: a view, a function, a trigger
CREATE VIEW ana.customers_v AS SELECT id, ssn FROM crm.customers;
CREATE FUNCTION ana.peek(i bigint) RETURNS text LANGUAGE sql AS $$ SELECT ssn FROM crm.customers WHERE id = i $$;
CREATE TABLE ana.stash (v text);
CREATE TABLE ana.trg (id bigint);
CREATE FUNCTION ana.trg_copy() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN INSERT INTO ana.stash SELECT ssn FROM crm.customers WHERE id = NEW.id; RETURN NEW; END $$;
CREATE TRIGGER copy_ssn AFTER INSERT ON ana.trg FOR EACH ROW EXECUTE FUNCTION ana.trg_copy();
GRANT SELECT ON ana.customers_v TO support;
GRANT EXECUTE ON FUNCTION ana.peek(bigint) TO support;
GRANT INSERT ON ana.trg, ana.stash TO support;
-- run by the masked role itself: masked
SELECT ssn FROM ana.customers_v WHERE id = 3;
SELECT ana.peek(3);
INSERT INTO ana.trg VALUES (3);
SELECT v FROM ana.stash;

\c - support
-- control: the unmasked role reads the Citus table raw
SELECT ssn FROM crm.customers WHERE id = 3;
-- the masked role's code, run by the unmasked role: refused (it would read raw on the workers)
SELECT ssn FROM ana.customers_v WHERE id = 3;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT ana.peek(3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO ana.trg VALUES (4);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

\c - analyst
SELECT v FROM ana.stash ORDER BY v;

-- 2. Subject tables stay local, whatever turns them into Citus tables.
\c - postgres
CREATE TABLE crm.prospects (id bigint PRIMARY KEY, email text);
SELECT privacy.set_subject('crm.prospects', 'id');
-- a distributing function called with a computed name (pg_privacy cannot see the argument)
SELECT create_distributed_table(('crm.' || 'prospects')::regclass, 'id');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a reference table with a foreign key to it (Citus makes the subject table a Citus local table)
CREATE TABLE crm.prospect_notes (id bigint PRIMARY KEY, prospect bigint REFERENCES crm.prospects (id));
SELECT create_reference_table('crm.prospect_notes');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DROP TABLE crm.prospect_notes;
-- moved into a distributed (schema-based sharding) schema
SET citus.enable_schema_based_sharding = on;
CREATE SCHEMA tenant1;
RESET citus.enable_schema_based_sharding;
ALTER TABLE crm.prospects SET SCHEMA tenant1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a schema holding it, distributed
CREATE SCHEMA leads2;
CREATE TABLE leads2.contacts (id bigint PRIMARY KEY, email text);
SELECT privacy.set_subject('leads2.contacts', 'id');
SELECT citus_schema_distribute('leads2');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- none of them became a Citus table, and both are still subject tables (under their own names)
SELECT count(*) AS citus_subject_tables FROM pg_dist_partition
WHERE logicalrelid IN ('crm.prospects'::regclass, 'leads2.contacts'::regclass);
SELECT count(*) AS shards_of_them FROM pg_dist_shard WHERE logicalrelid::text IN ('crm.prospects', 'leads2.contacts');
SELECT relation::text FROM privacy.subject_tables WHERE relation::text IN ('crm.prospects', 'leads2.contacts') ORDER BY 1;
-- controls: the same operations on tables that are not subject tables succeed
CREATE TABLE crm.plain_prospects (id bigint PRIMARY KEY, email text);
SELECT create_distributed_table(('crm.' || 'plain_prospects')::regclass, 'id');
CREATE TABLE crm.plain_parent (id bigint PRIMARY KEY);
CREATE TABLE crm.plain_notes (id bigint PRIMARY KEY, parent bigint REFERENCES crm.plain_parent (id));
SELECT create_reference_table('crm.plain_notes');
CREATE TABLE crm.plain_moved (id bigint PRIMARY KEY);
ALTER TABLE crm.plain_moved SET SCHEMA tenant1;
CREATE SCHEMA plain2;
CREATE TABLE plain2.contacts (id bigint PRIMARY KEY);
SELECT citus_schema_distribute('plain2');
SELECT logicalrelid::text AS citus_table FROM pg_dist_partition
WHERE logicalrelid::text IN ('crm.plain_prospects', 'crm.plain_parent', 'crm.plain_notes', 'tenant1.plain_moved', 'plain2.contacts')
ORDER BY 1;
-- a subject table may still be created and changed in transactions that do not distribute it
BEGIN;
ALTER TABLE crm.prospects ADD COLUMN note text;
COMMIT;
SELECT count(*) AS prospects_columns FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'prospects';

-- 3. Writes Citus sends to the shards as COPY (COPY FROM, INSERT ... SELECT through the
-- coordinator) by a role that does not own the table: the shards carry pg_privacy's guards, so
-- PostgreSQL refused them ("COPY FROM not supported with row-level security"); each node now runs
-- them itself (docs/masking.md). Control: the rows as the owner sees them.
\c - support
COPY crm.customers (id, name, email, ssn, vip) FROM stdin;
20	Copied	copied@example.com	020-45-6789	f
\.
INSERT INTO crm.customers (id, name, email, ssn, vip) SELECT id + 20, name, email, ssn, vip FROM crm.customers WHERE id = 1;
\c - postgres
SELECT id, name, email, ssn FROM crm.customers WHERE id >= 20 ORDER BY id;
DELETE FROM crm.customers WHERE id >= 20;

-- 4. Citus's functions that run SQL text on the nodes open sessions as the current role: refused
-- where the statement is masked or filtered but the current role is not (a DBA's SECURITY DEFINER
-- helper called by the masked or filtered login). Controls: the helper called by the unrestricted
-- role, and run_command_on_workers called by the masked role itself (masked on the workers).
\c - postgres
CREATE FUNCTION dba.remote_count() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT string_agg(result, ',' ORDER BY nodeport) FROM run_command_on_workers($q$SELECT count(*) FROM crm.customers WHERE ssn LIKE '00%'$q$) $$;
CREATE FUNCTION dba.coordinator_count() RETURNS text LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT string_agg(result, ',') FROM run_command_on_coordinator($q$SELECT count(*) FROM crm.leads$q$) $$;
GRANT EXECUTE ON FUNCTION dba.remote_count(), dba.coordinator_count() TO analyst, support, marketing_app;
\c - analyst
SELECT dba.remote_count();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT string_agg(result, ',' ORDER BY nodeport) AS as_analyst FROM run_command_on_workers($q$SELECT count(*) FROM crm.customers WHERE ssn LIKE '00%'$q$);
\c - marketing_app
SET privacy.purpose = 'marketing';
SELECT dba.coordinator_count();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a materialized view over the nodes' answers is derived like one over dblink: refused to the
-- masked role
\c - postgres
CREATE MATERIALIZED VIEW dba.remote_ssns AS
    SELECT result FROM run_command_on_workers($q$SELECT string_agg(ssn, ',') FROM crm.customers$q$);
GRANT SELECT ON dba.remote_ssns TO analyst;
\c - analyst
SELECT count(*) FROM dba.remote_ssns;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - support
SELECT dba.remote_count() AS raw_prefix_per_worker;
SELECT dba.coordinator_count() AS leads;

-- 5. The restrictive guard stays restrictive on the nodes (Citus repeats CREATE POLICY without
-- AS RESTRICTIVE): a table owner's own row security keeps hiding rows after a rule is added.
\c - postgres
CREATE TABLE crm.owned_rows (id bigint PRIMARY KEY, holder text);
ALTER TABLE crm.owned_rows OWNER TO app_owner;
ALTER TABLE crm.owned_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON crm.owned_rows USING (holder = current_user) WITH CHECK (holder = current_user);
SELECT create_distributed_table('crm.owned_rows', 'id');
INSERT INTO crm.owned_rows VALUES (1, 'someone-else'), (2, 'support');
GRANT SELECT, INSERT ON crm.owned_rows TO support;
\c - support
SELECT id, holder FROM crm.owned_rows ORDER BY id;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN crm.owned_rows.holder IS 'MASKED WITH VALUE ''?''';
\c - support
SELECT id, holder FROM crm.owned_rows ORDER BY id;
-- (the error names the shard; only its SQLSTATE is shown)
\set VERBOSITY sqlstate
INSERT INTO crm.owned_rows VALUES (3, 'not-support');
\set VERBOSITY default
\c - postgres
SELECT DISTINCT result AS permissive_guards_on_workers FROM run_command_on_workers(
    $q$SELECT count(*) FROM pg_policy WHERE polname = 'privacy_preloaded' AND polpermissive AND polrelid::regclass::text LIKE 'crm.owned_rows%'$q$);
DROP TABLE crm.owned_rows;
-- the same with the rule declared before the table is distributed, and for a reference table
CREATE TABLE crm.owned_early (id bigint PRIMARY KEY, holder text);
ALTER TABLE crm.owned_early OWNER TO app_owner;
ALTER TABLE crm.owned_early ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON crm.owned_early USING (holder = current_user) WITH CHECK (holder = current_user);
INSERT INTO crm.owned_early VALUES (1, 'someone-else'), (2, 'support');
SECURITY LABEL FOR privacy ON COLUMN crm.owned_early.holder IS 'MASKED WITH VALUE ''?''';
CREATE TABLE crm.owned_ref (LIKE crm.owned_early INCLUDING ALL);
ALTER TABLE crm.owned_ref OWNER TO app_owner;
ALTER TABLE crm.owned_ref ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON crm.owned_ref USING (holder = current_user) WITH CHECK (holder = current_user);
INSERT INTO crm.owned_ref VALUES (1, 'someone-else'), (2, 'support');
SECURITY LABEL FOR privacy ON COLUMN crm.owned_ref.holder IS 'MASKED WITH VALUE ''?''';
SELECT create_distributed_table('crm.owned_early', 'id');
SELECT truncate_local_data_after_distributing_table('crm.owned_early');
SELECT create_reference_table('crm.owned_ref');
SELECT truncate_local_data_after_distributing_table('crm.owned_ref');
GRANT SELECT ON crm.owned_early, crm.owned_ref TO support;
SELECT count(*) AS permissive_guards FROM pg_policy WHERE polname = 'privacy_preloaded' AND polpermissive;
SELECT DISTINCT result AS permissive_guards_on_workers FROM run_command_on_workers(
    $q$SELECT count(*) FROM pg_policy WHERE polname = 'privacy_preloaded' AND polpermissive$q$);
\c - support
SELECT id FROM crm.owned_early ORDER BY id;
SELECT id FROM crm.owned_ref ORDER BY id;
\c privacy_citus support 127.0.0.1 :w1
SELECT id FROM crm.owned_early ORDER BY id;
\c privacy_citus postgres 127.0.0.1 :coord
DROP TABLE crm.owned_early, crm.owned_ref;

\c - postgres
DROP SCHEMA ana CASCADE;
DROP SCHEMA dba CASCADE;
