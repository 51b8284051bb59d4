-- The token scopes `service` (service and test stations) and `reports`
-- (reading reports of suspected fakes), issue 16. SQLite cannot alter a
-- CHECK constraint: the table is rebuilt.
CREATE TABLE tokens_v3 (
    name     TEXT    PRIMARY KEY,
    scope    TEXT    NOT NULL CHECK (scope IN ('status', 'batches', 'scans', 'service', 'reports')),
    hash     BLOB    NOT NULL UNIQUE,
    created  INTEGER NOT NULL,
    revoked  INTEGER
);
INSERT INTO tokens_v3 (name, scope, hash, created, revoked)
    SELECT name, scope, hash, created, revoked FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_v3 RENAME TO tokens;
