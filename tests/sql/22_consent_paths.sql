-- Every path a filtered session has: the rows of subjects without active consent stay invisible.
\set SHOW_CONTEXT never
SET ROLE shop_owner;
CREATE VIEW shop.owner_view AS SELECT id, name FROM shop.customers;
CREATE FUNCTION shop.customer_names() RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT name FROM shop.customers ORDER BY id $$;
CREATE FUNCTION shop.count_customers() RETURNS bigint LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN (SELECT count(*) FROM shop.customers); END $$;
GRANT SELECT ON shop.owner_view TO marketing_app;
RESET ROLE;
CREATE VIEW public.superuser_view AS SELECT id, name FROM shop.customers;
GRANT SELECT ON public.superuser_view TO marketing_app;
\c - marketing_app
SELECT id, name FROM shop.customers ORDER BY id;
-- child table filtered by its own subject column
SELECT id, customer_id FROM shop.orders ORDER BY id;
SELECT c.name, sum(o.amount) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id GROUP BY 1;
-- uuid, text and bigint subject keys
SELECT label FROM shop.devices;
SELECT topic FROM shop.contacts;
SELECT what FROM shop.events;
-- a leaky function never sees the rows of non-consenting subjects
SELECT id FROM shop.customers WHERE public.leak(name) ORDER BY id;
-- views owned by the table owner, and by a superuser (which row security itself would skip)
SELECT * FROM shop.owner_view ORDER BY id;
SELECT * FROM public.superuser_view ORDER BY id;
-- functions, SQL and PL/pgSQL
SELECT * FROM shop.customer_names();
SELECT shop.count_customers();
-- cursors and prepared statements with generic plans
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM shop.customers ORDER BY id;
FETCH ALL FROM c;
COMMIT;
SET plan_cache_mode = force_generic_plan;
PREPARE by_id(int) AS SELECT id, name FROM shop.customers WHERE id = $1;
EXECUTE by_id(1);
EXECUTE by_id(2);
EXECUTE by_id(2);
RESET plan_cache_mode;
-- COPY TO
COPY shop.customers TO STDOUT;
COPY (SELECT id FROM shop.customers) TO STDOUT;
-- writes reach only visible rows; the owner then checks that the hidden rows were left alone
BEGIN;
DELETE FROM shop.orders RETURNING id;
ROLLBACK;
UPDATE shop.customers SET newsletter = 'paused' RETURNING id;
MERGE INTO shop.customers c USING (VALUES (1), (2), (3)) v(id) ON c.id = v.id
WHEN MATCHED THEN UPDATE SET name = upper(c.name);
SELECT id, name, newsletter FROM shop.customers ORDER BY id;
\c - postgres
SELECT id, name, newsletter FROM shop.customers ORDER BY id;
SELECT count(*) AS orders_left FROM shop.orders;
UPDATE shop.customers SET name = 'Ann', newsletter = 'weekly' WHERE id = 1;
\c - marketing_app
-- EXPLAIN ANALYZE would count the hidden rows ("Rows Removed by Filter"): refused; plain EXPLAIN works
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM shop.customers;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT public.plan_has('SELECT count(*) FROM shop.customers', 'consent_bigint') AS plan_reads_the_registry;
-- pg_dump by the filtered role dumps what it may see
\! pg_dump -U marketing_app --data-only --table=shop.customers privacy_e2e | grep -A3 '^COPY'
