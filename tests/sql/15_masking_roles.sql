-- Who is masked, and what masked roles cannot do.
\set SHOW_CONTEXT never
SELECT * FROM privacy.masked_roles;
-- masked through membership of a masked group
\c - staging
SELECT email FROM crm.customers WHERE id = 1;
-- a member of the masked group labelled UNMASKED sees real values
\c - support_lead
SELECT email FROM crm.customers WHERE id = 1;
-- a masked login cannot SET ROLE (or set_config) its way to an unmasked role
\c - postgres
GRANT support_lead TO analyst;
\c - analyst
SET ROLE support_lead;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT set_config('role', 'support_lead', false) IS NOT NULL AS switched;
SELECT email FROM crm.customers WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT current_user, email FROM crm.customers WHERE id = 1;
-- masked_by_default is superuser-only, so a masked role cannot switch it off
SET privacy.masked_by_default = off;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET privacy.no_such_setting = on;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- keyed functions are not an oracle for masked roles: not directly, not in a CHECK constraint,
-- not through a SQL function
SELECT privacy.hash('alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM privacy.pseudo_email('alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TEMP TABLE guesses (g text CHECK (privacy.hash(g) <> ''));
INSERT INTO guesses VALUES ('alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE FUNCTION pg_temp.h(text) RETURNS text LANGUAGE sql AS $$ SELECT privacy.hash($1) $$;
SELECT pg_temp.h('alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- masked roles cannot change labels, even on tables they own
\c - postgres
CREATE TABLE public.analyst_owned (secret text);
ALTER TABLE public.analyst_owned OWNER TO analyst;
\c - analyst
SECURITY LABEL FOR privacy ON COLUMN public.analyst_owned.secret IS 'MASKED WITH VALUE NULL';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON ROLE analyst IS 'UNMASKED';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a table owner that is not a privacy admin cannot remove a rule either
\c - app_owner
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS NULL;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- masked_by_default masks every unlabelled role, and a privacy_admin member may label
\c - postgres
CREATE ROLE newcomer LOGIN;
GRANT USAGE ON SCHEMA crm TO newcomer;
GRANT SELECT ON crm.customers TO newcomer;
ALTER ROLE newcomer SET privacy.masked_by_default = on;
\c - newcomer
SELECT email FROM crm.customers WHERE id = 1;
\c - postgres
ALTER ROLE newcomer RESET privacy.masked_by_default;
SET privacy.masked_by_default = on;
SELECT role, reason FROM privacy.masked_roles WHERE role IN ('newcomer', 'app_owner', 'support_lead', 'postgres') ORDER BY 1;
RESET privacy.masked_by_default;
GRANT privacy_admin TO app_owner;
\c - app_owner
SECURITY LABEL FOR privacy ON COLUMN crm.orders.amount IS 'MASKED WITH FUNCTION privacy.bucket(amount, 50)';
\c - analyst
SELECT id, amount FROM crm.orders ORDER BY id;
\c - postgres
REVOKE privacy_admin FROM app_owner;
REVOKE support_lead FROM analyst;
