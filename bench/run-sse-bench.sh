#!/usr/bin/env bash
# Event stream benchmark: durable allocations at 50 connections with 0 and with 500 clients
# connected to the live event stream (GET /v1/admin/events), in one interleaved run: each run
# starts a broker on a fresh copy of one SQLite store (a 100 000-sandbox pool, the outbox on)
# and measures both conditions, alternating which goes first. Prints per-run figures, the
# medians and the difference. The stream clients (bench/sse_clients.py) are "idle" by default:
# their filter (SSE_QUERY=type=job.failed) takes no event the allocations write, so they get
# keep-alives only and what is measured is the cost of 500 open streams and the process's one
# outbox reader; SSE_QUERY= (empty) makes them take every event (500 copies of each allocation's
# event on the wire). Knobs: BUILD_DIR (build), RUNS (7), POOL (100000), SECONDS_PER_PHASE (4),
# SSE_CLIENTS (500), SSE_QUERY, BENCH_WORKDIR (out/), BROKER_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-7}
pool_size=${POOL:-100000}
phase_sec=${SECONDS_PER_PHASE:-4}
clients=${SSE_CLIENTS:-500}
sse_query=${SSE_QUERY-type=job.failed}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
broker_bin=${BROKER_BIN:-$broker_bin}
bench_workdir sse-bench
broker_pid=""
clients_pid=""
cleanup() {
    bench_stop "$clients_pid" "$broker_pid"
    rm -rf "$work"
}
trap cleanup EXIT

api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== pool: $pool_size sandboxes, imported once"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"
mkdir -p "$work/template"
"$broker_bin" migrate --store "sqlite:$work/template/broker.db" >"$work/migrate.log" 2>&1
"$broker_bin" import "$work/pool.json" --store "sqlite:$work/template/broker.db" >"$work/import.log" 2>&1 ||
    { cat "$work/import.log"; exit 1; }

declare -a rps0 p50_0 p99_0 rps1 p50_1 p99_1 bad
# One allocation phase at 50 connections; prints loadgen's JSON line last.
allocate_phase() {
    "$loadgen_bin" --url "http://127.0.0.1:$port" --duration "$phase_sec" --threads 1 --run-id "$1" \
        --path /v1/allocate --method POST --connections 50 --token "$api_token" --unique-participant \
        --grants-out "$dir/grants-$1.txt"
}

for run in $(seq 1 "$runs"); do
    echo
    dir=$work/run$run
    mkdir -p "$dir"
    cp "$work/template/"broker.db* "$dir/"
    RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token LOG_LEVEL=warn \
        "$broker_bin" run --listen 127.0.0.1:0 --store "sqlite:$dir/broker.db" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    order="0 $clients"
    ((run % 2 == 0)) && order="$clients 0"
    echo "== run $run of $runs (stream clients: $order)"
    for n in $order; do
        if ((n > 0)); then
            python3 bench/sse_clients.py "http://127.0.0.1:$port" "$admin_token" "$n" "$sse_query" >"$dir/clients.log" &
            clients_pid=$!
            for _ in $(seq 1 300); do grep -q '^connected' "$dir/clients.log" && break; sleep 0.1; done
            grep -q '^connected' "$dir/clients.log" || { echo "stream clients did not connect:"; cat "$dir/clients.log"; exit 1; }
            gauge=$(curl -fsS "http://127.0.0.1:$port/metrics" | sed -n 's/^broker_event_stream_clients \(.*\)/\1/p')
            echo "   $gauge stream clients connected"
        fi
        out=$(allocate_phase "r${run}c$n")
        line=$(tail -n1 <<<"$out")
        echo "   clients=$n: $line"
        if ((n > 0)); then
            rps1+=("$(field "$line" rps)"); p50_1+=("$(field "$line" p50_ms)"); p99_1+=("$(field "$line" p99_ms)")
            kill "$clients_pid"; wait "$clients_pid" || true; clients_pid=""
            echo "   stream clients: $(tail -n1 "$dir/clients.log")"
        else
            rps0+=("$(field "$line" rps)"); p50_0+=("$(field "$line" p50_ms)"); p99_0+=("$(field "$line" p99_ms)")
        fi
        bad+=("$(($(field "$line" non2xx) + $(field "$line" errors) + $(field "$line" duplicates)))")
    done
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
done

pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f%%", (a > 0 ? (b - a) * 100 / a : 0)}'; }
echo
echo "== summary ($runs interleaved runs, ${phase_sec}s per phase, c50, pool $pool_size, $(nproc) cores shared by"
echo "   broker, loadgen and the stream clients; stream clients' filter: '${sse_query:-every event}')"
echo "   load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (above $(nproc): other processes competed)"
printf '%-6s %12s %10s %10s %14s %10s %10s\n' run "alloc/s@0" "p50ms@0" "p99ms@0" "alloc/s@$clients" "p50ms@$clients" "p99ms@$clients"
for i in $(seq 0 $((runs - 1))); do
    printf '%-6s %12s %10s %10s %14s %10s %10s\n' $((i + 1)) "${rps0[i]}" "${p50_0[i]}" "${p99_0[i]}" "${rps1[i]}" "${p50_1[i]}" "${p99_1[i]}"
done
m_rps0=$(median "${rps0[@]}"); m_rps1=$(median "${rps1[@]}")
m_p50_0=$(median "${p50_0[@]}"); m_p50_1=$(median "${p50_1[@]}")
m_p99_0=$(median "${p99_0[@]}"); m_p99_1=$(median "${p99_1[@]}")
printf '%-6s %12s %10s %10s %14s %10s %10s\n' median "$m_rps0" "$m_p50_0" "$m_p99_0" "$m_rps1" "$m_p50_1" "$m_p99_1"
echo "difference with $clients stream clients: throughput $(pct "$m_rps0" "$m_rps1"), p50 $(pct "$m_p50_0" "$m_p50_1"), p99 $(pct "$m_p99_0" "$m_p99_1") (target: within 10 %)"
# Each run's two phases share a broker and a moment of the machine's load: their ratio is the
# figure least moved by other work on the machine.
ratios=(); p50_ratios=()
for i in $(seq 0 $((runs - 1))); do
    ratios+=("$(awk -v a="${rps0[i]}" -v b="${rps1[i]}" 'BEGIN {printf "%.3f", (a > 0 ? b / a : 0)}')")
    p50_ratios+=("$(awk -v a="${p50_0[i]}" -v b="${p50_1[i]}" 'BEGIN {printf "%.3f", (a > 0 ? b / a : 0)}')")
done
spread() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- -; }
echo "spread: alloc/s@0 $(spread "${rps0[@]}"), alloc/s@$clients $(spread "${rps1[@]}")"
echo "per-run ratio @$clients / @0: throughput median $(median "${ratios[@]}") (runs: ${ratios[*]}), p50 median $(median "${p50_ratios[@]}") (runs: ${p50_ratios[*]})"
total_bad=0
for b in "${bad[@]}"; do total_bad=$((total_bad + b)); done
if ((total_bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or duplicate allocations seen (see above)"
    exit 1
fi
