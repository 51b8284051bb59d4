-- SQLite cannot alter a CHECK constraint: the table is rebuilt.
CREATE TABLE tokens_v2 (
    name     TEXT    PRIMARY KEY,
    scope    TEXT    NOT NULL CHECK (scope IN ('status', 'batches', 'scans')),
    hash     BLOB    NOT NULL UNIQUE,
    created  INTEGER NOT NULL,
    revoked  INTEGER
);
INSERT INTO tokens_v2 (name, scope, hash, created, revoked)
    SELECT name, scope, hash, created, revoked FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v2 RENAME TO tokens;
CREATE TABLE scan_codes (
    kid      BLOB    NOT NULL,
    serial   INTEGER NOT NULL,
    count    INTEGER NOT NULL,
    first    INTEGER NOT NULL,
    last     INTEGER NOT NULL,
    PRIMARY KEY (kid, serial)
) WITHOUT ROWID;
CREATE INDEX scan_codes_last ON scan_codes (last);
CREATE TABLE scan_locations (
    kid      BLOB    NOT NULL,
    serial   INTEGER NOT NULL,
    trusted  INTEGER NOT NULL,
    location TEXT    NOT NULL,
    count    INTEGER NOT NULL,
    first    INTEGER NOT NULL,
    last     INTEGER NOT NULL,
    scanner  TEXT,
    PRIMARY KEY (kid, serial, trusted, location)
) WITHOUT ROWID;
CREATE INDEX scan_locations_last ON scan_locations (last);
-- Every scan so far was anonymous.
INSERT INTO scan_codes (kid, serial, count, first, last)
    SELECT kid, serial, COUNT(*), MIN(time), MAX(time) FROM scans GROUP BY kid, serial;
INSERT INTO scan_locations (kid, serial, trusted, location, count, first, last, scanner)
    SELECT kid, serial, 0, location, COUNT(*), MIN(time), MAX(time), MAX(scanner)
    FROM scans WHERE location IS NOT NULL GROUP BY kid, serial, location;
DROP TABLE scans;
