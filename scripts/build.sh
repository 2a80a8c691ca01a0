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

cmake --preset "$preset"
cmake --build --preset "$preset" -j"$(nproc)"
