-- Roles and a fixed key shared by the scenarios.
-- A fixed, published key makes keyed outputs reproducible, so the expected files pin the
-- HMAC derivation: a change to it shows up as a diff. Real installations get a random key.
INSERT INTO privacy.key (key)
VALUES (decode('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
SELECT count(*) AS keys FROM privacy.key;
CREATE ROLE analyst LOGIN;
CREATE ROLE app_owner LOGIN;
GRANT CREATE ON SCHEMA public TO app_owner;
-- Parallel query is forced for some scenarios; the setting was renamed in PostgreSQL 16.
CREATE FUNCTION public.parallel_guc() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END $$;
CREATE FUNCTION public.force_parallel(setting text) RETURNS text LANGUAGE sql AS $$
  SELECT set_config(public.parallel_guc(), setting, false) $$;
-- The SQLSTATE of a statement (errors whose wording differs between PostgreSQL versions).
CREATE FUNCTION public.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  RETURN SQLSTATE;
END $$;
-- An error's fields as an exception handler in the session sees them.
CREATE FUNCTION public.error_fields(query text) RETURNS TABLE (field text, value text) LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text; hnt text; ctx text; sch text; tbl text; col text; con text;
BEGIN
  EXECUTE query;
  RETURN QUERY SELECT 'no error', '';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL,
    hnt = PG_EXCEPTION_HINT, ctx = PG_EXCEPTION_CONTEXT, sch = SCHEMA_NAME, tbl = TABLE_NAME,
    col = COLUMN_NAME, con = CONSTRAINT_NAME;
  RETURN QUERY VALUES ('sqlstate', st), ('message', msg), ('detail', det), ('hint', hnt),
    ('context', ctx), ('schema', sch), ('table', tbl), ('column', col), ('constraint', con);
END $$;
-- Plans are checked for what matters (a node, a filter, a row count), never for their exact shape.
CREATE FUNCTION public.analyzed_rows(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, SUMMARY OFF) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Actual Rows')::numeric::bigint;
END $$;
CREATE FUNCTION public.plan_has(query text, pattern text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line ~ pattern THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
