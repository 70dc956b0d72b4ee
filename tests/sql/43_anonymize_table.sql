-- Static anonymization (issue 15.5): privacy.anonymize_table(table, confirm_database) rewrites
-- stored values with each column's masking rule, for staging copies. Refused unless the caller
-- names the database it changes; no raw value remains in the table or index files after VACUUM
-- FULL. Control: an identical table that is not anonymized keeps its raw values, on disk too.
\set SHOW_CONTEXT never
CREATE SCHEMA staging;
CREATE TABLE staging.people (id int PRIMARY KEY, name text, email text, ssn text, note text);
CREATE INDEX people_email_idx ON staging.people (email);
INSERT INTO staging.people
SELECT g, 'Person' || g, 'person' || g || '@corp-secret.example',
       lpad(g::text, 3, '0') || '-55-' || lpad(g::text, 4, '0'), 'private note ' || g
FROM generate_series(1, 3000) g;
CREATE TABLE staging.people_control AS SELECT * FROM staging.people;
CREATE TABLE staging.events (id int, at date, email text) PARTITION BY RANGE (at);
CREATE TABLE staging.events_2025 PARTITION OF staging.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE staging.events_2026 PARTITION OF staging.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO staging.events VALUES (1, '2025-05-01', 'ev1@corp-secret.example'), (2, '2026-05-01', 'ev2@corp-secret.example');
SECURITY LABEL FOR privacy ON COLUMN staging.people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN staging.people.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
SECURITY LABEL FOR privacy ON COLUMN staging.people.note IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN staging.events.email IS 'MASKED WITH FUNCTION privacy.hash(email)';

-- another database's name, or none: refused, nothing changed
SELECT privacy.anonymize_table('staging.people', 'production');
SELECT privacy.anonymize_table('staging.people', NULL);
SELECT privacy.anonymize_table('staging.people', current_database(), batch_pages => 0);
-- not a table, or a table without rules
SELECT privacy.anonymize_table('privacy.masking_rules', current_database());
SELECT privacy.anonymize_table('staging.people_control', current_database());
SELECT count(*) FILTER (WHERE email = 'person' || id || '@corp-secret.example') AS raw_emails FROM staging.people;
-- the raw values are in the table file now (so the check after anonymizing can fail)
CHECKPOINT;
SELECT position(convert_to('person42@corp-secret.example', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('staging.people'))) > 0 AS raw_in_file;

-- anonymize, five pages per UPDATE; a partitioned table through its parent
SET client_min_messages = warning;
SELECT r - 'started_at' - 'finished_at' AS result FROM privacy.anonymize_table('staging.people', current_database(), batch_pages => 5) r;
SELECT r - 'started_at' - 'finished_at' AS result FROM privacy.anonymize_table('staging.events', current_database()) r;
RESET client_min_messages;
-- what is stored now is the masked value, for a superuser too; other columns are untouched
SELECT id, name, email, ssn, note FROM staging.people WHERE id IN (1, 42, 3000) ORDER BY id;
SELECT count(*) FILTER (WHERE email = 'person' || id || '@corp-secret.example') AS raw_emails,
       count(*) FILTER (WHERE ssn <> 'XXX-XX-XXXX') AS raw_ssns, count(note) AS notes,
       count(*) FILTER (WHERE name = 'Person' || id) AS names_kept, count(*) AS total
FROM staging.people;
SELECT id, email LIKE '%corp-secret%' AS raw, length(email) FROM staging.events ORDER BY id;
-- control: untouched
SELECT count(*) FILTER (WHERE email = 'person' || id || '@corp-secret.example') AS raw_emails FROM staging.people_control;

-- no raw value is left in the files after VACUUM FULL (table and index); the control's file has them
VACUUM FULL staging.people;
CHECKPOINT;
SELECT position(convert_to('person42@corp-secret.example', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('staging.people'))) AS email_in_table,
       position(convert_to('person42@corp-secret.example', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('staging.people_email_idx'))) AS email_in_index,
       position(convert_to('042-55-0042', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('staging.people'))) AS ssn_in_table,
       position(convert_to('private note 42', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('staging.people'))) AS note_in_table;
SELECT position(convert_to('person42@corp-secret.example', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('staging.people_control'))) > 0 AS control_raw_in_file;

-- only privacy admins
GRANT USAGE ON SCHEMA staging TO analyst;
GRANT UPDATE, SELECT ON staging.people_control TO analyst;
\c - analyst
SELECT privacy.anonymize_table('staging.people_control', current_database());
\c - postgres

