-- The consent history is a tamper-evident ledger: each event is chained to its subject's previous
-- event by a SHA-256 hash over everything recorded except the subject's id (the subject is named
-- by its keyed pseudonym), and anchors summarise every chain. An intact ledger verifies (the
-- control); each kind of tampering by a superuser shows at the event it touched.
\set SHOW_CONTEXT never
SELECT intact, events > 0 AS has_events, chains > 0 AS has_chains, event_id, problem FROM privacy.verify_ledger();
SELECT count(*) FILTER (WHERE hash IS NULL) AS without_hash,
       count(*) FILTER (WHERE prev_hash IS NULL) = count(DISTINCT subject_key) AS one_start_per_chain
FROM privacy.consent_event;
-- two spellings of one subject share one chain
SELECT privacy.grant_consent('0777', 'analytics', source => 'spelling one') > 0 AS ok;
SELECT privacy.grant_consent('777', 'analytics', source => 'spelling two') > 0 AS ok;
SELECT count(DISTINCT subject_key) AS chains, count(*) AS events,
       count(*) FILTER (WHERE prev_hash IS NOT NULL) AS linked
FROM privacy.consent_event WHERE source LIKE 'spelling%';
-- an id that reads both as a bigint and as a uuid is chained under its bigint (787); the uuid's
-- own spelling is another chain, yet the uuid state row they share holds the later event
SELECT privacy.grant_consent('00000000000000000000000000000787', 'analytics', source => 'as digits') > 0 AS ok;
SELECT privacy.withdraw_consent('00000000-0000-0000-0000-000000000787', 'analytics', source => 'as uuid') > 0 AS ok;
SELECT count(DISTINCT subject_key) AS chains FROM privacy.consent_event WHERE source IN ('as digits', 'as uuid');
SELECT active_until > now() AS uuid_active FROM privacy.consent_uuid
WHERE purpose = 'analytics' AND subject = '00000000-0000-0000-0000-000000000787';
SELECT active_until > now() AS bigint_active FROM privacy.consent_bigint WHERE purpose = 'analytics' AND subject = 787;
-- an auditor recomputes every hash from the ledger alone, with the public function
SELECT bool_and(hash = privacy.ledger_event_hash(prev_hash, event_id, subject_key, purpose, state, valid_until,
                                                recorded_at, recorded_by, source)) AS recomputed
FROM privacy.consent_event;
-- an anchor, to be kept outside the database; later events do not change it
SELECT privacy.ledger_anchor() AS anchor \gset
SELECT length(:'anchor') AS anchor_hex_length;
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
SELECT privacy.grant_consent('778', 'analytics', source => 'after the anchor') > 0 AS ok;
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
SELECT intact, problem FROM privacy.verify_ledger('00');

-- Tampering, each undone afterwards. A changed event:
SELECT event_id AS withdrawn_event FROM privacy.consent_event WHERE source = 'unsubscribe link' \gset
SELECT event_id AS granted_event FROM privacy.consent_event WHERE subject = '2' AND state = 'granted' ORDER BY event_id LIMIT 1 \gset
BEGIN;
ALTER TABLE privacy.consent_event DISABLE TRIGGER append_only;
UPDATE privacy.consent_event SET state = 'granted' WHERE event_id = :withdrawn_event;
SELECT intact, event_id = :withdrawn_event AS at_that_event, problem FROM privacy.verify_ledger();
ROLLBACK;
-- a removed event:
BEGIN;
ALTER TABLE privacy.consent_event DISABLE TRIGGER append_only;
DELETE FROM privacy.consent_event WHERE event_id = :granted_event;
SELECT intact, event_id = :withdrawn_event AS at_the_next_event, problem FROM privacy.verify_ledger();
ROLLBACK;
-- an event appended after a chain's tail with a correct link and hash but an id below the tail's
-- (0): chains follow id order, so it shows as added out of order. The control, the same event
-- with an id above the tail's, verifies (that is what recording does).
SELECT event_id AS tail_event, hash AS tail_hash, subject_key AS tail_key FROM privacy.consent_event
WHERE subject_key = (SELECT subject_key FROM privacy.consent_event WHERE source = 'unsubscribe link')
ORDER BY event_id DESC LIMIT 1 \gset
BEGIN;
INSERT INTO privacy.consent_event (event_id, subject, purpose, state, recorded_at, recorded_by, source, subject_key, prev_hash, hash)
OVERRIDING SYSTEM VALUE
SELECT n, '2', 'marketing', 'granted', t, 'forger', 'appended', :'tail_key'::bytea, :'tail_hash'::bytea,
       privacy.ledger_event_hash(:'tail_hash'::bytea, n, :'tail_key'::bytea, 'marketing', 'granted', NULL, t, 'forger', 'appended')
