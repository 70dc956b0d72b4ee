-- PII discovery (issue 15.1): privacy.discover() on a schema seeded with known personal data and
-- decoys (columns whose names or values look personal but are not). Precision and recall are
-- computed against the truth table below; both must be at least 0.9. No sampled value is
-- returned; only privacy admins may run it.
\set SHOW_CONTEXT never
CREATE SCHEMA pii_lab;
CREATE TABLE pii_lab.customers (id int, first_name text, last_name text, email text, phone text,
                                birth_date date, created_at timestamptz, plan text, notes text);
INSERT INTO pii_lab.customers
SELECT g, privacy.pseudo_first_name(g::text), privacy.pseudo_last_name(g::text), 'user' || g || '@mail.example.com',
       '+1 555 01' || lpad(g::text, 2, '0'), date '1950-01-01' + g * 97, now(), 'gold', 'called on ' || g
FROM generate_series(1, 60) g;
CREATE TABLE pii_lab.payments (id int, card text, iban text, amount numeric, currency text, reference text);
INSERT INTO pii_lab.payments
SELECT g, (ARRAY['4111 1111 1111 1111', '5500 0000 0000 0004', '3400 0000 0000 009', '4012 8888 8888 1881'])[1 + g % 4],
       (ARRAY['DE89 3704 0044 0532 0130 00', 'GB82 WEST 1234 5698 7654 32', 'FR14 2004 1010 0505 0001 3M02 606'])[1 + g % 3],
       g * 1.5, 'EUR', 'INV-' || g
FROM generate_series(1, 60) g;
CREATE TABLE pii_lab.sessions (id bigint, client_ip inet, user_agent text, ip_version int, email_verified boolean, email_count int);
INSERT INTO pii_lab.sessions
SELECT g, ('10.1.' || (g % 250) || '.' || (g % 200))::inet, 'Mozilla/5.0 (X11; Linux x86_64)', 4, true, g
FROM generate_series(1, 60) g;
CREATE TABLE pii_lab.staff (id int, full_name text, ssn text, department text, badge text);
INSERT INTO pii_lab.staff
SELECT g, privacy.pseudo_first_name(g::text) || ' ' || privacy.pseudo_last_name(g::text),
       lpad((100 + g)::text, 3, '0') || '-' || lpad((10 + g % 80)::text, 2, '0') || '-' || lpad((1000 + g)::text, 4, '0'),
       (ARRAY['Sales', 'Engineering', 'Legal'])[1 + g % 3], 'B-' || g
FROM generate_series(1, 60) g;
-- personal data found by content alone (names that say nothing)
CREATE TABLE pii_lab.contacts (id int, contact text, reach text, origin text);
INSERT INTO pii_lab.contacts
SELECT g, 'someone' || g || '@corp.example.org', '+44 20 7946 ' || lpad(g::text, 4, '0'), '192.0.2.' || g
FROM generate_series(1, 60) g;
-- decoys
CREATE TABLE pii_lab.products (id int, product_name text, sku text, description text, version text, color text);
INSERT INTO pii_lab.products
SELECT g, 'Widget-' || g, lpad((1000000000000000 + g * 7919)::text, 16, '0'), 'A sturdy widget, model ' || g,
       '2.' || (g % 10) || '.0', (ARRAY['red', 'green', 'blue'])[1 + g % 3]
FROM generate_series(1, 60) g;
CREATE TABLE pii_lab.templates (id int, email_template text, subject text, phone_format text);
INSERT INTO pii_lab.templates
SELECT g, 'Hello {{first_name}}, your order ' || g || ' shipped.', 'Order ' || g, '+## ### ####'
FROM generate_series(1, 60) g;
ANALYZE pii_lab.customers, pii_lab.payments, pii_lab.sessions, pii_lab.staff, pii_lab.contacts, pii_lab.products, pii_lab.templates;
-- one column is already covered by a rule
SECURITY LABEL FOR privacy ON COLUMN pii_lab.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';

CREATE TEMP TABLE truth (table_name text, column_name text, kind text);
INSERT INTO truth VALUES
  ('customers', 'first_name', 'person_name'), ('customers', 'last_name', 'person_name'),
  ('customers', 'email', 'email'), ('customers', 'phone', 'phone'), ('customers', 'birth_date', 'birth_date'),
  ('payments', 'card', 'card_number'), ('payments', 'iban', 'iban'),
  ('sessions', 'client_ip', 'ip_address'),
  ('staff', 'full_name', 'person_name'), ('staff', 'ssn', 'national_id'),
  ('contacts', 'contact', 'email'), ('contacts', 'reach', 'phone'), ('contacts', 'origin', 'ip_address');

