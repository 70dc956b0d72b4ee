-- A determined masked login (mallory) against the masking rules, item by item (issue 8), each
-- result next to the same attempt by an unmasked login (support) as the control.
\set SHOW_CONTEXT never
CREATE ROLE mallory LOGIN;
CREATE ROLE helpdesk NOLOGIN;
GRANT helpdesk TO mallory;
CREATE ROLE support LOGIN;
CREATE ROLE bystander LOGIN;
SECURITY LABEL FOR privacy ON ROLE mallory IS 'MASKED';
CREATE SCHEMA vault;
CREATE TABLE vault.customers (
    id int PRIMARY KEY, name text NOT NULL, email text UNIQUE, ssn text, phone text,
    vip boolean NOT NULL DEFAULT false, contact text, salary int, age int CHECK (age >= 0), mobile text);
INSERT INTO vault.customers VALUES
  (1, 'Alice', 'alice@example.com', '123-45-6789', '+1 555 0101', false, 'alice@home.example', 50000, 30, '0171-5551234'),
  (2, 'Bob',   'bob@example.net',   '987-65-4321', '+1 555 0202', false, 'bob@home.example',   60000, 40, '5551234');
SECURITY LABEL FOR privacy ON COLUMN vault.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN vault.customers.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
-- a conditional rule: VIP phones are shown
SECURITY LABEL FOR privacy ON COLUMN vault.customers.phone IS 'MASKED WITH FUNCTION CASE WHEN vip THEN phone ELSE privacy.mask_phone(phone) END';
-- a keyed rule, noise, and a rule that can fail on a malformed stored value
SECURITY LABEL FOR privacy ON COLUMN vault.customers.contact IS 'MASKED WITH FUNCTION privacy.hash(contact)';
SECURITY LABEL FOR privacy ON COLUMN vault.customers.salary IS 'MASKED WITH FUNCTION privacy.noise(salary, 0.1)';
SECURITY LABEL FOR privacy ON COLUMN vault.customers.mobile IS 'MASKED WITH FUNCTION privacy.bucket(mobile::bigint, 1000)::text';
GRANT USAGE ON SCHEMA vault TO mallory, helpdesk, support;
GRANT SELECT, INSERT, UPDATE, DELETE, REFERENCES ON vault.customers TO mallory, helpdesk, support;
CREATE SCHEMA mallory AUTHORIZATION mallory;
CREATE SCHEMA support AUTHORIZATION support;
-- public.leak(text) (scenario 10) prints its argument and claims to be nearly free.

-- 1. Quals a masked role writes see masked values: a security_barrier view's WHERE (security
--    quals on UPDATE) and a view's WITH CHECK OPTION.
\c - mallory
CREATE VIEW mallory.sb WITH (security_barrier) AS SELECT * FROM vault.customers WHERE public.leak(ssn);
UPDATE mallory.sb SET age = age WHERE id = 1 RETURNING id;
CREATE VIEW mallory.prefix WITH (security_barrier) AS SELECT * FROM vault.customers WHERE ssn LIKE '987-65%';
UPDATE mallory.prefix SET age = age RETURNING id;
DELETE FROM mallory.prefix RETURNING id;
CREATE VIEW mallory.checked AS SELECT * FROM vault.customers WHERE ssn LIKE '123%' WITH CHECK OPTION;
UPDATE mallory.checked SET age = 31 WHERE id = 1 RETURNING id;
INSERT INTO mallory.checked (id, name, ssn) VALUES (60, 'Probe', '123-00-0000') RETURNING id;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - support
CREATE VIEW support.sb WITH (security_barrier) AS SELECT * FROM vault.customers WHERE public.leak(ssn);
UPDATE support.sb SET age = age WHERE id = 1 RETURNING id;
CREATE VIEW support.prefix WITH (security_barrier) AS SELECT * FROM vault.customers WHERE ssn LIKE '987-65%';
UPDATE support.prefix SET age = age RETURNING id;
CREATE VIEW support.checked AS SELECT * FROM vault.customers WHERE ssn LIKE '123%' WITH CHECK OPTION;
INSERT INTO support.checked (id, name, ssn) VALUES (60, 'Probe', '123-00-0000') RETURNING id;
DELETE FROM vault.customers WHERE id = 60;

