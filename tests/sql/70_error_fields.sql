-- Errors keep every field with the library preloaded (issue 11): compared with a cluster without
-- it, statement by statement (tests/lib/error_fields.sh), then the same fields for a masked role,
-- with masked values only.
\! "$E2E_LIB/error_fields.sh"
-- The same fields for a masked role, as its own exception handler sees them (masked values only)
\c - analyst
-- the masked value in the message
SELECT * FROM public.error_fields($$SELECT id, email::int FROM crm.customers WHERE id = 1$$);
-- CONTEXT from PL/pgSQL with its line number, over masked values
SELECT * FROM public.error_fields($q$DO $b$
DECLARE s text;
BEGIN
  SELECT ssn INTO s FROM crm.customers WHERE id = 1;
  PERFORM s::int;
END $b$$q$);
-- a constraint violation: names kept, row values not
SELECT * FROM public.error_fields($$UPDATE crm.customers SET score = -1 WHERE id = 1$$);
-- HINT
SELECT * FROM public.error_fields($$SELECT no_such_function(email) FROM crm.customers$$);
-- through a DBA's SECURITY DEFINER function, where PostgreSQL itself would show the row: the
-- masked session's handler gets no row values either (scenario 40 shows it for errors that
-- reach the client); the unmasked control sees them
\c - mallory
SELECT * FROM public.error_fields($$SELECT vault.set_age(1, -1)$$) WHERE field IN ('sqlstate', 'detail', 'constraint');
\c - support
SELECT * FROM public.error_fields($$SELECT vault.set_age(1, -1)$$) WHERE field IN ('sqlstate', 'detail', 'constraint');
