-- COPY and pg_dump as a masked role; the superuser's dump is the control.
\set SHOW_CONTEXT never
\c - analyst
COPY crm.customers TO STDOUT;
COPY crm.customers (id, email, ssn) TO STDOUT WITH (FORMAT csv, HEADER);
COPY (SELECT email FROM crm.customers WHERE id = 1) TO STDOUT;
-- binary COPY by the masked role, loaded back into a table by the superuser: masked values
\! psql -X -q -U analyst -d privacy_e2e -c "COPY crm.customers TO STDOUT WITH (FORMAT binary)" > "$DUMPDIR/customers.bin"
\c - postgres
CREATE TABLE public.bin_copy (LIKE crm.customers);
\! psql -X -q -d privacy_e2e -c "\copy public.bin_copy FROM '$DUMPDIR/customers.bin' WITH (FORMAT binary)"
SELECT id, email, ssn, note FROM public.bin_copy ORDER BY id;
DROP TABLE public.bin_copy;
\! pg_dump -U analyst --data-only --table=crm.customers privacy_e2e | grep -A4 '^COPY'
\! pg_dump -U analyst --data-only --inserts --table=crm.customers privacy_e2e | grep '^INSERT'
-- a whole-database dump by the masked role works, masks, and carries no key
\! pg_dump -U analyst privacy_e2e > "$DUMPDIR/analyst.sql" && echo analyst dump ok
\! grep -c 'alice@example.com' "$DUMPDIR/analyst.sql"
\! grep -A2 '^COPY privacy.key' "$DUMPDIR/analyst.sql"
-- control: the superuser's dump has the real values
\! pg_dump --data-only --table=crm.customers privacy_e2e | grep -c 'alice@example.com'
