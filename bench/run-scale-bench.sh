#!/usr/bin/env bash
# Scale benchmark: how each operation's cost grows with the pool, at 10 000, 100 000 and
# 1 000 000 sandboxes on a durable SQLite store. Per size: `import` of a CSP-format list
# (wall time and peak RSS from /usr/bin/time); the first sync of csp-sim's full list by a
# broker on an empty store of its own (the sync job's duration and the broker's peak RSS, or
# "failed"); then a broker on the imported pool: GET /v1/admin/stats, a /metrics scrape that
# re-reads the pool gauges (METRICS_POOL_CACHE_SEC=0), the dashboard's stats (stats with a
# 30-day window and the top tracks) and allocations at 50 connections for a short phase.
# Prints one table; see bench/README.md. Loopback only; bounded (a few minutes at 1 000 000
# on 2 cores).
# Knobs (environment): BUILD_DIR (build), SIZES ("10000 100000 1000000"), REQUESTS (11 per
# endpoint), SECONDS_PER_PHASE (3), BENCH_WORKDIR (out/), BROKER_BIN (another sandbox-broker
# binary to measure, e.g. an older build to compare with), PHASES ("import sync serve": which
# parts to run; "sync" alone measures only the sync, "-" in the table for the others).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
sizes=${SIZES:-10000 100000 1000000}
requests=${REQUESTS:-11}
phase_sec=${SECONDS_PER_PHASE:-3}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
phases=" ${PHASES:-import sync serve} "
run_phase() { [[ "$phases" == *" $1 "* ]]; }

source bench/lib.sh
bench_build
broker_bin=${BROKER_BIN:-$broker_bin}
bench_workdir scale-bench
broker_pid=""
sim_pid=""
stop() {
    if [[ -n "${!1}" ]]; then kill "${!1}" 2>/dev/null || true; wait "${!1}" 2>/dev/null || true; fi
    printf -v "$1" '%s' ""
}
cleanup() {
    stop broker_pid
    stop sim_pid
    rm -rf "$work"
}
trap cleanup EXIT

api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM
sim_token=bench-sim-token-$RANDOM$RANDOM
auth=(-H "Authorization: Bearer $admin_token")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

peak_rss_mb() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

