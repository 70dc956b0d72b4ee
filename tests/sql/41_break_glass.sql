-- Break-glass access (issue 15.3): a member of privacy_break_glass sees raw values in its own
-- session for a bounded, logged time; everyone else, and the same login elsewhere or afterwards,
-- stays masked. Controls: the same reads before, in another session, and after the window.
\set SHOW_CONTEXT never
\getenv pghost PGHOST
\getenv pgport PGPORT
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
CREATE ROLE oncall LOGIN;
SECURITY LABEL FOR privacy ON ROLE oncall IS 'MASKED';
GRANT USAGE ON SCHEMA crm TO oncall;
GRANT SELECT ON crm.customers TO oncall;
GRANT privacy_break_glass TO oncall;
-- support_lead is UNMASKED: the window must not let oncall act as it
GRANT support_lead TO oncall;
-- a view analyst (masked) owns: its masking is analyst's, not the login's
CREATE VIEW public.analyst_customers AS SELECT id, email, ssn FROM crm.customers;
ALTER VIEW public.analyst_customers OWNER TO analyst;
GRANT SELECT ON public.analyst_customers TO oncall;
-- somewhere oncall may write (outside a window)
CREATE TABLE public.oncall_notes (v text);
GRANT INSERT, SELECT ON public.oncall_notes TO oncall;
CREATE FUNCTION public.keep(text) RETURNS boolean LANGUAGE sql AS $$ INSERT INTO public.oncall_notes VALUES ($1) RETURNING true $$;
-- a function that reads the same row twice with one cached plan, sleeping between the reads
CREATE FUNCTION public.read_twice(pause float8) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
    FOR i IN 1..2 LOOP
        SELECT ssn INTO s FROM crm.customers WHERE id = 1;
        RETURN NEXT s;
        PERFORM pg_sleep(pause);
    END LOOP;
END $$;

SELECT dblink_connect('listener', format('host=%s port=%s dbname=privacy_e2e user=postgres', :'pghost', :'pgport'));
SELECT dblink_exec('listener', 'LISTEN privacy_break_glass');
SELECT dblink_connect('oncall', format('host=%s port=%s dbname=privacy_e2e user=oncall', :'pghost', :'pgport'));
SELECT dblink_connect('oncall2', format('host=%s port=%s dbname=privacy_e2e user=oncall', :'pghost', :'pgport'));
SELECT dblink_exec('oncall', 'PREPARE one AS SELECT id, email, ssn FROM crm.customers WHERE id = 1');

-- before: masked
SELECT * FROM dblink('oncall', 'EXECUTE one') AS t(id int, email text, ssn text);
-- open a window: the function returns its end
SELECT * FROM dblink('oncall', $$SELECT privacy.break_glass('INC-7: customer 1 cannot log in', '10 minutes') > now()$$) AS t(opened boolean);
SELECT * FROM dblink('oncall', 'SELECT privacy.break_glass_until() > now()') AS t(open boolean);
-- raw values in this session, for a fresh query and for the statement prepared before
SELECT * FROM dblink('oncall', 'SELECT id, email, ssn FROM crm.customers WHERE id = 1') AS t(id int, email text, ssn text);
SELECT * FROM dblink('oncall', 'EXECUTE one') AS t(id int, email text, ssn text);
-- control: a second session of the same login is still masked
SELECT * FROM dblink('oncall2', 'SELECT id, email, ssn FROM crm.customers WHERE id = 1') AS t(id int, email text, ssn text);
-- a masked role's view stays masked (its owner governs it)
SELECT * FROM dblink('oncall', 'SELECT id, email, ssn FROM public.analyst_customers WHERE id = 1') AS t(id int, email text, ssn text);
-- the window does not let the login act as an unmasked role (that would outlive the window)
SELECT * FROM dblink('oncall', 'SET ROLE support_lead') AS t(x text);
-- the window is read-only: raw values cannot be stored, copied or kept beyond it
SELECT * FROM dblink('oncall', 'INSERT INTO public.oncall_notes SELECT email FROM crm.customers') AS t(x text);
SELECT * FROM dblink('oncall', 'SELECT public.keep(email) FROM crm.customers') AS t(x boolean);
SELECT * FROM dblink('oncall', 'WITH w AS (INSERT INTO public.oncall_notes VALUES (''x'') RETURNING v) SELECT v FROM w') AS t(x text);
SELECT * FROM dblink('oncall', 'CREATE TEMP TABLE copy AS SELECT email FROM crm.customers') AS t(x text);
SELECT * FROM dblink('oncall', 'SELECT email INTO TEMP copy2 FROM crm.customers') AS t(x text);
SELECT * FROM dblink('oncall', 'CREATE TEMP TABLE copy3 (v text)') AS t(x text);
SELECT * FROM dblink('oncall', 'DECLARE held CURSOR WITH HOLD FOR SELECT email FROM crm.customers') AS t(x text);
SELECT * FROM dblink('oncall', 'COPY crm.customers TO ''/tmp/pg_privacy_break_glass_copy''') AS t(x text);
SELECT * FROM dblink('oncall', 'EXPLAIN (ANALYZE, COSTS OFF) CREATE TEMP TABLE copy4 AS SELECT email FROM crm.customers') AS t(x text);
SELECT count(*) AS notes FROM public.oncall_notes;
-- announced: the listener got the window's NOTIFY
SELECT pg_sleep(0.3);
SELECT notify_name, (extra::json)->>'event' AS event, (extra::json)->>'login' AS login,
       (extra::json)->>'reason' AS reason, ((extra::json)->>'until')::timestamptz > now() AS until_later
