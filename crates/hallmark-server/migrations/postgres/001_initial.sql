CREATE TABLE statuses (
    kid      BYTEA   NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('serial', 'range', 'lot', 'key')),
    target   TEXT    NOT NULL,
    first    BIGINT,
    last     BIGINT,
    lot      TEXT,
    key_from BIGINT,
    state    TEXT    NOT NULL CHECK (state IN ('revoked', 'decommissioned')),
    reason   TEXT    NOT NULL,
    date     BIGINT  NOT NULL,
    time     BIGINT  NOT NULL,
    seq      BIGINT  NOT NULL,
    PRIMARY KEY (kid, kind, target)
);
CREATE INDEX statuses_ranges ON statuses (kid, kind, first, last);
CREATE TABLE status_changes (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid      BYTEA   NOT NULL,
    kind     TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    action   TEXT    NOT NULL CHECK (action IN ('revoke', 'decommission', 'reactivate')),
    reason   TEXT,
    date     BIGINT  NOT NULL,
    time     BIGINT  NOT NULL,
    token    TEXT    NOT NULL,
    seq      BIGINT  NOT NULL
);
CREATE TABLE scans (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kid      BYTEA   NOT NULL,
    serial   BIGINT  NOT NULL,
    time     BIGINT  NOT NULL,
    location TEXT,
    scanner  TEXT
);
CREATE INDEX scans_code ON scans (kid, serial, time);
CREATE TABLE tokens (
    name     TEXT    PRIMARY KEY,
    scope    TEXT    NOT NULL CHECK (scope IN ('status', 'batches')),
    hash     BYTEA   NOT NULL UNIQUE,
    created  BIGINT  NOT NULL,
    revoked  BIGINT
);
CREATE TABLE audit (
    id       BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    time     BIGINT  NOT NULL
);
CREATE TABLE batches (
    kid        BYTEA   NOT NULL,
    opaque     BOOLEAN NOT NULL,
    start      BIGINT  NOT NULL,
    last       BIGINT  NOT NULL,
    part       TEXT    NOT NULL,
    lot        TEXT    NOT NULL,
    date       BIGINT  NOT NULL,
    expiry     BIGINT,
    minted     BIGINT  NOT NULL,
    issued     BIGINT  NOT NULL,
    registered BIGINT  NOT NULL,
    PRIMARY KEY (kid, opaque, start)
);
CREATE INDEX batches_labels ON batches (kid, part, lot, date);
CREATE TABLE counters (
    name     TEXT    PRIMARY KEY,
    value    BIGINT  NOT NULL
);
INSERT INTO counters (name, value) VALUES ('revocation_sequence', 0);
