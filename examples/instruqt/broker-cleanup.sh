#!/usr/bin/env bash
# sandbox-broker cleanup for an Instruqt track: gives this participant's sandbox back for
# deletion. Drop it into a track's cleanup script as is; see README.md. Running it again, or
# after the lease ran out, ends 0 with a message.
#
# Settings (environment):
#   BROKER_URL             broker base URL (required)
#   BROKER_API_TOKEN       participant token (required; never printed)
#   INSTRUQT_PARTICIPANT_ID  the participant (set by Instruqt; BROKER_PARTICIPANT_ID overrides)
#   BROKER_SANDBOX_ID      the sandbox to return (default: the sandbox_id file setup wrote)
#   BROKER_OUTPUT_DIR      where setup wrote its files (default $HOME/sandbox)
#   BROKER_BUDGET_SEC      total time to keep trying through 429/503 (default 120)
# Exit: 0 returned (or nothing left to return); 1 the budget ran out; 2 the broker refused.
set -uo pipefail

die() { echo "broker-cleanup: $2" >&2; exit "$1"; }
say() { echo "broker-cleanup: $*" >&2; }

: "${BROKER_URL:?broker-cleanup: BROKER_URL is required}"
[[ -n "${BROKER_API_TOKEN:-}" ]] || die 2 "BROKER_API_TOKEN is required"
participant=${BROKER_PARTICIPANT_ID:-${INSTRUQT_PARTICIPANT_ID:-}}
[[ -n "$participant" ]] || die 2 "INSTRUQT_PARTICIPANT_ID (or BROKER_PARTICIPANT_ID) is required"
out_dir=${BROKER_OUTPUT_DIR:-$HOME/sandbox}
budget=${BROKER_BUDGET_SEC:-120}
[[ "$budget" =~ ^[0-9]+$ ]] || die 2 "BROKER_BUDGET_SEC must be a whole number of seconds"
sandbox_id=${BROKER_SANDBOX_ID:-}
if [[ -z "$sandbox_id" && -r "$out_dir/sandbox_id" ]]; then
    sandbox_id=$(tr -d '[:space:]' < "$out_dir/sandbox_id")
fi
if [[ -z "$sandbox_id" ]]; then
    say "no sandbox to return (no BROKER_SANDBOX_ID, no $out_dir/sandbox_id): nothing to do"
    exit 0
fi
[[ "$sandbox_id" =~ ^[A-Za-z0-9._-]+$ ]] || die 2 "sandbox id '$sandbox_id' is not a sandbox id"

json_field() {
    local value
    value=$(printf '%s' "$1" | sed -n 's/.*"'"$2"'":"\([^"]*\)".*/\1/p')
    [[ -n "$value" ]] || value=$(printf '%s' "$1" | sed -n 's/.*"'"$2"'":\([-0-9][0-9]*\).*/\1/p')
    printf '%s' "$value"
}

body_file=$(mktemp)
head_file=$(mktemp)
trap 'rm -f "$body_file" "$head_file"' EXIT
deadline=$(( $(date +%s) + budget ))
status=none

while :; do
    status=$(printf 'header = "Authorization: Bearer %s"\n' "$BROKER_API_TOKEN" |
        curl -sS -K - -X POST "${BROKER_URL%/}/v1/sandboxes/$sandbox_id/mark-for-deletion" \
            -H "X-Instruqt-Sandbox-ID: $participant" --max-time 30 \
            -o "$body_file" -D "$head_file" -w '%{http_code}' 2>/dev/null) || status=000
    body=$(cat "$body_file" 2>/dev/null)
    code=$(json_field "$body" code)
    case "$status" in
        200)
            say "sandbox $sandbox_id returned for deletion"
            exit 0 ;;
        404)
            say "sandbox $sandbox_id is not known to the broker any more (already deleted): nothing to do"
            exit 0 ;;
        403)
            if [[ "$code" == ALLOCATION_EXPIRED ]]; then
                say "the lease of sandbox $sandbox_id ran out; the broker takes it back itself: nothing to do"
                exit 0
            fi
            die 2 "the broker refused: HTTP 403 ${code:-} $(json_field "$body" message)" ;;
        400|401)
            die 2 "the broker refused: HTTP $status ${code:-} $(json_field "$body" message)" ;;
        429|5??|000)
            pause=$(sed -n 's/^[Rr]etry-[Aa]fter:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$head_file" | head -n 1)
            [[ -n "$pause" && "$pause" -gt 0 ]] || pause=2 ;;
        *)
            die 2 "unexpected answer from the broker: HTTP $status" ;;
    esac
    left=$(( deadline - $(date +%s) ))
    (( left > 0 )) || die 1 "could not return sandbox $sandbox_id within ${budget} s (last answer: HTTP $status)"
    (( pause < left )) || pause=$left
    say "HTTP $status ${code:-}; retrying in ${pause} s"
    sleep "$pause"
done
