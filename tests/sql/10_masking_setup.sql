-- Masking engine scenarios: shared set-up.
-- crm.customers has three rules; app_owner owns the schema objects; analyst is masked by label;
-- staging is masked through membership of masked_group; support_lead is a member of
-- masked_group too but labelled UNMASKED.
CREATE SCHEMA crm AUTHORIZATION app_owner;
SET ROLE app_owner;
CREATE TABLE crm.customers (id int PRIMARY KEY, name text NOT NULL, email text UNIQUE,
                            ssn text, note text, score int CHECK (score >= 0));
INSERT INTO crm.customers VALUES
  (1, 'Alice', 'alice@example.com', '123-45-6789', 'vip', 10),
  (2, 'Bob',   'bob@example.net',   '987-65-4321', 'late payer', 20),
  (3, 'Carol', 'carol@example.org', '111-22-3333', NULL, 30);
CREATE TABLE crm.orders (id int PRIMARY KEY, customer_id int REFERENCES crm.customers, amount numeric);
INSERT INTO crm.orders VALUES (10, 1, 99.5), (11, 1, 5), (12, 2, 42);
RESET ROLE;
SECURITY LABEL FOR privacy ON COLUMN crm.customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
SECURITY LABEL FOR privacy ON COLUMN crm.customers.note IS 'MASKED WITH VALUE NULL';
-- the table got row-security guards that keep every row visible
SELECT polname, polpermissive, pg_get_expr(polqual, polrelid) AS qual
FROM pg_policy WHERE polrelid = 'crm.customers'::regclass ORDER BY 1;

CREATE ROLE masked_group NOLOGIN;
CREATE ROLE staging LOGIN IN ROLE masked_group;
CREATE ROLE support_lead LOGIN IN ROLE masked_group;
SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED';
SECURITY LABEL FOR privacy ON ROLE masked_group IS 'MASKED';
SECURITY LABEL FOR privacy ON ROLE support_lead IS 'UNMASKED';
GRANT USAGE ON SCHEMA crm TO analyst, masked_group, support_lead;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA crm TO analyst, masked_group, support_lead;

-- A leaky function anyone may call: it prints its argument and claims to be nearly free, so
-- the planner would love to run it early.
CREATE FUNCTION public.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.000001 AS $$
BEGIN RAISE NOTICE 'leak saw %', $1; RETURN true; END $$;

SELECT * FROM privacy.masking_rules ORDER BY 1, 2;
SELECT * FROM privacy.masked_roles;
