#!/usr/bin/env bash
# `make demo`: a throwaway cluster with pg_privacy preloaded, the sample shop data, and the raw
# values next to what the masking functions make of them. The cluster keeps running until
# `make demo-stop`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=cluster.sh
. "$root/tests/lib/cluster.sh"

cluster_start demo
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE shop"
psql -d shop -c "CREATE EXTENSION pg_privacy"
psql -d shop -f "$root/examples/demo_data.sql" >/dev/null

echo
echo "== pg_privacy demo: the same customers, raw and masked =="
psql -d shop -P pager=off <<'SQL'
\echo '-- partial masking: what a support agent needs, nothing more'
SELECT first_name, email, privacy.mask_email(email) AS mask_email,
       phone, privacy.mask_phone(phone) AS mask_phone
FROM crm.customers ORDER BY id;
SELECT card_number, privacy.mask_card(card_number) AS mask_card,
       iban, privacy.mask_iban(iban) AS mask_iban
FROM crm.customers ORDER BY id;
\echo '-- generalization: enough for analytics, not enough to single anyone out'
SELECT birth_date, privacy.generalize_date(birth_date, 'year') AS year_of_birth,
       last_ip, privacy.mask_ip(last_ip) AS mask_ip
FROM crm.customers ORDER BY id;
\echo '-- keyed pseudonyms: stable (joins and counts still work), unreadable without the key'
SELECT first_name || ' ' || last_name AS name,
       privacy.pseudo_first_name(first_name) || ' ' || privacy.pseudo_last_name(last_name) AS pseudonym,
       privacy.pseudo_email(email) AS pseudo_email,
       left(privacy.hash(email), 16) || '…' AS hash
FROM crm.customers ORDER BY id;
\echo '-- orders per customer, grouped by pseudonym: the same totals as by real e-mail'
SELECT privacy.pseudo_email(c.email) AS customer, count(*) AS orders, sum(o.amount) AS total
FROM crm.orders o JOIN crm.customers c ON c.id = o.customer_id
GROUP BY 1 ORDER BY total DESC LIMIT 5;
SQL

echo
echo "== Dynamic masking: the owner's view and the analyst's view of the same table =="
show_customers() {
  psql -d shop -U "$1" -P pager=off -c "SELECT id, first_name, last_name, email, phone, card_number, birth_date, last_ip FROM crm.customers ORDER BY id LIMIT 5"
}
echo "-- as postgres (unmasked):"
show_customers postgres
echo "-- as analyst (labelled MASKED): same query, no application change"
show_customers analyst
echo "-- the analyst cannot search on the real values either:"
psql -d shop -U analyst -P pager=off -c "SELECT count(*) AS found FROM crm.customers WHERE email = 'alice.martin@example.com'"
echo "-- the rules in force (SELECT * FROM privacy.masking_rules):"
psql -d shop -P pager=off -c "SELECT * FROM privacy.masking_rules"

echo
echo "== Consent: the marketing application sees only customers who consented =="
echo "-- as marketing_app (allowed the 'marketing' purpose; no SET needed):"
psql -d shop -U marketing_app -P pager=off -c "SELECT id, first_name, email FROM crm.customers ORDER BY id"
echo "-- their orders only:"
psql -d shop -U marketing_app -P pager=off -c "SELECT customer_id, count(*) AS orders FROM crm.orders GROUP BY 1 ORDER BY 1"
echo "-- customer 3 clicks 'unsubscribe':"
psql -d shop -P pager=off -c "SELECT privacy.withdraw_consent('3', 'marketing', source => 'unsubscribe link') AS event_id"
psql -d shop -U marketing_app -P pager=off -c "SELECT id, first_name FROM crm.customers ORDER BY id"
echo "-- the proof of consent for customer 3:"
psql -d shop -P pager=off -c "SELECT purpose, state, recorded_at::timestamp(0), recorded_by, source FROM privacy.consent_history('3')"

echo
echo "== Pseudonyms: the e-mail is never stored, yet analytics still join and count =="
psql -d shop -P pager=off -c "SELECT customer, count(*) AS views FROM analytics.page_views GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3"
psql -d shop -P pager=off -c "SELECT c.first_name, count(*) AS views FROM analytics.page_views v JOIN crm.customers c ON v.customer = privacy.pseudonymize(c.email) GROUP BY 1 ORDER BY 1"

cat <<EOF

The demo cluster is running. Connect with:

    psql -h 127.0.0.1 -p $PGPORT -U postgres shop     # the owner: real values
    psql -h 127.0.0.1 -p $PGPORT -U analyst shop      # a masked analyst
    psql -h 127.0.0.1 -p $PGPORT -U marketing_app shop   # the marketing application

Stop it with: make demo-stop
EOF
