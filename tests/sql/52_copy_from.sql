-- COPY ... FROM STDIN into tables with rules, by roles that are not their owners. pg_privacy's
-- guards turn row security on, and PostgreSQL refuses COPY FROM into any table with row security
-- for non-owners ("COPY FROM not supported with row-level security"), so every bulk load into a
-- protected table failed, for roles pg_privacy does not govern too (found by an attack pass).
-- pg_privacy now runs such a COPY itself when the guards are the table's only policies, with
-- PostgreSQL's own privilege, read-only, option, default, constraint and trigger handling.
-- Each result next to its control: the same COPY into a table without rules.
\set SHOW_CONTEXT never
CREATE ROLE cp_owner LOGIN;
CREATE ROLE cp_loader LOGIN;
CREATE ROLE cp_cols LOGIN;
CREATE ROLE cp_none LOGIN;
CREATE ROLE cp_masked LOGIN;
CREATE ROLE cp_filtered LOGIN;
SECURITY LABEL FOR privacy ON ROLE cp_masked IS 'MASKED';
SELECT privacy.create_purpose('cp_mail', requires_consent => true);
SELECT privacy.allow_purpose('cp_filtered', 'cp_mail');
CREATE SCHEMA cp AUTHORIZATION cp_owner;
GRANT USAGE ON SCHEMA cp TO cp_loader, cp_cols, cp_none, cp_masked, cp_filtered;
\c - cp_owner
CREATE TABLE cp.people (id int PRIMARY KEY, email text, ssn text, source text DEFAULT 'copy', phone text, CHECK (id > 0));
CREATE TABLE cp.plain (id int PRIMARY KEY, email text, ssn text, source text DEFAULT 'copy', CHECK (id > 0));
CREATE FUNCTION cp.lower_email() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.email := lower(NEW.email); RETURN NEW; END $$;
CREATE TRIGGER lower_email BEFORE INSERT ON cp.people FOR EACH ROW EXECUTE FUNCTION cp.lower_email();
CREATE TABLE cp.events (id int, at date, note text) PARTITION BY RANGE (at);
CREATE TABLE cp.events_2025 PARTITION OF cp.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE cp.events_2026 PARTITION OF cp.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE cp.owned_policy (id int, email text);
ALTER TABLE cp.owned_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY everyone ON cp.owned_policy USING (true);
CREATE TABLE cp.subjects (id int, email text);
-- row security on with no policy (no row for anyone but the owner), and a guard-named policy the
-- owner wrote for itself only: the guards added later admit no more rows than before
CREATE TABLE cp.deny_all (id int, email text);
ALTER TABLE cp.deny_all ENABLE ROW LEVEL SECURITY;
CREATE TABLE cp.lookalike (id int, email text);
ALTER TABLE cp.lookalike ENABLE ROW LEVEL SECURITY;
CREATE POLICY privacy_all_rows ON cp.lookalike TO cp_owner USING (privacy.enforcement_active());
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA cp TO cp_loader, cp_masked, cp_filtered;
GRANT SELECT ON cp.people TO cp_cols, cp_none;
GRANT INSERT (id, email) ON cp.people, cp.plain TO cp_cols;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN cp.people.ssn IS 'MASKED WITH VALUE ''XXX''';
SECURITY LABEL FOR privacy ON COLUMN cp.people.phone IS 'MASKED WITH FUNCTION privacy.hash(phone)';
SECURITY LABEL FOR privacy ON COLUMN cp.events.note IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN cp.owned_policy.email IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN cp.deny_all.email IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN cp.lookalike.email IS 'MASKED WITH VALUE NULL';
SELECT privacy.set_subject('cp.subjects', 'id');

-- 1. A role pg_privacy does not govern loads a protected table: defaults, the owner's trigger and
-- the CHECK run as for INSERT. Control: the table without rules.
\c - cp_loader
COPY cp.plain (id, email, ssn) FROM stdin;
1	Ann@Example.com	111-11-1111
2	Bob@Example.com	222-22-2222
\.
COPY cp.people (id, email, ssn) FROM stdin;
1	Ann@Example.com	111-11-1111
2	Bob@Example.com	222-22-2222
\.
COPY cp.people FROM stdin WITH (FORMAT csv, HEADER);
id,email,ssn,source
3,Cid@Example.com,333-33-3333,csv
\.
SELECT id, email, ssn, source FROM cp.people ORDER BY id;
-- a bad row: PostgreSQL's own error and context (the line), nothing loaded; control first
\set SHOW_CONTEXT errors
COPY cp.plain (id, email) FROM stdin;
4	dan@example.com
-5	eve@example.com
\.
COPY cp.people (id, email) FROM stdin;
4	dan@example.com
-5	eve@example.com
\.
COPY cp.people (id, email) FROM stdin;
four	dan@example.com
\.
\set SHOW_CONTEXT never
SELECT count(*) AS people FROM cp.people;
-- through the parent of a partitioned table with rules: rows routed to the partitions
COPY cp.events FROM stdin;
1	2025-06-01	first
2	2026-06-01	second
\.
SELECT tableoid::regclass AS partition, id, note FROM cp.events ORDER BY id;
-- read-only transactions refuse it, as PostgreSQL does for any COPY FROM
BEGIN READ ONLY;
COPY cp.people (id) FROM stdin;
9
\.
ROLLBACK;

-- 2. Privileges are checked as PostgreSQL checks them: INSERT on the table or on each column.
\c - cp_none
COPY cp.people (id) FROM stdin;
10
\.
COPY cp.plain (id) FROM stdin;
10
\.
\c - cp_cols
COPY cp.people (id, email) FROM stdin;
11	col@example.com
\.
COPY cp.people (id, email, ssn) FROM stdin;
12	col@example.com	x
\.
COPY cp.plain (id, email, ssn) FROM stdin;
12	col@example.com	x
\.

-- 3. What stays refused: a table with row-security policies its owner wrote (PostgreSQL's refusal),
-- a COPY with a WHERE clause, a filtered role into a subject table, and a masked role writing a
-- column with a keyed rule (pg_privacy's own rule: the stored hash would answer its guesses). A
-- masked role may load the columns it may write (writing is not reading), masked ones included.
\c - cp_loader
COPY cp.owned_policy FROM stdin;
1	x@example.com
\.
INSERT INTO cp.deny_all VALUES (1, 'x@example.com');
COPY cp.deny_all FROM stdin;
1	x@example.com
\.
INSERT INTO cp.lookalike VALUES (1, 'x@example.com');
COPY cp.lookalike FROM stdin;
1	x@example.com
\.
COPY cp.people (id) FROM stdin WHERE id > 0;
13
\.
\c - cp_filtered
COPY cp.subjects FROM stdin;
1	s@example.com
\.
-- (into a protected table that is not a subject table, the filtered role loads as anyone)
COPY cp.events FROM stdin;
3	2025-07-01	third
\.
\c - cp_masked
COPY cp.people (id, phone) FROM stdin;
14	+1 555 0100
\.
COPY cp.people (id, email, ssn) FROM stdin;
14	M@Example.com	444-44-4444
\.
SELECT id, email, ssn FROM cp.people WHERE id = 14;

\c - cp_owner
SELECT id, email, ssn, source FROM cp.people ORDER BY id;

\c - postgres
DROP SCHEMA cp CASCADE;
SELECT privacy.disallow_purpose('cp_filtered', 'cp_mail');
SECURITY LABEL FOR privacy ON ROLE cp_masked IS NULL;
DROP ROLE cp_owner, cp_loader, cp_cols, cp_none, cp_masked, cp_filtered;
