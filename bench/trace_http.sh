#!/usr/bin/env bash
# GET /v1/trace through the real server (issue 15: under 50 ms p99 for a lot in
# 100,000 parents), on SQLite and, given a URL, PostgreSQL:
#
#   bench/trace_http.sh [POSTGRES_URL]     (e.g. postgres://hallmark:hallmark@127.0.0.1/hallmark_bench)
#
# Creates the database through `hallmark token create` (which migrates it),
# inserts 200,000 links (100,000 of lot BAT-1/L231212-01) directly in SQL, starts
# `hallmark serve` on 127.0.0.1 and times 1,000 GET /v1/trace pages (limit 100,
# every tenth from the start, the others following the cursor) with curl's
# time_total; prints p50, p99 and max. The PostgreSQL database must be empty.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin hallmark
BIN="$PWD/target/release/hallmark"
WORK="$(mktemp -d)"
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

run() { # DB FILL_COMMAND...
    local db="$1"; shift
    local token
    token="$("$BIN" token create --db "$db" --name bench --scope batches 2>/dev/null)"
    "$@"
    "$BIN" serve --listen 127.0.0.1:0 --db "$db" --trust keys.example/trust.toml 2>"$WORK/log" &
    SERVER=$!
    local addr=""
    for _ in $(seq 200); do
        addr="$(sed -n 's/.*listening on http:\/\/\([0-9.:]*\).*/\1/p' "$WORK/log" | head -n 1)"
        [ -n "$addr" ] && break
        sleep 0.05
    done
    [ -n "$addr" ] || { cat "$WORK/log"; exit 1; }
    python3 - "$addr" "$token" <<'PY'
import json, subprocess, sys
addr, token = sys.argv[1], sys.argv[2]
times, after = [], None
for n in range(1000):
    url = f"http://{addr}/v1/trace?part=BAT-1&lot=L231212-01&limit=100"
    if after and n % 10:
        url += f"&after={after}"
    out = subprocess.run(["curl", "-s", "-o", "/tmp/trace-page.json", "-w", "%{http_code} %{time_total}",
                          "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True).stdout
    code, t = out.split()
    assert code == "200", (code, open("/tmp/trace-page.json").read()[:300])
    page = json.load(open("/tmp/trace-page.json"))
    assert len(page["parents"]) == 100, page
    after = page.get("next")
    times.append(float(t))
times.sort()
print(f"  GET /v1/trace (100 of 100,000 parents): p50 {times[500]*1e3:.2f} ms, "
      f"p99 {times[990]*1e3:.2f} ms, max {times[-1]*1e3:.2f} ms")
PY
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

fill_sqlite() {
    python3 - "$WORK/t.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = [(f"code:8608b1b7:{i}", f"code:0faada07:{i}", "BAT-1",
         "L231212-01" if i % 2 == 0 else f"L{i % 997}", 1_795_435_200 + i, 1_795_435_200)
        for i in range(200_000)]
db.executemany("INSERT INTO links (parent, child_unit, part, lot, at, recorded) VALUES (?,?,?,?,?,?)", rows)
db.commit()
print("  EXPLAIN QUERY PLAN:", db.execute("""EXPLAIN QUERY PLAN SELECT id FROM links
    WHERE part = 'BAT-1' AND lot = 'L231212-01' AND id > 0 ORDER BY id LIMIT 100""").fetchall())
PY
}
echo "SQLite:"
run "$WORK/t.db" fill_sqlite

if [ -n "${1:-}" ]; then
    PG="$1"
    fill_pg() {
        psql "$PG" -qc "INSERT INTO links (parent, child_unit, part, lot, at, recorded)
            SELECT 'code:8608b1b7:' || i, 'code:0faada07:' || i, 'BAT-1',
                   CASE WHEN i % 2 = 0 THEN 'L231212-01' ELSE 'L' || (i % 997) END,
                   1795435200 + i, 1795435200 FROM generate_series(0, 199999) AS i; ANALYZE links;"
        psql "$PG" -qAtc "EXPLAIN SELECT id FROM links WHERE part = 'BAT-1' AND lot = 'L231212-01'
            AND id > 0 ORDER BY id LIMIT 100" | sed 's/^/  /'
    }
    echo "PostgreSQL:"
    run "$PG" fill_pg
fi
