#!/usr/bin/env bash
# ctest's entry to the deploy checks (see check.mjs, grafana-check.sh):
#   run.sh recipes BINARY OPENAPI DEPLOY_DIR   recipes against the binary (needs kubectl)
#   run.sh unit BINARY OPENAPI                 the check's own unit cases (fixtures that must fail)
#   run.sh rules DEPLOY_DIR                    promtool check rules + promtool test rules
#   run.sh grafana BINARY DASHBOARD            the dashboard against a scrape of running brokers
# Exit 77 (skipped) when a tool is missing (scripts/install-deps.sh installs them all);
# installs the locked npm packages with `npm ci` when install-deps has not yet.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode=${1:?usage: run.sh recipes|unit|rules|grafana ...}
shift

need() {
    if ! command -v "$1" >/dev/null; then
        echo "deploy-check: $1 is not installed (scripts/install-deps.sh installs it): skipped"
        exit 77
    fi
}
npm_packages() {
    need node
    if [[ ! -d "$here/node_modules/yaml" ]]; then
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

case "$mode" in
    recipes)
        npm_packages
        need kubectl
        exec node "$here/check.mjs" --binary "$1" --openapi "$2" --deploy "$3"
        ;;
    unit)
        npm_packages
        BROKER_BINARY="$1" BROKER_OPENAPI="$2" exec node --test "$here/test/lib.test.mjs"
        ;;
    rules)
        need promtool
        cd "$1/observability/prometheus"
        promtool check rules alerts.yml
        exec promtool test rules alerts_test.yml
        ;;
    grafana)
        npm_packages
        exec "$here/grafana-check.sh" "$1" "$2"
        ;;
    *)
        echo "usage: run.sh recipes|unit|rules|grafana ..." >&2
        exit 2
        ;;
esac
