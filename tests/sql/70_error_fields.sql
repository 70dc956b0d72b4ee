-- Errors keep every field with the library preloaded (issue 11): compared with a cluster without
-- it, statement by statement (tests/lib/error_fields.sh), then the same fields for a masked role,
-- with masked values only.
\! "$E2E_LIB/error_fields.sh"
\set VERBOSITY verbose
\set SHOW_CONTEXT always
\c - analyst
\set VERBOSITY verbose
\set SHOW_CONTEXT always
-- position, and the masked value in the message
SELECT id, email::int FROM crm.customers WHERE id = 1;
-- CONTEXT from PL/pgSQL, with its line number, over masked values
DO $$
DECLARE s text;
BEGIN
  SELECT ssn INTO s FROM crm.customers WHERE id = 1;
  PERFORM s::int;
END $$;
-- DETAIL of a constraint violation: kept from the masked session, the other fields stay
UPDATE crm.customers SET score = -1 WHERE id = 1;
-- HINT and position
SELECT no_such_function(email) FROM crm.customers;
