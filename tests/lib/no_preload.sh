#!/usr/bin/env bash
# Scenario 19: a cluster that had pg_privacy preloaded and protected a table is restarted
# without it. Prints what a masked role and the table owner get.
set -uo pipefail
# shellcheck source=cluster.sh
. "$(dirname "$0")/cluster.sh"
(
  cluster_start nopreload >/dev/null
  psql -X -q -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE ROLE analyst LOGIN;
CREATE TABLE customers (id int, email text);
INSERT INTO customers VALUES (1, 'alice@example.com');
GRANT SELECT ON customers TO analyst;
SECURITY LABEL FOR privacy ON COLUMN customers.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED';
SQL
  dir=$(cluster_dir nopreload)
  as_postgres sed -i 's/^shared_preload_libraries/#&/' "$dir/data/postgresql.conf"
  as_postgres env -u RUST_BACKTRACE "$PG_BIN/pg_ctl" -D "$dir/data" -w -m fast restart -l "$dir/server.log" >/dev/null
  echo "preloaded: $(psql -X -At -d postgres -c "SHOW shared_preload_libraries")"
  echo "as the masked role:"
  psql -X -At -U analyst -d postgres -c "SELECT email FROM customers" 2>&1 | sed 's/^/  /'
  psql -X -At -U analyst -d postgres -c "COPY customers TO STDOUT" 2>&1 | sed 's/^/  /'
  echo "as the superuser (unmasked, bypasses row security):"
  psql -X -At -d postgres -c "SELECT email FROM customers" 2>&1 | sed 's/^/  /'
  echo "without the library, DROP EXTENSION pg_privacy needs CASCADE, which drops both guards; row security stays on with no policy, so the masked role reads no row (still closed):"
  psql -X -q -d postgres -c "DROP EXTENSION pg_privacy" 2>&1 | sed 's/^/  /'
  psql -X -q -d postgres -c "DROP EXTENSION pg_privacy CASCADE" 2>&1 | sed 's/^/  /'
  psql -X -At -d postgres -c "SELECT count(*) FROM pg_policy WHERE polrelid = 'customers'::regclass" | sed 's/^/  policies left: /'
  psql -X -At -U analyst -d postgres -c "SELECT count(*) FROM customers" 2>&1 | sed 's/^/  rows the masked role reads: /'
  echo "until a DBA turns row security off:"
  psql -X -q -d postgres -c "ALTER TABLE customers DISABLE ROW LEVEL SECURITY" 2>&1 | sed 's/^/  /'
  psql -X -At -U analyst -d postgres -c "SELECT email FROM customers" 2>&1 | sed 's/^/  /'
  cluster_stop nopreload
)
