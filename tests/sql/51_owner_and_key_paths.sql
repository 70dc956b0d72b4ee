-- Paths an attack pass (2026-12-07, PostgreSQL 18) found open, each closed and shown next to its
-- control: foreign keys checked against masked or filtered rows; materialized views reading
-- through a view or a function; COPY of a materialized view; planner statistics for filtered
-- sessions; partitions taken out of a protected tree by their owner; roles made by a masked
-- login; keyed noise re-drawn by re-keying a row.
-- Logins: sa (masked), sf (filtered, purpose 'referrals'), sc (neither: the control); so owns the
-- tables and is neither masked nor an admin.
\set SHOW_CONTEXT never
CREATE ROLE so LOGIN;
CREATE ROLE sa LOGIN CREATEROLE;
CREATE ROLE sf LOGIN;
CREATE ROLE sc LOGIN CREATEROLE;
SECURITY LABEL FOR privacy ON ROLE sa IS 'MASKED';
SELECT privacy.create_purpose('referrals', requires_consent => true);
SELECT privacy.allow_purpose('sf', 'referrals');
CREATE SCHEMA ref AUTHORIZATION so;
GRANT USAGE ON SCHEMA ref TO sa, sf, sc;
\c - so
CREATE TABLE ref.people (id int PRIMARY KEY, email text UNIQUE, salary int);
INSERT INTO ref.people VALUES (1, 'one@example.com', 1000), (2, 'two@example.com', 2000), (3, 'three@example.com', 3000);
-- who referred whom: subject 2 (no consent) was referred by subject 1
CREATE TABLE ref.referrals (subject int, referred_by int REFERENCES ref.people (id));
INSERT INTO ref.referrals VALUES (2, 1);
CREATE TABLE ref.cascaded (subject int, person int REFERENCES ref.people (id) ON DELETE CASCADE);
INSERT INTO ref.cascaded VALUES (2, 3), (1, 3);
CREATE TABLE ref.contacts (email text REFERENCES ref.people (email), topic text);
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ref TO sa, sf, sc;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN ref.people.salary IS 'MASKED WITH FUNCTION privacy.noise(salary, 0.2)';
SELECT privacy.set_subject('ref.people', 'id');
SELECT privacy.set_subject('ref.referrals', 'subject');
SELECT privacy.set_subject('ref.cascaded', 'subject');
SELECT privacy.grant_consent('1', 'referrals') > 0 AS ok;
SELECT privacy.grant_consent('3', 'referrals') > 0 AS ok;

-- 1. Foreign keys are checked against every row, as PostgreSQL checks them: a filtered session
-- cannot delete a person a hidden subject's row still references (it used to, leaving a dangling
-- reference); a cascade removes the hidden subject's rows too. Control: the same as sc.
\c - sf
SELECT id FROM ref.people ORDER BY id;
SELECT subject, referred_by FROM ref.referrals;
BEGIN;
DELETE FROM ref.people WHERE id = 1;
ROLLBACK;
BEGIN;
DELETE FROM ref.people WHERE id = 3;
ROLLBACK;
\c - sc
BEGIN;
DELETE FROM ref.people WHERE id = 1;
ROLLBACK;
\c - sf
DELETE FROM ref.people WHERE id = 3;
\c - postgres
SELECT subject, person FROM ref.cascaded ORDER BY subject;
SELECT count(*) AS dangling FROM ref.referrals r WHERE NOT EXISTS (SELECT FROM ref.people p WHERE p.id = r.referred_by);

