-- Side channels PostgreSQL opens: error details quoting rows, planner statistics, statistics
-- handed to a leaky operator's selectivity estimate.
\set SHOW_CONTEXT never
ANALYZE crm.customers;
-- control: the superuser sees the failing row and the statistics
UPDATE crm.customers SET score = -1 WHERE id = 1;
SELECT count(*) > 0 AS superuser_sees_stats FROM pg_stats WHERE tablename = 'customers' AND attname = 'email';
\c - analyst
-- constraint violations: the DETAIL line quoting the row (raw email, ssn) is not sent
UPDATE crm.customers SET score = -1 WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO crm.customers (id, name, email) VALUES (99, 'Mallory', 'alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE crm.customers SET name = NULL WHERE id = 2;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- planner statistics hold raw values
SELECT most_common_vals FROM pg_stats WHERE tablename = 'customers' AND attname = 'email';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a leaky operator with a histogram-reading selectivity estimator sees no raw statistic
CREATE FUNCTION pg_temp.leaky_lt(text, text) RETURNS boolean LANGUAGE plpgsql COST 0.000001 AS
$$ BEGIN RAISE NOTICE 'operator saw %', $1; RETURN $1 < $2; END $$;
CREATE OPERATOR pg_temp.<<< (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_temp.leaky_lt, RESTRICT = scalarltsel);
SELECT public.plan_has($$SELECT id FROM crm.customers WHERE email OPERATOR(pg_temp.<<<) 'm'$$, 'privacy\.mask_email\(email\) OPERATOR') AS operator_gets_masked_value;
SELECT id FROM crm.customers WHERE email OPERATOR(pg_temp.<<<) 'm' ORDER BY id;
