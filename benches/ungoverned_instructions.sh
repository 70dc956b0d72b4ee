#!/usr/bin/env bash
# What an ungoverned statement pays for the preloaded library, counted in CPU instructions
# (issue 11, part 4). The pgbench ratio of masking_engine.sh part 3 moves by a few per cent from
# run to run on a 2-core machine where pgbench and the server share the cores; instructions
# counted by valgrind's callgrind do not move (the same total for the same binary and inputs,
# whatever else the machine does), so this is the measurement that can tell 0.5 % from 2 %.
#
# The same two clusters as masking_engine.sh part 3 (pgbench scale 10; one preloads pg_privacy
# and has the extension, a masking rule on another table and a masked role; the other has no
# library). Each server runs under callgrind in turn; one pgbench client runs a short warm-up
# connection and then a long one, `pgbench -S` as the ungoverned role `clerk`, in simple and in
# prepared protocol. Instructions per transaction = (long backend's total - warm-up backend's
# total) / (difference in transactions): connection start-up and the library's loading cancel
# out. Prints both and their ratio (without / with: what a CPU-bound server's throughput ratio
# would be).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
say() { printf '\033[1mbench:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# shellcheck source=../tests/lib/packages.sh
. "$root/tests/lib/packages.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
install_missing valgrind valgrind
export PATH="$PG_BIN:$PATH"
WARMUP=${WARMUP:-200}
TRANSACTIONS=${TRANSACTIONS:-3000}

with=instr-with plain=instr-plain
trap 'cluster_stop "$with"; cluster_stop "$plain"' EXIT
cluster_start "$with" "jit = off" "max_parallel_workers_per_gather = 0" "autovacuum = off"
setup_select
setup_select_rules
cluster_stop "$with"
cluster_start "$plain" "jit = off" "max_parallel_workers_per_gather = 0" "autovacuum = off" "shared_preload_libraries = ''"
setup_select
cluster_stop "$plain"

# With CACHE_SIM=1 callgrind also simulates the caches, and the figure compared is its estimate of
# cycles (Ir + 10 x first-level misses + 100 x last-level misses, callgrind_annotate's CEst): it
# shows whether the library costs through cache misses what it does not cost in instructions.
CACHE_SIM=${CACHE_SIM:-0}
what="instructions"
[ "$CACHE_SIM" = 1 ] && what="estimated cycles"

# backend_total FILE: the instruction total (or estimated cycles) callgrind recorded for one process.
backend_total() {
  awk -v sim="$CACHE_SIM" '
    /^events:/ { for (i = 2; i <= NF; i++) col[$i] = i }
    /^(summary|totals):/ {
      if (sim != 1) { print $2; exit }
      # fields shift by one: $1 is "summary:"
      ir = $(col["Ir"]); l1 = $(col["I1mr"]) + $(col["D1mr"]) + $(col["D1mw"]); ll = $(col["ILmr"]) + $(col["DLmr"]) + $(col["DLmw"])
      printf "%.0f\n", ir + 10 * l1 + 100 * ll; exit
    }' "$1"
}

# newest_largest DIR BEFORE...: the largest callgrind file of DIR not in the list BEFORE (the
# backend of the pgbench run that just ended; its other connection, which reads the scale, is
# short).
newest_largest() {
  local dir=$1; shift
  local f best="" best_n=0 n
  for f in "$dir"/cg.*; do
    case " $* " in *" $f "*) continue ;; esac
    n=$(backend_total "$f")
    if [ "${n:-0}" -gt "$best_n" ]; then best=$f best_n=$n; fi
  done
  echo "$best_n"
}

# per_transaction CLUSTER MODE: instructions per transaction of `pgbench -S -M MODE`.
per_transaction() {
  local name=$1 mode=$2 dir port out before warm long
  dir=$(cluster_dir "$name"); port=$(cat "$dir/port")
  out="$dir/callgrind-$mode"
  rm -rf "$out"; mkdir -p "$out"; chown postgres "$out" 2>/dev/null || true
  local sim=()
  [ "$CACHE_SIM" = 1 ] && sim=(--cache-sim=yes)
  as_postgres valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file="$out/cg.%p" \
    "$PG_BIN/postgres" -D "$dir/data" >"$out/server.log" 2>&1 &
  for _ in $(seq 180); do pg_isready -q -h "$dir" -p "$port" && break; sleep 1; done
  sleep 2   # callgrind writes a process's file when it exits (the startup process's, here)
  before=$(echo "$out"/cg.*)
  pgbench -n -S -M "$mode" -c 1 -t "$WARMUP" -h "$dir" -p "$port" -U clerk sel >/dev/null 2>&1
  sleep 2
  # shellcheck disable=SC2086 # the list is words
  warm=$(newest_largest "$out" $before)
  before=$(echo "$out"/cg.*)
  pgbench -n -S -M "$mode" -c 1 -t "$TRANSACTIONS" -h "$dir" -p "$port" -U clerk sel >/dev/null 2>&1
  sleep 2
  # shellcheck disable=SC2086
  long=$(newest_largest "$out" $before)
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  awk -v a="$long" -v b="$warm" -v n=$((TRANSACTIONS - WARMUP)) 'BEGIN {printf "%.0f", (a - b) / n}'
}

echo "-- ${what} per pgbench -S transaction of an ungoverned role (callgrind; ${WARMUP} then ${TRANSACTIONS} transactions, one client)"
for mode in simple prepared; do
  w=$(per_transaction "$with" "$mode")
  wo=$(per_transaction "$plain" "$mode")
  echo "-M $mode: with library $w, without $wo ${what} per transaction; library's share $(awk -v a="$w" -v b="$wo" 'BEGIN {printf "%.2f %%", (a - b) * 100 / b}'); ratio without/with: $(ratio "$wo" "$w") (target >= 0.98)"
done