-- 2. A masked session may not write a column whose foreign key references a masked column: the
-- check against the raw keys would tell whether a value exists (and against masked keys, as
-- before, it accepted a masked string and refused a real key). Control: sc writes both ways;
-- sa writes the other column.
\c - sa
INSERT INTO ref.contacts VALUES ('one@example.com', 'hello');
INSERT INTO ref.contacts VALUES ('o***@example.com', 'hello');
INSERT INTO ref.contacts (topic) VALUES ('no e-mail');
UPDATE ref.contacts SET email = 'two@example.com';
COPY ref.contacts (email, topic) FROM stdin;
one@example.com	copied
\.
\c - sc
INSERT INTO ref.contacts VALUES ('one@example.com', 'hello');
INSERT INTO ref.contacts VALUES ('o***@example.com', 'hello');
\c - postgres
SELECT email, topic FROM ref.contacts ORDER BY topic;

-- 3. Keyed noise is drawn from the row's primary key too: a masked session may not change it
-- (re-keying a row inside a rolled-back transaction used to give a fresh draw each time).
-- Control: sc may.
\c - sa
SELECT salary <> 2000 AS noisy FROM ref.people WHERE id = 2;
BEGIN;
UPDATE ref.people SET id = 20 WHERE id = 2;
ROLLBACK;
\c - sc
BEGIN;
UPDATE ref.people SET id = 20 WHERE id = 2;
ROLLBACK;

-- 4. Materialized views reading masked columns or subject tables through a view or a function
-- are refused to masked and filtered sessions, as those reading them directly are; COPY of one
-- too. Control: sc reads them all.
\c - so
CREATE VIEW ref.v_people AS SELECT id, email FROM ref.people;
CREATE MATERIALIZED VIEW ref.mv_via_view AS SELECT * FROM ref.v_people;
CREATE FUNCTION ref.all_people() RETURNS SETOF ref.people LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN QUERY SELECT * FROM ref.people; END $$;
CREATE MATERIALIZED VIEW ref.mv_via_function AS SELECT id, email FROM ref.all_people();
CREATE MATERIALIZED VIEW ref.mv_plain AS SELECT g AS n FROM generate_series(1, 3) g;
GRANT SELECT ON ref.mv_via_view, ref.mv_via_function, ref.mv_plain TO sa, sf, sc;
\c - sa
SELECT * FROM ref.mv_via_view;
SELECT * FROM ref.mv_via_function;
SELECT count(*) AS plain FROM ref.mv_plain;
\c - sf
SELECT * FROM ref.mv_via_view;
SELECT * FROM ref.mv_via_function;
-- (PostgreSQL 18 copies a materialized view; 15 refuses it itself: the refusal comes first)
COPY ref.mv_via_view TO stdout;
SELECT count(*) AS plain FROM ref.mv_plain;
\c - sc
SELECT count(*) AS via_view FROM ref.mv_via_view;
SELECT count(*) AS via_function FROM ref.mv_via_function;

-- 5. Planner statistics hold values of hidden subjects' rows (a materialized view has no row
-- security, so pg_stats shows its values): refused to filtered sessions, as to masked ones.
-- Control: sc reads them.
\c - postgres
ANALYZE ref.mv_via_view;
\c - sf
SELECT count(*) FROM pg_stats WHERE schemaname = 'ref';
\c - sc
SELECT count(*) > 0 AS has_stats FROM pg_stats WHERE schemaname = 'ref' AND tablename = 'mv_via_view';

-- 6. A partition or child cannot be taken out of a protected tree by its owner (it would lose
-- the rules and filters it inherits); a privacy admin can. Control: an unprotected tree.
\c - so
CREATE TABLE ref.parted (id int, email text) PARTITION BY RANGE (id);
CREATE TABLE ref.parted_1 PARTITION OF ref.parted FOR VALUES FROM (0) TO (100);
CREATE TABLE ref.plain_parent (id int);
CREATE TABLE ref.plain_child () INHERITS (ref.plain_parent);
CREATE TABLE ref.child () INHERITS (ref.people);
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.parted.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
\c - so
ALTER TABLE ref.parted DETACH PARTITION ref.parted_1;
ALTER TABLE ref.child NO INHERIT ref.people;
ALTER TABLE ref.plain_child NO INHERIT ref.plain_parent;
\c - postgres
ALTER TABLE ref.parted DETACH PARTITION ref.parted_1;

