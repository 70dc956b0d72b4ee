-- Consent-aware row filters: purposes, subject tables, roles, consent records.
\set SHOW_CONTEXT never
CREATE ROLE shop_owner LOGIN;
CREATE ROLE marketing_app LOGIN;
CREATE ROLE multi_app LOGIN;
CREATE ROLE billing_app LOGIN;
CREATE ROLE reporting_app LOGIN;
CREATE SCHEMA shop AUTHORIZATION shop_owner;
SET ROLE shop_owner;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text, newsletter text);
INSERT INTO shop.customers VALUES (1, 'Ann', 'weekly'), (2, 'Ben', 'daily'), (3, 'Cid', 'never'), (4, 'Dee', 'weekly');
CREATE TABLE shop.orders (id int PRIMARY KEY, customer_id int REFERENCES shop.customers, amount int);
INSERT INTO shop.orders VALUES (10, 1, 5), (11, 2, 6), (12, 3, 7), (13, 1, 8);
CREATE TABLE shop.devices (device uuid PRIMARY KEY, label text);
INSERT INTO shop.devices VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'consented'), ('b1eebc99-9c0b-4ef8-bb6d-6bb9bd380a22', 'not consented');
CREATE TABLE shop.contacts (email text PRIMARY KEY, topic text);
INSERT INTO shop.contacts VALUES ('ann@example.com', 'consented'), ('zed@example.com', 'not consented');
CREATE TABLE shop.events (customer bigint, what text);
INSERT INTO shop.events VALUES (1, 'consented'), (9000000000, 'not consented');
GRANT USAGE ON SCHEMA shop TO marketing_app, multi_app, billing_app, reporting_app;
GRANT SELECT, UPDATE, DELETE, INSERT ON ALL TABLES IN SCHEMA shop TO marketing_app, multi_app, billing_app, reporting_app;
RESET ROLE;

SELECT privacy.create_purpose('marketing', requires_consent => true, description => 'newsletters and offers');
SELECT privacy.create_purpose('billing', requires_consent => false, description => 'invoices (contract)');
SELECT privacy.create_purpose('analytics', requires_consent => true);
SELECT privacy.create_purpose('Bad Name', true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.create_purpose('billing', true);
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT privacy.set_subject('shop.customers', 'id');
SELECT privacy.set_subject('shop.orders', 'customer_id');
SELECT privacy.set_subject('shop.devices', 'device');
SELECT privacy.set_subject('shop.contacts', 'email');
SELECT privacy.set_subject('shop.events', 'customer');
SELECT privacy.set_subject('shop.orders', 'no_such_column');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- subject tables get forced row security
SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind = 'r' ORDER BY 1;

SELECT privacy.allow_purpose('marketing_app', 'marketing');
SELECT privacy.allow_purpose('multi_app', 'marketing');
SELECT privacy.allow_purpose('multi_app', 'billing');
SELECT privacy.allow_purpose('billing_app', 'billing');
SELECT privacy.allow_purpose('nobody_role', 'billing');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT privacy.allow_purpose('billing_app', 'no_such_purpose');
\echo SQLSTATE :LAST_ERROR_SQLSTATE

SELECT privacy.grant_consent('1', 'marketing', expires_at => now() + interval '1 year', source => 'signup form v3') > 0 AS ok;
SELECT privacy.grant_consent('2', 'marketing', source => 'signup form v3') > 0 AS ok;
SELECT privacy.withdraw_consent('2', 'marketing', source => 'unsubscribe link') > 0 AS ok;
SELECT privacy.grant_consent('4', 'analytics', source => 'cookie banner') > 0 AS ok;
SELECT privacy.grant_consent('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'marketing', source => 'app') > 0 AS ok;
SELECT privacy.grant_consent('ann@example.com', 'marketing', source => 'form') > 0 AS ok;
SELECT privacy.grant_consent('1', 'marketing', source => 'renewal') > 0 AS ok;
SELECT privacy.grant_consent('3', 'marketing', expires_at => now() - interval '1 day');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- an expired consent (recorded directly by a superuser, as an import of old records would)
INSERT INTO privacy.consent_event (subject, purpose, state, valid_until, source)
VALUES ('3', 'marketing', 'granted', now() - interval '1 day', 'import of 2024 records');

SELECT * FROM privacy.subject_tables ORDER BY 1;
SELECT * FROM privacy.role_purposes ORDER BY 1, 2;
SELECT name, requires_consent, description FROM privacy.purposes ORDER BY 1;
SELECT event_id, purpose, state, valid_until IS NOT NULL AS expires, recorded_by, source FROM privacy.consent_history('2');
