#!/usr/bin/env bash
# sandbox-broker setup for an Instruqt track: asks the broker for this participant's sandbox
# and writes its fields to files. Drop it into a track's setup script as is; see README.md.
#
# Settings (environment):
#   BROKER_URL             broker base URL, e.g. https://broker.example.com (required)
#   BROKER_API_TOKEN       participant token (required; never printed)
#   INSTRUQT_PARTICIPANT_ID  the participant (set by Instruqt; BROKER_PARTICIPANT_ID overrides)
#   INSTRUQT_TRACK_SLUG / INSTRUQT_TRACK_ID  the track, sent as X-Instruqt-Track-ID: the name
#                          reservations and track limits use (BROKER_TRACK overrides; optional)
#   BROKER_NAME_PREFIX     only a sandbox whose name starts with it (optional)
#   BROKER_BUDGET_SEC      total time to keep trying (default 300)
#   BROKER_WAIT_SEC        how long one request may wait for a free sandbox (default 60)
#   BROKER_OUTPUT_DIR      where the files go (default $HOME/sandbox)
# Exit: 0 with the files written; 1 when the budget ran out; 2 when the broker refused the
# request (400, 401, 403, a prefix no sandbox has, the participant's limit): retrying will not help.
# A track at its limit (409 TRACK_LIMIT_REACHED) is waited out like an empty pool.
set -uo pipefail

die() { echo "broker-setup: $2" >&2; exit "$1"; }
say() { echo "broker-setup: $*" >&2; }

: "${BROKER_URL:?broker-setup: BROKER_URL is required}"
[[ -n "${BROKER_API_TOKEN:-}" ]] || die 2 "BROKER_API_TOKEN is required"
participant=${BROKER_PARTICIPANT_ID:-${INSTRUQT_PARTICIPANT_ID:-}}
[[ -n "$participant" ]] || die 2 "INSTRUQT_PARTICIPANT_ID (or BROKER_PARTICIPANT_ID) is required"
track=${BROKER_TRACK:-${INSTRUQT_TRACK_SLUG:-${INSTRUQT_TRACK_ID:-}}}
budget=${BROKER_BUDGET_SEC:-300}
wait_max=${BROKER_WAIT_SEC:-60}
out_dir=${BROKER_OUTPUT_DIR:-$HOME/sandbox}
[[ "$budget" =~ ^[0-9]+$ ]] || die 2 "BROKER_BUDGET_SEC must be a whole number of seconds"
[[ "$wait_max" =~ ^[0-9]+$ ]] || die 2 "BROKER_WAIT_SEC must be a whole number of seconds"

# The value of a top-level "key": "string" or "key": number in the broker's compact JSON.
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

# One POST /v1/allocate; sets status, body and retry_after (seconds, 0 when not given).
allocate() {
    local wait_sec=$1
    local -a headers=(-H "X-Instruqt-Sandbox-ID: $participant")
    [[ -n "$track" ]] && headers+=(-H "X-Instruqt-Track-ID: $track")
    [[ -n "${BROKER_NAME_PREFIX:-}" ]] && headers+=(-H "X-Sandbox-Name-Prefix: $BROKER_NAME_PREFIX")
    (( wait_sec > 0 )) && headers+=(-H "Prefer: wait=$wait_sec")
    # The token goes to curl on stdin, never on its command line (visible in ps).
    status=$(printf 'header = "Authorization: Bearer %s"\n' "$BROKER_API_TOKEN" |
        curl -sS -K - -X POST "${BROKER_URL%/}/v1/allocate" "${headers[@]}" \
            --max-time $(( wait_sec + 30 )) -o "$body_file" -D "$head_file" -w '%{http_code}' 2>/dev/null) ||
        status=000
    body=$(cat "$body_file" 2>/dev/null)
    retry_after=$(sed -n 's/^[Rr]etry-[Aa]fter:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$head_file" | head -n 1)
    [[ -n "$retry_after" ]] || retry_after=$(json_field "$body" retry_after)
    [[ -n "$retry_after" ]] || retry_after=0
}

write_files() {
    mkdir -p "$out_dir" || die 2 "cannot create $out_dir"
    printf '%s\n' "$body" > "$out_dir/sandbox.json"
    local env_file="$out_dir/sandbox.env" field value
    : > "$env_file"
    for field in sandbox_id name external_id sfdc_account_id allocated_at expires_at; do
        value=$(json_field "$body" "$field")
        printf '%s\n' "$value" > "$out_dir/$field"
        printf 'export SANDBOX_%s=%q\n' "$(printf '%s' "$field" | tr '[:lower:]' '[:upper:]')" "$value" >> "$env_file"
    done
}

attempt=0
status=none
while :; do
    now=$(date +%s)
    left=$(( deadline - now ))
    (( left > 0 )) || die 1 "no sandbox within ${budget} s (last answer: HTTP $status); try again later"
    wait_sec=$(( wait_max < left ? wait_max : left ))
    attempt=$(( attempt + 1 ))
    allocate "$wait_sec"
    code=$(json_field "$body" code)
    case "$status" in
        200|201)
            write_files
            say "sandbox $(json_field "$body" sandbox_id) ($(json_field "$body" name)) written to $out_dir"
            exit 0 ;;
        400|401|403)
            die 2 "the broker refused the request: HTTP $status ${code:-} $(json_field "$body" message)" ;;
        409)
            [[ "$code" == NO_SANDBOXES_AVAILABLE || "$code" == TRACK_LIMIT_REACHED ]] ||
                die 2 "the broker refused the request: HTTP 409 ${code:-} $(json_field "$body" message)"
            pause=$(( retry_after > 0 ? retry_after : 5 )) ;;
        429|5??)
            pause=$(( retry_after > 0 ? retry_after : 2 )) ;;
        000)
            pause=2 ;;
        *)
            die 2 "unexpected answer from the broker: HTTP $status" ;;
    esac
    left=$(( deadline - $(date +%s) ))
    (( left > 0 )) || die 1 "no sandbox within ${budget} s (last answer: HTTP $status ${code:-}); try again later"
    (( pause < left )) || pause=$left
    say "attempt $attempt: HTTP $status ${code:-}; retrying in ${pause} s"
    sleep "$pause"
done
