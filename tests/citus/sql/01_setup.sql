-- A Citus cluster with pg_privacy on every node (tests/citus/run starts a coordinator and two
-- workers, citus and pg_privacy preloaded on each): the extension, roles and role labels reach
-- the workers through Citus. Ports come from the environment and never appear in the output.
\set SHOW_CONTEXT never
SELECT count(*) AS workers FROM pg_dist_node WHERE groupid > 0 AND isactive;
CREATE EXTENSION pg_privacy;
SELECT success, result FROM run_command_on_workers($$SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'$$) ORDER BY nodeport;
CREATE ROLE analyst LOGIN;
CREATE ROLE support LOGIN;
SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED';
SELECT success, result FROM run_command_on_workers($$SELECT label FROM pg_shseclabel WHERE provider = 'privacy' AND objoid = 'analyst'::regrole$$) ORDER BY nodeport;
-- Each node made its own key at CREATE EXTENSION. Keyed rules (hash, pseudo_*, keyed noise) are
-- computed where the rows are, so every node needs the coordinator's key: the DBA copies it
-- (docs/citus.md), and the fingerprints show that the nodes agree.
SELECT count(DISTINCT result) AS distinct_keys_before FROM run_command_on_all_nodes($$SELECT privacy.key_fingerprint()$$);
SELECT count(*) AS copied FROM run_command_on_workers(format($$INSERT INTO privacy.key (key) VALUES (%L)$$, (SELECT key FROM privacy.key))) WHERE success;
SELECT count(DISTINCT result) AS distinct_keys_after, bool_and(success) AS all_answered FROM run_command_on_all_nodes($$SELECT privacy.key_fingerprint()$$);
-- Helpers for the other scenarios: EXPLAIN text contains a pattern (node addresses vary).
CREATE FUNCTION public.plan_has(query text, pattern text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || query LOOP
        IF line LIKE '%' || pattern || '%' THEN RETURN true; END IF;
    END LOOP;
    RETURN false;
END $$;
GRANT EXECUTE ON FUNCTION public.plan_has(text, text) TO PUBLIC;
