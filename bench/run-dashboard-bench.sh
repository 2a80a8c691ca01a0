#!/usr/bin/env bash
# Dashboard data benchmark: how fast the admin data endpoints answer at a 200 000-sandbox
# pool, and the broker's memory while it streams the whole pool as CSV. One SQLite store
# (or PostgreSQL: STORE=postgresql://...), the broker on a free loopback port, `curl` as the
# client. Prints the median and the slowest of each endpoint's timings, and the RSS samples
# of the export. See bench/README.md. Knobs (environment): BUILD_DIR (build), POOL (200000),
# REQUESTS (21 per endpoint), ALLOCATIONS_SEC (3: seconds of allocations before measuring),
# STORE (a fresh SQLite file), BENCH_WORKDIR (out/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
pool_size=${POOL:-200000}
requests=${REQUESTS:-21}
alloc_sec=${ALLOCATIONS_SEC:-3}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
bench_workdir dashboard-bench
broker_pid=""
sampler_pid=""
cleanup() {
    if [[ -n "$sampler_pid" ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
    bench_stop "$broker_pid"
    rm -rf "$work"
}
trap cleanup EXIT

api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM
store=${STORE:-sqlite:$work/broker.db}

echo "== pool: $pool_size sandboxes into ${store%%:*}"
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"
"$broker_bin" migrate --store "$store" >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log"; exit 1; }
"$broker_bin" import "$work/pool.json" --store "$store" >"$work/import.log" 2>&1 || { cat "$work/import.log"; exit 1; }

RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token LOG_LEVEL=warning \
    "$broker_bin" run --listen 127.0.0.1:0 --store "$store" >"$work/broker.log" 2>&1 &
broker_pid=$!
port=$(bench_port "$work/broker.log" "$broker_pid")
base="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $admin_token")

# Some history for the window statistics and the time series: allocations by unique participants.
alloc=$("$loadgen_bin" --url "$base" --duration "$alloc_sec" --path /v1/allocate --method POST --connections 20 \
    --token "$api_token" --unique-participant --run-id dash)
echo "allocations: $(field "$(tail -n1 <<<"$alloc")" requests) requests in ${alloc_sec}s"
curl -fsS "${auth[@]}" -X POST "$base/v1/admin/jobs/pool_sample/run?wait=30" >/dev/null
# A participant id to search for, and a name to search a substring of.
participant=$(curl -fsS "${auth[@]}" "$base/v1/admin/sandboxes?status=allocated&limit=1" |
    sed -n 's/.*"allocated_to_track":"\([^"]*\)".*/\1/p')
name=$(curl -fsS "${auth[@]}" "$base/v1/admin/sandboxes?limit=1&cursor=" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')

endpoints=(
    "/v1/admin/stats"
    "/v1/admin/stats?window_hours=720&top=20"
    "/v1/admin/timeseries"
    "/v1/admin/timeseries?step=3600"
    "/v1/admin/sandboxes?limit=100"
    "/v1/admin/sandboxes?status=allocated&limit=100"
    "/v1/admin/sandboxes?prefix=${name:0:6}&limit=100"
    "/v1/admin/sandboxes?q=$participant"
    "/v1/admin/sandboxes?q=${name: -5}"
    "/v1/admin/sandboxes?track=no-such-track"
    "/v1/admin/cleanup/failures"
    "/v1/admin/jobs"
)
echo
echo "== $requests requests per endpoint, one at a time; milliseconds (curl time_total)"
printf '%-58s %10s %10s\n' endpoint median max
for path in "${endpoints[@]}"; do
    times=()
    for _ in $(seq 1 "$requests"); do
        t=$(curl -fsS -o /dev/null -w '%{time_total}' "${auth[@]}" "$base$path")
        times+=("$(awk -v t="$t" 'BEGIN {printf "%.2f", t * 1000}')")
    done
    printf '%-58s %10s %10s\n' "$path" "$(median "${times[@]}")" "$(printf '%s\n' "${times[@]}" | sort -g | tail -n1)"
done

echo
echo "== CSV export of the whole pool, the broker's RSS sampled every 50 ms"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$broker_pid/status"; }
rss_before=$(rss)
(while kill -0 "$broker_pid" 2>/dev/null; do rss; sleep 0.05; done) >"$work/rss.txt" &
sampler_pid=$!
start=$(date +%s.%N)
curl -fsS "${auth[@]}" -o "$work/export.csv" "$base/v1/admin/sandboxes.csv"
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
kill "$sampler_pid"; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
rows=$(($(wc -l <"$work/export.csv") - 1))
echo "rows: $rows (pool $pool_size), $(du -k "$work/export.csv" | cut -f1) KiB in ${elapsed}s"
echo "RSS KiB: before $rss_before, during min $(sort -g "$work/rss.txt" | head -n1) max $(sort -g "$work/rss.txt" | tail -n1)," \
    "after $(rss) ($(wc -l <"$work/rss.txt") samples)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
if ((rows != pool_size)); then
    echo "FAILED: the export has $rows rows, the pool $pool_size"
    exit 1
fi
