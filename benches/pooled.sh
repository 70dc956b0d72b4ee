#!/usr/bin/env bash
# Pooled sessions (issue 16.4), a ratio measured in one run: 8 pgbench clients on one login each
# (as a transaction-mode pooler hands out connections), every transaction switching to one of 20
# roles and purposes with SET LOCAL before a primary-key lookup, against the same workload on
# what a DBA would write by hand: a security_invoker view computing the masked column over a
# table with a row-security policy reading an indexed consent table and a purpose setting.
# 50,000 subjects, each consenting to 10 of the 20 purposes; the roles are masked (the e-mail).
# Simple protocol (pgbench substitutes the role and purpose into the SET statements), alternating
# runs, median TPS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/cluster.sh
. "$root/tests/lib/cluster.sh"
# shellcheck source=lib.sh
. "$root/benches/lib.sh"
export PATH="$PG_BIN:$PATH"
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
name=pooled
# POOLED_PROFILE=1 leaves the cluster running after set-up (for perf), without measuring
cluster_start "$name" "shared_buffers = 512MB" "jit = off" "max_parallel_workers_per_gather = 0"
trap 'cluster_stop "$name"' EXIT
dir=$(cluster_dir "$name")
psql -X -q -d postgres -c "CREATE DATABASE bench"
psql -X -q -v ON_ERROR_STOP=1 -d bench >/dev/null <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people AS
SELECT g AS id, 'Customer ' || g AS name, 'customer' || g || '@example.com' AS email FROM generate_series(1, 50000) g;
ALTER TABLE people ADD PRIMARY KEY (id);
CREATE TABLE people_peer AS SELECT * FROM people;
ALTER TABLE people_peer ADD PRIMARY KEY (id);
CREATE ROLE pool LOGIN;
CREATE ROLE pool_peer LOGIN;
SELECT format('CREATE ROLE app%s NOLOGIN', i), format('CREATE ROLE peer%s NOLOGIN', i) FROM generate_series(1, 20) i \gexec
SELECT format('GRANT app%s TO pool', i), format('GRANT peer%s TO pool_peer', i) FROM generate_series(1, 20) i \gexec
SELECT format('GRANT SELECT ON people TO app%s', i) FROM generate_series(1, 20) i \gexec
-- pg_privacy: the e-mail masked for the app roles, rows filtered by consent per purpose
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
SELECT format('SECURITY LABEL FOR privacy ON ROLE app%s IS %L', i, 'MASKED') FROM generate_series(1, 20) i \gexec
SELECT privacy.create_purpose('p' || i, true) FROM generate_series(1, 20) i;
SELECT privacy.set_subject('people', 'id');
SELECT privacy.allow_purpose('app' || i, 'p' || i) FROM generate_series(1, 20) i;
INSERT INTO privacy.consent_event (subject, purpose, state, source)
SELECT s::text, 'p' || p, 'granted', 'bench' FROM generate_series(1, 50000) s, generate_series(1, 20) p WHERE (s + p) % 2 = 0;
-- the peer: an indexed consent table, a policy on the purpose setting, a masking view
CREATE TABLE peer_consent (purpose text, subject_id int, valid_until timestamptz, PRIMARY KEY (purpose, subject_id));
INSERT INTO peer_consent SELECT 'p' || p, s, NULL FROM generate_series(1, 50000) s, generate_series(1, 20) p WHERE (s + p) % 2 = 0;
ALTER TABLE people_peer ENABLE ROW LEVEL SECURITY;
CREATE POLICY consent ON people_peer USING (EXISTS (
    SELECT 1 FROM peer_consent c
    WHERE c.purpose = current_setting('app.purpose') AND c.subject_id = people_peer.id
      AND (c.valid_until IS NULL OR c.valid_until > now())));
CREATE VIEW people_peer_v WITH (security_invoker) AS
SELECT id, name, privacy.mask_email(email) AS email FROM people_peer;
SELECT format('GRANT SELECT ON people_peer, people_peer_v, peer_consent TO peer%s', i) FROM generate_series(1, 20) i \gexec
VACUUM ANALYZE;
SQL
echo '\set i random(1, 20)
\set id random(1, 50000)
BEGIN;
SET LOCAL ROLE app:i;
SET LOCAL privacy.purpose = '"'"'p:i'"'"';
SELECT id, name, email FROM people WHERE id = :id;
COMMIT;' >"$dir/ours.sql"
echo '\set i random(1, 20)
\set id random(1, 50000)
BEGIN;
SET LOCAL ROLE peer:i;
SET LOCAL app.purpose = '"'"'p:i'"'"';
SELECT id, name, email FROM people_peer_v WHERE id = :id;
COMMIT;' >"$dir/peer.sql"
# both really mask and filter: subject 3 consented to the odd purposes ((3 + p) % 2 = 0), so p3 sees it masked and p4 not at all
for who in "pool app3 privacy.purpose p3 people" "pool app4 privacy.purpose p4 people" "pool_peer peer3 app.purpose p3 people_peer_v" "pool_peer peer4 app.purpose p4 people_peer_v"; do
  read -r login role setting purpose rel <<<"$who"
  echo "$login as $role for $purpose: $(psql -X -At -d bench -U "$login" -c "BEGIN" -c "SET LOCAL ROLE $role" -c "SET LOCAL $setting = '$purpose'" -c "SELECT coalesce(string_agg(email, ','), 'no row') FROM $rel WHERE id = 3" -c "COMMIT" | grep -v -E '^(BEGIN|SET|COMMIT)$')"
done
if [ -n "${POOLED_PROFILE:-}" ]; then
  trap - EXIT
  echo "cluster left running: PGHOST=$PGHOST PGPORT=$PGPORT; scripts in $dir"
  exit 0
fi
ours=() peer=()
for _ in $(seq "$ROUNDS"); do
  peer+=("$(pgbench -n -M simple -c 8 -j 2 -T "$SECONDS_PER_RUN" -U pool_peer -f "$dir/peer.sql" bench 2>/dev/null | tps)")
  ours+=("$(pgbench -n -M simple -c 8 -j 2 -T "$SECONDS_PER_RUN" -U pool -f "$dir/ours.sql" bench 2>/dev/null | tps)")
done
mo=$(printf '%s\n' "${ours[@]}" | median); mp=$(printf '%s\n' "${peer[@]}" | median)
echo "pg_privacy tps: ${ours[*]} (median $mo); hand-written tps: ${peer[*]} (median $mp)"
echo "ratio: $(ratio "$mo" "$mp") (target >= 0.90)"
