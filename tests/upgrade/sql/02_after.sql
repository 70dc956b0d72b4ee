-- The library is now 0.2.0; the database still holds 0.1.0's objects.
SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy';
\set VERBOSITY default
-- Fail closed until the update: the library cannot read 0.1.0's registry, so it refuses
-- everyone but superusers, masked and filtered roles and ungoverned ones alike.
\c - up_analyst
SELECT id, email FROM crm.customers ORDER BY id;
COPY crm.customers TO STDOUT;
\c - up_marketing
SELECT id FROM crm.customers ORDER BY id;
\c - up_clerk
SELECT * FROM crm.notes;
-- control: a superuser's statements run (and read raw values, as always)
\c - postgres
SELECT id, email FROM crm.customers ORDER BY id LIMIT 2;
-- the guard of the subject table is still the 0.1.0 one (a member of the extension)
SELECT polname, polpermissive, pg_get_expr(polqual, polrelid) AS qual,
       EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.deptype = 'e') AS extension_member
FROM pg_policy p WHERE polrelid = 'crm.customers'::regclass ORDER BY 1;

-- a role allowed a purpose under 0.1.0 is dropped before the update (0.1.0 kept role names)
DROP ROLE up_gone;
ALTER EXTENSION pg_privacy UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy';

-- the key and every pseudonym are unchanged; the same plaintext gives the same pseudonym
SELECT (SELECT encode(sha256(key), 'hex') FROM privacy.key) = w.key_digest AS key_unchanged,
       (SELECT array_agg(card::text ORDER BY id) FROM crm.customers) = w.cards AS pseudonyms_unchanged,
       (SELECT card FROM crm.customers WHERE id = 1) = privacy.pseudonymize('4111111111111111') AS same_pseudonym
FROM public.witness w;
SELECT count(*) FROM crm.customers WHERE card = '5500000000000004';
-- the registry carried over: purposes, subject tables, role purposes (the dropped role's
-- row is not), the whole history with its ids, times and sources, chained into the ledger
SELECT name, requires_consent, description, retention FROM privacy.purposes ORDER BY name;
SELECT relation, subject_column FROM privacy.subject_tables ORDER BY relation::text;
SELECT * FROM privacy.role_purposes ORDER BY 1, 2;
SELECT (SELECT count(*) FROM privacy.consent_event) = w.events AS every_event_kept FROM public.witness w;
SELECT purpose, state, source FROM privacy.consent_history('2') ORDER BY event_id;
SELECT * FROM privacy.verify_ledger();
-- guards in their 0.2.0 form: not members of the extension, privacy_all_rows calls the guard
SELECT polname, polpermissive, pg_get_expr(polqual, polrelid) AS qual,
       EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.deptype = 'e') AS extension_member
FROM pg_policy p WHERE polrelid = 'crm.customers'::regclass ORDER BY 1;
SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relnamespace = 'crm'::regnamespace AND relkind = 'r' ORDER BY 1;

-- every guarantee again, each next to its control
\c - up_analyst
SELECT id, name, email, ssn FROM crm.customers ORDER BY id;
SELECT count(*) FROM crm.customers WHERE email LIKE 'ada%';
\c - up_marketing
SELECT id, name FROM crm.customers ORDER BY id;
SELECT count(*) FROM crm.orders;
\c - up_clerk
SELECT id, email FROM crm.customers ORDER BY id;
SELECT * FROM crm.notes;
\c - postgres
SELECT count(*) FROM crm.customers;
-- a grant recorded now is seen at the marketing role's next statement; a withdrawal too
SELECT privacy.grant_consent('6', 'marketing') > 0 AS granted;
SELECT privacy.withdraw_consent('1', 'marketing') > 0 AS withdrawn;
\c - up_marketing
SELECT id FROM crm.customers ORDER BY id;
\c - postgres
SELECT * FROM privacy.verify_ledger();
-- 0.2.0's new objects are there and work
SELECT privacy.preview_access('up_analyst', 'crm.customers') ORDER BY 1;
SELECT count(*) FROM privacy.access_log;
-- the helper the update used runs nowhere else
SELECT privacy.upgrade_guards();
