# Shared by bench/serve.sh and scripts/api-fuzz.sh (sourced, not run): a
# revocation key and trust store, a release `hallmark serve` on a free loopback
# port, and scratch PostgreSQL schemas.
#
# Needs HALLMARK (the binary) and WORK (a scratch directory) set.

# The PostgreSQL server the tests, fuzzing and benchmarks use.
PG="${HALLMARK_TEST_POSTGRES:-postgres://hallmark:hallmark@127.0.0.1:5432/hallmark_test}"
SERVER_PID=""
PORT=""

# A revocation key ($WORK/rev.key) marked as signer in a copy of the demo trust
# store ($WORK/trust.toml).
hm_setup_keys() {
    "$HALLMARK" keygen --name rev --out "$WORK" --unencrypted >/dev/null 2>&1
    cp keys.example/trust.toml "$WORK/trust.toml"
    "$HALLMARK" trust add --trust "$WORK/trust.toml" "$WORK/rev.pub" --revocation-signer >/dev/null 2>&1
}

# Starts the service on a free port (sets PORT and SERVER_PID) and waits for
# /healthz. Arguments: --db value, log file, then extra serve arguments.
# The log level is $HM_LOG (default warn: no access log; info is serve's own
# default, one access-log line per request written to the log file).
hm_start_server() {
    local db="$1" log="$2"
    shift 2
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    HALLMARK_LOG="${HM_LOG:-warn}" "$HALLMARK" serve --listen "127.0.0.1:$PORT" --trust "$WORK/trust.toml" \
        --db "$db" --revocation-key "$WORK/rev.key" "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "hallmark serve did not start:"
    cat "$log"
    return 1
}

hm_stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

# Whether $PG answers.
hm_pg_up() {
    command -v psql >/dev/null && psql "$PG" -qAtc 'SELECT 1' >/dev/null 2>&1
}

# Creates schema $1 on $PG and prints a URL whose connections use only it.
hm_pg_schema_url() {
    psql "$PG" -qc "CREATE SCHEMA $1"
    local sep='?'
    case "$PG" in *\?*) sep='&' ;; esac
    echo "$PG${sep}options=-c%20search_path%3D$1"
}

hm_pg_drop_schema() {
    psql "$PG" -qc "DROP SCHEMA $1 CASCADE" >/dev/null 2>&1 || true
}
