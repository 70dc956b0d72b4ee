# Throwaway PostgreSQL clusters for the end-to-end tests, the demo and the benchmarks, of the
# version tests/lib/pg.sh selects (PG=15 or PG=18).
# Source this file, then: cluster_start NAME [postgresql.conf lines...]; cluster_stop NAME.
# A cluster lives in /tmp/pg_privacy-NAME (-pgNN for versions other than 15), runs as the postgres
# user (initdb refuses root), has pg_privacy preloaded, listens on a free port on 127.0.0.1 and on
# a Unix socket in that folder, and trusts local connections: it is for tests, never for data.

# shellcheck source=pg.sh
. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"

cluster_dir() { if [ "$PG" = 15 ]; then echo "/tmp/pg_privacy-$1"; else echo "/tmp/pg_privacy-$1-pg$PG"; fi; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

cluster_stop() {
  local dir; dir=$(cluster_dir "$1")
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# Exports PGHOST, PGPORT, PGUSER for the new cluster.
cluster_start() {
  local name=$1; shift
  local dir; dir=$(cluster_dir "$name")
  cluster_stop "$name"
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres "$dir" 2>/dev/null || true
  as_postgres env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PG_BIN/initdb" -D "$dir/data" -E UTF8 --locale=C.UTF-8 -A trust -U postgres >"$dir/initdb.log" 2>&1
  local port; port=$(free_port)
  {
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir'"
    echo "shared_preload_libraries = 'pg_privacy'"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "lc_messages = 'C'"
    for line in "$@"; do echo "$line"; done
  } >>"$dir/data/postgresql.conf"
  if ! as_postgres env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null; then
    echo "cluster $name did not start; its log:" >&2
    cat "$dir/server.log" >&2
    return 1
  fi
  echo "$port" >"$dir/port"
  export PGHOST=$dir PGPORT=$port PGUSER=postgres
}