FROM (VALUES (0::bigint, now())) v(n, t);
SELECT intact, event_id = 0 AS at_the_appended_event, problem FROM privacy.verify_ledger();
ROLLBACK;
BEGIN;
INSERT INTO privacy.consent_event (event_id, subject, purpose, state, recorded_at, recorded_by, source, subject_key, prev_hash, hash)
OVERRIDING SYSTEM VALUE
SELECT n, '2', 'marketing', 'granted', t, 'forger', 'appended', :'tail_key'::bytea, :'tail_hash'::bytea,
       privacy.ledger_event_hash(:'tail_hash'::bytea, n, :'tail_key'::bytea, 'marketing', 'granted', NULL, t, 'forger', 'appended')
FROM (VALUES ((SELECT max(event_id) + 1000 FROM privacy.consent_event), now())) v(n, t);
SELECT intact, problem FROM privacy.verify_ledger();
ROLLBACK;
-- an inserted event carrying a copied hash:
BEGIN;
INSERT INTO privacy.consent_event (subject, purpose, state, source, subject_key, prev_hash, hash)
SELECT subject, purpose, 'granted', 'forged', subject_key, prev_hash, hash FROM privacy.consent_event WHERE event_id = :withdrawn_event;
SELECT intact, problem FROM privacy.verify_ledger();
ROLLBACK;
-- a change with the whole chain rebuilt after it: the stored anchor shows it
BEGIN;
ALTER TABLE privacy.consent_event DISABLE TRIGGER append_only;
UPDATE privacy.consent_event SET state = 'granted' WHERE event_id = :withdrawn_event;
DO $$
DECLARE e record; prev bytea;
BEGIN
    FOR e IN SELECT * FROM privacy.consent_event WHERE subject_key = (SELECT subject_key FROM privacy.consent_event WHERE source = 'unsubscribe link') ORDER BY event_id LOOP
        UPDATE privacy.consent_event SET prev_hash = prev,
               hash = privacy.ledger_event_hash(prev, e.event_id, e.subject_key, e.purpose, e.state, e.valid_until, e.recorded_at, e.recorded_by, e.source)
        WHERE event_id = e.event_id RETURNING hash INTO prev;
    END LOOP;
END $$;
SELECT intact, problem FROM privacy.verify_ledger();
-- ... and with the anchors rewritten too, only the anchor kept outside shows it
DELETE FROM privacy.ledger_anchor;
SELECT intact, problem FROM privacy.verify_ledger();
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
ROLLBACK;
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');

-- Recording writes the event and its state rows without running statements (consent/record.rs);
-- what an INSERT does still happens. Two recordings in one statement chain one after the other,
-- and the later one is the state (withdrawn); the control, a grant alone, is active.
SELECT privacy.grant_consent('779', 'analytics', source => 'first of two') > 0 AS first,
       privacy.withdraw_consent('779', 'analytics', source => 'second of two') > 0 AS second;
