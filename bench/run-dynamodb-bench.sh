#!/usr/bin/env bash
# DynamoDB allocation benchmark: allocations per second through one `run` broker on the
# DynamoDB store, against dynalite (tools/dynalite, an emulator: this measures the broker's
# protocol and request count, not DynamoDB's own latency). Each run: a fresh table holding
# POOL sandboxes (imported), the broker on a free loopback port, 50 connections of distinct
# participants for SECONDS_PER_PHASE, then every grant checked for duplicates.
# Knobs (environment): BUILD_DIR (build), RUNS (3), POOL (3000), SECONDS_PER_PHASE (5),
# CONNECTIONS (50), BENCH_WORKDIR (out/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-3}
pool_size=${POOL:-3000}
phase_sec=${SECONDS_PER_PHASE:-5}
connections=${CONNECTIONS:-50}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
bench_dynalite dynamodb-bench
api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM

echo "== pool: $pool_size sandboxes, $connections connections, dynalite at $endpoint"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"

declare -a rps p50 p99 non2xx errors dups
for run in $(seq 1 "$runs"); do
    echo
    echo "== run $run of $runs"
    dir=$work/run$run
    mkdir -p "$dir"
    store="dynamodb://bench_run_$run?endpoint=$endpoint"
    "$broker_bin" migrate --store "$store" >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
    import_start=$(date +%s.%N)
    "$broker_bin" import "$work/pool.json" --store "$store" >"$dir/import.log" 2>&1 ||
        { cat "$dir/import.log"; exit 1; }
    echo "imported in $(awk -v a="$import_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"

    RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
        "$broker_bin" run --listen 127.0.0.1:0 --store "$store" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")

    alloc=$("$loadgen_bin" --url "http://127.0.0.1:$port" --duration "$phase_sec" --threads 1 --run-id "d$run" \
        --path /v1/allocate --method POST --connections "$connections" --token "$api_token" \
        --unique-participant --grants-out "$dir/grants.txt")
    echo "$alloc" | sed '$d'
    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=""

    a=$(tail -n1 <<<"$alloc")
    rps+=("$(field "$a" rps)"); p50+=("$(field "$a" p50_ms)"); p99+=("$(field "$a" p99_ms)")
    non2xx+=("$(field "$a" non2xx)"); errors+=("$(field "$a" errors)"); dups+=("$(field "$a" duplicates)")
done

echo
echo "== summary ($runs runs, ${phase_sec}s, pool $pool_size, $(nproc) cores shared by broker, dynalite and loadgen)"
printf '%-6s %12s %10s %10s %7s %7s %5s\n' run alloc/s p50ms p99ms non2xx errors dups
for i in $(seq 0 $((runs - 1))); do
    printf '%-6s %12s %10s %10s %7s %7s %5s\n' $((i + 1)) "${rps[i]}" "${p50[i]}" "${p99[i]}" "${non2xx[i]}" \
        "${errors[i]}" "${dups[i]}"
done
printf '%-6s %12s %10s %10s %7s %7s %5s\n' median "$(median "${rps[@]}")" "$(median "${p50[@]}")" \
    "$(median "${p99[@]}")" "$(median "${non2xx[@]}")" "$(median "${errors[@]}")" "$(median "${dups[@]}")"
total_bad=0
for i in $(seq 0 $((runs - 1))); do total_bad=$((total_bad + non2xx[i] + errors[i] + dups[i])); done
if ((total_bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or duplicate allocations seen (see above)"
    exit 1
fi
