-- Statuses gain the kind 'compromise' (a key compromised at a time, kept in
-- key_from as seconds). SQLite cannot alter a CHECK constraint: the table is
-- rebuilt.
CREATE TABLE statuses_v3 (
    kid      BLOB    NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('serial', 'range', 'lot', 'key', 'compromise')),
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
INSERT INTO statuses_v3 (kid, kind, target, first, last, lot, key_from, state, reason, date, time, seq)
    SELECT kid, kind, target, first, last, lot, key_from, state, reason, date, time, seq FROM statuses;
DROP TABLE statuses;
ALTER TABLE statuses_v3 RENAME TO statuses;
CREATE INDEX statuses_ranges ON statuses (kid, kind, first, last);
-- Registered manifests, whole (bundles carry them), with the time of their
-- first registration (what their receipts say). batches and serials are the
-- receipt's counts; serials is a u64 stored as its two's-complement i64.
CREATE TABLE manifests (
    digest     BLOB    PRIMARY KEY,
    kid        BLOB    NOT NULL,
    bytes      BLOB    NOT NULL,
    batches    INTEGER NOT NULL,
    serials    INTEGER NOT NULL,
    registered INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX manifests_registered ON manifests (registered);
