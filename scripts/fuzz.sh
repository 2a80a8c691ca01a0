#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp), one per parser that reads outside
# input, with Debian's clang and runs them. Usage:
#   scripts/fuzz.sh [SECONDS] [TARGET]
# runs TARGET (e.g. csp_accounts) for SECONDS (default 20), or every target for SECONDS each.
# Targets: request, csp_accounts, niosxaas, cursor, query, store_url, settings.
# Seeds are tests/fuzz/corpus/<target>/ (kept as they are); the corpus grows in
# BUILD_DIR/fuzz/corpus/<target>/, and a finding is written to BUILD_DIR/fuzz/ as crash-*.
# Exits 77 (ctest: skipped) when clang or its fuzzer runtime is missing;
# scripts/install-deps.sh installs both. Knobs: BUILD_DIR (build), FUZZ_RUNS (bound on
# executions per target; default none: SECONDS alone bounds the run; ctest sets one),
# FUZZ_KEEP=1 (after the run, merge what it found into tests/fuzz/corpus/<target>/, minimised,
# so that a long run's corpus can be committed).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
only=${2:-}
runs=${FUZZ_RUNS:--1}
out=${BUILD_DIR:-build}/fuzz

# Each target's sources besides tests/fuzz/<target>_fuzz.cpp: the parser and what it needs.
declare -A sources=(
    [request]="src/http/client_key.cpp src/http/request_id.cpp src/http/cors_policy.cpp src/http/request_framing.cpp src/runtime/http_text.cpp src/core/errors.cpp"
    [csp_accounts]="src/provider/csp_accounts.cpp src/core/excerpt.cpp src/core/sandbox.cpp"
    [niosxaas]="src/provider/niosxaas_answers.cpp"
    [cursor]="src/service/cursor.cpp"
    [query]="src/http/query.cpp"
    [store_url]="src/store/store_url.cpp src/core/errors.cpp"
    [settings]="src/core/config.cpp src/core/cpu_count.cpp src/core/legacy_settings.cpp src/core/env_value.cpp src/core/errors.cpp src/core/lifecycle.cpp src/core/sandbox.cpp src/core/secret_files.cpp src/core/settings_catalog.cpp"
)
targets=(request csp_accounts niosxaas cursor query store_url settings)
if [[ -n "$only" ]]; then
    if [[ -z "${sources[$only]+x}" ]]; then
        echo "unknown fuzz target '$only' (one of: ${targets[*]})" >&2
        exit 2
    fi
    targets=("$only")
fi

clang=$(command -v clang++-14 || command -v clang++ || true)
if [[ -z "$clang" ]]; then
    echo "SKIP: clang++ not found (apt-get install clang-14 libclang-rt-14-dev); fuzz targets not run"
    exit 77
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$clang" -x c++ -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    echo "SKIP: $clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing); fuzz targets not run"
    exit 77
fi

mkdir -p "$out"
for target in "${targets[@]}"; do
    binary=$out/${target}_fuzz
    deps=$binary.deps  # the sources and the project headers they include, one per line
    read -r -a files <<<"tests/fuzz/${target}_fuzz.cpp ${sources[$target]}"
    # Rebuilt when it is missing or anything it was built from is newer (or gone).
    stale=1
    if [[ -x "$binary" && -f "$deps" ]]; then
        mapfile -t built_from <"$deps"
        if [[ -z "$(find "${built_from[@]}" -newer "$binary" 2>&1 | head -1)" ]]; then stale=0; fi
    fi
    if [[ $stale == 1 ]]; then
        echo "building $binary with $clang"
        "$clang" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
            -Isrc -Itests/fuzz "${files[@]}" -o "$binary.tmp"
        "$clang" -std=c++20 -Isrc -Itests/fuzz -MM "${files[@]}" |
            sed -e 's/^[^:]*://' -e 's/\\$//' | tr ' ' '\n' | grep -v '^$' | sort -u >"$deps"
        mv "$binary.tmp" "$binary"
    fi
    corpus=$out/corpus/$target
    mkdir -p "$corpus"
    cp -n tests/fuzz/corpus/"$target"/* "$corpus/" 2>/dev/null || true
    echo "fuzzing $target for ${seconds}s"
    # A finding must fail the run: libFuzzer's own exit code for one (77) means "skipped" to ctest.
    "$binary" -max_total_time="$seconds" -runs="$runs" -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
        -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 -artifact_prefix="$out/${target}-" "$corpus"
    if [[ "${FUZZ_KEEP:-0}" == "1" ]]; then
        before=$(ls tests/fuzz/corpus/"$target" | wc -l)
        "$binary" -merge=1 -max_len=20000 -timeout=10 tests/fuzz/corpus/"$target" "$corpus" 2>/dev/null
        echo "kept $(($(ls tests/fuzz/corpus/"$target" | wc -l) - before)) new inputs in tests/fuzz/corpus/$target"
    fi
done