-- 2. The session stays masked whatever role it reaches.
\c - mallory
CREATE FUNCTION mallory.peek() RETURNS text LANGUAGE sql SECURITY DEFINER AS $$ SELECT ssn FROM vault.customers WHERE id = 1 $$;
ALTER FUNCTION mallory.peek() OWNER TO helpdesk;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT mallory.peek();
SELECT set_config('role', 'helpdesk', false) IS NOT NULL AS switched;
COPY vault.customers (id, ssn) TO STDOUT;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE FUNCTION mallory.peek2() RETURNS text LANGUAGE sql AS $$ SELECT ssn FROM vault.customers WHERE id = 1 $$;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT current_user, ssn FROM vault.customers WHERE id = 1;
\! PGOPTIONS='-c role=helpdesk' psql -X -q -U mallory -d privacy_e2e -c 'SELECT ssn FROM vault.customers WHERE id = 1' 2>&1
\c - postgres
ALTER ROLE mallory SET role = 'helpdesk';
\! psql -X -q -U mallory -d privacy_e2e -c 'COPY vault.customers (id, ssn) TO STDOUT' 2>&1
ALTER ROLE mallory RESET role;
-- a DBA's SECURITY DEFINER functions: one that writes, one that reads
CREATE FUNCTION vault.set_age(int, int) RETURNS void LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS $$ UPDATE vault.customers SET age = $2 WHERE id = $1 $$;
CREATE FUNCTION vault.lookup_ssn(int) RETURNS text LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT ssn FROM vault.customers WHERE id = $1 $$;
GRANT EXECUTE ON FUNCTION vault.set_age(int, int), vault.lookup_ssn(int) TO mallory, support;
\c - mallory
SELECT vault.set_age(1, -1);
SELECT vault.lookup_ssn(1);
\c - support
SELECT vault.set_age(1, -1);
SELECT vault.lookup_ssn(1);
-- a privacy admin can mark the reading function TRUSTED: then it answers with its owner's view
\c - postgres
SECURITY LABEL FOR privacy ON FUNCTION vault.lookup_ssn(int) IS 'TRUSTED';
\c - mallory
SELECT vault.lookup_ssn(1);
SECURITY LABEL FOR privacy ON FUNCTION mallory.peek() IS 'TRUSTED';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - postgres
SECURITY LABEL FOR privacy ON FUNCTION vault.lookup_ssn(int) IS NULL;

