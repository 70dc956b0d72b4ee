-- Generalization and noise.
\c - analyst
\set SHOW_CONTEXT never

SELECT u AS unit, privacy.generalize_date('1987-08-23', u) AS generalized
FROM (VALUES ('decade'), ('year'), ('quarter'), ('month'), ('week'), (' YEAR ')) t(u);
SELECT privacy.generalize_date('infinity', 'year') AS inf,
       privacy.generalize_date('0044-03-15 BC', 'decade') AS bc,
       privacy.generalize_date(NULL, 'year') IS NULL AS null_in_null_out;
SELECT privacy.generalize_date('2020-01-01', 'fortnight');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT privacy.bucket(37, 10) AS int4, privacy.bucket(-1, 10) AS negative,
       privacy.bucket(123456789012::bigint, 1000000) AS int8,
       privacy.bucket(37.5::float8, 5) AS float8, privacy.bucket(37.5::numeric, 5) AS numeric,
       pg_typeof(privacy.bucket(1::bigint, 2::bigint)) AS keeps_type;
SELECT privacy.bucket(5, 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.bucket(5.5, -1.5);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.bucket(-9223372036854775808, 3);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- noise stays within ±ratio and actually varies
SELECT bool_and(n BETWEEN 90 AND 110) AS within_10_percent, count(DISTINCT n) > 100 AS varies
FROM (SELECT privacy.noise(100.0::float8, 0.1) AS n FROM generate_series(1, 1000)) s;
SELECT bool_and(n BETWEEN 900 AND 1100) AS int_within, pg_typeof(min(n)) AS type
FROM (SELECT privacy.noise(1000, 0.1) AS n FROM generate_series(1, 1000)) s;
SELECT privacy.noise(42::bigint, 0) AS zero_ratio, privacy.noise(NULL::float8, 0.1) IS NULL AS null_in_null_out;
SELECT privacy.noise(100.0::float8, -0.1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.noise(100.0::float8, 'NaN');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.noise(2147483647, 0.5) FROM generate_series(1, 50);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT 1 AS still_usable;
