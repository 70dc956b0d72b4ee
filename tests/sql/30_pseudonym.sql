-- The privacy.pseudonym type: stores a keyed pseudonym, never the plaintext; joins, grouping,
-- indexes work; masked roles cannot pseudonymize text of their choice.
\set SHOW_CONTEXT never
CREATE SCHEMA analytics AUTHORIZATION app_owner;
GRANT USAGE ON SCHEMA analytics TO analyst;
\c - app_owner
CREATE TABLE analytics.events (customer privacy.pseudonym, kind text, at timestamptz DEFAULT '2026-01-01');
INSERT INTO analytics.events (customer, kind) VALUES
  ('alice@example.com', 'login'), ('alice@example.com', 'purchase'), ('bob@example.net', 'login'), (NULL, 'anonymous');
CREATE INDEX events_customer ON analytics.events (customer);
CREATE TABLE analytics.customers_plain (email text, country text);
INSERT INTO analytics.customers_plain VALUES ('alice@example.com', 'FR'), ('bob@example.net', 'DE'), ('carol@example.org', 'IT');
GRANT SELECT ON analytics.events TO analyst;
-- the stored value is the token; the same input always gives the same pseudonym
SELECT customer, kind FROM analytics.events ORDER BY kind, customer;
SELECT privacy.pseudonymize('alice@example.com') AS pseudonym, pg_column_size(privacy.pseudonymize('x')) AS bytes;
-- comparisons with a plaintext literal need no query change
SELECT kind FROM analytics.events WHERE customer = 'alice@example.com' ORDER BY kind;
SELECT count(*) FROM analytics.events WHERE customer <> 'alice@example.com';
-- tokens are accepted as input; malformed tokens are errors, not plaintext
SELECT 'psn_7ud4l6jqvgxbghfe6vcjvx6pbvbj2hzwkktcnkrbzhvqkvbv5zdq'::privacy.pseudonym IS NOT NULL AS parses;
SELECT (SELECT customer FROM analytics.events WHERE kind = 'login' ORDER BY customer LIMIT 1)::text::privacy.pseudonym
     = (SELECT customer FROM analytics.events WHERE kind = 'login' ORDER BY customer LIMIT 1) AS token_round_trip;
SELECT privacy.pseudonymize('psn_a3gp4vcn4aq57fxws6ihuui767onz4ukmsekm77ta4hz6iorubqq')::text AS token_stands_for_itself;
SELECT 'psn_tooshort'::privacy.pseudonym;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- GROUP BY, DISTINCT, hash and merge joins with a plaintext table
SELECT count(DISTINCT customer) AS customers, count(*) AS events FROM analytics.events;
SELECT p.country, count(*) FROM analytics.events e JOIN analytics.customers_plain p ON e.customer = privacy.pseudonymize(p.email)
GROUP BY 1 ORDER BY 1;
SET enable_hashjoin = off; SET enable_nestloop = off;
SELECT p.country, count(*) FROM analytics.events e JOIN analytics.customers_plain p ON e.customer = p.email::privacy.pseudonym
GROUP BY 1 ORDER BY 1;
RESET enable_hashjoin; RESET enable_nestloop;
-- an equality lookup uses the btree index
SET enable_seqscan = off;
SELECT public.plan_has($$SELECT * FROM analytics.events WHERE customer = 'alice@example.com'$$, 'Index (Only )?Scan using events_customer') AS uses_the_index;
RESET enable_seqscan;
CREATE INDEX events_customer_hash ON analytics.events USING hash (customer);
-- binary COPY round trip
\c - postgres
\! psql -X -q -d privacy_e2e -c "COPY analytics.events TO STDOUT WITH (FORMAT binary)" > "$DUMPDIR/events.bin"
CREATE TABLE analytics.events_copy (LIKE analytics.events);
\! psql -X -q -d privacy_e2e -c "\copy analytics.events_copy FROM '$DUMPDIR/events.bin' WITH (FORMAT binary)"
SELECT (SELECT count(*) FROM analytics.events_copy) AS rows_copied,
       (SELECT count(*) FROM (SELECT customer, kind FROM analytics.events
                              EXCEPT ALL SELECT customer, kind FROM analytics.events_copy) d) AS rows_differing;

-- a masked role reads, compares and groups pseudonyms, but cannot make one from chosen text
\c - analyst
SELECT count(DISTINCT customer) FROM analytics.events;
SELECT kind FROM analytics.events
WHERE customer = (SELECT customer FROM analytics.events WHERE kind = 'purchase') ORDER BY kind;
SELECT count(*) FROM analytics.events WHERE customer = 'alice@example.com';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.pseudonymize('alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM analytics.events WHERE customer = 'alice@example.com'::text::privacy.pseudonym;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM analytics.events WHERE customer::text = (SELECT customer::text FROM analytics.events WHERE kind = 'purchase');

-- the plaintext is never written to the table's file (a text table is the control)
\c - postgres
CREATE TABLE analytics.plain_control (email text);
INSERT INTO analytics.plain_control VALUES ('alice@example.com');
CHECKPOINT;
SELECT current_setting('data_directory') || '/' || pg_relation_filepath('analytics.events') AS events_file,
       current_setting('data_directory') || '/' || pg_relation_filepath('analytics.plain_control') AS control_file \gset
\setenv EVENTS_FILE :events_file
\setenv CONTROL_FILE :control_file
\! echo "plaintext in the pseudonym table's file: $(grep -c 'alice@example.com' "$EVENTS_FILE")"
\! echo "plaintext in the text table's file: $(grep -c 'alice@example.com' "$CONTROL_FILE")"

-- dump and restore keep the tokens, and the key: new pseudonyms still match old ones
\! pg_dump -Fc -f "$DUMPDIR/pseudonym.dump" privacy_e2e
CREATE DATABASE pseudonym_restored;
\! pg_restore -d pseudonym_restored "$DUMPDIR/pseudonym.dump" 2>&1 | head -5
\c pseudonym_restored postgres
SELECT count(*) FILTER (WHERE customer = 'alice@example.com') AS alice_events_after_restore,
       count(*) FILTER (WHERE customer = privacy.pseudonymize('bob@example.net')) AS bob_events_after_restore
FROM analytics.events;
\c privacy_e2e postgres
DROP DATABASE pseudonym_restored;
