-- Access preview (issue 15.4): privacy.preview_access(role, table, purpose) says, per column,
-- whether a role sees it raw or masked and by which rule, which consent filter applies and how
-- many rows the role would see. Each preview is checked against what the role really gets.
\set SHOW_CONTEXT never
-- masking: analyst is masked; support_lead is an UNMASKED member of a masked group
SELECT column_name, sees, rule FROM privacy.preview_access('analyst', 'crm.customers');
SELECT column_name, sees, rule FROM privacy.preview_access('support_lead', 'crm.customers');
-- a role without SELECT on the table
SELECT column_name, sees FROM privacy.preview_access('marketing_app', 'crm.customers');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('analyst', 'crm.customers');
-- consent filters: one allowed purpose; two (must choose); a chosen one; one not allowed; a
-- purpose that needs no consent; uuid and text subject columns
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('marketing_app', 'shop.customers');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('multi_app', 'shop.customers');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('multi_app', 'shop.customers', 'marketing');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('multi_app', 'shop.customers', 'analytics');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('billing_app', 'shop.customers');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('marketing_app', 'shop.devices');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('marketing_app', 'shop.contacts');
SELECT DISTINCT row_filter, visible_rows FROM privacy.preview_access('postgres', 'shop.customers');

-- checked against reality: each role counts what it gets
\c - marketing_app
SELECT count(*) AS customers FROM shop.customers;
SELECT count(*) AS devices FROM shop.devices;
SELECT count(*) AS contacts FROM shop.contacts;
\c - multi_app
SELECT count(*) AS customers_no_purpose FROM shop.customers;
SET privacy.purpose = 'marketing';
SELECT count(*) AS customers_marketing FROM shop.customers;
\c - billing_app
SELECT count(*) AS customers FROM shop.customers;
\c - analyst
SELECT email, ssn, note FROM crm.customers WHERE id = 1;
SELECT count(*) AS customers FROM crm.customers;
\c - support_lead
SELECT email, ssn, note FROM crm.customers WHERE id = 1;

-- only privacy admins; bad input is an error
\c - analyst
SELECT * FROM privacy.preview_access('analyst', 'crm.customers');
\c - postgres
SELECT * FROM privacy.preview_access('analyst', 'privacy.masking_rules');
SELECT * FROM privacy.preview_access('no_such_role', 'crm.customers');
SELECT * FROM privacy.preview_access('analyst', 'no_such_table');
