#!/usr/bin/env bash
# PostgreSQL allocation benchmark: durable allocations per second and latency through one
# and through two `serve` replicas sharing one PostgreSQL database, at 50 and 200
# connections, beside the same binary's /healthz and (optionally) the SQLite figures of
# bench/run-allocation-bench.sh. Three runs, each on a fresh schema holding a 200 000-sandbox
# pool; medians at the end. See bench/README.md.
# Knobs (environment): BUILD_DIR (build), RUNS (3), POOL (200000), SECONDS_PER_PHASE (5),
# LOADGEN_THREADS (1), BENCH_WORKDIR (out/), BENCH_POSTGRES_URL (a server to use instead of a
# private cluster started here), WITH_SQLITE (1: also run run-allocation-bench.sh and print
# its medians). The broker's settings (DB_POOL_SIZE, STORE_THREADS, HTTP_THREADS, ...) pass
# through the environment to both replicas.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-3}
pool_size=${POOL:-200000}
phase_sec=${SECONDS_PER_PHASE:-5}
loadgen_threads=${LOADGEN_THREADS:-1}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
with_sqlite=${WITH_SQLITE:-1}

source bench/lib.sh
bench_build
bench_workdir postgres-bench
chmod 0755 "$work"  # the private cluster's server may run as another user
replica_pids=()
stop_replicas() {
    local pid
    for pid in "${replica_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${replica_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    replica_pids=()
}
cleanup() {
    stop_replicas
    bench_postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT

# --- the database: a private cluster (fsync and synchronous_commit on) unless one is given ---
bench_postgres
echo "== PostgreSQL: $(psql_cmd -Atc 'SHOW server_version') at ${pg_url%%\?*}" \
    "(fsync $(psql_cmd -Atc 'SHOW fsync'), synchronous_commit on per session, max_connections" \
    "$(psql_cmd -Atc 'SHOW max_connections'))"

# CPU time (clock ticks) used so far by processes $@ (threads included).
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        [[ -r /proc/$pid/stat ]] && total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}
# The same for the whole PostgreSQL server (when it is ours): the postmaster, its live
# children, and the children it has reaped (counted into its own cutime/cstime).
pg_ticks() {
    ((own_cluster)) || { echo 0; return; }
    local pm total
    pm=$(head -n1 "$work/pg/data/postmaster.pid")
    total=$(sed 's/.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}')
    echo $((total + $(cpu_ticks $(pgrep -P "$pm"))))
}
hz=$(getconf CLK_TCK)


api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM

