#!/usr/bin/env bash
# `sandbox-broker copy` throughput: a SQLite store of POOL sandboxes (imported, each with its
# one history event) copied into an empty PostgreSQL schema, and that schema copied back into
# a new SQLite file; sandboxes per second of each, medians of RUNS runs. See bench/README.md.
# Knobs (environment): BUILD_DIR (build), RUNS (3), POOL (100000), CHUNK (500, copy's
# --chunk), BENCH_WORKDIR (out/), BENCH_POSTGRES_URL (a server to use instead of a private
# cluster started here).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-3}
pool_size=${POOL:-100000}
chunk=${CHUNK:-500}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
bench_workdir copy-bench
chmod 0755 "$work"  # the private cluster's server may run as another user
cleanup() {
    bench_postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT

bench_postgres

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== pool: $pool_size sandboxes, chunks of $chunk"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"
"$broker_bin" import "$work/pool.json" --store "sqlite:$work/source.db" >"$work/import.log" 2>&1 ||
    { cat "$work/import.log"; exit 1; }

# Runs `sandbox-broker copy` with $@ as its flags; prints the wall seconds it took.
timed_copy() {
    local log=$1; shift
    local start end
    start=$(date +%s.%N)
    "$broker_bin" copy --chunk "$chunk" "$@" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    end=$(date +%s.%N)
    grep -q '^verified' "$log" || { cat "$log" >&2; return 1; }
    awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b - a}'
}

to_pg=()
to_sqlite=()
for run in $(seq 1 "$runs"); do
    schema=bench_copy${run}_$$
    psql_cmd -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
    s1=$(DB_SCHEMA=$schema timed_copy "$work/to-pg-$run.log" --from "sqlite:$work/source.db" --to "$pg_url")
    rm -f "$work/back.db"*
    s2=$(DB_SCHEMA=$schema timed_copy "$work/to-sqlite-$run.log" --from "$pg_url" --to "sqlite:$work/back.db")
    psql_cmd -c "DROP SCHEMA $schema CASCADE"
    r1=$(awk -v n="$pool_size" -v s="$s1" 'BEGIN {printf "%.0f", n / s}')
    r2=$(awk -v n="$pool_size" -v s="$s2" 'BEGIN {printf "%.0f", n / s}')
    echo "run $run: SQLite -> PostgreSQL ${s1} s (${r1}/s), PostgreSQL -> SQLite ${s2} s (${r2}/s)"
    to_pg+=("$r1")
    to_sqlite+=("$r2")
done
echo
echo "== medians of $runs runs, $pool_size sandboxes (wall time of the whole command: open, migrate, copy, verify)"
echo "SQLite -> PostgreSQL: $(median "${to_pg[@]}") sandboxes/s"
echo "PostgreSQL -> SQLite: $(median "${to_sqlite[@]}") sandboxes/s"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
