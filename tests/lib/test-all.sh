#!/usr/bin/env bash
# `make test`: every test layer in order, for PostgreSQL 15 and 18 (PG=15 or PG=18 for one), then
# the layers that exist for 15 only (the upgrade from 0.1.0, PostgreSQL's regression SQL, the Citus cluster), each logged
# to target/test-logs/ and ending with its own
# `<layer>: N passed, M failed` line; the overall `summary:` line comes last. Exits non-zero if any
# layer fails; later layers still run, so one report shows everything.
set -uo pipefail
cd "$(dirname "$0")/../.."
logs=target/test-logs
mkdir -p "$logs"
total_passed=0 total_failed=0 broken=()

# Sums cargo's "test result: ... N passed; M failed" lines of a log: "N M".
cargo_counts() {
  local p f
  p=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$1" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed; [0-9]+ failed' "$1" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
  echo "$p $f"
}

# layer NAME COUNTER COMMAND...: runs COMMAND, then `COUNTER LOG STATUS` prints "N M" for it.
layer() {
  local name=$1 counter=$2; shift 2
  local log="$logs/$name.log" status counts passed failed
  echo "=== $name: $*"
  "$@" >"$log" 2>&1
  status=$?
  counts=$("$counter" "$log" "$status")
  # A layer that skips part of its work says so in its log; the reader sees it here too.
  grep -E '^[A-Za-z0-9_-]+(\[[a-z0-9]+\])?: skipped' "$log" || true
  passed=${counts% *} failed=${counts#* }
  # A layer that ran no test and did not say it skipped is a broken runner, not a pass.
  if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] &&
     ! grep -qE '^[A-Za-z0-9_-]+(\[[a-z0-9]+\])?: skipped' "$log"; then
    echo "!!! $name ran no test"
    status=1
  fi
  if [ "$status" -ne 0 ]; then
    broken+=("$name")
    tail -n 60 "$log"
    echo "!!! $name failed (exit $status; full log: $log)"
    # A layer that failed without a failed test (build error, cluster that did not start)
    # still counts as one failure.
    [ "$failed" -eq 0 ] && failed=1
  fi
  echo "$name: $passed passed, $failed failed"
  total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))
}

# The e2e and regress runners print their own "<name>: N passed, M failed" line.
own_line() {
  local line
  line=$(grep -E '^[A-Za-z0-9_-]+(\[[a-z0-9]+\])?: [0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
  if [ -z "$line" ]; then echo "0 0"; return; fi
  echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1 \2/'
}
# A check with no test count: 1 passed or 1 failed.
check() { if [ "$2" = 0 ]; then echo "1 0"; else echo "0 1"; fi; }

# PostgreSQL versions to test: PG=15 or PG=18 for one, both by default.
versions=${PG:-15 18}
unset PG_CONFIG
features() { if [ "$1" = 15 ]; then echo ""; else echo "--no-default-features --features pg$1"; fi; }
lint() {
  local v status=0
  for v in $versions; do
    # shellcheck disable=SC2046 # features() is a list of arguments
    cargo clippy --all-targets --workspace $(features "$v") -- -D warnings || status=1
  done
  return $status
}

layer lint check lint
layer unit cargo_counts cargo test -p privacy_core
for v in $versions; do
  export PG=$v
  layer "pgtest[pg$v]" cargo_counts tests/lib/pgtest.sh
  layer "install[pg$v]" check tests/lib/install.sh
  layer "e2e[pg$v]" own_line tests/run
done
# Upgrade from the previous release (0.1.0, built for 15 only) to this build: tests/upgrade.
if [[ " $versions " == *" 15 "* ]]; then
  export PG=15
  layer "upgrade[pg15]" own_line tests/upgrade/run
fi
# PostgreSQL 15 only: the comparison with PostgreSQL's own regression SQL (18's is not available
# here, tests/regress/README.md) and the Citus stage (Citus 13.2 supports 15-17, not 18).
if [[ " $versions " == *" 15 "* ]]; then
  export PG=15
  layer "regress[pg15]" own_line tests/regress/run
  layer "citus[pg15]" own_line tests/citus/run
fi

[ ${#broken[@]} -gt 0 ] && echo "failed layers: ${broken[*]}"
echo "summary: $total_passed passed, $total_failed failed"
# A run in which nothing passed proves nothing; it fails even if nothing failed.
[ "$total_passed" -gt 0 ] || { echo "no test ran"; exit 1; }
[ ${#broken[@]} -eq 0 ] && [ "$total_failed" -eq 0 ]
