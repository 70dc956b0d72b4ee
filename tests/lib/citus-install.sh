#!/usr/bin/env bash
# Builds Citus (a test dependency, AGPL, not part of pg_privacy) from its source tarball and
# installs it into Debian's PostgreSQL 15, once per machine: skipped when citus.so and its control
# file are already there. The source is ../shared/third_party/citus/ beside the checkout, or
# CITUS_SOURCE (a folder holding citus-*.tar.gz and, optionally, *.patch files applied in order).
#
# Exit status: 0 when Citus is installed (now or before), 3 when there is no source (the caller
# decides whether that is a skip or a failure), anything else on a failed build.
# Citus 13.2 supports PostgreSQL 15-17, not 18: the Citus stage runs on 15.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pg_config=/usr/lib/postgresql/15/bin/pg_config
source_dir=${CITUS_SOURCE:-$root/../shared/third_party/citus}
say() { printf '\033[1mcitus:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -f "$("$pg_config" --pkglibdir)/citus.so" ] && [ -f "$("$pg_config" --sharedir)/extension/citus.control" ]; then
  say "Citus present in PostgreSQL 15 ($(grep default_version "$("$pg_config" --sharedir)/extension/citus.control" | cut -d"'" -f2))"
  exit 0
fi
tarball=$(ls "$source_dir"/citus-*.tar.gz 2>/dev/null | sort | tail -1 || true)
if [ -z "$tarball" ]; then
  say "no Citus source in $source_dir (set CITUS_SOURCE)"
  exit 3
fi

# shellcheck source=packages.sh
. "$root/tests/lib/packages.sh"
install_missing "Citus build dependencies" libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev autoconf flex bison make gcc

build=$root/target/citus-build
rm -rf "$build"
mkdir -p "$build"
say "building $(basename "$tarball") in $build (about 5 minutes on 2 cores)"
tar xzf "$tarball" -C "$build"
tree=$(ls -d "$build"/citus-*/ | head -1)
for patch in "$source_dir"/*.patch; do
  [ -f "$patch" ] || continue
  say "applying $(basename "$patch")"
  (cd "$tree" && patch -p1 -s <"$patch")
done
(
  cd "$tree"
  ./configure PG_CONFIG="$pg_config" >"$build/configure.log" 2>&1
  make -j"$(nproc)" >"$build/make.log" 2>&1
  as_root make install >"$build/install.log" 2>&1
) || { say "build failed; logs in $build"; tail -n 30 "$build"/*.log; exit 1; }
say "Citus installed into PostgreSQL 15"
