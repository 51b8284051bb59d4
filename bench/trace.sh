#!/usr/bin/env bash
# Forward trace (issue 15): fills a SQLite database built from the server's
# migrations with 100,000 links of one component lot (plus 100,000 of other
# lots) and measures p50/p99 of the GET /v1/trace page query (limit 100, the
# default page) at the storage level, with its EXPLAIN QUERY PLAN.
# Not yet: the same through HTTP (`hallmark serve`), and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import sqlite3, tempfile, time, os, re
d = tempfile.mkdtemp()
db = sqlite3.connect(os.path.join(d, "t.db"))
db.execute("PRAGMA journal_mode=WAL")
for f in sorted(os.listdir("crates/hallmark-server/migrations/sqlite")):
    db.executescript(open("crates/hallmark-server/migrations/sqlite/" + f).read())
rows = []
for i in range(200_000):
    lot = "L231212-01" if i % 2 == 0 else f"L{i % 997}"
    rows.append((f"code:8608B1B7:{i}", "BAT-1", lot, 1_795_435_200 + i, 1_795_435_200))
db.executemany("INSERT INTO links (parent, part, lot, at, recorded) VALUES (?,?,?,?,?)", rows)
db.commit()
sql = re.sub(r"\?(\d)", r"?\1", """SELECT id, parent, child_unit, at, removed_at FROM links
     WHERE part = ?1 AND lot = ?2 AND id > ?3 ORDER BY id LIMIT ?4""")
print("EXPLAIN QUERY PLAN (links):")
for r in db.execute("EXPLAIN QUERY PLAN " + sql, ("BAT-1", "L231212-01", 0, 100)):
    print("  ", r)
agg = """SELECT a.id, c.position, a.parent, c.unit, a.time
     FROM aggregation_children c JOIN aggregations a ON a.id = c.aggregation
     WHERE c.part = ?1 AND c.lot = ?2
       AND (c.aggregation > ?3 OR (c.aggregation = ?3 AND c.position > ?4))
     ORDER BY c.aggregation, c.position LIMIT ?5"""
print("EXPLAIN QUERY PLAN (aggregation children):")
for r in db.execute("EXPLAIN QUERY PLAN " + agg, ("BAT-1", "L231212-01", 0, -1, 100)):
    print("  ", r)
times = []
after = 0
for n in range(2000):
    t = time.perf_counter()
    page = db.execute(sql, ("BAT-1", "L231212-01", after, 100)).fetchall()
    times.append(time.perf_counter() - t)
    after = page[-1][0] if page and n % 10 else 0
times.sort()
print(f"trace page (100 of 100,000 parents): p50 {times[1000]*1e3:.3f} ms, p99 {times[1980]*1e3:.3f} ms, max {times[-1]*1e3:.3f} ms")
PY
