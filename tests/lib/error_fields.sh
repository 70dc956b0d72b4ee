#!/usr/bin/env bash
# Scenario 70: the same statements (tests/data/error_fields.sql) on a cluster without pg_privacy and
# on the e2e cluster (preloaded, extension created in a fresh database); prints the difference of
# the two outputs, which must be empty, then the output itself.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sql="$here/../data/error_fields.sql"
with_host=$PGHOST with_port=$PGPORT
# shellcheck source=cluster.sh
. "$here/cluster.sh"
cluster_start plainpg "shared_preload_libraries = ''" >/dev/null
without_host=$PGHOST without_port=$PGPORT
run() { psql -X -q -h "$1" -p "$2" -U postgres -d "$3" -f "$sql" 2>&1; }
psql -X -q -h "$with_host" -p "$with_port" -U postgres -d postgres -c "CREATE DATABASE privacy_errors"
psql -X -q -h "$with_host" -p "$with_port" -U postgres -d privacy_errors -c "CREATE EXTENSION pg_privacy"
echo "preloaded here: $(psql -X -At -h "$with_host" -p "$with_port" -U postgres -d postgres -c 'SHOW shared_preload_libraries'); there: '$(psql -X -At -h "$without_host" -p "$without_port" -U postgres -d postgres -c 'SHOW shared_preload_libraries')'"
run "$without_host" "$without_port" postgres >"$DUMPDIR/errors-without.out"
run "$with_host" "$with_port" privacy_errors >"$DUMPDIR/errors-with.out"
echo "differences between the two clusters' outputs (none expected):"
diff "$DUMPDIR/errors-without.out" "$DUMPDIR/errors-with.out" && echo "  none"
echo "the output, with every field:"
sed 's/^/  /' "$DUMPDIR/errors-with.out"
psql -X -q -h "$with_host" -p "$with_port" -U postgres -d postgres -c "DROP DATABASE privacy_errors"
cluster_stop plainpg
