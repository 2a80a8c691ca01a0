#!/usr/bin/env bash
# Allocation benchmark: the previous build against the new one, interleaved, with the settings
# a deployment runs (JSON access log at info, metrics, rate limiter on). Per phase it prints
# answers a second, p50/p99 latency and the broker's CPU per answer (user+sys from
# /proc/PID/stat before and after the phase, divided by the answers): the figure that moves
# least when other processes share the cores; with STORE=postgres on the private cluster also
# the PostgreSQL server's CPU per answer (postmaster and backends). Medians and new/base
# ratios at the end. A check that fails shows the HTTP statuses loadgen counted.
#
# Phases, each on a fresh store holding a POOL-sandbox pool: /healthz (c50), allocation for a
# new participant at c50 and at c200, a repeated allocation (the idempotent answer, c50),
# GET /v1/sandboxes/{id} (c50), mark-for-deletion (c50). Checks: no answer but 201 to a new
# participant, no sandbox granted to two participants, no transport error.
#
# Knobs (environment): BASE_BIN (the previous build's sandbox-broker; empty: only the new
# build), BROKER_BIN (the new build; default: built in BUILD_DIR, default build), RUNS (5),
# POOL (250000), SECONDS_PER_PHASE (5), LOADGEN_THREADS (1), BENCH_WORKDIR (out/, on the disk
# under test), STORE (sqlite or postgres), REPLICAS (postgres: "1 2", the `serve` replica
# counts to measure), BENCH_POSTGRES_URL (an existing cluster; default: a private one from
# scripts/pg-test-cluster.sh), MEMORY=1 (instead of the phases: 1 000 000 allocations over
# 10 000 connections opened and closed, RSS after the first 100 000 and at the end;
# MEMORY_REQUESTS changes the million),
# BROKER_ENV (extra VAR=value settings for both builds, e.g. "STORE_THREADS=8").
# See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-5}
pool_size=${POOL:-250000}
phase_sec=${SECONDS_PER_PHASE:-5}
loadgen_threads=${LOADGEN_THREADS:-1}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
store_kind=${STORE:-sqlite}
memory=${MEMORY:-0}
read -r -a broker_env <<<"${BROKER_ENV:-}"

source bench/lib.sh
if [[ -n "${BROKER_BIN:-}" && -x "$build_dir/bench/loadgen" ]]; then
    broker_bin=$BROKER_BIN
    loadgen_bin=$PWD/$build_dir/bench/loadgen
else
    bench_build
    broker_bin=${BROKER_BIN:-$broker_bin}
fi
declare -A bins=([new]=$broker_bin)
builds=(new)
if [[ -n "${BASE_BIN:-}" ]]; then
    bins[base]=$BASE_BIN
    builds=(base new)
fi
case "$store_kind" in
    sqlite) replica_counts=(1) ;;
    postgres) read -r -a replica_counts <<<"${REPLICAS:-1 2}" ;;
    *) echo "STORE must be sqlite or postgres" >&2; exit 2 ;;
esac

bench_workdir allocation-bench
chmod 0755 "$work"  # a private PostgreSQL cluster's server may run as another user
broker_pids=()
stop_brokers() {
    local pid
    for pid in "${broker_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${broker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    broker_pids=()
}
cleanup() {
    stop_brokers
    bench_postgres_stop
    rm -rf "$work"
}
trap cleanup EXIT

if [[ "$store_kind" == postgres ]]; then
    bench_postgres
fi

