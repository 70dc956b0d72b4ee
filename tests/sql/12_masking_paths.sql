-- Views, functions, PL/pgSQL, cursors, prepared statements, parallel query, CTAS.
\set SHOW_CONTEXT never
-- objects owned by the unmasked table owner
SET ROLE app_owner;
CREATE VIEW crm.customer_view AS SELECT id, email, ssn FROM crm.customers;
CREATE FUNCTION crm.email_of(int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT email FROM crm.customers WHERE id = $1 $$;
CREATE FUNCTION crm.all_emails() RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT email FROM crm.customers ORDER BY id $$;
CREATE FUNCTION crm.atomic_email(i int) RETURNS text LANGUAGE sql STABLE BEGIN ATOMIC SELECT email FROM crm.customers WHERE id = i; END;
CREATE FUNCTION crm.plpgsql_email(i int) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE e text; BEGIN SELECT email INTO e FROM crm.customers WHERE id = i; RETURN e; END $$;
GRANT SELECT ON crm.customer_view TO analyst, support_lead;
RESET ROLE;
-- controls
SELECT * FROM crm.customer_view ORDER BY id;
SELECT crm.email_of(1), crm.atomic_email(2), crm.plpgsql_email(3);
\c - analyst
SELECT * FROM crm.customer_view ORDER BY id;
SELECT crm.email_of(1) AS inlinable_sql, crm.atomic_email(2) AS begin_atomic, crm.plpgsql_email(3) AS plpgsql;
SELECT * FROM crm.all_emails() AS e;
SELECT * FROM crm.customers c WHERE crm.email_of(c.id) = 'alice@example.com';
DO $$ DECLARE e text; BEGIN SELECT email INTO e FROM crm.customers WHERE id = 1; RAISE NOTICE 'DO block sees %', e; END $$;
BEGIN;
DECLARE cur CURSOR FOR SELECT id, email FROM crm.customers ORDER BY id;
FETCH 2 FROM cur;
COMMIT;
-- prepared statements, custom and generic plans
PREPARE by_email(text) AS SELECT id, email FROM crm.customers WHERE email = $1;
SET plan_cache_mode = force_custom_plan;
EXECUTE by_email('alice@example.com');
EXECUTE by_email('a***@example.com');
SET plan_cache_mode = force_generic_plan;
EXECUTE by_email('alice@example.com');
EXECUTE by_email('a***@example.com');
RESET plan_cache_mode;
-- parallel query
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2; SELECT public.force_parallel('on');
SELECT email, ssn FROM crm.customers WHERE ssn LIKE 'X%' ORDER BY id;
SELECT count(*) FILTER (WHERE email LIKE 'alice%') AS raw_matches FROM crm.customers;
SELECT public.force_parallel('off'); RESET max_parallel_workers_per_gather;
-- CREATE TABLE AS and INSERT ... SELECT store masked values
CREATE TEMP TABLE copied AS SELECT id, email, ssn FROM crm.customers;
INSERT INTO copied SELECT id + 100, email, ssn FROM crm.customers WHERE id = 1;
SELECT * FROM copied ORDER BY id;
-- a plan prepared by an unmasked role is not reused after SET ROLE to a masked one
\c - postgres
PREPARE p_owner AS SELECT email FROM crm.customers WHERE id = 1;
EXECUTE p_owner;
SET ROLE analyst;
EXECUTE p_owner;
RESET ROLE;
EXECUTE p_owner;
