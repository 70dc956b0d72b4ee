-- The same query shapes as 11_masking_select, with parallel query forced for the roles it
-- connects as.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['analyst', 'postgres'] LOOP
    EXECUTE format('ALTER ROLE %I SET %s = on', r, public.parallel_guc());
    EXECUTE format('ALTER ROLE %I SET parallel_setup_cost = 0', r);
    EXECUTE format('ALTER ROLE %I SET parallel_tuple_cost = 0', r);
    EXECUTE format('ALTER ROLE %I SET min_parallel_table_scan_size = 0', r);
  END LOOP;
END $$;
\c - analyst
SELECT current_setting(public.parallel_guc()) AS parallel_forced;
\c - postgres
\i sql/11_masking_select.sql
-- a PARALLEL SAFE leaky function runs in a parallel worker, and sees masked values only there too
\c - postgres
CREATE FUNCTION public.leak_parallel(text) RETURNS boolean LANGUAGE plpgsql PARALLEL SAFE COST 0.000001 AS $$
BEGIN RAISE NOTICE 'parallel leak saw %', $1; RETURN true; END $$;
\c - analyst
SELECT public.plan_has($$SELECT id FROM crm.customers WHERE public.leak_parallel(ssn)$$, 'Gather') AS runs_in_a_worker;
SELECT id FROM crm.customers WHERE public.leak_parallel(ssn) ORDER BY id;
\c - postgres
ALTER ROLE analyst RESET ALL;
ALTER ROLE postgres RESET ALL;
