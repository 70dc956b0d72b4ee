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
-- and new events continue the restored chains
\! pg_dump -Fc -f "$DUMPDIR/ledger.dump" privacy_e2e
CREATE DATABASE ledger_restored;
\! pg_restore -d ledger_restored "$DUMPDIR/ledger.dump" 2>&1 | head -5
\c ledger_restored postgres
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
SELECT privacy.grant_consent('2', 'marketing', source => 'after restore') > 0 AS ok;
SELECT prev_hash IS NOT NULL AS continues_the_chain FROM privacy.consent_event WHERE source = 'after restore';
SELECT intact, problem FROM privacy.verify_ledger(:'anchor');
\c privacy_e2e postgres
DROP DATABASE ledger_restored;
