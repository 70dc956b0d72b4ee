#!/usr/bin/env bash
# Churn (issue 16.5), a ratio measured in one run: 8 pgbench clients run filtered and masked
# primary-key lookups, quiet and then while one session grants and withdraws consents (100 a
# second, pgbench --rate) and another changes a masking label on another table every second
# (each change invalidates every backend's rule caches). Alternating quiet and churning runs,
# median TPS. Then the changes are checked to be visible at the next statement: a grant, a
# withdrawal and a label change made by other sessions, each read back by a lookup session that
# stays open across them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
export PATH="$PG_BIN:$PATH"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
name=churn
cluster_start "$name" "shared_buffers = 512MB" "jit = off" "max_parallel_workers_per_gather = 0"
trap 'cluster_stop "$name"' EXIT
dir=$(cluster_dir "$name")
psql -X -q -d postgres -c "CREATE DATABASE bench"
psql -X -q -v ON_ERROR_STOP=1 -d bench >/dev/null <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people AS
SELECT g AS id, 'Customer ' || g AS name, 'customer' || g || '@example.com' AS email FROM generate_series(1, 100000) g;
ALTER TABLE people ADD PRIMARY KEY (id);
CREATE TABLE other (id int PRIMARY KEY, note text);
CREATE ROLE app LOGIN;
GRANT SELECT ON people, other TO app;
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SECURITY LABEL FOR privacy ON ROLE app IS 'MASKED';
SELECT privacy.create_purpose('marketing', true);
SELECT privacy.set_subject('people', 'id');
SELECT privacy.allow_purpose('app', 'marketing');
INSERT INTO privacy.consent_event (subject, purpose, state, source)
SELECT g::text, 'marketing', 'granted', 'bench' FROM generate_series(2, 100000, 2) g;
VACUUM ANALYZE;
SQL
echo '\set id random(1, 100000)
SELECT id, name, email FROM people WHERE id = :id;' >"$dir/lookup.sql"
# consents of odd subjects (never read as granted by the lookups' expectations) come and go
echo '\set s random(1, 50000)
SELECT privacy.grant_consent((2 * :s + 1)::text, '"'"'marketing'"'"');
SELECT privacy.withdraw_consent((2 * :s + 1)::text, '"'"'marketing'"'"');' >"$dir/consents.sql"
echo "SECURITY LABEL FOR privacy ON COLUMN other.note IS 'MASKED WITH VALUE NULL';" >"$dir/label.sql"
lookups() { pgbench -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -U app -f "$dir/lookup.sql" bench 2>/dev/null | tps; }
quiet=() churning=() rates=()
for _ in $(seq "$ROUNDS"); do
  quiet+=("$(lookups)")
  pgbench -n -c 1 -R 50 -T "$SECONDS_PER_RUN" -f "$dir/consents.sql" bench >"$dir/consents.out" 2>&1 &
  consents=$!
  pgbench -n -c 1 -R 1 -T "$SECONDS_PER_RUN" -f "$dir/label.sql" bench >"$dir/labels.out" 2>&1 &
  labels=$!
  churning+=("$(lookups)")
  wait "$consents" "$labels"
  # 50 transactions a second of one grant and one withdrawal each: 100 consent changes a second
  rates+=("$(( $(grep -oE 'number of transactions actually processed: [0-9]+' "$dir/consents.out" | grep -oE '[0-9]+$') * 2 / SECONDS_PER_RUN ))/s+$(grep -oE 'number of transactions actually processed: [0-9]+' "$dir/labels.out" | grep -oE '[0-9]+$')labels")
done
mq=$(printf '%s\n' "${quiet[@]}" | median); mc=$(printf '%s\n' "${churning[@]}" | median)
echo "quiet tps: ${quiet[*]} (median $mq); churning tps: ${churning[*]} (median $mc); changes per run: ${rates[*]}"
echo "ratio: $(ratio "$mc" "$mq") (target >= 0.80)"

echo "-- every change visible at the next statement of an open session"
psql -X -q -d bench -c "SELECT privacy.withdraw_consent('7', 'marketing')" >/dev/null
psql -X -At -d bench -U app <<SQL
SELECT 'before: ' || count(*) FROM people WHERE id = 7;
\! psql -X -q -d bench -c "SELECT privacy.grant_consent('7', 'marketing')" >/dev/null
SELECT 'after a grant: ' || count(*) FROM people WHERE id = 7;
\! psql -X -q -d bench -c "SELECT privacy.withdraw_consent('7', 'marketing')" >/dev/null
SELECT 'after a withdrawal: ' || count(*) FROM people WHERE id = 7;
SELECT 'email before: ' || email FROM people WHERE id = 8;
\! psql -X -q -d bench -c "SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH VALUE ''(hidden)'''" >/dev/null
SELECT 'email after a label change: ' || email FROM people WHERE id = 8;
SQL
