#!/usr/bin/env bash
# The demo: installs dependencies, builds, imports the demo pool of 50 sandboxes
# (examples/demo-accounts.json) into data/broker.db and runs the broker in the foreground.
# Tokens come from BROKER_API_TOKEN / BROKER_ADMIN_TOKEN when set, else from
# data/demo-tokens.env (generated on the first run). BROKER_LISTEN overrides the address.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release

binary=build/sandbox-broker
store=sqlite:data/broker.db
listen=${BROKER_LISTEN:-0.0.0.0:8080}
tokens_file=data/demo-tokens.env
mkdir -p data

random_token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

if [[ -z "${BROKER_API_TOKEN:-}" || -z "${BROKER_ADMIN_TOKEN:-}" ]]; then
    if [[ ! -f "$tokens_file" ]]; then
        umask 077
        printf 'BROKER_API_TOKEN=%s\nBROKER_ADMIN_TOKEN=%s\n' "$(random_token)" "$(random_token)" >"$tokens_file"
        echo "demo: generated tokens in $tokens_file"
    fi
    set -a
    # shellcheck source=/dev/null
    source "$tokens_file"
    set +a
fi

"$binary" migrate --store "$store"
"$binary" import examples/demo-accounts.json --store "$store"

port=${listen##*:}
cat <<INFO

  Participant token: $BROKER_API_TOKEN
  Admin token:       $BROKER_ADMIN_TOKEN

  Allocate a sandbox for participant "demo-participant-1" (repeat it: same sandbox, 200):

    curl -s -X POST http://127.0.0.1:$port/v1/allocate \\
      -H "Authorization: Bearer $BROKER_API_TOKEN" \\
      -H "X-Instruqt-Sandbox-ID: demo-participant-1"

  Health: curl -s http://127.0.0.1:$port/healthz          Stop: Ctrl-C

INFO
exec "$binary" run --listen "$listen" --store "$store"
