-- Found by a second attacker's pass (issue 8's classes, each next to its control):
-- 1. a trigger a masked role writes on a protected table sees raw OLD/NEW rows whoever writes;
-- 2. code on partitions and children a masked role owns runs for writes through the parent;
-- 3. privacy.masked_by_default switched on by a reload must reach already-prepared statements.
\set SHOW_CONTEXT never
\getenv pghost PGHOST
\getenv pgport PGPORT
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
CREATE SCHEMA loot AUTHORIZATION analyst;
GRANT USAGE ON SCHEMA loot TO PUBLIC;
GRANT TRIGGER ON crm.customers TO analyst;

-- 1. analyst (masked) plants a trigger on crm.customers that copies OLD.email
\c - analyst
CREATE TABLE loot.copied (v text);
GRANT INSERT ON loot.copied TO PUBLIC;
CREATE FUNCTION loot.grab() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO loot.copied VALUES (OLD.email); RETURN NEW; END $$;
CREATE TRIGGER grab BEFORE UPDATE ON crm.customers FOR EACH ROW EXECUTE FUNCTION loot.grab();
-- refused at once (see part 4); the same trigger made by an admin (say before analyst was
-- masked) is refused when it would run:
\c - postgres
CREATE TRIGGER grab BEFORE UPDATE ON crm.customers FOR EACH ROW EXECUTE FUNCTION loot.grab();
\c - app_owner
-- the owner's update would hand the raw row to analyst's code: refused
UPDATE crm.customers SET score = score WHERE id = 3;
\c - analyst
SELECT count(*) AS copied FROM loot.copied;
\c - postgres
DROP TRIGGER grab ON crm.customers;
\c - app_owner
-- control: without the trigger the same update runs
UPDATE crm.customers SET score = score WHERE id = 3;
\c - postgres
REVOKE TRIGGER ON crm.customers FROM analyst;

-- 2. analyst owns a partitioned table whose partition has a trigger; an unmasked role copies
-- protected values into it through the parent: the partition's code governs the statement
\c - analyst
CREATE TABLE loot.events (id int, email text) PARTITION BY RANGE (id);
CREATE TABLE loot.events_1 PARTITION OF loot.events FOR VALUES FROM (0) TO (1000);
CREATE FUNCTION loot.keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO loot.copied VALUES (NEW.email); RETURN NEW; END $$;
CREATE TRIGGER keep BEFORE INSERT ON loot.events_1 FOR EACH ROW EXECUTE FUNCTION loot.keep();
GRANT INSERT ON loot.events TO PUBLIC;
-- control: the same trigger on a plain table analyst owns
CREATE TABLE loot.plain (id int, email text);
CREATE TRIGGER keep BEFORE INSERT ON loot.plain FOR EACH ROW EXECUTE FUNCTION loot.keep();
GRANT INSERT ON loot.plain TO PUBLIC;
\c - support_lead
INSERT INTO loot.events SELECT id, email FROM crm.customers WHERE id = 1;
INSERT INTO loot.plain SELECT id, email FROM crm.customers WHERE id = 2;
\c - postgres
SELECT v FROM loot.copied ORDER BY 1;

-- 3. privacy.masked_by_default switched on by a reload reaches a statement prepared before
CREATE ROLE unlabelled LOGIN;
GRANT USAGE ON SCHEMA crm TO unlabelled;
GRANT SELECT ON crm.customers TO unlabelled;
SELECT dblink_connect('u', format('host=%s port=%s dbname=privacy_e2e user=unlabelled', :'pghost', :'pgport'));
SELECT dblink_exec('u', 'PREPARE one AS SELECT email FROM crm.customers WHERE id = 1');
SELECT * FROM dblink('u', 'EXECUTE one') AS t(email text);
ALTER SYSTEM SET privacy.masked_by_default = on;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM dblink('u', 'EXECUTE one') AS t(email text);
SELECT * FROM dblink('u', 'SHOW privacy.masked_by_default') AS t(setting text);
ALTER SYSTEM RESET privacy.masked_by_default;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
SELECT * FROM dblink('u', 'EXECUTE one') AS t(email text);
SELECT dblink_disconnect('u');
DROP SCHEMA loot CASCADE;
REVOKE ALL ON crm.customers FROM unlabelled;
REVOKE USAGE ON SCHEMA crm FROM unlabelled;
DROP ROLE unlabelled;

-- 4. A trigger's WHEN condition counts as its table owner's code (PostgreSQL records no author):
-- a masked role holding the TRIGGER privilege on a table an unmasked role owns cannot create one
-- there (its condition could hand NEW values to a listener); on its own table it may, and so may
-- the owner (controls)
\c - postgres
CREATE TABLE public.trig_target (v text);
ALTER TABLE public.trig_target OWNER TO support;
GRANT TRIGGER ON public.trig_target TO mallory;
CREATE TABLE public.trig_own (v text);
ALTER TABLE public.trig_own OWNER TO mallory;
\c - mallory
CREATE TRIGGER leak BEFORE UPDATE ON public.trig_target FOR EACH ROW WHEN (pg_notify('leak', NEW.v) IS NOT NULL)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TRIGGER own BEFORE UPDATE ON public.trig_own FOR EACH ROW WHEN (pg_notify('own', NEW.v) IS NOT NULL)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
-- nor on its own partitioned table when a partition belongs to a less restricted role (the
-- trigger would be cloned onto it)
\c - postgres
CREATE TABLE public.trig_parts (id int, v text) PARTITION BY RANGE (id);
ALTER TABLE public.trig_parts OWNER TO mallory;
CREATE TABLE public.trig_parts_1 PARTITION OF public.trig_parts FOR VALUES FROM (0) TO (10);
ALTER TABLE public.trig_parts_1 OWNER TO support;
\c - mallory
CREATE TRIGGER leak BEFORE UPDATE ON public.trig_parts FOR EACH ROW WHEN (pg_notify('leak', NEW.v) IS NOT NULL)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- (control) a statement-level trigger there is not cloned onto the partition: allowed
CREATE TRIGGER statement_level AFTER UPDATE ON public.trig_parts FOR EACH STATEMENT
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
\c - support
CREATE TRIGGER by_owner BEFORE UPDATE ON public.trig_target FOR EACH ROW WHEN (pg_notify('x', NEW.v) IS NOT NULL)
    EXECUTE FUNCTION suppress_redundant_updates_trigger();
\c - postgres
SELECT tgname, tgrelid::regclass FROM pg_trigger
WHERE tgrelid IN ('public.trig_target'::regclass, 'public.trig_own'::regclass, 'public.trig_parts'::regclass, 'public.trig_parts_1'::regclass) ORDER BY 1;
DROP TABLE public.trig_target, public.trig_own, public.trig_parts;