SET client_min_messages = warning;
CREATE TEMP TABLE found AS SELECT * FROM privacy.discover(ARRAY['pii_lab'], sample_rows => 50);
RESET client_min_messages;
-- every finding: kind, how, share, whether covered, the statement to apply
SELECT table_name, column_name, kind, found_by, match_share, covered FROM found ORDER BY 1, 2;
SELECT suggested_label FROM found WHERE table_name = 'payments' ORDER BY column_name;
-- precision and recall against the truth table (a finding counts if its kind is right)
SELECT count(*) FILTER (WHERE t.kind IS NOT NULL AND t.kind = f.kind) AS true_positives,
       count(*) FILTER (WHERE f.kind IS NOT NULL AND (t.kind IS NULL OR t.kind <> f.kind)) AS false_positives,
       count(*) FILTER (WHERE t.kind IS NOT NULL AND (f.kind IS NULL OR t.kind <> f.kind)) AS false_negatives
FROM truth t FULL JOIN found f USING (table_name, column_name);
SELECT round(tp::numeric / nullif(tp + fp, 0), 3) AS precision, round(tp::numeric / nullif(tp + fn, 0), 3) AS recall,
       tp::numeric / nullif(tp + fp, 0) >= 0.9 AND tp::numeric / nullif(tp + fn, 0) >= 0.9 AS both_at_least_0_9
FROM (SELECT count(*) FILTER (WHERE t.kind = f.kind) AS tp,
             count(*) FILTER (WHERE f.kind IS NOT NULL AND (t.kind IS NULL OR t.kind <> f.kind)) AS fp,
             count(*) FILTER (WHERE t.kind IS NOT NULL AND (f.kind IS NULL OR t.kind <> f.kind)) AS fn
      FROM truth t FULL JOIN found f USING (table_name, column_name)) s;
-- no sampled value comes back: no output column holds one of the seeded values
SELECT count(*) AS leaked FROM found f, pii_lab.customers c
WHERE position(c.email IN f::text) > 0 OR position(c.phone IN f::text) > 0;
-- the suggested statement works as it is
DO $$ BEGIN EXECUTE (SELECT suggested_label FROM found WHERE table_name = 'payments' AND column_name = 'card'); END $$;
SELECT "column", rule FROM privacy.masking_rules WHERE "table" = 'pii_lab.payments'::regclass;
-- progress is reported per table
SELECT count(*) > 0 AS found_something FROM privacy.discover(ARRAY['pii_lab'], sample_rows => 5) LIMIT 1;
-- bad input, and only admins
SELECT * FROM privacy.discover(ARRAY['pii_lab'], sample_rows => 0);
\c - analyst
SELECT * FROM privacy.discover();
\c - postgres
DROP SCHEMA pii_lab CASCADE;

-- Found by an attack pass. Row security that restricts the caller: the table is judged by column
-- names only (sampling as the owner would count rows hidden from the caller); control: the
-- superuser, whom it does not restrict, gets the finding by content.
CREATE SCHEMA pii_rls;
CREATE ROLE discover_dpo IN ROLE privacy_admin;
GRANT USAGE ON SCHEMA pii_rls TO discover_dpo;
CREATE TABLE pii_rls.tenants (id int, tenant text, contact text);
INSERT INTO pii_rls.tenants SELECT g, 'other', 'hidden' || g || '@secret.example.org' FROM generate_series(1, 8) g;
INSERT INTO pii_rls.tenants VALUES (9, 'discover_dpo', 'n/a'), (10, 'discover_dpo', 'n/a');
ALTER TABLE pii_rls.tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON pii_rls.tenants USING (tenant = current_user);
GRANT SELECT ON pii_rls.tenants TO discover_dpo;
SET client_min_messages = warning;
SET ROLE discover_dpo;
SELECT count(*) AS rows_dpo_sees FROM pii_rls.tenants;
SELECT column_name, kind, found_by, sampled_values FROM privacy.discover(ARRAY['pii_rls']);
RESET ROLE;
SELECT column_name, kind, found_by, sampled_values FROM privacy.discover(ARRAY['pii_rls']);
-- The suggested statement quotes its rule as PostgreSQL does (E'...' when it holds a backslash):
-- a column name chosen by a table's owner cannot end the literal early when the statement is run
-- with standard_conforming_strings off (it used to run the owner's DROP TABLE).
CREATE TABLE pii_rls.victim (id int);
SELECT format('CREATE TABLE pii_rls.inj (%I text)', E'email\\''; DROP TABLE pii_rls.victim; --') \gexec
INSERT INTO pii_rls.inj VALUES ('a@mail.example.com');
SELECT suggested_label FROM privacy.discover(ARRAY['pii_rls']) WHERE table_name = 'inj';
SET standard_conforming_strings = off;
SELECT suggested_label FROM privacy.discover(ARRAY['pii_rls']) WHERE table_name = 'inj' \gexec
RESET standard_conforming_strings;
RESET client_min_messages;
SELECT to_regclass('pii_rls.victim') IS NOT NULL AS victim_still_there;
SELECT count(*) AS rules_on_inj FROM privacy.masking_rules WHERE "table" = 'pii_rls.inj'::regclass;
DROP SCHEMA pii_rls CASCADE;
DROP ROLE discover_dpo;
