#!/usr/bin/env bash
# Builds the libFuzzer target for request parsing and header handling (tests/fuzz/) with
# Debian's clang and runs it. Usage: scripts/fuzz.sh [SECONDS] (default 20). Exits 77 (ctest:
# skipped) when clang or its fuzzer runtime is missing; scripts/install-deps.sh installs both.
# Knobs: BUILD_DIR (build), FUZZ_RUNS (bound on executions, default 2000000).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
runs=${FUZZ_RUNS:-2000000}
out=${BUILD_DIR:-build}/fuzz
clang=$(command -v clang++-14 || command -v clang++ || true)
if [[ -z "$clang" ]]; then
    echo "SKIP: clang++ not found (apt-get install clang-14 libclang-rt-14-dev); fuzz target not run"
    exit 77
fi
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
    "$clang" -x c++ -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    echo "SKIP: $clang cannot link -fsanitize=fuzzer (libclang-rt-14-dev missing); fuzz target not run"
    exit 77
fi

mkdir -p "$out/corpus"
binary=$out/request_fuzz
sources=(tests/fuzz/request_fuzz.cpp src/obs/client_key.cpp src/http/request_id.cpp src/http/cors_policy.cpp
    src/core/errors.cpp)
if [[ ! -x "$binary" ]] || [[ -n "$(find "${sources[@]}" src/obs/client_key.hpp src/http/cors_policy.hpp \
    src/http/request_id.hpp -newer "$binary" 2>/dev/null)" ]]; then
    echo "building $binary with $clang"
    "$clang" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
        "${sources[@]}" -o "$binary"
fi
cp -n tests/fuzz/corpus/* "$out/corpus/" 2>/dev/null || true
# The corpus grows in the build directory; the seeds in the repository stay as they are.
"$binary" -max_total_time="$seconds" -runs="$runs" -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$out/corpus"
