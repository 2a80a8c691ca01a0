#!/usr/bin/env bash
# Allocation benchmark: durable allocations per second against the same binary's /healthz.
# Three runs; each on a fresh SQLite store holding a 200 000-sandbox pool, with the broker
# on a free loopback port (127.0.0.1:0) and the rate limiter off (RATE_LIMIT_ENABLED=true turns it on). Prints per-run figures and medians.
# See bench/README.md. Knobs (environment): BUILD_DIR (build), RUNS (3), POOL (200000),
# SECONDS_PER_PHASE (5), LOADGEN_THREADS (1), BENCH_WORKDIR (out/, on the disk under test),
# BROKER_BIN (another sandbox-broker binary to measure, e.g. an older build to compare with).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-3}
pool_size=${POOL:-200000}
phase_sec=${SECONDS_PER_PHASE:-5}
loadgen_threads=${LOADGEN_THREADS:-1}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
broker_bin=${BROKER_BIN:-$broker_bin}
bench_workdir allocation-bench
broker_pid=""
cleanup() {
    if [[ -n "$broker_pid" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT


api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== pool: $pool_size sandboxes"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"

declare -a health_rps alloc50_rps alloc200_rps ratio p50_50 p99_50 p50_200 p99_200 non2xx dups errors

for run in $(seq 1 "$runs"); do
    echo
    echo "== run $run of $runs"
    dir=$work/run$run
    mkdir -p "$dir"
    store=sqlite:$dir/broker.db
    "$broker_bin" migrate --store "$store" >"$dir/migrate.log" 2>&1
    import_start=$(date +%s.%N)
    "$broker_bin" import "$work/pool.json" --store "$store" >"$dir/import.log" 2>&1 ||
        { cat "$dir/import.log"; exit 1; }
    echo "imported in $(awk -v a="$import_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"

    # Port 0: the broker binds a free port and names it on its first line of output.
    RATE_LIMIT_ENABLED=${RATE_LIMIT_ENABLED:-false} BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
        "$broker_bin" run --listen 127.0.0.1:0 --store "$store" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || { cat "$dir/broker.log"; exit 1; }

    common=(--url "http://127.0.0.1:$port" --duration "$phase_sec" --threads "$loadgen_threads")
    health=$("$loadgen_bin" "${common[@]}" --path /healthz --method GET --connections 50)
    echo "$health" | sed '$d'
    alloc50=$("$loadgen_bin" "${common[@]}" --run-id "r${run}a" --path /v1/allocate --method POST --connections 50 \
        --token "$api_token" --unique-participant --grants-out "$dir/grants50.txt")
    echo "$alloc50" | sed '$d'
    alloc200=$("$loadgen_bin" "${common[@]}" --run-id "r${run}b" --path /v1/allocate --method POST \
        --connections 200 --token "$api_token" --unique-participant --grants-out "$dir/grants200.txt")
    echo "$alloc200" | sed '$d'

    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""

    h=$(tail -n1 <<<"$health"); a=$(tail -n1 <<<"$alloc50"); b=$(tail -n1 <<<"$alloc200")
    health_rps+=("$(field "$h" rps)")
    alloc50_rps+=("$(field "$a" rps)")
    alloc200_rps+=("$(field "$b" rps)")
    ratio+=("$(awk -v a="$(field "$a" rps)" -v h="$(field "$h" rps)" 'BEGIN {printf "%.3f", (h > 0 ? a / h : 0)}')")
    p50_50+=("$(field "$a" p50_ms)"); p99_50+=("$(field "$a" p99_ms)")
    p50_200+=("$(field "$b" p50_ms)"); p99_200+=("$(field "$b" p99_ms)")
    non2xx+=("$(($(field "$h" non2xx) + $(field "$a" non2xx) + $(field "$b" non2xx)))")
    errors+=("$(($(field "$h" errors) + $(field "$a" errors) + $(field "$b" errors)))")
    # Both allocation phases hit one store: a sandbox granted in both is a double allocation too.
    across=$(cat "$dir/grants50.txt" "$dir/grants200.txt" | awk '{print $1}' | sort | uniq -d | wc -l)
    dups+=("$(($(field "$a" duplicates) + $(field "$b" duplicates) + across))")
done

echo
echo "== summary ($runs runs, ${phase_sec}s per phase, pool $pool_size, $(nproc) cores shared by broker and loadgen;"
echo "   loadgen uses $loadgen_threads thread(s), the broker its defaults; durable SQLite store on $(df -P "$work" | awk 'NR==2 {print $1}'))"
# Other work on the machine skews every figure, tail latency most: say how busy it was.
echo "   load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (above $(nproc): other processes competed)"
printf '%-6s %12s %12s %8s %10s %10s %12s %10s %10s %7s %7s %5s\n' run healthz/s alloc@50/s ratio p50@50ms p99@50ms \
    alloc@200/s p50@200ms p99@200ms non2xx errors dups
for i in $(seq 0 $((runs - 1))); do
    printf '%-6s %12s %12s %8s %10s %10s %12s %10s %10s %7s %7s %5s\n' $((i + 1)) "${health_rps[i]}" \
        "${alloc50_rps[i]}" "${ratio[i]}" "${p50_50[i]}" "${p99_50[i]}" "${alloc200_rps[i]}" "${p50_200[i]}" \
        "${p99_200[i]}" "${non2xx[i]}" "${errors[i]}" "${dups[i]}"
done
printf '%-6s %12s %12s %8s %10s %10s %12s %10s %10s %7s %7s %5s\n' median "$(median "${health_rps[@]}")" \
    "$(median "${alloc50_rps[@]}")" "$(median "${ratio[@]}")" "$(median "${p50_50[@]}")" \
    "$(median "${p99_50[@]}")" "$(median "${alloc200_rps[@]}")" "$(median "${p50_200[@]}")" \
    "$(median "${p99_200[@]}")" "$(median "${non2xx[@]}")" "$(median "${errors[@]}")" "$(median "${dups[@]}")"

echo
echo "targets: alloc/healthz ratio >= 0.25 (median $(median "${ratio[@]}")), p99 @200 <= 20 ms" \
    "(median $(median "${p99_200[@]}") ms), no non-2xx, no duplicates"

total_bad=0
for i in $(seq 0 $((runs - 1))); do total_bad=$((total_bad + non2xx[i] + errors[i] + dups[i])); done
if ((total_bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or duplicate allocations seen (see above)"
    exit 1
fi
