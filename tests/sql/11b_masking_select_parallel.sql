-- The same query shapes as 11_masking_select, with parallel query forced for the roles it
-- connects as.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['analyst', 'postgres'] LOOP
    EXECUTE format('ALTER ROLE %I SET force_parallel_mode = on', r);
    EXECUTE format('ALTER ROLE %I SET parallel_setup_cost = 0', r);
    EXECUTE format('ALTER ROLE %I SET parallel_tuple_cost = 0', r);
    EXECUTE format('ALTER ROLE %I SET min_parallel_table_scan_size = 0', r);
  END LOOP;
END $$;
\c - analyst
SHOW force_parallel_mode;
\c - postgres
\i sql/11_masking_select.sql
\c - postgres
ALTER ROLE analyst RESET ALL;
ALTER ROLE postgres RESET ALL;
