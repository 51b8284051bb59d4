-- Service and test history, reports of suspected fakes (issue 16).
-- An event belongs to a unit identity text (`code:KID:SERIAL`,
-- `gs1:GTIN:SERIAL`) or a component lot (`lot:PART:LOT`); `date` is days
-- since 1970-01-01; `passed` is 1, 0 or NULL (only tests and inspections
-- have one); `measurements` is a bounded JSON array (at most 32 entries,
-- checked before storing); `token` names who recorded it. Reports keep the
-- code as scanned (bounded), its verdict, and its unit when it verified.
CREATE TABLE history_events (
    id           INTEGER PRIMARY KEY,
    unit         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    date         INTEGER NOT NULL,
    passed       INTEGER,
    summary      TEXT,
    actor        TEXT,
    station      TEXT,
    measurements TEXT,
    token        TEXT    NOT NULL,
    recorded     INTEGER NOT NULL
);
CREATE INDEX history_events_unit ON history_events (unit, id);
CREATE INDEX history_events_unit_date ON history_events (unit, date, id);
CREATE TABLE reports (
    id      INTEGER PRIMARY KEY,
    code    TEXT    NOT NULL,
    unit    TEXT,
    verdict TEXT    NOT NULL,
    place   TEXT,
    note    TEXT,
    time    INTEGER NOT NULL
);
CREATE INDEX reports_unit_time ON reports (unit, time);
CREATE INDEX reports_code_time ON reports (code, time);
