#!/usr/bin/env bash
# `make test`: the three test layers in order, each logged to target/test-logs/, then one summary
# line. Exits non-zero if any layer fails; later layers still run so one report shows everything.
set -uo pipefail
cd "$(dirname "$0")/../.."
logs=target/test-logs
mkdir -p "$logs"
passed=0 failed=0 broken=()

# Adds up cargo's "test result: ... N passed; M failed" lines from a log.
count_cargo() {
  local p f
  p=$(grep -oE 'test result: [A-Za-z]+\. [0-9]+ passed' "$1" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
  f=$(grep -oE '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

layer() {
  local name=$1; shift
  echo "=== $name: $*"
  if "$@" >"$logs/$name.log" 2>&1; then
    tail -n 3 "$logs/$name.log"
  else
    broken+=("$name")
    tail -n 60 "$logs/$name.log"
    echo "!!! $name failed (full log: $logs/$name.log)"
  fi
}

layer unit cargo test -p privacy_core
count_cargo "$logs/unit.log"

layer pgtest tests/lib/pgtest.sh
count_cargo "$logs/pgtest.log"

layer install make --no-print-directory install
layer e2e tests/run
e2e_line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed' "$logs/e2e.log" | tail -1)
if [ -n "$e2e_line" ]; then
  passed=$((passed + $(echo "$e2e_line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')))
  failed=$((failed + $(echo "$e2e_line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')))
fi

# A layer that failed without reporting a failed test (build error, cluster that did not start)
# still counts as a failure.
if [ ${#broken[@]} -gt 0 ] && [ "$failed" -eq 0 ]; then failed=${#broken[@]}; fi
[ ${#broken[@]} -gt 0 ] && echo "failed layers: ${broken[*]}"
echo "summary: $passed passed, $failed failed"
[ ${#broken[@]} -eq 0 ] && [ "$failed" -eq 0 ]
