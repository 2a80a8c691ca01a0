#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds the release preset and runs every
# ctest suite (unit, store conformance, end-to-end). Extra arguments go to ctest, e.g.
#   scripts/test.sh -R CspAccounts        scripts/test.sh -L e2e
# SANITIZE=1 also builds and runs the debug-asan preset (ASan + UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# --- PostgreSQL for the store conformance suite -----------------------------------------
# Reserved: a throw-away PostgreSQL cluster will be started here (and stopped on exit) so
# the conformance suite also runs against the PostgreSQL store.
# -----------------------------------------------------------------------------------------

scripts/build.sh release
ctest --test-dir build --output-on-failure -j2 --timeout 900 "$@"

if [[ "${SANITIZE:-0}" == "1" ]]; then
    scripts/build.sh debug-asan
    ctest --preset debug-asan -j2 --timeout 1800 "$@"
fi
echo "test.sh: all tests passed"
