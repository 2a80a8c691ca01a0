#!/usr/bin/env bash
# Outbox benchmark: durable allocations at 50 connections in three conditions, in one
# interleaved run: `off` (EVENTS_ENABLED=false), `on` (the outbox written with every change, no
# subscriber) and `sub` (the outbox and one webhook subscription taking every event, delivered
# by the same `run` process to a local receiver answering 204). Each round starts a broker per
# condition on a fresh copy of one SQLite store, the conditions' order rotating every round,
# so that a change in the machine's load falls on all of them. Prints per-round figures, the
# median, spread (min-max) and ratio to `off` per condition, and the median of the per-round
# ratios (each against the `off` phase of its own round). The receiver is bench/webhook_sink.py
# (Python's http.server). Knobs: BUILD_DIR (build), RUNS (7 rounds), POOL (100000),
# SECONDS_PER_PHASE (4), CONDITIONS ("off on sub"), BENCH_WORKDIR (out/), BROKER_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-7}
pool_size=${POOL:-100000}
phase_sec=${SECONDS_PER_PHASE:-4}
read -r -a conditions <<<"${CONDITIONS:-off on sub}"
for c in "${conditions[@]}"; do
    [[ $c == off || $c == on || $c == sub ]] || { echo "CONDITIONS: off, on or sub, not $c" >&2; exit 2; }
done
workdir_parent=${BENCH_WORKDIR:-$repo/out}

source bench/lib.sh
bench_build
broker_bin=${BROKER_BIN:-$broker_bin}
bench_workdir events-bench
broker_pid=""
sink_pid=""
cleanup() {
    bench_stop "$broker_pid" "$sink_pid"
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

declare -A rps p50 p99 delivered
bad=0
# One condition of one round: a broker on a fresh copy of the store, the subscription when the
# condition has one, one allocation phase at 50 connections. Prints loadgen's JSON line last.
phase() {
    local condition=$1 tag=$2
    local dir=$work/$tag events=true
    [[ $condition == off ]] && events=false
    mkdir -p "$dir"
    cp "$work/template/"broker.db* "$dir/"
    EVENTS_ENABLED=$events RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
        LOG_LEVEL=warn "$broker_bin" run --listen 127.0.0.1:0 --store "sqlite:$dir/broker.db" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    if [[ $condition == sub ]]; then
        curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
            -d "{\"url\": \"http://127.0.0.1:$sink_port/hook\", \"event_types\": \"*\"}" \
            "http://127.0.0.1:$port/v1/admin/webhooks" >/dev/null
    fi
    "$loadgen_bin" --url "http://127.0.0.1:$port" --duration "$phase_sec" --threads 1 --run-id "$tag" \
        --path /v1/allocate --method POST --connections 50 --token "$api_token" --unique-participant \
        --grants-out "$dir/grants.txt"
    curl -fsS "http://127.0.0.1:$port/metrics" | sed -n 's/^broker_webhook_deliveries_total{outcome="delivered"} \(.*\)/\1/p' >"$dir/delivered.txt"
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
    rm -f "$dir/"broker.db*
}

n=${#conditions[@]}
for run in $(seq 1 "$runs"); do
    # Rotate the order: round r starts with condition (r-1) mod n.
    order=()
    for k in $(seq 0 $((n - 1))); do order+=("${conditions[$(((run - 1 + k) % n))]}"); done
    echo
    echo "== round $run of $runs (${order[*]})"
    for c in "${order[@]}"; do
        tag=r${run}-$c
        line=$(phase "$c" "$tag" | tail -n1)
        d=$(cat "$work/$tag/delivered.txt"); d=${d:-0}
        echo "   $c: $line (webhooks delivered during the phase: $d)"
        rps[$c,$run]=$(field "$line" rps); p50[$c,$run]=$(field "$line" p50_ms); p99[$c,$run]=$(field "$line" p99_ms)
        delivered[$c,$run]=$d
        bad=$((bad + $(field "$line" non2xx) + $(field "$line" errors) + $(field "$line" duplicates)))
    done
done

values() { local -n arr=$1; local c=$2 r; for r in $(seq 1 "$runs"); do echo "${arr[$c,$r]}"; done; }
echo
echo "== summary ($runs interleaved rounds, ${phase_sec}s per phase, c50, pool $pool_size, $(nproc) cores shared by"
echo "   broker, loadgen and the webhook receiver)"
echo "   load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (above $(nproc): other processes competed)"
printf '%-5s' round; for c in "${conditions[@]}"; do printf ' %10s %8s %8s' "$c/s" "p50ms" "p99ms"; done; echo
for r in $(seq 1 "$runs"); do
    printf '%-5s' "$r"
    for c in "${conditions[@]}"; do printf ' %10s %8s %8s' "${rps[$c,$r]}" "${p50[$c,$r]}" "${p99[$c,$r]}"; done
    echo
done
printf '%-5s' median
for c in "${conditions[@]}"; do
    printf ' %10s %8s %8s' "$(median $(values rps "$c"))" "$(median $(values p50 "$c"))" "$(median $(values p99 "$c"))"
done
echo
base=""
for c in "${conditions[@]}"; do [[ $c == off ]] && base=off; done
for c in "${conditions[@]}"; do
    m=$(median $(values rps "$c"))
    lo=$(values rps "$c" | sort -g | head -n1); hi=$(values rps "$c" | sort -g | tail -n1)
    line="$c: median $m alloc/s, spread $lo-$hi"
    if [[ -n $base && $c != off ]]; then
        mo=$(median $(values rps off))
        ratios=()
        for r in $(seq 1 "$runs"); do
            ratios+=("$(awk -v a="${rps[off,$r]}" -v b="${rps[$c,$r]}" 'BEGIN {printf "%.3f", (a > 0 ? b / a : 0)}')")
        done
        line+=", ratio of medians to off $(awk -v a="$mo" -v b="$m" 'BEGIN {printf "%.3f (%+.1f%%)", b / a, (b - a) * 100 / a}')"
        line+=", median per-round ratio $(median "${ratios[@]}") (rounds: ${ratios[*]})"
        line+=", p50 $(median $(values p50 off)) -> $(median $(values p50 "$c")) ms, p99 $(median $(values p99 off)) -> $(median $(values p99 "$c")) ms"
    fi
    [[ $c == sub ]] && line+=", delivered per phase: $(values delivered sub | sort -g | head -n1)-$(values delivered sub | sort -g | tail -n1)"
    echo "$line"
done
echo "(target: the outbox, with one subscription, at most 10 % slower than off)"
if ((bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or duplicate allocations seen (see above)"
    exit 1
fi
