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
# Each measurement also gives the server's own CPU per request (user + system,
# from /proc, as raw verifications of this run's one-core rate) and the share
# of the machine's CPU the hypervisor stole meanwhile.
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

# The server's CPU (user + system, clock ticks) and the machine's stolen and
# total CPU ticks (/proc/stat), read around each wrk run: CPU per request is
# what the server itself spent, and a high steal share says the hypervisor
# took the cores away during the measurement (its latencies are then the
# host's, not the service's).
TICK_US=$((1000000 / $(getconf CLK_TCK)))
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
steal_ticks() { awk '/^cpu / { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
wrk_run() { # connections script -> wrk output, then "server_ticks N" and "steal_pct P"
    local t0 s0 t1 s1
    t0="$(cpu_ticks)"; s0="$(steal_ticks)"
    wrk -t 2 -c "$1" -d "${SECS}s" --latency -s "$2" "http://127.0.0.1:$PORT" 2>&1
    t1="$(cpu_ticks)"; s1="$(steal_ticks)"
    echo "server_ticks $((t1 - t0))"
    echo "$s0 $s1" | awk '{ printf "steal_pct %.1f\n", 100 * ($3 - $1) / ($4 - $2) }'
}
rate_of() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
pct_of() { awk -v p="$1" '$1 == p { print $2 }'; }
requests_of() { sed -n 's/^ *\([0-9]*\) requests in.*/\1/p'; }
steal_of() { awk '$1 == "steal_pct" { print $2 }'; }
# Server CPU per request: "N µs = R raw verifications" (one core's rate).
cpu_of() {
    awk -v us="$TICK_US" -v one="$strict_one" '
        $1 == "server_ticks" { t = $2 }
        /requests in/ { n = $1 }
        END { c = t * us / n; printf "%.0f µs = %.2f raw verifications", c, c * one / 1e6 }'
}
# wrk's own words for the errors counted, e.g. "Socket errors: connect 0, read 0, write 0, timeout 1".
error_lines_of() { { grep -E 'Non-2xx|Socket errors' || true; } | sed 's/^ */ (wrk: /; s/$/)/' | tr -d '\n'; }
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
p50="$(pct_of 50% <<<"$out")"; p99="$(pct_of 99% <<<"$out")"; lookup_errors="$(errors_of <<<"$out")$(error_lines_of <<<"$out")"
lookup_cpu="$(cpu_of <<<"$out")"; lookup_steal="$(steal_of <<<"$out")"

# Pages (SQLite), scan recording on, the batches registered (as a real
# deployment has them: an unregistered serial raises and logs an alert).
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
fresh_errors="$(errors_of <<<"$out")$(error_lines_of <<<"$out")"; fresh_n="$(requests_of <<<"$out")"
fresh_cpu="$(cpu_of <<<"$out")"; fresh_steal="$(steal_of <<<"$out")"
recorded="$(sqlite3 "$WORK/page.db" 'SELECT COUNT(*) FROM scan_codes' 2>/dev/null || echo '?')"
hm_start_server "$WORK/repeat.db" "$WORK/serve.log" --rate-limit 0
push_batches "$WORK/repeat.db"
out="$(CODES="$WORK/codes.txt" PREFIX=/c/ wrk_run 64 bench/wrk/lookup.lua)"
hm_stop_server
repeat="$(rate_of <<<"$out")"; repeat_p50="$(pct_of 50% <<<"$out")"; repeat_p99="$(pct_of 99% <<<"$out")"
repeat_errors="$(errors_of <<<"$out")$(error_lines_of <<<"$out")"
repeat_cpu="$(cpu_of <<<"$out")"; repeat_steal="$(steal_of <<<"$out")"

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
echo "          server CPU $lookup_cpu per lookup; CPU stolen by the host during the run: $lookup_steal %"
echo "pages, new visitors: $(printf '%.0f' "$fresh")/s at 64 connections, p50 $fresh_p50, p99 $fresh_p99, errors $fresh_errors;" \
     "$fresh_n requests, $recorded codes with a recorded check"
echo "          server CPU $fresh_cpu per page; stolen: $fresh_steal %"
echo "pages, repeat visitors: $(printf '%.0f' "$repeat")/s at 64 connections, p50 $repeat_p50, p99 $repeat_p99, errors $repeat_errors"
echo "          server CPU $repeat_cpu per page; stolen: $repeat_steal %"
echo "          = $(ratio "$fresh" "$strict_all")x / $(ratio "$repeat" "$strict_all")x raw verify_strict on all $(nproc) cores"
echo "status writes (16 connections): SQLite $(printf '%.0f' "$sqlite_writes") writes/s (p99 $sqlite_p99, errors $sqlite_errors); $pg_line"