-- 3. Keyed functions refuse a masked caller in the function itself: through an operator, an
--    aggregate, a parallel worker, and in a database without any rule.
\c - mallory
CREATE OPERATOR mallory.### (RIGHTARG = text, FUNCTION = privacy.hash);
SELECT OPERATOR(mallory.###) 'alice@home.example';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE AGGREGATE mallory.keyed(*) (SFUNC = privacy.hash, STYPE = text, INITCOND = 'alice@home.example');
SELECT mallory.keyed(*) FROM vault.customers;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT public.force_parallel('on');
SELECT privacy.hash(name) FROM vault.customers WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT OPERATOR(mallory.###) name FROM vault.customers WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- the rule's own keyed value still works, in a worker too
SELECT contact FROM vault.customers WHERE id = 1;
SELECT public.force_parallel('off');
-- a value that proves a call comes from a rule cannot be made
SELECT privacy.hash('x'::privacy.rule_call, 'alice@home.example');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - postgres
CREATE DATABASE privacy_norules;
\c privacy_norules postgres
CREATE EXTENSION pg_privacy;
SELECT count(*) AS rules FROM privacy.masking_rules;
\c privacy_norules mallory
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS parallel_forced;
SELECT privacy.pseudonymize('alice@example.com') FROM generate_series(1, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.hash('alice@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c privacy_norules support
SELECT privacy.hash('alice@example.com') IS NOT NULL AS unmasked_may_hash;
\c privacy_e2e postgres
DROP DATABASE privacy_norules;

-- 4. Every way a table becomes protected gets the row-security guards.
CREATE TABLE vault.people (id int, secret text);
SECURITY LABEL FOR privacy ON COLUMN vault.people.secret IS 'MASKED WITH VALUE ''***''';
CREATE TABLE vault.people_2021 (id int, secret text);
INSERT INTO vault.people_2021 VALUES (21, 'raw 2021');
ALTER TABLE vault.people_2021 INHERIT vault.people;
CREATE TABLE vault.people_2022 () INHERITS (vault.people);
CREATE TABLE vault.parts (id int, secret text) PARTITION BY RANGE (id);
SECURITY LABEL FOR privacy ON COLUMN vault.parts.secret IS 'MASKED WITH VALUE ''***''';
CREATE TABLE vault.parts_1 PARTITION OF vault.parts FOR VALUES FROM (0) TO (10) PARTITION BY RANGE (id);
CREATE TABLE vault.parts_1a PARTITION OF vault.parts_1 FOR VALUES FROM (0) TO (5);
CREATE TABLE vault.parts_2 (id int, secret text);
ALTER TABLE vault.parts ATTACH PARTITION vault.parts_2 FOR VALUES FROM (10) TO (20);
SELECT c.oid::regclass AS child, c.relrowsecurity,
       array(SELECT polname FROM pg_policy WHERE polrelid = c.oid ORDER BY 1) AS guards
FROM pg_class c WHERE c.oid IN ('vault.people_2021'::regclass, 'vault.people_2022'::regclass,
    'vault.parts_1'::regclass, 'vault.parts_1a'::regclass, 'vault.parts_2'::regclass) ORDER BY 1;
GRANT USAGE ON SCHEMA vault TO mallory;
GRANT SELECT ON vault.people_2021 TO mallory, helpdesk, support;
\c - mallory
SELECT set_config('role', 'helpdesk', false) IS NOT NULL AS switched;
COPY vault.people_2021 TO STDOUT;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
COPY vault.people_2021 TO STDOUT;
\c - support
COPY vault.people_2021 TO STDOUT;

-- 5. Writing is reading: a masked role may not flip a conditional rule, nor store a value of
--    its choice in the input of a keyed rule.
\c - mallory
UPDATE vault.customers SET vip = true WHERE id = 2 RETURNING phone;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE vault.customers SET contact = 'bob@home.example' WHERE id = 1 RETURNING contact;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO vault.customers (id, name, contact) VALUES (50, 'Guess', 'bob@home.example') RETURNING contact;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
COPY vault.customers (id, name, contact) FROM STDIN;
51	Guess	bob@home.example
\.
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO vault.customers AS c (id, name) VALUES (2, 'Bob') ON CONFLICT (id) DO UPDATE SET vip = true RETURNING c.phone;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- writing an unrelated column, or a new row without the keyed input, is fine
UPDATE vault.customers SET name = 'Alice A.' WHERE id = 1 RETURNING name, phone, contact IS NOT NULL AS has_contact;
INSERT INTO vault.customers (id, name) VALUES (52, 'New') RETURNING id, contact;
DELETE FROM vault.customers WHERE id = 52;
\c - support
UPDATE vault.customers SET vip = true WHERE id = 2 RETURNING phone;
UPDATE vault.customers SET vip = false WHERE id = 2;

-- 6. Noise is a keyed function of the row: repeating a read in one query (or many) learns
--    nothing new, and the rule variant cannot be called by hand.
\c - mallory
SELECT salary, salary <> 50000 AS noisy FROM vault.customers WHERE id = 1;
SELECT count(DISTINCT salary) AS distinct_values, min(salary) = max(salary) AS stable
FROM vault.customers c, generate_series(1, 2000) WHERE c.id = 1;
SELECT privacy.noise(NULL::privacy.rule_call, 50000, 0.1, 'salary', '(1)') AS by_hand;
\c - support
SELECT salary FROM vault.customers WHERE id = 1;

-- 7. Foreign keys to masked columns would tell whether a raw value exists.
\c - mallory
CREATE TABLE mallory.probe (e text REFERENCES vault.customers (email));
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE mallory.probe2 (e text);
ALTER TABLE mallory.probe2 ADD FOREIGN KEY (e) REFERENCES vault.customers (email);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
CREATE TABLE mallory.probe3 (i int REFERENCES vault.customers (id));
DROP TABLE mallory.probe2, mallory.probe3;
\c - support
CREATE TABLE support.probe (e text REFERENCES vault.customers (email));
INSERT INTO support.probe VALUES ('alice@example.com');
DROP TABLE support.probe;

-- 8. An error while a rule is computed names the rule, never the value; the server log keeps it.
\c - mallory
SELECT id, mobile FROM vault.customers WHERE id = 2;
SELECT mobile FROM vault.customers WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DO $$ BEGIN PERFORM mobile FROM vault.customers WHERE id = 1;
EXCEPTION WHEN others THEN RAISE NOTICE 'caught: % / %', SQLERRM, coalesce(NULLIF(current_setting('lc_messages'), ''), 'C'); END $$;
-- an error of the role's own expression on masked values is its own: it quotes the masked value
SELECT ssn::int FROM vault.customers WHERE id = 1;
\c - support
SELECT mobile FROM vault.customers WHERE id = 1;
\! grep -c 'original error: invalid input syntax for type bigint: "0171-5551234"' "$DUMPDIR/server.log"

-- 9. Details quoting rows are kept from masked sessions by error class, in any language.
\c - postgres
ALTER ROLE mallory SET lc_messages = 'de_DE.UTF-8';
ALTER ROLE support SET lc_messages = 'de_DE.UTF-8';
\c - mallory
SELECT vault.set_age(2, -1);
\c - support
SELECT vault.set_age(2, -1);
\c - postgres
ALTER ROLE mallory RESET lc_messages;
ALTER ROLE support RESET lc_messages;

-- 10. A masked role's objects do not hand its access to others unmasked: a view, a rewrite rule,
--     a trigger and a function it owns read with its masking, whoever runs them.
\c - mallory
CREATE VIEW mallory.v AS SELECT id, email, ssn FROM vault.customers;
CREATE TABLE mallory.feedback (msg text);
CREATE TABLE mallory.loot (x text);
CREATE RULE copy_out AS ON INSERT TO mallory.feedback DO ALSO INSERT INTO mallory.loot SELECT 'rule: ' || email || ' ' || ssn FROM vault.customers WHERE id = 1;
CREATE FUNCTION mallory.grab() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO mallory.loot SELECT 'trigger: ' || email || ' ' || ssn FROM vault.customers WHERE id = 1; RETURN NEW; END $$;
CREATE TRIGGER grab AFTER INSERT ON mallory.feedback FOR EACH ROW EXECUTE FUNCTION mallory.grab();
CREATE FUNCTION mallory.fetch(int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; BEGIN SELECT email || ' ' || ssn INTO r FROM vault.customers WHERE id = $1; RETURN r; END $$;
GRANT USAGE ON SCHEMA mallory TO PUBLIC;
GRANT SELECT ON mallory.v TO PUBLIC;
GRANT INSERT ON mallory.feedback TO PUBLIC;
GRANT INSERT ON mallory.loot TO PUBLIC;
\c - bystander
SELECT * FROM mallory.v ORDER BY id;
\c - support
INSERT INTO mallory.feedback VALUES ('thanks');
SELECT mallory.fetch(1);
-- control: the same view, owned by the unmasked role, shows it raw
CREATE VIEW support.v AS SELECT id, email, ssn FROM vault.customers;
GRANT USAGE ON SCHEMA support TO bystander;
GRANT SELECT ON support.v TO bystander;
\c - bystander
SELECT * FROM support.v ORDER BY id;
\c - mallory
SELECT x FROM mallory.loot ORDER BY x;
-- and the masked role cannot hand those objects to an unmasked role either
ALTER VIEW mallory.v OWNER TO helpdesk;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ALTER TABLE mallory.feedback OWNER TO helpdesk;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
REASSIGN OWNED BY mallory TO helpdesk;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
