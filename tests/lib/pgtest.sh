#!/usr/bin/env bash
# Runs the #[pg_test] layer. cargo pgrx test starts its own cluster with initdb, which refuses
# to run as root, so it runs as the postgres user with a data folder that user owns.
set -euo pipefail
data=/tmp/pg_privacy-pgrx-test
mkdir -p "$data"
chown postgres "$data" 2>/dev/null || true
runas=()
[ "$(id -u)" -eq 0 ] && runas=(--runas postgres)
exec cargo pgrx test pg15 "${runas[@]}" --pgdata "$data/data"
