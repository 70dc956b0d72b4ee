-- Masking on distributed tables (rules declared before and after create_distributed_table) and a
-- reference table, through the coordinator: router and multi-shard queries, co-located joins,
-- joins with the reference table, conditions, aggregates, COPY, prepared statements, cursors,
-- writes with RETURNING, EXPLAIN, pg_dump. Each masked result has its unmasked control (support).
\set SHOW_CONTEXT never
CREATE SCHEMA crm;
GRANT USAGE ON SCHEMA crm TO analyst, support;
CREATE TABLE crm.customers (id bigint PRIMARY KEY, name text, email text, ssn text, vip boolean);
INSERT INTO crm.customers
SELECT g, 'Customer ' || g, 'c' || g || '@example.com', lpad(g::text, 3, '0') || '-45-6789', g % 2 = 0
FROM generate_series(1, 8) g;
-- rules before distribution
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
SELECT create_distributed_table('crm.customers', 'id');
SELECT truncate_local_data_after_distributing_table('crm.customers');
CREATE TABLE crm.orders (id bigint, customer_id bigint, card text, amount numeric, contact text, PRIMARY KEY (customer_id, id));
SELECT create_distributed_table('crm.orders', 'customer_id', colocate_with => 'crm.customers');
INSERT INTO crm.orders SELECT g, (g % 8) + 1, '4111-1111-1111-' || lpad(g::text, 4, '0'), g * 10, 'shared@example.com' FROM generate_series(1, 16) g;
-- rules after distribution, one keyed
SECURITY LABEL FOR privacy ON COLUMN crm.orders.card IS 'MASKED WITH FUNCTION privacy.mask_card(card)';
SECURITY LABEL FOR privacy ON COLUMN crm.orders.contact IS 'MASKED WITH FUNCTION privacy.hash(contact)';
CREATE TABLE crm.countries (code text PRIMARY KEY, name text, ceo_phone text);
INSERT INTO crm.countries VALUES ('DE', 'Germany', '+49 30 1234567'), ('FR', 'France', '+33 1 23456789');
SELECT create_reference_table('crm.countries');
SELECT truncate_local_data_after_distributing_table('crm.countries');
SECURITY LABEL FOR privacy ON COLUMN crm.countries.ceo_phone IS 'MASKED WITH FUNCTION privacy.mask_phone(ceo_phone)';
GRANT SELECT, INSERT, UPDATE, DELETE ON crm.customers, crm.orders, crm.countries TO analyst, support;
SELECT * FROM privacy.masking_rules ORDER BY 1, 2;

\c - analyst
-- router (one shard) and multi-shard reads
SELECT id, name, email, ssn FROM crm.customers WHERE id = 3;
SELECT id, email, ssn FROM crm.customers ORDER BY id;
-- conditions and aggregates see masked values only: no oracle on the raw ones
SELECT count(*) FILTER (WHERE ssn LIKE '00%') AS raw_prefix, count(*) FILTER (WHERE ssn = 'XXX-XX-XXXX') AS masked FROM crm.customers;
SELECT count(*) AS by_raw_email FROM crm.customers WHERE email = 'c3@example.com';
SELECT string_agg(ssn, ',' ORDER BY id) AS ssns, min(email) AS min_email FROM crm.customers;
-- co-located join, join with the reference table, sub-queries and CTEs
SELECT o.id, o.card, c.email, k.ceo_phone
FROM crm.orders o JOIN crm.customers c ON c.id = o.customer_id CROSS JOIN crm.countries k
WHERE o.customer_id = 3 AND k.code = 'DE' ORDER BY o.id;
SELECT c.id, (SELECT count(*) FROM crm.orders o WHERE o.customer_id = c.id) AS orders FROM crm.customers c ORDER BY c.id LIMIT 3;
WITH e AS MATERIALIZED (SELECT email FROM crm.customers) SELECT DISTINCT email FROM e;
-- a keyed rule: the same value hashes the same on every shard (the nodes share the key)
SELECT count(DISTINCT contact) AS distinct_hashes, count(*) AS orders, min(length(contact)) AS hash_length FROM crm.orders;
-- COPY, prepared statements (past the switch to a generic plan), cursors
COPY (SELECT id, email, ssn FROM crm.customers ORDER BY id) TO STDOUT;
\! psql -X -h 127.0.0.1 -p "$COORD_PORT" -U analyst -d privacy_citus -c "COPY crm.customers (id, email, ssn) TO STDOUT WITH (FORMAT csv)" | sort
COPY (SELECT card FROM crm.orders WHERE customer_id = 2 ORDER BY id) TO STDOUT;
PREPARE by_id(bigint) AS SELECT email FROM crm.customers WHERE id = $1;
EXECUTE by_id(1); EXECUTE by_id(2); EXECUTE by_id(3); EXECUTE by_id(4); EXECUTE by_id(5); EXECUTE by_id(6); EXECUTE by_id(7);
BEGIN;
DECLARE cur CURSOR FOR SELECT id, ssn FROM crm.customers ORDER BY id;
FETCH 2 FROM cur;
COMMIT;
-- writes: conditions on masked columns see masked values, RETURNING is masked
UPDATE crm.customers SET name = name WHERE ssn LIKE '003%' RETURNING id, ssn;
UPDATE crm.customers SET name = name WHERE id = 3 RETURNING id, email, ssn;
INSERT INTO crm.customers VALUES (9, 'New', 'new@example.com', '999-99-9999', false) RETURNING email, ssn;
-- EXPLAIN shows the masking happening on the worker
SELECT public.plan_has('SELECT email FROM crm.customers WHERE id = 3', 'privacy.mask_email(email)') AS masked_on_worker;

\c - support
SELECT id, name, email, ssn FROM crm.customers WHERE id = 3;
SELECT count(*) FILTER (WHERE ssn LIKE '00%') AS raw_prefix FROM crm.customers;
SELECT o.id, o.card, c.email, k.ceo_phone
FROM crm.orders o JOIN crm.customers c ON c.id = o.customer_id CROSS JOIN crm.countries k
WHERE o.customer_id = 3 AND k.code = 'DE' ORDER BY o.id;
SELECT count(DISTINCT contact) AS distinct_contacts FROM crm.orders;
COPY (SELECT card FROM crm.orders WHERE customer_id = 2 ORDER BY id) TO STDOUT;

-- pg_dump as the masked role (data only) and as the superuser (control)
\! pg_dump -h 127.0.0.1 -p "$COORD_PORT" -U analyst --data-only --table=crm.customers privacy_citus | grep -A9 '^COPY' | sort
\! pg_dump -h 127.0.0.1 -p "$COORD_PORT" -U postgres --data-only --table=crm.customers privacy_citus | grep -c '@example.com' 
\c - postgres
DELETE FROM crm.customers WHERE id = 9;
-- Distributing a labelled table copies its labels to the workers, where pg_privacy checks them
-- like any label: the table's owner, not a privacy admin, is refused; a superuser may.
CREATE ROLE app_owner LOGIN;
GRANT CREATE, USAGE ON SCHEMA crm TO app_owner;
CREATE TABLE crm.tickets (id bigint PRIMARY KEY, body text);
ALTER TABLE crm.tickets OWNER TO app_owner;
SECURITY LABEL FOR privacy ON COLUMN crm.tickets.body IS 'MASKED WITH VALUE NULL';
SET ROLE app_owner;
SELECT create_distributed_table('crm.tickets', 'id');
RESET ROLE;
SELECT create_distributed_table('crm.tickets', 'id');
