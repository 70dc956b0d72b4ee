#!/usr/bin/env bash
# What an ungoverned role pays for the preloaded library, in pgbench throughput (issue 11, part 4),
# measured so that this 2-core machine's drifts cancel out.
#
# masking_engine.sh part 3 alternates the two clusters in short runs; a run there differs from the
# next by ±8 % on this machine (other tenants, frequency, the page cache), more than the effect
# (1-2 %). Here the two clusters run AT THE SAME TIME, one pgbench client each, so whatever slows
# the machine slows both alike. Both servers run on one core (their postmasters are pinned to it,
# backends inherit it) and the pgbench clients on the other: left to the scheduler, each server
# settled on a core of its own and the ratio measured the two cores (a first version: single
# rounds 0.74-1.40, in the A/A control too). On one shared core the scheduler gives each backend an
# equal share, so the ratio of their transaction counts is the ratio of their CPU cost per
# transaction. Each round runs
# both pairs below, simultaneously within a pair, the start order swapped every round:
#   with / without : pg_privacy preloaded, extension created, a masking rule on another table and a
#                    masked role (what every other user of such a server pays) vs no library;
#   A/A control    : a second cluster without the library vs the first one: how far two identical
#                    servers read apart with this method. A with/without ratio means something
#                    only next to it.
# Prepared and simple protocol (simple: every statement parsed, analysed and planned, so every hook
# runs). Medians of the per-round ratios.
set -euo pipefail
[ "$(nproc)" -ge 2 ] || { echo "ungoverned_paired: needs two cores (servers on one, clients on the other); skipped"; exit 0; }
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
export PATH="$PG_BIN:$PATH"
ROUNDS_PAIRED=${ROUNDS_PAIRED:-15}
SECONDS_PAIRED=${SECONDS_PAIRED:-5}

with=paired-with plain=paired-plain plain2=paired-plain2
trap 'cluster_stop "$with"; cluster_stop "$plain"; cluster_stop "$plain2"' EXIT
settings=("shared_buffers = 256MB" "jit = off" "max_parallel_workers_per_gather = 0" "autovacuum = off")
cluster_start "$with" "${settings[@]}"
setup_select
setup_select_rules
pin_server() { taskset -pc 0 "$(head -1 "$PGDATA_DIR/postmaster.pid")" >/dev/null; }
PGDATA_DIR=$(cluster_dir "$with")/data pin_server
with_addr="-h $PGHOST -p $PGPORT"
for c in "$plain" "$plain2"; do
  cluster_start "$c" "${settings[@]}" "shared_preload_libraries = ''"
  PGDATA_DIR=$(cluster_dir "$c")/data pin_server
  setup_select
  [ "$(psql -X -At -d sel -c "SHOW shared_preload_libraries")" = "" ] || { echo "baseline cluster $c has a preloaded library" >&2; exit 1; }
done
plain_addr="-h $(cluster_dir "$plain") -p $(cat "$(cluster_dir "$plain")/port")"
plain2_addr="-h $PGHOST -p $PGPORT"

run() { # MODE ADDR OUT: one client for SECONDS_PAIRED seconds, TPS into OUT
  # shellcheck disable=SC2086 # ADDR is two options
  taskset -c 1 pgbench -n -S -M "$1" -c 1 -j 1 -T "$SECONDS_PAIRED" $2 -U clerk sel 2>/dev/null | tps >"$3"
}
pair() { # MODE ADDR_A ADDR_B ROUND: both at once, start order by round parity; prints A/B
  local t; t=$(mktemp -d)
  if [ $(($4 % 2)) -eq 0 ]; then
    run "$1" "$2" "$t/a" & run "$1" "$3" "$t/b" & wait
  else
    run "$1" "$3" "$t/b" & run "$1" "$2" "$t/a" & wait
  fi
  ratio "$(cat "$t/a")" "$(cat "$t/b")"; rm -r "$t"
}
# one untimed pair first: each server's first seconds (its caches filling) read low, as the first
# rounds of the A/A control showed (0.93-0.95) before this warm-up
SECONDS_PAIRED=3 pair simple "$with_addr" "$plain_addr" 0 >/dev/null
SECONDS_PAIRED=3 pair simple "$plain2_addr" "$plain_addr" 0 >/dev/null
declare -A ab aa
for r in $(seq "$ROUNDS_PAIRED"); do
  for mode in prepared simple; do
    ab[$mode]+="$(pair "$mode" "$with_addr" "$plain_addr" "$r") "
    aa[$mode]+="$(pair "$mode" "$plain2_addr" "$plain_addr" "$r") "
  done
done
spread() { awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; printf "mean %.3f, sd %.3f", m, sqrt(q/n-m*m)}'; }
echo "-- pgbench -S, one client per cluster, both clusters at once, $ROUNDS_PAIRED rounds x ${SECONDS_PAIRED}s"
for mode in prepared simple; do
  # shellcheck disable=SC2086 # the lists are words
  echo "-M $mode with/without per round: ${ab[$mode]}($(printf '%s\n' ${ab[$mode]} | spread))"
  # shellcheck disable=SC2086
  echo "-M $mode A/A control per round:  ${aa[$mode]}($(printf '%s\n' ${aa[$mode]} | spread))"
  # shellcheck disable=SC2086
  echo "ratio -M $mode: $(printf '%s\n' ${ab[$mode]} | median) (A/A control $(printf '%s\n' ${aa[$mode]} | median); target >= 0.98)"
done