-- 7. A masked login cannot make or change other roles (it could log in as them unmasked); it
-- may change its own password. Control: sc, with the same CREATEROLE.
\c - sa
CREATE ROLE sa_escape LOGIN PASSWORD 'x';
ALTER ROLE sc PASSWORD 'x';
ALTER ROLE sa PASSWORD 'sa-own';
\c - sc
CREATE ROLE sc_made LOGIN;
DROP ROLE sc_made;

-- 8. A masked or filtered owner cannot run its own expressions over every stored row of its
-- protected table: they would see raw values (ALTER COLUMN ... TYPE ... USING used to copy a
-- masked column into an unmasked one) and hidden subjects' rows. Control: the same statements by
-- an owner who is neither, and by the masked owner on a table without rules.
\c - postgres
GRANT CREATE ON SCHEMA ref TO sa, sf;
\c - sa
CREATE TABLE ref.sa_cards (id int, pan text, note text);
INSERT INTO ref.sa_cards VALUES (1, '4111111111111111', 'n');
CREATE TABLE ref.sa_plain (id int, note text);
\c - sf
CREATE TABLE ref.sf_people (id int, note text);
INSERT INTO ref.sf_people VALUES (1, 'consented'), (2, 'hidden');
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.sa_cards.pan IS 'MASKED WITH VALUE ''****''';
SELECT privacy.set_subject('ref.sf_people', 'id');
\c - sa
ALTER TABLE ref.sa_cards ALTER COLUMN note TYPE text USING pan;
CREATE INDEX ON ref.sa_cards ((left(pan, 1)));
CREATE INDEX ON ref.sa_cards (id) WHERE pan LIKE '4%';
ALTER TABLE ref.sa_cards ADD CHECK (pan NOT LIKE '4%');
ALTER TABLE ref.sa_cards ADD COLUMN head text GENERATED ALWAYS AS (left(pan, 4)) STORED;
CREATE STATISTICS ref.sa_stats ON (left(pan, 1)), id FROM ref.sa_cards;
SELECT id, pan, note FROM ref.sa_cards;
ALTER TABLE ref.sa_plain ALTER COLUMN note TYPE text USING upper(note);
CREATE INDEX ON ref.sa_plain ((upper(note)));
\c - sf
ALTER TABLE ref.sf_people ADD CHECK (note <> 'hidden');
CREATE INDEX ON ref.sf_people ((upper(note)));
\c - so
ALTER TABLE ref.people ALTER COLUMN salary TYPE bigint USING salary + 0;
CREATE INDEX ON ref.people ((left(email, 1)));
ALTER TABLE ref.people ADD CHECK (salary > 0);