# Starts a `serve` replica on a free port of 127.0.0.1 for schema $1, log $2; sets `port`.
# (Not through $(...): the replica's pid must reach replica_pids of this shell.)
start_replica() {
    local schema=$1 log=$2
    port=""
    DB_SCHEMA=$schema RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
        LOG_LEVEL=${LOG_LEVEL:-warn} "$broker_bin" serve --listen 127.0.0.1:0 --store "$pg_url" >"$log" 2>&1 &
    replica_pids+=($!)
    port=$(bench_port "$log" "${replica_pids[-1]}")
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || { echo "replica not ready:" >&2; cat "$log" >&2; exit 1; }
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== pool: $pool_size sandboxes"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"

# Per run and phase: rps, p50, p99. Phases: h1 (healthz, one replica), a1_50, a1_200 (one
# replica), a2_50, a2_200 (two replicas, connections alternating between them).
phases=(h1 a1_50 a1_200 a2_50 a2_200)
declare -A rps p50 p99 cpu_broker cpu_pg
declare -a bad
for run in $(seq 1 "$runs"); do
    echo
    echo "== run $run of $runs"
    dir=$work/run$run
    mkdir -p "$dir"
    schema=bench_run${run}_$$
    psql_cmd -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
    DB_SCHEMA=$schema "$broker_bin" migrate --store "$pg_url" >"$dir/migrate.log" 2>&1 ||
        { cat "$dir/migrate.log"; exit 1; }
    import_start=$(date +%s.%N)
    DB_SCHEMA=$schema "$broker_bin" import "$work/pool.json" --store "$pg_url" >"$dir/import.log" 2>&1 ||
        { cat "$dir/import.log"; exit 1; }
    psql_cmd -c "VACUUM ANALYZE $schema.sandboxes"
    echo "imported in $(awk -v a="$import_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"

    start_replica "$schema" "$dir/replica1.log"; port1=$port
    start_replica "$schema" "$dir/replica2.log"; port2=$port
    one=(--url "http://127.0.0.1:$port1")
    two=(--url "http://127.0.0.1:$port1" --url "http://127.0.0.1:$port2")
    common=(--duration "$phase_sec" --threads "$loadgen_threads")
    alloc=(--path /v1/allocate --method POST --token "$api_token" --unique-participant)
    declare -A out=() cpu=()
    # One phase: loadgen with arguments $2...; its output in out[$1], and the CPU the
    # replicas and the server used meanwhile in cpu[$1] (ticks: replicas, server).
    phase() {
        local name=$1; shift
        local r0 p0
        r0=$(cpu_ticks "${replica_pids[@]}"); p0=$(pg_ticks)
        out[$name]=$("$loadgen_bin" "$@")
        cpu[$name]="$(($(cpu_ticks "${replica_pids[@]}") - r0)) $(($(pg_ticks) - p0))"
    }
    phase h1 "${one[@]}" "${common[@]}" --path /healthz --method GET --connections 50
    phase a1_50 "${one[@]}" "${common[@]}" "${alloc[@]}" --run-id "r${run}a" --connections 50 --grants-out "$dir/g1.txt"
    phase a1_200 "${one[@]}" "${common[@]}" "${alloc[@]}" --run-id "r${run}b" --connections 200 \
        --grants-out "$dir/g2.txt"
    phase a2_50 "${two[@]}" "${common[@]}" "${alloc[@]}" --run-id "r${run}c" --connections 50 --grants-out "$dir/g3.txt"
    phase a2_200 "${two[@]}" "${common[@]}" "${alloc[@]}" --run-id "r${run}d" --connections 200 \
        --grants-out "$dir/g4.txt"
    stop_replicas

    problems=0
    for phase in "${phases[@]}"; do
        echo "$phase: $(sed -n '1p' <<<"${out[$phase]}")"
        sed -n '2,$p' <<<"${out[$phase]}" | sed '$d'
        last=$(tail -n1 <<<"${out[$phase]}")
        rps[$run,$phase]=$(field "$last" rps)
        p50[$run,$phase]=$(field "$last" p50_ms)
        p99[$run,$phase]=$(field "$last" p99_ms)
        # CPU microseconds per answer, broker replicas and PostgreSQL apart: unlike a rate,
        # this hardly moves when other processes compete for the cores.
        read -r rt pt <<<"${cpu[$phase]}"
        n=$(field "$last" requests)
        cpu_broker[$run,$phase]=$(awk -v t="$rt" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.0f", n ? t / hz * 1e6 / n : 0}')
        cpu_pg[$run,$phase]=$(awk -v t="$pt" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.0f", n ? t / hz * 1e6 / n : 0}')
        echo "  cpu       broker ${cpu_broker[$run,$phase]} us/answer, PostgreSQL ${cpu_pg[$run,$phase]} us/answer"
        problems=$((problems + $(field "$last" non2xx) + $(field "$last" errors) + $(field "$last" duplicates)))
    done
    # All four allocation phases drew from one pool: a sandbox granted twice anywhere is a double allocation.
    across=$(cat "$dir"/g[1-4].txt | awk '{print $1}' | sort | uniq -d | wc -l)
    # And the database agrees: each allocated row has its own participant.
    twice=$(psql_cmd -Atc "SELECT count(*) - count(DISTINCT allocated_to_track) FROM $schema.sandboxes
                           WHERE status = 'allocated'")
    bad[run]=$((problems + across + twice))
    psql_cmd -c "DROP SCHEMA $schema CASCADE"
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "== summary ($runs runs, ${phase_sec}s per phase, pool $pool_size, $(nproc) cores shared by PostgreSQL,"
echo "   the replicas and loadgen ($loadgen_threads thread); replica settings: DB_POOL_SIZE=${DB_POOL_SIZE:-default}" \
    "STORE_THREADS=${STORE_THREADS:-default} HTTP_THREADS=${HTTP_THREADS:-default})"
echo "   load average before: $load_before, after: $load_after (above $(nproc): other processes competed)"
printf '%-8s %10s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %4s\n' run healthz/s \
    '1r@50/s' p50ms p99ms '1r@200/s' p50ms p99ms '2r@50/s' p50ms p99ms '2r@200/s' p50ms p99ms bad
row() {
    local label=$1; shift
    printf '%-8s %10s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %9s %8s %8s | %4s\n' "$label" "$@"
}
for run in $(seq 1 "$runs"); do
    row "$run" "${rps[$run,h1]}" \
        "${rps[$run,a1_50]}" "${p50[$run,a1_50]}" "${p99[$run,a1_50]}" \
        "${rps[$run,a1_200]}" "${p50[$run,a1_200]}" "${p99[$run,a1_200]}" \
        "${rps[$run,a2_50]}" "${p50[$run,a2_50]}" "${p99[$run,a2_50]}" \
        "${rps[$run,a2_200]}" "${p50[$run,a2_200]}" "${p99[$run,a2_200]}" "${bad[run]}"
done
med() {  # median of metric $1 for phase $2 over the runs
    local -n table=$1
    local values=() run
    for run in $(seq 1 "$runs"); do values+=("${table[$run,$2]}"); done
    median "${values[@]}"
}
row median "$(med rps h1)" \
    "$(med rps a1_50)" "$(med p50 a1_50)" "$(med p99 a1_50)" \
    "$(med rps a1_200)" "$(med p50 a1_200)" "$(med p99 a1_200)" \
    "$(med rps a2_50)" "$(med p50 a2_50)" "$(med p99 a2_50)" \
    "$(med rps a2_200)" "$(med p50 a2_200)" "$(med p99 a2_200)" "-"

echo
echo "CPU per answer (medians, us; broker replicas + PostgreSQL server): healthz $(med cpu_broker h1)," \
    "1r@50 $(med cpu_broker a1_50)+$(med cpu_pg a1_50), 1r@200 $(med cpu_broker a1_200)+$(med cpu_pg a1_200)," \
    "2r@50 $(med cpu_broker a2_50)+$(med cpu_pg a2_50), 2r@200 $(med cpu_broker a2_200)+$(med cpu_pg a2_200)"

total_bad=0
for run in $(seq 1 "$runs"); do total_bad=$((total_bad + bad[run])); done

if [[ "$with_sqlite" == "1" ]]; then
    echo
    echo "== SQLite on the same machine (bench/run-allocation-bench.sh, one node):"
    RUNS=$runs POOL=$pool_size SECONDS_PER_PHASE=$phase_sec LOADGEN_THREADS=$loadgen_threads BUILD_DIR=$build_dir \
        BENCH_WORKDIR=$workdir_parent bench/run-allocation-bench.sh | sed -n '/^== summary/,$p'
fi

if ((total_bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or double allocations seen (column bad, see above)"
    exit 1
fi
