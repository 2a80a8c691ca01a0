#!/usr/bin/env bash
# Outbox benchmark: durable allocations at 50 connections with the outbox on (one webhook
# subscription taking every event, delivered by the same `run` process to a local receiver
# answering 204) and off (EVENTS_ENABLED=false), in one interleaved run: each run starts a
# broker per condition on a fresh copy of one SQLite store, alternating which goes first.
# Prints per-run figures, the medians and the difference. The receiver is bench/webhook_sink.py
# (Python's http.server). Knobs: BUILD_DIR (build), RUNS (5), POOL (100000),
# SECONDS_PER_PHASE (5), SUBSCRIBE (1; 0: no subscription, the outbox's own cost), BENCH_WORKDIR
# (out/), BROKER_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-5}
pool_size=${POOL:-100000}
phase_sec=${SECONDS_PER_PHASE:-5}
subscribe=${SUBSCRIBE:-1}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
broker_bin=${BROKER_BIN:-$broker_bin}
bench_workdir events-bench
broker_pid=""
sink_pid=""
cleanup() {
    if [[ -n "$broker_pid" ]]; then kill "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true; fi
    if [[ -n "$sink_pid" ]]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

python3 bench/webhook_sink.py >"$work/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 1 100); do grep -q '^listening' "$work/sink.log" && break; sleep 0.1; done
sink_port=$(sed -n 's/^listening on \([0-9]*\)/\1/p' "$work/sink.log")
[[ -n "$sink_port" ]] || { echo "webhook sink did not start:"; cat "$work/sink.log"; exit 1; }

echo "== pool: $pool_size sandboxes, imported once"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"
mkdir -p "$work/template"
"$broker_bin" migrate --store "sqlite:$work/template/broker.db" >"$work/migrate.log" 2>&1
"$broker_bin" import "$work/pool.json" --store "sqlite:$work/template/broker.db" >"$work/import.log" 2>&1 ||
    { cat "$work/import.log"; exit 1; }

declare -a rps_on p50_on p99_on rps_off p50_off p99_off delivered bad
# One condition of one run: a broker on a fresh copy of the store, the subscription, one
# allocation phase at 50 connections. Prints loadgen's JSON line last.
phase() {
    local events=$1 tag=$2
    local dir=$work/$tag
    mkdir -p "$dir"
    cp "$work/template/"broker.db* "$dir/"
    EVENTS_ENABLED=$events RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
        LOG_LEVEL=warn "$broker_bin" run --listen 127.0.0.1:0 --store "sqlite:$dir/broker.db" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    ((subscribe)) && curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
        -d "{\"url\": \"http://127.0.0.1:$sink_port/hook\", \"event_types\": \"*\"}" \
        "http://127.0.0.1:$port/v1/admin/webhooks" >/dev/null
    "$loadgen_bin" --url "http://127.0.0.1:$port" --duration "$phase_sec" --threads 1 --run-id "$tag" \
        --path /v1/allocate --method POST --connections 50 --token "$api_token" --unique-participant \
        --grants-out "$dir/grants.txt"
    curl -fsS "http://127.0.0.1:$port/metrics" | sed -n 's/^broker_webhook_deliveries_total{outcome="delivered"} \(.*\)/\1/p' >"$dir/delivered.txt"
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
}

for run in $(seq 1 "$runs"); do
    echo
    order="true false"
    ((run % 2 == 0)) && order="false true"
    echo "== run $run of $runs (outbox: $order)"
    for events in $order; do
        tag=r${run}-$events
        line=$(phase "$events" "$tag" | tail -n1)
        d=$(cat "$work/$tag/delivered.txt"); d=${d:-0}
        echo "   outbox=$events: $line (webhooks delivered during the phase: $d)"
        if [[ $events == true ]]; then
            rps_on+=("$(field "$line" rps)"); p50_on+=("$(field "$line" p50_ms)"); p99_on+=("$(field "$line" p99_ms)")
            delivered+=("$d")
        else
            rps_off+=("$(field "$line" rps)"); p50_off+=("$(field "$line" p50_ms)"); p99_off+=("$(field "$line" p99_ms)")
        fi
        bad+=("$(($(field "$line" non2xx) + $(field "$line" errors) + $(field "$line" duplicates)))")
    done
done

pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (a > 0 ? (b - a) * 100 / a : 0)}'; }
echo
echo "== summary ($runs interleaved runs, ${phase_sec}s per phase, c50, pool $pool_size, $(nproc) cores shared by"
echo "   broker, loadgen and the webhook receiver; subscriptions: $subscribe)"
echo "   load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (above $(nproc): other processes competed)"
printf '%-6s %12s %10s %10s %12s %10s %10s %10s\n' run "alloc/s off" "p50ms off" "p99ms off" "alloc/s on" "p50ms on" "p99ms on" delivered
for i in $(seq 0 $((runs - 1))); do
    printf '%-6s %12s %10s %10s %12s %10s %10s %10s\n' $((i + 1)) "${rps_off[i]}" "${p50_off[i]}" "${p99_off[i]}" \
        "${rps_on[i]}" "${p50_on[i]}" "${p99_on[i]}" "${delivered[i]}"
done
m_off=$(median "${rps_off[@]}"); m_on=$(median "${rps_on[@]}")
m_p50_off=$(median "${p50_off[@]}"); m_p50_on=$(median "${p50_on[@]}")
m_p99_off=$(median "${p99_off[@]}"); m_p99_on=$(median "${p99_on[@]}")
printf '%-6s %12s %10s %10s %12s %10s %10s\n' median "$m_off" "$m_p50_off" "$m_p99_off" "$m_on" "$m_p50_on" "$m_p99_on"
echo "outbox on vs off: throughput $(pct "$m_off" "$m_on") (ratio $(awk -v a="$m_off" -v b="$m_on" 'BEGIN {printf "%.3f", (a > 0 ? b / a : 0)}')), p50 $(pct "$m_p50_off" "$m_p50_on"), p99 $(pct "$m_p99_off" "$m_p99_on") (target: at most 10 % slower)"
total_bad=0
for b in "${bad[@]}"; do total_bad=$((total_bad + b)); done
if ((total_bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or duplicate allocations seen (see above)"
    exit 1
fi
