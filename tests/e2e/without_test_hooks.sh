#!/usr/bin/env bash
# Checks a sandbox-broker built without BROKER_TEST_HOOKS (as the container image is): every
# command that could serve refuses --test-clock as an unknown flag (exit 2, before reading
# any setting or store) and its --help does not name it.
set -uo pipefail
binary=$1
clock=$(mktemp)
trap 'rm -f "$clock"' EXIT
date +%s000 >"$clock"
failed=0
for command in run serve worker; do
    out=$("$binary" "$command" --test-clock="$clock" --store sqlite::memory: 2>&1)
    status=$?
    if [ "$status" -ne 2 ] || ! grep -q -- "not expected: --test-clock" <<<"$out"; then
        echo "FAIL: $command --test-clock exited $status: $out"
        failed=1
    fi
    if "$binary" "$command" --help 2>&1 | grep -q -- "test-clock"; then
        echo "FAIL: $command --help names --test-clock"
        failed=1
    fi
done
[ "$failed" -eq 0 ] && echo "run, serve and worker refuse --test-clock and do not list it"
exit "$failed"
