-- Regular-expression redaction and fake values.
\c - analyst
\set SHOW_CONTEXT never

SELECT privacy.regex_redact('call 555-0100 or 555-0199', '\d{3}-\d{4}', '[phone]') AS phones,
       privacy.regex_redact('card 4111-1111-1111-1234 ok', '\d{4}-\d{4}-\d{4}-(\d{4})', 'XXXX-$1') AS group_ref,
       privacy.regex_redact('mail zoë@exämple.org now', '[\w.]+@[\w.]+', '[email]') AS unicode,
       privacy.regex_redact('', 'x', 'y') AS empty,
       privacy.regex_redact(NULL, 'x', 'y') IS NULL AS null_in_null_out;
SELECT privacy.regex_redact('abc', '(unclosed', 'x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.regex_redact('abc', 'a{1000}{1000}', 'x');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a result over 1 GB is refused up front
SELECT length(privacy.regex_redact(repeat('a', 1000000), 'a', repeat('b', 1000)));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- linear-time matching: a classic catastrophic-backtracking pattern returns at once
SELECT privacy.regex_redact(repeat('a', 5000) || 'b', '(a+)+$', 'x') = repeat('a', 5000) || 'b' AS no_match_fast;

-- fake values are well formed and vary
SELECT bool_and(e ~ '^[a-z]+\.[a-z]+[0-9]+@example\.(com|net|org)$') AS emails_ok,
       bool_and(p ~ '^\+1-[2-9][0-9]{2}-555-01[0-9]{2}$') AS phones_ok,
       count(DISTINCT f) > 300 AS first_names_vary,
       count(DISTINCT l) > 200 AS last_names_vary,
       bool_and(c ~ '^[A-Z]') AS cities_ok,
       bool_and(s ~ '^[0-9]+ [A-Za-z'']+ [A-Za-z]+$') AS streets_ok,
       count(DISTINCT k) > 100 AS countries_vary
FROM (SELECT privacy.fake_email() e, privacy.fake_phone() p, privacy.fake_first_name() f,
             privacy.fake_last_name() l, privacy.fake_city() c, privacy.fake_street_address() s,
             privacy.fake_country() k
      FROM generate_series(1, 2000)) s;
