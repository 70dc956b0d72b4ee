-- The key stays secret from non-superusers, and pg_dump/restore keeps it (and so every
-- pseudonym) stable.
\set SHOW_CONTEXT never
\c - analyst
SELECT key FROM privacy.key;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.random_key();
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO privacy.key (key) VALUES ('\x00');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- no setting carries it (the privacy.* settings are listed; none holds key bytes)
SELECT name FROM pg_settings WHERE name LIKE 'privacy.%';
SELECT count(*) AS settings_with_key_bytes FROM pg_settings WHERE setting ILIKE '%0001020304%';
-- no function source carries it (prosrc of C functions is the symbol name)
SELECT count(*) AS sources_with_key_bytes FROM pg_proc
WHERE pronamespace = 'privacy'::regnamespace AND prosrc ILIKE '%0001020304%';

\c - postgres
-- key rows are dumped (extension configuration table)...
\! pg_dump --data-only --table=privacy.key privacy_e2e | grep -c '^COPY privacy.key'
\! pg_dump -Fc -f "$DUMPDIR/privacy_e2e.dump" privacy_e2e
CREATE DATABASE privacy_restored;
\! pg_restore -d privacy_restored "$DUMPDIR/privacy_e2e.dump"
-- ...and after a restore the keyed values are the same as before
\c privacy_restored analyst
SELECT privacy.hash('alice@example.com') AS hash_after_restore,
       privacy.pseudo_email('alice@example.com') AS pseudo_after_restore;
\c privacy_restored postgres
SELECT count(*) AS keys_after_restore FROM privacy.key;
\c privacy_e2e postgres
DROP DATABASE privacy_restored;
