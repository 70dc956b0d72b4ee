-- Without pg_privacy preloaded, protected tables fail closed: a masked role gets an error,
-- never raw data. Runs a cluster of its own (tests/lib/no_preload.sh).
\! "$E2E_LIB/no_preload.sh"
-- With the library, DROP EXTENSION needs no CASCADE: the fail-closed guards go first, the tables
-- stay readable; and a table with rules can be dropped like any other.
CREATE DATABASE privacy_drop;
\c privacy_drop postgres
CREATE EXTENSION pg_privacy;
CREATE TABLE customers (id int, email text);
CREATE TABLE archive (id int, email text);
INSERT INTO customers VALUES (1, 'alice@example.com');
SECURITY LABEL FOR privacy ON COLUMN customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN archive.email IS 'MASKED WITH VALUE NULL';
DROP TABLE archive;
DROP EXTENSION pg_privacy;
SELECT polname, pg_get_expr(polqual, polrelid) AS qual FROM pg_policy WHERE polrelid = 'customers'::regclass;
SELECT email FROM customers;
\c privacy_e2e postgres
DROP DATABASE privacy_drop;
