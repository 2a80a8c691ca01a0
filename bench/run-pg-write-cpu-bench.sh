#!/usr/bin/env bash
# PostgreSQL's CPU per allocation and per mark-for-deletion, statement by statement, for the
# schema of one build against another's. One psql connection runs the store's own
# allocate_from and mark_at_version statements (src/store/postgres/sql/sandbox.sql, prepared,
# each in autocommit as the store runs them) N times each on a schema that the build's
# `migrate` made, and the backend's CPU time over those N (from /proc/PID/schedstat, in
# nanoseconds) is divided by N. No broker, no HTTP, no other connection: the figure follows
# what the schema makes each statement do (its triggers, its indexes), and moves little with
# the machine's load. The two builds' schemas alternate, ROUNDS times (the order swapped
# every round); medians at the end. The check: every allocation took a sandbox and every
# mark marked one.
#
# Knobs (environment): BASE_BIN (the previous build's sandbox-broker; required), BROKER_BIN
# (default build/sandbox-broker), N (3000), ROUNDS (5), POOL (20000 sandboxes, at least
# N + 200), BENCH_POSTGRES_URL (a cluster on this machine: the script reads its backend's
# /proc entry; default: a private one from scripts/pg-test-cluster.sh). See bench/README.md,
# "The PostgreSQL benchmark".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

base_bin=${BASE_BIN:?BASE_BIN: the previous build\'s sandbox-broker}
new_bin=${BROKER_BIN:-$repo/build/sandbox-broker}
n=${N:-3000}
rounds=${ROUNDS:-5}
pool=${POOL:-20000}
warm=200
workdir_parent=${BENCH_WORKDIR:-$repo/out}
((pool >= n + warm)) || { echo "POOL must be at least N + $warm" >&2; exit 2; }

source bench/lib.sh
bench_workdir pg-write-cpu-bench
chmod 0755 "$work"  # a private PostgreSQL cluster's server may run as another user
cleanup() {
    bench_postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT
bench_postgres

pg_write_statements

# The psql script of one measurement: warm-up allocations, then N allocations for new
# participants (p1..pN take the pool's sandboxes in name order after the warm-up's), then N
# marks of those, the backend's CPU time written to $1.alloc0/1 and $1.mark1 around them.
now=1700000000
script() {
    local out=$1 i
    echo "\\o /dev/null"
    # The commit's flush is the WAL writer's then: the fsync's kernel time (which varies with
    # the disk and whatever else writes to it) stays out of the backend's figure.
    echo "SET synchronous_commit = off;"
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv BPID :pid"
    echo "PREPARE allocate AS $allocate_sql;"
    echo "PREPARE mark AS $mark_sql;"
    for ((i = 1; i <= warm; i++)); do
        echo "EXECUTE allocate('w$i', '', 'w$i', $now, $((now + 3600)), 1, '', '');"
    done
    echo "\\! awk '{print \$1}' /proc/\$BPID/schedstat > $out.alloc0"
    for ((i = 1; i <= n; i++)); do
        echo "EXECUTE allocate('p$i', '', 'p$i', $now, $((now + 3600)), 1, '', '');"
    done
    echo "\\! awk '{print \$1}' /proc/\$BPID/schedstat > $out.alloc1"
    for ((i = 1; i <= n; i++)); do
        printf "EXECUTE mark('id-%06d', 'p%d', %d, 2);\n" $((warm + i - 1)) "$i" $((now + 60))
    done
    echo "\\! awk '{print \$1}' /proc/\$BPID/schedstat > $out.mark1"
}

declare -A alloc_us mark_us
run_one() {
    local build=$1 round=$2 bin schema
    bin=$base_bin
    [[ $build == new ]] && bin=$new_bin
    schema=bench_write_${build}_${round}_$$
    local version
    version=$(pg_pool_schema "$schema" "$bin" "$pool" "$now")
    { echo "SET search_path TO $schema;"; script "$work/$build"; } >"$work/script.sql"
    psql_cmd -f "$work/script.sql"
    local held marked
    held=$(psql_cmd -At -c "SELECT count(*) FROM $schema.sandboxes WHERE allocated_to_track LIKE 'p%'")
    marked=$(psql_cmd -At -c "SELECT count(*) FROM $schema.sandboxes WHERE status = 'pending_deletion'")
    if ((held != n || marked != n)); then
        echo "$build round $round: $held sandboxes held and $marked marked, expected $n each" >&2
        exit 1
    fi
    local a0 a1 m1
    a0=$(cat "$work/$build.alloc0") a1=$(cat "$work/$build.alloc1") m1=$(cat "$work/$build.mark1")
    alloc_us[$build]+="$(awk -v a="$a0" -v b="$a1" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / n / 1000}') "
    mark_us[$build]+="$(awk -v a="$a1" -v b="$m1" -v n="$n" 'BEGIN {printf "%.1f", (b - a) / n / 1000}') "
    printf "  round %d %-4s (schema version %s): allocation %6s µs, mark %6s µs\n" "$round" "$build" "$version" \
        "$(echo "${alloc_us[$build]}" | awk '{print $NF}')" "$(echo "${mark_us[$build]}" | awk '{print $NF}')"
    psql_cmd -c "DROP SCHEMA $schema CASCADE"
}

echo "PostgreSQL backend CPU per statement: N=$n, POOL=$pool, ROUNDS=$rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then order=(base new); else order=(new base); fi
    for build in "${order[@]}"; do run_one "$build" "$round"; done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for build in base new; do
    # shellcheck disable=SC2086
    printf "median %-4s: allocation %s µs, mark %s µs\n" "$build" "$(median ${alloc_us[$build]})" \
        "$(median ${mark_us[$build]})"
done