SELECT e2.source AS later, e2.prev_hash = e1.hash AS follows
FROM privacy.consent_event e1 JOIN privacy.consent_event e2 ON e2.subject_key = e1.subject_key AND e2.event_id > e1.event_id
WHERE e1.source = 'first of two';
SELECT privacy.grant_consent('780', 'analytics', source => 'alone') > 0 AS ok;
SELECT subject, active_until > now() AS active FROM privacy.consent_text WHERE purpose = 'analytics' AND subject IN ('779', '780') ORDER BY 1;
SELECT subject, active_until > now() AS active FROM privacy.consent_bigint WHERE purpose = 'analytics' AND subject IN (779, 780) ORDER BY 1;
-- a trigger a DBA puts on the ledger fires for a recorded event, as for an INSERT
BEGIN;
CREATE TABLE public.ledger_audit (event_id bigint, source text);
CREATE FUNCTION public.ledger_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.ledger_audit VALUES (NEW.event_id, NEW.source); RETURN NULL; END $$;
CREATE TRIGGER audit AFTER INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_audit();
SELECT privacy.grant_consent('781', 'analytics', source => 'audited') AS audited_event \gset
SELECT event_id = :audited_event AS same_event, source FROM public.ledger_audit;
ROLLBACK;
-- a row trigger with a transition table cannot run for a recorded event (no statement collects
-- one): the recording is refused before anything is written, naming the trigger; a plain
-- INSERT runs it (control)
BEGIN;
CREATE TABLE public.ledger_batches (events bigint);
CREATE FUNCTION public.ledger_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.ledger_batches SELECT count(*) FROM new_events; RETURN NULL; END $$;
CREATE TRIGGER batch AFTER INSERT ON privacy.consent_event REFERENCING NEW TABLE AS new_events
    FOR EACH ROW EXECUTE FUNCTION public.ledger_batch();
