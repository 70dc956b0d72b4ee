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
-- (PostgreSQL refuses this one itself; its wording changed in 16, so only the SQLSTATE is shown)
SELECT public.sqlstate_of($$SECURITY LABEL FOR privacy ON ROLE analyst IS 'UNMASKED'$$);
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
-- pg_privacy's own admin check, with one meaning: the role a request runs as (current_user) must
-- be a superuser or have privacy_admin's privileges. CREATEROLE is enough for PostgreSQL to let a
-- role label other roles; it is not enough for pg_privacy.
CREATE ROLE role_manager LOGIN CREATEROLE;
-- (since PostgreSQL 16 CREATEROLE manages only roles it has ADMIN on)
GRANT staging TO role_manager WITH ADMIN OPTION;
CREATE SCHEMA rm AUTHORIZATION role_manager;
CREATE TABLE rm.manager_owned (secret text);
ALTER TABLE rm.manager_owned OWNER TO role_manager;
\c - role_manager
SELECT privacy.is_admin();
SECURITY LABEL FOR privacy ON ROLE staging IS 'UNMASKED';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SECURITY LABEL FOR privacy ON COLUMN rm.manager_owned.secret IS 'MASKED WITH VALUE NULL';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.create_purpose('manager_purpose', false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- its SECURITY DEFINER function runs as role_manager: refused even when a superuser calls it
CREATE FUNCTION rm.label_as_manager() RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN SECURITY LABEL FOR privacy ON COLUMN rm.manager_owned.secret IS 'MASKED WITH VALUE NULL'; END $$;
\c - postgres
SELECT rm.label_as_manager();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- one task delegated by a privacy admin's SECURITY DEFINER function: allowed for its callers
CREATE ROLE label_keeper NOLOGIN;
GRANT privacy_admin TO label_keeper;
CREATE TABLE public.keeper_owned (secret text);
ALTER TABLE public.keeper_owned OWNER TO label_keeper;
CREATE FUNCTION public.label_as_keeper() RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN SECURITY LABEL FOR privacy ON COLUMN public.keeper_owned.secret IS 'MASKED WITH VALUE NULL'; END $$;
ALTER FUNCTION public.label_as_keeper() OWNER TO label_keeper;
GRANT EXECUTE ON FUNCTION public.label_as_keeper() TO role_manager;
\c - role_manager
SELECT public.label_as_keeper();
SELECT "table", "column", rule FROM privacy.masking_rules WHERE "table" = 'public.keeper_owned'::regclass;
\c - postgres
-- a table with a rule can be dropped like any other
DROP TABLE public.keeper_owned;
DROP FUNCTION public.label_as_keeper();
DROP SCHEMA rm CASCADE;
DROP ROLE label_keeper, role_manager;
