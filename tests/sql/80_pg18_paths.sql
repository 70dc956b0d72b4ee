-- Query paths PostgreSQL 17 and 18 added, by a masked role, each with an unmasked control:
-- MERGE ... RETURNING (17), RETURNING old/new (18), virtual generated columns (18, the default
-- kind of generated column) and COPY ... ON_ERROR (17). On PostgreSQL 15 there is nothing to run.
\set SHOW_CONTEXT never
SELECT current_setting('server_version_num')::int >= 180000 AS pg18 \gset
\if :pg18
CREATE SCHEMA new18;
CREATE TABLE new18.people (id int PRIMARY KEY, ssn text, score int,
  ssn_tail_v text GENERATED ALWAYS AS (right(ssn, 4)),
  ssn_tail_s text GENERATED ALWAYS AS (right(ssn, 4)) STORED);
INSERT INTO new18.people (id, ssn, score) VALUES (1, '123-45-6789', 10), (2, '987-65-4321', 20);
SECURITY LABEL FOR privacy ON COLUMN new18.people.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
CREATE TABLE new18.cards (id int PRIMARY KEY, pan text, pan_v text GENERATED ALWAYS AS ('PAN:' || pan));
INSERT INTO new18.cards (id, pan) VALUES (1, '4111111111111111');
SECURITY LABEL FOR privacy ON COLUMN new18.cards.pan_v IS 'MASKED WITH FUNCTION privacy.partial(pan_v, 4, ''*'', 4)';
GRANT USAGE ON SCHEMA new18 TO analyst, support;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA new18 TO analyst, support;
SELECT attname, attgenerated FROM pg_attribute WHERE attrelid = 'new18.people'::regclass AND attnum > 0 ORDER BY attnum;
-- virtual generated columns computed from a masked column are masked, and no oracle
\c - analyst
SELECT id, ssn, ssn_tail_v, ssn_tail_s FROM new18.people ORDER BY id;
SELECT count(*) AS matches_raw_tail FROM new18.people WHERE ssn_tail_v = '6789';
SELECT p FROM new18.people p WHERE id = 1;
-- a rule on a virtual generated column itself
SELECT id, pan_v FROM new18.cards;
SELECT count(*) AS matches_raw FROM new18.cards WHERE pan_v = 'PAN:4111111111111111';
\c - support
SELECT id, ssn, ssn_tail_v FROM new18.people ORDER BY id;
SELECT id, pan_v FROM new18.cards;
-- RETURNING old and new, MERGE ... RETURNING
\c - analyst
BEGIN;
UPDATE new18.people SET score = score + 1 WHERE id = 1 RETURNING old.ssn AS old_ssn, new.ssn AS new_ssn, old.ssn_tail_v AS old_tail;
DELETE FROM new18.people WHERE id = 2 RETURNING old.*;
INSERT INTO new18.people (id, ssn, score) VALUES (1, '000-00-0000', 0)
  ON CONFLICT (id) DO UPDATE SET score = new18.people.score RETURNING old.ssn, new.ssn;
MERGE INTO new18.people p USING (VALUES (1), (9)) v(id) ON p.id = v.id
  WHEN MATCHED THEN UPDATE SET score = p.score
  WHEN NOT MATCHED THEN INSERT (id, ssn, score) VALUES (v.id, '999-99-9999', 0)
  RETURNING merge_action(), old.ssn AS old_ssn, new.ssn AS new_ssn;
ROLLBACK;
\c - support
BEGIN;
UPDATE new18.people SET score = score + 1 WHERE id = 1 RETURNING old.ssn AS old_ssn, new.ssn AS new_ssn, old.ssn_tail_v AS old_tail;
MERGE INTO new18.people p USING (VALUES (1)) v(id) ON p.id = v.id
  WHEN MATCHED THEN UPDATE SET score = p.score RETURNING merge_action(), old.ssn, new.ssn;
ROLLBACK;
-- COPY ... ON_ERROR: a rejected row's message quotes only the input being loaded
\c - analyst
CREATE TEMP TABLE loaded (id int, ssn text);
COPY loaded FROM STDIN WITH (ON_ERROR ignore, LOG_VERBOSITY verbose);
1	111-11-1111
x	222-22-2222
\.
SELECT * FROM loaded;
-- and a masked COPY out of the table with ON_ERROR options is masked like any other
COPY new18.people (id, ssn, ssn_tail_v) TO STDOUT;
-- pg_dump --statistics (18): a masked role's dump stops at the statistics instead of writing raw
-- most-common values; the superuser's dump (control) holds them.
\c - postgres
ANALYZE new18.people;
\! pg_dump -U analyst --statistics --table=new18.people privacy_e2e > /dev/null 2> "$DUMPDIR/stats.err"; echo "exit $?"; grep -c 'Ask an unmasked role' "$DUMPDIR/stats.err"
\! pg_dump -U analyst --table=new18.people privacy_e2e | grep -c '123-45-6789'
\! pg_dump -U postgres --statistics --table=new18.people privacy_e2e | grep -c "most_common_vals.*123-45-6789\|histogram_bounds.*123-45-6789"
DROP SCHEMA new18 CASCADE;
\else
\echo 'PostgreSQL 18 paths: not applicable to this server'
\endif
