-- Label validation: every bad label is an error that names the problem, and the previous rule
-- stays in place. Rule changes reach other sessions' prepared statements.
\set SHOW_CONTEXT never
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION no_such_function(email)';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION public.leak(email)::text';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION (SELECT max(email) FROM crm.customers)';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION count(email)';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION email; DROP TABLE crm.customers';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION email FROM pg_authid';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.id IS 'MASKED WITH VALUE ''not a number''';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.id IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.id IS 'MASKED WITH VALUE id + 1';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.id IS 'MASKED BY FUNCTION x';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customers.id IS 'MASKED WITH VALUE';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON TABLE crm.customers IS 'MASKED';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN crm.customer_view.email IS 'MASKED WITH VALUE NULL';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON ROLE analyst IS 'SOMETIMES';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON SCHEMA public IS 'TRUSTWORTHY';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the previous rule is still in force
SELECT "column", rule FROM privacy.masking_rules WHERE "table" = 'crm.customers'::regclass ORDER BY 1;
-- functions of a schema a superuser marks TRUSTED may be used; search_path cannot replace them
CREATE SCHEMA masks;
CREATE FUNCTION masks.initials(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT left($1, 1) || '.' $$;
SECURITY LABEL FOR privacy ON COLUMN crm.customers.name IS 'MASKED WITH FUNCTION masks.initials(name)';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON SCHEMA masks IS 'TRUSTED';
-- masked readers evaluate the rule, so they need USAGE on the schema (EXECUTE is PUBLIC)
GRANT USAGE ON SCHEMA masks TO PUBLIC;
SECURITY LABEL FOR privacy ON COLUMN crm.customers.name IS 'MASKED WITH FUNCTION masks.initials(name)';
-- conditional masking using another column of the row
SECURITY LABEL FOR privacy ON COLUMN crm.customers.score IS 'MASKED WITH FUNCTION CASE WHEN id = 1 THEN score ELSE 0 END';
-- an unqualified rule resolves in pg_catalog only: a user's function of the same name cannot
-- take its place
CREATE FUNCTION public.round(numeric, integer) RETURNS numeric LANGUAGE sql AS $$ SELECT 999::numeric $$;
SECURITY LABEL FOR privacy ON COLUMN crm.orders.amount IS 'MASKED WITH FUNCTION round(amount, -1)';
\c - analyst
SET search_path = public, pg_catalog;
SELECT id, name, score FROM crm.customers ORDER BY id;
SELECT id, amount FROM crm.orders ORDER BY id;
RESET search_path;
-- a second session prepares a statement; a rule change reaches it from its next execution
\c - postgres
CREATE EXTENSION IF NOT EXISTS dblink;
\getenv pghost PGHOST
\getenv pgport PGPORT
SELECT dblink_connect('second', format('host=%s port=%s dbname=privacy_e2e user=analyst', :'pghost', :'pgport'));
SELECT dblink_exec('second', 'PREPARE s AS SELECT ssn FROM crm.customers WHERE id = 1');
SELECT * FROM dblink('second', 'EXECUTE s') AS t(ssn text);
SECURITY LABEL FOR privacy ON COLUMN crm.customers.ssn IS 'MASKED WITH FUNCTION privacy.partial(ssn, 0, ''***-**-'', 4)';
SELECT * FROM dblink('second', 'EXECUTE s') AS t(ssn text);
SELECT dblink_disconnect('second');
-- dropping the rule unmasks from the next statement
SECURITY LABEL FOR privacy ON COLUMN crm.customers.name IS NULL;
SECURITY LABEL FOR privacy ON COLUMN crm.customers.score IS NULL;
SECURITY LABEL FOR privacy ON COLUMN crm.orders.amount IS NULL;
\c - analyst
SELECT id, name, score, ssn FROM crm.customers ORDER BY id;
