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
DROP SCHEMA staging CASCADE;
