-- Every per-backend cache of pg_privacy (docs/ARCHITECTURE.md, "Caches") follows a change made by
-- another session from that session's next statement. A long-lived second session (dblink)
-- reads; this session changes things; the second session's next statement sees the change.
\set SHOW_CONTEXT never
\getenv pghost PGHOST
\getenv pgport PGPORT
SELECT dblink_connect('masked', format('host=%s port=%s dbname=privacy_e2e user=mallory', :'pghost', :'pgport'));
SELECT dblink_connect('filtered', format('host=%s port=%s dbname=privacy_e2e user=mk', :'pghost', :'pgport'));
SELECT dblink_connect('plain', format('host=%s port=%s dbname=privacy_e2e user=support', :'pghost', :'pgport'));
CREATE FUNCTION pg_temp.masked(q text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM dblink('masked', q) AS t(v text) $$;
CREATE FUNCTION pg_temp.filtered(q text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM dblink('filtered', q) AS t(v text) $$;
CREATE FUNCTION pg_temp.plain(q text) RETURNS SETOF text LANGUAGE sql AS $$ SELECT * FROM dblink('plain', q) AS t(v text) $$;

-- masking rules (a label change)
SELECT pg_temp.masked('SELECT email FROM vault.customers WHERE id = 2');
SECURITY LABEL FOR privacy ON COLUMN vault.customers.email IS 'MASKED WITH VALUE ''hidden''';
SELECT pg_temp.masked('SELECT email FROM vault.customers WHERE id = 2');
SECURITY LABEL FOR privacy ON COLUMN vault.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SELECT pg_temp.masked('SELECT email FROM vault.customers WHERE id = 2');

-- trusted schemas (rules may call their functions)
CREATE SCHEMA initials;
CREATE FUNCTION initials.initial(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT left($1, 1) || '.' $$;
GRANT USAGE ON SCHEMA initials TO PUBLIC;
SECURITY LABEL FOR privacy ON COLUMN vault.customers.name IS 'MASKED WITH FUNCTION initials.initial(name)';
SECURITY LABEL FOR privacy ON SCHEMA initials IS 'TRUSTED';
SECURITY LABEL FOR privacy ON COLUMN vault.customers.name IS 'MASKED WITH FUNCTION initials.initial(name)';
SELECT pg_temp.masked('SELECT name FROM vault.customers WHERE id = 2');
SECURITY LABEL FOR privacy ON COLUMN vault.customers.name IS NULL;
SELECT pg_temp.masked('SELECT name FROM vault.customers WHERE id = 2');

-- role decisions (a role label, a membership)
SECURITY LABEL FOR privacy ON ROLE mallory IS 'UNMASKED';
SELECT pg_temp.masked('SELECT email FROM vault.customers WHERE id = 2');
SECURITY LABEL FOR privacy ON ROLE mallory IS 'MASKED';
SELECT pg_temp.masked('SELECT email FROM vault.customers WHERE id = 2');
SELECT pg_temp.plain('SELECT email FROM vault.customers WHERE id = 2');
GRANT masked_group TO support;
SELECT pg_temp.plain('SELECT email FROM vault.customers WHERE id = 2');
REVOKE masked_group FROM support;
SELECT pg_temp.plain('SELECT email FROM vault.customers WHERE id = 2');

-- trusted functions
SELECT pg_temp.masked('SELECT vault.lookup_ssn(2)');
SECURITY LABEL FOR privacy ON FUNCTION vault.lookup_ssn(int) IS 'TRUSTED';
SELECT pg_temp.masked('SELECT vault.lookup_ssn(2)');
SECURITY LABEL FOR privacy ON FUNCTION vault.lookup_ssn(int) IS NULL;
SELECT pg_temp.masked('SELECT vault.lookup_ssn(2)');

-- code a governed role owns (a trigger added to its table makes writers into it masked)
CREATE TABLE public.inbox (msg text);
ALTER TABLE public.inbox OWNER TO mallory;
GRANT INSERT ON public.inbox TO support;
CREATE TABLE public.outbox (x text);
GRANT INSERT ON public.outbox TO PUBLIC;
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.outbox SELECT email FROM vault.customers WHERE id = 2');
CREATE FUNCTION public.inbox_copy() RETURNS trigger LANGUAGE plpgsql SECURITY INVOKER AS $$
BEGIN INSERT INTO public.outbox SELECT email FROM vault.customers WHERE id = 2; RETURN NEW; END $$;
CREATE TRIGGER copy_out AFTER INSERT ON public.inbox FOR EACH ROW EXECUTE FUNCTION public.inbox_copy();
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.inbox VALUES (''hello'')');
SELECT x FROM public.outbox ORDER BY x;
DROP TABLE public.inbox, public.outbox;
DROP FUNCTION public.inbox_copy();

-- the key
SELECT pg_temp.masked('SELECT left(contact, 12) FROM vault.customers WHERE id = 2');
INSERT INTO privacy.key (key) VALUES (decode(repeat('ab', 32), 'hex'));
SELECT pg_temp.masked('SELECT left(contact, 12) FROM vault.customers WHERE id = 2');
INSERT INTO privacy.key (key) VALUES (decode('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
SELECT pg_temp.masked('SELECT left(contact, 12) FROM vault.customers WHERE id = 2');

-- the consent registry: subject tables and their subject column (compiled conditions)
CREATE TABLE leads.extra (id int, other_id int);
INSERT INTO leads.extra VALUES (1, 2), (2, 1);
GRANT SELECT ON leads.extra TO mk;
SELECT pg_temp.filtered('SELECT string_agg(id::text, '','' ORDER BY id) FROM leads.extra');
SELECT privacy.set_subject('leads.extra', 'id');
SELECT pg_temp.filtered('SELECT string_agg(id::text, '','' ORDER BY id) FROM leads.extra');
SELECT privacy.set_subject('leads.extra', 'other_id');
SELECT pg_temp.filtered('SELECT string_agg(id::text, '','' ORDER BY id) FROM leads.extra');
DELETE FROM privacy.subject_table WHERE relation = 'leads.extra'::regclass;
SELECT pg_temp.filtered('SELECT string_agg(id::text, '','' ORDER BY id) FROM leads.extra');

-- purposes allowed to roles, and what a purpose requires
SELECT privacy.disallow_purpose('mk', 'outreach');
SELECT pg_temp.filtered('SELECT count(*)::text FROM leads.people');
SELECT privacy.allow_purpose('mk', 'outreach');
SELECT pg_temp.filtered('SELECT count(*)::text FROM leads.people');
UPDATE privacy.purpose SET requires_consent = false WHERE name = 'outreach';
SELECT pg_temp.filtered('SELECT count(*)::text FROM leads.people');
UPDATE privacy.purpose SET requires_consent = true WHERE name = 'outreach';
SELECT pg_temp.filtered('SELECT count(*)::text FROM leads.people');

SELECT dblink_disconnect('masked'), dblink_disconnect('filtered'), dblink_disconnect('plain');

-- after DROP EXTENSION and CREATE EXTENSION, every OID a session cached (functions, types,
-- tables, the key) is new: a session that stayed connected uses the new ones at once
CREATE DATABASE privacy_recreate;
\c privacy_recreate postgres
CREATE EXTENSION pg_privacy;
CREATE EXTENSION dblink;
CREATE TABLE people (id int, email text);
INSERT INTO people VALUES (1, 'alice@example.com');
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.hash(email)';
GRANT SELECT ON people TO mallory;
SELECT dblink_connect('masked', format('host=%s port=%s dbname=privacy_recreate user=mallory', :'pghost', :'pgport'));
SELECT length(v) FROM dblink('masked', 'SELECT email FROM people') AS t(v text);
DROP EXTENSION pg_privacy;
CREATE EXTENSION pg_privacy;
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.hash(email)';
SELECT length(v) FROM dblink('masked', 'SELECT email FROM people') AS t(v text);
SELECT dblink_disconnect('masked');
\c privacy_e2e postgres
DROP DATABASE privacy_recreate;
-- an error in a transaction whose changes made the caches stale: ROLLBACK reads no catalog
BEGIN;
CREATE TABLE public.doomed (id int);
SECURITY LABEL FOR privacy ON COLUMN public.doomed.id IS 'MASKED WITH VALUE 0';
SELECT 1 / 0;
ROLLBACK;
SELECT 'still connected' AS after_rollback;

-- who owns relations: in a database where no governed role owns a relation, statements skip the
-- search for code of governed roles; a relation a masked role creates, or is given, in another
-- session counts from the reader's next statement: the triggers of tables mallory owns run
-- masked for the plain session (control: the same trigger on a table postgres owns runs
-- unmasked)
CREATE DATABASE privacy_owners;
\c privacy_owners postgres
CREATE EXTENSION pg_privacy;
CREATE EXTENSION dblink;
CREATE TABLE secret (email text);
INSERT INTO secret VALUES ('alice@example.com');
SECURITY LABEL FOR privacy ON COLUMN secret.email IS 'MASKED WITH VALUE ''hidden''';
CREATE TABLE inbox (msg text);
CREATE TABLE outbox (x text);
GRANT SELECT ON secret TO PUBLIC;
GRANT INSERT ON inbox, outbox TO PUBLIC;
CREATE FUNCTION copy_secret() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.outbox SELECT email FROM public.secret; RETURN NEW; END $$;
CREATE TRIGGER copy_out AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION copy_secret();
SELECT dblink_connect('plain', format('host=%s port=%s dbname=privacy_owners user=support', :'pghost', :'pgport'));
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.inbox VALUES (1)');
SELECT x AS copied_while_postgres_owns_inbox FROM outbox;
DELETE FROM outbox;  -- (not TRUNCATE: its relcache message would reach the reader too)
-- a table given to a predefined role that is masked (PostgreSQL records no ownership of the
-- roles initdb made in pg_shdepend)
SECURITY LABEL FOR privacy ON ROLE pg_monitor IS 'MASKED';
CREATE TABLE pinned_box (msg text);
GRANT INSERT ON pinned_box TO PUBLIC;
CREATE TRIGGER copy_out AFTER INSERT ON pinned_box FOR EACH ROW EXECUTE FUNCTION copy_secret();
ALTER TABLE pinned_box OWNER TO pg_monitor;
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.pinned_box VALUES (1)');
SELECT x AS copied_once_pg_monitor_owns_it FROM outbox;
DELETE FROM outbox;
DROP TABLE pinned_box;
SECURITY LABEL FOR privacy ON ROLE pg_monitor IS NULL;
-- a new table given to mallory (the plain session never read it: only the pg_class change
-- reaches it)
CREATE TABLE gift (msg text);
GRANT INSERT ON gift TO PUBLIC;
CREATE TRIGGER copy_out AFTER INSERT ON gift FOR EACH ROW EXECUTE FUNCTION copy_secret();
ALTER TABLE gift OWNER TO mallory;
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.gift VALUES (1)');
SELECT x AS copied_once_mallory_owns_gift FROM outbox;
DELETE FROM outbox;
-- a table mallory creates herself, with her trigger (a new relation: no relcache message)
GRANT CREATE ON SCHEMA public TO mallory;
SET ROLE mallory;
CREATE TABLE mbox (msg text);
GRANT INSERT ON mbox TO PUBLIC;
CREATE TRIGGER copy_out AFTER INSERT ON mbox FOR EACH ROW EXECUTE FUNCTION copy_secret();
RESET ROLE;
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.mbox VALUES (1)');
SELECT x AS copied_by_mallorys_own_table FROM outbox;
DELETE FROM outbox;
-- a table the plain session wrote to, given to mallory
ALTER TABLE inbox OWNER TO mallory;
SELECT * FROM dblink_exec('plain', 'INSERT INTO public.inbox VALUES (1)');
SELECT x AS copied_once_mallory_owns_inbox FROM outbox;
SELECT dblink_disconnect('plain');
\c privacy_e2e postgres
DROP DATABASE privacy_owners;

-- Statements of a session nothing governs pass the hooks without their checks once the full
-- path has found the session ungoverned (context::idle, in a database where no governed role
-- owns a relation). What must still hold for them, each next to its control:
CREATE DATABASE privacy_idle;
\c privacy_idle postgres
CREATE EXTENSION pg_privacy;
CREATE EXTENSION dblink;
CREATE TABLE secret (id int, email text);
INSERT INTO secret VALUES (1, 'alice@example.com');
SECURITY LABEL FOR privacy ON COLUMN secret.email IS 'MASKED WITH VALUE ''hidden''';
CREATE TABLE later (id int, email text);
INSERT INTO later VALUES (1, 'bob@example.com');
GRANT SELECT ON secret, later TO PUBLIC;
-- a superuser session (ungoverned; it may SET ROLE to anyone)
SELECT dblink_connect('admin', format('host=%s port=%s dbname=privacy_idle user=postgres', :'pghost', :'pgport'));
SELECT v AS admin_reads FROM dblink('admin', 'SELECT email FROM secret') AS t(v text);
-- 1. a plan it made of a protected table does not serve a masked role it switches to
SELECT dblink_exec('admin', 'PREPARE p AS SELECT email FROM secret WHERE id = 1');
SELECT v AS prepared_by_admin FROM dblink('admin', 'EXECUTE p') AS t(v text);
SELECT dblink_exec('admin', 'SET ROLE mallory');
SELECT v AS same_plan_as_mallory FROM dblink('admin', 'EXECUTE p') AS t(v text);
SELECT v AS new_statement_as_mallory FROM dblink('admin', 'SELECT email FROM secret') AS t(v text);
SELECT dblink_exec('admin', 'RESET ROLE');
SELECT v AS back_to_admin FROM dblink('admin', 'EXECUTE p') AS t(v text);
-- 2. a table it read while no rule concerned it, given a rule in this session
SELECT dblink_exec('admin', 'PREPARE q AS SELECT email FROM later WHERE id = 1');
SELECT v AS later_before_rule FROM dblink('admin', 'EXECUTE q') AS t(v text);
SECURITY LABEL FOR privacy ON COLUMN later.email IS 'MASKED WITH VALUE ''hidden''';
SELECT v AS later_admin FROM dblink('admin', 'EXECUTE q') AS t(v text);
SELECT dblink_exec('admin', 'SET ROLE mallory');
SELECT v AS later_as_mallory FROM dblink('admin', 'EXECUTE q') AS t(v text);
SELECT dblink_exec('admin', 'RESET ROLE');
-- 3. a function a masked role owns runs masked inside the idle statement that calls it
-- (control: the same function owned by postgres)
CREATE FUNCTION peek_as_owner() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT email FROM public.secret WHERE id = 1); END $$;
CREATE FUNCTION peek_as_mallory() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT email FROM public.secret WHERE id = 1); END $$;
ALTER FUNCTION peek_as_mallory() OWNER TO mallory;
SELECT v AS postgres_function FROM dblink('admin', 'SELECT peek_as_owner()') AS t(v text);
SELECT v AS mallory_function FROM dblink('admin', 'SELECT peek_as_mallory()') AS t(v text);
-- 4. its login made masked in another session (a membership)
SELECT dblink_connect('plain', format('host=%s port=%s dbname=privacy_idle user=support', :'pghost', :'pgport'));
SELECT v AS support_reads FROM dblink('plain', 'SELECT email FROM secret') AS t(v text);
GRANT masked_group TO support;
SELECT v AS support_in_masked_group FROM dblink('plain', 'SELECT email FROM secret') AS t(v text);
REVOKE masked_group FROM support;
SELECT v AS support_again FROM dblink('plain', 'SELECT email FROM secret') AS t(v text);
-- 5. ... and by a label on the role itself
SECURITY LABEL FOR privacy ON ROLE support IS 'MASKED';
SELECT v AS support_labelled FROM dblink('plain', 'SELECT email FROM secret') AS t(v text);
SECURITY LABEL FOR privacy ON ROLE support IS NULL;
SELECT v AS support_unlabelled FROM dblink('plain', 'SELECT email FROM secret') AS t(v text);
SELECT dblink_disconnect('plain');
SELECT dblink_disconnect('admin');
\c privacy_e2e postgres
DROP DATABASE privacy_idle;
