#!/usr/bin/env bash
# Cost as roles grow (issue 16.2), a ratio measured in one run: two clusters of the same build
# with the same data and rules, alternating short pgbench runs. One has the 3 roles of the
# scenario (a masked analyst, an unmasked clerk, a superuser); the other also has 1,000 roles in
# a membership graph 5 levels deep (200 per level, each member of two roles of the level above),
# with MASKED and UNMASKED labels at several levels, and the benchmark's roles at the bottom:
# `analyst` inherits MASKED through the graph; `clerk`, below a branch without a MASKED label,
# is decided unmasked only after its whole ancestry (5 levels) is looked at.
# Measured (simple protocol: every statement is planned, so every role decision is asked):
#  1. masked lookups as analyst, 2. lookups as clerk (decided unmasked): TPS, graph / 3 roles;
#  3. a new session's first query as analyst (pgbench -C): mean latency, graph / 3 roles.
# Rounds alternate between the clusters (A/A runs of two identical clusters differ by 1-2 %
# here; docs/BENCHMARKS.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
export PATH="$PG_BIN:$PATH"
ROUNDS=${ROUNDS:-7}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
declare -A host port
for c in few many; do
  cluster_start "roles-$c" "shared_buffers = 512MB" "jit = off" "max_parallel_workers_per_gather = 0"
  host[$c]=$PGHOST port[$c]=$PGPORT
done
trap 'cluster_stop roles-few; cluster_stop roles-many' EXIT
setup() { # CLUSTER
  psql -X -q -v ON_ERROR_STOP=1 -h "${host[$1]}" -p "${port[$1]}" -d postgres -c "CREATE DATABASE bench"
  psql -X -q -v ON_ERROR_STOP=1 -h "${host[$1]}" -p "${port[$1]}" -d bench <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people AS
SELECT g AS id, 'Customer' || g AS name, 'customer' || g || '@example.com' AS email
FROM generate_series(1, 100000) g;
ALTER TABLE people ADD PRIMARY KEY (id);
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
CREATE ROLE analyst LOGIN;
CREATE ROLE clerk LOGIN;
GRANT SELECT ON people TO analyst, clerk;
VACUUM ANALYZE people;
SQL
}
setup few
setup many
psql -X -q -h "${host[few]}" -p "${port[few]}" -d bench -c "SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED'"
psql -X -q -v ON_ERROR_STOP=1 -h "${host[many]}" -p "${port[many]}" -d bench <<'SQL'
-- level 1..5, 200 roles each; each role of level n > 1 is a member of two roles of level n - 1
SELECT format('CREATE ROLE g%s_%s NOLOGIN', l, i) FROM generate_series(1, 5) l, generate_series(1, 200) i \gexec
SELECT format('GRANT g%s_%s TO g%s_%s', l - 1, p, l, i)
FROM generate_series(2, 5) l, generate_series(1, 200) i, LATERAL (VALUES (i), (1 + i % 200)) AS parents(p) \gexec
-- labels at several levels: MASKED on half of level 1, UNMASKED on half of level 3, MASKED on a
-- tenth of level 4
SELECT format('SECURITY LABEL FOR privacy ON ROLE g1_%s IS %L', i, 'MASKED') FROM generate_series(1, 100) i \gexec
SELECT format('SECURITY LABEL FOR privacy ON ROLE g3_%s IS %L', i, 'UNMASKED') FROM generate_series(1, 100) i \gexec
SELECT format('SECURITY LABEL FOR privacy ON ROLE g4_%s IS %L', i, 'MASKED') FROM generate_series(101, 200, 10) i \gexec
-- analyst: below g5_150, whose parent g4_151 is MASKED; clerk: below g5_175, whose ancestors
-- (g4_175-176, g3_175-177, g2_175-178, g1_175-179) carry no MASKED label
GRANT g5_150 TO analyst;
GRANT g5_175 TO clerk;
SQL
for c in few many; do
  echo "$c: $(psql -X -At -h "${host[$c]}" -p "${port[$c]}" -d bench -c "SELECT count(*) FROM pg_roles") roles; analyst sees $(psql -X -At -h "${host[$c]}" -p "${port[$c]}" -d bench -U analyst -c "SELECT email FROM people WHERE id = 7"), clerk sees $(psql -X -At -h "${host[$c]}" -p "${port[$c]}" -d bench -U clerk -c "SELECT email FROM people WHERE id = 7")"
done
dir=$(cluster_dir roles-few)
echo '\set id random(1, 100000)
SELECT id, name, email FROM people WHERE id = :id;' >"$dir/lookup.sql"
measure() { # KIND USER CLUSTER ARGS...
  local kind=$1 user=$2 c=$3; shift 3
  local outp
  outp=$(pgbench -n "$@" -T "$SECONDS_PER_RUN" -h "${host[$c]}" -p "${port[$c]}" -U "$user" -f "$dir/lookup.sql" bench 2>/dev/null)
  if [ "$kind" = latency ]; then echo "$outp" | latency; else echo "$outp" | tps; fi
}
compare() { # LABEL KIND USER TARGET ARGS...
  local label=$1 kind=$2 user=$3 target=$4; shift 4
  local few_list=() many_list=() mf mm
  for _ in $(seq "$ROUNDS"); do
    few_list+=("$(measure "$kind" "$user" few "$@")")
    many_list+=("$(measure "$kind" "$user" many "$@")")
  done
  mf=$(printf '%s\n' "${few_list[@]}" | median); mm=$(printf '%s\n' "${many_list[@]}" | median)
  echo "$label: 1,000 roles ${many_list[*]} (median $mm); 3 roles ${few_list[*]} (median $mf)"
  echo "ratio: $(ratio "$mm" "$mf") (target $target)"
}
echo "-- 1. masked lookups as analyst, simple protocol (TPS)"
compare "analyst tps" tps analyst ">= 0.95" -M simple
echo "-- 2. lookups as clerk (decided unmasked after its whole ancestry), simple protocol (TPS)"
compare "clerk tps" tps clerk ">= 0.95" -M simple
echo "-- 3. a new session's first query as analyst (pgbench -C), mean latency in ms"
compare "analyst new session ms" latency analyst "<= 1.05" -C
