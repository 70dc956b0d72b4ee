-- On the workers: a masked role that connects to a worker and reads a shard directly gets masked
-- values, like the queries Citus sends there; shards carry the fail-closed guards; a moved shard
-- keeps both; a node without pg_privacy preloaded fails closed; a node without the library
-- cannot even join. Each with an unmasked control (support).
\set SHOW_CONTEXT never
\getenv w1 W1_PORT
\getenv w2 W2_PORT
\getenv bare BARE_PORT
\getenv coord COORD_PORT
-- the shards that hold customer 1 (and, co-located, its orders) and the node they are on; names
-- and ports are never printed (Citus places shards differently from run to run)
SELECT s.shard_name AS customers_shard, s.shardid AS moved_shard, s.nodeport AS node
FROM citus_shards s WHERE s.shardid = get_shard_id_for_distribution_column('crm.customers', 1) \gset
SELECT shard_name AS orders_shard FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('crm.orders', 1) \gset
SELECT shard_name AS countries_shard FROM citus_shards WHERE table_name = 'crm.countries'::regclass AND nodeport = :node \gset
SELECT CASE WHEN :node = :w1 THEN :w2 ELSE :w1 END AS other \gset
SELECT shard_name AS w2_shard FROM citus_shards WHERE table_name = 'crm.customers'::regclass AND nodeport = :w2 ORDER BY shardid LIMIT 1 \gset

\c privacy_citus analyst 127.0.0.1 :node
SELECT id, email, ssn FROM :customers_shard ORDER BY id;
SELECT count(*) AS raw_prefix FROM :customers_shard WHERE ssn LIKE '00%';
SELECT id, card FROM :orders_shard ORDER BY id LIMIT 2;
SELECT code, ceo_phone FROM :countries_shard ORDER BY code;
COPY :customers_shard (id, email) TO STDOUT;
-- the table itself, queried from the worker, is masked too
SELECT id, email FROM crm.customers WHERE id = 3;
-- and in parallel workers (the shard's plan runs in a worker process)
SET force_parallel_mode = on;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT id, email, ssn FROM :customers_shard ORDER BY id;
SELECT id, email FROM crm.customers WHERE id = 3;
RESET force_parallel_mode;
-- no keyed-function oracle on the worker either
SELECT privacy.hash('shared@example.com');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
-- Citus's local fast path (a router query for a shard on this node, planned around the planner
-- hook) is switched off for masked statements, even when the session asks for it
SET citus.enable_local_fast_path_query_optimization = on;
SELECT id, email, ssn FROM crm.customers WHERE id = 1;
SELECT count(*) AS raw_prefix FROM crm.customers WHERE id = 1 AND ssn LIKE '001%';
UPDATE crm.customers SET name = name WHERE id = 1 RETURNING id, email, ssn;
BEGIN;
DECLARE fast CURSOR FOR SELECT email FROM crm.customers WHERE id = 5;
FETCH ALL fast;
COMMIT;
COPY (SELECT id, email, ssn FROM crm.customers WHERE id = 8) TO STDOUT;
SELECT card, length(contact) AS hash_length, contact = 'shared@example.com' AS raw FROM crm.orders WHERE customer_id = 1 ORDER BY id LIMIT 1;
UPDATE crm.orders SET contact = 'probe@attacker.test' WHERE customer_id = 1 AND id = 8;
\echo SQLSTATE :LAST_ERROR_SQLSTATE

\c privacy_citus support 127.0.0.1 :node
SELECT id, email, ssn FROM :customers_shard ORDER BY id;
SELECT code, ceo_phone FROM :countries_shard ORDER BY code;

-- every shard on the worker carries the guards, whether its table got rules before or after it
-- was distributed
\c privacy_citus postgres 127.0.0.1 :node
SET citus.override_table_visibility = off;
SELECT count(*) > 0 AS has_shards, count(*) FILTER (WHERE NOT relrowsecurity) AS without_row_security,
       count(*) FILTER (WHERE (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname LIKE 'privacy_%') <> 2) AS without_both_guards
FROM pg_class c WHERE relnamespace = 'crm'::regnamespace AND relkind = 'r' AND relname ~ '_[0-9]+$';

-- run_command_on_workers opens Citus's own connections as the masked role: masked there too
\c privacy_citus analyst 127.0.0.1 :coord
SELECT DISTINCT result FROM run_command_on_workers($$SELECT format('%s %s', email, ssn) FROM crm.customers WHERE id = 1$$) WHERE success;
-- a rule changed on the table applies to its shards at once, even to shards that carry a copy of
-- the old rule (Citus copied the labels onto the shards at distribution)
\c privacy_citus postgres 127.0.0.1 :coord
SECURITY LABEL FOR privacy ON COLUMN crm.customers.ssn IS 'MASKED WITH VALUE ''hidden''';
\c privacy_citus analyst 127.0.0.1 :node
SELECT id, ssn FROM :customers_shard ORDER BY id;
\c privacy_citus postgres 127.0.0.1 :coord
SECURITY LABEL FOR privacy ON COLUMN crm.customers.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';

