-- UPDATE, DELETE, MERGE and INSERT ... ON CONFLICT by a masked role: quals and RETURNING see
-- masked values; writing a value derived from a masked column into it is refused.
\set SHOW_CONTEXT never
\c - analyst
BEGIN;
UPDATE crm.customers SET name = name || '!' WHERE ssn = '123-45-6789' RETURNING id;
UPDATE crm.customers SET name = name || '!' WHERE email LIKE 'a***%' RETURNING id, name, email, ssn;
DELETE FROM crm.customers WHERE note = 'vip' RETURNING id;
UPDATE crm.customers SET email = email || '' WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
UPDATE crm.customers SET ssn = upper(ssn) WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
UPDATE crm.customers c SET email = (SELECT c.email) WHERE id = 1;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
-- writing a fresh value into a masked column is allowed
UPDATE crm.customers SET email = 'new@example.com' WHERE id = 3 RETURNING id, email;
-- copying a masked value into an unmasked column stores the masked value
UPDATE crm.customers SET name = email WHERE id = 2 RETURNING id, name;
MERGE INTO crm.customers c USING (VALUES (1)) v(id) ON c.id = v.id AND c.ssn = '123-45-6789'
WHEN MATCHED THEN UPDATE SET name = 'matched';
SELECT id, name FROM crm.customers ORDER BY id;
MERGE INTO crm.customers c USING (VALUES (1)) v(id) ON c.id = v.id
WHEN MATCHED THEN UPDATE SET ssn = c.ssn;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
INSERT INTO crm.customers VALUES (1, 'Dup', 'dup@example.com', '000-00-0000', NULL, 1)
ON CONFLICT (id) DO UPDATE SET note = excluded.note RETURNING id, email, note;
INSERT INTO crm.customers VALUES (1, 'Dup', 'dup@example.com', '000-00-0000', NULL, 1)
ON CONFLICT (id) DO UPDATE SET email = crm.customers.email;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
ROLLBACK;
\c - postgres
-- control: nothing was changed by the refused statements
SELECT id, name, email, ssn, note FROM crm.customers ORDER BY id;
