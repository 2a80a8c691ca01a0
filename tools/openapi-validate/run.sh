#!/usr/bin/env bash
# ctest's entry to the OpenAPI validator: validates FILE (or a running broker's URL) with
# validate.mjs. Exit 77 (skipped) when node is missing; installs the locked packages with
# `npm ci` when scripts/install-deps.sh has not yet.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node >/dev/null; then
    echo "openapi-validate: node is not installed (scripts/install-deps.sh installs it): skipped"
    exit 77
fi
if [[ ! -d "$here/node_modules/@seriousme/openapi-schema-validator" ]]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/validate.mjs" "$@"
