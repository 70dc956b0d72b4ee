#!/usr/bin/env bash
# Consent at size (issue 16.3), ratios measured in one run: 10 million consent events over
# 2 million subjects and 5 purposes, recorded through the real ledger (hash chain, state tables),
# against what a DBA would write by hand on the same data: a row-security policy with an EXISTS
# over an indexed table of current consents. Each subject consented to 4 of the 5 purposes and
# withdrew one of those later (8M grants + 2M withdrawals); each purpose ends with 60 % of the
# subjects consenting.
#  1. filtered full scan `count(*), sum(length(name))` over the 2M subjects, median of 5;
#  2. filtered primary-key lookups, pgbench -M prepared, alternating runs, median TPS;
# then the registry's tables and indexes, and the bytes they take per consent event.
# SUBJECTS (default 2000000) scales the data down for a quick look. At full size the cluster
# takes about 18 GB of disk with its WAL.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
SUBJECTS=${SUBJECTS:-2000000}
name=consent_scale
cluster_start "$name" "shared_buffers = 2GB" "jit = off" "max_parallel_workers_per_gather = 0" \
  "max_wal_size = 8GB" "checkpoint_timeout = 30min" "synchronous_commit = off" "autovacuum = off"
# the data (about 18 GB) goes with the cluster
trap 'cluster_stop "$name"; rm -rf "$(cluster_dir "$name")"' EXIT
dir=$(cluster_dir "$name")
q() { psql -X -q -v ON_ERROR_STOP=1 -d bench "$@"; }
psql -X -q -d postgres -c "CREATE DATABASE bench"
started=$(date +%s)
q -v subjects="$SUBJECTS" <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people AS SELECT g::bigint AS id, 'Customer ' || g AS name FROM generate_series(1, :subjects) g;
ALTER TABLE people ADD PRIMARY KEY (id);
CREATE TABLE people_peer AS SELECT * FROM people;
ALTER TABLE people_peer ADD PRIMARY KEY (id);
CREATE ROLE analytics_app LOGIN;
CREATE ROLE peer_app LOGIN;
GRANT SELECT ON people, people_peer TO analytics_app, peer_app;
SELECT privacy.create_purpose('p' || p, true) FROM generate_series(1, 5) p;
SELECT privacy.set_subject('people', 'id');
SELECT privacy.allow_purpose('analytics_app', 'p' || p) FROM generate_series(1, 5) p;
ALTER ROLE analytics_app SET privacy.purpose = 'p3';
-- the history, through the ledger: grants first, then the withdrawals, in chunks of 500,000
-- events (each a transaction, as a busy registry would see them arrive)
SELECT format($$INSERT INTO privacy.consent_event (subject, purpose, state, source)
                SELECT s::text, 'p' || p, 'granted', 'bench'
                FROM generate_series(%s, %s) s, generate_series(1, 5) p WHERE (s + p) %% 5 <> 0$$,
              lo, least(lo + 124999, :subjects))
FROM generate_series(1, :subjects, 125000) lo \gexec
SELECT format($$INSERT INTO privacy.consent_event (subject, purpose, state, source)
                SELECT s::text, 'p' || p, 'withdrawn', 'bench'
                FROM generate_series(%s, %s) s, generate_series(1, 5) p WHERE (s + p) %% 5 = 1$$,
              lo, least(lo + 499999, :subjects))
FROM generate_series(1, :subjects, 500000) lo \gexec
-- the peer: the same current state in an indexed table (withdrawn = valid until the withdrawal)
CREATE TABLE peer_consent (purpose text, subject_id bigint, valid_until timestamptz, PRIMARY KEY (purpose, subject_id));
INSERT INTO peer_consent
SELECT 'p' || p, s, CASE WHEN (s + p) % 5 = 1 THEN now() END
FROM generate_series(1, :subjects) s, generate_series(1, 5) p WHERE (s + p) % 5 <> 0;
GRANT SELECT ON peer_consent TO peer_app;
ALTER TABLE people_peer ENABLE ROW LEVEL SECURITY;
CREATE POLICY consent ON people_peer USING (EXISTS (
    SELECT 1 FROM peer_consent c
    WHERE c.purpose = current_setting('app.purpose') AND c.subject_id = people_peer.id
      AND (c.valid_until IS NULL OR c.valid_until > now())));
