#!/usr/bin/env bash
# DynamoDB counts benchmark: GET /v1/admin/stats and a /metrics scrape that re-reads the pool
# gauges (METRICS_POOL_CACHE_SEC=0), at each pool size, on dynalite (an emulator: this
# measures the broker's reads, not DynamoDB's latency), for two broker binaries taking turns
# on the same table: BEFORE_BIN (a build that counts the status index on every read) and
# this build (maintained counts). Per size: BEFORE_BIN's `migrate` creates the table, the
# sandboxes are written as the original service writes them (bench/dynamodb_fill.py,
# BatchWriteItem), this build's `migrate` counts them once (the time it takes is printed:
# the start-up reconcile), then RUNS rounds in which each binary in turn serves the table
# (`serve`: no jobs) and answers REQUESTS GETs of each path; prints the medians of the
# rounds' medians. Loopback only; bounded (a few minutes at 100 000 on 2 cores, most of it
# the fill).
# Knobs (environment): BEFORE_BIN (required), BUILD_DIR (build), SIZES ("10000 100000"),
# RUNS (3), REQUESTS (11), BENCH_WORKDIR (out/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
sizes=${SIZES:-10000 100000}
runs=${RUNS:-3}
requests=${REQUESTS:-11}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
before_bin=${BEFORE_BIN:?set BEFORE_BIN to the sandbox-broker binary to compare with}

source bench/lib.sh
bench_build
bench_dynalite dynamodb-counts-bench
api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM
auth=(-H "Authorization: Bearer $admin_token")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

declare -a rows
for n in $sizes; do
    echo
    echo "== $n sandboxes"
    dir=$work/$n
    mkdir -p "$dir"
    store="dynamodb://bench_counts_$n?endpoint=$endpoint"
    "$before_bin" migrate --store "$store" >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
    fill_start=$(date +%s.%N)
    python3 bench/dynamodb_fill.py "$endpoint" "bench_counts_$n" "$n"
    echo "filled in $(awk -v a="$fill_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
    migrate_start=$(date +%s.%N)
    "$broker_bin" migrate --store "$store" >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
    reconcile_s=$(awk -v a="$migrate_start" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    echo "this build's migrate (counts the table once, 2 s of it waiting): ${reconcile_s} s"
    declare -A stats=() metrics=()
    for run in $(seq 1 "$runs"); do
        for which in before after; do
            bin=$broker_bin
            [[ $which == before ]] && bin=$before_bin
            BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token LOG_LEVEL=warning METRICS_POOL_CACHE_SEC=0 \
                "$bin" serve --listen 127.0.0.1:0 --store "$store" >"$dir/$which.log" 2>&1 &
            broker_pid=$!
            port=$(bench_port "$dir/$which.log" "$broker_pid")
            base="http://127.0.0.1:$port"
            # What each counts (dynalite's paged count of an index whose items share one key
            # can come out a little short: the recount and the old per-read count alike).
            total=$(curl -fsS "${auth[@]}" "$base/v1/admin/stats" | jq -r '.total')
            s=$(median_ms /v1/admin/stats)
            m=$(median_ms /metrics)
            echo "round $run, $which: $total sandboxes counted; stats ${s} ms, /metrics ${m} ms"
            stats[$which]+="$s "
            metrics[$which]+="$m "
            bench_stop "$broker_pid"
            broker_pid=""
        done
    done
    # shellcheck disable=SC2086
    rows+=("$(printf '%-10s %14s %14s %16s %16s %12s' "$n" "$(median ${stats[before]})" "$(median ${stats[after]})" \
        "$(median ${metrics[before]})" "$(median ${metrics[after]})" "$reconcile_s")")
    unset stats metrics
    rm -rf "$dir"
done

echo
echo "== summary (dynalite; $(nproc) cores; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-10s %14s %14s %16s %16s %12s\n' sandboxes stats_ms_before stats_ms_after metrics_ms_before \
    metrics_ms_after migrate_s
printf '%s\n' "${rows[@]}"
