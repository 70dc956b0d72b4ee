# Helpers shared by the benchmark scripts (source it).

# Median of the numbers on standard input, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The TPS figure of pgbench output on standard input.
tps() { grep -oE 'tps = [0-9.]+' | head -1 | awk '{print $3}'; }

# The mean latency in ms of pgbench output on standard input.
latency() { grep -oE 'latency average = [0-9.]+' | head -1 | awk '{print $4}'; }

# ratio A B: A / B with three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

# pgbench_alternating ROUNDS SECONDS DB USER_A SCRIPT_A USER_B SCRIPT_B: runs the two workloads
# alternately (B first each round) and prints "A_TPS_LIST|B_TPS_LIST".
pgbench_alternating() {
  local rounds=$1 seconds=$2 db=$3 user_a=$4 script_a=$5 user_b=$6 script_b=$7 a=() b=()
  for _ in $(seq "$rounds"); do
    b+=("$("$PG_BIN/pgbench" -n -M prepared -c 1 -j 1 -T "$seconds" -U "$user_b" -f "$script_b" "$db" 2>/dev/null | tps)")
    a+=("$("$PG_BIN/pgbench" -n -M prepared -c 1 -j 1 -T "$seconds" -U "$user_a" -f "$script_a" "$db" 2>/dev/null | tps)")
  done
  echo "${a[*]}|${b[*]}"
}

# report_alternating LABEL_A LABEL_B TARGET "A_LIST|B_LIST": medians and their ratio.
report_alternating() {
  local a_list=${4%%|*} b_list=${4##*|} ma mb
  ma=$(printf '%s\n' $a_list | median); mb=$(printf '%s\n' $b_list | median)
  echo "$1 tps: $a_list (median $ma); $2 tps: $b_list (median $mb)"
  echo "ratio: $(ratio "$ma" "$mb") (target $3)"
}

# The ungoverned select-only workload (issue 11) on the cluster PGHOST/PGPORT point at: database
# `sel`, pgbench scale 10, and `clerk`, an ordinary login pg_privacy does not govern.
setup_select() {
  psql -X -q -d postgres -c "CREATE DATABASE sel"
  pgbench -q -i -s 10 sel >/dev/null 2>&1
  psql -X -q -d sel -c "CREATE ROLE clerk LOGIN" -c "GRANT SELECT ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO clerk" -c "VACUUM ANALYZE"
}

# What makes the library do its work in `sel` although clerk is not governed: the extension, a
# masking rule on another table and a masked role.
setup_select_rules() {
  psql -X -q -v ON_ERROR_STOP=1 -d sel <<'SQL'
CREATE EXTENSION pg_privacy;
CREATE TABLE people (id int PRIMARY KEY, email text);
SECURITY LABEL FOR privacy ON COLUMN people.email IS 'MASKED WITH FUNCTION privacy.mask_email(email)';
CREATE ROLE analyst;
SECURITY LABEL FOR privacy ON ROLE analyst IS 'MASKED';
SQL
}
