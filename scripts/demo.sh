#!/usr/bin/env bash
# The demo: installs dependencies, builds, starts the provider simulator (`csp-sim`, 100
# sandboxes, on 127.0.0.1) in the background, then runs the broker (`run`: API and background
# jobs) against it in the foreground, with job intervals short enough to watch: sync fills the
# pool at start, a returned sandbox is deleted at the "provider" within seconds. Ctrl-C stops
# the broker; the simulator is stopped with it.
#
# The simulator keeps its accounts in memory, so every demo starts from a fresh store
# (data/demo.db). Tokens come from BROKER_API_TOKEN / BROKER_ADMIN_TOKEN when set, else from
# data/demo-tokens.env (generated on the first run). BROKER_LISTEN overrides the address,
# DEMO_SANDBOXES the pool size.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh release

binary=build/sandbox-broker
store=sqlite:data/demo.db
listen=${BROKER_LISTEN:-127.0.0.1:8080}  # loopback unless told otherwise
sandboxes=${DEMO_SANDBOXES:-100}
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

# The simulator: a free port on loopback, its own token, output in a file we read the port from.
sim_token=$(random_token)
sim_log=data/demo-csp-sim.log
"$binary" csp-sim --listen 127.0.0.1:0 --sandboxes "$sandboxes" --name-prefix demo-sandbox- \
    --token "$sim_token" --log-level warn >"$sim_log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT

sim_url=""
for _ in $(seq 100); do
    sim_url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$sim_log" | head -n 1)
    [[ -n "$sim_url" ]] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$sim_log" >&2; echo "demo: csp-sim did not start" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$sim_url" ]] || { cat "$sim_log" >&2; echo "demo: csp-sim did not report its address" >&2; exit 1; }

rm -f data/demo.db data/demo.db-wal data/demo.db-shm

# The provider is the simulator; intervals suited to watching (production defaults are minutes).
export CSP_BASE_URL="$sim_url/v2" CSP_API_TOKEN="$sim_token"
export SYNC_INTERVAL_SEC=${SYNC_INTERVAL_SEC:-30}
export CLEANUP_INTERVAL_SEC=${CLEANUP_INTERVAL_SEC:-5}
export AUTO_EXPIRY_INTERVAL_SEC=${AUTO_EXPIRY_INTERVAL_SEC:-10}
export CLEANUP_BATCH_DELAY_SEC=${CLEANUP_BATCH_DELAY_SEC:-0.5}
export CLEANUP_PER_SANDBOX_DELAY_SEC=${CLEANUP_PER_SANDBOX_DELAY_SEC:-0.1}

port=${listen##*:}
api=http://127.0.0.1:$port
cat <<INFO

  Provider simulator: $sim_url ($sandboxes sandboxes; its counters: curl -s $sim_url/_sim/stats)
  Participant token:  $BROKER_API_TOKEN
  Admin token:        $BROKER_ADMIN_TOKEN

  The pool, synced from the simulator at start:
    curl -s $api/v1/admin/stats -H "Authorization: Bearer $BROKER_ADMIN_TOKEN"

  Allocate a sandbox for participant "demo-participant-1" (repeat it: same sandbox, 200):
    curl -s -X POST $api/v1/allocate \\
      -H "Authorization: Bearer $BROKER_API_TOKEN" -H "X-Instruqt-Sandbox-ID: demo-participant-1"

  Give it back (use the sandbox_id it answered); cleanup deletes it at the provider within
  $CLEANUP_INTERVAL_SEC s, and the simulator's "deleted" counter goes up:
    curl -s -X POST $api/v1/sandboxes/SANDBOX_ID/mark-for-deletion \\
      -H "Authorization: Bearer $BROKER_API_TOKEN" -H "X-Instruqt-Sandbox-ID: demo-participant-1"
    curl -s $api/v1/admin/sandboxes/SANDBOX_ID -H "Authorization: Bearer $BROKER_ADMIN_TOKEN"

  The jobs: curl -s $api/v1/admin/jobs -H "Authorization: Bearer $BROKER_ADMIN_TOKEN"
  Dashboard: $api/dashboard (sign in with the admin token)
  Health:   curl -s $api/healthz                                     Stop: Ctrl-C

INFO
"$binary" run --listen "$listen" --store "$store"
