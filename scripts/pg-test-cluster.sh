#!/usr/bin/env bash
# A private, throw-away PostgreSQL 15 cluster for the store tests and benchmarks.
#   scripts/pg-test-cluster.sh start   creates and starts it (or finds it running); prints its URL
#   scripts/pg-test-cluster.sh url     prints the URL of the running cluster (exit 1 if none)
#   scripts/pg-test-cluster.sh stop    shuts it down and removes its files (fine if none)
# It listens on 127.0.0.1 only, on a port that was free, with trust authentication for the
# test user on loopback, fsync and synchronous_commit on (the store's durability is what is
# tested and measured). PostgreSQL refuses to run as root, so as root the server runs as the
# `postgres` system user (created as `broker-pg` when missing).
# Environment: BROKER_PG_DIR (state directory; default one per checkout under $TMPDIR),
# BROKER_PG_BIN (server binaries; default /usr/lib/postgresql/15/bin), BROKER_PG_USER,
# BROKER_PG_DB (test role and database; default broker / broker_test).
# Typical use: export BROKER_TEST_POSTGRES_URL="$(scripts/pg-test-cluster.sh start)"
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BROKER_PG_BIN:-/usr/lib/postgresql/15/bin}"
# One cluster per checkout, so two worktrees running their tests at once do not collide.
checkout_id="$(printf '%s' "$repo" | cksum | cut -d' ' -f1)"
state="${BROKER_PG_DIR:-${TMPDIR:-/tmp}/broker-pg-$checkout_id}"
data="$state/data"
db_user="${BROKER_PG_USER:-broker}"
db_name="${BROKER_PG_DB:-broker_test}"

log() { echo "pg-test-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -x "$bin/initdb" && -x "$bin/pg_ctl" ]] ||
    die "PostgreSQL server binaries not found in $bin (install postgresql-15, or set BROKER_PG_BIN)"

# The account the server runs as: ourselves, or a system user when we are root.
run_as=""
if [[ "$(id -u)" == "0" ]]; then
    run_as="postgres"
    if ! id -u "$run_as" >/dev/null 2>&1; then
        run_as="broker-pg"
        id -u "$run_as" >/dev/null 2>&1 ||
            useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$run_as"
    fi
fi
as_server() {
    if [[ -n "$run_as" ]]; then runuser -u "$run_as" -- "$@"; else "$@"; fi
}

url_of() { echo "postgresql://$db_user@127.0.0.1:$1/$db_name"; }

# Whether the server of our state directory is up and answering.
running() {
    [[ -f "$state/port" && -f "$data/postmaster.pid" ]] || return 1
    as_server "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 1
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$state/port")" -t 2 >/dev/null 2>&1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        port_in_use "$port" || { echo "$port"; return 0; }
    done
    die "no free port found"
}

stop_cluster() {
    if [[ -f "$data/postmaster.pid" ]]; then
        as_server "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
            as_server "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$state"
}

start_cluster() {
    if running; then
        url_of "$(cat "$state/port")"
        return 0
    fi
    # Whatever is left over (a crashed run, a half-made directory) is thrown away.
    stop_cluster
    mkdir -p "$state"
    chmod 0755 "$state"
    [[ -n "$run_as" ]] && chown "$run_as" "$state"

    # --no-sync only skips flushing the freshly made files of this throw-away cluster; the
    # running server keeps fsync and synchronous_commit on.
    as_server "$bin/initdb" -D "$data" -U "$db_user" --auth=trust -E UTF8 --locale=C --no-sync \
        >"$state/initdb.log" 2>&1 || { cat "$state/initdb.log" >&2; die "initdb failed"; }
    cat >"$state/pg_hba.conf" <<EOF
# Private test cluster: the socket and loopback only, no password for the test user.
local all all                    trust
host  all $db_user 127.0.0.1/32  trust
EOF
    cp "$state/pg_hba.conf" "$data/pg_hba.conf"
    [[ -n "$run_as" ]] && chown "$run_as" "$data/pg_hba.conf"

    local port attempt
    for attempt in 1 2 3 4 5; do
        port="$(pick_port)"
        cat >"$data/postgresql.auto.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$state'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 300
shared_buffers = 256MB
logging_collector = off
EOF
        [[ -n "$run_as" ]] && chown "$run_as" "$data/postgresql.auto.conf"
        # Another process may take the port between the check and the bind: then try another.
        if as_server "$bin/pg_ctl" -D "$data" -l "$state/server.log" -w -t 60 start >/dev/null 2>&1; then
            echo "$port" >"$state/port"
            break
        fi
        grep -q "could not bind\|could not create listen socket" "$state/server.log" 2>/dev/null ||
            { cat "$state/server.log" >&2 || true; die "the server did not start"; }
        log "port $port was taken, trying another (attempt $attempt)"
        port=""
    done
    [[ -n "${port:-}" ]] || die "could not find a port to listen on"

    "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$db_user" "$db_name"
    echo "BROKER_TEST_POSTGRES_URL=$(url_of "$port")" >"$state/env"
    log "running on 127.0.0.1:$port, data in $data"
    url_of "$port"
}

case "${1:-}" in
    start) start_cluster ;;
    stop) stop_cluster ;;
    url)
        running || die "no cluster running (state directory $state)"
        url_of "$(cat "$state/port")"
        ;;
    *)
        echo "usage: $0 start|stop|url" >&2
        exit 2
        ;;
esac