-- 9. A second attack pass on the fixes above. Each refusal next to its control.
-- 9a. Only PostgreSQL's own foreign-key statement is exempt: a rule of the referencing table
-- fired by a cascade, and a function the planner folds while planning a SET DEFAULT action, run
-- governed (they used to run unmasked). Control: the same rule fired by a direct DELETE.
\c - sa
CREATE TABLE ref.sa_parent (id int PRIMARY KEY);
CREATE TABLE ref.sa_child (id int REFERENCES ref.sa_parent ON DELETE CASCADE, note text);
CREATE TABLE ref.sa_loot (how text, v text);
CREATE RULE steal AS ON DELETE TO ref.sa_child DO ALSO INSERT INTO ref.sa_loot SELECT 'rule', email FROM ref.people;
INSERT INTO ref.sa_parent VALUES (1), (2);
INSERT INTO ref.sa_child VALUES (1, 'a'), (2, 'b');
DELETE FROM ref.sa_child WHERE id = 2;
DELETE FROM ref.sa_parent WHERE id = 1;
CREATE FUNCTION ref.grab() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN PERFORM set_config('ref.leak', (SELECT string_agg(email, ',' ORDER BY id) FROM ref.people), false); RETURN NULL; END $$;
CREATE TABLE ref.sa_defaulted (id int DEFAULT ref.grab() REFERENCES ref.sa_parent ON DELETE SET DEFAULT);
INSERT INTO ref.sa_parent VALUES (5);
INSERT INTO ref.sa_defaulted VALUES (5);
SELECT set_config('ref.leak', '', false) IS NOT NULL AS reset;
DELETE FROM ref.sa_parent WHERE id = 5;
SELECT current_setting('ref.leak') AS folded_read;
\c - postgres
SELECT how, v FROM ref.sa_loot ORDER BY how, v;
-- 9b. More DDL that runs an owner's expressions over stored rows: a column with a CHECK, a type
-- change without USING (a cast or domain CHECK), a domain's new CHECK, a policy, attaching the
-- table as a partition. Control: the masked owner's table without rules.
\c - sa
ALTER TABLE ref.sa_cards ADD COLUMN probe int CHECK (pan NOT LIKE '4%');
ALTER TABLE ref.sa_cards ALTER COLUMN pan TYPE varchar(40);
CREATE DOMAIN ref.sa_dom AS text;
ALTER DOMAIN ref.sa_dom ADD CONSTRAINT c CHECK (VALUE <> '');
CREATE POLICY peek ON ref.sa_cards USING (pan LIKE '4%');
CREATE TABLE ref.sa_pp (id int, pan text, note text) PARTITION BY LIST (id);
ALTER TABLE ref.sa_pp ATTACH PARTITION ref.sa_cards FOR VALUES IN (1);
ALTER TABLE ref.sa_plain ADD COLUMN probe int CHECK (note <> '');
ALTER TABLE ref.sa_plain ALTER COLUMN note TYPE varchar(40);
-- 9c. A foreign key from a masked column: a masked session may not create one, nor delete rows
-- it references (whether that succeeds would tell whether a raw value equals the key). Control:
-- sc gets PostgreSQL's error for the referenced row and deletes an unreferenced one.
\c - so
CREATE TABLE ref.pans (pan text PRIMARY KEY);
INSERT INTO ref.pans VALUES ('4111111111111111'), ('5500000000000004');
CREATE TABLE ref.cards (id int, pan text REFERENCES ref.pans);
INSERT INTO ref.cards VALUES (1, '4111111111111111');
GRANT SELECT, DELETE, REFERENCES ON ref.pans TO sa, sc;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.cards.pan IS 'MASKED WITH VALUE ''****''';
\c - sa
ALTER TABLE ref.sa_cards ADD CONSTRAINT pan_known FOREIGN KEY (pan) REFERENCES ref.pans;
DELETE FROM ref.pans WHERE pan = '4111111111111111';
DELETE FROM ref.pans WHERE pan = '5500000000000004';
\c - sc
BEGIN;
DELETE FROM ref.pans WHERE pan = '4111111111111111';
ROLLBACK;
BEGIN;
DELETE FROM ref.pans WHERE pan = '5500000000000004';
ROLLBACK;
-- 9d. A materialized view over a built-in function that runs a query: refused to masked and
-- filtered sessions. Control: sc.
\c - so
CREATE MATERIALIZED VIEW ref.mv_words AS SELECT word FROM ts_stat('SELECT to_tsvector(''simple'', email) FROM ref.people');
GRANT SELECT ON ref.mv_words TO sa, sf, sc;
\c - sa
SELECT count(*) FROM ref.mv_words;
\c - sf
SELECT count(*) FROM ref.mv_words;
\c - sc
SELECT count(*) > 0 AS readable FROM ref.mv_words;
-- 9e. Granting, dropping, renaming and setting roles: refused to the masked login (it could grant
-- itself privacy_admin and label itself UNMASKED). Control: sc.
\c - sa
GRANT privacy_admin TO sa;
ALTER ROLE sc SET work_mem = '8MB';
ALTER ROLE sc RENAME TO sc2;
DROP ROLE sc;
ALTER ROLE sa SET work_mem = '8MB';
\c - sc
CREATE ROLE sc_other;
GRANT sc_other TO sc;
DROP ROLE sc_other;
-- 9f. A second parent for a child of a protected table, or dropping a masked column from a
-- protected table with children: for privacy admins only (the child kept the column without its
-- rule). Control: an unprotected parent.
\c - so
CREATE TABLE ref.other_parent ();
\c - postgres
GRANT SELECT ON ref.other_parent TO sa;
\c - so
ALTER TABLE ref.child INHERIT ref.other_parent;
ALTER TABLE ref.people DROP COLUMN email;
ALTER TABLE ref.plain_child INHERIT ref.other_parent;

