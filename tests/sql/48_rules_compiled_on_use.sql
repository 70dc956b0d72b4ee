-- Rules are compiled column by column, when a masked statement first needs them (issue 16):
-- every way a query can reach a masked column must still get its rule in a session that has
-- compiled nothing yet. Each query runs in a new connection (a cold cache) as the masked
-- analyst, next to the same query as the unmasked app_owner (control).
CREATE SCHEMA lazy;
GRANT USAGE ON SCHEMA lazy TO PUBLIC;
CREATE TABLE lazy.w (
    id   int PRIMARY KEY,
    a    text,
    b    text,
    c    text,
    d    text,
    vip  boolean,
    g    text GENERATED ALWAYS AS (upper(c)) STORED,
    note text
);
INSERT INTO lazy.w (id, a, b, c, d, vip, note) VALUES
    (1, 'alpha1', 'bravo1', 'charlie1', 'delta1', true, 'n1'),
    (2, 'alpha2', 'bravo2', 'charlie2', 'delta2', false, 'n2');
GRANT SELECT, UPDATE ON lazy.w TO analyst, app_owner;
SECURITY LABEL FOR privacy ON COLUMN lazy.w.a IS 'MASKED WITH FUNCTION privacy.partial(a, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN lazy.w.b IS 'MASKED WITH VALUE ''(b)''';
SECURITY LABEL FOR privacy ON COLUMN lazy.w.c IS 'MASKED WITH FUNCTION privacy.partial(c, 2, ''~'', 0)';
-- a conditional rule reading another column
SECURITY LABEL FOR privacy ON COLUMN lazy.w.d IS 'MASKED WITH FUNCTION CASE WHEN vip THEN ''(vip)'' ELSE privacy.partial(d, 1, ''*'', 1) END';

\c - analyst
SELECT id, a FROM lazy.w ORDER BY id;
\c - app_owner
SELECT id, a FROM lazy.w ORDER BY id;
-- a whole-row reference
\c - analyst
SELECT w FROM lazy.w w ORDER BY id;
\c - app_owner
SELECT w FROM lazy.w w ORDER BY id;
-- only a sub-link references the column
\c - analyst
SELECT id, (SELECT w2.b FROM lazy.w w2 WHERE w2.id = w.id) AS b FROM lazy.w w ORDER BY id;
\c - app_owner
SELECT id, (SELECT w2.b FROM lazy.w w2 WHERE w2.id = w.id) AS b FROM lazy.w w ORDER BY id;
-- an outer reference from inside a sub-link (level 1)
\c - analyst
SELECT id, (SELECT w.b || '/' || w.c) AS bc FROM lazy.w w ORDER BY id;
\c - app_owner
SELECT id, (SELECT w.b || '/' || w.c) AS bc FROM lazy.w w ORDER BY id;
-- LATERAL and a join's alias
\c - analyst
SELECT x.v FROM lazy.w w, LATERAL (SELECT w.a AS v) x ORDER BY 1;
SELECT j.c, j.k FROM (lazy.w JOIN (VALUES (1), (2)) v(k) ON v.k = w.id) AS j ORDER BY 2;
\c - app_owner
SELECT x.v FROM lazy.w w, LATERAL (SELECT w.a AS v) x ORDER BY 1;
SELECT j.c, j.k FROM (lazy.w JOIN (VALUES (1), (2)) v(k) ON v.k = w.id) AS j ORDER BY 2;
-- a generated column computed from a masked column, the masked column not referenced
\c - analyst
SELECT id, g FROM lazy.w ORDER BY id;
\c - app_owner
SELECT id, g FROM lazy.w ORDER BY id;
-- a conditional rule that reads another column; a filter on a masked column
\c - analyst
SELECT id, d FROM lazy.w ORDER BY id;
SELECT count(*) FROM lazy.w WHERE b LIKE 'bravo%';
\c - app_owner
SELECT id, d FROM lazy.w ORDER BY id;
SELECT count(*) FROM lazy.w WHERE b LIKE 'bravo%';
-- writes check every rule: changing an input of another column's rule is refused, in a cold
-- session too; RETURNING is masked
\c - analyst
UPDATE lazy.w SET vip = false WHERE id = 1;
UPDATE lazy.w SET note = 'x' WHERE id = 2 RETURNING id, a, g;
\c - app_owner
UPDATE lazy.w SET note = 'y' WHERE id = 2 RETURNING id, a, g;
-- a prepared statement, then another column in the same session
\c - analyst
PREPARE q AS SELECT a FROM lazy.w WHERE id = $1;
EXECUTE q(1);
SELECT b, c FROM lazy.w WHERE id = 1;
EXECUTE q(2);
-- Found by the attacker's pass on this change (not caused by it): a child or partition that
-- computes a column from a masked column where the parent stores a plain one. Read through the
-- parent, the column reads as NULL for masked roles; read directly, as the child's expression
-- over the masked value. PostgreSQL 16 and later refuse such children (the _1 expected output).
\c - postgres
CREATE TABLE lazy.par (id int, email text, g text);
CREATE TABLE lazy.chi (id int, email text, g text GENERATED ALWAYS AS (split_part(email, '@', 1)) STORED);
ALTER TABLE lazy.chi INHERIT lazy.par;
INSERT INTO lazy.chi (id, email) VALUES (1, 'carol@example.com');
CREATE TABLE lazy.pt (id int, email text, g text) PARTITION BY LIST (id);
CREATE TABLE lazy.pt1 (id int, email text, g text GENERATED ALWAYS AS (email) STORED);
ALTER TABLE lazy.pt ATTACH PARTITION lazy.pt1 FOR VALUES IN (1);
INSERT INTO lazy.pt (id, email) VALUES (1, 'dave@example.com');
SECURITY LABEL FOR privacy ON COLUMN lazy.par.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN lazy.pt.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
GRANT SELECT ON lazy.par, lazy.chi, lazy.pt, lazy.pt1 TO analyst, app_owner;
SELECT "table", "column", rule, inherited_from, applies_to FROM privacy.masking_rules
WHERE "table"::text LIKE 'lazy.p%' OR "table"::text LIKE 'lazy.c%' ORDER BY 1, 2;
\c - analyst
SELECT id, email, g FROM lazy.par;
SELECT count(*) FROM lazy.par WHERE g = 'carol';
SELECT id, email, g FROM lazy.chi;
SELECT id, email, g FROM lazy.pt;
SELECT count(*) FROM lazy.pt WHERE g LIKE 'dave%';
SELECT id, email, g FROM lazy.pt1;
\c - app_owner
SELECT id, email, g FROM lazy.par;
SELECT id, email, g FROM lazy.pt;
\c - postgres
SET client_min_messages = warning;
DROP SCHEMA lazy CASCADE;
