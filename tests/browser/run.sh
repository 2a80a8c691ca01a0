#!/usr/bin/env bash
# Runs the dashboard's browser tests (dashboard_test.py) in headless Chromium against the real
# binary: run.sh BINARY OUTPUT_DIR. Debian's python3 (its python3-selenium), chromium and
# chromium-driver; exits 77 (skipped) naming what is missing.
set -euo pipefail
binary=$1
output=$2
python=/usr/bin/python3
for need in /usr/bin/chromium /usr/bin/chromedriver "$python"; do
    if [[ ! -x "$need" ]]; then
        echo "browser tests skipped: $need is missing (scripts/install-deps.sh installs it)"
        exit 77
    fi
done
if ! "$python" -c 'import selenium' 2>/dev/null; then
    echo "browser tests skipped: python3-selenium is missing (scripts/install-deps.sh installs it)"
    exit 77
fi
mkdir -p "$output"
exec "$python" "$(dirname "$0")/dashboard_test.py" "$binary" "$output"
