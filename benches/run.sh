#!/usr/bin/env bash
# `make bench`: runs every benchmark SQL file in benches/ against a throwaway cluster with
# pg_privacy preloaded and prints each function's time as a ratio to its baseline, both measured
# in the same backend, interleaved, median of several runs. Single-core (no parallel workers),
# no JIT, so ratios compare like with like. Results are for docs/BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
status=0
# gnuplot draws the growth curves (benches/plot_growth.py)
say() { printf '\033[1mbench:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# shellcheck source=../tests/lib/packages.sh
. "$root/tests/lib/packages.sh"
install_missing "gnuplot" gnuplot-nox
export PATH="$PG_BIN:$PATH"   # clients of the server's version
cluster_start bench "shared_buffers = 1GB" "jit = off" "max_parallel_workers_per_gather = 0"
trap 'cluster_stop bench' EXIT
psql -X -q -d postgres -c "CREATE DATABASE bench"
psql -X -q -d bench -c "CREATE EXTENSION pg_privacy"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql -X -At -d bench -c 'SELECT version()' | cut -d, -f1)"
# `benches/run.sh NAME...` runs only the benchmarks whose file names contain one of the NAMEs.
selected() {
  local f=$1; shift
  [ $# -eq 0 ] && return 0
  for n in "$@"; do case "$f" in *"$n"*) return 0 ;; esac; done
  return 1
}
for file in "$root"/benches/*.sql; do
  [ "$(basename "$file")" = lib.sql ] && continue   # helpers the other benchmarks load
  selected "$(basename "$file")" "$@" || continue
  echo "== $(basename "$file")"
  psql -X -q -v ON_ERROR_STOP=1 -P pager=off -d bench -f "$file" || { echo "!!! $(basename "$file") failed"; status=1; }
done
cluster_stop bench
# Benchmarks that restart or reconfigure clusters run as scripts with clusters of their own.
for script in "$root"/benches/*.sh; do
  case "$(basename "$script")" in run.sh | lib.sh) continue ;; esac
  selected "$(basename "$script")" "$@" || continue
  echo "== $(basename "$script")"
  "$script" || { echo "!!! $(basename "$script") failed"; status=1; }
done
exit "$status"
