-- Conditions a masked role writes into a security-barrier view it updates through, carried by
-- PostgreSQL into the actions of rules (a DO ALSO SELECT on a view of the role's own, and a
-- DBA's audit rule on the protected table itself): they must see masked values like every other
-- condition of the masked role's, so the rule actions learn nothing (found by an independent
-- review of a planner shortcut that took every SELECT level's security conditions for row-security
-- policies); and a masked role's own row-security policy reading the protected table (found by
-- the same review). Each attempt next to the same by an unmasked role (the control).
\set SHOW_CONTEXT never
CREATE ROLE ra_masked;
CREATE ROLE ra_control;
SECURITY LABEL FOR privacy ON ROLE ra_masked IS 'MASKED';
CREATE SCHEMA ra;
CREATE TABLE ra.t (id int PRIMARY KEY, ssn text, note text);
INSERT INTO ra.t VALUES (1, '123-45-6789', 'a'), (2, '987-65-4321', 'b'), (3, '111-22-3333', 'c'), (4, '555-00-1111', 'd');
SECURITY LABEL FOR privacy ON COLUMN ra.t.ssn IS 'MASKED WITH VALUE NULL';
CREATE TABLE ra.audit (id int, who name);
-- the DBA's audit rule on the protected table
CREATE RULE audit_update AS ON UPDATE TO ra.t DO ALSO INSERT INTO ra.audit SELECT old.id, current_user;
GRANT USAGE ON SCHEMA ra TO ra_masked, ra_control;
GRANT SELECT, UPDATE ON ra.t TO ra_masked, ra_control;
CREATE SCHEMA ra_masked AUTHORIZATION ra_masked;
CREATE SCHEMA ra_control AUTHORIZATION ra_control;
-- 1. the role's own view with a DO ALSO SELECT rule, under a security-barrier view whose
-- condition asks about the masked column
SET ROLE ra_masked;
CREATE TABLE ra_masked.own (id int);
INSERT INTO ra_masked.own VALUES (1), (2), (3), (4);
CREATE VIEW ra_masked.inner_v WITH (security_barrier) AS SELECT * FROM ra_masked.own;
CREATE RULE leak AS ON UPDATE TO ra_masked.inner_v DO ALSO SELECT old.id AS leaked_id;
CREATE VIEW ra_masked.outer_v WITH (security_barrier) AS SELECT * FROM ra_masked.inner_v v
    WHERE EXISTS (SELECT 1 FROM ra.t x WHERE x.id = v.id AND x.ssn LIKE '1%');
UPDATE ra_masked.outer_v SET id = id;
RESET ROLE;
SET ROLE ra_control;
CREATE TABLE ra_control.own (id int);
INSERT INTO ra_control.own VALUES (1), (2), (3), (4);
CREATE VIEW ra_control.inner_v WITH (security_barrier) AS SELECT * FROM ra_control.own;
CREATE RULE leak AS ON UPDATE TO ra_control.inner_v DO ALSO SELECT old.id AS leaked_id;
CREATE VIEW ra_control.outer_v WITH (security_barrier) AS SELECT * FROM ra_control.inner_v v
    WHERE EXISTS (SELECT 1 FROM ra.t x WHERE x.id = v.id AND x.ssn LIKE '1%');
