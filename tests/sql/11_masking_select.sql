-- Every clause of a SELECT sees masked values; the unmasked control first.
\set SHOW_CONTEXT never
-- control: the data is there
SELECT id, email, ssn, note FROM crm.customers ORDER BY id;
\c - analyst
SELECT id, name, email, ssn, note FROM crm.customers ORDER BY id;
-- WHERE cannot be an oracle
SELECT count(*) AS ssn_starting_with_1 FROM crm.customers WHERE ssn LIKE '1%';
SELECT count(*) AS real_email_matches FROM crm.customers WHERE email = 'alice@example.com';
SELECT count(*) AS note_is_vip FROM crm.customers WHERE note = 'vip';
-- JOIN, GROUP BY, ORDER BY, DISTINCT, window and aggregate arguments
SELECT c.email, sum(o.amount) FROM crm.customers c JOIN crm.orders o ON o.customer_id = c.id
GROUP BY c.email ORDER BY c.email;
SELECT a.id, b.id FROM crm.customers a JOIN crm.customers b ON a.ssn = b.ssn ORDER BY 1, 2;
SELECT DISTINCT ssn FROM crm.customers;
SELECT id, first_value(email) OVER (ORDER BY email DESC) FROM crm.customers ORDER BY id;
SELECT string_agg(email, ',' ORDER BY email), max(ssn), min(note) FROM crm.customers;
-- whole-row references
SELECT c FROM crm.customers c ORDER BY id;
SELECT row_to_json(c) FROM crm.customers c WHERE id = 1;
SELECT (c).email FROM (SELECT c FROM crm.customers c WHERE id = 2) s;
-- sub-queries, correlated sub-links, CTEs (materialized, recursive), LATERAL, set operations
SELECT (SELECT email FROM crm.customers i WHERE i.id = o.customer_id) FROM crm.orders o ORDER BY o.id;
SELECT id FROM crm.customers c WHERE EXISTS (SELECT 1 FROM crm.orders o WHERE o.customer_id = c.id AND c.ssn = '123-45-6789');
WITH m AS MATERIALIZED (SELECT email FROM crm.customers) SELECT * FROM m ORDER BY 1;
WITH RECURSIVE r(e, n) AS (SELECT email, 1 FROM crm.customers WHERE id = 1 UNION ALL SELECT e, n + 1 FROM r WHERE n < 2) SELECT * FROM r;
SELECT s.id, l.x FROM crm.customers s, LATERAL (SELECT s.email || '!' AS x) l ORDER BY 1;
SELECT email FROM crm.customers UNION SELECT 'alice@example.com' ORDER BY 1;
SELECT email FROM crm.customers INTERSECT SELECT 'alice@example.com';
-- TABLESAMPLE and system columns
SELECT email, tableoid::regclass, xmin IS NOT NULL AS has_xmin FROM crm.customers TABLESAMPLE SYSTEM (100) ORDER BY 1;
-- a leaky function never sees a raw value, whatever its cost
SELECT id FROM crm.customers WHERE public.leak(email) AND public.leak(ssn) AND public.leak(note) ORDER BY id;
-- casts quote the masked value, not the raw one
SELECT ssn::int FROM crm.customers WHERE id = 1;
-- EXPLAIN ANALYZE counters count masked matches
SELECT public.analyzed_rows($$SELECT * FROM crm.customers WHERE ssn LIKE '1%'$$) AS rows_counted;
