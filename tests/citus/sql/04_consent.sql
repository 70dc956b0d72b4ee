-- Consent filters on Citus: not enforced on shards yet, so never failing open. A Citus table
-- cannot become a subject table, a subject table cannot be distributed, and a consent-filtered
-- role reads local subject tables as usual (filtered) and Citus tables that are not subject tables
-- as usual. Controls: the same reads by a role acting for no purpose.
\set SHOW_CONTEXT never
SELECT privacy.create_purpose('marketing', requires_consent => true);
CREATE ROLE marketing_app LOGIN;
GRANT USAGE ON SCHEMA crm TO marketing_app;
GRANT SELECT ON crm.customers, crm.orders TO marketing_app;
SELECT privacy.allow_purpose('marketing_app', 'marketing');
-- a Citus table cannot be declared a subject table
SELECT privacy.set_subject('crm.customers', 'id');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- a local subject table works, and cannot be distributed
CREATE TABLE crm.leads (id bigint PRIMARY KEY, email text);
INSERT INTO crm.leads SELECT g, 'lead' || g || '@example.com' FROM generate_series(1, 4) g;
GRANT SELECT ON crm.leads TO marketing_app, support;
SELECT privacy.set_subject('crm.leads', 'id');
SELECT privacy.grant_consent('2', 'marketing', source => 'form');
SELECT create_distributed_table('crm.leads', 'id');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT create_reference_table('crm.leads');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT count(*) AS citus_tables FROM pg_dist_partition WHERE logicalrelid = 'crm.leads'::regclass;

\c - marketing_app
SET privacy.purpose = 'marketing';
SELECT id, email FROM crm.leads ORDER BY id;
SELECT count(*) AS orders FROM crm.orders;
-- a join of the local subject table with a distributed table: Citus cannot plan a local table
-- whose row-security condition holds a sub-query next to a distributed one (an error, never
-- rows); a DBA's own policy of that shape gets the same error (below)
SELECT l.id, count(o.*) AS orders FROM crm.leads l LEFT JOIN crm.orders o ON o.customer_id = l.id GROUP BY l.id ORDER BY l.id;

\c - support
SELECT id, email FROM crm.leads ORDER BY id;
SELECT l.id, count(o.*) AS orders FROM crm.leads l LEFT JOIN crm.orders o ON o.customer_id = l.id GROUP BY l.id ORDER BY l.id;

-- Citus's limitation without pg_privacy's filters: a plain row-security policy with a sub-query
\c - postgres
CREATE TABLE public.allowlist (id bigint);
INSERT INTO public.allowlist VALUES (2);
CREATE TABLE public.plain (id bigint PRIMARY KEY);
INSERT INTO public.plain SELECT g FROM generate_series(1, 4) g;
ALTER TABLE public.plain ENABLE ROW LEVEL SECURITY;
CREATE POLICY listed ON public.plain USING (EXISTS (SELECT 1 FROM public.allowlist a WHERE a.id = plain.id));
GRANT SELECT ON public.plain, public.allowlist TO support;
\c - support
SELECT l.id, count(o.*) AS orders FROM public.plain l LEFT JOIN crm.orders o ON o.customer_id = l.id GROUP BY l.id ORDER BY l.id;
