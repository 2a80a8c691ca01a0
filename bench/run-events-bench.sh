#!/usr/bin/env bash
# Outbox benchmark: durable allocations at 50 connections in three conditions, in one
# interleaved run: `off` (EVENTS_ENABLED=false), `on` (the outbox written with every change, no
# subscriber) and `sub` (the outbox and one webhook subscription taking every event, delivered
# by the same `run` process to a local receiver answering 204). Each round starts a broker per
# condition on a fresh copy of one SQLite store, the conditions' order rotating every round,
# so that a change in the machine's load falls on all of them. Prints per-round figures, the
# median, spread (min-max) and ratio to `off` per condition, and the median of the per-round
# ratios (each against the `off` phase of its own round). The receiver is `loadgen --sink` (one
# thread, keep-alive, 204 to every POST). After a `sub` phase the script waits (at most
# DRAIN_SEC) until every allocation's event was delivered and reports how long that took; it
# prints the CPU the broker spent per allocation during the phase, the broker's CPU per event
# delivered while draining (no allocations then: the delivery's whole cost) and the receiver's
# per delivered event (all from /proc/PID/stat), so that what the broker pays is told apart from what the receiver on the
# same cores takes. A condition with the suffix `-b` (`off-b`, `on-b`, `sub-b`) runs
# BROKER_BIN_B instead (a build to compare with, in the same interleaved rounds; its ratios are
# against `off-b`). Knobs: BUILD_DIR (build), RUNS (7 rounds), POOL (100000),
# SECONDS_PER_PHASE (4), DRAIN_SEC (120), CONDITIONS ("off on sub"), BENCH_WORKDIR (out/),
# BROKER_BIN, BROKER_BIN_B.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-7}
pool_size=${POOL:-100000}
phase_sec=${SECONDS_PER_PHASE:-4}
drain_sec=${DRAIN_SEC:-120}
read -r -a conditions <<<"${CONDITIONS:-off on sub}"
for c in "${conditions[@]}"; do
    [[ ${c%-b} == off || ${c%-b} == on || ${c%-b} == sub ]] ||
        { echo "CONDITIONS: off, on or sub (or off-b, on-b, sub-b), not $c" >&2; exit 2; }
    [[ $c != *-b || -n ${BROKER_BIN_B:-} ]] || { echo "condition $c needs BROKER_BIN_B" >&2; exit 2; }
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

# CPU time (user + system, clock ticks) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_sec=$(getconf CLK_TCK)
# The broker's delivered-webhooks counter.
delivered_count() {
    curl -fsS "http://127.0.0.1:$1/metrics" | sed -n 's/^broker_webhook_deliveries_total{outcome="delivered"} \(.*\)/\1/p'
}

"$loadgen_bin" --sink >"$work/sink.log" 2>&1 &
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

