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
-- is there (as every write to the table is); without it, the rewrite runs as the owner
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('trap.leads', current_database()) r;
\c - analyst
DROP TRIGGER on_update ON trap.leads;
\c - dpo
SET client_min_messages = warning;
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('trap.leads', current_database()) r;
RESET client_min_messages;
\c - postgres
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
\c - dpo
REVOKE privacy_break_glass FROM analyst;
\c - postgres
DROP SCHEMA trap CASCADE;
DROP ROLE dpo;
