#!/usr/bin/env bash
# Runs the #[pg_test] layer for the PostgreSQL tests/lib/pg.sh selects (PG=15 or PG=18).
# cargo pgrx test starts its own cluster with initdb, which refuses to run as root, so it runs as
# the postgres user with a data folder that user owns.
set -euo pipefail
# shellcheck source=pg.sh
. "$(dirname "$0")/pg.sh"
data=/tmp/pg_privacy-pgrx-test-pg$PG
mkdir -p "$data"
chown postgres "$data" 2>/dev/null || true
runas=()
[ "$(id -u)" -eq 0 ] && runas=(--runas postgres)
# shellcheck disable=SC2086 # PG_FEATURES is a list of arguments
exec cargo pgrx test "pg$PG" "${runas[@]}" --pgdata "$data/data" $PG_FEATURES
