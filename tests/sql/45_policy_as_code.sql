-- Policy as code (issue 15.2): privacy.export_policy() writes the whole policy as a versioned
-- document; privacy.apply_policy(document, dry_run) shows the difference and, when asked,
-- applies it in one transaction. Export -> apply into an empty database -> export gives the same
-- document; malformed and hostile documents are refused and change nothing.
\set SHOW_CONTEXT never
CREATE DATABASE policy_src;
CREATE DATABASE policy_dst;
\c policy_src postgres
CREATE EXTENSION pg_privacy;
CREATE SCHEMA app;
CREATE TABLE app.people (id int PRIMARY KEY, email text, ssn text, phone text);
CREATE TABLE app.orders (id int PRIMARY KEY, person_id int, note text);
INSERT INTO app.people VALUES (1, 'ann@example.com', '123-45-6789', '+1 555 0101');
INSERT INTO app.orders VALUES (10, 1, 'leave at the door');
CREATE SCHEMA masks;
CREATE FUNCTION masks.initial(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT left($1, 1) || '.' $$;
GRANT USAGE ON SCHEMA masks TO PUBLIC;
SECURITY LABEL FOR privacy ON SCHEMA masks IS 'TRUSTED';
SECURITY LABEL FOR privacy ON COLUMN app.people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN app.people.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
SECURITY LABEL FOR privacy ON COLUMN app.orders.note IS 'MASKED WITH FUNCTION masks.initial(note)';
SELECT privacy.create_purpose('marketing', true, 'offers by e-mail', retention => interval '2 years');
SELECT privacy.create_purpose('billing', false);
SELECT privacy.set_subject('app.people', 'id');
SELECT privacy.set_subject('app.orders', 'person_id');
CREATE ROLE policy_app LOGIN;
SELECT privacy.allow_purpose('policy_app', 'marketing');
SELECT privacy.export_policy() AS doc \gset
-- the document (role labels are cluster-wide and listed apart)
SELECT jsonb_pretty(:'doc'::jsonb - 'role_labels');
SELECT jsonb_array_length(:'doc'::jsonb -> 'role_labels') > 0 AS has_role_labels;

\c policy_dst postgres
CREATE EXTENSION pg_privacy;
CREATE SCHEMA app;
CREATE TABLE app.people (id int PRIMARY KEY, email text, ssn text, phone text);
CREATE TABLE app.orders (id int PRIMARY KEY, person_id int, note text);
INSERT INTO app.people VALUES (1, 'ann@example.com', '123-45-6789', '+1 555 0101');
INSERT INTO app.orders VALUES (10, 1, 'leave at the door');
CREATE SCHEMA masks;
CREATE FUNCTION masks.initial(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT left($1, 1) || '.' $$;
GRANT USAGE ON SCHEMA masks TO PUBLIC;
-- a dry run shows what would change, and changes nothing
SELECT * FROM privacy.apply_policy(:'doc');
SELECT count(*) AS rules, (SELECT count(*) FROM privacy.purposes) AS purposes FROM privacy.masking_rules;
-- applied: the same document comes back out
SELECT * FROM privacy.apply_policy(:'doc', dry_run => false);
SELECT privacy.export_policy() = :'doc'::jsonb AS same_document;
SELECT * FROM privacy.apply_policy(:'doc', dry_run => false);
-- and it is enforced: analyst (MASKED) reads masked values, the owner raw ones
GRANT USAGE ON SCHEMA app TO analyst;
GRANT SELECT ON app.people, app.orders TO analyst;
\c - analyst
SELECT p.email, p.ssn, o.note FROM app.people p JOIN app.orders o ON o.person_id = p.id;
\c - postgres
SELECT p.email, p.ssn, o.note FROM app.people p JOIN app.orders o ON o.person_id = p.id;

-- a changed document: one rule less, one changed, a purpose's retention changed, one purpose
-- allowance removed; a purpose missing from the document is kept (never dropped)
SELECT (:'doc'::jsonb
        #- '{masking_rules,2}'
        || jsonb_build_object('masking_rules', jsonb_build_array(
              (:'doc'::jsonb -> 'masking_rules' -> 0),
              jsonb_set(:'doc'::jsonb -> 'masking_rules' -> 1, '{rule}', '"MASKED WITH VALUE NULL"')))
        || jsonb_build_object('purposes', jsonb_build_array(
              jsonb_set(:'doc'::jsonb -> 'purposes' -> 1, '{retention}', '"1 year"')))
        || '{"allowed_purposes": []}'::jsonb) AS doc2 \gset
SELECT * FROM privacy.apply_policy(:'doc2', dry_run => false);
SELECT "table", "column", rule FROM privacy.masking_rules ORDER BY 1, 2;
SELECT name, retention FROM privacy.purposes ORDER BY 1;
SELECT count(*) AS allowances FROM privacy.role_purposes;

-- malformed and hostile documents: refused, nothing changed
SELECT * FROM privacy.apply_policy(:'doc'::jsonb || '{"masking_rulez": []}', false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{version}', '2'), false);
SELECT * FROM privacy.apply_policy('[1, 2]', false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{masking_rules,1,rule}', '"MASKED WITH FUNCTION privacy.mask_email(email)); DROP TABLE app.people; --"'), false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{masking_rules,1,table}', '"people\"; DROP TABLE app.people; --"'), false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{role_labels,0,label}', '"UNMASKED; DROP ROLE analyst"'), false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{masking_rules,1,column}', '""'), false);
-- a rule SECURITY LABEL refuses, after one it accepts: the whole document is refused
SELECT * FROM privacy.apply_policy(jsonb_set(jsonb_set(:'doc'::jsonb, '{masking_rules,1,rule}', '"MASKED WITH VALUE NULL"'),
                                             '{masking_rules,2,rule}', '"MASKED WITH FUNCTION public.no_such_function(ssn)"'), false);
SELECT "table", "column", rule FROM privacy.masking_rules ORDER BY 1, 2;
SELECT count(*) AS people FROM app.people;
-- two entries for one object (found by an attack pass: they were applied one after the other,
-- so the document contradicted the state it left, and each apply flipped it): refused, whatever
-- their order; the state is unchanged (analyst still masked, marketing still needs consent)
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{role_labels}',
    (:'doc'::jsonb -> 'role_labels') || '[{"role": "analyst", "label": "UNMASKED"}]'), false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{purposes}',
    (:'doc'::jsonb -> 'purposes') || '[{"name": "marketing", "requires_consent": false}]'), false);
