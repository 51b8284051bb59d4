-- Current status per target: one row per (key, kind, target). Serials and
-- range bounds are order-preserving i64 (see serial_to_sql).
CREATE TABLE statuses (
    kid      BLOB    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('serial', 'range', 'lot', 'key')),
    target   TEXT    NOT NULL,
    first    INTEGER,
    last     INTEGER,
    lot      TEXT,
    key_from INTEGER,
    state    TEXT    NOT NULL CHECK (state IN ('revoked', 'decommissioned')),
    reason   TEXT    NOT NULL,
    date     INTEGER NOT NULL,
    time     INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (kid, kind, target)
) WITHOUT ROWID;
CREATE INDEX statuses_ranges ON statuses (kid, kind, first, last);
-- Every status change ever applied (the history behind `statuses`).
CREATE TABLE status_changes (
    id       INTEGER PRIMARY KEY,
    kid      BLOB    NOT NULL,
    kind     TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    action   TEXT    NOT NULL CHECK (action IN ('revoke', 'decommission', 'reactivate')),
    reason   TEXT,
    date     INTEGER NOT NULL,
    time     INTEGER NOT NULL,
    token    TEXT    NOT NULL,
    seq      INTEGER NOT NULL
);
CREATE TABLE scans (
    id       INTEGER PRIMARY KEY,
    kid      BLOB    NOT NULL,
    serial   INTEGER NOT NULL,
    time     INTEGER NOT NULL,
    location TEXT,
    scanner  TEXT
);
CREATE INDEX scans_code ON scans (kid, serial, time);
CREATE TABLE tokens (
    name     TEXT    PRIMARY KEY,
    scope    TEXT    NOT NULL CHECK (scope IN ('status', 'batches')),
    hash     BLOB    NOT NULL UNIQUE,
    created  INTEGER NOT NULL,
    revoked  INTEGER
);
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    token    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    time     INTEGER NOT NULL
);
-- Registered batches from signed manifests: one row per batch.
CREATE TABLE batches (
    kid        BLOB    NOT NULL,
    opaque     INTEGER NOT NULL,
    start      INTEGER NOT NULL,
    last       INTEGER NOT NULL,
    part       TEXT    NOT NULL,
    lot        TEXT    NOT NULL,
    date       INTEGER NOT NULL,
    expiry     INTEGER,
    minted     INTEGER NOT NULL,
    issued     INTEGER NOT NULL,
    registered INTEGER NOT NULL,
    PRIMARY KEY (kid, opaque, start)
) WITHOUT ROWID;
CREATE INDEX batches_labels ON batches (kid, part, lot, date);
CREATE TABLE counters (
    name     TEXT    PRIMARY KEY,
    value    INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('revocation_sequence', 0);
