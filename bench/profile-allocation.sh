#!/usr/bin/env bash
# Instructions per request by stage, from callgrind (hardware counters are not available on
# the machines this runs on; instruction counts do not move with the machine's load either).
# Runs the broker under callgrind with the deployment settings of run-allocation-bench.sh
# (JSON access log at info, metrics, rate limiter on) on a durable SQLite store, sends
# REQUESTS allocations for new participants (or PROFILE_PATH=/healthz, or PROFILE_PATH=mark:
# REQUESTS allocations first, outside the measurement, then their mark-for-deletion), and
# prints the inclusive instructions per request of the functions that make up the main stages.
#
# Knobs (environment): BROKER_BIN (default build/sandbox-broker), REQUESTS (2000),
# CONNECTIONS (8), POOL (20000), PROFILE_PATH (/v1/allocate), OUT (keep callgrind.out here),
# EVENTS_ENABLED (the broker's setting, default on), SUBSCRIBE=1 (one webhook subscription to
# every event, delivered by the same process to `loadgen --sink` during the measurement:
# the instructions per allocation then include the delivery's). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build_dir=${BUILD_DIR:-build}
broker_bin=${BROKER_BIN:-$repo/$build_dir/sandbox-broker}
loadgen_bin=$repo/$build_dir/bench/loadgen
requests=${REQUESTS:-2000}
connections=${CONNECTIONS:-8}
pool_size=${POOL:-20000}
path=${PROFILE_PATH:-/v1/allocate}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
source bench/lib.sh
bench_workdir profile
pid=""
sink_pid=""
cleanup() {
    bench_stop "$pid" "$sink_pid"
    rm -rf "$work"
}
trap cleanup EXIT

token=profile-token-$RANDOM$RANDOM
store=sqlite:$work/broker.db
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json" >/dev/null
"$broker_bin" migrate --store "$store" >/dev/null 2>&1
"$broker_bin" import "$work/pool.json" --store "$store" >/dev/null 2>&1

# Collection starts only once the broker serves, so start-up and shutdown are not counted.
LOG_FORMAT=json LOG_LEVEL=info RATE_LIMIT_ENABLED=true BROKER_API_TOKEN=$token BROKER_ADMIN_TOKEN=admin-$token \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
    "$broker_bin" run --listen 127.0.0.1:0 --store "$store" >"$work/broker.log" 2>"$work/valgrind.log" &
pid=$!
port=""
for _ in $(seq 1 600); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/broker.log" 2>/dev/null || true)
    [[ -n "$port" ]] && break
    sleep 0.1
done
[[ -n "$port" ]] || { cat "$work/valgrind.log" "$work/broker.log"; exit 1; }
if [[ ${SUBSCRIBE:-0} == 1 ]]; then
    "$loadgen_bin" --sink >"$work/sink.log" 2>&1 &
    sink_pid=$!
    for _ in $(seq 1 100); do grep -q '^listening' "$work/sink.log" && break; sleep 0.1; done
    sink_port=$(sed -n 's/^listening on \([0-9]*\)/\1/p' "$work/sink.log")
    curl -fsS -X POST -H "Authorization: Bearer admin-$token" -H 'Content-Type: application/json' \
        -d "{\"url\": \"http://127.0.0.1:$sink_port/hook\", \"event_types\": \"*\"}" \
        "http://127.0.0.1:$port/v1/admin/webhooks" >/dev/null
fi
# Warm-up outside the measurement: connections, caches, the first statements' preparation.
warm_path=$path
[[ $path == mark ]] && warm_path=/v1/allocate
"$loadgen_bin" --url "http://127.0.0.1:$port" --path "$warm_path" --method "$([[ $path == /healthz ]] && echo GET || echo POST)" \
    --token "$token" --unique-participant --run-id warm --connections "$connections" --requests 200 \
    --duration 600 --timeout 120 >/dev/null
if [[ $path == mark ]]; then
    # The sandboxes to mark: allocated now, uncounted; then one mark each, counted.
    "$loadgen_bin" --url "http://127.0.0.1:$port" --path /v1/allocate --method POST --token "$token" \
        --unique-participant --run-id held --connections "$connections" --requests "$requests" \
        --duration 600 --timeout 120 --grants-out "$work/grants.txt" >/dev/null
    measured=(--path '/v1/sandboxes/{id}/mark-for-deletion' --method POST --grants-in "$work/grants.txt")
else
    measured=(--path "$path" --method "$([[ $path == /healthz ]] && echo GET || echo POST)" --unique-participant)
fi
callgrind_control -i on "$pid" >/dev/null
"$loadgen_bin" --url "http://127.0.0.1:$port" "${measured[@]}" \
    --token "$token" --run-id prof --connections "$connections" --requests "$requests" \
    --duration 600 --timeout 120 | sed '$d'
callgrind_control -i off "$pid" >/dev/null
if [[ -n "$sink_pid" ]]; then
    delivered=$(curl -fsS "http://127.0.0.1:$port/metrics" |
        sed -n 's/^broker_webhook_deliveries_total{outcome="delivered"} \(.*\)/\1/p')
    echo "webhooks delivered by the end of the measurement: ${delivered:-0}"
fi
callgrind_control -d "$pid" >/dev/null
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=""
out=$(ls "$work"/callgrind.out* | grep -v '\.0$' | tail -n1 || true)
[[ -n "$out" ]] || out=$(ls "$work"/callgrind.out* | tail -n1)
if [[ -n "${OUT:-}" ]]; then cp "$out" "$OUT"; fi

# Inclusive instructions per request of each function matching a stage's pattern.
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
    awk -v n="$requests" '
        /^ *[0-9,]+ .*PROGRAM TOTALS/ { gsub(",", "", $1); printf "%-14s %10.0f  %s\n", "total", $1 / n, "all threads"; next }
        /^ *[0-9,]+ +\(/ || /^ *[0-9,]+ +[^ ]+:/ {
            ir = $1; gsub(",", "", ir); line = $0; sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", line)
            if (ir / n >= 200) printf "%-14s %10.0f  %s\n", "", ir / n, substr(line, 1, 150)
        }' | head -n "${TOP:-80}"
