# A Citus cluster on loopback ports for the Citus stage and the Citus benchmark (source this file
# after tests/lib/cluster.sh, with PG=15).
#
# citus_start PREFIX DB [bare]: starts PREFIX-w1, PREFIX-w2 and PREFIX-coord with citus and
# pg_privacy preloaded (citus first, as Citus requires), and with `bare` also PREFIX-bare, which
# preloads citus only; creates database DB with the citus extension on each, and makes the
# coordinator and the two workers one cluster. Fills the associative array citus_port (node name
# without the prefix -> port) and leaves PGHOST/PGPORT pointing at the coordinator.
# citus_stop PREFIX: stops them all.
declare -A citus_port
[ -v CITUS_EXTRA_SETTINGS ] || CITUS_EXTRA_SETTINGS=()
citus_settings=("max_worker_processes = 16" "citus.shard_count = 4" "citus.log_remote_commands = off"
  "max_connections = 100" "citus.max_client_connections = 50")

citus_start() {
  local prefix=$1 db=$2 bare=${3:-} n
  for n in w1 w2 coord; do
    cluster_start "$prefix-$n" "shared_preload_libraries = 'citus,pg_privacy'" "${citus_settings[@]}" "${CITUS_EXTRA_SETTINGS[@]}"
    citus_port[$n]=$PGPORT
  done
  if [ "$bare" = bare ]; then
    # The library is installed there (CREATE EXTENSION reaches it) but not preloaded.
    cluster_start "$prefix-bare" "shared_preload_libraries = 'citus'" "${citus_settings[@]}"
    citus_port[bare]=$PGPORT
  fi
  for n in "${!citus_port[@]}"; do
    psql -X -q -h 127.0.0.1 -p "${citus_port[$n]}" -d postgres -c "CREATE DATABASE $db"
    psql -X -q -h 127.0.0.1 -p "${citus_port[$n]}" -d "$db" -c "CREATE EXTENSION citus"
  done
  export PGHOST=$(cluster_dir "$prefix-coord") PGPORT=${citus_port[coord]}
  psql -X -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', ${citus_port[coord]});
SELECT citus_add_node('127.0.0.1', ${citus_port[w1]});
SELECT citus_add_node('127.0.0.1', ${citus_port[w2]});
SQL
}

citus_stop() {
  local n
  for n in coord w1 w2 bare; do cluster_stop "$1-$n"; done
}
