#!/usr/bin/env bash
# What the consent state costs a grant (issue 14's grant_consent target): section 3 of rights.sh,
# privacy.grant_consent vs INSERT into a hand-written history table (8 clients), with 0, 1 and 2
# readings of the subject id in use, i.e. 0, 1 or 2 current-state tables a grant keeps for the
# consent filters (no subject table; a bigint subject column; a bigint and a privacy.pseudonym
# column, as in rights.sh). One database per configuration in one cluster, every configuration
# and the hand-written peer run in turn in each round, so the machine's drift falls on all alike.
# Also prints the machine's CPU time per transaction (/proc/stat over each run; the clients run
# on the same machine and are counted too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
export PATH="$PG_BIN:$PATH"
name=grant_readings
cluster_start "$name" "shared_buffers = 1GB" "jit = off" "max_parallel_workers_per_gather = 0" "max_connections = 50"
trap 'cluster_stop "$name"' EXIT
dir=$(cluster_dir "$name")
for readings in 0 1 2; do
  db=readings$readings
  psql -X -q -d postgres -c "CREATE DATABASE $db"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE SCHEMA app;
CREATE TABLE app.customers (id bigint PRIMARY KEY, name text);
CREATE TABLE app.visits (visitor privacy.pseudonym, page text);
CREATE INDEX ON app.visits (visitor);
SELECT privacy.create_purpose('newsletter', true);
CREATE TABLE public.hand_history (event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, subject text NOT NULL,
    purpose text NOT NULL, state text NOT NULL, valid_until timestamptz, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    recorded_by name NOT NULL DEFAULT session_user, source text);
CREATE INDEX ON public.hand_history (subject, event_id);
SQL
  [ "$readings" -ge 1 ] && psql -X -q -d "$db" -c "SELECT privacy.set_subject('app.customers', 'id')" >/dev/null
  [ "$readings" -ge 2 ] && psql -X -q -d "$db" -c "SELECT privacy.set_subject('app.visits', 'visitor')" >/dev/null
done
echo '\set s random(1, 1000000)
SELECT privacy.grant_consent(:s::text, '"'newsletter'"', source => '"'bench'"');' >"$dir/grant.sql"
echo '\set s random(1, 1000000)
INSERT INTO public.hand_history (subject, purpose, state, source) VALUES (:s::text, '"'newsletter'"', '"'granted'"', '"'bench'"');' >"$dir/hand.sql"

busy() { awk 'NR == 1 {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# run DB SCRIPT: prints "TPS CPU_US_PER_TRANSACTION"
run() {
  local before after out
  before=$(busy)
  out=$(pgbench -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$dir/$2" "$1" 2>/dev/null)
  after=$(busy)
  local tx; tx=$(grep -oE 'processed: [0-9]+' <<<"$out" | awk '{print $2}')
  echo "$(tps <<<"$out") $(awk -v b="$before" -v a="$after" -v t="$tx" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (a - b) / hz * 1e6 / t}')"
}
declare -A tps_of cpu_of
echo "-- grant_consent vs INSERT, 8 clients, by readings in use: ${ROUNDS} rounds of ${SECONDS_PER_RUN}s runs"
for _ in $(seq "$ROUNDS"); do
  for what in hand 0 1 2; do
    if [ "$what" = hand ]; then read -r t c < <(run readings0 hand.sql); else read -r t c < <(run "readings$what" grant.sql); fi
    tps_of[$what]+="$t " cpu_of[$what]+="$c "
  done
done
hand=$(printf '%s\n' ${tps_of[hand]} | median)
echo "INSERT by hand: tps ${tps_of[hand]}(median $hand); CPU µs per transaction ${cpu_of[hand]}"
for r in 0 1 2; do
  m=$(printf '%s\n' ${tps_of[$r]} | median)
  echo "grant_consent, $r readings: tps ${tps_of[$r]}(median $m); CPU µs per transaction ${cpu_of[$r]}; ratio $(ratio "$m" "$hand") (target >= 0.50)"
done
for r in 0 1 2; do
  psql -X -At -d "readings$r" -c "SELECT '$r readings: ledger intact ' || intact || ', ' || events || ' events' FROM privacy.verify_ledger()"
done
