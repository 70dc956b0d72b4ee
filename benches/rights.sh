#!/usr/bin/env bash
# Data-subject rights benchmarks (issue 14), each a ratio measured in one run:
#  1. privacy.subject_data for 200 subjects vs the same document written by hand (one SELECT per
#     table: the subject tables, the consent history, the controller), on 1M-row tables with
#     indexed subject columns (same backend, interleaved, median); 1b. the same against the subject
#     tables' rows alone, as measured until the first session of 2026-12-07;
#  2. privacy.erase_subject for 100 subjects vs deleting them by hand (one DELETE per table), on
#     two identical copies of the data (each run erases new subjects);
#  3. privacy.grant_consent with the ledger's hash chain, 8 clients, vs inserting the same events
#     into a hand-written history table (alternating pgbench runs, median TPS).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
export PATH="$PG_BIN:$PATH"
name=rights
cluster_start "$name" "shared_buffers = 1GB" "jit = off" "max_parallel_workers_per_gather = 0" "max_connections = 50"
trap 'cluster_stop "$name"' EXIT
dir=$(cluster_dir "$name")
q() { psql -X -q -v ON_ERROR_STOP=1 -d bench "$@"; }
psql -X -q -d postgres -c "CREATE DATABASE bench"
q <<'SQL'
CREATE EXTENSION pg_privacy;
-- two identical copies: one declared to pg_privacy, one for the hand-written peer
DO $$
DECLARE s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['app', 'hand'] LOOP
        EXECUTE format('CREATE SCHEMA %I', s);
        EXECUTE format('CREATE TABLE %I.customers AS SELECT g AS id, ''Customer '' || g AS name, ''c'' || g || ''@example.com'' AS email FROM generate_series(1, 1000000) g', s);
        EXECUTE format('ALTER TABLE %I.customers ADD PRIMARY KEY (id)', s);
        EXECUTE format('CREATE TABLE %I.orders AS SELECT g AS id, (g %% 1000000) + 1 AS customer_id, g %% 97 AS amount FROM generate_series(1, 1000000) g', s);
        EXECUTE format('ALTER TABLE %I.orders ADD PRIMARY KEY (id)', s);
        EXECUTE format('CREATE INDEX ON %I.orders (customer_id)', s);
        EXECUTE format('CREATE TABLE %I.visits AS SELECT privacy.pseudonymize(((g %% 1000000) + 1)::text) AS visitor, ''/page'' || (g %% 10) AS page FROM generate_series(1, 1000000) g', s);
        EXECUTE format('CREATE INDEX ON %I.visits (visitor)', s);
    END LOOP;
END $$;
SELECT privacy.set_subject('app.customers', 'id');
SELECT privacy.set_subject('app.orders', 'customer_id');
SELECT privacy.set_subject('app.visits', 'visitor');
VACUUM ANALYZE;
-- the hand-written peers: one statement per table
CREATE FUNCTION public.hand_export(subject bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'customers', (SELECT jsonb_agg(to_jsonb(c)) FROM hand.customers c WHERE c.id = subject),
        'orders', (SELECT jsonb_agg(to_jsonb(o)) FROM hand.orders o WHERE o.customer_id = subject),
        'visits', (SELECT jsonb_agg(to_jsonb(v)) FROM hand.visits v WHERE v.visitor = privacy.pseudonymize(subject::text)))
