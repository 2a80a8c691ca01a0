#!/usr/bin/env bash
# /metrics flood benchmark: allocation latency (10 connections, unique participants) while 20
# connections scrape /metrics as fast as they can, in four set-ups: no flood; the flood on the
# API's port; the flood on a separate METRICS_LISTEN port; the flood without the token on the
# API's port with METRICS_TOKEN set. Everything on 127.0.0.1, one fresh SQLite store per case.
# See bench/README.md. Knobs: BUILD_DIR (build), POOL (60000), SECONDS_PER_PHASE (5),
# BENCH_WORKDIR (out/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
pool_size=${POOL:-60000}
phase_sec=${SECONDS_PER_PHASE:-5}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
bench_workdir metrics-flood-bench
broker_pid=""
flood_pid=""
cleanup() {
    bench_stop "$flood_pid" "$broker_pid"
    rm -rf "$work"
}
trap cleanup EXIT


# A loopback port nobody listens on right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export BROKER_API_TOKEN=bench-api-token-$RANDOM$RANDOM BROKER_ADMIN_TOKEN=bench-admin-token-$RANDOM$RANDOM
export RATE_LIMIT_ENABLED=false LOG_LEVEL=warn
metrics_token=bench-metrics-token-$RANDOM$RANDOM
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json" >/dev/null

# case NAME METRICS_LISTEN(empty: API port) FLOOD(yes/no) METRICS_TOKEN(empty: open)
run_case() {
    local name=$1 metrics_listen=$2 flood=$3 token=$4 dir=$work/$1
    mkdir -p "$dir"
    "$broker_bin" import "$work/pool.json" --store "sqlite:$dir/broker.db" >"$dir/import.log" 2>&1
    METRICS_LISTEN=$metrics_listen METRICS_TOKEN=$token \
        "$broker_bin" run --listen 127.0.0.1:0 --store "sqlite:$dir/broker.db" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    local url
    url=http://127.0.0.1:$(bench_port "$dir/broker.log" "$broker_pid")
    local metrics_url=$url
    [[ -n "$metrics_listen" ]] && metrics_url=http://$metrics_listen
    if [[ $flood == yes ]]; then
        "$loadgen_bin" --url "$metrics_url" --path /metrics --connections 20 --duration $((phase_sec + 2)) \
            >"$dir/flood.log" 2>&1 &
        flood_pid=$!
        sleep 0.5
    fi
    local alloc
    alloc=$("$loadgen_bin" --url "$url" --path /v1/allocate --method POST --connections 10 --duration "$phase_sec" \
        --token "$BROKER_API_TOKEN" --unique-participant | tail -n 1)
    local scrapes="-"
    if [[ -n "$flood_pid" ]]; then
        wait "$flood_pid" || true
        flood_pid=""
        scrapes=$(field "$(tail -n 1 "$dir/flood.log")" rps)
    fi
    kill "$broker_pid"; wait "$broker_pid" || true; broker_pid=""
    printf '%-34s %10s %10s %10s %12s\n' "$name" "$(field "$alloc" rps)" "$(field "$alloc" p50_ms)" \
        "$(field "$alloc" p99_ms)" "$scrapes"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %10s %10s %10s %12s\n' case alloc/s p50_ms p99_ms flood_req/s
run_case no_flood "" no ""
run_case flood_on_api_port "" yes ""
run_case flood_on_metrics_listen "127.0.0.1:$(free_port)" yes ""
run_case flood_without_token_on_api_port "" yes "$metrics_token"
