-- privacy.pseudonym: inserting 1M plaintext values into a pseudonym column, as a ratio to
-- inserting them into a text column and to storing pgcrypto's HMAC as hex (the peer a DBA would
-- write today), all in this backend, interleaved, median of 5. Then an equality lookup's plan.
\set runs 5
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE bench_source AS SELECT 'customer' || g || '@example.com' AS email FROM generate_series(1, 1000000) g;
CREATE TABLE into_pseudonym (customer privacy.pseudonym);
CREATE TABLE into_text (customer text);
CREATE TABLE into_pgcrypto (customer text);
CREATE TABLE pgcrypto_key AS SELECT encode(gen_random_bytes(32), 'hex') AS k;

CREATE FUNCTION pg_temp.insert_ms(target text, expr text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
    EXECUTE format('TRUNCATE %I', target);
    t0 := clock_timestamp();
    EXECUTE format('INSERT INTO %I SELECT %s FROM bench_source', target, expr);
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;
CREATE TEMP TABLE insert_runs (kind text, ms float8);
\o /dev/null
SELECT pg_temp.insert_ms('into_pseudonym', 'email'), pg_temp.insert_ms('into_text', 'email');
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        INSERT INTO insert_runs VALUES ('text', pg_temp.insert_ms('into_text', 'email'));
        INSERT INTO insert_runs VALUES ('pseudonym', pg_temp.insert_ms('into_pseudonym', 'email'));
        INSERT INTO insert_runs VALUES ('pgcrypto', pg_temp.insert_ms('into_pgcrypto',
            'encode(hmac(email, (SELECT k FROM pgcrypto_key), ''sha256''), ''hex'')'));
    END LOOP;
END $$;
\o
SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric) AS median_ms FROM insert_runs GROUP BY 1 ORDER BY 1;
WITH m AS (SELECT kind, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM insert_runs GROUP BY 1)
SELECT round(((SELECT ms FROM m WHERE kind = 'pseudonym') / (SELECT ms FROM m WHERE kind = 'text'))::numeric, 3) AS pseudonym_vs_text,
       '<= 1.25' AS target_text,
       round(((SELECT ms FROM m WHERE kind = 'pseudonym') / (SELECT ms FROM m WHERE kind = 'pgcrypto'))::numeric, 3) AS pseudonym_vs_pgcrypto,
       '<= 0.5' AS target_pgcrypto;
SELECT pg_size_pretty(pg_relation_size('into_pseudonym')) AS pseudonym_table, pg_size_pretty(pg_relation_size('into_text')) AS text_table;
CREATE INDEX ON into_pseudonym (customer);
ANALYZE into_pseudonym;
EXPLAIN (COSTS OFF) SELECT * FROM into_pseudonym WHERE customer = 'customer42@example.com';
