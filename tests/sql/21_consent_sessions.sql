-- Which purpose a session acts for, and that no path lets it act for one it was not allowed.
\set SHOW_CONTEXT never
-- control: the owner and superusers see every customer
SELECT id FROM shop.customers ORDER BY id;
\c - marketing_app
-- allowed exactly one purpose: acts for it with no SET (consented: 1; 2 withdrew, 3 expired, 4 never)
SHOW privacy.purpose;
SELECT id, name FROM shop.customers ORDER BY id;
SET privacy.purpose = 'billing';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT set_config('privacy.purpose', 'billing', false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET privacy.purpose = 'no_such_purpose';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a function SET clause cannot do it either
CREATE FUNCTION pg_temp.as_billing() RETURNS bigint LANGUAGE sql SET privacy.purpose = 'billing'
AS $$ SELECT count(*) FROM shop.customers $$;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- nor PGOPTIONS at connection time
\! PGOPTIONS='-c privacy.purpose=billing' psql -X -At -U marketing_app -d privacy_e2e -c 'SELECT count(*) FROM shop.customers' 2>&1 | grep -oE '(ERROR|FATAL|WARNING): .*|^[0-9]+$'
-- nor a setting stored for the role or the database by someone else
\c - postgres
ALTER ROLE marketing_app SET privacy.purpose = 'billing';
ALTER DATABASE privacy_e2e SET privacy.purpose = 'analytics';
\c - marketing_app
SELECT count(*) FROM shop.customers;
\c - postgres
ALTER ROLE marketing_app RESET privacy.purpose;
ALTER DATABASE privacy_e2e RESET privacy.purpose;

\c - multi_app
-- allowed several purposes and chose none: no rows (fail closed)
SELECT count(*) AS rows_before_choosing FROM shop.customers;
SET privacy.purpose = 'billing';
SELECT count(*) AS rows_for_billing FROM shop.customers;
SET privacy.purpose = 'marketing';
SELECT count(*) AS rows_for_marketing FROM shop.customers;
-- savepoint rollback restores the purpose chosen before it
BEGIN;
SAVEPOINT s;
SET privacy.purpose = 'billing';
SELECT count(*) AS inside_savepoint FROM shop.customers;
ROLLBACK TO s;
SELECT count(*) AS after_rollback_to FROM shop.customers;
COMMIT;
-- SET LOCAL, as transaction-mode poolers do
RESET privacy.purpose;
BEGIN;
SET LOCAL privacy.purpose = 'billing';
SELECT count(*) AS set_local FROM shop.customers;
COMMIT;
SELECT count(*) AS after_commit FROM shop.customers;
SET privacy.purpose = 'billing';
RESET ALL;
SELECT count(*) AS after_reset_all FROM shop.customers;
SET privacy.purpose = 'billing';
DISCARD ALL;
SELECT count(*) AS after_discard_all FROM shop.customers;
-- a function SET clause may choose an allowed purpose
CREATE FUNCTION pg_temp.as_marketing() RETURNS bigint LANGUAGE sql SET privacy.purpose = 'marketing'
AS $$ SELECT count(*) FROM shop.customers $$;
SELECT pg_temp.as_marketing() AS via_function_set_clause;
-- parallel workers filter too
SET privacy.purpose = 'marketing';
SELECT public.force_parallel('on'); SET parallel_setup_cost = 0; SET min_parallel_table_scan_size = 0;
SELECT id FROM shop.customers ORDER BY id;
SELECT public.force_parallel('off');

\c - billing_app
-- a purpose that needs no consent: every row
SELECT count(*) FROM shop.customers;
\c - reporting_app
-- a role allowed no purpose is not filtered by consent
SELECT count(*) FROM shop.customers;