-- What a privacy admin who is not a superuser may have rewritten (found by an attack pass):
-- only through anonymize_table, only tables it may read and update whole, not past row security
-- that restricts it, and not while a trigger or rule on UPDATE could keep or copy the values.
CREATE ROLE staging_dpo IN ROLE privacy_admin;
GRANT USAGE ON SCHEMA staging TO staging_dpo;
CREATE TABLE staging.vault (id int PRIMARY KEY, email text NOT NULL, secret_note text);
INSERT INTO staging.vault VALUES (1, 'alice@corp-secret.example', 'alice owes 5000 EUR');
SECURITY LABEL FOR privacy ON COLUMN staging.vault.email IS 'MASKED WITH VALUE NULL';
SET ROLE staging_dpo;
-- the worker called directly, with no privilege on the table: refused; nothing changed
SELECT privacy.anonymize_pages('staging.vault'::regclass, 0, 10);
-- with UPDATE only: refused before the rewrite, whose NOT NULL error would show the row
RESET ROLE;
GRANT UPDATE ON staging.vault TO staging_dpo;
SET ROLE staging_dpo;
SELECT privacy.anonymize_table('staging.vault', current_database());
-- control: its own UPDATE shows no row either (PostgreSQL's behaviour for a role without SELECT)
UPDATE staging.vault SET email = NULL;
RESET ROLE;
SELECT id, email, secret_note FROM staging.vault;
-- with SELECT and UPDATE: the rewrite runs (and fails on the NOT NULL column, as documented)
GRANT SELECT ON staging.vault TO staging_dpo;
SET ROLE staging_dpo;
SELECT privacy.anonymize_table('staging.vault', current_database());
RESET ROLE;
-- row security that restricts the caller: refused (the rewrite as the owner would reach hidden
-- rows); the owner's own run is not restricted
CREATE TABLE staging.tenants (id int, tenant text, email text);
INSERT INTO staging.tenants VALUES (1, 'staging_dpo', 'mine@corp-secret.example'), (2, 'other', 'theirs@corp-secret.example');
ALTER TABLE staging.tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON staging.tenants USING (tenant = current_user);
GRANT SELECT, UPDATE ON staging.tenants TO staging_dpo;
SECURITY LABEL FOR privacy ON COLUMN staging.tenants.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SET ROLE staging_dpo;
SELECT count(*) AS visible_to_dpo FROM staging.tenants;
SELECT privacy.anonymize_table('staging.tenants', current_database());
RESET ROLE;
SELECT id, email FROM staging.tenants ORDER BY id;
-- an UPDATE trigger that keeps the raw values (and copies them to an audit table): refused, the
-- rows untouched; disabled for the run, the rewrite happens and the trigger copies nothing
CREATE TABLE staging.audited (id int, email text);
INSERT INTO staging.audited VALUES (1, 'kept@corp-secret.example');
CREATE TABLE staging.audit (old_email text, new_email text);
CREATE FUNCTION staging.keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO staging.audit VALUES (OLD.email, NEW.email); NEW.email := OLD.email; RETURN NEW; END $$;
CREATE TRIGGER keep BEFORE UPDATE ON staging.audited FOR EACH ROW EXECUTE FUNCTION staging.keep();
SECURITY LABEL FOR privacy ON COLUMN staging.audited.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SELECT privacy.anonymize_table('staging.audited', current_database());
SELECT email, (SELECT count(*) FROM staging.audit) AS audited FROM staging.audited;
ALTER TABLE staging.audited DISABLE TRIGGER keep;
SET client_min_messages = warning;
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('staging.audited', current_database()) r;
RESET client_min_messages;
SELECT email, (SELECT count(*) FROM staging.audit) AS audited FROM staging.audited;
-- a rule on UPDATE: refused too
CREATE TABLE staging.ruled (id int, email text);
INSERT INTO staging.ruled VALUES (1, 'ruled@corp-secret.example');
CREATE RULE keep AS ON UPDATE TO staging.ruled DO INSTEAD NOTHING;
SECURITY LABEL FOR privacy ON COLUMN staging.ruled.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SELECT privacy.anonymize_table('staging.ruled', current_database());
SELECT email FROM staging.ruled;
-- in anonymize_table's transaction, the worker rewrites the tree it checked and locked (control)
-- and no other table
BEGIN;
SET client_min_messages = warning;
SELECT r -> 'rows' AS rows FROM privacy.anonymize_table('staging.audited', current_database()) r;
RESET client_min_messages;
SELECT privacy.anonymize_pages('staging.audited'::regclass, 0, 10) AS rewritten_again;
SELECT privacy.anonymize_pages('staging.ruled'::regclass, 0, 10);
ROLLBACK;
SELECT email FROM staging.ruled;
DROP SCHEMA staging CASCADE;
DROP ROLE staging_dpo;
