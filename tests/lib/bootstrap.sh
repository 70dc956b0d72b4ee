#!/usr/bin/env bash
# Installs what building and testing pg_privacy needs on a Debian 12 machine, skipping whatever is
# already there: PostgreSQL 15 with its server headers, clang for bindgen, sudo (cargo pgrx test
# uses it to run as the postgres user), psql/pg_dump/pgbench, and the pinned cargo-pgrx, registered
# against the system PostgreSQL 15. Safe to run any number of times.
set -euo pipefail

PGRX_VERSION=0.18.1
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PACKAGES=(postgresql-15 postgresql-server-dev-15 postgresql-client-15 postgresql-contrib libclang-dev clang sudo python3 locales)

say() { printf '\033[1mbootstrap:\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

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

PGRX_HOME=${PGRX_HOME:-$HOME/.pgrx}
if grep -qs "^pg15 = \"$PG_CONFIG\"" "$PGRX_HOME/config.toml"; then
  say "cargo pgrx is registered with PostgreSQL 15"
else
  say "registering PostgreSQL 15 with cargo pgrx"
  cargo pgrx init --pg15 "$PG_CONFIG" >/dev/null
fi
