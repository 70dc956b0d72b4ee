-- The admin tools never run code a table's owner wrote with the admin's rights (found by an
-- attacker's pass over issue 15): discover samples and anonymize_table rewrites a table as its
-- owner in a security-restricted operation (as ANALYZE and CLUSTER do); preview_access does not
-- count rows where the table's row-security policies would run as the admin. The trap: a masked
-- login's table whose policy and trigger try to grant it privacy_break_glass. Control: the same
-- trap fires with the reader's rights when a non-superuser admin reads the table directly
-- (PostgreSQL's own behaviour), so the test can fail.
\set SHOW_CONTEXT never
CREATE ROLE dpo LOGIN CREATEROLE IN ROLE privacy_admin;
-- the admin may hand out break-glass membership (ADMIN OPTION: the same on every version)
GRANT privacy_break_glass TO dpo WITH ADMIN OPTION;
CREATE SCHEMA trap AUTHORIZATION analyst;
GRANT USAGE ON SCHEMA trap TO PUBLIC;
\c - analyst
CREATE TABLE trap.log (who text, what text);
GRANT INSERT, SELECT ON trap.log TO PUBLIC;
CREATE FUNCTION trap.evil() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trap.log VALUES (current_user, 'ran');
    BEGIN
        EXECUTE 'GRANT privacy_break_glass TO analyst';
        INSERT INTO trap.log VALUES (current_user, 'granted');
    EXCEPTION WHEN others THEN
        INSERT INTO trap.log VALUES (current_user, 'grant refused');
    END;
    RETURN true;
END $$;
CREATE TABLE trap.leads (id int, contact_email text);
INSERT INTO trap.leads SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 20) g;
ALTER TABLE trap.leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE trap.leads FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON trap.leads USING (trap.evil());
GRANT SELECT ON trap.leads TO PUBLIC;
-- anonymize_table needs the caller to be allowed to change the table (it locks it for writes)
GRANT UPDATE ON trap.leads TO dpo;
CREATE FUNCTION trap.on_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM trap.evil(); RETURN NEW; END $$;
CREATE TRIGGER on_update BEFORE UPDATE ON trap.leads FOR EACH ROW EXECUTE FUNCTION trap.on_update();
DELETE FROM trap.log;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN trap.leads.contact_email IS 'MASKED WITH FUNCTION privacy.mask_email(contact_email)';

-- a privacy admin (not a superuser) runs each tool over the trap
\c - dpo
SET client_min_messages = warning;
SELECT table_name, column_name, kind FROM privacy.discover(ARRAY['trap']) ORDER BY 1, 2;
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('analyst', 'trap.leads');
-- the trap's trigger would see the raw rows being rewritten: anonymize_table is refused while it
-- is there (as is any trigger or rule on UPDATE), and while the trap's row security restricts
-- the admin (the rewrite as the owner would reach rows hidden from it); without the trigger and
-- for an admin row security does not restrict, the rewrite runs as the owner, and so does the
-- trap's policy (a CHECK calling the masked owner's function would refuse every write: scenario 51)
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('trap.leads', current_database()) r;
\c - analyst
DROP TRIGGER on_update ON trap.leads;
\c - dpo
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('trap.leads', current_database()) r;
\c - postgres
ALTER ROLE dpo BYPASSRLS;
\c - dpo
SET client_min_messages = warning;
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('trap.leads', current_database()) r;
RESET client_min_messages;
\c - postgres
ALTER ROLE dpo NOBYPASSRLS;
-- the trap's code ran only as its owner, whose grant was refused
SELECT who, what, count(*) > 0 AS seen FROM trap.log GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pg_has_role('analyst', 'privacy_break_glass', 'MEMBER') AS analyst_can_break_glass;
-- the rows were rewritten (read from the table file: reads of a table whose masked owner wrote
-- code on it are masked for everyone, superusers included)
VACUUM FULL trap.leads;
CHECKPOINT;
SELECT position(convert_to('user5@example.com', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('trap.leads'))) AS raw_in_file,
       position(convert_to('u***@example.com', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('trap.leads'))) > 0 AS masked_in_file;

-- control: a plain read by the same admin runs the policy with the admin's rights
DELETE FROM trap.log;
\c - dpo
SET client_min_messages = warning;
SELECT count(*) FROM trap.leads;
RESET client_min_messages;
\c - postgres
SELECT who, what, count(*) > 0 AS seen FROM trap.log GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pg_has_role('analyst', 'privacy_break_glass', 'MEMBER') AS analyst_can_break_glass;
-- a masked owner's table with a rule and no code of its own: pg_privacy's guard policies are
-- not the owner's code, so an unmasked reader sees raw values; once the owner adds a trigger,
-- its code governs statements on the table (code planted for others to run)
\c - analyst
CREATE TABLE trap.plain (id int, email text);
INSERT INTO trap.plain VALUES (1, 'plain@example.com');
GRANT SELECT ON trap.plain TO PUBLIC;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN trap.plain.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SELECT polname FROM pg_policy WHERE polrelid = 'trap.plain'::regclass ORDER BY 1;
SELECT email FROM trap.plain;
\c - analyst
SELECT email FROM trap.plain;
CREATE FUNCTION trap.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER noop BEFORE INSERT ON trap.plain FOR EACH ROW EXECUTE FUNCTION trap.noop();
\c - postgres
SELECT email FROM trap.plain;

-- preview_access does not count a table whose partition is a foreign table (the count would
-- read the remote source with the admin's user mapping, where the owner's remote code runs as
-- whoever that mapping names); found by an attack pass. Control: reading the table does reach
-- the partition's server (which fails here: nothing listens there), and once the partition is
-- detached the table is counted.
\c - postgres
CREATE EXTENSION postgres_fdw;
CREATE SERVER nowhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '1', dbname 'none');
GRANT USAGE ON FOREIGN SERVER nowhere TO analyst;
CREATE USER MAPPING FOR PUBLIC SERVER nowhere OPTIONS (user 'nobody', password 'none');
\c - analyst
CREATE TABLE trap.parted (id int, email text) PARTITION BY RANGE (id);
CREATE TABLE trap.parted_local PARTITION OF trap.parted FOR VALUES FROM (0) TO (100);
CREATE FOREIGN TABLE trap.parted_remote PARTITION OF trap.parted FOR VALUES FROM (100) TO (200) SERVER nowhere;
INSERT INTO trap.parted_local VALUES (1, 'a@example.com'), (2, 'b@example.com');
GRANT SELECT ON trap.parted TO PUBLIC;
\c - dpo
SELECT DISTINCT visible_rows FROM privacy.preview_access('analyst', 'trap.parted');
SELECT DISTINCT visible_rows FROM privacy.preview_access('analyst', 'trap.parted_remote');
DO $$
BEGIN
    PERFORM count(*) FROM trap.parted;
    RAISE NOTICE 'counted';
EXCEPTION WHEN others THEN
    RAISE NOTICE 'reading trap.parted reads its foreign partition, and that failed';
END $$;
\c - analyst
ALTER TABLE trap.parted DETACH PARTITION trap.parted_remote;
\c - dpo
SELECT DISTINCT visible_rows FROM privacy.preview_access('analyst', 'trap.parted');

\c - dpo
REVOKE privacy_break_glass FROM analyst;
\c - postgres
DROP SCHEMA trap CASCADE;
DROP USER MAPPING FOR PUBLIC SERVER nowhere;
DROP SERVER nowhere;
DROP EXTENSION postgres_fdw;
DROP ROLE dpo;
