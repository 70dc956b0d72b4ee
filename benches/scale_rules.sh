#!/usr/bin/env bash
# Cost as rules grow (issue 16.1), each figure a ratio measured in one run on one cluster:
# three databases with the same 1,000 tables of 10 text columns, with 10 labelled columns in all
# (r10), 1,000 (r1k) and 10,000 (r10k); all have the same hot table `people` with 3 rules; r10k
# also has a table `wide` of 1,500 labelled text columns beside an identical unlabelled
# `wide_plain`. Parts 1-3 compare r1k and r10k with r10:
#  1. masked primary-key lookups on people, steady state (pgbench -M prepared, analyst): TPS;
#  2. the first query of a new session (pgbench -C: a new connection per query), as the masked
#     analyst and as a superuser: mean latency (connection included, as a connection-per-request
#     application pays it);
#  3. the first query after a label change on another table (each transaction changes a label on
#     another table, then queries people as analyst): mean latency;
#  4. the first query on `wide` in a new session, as a superuser and as a role that is not masked:
#     wide / wide_plain mean latency (unmasked sessions should pay nothing for its rules); and the
#     masked analyst's first query on it, in milliseconds (every rule of the table is compiled).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
export PATH="$PG_BIN:$PATH"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
name=scale-rules
cluster_start "$name" "shared_buffers = 512MB" "jit = off" "max_parallel_workers_per_gather = 0" "max_connections = 200"
trap 'cluster_stop "$name"' EXIT
dir=$(cluster_dir "$name")
psql -X -q -d postgres -c "CREATE ROLE analyst LOGIN" -c "CREATE ROLE clerk LOGIN" -c "SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED'"

# setup DB LABELLED_COLUMNS_PER_TABLE
setup() {
  psql -X -q -d postgres -c "CREATE DATABASE $1"
  local wide=false; [ "$2" = 10 ] && wide=true
  psql -X -q -v ON_ERROR_STOP=1 -d "$1" -v per_table="$2" -v wide="$wide" <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE SCHEMA s;
SELECT format('CREATE TABLE s.t%s (id int PRIMARY KEY, %s)', t,
              string_agg(format('c%s text', c), ', ' ORDER BY c))
FROM generate_series(1, 1000) t, generate_series(1, 10) c GROUP BY t ORDER BY t \gexec
-- r10: one labelled column on each of the first 10 tables; r10k: every column of every table
SELECT format('SECURITY LABEL FOR privacy ON COLUMN s.t%s.c%s IS %L', t, c, 'MASKED WITH FUNCTION privacy.partial(c' || c || ', 1, ''***'', 1)')
FROM generate_series(1, 1000) t, generate_series(1, 10) c
WHERE c <= :per_table OR (:per_table = 0 AND t <= 10 AND c = 1) ORDER BY t, c \gexec
CREATE TABLE people AS
SELECT g AS id, 'Customer' || g AS name, 'customer' || g || '@example.com' AS email, 'note ' || g AS note
FROM generate_series(1, 100000) g;
ALTER TABLE people ADD PRIMARY KEY (id);
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON COLUMN people.name IS 'MASKED WITH FUNCTION privacy.partial(name, 1, ''***'', 0)';
SECURITY LABEL FOR privacy ON COLUMN people.note IS 'MASKED WITH VALUE NULL';
-- the wide tables only in r10k (r10 keeps its 10 column rules + people's 3)
\if :wide
SELECT format('CREATE TABLE %s (id int PRIMARY KEY, %s)', w, string_agg(format('c%s text', c), ', ' ORDER BY c))
FROM unnest(ARRAY['wide', 'wide_plain']) w, generate_series(1, 1500) c GROUP BY w \gexec
INSERT INTO wide (id, c1, c2) SELECT g, 'a' || g, 'b' || g FROM generate_series(1, 1000) g;
INSERT INTO wide_plain (id, c1, c2) SELECT g, 'a' || g, 'b' || g FROM generate_series(1, 1000) g;
SELECT format('SECURITY LABEL FOR privacy ON COLUMN wide.c%s IS %L', c, 'MASKED WITH FUNCTION privacy.partial(c' || c || ', 1, ''***'', 1)')
FROM generate_series(1, 1500) c \gexec
\endif
GRANT SELECT ON ALL TABLES IN SCHEMA public, s TO analyst, clerk;
GRANT USAGE ON SCHEMA s TO analyst, clerk;
VACUUM ANALYZE;
SQL
}
setup r10 0
setup r1k 1
setup r10k 10
for db in r10 r1k r10k; do
  echo "$db: $(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_seclabel WHERE provider = 'privacy' AND objsubid > 0") labelled columns"
done
# the masked role really sees masked values in both
for db in r10 r1k r10k; do
  psql -X -At -d "$db" -U analyst -c "SELECT email, name, note IS NULL FROM people WHERE id = 7"
done

