-- Keyed functions: hash and pseudo_*. Under the fixed test key of 00_setup their outputs are
-- reproducible, so this file pins the HMAC-SHA256 derivation. Run as a non-superuser.
\c - analyst
\set SHOW_CONTEXT never

SELECT privacy.hash('alice@example.com') AS hash,
       length(privacy.hash('alice@example.com')) AS hex_digits,
       privacy.hash('alice@example.com') = privacy.hash('alice@example.com') AS deterministic,
       privacy.hash('alice@example.com') <> privacy.hash('Alice@example.com') AS case_sensitive,
       privacy.hash('') AS empty,
       privacy.hash(NULL) IS NULL AS null_in_null_out;

SELECT v AS input,
       privacy.pseudo_first_name(v) AS first_name,
       privacy.pseudo_last_name(v) AS last_name,
       privacy.pseudo_city(v) AS city
FROM (VALUES ('Alice'), ('Bob'), ('Zoë'), ('日本'), ('')) t(v);

SELECT v AS input, privacy.pseudo_email(v) AS email
FROM (VALUES ('alice@example.com'), ('  ALICE@Example.COM '), ('bob@corp.example'), ('')) t(v);

SELECT v AS input, privacy.pseudo_phone(v) AS phone
FROM (VALUES ('+1 (555) 010-4477'), ('+15550104477'), ('06 12 34 56 78'), ('no digits'), ('')) t(v);

SELECT privacy.pseudo_email(NULL) IS NULL AND privacy.pseudo_phone(NULL) IS NULL
       AND privacy.pseudo_first_name(NULL) IS NULL AS null_in_null_out;

-- pseudo_email is collision-free in practice: 100k distinct inputs, 100k distinct outputs
SELECT count(DISTINCT privacy.pseudo_email('customer' || g || '@shop.example')) AS distinct_pseudonyms
FROM generate_series(1, 100000) g;

-- the same pseudonym in another session: joins across sessions and tables work
CREATE TEMP TABLE first_session AS SELECT privacy.pseudo_email('carol@example.com') AS p;
\c - postgres
SELECT privacy.pseudo_email('carol@example.com') AS p_superuser_session;
\c - analyst
SELECT privacy.pseudo_email('carol@example.com') AS p_new_analyst_session;
