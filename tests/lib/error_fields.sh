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
# A name of this run's own: other checkouts may run their e2e scenarios at the same time.
plain="plain-$$"
cluster_start "$plain" "shared_preload_libraries = ''" >/dev/null
without_host=$PGHOST without_port=$PGPORT
# Statements come on standard input (messages say "psql:<stdin>:N", not this checkout's path);
# LOCATION lines (PostgreSQL's source file and line) are compared but not printed, since they
# change with PostgreSQL's minor version.
run() { "$PG_BIN/psql" -X -q -h "$1" -p "$2" -U postgres -d "$3" -f - <"$sql" 2>&1; }
"$PG_BIN/psql" -X -q -h "$with_host" -p "$with_port" -U postgres -d postgres -c "CREATE DATABASE privacy_errors"
"$PG_BIN/psql" -X -q -h "$with_host" -p "$with_port" -U postgres -d privacy_errors -c "CREATE EXTENSION pg_privacy"
echo "preloaded here: $("$PG_BIN/psql" -X -At -h "$with_host" -p "$with_port" -U postgres -d postgres -c 'SHOW shared_preload_libraries'); there: '$("$PG_BIN/psql" -X -At -h "$without_host" -p "$without_port" -U postgres -d postgres -c 'SHOW shared_preload_libraries')'"
run "$without_host" "$without_port" postgres >"$DUMPDIR/errors-without.out"
run "$with_host" "$with_port" privacy_errors >"$DUMPDIR/errors-with.out"
echo "differences between the two clusters' outputs (none expected):"
diff "$DUMPDIR/errors-without.out" "$DUMPDIR/errors-with.out" && echo "  none"
echo "the output, with every field:"
grep -v '^LOCATION:  ' "$DUMPDIR/errors-with.out" | sed 's/^/  /'
"$PG_BIN/psql" -X -q -h "$with_host" -p "$with_port" -U postgres -d postgres -c "DROP DATABASE privacy_errors"
cluster_stop "$plain"
rm -rf "$(cluster_dir "$plain")"
