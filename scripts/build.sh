#!/usr/bin/env bash
# Configures and builds one CMake preset: release (build/, the default) or debug-asan
# (build-asan/, AddressSanitizer + UndefinedBehaviorSanitizer). See CMakePresets.json.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-release}
case "$preset" in
    release|debug-asan) ;;
    *) echo "usage: scripts/build.sh [release|debug-asan]" >&2; exit 2 ;;
esac

# A compiler cache makes rebuilds (and builds in other checkouts of the tree) compile only
# what changed; CCACHE_BASEDIR makes its entries independent of the checkout's path.
launcher=()
if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset "$preset" "${launcher[@]}"
cmake --build --preset "$preset" -j"$(nproc)"