UPDATE ra_control.outer_v SET id = id;
RESET ROLE;
-- 2. a security-barrier view straight on the protected table, updated: the DBA's audit rule
-- runs with the copied condition
SET ROLE ra_masked;
CREATE VIEW ra_masked.sbt WITH (security_barrier) AS SELECT * FROM ra.t WHERE ssn LIKE '1%';
UPDATE ra_masked.sbt SET note = note;
RESET ROLE;
SELECT id AS audited_for_masked FROM ra.audit WHERE who = 'ra_masked' ORDER BY id;
SET ROLE ra_control;
CREATE VIEW ra_control.sbt WITH (security_barrier) AS SELECT * FROM ra.t WHERE ssn LIKE '1%';
UPDATE ra_control.sbt SET note = note;
RESET ROLE;
SELECT id AS audited_for_control FROM ra.audit WHERE who = 'ra_control' ORDER BY id;
-- 3. a row-security policy the masked role writes on its own table, reading the protected one:
-- policies see raw values (their author is the table's owner), so a masked owner's policy that
-- reads a table with masking rules is refused, whoever reads; the control's policy works
SET ROLE ra_masked;
CREATE TABLE ra_masked.mine (id int);
INSERT INTO ra_masked.mine SELECT generate_series(1, 4);
ALTER TABLE ra_masked.mine ENABLE ROW LEVEL SECURITY;
ALTER TABLE ra_masked.mine FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON ra_masked.mine USING (EXISTS (SELECT 1 FROM ra.t x WHERE x.id = mine.id AND x.ssn LIKE '1%'));
GRANT USAGE ON SCHEMA ra_masked TO ra_control;
GRANT SELECT ON ra_masked.mine TO ra_control;
SELECT id AS policy_rows_masked_owner FROM ra_masked.mine ORDER BY id;
RESET ROLE;
SET ROLE ra_control;
SELECT id AS policy_rows_read_by_control FROM ra_masked.mine ORDER BY id;
CREATE TABLE ra_control.mine (id int);
INSERT INTO ra_control.mine SELECT generate_series(1, 4);
ALTER TABLE ra_control.mine ENABLE ROW LEVEL SECURITY;
ALTER TABLE ra_control.mine FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON ra_control.mine USING (EXISTS (SELECT 1 FROM ra.t x WHERE x.id = mine.id AND x.ssn LIKE '1%'));
SELECT id AS policy_rows_control_owner FROM ra_control.mine ORDER BY id;
RESET ROLE;
-- 4. the same through a policy's WITH CHECK (an insert accepted or refused on raw values)
SET ROLE ra_masked;
CREATE TABLE ra_masked.checked (id int);
ALTER TABLE ra_masked.checked ENABLE ROW LEVEL SECURITY;
ALTER TABLE ra_masked.checked FORCE ROW LEVEL SECURITY;
CREATE POLICY reads ON ra_masked.checked FOR SELECT USING (true);
CREATE POLICY ins ON ra_masked.checked FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM ra.t x WHERE x.id = checked.id AND x.ssn LIKE '1%'));
INSERT INTO ra_masked.checked VALUES (1);
INSERT INTO ra_masked.checked VALUES (2);
RESET ROLE;
SET ROLE ra_control;
CREATE TABLE ra_control.checked (id int);
ALTER TABLE ra_control.checked ENABLE ROW LEVEL SECURITY;
ALTER TABLE ra_control.checked FORCE ROW LEVEL SECURITY;
CREATE POLICY reads ON ra_control.checked FOR SELECT USING (true);
CREATE POLICY ins ON ra_control.checked FOR INSERT WITH CHECK (EXISTS (SELECT 1 FROM ra.t x WHERE x.id = checked.id AND x.ssn LIKE '1%'));
INSERT INTO ra_control.checked VALUES (1);
INSERT INTO ra_control.checked VALUES (2);
RESET ROLE;
-- 5. a policy the masked role writes on a table of an unmasked group it belongs to: the owner
-- is not masked, but a masked member could have written the policy, so it is refused too
CREATE ROLE ra_group;
GRANT ra_group TO ra_masked;
GRANT USAGE ON SCHEMA ra TO ra_group;
GRANT SELECT ON ra.t TO ra_group;
CREATE TABLE ra_masked.grouped (id int);
ALTER TABLE ra_masked.grouped OWNER TO ra_group;
INSERT INTO ra_masked.grouped SELECT generate_series(1, 4);
SET ROLE ra_masked;
ALTER TABLE ra_masked.grouped ENABLE ROW LEVEL SECURITY;
ALTER TABLE ra_masked.grouped FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON ra_masked.grouped USING (EXISTS (SELECT 1 FROM ra.t x WHERE x.id = grouped.id AND x.ssn LIKE '1%'));
SELECT id AS group_policy_rows FROM ra_masked.grouped ORDER BY id;
RESET ROLE;
-- the same masked role's plain read, for comparison: its condition sees masked values too
SET ROLE ra_masked;
SELECT count(*) AS masked_direct FROM ra.t WHERE ssn LIKE '1%';
RESET ROLE;
SET client_min_messages = warning;
DROP SCHEMA ra_masked CASCADE;
DROP SCHEMA ra_control CASCADE;
DROP SCHEMA ra CASCADE;
DROP ROLE ra_masked;
DROP ROLE ra_control;
DROP ROLE ra_group;
RESET client_min_messages;
