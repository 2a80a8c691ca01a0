#!/usr/bin/env bash
# A private, throw-away DynamoDB emulator (dynalite, tools/dynalite) for the store tests and
# benchmarks.
#   scripts/dynalite.sh start   starts it (or finds it running); prints its endpoint URL
#   scripts/dynalite.sh url     prints the URL of the running emulator (exit 1 if none)
#   scripts/dynalite.sh stop    stops it and removes its files (fine if none)
# It listens on 127.0.0.1 only, on a port that was free, keeps its data in memory, and makes
# tables ACTIVE at once (--createTableMs 0), so that a test's fresh table is ready at once.
# Environment: BROKER_DYNALITE_DIR (state directory; default one per checkout under $TMPDIR).
# Typical use: export BROKER_TEST_DYNAMODB_URL="$(scripts/dynalite.sh start)"
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tool="$repo/tools/dynalite"
checkout_id="$(printf '%s' "$repo" | cksum | cut -d' ' -f1)"
state="${BROKER_DYNALITE_DIR:-${TMPDIR:-/tmp}/broker-dynalite-$checkout_id}"

log() { echo "dynalite: $*" >&2; }
die() { log "$*"; exit 1; }

url_of() { echo "http://127.0.0.1:$1"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() {
    [[ -f "$state/pid" && -f "$state/port" ]] || return 1
    kill -0 "$(cat "$state/pid")" 2>/dev/null || return 1
    port_in_use "$(cat "$state/port")"
}

stop_emulator() {
    if [[ -f "$state/pid" ]]; then
        local pid
        pid="$(cat "$state/pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$state"
}

start_emulator() {
    if running; then
        url_of "$(cat "$state/port")"
        return 0
    fi
    stop_emulator
    command -v node >/dev/null || die "node is not installed (scripts/install-deps.sh installs it)"
    if [[ ! -f "$tool/node_modules/dynalite/cli.js" ]]; then
        (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error) >&2
    fi
    mkdir -p "$state"
    local port attempt
    for attempt in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" && continue
        nohup node "$tool/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
            --createTableMs 0 --deleteTableMs 0 --updateTableMs 0 >"$state/server.log" 2>&1 &
        echo $! >"$state/pid"
        for _ in $(seq 1 100); do
            port_in_use "$port" && break
            kill -0 "$(cat "$state/pid")" 2>/dev/null || break
            sleep 0.05
        done
        if port_in_use "$port" && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
            echo "$port" >"$state/port"
            log "running on 127.0.0.1:$port (pid $(cat "$state/pid"))"
            url_of "$port"
            return 0
        fi
        log "did not start on port $port (attempt $attempt): $(tail -n 3 "$state/server.log" 2>/dev/null)"
        kill "$(cat "$state/pid")" 2>/dev/null || true
    done
    die "could not start dynalite"
}

case "${1:-}" in
    start) start_emulator ;;
    stop) stop_emulator ;;
    url)
        running || die "no emulator running (state directory $state)"
        url_of "$(cat "$state/port")"
        ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac
