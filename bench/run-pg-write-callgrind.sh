#!/usr/bin/env bash
# PostgreSQL's instructions per allocation and per mark-for-deletion, counted by callgrind,
# for the schema of one build against another's: the figure of run-pg-write-cpu-bench.sh
# without the machine's load in it. Each build's `migrate` makes a schema on a private
# cluster, filled with the same POOL sandboxes; the server is then stopped and a single-user
# backend (`postgres --single`, no other process, fsync off) runs under callgrind the store's
# own allocate_from and mark_at_version statements (src/store/postgres/sql/sandbox.sql,
# prepared, each its own transaction). Three runs per build, each on a fresh copy of the
# stopped cluster: the warm-up only (WARM allocations), then N allocations more, then N marks
# of those more; the differences divided by N are the instructions per allocation and per
# mark (the whole backend is counted: its start-up and shutdown, the same in the three runs, cancel out).
#
# Knobs (environment): BASE_BIN (the previous build's sandbox-broker; required), BROKER_BIN
# (default build/sandbox-broker), N (1000), WARM (200), POOL (5000, at least N + WARM).
# See bench/README.md, "The PostgreSQL benchmark".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

base_bin=${BASE_BIN:?BASE_BIN: the previous build\'s sandbox-broker}
new_bin=${BROKER_BIN:-$repo/build/sandbox-broker}
n=${N:-1000}
warm=${WARM:-200}
pool=${POOL:-5000}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
((pool >= n + warm)) || { echo "POOL must be at least N + WARM" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

source bench/lib.sh
bench_workdir pg-write-callgrind
chmod 0755 "$work"  # the server may run as another user
export BROKER_PG_DIR=$work/pg
cleanup() {
    scripts/pg-test-cluster.sh stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
pg_url=$(scripts/pg-test-cluster.sh start)
data=$BROKER_PG_DIR/data
db=${pg_url##*/}
# As pg-test-cluster.sh runs the server: as root, as the postgres (or broker-pg) user.
run_as=""
if [[ "$(id -u)" == "0" ]]; then
    run_as=postgres
    id -u "$run_as" >/dev/null 2>&1 || run_as=broker-pg
fi
as_server() { if [[ -n "$run_as" ]]; then runuser -u "$run_as" -- "$@"; else "$@"; fi; }
mkdir "$work/out"
[[ -n "$run_as" ]] && chown "$run_as" "$work/out"  # callgrind writes its files as the server's user

pg_write_statements

now=1700000000
for build in base new; do
    bin=$base_bin
    [[ $build == new ]] && bin=$new_bin
    version=$(pg_pool_schema "s_$build" "$bin" "$pool" "$now")
    echo "$build: schema version $version ($bin)"
done
as_server "$pg_bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
cp -a "$data" "$work/clean"

# The single-user backend's input for build $1 with $2 allocations and $3 marks after the
# warm-up (commands end with a semicolon and an empty line: postgres --single -j).
script() {
    local build=$1 allocations=$2 marks=$3 i
    printf 'SET search_path TO s_%s;\n\n' "$build"
    printf 'PREPARE allocate AS %s;\n\n' "$allocate_sql"
    printf 'PREPARE mark AS %s;\n\n' "$mark_sql"
    for ((i = 1; i <= warm; i++)); do
        printf "EXECUTE allocate('w%d', '', 'w%d', %d, %d, 1, '', '');\n\n" "$i" "$i" "$now" $((now + 3600))
    done
    for ((i = 1; i <= allocations; i++)); do
        printf "EXECUTE allocate('p%d', '', 'p%d', %d, %d, 1, '', '');\n\n" "$i" "$i" "$now" $((now + 3600))
    done
    for ((i = 1; i <= marks; i++)); do
        printf "EXECUTE mark('id-%06d', 'p%d', %d, 2);\n\n" $((warm + i - 1)) "$i" $((now + 60))
    done
}

# Instructions of one run (build $1, $2 allocations, $3 marks) on a fresh copy of the cluster,
# after checking what the run left.
instructions() {
    local build=$1 out=$work/out/callgrind.$1.$2.$3
    rm -rf "$data"
    cp -a "$work/clean" "$data"
    script "$@" >"$work/input.sql"
    as_server valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$pg_bin/postgres" --single -j -F -D "$data" "$db" <"$work/input.sql" >"$work/single.log" 2>&1 ||
        { tail -20 "$work/single.log" >&2; exit 1; }
    if grep -q "ERROR" "$work/single.log"; then grep -m3 "ERROR" "$work/single.log" >&2; exit 1; fi
    # What the run left (read without callgrind): each allocation took a sandbox, each mark marked it.
    printf "SELECT count(*) FILTER (WHERE status = 'allocated') AS held, count(*) FILTER (WHERE status = 'pending_deletion') AS marked FROM s_%s.sandboxes WHERE allocated_to_track LIKE 'p%%';\n\n" \
        "$build" | as_server "$pg_bin/postgres" --single -j -F -D "$data" "$db" >"$work/check.log" 2>&1
    if ! grep -q "held = \"$(($2 - $3))\"" "$work/check.log" || ! grep -q "marked = \"$3\"" "$work/check.log"; then
        echo "$build: the run did not allocate $2 and mark $3:" >&2
        grep "held =\|marked =" "$work/check.log" >&2
        exit 1
    fi
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

echo "instructions per statement (callgrind, single-user backend): N=$n, WARM=$warm, POOL=$pool"
for build in base new; do
    warm_only=$(instructions "$build" 0 0)
    allocated=$(instructions "$build" "$n" 0)
    marked=$(instructions "$build" "$n" "$n")
    printf "%-4s: allocation %s, mark %s\n" "$build" \
        "$(awk -v a="$warm_only" -v b="$allocated" -v n="$n" 'BEGIN {printf "%.0f", (b - a) / n}')" \
        "$(awk -v a="$allocated" -v b="$marked" -v n="$n" 'BEGIN {printf "%.0f", (b - a) / n}')"
done
