# What the benchmark scripts share; sourced by them after `cd` to the repository root.
#   bench_build               builds sandbox-broker and loadgen in $build_dir (configuring it
#                             when needed); sets broker_bin and loadgen_bin. With both
#                             BROKER_BIN and LOADGEN_BIN set it builds nothing and uses those
#   bench_workdir NAME        a fresh directory under $workdir_parent (on the disk under test,
#                             not a tmpfs, so every commit pays for its fsync); sets work
#   bench_port LOG PID        the port the broker process PID announced on its first line of
#                             LOG (`listening on http://127.0.0.1:PORT`); waits up to 10 s
#   field JSON NAME           the value of a numeric field in loadgen's JSON line
#   statuses JSON             its count per HTTP status, as "201":4980,"503":2
#   median N...               the middle value (for 3 runs: the median)
#   bench_stop PID...         stops each process started in the background (empty PIDs skipped)
#                             and waits for it; for the scripts' EXIT traps
#   bench_postgres            the database of a PostgreSQL run: BENCH_POSTGRES_URL, else a
#                             private cluster in $work/pg (scripts/pg-test-cluster.sh: fsync and
#                             synchronous_commit on); sets pg_url and own_cluster (1: private)
#   bench_postgres_stop       stops that private cluster, if any; for the scripts' cleanup
#   psql_cmd ARG...           psql on $pg_url ($pg_bin/psql), stopping at the first error,
#                             PostgreSQL's notices left out
#   bench_dynalite NAME       a fresh work directory (bench_workdir NAME) and a private dynalite
#                             in it; sets work and endpoint, exports the emulator's credentials,
#                             and traps EXIT to stop $broker_pid (when set) and dynalite and to
#                             remove the directory

bench_build() {
    if [[ -n "${BROKER_BIN:-}" && -n "${LOADGEN_BIN:-}" ]]; then
        broker_bin=$BROKER_BIN
        loadgen_bin=$LOADGEN_BIN
        return 0
    fi
    if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
        cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
    fi
    cmake --build "$build_dir" -j"$(nproc)" --target sandbox-broker loadgen
    broker_bin=$PWD/$build_dir/sandbox-broker
    loadgen_bin=$PWD/$build_dir/bench/loadgen
}

bench_workdir() {
    mkdir -p "$workdir_parent"
    work=$(mktemp -d "$workdir_parent/$1.XXXXXX")
}

bench_port() {
    local log=$1 pid=$2 port=""
    for _ in $(seq 1 100); do
        # The background process may not have created its log yet: not an error under set -e.
        port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" 2>/dev/null || true)
        [[ -n "$port" ]] && { echo "$port"; return 0; }
        if ! kill -0 "$pid" 2>/dev/null; then echo "broker exited:" >&2; cat "$log" >&2; return 1; fi
        sleep 0.1
    done
    echo "broker not listening after 10 s:" >&2
    cat "$log" >&2
    return 1
}

field() { sed -n "s/.*\"$2\":\([-0-9.e]*\).*/\1/p" <<<"$1"; }

statuses() { sed -n 's/.*"statuses":{\([^}]*\)}.*/\1/p' <<<"$1"; }

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# The median milliseconds of $requests GETs of $base$1 with the curl arguments in the array
# auth (curl's time_total); the caller sets requests, base and auth.
median_ms() {
    local times=() t
    for _ in $(seq 1 "$requests"); do
        t=$(curl -fsS -o /dev/null -w '%{time_total}' "${auth[@]}" "$base$1")
        times+=("$(awk -v t="$t" 'BEGIN {printf "%.2f", t * 1000}')")
    done
    median "${times[@]}"
}

bench_stop() {
    local pid
    for pid in "$@"; do
        [[ -n "$pid" ]] || continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

own_cluster=0  # 1 once bench_postgres started a private cluster
pg_bin=${BROKER_PG_BIN:-/usr/lib/postgresql/15/bin}  # psql and the server's own programs

bench_postgres() {
    if [[ -n "${BENCH_POSTGRES_URL:-}" ]]; then
        own_cluster=0
        pg_url=$BENCH_POSTGRES_URL
    else
        own_cluster=1
        pg_url=$(BROKER_PG_DIR=$work/pg scripts/pg-test-cluster.sh start)
    fi
}

bench_postgres_stop() {
    if ((${own_cluster:-0})); then BROKER_PG_DIR=$work/pg scripts/pg-test-cluster.sh stop >/dev/null || true; fi
}

psql_cmd() { PGOPTIONS=--client-min-messages=warning "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$pg_url" "$@"; }

bench_dynalite() {
    bench_workdir "$1"
    export BROKER_DYNALITE_DIR=$work/dynalite
    broker_pid=""
    trap 'bench_stop "$broker_pid"; scripts/dynalite.sh stop; rm -rf "$work"' EXIT
    endpoint=$(scripts/dynalite.sh start)
    export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret  # the emulator checks the form only
}

# The text of a named statement (`-- name: x`) of one of the stores' .sql files: its lines up
# to the next name, comments out. $1 the file, $2 the name.
sql_statement() {
    awk -v name="$2" '$0 == "-- name: " name {on = 1; next} on && /^-- name: / {exit} on && !/^--/ {print}' "$1"
}

# The statements a PostgreSQL allocation and mark run (sandbox.sql's allocate_from and
# mark_at_version), into allocate_sql and mark_sql.
pg_write_statements() {
    allocate_sql=$(sql_statement src/store/postgres/sql/sandbox.sql allocate_from)
    mark_sql=$(sql_statement src/store/postgres/sql/sandbox.sql mark_at_version)
    [[ -n "$allocate_sql" && -n "$mark_sql" ]] || { echo "statements not found in sandbox.sql" >&2; exit 1; }
}

# A fresh schema $1 on $pg_url, migrated by the broker binary $2, holding $3 available
# sandboxes (ids id-000000…, names sbx-000000…, created a minute before $4), vacuumed and
# analyzed. Prints the schema version it reached.
pg_pool_schema() {
    local schema=$1 bin=$2 pool=$3 now=$4
    psql_cmd -c "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema"
    DB_SCHEMA=$schema "$bin" migrate --store "$pg_url" >"$work/migrate.log" 2>&1 ||
        { cat "$work/migrate.log" >&2; exit 1; }
    psql_cmd -c "SET search_path TO $schema" \
        -c "INSERT INTO sandboxes (sandbox_id, name, external_id, status, created_at, updated_at)
            SELECT 'id-' || to_char(i, 'FM000000'), 'sbx-' || to_char(i, 'FM000000'), 'ext-' || i,
                   'available', $((now - 60)), $((now - 60))
              FROM generate_series(0, $pool - 1) AS i" \
        -c "VACUUM ANALYZE $schema.sandboxes"
    psql_cmd -At -c "SELECT max(version) FROM $schema.schema_migrations"
}
