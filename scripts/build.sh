#!/usr/bin/env bash
# Configures and builds one CMake preset: release (build/, the default), debug-asan
# (build-asan/, AddressSanitizer + UndefinedBehaviorSanitizer) or tsan (build-tsan/,
# ThreadSanitizer). See CMakePresets.json. Targets after the preset build only those
# (scripts/build.sh tsan unit_tests store_conformance); BROKER_WERROR=ON makes warnings errors.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-release}
shift || true
case "$preset" in
    release|debug-asan|tsan) ;;
    *) echo "usage: scripts/build.sh [release|debug-asan|tsan] [TARGET...]" >&2; exit 2 ;;
esac
targets=()
if (($#)); then targets=(--target "$@"); fi

# A compiler cache makes rebuilds (and builds in other checkouts of the tree) compile only
# what changed; CCACHE_BASEDIR makes its entries independent of the checkout's path.
launcher=()
if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset "$preset" "${launcher[@]}" -DBROKER_WERROR="${BROKER_WERROR:-OFF}"
cmake --build --preset "$preset" -j"$(nproc)" "${targets[@]}"
