ALTER TABLE tokens DROP CONSTRAINT IF EXISTS tokens_scope_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_scope_check
    CHECK (scope IN ('status', 'batches', 'scans'));
CREATE TABLE scan_codes (
    kid      BYTEA   NOT NULL,
    serial   BIGINT  NOT NULL,
    count    BIGINT  NOT NULL,
    first    BIGINT  NOT NULL,
    last     BIGINT  NOT NULL,
    PRIMARY KEY (kid, serial)
);
CREATE INDEX scan_codes_last ON scan_codes (last);
CREATE TABLE scan_locations (
    kid      BYTEA   NOT NULL,
    serial   BIGINT  NOT NULL,
    trusted  BOOLEAN NOT NULL,
    location TEXT    NOT NULL,
    count    BIGINT  NOT NULL,
    first    BIGINT  NOT NULL,
    last     BIGINT  NOT NULL,
    scanner  TEXT,
    PRIMARY KEY (kid, serial, trusted, location)
);
CREATE INDEX scan_locations_last ON scan_locations (last);
-- Every scan so far was anonymous.
INSERT INTO scan_codes (kid, serial, count, first, last)
    SELECT kid, serial, COUNT(*), MIN(time), MAX(time) FROM scans GROUP BY kid, serial;
INSERT INTO scan_locations (kid, serial, trusted, location, count, first, last, scanner)
    SELECT kid, serial, FALSE, location, COUNT(*), MIN(time), MAX(time), MAX(scanner)
    FROM scans WHERE location IS NOT NULL GROUP BY kid, serial, location;
DROP TABLE scans;