echo '\set id random(1, 100000)
SELECT id, name, email, note FROM people WHERE id = :id;' >"$dir/lookup.sql"
echo 'SELECT id, c1, c2 FROM wide WHERE id = 7;' >"$dir/wide.sql"
echo 'SELECT id, c1, c2 FROM wide_plain WHERE id = 7;' >"$dir/wide_plain.sql"
# The label change: the same rule set again on another table (an invalidation for every backend).
echo "SECURITY LABEL FOR privacy ON COLUMN s.t999.c1 IS 'MASKED WITH VALUE NULL';
SET ROLE analyst;
SELECT id, name, email, note FROM people WHERE id = 42;
RESET ROLE;" >"$dir/change.sql"

# run_alternating SECONDS USER SCRIPT_A DB_A SCRIPT_B DB_B EXTRA...: B then A each round; prints
# "A_list|B_list" of the metric (tps, or mean latency in ms with -C).
metric() { if [ "$1" = latency ]; then latency; else tps; fi; }
run_alternating() {
  local kind=$1 user=$2 sa=$3 da=$4 sb=$5 db=$6; shift 6
  local a=() b=()
  for _ in $(seq "$ROUNDS"); do
    b+=("$(pgbench -n "$@" -T "$SECONDS_PER_RUN" -U "$user" -f "$sb" "$db" 2>/dev/null | metric "$kind")")
    a+=("$(pgbench -n "$@" -T "$SECONDS_PER_RUN" -U "$user" -f "$sa" "$da" 2>/dev/null | metric "$kind")")
  done
  echo "${a[*]}|${b[*]}"
}
# report LABEL_A LABEL_B TARGET UNIT "A|B" [CSV_METRIC CSV_RULES]: medians and their ratio; with
# CSV_*, the ratio (as a cost: latency ratio, or inverse TPS ratio) goes to growth.csv for the plot.
growth=$dir/growth.csv
echo "metric,rules,cost_ratio" >"$growth"
report() {
  local a_list=${5%%|*} b_list=${5##*|} ma mb r
  ma=$(printf '%s\n' $a_list | median); mb=$(printf '%s\n' $b_list | median)
  r=$(ratio "$ma" "$mb")
  echo "$1 $4: $a_list (median $ma); $2 $4: $b_list (median $mb)"
  echo "ratio: $r (target $3)"
  if [ -n "${6:-}" ]; then
    if [ "$4" = tps ]; then r=$(ratio "$mb" "$ma"); fi
    echo "\"$6\",$7,$r" >>"$growth"
  fi
}

for db in r1k r10k; do
  rules=$(psql -X -At -d "$db" -c "SELECT count(*) FROM pg_seclabel WHERE provider = 'privacy' AND objsubid > 0")
  echo "== $db ($rules labelled columns) against r10"
  echo "-- 1. masked lookups on people, steady state, analyst, -M prepared (TPS)"
  report "$db" r10 ">= 0.95" tps "$(run_alternating tps analyst "$dir/lookup.sql" "$db" "$dir/lookup.sql" r10 -M prepared)" "masked lookup, steady state" "$rules"
  echo "-- 2. first query of a new session (pgbench -C), mean latency in ms"
  report "$db analyst" "r10 analyst" "<= 1.5" ms "$(run_alternating latency analyst "$dir/lookup.sql" "$db" "$dir/lookup.sql" r10 -C)" "new session, masked role" "$rules"
  report "$db superuser" "r10 superuser" "<= 1.5" ms "$(run_alternating latency postgres "$dir/lookup.sql" "$db" "$dir/lookup.sql" r10 -C)" "new session, superuser" "$rules"
  echo "-- 3. first query after a label change on another table (label change + masked lookup), mean latency in ms"
  report "$db" r10 "<= 1.5" ms "$(run_alternating latency postgres "$dir/change.sql" "$db" "$dir/change.sql" r10)" "after a label change" "$rules"
done
echo "== r10k: a table with 1,500 rules"
echo "-- 4. first query on it in a new session (pgbench -C), mean latency in ms"
report "wide superuser" "wide_plain superuser" "<= 1.05" ms "$(run_alternating latency postgres "$dir/wide.sql" r10k "$dir/wide_plain.sql" r10k -C)"
report "wide clerk" "wide_plain clerk" "<= 1.05" ms "$(run_alternating latency clerk "$dir/wide.sql" r10k "$dir/wide_plain.sql" r10k -C)"
report "wide analyst" "wide_plain analyst" "(compiles the rules of the 3 columns read)" ms "$(run_alternating latency analyst "$dir/wide.sql" r10k "$dir/wide_plain.sql" r10k -C)"
# r10 itself is the baseline (cost ratio 1) of every curve
for m in "masked lookup, steady state" "new session, masked role" "new session, superuser" "after a label change"; do
  echo "\"$m\",$(psql -X -At -d r10 -c "SELECT count(*) FROM pg_seclabel WHERE provider = 'privacy' AND objsubid > 0"),1.000" >>"$growth"
done
mkdir -p "$root/target/bench"
cp "$growth" "$root/target/bench/scale-rules.csv"
python3 "$root/benches/plot_growth.py" "$growth" "$root/target/bench/scale-rules.png" \
  "Cost of a statement against the number of column rules in the database (ratio to 13 rules)" "column rules in the database" 1.5
echo "plot: target/bench/scale-rules.png (data: target/bench/scale-rules.csv)"
