#!/usr/bin/env bash
# Consent filter benchmarks (issue 4), ratios measured in one run:
#  1. filtered full scan vs the peer a DBA would write today: a hand-written RLS policy with an
#     EXISTS sub-select over an indexed consent table (same backend, interleaved, median of 7);
#  2. primary-key lookups, pgbench prepared mode, alternating runs, median TPS.
# 500,000 subjects, half of them consenting.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
name=consent
cluster_start "$name" "shared_buffers = 1GB" "jit = off" "max_parallel_workers_per_gather = 0"
trap 'cluster_stop "$name"' EXIT
dir=$(cluster_dir "$name")
q() { psql -X -q -v ON_ERROR_STOP=1 -d bench "$@"; }
psql -X -q -d postgres -c "CREATE DATABASE bench"
q <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people AS SELECT g AS id, 'Customer ' || g AS name FROM generate_series(1, 500000) g;
ALTER TABLE people ADD PRIMARY KEY (id);
CREATE TABLE people_peer AS SELECT * FROM people;
ALTER TABLE people_peer ADD PRIMARY KEY (id);
CREATE ROLE marketing_app LOGIN;
CREATE ROLE peer_app LOGIN;
GRANT SELECT ON people, people_peer TO marketing_app, peer_app;
-- pg_privacy
SELECT privacy.create_purpose('marketing', true);
SELECT privacy.set_subject('people', 'id');
SELECT privacy.allow_purpose('marketing_app', 'marketing');
INSERT INTO privacy.consent_event (subject, purpose, state, source)
SELECT g::text, 'marketing', 'granted', 'bench' FROM generate_series(2, 500000, 2) g;
-- the peer: an indexed consent table and a hand-written policy
CREATE TABLE peer_consent (subject_id int, purpose text, valid_until timestamptz, PRIMARY KEY (purpose, subject_id));
INSERT INTO peer_consent SELECT g, 'marketing', NULL FROM generate_series(2, 500000, 2) g;
GRANT SELECT ON peer_consent TO peer_app;
ALTER TABLE people_peer ENABLE ROW LEVEL SECURITY;
CREATE POLICY consent ON people_peer USING (EXISTS (
    SELECT 1 FROM peer_consent c
    WHERE c.purpose = current_setting('app.purpose') AND c.subject_id = people_peer.id
      AND (c.valid_until IS NULL OR c.valid_until > now())));
ALTER ROLE peer_app SET app.purpose = 'marketing';
VACUUM ANALYZE people; VACUUM ANALYZE people_peer; VACUUM ANALYZE peer_consent; VACUUM ANALYZE privacy.consent_bigint;
SQL

echo "-- 1. filtered full scan vs hand-written RLS policy (median of 7)"
q <<SQL
\i $root/benches/lib.sql
SELECT a_ms AS pg_privacy_ms, b_ms AS peer_ms, ratio, '<= 1.0' AS target
FROM pg_temp.compare('marketing_app', 'SELECT count(*), sum(length(name)) FROM people',
                     'peer_app', 'SELECT count(*), sum(length(name)) FROM people_peer',
                     b_setting => 'app.purpose=marketing');
-- both really filter: half the rows each
SELECT set_config('role', 'marketing_app', false) IS NOT NULL AS as_app;
SELECT count(*) AS pg_privacy_rows FROM people;
RESET ROLE;
SELECT set_config('role', 'peer_app', false) IS NOT NULL AND set_config('app.purpose', 'marketing', false) IS NOT NULL AS as_peer;
SELECT count(*) AS peer_rows FROM people_peer;
RESET ROLE;
SQL

echo "-- 2. primary-key lookups, pgbench -M prepared, ${ROUNDS} alternating runs of ${SECONDS_PER_RUN}s"
echo '\set id random(1, 500000)
SELECT id, name FROM people WHERE id = :id;' >"$dir/ours.sql"
echo '\set id random(1, 500000)
SELECT id, name FROM people_peer WHERE id = :id;' >"$dir/peer.sql"
report_alternating pg_privacy peer ">= 0.90" \
  "$(pgbench_alternating "$ROUNDS" "$SECONDS_PER_RUN" bench marketing_app "$dir/ours.sql" peer_app "$dir/peer.sql")"