SAVEPOINT before_grant;
SELECT privacy.grant_consent('782', 'analytics', source => 'batched');
ROLLBACK TO before_grant;
SELECT count(*) AS recorded FROM privacy.consent_event WHERE source = 'batched';
INSERT INTO privacy.consent_event (subject, purpose, state, source) VALUES ('782', 'analytics', 'granted', 'batched by hand');
SELECT events AS seen_by_the_trigger FROM public.ledger_batches;
ROLLBACK;
-- ... and one that skips the event leaves no state behind (the function returns NULL)
BEGIN;
CREATE FUNCTION public.ledger_skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER skip BEFORE INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_skip();
SELECT privacy.grant_consent('782', 'analytics', source => 'skipped') IS NULL AS skipped;
SELECT count(*) AS events FROM privacy.consent_event WHERE source = 'skipped';
SELECT count(*) AS state_rows FROM privacy.consent_bigint WHERE subject = 782;
ROLLBACK;
-- ... and one that changes the event is refused, nothing recorded (the hash covers the row as
-- sealed, and the state rows would hold values the ledger does not)
BEGIN;
CREATE FUNCTION public.ledger_cap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.valid_until := now() + interval '1 day'; RETURN NEW; END $$;
CREATE TRIGGER cap BEFORE INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_cap();
SAVEPOINT s;
SELECT privacy.grant_consent('784', 'analytics', expires_at => now() + interval '1 year', source => 'capped');
ROLLBACK TO s;
SELECT count(*) AS events FROM privacy.consent_event WHERE source = 'capped';
SELECT count(*) AS state_rows FROM privacy.consent_bigint WHERE subject = 784;
-- control: the same trigger returning the row unchanged lets the grant through
CREATE OR REPLACE FUNCTION public.ledger_cap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
SELECT privacy.grant_consent('784', 'analytics', expires_at => now() + interval '1 year', source => 'capped') > 0 AS recorded;
SELECT count(*) AS state_rows FROM privacy.consent_bigint WHERE subject = 784 AND active_until > now() + interval '300 days';
ROLLBACK;
-- a column a DBA adds to the ledger may be filled by a BEFORE trigger (the recording writes,
-- and the hash covers, only the ledger's own columns)
BEGIN;
ALTER TABLE privacy.consent_event ADD COLUMN note text NOT NULL DEFAULT 'default';
SAVEPOINT s;
\set VERBOSITY terse
SELECT privacy.grant_consent('785', 'analytics');
\set VERBOSITY default
ROLLBACK TO s;
CREATE FUNCTION public.ledger_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.note := coalesce(NEW.note, 'filled'); RETURN NEW; END $$;
CREATE TRIGGER note BEFORE INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_note();
SELECT privacy.grant_consent('785', 'analytics', source => 'noted') > 0 AS recorded;
SELECT note FROM privacy.consent_event WHERE source = 'noted';
ROLLBACK;
-- consent cannot be recorded from a BEFORE trigger of the ledger (it would chain before the
-- outer event is stored: a fork); from an AFTER trigger it can (control)
BEGIN;
CREATE FUNCTION public.ledger_nest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.source = 'outer' THEN PERFORM privacy.grant_consent(NEW.subject, NEW.purpose, source => 'inner'); END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER nest BEFORE INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_nest();
SAVEPOINT s;
SELECT privacy.grant_consent('777', 'analytics', source => 'outer');
ROLLBACK TO s;
DROP TRIGGER nest ON privacy.consent_event;
CREATE TRIGGER nest AFTER INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_nest();
SELECT privacy.grant_consent('777', 'analytics', source => 'outer') > 0 AS recorded;
SELECT string_agg(source, ', ' ORDER BY event_id) AS chained_in_order FROM privacy.consent_event
WHERE subject_key = privacy.ledger_subject_key('777') AND source IN ('outer', 'inner');
SELECT intact, problem FROM privacy.verify_ledger();
ROLLBACK;
-- a recording that failed inside a savepoint does not leave the session "recording": the next
-- grant in the same transaction is not taken for a nested one
BEGIN;
CREATE FUNCTION public.ledger_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF NEW.source = 'fail' THEN RAISE EXCEPTION 'refused by a trigger'; END IF; RETURN NEW; END $$;
CREATE TRIGGER fail BEFORE INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.ledger_fail();
DO $$
BEGIN
    PERFORM privacy.grant_consent('788', 'analytics', source => 'fail');
EXCEPTION WHEN raise_exception THEN RAISE NOTICE 'caught: %', SQLERRM;
END $$;
SELECT privacy.grant_consent('788', 'analytics', source => 'after the failure') > 0 AS recorded;
ROLLBACK;
-- a state row without any event under the subject's key (events restored into a database with
-- another key, a superuser's row) is replaced by the next event, not collided with
BEGIN;
INSERT INTO privacy.consent_bigint VALUES ('analytics', 789, 'infinity', 1);
SELECT privacy.withdraw_consent('789', 'analytics') > 0 AS withdrawn;
SELECT active_until > now() AS active FROM privacy.consent_bigint WHERE purpose = 'analytics' AND subject = 789;
ROLLBACK;
-- an id too long for the text state table's index is refused by its length, nothing recorded;
-- one at the limit is recorded (control: incompressible text, so the index holds it as is)
SELECT privacy.grant_consent(repeat('x', 2001), 'analytics');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
BEGIN;
SELECT privacy.grant_consent(left(string_agg(md5(g::text), ''), 2000), 'analytics') > 0 AS recorded FROM generate_series(1, 70) g;
ROLLBACK;
-- a read-only transaction cannot record consent (it could not INSERT either)
BEGIN READ ONLY;
SELECT privacy.grant_consent('783', 'analytics');
ROLLBACK;
-- an event a superuser inserts by hand is chained and applied by the ledger's triggers ...
BEGIN;
INSERT INTO privacy.consent_event (subject, purpose, state, source) VALUES ('780', 'analytics', 'withdrawn', 'by hand');
SELECT e.prev_hash = p.hash AS follows_the_grant FROM privacy.consent_event e, privacy.consent_event p
WHERE e.source = 'by hand' AND p.source = 'alone';
SELECT active_until > now() AS active FROM privacy.consent_text WHERE purpose = 'analytics' AND subject = '780';
SELECT intact, problem FROM privacy.verify_ledger();
ROLLBACK;
-- ... but not one with a state the ledger does not know (the column's domain checks it), nor one
-- for a purpose that does not exist (the foreign key, which grant_consent checks itself)
INSERT INTO privacy.consent_event (subject, purpose, state, source) VALUES ('780', 'analytics', 'maybe', 'by hand');
INSERT INTO privacy.consent_event (subject, purpose, state, source) VALUES ('780', 'nonesuch', 'granted', 'by hand');
SELECT count(*) AS by_hand_events FROM privacy.consent_event WHERE source = 'by hand';
-- The foreign key's check comes after the ledger's BEFORE triggers, where PostgreSQL's own
-- would: a trigger that removes the event's purpose makes grant_consent fail (control: the same
-- grant without the trigger records).
BEGIN;
SELECT privacy.create_purpose('fleeting', true);
SAVEPOINT before_grant;
SELECT privacy.grant_consent('790', 'fleeting') > 0 AS recorded_without_trigger;
ROLLBACK TO before_grant;
CREATE FUNCTION public.remove_purpose() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    DELETE FROM privacy.purpose WHERE name = NEW.purpose;
    RETURN NEW;
END $f$;
CREATE TRIGGER remove_purpose BEFORE INSERT ON privacy.consent_event FOR EACH ROW EXECUTE FUNCTION public.remove_purpose();
SELECT privacy.grant_consent('790', 'fleeting');
ROLLBACK;
-- ... nor one whose id is below its chain's last event: refused, not chained out of order
DO $$
BEGIN
    INSERT INTO privacy.consent_event (event_id, subject, purpose, state, source) OVERRIDING SYSTEM VALUE
    VALUES (1, '780', 'analytics', 'withdrawn', 'stale id');
EXCEPTION WHEN serialization_failure THEN
    RAISE NOTICE 'refused: %', regexp_replace(SQLERRM, '[0-9]+', 'N', 'g');
END $$;

-- Only privacy admins anchor and verify
\c - marketing_app
SELECT privacy.ledger_anchor();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM privacy.verify_ledger();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.ledger_subject_key('1');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
\c - postgres

-- pg_dump and restore keep the chains and the anchors: the copy verifies against the same anchor,
-- and new events continue the restored chains; new anchors and erasure receipts are numbered
-- after the restored ones
SELECT (privacy.erase_subject('990001', reason => 'before the dump') ->> 'receipt_id')::bigint AS receipt_before_dump \gset
SELECT max(anchor_id) AS anchor_before_dump FROM privacy.ledger_anchor \gset
\! pg_dump -Fc -f "$DUMPDIR/ledger.dump" privacy_e2e
CREATE DATABASE ledger_restored;
\! pg_restore -d ledger_restored "$DUMPDIR/ledger.dump" 2>&1 | head -5
\c ledger_restored postgres
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
SELECT privacy.grant_consent('2', 'marketing', source => 'after restore') > 0 AS ok;
SELECT prev_hash IS NOT NULL AS continues_the_chain FROM privacy.consent_event WHERE source = 'after restore';
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
SELECT length(privacy.ledger_anchor()) AS new_anchor;
SELECT max(anchor_id) > :anchor_before_dump AS anchor_numbered_after FROM privacy.ledger_anchor;
SELECT (privacy.erase_subject('990002', reason => 'after the restore') ->> 'receipt_id')::bigint > :receipt_before_dump AS receipt_numbered_after;
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
\c privacy_e2e postgres
DROP DATABASE ledger_restored;