-- 10. A third attack pass on the fixes above.
-- 10a. A conditional DO INSTEAD rule on a table puts its condition into the foreign-key action's
-- query: a table with rules gets no exemption (the condition ran over raw values). Control: the
-- same rule fired by a direct DELETE.
\c - sa
CREATE TABLE ref.sa_ruled (id int REFERENCES ref.sa_parent ON DELETE CASCADE, note text);
CREATE RULE spy AS ON DELETE TO ref.sa_ruled
    WHERE set_config('ref.seen', (SELECT string_agg(email, ',' ORDER BY id) FROM ref.people), false) IS NULL DO INSTEAD NOTHING;
INSERT INTO ref.sa_parent VALUES (7), (8);
INSERT INTO ref.sa_ruled VALUES (7, 'x'), (8, 'y');
DELETE FROM ref.sa_ruled WHERE id = 8;
SELECT current_setting('ref.seen') AS seen_direct;
SELECT set_config('ref.seen', '', false) IS NOT NULL AS reset;
DELETE FROM ref.sa_parent WHERE id = 7;
SELECT current_setting('ref.seen') AS seen_by_cascade;
-- 10b. A cascade a masked session sets off is checked as its own delete: it may not delete rows
-- that a masked column references through it (deleting them directly was refused; a cascade of
-- the session's own key went through and answered whether a raw value exists).
\c - so
CREATE TABLE ref.pan_groups (g int PRIMARY KEY);
INSERT INTO ref.pan_groups VALUES (1);
ALTER TABLE ref.pans ADD COLUMN g int REFERENCES ref.pan_groups ON DELETE CASCADE;
UPDATE ref.pans SET g = 1;
GRANT SELECT, DELETE ON ref.pan_groups TO sa, sc;
\c - sa
DELETE FROM ref.pan_groups WHERE g = 1;
\c - sc
BEGIN;
DELETE FROM ref.pan_groups WHERE g = 1;
ROLLBACK;
-- 10c. A subject table cannot be a partition or child of a table that is not one (reads through
-- the parent were not filtered): refused when declared and when attached, for everyone.
-- Control: the parent declared first.
\c - so
CREATE TABLE ref.fpp (id int, note text) PARTITION BY LIST (id);
CREATE TABLE ref.fpp1 PARTITION OF ref.fpp FOR VALUES IN (1, 2);
CREATE TABLE ref.loose (id int, note text);
\c - postgres
SELECT privacy.set_subject('ref.fpp1', 'id');
SELECT privacy.set_subject('ref.loose', 'id');
ALTER TABLE ref.fpp ATTACH PARTITION ref.loose FOR VALUES IN (3);
SELECT privacy.set_subject('ref.fpp', 'id');
SELECT privacy.set_subject('ref.fpp1', 'id');
ALTER TABLE ref.fpp ATTACH PARTITION ref.loose FOR VALUES IN (3);
-- 10d. DDL on the parent of a protected partition reaches the partition's rows: refused to a
-- masked owner as on the partition itself. Control: the same parent without rules below it.
\c - sa
CREATE TABLE ref.sa_tree (id int, secret text) PARTITION BY LIST (id);
CREATE TABLE ref.sa_tree1 PARTITION OF ref.sa_tree FOR VALUES IN (1);
INSERT INTO ref.sa_tree VALUES (1, 'part-secret');
CREATE TABLE ref.sa_tree_plain (id int, secret text) PARTITION BY LIST (id);
CREATE TABLE ref.sa_tree_plain1 PARTITION OF ref.sa_tree_plain FOR VALUES IN (1);
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.sa_tree1.secret IS 'MASKED WITH VALUE ''***''';
\c - sa
CREATE INDEX ON ref.sa_tree ((upper(secret)));
ALTER TABLE ref.sa_tree ADD CHECK (secret <> '');
CREATE INDEX ON ref.sa_tree_plain ((upper(secret)));

-- 11. A fourth attack pass.
-- 11a. Code a masked owner wrote before its table got rules (a CHECK constraint calling its own
-- function) would see every written row raw: writes are refused, whoever writes, as for its
-- triggers. Control: the same table once the constraint is gone.
\c - sa
CREATE FUNCTION ref.sa_watch(v text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM set_config('ref.watched', v, false); RETURN true; END $$;
CREATE TABLE ref.sa_watched (id int, secret text CONSTRAINT watch CHECK (ref.sa_watch(secret)));
GRANT INSERT, UPDATE ON ref.sa_watched TO sc;
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.sa_watched.secret IS 'MASKED WITH VALUE ''***''';
\c - sa
INSERT INTO ref.sa_watched VALUES (1, 'mine');
\c - sc
INSERT INTO ref.sa_watched VALUES (2, 'from sc');
\c - postgres
ALTER TABLE ref.sa_watched DROP CONSTRAINT watch;
\c - sc
INSERT INTO ref.sa_watched VALUES (2, 'from sc');
-- 11b. Code a filtered role owns on a subject table (a trigger) would see hidden subjects' rows
-- on every write: refused, whoever writes. Control: without the trigger.
\c - sf
CREATE FUNCTION ref.sf_log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER sf_log BEFORE INSERT ON ref.sf_people FOR EACH ROW EXECUTE FUNCTION ref.sf_log();
\c - postgres
INSERT INTO ref.sf_people VALUES (3, 'new');
DROP TRIGGER sf_log ON ref.sf_people;
INSERT INTO ref.sf_people VALUES (3, 'new');
-- 11c. An error caught in an exception block inside a foreign-key action leaves later foreign-key
-- checks unfiltered as before: the delete of a person a hidden row references still fails.
-- Control: the same delete without the caught error.
\c - so
CREATE TABLE ref.np (id int PRIMARY KEY);
CREATE TABLE ref.nc (pid int NOT NULL REFERENCES ref.np ON DELETE SET NULL);
INSERT INTO ref.np VALUES (1);
INSERT INTO ref.nc VALUES (1);
GRANT SELECT, DELETE ON ref.np TO sf;
\c - sf
BEGIN;
DO $$ BEGIN DELETE FROM ref.np WHERE id = 1; EXCEPTION WHEN others THEN RAISE NOTICE 'caught: %', sqlstate; END $$;
DELETE FROM ref.people WHERE id = 1;
ROLLBACK;
BEGIN;
DELETE FROM ref.people WHERE id = 1;
ROLLBACK;
-- 11d. A masked owner's new partition of its protected table gets pg_privacy's guards (its own
-- CREATE POLICY of them is not refused).
\c - sa
CREATE TABLE ref.sa_guarded (id int, secret text) PARTITION BY LIST (id);
\c - postgres
SECURITY LABEL FOR privacy ON COLUMN ref.sa_guarded.secret IS 'MASKED WITH VALUE ''***''';
\c - sa
CREATE TABLE ref.sa_guarded1 PARTITION OF ref.sa_guarded FOR VALUES IN (1);
\c - postgres
SELECT polname FROM pg_policy WHERE polrelid = 'ref.sa_guarded1'::regclass ORDER BY 1;

-- 12. A fifth pass: the masked role's function reached from a trigger's WHEN condition, a rule, a
-- domain's CHECK (code an unmasked owner wrote), and COPY FROM into a subject table whose trigger
-- runs a filtered role's function: refused like the direct forms. Control: a table without it.
\c - postgres
CREATE TABLE ref.watched2 (id int, secret text);
CREATE FUNCTION ref.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER t_when BEFORE INSERT ON ref.watched2 FOR EACH ROW WHEN (ref.sa_watch(NEW.secret)) EXECUTE FUNCTION ref.noop();
SECURITY LABEL FOR privacy ON COLUMN ref.watched2.secret IS 'MASKED WITH VALUE ''***''';
INSERT INTO ref.watched2 VALUES (1, 'raw');
DROP TRIGGER t_when ON ref.watched2;
CREATE RULE r_watch AS ON INSERT TO ref.watched2 DO ALSO SELECT ref.sa_watch(NEW.secret);
INSERT INTO ref.watched2 VALUES (1, 'raw');
DROP RULE r_watch ON ref.watched2;
CREATE DOMAIN ref.watched_text AS text CHECK (ref.sa_watch(VALUE));
ALTER TABLE ref.watched2 ALTER COLUMN secret TYPE ref.watched_text;
INSERT INTO ref.watched2 VALUES (1, 'raw');
ALTER TABLE ref.watched2 ALTER COLUMN secret TYPE text;
INSERT INTO ref.watched2 VALUES (1, 'raw');
\c - sf
CREATE TRIGGER sf_log BEFORE INSERT ON ref.sf_people FOR EACH ROW EXECUTE FUNCTION ref.sf_log();
\c - postgres
COPY ref.sf_people FROM stdin;
4	copied
\.
\c - sf
DROP TRIGGER sf_log ON ref.sf_people;
\c - postgres
COPY ref.sf_people FROM stdin;
4	copied
\.

-- 13. PostgreSQL's own foreign-key triggers are not code the table's owner wrote: a table that a
-- masked role owns, with a rule and a foreign key, reads raw for the unmasked (control: the
-- masked reader), and a trigger the masked owner writes makes it masked for everyone again.
\c - postgres
CREATE TABLE ref.sa_notes (id int PRIMARY KEY, person int REFERENCES ref.people (id), note text);
ALTER TABLE ref.sa_notes OWNER TO sa;
INSERT INTO ref.sa_notes VALUES (1, 1, 'raw note');
SECURITY LABEL FOR privacy ON COLUMN ref.sa_notes.note IS 'MASKED WITH VALUE ''[hidden]''';
GRANT SELECT ON ref.sa_notes TO sc;
SELECT note FROM ref.sa_notes;
\c - sc
SELECT note FROM ref.sa_notes;
\c - sa
SELECT note FROM ref.sa_notes;
CREATE FUNCTION ref.sa_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER sa_touch BEFORE UPDATE ON ref.sa_notes FOR EACH ROW EXECUTE FUNCTION ref.sa_touch();
\c - sc
SELECT note FROM ref.sa_notes;
-- once the trigger is dropped, raw again at once (PostgreSQL clears relhastriggers only at VACUUM)
\c - sa
DROP TRIGGER sa_touch ON ref.sa_notes;
\c - sc
SELECT note FROM ref.sa_notes;
SELECT relhastriggers FROM pg_class WHERE oid = 'ref.sa_notes'::regclass;

-- 14. Code of a masked role reading the caller's open cursor (its name is in pg_cursors): the
-- cursor's plan was made unmasked, so running it for the masked role's trigger is refused.
-- Control: the same trigger without an open cursor to read, and the caller reading its cursor.
\c - sa
CREATE TABLE ref.sa_sink (v text);
CREATE TABLE ref.sa_fire (id int);
CREATE FUNCTION ref.sa_fetch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c record; r record;
BEGIN
    FOR c IN SELECT name FROM pg_cursors LOOP
        FOR r IN EXECUTE 'FETCH ALL FROM ' || quote_ident(c.name) LOOP
            INSERT INTO ref.sa_sink VALUES (row_to_json(r)::text);
        END LOOP;
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER sa_fetch AFTER INSERT ON ref.sa_fire FOR EACH ROW EXECUTE FUNCTION ref.sa_fetch();
GRANT INSERT ON ref.sa_fire, ref.sa_sink TO sc;
\c - sc
BEGIN;
DECLARE cc CURSOR FOR SELECT id, email FROM ref.people ORDER BY id;
INSERT INTO ref.sa_fire VALUES (1);
ROLLBACK;
BEGIN;
INSERT INTO ref.sa_fire VALUES (2);
DECLARE cc CURSOR FOR SELECT id, email FROM ref.people ORDER BY id;
FETCH 1 FROM cc;
COMMIT;
-- a WITH HOLD cursor, read after its transaction committed (from the stored rows)
DECLARE hc CURSOR WITH HOLD FOR SELECT id, email FROM ref.people ORDER BY id;
INSERT INTO ref.sa_fire VALUES (3);
FETCH 1 FROM hc;
CLOSE hc;
-- a cursor over a set-returning function: its rows are stored once read, outside any plan over
-- the table; and cursor_to_xml, which reads a cursor by name without FETCH
\c - postgres
CREATE FUNCTION ref.people_rows() RETURNS SETOF ref.people LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY SELECT * FROM ref.people; END $$;
GRANT EXECUTE ON FUNCTION ref.people_rows() TO sc;
\c - sa
CREATE FUNCTION ref.sa_xml() RETURNS text LANGUAGE sql AS $$ SELECT cursor_to_xml('hc'::refcursor, 10, false, false, '')::text $$;
GRANT EXECUTE ON FUNCTION ref.sa_xml() TO sc;
\c - sc
BEGIN;
DECLARE cc CURSOR FOR SELECT id, email FROM ref.people_rows() ORDER BY id;
FETCH 1 FROM cc;
INSERT INTO ref.sa_fire VALUES (4);
ROLLBACK;
DECLARE hc CURSOR WITH HOLD FOR SELECT id, email FROM ref.people ORDER BY id;
SELECT ref.sa_xml();
CLOSE hc;
\c - sa
SELECT count(*) AS rows_stolen FROM ref.sa_sink;

-- 15. A masked role's domain on its table: the domain's DEFAULT and CHECK are its code, so
-- writes into the table are masked as a whole, as with a column DEFAULT (the control).
-- (the reading function is a DBA's, as query_to_xml would be: not code of the masked role)
\c - postgres
CREATE FUNCTION ref.first_email() RETURNS text LANGUAGE sql STABLE AS $$ SELECT email FROM ref.people ORDER BY id LIMIT 1 $$;
GRANT EXECUTE ON FUNCTION ref.first_email() TO sa, sc;
\c - sa
CREATE DOMAIN ref.sa_dump AS text DEFAULT ref.first_email();
CREATE TABLE ref.sa_intake (id int, dump ref.sa_dump);
CREATE TABLE ref.sa_intake2 (id int, dump text DEFAULT ref.first_email());
GRANT INSERT ON ref.sa_intake, ref.sa_intake2 TO sc;
\c - sc
INSERT INTO ref.sa_intake (id) VALUES (1);
INSERT INTO ref.sa_intake2 (id) VALUES (1);
\c - sa
SELECT dump AS domain_default FROM ref.sa_intake;
SELECT dump AS column_default FROM ref.sa_intake2;

\c - postgres
DROP SCHEMA ref CASCADE;
SELECT privacy.disallow_purpose('sf', 'referrals');
SECURITY LABEL FOR privacy ON ROLE sa IS NULL;
DROP ROLE so, sa, sf, sc;