$$;
-- the same document by hand: the subject tables' rows, the consent history (the ledger is a table
-- about the subject too: subject_data returns it) and the controller, one SELECT each (the
-- parameter named in full where the ledger's own column "subject" would hide it)
CREATE FUNCTION public.hand_export_document(subject bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'subject', subject::text, 'generated_at', statement_timestamp(),
        'controller', (SELECT jsonb_build_object('name', c.name, 'contact', c.contact, 'jurisdiction', c.jurisdiction) FROM privacy.controller c),
        'customers', (SELECT jsonb_agg(to_jsonb(c)) FROM hand.customers c WHERE c.id = subject),
        'orders', (SELECT jsonb_agg(to_jsonb(o)) FROM hand.orders o WHERE o.customer_id = subject),
        'visits', (SELECT jsonb_agg(to_jsonb(v)) FROM hand.visits v WHERE v.visitor = privacy.pseudonymize(subject::text)),
        'consent', (SELECT jsonb_agg(jsonb_build_object('purpose', h.purpose, 'state', h.state, 'valid_until', h.valid_until,
                                                        'recorded_at', h.recorded_at, 'recorded_by', h.recorded_by, 'source', h.source) ORDER BY h.event_id)
                    FROM privacy.consent_event h WHERE h.subject_key = privacy.ledger_subject_key(hand_export_document.subject::text)))
$$;
CREATE FUNCTION public.hand_erase(subject bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint; total bigint := 0;
BEGIN
    DELETE FROM hand.orders WHERE customer_id = subject; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM hand.visits WHERE visitor = privacy.pseudonymize(subject::text); GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    DELETE FROM hand.customers WHERE id = subject; GET DIAGNOSTICS n = ROW_COUNT; total := total + n;
    RETURN total;
END $$;
CREATE SEQUENCE app_next START 500000;
CREATE SEQUENCE hand_next START 500000;
SQL

echo "-- 1. export of 200 subjects: privacy.subject_data vs the same document by hand, one SELECT per table (median of 7)"
q <<SQL
\\i $root/benches/lib.sql
SELECT a_ms AS subject_data_ms, b_ms AS by_hand_ms, ratio, '<= 2.0' AS target
FROM pg_temp.compare('postgres', 'SELECT count(privacy.subject_data(g::text)) FROM generate_series(1000, 1199) g',
                     'postgres', 'SELECT count(public.hand_export_document(g)) FROM generate_series(1000, 1199) g');
SQL
echo "-- 1b. (for comparison with earlier runs) the subject tables' rows only, without the consent history and the controller"
q <<SQL
\\i $root/benches/lib.sql
SELECT a_ms AS subject_data_ms, b_ms AS tables_only_ms, ratio
FROM pg_temp.compare('postgres', 'SELECT count(privacy.subject_data(g::text)) FROM generate_series(1000, 1199) g',
                     'postgres', 'SELECT count(public.hand_export(g)) FROM generate_series(1000, 1199) g');
-- both find the same rows
SELECT jsonb_array_length(privacy.subject_data('1000')->'tables') AS tables_found,
       jsonb_array_length(public.hand_export(1000)->'orders') AS hand_orders;
SQL

echo "-- 2. erasure of 100 subjects per run: privacy.erase_subject vs one DELETE per table (median of 7)"
q <<SQL
\\i $root/benches/lib.sql
SELECT a_ms AS erase_subject_ms, b_ms AS by_hand_ms, ratio, '<= 2.0' AS target
FROM pg_temp.compare('postgres', 'SELECT count(privacy.erase_subject(nextval(''app_next'')::text)) FROM generate_series(1, 100)',
                     'postgres', 'SELECT count(public.hand_erase(nextval(''hand_next''))) FROM generate_series(1, 100)');
SELECT (SELECT count(*) FROM app.customers) = (SELECT count(*) FROM hand.customers) AS same_rows_left,
       (SELECT count(*) FROM privacy.erasure_receipt) AS receipts;
SQL

echo "-- 3. recording consent, 8 clients: privacy.grant_consent (hash-chained ledger) vs INSERT into a history table, ${ROUNDS} alternating runs of ${SECONDS_PER_RUN}s"
q <<'SQL'
SELECT privacy.create_purpose('newsletter', true);
CREATE TABLE public.hand_history (event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, subject text NOT NULL,
    purpose text NOT NULL, state text NOT NULL, valid_until timestamptz, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    recorded_by name NOT NULL DEFAULT session_user, source text);
CREATE INDEX ON public.hand_history (subject, event_id);
SQL
echo '\set s random(1, 1000000)
SELECT privacy.grant_consent(:s::text, '"'newsletter'"', source => '"'bench'"');' >"$dir/grant.sql"
echo '\set s random(1, 1000000)
INSERT INTO public.hand_history (subject, purpose, state, source) VALUES (:s::text, '"'newsletter'"', '"'granted'"', '"'bench'"');' >"$dir/hand.sql"
grants=() hands=()
for _ in $(seq "$ROUNDS"); do
  hands+=("$(pgbench -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$dir/hand.sql" bench 2>/dev/null | tps)")
  grants+=("$(pgbench -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$dir/grant.sql" bench 2>/dev/null | tps)")
done
report_alternating grant_consent by_hand ">= 0.50" "${grants[*]}|${hands[*]}"
q -c "SELECT intact, events, chains, problem FROM privacy.verify_ledger()"
