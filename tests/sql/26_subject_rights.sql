-- Data-subject rights: the subject map, access and export (subject_data), consent receipts,
-- erasure (delete and anonymize) that reaches pseudonymous data and keeps the ledger valid,
-- retention bound to purpose. Controls: a second subject's data is untouched throughout. In a
-- database of its own (retention enforcement acts on every subject of the database).
\set SHOW_CONTEXT never
CREATE DATABASE rights_db;
\c rights_db postgres
CREATE EXTENSION pg_privacy;
CREATE SCHEMA rights;
CREATE TABLE rights.customers (id int PRIMARY KEY, name text, email text, phone text);
CREATE TABLE rights.orders (id int PRIMARY KEY, customer_id int REFERENCES rights.customers, amount numeric, note text);
CREATE INDEX ON rights.orders (customer_id);
CREATE TABLE rights.visits (visitor privacy.pseudonym, page text);
CREATE INDEX ON rights.visits (visitor);
CREATE TABLE rights.tickets (id int PRIMARY KEY, customer_id int REFERENCES rights.customers, body text);
INSERT INTO rights.customers VALUES (7, 'Gina Seven', 'erase-me-7@example.com', '+1 555 0107'),
                                    (8, 'Hugo Eight', 'hugo8@example.com', '+1 555 0108'),
                                    (9, 'Ines Nine', 'ines9@example.com', '+1 555 0109');
INSERT INTO rights.orders VALUES (70, 7, 10.50, 'gift wrap for Gina'), (71, 7, 3.25, NULL), (80, 8, 99.00, 'call Hugo first'), (90, 9, 1.00, 'x');
INSERT INTO rights.visits VALUES ('7', '/home'), ('7', '/pricing'), ('8', '/home');
INSERT INTO rights.tickets VALUES (1, 7, 'my order is late');
SECURITY LABEL FOR privacy ON COLUMN rights.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN rights.customers.phone IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN rights.orders.note IS 'MASKED WITH VALUE ''(removed)''';
SELECT privacy.set_subject('rights.customers', 'id');
SELECT privacy.set_subject('rights.orders', 'customer_id');
SELECT privacy.set_subject('rights.visits', 'visitor');
SELECT privacy.set_controller('Example Shop GmbH', contact => 'privacy@example-shop.test', jurisdiction => 'DE');
SELECT privacy.create_purpose('newsletter', true, 'monthly newsletter', retention => interval '2 years');
SELECT privacy.grant_consent('7', 'newsletter', source => 'checkout checkbox') > 0 AS ok;
SELECT privacy.grant_consent('8', 'newsletter', source => 'checkout checkbox') > 0 AS ok;

-- 1. The subject map: every subject table in erasure order (tables referencing others first),
-- how the subject is found there (a pseudonym column too), and what it misses
SELECT row_number() OVER (ORDER BY step) AS step, relation::regclass, subject_column, id_kind, subject_column_nullable, subject_column_masked, masked_columns
FROM privacy.subject_map() WHERE relation::regclass::text LIKE 'rights.%' ORDER BY step;
SELECT relation, id_kind FROM privacy.subject_tables WHERE relation::text LIKE 'rights.%' ORDER BY 1;
SELECT relation::regclass, constraint_name, references_table::regclass FROM privacy.unmapped_subject_references() WHERE relation::regclass::text LIKE 'rights.%';

-- consent filters work on the pseudonym subject column too: subject 9 gave no consent
INSERT INTO rights.visits VALUES ('9', '/no-consent');
SELECT privacy.allow_purpose('marketing_app', 'newsletter');
GRANT USAGE ON SCHEMA rights TO marketing_app;
GRANT SELECT, UPDATE ON rights.visits TO marketing_app;
\c - marketing_app
SET privacy.purpose = 'newsletter';
SELECT page FROM rights.visits ORDER BY page;
SELECT page FROM rights.visits ORDER BY page FOR UPDATE;
\c - postgres
SELECT page FROM rights.visits ORDER BY page;
DELETE FROM rights.visits WHERE page = '/no-consent';