hz=$(getconf CLK_TCK)
# utime + stime of the processes, in clock ticks.
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        [[ -r /proc/$pid/stat ]] && total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$total"
}
# The same for the whole PostgreSQL server when it is ours (0 otherwise): the postmaster, its
# live children, and the children it has reaped (counted into its own cutime/cstime).
pg_ticks() {
    ((own_cluster)) || { echo 0; return; }
    local pm
    pm=$(head -n1 "$work/pg/data/postmaster.pid")
    echo $(($(sed 's/.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}') + $(cpu_ticks $(pgrep -P "$pm"))))
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM

# A fresh store for build $1 in directory $2 with the pool imported; sets store and db_env.
prepare_store() {
    local bin=$1 dir=$2
    db_env=()
    if [[ "$store_kind" == sqlite ]]; then
        store=sqlite:$dir/broker.db
    else
        local schema
        schema=bench_$(basename "$dir" | tr -c "a-z0-9\n" _)_$$  # run1-base-1: no dashes in a name
        psql_cmd -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
        store=$pg_url
        db_env=(DB_SCHEMA="$schema")
    fi
    env "${db_env[@]}" "$bin" migrate --store "$store" >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
    local started
    started=$(date +%s.%N)
    env "${db_env[@]}" "$bin" import "$pool_file" --store "$store" >"$dir/import.log" 2>&1 ||
        { cat "$dir/import.log"; exit 1; }
    if [[ "$store_kind" == postgres ]]; then psql_cmd -c "VACUUM ANALYZE ${db_env[0]#DB_SCHEMA=}.sandboxes"; fi
    echo "  imported in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
}

# Starts build $1 with $2 replicas (sqlite: one `run`; postgres: `serve` replicas), logs in
# directory $3; sets urls (loadgen --url arguments). Deployment settings: JSON access log at
# info, metrics on their default path, the rate limiter on.
start_brokers() {
    local bin=$1 count=$2 dir=$3 command=run i port
    [[ "$store_kind" == postgres ]] && command=serve
    urls=()
    for i in $(seq 1 "$count"); do
        env "${db_env[@]}" LOG_FORMAT=json LOG_LEVEL=info RATE_LIMIT_ENABLED=true "${broker_env[@]}" \
            BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token \
            "$bin" "$command" --listen 127.0.0.1:0 --store "$store" >"$dir/broker$i.log" 2>&1 &
        broker_pids+=($!)
        port=$(bench_port "$dir/broker$i.log" "${broker_pids[-1]}")
        curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || { cat "$dir/broker$i.log"; exit 1; }
        urls+=(--url "http://127.0.0.1:$port")
    done
}

# One load phase: loadgen with arguments $2...; its JSON line in last[$1], the brokers' CPU
# microseconds per answer in cpu[$1], PostgreSQL's in cpu_pg[$1] (STORE=postgres).
declare -A last cpu cpu_pg
phase() {
    local name=$1; shift
    local t0 p0 out n pg_text=""
    t0=$(cpu_ticks "${broker_pids[@]}")
    p0=$(pg_ticks)
    out=$("$loadgen_bin" "${urls[@]}" --threads "$loadgen_threads" "$@")
    local ticks=$(($(cpu_ticks "${broker_pids[@]}") - t0)) pg=$(($(pg_ticks) - p0))
    last[$name]=$(tail -n1 <<<"$out")
    n=$(field "${last[$name]}" requests)
    cpu[$name]=$(awk -v t="$ticks" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
    cpu_pg[$name]=$(awk -v t="$pg" -v n="$n" -v hz="$hz" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
    ((own_cluster)) && pg_text="  pg cpu ${cpu_pg[$name]} us/answer"
    printf '  %-8s %9s/s  p50 %7s ms  p99 %7s ms  cpu %6s us/answer%s  non2xx %s  errors %s\n' "$name" \
        "$(field "${last[$name]}" rps)" "$(field "${last[$name]}" p50_ms)" "$(field "${last[$name]}" p99_ms)" \
        "${cpu[$name]}" "$pg_text" "$(field "${last[$name]}" non2xx)" "$(field "${last[$name]}" errors)"
    # Which answers they were, and the first one's body (its reason).
    if (($(field "${last[$name]}" non2xx) > 0)); then
        echo "           statuses {$(statuses "${last[$name]}")}; $(sed -n 's/^ *first non-2xx answer: //p' <<<"$out")"
    fi
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
memory_requests=${MEMORY_REQUESTS:-1000000}
if ((memory)); then
    need=$((memory_requests + memory_requests / 20))
    pool_size=$((pool_size > need ? pool_size : need))
fi
echo "== pool: $pool_size sandboxes, store $store_kind, builds: ${builds[*]}"
pool_file=$work/pool.json
"$loadgen_bin" --make-pool "$pool_size" --out "$pool_file"

if ((memory)); then
    # 100 allocations per connection, 50 at a time: 10 000 connections opened and closed over
    # the million, each allocation for a participant never seen before. The first tenth, then the rest.
    for build in "${builds[@]}"; do
        echo
        echo "== memory: $build (${bins[$build]})"
        dir=$work/memory-$build
        mkdir -p "$dir"
        prepare_store "${bins[$build]}" "$dir"
        start_brokers "${bins[$build]}" 1 "$dir"
        mem=(--path /v1/allocate --method POST --token "$api_token" --unique-participant --connections 50
            --requests-per-connection 100 --duration 100000)
        phase first "${mem[@]}" --run-id m1 --requests $((memory_requests / 10))
        rss_first=$(rss_kb "${broker_pids[0]}")
        phase rest "${mem[@]}" --run-id m2 --requests $((memory_requests - memory_requests / 10))
        rss_end=$(rss_kb "${broker_pids[0]}")
        stop_brokers
        echo "  RSS after $((memory_requests / 10)) allocations: $((rss_first / 1024)) MiB," \
            "after $memory_requests: $((rss_end / 1024)) MiB" \
            "($(awk -v a="$rss_first" -v b="$rss_end" 'BEGIN {printf "%+.1f", (b - a) * 100 / a}') %)"
    done
    exit 0
fi

phases=(healthz alloc50 alloc200 repeat get mark)
declare -A rps p50 p99 cpu_us cpu_pg_us ratio bad
for run in $(seq 1 "$runs"); do
    # The builds take turns going first: the second of a round meets what the first left
    # behind (the disk writing back its store, a warmer or colder cache), which measured up to
    # a tenth of an allocation's CPU on one machine (bench/README.md).
    order=("${builds[@]}")
    if ((${#builds[@]} == 2 && run % 2 == 0)); then order=("${builds[1]}" "${builds[0]}"); fi
    for replicas in "${replica_counts[@]}"; do
        for build in "${order[@]}"; do
            key=$build,$replicas
            echo
            echo "== run $run of $runs: $build, $replicas replica(s) (${bins[$build]})"
            dir=$work/run$run-$build-$replicas
            mkdir -p "$dir"
            prepare_store "${bins[$build]}" "$dir"
            start_brokers "${bins[$build]}" "$replicas" "$dir"
            alloc=(--path /v1/allocate --method POST --token "$api_token")
            phase healthz --duration "$phase_sec" --path /healthz --method GET --connections 50
            phase alloc50 --duration "$phase_sec" "${alloc[@]}" --unique-participant --run-id "r${run}a" \
                --connections 50 --grants-out "$dir/grants50.txt"
            phase alloc200 --duration "$phase_sec" "${alloc[@]}" --unique-participant --run-id "r${run}b" \
                --connections 200 --grants-out "$dir/grants200.txt"
            # The holders of the c50 grants allocate again: the idempotent answer (200), each
            # participant in turn, so no participant's rate-limit bucket runs dry.
            phase repeat --duration "$phase_sec" "${alloc[@]}" --connections 50 --grants-in "$dir/grants50.txt" \
                --grants-out "$dir/grants-repeat.txt"
            phase get --duration "$phase_sec" --path '/v1/sandboxes/{id}' --method GET --token "$api_token" \
                --connections 50 --grants-in "$dir/grants50.txt"
            # Each sandbox of the c200 grants once: a second mark would be another answer.
            phase mark --duration "$phase_sec" --path '/v1/sandboxes/{id}/mark-for-deletion' --method POST \
                --token "$api_token" --connections 50 --grants-in "$dir/grants200.txt" \
                --requests "$(wc -l <"$dir/grants200.txt")"
            stop_brokers
            problems=0
            for p in "${phases[@]}"; do
                rps[$key,$p,$run]=$(field "${last[$p]}" rps)
                p50[$key,$p,$run]=$(field "${last[$p]}" p50_ms)
                p99[$key,$p,$run]=$(field "${last[$p]}" p99_ms)
                cpu_us[$key,$p,$run]=${cpu[$p]}
                cpu_pg_us[$key,$p,$run]=${cpu_pg[$p]}
                found=$(($(field "${last[$p]}" non2xx) + $(field "${last[$p]}" errors) +
                    $(field "${last[$p]}" duplicates)))
                # A new participant gets 201 and nothing else (its non-2xx answers are counted above).
                if [[ $p == alloc50 || $p == alloc200 ]]; then
                    found=$((found + $(field "${last[$p]}" requests) - $(field "${last[$p]}" created) -
                        $(field "${last[$p]}" non2xx)))
                fi
                if ((found > 0)); then
                    echo "  check failed in $p: statuses {$(statuses "${last[$p]}")}," \
                        "transport errors $(field "${last[$p]}" errors), double grants $(field "${last[$p]}" duplicates)"
                    # The reason, from the brokers' logs and the private cluster's (both go with the run).
                    cat "$dir"/broker*.log | grep -iE '"level":"(warn|warning|error)"|"status":5[0-9][0-9]' | head -n 3 | cut -c1-400 || true
                    if ((own_cluster)); then grep -E 'ERROR|FATAL' "$work/pg/server.log" | tail -n 3 || true; fi
                fi
                problems=$((problems + found))
            done
            # No sandbox went to two participants, across all phases of the store either.
            across=$(cat "$dir"/grants*.txt | sort -u | awk '{print $1}' | sort | uniq -d | wc -l)
            bad[$key,$run]=$((problems + across))
            ratio[$key,$run]=$(awk -v a="${rps[$key,alloc50,$run]}" -v h="${rps[$key,healthz,$run]}" \
                'BEGIN {printf "%.3f", (h > 0 ? a / h : 0)}')
            echo "  alloc@50 / healthz: ${ratio[$key,$run]}; non-201 to new participants, non-2xx, errors," \
                "double grants: ${bad[$key,$run]}"
            if [[ "$store_kind" == postgres ]]; then psql_cmd -c "DROP SCHEMA ${db_env[0]#DB_SCHEMA=} CASCADE"; fi
        done
    done
done

med() {  # median over the runs of table $1 at key $2 (phase key without the run)
    local -n table=$1
    local values=() run
    for run in $(seq 1 "$runs"); do values+=("${table[$2,$run]}"); done
    median "${values[@]}"
}
echo
echo "== summary: medians of $runs interleaved runs, ${phase_sec}s per phase, pool $pool_size, store $store_kind;"
echo "   $(nproc) cores shared by the broker, loadgen ($loadgen_threads thread)$([[ $store_kind == postgres ]] && echo ', PostgreSQL')" \
    "and whatever else runs; settings: LOG_FORMAT=json LOG_LEVEL=info RATE_LIMIT_ENABLED=true ${BROKER_ENV:-}"
echo "   load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (above $(nproc): other processes competed)"
echo "   CPU per answer (us, broker processes only) is the figure to trust on a busy machine."
total_bad=0
for replicas in "${replica_counts[@]}"; do
    echo
    [[ "$store_kind" == postgres ]] && echo "-- $replicas replica(s)"
    pg_head=""
    ((own_cluster)) && printf -v pg_head '%-30s | ' "PostgreSQL CPU us/answer ${builds[*]}"
    printf '%-10s | %-22s | %-22s | %s%s\n' phase "answers/s ${builds[*]}" "CPU us/answer ${builds[*]}" \
        "$pg_head" "p50 ms / p99 ms ${builds[*]}"
    for p in "${phases[@]}"; do
        r="" c="" l="" g=""
        for build in "${builds[@]}"; do
            r+="$(med rps "$build,$replicas,$p") "
            c+="$(med cpu_us "$build,$replicas,$p") "
            g+="$(med cpu_pg_us "$build,$replicas,$p") "
            l+="$(med p50 "$build,$replicas,$p")/$(med p99 "$build,$replicas,$p") "
        done
        if ((own_cluster)); then printf -v g '%-30s | ' "$g"; else g=""; fi
        if [[ -n "${bins[base]:-}" ]]; then
            r+="($(awk -v b="$(med rps "base,$replicas,$p")" -v n="$(med rps "new,$replicas,$p")" \
                'BEGIN {printf "x%.2f", (b > 0 ? n / b : 0)}'))"
            c+="($(awk -v b="$(med cpu_us "base,$replicas,$p")" -v n="$(med cpu_us "new,$replicas,$p")" \
                'BEGIN {printf "x%.2f", (b > 0 ? n / b : 0)}'))"
        fi
        printf '%-10s | %-22s | %-22s | %s%s\n' "$p" "$r" "$c" "$g" "$l"
    done
    line=""
    for build in "${builds[@]}"; do
        line+="$build $(med ratio "$build,$replicas") "
        for run in $(seq 1 "$runs"); do total_bad=$((total_bad + bad[$build,$replicas,$run])); done
    done
    echo "alloc@50 / healthz: $line"
done
echo
echo "targets: CPU per allocation@50 <= 50 us, per healthz <= 20 us, alloc@50/healthz >= 0.5," \
    "p99 @200 <= 10 ms, only 201 to new participants, no double grant"
if ((total_bad > 0)); then
    echo "FAILED: $total_bad non-201 answers to new participants, non-2xx answers, transport errors or" \
        "double grants (see above)"
    exit 1
fi
