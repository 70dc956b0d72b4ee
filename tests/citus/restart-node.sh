#!/usr/bin/env bash
# Restarts one node of the Citus stage's cluster with another shared_preload_libraries:
#   restart-node.sh citus-w2 citus            (without pg_privacy)
#   restart-node.sh citus-w2 citus,pg_privacy (back to normal)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PG=15
# shellcheck source=../lib/cluster.sh
. "$here/../lib/cluster.sh"
dir=$(cluster_dir "$1")
as_postgres sed -i "/^shared_preload_libraries/d" "$dir/data/postgresql.conf"
echo "shared_preload_libraries = '$2'" | as_postgres tee -a "$dir/data/postgresql.conf" >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -w -m fast restart -l "$dir/server.log" >/dev/null
echo "$1 restarted with shared_preload_libraries = '$2'"
