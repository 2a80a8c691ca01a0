#!/usr/bin/env bash
# How long cleanup takes to drain a class's worth of returned sandboxes: `csp-sim` as the real
# provider under load (LATENCY_MS per call ± 20%, at most CAPACITY calls begun per second,
# 429 with Retry-After beyond), `sandbox-broker run` on a fresh SQLite store, COUNT sandboxes
# allocated and returned while cleanup is paused, then resumed; the time until the last is
# deleted. MODE=adaptive runs the defaults (concurrent, adaptive limit); MODE=sequential the
# former pacing (one at a time, CLEANUP_PER_SANDBOX_DELAY_SEC=0.5, CLEANUP_BATCH_DELAY_SEC=2).
# A run is cut off after MAX_SEC: it then prints the rate so far and the drain time
# extrapolated from it. Prints one line: mode, count, latency, seconds (or extrapolated),
# delete calls, refused calls. See bench/README.md ("Cleanup drain").
# Knobs (environment): BUILD_DIR (build), MODE (adaptive), COUNT (500), LATENCY_MS (2000),
# CAPACITY (5), MAX_SEC (900), EXTRA_ENV (more VAR=value settings for the broker).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
mode=${MODE:-adaptive}
count=${COUNT:-500}
latency_ms=${LATENCY_MS:-2000}
capacity=${CAPACITY:-5}
max_sec=${MAX_SEC:-900}
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
if [[ ! -x "$build_dir/sandbox-broker" ]]; then
    cmake --build "$build_dir" -j"$(nproc)" --target sandbox-broker
fi
broker_bin=$PWD/$build_dir/sandbox-broker
bench_workdir cleanup-drain
sim_pid="" broker_pid=""
finish() {
    [[ -n "$broker_pid" ]] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null || true
    [[ -n "$sim_pid" ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap finish EXIT

"$broker_bin" csp-sim --listen 127.0.0.1:0 --sandboxes "$count" --token bench-csp-token \
    --latency-ms "$latency_ms" --jitter 0.2 --capacity-rps "$capacity" --overload 429 --threads 4 \
    >"$work/sim.log" 2>&1 &
sim_pid=$!
sim_port=$(bench_port "$work/sim.log" "$sim_pid")
sim=http://127.0.0.1:$sim_port

admin=bench-admin-token-0123456789abcdef
api=bench-api-token-0123456789abcdef0
settings=(BROKER_API_TOKEN=$api BROKER_ADMIN_TOKEN=$admin RATE_LIMIT_ENABLED=false LOG_LEVEL=warn
    CSP_BASE_URL=$sim/v2 CSP_API_TOKEN=bench-csp-token CSP_TIMEOUT_READ_SEC=60
    SYNC_INTERVAL_SEC=3600 CLEANUP_INTERVAL_SEC=1 WORKER_POLL_MS=200 DELETION_RETRY_BASE_SEC=5)
case "$mode" in
    adaptive) ;;
    sequential) settings+=(CLEANUP_MAX_CONCURRENCY=1 CLEANUP_PER_SANDBOX_DELAY_SEC=0.5 CLEANUP_BATCH_DELAY_SEC=2) ;;
    *) echo "MODE must be adaptive or sequential" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
settings+=(${EXTRA_ENV:-})
env "${settings[@]}" "$broker_bin" run --listen 127.0.0.1:0 --store "sqlite:$work/broker.db" \
    >"$work/broker.log" 2>&1 &
broker_pid=$!
port=$(bench_port "$work/broker.log" "$broker_pid")
base=http://127.0.0.1:$port

stat() { curl -sf -H "Authorization: Bearer $admin" "$base/v1/admin/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
sim_stat() { curl -sf "$sim/_sim/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
for _ in $(seq 1 300); do [[ "$(stat available)" == "$count" ]] && break; sleep 0.2; done
[[ "$(stat available)" == "$count" ]] || { echo "sync did not fill the pool" >&2; exit 1; }

curl -sf -X POST -H "Authorization: Bearer $admin" "$base/v1/admin/jobs/cleanup/pause" >/dev/null
for i in $(seq 1 "$count"); do
    id=$(curl -sf -X POST -H "Authorization: Bearer $api" -H "X-Instruqt-Sandbox-ID: bench-$i" \
        "$base/v1/allocate" | sed -n 's/.*"sandbox_id":"\([^"]*\)".*/\1/p')
    curl -sf -X POST -H "Authorization: Bearer $api" -H "X-Instruqt-Sandbox-ID: bench-$i" \
        "$base/v1/sandboxes/$id/mark-for-deletion" >/dev/null
done

start=$(date +%s.%N)
curl -sf -X POST -H "Authorization: Bearer $admin" "$base/v1/admin/jobs/cleanup/resume" >/dev/null
deleted=0
while :; do
    deleted=$(stat deleted)
    now=$(date +%s.%N)
    elapsed=$(awk -v a="$start" -v b="$now" 'BEGIN {print b - a}')
    [[ "$deleted" -ge "$count" ]] && break
    awk -v e="$elapsed" -v m="$max_sec" 'BEGIN {exit !(e >= m)}' && break
    sleep 0.5
done
calls=$(sim_stat delete_calls)
refused=$(sim_stat refused)
if [[ "$deleted" -ge "$count" ]]; then
    printf '%s count=%s latency_ms=%s capacity=%s drained_sec=%.1f delete_calls=%s refused=%s\n' \
        "$mode" "$count" "$latency_ms" "$capacity" "$elapsed" "$calls" "$refused"
else
    awk -v m="$mode" -v c="$count" -v l="$latency_ms" -v cap="$capacity" -v e="$elapsed" -v d="$deleted" \
        -v calls="$calls" -v r="$refused" 'BEGIN {
        printf "%s count=%s latency_ms=%s capacity=%s cut_off_sec=%.1f deleted=%d rate=%.3f/s extrapolated_sec=%.0f delete_calls=%s refused=%s\n",
            m, c, l, cap, e, d, d / e, (d > 0 ? c * e / d : -1), calls, r }'
fi
