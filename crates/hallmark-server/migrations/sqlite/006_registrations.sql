-- Warranty registrations, ownership transfers and claim attempts (issue 16).
-- Only hashes of owner references and transfer codes are stored.
-- One row per registered unit: the PRIMARY KEY makes the first registration
-- win, exactly once.
CREATE TABLE registrations (
    unit            TEXT    PRIMARY KEY,
    owner_hash      BLOB    NOT NULL,
    registered      INTEGER NOT NULL,
    warranty_start  TEXT    NOT NULL,
    conflicts       INTEGER NOT NULL DEFAULT 0,
    transfers       INTEGER NOT NULL DEFAULT 0
);
-- Every owner a unit has had, for audit: hashes and times only.
CREATE TABLE registration_owners (
    id          INTEGER PRIMARY KEY,
    unit        TEXT    NOT NULL,
    owner_hash  BLOB    NOT NULL,
    since       INTEGER NOT NULL
);
CREATE INDEX registration_owners_unit ON registration_owners (unit);
-- Pending and used one-time transfer codes, hashed.
CREATE TABLE transfers (
    code_hash   BLOB    PRIMARY KEY,
    unit        TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER NOT NULL,
    used        INTEGER
);
CREATE INDEX transfers_unit ON transfers (unit);
-- Failed claim (and current-owner) attempts per unit, kept across restarts.
CREATE TABLE claim_failures (
    id    INTEGER PRIMARY KEY,
    unit  TEXT    NOT NULL,
    time  INTEGER NOT NULL
);
CREATE INDEX claim_failures_unit_time ON claim_failures (unit, time);