-- the shard moved to the other worker keeps rules and guards there
\c privacy_citus postgres 127.0.0.1 :coord
SELECT citus_move_shard_placement(:moved_shard, '127.0.0.1', :node, '127.0.0.1', :other, shard_transfer_mode => 'block_writes');
SELECT count(*) AS on_other_worker FROM citus_shards WHERE shardid = :moved_shard AND nodeport = :other;
\c privacy_citus analyst 127.0.0.1 :other
SELECT id, email, ssn FROM :customers_shard ORDER BY id;
\c privacy_citus postgres 127.0.0.1 :other
SET citus.override_table_visibility = off;
SELECT relrowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname LIKE 'privacy_%') AS guards
FROM pg_class c WHERE oid = :'customers_shard'::regclass;

-- the second worker restarted without pg_privacy: its shards fail closed, for a direct read and
-- for the queries Citus sends there, masked role or not (only owners and superusers read them)
\! "$CITUS_LIB/restart-node.sh" citus-w2 citus
\c privacy_citus analyst 127.0.0.1 :w2
SELECT count(*) FROM :w2_shard;
\c privacy_citus analyst 127.0.0.1 :coord
SELECT count(*) FROM crm.customers;
\c privacy_citus support 127.0.0.1 :coord
SELECT count(*) FROM crm.customers;
\! "$CITUS_LIB/restart-node.sh" citus-w2 citus,pg_privacy
\c privacy_citus analyst 127.0.0.1 :coord
SELECT count(*) AS readable_again FROM crm.customers;

-- a node whose server does not preload pg_privacy can be added, but gets no data: Citus copies
-- the rules with the reference tables, the label provider is not there to take them, and Citus
-- places no shard on a node that lacks reference tables
\c privacy_citus postgres 127.0.0.1 :coord
SELECT 1 AS added FROM citus_add_node('127.0.0.1', :bare);
SELECT replicate_reference_tables();
SELECT citus_move_shard_placement(:moved_shard, '127.0.0.1', :other, '127.0.0.1', :bare, shard_transfer_mode => 'block_writes');
SELECT count(*) AS shards_on_bare_node FROM citus_shards WHERE nodeport = :bare;
SELECT 1 AS removed FROM citus_remove_node('127.0.0.1', :bare);
-- Citus copies a table's labels onto shards it creates or moves, as the table's owner: the owner
-- may put exactly the table's rule on a shard, nothing else, and may not take a shard's rule off
SELECT shard_name AS tickets_shard, nodeport AS tickets_node FROM citus_shards WHERE table_name = 'crm.tickets'::regclass ORDER BY shardid LIMIT 1 \gset
\c privacy_citus app_owner 127.0.0.1 :tickets_node
SECURITY LABEL FOR privacy ON COLUMN :tickets_shard.body IS 'MASKED WITH VALUE NULL';
SECURITY LABEL FOR privacy ON COLUMN :tickets_shard.body IS 'MASKED WITH VALUE ''weaker''';
SECURITY LABEL FOR privacy ON COLUMN :tickets_shard.body IS NULL;
SECURITY LABEL FOR privacy ON COLUMN :tickets_shard.id IS 'MASKED WITH VALUE 0';
-- nor rename or move the shard (it is known by its name)
ALTER TABLE :tickets_shard RENAME TO tickets_renamed;
ALTER TABLE :tickets_shard SET SCHEMA owner_space;
-- a table whose name is so long that Citus shortens its shards' names: still masked and guarded
\c privacy_citus postgres 127.0.0.1 :coord
CREATE TABLE crm.a_table_with_a_name_long_enough_that_citus_shortens_its_shards (id bigint PRIMARY KEY, secret text);
SELECT create_distributed_table('crm.a_table_with_a_name_long_enough_that_citus_shortens_its_shards', 'id');
INSERT INTO crm.a_table_with_a_name_long_enough_that_citus_shortens_its_shards SELECT g, 'secret ' || g FROM generate_series(1, 8) g;
GRANT SELECT ON crm.a_table_with_a_name_long_enough_that_citus_shortens_its_shards TO analyst;
SECURITY LABEL FOR privacy ON COLUMN crm.a_table_with_a_name_long_enough_that_citus_shortens_its_shards.secret IS 'MASKED WITH VALUE ''hidden''';
SELECT shard_name AS long_shard, nodeport AS long_node FROM citus_shards WHERE table_name = 'crm.a_table_with_a_name_long_enough_that_citus_shortens_its_shards'::regclass ORDER BY shardid LIMIT 1 \gset
SELECT length(:'long_shard') - length('crm.') AS shard_name_length;
\c privacy_citus analyst 127.0.0.1 :long_node
SELECT DISTINCT secret FROM :long_shard;
\c privacy_citus postgres 127.0.0.1 :long_node
SET citus.override_table_visibility = off;
SELECT relrowsecurity, (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname LIKE 'privacy_%') AS guards
FROM pg_class c WHERE oid = :'long_shard'::regclass;