SELECT * FROM privacy.apply_policy(jsonb_set(:'doc'::jsonb, '{subject_tables}',
    (:'doc'::jsonb -> 'subject_tables') || '[{"schema": "app", "table": "people", "column": "ssn"}]'), false);
SELECT role, reason FROM privacy.masked_roles WHERE role = 'analyst';
SELECT name, requires_consent FROM privacy.purposes WHERE name = 'marketing';
-- a trusted function spelled otherwise than PostgreSQL prints it is the same function: applying
-- the other spelling changes nothing (it used to trust one spelling and untrust the other)
SECURITY LABEL FOR privacy ON FUNCTION masks.initial(text) IS 'TRUSTED';
SELECT privacy.export_policy() -> 'trusted_functions' AS trusted_functions;
SELECT * FROM privacy.apply_policy(jsonb_set(privacy.export_policy(), '{trusted_functions}', '["masks.initial(pg_catalog.text)"]'), false);
SELECT privacy.export_policy() -> 'trusted_functions' AS trusted_functions;
-- names in the diff are quoted where needed, so "a.b".c and a."b.c" read differently
CREATE TABLE app."odd.Name" (email text);
SELECT * FROM privacy.apply_policy(jsonb_set(privacy.export_policy(), '{masking_rules}', (privacy.export_policy() -> 'masking_rules')
    || '[{"schema": "app", "table": "odd.Name", "column": "email", "rule": "MASKED WITH VALUE NULL"}]')) WHERE object LIKE '%odd%';
DROP TABLE app."odd.Name";
-- a NUL byte in a rule (possible only in a document given as text): refused; it used to become
-- SECURITY LABEL ... IS NULL, removing the rule it claimed to set
SELECT count(*) AS rules_before FROM privacy.masking_rules;
SELECT * FROM privacy.apply_policy_text(replace(privacy.export_policy()::text, 'MASKED WITH VALUE NULL', 'MASKED WITH VALUE NULL\u0000'), false);
SELECT count(*) AS rules_after FROM privacy.masking_rules;
-- only privacy admins
\c - analyst
SELECT privacy.export_policy();
SELECT * FROM privacy.apply_policy(:'doc');
\c privacy_e2e postgres
DROP DATABASE policy_src;
DROP DATABASE policy_dst;
DROP ROLE policy_app;
