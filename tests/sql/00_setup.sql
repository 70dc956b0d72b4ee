-- Roles and a fixed key shared by the scenarios.
-- A fixed, published key makes keyed outputs reproducible, so the expected files pin the
-- HMAC derivation: a change to it shows up as a diff. Real installations get a random key.
INSERT INTO privacy.key (key)
VALUES (decode('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
SELECT count(*) AS keys FROM privacy.key;
CREATE ROLE analyst LOGIN;
CREATE ROLE app_owner LOGIN;
GRANT CREATE ON SCHEMA public TO app_owner;
-- Plans are checked for what matters (a node, a filter, a row count), never for their exact shape.
CREATE FUNCTION public.analyzed_rows(query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF, SUMMARY OFF) ' || query INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Actual Rows')::bigint;
END $$;
CREATE FUNCTION public.plan_has(query text, pattern text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    IF line ~ pattern THEN RETURN true; END IF;
  END LOOP;
  RETURN false;
END $$;