ALTER ROLE peer_app SET app.purpose = 'p3';
VACUUM ANALYZE;
SQL
echo "set-up: $(( $(date +%s) - started )) s for $SUBJECTS subjects"

echo "-- the registry"
q -P pager=off <<'SQL'
SELECT count(*) AS events, count(DISTINCT subject) AS subjects, count(DISTINCT purpose) AS purposes,
       count(*) FILTER (WHERE state = 'withdrawn') AS withdrawals
FROM privacy.consent_event;
SELECT intact AS ledger_intact, events, chains, problem FROM privacy.verify_ledger();
SELECT c.relname AS relation,
       pg_size_pretty(pg_table_size(c.oid)) AS "table",
       pg_size_pretty(pg_indexes_size(c.oid)) AS indexes,
       round((pg_table_size(c.oid) + pg_indexes_size(c.oid))::numeric / (SELECT count(*) FROM privacy.consent_event), 1) AS bytes_per_event
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'privacy' AND c.relkind = 'r' AND c.relname LIKE 'consent%'
   OR c.oid = 'peer_consent'::regclass
ORDER BY pg_table_size(c.oid) DESC;
SELECT i.indexrelid::regclass AS index, i.indrelid::regclass AS "on", pg_size_pretty(pg_relation_size(i.indexrelid)) AS size
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (n.nspname = 'privacy' AND c.relname LIKE 'consent%') OR c.relname = 'peer_consent'
ORDER BY pg_relation_size(i.indexrelid) DESC;
SELECT round(sum(pg_total_relation_size(c.oid))::numeric / (SELECT count(*) FROM privacy.consent_event), 1) AS registry_bytes_per_event
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'privacy' AND c.relkind = 'r' AND c.relname LIKE 'consent%';
SQL

echo "-- 1. filtered full scan vs hand-written RLS policy (median of 5)"
q -P pager=off <<SQL
\i $root/benches/lib.sql
SELECT a_ms AS pg_privacy_ms, b_ms AS peer_ms, ratio, '<= 1.0' AS target
FROM pg_temp.compare('analytics_app', 'SELECT count(*), sum(length(name)) FROM people',
                     'peer_app', 'SELECT count(*), sum(length(name)) FROM people_peer',
                     a_setting => 'privacy.purpose=p3', b_setting => 'app.purpose=p3', runs => 5);
SQL
# both really filter, and to the same rows
echo "rows seen: pg_privacy $(psql -X -At -d bench -U analytics_app -c 'SELECT count(*) FROM people'), hand-written $(psql -X -At -d bench -U peer_app -c 'SELECT count(*) FROM people_peer'), of $SUBJECTS"
echo "same rows: $(psql -X -At -d bench -c "SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) = 0 FROM (
  SELECT p.id, EXISTS (SELECT 1 FROM privacy.consent_bigint c WHERE c.purpose = 'p3' AND c.subject = p.id AND c.active_until > now()) AS a,
         EXISTS (SELECT 1 FROM peer_consent c WHERE c.purpose = 'p3' AND c.subject_id = p.id AND (c.valid_until IS NULL OR c.valid_until > now())) AS b
  FROM people p WHERE p.id % 1000 = 0) x")"

echo "-- 2. filtered primary-key lookups, pgbench -M prepared, ${ROUNDS} alternating runs of ${SECONDS_PER_RUN}s"
echo "\\set id random(1, $SUBJECTS)
SELECT id, name FROM people WHERE id = :id;" >"$dir/ours.sql"
echo "\\set id random(1, $SUBJECTS)
SELECT id, name FROM people_peer WHERE id = :id;" >"$dir/peer.sql"
report_alternating pg_privacy peer ">= 0.90" \
  "$(pgbench_alternating "$ROUNDS" "$SECONDS_PER_RUN" bench analytics_app "$dir/ours.sql" peer_app "$dir/peer.sql")"
