-- Statuses gain the kind 'compromise' (a key compromised at a time, kept in
-- key_from as seconds).
ALTER TABLE statuses DROP CONSTRAINT IF EXISTS statuses_kind_check;
ALTER TABLE statuses ADD CONSTRAINT statuses_kind_check
    CHECK (kind IN ('serial', 'range', 'lot', 'key', 'compromise'));
-- Registered manifests, whole (bundles carry them), with the time of their
-- first registration (what their receipts say). batches and serials are the
-- receipt's counts; serials is a u64 stored as its two's-complement i64.
CREATE TABLE manifests (
    digest     BYTEA   PRIMARY KEY,
    kid        BYTEA   NOT NULL,
    bytes      BYTEA   NOT NULL,
    batches    BIGINT  NOT NULL,
    serials    BIGINT  NOT NULL,
    registered BIGINT  NOT NULL
);
CREATE INDEX manifests_registered ON manifests (registered);