declare -a rows
for n in $sizes; do
    echo
    echo "== $n sandboxes"
    dir=$work/$n
    mkdir -p "$dir"
    list_mb=- import_s=- import_mb=- sync_ms=- sync_rss_mb=- stats_ms=- metrics_ms=- dash_ms=- alloc_rps=-
    if run_phase import || run_phase serve; then
    "$loadgen_bin" --make-pool "$n" --out "$dir/pool.json" >/dev/null
    list_mb=$(du -m "$dir/pool.json" | cut -f1)

    store=sqlite:$dir/broker.db
    "$broker_bin" migrate --store "$store" >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
    /usr/bin/time -f '%e %M' -o "$dir/import.time" "$broker_bin" import "$dir/pool.json" --store "$store" \
        >"$dir/import.log" 2>&1 || { cat "$dir/import.log"; exit 1; }
    read -r import_s import_kb <"$dir/import.time"
    import_mb=$((import_kb / 1024))
    echo "import: $(cat "$dir/import.log")"
    echo "import: ${import_s}s, peak RSS ${import_mb} MB (list ${list_mb} MB)"
    rm -f "$dir/pool.json"
    fi

    if run_phase sync; then
    # Sync: a broker on an empty store of its own syncs csp-sim's list of $n at start-up.
    "$broker_bin" csp-sim --listen 127.0.0.1:0 --sandboxes "$n" --token "$sim_token" --log-level warn \
        >"$dir/sim.log" 2>&1 &
    sim_pid=$!
    # The simulator makes its accounts before it listens: longer than bench_port waits at 1 000 000.
    sim_port=""
    for _ in $(seq 1 600); do
        sim_port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/sim.log" 2>/dev/null || true)
        [[ -n "$sim_port" ]] && break
        kill -0 "$sim_pid" 2>/dev/null || { cat "$dir/sim.log"; exit 1; }
        sleep 0.2
    done
    [[ -n "$sim_port" ]] || { echo "csp-sim not listening after 120 s"; exit 1; }
    sync_store=sqlite:$dir/sync.db
    "$broker_bin" migrate --store "$sync_store" >"$dir/migrate.log" 2>&1
    RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token LOG_LEVEL=warning \
        CSP_BASE_URL=http://127.0.0.1:$sim_port/v2 CSP_API_TOKEN=$sim_token CSP_TIMEOUT_READ_SEC=300 \
        SYNC_INTERVAL_SEC=86400 "$broker_bin" run --listen 127.0.0.1:0 --store "$sync_store" >"$dir/sync.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/sync.log" "$broker_pid")
    base="http://127.0.0.1:$port"
    sync=""
    for _ in $(seq 1 1200); do
        jobs=$(curl -fsS "${auth[@]}" "$base/v1/admin/jobs" || true)
        sync=$(jq -r '.jobs[] | select(.name == "sync" and .last_ok != null)
            | if .last_ok then "\(.last_result.duration_ms)" else "failed" end' <<<"$jobs" 2>/dev/null || true)
        [[ -n "$sync" ]] && break
        sleep 0.5
    done
    sync_rss_mb=$(peak_rss_mb "$broker_pid")
    if [[ "$sync" == failed || -z "$sync" ]]; then
        echo "sync: failed or did not finish: $(jq -c '.jobs[] | select(.name == "sync") | .last_result.errors' \
            <<<"$jobs" 2>/dev/null)"
        sync_ms=failed
    else
        sync_ms=$sync
        echo "sync: ${sync_ms} ms, broker peak RSS ${sync_rss_mb} MB"
    fi
    stop broker_pid
    stop sim_pid
    rm -f "$dir"/sync.db*
    fi

    if run_phase serve; then
    # The rest on the imported pool, the pool gauges re-read on every scrape.
    RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token LOG_LEVEL=warning \
        METRICS_POOL_CACHE_SEC=0 "$broker_bin" run --listen 127.0.0.1:0 --store "$store" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    base="http://127.0.0.1:$port"
    pool=$(curl -fsS "${auth[@]}" "$base/v1/admin/stats" | jq -r '.total')
    echo "pool: $pool"
    stats_ms=$(median_ms /v1/admin/stats)
    dash_ms=$(median_ms "/v1/admin/stats?window_hours=720&top=20")
    metrics_ms=$(median_ms /metrics)
    # At most 80 % of the pool: a fast machine empties a 10 000 pool within the phase, and the
    # answers after that would be 409s, not the allocation's cost.
    alloc=$("$loadgen_bin" --url "$base" --duration "$phase_sec" --path /v1/allocate --method POST --connections 50 \
        --requests $((n * 8 / 10)) --token "$api_token" --unique-participant --run-id "scale$n")
    a=$(tail -n1 <<<"$alloc")
    alloc_rps=$(field "$a" rps)
    if (($(field "$a" non2xx) + $(field "$a" errors) + $(field "$a" duplicates) > 0)); then
        echo "FAILED: allocation phase: $a"
        exit 1
    fi
    echo "stats ${stats_ms} ms, dashboard stats ${dash_ms} ms, /metrics ${metrics_ms} ms, allocations ${alloc_rps}/s"
    stop broker_pid
    fi
    rm -rf "$dir"
    rows+=("$(printf '%-10s %8s %9s %9s %8s %10s %9s %10s %9s %9s' "$n" "$list_mb" "$import_s" "$import_mb" \
        "$sync_ms" "$sync_rss_mb" "$stats_ms" "$metrics_ms" "$dash_ms" "$alloc_rps")")
done

echo
echo "== summary (durable SQLite store; $(nproc) cores; load average before: $load_before," \
    "after: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-10s %8s %9s %9s %8s %10s %9s %10s %9s %9s\n' sandboxes list_MB import_s import_MB sync_ms sync_RSS_MB \
    stats_ms metrics_ms dash_ms alloc@50/s
printf '%s\n' "${rows[@]}"