FROM dblink_get_notify('listener');
-- end it early: masked again at the next statement, the prepared statement included
SELECT * FROM dblink('oncall', 'SELECT privacy.end_break_glass()') AS t(ended boolean);
SELECT * FROM dblink('oncall', 'EXECUTE one') AS t(id int, email text, ssn text);
SELECT * FROM dblink('oncall', 'SELECT privacy.break_glass_until() IS NULL') AS t(closed boolean);
-- control: outside the window the same write is allowed (it stores masked values)
SELECT * FROM dblink('oncall', 'INSERT INTO public.oncall_notes SELECT email FROM crm.customers WHERE id = 1') AS t(x text);
SELECT v FROM public.oncall_notes;
SELECT * FROM dblink('oncall', 'SELECT privacy.end_break_glass()') AS t(ended boolean);

-- it ends by itself: a 4-second window, raw inside, masked after (generous margins: only the
-- reads right after opening must fall inside it)
SELECT * FROM dblink('oncall', $$SELECT privacy.break_glass('INC-8: short look', '4 seconds') IS NOT NULL$$) AS t(opened boolean);
SELECT * FROM dblink('oncall', 'EXECUTE one') AS t(id int, email text, ssn text);
SELECT pg_sleep(4.2);
SELECT * FROM dblink('oncall', 'EXECUTE one') AS t(id int, email text, ssn text);
SELECT * FROM dblink('oncall', 'SELECT id, email, ssn FROM crm.customers WHERE id = 1') AS t(id int, email text, ssn text);
-- a plan made in the window and reused after it ends within one statement is refused, never
-- run raw: read_twice reads once inside the window, then, after it ended, with the same cached
-- plan: the statement fails instead of returning the second value raw
SELECT * FROM dblink('oncall', $$SELECT privacy.break_glass('INC-9: plan reuse', '4 seconds') IS NOT NULL$$) AS t(opened boolean);
SELECT * FROM dblink('oncall', 'SELECT * FROM public.read_twice(4.2)') AS t(ssn text);
-- the next statement is planned afresh, masked
SELECT * FROM dblink('oncall', 'SELECT * FROM public.read_twice(0)') AS t(ssn text);
SELECT dblink_disconnect('oncall');
SELECT dblink_disconnect('oncall2');
SELECT dblink_disconnect('listener');

-- every window is in the append-only log
SELECT login, event, reason, until IS NOT NULL AS has_until, backend_pid <> 0 AS has_pid
FROM privacy.access_log ORDER BY id;
UPDATE privacy.access_log SET reason = 'nothing happened';
DELETE FROM privacy.access_log;
TRUNCATE privacy.access_log;
SELECT count(*) FROM privacy.access_log;

-- refusals, each changing nothing
\c - oncall
-- bad input
SELECT privacy.break_glass('', '5 minutes');
SELECT privacy.break_glass('INC-10: too long', '2 hours');
SELECT privacy.break_glass('INC-10: negative', '-5 minutes');
-- the cap is the superuser's
SET privacy.break_glass_max_duration = '2h';
-- not inside a transaction block (the window opens at commit)
BEGIN;
SELECT privacy.break_glass('INC-11: in a block', '5 minutes');
ROLLBACK;
-- not by calling the internal function directly, nor by writing the log
SELECT privacy.break_glass_open('INC-12', '5 minutes');
INSERT INTO privacy.access_log (event, reason) VALUES ('begin', 'fake');
SELECT * FROM privacy.access_log;
SELECT privacy.break_glass_until() IS NULL AS closed;
SELECT id, email, ssn FROM crm.customers WHERE id = 1;
\c - analyst
-- a masked login that is not a member
SELECT privacy.break_glass('INC-13: not on call', '5 minutes');
SELECT id, email, ssn FROM crm.customers WHERE id = 1;
\c - postgres
SELECT count(*) AS log_rows FROM privacy.access_log;
-- unmasked control
SELECT id, email, ssn FROM crm.customers WHERE id = 1;
DROP FUNCTION public.read_twice(float8);
DROP FUNCTION public.keep(text);
DROP TABLE public.oncall_notes;
DROP VIEW public.analyst_customers;
REVOKE ALL ON crm.customers FROM oncall;
REVOKE USAGE ON SCHEMA crm FROM oncall;
REVOKE support_lead FROM oncall;
DROP ROLE oncall;