declare -A rps p50 p99 delivered drain broker_cpu sink_cpu delivery_cpu
bad=0
# One condition of one round: a broker on a fresh copy of the store, the subscription when the
# condition has one, one allocation phase at 50 connections. Prints loadgen's JSON line last.
phase() {
    local condition=$1 tag=$2
    local dir=$work/$tag events=true bin=$broker_bin
    [[ $condition == *-b ]] && bin=$BROKER_BIN_B
    condition=${condition%-b}
    [[ $condition == off ]] && events=false
    mkdir -p "$dir"
    cp "$work/template/"broker.db* "$dir/"
    EVENTS_ENABLED=$events RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
        LOG_LEVEL=warn "$bin" run --listen 127.0.0.1:0 --store "sqlite:$dir/broker.db" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    if [[ $condition == sub ]]; then
        curl -fsS -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
            -d "{\"url\": \"http://127.0.0.1:$sink_port/hook\", \"event_types\": \"*\"}" \
            "http://127.0.0.1:$port/v1/admin/webhooks" >/dev/null
    fi
    local broker_before sink_before
    broker_before=$(cpu_ticks "$broker_pid"); sink_before=$(cpu_ticks "$sink_pid")
    "$loadgen_bin" --url "http://127.0.0.1:$port" --duration "$phase_sec" --threads 1 --run-id "$tag" \
        --path /v1/allocate --method POST --connections 50 --token "$api_token" --unique-participant \
        --grants-out "$dir/grants.txt" | tee "$dir/loadgen.txt"
    local broker_after
    broker_after=$(cpu_ticks "$broker_pid")
    echo $((broker_after - broker_before)) >"$dir/broker_cpu.txt"
    delivered_count "$port" >"$dir/delivered.txt"
    if [[ $condition == sub ]]; then
        # Every allocation wrote one event: wait until the subscription got them all.
        local allocations started d=0
        allocations=$(field "$(tail -n1 "$dir/loadgen.txt")" created)
        started=$(date +%s.%N)
        while :; do
            d=$(delivered_count "$port"); d=${d:-0}
            (($(printf '%.0f' "$d") >= allocations)) && break
            if awk -v s="$started" -v n="$(date +%s.%N)" -v max="$drain_sec" 'BEGIN {exit !(n - s > max)}'; then
                d="not drained after ${drain_sec}s ($d of $allocations)"; break
            fi
            sleep 0.05
        done
        if [[ $d == not* ]]; then echo "$d"; else awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN {printf "%.2f\n", n - s}'; fi >"$dir/drain.txt"
        echo $(($(cpu_ticks "$sink_pid") - sink_before)) >"$dir/sink_cpu.txt"
        # No allocations after the phase: the broker's CPU while draining is the deliveries'.
        echo $(($(cpu_ticks "$broker_pid") - broker_after)) >"$dir/drain_cpu.txt"
        delivered_count "$port" >"$dir/delivered_total.txt"
    fi
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""""
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
        requests=$(field "$line" requests)
        broker_cpu[$c,$run]=$(awk -v t="$(cat "$work/$tag/broker_cpu.txt")" -v hz="$ticks_per_sec" -v n="$requests" \
            'BEGIN {printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0)}')
        extra=""
        if [[ ${c%-b} == sub ]]; then
            drain[$c,$run]=$(cat "$work/$tag/drain.txt")
            total=$(cat "$work/$tag/delivered_total.txt"); total=${total:-0}
            sink_cpu[$c,$run]=$(awk -v t="$(cat "$work/$tag/sink_cpu.txt")" -v hz="$ticks_per_sec" -v n="$total" \
                'BEGIN {printf "%.0f", (n > 0 ? t * 1e6 / hz / n : 0)}')
            delivery_cpu[$c,$run]=$(awk -v t="$(cat "$work/$tag/drain_cpu.txt")" -v hz="$ticks_per_sec" -v n="$total" -v d="$d" \
                'BEGIN {printf "%.0f", (n > d ? t * 1e6 / hz / (n - d) : 0)}')
            extra=", backlog drained ${drain[$c,$run]} s after the phase, broker ${delivery_cpu[$c,$run]} us CPU per"
            extra+=" event delivered while draining, receiver ${sink_cpu[$c,$run]} us CPU per event"
        fi
        echo "   $c: $line (webhooks delivered during the phase: $d; broker ${broker_cpu[$c,$run]} us CPU per allocation$extra)"
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
for c in "${conditions[@]}"; do
    # Each condition against the `off` of its own binary.
    base=off; [[ $c == *-b ]] && base=off-b
    has_base=""
    for b in "${conditions[@]}"; do [[ $b == "$base" ]] && has_base=1; done
    m=$(median $(values rps "$c"))
    lo=$(values rps "$c" | sort -g | head -n1); hi=$(values rps "$c" | sort -g | tail -n1)
    line="$c: median $m alloc/s, spread $lo-$hi, broker CPU per allocation median $(median $(values broker_cpu "$c")) us"
    if [[ -n $has_base && $c != "$base" ]]; then
        mo=$(median $(values rps "$base"))
        ratios=()
        for r in $(seq 1 "$runs"); do
            ratios+=("$(awk -v a="${rps[$base,$r]}" -v b="${rps[$c,$r]}" 'BEGIN {printf "%.3f", (a > 0 ? b / a : 0)}')")
        done
        line+=", ratio of medians to $base $(awk -v a="$mo" -v b="$m" 'BEGIN {printf "%.3f (%+.1f%%)", b / a, (b - a) * 100 / a}')"
        line+=", median per-round ratio $(median "${ratios[@]}") (rounds: ${ratios[*]})"
        line+=", p50 $(median $(values p50 "$base")) -> $(median $(values p50 "$c")) ms, p99 $(median $(values p99 "$base")) -> $(median $(values p99 "$c")) ms"
    fi
    if [[ ${c%-b} == sub ]]; then
        line+=", delivered during the phase: $(values delivered "$c" | sort -g | head -n1)-$(values delivered "$c" | sort -g | tail -n1)"
        line+=", backlog drained after the phase in: $(values drain "$c" | tr '\n' ' ')s"
        line+=", broker CPU per event delivered while draining median $(median $(values delivery_cpu "$c")) us"
        line+=", receiver CPU per event median $(median $(values sink_cpu "$c")) us"
    fi
    echo "$line"
done
echo "(target: the outbox, with one subscription, at most 10 % slower than off)"
if ((bad > 0)); then
    echo "FAILED: non-2xx answers, transport errors or duplicate allocations seen (see above)"
    exit 1
fi
