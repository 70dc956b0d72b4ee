-- The registry: who may change it, the append-only history, pg_dump and restore.
\set SHOW_CONTEXT never
\c - marketing_app
SELECT privacy.grant_consent('3', 'marketing');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.create_purpose('sneaky', false);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.allow_purpose('marketing_app', 'billing');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO privacy.consent_event (subject, purpose, state) VALUES ('3', 'marketing', 'granted');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO privacy.consent_bigint (purpose, subject, active_until, event_id) VALUES ('marketing', 3, 'infinity', 0);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) FROM privacy.consent_event;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- an explicit grant lets the application record consent through the API only
\c - postgres
GRANT EXECUTE ON FUNCTION privacy.grant_consent(text, text, timestamptz, text) TO marketing_app;
GRANT EXECUTE ON FUNCTION privacy.withdraw_consent(text, text, text) TO marketing_app;
\c - marketing_app
SELECT privacy.grant_consent('3', 'marketing', source => 'web form') > 0 AS recorded;
SELECT id FROM shop.customers ORDER BY id;
SELECT privacy.withdraw_consent('3', 'marketing', source => 'web form') > 0 AS recorded;
SELECT id FROM shop.customers ORDER BY id;
\c - postgres
REVOKE EXECUTE ON FUNCTION privacy.grant_consent(text, text, timestamptz, text) FROM marketing_app;
REVOKE EXECUTE ON FUNCTION privacy.withdraw_consent(text, text, text) FROM marketing_app;
-- the history is append-only, even for a superuser
UPDATE privacy.consent_event SET state = 'granted' WHERE subject = '2';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM privacy.consent_event;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
TRUNCATE privacy.consent_event;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT purpose, state, recorded_by, source FROM privacy.consent_history('3');
-- pg_dump keeps the registry; after a restore the filters work the same
\! pg_dump -Fc -f "$DUMPDIR/consent.dump" privacy_e2e
CREATE DATABASE consent_restored;
\! pg_restore -d consent_restored "$DUMPDIR/consent.dump" 2>&1 | head -5
\c consent_restored postgres
SELECT count(*) AS events, count(DISTINCT subject) AS subjects FROM privacy.consent_event;
SELECT intact, problem FROM privacy.verify_ledger();
SELECT purpose, subject, active_until > now() AS active FROM privacy.consent_text ORDER BY 1, 2;
\c consent_restored marketing_app
SELECT id, name FROM shop.customers ORDER BY id;
\c privacy_e2e postgres
DROP DATABASE consent_restored;
