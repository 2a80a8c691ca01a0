#!/usr/bin/env bash
# Scrapes real broker processes and checks the dashboard's queries against what they export:
# a provider simulator, `run` against it (API and jobs in one process: every family), and a
# `worker` with METRICS_LISTEN. Everything listens on 127.0.0.1 and is stopped on exit.
# Usage: grafana-check.sh BINARY DASHBOARD.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary=$1
dashboard=$2
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The URL a process prints on its first line ("listening on http://..."), waited for up to 10 s.
url_of() {
    local log=$1 pid=$2 url=""
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$log" | head -n 1)
        [[ -n "$url" ]] && { echo "$url"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$log" >&2
    return 1
}
free_port() {
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

"$binary" csp-sim --listen 127.0.0.1:0 --sandboxes 5 --log-level warn >"$work/sim.log" 2>&1 &
pids+=($!)
sim_url=$(url_of "$work/sim.log" "${pids[-1]}")

export CSP_BASE_URL="$sim_url/v2" CSP_API_TOKEN=grafana-check-provider-token LOG_LEVEL=warning
export BROKER_API_TOKEN=grafana-check-participant-token BROKER_ADMIN_TOKEN=grafana-check-admin-token-0
BROKER_STORE="sqlite:$work/run.db" "$binary" run --listen 127.0.0.1:0 >"$work/run.log" 2>&1 &
pids+=($!)
run_url=$(url_of "$work/run.log" "${pids[-1]}")
urls=("$run_url/metrics")

metrics_port=$(free_port)
BROKER_STORE="sqlite:$work/worker.db" METRICS_LISTEN="127.0.0.1:$metrics_port" "$binary" worker >"$work/worker.log" 2>&1 &
pids+=($!)
worker_url="http://127.0.0.1:$metrics_port/metrics"
for _ in $(seq 50); do
    curl -sf -o /dev/null "$worker_url" && break
    sleep 0.1
done
if ! curl -sf -o /dev/null "$worker_url"; then
    echo "grafana-check: the worker serves no /metrics on METRICS_LISTEN ($worker_url)" >&2
    cat "$work/worker.log" >&2
    exit 1
fi
urls+=("$worker_url")

node "$here/grafana-check.mjs" "$dashboard" "${urls[@]}"
