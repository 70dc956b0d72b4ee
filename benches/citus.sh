#!/usr/bin/env bash
# Citus benchmarks (issue 13), on a coordinator and two workers on this machine (PostgreSQL 15;
# Citus 13.2 does not support 18), each a ratio measured in one run on the same cluster:
#  1. masked multi-shard scan vs the same query through a hand-written masking view over an
#     unprotected distributed copy (same backend, interleaved, median of 7);
#  2. masked router primary-key lookups vs the hand-written view, pgbench prepared mode
#     (alternating runs, median TPS).
# The consent benchmark the issue names (filtered scan vs an EXISTS on a reference-table copy of
# the registry) has nothing to measure yet: consent filters are refused on Citus tables
# (docs/citus.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${PG:-15}" != 15 ]; then
  echo "citus benchmark skipped: Citus 13.2 supports PostgreSQL 15 to 17, not $PG"
  exit 0
fi
export PG=15
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
# shellcheck source=../tests/citus/cluster.sh
. "$root/tests/citus/cluster.sh"
if ! "$root/tests/lib/citus-install.sh" >/dev/null; then
  echo "citus benchmark skipped: Citus is not installed and cannot be built here"
  exit 0
fi
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
export PATH="$PG_BIN:$PATH"
CITUS_EXTRA_SETTINGS=("shared_buffers = 512MB" "jit = off")
citus_start bench-citus bench
trap 'citus_stop bench-citus' EXIT
dir=$(cluster_dir bench-citus-coord)
q() { psql -X -q -v ON_ERROR_STOP=1 -d bench "$@"; }
q <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people AS
SELECT g AS id, 'Customer' || g AS name, 'customer' || g || '@example.com' AS email,
       lpad(g::text, 3, '0') || '-' || lpad((g % 100)::text, 2, '0') || '-' || lpad((g % 10000)::text, 4, '0') AS ssn,
       'note ' || g AS note
FROM generate_series(1, 500000) g;
ALTER TABLE people ADD PRIMARY KEY (id);
CREATE TABLE people_copy AS SELECT * FROM people;
ALTER TABLE people_copy ADD PRIMARY KEY (id);
SELECT create_distributed_table('people', 'id');
SELECT create_distributed_table('people_copy', 'id', colocate_with => 'people');
SELECT truncate_local_data_after_distributing_table('people');
SELECT truncate_local_data_after_distributing_table('people_copy');
-- the hand-written peer: the same expressions in a view over the unprotected copy
CREATE VIEW people_view AS
SELECT id, name, privacy.mask_email(email) AS email, 'XXX-XX-XXXX'::text AS ssn, NULL::text AS note FROM people_copy;
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN people.ssn IS 'MASKED WITH VALUE ''XXX-XX-XXXX''';
SECURITY LABEL FOR privacy ON COLUMN people.note IS 'MASKED WITH VALUE NULL';
CREATE ROLE analyst LOGIN;
CREATE ROLE viewer LOGIN;
SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED';
GRANT SELECT ON people, people_copy, people_view TO analyst, viewer;
VACUUM ANALYZE people;
VACUUM ANALYZE people_copy;
SQL

echo "-- 1. multi-shard scan: masked table as analyst vs hand-written view as viewer (median of 7)"
q <<SQL
SET client_min_messages = error;  -- Citus warns that temporary functions are not distributed
\\i $root/benches/lib.sql
SELECT a_ms AS masked_ms, b_ms AS view_ms, ratio, '<= 1.10' AS target
FROM pg_temp.compare('analyst', 'SELECT sum(length(email)) + sum(length(ssn)) + count(note) FROM people',
                     'viewer', 'SELECT sum(length(email)) + sum(length(ssn)) + count(note) FROM people_view');
-- the masked role really sees masked values, computed on the workers
SELECT set_config('role', 'analyst', false) IS NOT NULL AS as_analyst;
SELECT email, ssn, note FROM people WHERE id = 42;
RESET ROLE;
SQL

echo "-- 2. router primary-key lookups, pgbench -M prepared, ${ROUNDS} alternating runs of ${SECONDS_PER_RUN}s"
echo '\set id random(1, 500000)
SELECT id, name, email, ssn, note FROM people WHERE id = :id;' >"$dir/masked.sql"
echo '\set id random(1, 500000)
SELECT id, name, email, ssn, note FROM people_view WHERE id = :id;' >"$dir/view.sql"
report_alternating masked view ">= 0.90" \
  "$(pgbench_alternating "$ROUNDS" "$SECONDS_PER_RUN" bench analyst "$dir/masked.sql" viewer "$dir/view.sql")"
echo "-- 3. consent-filtered scan: not measured, consent filters are refused on Citus tables (docs/citus.md)"
