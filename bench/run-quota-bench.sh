#!/usr/bin/env bash
# Reservations and track limits: what they cost plain allocation. Interleaved runs on one
# machine, each on a fresh SQLite store holding the same pool, at 50 connections:
#   base   - the binary of BASE_REF (default: the commit this branch started from, main's),
#            built in its own directory from `git archive` (same compiler cache)
#   plain  - this checkout's binary, nothing defined (the path every allocation takes today)
#   rules  - this checkout's binary with 10 reservations (windows open, 10 sandboxes each,
#            for tracks that do not allocate) and 100 track limits on other tracks defined
# The order rotates each run so drift hits every variant alike. Prints each run and the
# medians. Knobs: BUILD_DIR (build), BASE_REF (merge-base with main), BASE_BIN (a binary
# already built from BASE_REF: skips the base build), LOADGEN_BIN (a built loadgen: skips
# building this checkout's targets), BASE_BUILD_DIR (out/quota-bench-base), RUNS (5), POOL (50000), SECONDS_PER_PHASE (5), LOADGEN_THREADS (1),
# BENCH_WORKDIR (out/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

build_dir=${BUILD_DIR:-build}
runs=${RUNS:-5}
pool_size=${POOL:-50000}
phase_sec=${SECONDS_PER_PHASE:-5}
loadgen_threads=${LOADGEN_THREADS:-1}
workdir_parent=${BENCH_WORKDIR:-$repo/out}
base_ref=${BASE_REF:-$(git merge-base HEAD main 2>/dev/null || git rev-parse HEAD~1)}
base_build=${BASE_BUILD_DIR:-$repo/out/quota-bench-base}

source bench/lib.sh
if [[ -n "${LOADGEN_BIN:-}" ]]; then
    # Binaries already built (a busy machine): this checkout's broker, the given load generator.
    broker_bin=$repo/$build_dir/sandbox-broker
    loadgen_bin=$LOADGEN_BIN
else
    bench_build
fi
bench_workdir quota-bench
broker_pid=""
cleanup() {
    bench_stop "$broker_pid"
    rm -rf "$work"
}
trap cleanup EXIT

# The base binary, from its own source tree (rebuilt only when the ref changed).
if [[ -n "${BASE_BIN:-}" ]]; then
    base_build=$(mktemp -d "$workdir_parent/quota-bench-bin.XXXXXX")
    mkdir -p "$base_build/build" && cp "$BASE_BIN" "$base_build/build/sandbox-broker"
    echo "$base_ref" >"$base_build/ref"
    "$base_build/build/sandbox-broker" --version
elif [[ ! -x "$base_build/build/sandbox-broker" || "$(cat "$base_build/ref" 2>/dev/null)" != "$base_ref" ]]; then
    rm -rf "$base_build"
    mkdir -p "$base_build/src"
    git archive "$base_ref" | tar -x -C "$base_build/src"
    launcher=()
    if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
    (cd "$base_build/src" && CCACHE_BASEDIR=$base_build/src cmake -S . -B "$base_build/build" \
        -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null &&
        CCACHE_BASEDIR=$base_build/src cmake --build "$base_build/build" -j"$(nproc)" --target sandbox-broker)
    echo "$base_ref" >"$base_build/ref"
fi
base_bin=$base_build/build/sandbox-broker

api_token=bench-api-token-$RANDOM$RANDOM
admin_token=bench-admin-token-$RANDOM$RANDOM
"$loadgen_bin" --make-pool "$pool_size" --out "$work/pool.json"

# Ten open reservations and a hundred limits, none for the (empty) track the load sends.
define_rules() {
    local url=$1 now
    now=$(date +%s)
    for i in $(seq 1 10); do
        curl -fsS -o /dev/null -X POST "$url/v1/admin/reservations" -H "Authorization: Bearer $admin_token" \
            -d "{\"track\": \"class-$i\", \"count\": 10, \"starts_at\": $((now - 60)), \"ends_at\": $((now + 3600))}"
    done
    for i in $(seq 1 100); do
        curl -fsS -o /dev/null -X PUT "$url/v1/admin/tracks/track-$i/limit" -H "Authorization: Bearer $admin_token" \
            -d '{"max_active": 50}'
    done
}

one() {  # variant run -> prints the loadgen JSON line
    local variant=$1 run=$2 bin=$broker_bin dir=$work/$1-$2
    [[ $variant == base ]] && bin=$base_bin
    mkdir -p "$dir"
    local store=sqlite:$dir/broker.db
    "$bin" migrate --store "$store" >"$dir/migrate.log" 2>&1
    "$bin" import "$work/pool.json" --store "$store" >"$dir/import.log" 2>&1 || { cat "$dir/import.log" >&2; exit 1; }
    RATE_LIMIT_ENABLED=false BROKER_API_TOKEN=$api_token BROKER_ADMIN_TOKEN=$admin_token LOG_LEVEL=warning \
        "$bin" run --listen 127.0.0.1:0 --store "$store" >"$dir/broker.log" 2>&1 &
    broker_pid=$!
    local port
    port=$(bench_port "$dir/broker.log" "$broker_pid")
    [[ $variant == rules ]] && define_rules "http://127.0.0.1:$port"
    local out
    out=$("$loadgen_bin" --url "http://127.0.0.1:$port" --duration "$phase_sec" --threads "$loadgen_threads" \
        --run-id "$variant$run" --path /v1/allocate --method POST --connections 50 --token "$api_token" \
        --unique-participant)
    kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
    rm -f "$dir"/broker.db*
    tail -n1 <<<"$out"
}

declare -A rps p99 bad
variants=(base plain rules)
for run in $(seq 1 "$runs"); do
    # Rotate the order: run 1 base,plain,rules; run 2 plain,rules,base; ...
    shift_by=$(((run - 1) % 3))
    order=("${variants[@]:$shift_by}" "${variants[@]:0:$shift_by}")
    for v in "${order[@]}"; do
        line=$(one "$v" "$run")
        rps[$v]+="$(field "$line" rps) "
        p99[$v]+="$(field "$line" p99_ms) "
        bad[$v]=$((${bad[$v]:-0} + $(field "$line" non2xx) + $(field "$line" errors)))
        printf 'run %d %-5s alloc@50 %8s/s  p99 %6s ms\n' "$run" "$v" "$(field "$line" rps)" "$(field "$line" p99_ms)"
    done
done

echo
echo "base: $base_ref ($(git log -1 --format=%s "$base_ref" | cut -c1-60))"
printf '| variant | alloc@50/s runs | median | p99 ms median | non-2xx + errors |\n|---|---|---|---|---|\n'
for v in "${variants[@]}"; do
    # shellcheck disable=SC2086
    printf '| %s | %s| %s | %s | %s |\n' "$v" "${rps[$v]}" "$(median ${rps[$v]})" "$(median ${p99[$v]})" "${bad[$v]}"
done
base_median=$(median ${rps[base]})
plain_median=$(median ${rps[plain]})
awk -v b="$base_median" -v p="$plain_median" 'BEGIN {printf "plain / base = %.3f\n", p / b}'