-- 2. Access and portability: every row about subject 7, by table, and its consent history; the
-- subject column's index is used, no table is read in full
SELECT pg_stat_force_next_flush();
SELECT seq_scan AS seq_before, idx_scan AS idx_before FROM pg_stat_user_tables WHERE relid = 'rights.orders'::regclass \gset
-- (pseudonyms and times vary from run to run: shown as psn_... and <time>)
SELECT regexp_replace(regexp_replace(jsonb_pretty(privacy.subject_data('7') - 'generated_at'), 'psn_[a-z0-9]+', 'psn_...', 'g'),
                      '"recorded_at": "[^"]*"', '"recorded_at": "<time>"', 'g') AS export;
SELECT pg_stat_force_next_flush();
SELECT seq_scan - :seq_before AS new_seq_scans, idx_scan - :idx_before > 0 AS used_index FROM pg_stat_user_tables WHERE relid = 'rights.orders'::regclass;
-- an unknown subject is an empty export, not an error; a NULL one is an error
SELECT privacy.subject_data('424242') - 'generated_at' - 'controller' AS unknown;
SELECT privacy.subject_data(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- 3. A consent receipt (ISO/IEC TS 27560 record, DPV JSON-LD profile)
SELECT jsonb_pretty(privacy.consent_receipt('7', 'newsletter') - '{dct:created,dct:modified,dpv:isIndicatedAtTime,dct:provenance,dct:source,dct:identifier,dpv:isIndicatedBy,dpv:hasExpiry}'::text[]);
SELECT jsonb_array_length(r->'dct:provenance') AS history, r->'dct:provenance'->0->>'dpv:hasConsentStatus' AS first_status,
       r->>'dct:identifier' LIKE 'urn:pg_privacy:consent:%:newsletter' AS identifier, length(r->'dct:source'->>'ledger_event_hash') AS hash_length
FROM privacy.consent_receipt('7', 'newsletter') r;
SELECT privacy.consent_receipt('424242', 'newsletter') IS NULL AS nothing_recorded;
SELECT privacy.consent_receipt('7', 'no_such_purpose');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- 4. Erasure. Bad input changes nothing:
SELECT privacy.erase_subject(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.erase_subject('7', mode => 'shred');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a table that refers to the subject but is not declared stops the erasure (its foreign key),
-- and nothing is half-erased
SELECT privacy.erase_subject('7', reason => 'request #1001');
-- that error reaches the admin with every field (names, DETAIL, CONTEXT), as the same DELETE
-- run by hand gives them (control)
CREATE FUNCTION pg_temp.error_fields(statement text) RETURNS TABLE (field text, value text) LANGUAGE plpgsql AS $f$
DECLARE st text; msg text; det text; sch text; tab text; con text; ctx text;
BEGIN
    EXECUTE statement;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, sch = SCHEMA_NAME,
        tab = TABLE_NAME, con = CONSTRAINT_NAME, ctx = PG_EXCEPTION_CONTEXT;
    RETURN QUERY VALUES ('sqlstate', st), ('message', msg), ('detail', det), ('schema', sch), ('table', tab),
        ('constraint', con), ('context', split_part(ctx, E'\n', 1));
END $f$;
SELECT f.field, f.value AS through_erase_subject, h.value AS by_hand
FROM pg_temp.error_fields($$SELECT privacy.erase_subject('7')$$) f
JOIN pg_temp.error_fields($q$DO $d$BEGIN
    DELETE FROM rights.orders WHERE customer_id = 7;
    DELETE FROM rights.visits WHERE visitor = '7';
    DELETE FROM rights.customers WHERE id = 7;
END $d$$q$) h USING (field);
SELECT (SELECT count(*) FROM rights.customers WHERE id = 7) AS customer, (SELECT count(*) FROM rights.orders WHERE customer_id = 7) AS orders,
       (SELECT count(*) FROM rights.visits WHERE visitor = '7') AS visits;
DELETE FROM rights.tickets WHERE customer_id = 7;
-- the stored value is in the table's file before erasure
CHECKPOINT;
SELECT position(convert_to('erase-me-7@example.com', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('rights.customers'))) > 0 AS in_file_before;
SELECT r - 'started_at' - 'finished_at' - 'receipt_id' AS receipt FROM privacy.erase_subject('7', reason => 'request #1001') r;
-- afterwards: nothing about subject 7 in any table, in the export, in the consent history; the
-- ledger still verifies; subject 8 (the control) is untouched
SELECT privacy.subject_data('7') - 'generated_at' - 'controller' AS after_erasure;
SELECT count(*) AS history FROM privacy.consent_history('7');
SELECT (SELECT count(*) FROM rights.customers) AS customers, (SELECT count(*) FROM rights.orders) AS orders, (SELECT count(*) FROM rights.visits) AS visits;
SELECT intact, problem FROM privacy.verify_ledger();
SELECT count(*) AS events_kept, count(*) FILTER (WHERE subject IS NULL) AS without_id
FROM privacy.consent_event WHERE subject_key = (SELECT subject_key FROM privacy.consent_event WHERE source = 'checkout checkbox' AND subject IS NULL LIMIT 1);
SELECT mode, reason, tables, erased_by FROM privacy.erasure_receipt ORDER BY receipt_id;
SELECT jsonb_path_query_first(privacy.subject_data('8'), '$.tables[*] ? (@.table == "rights.customers").rows[0].email') AS control_email;
-- the value is gone from the table's file once the table is rewritten (docs/subject-rights.md:
-- a plain VACUUM frees the space, which PostgreSQL overwrites only when it reuses it)
VACUUM FULL rights.customers;
CHECKPOINT;
SELECT position(convert_to('erase-me-7@example.com', 'UTF8') IN pg_read_binary_file(pg_relation_filepath('rights.customers'))) > 0 AS in_file_after_vacuum_full;

-- the export follows the subject map within a session: a table declared after an export is in
-- the next one, and a dropped one leaves it (the prepared statement is built again; a dropped
-- table holds nothing about anyone, while a subject column that no longer holds ids is an error)
CREATE TABLE rights.notes (customer_id int, note text);
INSERT INTO rights.notes VALUES (8, 'prefers email');
SELECT privacy.set_subject('rights.notes', 'customer_id');
SELECT jsonb_path_query_array(privacy.subject_data('8'), '$.tables[*].table') AS tables_with_notes;
DROP TABLE rights.notes;
SELECT jsonb_path_query_array(privacy.subject_data('8'), '$.tables[*].table') AS tables_without_notes;

-- 5. Anonymize: rows about subject 8 stay (amounts keep counting), rewritten by the masking rules;
-- its own customer row (keyed by it, NOT NULL, no rule) is deleted; the pseudonym rows lose
-- their subject
SELECT r->'tables' AS tables FROM privacy.erase_subject('8', mode => 'anonymize', reason => 'request #1002') r;
SELECT id, customer_id, amount, note FROM rights.orders ORDER BY id;
SELECT visitor IS NULL AS visitor_removed, page FROM rights.visits ORDER BY page;
SELECT count(*) AS customers_left FROM rights.customers;
SELECT sum(amount) AS revenue_still_counts FROM rights.orders;

-- 6. Retention bound to purpose: consent older than its purpose's retention lapses at once
SELECT privacy.create_purpose('trial', true, retention => interval '-1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.create_purpose('trial', true, 'free trial follow-up', retention => interval '30 days');
SELECT name, retention FROM privacy.purposes ORDER BY name;
-- consent recorded 40 days ago (an import of old records, by a superuser)
INSERT INTO privacy.consent_event (subject, purpose, state, recorded_at, source) VALUES ('9', 'trial', 'granted', now() - interval '40 days', 'import');
SELECT privacy.grant_consent('9', 'newsletter', source => 'form') > 0 AS ok;
SELECT subject FROM privacy.retention_due() WHERE subject IN ('7', '8', '9');
-- the newsletter's retention shortened: that consent lapses too, from the next statement
SELECT privacy.set_retention('newsletter', interval '1 microsecond');
SELECT subject FROM privacy.retention_due() WHERE subject IN ('7', '8', '9');
SELECT privacy.set_retention('newsletter', interval '0');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT r - 'receipts' AS enforced FROM privacy.enforce_retention(batch_size => 10) r;
SELECT count(*) AS subject_9_rows FROM rights.customers WHERE id = 9;
SELECT privacy.enforce_retention(batch_size => 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- 7. Only privacy admins
\c - marketing_app
SELECT privacy.subject_data('9');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.erase_subject('9');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.begin_anonymizing();
\echo SQLSTATE :LAST_ERROR_SQLSTATE

-- 8. A privacy admin that is not a superuser declares subject tables and answers requests; a
-- consent-filtered admin is refused (its DELETEs would find only consenting subjects' rows, yet
-- the consent records would go and a receipt would say "erased"), and nothing changes
\c - postgres
CREATE ROLE rights_dpo LOGIN IN ROLE privacy_admin;
CREATE ROLE rights_dpo_filtered LOGIN IN ROLE privacy_admin;
SELECT privacy.allow_purpose('rights_dpo_filtered', 'newsletter');
CREATE TABLE rights.reviews (customer_id int, stars int);
INSERT INTO rights.reviews VALUES (9, 5);
GRANT USAGE ON SCHEMA rights TO rights_dpo, rights_dpo_filtered;
GRANT SELECT, DELETE ON ALL TABLES IN SCHEMA rights TO rights_dpo, rights_dpo_filtered;
\c - rights_dpo
SELECT privacy.set_subject('rights.reviews', 'customer_id');
SELECT jsonb_path_query_array(privacy.subject_data('9'), '$.tables[*].table') AS tables_about_9;
\c - rights_dpo_filtered
SELECT privacy.erase_subject('9');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.subject_data('9');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - rights_dpo
SELECT (SELECT count(*) FROM rights.reviews WHERE customer_id = 9) AS review_kept, (SELECT count(*) FROM privacy.erasure_receipt) AS receipts;
-- (control) the admin that is not filtered erases it
SELECT r->'tables' AS tables FROM privacy.erase_subject('9') r;

-- 9. Code a subject table's owner wrote runs during an erasure (its triggers), with the admin's
-- rights; it cannot make the statements pg_privacy runs afterwards, some with the extension
-- owner's rights, resolve names in its schema: a trigger that changes search_path to put its own
-- "=" operator first finds that operator never called
\c - postgres
CREATE ROLE rights_owner LOGIN;
CREATE SCHEMA trap AUTHORIZATION rights_owner;
GRANT USAGE ON SCHEMA trap TO rights_dpo;
\c - rights_owner
CREATE TABLE trap.calls (who name);
GRANT INSERT ON trap.calls TO PUBLIC;
CREATE TABLE trap.accounts (id int PRIMARY KEY);
INSERT INTO trap.accounts VALUES (11), (12);
GRANT SELECT, DELETE ON trap.accounts TO rights_dpo;
CREATE FUNCTION trap.eq(bytea, bytea) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO trap.calls VALUES (current_user);
    RETURN $1 OPERATOR(pg_catalog.=) $2;
END $f$;
CREATE OPERATOR trap.= (leftarg = bytea, rightarg = bytea, function = trap.eq);
CREATE FUNCTION trap.set_path() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'trap, pg_catalog', false);
    RETURN NULL;
END $f$;
CREATE TRIGGER set_path AFTER DELETE ON trap.accounts FOR EACH STATEMENT EXECUTE FUNCTION trap.set_path();
-- (control) the operator is found where the path puts it first
SET search_path = trap, pg_catalog;
SELECT '\x01'::bytea = '\x01'::bytea AS trap_operator_works;
RESET search_path;
\c - postgres
SELECT privacy.set_subject('trap.accounts', 'id');
SELECT privacy.grant_consent('11', 'newsletter', source => 'test') > 0 AS ok;
\c - rights_dpo
SELECT r->'tables' AS tables, r->'consent_state_rows' AS consent_state_rows FROM privacy.erase_subject('11') r;
SELECT r->'tables' AS tables FROM privacy.erase_subject('12') r;
SELECT current_setting('search_path') AS path_after;
\c - postgres
SELECT who, count(*) FROM trap.calls GROUP BY who ORDER BY who;
SELECT rolsuper AS owner_became_superuser FROM pg_roles WHERE rolname = 'rights_owner';
-- The receipt is written without an INSERT statement (rights/receipt.rs), yet a DBA's trigger on
-- the receipt table runs as for one: it may fill a column the DBA added (control: without the
-- trigger the column stays NULL) and shows in the receipt returned; a trigger that skips the
-- receipt fails the whole erasure, whose rows stay.
INSERT INTO trap.accounts VALUES (13), (14), (15);
ALTER TABLE privacy.erasure_receipt ADD COLUMN ticket text;
-- (the trigger below calls lower() unqualified; trap.accounts' trigger sets the path to trap
-- first, where this lower() records who called it: the receipt's trigger, which runs as the
-- extension's owner, must still find pg_catalog's, whoever erases)
CREATE FUNCTION trap.lower(text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO trap.calls VALUES (current_user);
    RETURN $1;
END $f$;
-- (control) under that path the trap's lower() is the one found
BEGIN;
SET LOCAL search_path = trap, pg_catalog;
SELECT lower('X') AS trap_lower;
SELECT who, count(*) AS recorded FROM trap.calls WHERE who = current_user GROUP BY who;
ROLLBACK;
SELECT r->'tables' AS tables FROM privacy.erase_subject('13', reason => 'no trigger') r;
SELECT reason, ticket IS NULL AS ticket_empty FROM privacy.erasure_receipt ORDER BY receipt_id DESC LIMIT 1;
CREATE FUNCTION trap.receipt_trigger() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF NEW.reason = 'skip' THEN
        RETURN NULL;
    END IF;
    NEW.ticket := 'T-' || NEW.receipt_id;
    NEW.reason := lower(NEW.reason) || ' (filed)';
    RETURN NEW;
END $f$;
CREATE TRIGGER receipt_trigger BEFORE INSERT ON privacy.erasure_receipt FOR EACH ROW EXECUTE FUNCTION trap.receipt_trigger();
\c - rights_dpo
SELECT r->'reason' AS reason_returned, r->'tables'->3->>'table' AS trap_table FROM privacy.erase_subject('14', reason => 'Ticket') r;
\c - postgres
SELECT reason, ticket = 'T-' || receipt_id AS ticket_filled FROM privacy.erasure_receipt ORDER BY receipt_id DESC LIMIT 1;
SELECT who, count(*) FROM trap.calls GROUP BY who ORDER BY who;
\set VERBOSITY terse
SELECT privacy.erase_subject('15', reason => 'skip');
\set VERBOSITY default
SELECT id AS still_there FROM trap.accounts WHERE id IN (13, 14, 15) ORDER BY id;
DROP TRIGGER receipt_trigger ON privacy.erasure_receipt;
ALTER TABLE privacy.erasure_receipt DROP COLUMN ticket;
-- a row trigger with a transition table on the receipt table cannot run for a receipt written
-- without a statement: the erasure is refused, naming the trigger, and nothing is erased
BEGIN;
CREATE FUNCTION public.receipt_batch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN PERFORM count(*) FROM new_receipts; RETURN NULL; END $f$;
CREATE TRIGGER batch AFTER INSERT ON privacy.erasure_receipt REFERENCING NEW TABLE AS new_receipts
    FOR EACH ROW EXECUTE FUNCTION public.receipt_batch();
SELECT privacy.erase_subject('15', reason => 'batched');
ROLLBACK;
SELECT id AS still_there FROM trap.accounts WHERE id = 15;
-- The anonymize walk (PL/pgSQL) keeps its own search_path too after trap.accounts' trigger set
-- another for the session: its jsonb || must not be the table owner's.
CREATE FUNCTION trap.cat(jsonb, jsonb) RETURNS jsonb LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO trap.calls VALUES (current_user);
    RETURN $1 OPERATOR(pg_catalog.||) $2;
END $f$;
CREATE OPERATOR trap.|| (leftarg = jsonb, rightarg = jsonb, function = trap.cat);
-- (control) under that path the trap's || is the one found
BEGIN;
SET LOCAL search_path = trap, pg_catalog;
SELECT '[1]'::jsonb || '[2]'::jsonb AS trap_concat;
SELECT who, count(*) AS recorded FROM trap.calls WHERE who = current_user GROUP BY who;
ROLLBACK;
SELECT r->'tables'->3 AS trap_table FROM privacy.erase_subject('15', 'anonymize') r;
RESET search_path;
SELECT who, count(*) FROM trap.calls GROUP BY who ORDER BY who;
-- Erasure removes every row about the subject, or nothing: a trigger that skips a row's DELETE
-- (here a soft-delete trigger) or, in anonymize mode, its UPDATE fails the erasure, and no table
-- is erased, instead of a receipt for rows still there. Controls: the same trigger letting the
-- DELETE through, and the erasure once the UPDATE trigger is gone.
\c - postgres
CREATE SCHEMA soft;
CREATE TABLE soft.members (id int PRIMARY KEY, deleted_at timestamptz);
CREATE TABLE soft.notes (member_id int, note text);
INSERT INTO soft.members VALUES (21, NULL), (22, NULL);
INSERT INTO soft.notes VALUES (21, 'note of 21'), (22, 'note of 22');
CREATE FUNCTION soft.keep() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    UPDATE soft.members SET deleted_at = now() WHERE id = OLD.id;
    RETURN NULL;
END $f$;
CREATE TRIGGER soft_delete BEFORE DELETE ON soft.members FOR EACH ROW EXECUTE FUNCTION soft.keep();
SELECT privacy.set_subject('soft.members', 'id');
SELECT privacy.set_subject('soft.notes', 'member_id');
SELECT privacy.erase_subject('21', reason => 'soft delete');
SELECT (SELECT count(*) FROM soft.members WHERE id = 21 AND deleted_at IS NULL) AS member_untouched,
       (SELECT count(*) FROM soft.notes WHERE member_id = 21) AS notes_kept,
       (SELECT count(*) FROM privacy.erasure_receipt WHERE reason = 'soft delete') AS receipts;
-- the same in anonymize mode, where the member's row is deleted (its key, no rule)
SELECT privacy.erase_subject('21', 'anonymize', 'soft delete');
SELECT count(*) AS notes_kept FROM soft.notes WHERE member_id = 21;
-- (control) a BEFORE DELETE trigger that lets the row go: the erasure goes through
CREATE OR REPLACE FUNCTION soft.keep() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RETURN OLD;
END $f$;
SELECT jsonb_path_query_array(r->'tables', '$[*] ? (@.table starts with "soft.")') AS soft_tables
FROM privacy.erase_subject('22', reason => 'soft delete') r;
SELECT (SELECT count(*) FROM soft.members WHERE id = 22) AS member_left, (SELECT count(*) FROM soft.notes WHERE member_id = 22) AS notes_left;
-- a trigger that puts a deleted row back (AFTER DELETE) fails the erasure too: what counts is
-- what the tables hold once the erasure's statements ran
INSERT INTO soft.members VALUES (23, NULL);
CREATE FUNCTION soft.put_back() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO soft.members VALUES (OLD.id, now());
    RETURN NULL;
END $f$;
CREATE TRIGGER put_back AFTER DELETE ON soft.members FOR EACH ROW EXECUTE FUNCTION soft.put_back();
SELECT privacy.erase_subject('23', reason => 'put back');
SELECT count(*) AS member_kept FROM soft.members WHERE id = 23 AND deleted_at IS NULL;
DROP TRIGGER put_back ON soft.members;
-- ... and so does one on pg_privacy's receipt table that puts a row back, with no trigger left on
-- any subject table: the probe runs last, after the receipt and the consent records are written
DROP TRIGGER soft_delete ON soft.members;
DROP TRIGGER set_path ON trap.accounts;
SELECT count(*) AS dba_triggers_on_subject_tables FROM pg_trigger t JOIN privacy.subject_tables s ON s.relation::oid = t.tgrelid WHERE NOT t.tgisinternal;
CREATE FUNCTION soft.receipt_put_back() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO soft.members VALUES (23, now());
    RETURN NULL;
END $f$;
CREATE TRIGGER put_back AFTER INSERT ON privacy.erasure_receipt FOR EACH ROW EXECUTE FUNCTION soft.receipt_put_back();
DELETE FROM soft.members WHERE id = 23;
INSERT INTO soft.notes VALUES (23, 'note of 23');
SELECT privacy.erase_subject('23', reason => 'put back by the receipt');
SELECT count(*) AS note_kept FROM soft.notes WHERE member_id = 23;
DROP TRIGGER put_back ON privacy.erasure_receipt;
-- (control) without it the same erasure goes through
SELECT jsonb_path_query_array(r->'tables', '$[*] ? (@.table starts with "soft.")') AS soft_tables
FROM privacy.erase_subject('23', reason => 'put back by the receipt') r;
-- an UPDATE the anonymize walk needs, skipped by a trigger
CREATE FUNCTION soft.frozen() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RETURN NULL;
END $f$;
CREATE TRIGGER frozen BEFORE UPDATE ON soft.notes FOR EACH ROW EXECUTE FUNCTION soft.frozen();
SELECT privacy.erase_subject('21', 'anonymize', 'frozen notes');
SELECT (SELECT count(*) FROM soft.members WHERE id = 21) AS member_kept, (SELECT count(*) FROM soft.notes WHERE member_id = 21) AS notes_kept;
-- a trigger that lets the UPDATE through but keeps the subject column: counted as rewritten, yet
-- the row is still the subject's
CREATE OR REPLACE FUNCTION soft.frozen() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    NEW.member_id := OLD.member_id;
    RETURN NEW;
END $f$;
SELECT privacy.erase_subject('21', 'anonymize', 'frozen notes');
SELECT (SELECT count(*) FROM soft.members WHERE id = 21) AS member_kept, (SELECT count(*) FROM soft.notes WHERE member_id = 21) AS notes_kept;
-- (control) without that trigger
DROP TRIGGER frozen ON soft.notes;
SELECT jsonb_path_query_array(r->'tables', '$[*] ? (@.table starts with "soft.")') AS soft_tables
FROM privacy.erase_subject('21', 'anonymize', 'frozen notes') r;
SELECT (SELECT count(*) FROM soft.members WHERE id = 21) AS member_left, (SELECT note FROM soft.notes WHERE member_id IS NULL AND note LIKE '%21') AS note_kept_without_its_subject;
\c privacy_e2e postgres
DROP DATABASE rights_db;
DROP ROLE rights_dpo, rights_dpo_filtered, rights_owner;
