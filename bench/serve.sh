#!/usr/bin/env bash
# The service under load, on loopback, against the raw verify_strict rate of the
# same cores measured in the same run.
#
#   bench/serve.sh [SECONDS]       (default 15 per measurement)
#
# - lookups: GET /v1/codes/{code} over 1,000 distinct demo codes, 64
#   connections (wrk), SQLite; lookups/s, p50/p99 latency, errors;
# - pages: GET /c/{code}, 64 connections, SQLite, with scan recording on:
#   "new visitors" over 200,000 distinct codes, so every request records a
#   check (one scan committed per page) until the codes run out (the output
#   says what share was recorded); "repeat visitors" over 1,000 codes from the
#   one loopback client, recorded once each per hour, so the rest only read;
# - status writes: POST /v1/status revoking a new serial each time, 16
#   connections, on SQLite and (when reachable) PostgreSQL.
# Needs wrk (apt-get install wrk). The rate limit is off (one client).
# HM_LOG=info measures with the access log on (serve's default level, one line
# per request to a file); the default here is warn.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-15}"
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install wrk"; exit 1; }
cargo build --release -q --bin hallmark --example verify_rate
HALLMARK="$PWD/target/release/hallmark"
WORK="$(mktemp -d)"
. scripts/lib/serve.sh
cleanup() {
    hm_stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
hm_setup_keys
"$HALLMARK" mint --key keys.example/demo-TEST-ONLY.key --part DRN-2980 --lot L231212-01 \
    --date 2023-12-12 --count 1000 --ledger "$WORK/ledger" --out "$WORK/codes.txt" 2>/dev/null
"$HALLMARK" mint --key keys.example/demo-TEST-ONLY.key --part DRN-2980 --lot L231212-02 \
    --date 2023-12-12 --count 200000 --ledger "$WORK/ledger" --out "$WORK/visits.txt" 2>/dev/null
KID="$("$HALLMARK" inspect --json "$(head -n 1 "$WORK/codes.txt")" | sed -n 's/.*"kid":"\([0-9a-f]*\)".*/\1/p')"

wrk_run() { # connections script -> wrk output
    wrk -t 2 -c "$1" -d "${SECS}s" --latency -s "$2" "http://127.0.0.1:$PORT" 2>&1
}
rate_of() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
pct_of() { awk -v p="$1" '$1 == p { print $2 }'; }
errors_of() {
    awk '/Non-2xx or 3xx responses/ { n += $NF } /Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }'
}

raw="$(target/release/examples/verify_rate 100000)"
strict_all="$(sed -n 's/.*verify_strict_all_cores=\([0-9]*\).*/\1/p' <<<"$raw")"
strict_one="$(sed -n 's/.*verify_strict_one_core=\([0-9]*\).*/\1/p' <<<"$raw")"
echo "raw ($(nproc) cores): $raw"

# Lookups (SQLite).
hm_start_server "$WORK/lookup.db" "$WORK/serve.log" --rate-limit 0
out="$(CODES="$WORK/codes.txt" wrk_run 64 bench/wrk/lookup.lua)"
hm_stop_server
lookups="$(rate_of <<<"$out")"
p50="$(pct_of 50% <<<"$out")"; p99="$(pct_of 99% <<<"$out")"; lookup_errors="$(errors_of <<<"$out")"

# Pages (SQLite), scan recording on, the batches registered (as a real
# deployment has them: an unregistered serial raises and logs an alert).
requests_of() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'; }
"$HALLMARK" batches export --key keys.example/demo-TEST-ONLY.key --ledger "$WORK/ledger" \
    --out "$WORK/manifest.bin" 2>/dev/null
push_batches() { # db
    local token
    token="$("$HALLMARK" token create --db "$1" --name "bench-batches-$RANDOM" --scope batches)"
    HALLMARK_TOKEN="$token" "$HALLMARK" batches push --server "http://127.0.0.1:$PORT" \
        "$WORK/manifest.bin" >/dev/null
}
hm_start_server "$WORK/page.db" "$WORK/serve.log" --rate-limit 0
push_batches "$WORK/page.db"
out="$(CODES="$WORK/visits.txt" PREFIX=/c/ wrk_run 64 bench/wrk/lookup.lua)"
hm_stop_server
fresh="$(rate_of <<<"$out")"; fresh_p50="$(pct_of 50% <<<"$out")"; fresh_p99="$(pct_of 99% <<<"$out")"
fresh_errors="$(errors_of <<<"$out")"; fresh_n="$(requests_of <<<"$out")"
recorded="$(sqlite3 "$WORK/page.db" 'SELECT COUNT(*) FROM scan_codes' 2>/dev/null || echo '?')"
hm_start_server "$WORK/repeat.db" "$WORK/serve.log" --rate-limit 0
push_batches "$WORK/repeat.db"
out="$(CODES="$WORK/codes.txt" PREFIX=/c/ wrk_run 64 bench/wrk/lookup.lua)"
hm_stop_server
repeat="$(rate_of <<<"$out")"; repeat_p50="$(pct_of 50% <<<"$out")"; repeat_p99="$(pct_of 99% <<<"$out")"
repeat_errors="$(errors_of <<<"$out")"

# Status writes.
writes() { # db -> writes/s errors p99
    hm_start_server "$1" "$WORK/serve.log" --rate-limit 0
    local token out
    token="$("$HALLMARK" token create --db "$1" --name "bench-$RANDOM" --scope status)"
    out="$(TOKEN="$token" KID="$KID" wrk_run 16 bench/wrk/status.lua)"
    hm_stop_server
    echo "$(rate_of <<<"$out") $(errors_of <<<"$out") $(pct_of 99% <<<"$out")"
}
read -r sqlite_writes sqlite_errors sqlite_p99 < <(writes "$WORK/status.db")
pg_line="PostgreSQL: not reachable at $PG, skipped"
if hm_pg_up; then
    schema="bench_$$"
    read -r pg_writes pg_errors pg_p99 < <(writes "$(hm_pg_schema_url "$schema")")
    hm_pg_drop_schema "$schema"
    pg_line="$(printf 'PostgreSQL %.0f writes/s (p99 %s, errors %s)' "$pg_writes" "$pg_p99" "$pg_errors")"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "lookups:  $(printf '%.0f' "$lookups")/s at 64 connections, p50 $p50, p99 $p99, errors $lookup_errors"
echo "          = $(ratio "$lookups" "$strict_all")x raw verify_strict on all $(nproc) cores ($strict_all/s)," \
     "$(ratio "$lookups" "$strict_one")x on one core ($strict_one/s)"
echo "pages, new visitors: $(printf '%.0f' "$fresh")/s at 64 connections, p50 $fresh_p50, p99 $fresh_p99, errors $fresh_errors;" \
     "$fresh_n requests, $recorded codes with a recorded check"
echo "pages, repeat visitors: $(printf '%.0f' "$repeat")/s at 64 connections, p50 $repeat_p50, p99 $repeat_p99, errors $repeat_errors"
echo "          = $(ratio "$fresh" "$strict_all")x / $(ratio "$repeat" "$strict_all")x raw verify_strict on all $(nproc) cores"
echo "status writes (16 connections): SQLite $(printf '%.0f' "$sqlite_writes") writes/s (p99 $sqlite_p99, errors $sqlite_errors); $pg_line"
