-- Each masking function over 1M rows in one statement, as a ratio to a built-in of the same
-- shape measured in the same backend: upper() for text functions, md5() for hash().
-- Runs are interleaved (baseline, function, baseline, ...) and the median of 7 is kept.
\set runs 7
CREATE TABLE bench_people AS
SELECT g AS id,
       'Customer' || g AS name,
       'customer' || g || '@example.com' AS email,
       '+33 6 ' || lpad((g % 100)::text, 2, '0') || ' ' || lpad((g % 10000)::text, 4, '0') || ' 78' AS phone,
       '4111 ' || lpad((g % 10000)::text, 4, '0') || ' 1111 ' || lpad((g % 7919)::text, 4, '0') AS card,
       'DE89 3704 0044 0532 ' || lpad((g % 10000)::text, 4, '0') || ' 00' AS iban,
       date '1950-01-01' + (g % 20000) AS birth_date
FROM generate_series(1, 1000000) g;
VACUUM ANALYZE bench_people;
-- A copy of partial() with a pinned search_path, to measure what a SET clause costs per call.
CREATE FUNCTION pg_temp.partial_pinned(text, int, text, int) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
    AS '$libdir/pg_privacy', 'partial_wrapper';

CREATE FUNCTION pg_temp.run_ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    EXECUTE q;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;

CREATE TEMP TABLE bench_result (function text, baseline text, target text, ratio numeric, function_ms numeric, baseline_ms numeric);

CREATE FUNCTION pg_temp.bench(label text, fq text, bq text, base_label text, target float8, runs int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE f float8[] := '{}'; b float8[] := '{}'; fm float8; bm float8;
BEGIN
    PERFORM pg_temp.run_ms(fq); PERFORM pg_temp.run_ms(bq);   -- warm-up
    FOR i IN 1..runs LOOP
        b := b || pg_temp.run_ms(bq);
        f := f || pg_temp.run_ms(fq);
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO fm FROM unnest(f) x;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO bm FROM unnest(b) x;
    INSERT INTO bench_result VALUES (label, base_label,
        CASE WHEN target IS NULL THEN '' ELSE '≤ ' || target || '×' END,
        round((fm / bm)::numeric, 2), round(fm::numeric), round(bm::numeric));
END $$;

\o /dev/null
SELECT pg_temp.bench('partial(name, 1, ''***'', 1)', 'SELECT count(privacy.partial(name, 1, ''***'', 1)) FROM bench_people', 'SELECT count(upper(name)) FROM bench_people', 'upper(name)', 1.5, :runs);
SELECT pg_temp.bench('mask_email(email)', 'SELECT count(privacy.mask_email(email)) FROM bench_people', 'SELECT count(upper(email)) FROM bench_people', 'upper(email)', 1.5, :runs);
SELECT pg_temp.bench('mask_card(card)', 'SELECT count(privacy.mask_card(card)) FROM bench_people', 'SELECT count(upper(card)) FROM bench_people', 'upper(card)', 1.5, :runs);
SELECT pg_temp.bench('redact(email)', 'SELECT count(privacy.redact(email)) FROM bench_people', 'SELECT count(upper(email)) FROM bench_people', 'upper(email)', 1.5, :runs);
SELECT pg_temp.bench('pseudo_email(email)', 'SELECT count(privacy.pseudo_email(email)) FROM bench_people', 'SELECT count(upper(email)) FROM bench_people', 'upper(email)', 2, :runs);
SELECT pg_temp.bench('hash(email)', 'SELECT count(privacy.hash(email)) FROM bench_people', 'SELECT count(md5(email)) FROM bench_people', 'md5(email)', 1.5, :runs);
SELECT pg_temp.bench('mask_phone(phone)', 'SELECT count(privacy.mask_phone(phone)) FROM bench_people', 'SELECT count(upper(phone)) FROM bench_people', 'upper(phone)', NULL, :runs);
SELECT pg_temp.bench('mask_iban(iban)', 'SELECT count(privacy.mask_iban(iban)) FROM bench_people', 'SELECT count(upper(iban)) FROM bench_people', 'upper(iban)', NULL, :runs);
SELECT pg_temp.bench('pseudo_phone(phone)', 'SELECT count(privacy.pseudo_phone(phone)) FROM bench_people', 'SELECT count(upper(phone)) FROM bench_people', 'upper(phone)', NULL, :runs);
SELECT pg_temp.bench('pseudo_first_name(name)', 'SELECT count(privacy.pseudo_first_name(name)) FROM bench_people', 'SELECT count(upper(name)) FROM bench_people', 'upper(name)', NULL, :runs);
SELECT pg_temp.bench('regex_redact(email, ''@.*'', ''@…'')', 'SELECT count(privacy.regex_redact(email, ''@.*'', ''@…'')) FROM bench_people', 'SELECT count(regexp_replace(email, ''@.*'', ''@…'')) FROM bench_people', 'regexp_replace(email, ''@.*'', ''@…'')', NULL, :runs);
SELECT pg_temp.bench('generalize_date(birth_date, ''year'')', 'SELECT count(privacy.generalize_date(birth_date, ''year'')) FROM bench_people', 'SELECT count(date_trunc(''year'', birth_date)) FROM bench_people', 'date_trunc(''year'', birth_date)', NULL, :runs);
SELECT pg_temp.bench('partial(...) with SET search_path', 'SELECT count(pg_temp.partial_pinned(name, 1, ''***'', 1)) FROM bench_people', 'SELECT count(upper(name)) FROM bench_people', 'upper(name)', NULL, :runs);
\o
SELECT function, baseline, ratio, target,
       CASE WHEN target = '' THEN '' WHEN ratio <= substring(target FROM '[0-9.]+')::numeric THEN 'met' ELSE 'MISSED' END AS result,
       function_ms, baseline_ms
FROM bench_result;
