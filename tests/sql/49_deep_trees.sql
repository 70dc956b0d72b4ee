-- A statement nested deeply enough to exhaust the stack while pg_privacy walks it at planning
-- (its walkers run without a guard per node; the error must still reach PostgreSQL's handler
-- cleanly): the masked analyst gets the same error as the unmasked app_owner (control), the
-- session lives on and masking still holds. The statements are prepared with a large stack
-- limit and planned at EXECUTE under a small one, so the parser is not what fails.
CREATE TABLE deep (id int, email text);
INSERT INTO deep VALUES (1, 'first@example.com');
SECURITY LABEL FOR privacy ON COLUMN deep.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
GRANT SELECT ON deep TO analyst, app_owner;
SELECT 'SELECT email FROM deep WHERE id = ' || repeat('abs(', 1500) || '1' || repeat(')', 1500) AS deep_query \gset
SET max_stack_depth = '7MB';
SET ROLE analyst;
PREPARE masked_deep AS :deep_query;
RESET ROLE;
SET ROLE app_owner;
PREPARE control_deep AS :deep_query;
RESET ROLE;
SET max_stack_depth = '200kB';
SET ROLE analyst;
EXECUTE masked_deep;
SELECT email AS masked_after_error FROM deep;
RESET ROLE;
SET ROLE app_owner;
EXECUTE control_deep;
SELECT email AS control_after_error FROM deep;
RESET ROLE;
RESET max_stack_depth;
-- with room enough, the same statements plan and run: masked for the analyst, not for the control
SET ROLE analyst;
EXECUTE masked_deep;
RESET ROLE;
SET ROLE app_owner;
EXECUTE control_deep;
RESET ROLE;
DEALLOCATE masked_deep;
DEALLOCATE control_deep;
DROP TABLE deep;
