#!/usr/bin/env bash
# `make install`: builds pg_privacy in release mode for the PostgreSQL that PG_CONFIG (or PG=15/18)
# names and installs it there (with sudo when not root and the target is not writable).
set -euo pipefail
# shellcheck source=pg.sh
. "$(dirname "$0")/pg.sh"
case "$PG" in
  15 | 18) ;;
  *)
    echo "pg_privacy is built and tested for PostgreSQL 15 and 18; $PG_CONFIG is PostgreSQL $PG (see README: supported versions)" >&2
    exit 2
    ;;
esac
sudo=()
if [ "$(id -u)" -ne 0 ] && [ ! -w "$("$PG_CONFIG" --pkglibdir)" ]; then sudo=(--sudo); fi
# shellcheck disable=SC2086 # PG_FEATURES is a list of arguments
exec cargo pgrx install --release "${sudo[@]}" --pg-config "$PG_CONFIG" $PG_FEATURES
